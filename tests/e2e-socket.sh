#!/bin/sh
# e2e-socket.sh - socket activation (LISTEN_FDS/LISTEN_PID, sd_listen_fds(3))
# on the host: tests/egd/listen.py hands the daemon its sockets as systemd's
# havege-rngd-egd.socket would, then execs it.
#  - one inherited socket and no --egd: the daemon serves EGD on it (EGD
#    only, --no-kernel), keeps it at descriptor 3, leaves the socket file
#    alone when it stops (it is the socket unit's);
#  - --egd=unix:PATH naming the inherited socket's path: served on the
#    inherited socket, not bound anew (the file's inode is unchanged);
#  - two sockets: both served;
#  - --once takes no EGD listener and does not fail over one;
#  - a bad hand-off (LISTEN_PID another process's, a count that is not a
#    number, descriptor 3 closed, a file, a datagram socket, a socket not
#    listening) is one line naming it, and exit status 1.
# The tests/e2e-systemd.sh guest runs the real socket unit.  Time: ~15 s.
. "$top_srcdir/tests/tap.sh"

command -v python3 >/dev/null 2>&1 || skip_all "python3 not installed (the hand-off and the client)"
client_py=$(cd "$top_srcdir" && pwd)/tests/egd/client.py
listen_py=$(cd "$top_srcdir" && pwd)/tests/egd/listen.py
# absolute: the script works in $work, and make distcheck gives a relative top_srcdir
egd_md=$(cd "$top_srcdir" && pwd)/doc/egd.md
work=$(mktemp -d) || exit 99
chmod 1777 "$work"
pid=""
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work" || exit 99
client() { timeout 30 python3 "$client_py" "$@"; }
asuser=""
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
	asuser="setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all"
fi
# stop PID: SIGTERM, wait for it (10 s at most)
stop() {
	kill "$1" 2>/dev/null
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	! kill -0 "$1" 2>/dev/null
}

# As nobody when root, as systemd would run a unit with User=: the socket
# is made by root (the hand-off execs setpriv, which execs the daemon).
# --- one socket, no --egd: EGD only
python3 "$listen_py" good "$work/a.sock" $asuser "$HRNG" -F --no-kernel 2>a.log &
pid=$!
check "handed one socket and no --egd: serves EGD on it" wait_for a.log "serving EGD only"
check "says which socket it took" grep -q "egd unix:$work/a.sock: serving on the socket systemd handed over (descriptor 3)" a.log
client "$work/a.sock" read 64 pid >a.out
check "a client reads 64 bytes through the inherited socket" grep -q "^read 64 " a.out
check "the client talks to the daemon (0x04)" grep -qx "pid $pid" a.out
check "the daemon holds the inherited socket at descriptor 3" \
	sh -c 'readlink /proc/$1/fd/3 | grep -q "^socket:"' - "$pid"
stop "$pid"; wait "$pid" 2>/dev/null; pid=""
check "stopped: the socket file is left to its owner" test -S "$work/a.sock"

# --- --egd naming the inherited socket: served on it, not bound again
python3 "$listen_py" good "$work/b.sock" $asuser "$HRNG" -F --no-kernel \
	--egd=unix:"$work/b.sock" 2>b.log &
pid=$!
check "--egd=unix:PATH with PATH inherited: starts" wait_for b.log "serving EGD only"
ino0=$(stat -c %i "$work/b.sock")
client "$work/b.sock" read 32 >b.out
check "--egd=unix:PATH with PATH inherited: served" grep -q "^read 32 " b.out
check "--egd=unix:PATH with PATH inherited: one listener, the inherited one" \
	sh -c '[ "$(grep -c "serving on the socket systemd handed over" b.log)" -eq 1 ] &&
		[ "$(stat -c %i "$1")" = "$2" ]' - "$work/b.sock" "$ino0"
stop "$pid"; wait "$pid" 2>/dev/null; pid=""

# --- two sockets
python3 "$listen_py" two "$work/c.sock" $asuser "$HRNG" -F --no-kernel 2>c.log &
pid=$!
check "two sockets handed over: starts" wait_for c.log "serving EGD only"
client "$work/c.sock" read 16 >c.out; client "$work/c.sock.2" read 16 >>c.out
check "two sockets handed over: both served" test "$(grep -c '^read 16 ' c.out)" -eq 2
stop "$pid"; wait "$pid" 2>/dev/null; pid=""

# --- --once: no EGD, the socket is simply not used (root: it feeds)
if [ "$(id -u)" -eq 0 ]; then
	python3 "$listen_py" good "$work/d.sock" "$HRNG" --once >d.log 2>&1
	check "--once with a socket handed over: exits 0 (it serves no EGD)" test $? -eq 0
else
	skip "--once with a socket handed over: feeding needs root"
fi

# --- bad hand-offs: one line, status 1
bad() { # bad HANDOFF EXPECTED-LINE
	timeout -k 5 30 python3 "$listen_py" "$1" "$work/bad.$1" "$HRNG" -F --no-kernel >bad.out 2>bad.err
	rc=$?
	if [ "$rc" -eq 1 ] && [ "$(wc -l <bad.err)" -eq 1 ] && [ ! -s bad.out ] &&
		grep -q "$2" bad.err; then
		ok "bad hand-off '$1': one line, status 1: $(cat bad.err)"
	else
		fail "bad hand-off '$1': one line, status 1 (status $rc)"
		sed 's/^/# /' bad.err | head -n 5
	fi
}
bad otherpid '^havege-rngd: LISTEN_PID=[0-9]* is not this process'
bad badcount '^havege-rngd: LISTEN_FDS=x1: expected 1 to'
bad closed '^havege-rngd: LISTEN_FDS: descriptor 3 is not open$'
bad file '^havege-rngd: LISTEN_FDS: descriptor 3 is not a socket$'
bad dgram '^havege-rngd: LISTEN_FDS: descriptor 3 is not a listening stream socket'
bad notlisten '^havege-rngd: LISTEN_FDS: descriptor 3 is not a listening stream socket'

# --- doc/egd.md's libvirt domain: valid for libvirt's own schema
xml=$work/domain.xml
sed -n '/^<!-- domain-xml -->$/,/^```$/p' "$egd_md" | sed '1,2d;$d' >"$xml"
check "doc/egd.md has the domain XML, with the EGD backend on the socket unit's path" \
	grep -q "<source mode='connect' path='/run/havege-rngd/egd.sock'/>" "$xml"
if command -v virt-xml-validate >/dev/null 2>&1; then
	out=$(virt-xml-validate "$xml" domain 2>&1)
	check "doc/egd.md's domain XML: virt-xml-validate accepts it ($out)" test $? -eq 0
	sed 's/<backend model=.egd./<backend model="egg"/' "$xml" >"$xml.bad"
	check "virt-xml-validate refuses it with a bad backend model (the check can fail)" \
		sh -c '! virt-xml-validate "$1" domain >/dev/null 2>&1' - "$xml.bad"
else
	skip "virt-xml-validate not installed (package libvirt-clients)"
fi
done_testing
