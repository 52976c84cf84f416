# shellcheck shell=sh disable=SC2034,SC2154 # sourced: $work from, vmlinuz/kver to the caller
# debian-kernel.sh - Debian 12's kernel for the QEMU tests; source it.
# Sets vmlinuz (and kver) to the kernel that linux-image-amd64 depends on,
# fetched with apt-get download and unpacked with dpkg-deb -x into
# $KERNEL_CACHE/root (never installed), once; later runs reuse it.  Skips
# the test (skip_all) when it cannot be had.  Needs $work, tap.sh.

# kernel_fetch: unpack the kernel linux-image-amd64 depends on into the cache.
kernel_fetch() {
	dl=$work/dl
	mkdir -p "$dl" "$KERNEL_CACHE" || return 1
	(cd "$dl" && apt-get download linux-image-amd64) >"$work/apt.log" 2>&1 || return 1
	dep=$(dpkg-deb -f "$dl"/linux-image-amd64_*.deb Depends | sed 's/[ ,(].*//')
	[ -n "$dep" ] || return 1
	(cd "$dl" && apt-get download "$dep") >>"$work/apt.log" 2>&1 || return 1
	rm -rf "$KERNEL_CACHE/root"
	dpkg-deb -x "$dl/$dep"_*.deb "$KERNEL_CACHE/root" || return 1
	rm -rf "$dl"
}

vmlinuz=$(ls "$KERNEL_CACHE"/root/boot/vmlinuz-* 2>/dev/null | head -n 1)
if [ -z "$vmlinuz" ]; then
	command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 ||
		skip_all "no apt-get/dpkg-deb to fetch linux-image-amd64"
	kernel_fetch || skip_all "cannot download linux-image-amd64: $(tail -n 1 "$work/apt.log" 2>/dev/null)"
	vmlinuz=$(ls "$KERNEL_CACHE"/root/boot/vmlinuz-* 2>/dev/null | head -n 1)
	[ -n "$vmlinuz" ] || skip_all "linux-image-amd64 has no /boot/vmlinuz-*"
fi
kver=${vmlinuz##*/vmlinuz-}
