#!/bin/bash
# refill.sh - how well the daemon's control loop keeps an old (4096-bit,
# blocking) /dev/random served: the consumer's blocked time and the
# wake-to-refill latency, on the simulated pool, with the real generator.
#
# Usage: bench/refill.sh PATH-TO-sim-refill        (or: make bench)
#        bench/refill.sh NAME=PATH NAME=PATH ...   (builds side by side)
# Environment: RUNS (runs per row, default 5), VSECONDS (virtual seconds
# per run, default 5), THRESHOLD (-w, default 2048), VARIANTS (1: also the
# rows with a smaller buffer and without the continuous test; 0: only the
# two rates the issue asks for), BENCH_SHM (tmpfs for the run outputs).
#
# Each row is one sim-refill command line; the rows take turns (row 1 run
# 1, row 2 run 1, ..., row 1 run 2, ...) so all see the same drifting
# background load.  The table holds medians over RUNS; below it the spread
# of the p99 latency and the blocked time, and one line per target.  Exit 0
# whatever the targets say; 1 if sim-refill fails.
#
# With several builds every row runs once per build, the builds taking
# turns too, and below the table each build's bits credited per CPU second
# against the first build's, row by row: a before/after comparison under
# the same load.  "stride" is the walk steps behind a sample, which the
# start-up calibration picks anew in each run and which sets the cost of a
# credited bit: walk bytes / (bits credited x 80), 640 samples of 32 walk
# bytes a step behind 256 credited bits.

# make bench runs us as "$(SHELL) refill.sh", and $(SHELL) may be sh.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd) || exit 1
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

RUNS=${RUNS:-5}
VSECONDS=${VSECONDS:-5}
THRESHOLD=${THRESHOLD:-2048}
VARIANTS=${VARIANTS:-1}

case $RUNS in
'' | *[!0-9]* | 0) bench_die "RUNS must be a positive integer" ;;
esac
case $VSECONDS in
'' | *[!0-9.]*) bench_die "VSECONDS must be a number of seconds" ;;
esac
case $THRESHOLD in
'' | *[!0-9]*) bench_die "THRESHOLD must be a number of bits" ;;
esac
[ $# -gt 0 ] || bench_die "usage: $0 PATH-TO-sim-refill (make bench/sim-refill), or NAME=PATH ..."
SIMS=()
NAMES=()
for arg in "$@"; do
	case $arg in
	*=*) NAMES+=("${arg%%=*}") SIMS+=("${arg#*=}") ;;
	*) NAMES+=("") SIMS+=("$arg") ;;
	esac
	[ -x "${SIMS[-1]}" ] || bench_die "not an executable: ${SIMS[-1]}"
done
if [ ${#SIMS[@]} -gt 1 ]; then
	for name in "${NAMES[@]}"; do
		[ -n "$name" ] || bench_die "several builds: name each one, NAME=PATH"
	done
fi
bench_need awk:mawk sort:coreutils
bench_tmpdir
[ "$RUNS" -ge 5 ] || echo "${0##*/}: warning: RUNS=$RUNS; medians of fewer than 5 runs are noisy" >&2

# ---------------------------------------------------------------- the rows
# label | sim-refill options (the rate first).  The first two are the
# issue's; the others show where the latency comes from.
BASE_ROWS=(
	"1 MiB/s, daemon defaults|-r 1m"
	"64 MiB/s, daemon defaults|-r 64m"
)
if [ "$VARIANTS" = 1 ]; then
	BASE_ROWS+=(
		"1 MiB/s, -b 32|-r 1m -b 32"
		"1 MiB/s, -b 32 -o ta8b|-r 1m -b 32 -o ta8b"
	)
fi
# ROWS: label | build index | options, each base row once per build.
ROWS=()
for row in "${BASE_ROWS[@]}"; do
	for ((b = 0; b < ${#SIMS[@]}; b++)); do
		label=${row%%|*}
		[ -z "${NAMES[$b]}" ] || label="$label [${NAMES[$b]}]"
		ROWS+=("$label|$b|${row#*|}")
	done
done

# The figures kept from each run, as sim-refill names them.
KEYS=(blocked_pct served_kBps latency_median_us latency_p99_us wakeups
      add_calls bits_credited bits_effective cpu_ms_per_vs virtual_s wall_s walk_mb)

# run_row N: one run of row N; appends each figure to $BENCH_TMP/N.KEY.
run_row() {
	local n=$1 opts out=$BENCH_TMP/run.out key rest SIM
	rest=${ROWS[$n]#*|}
	SIM=${SIMS[${rest%%|*}]}
	opts=${rest#*|}
	# shellcheck disable=SC2086	# opts is a list of options
	if ! "$SIM" $opts -w "$THRESHOLD" -s "$VSECONDS" >"$out" 2>"$BENCH_TMP/run.err"; then
		sed 's/^/  | /' "$BENCH_TMP/run.err" "$out" >&2
		bench_die "sim-refill failed: $SIM $opts -w $THRESHOLD -s $VSECONDS"
	fi
	for key in "${KEYS[@]}"; do
		awk -v k="$key" '$1 == k { print $2; found = 1 } END { exit !found }' \
			"$out" >>"$BENCH_TMP/$n.$key" ||
			bench_die "no $key in the output of: $SIM $opts"
	done
}

# med N KEY [FMT]: the median of a figure of row N, printf'd with FMT.
med() {
	num "${3:-%.1f}" "$(bench_median "$BENCH_TMP/$1.$2")"
}

# num FMT VALUE: VALUE printf'd by awk (bash's printf is locale-bound).
num() {
	awk -v f="$1" -v v="$2" 'BEGIN { printf f, v }'
}

# per_s N KEY: the median of a count divided by its run's virtual seconds.
per_s() {
	paste "$BENCH_TMP/$1.$2" "$BENCH_TMP/$1.virtual_s" |
		awk '{ print $1 / $2 }' >"$BENCH_TMP/$1.$2.per_s"
	num %.0f "$(bench_median "$BENCH_TMP/$1.$2.per_s")"
}

# ratio N: the median of bits_effective / bits_credited.
ratio() {
	paste "$BENCH_TMP/$1.bits_effective" "$BENCH_TMP/$1.bits_credited" |
		awk '{ print ($2 ? $1 / $2 : 0) }' >"$BENCH_TMP/$1.ratio"
	num %.2f "$(bench_median "$BENCH_TMP/$1.ratio")"
}

# bits_cpu N: the median of the bits credited per CPU second of the run
# (the feeder's claim, --credit bits per byte given, over getrusage()'s
# CPU time): what a credited bit costs.
bits_cpu() {
	paste "$BENCH_TMP/$1.bits_credited" "$BENCH_TMP/$1.cpu_ms_per_vs" "$BENCH_TMP/$1.virtual_s" |
		awk '{ print ($2 * $3 ? $1 / ($2 * $3 / 1000) : 0) }' >"$BENCH_TMP/$1.bits_cpu"
	num %.0f "$(bench_median "$BENCH_TMP/$1.bits_cpu")"
}

# stride N: the median walk steps behind a sample (see the top).
stride() {
	paste "$BENCH_TMP/$1.walk_mb" "$BENCH_TMP/$1.bits_credited" |
		awk '{ print ($2 ? $1 * 1e6 / ($2 * 80) : 0) }' >"$BENCH_TMP/$1.stride"
	num %.1f "$(bench_median "$BENCH_TMP/$1.stride")"
}

# ---------------------------------------------------------------- running
echo "machine: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cpus, Linux $(uname -r)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "simulated old pool (4096 bits, asymptotic crediting), -w $THRESHOLD, starting full;"
echo "the generator's real compute time advances the virtual clock; $VSECONDS virtual s per run, $RUNS runs per row"
for ((b = 0; b < ${#SIMS[@]}; b++)); do
	[ -z "${NAMES[$b]}" ] || echo "build ${NAMES[$b]}: ${SIMS[$b]}"
done
printf '%s: %d rows x %d runs ' "${0##*/}" "${#ROWS[@]}" "$RUNS" >&2
for ((i = 1; i <= RUNS; i++)); do
	for ((n = 0; n < ${#ROWS[@]}; n++)); do
		run_row "$n"
	done
	printf . >&2
done
echo >&2
echo "load average at end:   $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# ---------------------------------------------------------------- the table
width=26
[ ${#SIMS[@]} -eq 1 ] || width=40
fmt="%-${width}s %9s %9s %9s %9s %9s %9s %7s %7s %9s %6s\n"
# shellcheck disable=SC2059	# one format for the whole table
printf "$fmt" "consumer, options" "blocked" "served" "lat med" "lat p99" "wake-ups" "RNDADD" "eff/" "CPU ms" "credited" "stride"
# shellcheck disable=SC2059
printf "$fmt" "" "%" "KiB/s" "us" "us" "per s" "per s" "credit" "per s" "bits/CPUs" ""
for ((n = 0; n < ${#ROWS[@]}; n++)); do
	# shellcheck disable=SC2059
	printf "$fmt" "${ROWS[$n]%%|*}" "$(med "$n" blocked_pct)" "$(med "$n" served_kBps %.0f)" \
		"$(med "$n" latency_median_us)" "$(med "$n" latency_p99_us %.0f)" \
		"$(per_s "$n" wakeups)" "$(per_s "$n" add_calls)" "$(ratio "$n")" \
		"$(med "$n" cpu_ms_per_vs %.0f)" "$(bits_cpu "$n")" "$(stride "$n")"
done
echo
echo "bits credited per CPU second by stride (median, runs), each run's own stride:"
for ((n = 0; n < ${#ROWS[@]}; n++)); do
	printf '  %-*s %s\n' "$width" "${ROWS[$n]%%|*}:" "$(paste "$BENCH_TMP/$n.stride" "$BENCH_TMP/$n.bits_cpu" |
		awk '{ s = sprintf("%.0f", $1); v[s] = v[s] " " $2 }
		     END { for (s in v) print s, v[s] }' | sort -n |
		while read -r st vals; do
			# shellcheck disable=SC2086	# vals is a list of numbers
			printf '%s\n' $vals >"$BENCH_TMP/by-stride"
			printf 'stride %s: %s (%s)  ' "$st" "$(num %.0f "$(bench_median "$BENCH_TMP/by-stride")")" \
				"$(wc -l <"$BENCH_TMP/by-stride")"
		done)"
done
if [ ${#SIMS[@]} -gt 1 ]; then
	echo
	echo "bits credited per CPU second against build ${NAMES[0]} (medians):"
	for ((n = 0; n < ${#ROWS[@]}; n++)); do
		rest=${ROWS[$n]#*|}
		b=${rest%%|*}
		[ "$b" -gt 0 ] || continue
		first=$((n - b))
		printf '  %-*s %s\n' "$width" "${ROWS[$n]%%|*}:" \
			"$(awk -v a="$(bits_cpu "$n")" -v z="$(bits_cpu "$first")" 'BEGIN { printf "%.2f", z ? a / z : 0 }')"
	done
fi
echo
echo "spread over the runs (min..max):"
for ((n = 0; n < ${#ROWS[@]}; n++)); do
	printf '  %-*s blocked %s %%, p99 %s us, wall %s s\n' "$width" "${ROWS[$n]%%|*}" \
		"$(bench_spread "$BENCH_TMP/$n.blocked_pct")" \
		"$(bench_spread "$BENCH_TMP/$n.latency_p99_us")" \
		"$(bench_spread "$BENCH_TMP/$n.wall_s")"
done
echo
echo "haveged: not driven.  It talks only to the real /dev/random (no simulated"
echo "  pool can be put under it), and this kernel's 256-bit pool never reports"
echo "  POLLOUT after boot, so its refill loop never wakes here.  bench/oldpool.sh"
echo "  measures both on the old-pool kernel, under QEMU."
echo

# ---------------------------------------------------------------- targets
for ((n = 0; n < ${#ROWS[@]}; n++)); do
	p99=$(med "$n" latency_p99_us %.0f)
	verdict=$(awk -v p="$p99" 'BEGIN { print (p < 1000 ? "PASS" : "MISS") }')
	printf 'target refill latency p99 < 1000 us, %-*s %9s us  %s\n' "$((width + 1))" "${ROWS[$n]%%|*}:" "$p99" "$verdict"
done
exit 0
