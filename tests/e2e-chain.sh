#!/bin/sh
# e2e-chain.sh - the whole chain of a seed on an old kernel: this host's
# daemon serves EGD on a UNIX socket, QEMU's rng-egd backend reads that
# socket for a virtio-rng device, and inside a Linux 5.4.59 guest (the
# 4096-bit pool, a /dev/random that blocks) the kernel's hwrng core mixes
# what /dev/hwrng gives into the input pool, where a reader drains
# /dev/random (tests/qemu/chain-init, the bulk reader of
# tests/qemu/oldpool-reader.c).  The same guest is booted three times:
#   egd      -object rng-egd on the daemon's socket: the reader is served,
#            and the daemon (its SIGUSR1 statistics, "bytes served") handed
#            out at least as many bytes as the reader got;
#   none     no virtio-rng device: the reader starves;
#   urandom  -object rng-random on the host's /dev/urandom (libvirt's
#            usual default): served too, and nothing more through our
#            socket.
# A guest's reader cannot get more than the pool was credited (every byte
# of /dev/random debits at least 8 bits on 5.4), and the pool is credited
# only 1000/1024 of 8 bits per /dev/hwrng byte, so "served >= read" holds
# whenever the bytes came through us.
#
# Run time: about 30 s (three TCG boots of about 2 s, READ_S each, and the
# daemon's start-up), on a 2-vCPU AMD EPYC guest.
#
# Environment: HRNG_OLDPOOL_KERNEL (default $top_srcdir/../shared/kernels/
# old-pool/bzImage), OLDPOOL_READER (default $top_builddir/tests/qemu/
# oldpool-reader), READ_S (default 5), KEEP=1 keeps the work directory.
# Skips (saying why) without the kernel, QEMU, cpio, a static busybox, ldd.
. "$top_srcdir/tests/tap.sh"

: "${top_builddir:=.}"
: "${HRNG_OLDPOOL_KERNEL:=$top_srcdir/../shared/kernels/old-pool/bzImage}"
: "${OLDPOOL_READER:=$top_builddir/tests/qemu/oldpool-reader}"
: "${READ_S:=5}"
SERVED_MIN=4096     # bytes the egd guest's reader must get in READ_S
STARVED_MAX=64      # bytes the guest without a device may get (boot's few bits)
BOOT_TIMEOUT=90

if under_valgrind; then
	skip_all "QEMU drives the daemon here; e2e-egd.sh runs the EGD server under valgrind"
fi
. "$top_srcdir/tests/qemu/oldpool-lib.sh"
why=$(oldpool_missing) || skip_all "$why"
[ -x "$HRNG" ] || skip_all "no $HRNG"
[ -x "$OLDPOOL_READER" ] || skip_all "no $OLDPOOL_READER (make check builds it)"

work=$(mktemp -d) || exit 99
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$KEEP" ] || rm -rf "$work"' EXIT
echo "# host CPU: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"

oldpool_initrd "$work" "$top_srcdir/tests/qemu/chain-init" "$OLDPOOL_READER:oldpool-reader" ||
	{ fail "initramfs built (busybox, the reader and its libraries)"; done_testing; exit 1; }

# ---------------------------------------------------------------- the daemon
sock=$work/egd.sock
"$HRNG" -F --no-kernel --egd=unix:"$sock" >"$work/d.log" 2>&1 &
pid=$!
if ! check "the daemon serves EGD on $sock" \
	sh -c "i=0; while [ \$i -lt 300 ] && ! [ -S '$sock' ]; do sleep 0.1; i=\$((i + 1)); done; [ -S '$sock' ]"; then
	sed 's/^/# daemon: /' "$work/d.log"
	done_testing
	exit 1
fi
# served: the daemon's own count of bytes handed out on the socket, from
# the statistics SIGUSR1 asks for (one more line in d.log each time)
served() {
	n0=$(grep -c 'bytes served' "$work/d.log")
	kill -USR1 "$pid"
	i=0
	while [ $i -lt 100 ] && [ "$(grep -c 'bytes served' "$work/d.log")" -le "$n0" ]; do
		sleep 0.1; i=$((i + 1))
	done
	grep 'bytes served' "$work/d.log" | tail -n 1 | sed -n 's/.*: \([0-9]*\) bytes served.*/\1/p'
}
s0=$(served)
check "the daemon counts what it serves (${s0:-no count} bytes before any guest)" test "${s0:-x}" = 0

# ---------------------------------------------------------------- three guests
# g KIND PATTERN: the first line of guest KIND matching PATTERN
g() { sed -n "/$2/{p;q;}" "$work/$1/guest"; }
num() { echo "$1" | sed -n "s/.*$2=\([0-9-]*\).*/\1/p"; }
# boot KIND QEMU-ARGS...: one guest, its lines in $work/KIND/guest; sets
# $bytes to what its reader got
boot() {
	kind=$1
	shift
	mkdir -p "$work/$kind" && cp "$work/initrd.gz" "$work/$kind/"
	t0=$(date +%s)
	oldpool_boot "$work/$kind" "$BOOT_TIMEOUT" "chain_read=$READ_S" "$@"
	rc=$?
	echo "# $kind: guest ran in $(($(date +%s) - t0)) s (qemu exit $rc); $(g "$kind" '^rng_current'); $(g "$kind" '^start entropy_avail')"
	check "$kind: the guest ran its reader and stopped by itself" \
		sh -c "[ $rc -eq 0 ] && grep -q '^bulk ' '$work/$kind/guest' && grep -q '^END ' '$work/$kind/guest'"
	bytes=$(num "$(g "$kind" '^bulk ')" bytes)
	bytes=${bytes:-0}
	echo "# $kind: $(g "$kind" '^bulk ')"
}

boot egd -chardev socket,id=c0,path="$sock" -object rng-egd,chardev=c0,id=rng0 \
	-device virtio-rng-pci,rng=rng0
got_egd=$bytes
s1=$(served)
check "egd: the kernel's hwrng core reads virtio-rng" grep -qx 'rng_current virtio_rng.0' "$work/egd/guest"
check "egd: the /dev/random reader is served ($got_egd bytes in $READ_S s, at least $SERVED_MIN)" \
	test "$got_egd" -ge $SERVED_MIN
check "egd: the daemon served at least what the reader got (${s1:-?} >= $got_egd bytes)" \
	sh -c "[ -n '$s1' ] && [ '$s1' -ge '$got_egd' ]"

boot none
got_none=$bytes
check "none: no hardware RNG in the guest" grep -qx 'rng_current none' "$work/none/guest"
check "none: the /dev/random reader starves ($got_none bytes in $READ_S s, at most $STARVED_MAX)" \
	test "$got_none" -le $STARVED_MAX

boot urandom -object rng-random,filename=/dev/urandom,id=rng0 -device virtio-rng-pci,rng=rng0
got_urandom=$bytes
check "urandom: the kernel's hwrng core reads virtio-rng" grep -qx 'rng_current virtio_rng.0' "$work/urandom/guest"
check "urandom: the /dev/random reader is served ($got_urandom bytes in $READ_S s)" \
	test "$got_urandom" -ge $SERVED_MIN
s2=$(served)
check "nothing more came through the daemon's socket without rng-egd (${s1:-?} -> ${s2:-?})" \
	sh -c "[ -n '$s2' ] && [ '$s2' = '$s1' ]"
echo "# reader bytes in $READ_S s: egd $got_egd, urandom $got_urandom, none $got_none; daemon served $s1"

kill -TERM "$pid"
wait "$pid"
ex=$?
pid=""
check "the daemon exits 143 on SIGTERM" test "$ex" -eq 143
if [ -n "$KEEP" ]; then echo "# kept $work"; fi
if [ "$tap_failed" -ne 0 ]; then
	sed 's/^/# daemon: /' "$work/d.log" | tail -n 20
	for k in egd none urandom; do
		[ -f "$work/$k/guest" ] && sed "s/^/# $k guest: /" "$work/$k/guest"
		[ -s "$work/$k/qemu.err" ] && sed "s/^/# $k qemu: /" "$work/$k/qemu.err"
	done
fi
done_testing
