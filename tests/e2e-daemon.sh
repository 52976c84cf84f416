#!/bin/sh
# e2e-daemon.sh - the daemon against the real kernel (root only): it starts,
# names the kernel's pool, calls RNDADDENTROPY, keeps only CAP_SYS_ADMIN,
# survives its own seccomp filter, logs statistics on SIGUSR1, and ends with
# 143 on SIGTERM within a second.  Without root it must refuse to start
# (tests/e2e-noroot.sh checks that as any user, this script only as root).
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

client_py=$(cd "$top_srcdir" && pwd)/tests/egd/client.py   # before we cd away
work=$(mktemp -d) || exit 99
pid=""
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work" || exit 99

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
	# Still alive and injecting after its filter went in: two more
	# injections.  With -T 1 they come a second apart; up to 20 s is
	# allowed for them (polled), since a loaded machine may delay the
	# daemon and what is checked here is that it goes on, not its pace.
	n0=$(grep -c "RNDADDENTROPY:" log.txt)
	i=0 n1=$n0
	while [ "$n1" -lt $((n0 + 2)) ] && [ $i -lt 200 ] && kill -0 "$pid" 2>/dev/null; do
		sleep 0.1; i=$((i + 1))
		n1=$(grep -c "RNDADDENTROPY:" log.txt)
	done
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

# ---------------------------------------------------------------- issue 12
# gone_within PID: up to 10 s for PID to exit
gone_within() {
	i=0; while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	! kill -0 "$1" 2>/dev/null
}
# stop_daemon PIDFILE: SIGTERM the daemon it names and wait for it
stop_daemon() {
	sd_pid=$(cat "$1" 2>/dev/null)
	[ -n "$sd_pid" ] && kill -TERM "$sd_pid" 2>/dev/null && gone_within "$sd_pid"
}
# forked ERRFILE ARGS...: start a forked daemon; status in $st.  A start-up
# refused by the noise source's own test is retried (a timer that varies
# too little on some virtual machines: issue 11), up to 5 times.
forked() {
	fk_err=$1; shift
	fk_i=0
		while :; do
			"$HRNG" "$@" 2>"$fk_err"
			st=$?
			fk_i=$((fk_i + 1))
			[ "$st" -eq 1 ] && [ $fk_i -lt 5 ] && grep -q "start-up\|noise source failed" "$fk_err" || break
		done
}
# foreground LOG PATTERN ARGS...: start "$HRNG" -F ARGS in the background
# ($pid) and wait for PATTERN in LOG; retried as forked() is.
foreground() {
	fg_log=$1 fg_pat=$2; shift 2
	fg_i=0
	while :; do
		"$HRNG" -F "$@" 2>"$fg_log" &
		pid=$!
		wait_for "$fg_log" "$fg_pat" && return 0
		kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=""
		fg_i=$((fg_i + 1))
		[ $fg_i -lt 5 ] && grep -q "start-up\|noise source failed" "$fg_log" || return 1
	done
}
have_client=""
command -v python3 >/dev/null 2>&1 && have_client=1
egd_client() { timeout 30 python3 "$client_py" "$@"; }
# egd_reads SOCKET PID: ten reads of 255 bytes over about 3 s, each
# checked, the daemon alive throughout
egd_reads() {
	er_i=0
	while [ $er_i -lt 10 ]; do
		egd_client "$1" read 255 | grep -q "^read 255 " || return 1
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.3
		er_i=$((er_i + 1))
	done
}

# 1: -t 1..4 in every mode, for a sustained run with reads: lane threads
# start before the seccomp filter, which allows no clone.
if [ -n "$no_filter" ]; then
	skip "-t 1..4 in every daemon mode: $no_filter"
else
	for t in 1 2 3 4; do
		if foreground "t$t.log" "feeding the" -t "$t" -T 1 -v 64; then
			wait_for_n=0
			while [ "$(grep -c 'RNDADDENTROPY:' "t$t.log")" -lt 3 ] && [ $wait_for_n -lt 100 ] &&
			      kill -0 "$pid" 2>/dev/null; do
				sleep 0.1; wait_for_n=$((wait_for_n + 1))
			done
			n=$(grep -c 'RNDADDENTROPY:' "t$t.log")
			kill -TERM "$pid"; wait "$pid"; st=$?; pid=""
			check "-F -t $t: three injections a second apart ($n), then 143 on SIGTERM ($st)" \
				[ "$n" -ge 3 ] && [ "$st" -eq 143 ]
		else
			fail "-F -t $t: starts"; sed 's/^/# log: /' "t$t.log"
		fi
		check "-F -t $t: no error logged" sh -c "! grep -qi 'cannot\|failed' t$t.log"
		if [ -z "$have_client" ]; then
			skip "-t $t forked and EGD-only: python3 not installed (the EGD client)"
			continue
		fi
		forked "t$t.err" -t "$t" -T 1 -p "$work/t$t.pid" --egd=unix:"$work/t$t.sock"
		dpid=$(cat "$work/t$t.pid" 2>/dev/null)
		check "forked -t $t with EGD: parent 0, serves ten reads over 3 s" \
			[ "$st" -eq 0 ] && egd_reads "$work/t$t.sock" "$dpid"
		check "forked -t $t: still running, stops on SIGTERM" stop_daemon "$work/t$t.pid"
		if foreground "e$t.log" "serving EGD only" -t "$t" --no-kernel --egd=unix:"$work/e$t.sock"; then
			check "EGD-only -t $t: serves ten reads over 3 s" egd_reads "$work/e$t.sock" "$pid"
			kill -TERM "$pid"; wait "$pid"; st=$?; pid=""
			check "EGD-only -t $t: 143 on SIGTERM" [ "$st" -eq 143 ]
		else
			fail "EGD-only -t $t: starts"; sed 's/^/# log: /' "e$t.log"
		fi
	done
fi

# 5: started with 0-2 closed, nothing takes their place.
if [ -n "$no_filter" ]; then
	skip "a daemon started with 0-2 closed: $no_filter"
else
	"$HRNG" -p "$work/closed.pid" <&- >&- 2>&-
	st=$?
	check "0-2 closed: the forked daemon starts (status $st)" [ "$st" -eq 0 ]
	check "0-2 closed: and runs" stop_daemon "$work/closed.pid"
	if [ -n "$have_client" ]; then
		"$HRNG" -p "$work/closed2.pid" --no-kernel --egd=unix:"$work/closed.sock" <&- >&- 2>&-
		st=$?
		check "0-2 closed, EGD only: status $st, serves" \
			sh -c "[ $st -eq 0 ] && timeout 30 python3 '$client_py' '$work/closed.sock' read 64 | grep -q '^read 64 '"
		check "0-2 closed, EGD only: stops on SIGTERM" stop_daemon "$work/closed2.pid"
	fi
fi

# 7: a second instance with the same pidfile is refused, in one line.
if [ -n "$no_filter" ]; then
	skip "a second instance on a held pidfile: $no_filter"
else
	forked one.err -p "$work/one.pid"
	opid=$(cat "$work/one.pid" 2>/dev/null)
	"$HRNG" -p "$work/one.pid" 2>two.err
	st=$?
	check "second instance, same pidfile: status 1" [ "$st" -eq 1 ]
	check "second instance: one line naming the pidfile and the first's pid" \
		sh -c "[ \"\$(wc -l <two.err)\" -eq 1 ] && grep -q 'one.pid.*held.*pid $opid' two.err"
	check "second instance: the pidfile still names the first" [ "$(cat "$work/one.pid")" = "$opid" ]
	n=$(pgrep -fx -- "$HRNG -p $work/one.pid" | wc -l)
	check "second instance: only the first runs ($n)" [ "$n" -eq 1 ]
	kill -TERM "$opid"
	check "the first stops on SIGTERM" gone_within "$opid"
	check "the first removes its pidfile" [ ! -e "$work/one.pid" ]
fi

# 8: a FIFO at the pidfile path is refused at once.
mkfifo "$work/fifo.pid"
timeout 20 "$HRNG" -p "$work/fifo.pid" 2>fifo.err
st=$?
check "FIFO pidfile: refused, status 1 (not a hang: $st)" [ "$st" -eq 1 ]
check "FIFO pidfile: one line saying it is not a plain file" \
	sh -c "[ \"\$(grep -vc '^==' fifo.err)\" -eq 1 ] && grep -q 'fifo.pid is not a plain file' fifo.err"

# 9: SIGTERM to the launching parent while the daemon starts: passed on,
# and the parent ends with the daemon's own status.  The daemon is held
# (SIGSTOP) while the parent is signalled, so the start-up is not over yet.
if [ -n "$no_filter" ]; then
	skip "a stop signal to the waiting parent: $no_filter"
else
	st=""
	for try in 1 2 3 4 5; do
		rm -f "$work/held.pid"
		"$HRNG" -p "$work/held.pid" 2>held.err &
		ppid_=$!
		i=0; while [ ! -s "$work/held.pid" ] && [ $i -lt 2000 ]; do i=$((i + 1)); done
		cpid=$(cat "$work/held.pid" 2>/dev/null)
		[ -n "$cpid" ] && kill -STOP "$cpid" 2>/dev/null
		if kill -0 "$ppid_" 2>/dev/null && grep -q '^State:.*S' "/proc/$ppid_/status"; then
			kill -TERM "$ppid_"
			sleep 0.2
			kill -CONT "$cpid"
			i=0; while kill -0 "$ppid_" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
			if kill -0 "$ppid_" 2>/dev/null; then
				st="hung"; kill -9 "$cpid" "$ppid_" 2>/dev/null; wait "$ppid_" 2>/dev/null
			else
				wait "$ppid_"; st=$?
			fi
			break
		fi
		# the start-up was over before the daemon could be held: again
		[ -n "$cpid" ] && kill -CONT "$cpid" && stop_daemon "$work/held.pid"
		wait "$ppid_" 2>/dev/null
	done
	check "SIGTERM to the waiting parent: it ends within 10 s with 143 ($st)" [ "$st" = 143 ]
	check "SIGTERM to the waiting parent: the daemon is gone too" \
		sh -c "[ -n '$cpid' ] && ! kill -0 '$cpid' 2>/dev/null && [ ! -e '$work/held.pid' ]"
fi

# 10: a forked start that fails after the fork says why on the caller's
# stderr (not only in syslog): the seccomp refusal under valgrind, else a
# generator too big for the address space.
if [ -n "$no_filter" ]; then
	"$HRNG" -p "$work/late.pid" 2>late.err
	st=$?
	check "failed forked start: status 1, the reason on stderr" \
		sh -c "[ $st -eq 1 ] && grep -q 'seccomp filter' late.err"
else
	(ulimit -v 400000; exec "$HRNG" -t 8 -b 16384 -p "$work/late.pid") 2>late.err
	st=$?
	check "failed forked start: status 1 ($st)" [ "$st" -eq 1 ]
	check "failed forked start: one line on stderr saying memory ran short" \
		sh -c "[ \"\$(wc -l <late.err)\" -eq 1 ] && grep -qi 'memory' late.err"
	sed 's/^/# stderr: /' late.err
fi
check "failed forked start: no pidfile left" [ ! -e "$work/late.pid" ]

# 17: descriptors inherited from the caller are closed.
if [ -n "$no_filter" ]; then
	skip "inherited descriptors in a running daemon: $no_filter"
else
	forked inh.err -p "$work/inh.pid" 9>"$work/inherited.txt"
	ipid=$(cat "$work/inh.pid" 2>/dev/null)
	check "inherited descriptor 9 closed in the daemon" \
		sh -c "[ -n '$ipid' ] && ! ls -l /proc/$ipid/fd | grep -q inherited.txt"
	stop_daemon "$work/inh.pid"
fi

# 19: --once with --no-kernel names what is wrong.
"$HRNG" --once --no-kernel --egd=unix:"$work/once.sock" 2>once-nk.err
st=$?
check "--once --no-kernel --egd: status 1, one line naming --once" \
	sh -c "[ $st -eq 1 ] && [ \"\$(grep -vc '^==' once-nk.err)\" -eq 1 ] && grep -q -- '--once with --no-kernel' once-nk.err"

# 20: the time zone is read before the seccomp filter, so syslog's stamps
# are local time: no EPERM on /etc/localtime after the filter.
if [ -n "$no_filter" ]; then
	skip "the time zone before the filter: $no_filter"
elif ! command -v strace >/dev/null 2>&1 || [ ! -e /etc/localtime ]; then
	skip "strace not installed, or no /etc/localtime"
else
	env -u TZ strace -f -qq -e trace=openat -o "$work/tz.trace" "$HRNG" -v 1 -p "$work/tz.pid" 2>/dev/null &
	spid=$!
	i=0; while [ ! -s "$work/tz.pid" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	sleep 0.5
	stop_daemon "$work/tz.pid"
	wait "$spid"
	check "/etc/localtime opened before the filter" grep -q 'localtime.*= [0-9]' "$work/tz.trace"
	check "/etc/localtime never refused by the filter" sh -c "! grep -q 'localtime.*EPERM' '$work/tz.trace'"
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

# A thread that cannot start is named as such (issue 12, finding 19): an
# EGD-only daemon, -t 2, as nobody under a limit on processes from 2 to 10
# (threads count; other processes of nobody's may take some, hence the
# range): every run exits 1 with one line naming thread start, never a
# kernel call or the noise source, and some run stops at a lane thread.
if under_valgrind; then
	skip "thread limits: valgrind runs threads its own way"
elif command -v setpriv >/dev/null 2>&1 && command -v prlimit >/dev/null 2>&1; then
	# $work is private (0700); nobody needs a directory it can reach.
	ndir=$(mktemp -d /tmp/hrng-nproc.XXXXXX) && chmod 1777 "$ndir"
	ln -s "$ndir" nproc
	lane=0 wrong=""
	stalls=0 tries=0
	for u in 2 3 4 5 6 7 8 9 10; do
	while :; do
		rm -f nproc/egd.sock
		timeout 60 setpriv --reuid=65534 --regid=65534 --clear-groups \
			prlimit --nproc=$u -- "$HRNG" -F -t 2 --no-kernel \
			--egd=unix:"$ndir/egd.sock" 2>nproc.err &
		tpid=$!
		# A run that got every thread it needs serves, and says so; stop
		# it.  (Not the socket file: it is made before the threads
		# start, so on a loaded machine a run may still fail after it.)
		i=0; while kill -0 "$tpid" 2>/dev/null && ! grep -q "serving EGD only" nproc.err &&
			[ $i -lt 200 ]; do
			sleep 0.1; i=$((i + 1)); done
		served=0
		grep -q "serving EGD only" nproc.err && served=1 && kill -TERM "$tpid" 2>/dev/null
		if [ "$served" -eq 0 ] && kill -0 "$tpid" 2>/dev/null; then
			# Neither serving nor refused after 20 s.  Not what this
			# check is about, and not understood: seen in about one
			# run in ten under make distcheck's load, with the only
			# thread in ppoll and nothing logged yet, or with start-up
			# taking about 30 s.  Say where each thread waits and what
			# is open, so the next one is a lead; try that limit again
			# (three times at most).
			dpid=$(pgrep -P "$tpid" | head -n 1)
			echo "# thread limits: u=$u stalled 20 s with output '$(tr '\n' '|' <nproc.err)';" \
				"threads (state wchan syscall):" $(for t in /proc/"$dpid"/task/*; do
				printf '[%s %s %s] ' "$(cut -d' ' -f3 "$t/stat")" "$(cat "$t/wchan")" \
					"$(cat "$t/syscall")"; done 2>/dev/null) \
				"fds:" $(for f in /proc/"$dpid"/fd/*; do
				printf '%s=%s ' "${f##*/}" "$(readlink "$f")"; done 2>/dev/null)
			kill -KILL "$dpid" "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null
			stalls=$((stalls + 1)) tries=$((tries + 1))
			[ "$tries" -lt 3 ] && continue
			wrong="$wrong u=$u:stalled three times"; tries=0; continue 2
		fi
		tries=0
		break
	done
		wait "$tpid"
		st=$?
		grep -v "cannot lock output buffers\|serving EGD only\|stopped by signal" nproc.err >nproc.lines
		[ "$served" -eq 0 ] || [ "$st" -eq 143 ] || wrong="$wrong u=$u:served,$st"
		if [ "$served" -eq 0 ]; then
			if [ "$st" -ne 1 ] || [ "$(wc -l <nproc.lines)" -ne 1 ] ||
			   ! grep -q "thread" nproc.lines ||
			   grep -q "RNDADDENTROPY\|noise source" nproc.lines; then
				wrong="$wrong u=$u:$st:$(cat nproc.lines)"
			fi
			grep -q "cannot start a lane thread" nproc.lines && lane=$((lane + 1))
		fi
	done
	check "thread limits: each refusal one line naming thread start, status 1" [ -z "$wrong" ]
	[ -z "$wrong" ] || echo "# $wrong"
	check "thread limits: some run stopped at a lane thread, named as one" [ "$lane" -gt 0 ]
	rm -rf "$ndir"
else
	skip "setpriv or prlimit not installed"
	skip "setpriv or prlimit not installed"
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
