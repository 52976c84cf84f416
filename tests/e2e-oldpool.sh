#!/bin/sh
# e2e-oldpool.sh - the daemon on a real kernel with the old random driver.
#
# Boots Linux 5.4.59 (4096-bit input pool, blocking /dev/random, POLLOUT
# below write_wakeup_threshold) under QEMU TCG with no virtio-rng, so that
# nothing but the daemon feeds the pool, and runs havege-rngd inside a
# busybox initramfs (tests/qemu/oldpool-init is its /init, with the
# readers of tests/qemu/oldpool-reader.c).  The guest prints "GUEST: "
# lines on the serial console; this script judges them:
#   --assess works in the guest (its table is copied here as comments);
#   the daemon names the 4096-bit pool with writer wake-ups, and -w sets
#   write_wakeup_threshold, and -w 0 leaves it as it is;
#   --once refills to the 7/8 it promises (doc/kernels.md) and exits 0;
#   after each drain of /dev/random, entropy_avail is back above -w within
#   DRAIN_BOUND_MS; a reader of 64 bytes every 10 ms never waits longer
#   than PACED_BOUND_MS;
#   with the pool full and no reader, no RNDADDENTROPY and no wake-up for
#   IDLE_S seconds of guest time;
#   the running daemon holds CAP_SYS_ADMIN only, no-new-privileges and
#   seccomp; SIGTERM ends it with 143;
#   in a --enable-mock-timer build, with the timer frozen once start-up is
#   over (HAVEGE_RNGD_MOCK_TIMER_LATER=freeze:100) and a reader waiting on
#   an emptied pool, the daemon credits nothing, stops with status 1, and
#   the reader stays blocked.
# The bounds are about 20 times the worst seen in six runs on a 2-vCPU
# AMD EPYC guest (drain 72 ms, paced reader 60 ms; doc/kernels.md,
# "Observed on a real 5.4 kernel"): CI runs TCG on a loaded 2-vCPU guest.
#
# Environment: HRNG_OLDPOOL_KERNEL (default $top_srcdir/../shared/kernels/
# old-pool/bzImage), OLDPOOL_READER (default $top_builddir/tests/qemu/
# oldpool-reader), KEEP=1 keeps the work directory.
# Skips (saying why) without the kernel, QEMU, cpio, a static busybox, ldd.
. "$top_srcdir/tests/tap.sh"

: "${top_builddir:=.}"
: "${HRNG_OLDPOOL_KERNEL:=$top_srcdir/../shared/kernels/old-pool/bzImage}"
: "${OLDPOOL_READER:=$top_builddir/tests/qemu/oldpool-reader}"
W=2048              # the -w under test (the kernel's default is 896)
IDLE_S=20           # guest seconds of idle watch
PACED_S=10          # guest seconds of the paced reader
DRAIN_BOUND_MS=1500
PACED_BOUND_MS=1000
PROMISE=3584        # 7/8 of 4096: what a refill lifts entropy_avail to
BOOT_TIMEOUT=150

if under_valgrind; then
	skip_all "the daemon runs inside a QEMU guest here, not under valgrind"
fi
. "$top_srcdir/tests/qemu/oldpool-lib.sh"
why=$(oldpool_missing) || skip_all "$why"
[ -x "$HRNG" ] || skip_all "no $HRNG"
[ -x "$OLDPOOL_READER" ] || skip_all "no $OLDPOOL_READER (make check builds it)"

work=$(mktemp -d) || exit 99
trap '[ -n "$KEEP" ] || rm -rf "$work"' EXIT

oldpool_initrd "$work" "$top_srcdir/tests/qemu/oldpool-init" \
	"$HRNG:havege-rngd" "$OLDPOOL_READER:oldpool-reader" ||
	{ fail "initramfs built (busybox, the daemon, the reader and their libraries)"; done_testing; exit 1; }

# ---------------------------------------------------------------- the run
t0=$(date +%s)
oldpool_boot "$work" "$BOOT_TIMEOUT" \
	"oldpool_w=$W oldpool_idle=$IDLE_S oldpool_paced=$PACED_S"
rc=$?
t1=$(date +%s)
echo "# guest ran under TCG in $((t1 - t0)) s (qemu exit $rc); host CPU: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
check "guest stopped by itself within $BOOT_TIMEOUT s" test "$rc" -eq 0
check "guest reached its end" grep -q '^END ' "$work/guest"

# g PATTERN: the first guest line matching PATTERN (a sed regex)
g() { sed -n "/$1/{p;q;}" "$work/guest"; }
# num LINE KEY: the number after "KEY=" in LINE
num() { echo "$1" | sed -n "s/.*$2=\([0-9-]*\).*/\1/p"; }

check "kernel is 5.4.59 with the 4096-bit pool" \
	sh -c "grep -qx 'uname 5.4.59' '$work/guest' && grep -qx 'poolsize 4096' '$work/guest'"
boot=$(g '^boot entropy_avail' | awk '{ print $3 }')
echo "# $(g '^boot entropy_avail')"

# --assess: what TCG's timer looks like to the calibration.
sed -n 's/^assess| /# assess: /p' "$work/guest"
assess=$(g '^assess rc=')
choice=$(g '^assess| choice: ' | sed 's/^assess| //')
if ! check "--assess in the TCG guest finds a rung ($assess; ${choice:-no choice printed})" \
	sh -c "[ '$(num "$assess" rc)' = 0 ] && grep -q '^assess| choice: rung [0-9]' '$work/guest'"; then
	echo "# the daemon refuses this guest's timer: the rest cannot pass"
fi

# --once
once=$(g '^once rc=')
sed -n 's/^once| /# once: /p' "$work/guest"
echo "# $once"
check "--once names the 4096-bit pool with writer wake-ups" \
	grep -q '^once| .*feeding the 4096-bit pool with writer wake-ups' "$work/guest"
check "--once exits 0" test "$(num "$once" rc)" = 0
check "-w $W sets write_wakeup_threshold" \
	sh -c "echo '$once' | grep -q 'threshold $W\$'"
oncew0=$(g '^oncew0 rc=')
echo "# $oncew0"
check "--once -w 0 exits 0 and leaves write_wakeup_threshold as it was (1234)" \
	sh -c "echo '$oncew0' | grep -q '^oncew0 rc=0 threshold 1234 -> 1234\$'"
last=$(sed -n 's/^once| .*RNDADDENTROPY: .*-> \([0-9]*\)$/\1/p' "$work/guest" | tail -n 1)
check "--once lifts entropy_avail from ${boot:-?} at boot to at least $PROMISE (last write left ${last:-none})" \
	sh -c "[ -n '$last' ] && [ -n '$boot' ] && [ '$boot' -lt $W ] && [ '$last' -ge $PROMISE ]"
after=$(echo "$once" | sed -n 's/.*entropy_avail [0-9]* -> \([0-9]*\).*/\1/p')
check "after --once, entropy_avail is still above -w ($after)" \
	sh -c "[ -n '$after' ] && [ '$after' -gt $W ]"

# RLIMIT_MEMLOCK: 64 KiB for init on kernels before 5.16
ml=$(g '^memlock limit' | awk '{ print $3 }')
check "--once at init's RLIMIT_MEMLOCK (${ml:-?} KiB) warns once that it cannot lock, and runs on" \
	sh -c "[ \"\$(grep -c '^once| .*cannot lock output buffers' '$work/guest')\" -eq 1 ] || [ '$ml' = unlimited ]"

# the daemon
if grep -q '^daemon did not start' "$work/guest"; then
	fail "the daemon starts in the guest"
	sed -n 's/^log| /# daemon: /p' "$work/guest"
	done_testing
	exit 1
fi
check "the daemon names the 4096-bit pool with writer wake-ups" \
	grep -q '^log| .*feeding the 4096-bit pool with writer wake-ups' "$work/guest"
sed -n 's/^status /# status: /p' "$work/guest"
st() { g "^status $1:" | awk '{ print $3 }'; }
check "running daemon holds CAP_SYS_ADMIN only (CapEff $(st CapEff))" \
	test "$(st CapEff)" = 0000000000200000
lck=$(g '^status VmLck:' | awk '{ print $3 }')
check "with ulimit -l 65536 the daemon locks its buffers (VmLck ${lck:-?} kB) and does not warn" \
	sh -c "[ -n '$lck' ] && [ '$lck' -gt 0 ] && ! grep -q '^log| .*cannot lock' '$work/guest'"
check "running daemon's bounding set is empty" test "$(st CapBnd)" = 0000000000000000
check "running daemon has NoNewPrivs" test "$(st NoNewPrivs)" = 1
check "running daemon is in seccomp filter mode" test "$(st Seccomp)" = 2

# idle with the pool full
idle=$(g '^idle from')
echo "# $idle"
set -- $(echo "$idle" | sed -n 's/^idle from \([0-9.]*\) to \([0-9.]*\) s: entropy_avail \([0-9]*\) -> \([0-9]*\), writes \([0-9]*\) -> \([0-9]*\), wake-ups \([0-9]*\) -> \([0-9]*\)$/\1 \2 \3 \4 \5 \6 \7 \8/p')
idle_w=""
if [ $# -eq 8 ]; then
	idle_w=$6
	span=$(echo "$1 $2" | awk '{ printf "%d", $2 - $1 }')
	check "idle watch lasted at least $IDLE_S s of guest time ($span s) with the pool above -w ($3)" \
		sh -c "[ $span -ge $IDLE_S ] && [ $3 -gt $W ]"
	check "no RNDADDENTROPY while idle ($5 -> $6 writes)" test "$5" -eq "$6"
	# the statistics line counts the SIGUSR1 that asked for it as a wake-up
	check "no wake-up while idle but the SIGUSR1 that asked ($7 -> $8)" test $(($8 - $7)) -eq 1
else
	fail "idle watch reported"
fi

# readers
sed -n 's/^drain round/# drain round/p' "$work/guest"
drain=$(g '^drain max_ms=')
dmax=$(num "$drain" max_ms)
check "each drain took entropy_avail below -w" \
	sh -c "! sed -n 's/^drain round=[0-9]* avail [0-9]* -> \([0-9]*\) .*/\1/p' '$work/guest' | awk '\$1 >= $W { bad = 1 } END { exit !bad }' && grep -q '^drain round=4 ' '$work/guest'"
check "after each drain entropy_avail is back above -w within $DRAIN_BOUND_MS ms (worst ${dmax:-?} ms)" \
	sh -c "[ '$(num "$drain" missed)' = 0 ] && [ -n '$dmax' ] && [ '$dmax' -le $DRAIN_BOUND_MS ]"
paced=$(g '^paced reads=')
echo "# $paced"
pmax=$(num "$paced" max_wait_ms)
check "a reader of 64 bytes every 10 ms is served ($(num "$paced" reads) reads in $PACED_S s)" \
	sh -c "[ '$(num "$paced" reads)' -ge $((PACED_S * 10)) ] 2>/dev/null"
check "it never waits longer than $PACED_BOUND_MS ms (worst ${pmax:-?} ms)" \
	sh -c "[ -n '$pmax' ] && [ '$pmax' -le $PACED_BOUND_MS ]"

# SIGTERM
ex=$(g '^daemon exit ' | awk '{ print $3 }')
nw=$(g '^daemon exit ' | awk '{ print $5 }')
check "the readers were served by refills (${nw:-?} writes in all, ${idle_w:-?} before the readers)" \
	sh -c "[ -n '$nw' ] && [ -n '$idle_w' ] && [ '$nw' -gt '$idle_w' ]"
check "SIGTERM: the daemon exits 143 (${ex:-none})" test "$ex" = 143

# the mock build only: the timer freezes after start-up
if "$HRNG" -V 2>&1 | grep -q 'mock timer'; then
	fz=$(g '^frozen exit ')
	fr=$(g '^frozen reader ')
	sed -n 's/^frozen| /# frozen: /p;s/^empty /# empty: /p' "$work/guest"
	echo "# $fz"; echo "# $fr"
	check "frozen timer: the daemon stops with status 1" \
		sh -c "echo '$fz' | grep -q '^frozen exit 1 '"
	check "frozen timer: the health tests say why, and that nothing more is credited" \
		sh -c "grep -q '^frozen| .*noise source failed permanently' '$work/guest' &&
			grep -q '^frozen| .*nothing more will be credited' '$work/guest'"
	check "frozen timer: no RNDADDENTROPY" \
		sh -c "echo '$fz' | grep -q ', 0 writes;' && ! grep -q '^frozen| .*RNDADDENTROPY' '$work/guest'"
	check "frozen timer: the waiting reader stays blocked (killed by timeout, 0 bytes)" \
		sh -c "echo '$fr' | grep -q '^frozen reader rc=143 got 0 bytes'"
else
	skip "a source that fails after start-up: not a --enable-mock-timer build"
fi

if [ -n "$KEEP" ]; then echo "# kept $work"; fi
if [ "$tap_failed" -ne 0 ]; then
	echo "# guest:"; sed 's/^/#   /' "$work/guest" | tail -n 80
	echo "# qemu:"; sed 's/^/#   /' "$work/qemu.err"
fi
done_testing
