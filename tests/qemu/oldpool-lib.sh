# oldpool-lib.sh - what tests/e2e-oldpool.sh, tests/e2e-chain.sh,
# bench/oldpool.sh and bench/oldpool-profile.sh share: checking for the
# old-pool kernel and its tools, building a busybox initramfs, booting
# it.  Sourced by sh (no local variables: every name here starts with
# op_).
#
#   oldpool_missing            prints why the guest cannot run (kernel,
#                              QEMU, cpio, timeout, ldd, static busybox),
#                              or nothing; returns 1 when something is missing
#   oldpool_initrd DIR INIT SRC:NAME...
#                              DIR/initrd.gz: busybox, INIT as /init, each
#                              SRC at /bin/NAME, and the shared objects and
#                              dynamic loader ldd names for them, at their
#                              host paths (the guest has no ld.so.cache);
#                              returns 1 if ldd or cpio failed
#   oldpool_boot DIR TIMEOUT APPEND QEMU-ARGS...
#                              boots the kernel with DIR/initrd.gz (TCG,
#                              -cpu max, one vCPU, 256 MiB, no network),
#                              kernel command line "console=ttyS0 panic=-1
#                              loglevel=3 APPEND"; DIR/guest gets the
#                              console's "GUEST: " lines, DIR/qemu.err
#                              QEMU's stderr; returns QEMU's status
#
# HRNG_OLDPOOL_KERNEL must be set (the callers default it to
# ../shared/kernels/old-pool/bzImage beside the source tree).

OLDPOOL_BUSYBOX=/bin/busybox

oldpool_missing() {
	if [ ! -f "$HRNG_OLDPOOL_KERNEL" ]; then
		echo "no old-pool kernel at $HRNG_OLDPOOL_KERNEL (set HRNG_OLDPOOL_KERNEL)"
	elif ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
		echo "no qemu-system-x86_64 (package qemu-system-x86)"
	elif ! command -v cpio >/dev/null 2>&1; then
		echo "no cpio (package cpio)"
	elif ! command -v timeout >/dev/null 2>&1; then
		echo "no timeout (coreutils)"
	elif ! command -v ldd >/dev/null 2>&1; then
		echo "no ldd to find the programs' shared libraries"
	elif [ ! -x "$OLDPOOL_BUSYBOX" ]; then
		echo "no $OLDPOOL_BUSYBOX (package busybox-static)"
	elif LC_ALL=C ldd "$OLDPOOL_BUSYBOX" 2>/dev/null | grep -q '=>'; then
		echo "$OLDPOOL_BUSYBOX is not static (package busybox-static)"
	else
		return 0
	fi
	return 1
}

oldpool_initrd() {
	op_dir=$1 op_init=$2
	shift 2
	op_root=$op_dir/root
	mkdir -p "$op_root/bin" "$op_root/proc" "$op_root/sys" "$op_root/dev" "$op_root/tmp" &&
		cp "$OLDPOOL_BUSYBOX" "$op_root/bin/busybox" &&
		cp "$op_init" "$op_root/init" && chmod 755 "$op_root/init" || return 1
	: >"$op_dir/libs"
	for op_p in "$@"; do
		cp "${op_p%:*}" "$op_root/bin/${op_p##*:}" &&
			chmod 755 "$op_root/bin/${op_p##*:}" || return 1
		LC_ALL=C ldd "${op_p%:*}" >"$op_dir/ldd.out" 2>&1 || return 1
		awk '/=> \//{ print $3 } /^[ \t]*\//{ print $1 }' "$op_dir/ldd.out" >>"$op_dir/libs"
	done
	sort -u "$op_dir/libs" -o "$op_dir/libs"
	[ -s "$op_dir/libs" ] || return 1
	while read -r op_lib; do
		mkdir -p "$op_root${op_lib%/*}" && cp -L "$op_lib" "$op_root$op_lib" || return 1
	done <"$op_dir/libs"
	(cd "$op_root" && find . | cpio -o -H newc --quiet | gzip -1) >"$op_dir/initrd.gz"
}

# loglevel=3: the kernel's notices ("random: crng init done") would
# otherwise land in the middle of GUEST: lines on the shared console.  The
# first line still follows the firmware's screen-clearing escapes, hence
# "GUEST: " anywhere in a line.
oldpool_boot() {
	op_dir=$1 op_timeout=$2 op_append=$3
	shift 3
	timeout -k 5 "$op_timeout" qemu-system-x86_64 -accel tcg -cpu max -m 256M -smp 1 \
		-nic none -nographic -no-reboot -kernel "$HRNG_OLDPOOL_KERNEL" \
		-initrd "$op_dir/initrd.gz" \
		-append "console=ttyS0 panic=-1 loglevel=3 $op_append" "$@" \
		</dev/null >"$op_dir/console.raw" 2>"$op_dir/qemu.err"
	op_rc=$?
	tr -d '\r' <"$op_dir/console.raw" | sed -n 's/^.*GUEST: //p' >"$op_dir/guest"
	return $op_rc
}
