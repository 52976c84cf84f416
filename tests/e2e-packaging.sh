#!/bin/sh
# e2e-packaging.sh - what make install ships, and whether it holds up:
#  - make install DESTDIR=: exactly the expected files, modes and paths
#    filled in; make uninstall removes them all;
#  - a second tree configured with other --prefix, --sbindir, --sysconfdir,
#    --mandir and --with-systemdsystemunitdir (then =no) installs there;
#  - the units: the confinement issue 5 asks for, systemd-analyze verify
#    clean, exposure no worse than the haveged unit installed here;
#  - shellcheck and checkbashisms on the init script and the boot hooks;
#  - (root, strace) every system call the daemon makes, in the foreground
#    and with --once, is one the unit's SystemCallFilter= allows and none
#    that its other settings deny; no writable executable mapping; only
#    AF_UNIX sockets.
# Run through make check, which exports MAKE and the configured directories.
. "$top_srcdir/tests/tap.sh"

if [ -z "${pkg_sbindir:-}" ] || [ -z "${pkg_unitdir:-}" ]; then
	skip_all "run through make check (needs the configured directories)"
fi
: "${MAKE:=make}"
LC_ALL=C
export LC_ALL
abs_srcdir=$(cd "$top_srcdir" && pwd) || exit 99
abs_builddir=$(cd "${top_builddir:-.}" && pwd) || exit 99
work=$(mktemp -d) || exit 99
trap 'rm -rf "$work"' EXIT

# A nested make: not part of the outer make's job server.
pmake() {
	# shellcheck disable=SC2086
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $MAKE "$@"
}

# same_list DESCRIPTION EXPECTED ACTUAL: ok when the sorted lists match;
# otherwise the difference goes to the log as TAP comments.
same_list() {
	if cmp -s "$2" "$3"; then
		ok "$1"
	else
		fail "$1"
		diff "$2" "$3" | sed 's/^/# /'
	fi
}

# files_under ROOT: every non-directory below ROOT, as absolute paths
files_under() {
	(cd "$1" && find . ! -type d | sed 's|^\.||' | sort)
}

# quiet_ok DESCRIPTION STATUS OUTPUT: ok when a tool exited 0 and said
# nothing; what it said goes to the log
quiet_ok() {
	if [ "$2" -eq 0 ] && [ -z "$3" ]; then ok "$1"; else fail "$1"; fi
	[ -z "$3" ] || printf '%s\n' "$3" | sed 's/^/# /'
}

# has_line FILE LINE: FILE holds LINE exactly
has_line() {
	grep -qxF "$2" "$1"
}

# The daemon's own default pidfile, from its --help text.
daemon_pidfile=$("$HRNG" --help 2>&1 | sed -n 's/.*pid file (default \([^)]*\)).*/\1/p')

# ------------------------------------------------------------ make install
dest=$work/dest
if pmake -s -C "$abs_builddir" install DESTDIR="$dest" >"$work/install.log" 2>&1; then
	ok "make install DESTDIR=... succeeds"
else
	fail "make install DESTDIR=... succeeds"
	sed 's/^/# /' "$work/install.log"
fi
{
	echo "$pkg_sbindir/havege-rngd"
	echo "$pkg_man8dir/havege-rngd.8"
	echo "$pkg_sysconfdir/init.d/havege-rngd"
	echo "$pkg_sysconfdir/default/havege-rngd"
	if [ "$pkg_unitdir" != no ]; then
		echo "$pkg_unitdir/havege-rngd.service"
		echo "$pkg_unitdir/havege-rngd-once.service"
		echo "$pkg_unitdir/havege-rngd-egd.socket"
		echo "$pkg_unitdir/havege-rngd-egd.service"
	fi
} | sort >"$work/expected"
files_under "$dest" >"$work/actual"
same_list "installed: exactly $(wc -l <"$work/expected") files, each where configured" \
	"$work/expected" "$work/actual"

mode() { stat -c %a "$dest$1" 2>/dev/null; }
check "program and init script are mode 755" \
	[ "$(mode "$pkg_sbindir/havege-rngd")$(mode "$pkg_sysconfdir/init.d/havege-rngd")" = 755755 ]
check "default file and man page are mode 644" \
	[ "$(mode "$pkg_sysconfdir/default/havege-rngd")$(mode "$pkg_man8dir/havege-rngd.8")" = 644644 ]

init=$dest$pkg_sysconfdir/init.d/havege-rngd
unit=$dest$pkg_unitdir/havege-rngd.service
once=$dest$pkg_unitdir/havege-rngd-once.service
check "init script: DAEMON is the installed program" has_line "$init" "DAEMON=$pkg_sbindir/havege-rngd"
check "init script: DEFAULTS is the installed default file" \
	has_line "$init" "DEFAULTS=$pkg_sysconfdir/default/havege-rngd"
check "init script: PIDFILE is the daemon's default ($daemon_pidfile)" \
	sh -c '[ -n "$2" ] && grep -qxF "PIDFILE=$2" "$1"' - "$init" "$daemon_pidfile"
check "no @variable@ left in the init script" sh -c '! grep -q "@[a-z_]*@" "$1"' - "$init"
if [ "$pkg_unitdir" != no ]; then
	check "unit: ExecStart runs the installed program in the foreground" \
		has_line "$unit" "ExecStart=$pkg_sbindir/havege-rngd --Foreground --verbose=1 \$DAEMON_ARGS"
	check "unit: EnvironmentFile is the installed default file (optional)" \
		has_line "$unit" "EnvironmentFile=-$pkg_sysconfdir/default/havege-rngd"
	check "once unit: ExecStart runs --once" \
		has_line "$once" "ExecStart=$pkg_sbindir/havege-rngd --once --verbose=1 \$DAEMON_ARGS"
	check "no @variable@ left in the units" sh -c '! grep -q "@[a-z_]*@" "$1" "$2"' - "$unit" "$once"
fi

if pmake -s -C "$abs_builddir" uninstall DESTDIR="$dest" >"$work/uninstall.log" 2>&1 &&
	[ -z "$(files_under "$dest")" ]; then
	ok "make uninstall removes every installed file"
else
	fail "make uninstall removes every installed file"
	files_under "$dest" | sed 's/^/# left: /'
fi
pmake -s -C "$abs_builddir" install DESTDIR="$dest" >/dev/null 2>&1 || fail "reinstall"

# ------------------------------------------------------------ other directories
# Configure a second tree with the first one's options, then other
# directories; install-data installs everything but the program, so
# nothing is compiled.
b2=$work/b2
mkdir "$b2" || exit 99
eval "set -- $("$abs_builddir/config.status" --config)"
# ...but not its --srcdir (make distcheck's is relative to its build tree).
n=$#
for a in "$@"; do
	case $a in
	--srcdir=*) ;;
	*) set -- "$@" "$a" ;;
	esac
done
shift "$n"
# configure_b2 EXTRA...: configure $b2 quietly; returns its status
configure_b2() {
	(cd "$b2" && "$abs_srcdir/configure" -q "$@" >"$work/configure.log" 2>&1)
}
if configure_b2 "$@" --prefix=/opt/hr --sbindir=/opt/hr/bin --sysconfdir=/etc/hr-test \
	--mandir=/opt/hr/man --with-systemdsystemunitdir=/opt/hr/units &&
	pmake -s -C "$b2" install-data DESTDIR="$work/d2" >"$work/install2.log" 2>&1; then
	ok "other directories: configure and make install-data succeed"
else
	fail "other directories: configure and make install-data succeed"
	sed 's/^/# /' "$work/configure.log" "$work/install2.log"
fi
printf '%s\n' /etc/hr-test/default/havege-rngd /etc/hr-test/init.d/havege-rngd \
	/opt/hr/man/man8/havege-rngd.8 /opt/hr/units/havege-rngd-once.service \
	/opt/hr/units/havege-rngd.service /opt/hr/units/havege-rngd-egd.socket \
	/opt/hr/units/havege-rngd-egd.service | sort >"$work/expected2"
files_under "$work/d2" >"$work/actual2"
same_list "other directories: each file where --sysconfdir, --mandir and the unit dir say" \
	"$work/expected2" "$work/actual2"
check "other directories: the unit runs --sbindir's program" \
	grep -q '^ExecStart=/opt/hr/bin/havege-rngd ' "$work/d2/opt/hr/units/havege-rngd.service"
check "other directories: the unit reads --sysconfdir's default file" \
	has_line "$work/d2/opt/hr/units/havege-rngd.service" "EnvironmentFile=-/etc/hr-test/default/havege-rngd"
check "other directories: the init script runs --sbindir's program" \
	has_line "$work/d2/etc/hr-test/init.d/havege-rngd" "DAEMON=/opt/hr/bin/havege-rngd"

if configure_b2 "$@" --prefix=/opt/hr --with-systemdsystemunitdir=no &&
	pmake -s -C "$b2" install-data DESTDIR="$work/d3" >"$work/install3.log" 2>&1; then
	check "--with-systemdsystemunitdir=no: no unit installed" \
		[ -z "$(cd "$work/d3" && find . -name '*.service' -o -name '*.socket')" ]
	check "--with-systemdsystemunitdir=no: init script still installed" \
		[ -x "$work/d3/opt/hr/etc/init.d/havege-rngd" ]
else
	fail "--with-systemdsystemunitdir=no: configure and make install-data succeed"
	sed 's/^/# /' "$work/configure.log" "$work/install3.log"
fi

# ------------------------------------------------------------ the units
if [ "$pkg_unitdir" = no ]; then
	skip "units not installed (--with-systemdsystemunitdir=no)"
	done_testing
	exit $?
fi

# Issue 5's list, exactly.
for line in Type=notify NotifyAccess=main DefaultDependencies=no \
	"Before=sysinit.target shutdown.target" WantedBy=sysinit.target Restart=always \
	StartLimitIntervalSec=0 \
	"SuccessExitStatus=137 143" CapabilityBoundingSet=CAP_SYS_ADMIN NoNewPrivileges=yes \
	PrivateNetwork=yes PrivateTmp=yes ProtectSystem=strict ProtectHome=yes \
	ProtectKernelModules=yes ProtectKernelLogs=yes RestrictNamespaces=yes \
	RestrictRealtime=yes LockPersonality=yes MemoryDenyWriteExecute=yes \
	SystemCallArchitectures=native SystemCallErrorNumber=EPERM; do
	has_line "$unit" "$line" || fail "unit: $line missing"
done
ok "unit: every setting issue 5 lists"
check "unit: SystemCallFilter starts from @system-service" grep -q '^SystemCallFilter=@system-service' "$unit"
check "unit: no ProtectKernelTunables (it would block -w), and says why" \
	sh -c '! grep -q "^ProtectKernelTunables" "$1" && grep -q "^# No ProtectKernelTunables=:.*-w" "$1"' - "$unit"
check "once unit: Type=oneshot" has_line "$once" Type=oneshot
for line in CapabilityBoundingSet=CAP_SYS_ADMIN NoNewPrivileges=yes SystemCallErrorNumber=EPERM; do
	has_line "$once" "$line" || fail "once unit: $line missing"
done

# Every confinement key of the haveged unit installed here is set in ours.
haveged_unit=/lib/systemd/system/haveged.service
if [ -r "$haveged_unit" ]; then
	missing=""
	for key in $(sed -n 's/^\(Protect[A-Za-z]*\|Private[A-Za-z]*\|Restrict[A-Za-z]*\|CapabilityBoundingSet\|NoNewPrivileges\|SystemCall[A-Za-z]*\|LockPersonality\|MemoryDenyWriteExecute\)=.*/\1/p' "$haveged_unit" | sort -u); do
		grep -q "^$key=" "$unit" || missing="$missing $key"
	done
	check "unit sets every confinement key haveged's does${missing:+ (missing:$missing)}" [ -z "$missing" ]
else
	skip "no haveged unit installed to compare with"
fi

if ! command -v systemd-analyze >/dev/null 2>&1; then
	skip "systemd-analyze not installed (package systemd)"
else
	# verify needs no running systemd with --root, which also makes it
	# look for ExecStart's program inside that root.  Under --root it finds
	# units only in systemd's own search path, so the installed units go
	# to the root's /etc/systemd/system, with the installed program at its
	# configured path.  It exits 0 on many problems it only warns about:
	# any output is a failure too.
	vroot=$work/vroot
	mkdir -p "$vroot/etc/systemd/system" "$vroot$pkg_sbindir" &&
		cp "$unit" "$once" "$dest$pkg_unitdir/havege-rngd-egd.socket" \
		"$dest$pkg_unitdir/havege-rngd-egd.service" "$vroot/etc/systemd/system/" &&
		cp "$dest$pkg_sbindir/havege-rngd" "$vroot$pkg_sbindir/" || exit 99
	for u in havege-rngd.service havege-rngd-once.service havege-rngd-egd.socket havege-rngd-egd.service; do
		out=$(systemd-analyze verify --man=no --root="$vroot" "$vroot/etc/systemd/system/$u" 2>&1)
		quiet_ok "systemd-analyze verify $u: status 0, no output" $? "$out"
	done
	mv "$vroot$pkg_sbindir/havege-rngd" "$work/moved"
	check "systemd-analyze verify fails where the program is missing (the check can fail)" \
		sh -c '! systemd-analyze verify --man=no --root="$1" "$1/etc/systemd/system/havege-rngd.service" >/dev/null 2>&1' - "$vroot"
	mv "$work/moved" "$vroot$pkg_sbindir/havege-rngd"

	# exposure_tenths UNIT ROOT: systemd-analyze security's overall exposure x 10
	exposure_tenths() {
		systemd-analyze security --offline=true --root="$2" "$1" 2>/dev/null |
			sed -n 's/.*Overall exposure level for .*: \([0-9]*\)\.\([0-9]\).*/\1\2/p'
	}
	ours=$(exposure_tenths "$vroot/etc/systemd/system/havege-rngd.service" "$vroot")
	if [ -r "$haveged_unit" ]; then
		theirs=$(exposure_tenths "$haveged_unit" /)
	else
		theirs=30
	fi
	check "exposure (systemd-analyze security) $ours/10 <= haveged's $theirs/10" \
		[ "${ours:-999}" -le "${theirs:-0}" ]
fi

# ------------------------------------------------------------ shell lint
scripts="$init $abs_srcdir/contrib/initramfs-tools/hooks/havege-rngd
$abs_srcdir/contrib/initramfs-tools/scripts/init-top/havege-rngd
$abs_srcdir/contrib/dracut/90havege-rngd/module-setup.sh
$abs_srcdir/contrib/dracut/90havege-rngd/havege-rngd-once.sh"
for tool in shellcheck checkbashisms; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		skip "$tool not installed"
		continue
	fi
	for s in $scripts; do
		name=${s#"$dest"}
		name=${name#"$abs_srcdir/"}
		if [ "$tool" = shellcheck ]; then
			out=$(shellcheck -s sh "$s" 2>&1)
		else
			out=$(checkbashisms "$s" 2>&1)
		fi
		quiet_ok "$tool: $name" $? "$out"
	done
done

# ------------------------------------------------------------ system calls
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/random ]; then
	skip "system calls under the unit's filter: needs root and /dev/random"
	done_testing
	exit $?
fi
if ! command -v strace >/dev/null 2>&1 || ! command -v systemd-analyze >/dev/null 2>&1; then
	skip "system calls under the unit's filter: needs strace and systemd-analyze"
	done_testing
	exit $?
fi

# expand ITEM...: system call names, groups (@name) opened recursively
expand() {
	for item in "$@"; do
		case $item in
		@*)
			systemd-analyze syscall-filter "$item" | sed '1d; s/^[[:space:]]*//; /^#/d; /^$/d' |
				while read -r sub; do expand "$sub"; done
			;;
		*) echo "$item" ;;
		esac
	done
}

# The unit's allow list, and what its deny lists and other settings take
# away again (systemd.exec(5): PrivateDevices= denies @raw-io,
# ProtectClock= @clock, ProtectKernelModules= @module, ProtectKernelLogs=
# syslog).
# shellcheck disable=SC2046
expand $(sed -n 's/^SystemCallFilter=\([^~].*\)/\1/p' "$unit") | sort -u >"$work/allow"
# shellcheck disable=SC2046
expand $(sed -n 's/^SystemCallFilter=~\(.*\)/\1/p' "$unit") @raw-io @clock @module syslog |
	sort -u >"$work/deny"
comm -23 "$work/allow" "$work/deny" >"$work/allowed"

# trace_calls OUT CMD...: run CMD under strace -f; the names of the calls
# it made (from execve on, as systemd's filter would see them) to OUT.
trace_calls() {
	o=$1
	shift
	strace -f -qq -o "$work/trace" "$@" 2>"$work/trace.err"
	sed -n 's/^[0-9]* *\([a-z_0-9]*\)(.*/\1/p' "$work/trace" | sort -u >"$o"
	cat "$work/trace" >>"$work/traces"
}

# Two collector threads, an injection every second, 2.5 s in all.
trace_calls "$work/calls-fg" timeout -s TERM 2.5 "$HRNG" -F -v 1 -T 1 -t 2
trace_calls "$work/calls-once" "$HRNG" --once
check "traced the daemon (it called RNDADDENTROPY)" grep -q 'RNDADDENTROPY' "$work/traces"
for mode in fg once; do
	bad=$(comm -23 "$work/calls-$mode" "$work/allowed" | tr '\n' ' ')
	n=$(wc -l <"$work/calls-$mode")
	d="$mode: $n distinct system calls, all allowed by the unit${bad:+ (not allowed: $bad)}"
	if [ -z "$bad" ] && [ "$n" -gt 0 ]; then ok "$d"; else fail "$d"; fi
done
check "no writable and executable mapping (MemoryDenyWriteExecute=yes)" \
	sh -c '! grep -E "(mmap|mprotect|pkey_mprotect)\(.*PROT_WRITE\|PROT_EXEC|PROT_EXEC\|PROT_WRITE" "$1"' - "$work/traces"
check "sockets: AF_UNIX only (RestrictAddressFamilies=AF_UNIX)" \
	sh -c '! grep "socket(" "$1" | grep -qv "socket(AF_UNIX"' - "$work/traces"

done_testing
