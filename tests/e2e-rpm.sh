#!/bin/sh
# e2e-rpm.sh - contrib/rpm/havege-rngd.spec builds and passes rpmlint.
#
# The tarball is made the way `make dist` makes it (its distdir target,
# into a scratch directory), then rpmbuild -bb --nodeps builds the spec
# from it: Debian's rpm has no RPM database of build dependencies and no
# systemd macros, so tests/rpm/macros.systemd stands in for those (see
# doc/packaging.md for what this leaves untested).  Checks the files, the
# conffile, the scriptlets' units, and rpmlint: no errors.
# Skips without rpmbuild or rpmlint (packages rpm, rpmlint).
. "$top_srcdir/tests/tap.sh"

: "${MAKE:=make}"
LC_ALL=C
export LC_ALL
for t in rpmbuild:rpm rpmlint:rpmlint; do
	command -v "${t%%:*}" >/dev/null 2>&1 || skip_all "no ${t%%:*} (package ${t#*:})"
done
abs_srcdir=$(cd "$top_srcdir" && pwd) || exit 99
abs_builddir=$(cd "${top_builddir:-.}" && pwd) || exit 99
spec=$abs_srcdir/contrib/rpm/havege-rngd.spec
work=$(mktemp -d) || exit 99
trap 'rm -rf "$work"' EXIT

ver=$(sed -n 's/^PACKAGE_VERSION = //p' "$abs_builddir/Makefile")
check "the spec's Version is configure's ($ver)" grep -qx "Version: *$ver" "$spec"

# ---------------------------------------------------------------- build
t0=$(date +%s)
# a nested make, outside the outer one's job server
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $MAKE -s -C "$abs_builddir" distdir \
	distdir="$work/havege-rngd-$ver" >"$work/dist.log" 2>&1 &&
	tar -C "$work" -czf "$work/havege-rngd-$ver.tar.gz" "havege-rngd-$ver"; then
	ok "the dist tarball"
else
	fail "the dist tarball"
	sed 's/^/# /' "$work/dist.log"
	done_testing
	exit 1
fi
if rpmbuild -bb --nodeps --load "$abs_srcdir/tests/rpm/macros.systemd" \
	--define "_topdir $work/top" --define "_sourcedir $work" \
	--define "_smp_mflags -j2" "$spec" >"$work/rpmbuild.log" 2>&1; then
	ok "rpmbuild -bb builds the spec ($(($(date +%s) - t0)) s with the tarball)"
else
	fail "rpmbuild -bb builds the spec"
	tail -n 30 "$work/rpmbuild.log" | sed 's/^/# /'
	done_testing
	exit 1
fi
rpm=$(ls "$work"/top/RPMS/x86_64/havege-rngd-"$ver"-*.x86_64.rpm 2>/dev/null | head -n 1)
check "the package is there" test -f "$rpm" || { done_testing; exit 1; }

# ---------------------------------------------------------------- contents
rpm -qlp "$rpm" >"$work/files" 2>/dev/null
for f in /usr/sbin/havege-rngd /usr/lib/systemd/system/havege-rngd.service \
	/usr/lib/systemd/system/havege-rngd-once.service \
	/usr/lib/systemd/system/havege-rngd-egd.socket \
	/usr/lib/systemd/system/havege-rngd-egd.service /etc/default/havege-rngd \
	/usr/share/man/man8/havege-rngd.8 /usr/share/doc/havege-rngd-"$ver"/migrating.md \
	/usr/share/doc/havege-rngd-"$ver"/packaging.md; do
	grep -q "^$f" "$work/files" || fail "package holds $f"
done
ok "package holds the program, the four units, the defaults file, the man page, the docs"
check "no init script (the units replace it)" sh -c '! grep -q init.d "$1"' - "$work/files"
check "the defaults file is %config(noreplace)" \
	sh -c 'rpm -qp --qf "[%{FILEFLAGS:fflags} %{FILENAMES}\n]" "$1" 2>/dev/null |
		grep -qx "cn /etc/default/havege-rngd"' - "$rpm"
check "the unit runs /usr/sbin/havege-rngd and reads /etc/default/havege-rngd" \
	sh -c 'rpm2cpio "$1" | (cd "$2" && cpio -id --quiet ./usr/lib/systemd/system/havege-rngd.service) &&
		grep -qxF "ExecStart=/usr/sbin/havege-rngd --Foreground --verbose=1 \$DAEMON_ARGS" "$2/usr/lib/systemd/system/havege-rngd.service" &&
		grep -qxF "EnvironmentFile=-/etc/default/havege-rngd" "$2/usr/lib/systemd/system/havege-rngd.service"' \
	- "$rpm" "$work"

# ---------------------------------------------------------------- scriptlets
rpm -qp --scripts "$rpm" >"$work/scripts" 2>/dev/null
sed 's/^/# /' "$work/scripts"
scriptlet() { sed -n "/^$1 scriptlet/,/scriptlet (using/p" "$work/scripts"; }
check "post: presets the four units on installation" \
	sh -c 'echo "$1" | grep -q "preset havege-rngd.service havege-rngd-once.service havege-rngd-egd.socket havege-rngd-egd.service"' - "$(scriptlet postinstall)"
check "preun: disables and stops the four on removal" \
	sh -c 'echo "$1" | grep -q "disable --now havege-rngd.service havege-rngd-once.service havege-rngd-egd.socket havege-rngd-egd.service"' - "$(scriptlet preuninstall)"
check "postun: restarts the daemon on upgrade, not the once unit" \
	sh -c 'echo "$1" | grep -q "try-restart havege-rngd.service" && ! echo "$1" | grep -q "try-restart.*once"' \
	- "$(scriptlet postuninstall)"

# ---------------------------------------------------------------- rpmlint
rpmlint -r "$abs_srcdir/contrib/rpm/havege-rngd.rpmlintrc" "$rpm" "$spec" >"$work/rpmlint.log" 2>&1
lrc=$?
sed 's/^/# rpmlint: /' "$work/rpmlint.log"
check "rpmlint: no errors (status $lrc)" \
	sh -c '[ "$1" -eq 0 ] && grep -q " 0 errors," "$2"' - "$lrc" "$work/rpmlint.log"
done_testing
