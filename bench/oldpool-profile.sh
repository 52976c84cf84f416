#!/bin/bash
# oldpool-profile.sh - where the kernel feeder's CPU goes inside the
# old-pool guest that bench/oldpool.sh measures (Linux 5.4.59 under QEMU
# TCG, one vCPU): `perf record -e cpu-clock` inside the guest, on
# bench/sim-refill (the daemon's generator and feeder, unmodified,
# against the simulated old pool with a 1 MiB/s consumer), then `perf
# report` by library and symbol.  The guest's libraries are the host's
# own files, stripped: for a sample inside one, the host's copy is
# disassembled at that address and the instruction is printed beside it
# (vpaddd %ymm: libgcrypt's AVX2 SHA-256; rep stos: glibc's memset).
#
# Usage: bench/oldpool-profile.sh BUILD-DIRECTORY   (bench/sim-refill
#        built there: make bench/sim-refill)
# Environment: HRNG_OLDPOOL_KERNEL (default ../shared/kernels/old-pool/
# bzImage beside the sources), SECONDS_RUN (the profiled run, default
# 5), TOP (lines of the profile, default 20), KEEP=1 keeps the work
# directory.  Needs perf (package linux-perf) and objdump (binutils).
# Exit 0 with the profile; 1 if the guest did not run to its end.

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

here=$(cd "$(dirname "$0")" && pwd) || exit 1
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
bench_oldpool_start "$@"
SIM=$BUILD/bench/sim-refill
[ -x "$SIM" ] || bench_die "no $SIM (make -C $BUILD bench/sim-refill)"
SECONDS_RUN=${SECONDS_RUN:-5} TOP=${TOP:-20}
for v in SECONDS_RUN TOP; do
	case ${!v} in '' | *[!0-9]* | 0) bench_die "$v must be a positive integer" ;; esac
done
bench_need perf:linux-perf objdump:binutils awk:mawk
PERF=$(command -v perf)

work=$(mktemp -d) || exit 1
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
oldpool_initrd "$work" "$here/oldpool-profile-init" "$SIM:sim-refill" "$PERF:perf" ||
	bench_die "cannot build the initramfs"

echo "machine: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cpus, Linux $(uname -r); guest: Linux 5.4.59 under QEMU TCG, one vCPU"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "profiled: $SIM -r 1m -w 2048 -s $SECONDS_RUN (perf record -e cpu-clock -F 2000)"
# perf and its libraries make the initramfs about 15 MB: 1 GiB of guest
# memory holds it unpacked with room to spare.
oldpool_boot "$work" $((SECONDS_RUN * 4 + 120)) "profile_seconds=$SECONDS_RUN" -m 1G
grep -q '^END' "$work/guest" || {
	sed 's/^/  | /' "$work/guest" "$work/qemu.err" >&2
	bench_die "the guest did not run to its end"
}
sed -n 's/^sim //p' "$work/guest"
echo
echo "by library (all samples):"
sed -n 's/^prof //p' "$work/guest" | awk '{ sub(/%/, "", $1); t[$2] += $1 }
	END { for (d in t) printf "  %6.2f%%  %s\n", t[d], d }' | sort -k1,1 -g -r
echo
echo "  share  library              symbol (or address: the instruction there)"
# A line of perf report: "  41.25%  libgcrypt.so.20  [.] 0x00000000000cbe34".
sed -n 's/^prof //p' "$work/guest" | head -n "$TOP" | while read -r pct dso _ sym; do
	what=$sym
	case $sym in
	0x*)
		lib=$(awk -v d="$dso" '{ n = split($0, p, "/"); if (p[n] == d) { print; exit } }' "$work/libs")
		if [ -n "$lib" ]; then
			ins=$(objdump -d --no-show-raw-insn --start-address="$sym" \
				--stop-address=$((sym + 16)) "$lib" 2>/dev/null |
				awk -F'\t' '/^ *[0-9a-f]+:/ { print $2; exit }')
			what="$sym: ${ins:-?}"
		fi ;;
	esac
	printf '%7s  %-20s %s\n' "$pct" "$dso" "$what"
done
