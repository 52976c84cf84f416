#!/bin/sh
# e2e-systemd.sh - the Debian package under a real systemd, in a QEMU guest.
#
# 1. Builds the .deb with dpkg-buildpackage -us -uc -b from a copy of the
#    sources (the tracked files when they are a git checkout), so the tree
#    itself gets no build products; lintian must report no error and no
#    warning.
# 2. Boots Debian 12's kernel (tests/qemu/debian-kernel.sh, as
#    tests/e2e-qemu.sh) with a minimal Debian 12 root as its initramfs
#    (rdinit=/sbin/init, so systemd is PID 1): debootstrap --variant=minbase
#    with systemd, haveged and apparmor, made once per machine and kept, packed as a
#    gzip cpio, in $HRNG_SYSTEMD_CACHE (default /var/cache/havege-rngd-tests/,
#    one file per version stamp, see root_stamp below).  A second, small cpio
#    on top adds the .deb, tests/qemu/systemd-guest.sh and a unit that runs
#    it once multi-user.target is reached.
# 3. The guest script installs the package as doc/migrating.md says and
#    checks the units (see its header); its TAP lines come back on the
#    serial console, prefixed "E2E ", and are renumbered here.
#
# Needs root (debootstrap), qemu-system-x86_64, cpio, dpkg-buildpackage,
# debhelper, lintian, debootstrap and the Debian registry the first time;
# skips (77) saying which is missing.  Environment: HRNG_SYSTEMD_GUEST=no
# stops after step 1 (the package and lintian; make distcheck's run),
# HRNG_SYSTEMD_CACHE,
# EGD_KERNEL_CACHE (shared with e2e-qemu.sh), KEEP=1 keeps the work
# directory, BOOT_TIMEOUT (default 900 s, for TCG).
. "$top_srcdir/tests/tap.sh"

: "${top_builddir:=.}"
: "${EGD_KERNEL_CACHE:=$top_builddir/tests/qemu/cache}"
: "${HRNG_SYSTEMD_CACHE:=/var/cache/havege-rngd-tests}"
: "${BOOT_TIMEOUT:=900}"
LC_ALL=C
export LC_ALL

need="cpio:cpio dpkg-buildpackage:dpkg-dev dh:debhelper dh_apparmor:dh-apparmor lintian:lintian"
if [ "${HRNG_SYSTEMD_GUEST:-}" != no ]; then
	[ "$(id -u)" -eq 0 ] || skip_all "not root (debootstrap and the guest's root need it)"
	need="$need qemu-system-x86_64:qemu-system-x86 timeout:coreutils debootstrap:debootstrap"
fi
for t in $need; do
	command -v "${t%%:*}" >/dev/null 2>&1 || skip_all "no ${t%%:*} (package ${t#*:})"
done

abs_srcdir=$(cd "$top_srcdir" && pwd) || exit 99
work=$(mktemp -d) || exit 99
trap '[ -n "$KEEP" ] || rm -rf "$work"' EXIT
t_start=$(date +%s)

# ---------------------------------------------------------------- the .deb
# copy_sources DIR: the sources into DIR, without build products: git's
# tracked files (as they are in the working tree) in a checkout, else the
# whole tree (a make dist tarball, as make distcheck unpacks).
copy_sources() {
	mkdir -p "$1" || return 1
	if [ -e "$abs_srcdir/.git" ] && command -v git >/dev/null 2>&1 &&
		git -C "$abs_srcdir" ls-files >"$work/files" 2>/dev/null && [ -s "$work/files" ]; then
		(cd "$abs_srcdir" && while IFS= read -r f; do [ -e "$f" ] && echo "$f"; done <"$work/files" |
			cpio -pdm --quiet "$1")
	else
		cp -a "$abs_srcdir/." "$1" && chmod -R u+w "$1"
	fi
}
src=$work/pkg/havege-rngd
copy_sources "$src" || { fail "sources copied for the package build"; done_testing; exit 1; }
t0=$(date +%s)
if (cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b) \
	>"$work/dpkg-buildpackage.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b builds the package ($(($(date +%s) - t0)) s)"
else
	fail "dpkg-buildpackage -us -uc -b builds the package"
	tail -n 30 "$work/dpkg-buildpackage.log" | sed 's/^/# /'
	done_testing
	exit 1
fi
deb=$(ls "$work"/pkg/havege-rngd_*_amd64.deb 2>/dev/null | head -n 1)
check "the package is there" test -f "$deb" || { done_testing; exit 1; }
# --pedantic and -I show everything; only errors and warnings fail.
lintian --pedantic -I --fail-on error,warning "$work"/pkg/havege-rngd_*_amd64.changes \
	>"$work/lintian.log" 2>&1
lrc=$?
if [ "$lrc" -eq 0 ] && ! grep -q '^[EW]: ' "$work/lintian.log"; then
	ok "lintian: no error, no warning"
else
	fail "lintian: no error, no warning (status $lrc)"
fi
sed 's/^/# lintian: /' "$work/lintian.log"
dpkg-deb -c "$deb" >"$work/contents"
for f in ./usr/sbin/havege-rngd ./lib/systemd/system/havege-rngd.service \
	./lib/systemd/system/havege-rngd-once.service \
	./lib/systemd/system/havege-rngd-egd.socket \
	./lib/systemd/system/havege-rngd-egd.service ./etc/init.d/havege-rngd \
	./etc/default/havege-rngd ./usr/share/man/man8/havege-rngd.8.gz \
	./usr/share/doc/havege-rngd/copyright ./etc/apparmor.d/usr.sbin.havege-rngd; do
	grep -q " $f\$" "$work/contents" || fail "package holds $f"
done
ok "package holds the program, the four units, the init script, the defaults file, the man page, the copyright, the AppArmor profile"
dpkg-deb -e "$deb" "$work/control"
check "the defaults file, the init script and the AppArmor profile are conffiles" \
	sh -c 'grep -qx /etc/default/havege-rngd "$1" && grep -qx /etc/init.d/havege-rngd "$1" &&
		grep -qx /etc/apparmor.d/usr.sbin.havege-rngd "$1"' - "$work/control/conffiles"
# The profile is loaded before anything starts the daemon, so the daemon
# the installation starts runs confined (the guest checks that too).
check "postinst loads the AppArmor profile before it starts the service" \
	awk '/apparmor_parser -r/ && !a { a = NR } /deb-systemd-invoke|invoke-rc.d/ && !d { d = NR }
		END { exit !(a && d && a < d) }' "$work/control/postinst"
check "postinst registers the init script with update-rc.d" \
	grep -q 'update-rc.d havege-rngd defaults' "$work/control/postinst"
check "postinst enables the service, not the once unit" \
	sh -c "grep -q \"deb-systemd-helper enable 'havege-rngd.service'\" \"\$1\" &&
		! grep -q \"deb-systemd-invoke .*havege-rngd-once\" \"\$1\"" - "$work/control/postinst"
# --no-enable: postinst enables the socket only where it was enabled before
# (an upgrade: deb-systemd-helper debian-installed), never on a first
# installation, and never starts it.
check "postinst neither enables nor starts the EGD socket on installation" \
	sh -c "grep -q \"deb-systemd-helper debian-installed 'havege-rngd-egd.socket'\" \"\$1\" &&
		! grep -q \"deb-systemd-invoke start.*havege-rngd-egd\" \"\$1\"" - "$work/control/postinst"
# An upgrade must not leave an enabled EGD socket stopped: no stop in the
# preinst, a try-restart (only where it runs) in the postinst; removal
# stops it (debian/havege-rngd.prerm).
check "upgrade: the preinst does not stop the EGD socket or service; the postinst try-restarts them" \
	sh -c "! grep -q 'stop .*havege-rngd-egd' \"\$1\" &&
		grep -q 'try-restart' \"\$2\" && grep -q \"havege-rngd-egd.socket\" \"\$2\"" - \
	"$work/control/preinst" "$work/control/postinst"
check "prerm stops the EGD socket and service on removal" \
	grep -q 'deb-systemd-invoke stop havege-rngd-egd.socket havege-rngd-egd.service' "$work/control/prerm"
if [ "$tap_failed" -ne 0 ]; then
	done_testing
	exit 1
fi

# HRNG_SYSTEMD_GUEST=no: the package and lintian only.  make distcheck
# sets it (scripts/test-all): the guest already ran on the checkout in the
# same CI run, and a second boot would add some 4 minutes for nothing new
# (the tarball's package is built and linted above all the same).
if [ "${HRNG_SYSTEMD_GUEST:-}" = no ]; then
	echo "# HRNG_SYSTEMD_GUEST=no: the guest is not booted; package checks only"
	echo "# e2e-systemd: $(($(date +%s) - t_start)) s in all"
	done_testing
	exit 0
fi

# ---------------------------------------------------------------- the kernel
KERNEL_CACHE=$EGD_KERNEL_CACHE
. "$top_srcdir/tests/qemu/debian-kernel.sh"

# ---------------------------------------------------------------- the root
# Everything the guest needs from the registry, fixed here: a change to the
# list or to how the root is made is a new stamp, hence a new cache file.
# The daemon's libraries are listed so the .deb installs with dpkg -i.
# apparmor: apparmor_parser, with which the package's postinst loads its
# profile in enforce mode (Debian 12's kernel has AppArmor on by default).
root_pkgs=systemd,systemd-sysv,haveged,libcpuid16,libgcrypt20,libcap-ng0,libseccomp2,apparmor
root_stamp=bookworm-minbase-2
root_cpio=$HRNG_SYSTEMD_CACHE/root-$root_stamp.cpio.gz

# root_build: debootstrap into the cache, trimmed, packed; the tree is
# removed once packed.  The file appears under its name only when complete.
root_build() {
	mkdir -p "$HRNG_SYSTEMD_CACHE" || return 1
	tree=$HRNG_SYSTEMD_CACHE/tmp-root.$$
	rm -rf "$tree"
	debootstrap --variant=minbase --include="$root_pkgs" bookworm "$tree" \
		http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 || { rm -rf "$tree"; return 1; }
	# nothing in the guest reads these; a smaller cpio boots faster
	rm -rf "$tree"/var/cache/apt/*.bin "$tree"/var/lib/apt/lists/* \
		"$tree"/usr/share/doc/* "$tree"/usr/share/man/* "$tree"/usr/share/locale/*
	(cd "$tree" && find . | cpio -o -H newc --quiet | gzip -1) >"$root_cpio.tmp" &&
		mv "$root_cpio.tmp" "$root_cpio"
	rc=$?
	rm -rf "$tree" "$root_cpio.tmp"
	return $rc
}
if [ ! -s "$root_cpio" ]; then
	t0=$(date +%s)
	root_build || skip_all "cannot make the Debian 12 root with debootstrap: $(tail -n 1 "$work/debootstrap.log" 2>/dev/null)"
	echo "# debootstrap and packing: $(($(date +%s) - t0)) s, into $root_cpio"
fi
echo "# guest root: $root_cpio ($(du -m "$root_cpio" | cut -f1) MB)"

# The overlay: unpacked after the root, so its files win.
ov=$work/overlay
mkdir -p "$ov/e2e" "$ov/etc/systemd/system/multi-user.target.wants"
cp "$deb" "$ov/e2e/"
cp "$top_srcdir/tests/qemu/systemd-guest.sh" "$ov/e2e/guest.sh"
chmod 755 "$ov/e2e/guest.sh"
# minbase has no udev: the serial getty would wait 90 s for its device.
ln -s /dev/null "$ov/etc/systemd/system/serial-getty@ttyS0.service"
cat >"$ov/etc/systemd/system/e2e.service" <<'EOF'
[Unit]
Description=havege-rngd end-to-end checks
After=multi-user.target

[Service]
Type=simple
ExecStart=/e2e/guest.sh
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
EOF
ln -s ../e2e.service "$ov/etc/systemd/system/multi-user.target.wants/e2e.service"
(cd "$ov" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/overlay.cpio.gz" &&
	cat "$root_cpio" "$work/overlay.cpio.gz" >"$work/initrd.gz" ||
	{ fail "initramfs built"; done_testing; exit 1; }

# ---------------------------------------------------------------- the guest
accel=tcg
if [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qw -e vmx -e svm /proc/cpuinfo; then
	accel=kvm
fi
run_qemu() {
	cpu=max
	[ "$1" = kvm ] && cpu=host
	timeout -k 5 "$BOOT_TIMEOUT" qemu-system-x86_64 -accel "$1" -cpu "$cpu" -smp 1 \
		-m 1536M -nographic -no-reboot -kernel "$vmlinuz" -initrd "$work/initrd.gz" \
		-append "console=ttyS0 rdinit=/sbin/init panic=-1 loglevel=3 systemd.show_status=0" \
		</dev/null >"$work/console.txt" 2>"$work/qemu.err"
}
t0=$(date +%s)
run_qemu "$accel"
rc=$?
if [ "$accel" = kvm ] && ! grep -q '^E2E done' "$work/console.txt"; then
	accel=tcg             # /dev/kvm is there but does not work (nested, no VT-x)
	t0=$(date +%s)
	run_qemu tcg
	rc=$?
fi
t1=$(date +%s)
tr -d '\r' <"$work/console.txt" >"$work/console"
echo "# guest ran under $accel in $((t1 - t0)) s (qemu exit $rc); host CPU: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
check "guest ran its checks and powered off within $BOOT_TIMEOUT s" \
	sh -c '[ "$1" -eq 0 ] && grep -q "^E2E done" "$2"' - "$rc" "$work/console"

# The guest's own results, renumbered.
n_guest=0
while IFS= read -r line; do
	case $line in
	"E2E ok "*) ok "guest: ${line#E2E ok - }"; n_guest=$((n_guest + 1)) ;;
	"E2E not ok "*) fail "guest: ${line#E2E not ok - }"; n_guest=$((n_guest + 1)) ;;
	"E2E # "*) echo "# guest: ${line#E2E \# }" ;;
	esac
done <"$work/console"
check "the guest reported its checks" test "$n_guest" -gt 0
if [ "$tap_failed" -ne 0 ]; then
	echo "# console (last 60 lines):"
	tail -n 60 "$work/console" | sed 's/^/#   /'
	sed 's/^/# qemu: /' "$work/qemu.err"
fi
echo "# e2e-systemd: $(($(date +%s) - t_start)) s in all"
done_testing
