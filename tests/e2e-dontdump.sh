#!/bin/sh
# e2e-dontdump.sh - output buffers are kept out of core dumps: in a running
# process, file mode blocked on a reader that does not read and an EGD-only
# daemon, the mappings /proc/PID/smaps marks "dd" (MADV_DONTDUMP) add up to
# at least the generator's ring, walk buffer and timer deltas (with -b 256:
# 1 MiB, 1 MiB and 256 KiB), and every mapping locked in memory (our
# output buffers, where RLIMIT_MEMLOCK allows) is one of them.  Which
# buffer is which is checked in the unit tests (test_generator,
# test_egd: each live buffer's own mapping); this is the shipped binary.
# Also: SIGTERM stops file mode blocked on that reader.
. "$top_srcdir/tests/tap.sh"

[ -r /proc/self/smaps ] || skip_all "no /proc/PID/smaps here"
if under_valgrind; then
	skip_all "valgrind maps the program's memory its own way"
fi

work=$(mktemp -d) || exit 99
chmod 1777 "$work"
pid=""
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work" || exit 99

WANT_KIB=2304               # ring 1024 + walk 1024 + deltas 256, -b 256

# dd_kib PID: KiB in mappings marked dd; locked_not_dd PID: how many
# locked mappings are not marked dd
dd_kib() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { size = 0 } /^Size:/ { size = $2 }
	     /^VmFlags:/ && / dd/ { kib += size } END { print kib + 0 }' "/proc/$1/smaps" 2>/dev/null
}
locked_not_dd() {
	awk '/^VmFlags:/ && / lo/ && !/ dd/ { n++ } END { print n + 0 }' "/proc/$1/smaps" 2>/dev/null
}
# settle PID: up to 30 s (start-up tests, a loaded machine) for the dd
# mappings to reach WANT_KIB; the last figure in $kib
settle() {
	i=0
	while :; do
		kib=$(dd_kib "$1")
		[ "${kib:-0}" -ge "$WANT_KIB" ] && return 0
		[ $i -lt 300 ] && kill -0 "$1" 2>/dev/null || return 1
		sleep 0.1; i=$((i + 1))
	done
}

# --- file mode, blocked on a FIFO whose reader never reads
mkfifo out.fifo || exit 99
"$HRNG" -b 256 -n 1g -f out.fifo 2>file.err &
pid=$!
exec 3<out.fifo             # opened, never read: the writer blocks
settle "$pid"
check "file mode: output buffers marked dd in smaps (${kib:-?} KiB, at least $WANT_KIB)" \
	[ "${kib:-0}" -ge "$WANT_KIB" ]
check "file mode: every locked mapping marked dd" [ "$(locked_not_dd "$pid")" -eq 0 ]
# A stop while blocked on that reader (found here: a write cut short by
# the signal after part of the chunk went was simply resumed, so SIGTERM
# waited for the reader): 143 within 10 s.  Then the reader goes, which
# ends a run that did not stop (status 0, the check fails, no hang).
kill -TERM "$pid"
i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
exec 3<&-
wait "$pid"; st=$?; pid=""
check "file mode blocked on a reader that does not read: SIGTERM ends it, 143 ($st)" [ "$st" -eq 143 ]
check "file mode stopped: nothing more on stderr" [ ! -s file.err ]

# --- the EGD-only daemon (its generator's buffers and a client's queue)
if ldd "$HRNG" 2>/dev/null | grep -q libasan; then
	skip "EGD-only daemon: AddressSanitizer cannot run under the seccomp filter"
	skip "EGD-only daemon: AddressSanitizer cannot run under the seccomp filter"
else
	"$HRNG" -F -b 256 --no-kernel --egd=unix:"$work/egd.sock" 2>egd.err &
	pid=$!
	settle "$pid"
	check "EGD-only daemon: output buffers marked dd in smaps (${kib:-?} KiB, at least $WANT_KIB)" \
		[ "${kib:-0}" -ge "$WANT_KIB" ]
	check "EGD-only daemon: every locked mapping marked dd" [ "$(locked_not_dd "$pid")" -eq 0 ]
	kill -TERM "$pid"; wait "$pid"; pid=""
fi

done_testing
