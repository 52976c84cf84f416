#!/bin/sh
# e2e-initscript.sh - the LSB init script really run, as root, against the
# built daemon: start (pidfile written, the process is havege-rngd with
# DAEMON_ARGS from the defaults file), start again (no second daemon),
# status (0 running, 1 stale pidfile, 3 stopped), restart and force-reload
# (a new process), stop (process and pidfile gone), a daemon whose program
# was replaced by an upgrade (still seen and stopped), a daemon that
# ignores SIGTERM (killed after the wait), a start that fails, and usage
# (exit 3).
# It runs a copy of the built script whose DAEMON, PIDFILE, DEFAULTS and
# waits point into a temporary directory: nothing on the system is touched.
. "$top_srcdir/tests/tap.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip_all "needs root (the daemon needs CAP_SYS_ADMIN)"
fi
if ! command -v start-stop-daemon >/dev/null 2>&1 || [ ! -r /lib/lsb/init-functions ]; then
	skip_all "needs start-stop-daemon and /lib/lsb/init-functions (Debian's dpkg, sysvinit-utils)"
fi
if [ ! -c /dev/random ] || [ ! -r /proc/sys/kernel/random/poolsize ]; then
	skip_all "no /dev/random or /proc/sys/kernel/random here"
fi
built=${top_builddir:-.}/init.d/havege-rngd
if [ ! -r "$built" ]; then
	echo "Bail out! $built not built"
	exit 99
fi

work=$(mktemp -d) || exit 99
trap 'cleanup' EXIT
cleanup() {
	for p in $(cat "$work/hr.pid" 2>/dev/null) ${fake:-}; do
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$work"
}
pidfile=$work/hr.pid
# Named unlike any installed service: on a systemd host the LSB functions
# redirect scripts of /etc/init.d to systemctl; this copy is not one, and
# SYSTEMCTL_SKIP_REDIRECT says so twice.
script=$work/havege-rngd-test
SYSTEMCTL_SKIP_REDIRECT=1
export SYSTEMCTL_SKIP_REDIRECT

# make_script DAEMON STOP_WAIT: the copy, with its paths and waits replaced
make_script() {
	sed -e "s|^DAEMON=.*|DAEMON=$1|" -e "s|^PIDFILE=.*|PIDFILE=$pidfile|" \
		-e "s|^DEFAULTS=.*|DEFAULTS=$work/default|" -e "s|^STOP_WAIT=.*|STOP_WAIT=$2|" \
		"$built" >"$script" && chmod 755 "$script"
}
make_script "$HRNG" 30
check "the copy points at the built daemon and the temporary pidfile" \
	sh -c 'grep -qx "DAEMON=$2" "$1" && grep -qx "PIDFILE=$3" "$1" && grep -qx "STOP_WAIT=30" "$1"' \
	- "$script" "$HRNG" "$pidfile"
echo 'DAEMON_ARGS="-T 7 -v 1"' >"$work/default"

# run ACTION: the script's status; its output goes to $work/out
run() {
	"$script" "$@" >"$work/out" 2>&1
}
# daemon_pid: the pid in the pidfile, if that process is running
daemon_pid() {
	p=$(cat "$pidfile" 2>/dev/null) || return 1
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
}
# is_ours PID: PID runs the built daemon with the defaults file's options
is_ours() {
	[ "$(readlink "/proc/$1/exe")" = "$(readlink -f "$HRNG")" ] &&
		tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "-T 7 -v 1 -p $pidfile"
}
# gone PID: wait up to 5 s for PID to end
gone() {
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	! kill -0 "$1" 2>/dev/null
}
# count_ours: running havege-rngd processes that use our pidfile
count_ours() {
	n=0
	for pd in /proc/[0-9]*; do
		[ "$(cat "$pd/comm" 2>/dev/null)" = havege-rngd ] &&
			tr '\0' ' ' <"$pd/cmdline" 2>/dev/null | grep -q -- "-p $pidfile" && n=$((n + 1))
	done
	echo $n
}

run status
check "status before start: 3 (not running)" [ $? -eq 3 ]

run start
check "start: status 0" [ $? -eq 0 ]
pid1=$(daemon_pid)
check "start: pidfile names a running process" [ -n "$pid1" ]
check "start: it is the built daemon with DAEMON_ARGS from the defaults file" is_ours "${pid1:-0}"

run start
check "start while running: status 0" [ $? -eq 0 ]
check "start while running: same pid, one daemon" eval '[ "$(daemon_pid)" = "$pid1" ] && [ "$(count_ours)" -eq 1 ]'

run status
check "status while running: 0" [ $? -eq 0 ]

run restart
check "restart: status 0" [ $? -eq 0 ]
pid2=$(daemon_pid)
check "restart: the old process is gone" gone "${pid1:-0}"
check "restart: a new daemon runs" eval '[ -n "$pid2" ] && [ "$pid2" != "$pid1" ] && is_ours "$pid2"'

run force-reload
check "force-reload: status 0" [ $? -eq 0 ]
pid3=$(daemon_pid)
check "force-reload: restarted (a new process)" eval '[ -n "$pid3" ] && [ "$pid3" != "$pid2" ] && gone "${pid2:-0}"'

run stop
check "stop: status 0" [ $? -eq 0 ]
check "stop: the process is gone" gone "${pid3:-0}"
check "stop: the pidfile is gone" [ ! -e "$pidfile" ]
run status
check "status after stop: 3" [ $? -eq 3 ]
run stop
check "stop when stopped: status 0" [ $? -eq 0 ]

# A package upgrade replaces the program while it runs: the running
# process's executable is then a deleted file.  start must still see it,
# and stop must still stop it.
mkdir "$work/bin" && cp "$HRNG" "$work/bin/havege-rngd" || exit 99
make_script "$work/bin/havege-rngd" 30
run start
pid4=$(daemon_pid)
check "upgrade: started from the old program" [ -n "$pid4" ]
rm -f "$work/bin/havege-rngd" && cp "$HRNG" "$work/bin/havege-rngd"
check "upgrade: the running program is now a deleted file" \
	sh -c 'readlink "/proc/$1/exe" | grep -q "(deleted)"' - "${pid4:-0}"
run start
check "upgrade: start sees the old daemon, starts none" \
	eval '[ $? -eq 0 ] && [ "$(daemon_pid)" = "$pid4" ] && [ "$(count_ours)" -eq 1 ]'
run stop
check "upgrade: stop stops the old daemon" eval '[ $? -eq 0 ] && gone "${pid4:-0}" && [ ! -e "$pidfile" ]'
make_script "$HRNG" 30

# A pidfile left by a process that is gone.
sh -c 'echo $$ >"$1"' - "$pidfile"
run status
check "status with a stale pidfile: 1" [ $? -eq 1 ]
rm -f "$pidfile"

# A start that fails: the daemon rejects its options, status 1, no pidfile.
echo 'DAEMON_ARGS="-b 0"' >"$work/default"
run start
check "start with bad DAEMON_ARGS: status 1" [ $? -eq 1 ]
check "start with bad DAEMON_ARGS: no pidfile, no daemon" eval '[ ! -e "$pidfile" ] && [ "$(count_ours)" -eq 0 ]'
echo 'DAEMON_ARGS=""' >"$work/default"

# TERM, then KILL after the wait: a process named havege-rngd that
# ignores SIGTERM (a copy of sleep; an ignored signal stays ignored across
# exec).  With STOP_WAIT=1 stop must kill it within a few seconds.
cp "$(command -v sleep)" "$work/havege-rngd"
(trap '' TERM; exec "$work/havege-rngd" 60) &
fake=$!
echo "$fake" >"$pidfile"
sleep 0.2
make_script "$work/havege-rngd" 1
t0=$(date +%s)
run stop
st=$?
t1=$(date +%s)
check "stop, SIGTERM ignored: status 0" [ "$st" -eq 0 ]
check "stop, SIGTERM ignored: killed after the wait ($((t1 - t0)) s)" gone "$fake"
wait "$fake" 2>/dev/null
check "stop, SIGTERM ignored: it took SIGKILL" [ $? -eq 137 ]
check "stop, SIGTERM ignored: pidfile removed" [ ! -e "$pidfile" ]
fake=""

run reload
check "reload (not offered): status 3" [ $? -eq 3 ]
check "reload: usage on the output" grep -q "Usage:.*start|stop|restart|force-reload|status" "$work/out"
run
check "no action: status 3" [ $? -eq 3 ]

done_testing
