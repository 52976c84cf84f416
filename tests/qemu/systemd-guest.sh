#!/bin/sh
# systemd-guest.sh - the checks of tests/e2e-systemd.sh, inside its guest:
# Debian 12 with systemd as PID 1 and haveged installed and running, the
# havege-rngd .deb in /e2e.  Run by e2e.service once multi-user.target is
# reached; prints TAP-like lines prefixed "E2E " on the serial console,
# then "E2E done", and powers the guest off.
#
#  - the migration of doc/migrating.md: haveged disabled, the .deb
#    installed, the service enabled and running;
#  - AppArmor: the package's profile in /etc/apparmor.d with its local
#    include, loaded in enforce mode by the postinst before the service
#    started, so the daemon the installation started, and every later
#    one (restarts, --once, the EGD daemons), runs confined; a -f path
#    outside the profile is refused with one line, and allowed once the
#    local include names its directory;
#  - start: activating while the daemon, stopped before READY=1, has not
#    sent it; active once continued, with the daemon's own seccomp filter
#    (loaded just before READY=1); the STATUS= line in systemctl status;
#  - /proc/PID/status of every thread: exactly CAP_SYS_ADMIN (effective,
#    permitted, bounding), nothing inheritable or ambient, NoNewPrivs,
#    seccomp filtering with one filter more than systemd's;
#  - systemd-analyze security: no more than 1.5, haveged's beside it;
#  - DAEMON_ARGS="-w 2048" in /etc/default/havege-rngd reaches the daemon;
#  - stop within 1 s, counted as success; kill -9 restarts after RestartSec;
#  - a start that fails (a drop-in adding an unknown option): one journal
#    line per attempt, retried every RestartSec, no start limit;
#  - havege-rngd-once.service exits 0;
#  - the EGD drop-in of havege-rngd(8): a client in the socket's group
#    reads, one outside it is refused, and CAP_CHOWN is not kept;
#  - havege-rngd-egd.socket: not enabled by the package; "systemctl enable
#    --now" with SocketGroup= in a drop-in; the first client starts the
#    EGD-only havege-rngd-egd.service, handed the socket: a client in the
#    group reads, one outside is refused, no capability at all (CAP_CHOWN
#    not even bounding), the feeding daemon untouched, exposure <= 1.5;
#    after kill -9 clients are served by a new EGD daemon;
#  - removal, last: apt-get remove stops the daemon, the EGD socket and
#    its service (debian/havege-rngd.prerm) and keeps the conffiles;
#    purge removes them and the AppArmor profile's local include.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C
U=havege-rngd.service
EGD_SOCK=/run/havege-rngd/egd.sock

ok() { echo "E2E ok - $*"; }
fail() { echo "E2E not ok - $*"; }
note() { echo "E2E # $*"; }
check() { # check DESCRIPTION COMMAND...
	d=$1; shift
	if "$@"; then ok "$d"; else fail "$d"; return 1; fi
}
# show PROPERTY [UNIT]: one property's value
show() { systemctl show --value -p "$1" "${2:-$U}"; }
# uptime_us: the monotonic clock systemd's *TimestampMonotonic use, in µs
uptime_us() { awk '{ printf "%.0f\n", $1 * 1000000 }' /proc/uptime; }
# wait_until SECONDS COMMAND...: poll every 0.1 s until COMMAND succeeds
wait_until() {
	end=$(($(date +%s) + $1)); shift
	while ! "$@"; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.1
	done
}
is_active() { [ "$(show ActiveState)" = active ]; }
# field PID NAME: a field of /proc/PID/status
field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null; }
# journal_of PID: what that process wrote (stderr, to the journal)
journal_of() { journalctl -q --no-pager -o cat _PID="$1"; }
# fresh_start: stop, then start, and wait for active; prints the main PID
fresh_start() {
	systemctl stop "$U"
	systemctl start "$U" && wait_until 30 is_active && show MainPID
}

note "kernel $(uname -r), $(nproc) CPU, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
note "boot: $(systemd-analyze time 2>/dev/null | head -n 1)"

# ---------------------------------------------------------------- migrate
# doc/migrating.md, "Replacing haveged on Debian", the same commands.
check "haveged runs before the migration" systemctl is-active --quiet haveged
haveged_score=$(systemd-analyze security --no-pager haveged.service 2>/dev/null |
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
grep '^DAEMON_ARGS=' /etc/default/haveged >/tmp/haveged-args
systemctl disable --now haveged >/dev/null 2>&1
check "haveged disabled and stopped" \
	sh -c '! systemctl is-enabled --quiet haveged && ! systemctl is-active --quiet haveged'
deb=$(cd /e2e && ls havege-rngd_*_amd64.deb)
if (cd /e2e && apt-get install -y "./$deb") >/tmp/apt.log 2>&1; then
	ok "apt-get install ./$deb succeeds"
else
	fail "apt-get install ./$deb succeeds"
	sed 's/^/E2E # apt: /' /tmp/apt.log | tail -n 20
fi
check "installing enables the service" systemctl is-enabled --quiet "$U"
check "installing starts the service, which becomes active" wait_until 60 is_active
# ---------------------------------------------------------------- AppArmor
# The package's profile (contrib/apparmor, installed by dh_apparmor's
# postinst lines): in /etc/apparmor.d, loaded in enforce mode by the
# postinst before it started the service, so the daemon the installation
# started is already confined, and everything from here on runs under it.
aa_on=0
if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] &&
	command -v apparmor_parser >/dev/null 2>&1; then
	check "AppArmor: the package installs /etc/apparmor.d/usr.sbin.havege-rngd" \
		test -f /etc/apparmor.d/usr.sbin.havege-rngd
	check "AppArmor: ... and the postinst makes its local include" \
		test -f /etc/apparmor.d/local/usr.sbin.havege-rngd
	if check "AppArmor: the postinst loaded havege-rngd in enforce mode" \
		grep -qx "havege-rngd (enforce)" /sys/kernel/security/apparmor/profiles; then
		aa_on=1
	fi
else
	fail "AppArmor: the guest kernel has it on and apparmor_parser is installed"
fi
# confined PID: the daemon runs under the profile, enforcing
confined() { [ "$(cat /proc/"$1"/attr/current 2>/dev/null)" = "havege-rngd (enforce)" ]; }
aa_check() { # aa_check WHAT PID
	[ "$aa_on" -eq 1 ] || return 0
	check "AppArmor: $1 runs confined (havege-rngd (enforce))" confined "$2"
}
aa_check "the daemon the installation started" "$(show MainPID)"

check "installing does not enable havege-rngd-once.service" \
	sh -c '! systemctl is-enabled --quiet havege-rngd-once.service'
cat /tmp/haveged-args >>/etc/default/havege-rngd
check "systemctl restart havege-rngd" systemctl restart havege-rngd

# ---------------------------------------------------------------- READY=1
# The daemon is stopped (SIGSTOP) as soon as it has been exec'd, before it
# can send READY=1: the unit must stay activating however long it waits.
# Once continued, the unit becomes active, by then with the daemon's own
# seccomp filter (loaded just before READY=1) on top of systemd's.  The
# daemon is found from the unit's cgroup with shell builtins only, since
# between exec and READY=1 there may be only a few hundred ms under TCG;
# caught after its filter or after READY=1, it is tried again.
procs=/sys/fs/cgroup/system.slice/$U/cgroup.procs
# find_daemon: dpid=the daemon's PID once exec'd (comm is its name only
# after execve), or return 1
find_daemon() {
	[ -r "$procs" ] || return 1
	while read -r p; do
		read -r c <"/proc/$p/comm" 2>/dev/null && [ "$c" = havege-rngd ] && { dpid=$p; return 0; }
	done <"$procs"
	return 1
}
caught="" try=0
while [ -z "$caught" ] && [ "$try" -lt 8 ]; do
	try=$((try + 1))
	systemctl stop "$U"
	systemctl start --no-block "$U"
	dpid=""
	read -r up _ </proc/uptime
	end=$((${up%.*} + 30))
	while ! find_daemon; do
		read -r up _ </proc/uptime
		[ "${up%.*}" -lt "$end" ] || break
	done
	[ -n "$dpid" ] || continue
	kill -STOP "$dpid"
	f_stopped=$(field "$dpid" Seccomp_filters)
	if [ "$(show ActiveState)" = activating ]; then
		sleep 3
		st=$(show ActiveState)
		kill -CONT "$dpid"
		wait_until 60 is_active
		f_active=$(field "$dpid" Seccomp_filters)
		note "try $try: stopped at $f_stopped seccomp filters, 3 s later $st; continued, $(show ActiveState) with $f_active"
		# caught between its filter and READY=1: no proof either way
		[ "$f_active" != "$f_stopped" ] && caught=$dpid
	else
		kill -CONT "$dpid"
		note "try $try: stopped too late ($(show ActiveState), $f_stopped filters)"
	fi
done
check "start: activating, not active, while the daemon has not sent READY=1 (stopped 3 s)" \
	test -n "$caught" -a "$st" = activating
check "start: active once continued, with the daemon's own filter (loaded just before READY=1)" \
	test -n "$caught" -a "$(show ActiveState)" = active -a "$f_active" = "$((f_stopped + 1))"
active_filters=$f_active
check "status: the daemon sent a STATUS= line" wait_until 60 sh -c "[ -n \"\$(systemctl show --value -p StatusText $U)\" ]"
status_text=$(show StatusText)
note "STATUS: $status_text"
systemctl status --no-pager "$U" >/tmp/status 2>&1
check "systemctl status shows the STATUS line" grep -qF "Status: \"$status_text" /tmp/status

# ---------------------------------------------------------------- privileges
pid=$(show MainPID)
cap_ok=1 nnp_ok=1
for t in /proc/"$pid"/task/*; do
	tid=${t##*/}
	c="$(field "$pid/task/$tid" CapInh) $(field "$pid/task/$tid" CapPrm) $(field "$pid/task/$tid" CapEff)"
	c="$c $(field "$pid/task/$tid" CapBnd) $(field "$pid/task/$tid" CapAmb)"
	n="$(field "$pid/task/$tid" NoNewPrivs) $(field "$pid/task/$tid" Seccomp) $(field "$pid/task/$tid" Seccomp_filters)"
	note "thread $tid: CapInh CapPrm CapEff CapBnd CapAmb = $c; NoNewPrivs Seccomp Seccomp_filters = $n"
	[ "$c" = "0000000000000000 0000000000200000 0000000000200000 0000000000200000 0000000000000000" ] ||
		cap_ok=0
	[ -n "$active_filters" ] && [ "$n" = "1 2 $active_filters" ] || nnp_ok=0
done
check "every thread: only CAP_SYS_ADMIN (permitted, effective, bounding), none inheritable or ambient" \
	test "$cap_ok" -eq 1
check "every thread: NoNewPrivs 1, seccomp filtering, the daemon's filter on top of systemd's" \
	test "$nnp_ok" -eq 1

# ---------------------------------------------------------------- exposure
score=$(systemd-analyze security --no-pager "$U" 2>/dev/null |
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
note "systemd-analyze security: havege-rngd.service ${score:-?}, haveged.service ${haveged_score:-?} (lower is better)"
check "exposure ${score:-?} is no higher than 1.5" \
	awk -v s="$score" 'BEGIN { exit !(s != "" && s + 0 <= 1.5) }'

# ---------------------------------------------------------------- -w 2048
echo 'DAEMON_ARGS="-w 2048"' >>/etc/default/havege-rngd
pid=$(fresh_start)
check "DAEMON_ARGS=\"-w 2048\": the daemon's command line has -w 2048" \
	sh -c 'tr "\0" " " </proc/$1/cmdline | grep -q -- " -w 2048"' - "$pid"
pool=$(cat /proc/sys/kernel/random/poolsize)
if [ "$pool" -le 256 ]; then
	check "-w 2048 on a ${pool}-bit pool: the daemon says it has no effect here" \
		wait_until 10 sh -c 'journalctl -q -o cat _PID=$1 | grep -q -- "-w 2048 has no effect on this kernel"' - "$pid"
else
	check "-w 2048: write_wakeup_threshold is 2048" \
		test "$(cat /proc/sys/kernel/random/write_wakeup_threshold)" -eq 2048
fi
journal_of "$pid" | grep -- '-w 2048' | sed 's/^/E2E # journal: /'

# ---------------------------------------------------------------- stop
t0=$(date +%s%N)
systemctl stop "$U"
t1=$(date +%s%N)
# systemd's own account: from leaving active (SIGTERM sent) to inactive
# (the daemon reaped), without systemctl's round trip, which a TCG guest
# sharing the host's CPUs slows down
ms=$((($(show InactiveEnterTimestampMonotonic) - $(show ActiveExitTimestampMonotonic)) / 1000))
note "systemctl stop: $ms ms from SIGTERM to inactive, $(((t1 - t0) / 1000000)) ms for the command; exit status $(show ExecMainStatus), result $(show Result)"
check "systemctl stop ends it within 1 s" test "$ms" -le 1000
check "stop counts as success (inactive, result success)" \
	test "$(show ActiveState)/$(show Result)" = inactive/success

# ---------------------------------------------------------------- kill -9
RESTART_S=$(show RestartUSec | sed -n 's/^\([0-9][0-9]*\)s$/\1/p')
check "RestartSec is whole seconds (${RESTART_S:-$(show RestartUSec)})" test -n "$RESTART_S"
: "${RESTART_S:=0}"    # (failed above) keeps the arithmetic below valid
pid=$(fresh_start)
n0=$(show NRestarts)
t_kill=$(uptime_us)
kill -9 "$pid"
restarted() { p=$(show MainPID); [ "$p" -ne 0 ] && [ "$p" -ne "$pid" ] && is_active; }
check "kill -9: a new daemon is running" wait_until 60 restarted
delay=$(($(show ExecMainStartTimestampMonotonic) - t_kill))
note "kill -9 to the new daemon's exec: $((delay / 1000)) ms (RestartSec=${RESTART_S}s)"
check "kill -9: restarted once, after RestartSec (${RESTART_S} s to ${RESTART_S} + 5 s)" \
	test "$(show NRestarts)" -eq $((n0 + 1)) -a "$delay" -ge $((RESTART_S * 1000000)) -a "$delay" -lt $(((RESTART_S + 5) * 1000000))

# ---------------------------------------------------------------- failing start
note "StartLimitIntervalUSec=$(show StartLimitIntervalUSec) StartLimitBurst=$(show StartLimitBurst)"
check "no start limit (StartLimitIntervalSec=0): never gives up" test "$(show StartLimitIntervalUSec)" = 0
mkdir -p "/run/systemd/system/$U.d"
cat >"/run/systemd/system/$U.d/e2e-bad.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=/usr/sbin/havege-rngd --Foreground --verbose=1 --no-such-option
EOF
systemctl daemon-reload
systemctl stop "$U"
sleep 1     # journalctl --since has whole seconds
since=$(date +%s)
n0=$(show NRestarts)
systemctl start "$U" 2>/dev/null
check "a failing start: systemctl start reports the failure" test $? -ne 0
attempts3() { [ "$(show NRestarts)" -ge $((n0 + 3)) ]; }
check "a failing start is retried (4 attempts within $((RESTART_S * 3 + 25)) s)" \
	wait_until $((RESTART_S * 3 + 25)) attempts3
# between attempts activating/auto-restart, during one activating/start or
# deactivating; never failed or inactive
st="$(show ActiveState)/$(show SubState)"
check "after 4 failed attempts the unit is still restarting, not given up ($st)" \
	sh -c 'case $1 in failed/* | inactive/*) exit 1 ;; esac' - "$st"
# stopped, so that the journal holds a fixed number of attempts
systemctl stop "$U"
journalctl -q --no-pager -o short-unix _SYSTEMD_UNIT="$U" --since "@$since" >/tmp/bad.log
lines=$(wc -l </tmp/bad.log)
errs=$(grep -c 'havege-rngd: --no-such-option: unknown option$' /tmp/bad.log)
exits=$(journalctl -q --no-pager -o cat -u "$U" --since "@$since" | grep -c 'Main process exited, code=exited, status=1/FAILURE')
sed 's/^/E2E # journal: /' /tmp/bad.log
note "$exits failed attempts, $errs error lines, $lines lines from the daemon in all"
check "one clear journal line per attempt" test "$exits" -ge 4 -a "$errs" -eq "$exits" -a "$lines" -eq "$exits"
# the attempts' lines, RestartSec apart (journal times are when journald
# read them: 0.2 s of slack below)
check "attempts are RestartSec apart (${RESTART_S} s, less than ${RESTART_S} + 5 s)" \
	awk -v r="$RESTART_S" 'NR > 1 { d = $1 - prev; if (d < r - 0.2 || d >= r + 5) bad = 1 }
		{ prev = $1 } END { exit bad || NR < 2 }' /tmp/bad.log
rm -rf "/run/systemd/system/$U.d"
systemctl daemon-reload
systemctl reset-failed "$U" 2>/dev/null
check "without the drop-in it starts again" fresh_start >/dev/null

# ---------------------------------------------------------------- --once
systemctl start havege-rngd-once.service
rc=$?
note "havege-rngd-once: $(journalctl -q --no-pager -o cat _SYSTEMD_UNIT=havege-rngd-once.service | tail -n 1)"
check "havege-rngd-once.service runs and exits 0" \
	test "$rc/$(show Result havege-rngd-once.service)/$(show ExecMainStatus havege-rngd-once.service)" = 0/success/0
if [ "$aa_on" -eq 1 ]; then
	# --once under the profile, by hand: its label looked at while it runs.
	# On this kernel it can be over in a fraction of a second, less than
	# one turn of wait_until's 0.1 s poll (seen once), so the label is read
	# with the shell's own read, no fork and no sleep, until the exec has
	# put it under the profile or the process has ended (a zombie: state Z,
	# since it is not waited for yet), 20 s at most.
	sh -c 'exec /usr/sbin/havege-rngd --once' &
	opid=$!
	once_label="" end=$(($(date +%s) + 20)) n=0
	while :; do
		l="" ost=""
		IFS= read -r l <"/proc/$opid/attr/current" 2>/dev/null
		[ "$l" = "havege-rngd (enforce)" ] && once_label=$l && break
		read -r _ _ ost _ <"/proc/$opid/stat" 2>/dev/null
		{ [ -z "$ost" ] || [ "$ost" = Z ]; } && break
		n=$((n + 1))
		[ $((n % 1000)) -eq 0 ] && [ "$(date +%s)" -ge "$end" ] && break
	done
	wait "$opid"
	orc=$?
	note "havege-rngd --once by hand: label '$once_label', exit $orc"
	check "AppArmor: --once runs confined and exits 0" \
		test "$once_label/$orc" = "havege-rngd (enforce)/0"
	# A path outside the profile: a denial in the kernel's log and one
	# clear line with exit 1, not a crash.
	dmesg -C 2>/dev/null
	/usr/sbin/havege-rngd -n 64 -f /root/denied.bin >/tmp/denied.out 2>&1
	drc=$?
	note "havege-rngd -n 64 -f /root/denied.bin: exit $drc: $(cat /tmp/denied.out)"
	check "AppArmor: a path outside the profile: exit 1 and one line, not a crash" \
		test "$drc" -eq 1 -a "$(wc -l </tmp/denied.out)" -eq 1
	# (file mode writes a temporary file beside the target, then renames
	# it: the denial names that file, in /root)
	check "AppArmor: ... and the kernel logs the denial, in /root" \
		wait_until 10 sh -c 'dmesg 2>/dev/null | grep "apparmor=\"DENIED\"" | grep "profile=\"havege-rngd\"" | grep -q "name=\"/root/"'
	dmesg 2>/dev/null | grep 'apparmor="DENIED"' | sed 's/^/E2E # dmesg: /'
	# havege-rngd(8), FILE MODE: the remedy is a line for the directory
	# in the local include, and the profile reloaded.
	mkdir -p /srv/entropy
	echo '/srv/entropy/* rw,' >>/etc/apparmor.d/local/usr.sbin.havege-rngd
	apparmor_parser -r /etc/apparmor.d/usr.sbin.havege-rngd 2>/tmp/aa.log ||
		sed 's/^/E2E # apparmor_parser: /' /tmp/aa.log
	/usr/sbin/havege-rngd -n 64 -f /srv/entropy/allowed.bin >/tmp/allowed.out 2>&1
	arc=$?
	note "havege-rngd -n 64 -f /srv/entropy/allowed.bin: exit $arc $(cat /tmp/allowed.out)"
	check "AppArmor: with '/srv/entropy/* rw,' in the local include, -f there writes its 64 bytes" \
		test "$arc/$(stat -c %s /srv/entropy/allowed.bin 2>/dev/null)" = 0/64
fi

# ---------------------------------------------------------------- EGD
# havege-rngd(8), EGD SERVER: the drop-in and the defaults file's example.
groupadd --system libvirt-qemu
useradd --system --no-create-home --groups libvirt-qemu qemu-client
useradd --system --no-create-home outsider
mkdir -p /etc/systemd/system/$U.d
cat >/etc/systemd/system/$U.d/egd.conf <<'EOF'
[Service]
RuntimeDirectory=havege-rngd
CapabilityBoundingSet=CAP_SYS_ADMIN CAP_CHOWN
EOF
echo 'DAEMON_ARGS="-w 2048 --egd=unix:/run/havege-rngd/egd.sock --egd-mode=0660 --egd-group=libvirt-qemu"' \
	>>/etc/default/havege-rngd
systemctl daemon-reload
pid=$(fresh_start)
check "EGD: the socket is there, mode 660, group libvirt-qemu" \
	test "$(stat -c '%F %a %G' "$EGD_SOCK" 2>/dev/null)" = "socket 660 libvirt-qemu"
# egd_read: connect, ask for 32 bytes (blocking read, command 2), print
# how many came, or why not
egd_read() {
	runuser -u "$1" -- perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or do { print "connect: $!\n"; exit 1 };
		print $s "\x02\x20"; my $b = ""; my $n;
		while (length($b) < 32 && ($n = sysread($s, my $c, 32 - length($b)))) { $b .= $c }
		print length($b), " bytes\n";' "$EGD_SOCK"
}
r=$(egd_read qemu-client 2>&1)
note "client in libvirt-qemu: $r"
check "EGD: a client in the group reads 32 bytes" test "$r" = "32 bytes"
r=$(egd_read outsider 2>&1)
note "client outside it: $r"
check "EGD: a client outside the group is refused" test "$r" = "connect: Permission denied"
s="$(field "$pid" CapInh) $(field "$pid" CapPrm) $(field "$pid" CapEff) $(field "$pid" CapAmb)"
note "with the EGD drop-in: CapInh CapPrm CapEff CapAmb = $s, CapBnd $(field "$pid" CapBnd)"
# The bounding set keeps the unit's CAP_CHOWN: shrinking it takes
# CAP_SETPCAP, which the unit does not give.  It cannot come back into the
# permitted set: NoNewPrivs, and execve is outside the daemon's filter.
aa_check "the daemon serving EGD (drop-in)" "$pid"
check "EGD: CAP_CHOWN is not kept once the socket is made (only CAP_SYS_ADMIN permitted)" \
	test "$s" = "0000000000000000 0000000000200000 0000000000200000 0000000000000000"

# ---------------------------------------------------------------- socket
# havege-rngd-egd.socket, the way doc/egd.md says: the drop-in and --egd
# above gone, the socket's group set in a drop-in of its own, then
# "systemctl enable --now havege-rngd-egd.socket" alone.  The first client
# starts havege-rngd-egd.service (EGD only), which is handed the socket.
rm -rf "/etc/systemd/system/$U.d"
sed -i '/--egd/d' /etc/default/havege-rngd
S=havege-rngd-egd.socket
E=havege-rngd-egd.service
mkdir -p "/etc/systemd/system/$S.d"
printf '[Socket]\nSocketGroup=libvirt-qemu\n' >"/etc/systemd/system/$S.d/group.conf"
systemctl daemon-reload
fpid=$(fresh_start)
# the service has no [Install]: "static", started only by the socket
st="$(systemctl is-enabled "$S")/$(systemctl is-enabled "$E")"
check "socket: installing the package enabled neither $S nor $E ($st)" test "$st" = disabled/static
systemctl enable --now "$S" >/tmp/enable.log 2>&1
check "socket: systemctl enable --now $S" test $? -eq 0
sed 's/^/E2E # /' /tmp/enable.log
check "socket: listening, $E not started before a client comes" \
	test "$(show ActiveState "$S")/$(show SubState "$S")/$(show ActiveState "$E")" = active/listening/inactive
check "socket: $EGD_SOCK is systemd's: mode 660, owner root, group libvirt-qemu" \
	test "$(stat -c '%F %a %U %G' "$EGD_SOCK" 2>/dev/null)" = "socket 660 root libvirt-qemu"
r=$(egd_read qemu-client 2>&1)
note "socket, client in libvirt-qemu (the first, starting $E): $r"
check "socket: a client in the socket's group reads 32 bytes" test "$r" = "32 bytes"
egd_active() { [ "$(show ActiveState "$E")" = active ]; }
check "socket: the client started $E" wait_until 30 egd_active
epid=$(show MainPID "$E")
aa_check "the EGD daemon of the socket" "$epid"
check "socket: the EGD daemon says it serves on the socket systemd handed over" \
	wait_until 30 sh -c 'journalctl -q -o cat _PID=$1 | grep -q "egd unix:$2: serving on the socket systemd handed over (descriptor 3)"' - "$epid" "$EGD_SOCK"
journal_of "$epid" | sed 's/^/E2E # journal: /'
r=$(egd_read outsider 2>&1)
note "socket, client outside it: $r"
check "socket: a client outside the group is refused" test "$r" = "connect: Permission denied"
c="$(field "$epid" CapInh) $(field "$epid" CapPrm) $(field "$epid" CapEff) $(field "$epid" CapBnd) $(field "$epid" CapAmb)"
note "socket: $E: CapInh CapPrm CapEff CapBnd CapAmb = $c; NoNewPrivs $(field "$epid" NoNewPrivs), Seccomp $(field "$epid" Seccomp)"
check "socket: the EGD daemon has no capability at all, CAP_CHOWN not even in its bounding set" \
	test "$c" = "0000000000000000 0000000000000000 0000000000000000 0000000000000000 0000000000000000"
check "socket: havege-rngd.service still feeds the kernel, the same process" \
	test "$(show MainPID)" = "$fpid" -a "$(show ActiveState)" = active
escore=$(systemd-analyze security --no-pager "$E" 2>/dev/null |
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
note "systemd-analyze security: $E ${escore:-?}"
check "socket: $E's exposure ${escore:-?} is no higher than 1.5" \
	awk -v s="$escore" 'BEGIN { exit !(s != "" && s + 0 <= 1.5) }'
# kill -9: the restarted EGD daemon is handed the socket again
kill -9 "$epid"
new_egd() { p=$(show MainPID "$E"); [ "$p" -ne 0 ] && [ "$p" -ne "$epid" ] && egd_active; }
r=$(egd_read qemu-client 2>&1)
check "socket: after kill -9 of the EGD daemon a client still reads ($r)" test "$r" = "32 bytes"
check "socket: ... served by a new EGD daemon" wait_until 30 new_egd
journalctl -q --no-pager -o cat -u "$S" -u "$E" | tail -n 15 | sed 's/^/E2E # journal: /'

# ---------------------------------------------------------------- removal
# Last, as it ends the package: apt-get remove stops the daemon, the EGD
# socket and its service and keeps the conffiles; purge removes those,
# the AppArmor profile's local include with them.
if apt-get remove -y havege-rngd >/tmp/remove.log 2>&1; then
	ok "apt-get remove havege-rngd succeeds"
else
	fail "apt-get remove havege-rngd succeeds"
	sed 's/^/E2E # apt: /' /tmp/remove.log | tail -n 20
fi
note "after remove: $U $(show ActiveState), $S $(show ActiveState "$S"), $E $(show ActiveState "$E")"
check "remove: the daemon, the EGD socket and the EGD service are stopped" \
	test "$(show ActiveState)/$(show ActiveState "$S")/$(show ActiveState "$E")" = inactive/inactive/inactive
check "remove: no havege-rngd process is left" sh -c '! pgrep -x havege-rngd >/dev/null'
check "remove: the program is gone, the conffiles kept" \
	sh -c '! test -e /usr/sbin/havege-rngd && test -f /etc/default/havege-rngd &&
		test -f /etc/apparmor.d/usr.sbin.havege-rngd'
if apt-get purge -y havege-rngd >/tmp/purge.log 2>&1; then
	ok "apt-get purge havege-rngd succeeds"
else
	fail "apt-get purge havege-rngd succeeds"
	sed 's/^/E2E # apt: /' /tmp/purge.log | tail -n 20
fi
check "purge: the defaults file, the profile and its local include are gone" \
	sh -c '! test -e /etc/default/havege-rngd && ! test -e /etc/apparmor.d/usr.sbin.havege-rngd &&
		! test -e /etc/apparmor.d/local/usr.sbin.havege-rngd'

note "guest time at the end: $(cut -d' ' -f1 /proc/uptime) s"
echo "E2E done"
systemctl poweroff -f
