# shellcheck shell=bash
# lib.sh - helpers shared by the bench/ scripts.
# Source it from bash (it reads $EPOCHREALTIME); it defines, and runs
# nothing itself:
#
#   bench_die MSG...            message on stderr, exit 1
#   bench_need TOOL:PKG...      exit 1 naming every missing tool and its package
#   bench_setup PROGRAM         check the program, pick the namespace wrapper,
#                               make $BENCH_TMP on a tmpfs (removed on exit);
#                               call it before any of the functions below
#   bench_run OUT SIZE CMD...   delete OUT, run CMD once; set RUN_US (wall
#                               time in us) and RUN_RSS_KB (peak RSS); exit 1
#                               if CMD fails or OUT is not SIZE bytes
#   bench_median FILE           median of the numbers in FILE, one a line
#   bench_spread FILE           "min..max" of the numbers in FILE
#   bench_bytes SIZE            SIZE with a k/m/g suffix (x1024) in bytes
#   bench_machine               a few lines describing the machine and load
#   bench_oldpool_start ARG     for the scripts that boot the old-pool
#                               kernel: ARG is the build directory; sets
#                               $BUILD, $top and $HRNG_OLDPOOL_KERNEL,
#                               sources tests/qemu/oldpool-lib.sh, exits 1
#                               saying what is missing (usage, kernel, QEMU)
#
# After bench_setup: $HRNG (havege-rngd), $HAVEGED (haveged, overridable
# from the environment) and $NETNS, the wrapper every program is run under
# (an array: "unshare -n", or "unshare -r -n" when not root).

export LC_ALL=C		# $EPOCHREALTIME and awk must use a decimal point

bench_die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

bench_need() {
	local spec missing=""
	for spec in "$@"; do
		command -v "${spec%%:*}" >/dev/null 2>&1 ||
			missing="$missing ${spec%%:*} (package ${spec#*:})"
	done
	[ -z "$missing" ] || bench_die "missing:$missing"
}

# haveged binds a fixed abstract unix socket even in file mode, so two
# instances (or one beside the system daemon) collide unless each has its
# own network namespace.  havege-rngd runs under the same wrapper so that
# both pay the same start-up cost (about 2 ms here) and the ratios compare
# the programs, not the harness.
bench_pick_netns() {
	if unshare -n true 2>/dev/null; then
		NETNS=(unshare -n)
	elif unshare -r -n true 2>/dev/null; then
		NETNS=(unshare -r -n)
	else
		bench_die "unshare -n fails (needs root or user namespaces)"
	fi
}

# Outputs go to a tmpfs: on a disk file system, block allocation and
# write-back of a 256 MiB file cost more than generating it and vary run
# to run.  Each run's output is deleted before the next run starts.
bench_tmpdir() {
	local base=${BENCH_SHM:-/dev/shm}
	if [ "$(stat -f -c %T "$base" 2>/dev/null)" != tmpfs ]; then
		echo "${0##*/}: warning: $base is not a tmpfs; timings include file system costs" >&2
	fi
	BENCH_TMP=$(mktemp -d "$base/hrng-bench.XXXXXX") ||
		bench_die "cannot create a directory under $base"
	trap 'rm -rf "$BENCH_TMP"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

bench_setup() {
	HRNG=${1:-}
	HAVEGED=${HAVEGED:-/usr/sbin/haveged}
	[ -n "$HRNG" ] || bench_die "usage: $0 PATH-TO-havege-rngd"
	[ -x "$HRNG" ] || bench_die "not an executable: $HRNG"
	[ -x "$HAVEGED" ] || bench_die "not an executable: $HAVEGED (package haveged, or set HAVEGED)"
	bench_need unshare:util-linux stat:coreutils awk:mawk
	[ -x /usr/bin/time ] || bench_die "missing: /usr/bin/time (package time)"
	bench_pick_netns
	bench_tmpdir
}

# The clock is read by the shell itself ($EPOCHREALTIME, microseconds), so
# no fork sits between the two readings except the run's own.  The peak
# RSS comes from GNU time, which runs inside the timed interval for both
# programs alike (about 2 ms).
# shellcheck disable=SC2034	# RUN_US and RUN_RSS_KB are for the caller
bench_run() {
	local out=$1 size=$2 t0 t1 rc got
	shift 2
	rm -f "$out"
	t0=$EPOCHREALTIME
	/usr/bin/time -f %M -o "$BENCH_TMP/rss" "$@" \
		>"$BENCH_TMP/stdout" 2>"$BENCH_TMP/stderr"
	rc=$?
	t1=$EPOCHREALTIME
	if [ "$rc" -ne 0 ]; then
		sed 's/^/  | /' "$BENCH_TMP/stderr" >&2
		bench_die "exit status $rc from: $*"
	fi
	got=$(stat -c %s "$out" 2>/dev/null) || got=missing
	[ "$got" = "$size" ] ||
		bench_die "wrote $got bytes, not $size: $*"
	RUN_US=$(( ${t1//[!0-9]/} - ${t0//[!0-9]/} ))
	RUN_RSS_KB=$(tail -n 1 "$BENCH_TMP/rss")
}

bench_median() {
	sort -g "$1" | awk '{ v[NR] = $1 }
		END {
			if (NR == 0) exit 1
			if (NR % 2) m = v[(NR + 1) / 2]
			else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.6g\n", m
		}'
}

bench_spread() {
	sort -g "$1" | awk 'NR == 1 { lo = $1 } { hi = $1 }
		END { printf "%.4g..%.4g\n", lo, hi }'
}

# Same rule as the programs' -n: each suffix letter a further x1024.
bench_bytes() {
	local n=$1 mult=1
	case $n in
	*[kK]) mult=1024 ;;
	*[mM]) mult=$((1024 * 1024)) ;;
	*[gG]) mult=$((1024 * 1024 * 1024)) ;;
	esac
	n=${n%[kKmMgG]}
	case $n in
	'' | *[!0-9]*) bench_die "bad size: $1" ;;
	esac
	echo $((n * mult))
}

bench_machine() {
	local cpu
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	echo "machine: ${cpu:-unknown cpu}, $(nproc) cpus, Linux $(uname -r)"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "havege-rngd: $HRNG ($("$HRNG" -V 2>&1 | head -n 1))"
	echo "haveged:     $HAVEGED ($("$HAVEGED" -V 2>&1 | head -n 1))"
	echo "wrapper:     ${NETNS[*]}; outputs in $BENCH_TMP"
}

# The old-pool kernel's path defaults to ../shared/kernels/old-pool/bzImage
# beside the source tree; $here is the calling script's folder (bench/).
bench_oldpool_start() {
	local why
	# shellcheck disable=SC2154 # $here: set by the calling script
	top=$(cd "$here/.." && pwd)
	BUILD=${1:-}
	[ -n "$BUILD" ] || bench_die "usage: $0 BUILD-DIRECTORY"
	: "${HRNG_OLDPOOL_KERNEL:=$top/../shared/kernels/old-pool/bzImage}"
	# shellcheck source=tests/qemu/oldpool-lib.sh
	. "$top/tests/qemu/oldpool-lib.sh"
	why=$(oldpool_missing) || bench_die "$why"
}
