#!/bin/sh
# dracut pre-udev hook (initramfs without systemd): one refill of the
# kernel's pool.  Sourced by dracut's init, so it must not exit; a failed
# refill is reported and the boot goes on.

if command -v havege-rngd >/dev/null 2>&1; then
	havege-rngd --once ||
		echo "havege-rngd: --once failed (status $?); booting on" >&2
fi
