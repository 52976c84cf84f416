#!/bin/bash
# idle.sh - what an idle havege-rngd costs on this kernel, next to haveged:
# wake-ups and CPU time over DURATION seconds after start-up.
#
# Usage: bench/idle.sh PATH-TO-havege-rngd          (or: make bench)
# Run as root: both daemons open the real /dev/random and call
# RNDADDENTROPY (haveged writes to the real kernel pool; on a test machine
# that is harmless).  Environment: DURATION (seconds measured, default 60),
# HAVEGED (default /usr/sbin/haveged), STRACE (1: also attach strace -c
# for the window and count the wait calls; this perturbs the other
# figures, see below), BENCH_SHM.
#
# Both daemons start at once, in the foreground (-F), each logging to its
# own file; havege-rngd with its default -T 60 and -v 65 (start-up summary
# and one line per RNDADDENTROPY), haveged 1.9.14 in its own network
# namespace (it binds a fixed abstract socket).  The window opens once both
# have logged the end of their start-up (havege-rngd: "feeding the ...",
# haveged: its "fills:" summary) and lasts DURATION seconds.  For each
# daemon, over all its threads (/proc/PID/task/*):
#   wake-ups  voluntary_ctxt_switches: each time a thread blocked, in
#             poll()/pselect() or anywhere else, and so was woken again
#   preempted nonvoluntary_ctxt_switches (reported, not a wake-up)
#   CPU       the first field of schedstat: ns on a CPU, not tick-rounded
# These counters are read, not traced: nothing stops the daemons, so
# nothing is added to what they do.  Both daemons are stopped on exit
# (SIGTERM, then SIGKILL after 3 s), whatever ends the script.

# make bench runs us as "$(SHELL) idle.sh", and $(SHELL) may be sh.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd) || exit 1
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

DURATION=${DURATION:-60}
HAVEGED=${HAVEGED:-/usr/sbin/haveged}
STRACE=${STRACE:-0}
STARTUP_S=30                 # longest start-up waited for

case $DURATION in
'' | *[!0-9]* | 0) bench_die "DURATION must be a positive number of seconds" ;;
esac
HRNG=${1:-}
[ -n "$HRNG" ] || bench_die "usage: $0 PATH-TO-havege-rngd"
[ -x "$HRNG" ] || bench_die "not an executable: $HRNG"
[ -x "$HAVEGED" ] || bench_die "not an executable: $HAVEGED (package haveged, or set HAVEGED)"
[ "$(id -u)" = 0 ] || bench_die "needs root: both daemons call RNDADDENTROPY on the real kernel"
bench_need unshare:util-linux awk:mawk
[ "$STRACE" = 1 ] && bench_need strace:strace
bench_tmpdir

# ---------------------------------------------------------------- the daemons
declare -A PID=()            # name -> pid
declare -A LOG=()            # name -> its stderr
declare -A STATUS=()         # name -> exit status after our SIGTERM
STRACE_PIDS=()
SLEEP_PID=                   # the window's sleep, while it runs

# stop_all: SIGTERM each daemon we started, SIGKILL what is left after 3 s.
stop_all() {
	local name pid i
	for pid in "${STRACE_PIDS[@]}"; do
		kill -INT "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	STRACE_PIDS=()
	for name in "${!PID[@]}"; do
		kill -TERM "${PID[$name]}" 2>/dev/null
	done
	for name in "${!PID[@]}"; do
		pid=${PID[$name]}
		for ((i = 0; i < 30; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		STATUS[$name]=$?
		unset "PID[$name]"
	done
}

# bench_tmpdir's EXIT trap removes $BENCH_TMP; ours stops the daemons first.
trap '[ -n "$SLEEP_PID" ] && kill "$SLEEP_PID" 2>/dev/null; stop_all; rm -rf "$BENCH_TMP"' EXIT

# start NAME CMD...: start a daemon with its stderr (and stdout) in a file.
start() {
	local name=$1
	shift
	LOG[$name]=$BENCH_TMP/$name.log
	"$@" >"${LOG[$name]}" 2>&1 &
	PID[$name]=$!
}

# wait_for NAME PATTERN: until the daemon's log has a line matching PATTERN;
# exit 1 if it dies or STARTUP_S passes.
wait_for() {
	local name=$1 pattern=$2 i
	for ((i = 0; i < STARTUP_S * 10; i++)); do
		grep -q -- "$pattern" "${LOG[$name]}" && return 0
		kill -0 "${PID[$name]}" 2>/dev/null || {
			sed 's/^/  | /' "${LOG[$name]}" >&2
			bench_die "$name exited during start-up"
		}
		sleep 0.1
	done
	sed 's/^/  | /' "${LOG[$name]}" >&2
	bench_die "$name did not log '$pattern' within $STARTUP_S s"
}

# ---------------------------------------------------------------- counters
# sample NAME: "voluntary nonvoluntary cpu_ns threads" summed over the tasks.
sample() {
	local pid=${PID[$1]} t vol=0 inv=0 cpu=0 n=0 v i c
	for t in /proc/"$pid"/task/*; do
		v=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "$t/status" 2>/dev/null) || continue
		i=$(awk '/^nonvoluntary_ctxt_switches/ { print $2 }' "$t/status" 2>/dev/null) || continue
		c=$(cut -d' ' -f1 "$t/schedstat" 2>/dev/null) || continue
		if [ -z "$v" ] || [ -z "$i" ] || [ -z "$c" ]; then continue; fi
		vol=$((vol + v)); inv=$((inv + i)); cpu=$((cpu + c)); n=$((n + 1))
	done
	[ "$n" -gt 0 ] || bench_die "$1 (pid $pid) has no readable tasks"
	echo "$vol $inv $cpu $n"
}

# strace_attach NAME: count the daemon's system calls until stop_all.
strace_attach() {
	strace -f -c -o "$BENCH_TMP/$1.strace" -p "${PID[$1]}" 2>/dev/null &
	STRACE_PIDS+=($!)
}

# ---------------------------------------------------------------- running
echo "machine: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cpus, Linux $(uname -r)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "kernel pool: poolsize $(cat /proc/sys/kernel/random/poolsize), entropy_avail $(cat /proc/sys/kernel/random/entropy_avail), write_wakeup_threshold $(cat /proc/sys/kernel/random/write_wakeup_threshold)"
echo "havege-rngd: $HRNG ($("$HRNG" -V 2>&1 | head -n 1))"
echo "haveged:     $HAVEGED ($("$HAVEGED" -V 2>&1 | head -n 1))"

HRNG_CMD=("$HRNG" -F -v 65)
HAVEGED_CMD=(unshare -n "$HAVEGED" -F -v 1)
echo "commands: ${HRNG_CMD[*]}  |  ${HAVEGED_CMD[*]}"
start havege-rngd "${HRNG_CMD[@]}"
start haveged "${HAVEGED_CMD[@]}"
wait_for havege-rngd 'feeding the'
wait_for haveged 'fills:'

[ "$STRACE" = 1 ] && { strace_attach havege-rngd; strace_attach haveged; sleep 0.5; }
declare -A A=() B=()
for name in havege-rngd haveged; do A[$name]=$(sample "$name"); done
hrng_lines0=$(grep -c 'RNDADDENTROPY' "${LOG[havege-rngd]}")
echo "${0##*/}: both started; measuring $DURATION s" >&2
# In the background, so that a signal to the script is handled at once.
sleep "$DURATION" &
SLEEP_PID=$!
wait "$SLEEP_PID"
SLEEP_PID=
for name in havege-rngd haveged; do B[$name]=$(sample "$name"); done
hrng_lines1=$(grep -c 'RNDADDENTROPY' "${LOG[havege-rngd]}")
stop_all
echo "load average at end:   $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# ---------------------------------------------------------------- the table
fmt='%-12s %8s %12s %10s %10s %14s %8s\n'
# shellcheck disable=SC2059	# one format for the whole table
printf "$fmt" daemon threads "wake-ups" "per min" preempted "CPU ms" "per min"
for name in havege-rngd haveged; do
	read -r v0 i0 c0 _ <<<"${A[$name]}"
	read -r v1 i1 c1 n1 <<<"${B[$name]}"
	awk -v n="$name" -v t="$n1" -v w=$((v1 - v0)) -v p=$((i1 - i0)) \
		-v c=$((c1 - c0)) -v d="$DURATION" -v f="$fmt" 'BEGIN {
		printf f, n, t, w, sprintf("%.1f", w * 60 / d), p,
			sprintf("%.3f", c / 1e6), sprintf("%.3f", c / 1e6 * 60 / d)
	}'
done
echo
echo "havege-rngd RNDADDENTROPY in the window (from its -v 64 log): $((hrng_lines1 - hrng_lines0))"
echo "exit status after SIGTERM: havege-rngd ${STATUS[havege-rngd]}, haveged ${STATUS[haveged]}"
if [ "$STRACE" = 1 ]; then
	echo
	echo "strace -f -c over the window (ptrace stops inflate the wake-ups and CPU above):"
	for name in havege-rngd haveged; do
		echo "  $name:"
		awk '$NF ~ /^(poll|ppoll|pselect6|select|epoll_wait|epoll_pwait|nanosleep|clock_nanosleep|futex|ioctl|write)$/ {
			printf "    %-16s %s calls\n", $NF, $4 }' "$BENCH_TMP/$name.strace"
	done
fi
echo

# ---------------------------------------------------------------- targets
read -r v0 _ c0 _ <<<"${A[havege-rngd]}"
read -r v1 _ c1 _ <<<"${B[havege-rngd]}"
awk -v w=$((v1 - v0)) -v c=$((c1 - c0)) -v d="$DURATION" 'BEGIN {
	# -T 60: at most one wake-up per interval, so ceil(d / 60) in d seconds.
	lim = int((d + 59) / 60)
	printf "target havege-rngd wake-ups <= 1 per -T 60 s: %d in %d s (limit %d)  %s\n",
		w, d, lim, w <= lim ? "PASS" : "MISS"
	cm = c / 1e6 * 60 / d
	printf "target havege-rngd CPU < 10 ms per idle minute: %.3f ms  %s\n",
		cm, cm < 10 ? "PASS" : "MISS"
}'
exit 0
