#!/bin/bash
# quality.sh - statistical tests on the output of havege-rngd, side by side
# with haveged and /dev/urandom: rngtest (FIPS 140-2), ent, and a subset
# of dieharder.
#
# Usage: bench/quality.sh PATH-TO-havege-rngd    (or: make bench)
# Environment: QSIZE (bytes per source, default 64M), DH_TESTS (dieharder
# tests as NUMBER or NUMBER:PSAMPLES, default below), HAVEGED, BENCH_SHM.
#
# It reports and judges nothing: the reader compares the havege-rngd
# column with the /dev/urandom column.  Exit 1 only when a tool is missing,
# a program fails, or a tool gives no result.

# make bench runs us as "$(SHELL) quality.sh", and $(SHELL) may be sh.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd) || exit 1
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

QSIZE=${QSIZE:-64M}
# dieharder tests that read at most 64 MiB with their default psamples,
# measured from a pipe: birthdays 14 MiB, count-1s-stream 24, parking lot
# 9, 2d sphere 6, 3d sphere 4, runs 38, STS monobit/runs/serial 38 each,
# RGB KS test 38.  OPERM5 (381 MiB), 32x32 rank (488) and 6x8 rank (228)
# would rewind a 64 MiB file 4 to 8 times and so test the same bytes
# again; they run with psamples cut to fit (about 57 MiB each).
DH_TESTS=${DH_TESTS:-0 1:15 2:12 3:25 8 10 11 12 15 100 101 102 204}
sources=(havege-rngd haveged urandom)

bench_need rngtest:rng-tools5 ent:ent dieharder:dieharder head:coreutils
for spec in $DH_TESTS; do
	case $spec in
	*[!0-9:]* | :* | *: | *:*:*) bench_die "bad DH_TESTS entry: $spec" ;;
	esac
done
bench_setup "${1:-}"
bytes=$(bench_bytes "$QSIZE") || exit 1

# ---------------------------------------------------------------- samples
make_samples() {
	local f=$BENCH_TMP
	echo "${0##*/}: writing $QSIZE from each source" >&2
	bench_run "$f/havege-rngd.bin" "$bytes" "${NETNS[@]}" "$HRNG" -n "$QSIZE" -f "$f/havege-rngd.bin"
	bench_run "$f/haveged.bin" "$bytes" "${NETNS[@]}" "$HAVEGED" -n "$QSIZE" -f "$f/haveged.bin"
	head -c "$bytes" /dev/urandom >"$f/urandom.bin" ||
		bench_die "cannot read /dev/urandom"
	[ "$(stat -c %s "$f/urandom.bin")" = "$bytes" ] ||
		bench_die "short read from /dev/urandom"
}

# ---------------------------------------------------------------- rngtest
# rngtest exits 1 when any block fails, which a good source does about 0.8
# times in 1000 blocks; only a missing count is an error.
run_rngtest() {
	local src=$1 log=$BENCH_TMP/$1.rngtest
	rngtest <"$BENCH_TMP/$src.bin" >/dev/null 2>"$log"
	grep -q 'FIPS 140-2 successes:' "$log" ||
		bench_die "rngtest gave no result for $src: $(tail -n 1 "$log")"
}

# rngtest_cell SRC WHAT: "per1000" or "detail" from the saved log.
rngtest_cell() {
	awk -F': ' -v what="$2" '
		/successes:/ { ok = $NF } /failures:/ { bad = $NF }
		/Monobit:/ { m = $NF } /Poker:/ { p = $NF } / Runs:/ { r = $NF }
		/Long run:/ { l = $NF } /Continuous run:/ { c = $NF }
		END {
			if (what == "per1000")
				printf "%.2f (%d/%d)", 1000 * bad / (ok + bad), bad, ok + bad
			else
				printf "%d/%d/%d/%d/%d", m, p, r, l, c
		}' "$BENCH_TMP/$1.rngtest"
}

# ---------------------------------------------------------------- ent
run_ent() {
	local src=$1
	if ! ent "$BENCH_TMP/$src.bin" >"$BENCH_TMP/$src.ent" ||
		! ent -t "$BENCH_TMP/$src.bin" >"$BENCH_TMP/$src.entt"; then
		bench_die "ent failed on $src"
	fi
}

# ent_cell SRC FIELD: a column of ent's terse (CSV) output by its header
# name, or "p" for the chi-square p-value, which only the long output has
# ("would exceed this value 43.29 percent of the times").
ent_cell() {
	if [ "$2" = p ]; then
		tr '\n' ' ' <"$BENCH_TMP/$1.ent" |
			sed -n 's/.*exceed this value \(.*\) percent of the times.*/\1 %/p'
		return
	fi
	awk -F, -v want="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == want) k = i }
		NR == 2 && k { print $k }' "$BENCH_TMP/$1.entt"
}

# ---------------------------------------------------------------- dieharder
# -s 1 rewinds the file at the start of the test, so every test reads the
# file from its first byte and dieharder's "rewound" count is the test's
# own; leaving out the "rate" column (-D flags) skips the speed
# measurement, which would otherwise eat tens of MiB of the file first.
run_dieharder() {
	local src=$1 spec=$2 d=${2%%:*} out
	local -a p=()
	[ "$spec" = "$d" ] || p=(-p "${spec#*:}")
	out=$BENCH_TMP/$src.dh$d
	dieharder -g 201 -f "$BENCH_TMP/$src.bin" -s 1 -D 8 -D 64 -D 128 -D 256 \
		-d "$d" "${p[@]}" >"$out" 2>&1 ||
		bench_die "dieharder -d $d failed on $src: $(tail -n 1 "$out")"
	dh_lines "$out" | grep -q . ||
		bench_die "dieharder -d $d gave no p-value on $src"
}

# dh_lines FILE: "name psamples p assessment" for each p-value in FILE.
dh_lines() {
	awk -F'|' 'NF >= 4 && $3 ~ /^ *[0-9.]+ *$/ {
		gsub(/ /, ""); print $1, $2, $3, $4 }' "$1"
}

# dh_cell SRC D: the p-value furthest from 0.5 (dieharder judges both
# tails: WEAK below 0.005 or above 0.995, FAILED below 0.000001 or above
# 0.999999), then "ok" if every p-value PASSED, or how many were WEAK and
# FAILED.
dh_cell() {
	dh_lines "$BENCH_TMP/$1.dh$2" | awk '
		function dist(p) { return p > 0.5 ? p - 0.5 : 0.5 - p }
		NR == 1 || dist($3) > dist(far) { far = $3 }
		$4 == "WEAK" { w++ } $4 == "FAILED" { f++ }
		END {
			v = (w || f) ? sprintf("%dW%dF", w, f) : "ok"
			printf "%.4f %s", far, v
		}'
}

dh_rewinds() {
	sed -n 's/.*was rewound \([0-9]*\) times.*/\1/p' "$BENCH_TMP/$1.dh$2" | tail -n 1
}

dh_totals() {
	cat "$BENCH_TMP/$1".dh* | dh_lines /dev/stdin | awk '
		$4 == "PASSED" { p++ } $4 == "WEAK" { w++ } $4 == "FAILED" { f++ }
		END { printf "%d/%d/%d", p, w, f }'
}

# ---------------------------------------------------------------- report
line() {
	printf '%-40s %18s %18s %18s\n' "$@"
}

# dh_row SPEC: one table row for a dieharder test, across the sources.
dh_row() {
	local d=${1%%:*} name np rew s cells=()
	name=$(dh_lines "$BENCH_TMP/havege-rngd.dh$d" | awk 'NR == 1 { print $1 }')
	np=$(dh_lines "$BENCH_TMP/havege-rngd.dh$d" | awk 'NR == 1 { print $2 }')
	rew=0
	for s in "${sources[@]}"; do
		cells+=("$(dh_cell "$s" "$d")")
		[ -z "$(dh_rewinds "$s" "$d")" ] || rew=$(dh_rewinds "$s" "$d")
	done
	if [ "$rew" = 0 ]; then
		rew=""
	else
		rew=", REWOUND ${rew}x"
		rewound_any=1
	fi
	line "-d $d $name ($np$rew)" "${cells[@]}"
}

report() {
	local s spec
	echo
	line "$QSIZE per source" "${sources[@]}"
	line "rngtest failures per 1000 blocks" \
		"$(rngtest_cell havege-rngd per1000)" "$(rngtest_cell haveged per1000)" \
		"$(rngtest_cell urandom per1000)"
	line "  monobit/poker/runs/long/continuous" \
		"$(rngtest_cell havege-rngd detail)" "$(rngtest_cell haveged detail)" \
		"$(rngtest_cell urandom detail)"
	for s in "Entropy:ent entropy, bits/byte" \
		"Chi-square:ent chi-square (255 d.f.)" \
		"p:  random exceeds it in" \
		"Mean:ent mean byte (127.5)" \
		"Monte-Carlo-Pi:ent Monte Carlo pi" \
		"Serial-Correlation:ent serial correlation"; do
		line "${s#*:}" "$(ent_cell havege-rngd "${s%%:*}")" \
			"$(ent_cell haveged "${s%%:*}")" "$(ent_cell urandom "${s%%:*}")"
	done
	echo "dieharder -d N name (psamples): most extreme p-value, then ok (all PASSED) or nWmF (WEAK, FAILED):"
	rewound_any=0
	for spec in $DH_TESTS; do
		dh_row "$spec"
	done
	line "dieharder PASSED/WEAK/FAILED" \
		"$(dh_totals havege-rngd)" "$(dh_totals haveged)" "$(dh_totals urandom)"
	if [ "$rewound_any" = 0 ]; then
		echo "(no dieharder test reached the end of the file: each read only fresh bytes)"
	else
		echo "(REWOUND: the test read past the end of the file and so saw some bytes twice;"
		echo " its p-values are not those of fresh data)"
	fi
}

main() {
	local s spec t0
	bench_machine
	make_samples
	for s in "${sources[@]}"; do
		t0=$SECONDS
		printf '%s: %s: rngtest ent dieharder' "${0##*/}" "$s" >&2
		run_rngtest "$s"
		run_ent "$s"
		for spec in $DH_TESTS; do
			printf ' %s' "${spec%%:*}" >&2
			run_dieharder "$s" "$spec"
		done
		echo " ($((SECONDS - t0)) s)" >&2
	done
	report
}

main
exit 0
