#!/bin/bash
# oldpool.sh - the old-pool kernel (Linux 5.4.59, 4096-bit pool, blocking
# /dev/random) fed by nothing, by haveged and by havege-rngd: the same
# guest booted once for each (under QEMU TCG, no virtio-rng), the same
# phases in each (bench/oldpool-init): the daemon idle with the pool full,
# a bulk /dev/random reader, a reader of 64 bytes every 10 ms.
#
# Usage: bench/oldpool.sh BUILD-DIRECTORY      (havege-rngd and
#        tests/qemu/oldpool-reader built there; or: make bench)
# Environment: HRNG_OLDPOOL_KERNEL (default ../shared/kernels/old-pool/
# bzImage beside the sources), HAVEGED (default /usr/sbin/haveged), RUNS
# (boots per daemon, default 1; medians when more), W (-w for both
# daemons, default 2048), IDLE_S (default 20), BULK_S (default 15),
# PACED_S (default 10), GUESTS (which of "none haveged hrng" to boot,
# default all three; the others' columns print "-"), KEEP=1 keeps the
# work directory.
#
# Rows: bytes the bulk reader got in BULK_S; the paced reader's longest
# wait; the daemon's wake-ups (context switches of all its threads) and
# CPU seconds per idle minute, scaled from IDLE_S; bits credited per CPU
# second of the daemon during the bulk read; bits credited per raw timer
# sample (havege-rngd's own count of samples; haveged does not count its
# samples, see doc/figures.md).  Credit: havege-rngd's SIGUSR1 statistics
# ("bits given"); haveged's through bench/ioctl-count.c, an LD_PRELOAD
# shim that totals its RNDADDENTROPY calls.  CPU time and wake-ups come
# from /proc inside the guest, in guest time (TCG runs the guest slower
# than the host; the ratios between the columns are what compare).
# Exit 0 with the table; 1 if a guest did not run to its end.

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd) || exit 1
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
bench_oldpool_start "$@"
HRNG=$BUILD/havege-rngd
READER=$BUILD/tests/qemu/oldpool-reader
HAVEGED=${HAVEGED:-/usr/sbin/haveged}
RUNS=${RUNS:-1} W=${W:-2048} IDLE_S=${IDLE_S:-20} BULK_S=${BULK_S:-15} PACED_S=${PACED_S:-10}
for v in RUNS W IDLE_S BULK_S PACED_S; do
	case ${!v} in '' | *[!0-9]* | 0) bench_die "$v must be a positive integer" ;; esac
done
[ -x "$HRNG" ] || bench_die "not an executable: $HRNG"
[ -x "$READER" ] || bench_die "no $READER (make -C $BUILD tests/qemu/oldpool-reader)"
[ -x "$HAVEGED" ] || bench_die "not an executable: $HAVEGED (package haveged, or set HAVEGED)"
bench_need cc:gcc awk:mawk

work=$(mktemp -d) || exit 1
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cc -shared -fPIC -O2 -o "$work/ioctl-count.so" "$here/ioctl-count.c" -ldl ||
	bench_die "cannot build bench/ioctl-count.c"
oldpool_initrd "$work" "$here/oldpool-init" "$HRNG:havege-rngd" "$HAVEGED:haveged" \
	"$READER:oldpool-reader" "$work/ioctl-count.so:ioctl-count.so" ||
	bench_die "cannot build the initramfs"

echo "machine: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cpus, Linux $(uname -r); guest: Linux 5.4.59 under QEMU TCG, one vCPU"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "havege-rngd: $HRNG ($("$HRNG" -V 2>&1 | head -n 1)); haveged: $HAVEGED ($("$HAVEGED" -V 2>&1 | head -n 1))"
echo "both daemons -F -w $W; idle $IDLE_S s, bulk reader $BULK_S s, paced reader $PACED_S s; $RUNS run(s) each"

# key LINE NAME: the number after NAME= in LINE
key() { sed -n "s/.*[ ]$2=\([0-9.-]*\).*/\1/p" <<<"$1"; }

# one WHO N: boot the guest with daemon WHO; append each row's figure to
# $work/WHO.ROW
one() {
	local who=$1 n=$2 d=$work/$1.$2 i0 i1 b1 bulk paced
	mkdir -p "$d" && cp "$work/initrd.gz" "$d/"
	oldpool_boot "$d" $((IDLE_S + BULK_S + PACED_S + 120)) \
		"bench_daemon=$who bench_w=$W bench_idle=$IDLE_S bench_bulk=$BULK_S bench_paced=$PACED_S"
	if ! grep -q '^END ' "$d/guest"; then
		sed 's/^/  | /' "$d/guest" "$d/qemu.err" >&2
		bench_die "the $who guest did not run to its end"
	fi
	i0=$(grep '^phase idle0 ' "$d/guest") i1=$(grep '^phase idle1 ' "$d/guest")
	b1=$(grep '^phase bulk1 ' "$d/guest")
	bulk=$(grep '^bulk ' "$d/guest") paced=$(grep '^paced ' "$d/guest")
	key "$bulk" bytes >>"$work/$who.bulk"
	key "$paced" max_wait_ms >>"$work/$who.paced"
	awk -v a="$(key "$i0" switches)" -v b="$(key "$i1" switches)" -v s="$IDLE_S" \
		'BEGIN { printf "%.1f\n", (b - a) * 60 / s }' >>"$work/$who.wake"
	# the daemon's own count of its loop's wake-ups (havege-rngd only),
	# less the SIGUSR1 that asked for the first count
	awk -v a="$(key "$i0" loops)" -v b="$(key "$i1" loops)" -v s="$IDLE_S" \
		'BEGIN { if (a == "") print "-"; else printf "%.1f\n", (b - a - 1) * 60 / s }' \
		>>"$work/$who.loops"
	awk -v a="$(key "$i0" ticks)" -v b="$(key "$i1" ticks)" -v s="$IDLE_S" \
		'BEGIN { printf "%.3f\n", (b - a) / 100 * 60 / s }' >>"$work/$who.idlecpu"
	awk -v a="$(key "$i1" ticks)" -v b="$(key "$b1" ticks)" -v c0="$(key "$i1" credit)" \
		-v c1="$(key "$b1" credit)" \
		'BEGIN { if (b > a) printf "%.0f\n", (c1 - c0) / ((b - a) / 100); else print "-" }' \
		>>"$work/$who.bitscpu"
	awk -v c0="$(key "$i1" credit)" -v c1="$(key "$b1" credit)" \
		-v s0="$(key "$i1" samples)" -v s1="$(key "$b1" samples)" \
		'BEGIN { if (s1 > s0) printf "%.3f\n", (c1 - c0) / (s1 - s0); else print "-" }' \
		>>"$work/$who.bitssample"
	awk -v a="$(key "$i1" ticks)" -v b="$(key "$b1" ticks)" -v s="$BULK_S" \
		'BEGIN { printf "%.2f\n", (b - a) / 100 / s }' >>"$work/$who.bulkcpu"
	awk -v c0="$(key "$i1" credit)" -v c1="$(key "$b1" credit)" \
		'BEGIN { printf "%d\n", c1 - c0 }' >>"$work/$who.credit"
	echo "  $who run $n: $bulk; $paced; $(grep '^started' "$d/guest")"
}

for ((n = 1; n <= RUNS; n++)); do
	for who in ${GUESTS:-none haveged hrng}; do one "$who" "$n"; done
done

# med WHO ROW: the median, or "-" when the row has no figure
med() {
	grep -v '^-$' "$work/$1.$2" >"$work/m" 2>/dev/null
	[ -s "$work/m" ] || : >"$work/m"
	if [ -s "$work/m" ]; then
		# bench_median keeps 6 digits; counts of bits need all of theirs
		sort -g "$work/m" | awk '{ v[NR] = $1 } END {
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			if (m >= 1000) printf "%.0f\n", m; else print m }'
	else
		echo "-"
	fi
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.3g\n", a / b }'; }
echo
echo "| row | no daemon | haveged 1.9.14 | havege-rngd | havege-rngd / haveged |"
echo "|---|---:|---:|---:|---:|"
row() {
	echo "| $1 | $(med none "$2") | $(med haveged "$2") | $(med hrng "$2") | $(ratio "$(med hrng "$2")" "$(med haveged "$2")") |"
}
row "bytes a /dev/random reader gets in $BULK_S s" bulk
row "longest wait, 64 bytes every 10 ms, $PACED_S s (ms)" paced
row "daemon context switches per idle minute (from $IDLE_S s)" wake
row "daemon loop wake-ups per idle minute, its own count (from $IDLE_S s)" loops
row "daemon CPU seconds per idle minute (from $IDLE_S s)" idlecpu
row "daemon CPU share during the bulk read" bulkcpu
row "bits credited during the bulk read" credit
row "bits credited per daemon CPU second (bulk read)" bitscpu
row "bits credited per raw timer sample (bulk read)" bitssample
