#!/bin/sh
# e2e-mlock.sh - output buffers are locked in memory where RLIMIT_MEMLOCK
# allows, and where it does not the run goes on after one warning line.
# Needs root (to take CAP_IPC_LOCK away with setpriv) for the refused case.
. "$top_srcdir/tests/tap.sh"

work=$(mktemp -d) || exit 99
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 99

size_of() { stat -c %s "$1"; }

# memlock_allows KIB: whether a child of ours may lock KIB KiB: with
# CAP_IPC_LOCK (bit 14 of CapEff) RLIMIT_MEMLOCK does not apply; else the
# soft limit must allow it, raised here up to the hard limit if need be.
memlock_allows() {
	eff=$(sed -n 's/^CapEff:[[:space:]]*\([0-9a-f]*\)$/\1/p' /proc/self/status)
	[ $(( (0x${eff:-0} >> 14) & 1 )) -eq 1 ] && return 0
	cur=$(ulimit -S -l)
	[ "$cur" = unlimited ] && return 0
	[ "$cur" -ge "$1" ] && return 0
	ulimit -S -l "$1" 2>/dev/null
}

# While a long run writes, its locked memory shows as VmLck: the walk
# buffer and deltas from the start, the ring once the start-up tests are
# done (512 KiB each for the ring and the walk buffer at the defaults;
# about 1.2 MiB locked in all, so ask for 2 MiB).  Where RLIMIT_MEMLOCK is
# smaller and cannot be raised (64 KiB before Linux 5.16) the daemon
# warns and runs on, which the RLIMIT_MEMLOCK 0 checks below cover: skip.
if memlock_allows 2048; then
	"$HRNG" -n 16t -f big.bin 2>err.txt &
	pid=$!
	i=0 lck=0
	while [ $i -lt 250 ]; do
		lck=$(sed -n 's/^VmLck:[[:space:]]*\([0-9]*\) kB$/\1/p' /proc/$pid/status 2>/dev/null)
		[ "${lck:-0}" -ge 1024 ] && break
		sleep 0.02; i=$((i + 1))
	done
	kill -TERM $pid; wait $pid
	check "buffers locked while writing: VmLck ${lck:-0} kB >= 1024" [ "${lck:-0}" -ge 1024 ]
	check "no warning when the limit allows" [ ! -s err.txt ]
else
	why="RLIMIT_MEMLOCK $(ulimit -S -l) KiB (hard $(ulimit -H -l)), no CAP_IPC_LOCK: cannot lock 2048 KiB"
	skip "buffers locked while writing: $why"
	skip "no warning when the limit allows: $why"
fi

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	skip "RLIMIT_MEMLOCK 0: needs root and setpriv to drop CAP_IPC_LOCK"
	done_testing; exit
fi
# Without CAP_IPC_LOCK and with a limit of 0, every mlock() is refused.
nolock() { setpriv --bounding-set=-ipc_lock sh -c 'ulimit -l 0 && exec "$@"' sh "$@"; }
nolock "$HRNG" -n 1m -f out.bin 2>err.txt
st=$?
check "RLIMIT_MEMLOCK 0: status 0" [ "$st" -eq 0 ]
check "RLIMIT_MEMLOCK 0: all the output" [ "$(size_of out.bin)" -eq 1048576 ]
check "RLIMIT_MEMLOCK 0: exactly one line on stderr" [ "$(wc -l <err.txt)" -eq 1 ]
check "RLIMIT_MEMLOCK 0: it names the limit" grep -q "cannot lock output buffers in memory.*RLIMIT_MEMLOCK" err.txt
# Many buffers (two lanes, continuous tests): still one warning.
nolock "$HRNG" -t 2 -o ta8bcb -n 4m -f out.bin 2>err.txt
check "RLIMIT_MEMLOCK 0, -t 2 -o ta8bcb: status 0 and one line" \
	sh -c "[ $? -eq 0 ] && [ \"\$(wc -l <err.txt)\" -eq 1 ] && [ $(size_of out.bin) -eq 4194304 ]"
done_testing
