#!/bin/sh
# dracut module havege-rngd: one refill of the kernel's pool (--once) early
# in the initramfs.  With dracut's systemd module the refill is
# havege-rngd-once.service, wanted by the initrd's sysinit.target; without
# it, the pre-udev hook havege-rngd-once.sh.
# Install this directory as /usr/lib/dracut/modules.d/90havege-rngd, then
# run dracut -f.
#
# dracut sources this file and sets moddir, initdir and
# systemdsystemunitdir, and provides the inst_* and require_* helpers.
# shellcheck disable=SC2154

check() {
	require_binaries havege-rngd || return 1
	return 0
}

depends() {
	return 0
}

install() {
	inst_multiple havege-rngd
	if [ -f /etc/default/havege-rngd ]; then
		inst_simple /etc/default/havege-rngd
	fi
	if dracut_module_included "systemd"; then
		inst_simple "$systemdsystemunitdir/havege-rngd-once.service"
		mkdir -p "$initdir$systemdsystemunitdir/sysinit.target.wants"
		ln -sf ../havege-rngd-once.service \
			"$initdir$systemdsystemunitdir/sysinit.target.wants/havege-rngd-once.service"
	else
		inst_hook pre-udev 10 "$moddir/havege-rngd-once.sh"
	fi
}
