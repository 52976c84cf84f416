#!/bin/bash
# throughput.sh - speed, start-up time and memory of havege-rngd against
# Debian's haveged, both in file mode.
#
# Usage: bench/throughput.sh PATH-TO-havege-rngd    (or: make bench)
# Environment: RUNS (runs per program and row, default 7), SIZE (default
# 256M), SIZE_A (default 64M, the -o ta8bca8b row), HAVEGED (default
# /usr/sbin/haveged), BENCH_SHM (tmpfs for the outputs, default /dev/shm).
#
# Every row runs the two programs alternately, RUNS times each, writing a
# file on a tmpfs that is deleted before each run; it prints the medians,
# the ratio havege-rngd/haveged and whether the target is met.  Exit 0
# whatever the targets say; exit 1 if a program fails or writes the
# wrong number of bytes.

# make bench runs us as "$(SHELL) throughput.sh", and $(SHELL) may be sh.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd) || exit 1
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

RUNS=${RUNS:-7}
SIZE=${SIZE:-256M}
# haveged's continuous procedure A needs about 15 s for 256 MiB here.
SIZE_A=${SIZE_A:-64M}

case $RUNS in
'' | *[!0-9]* | 0) bench_die "RUNS must be a positive integer" ;;
esac
RUNS=$((10#$RUNS))
bench_setup "${1:-}"
bench_bytes "$SIZE" >/dev/null		# exits here on a bad size
bench_bytes "$SIZE_A" >/dev/null
[ "$RUNS" -ge 5 ] || echo "${0##*/}: warning: RUNS=$RUNS; medians of fewer than 5 runs are noisy" >&2

# ---------------------------------------------------------------- measuring
# measure_pair SIZE A B WHAT: RUNS alternating runs of the commands in the
# arrays A_CMD and B_CMD, each given "-n SIZE -f OUT" and run under the
# array WRAP (normally $NETNS: see bench/lib.sh).  Wall times (us) go to
# $BENCH_TMP/A.us and B.us, peak RSS (KiB) to A.rss and B.rss.
measure_pair() {
	local size=$1 a=$2 b=$3 what=$4 bytes i out=$BENCH_TMP/out.bin
	bytes=$(bench_bytes "$size")
	: >"$BENCH_TMP/$a.us"; : >"$BENCH_TMP/$a.rss"
	: >"$BENCH_TMP/$b.us"; : >"$BENCH_TMP/$b.rss"
	printf '%s: %s, %d runs each ' "${0##*/}" "$what" "$RUNS" >&2
	for ((i = 1; i <= RUNS; i++)); do
		bench_run "$out" "$bytes" "${WRAP[@]}" "${A_CMD[@]}" -n "$size" -f "$out"
		echo "$RUN_US" >>"$BENCH_TMP/$a.us"
		echo "$RUN_RSS_KB" >>"$BENCH_TMP/$a.rss"
		bench_run "$out" "$bytes" "${WRAP[@]}" "${B_CMD[@]}" -n "$size" -f "$out"
		echo "$RUN_US" >>"$BENCH_TMP/$b.us"
		echo "$RUN_RSS_KB" >>"$BENCH_TMP/$b.rss"
		printf . >&2
	done
	rm -f "$out"
	echo >&2
}

# to_mbs SERIES SIZE: per-run throughput in MB/s (10^6 bytes) = bytes/us.
to_mbs() {
	awk -v b="$(bench_bytes "$2")" '{ printf "%.3f\n", b / $1 }' \
		"$BENCH_TMP/$1.us" >"$BENCH_TMP/$1.mbs"
}

to_ms() {
	awk '{ printf "%.3f\n", $1 / 1000 }' "$BENCH_TMP/$1.us" >"$BENCH_TMP/$1.ms"
}

# ---------------------------------------------------------------- reporting
# paired_ratio A-FILE B-FILE: median of the run-by-run ratios A/B.  Runs i
# of A and B were next to each other in time, so this ratio is less moved
# by load that drifts over the loop; printed as a check on the ratio of
# the medians, which the targets use.
paired_ratio() {
	paste "$1" "$2" | awk '{ printf "%.6f\n", $1 / $2 }' >"$BENCH_TMP/paired"
	printf '%.3f' "$(bench_median "$BENCH_TMP/paired")"
}

rows=()
summary=()
spreads=()

# row NAME A-FILE B-FILE OP LIMIT DIRECTION [B-LABEL]: one table row from
# the medians of two series; OP is >= or <= (or "-" for report only), the
# ratio is A/B.
row() {
	local name=$1 fa=$BENCH_TMP/$2 fb=$BENCH_TMP/$3 op=$4 limit=$5 dir=$6
	local ma mb ratio result target
	ma=$(bench_median "$fa")
	mb=$(bench_median "$fb")
	ratio=$(awk -v a="$ma" -v b="$mb" 'BEGIN { printf "%.3f", a / b }')
	if [ "$op" = - ]; then
		result=INFO
		target="none ($dir)"
	else
		result=$(awk -v r="$ratio" -v l="$limit" -v op="$op" 'BEGIN {
			ok = (op == ">=") ? (r >= l) : (r <= l)
			print ok ? "PASS" : "MISS" }')
		target="$op $limit ($dir)"
	fi
	rows+=("$(printf '%-34s %12s %12s %7s  %-26s %s' \
		"$name" "$ma" "$mb" "$ratio" "$target" "$result")")
	spreads+=("$(printf '%-34s %21s %21s %9s' "$name" \
		"$(bench_spread "$fa")" "$(bench_spread "$fb")" \
		"$(paired_ratio "$fa" "$fb")")")
	[ "$op" = - ] ||
		summary+=("$result  $name: ratio $ratio, target $op $limit, $dir${7:+ (second column: $7)}")
}

# ---------------------------------------------------------------- the rows
main() {
	bench_machine
	echo "runs: $RUNS per program and row, alternating; medians shown"
	echo

	WRAP=("${NETNS[@]}")
	A_CMD=("$HRNG"); B_CMD=("$HAVEGED")
	# One discarded run each, so that neither pays for loading its
	# binary and libraries from disk.
	bench_run "$BENCH_TMP/out.bin" 1 "${NETNS[@]}" "$HRNG" -n 1 -f "$BENCH_TMP/out.bin"
	bench_run "$BENCH_TMP/out.bin" 1 "${NETNS[@]}" "$HAVEGED" -n 1 -f "$BENCH_TMP/out.bin"
	measure_pair 1 ttfb_h ttfb_g "-n 1"
	to_ms ttfb_h; to_ms ttfb_g

	measure_pair "$SIZE" def_h def_g "-n $SIZE"
	to_mbs def_h "$SIZE"; to_mbs def_g "$SIZE"

	# haveged has no working -t; havege-rngd -t 2 is compared with its
	# own -t 1, measured in the same alternating loop.  The namespace is
	# there for haveged's abstract socket; havege-rngd opens no socket in
	# file mode, and the 4-5 ms that creating one costs here would be
	# counted against both runs of a ratio that is about time.
	WRAP=()
	A_CMD=("$HRNG" -t 2); B_CMD=("$HRNG" -t 1)
	measure_pair "$SIZE" t2_h t1_h "havege-rngd -t 2 / -t 1, -n $SIZE"
	to_mbs t2_h "$SIZE"; to_mbs t1_h "$SIZE"
	WRAP=("${NETNS[@]}")

	A_CMD=("$HRNG" -o ta8bcb); B_CMD=("$HAVEGED" -o ta8bcb)
	measure_pair "$SIZE" cb_h cb_g "-o ta8bcb -n $SIZE"
	to_mbs cb_h "$SIZE"; to_mbs cb_g "$SIZE"

	A_CMD=("$HRNG" -o ta8bca8b); B_CMD=("$HAVEGED" -o ta8bca8b)
	measure_pair "$SIZE_A" ca_h ca_g "-o ta8bca8b -n $SIZE_A"
	to_mbs ca_h "$SIZE_A"; to_mbs ca_g "$SIZE_A"

	row "throughput MB/s, -n $SIZE" def_h.mbs def_g.mbs '>=' 1.0 "higher is better"
	row "first byte ms, -n 1" ttfb_h.ms ttfb_g.ms '<=' 0.5 "lower is better"
	row "peak RSS KiB, -n $SIZE" def_h.rss def_g.rss '<=' 1.0 "lower is better"
	row "-t 2 vs -t 1 MB/s, -n $SIZE" t2_h.mbs t1_h.mbs '>=' 1.7 "higher is better" \
		"havege-rngd -t 1"
	row "-o ta8bcb MB/s, -n $SIZE" cb_h.mbs cb_g.mbs '>=' 3.0 "higher is better"
	row "-o ta8bca8b MB/s, -n $SIZE_A" ca_h.mbs ca_g.mbs - - "higher is better"

	printf '%-34s %12s %12s %7s  %-26s %s\n' row havege-rngd haveged ratio target result
	printf '%s\n' "${rows[@]}"
	echo "(ratio = havege-rngd / haveged; in the -t row: havege-rngd -t 2 / havege-rngd -t 1)"
	echo
	printf '%-34s %21s %21s %9s\n' "spread over the runs (min..max)" \
		havege-rngd haveged "paired"
	printf '%s\n' "${spreads[@]}"
	echo
	echo "targets:"
	printf '%s\n' "${summary[@]}"
}

main
exit 0
