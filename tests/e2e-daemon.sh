#!/bin/sh
# e2e-daemon.sh - the daemon against the real kernel (root only): it starts,
# names the kernel's pool, calls RNDADDENTROPY, keeps only CAP_SYS_ADMIN,
# survives its own seccomp filter, logs statistics on SIGUSR1, and ends with
# 143 on SIGTERM within a second.  Without root it must refuse to start.
#
# Under valgrind (HRNG_VALGRIND=1) the daemon cannot install its filter:
# valgrind 3.19 does not implement seccomp(2) ("unhandled amd64-linux
# syscall: 317"; libseccomp's TSYNC needs it, so the load fails with
# EOPNOTSUPP), and even where it did, the filter would bind valgrind's own
# system calls too.  The daemon then refuses to run, which is what it must
# do without its filter.  So under valgrind this checks that refusal and
# every start-up path before it (opening the pool, forking, the pidfile,
# dropping capabilities, setting up the generator, and the unwinding after
# the failure), all under memcheck, and skips the checks of a running
# daemon, saying why.  The shipped filter is not weakened for it.
. "$top_srcdir/tests/tap.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip_all "needs root (CAP_SYS_ADMIN) to feed the kernel"
fi
if [ ! -c /dev/random ] || [ ! -r /proc/sys/kernel/random/poolsize ]; then
	skip_all "no /dev/random or /proc/sys/kernel/random here"
fi

work=$(mktemp -d) || exit 99
pid=""
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work" || exit 99

# wait_for FILE PATTERN: up to 10 s for a line to appear
wait_for() {
	i=0
	while [ $i -lt 100 ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# no_filter: set (to the reason) when the daemon refuses to run for want
# of seccomp(2), which only valgrind brings about here.
no_filter=""
if under_valgrind; then
	"$HRNG" --once -v 64 2>probe.txt
	st=$?
	if [ "$st" -eq 1 ] && grep -q "cannot install the seccomp filter" probe.txt; then
		no_filter="valgrind has no seccomp(2) and the daemon will not run without its filter"
		check "no seccomp(2) under valgrind: --once refuses to run, one line" \
			sh -c '[ "$(wc -l <probe.txt)" -eq 1 ] && ! grep -q RNDADDENTROPY probe.txt'
	fi
fi

if [ -n "$no_filter" ]; then
	# Foreground: the same start-up, up to the filter, then status 1.
	"$HRNG" -F -v 65 -T 1 -w 2048 2>log.txt
	st=$?
	check "no seccomp(2): -F refuses to run, status 1" [ "$st" -eq 1 ]
	check "no seccomp(2): the last line names the filter" \
		sh -c 'tail -n 1 log.txt | grep -q "cannot install the seccomp filter"'
	check "no seccomp(2): nothing fed before the filter" sh -c '! grep -q RNDADDENTROPY log.txt'
	if [ "$(cat /proc/sys/kernel/random/poolsize)" = 256 ]; then
		check "explains once that -w has no effect here" \
			sh -c '[ "$(grep -c "has no effect on this kernel" log.txt)" -eq 1 ]'
	fi
	skip "a running daemon (feeding, pool name, RNDADDENTROPY, capabilities," \
		"no-new-privileges, its filter, SIGUSR1, SIGTERM): $no_filter"
else
	# Foreground, every log bit; -T 1 so an injection comes every second.
	"$HRNG" -F -v 65 -T 1 -w 2048 2>log.txt &
	pid=$!
	if ! check "starts and feeds the kernel" wait_for log.txt "feeding the"; then
		kill -0 "$pid" 2>/dev/null || { wait "$pid"; echo "# it exited with status $?"; }
		sed 's/^/# log: /' log.txt
	fi
	poolsize=$(cat /proc/sys/kernel/random/poolsize)
	if [ "$poolsize" = 256 ]; then
		check "names the 256-bit pool" grep -q "feeding the 256-bit pool" log.txt
		check "explains once that -w has no effect here" \
			sh -c '[ "$(grep -c "has no effect on this kernel" log.txt)" -eq 1 ]'
	else
		check "names the 4096-bit pool" grep -q "feeding the 4096-bit pool" log.txt
	fi
	check "RNDADDENTROPY succeeds (-v 64 logs it)" wait_for log.txt "RNDADDENTROPY: 64 bytes"
	status=/proc/$pid/status
	check "effective capabilities: CAP_SYS_ADMIN only" grep -q "^CapEff:.*0000000000200000$" "$status"
	check "permitted capabilities: CAP_SYS_ADMIN only" grep -q "^CapPrm:.*0000000000200000$" "$status"
	check "bounding set empty" grep -q "^CapBnd:.*0000000000000000$" "$status"
	check "no-new-privileges set" grep -q "^NoNewPrivs:.*1$" "$status"
	check "seccomp filter installed" grep -q "^Seccomp:.*2$" "$status"
	for t in /proc/$pid/task/*; do
		grep -q "^Seccomp:.*2$" "$t/status" || fail "thread $(basename "$t") has no filter"
	done
	# Still alive and injecting after its filter went in: two more injections.
	n0=$(grep -c "RNDADDENTROPY:" log.txt)
	sleep 2.2
	n1=$(grep -c "RNDADDENTROPY:" log.txt)
	check "survives its own seccomp filter (injections $n0 -> $n1)" [ "$n1" -ge $((n0 + 2)) ]
	check "still running" kill -0 "$pid"
	kill -USR1 "$pid"
	check "SIGUSR1 logs statistics" wait_for log.txt "statistics:"
	t0=$(date +%s%N)
	kill -TERM "$pid"
	wait "$pid"
	st=$?
	t1=$(date +%s%N)
	pid=""
	check "SIGTERM: status 143" [ "$st" -eq 143 ]
	check_timing "SIGTERM: gone within 1 s ($(( (t1 - t0) / 1000000 )) ms)" [ $(( (t1 - t0) / 1000000 )) -lt 1000 ]

	# --once: one refill, status 0
	"$HRNG" --once -v 64 2>once.txt
	st=$?
	check "--once: status 0" [ "$st" -eq 0 ]
	check "--once: one RNDADDENTROPY" grep -q "RNDADDENTROPY:" once.txt
fi

# Forking: the parent returns 0 once start-up passed; pidfile written,
# removed on SIGTERM; a symlinked pidfile is refused.  Without seccomp(2)
# the parent returns the child's failure and the pidfile goes with it.
"$HRNG" -p "$work/hr.pid"
st=$?
if [ -n "$no_filter" ]; then
	check "no seccomp(2): the forking parent returns the child's status 1" [ "$st" -eq 1 ]
	# the child reports once it has unwound: the pidfile is gone already
	check "no seccomp(2): pidfile removed by the failing child" [ ! -e "$work/hr.pid" ]
	skip "a forked daemon running, its pidfile and SIGTERM: $no_filter"
else
	check "forks: parent exits 0 after start-up" [ "$st" -eq 0 ]
	check "pidfile written" [ -s "$work/hr.pid" ]
	dpid=$(cat "$work/hr.pid" 2>/dev/null)
	check "pidfile names a running havege-rngd" sh -c "grep -q havege-rngd /proc/$dpid/cmdline"
	kill -TERM "$dpid" 2>/dev/null
	i=0; while kill -0 "$dpid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	check "daemon gone after SIGTERM" sh -c "! kill -0 $dpid 2>/dev/null"
	check "pidfile removed" [ ! -e "$work/hr.pid" ]
fi
# A refused pidfile: the forked child says so on the caller's stderr, then
# unwinds like any failed start-up (its EGD socket removed, /dev/random
# closed: valgrind's descriptor check), and only then does the parent exit.
ln -s "$work/target" "$work/link.pid"
"$HRNG" -p "$work/link.pid" --egd=unix:"$work/pf.sock" 2>pf.err
st=$?
check "symlinked pidfile: refused, status 1" [ "$st" -eq 1 ]
check "symlinked pidfile: one line on stderr naming it" \
	sh -c "[ \"\$(grep -vc '^==' pf.err)\" -eq 1 ] && grep -q link.pid pf.err"
check "symlink target not created" [ ! -e "$work/target" ]
check "symlinked pidfile: the EGD socket removed" [ ! -e "$work/pf.sock" ]

# A second instance that fails leaves the first one's pidfile alone.
if [ -n "$no_filter" ]; then
	skip "a failing second instance and the first's pidfile: $no_filter"
else
	"$HRNG" -p "$work/first.pid" 2>/dev/null
	fpid=$(cat "$work/first.pid" 2>/dev/null)
	ln -s "$work/nowhere" "$work/bad.sock"
	"$HRNG" -p "$work/first.pid" --egd=unix:"$work/bad.sock" 2>/dev/null
	st=$?
	check "second instance with a bad socket path: status 1" [ "$st" -eq 1 ]
	check "the first instance's pidfile is still there" [ "$(cat "$work/first.pid" 2>/dev/null)" = "$fpid" ]
	[ -n "$fpid" ] && kill -TERM "$fpid" 2>/dev/null
	i=0; while [ -n "$fpid" ] && kill -0 "$fpid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	check "the first instance stops and removes its pidfile" [ ! -e "$work/first.pid" ]
fi

# Under systemd (Type=notify): READY=1 once start-up passed, and STATUS.
if [ -n "$no_filter" ]; then
	skip "sd_notify READY=1 and STATUS from a running daemon: $no_filter"
elif command -v python3 >/dev/null 2>&1; then
	python3 - "$work/notify.sock" >notify.txt <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
seen = []
try:
    while not any(m.startswith("STATUS=") for m in seen) or "READY=1" not in seen:
        seen += s.recv(4096).decode().split("\n")
except socket.timeout:
    pass
print("\n".join(seen))
PY
	lpid=$!
	i=0; while [ ! -S "$work/notify.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	NOTIFY_SOCKET="$work/notify.sock" "$HRNG" -F 2>/dev/null &
	pid=$!
	wait "$lpid"
	kill -TERM "$pid"; wait "$pid"; pid=""
	check "sd_notify: READY=1 sent" grep -qx "READY=1" notify.txt
	check "sd_notify: a STATUS line sent" grep -q "^STATUS=feeding the" notify.txt
else
	skip "python3 not installed (sd_notify listener)"
	skip "python3 not installed (sd_notify listener)"
fi

# Without CAP_SYS_ADMIN: one line, status 1.
if command -v setpriv >/dev/null 2>&1; then
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$HRNG" -F 2>nocap.txt
	st=$?
	check "without CAP_SYS_ADMIN: status 1" [ "$st" -eq 1 ]
	check "without CAP_SYS_ADMIN: one line saying so" \
		sh -c '[ "$(wc -l <nocap.txt)" -eq 1 ] && grep -q CAP_SYS_ADMIN nocap.txt'
else
	skip "setpriv not installed"
	skip "setpriv not installed"
fi

done_testing
