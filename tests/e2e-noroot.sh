#!/bin/sh
# e2e-noroot.sh - without CAP_SYS_ADMIN the daemon refuses to feed the
# kernel: in the foreground, forked (no pidfile made) and with --once, one
# line naming the capability and status 1, before anything is fed.  Run
# as root, it checks this as nobody with no capabilities (setpriv) and as
# uid 0 with every capability dropped (the capability is what counts, not
# the uid); run as anyone else, as that user.  The control: the same user
# may run an EGD-only daemon (--no-kernel), which needs no privilege, so
# the refusal is about feeding and nothing else.
. "$top_srcdir/tests/tap.sh"

[ -c /dev/random ] || skip_all "no /dev/random here"
if [ "$(id -u)" -eq 0 ]; then
	command -v setpriv >/dev/null 2>&1 || skip_all "setpriv not installed (util-linux)"
fi

work=$(mktemp -d) || exit 99
chmod 1777 "$work"          # the unprivileged runs write here
pid=""
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work" || exit 99

# one_line FILE: FILE holds exactly one line, naming CAP_SYS_ADMIN
one_line() {
	[ "$(wc -l <"$1")" -eq 1 ] && grep -q "CAP_SYS_ADMIN" "$1"
}

# refused WHO PREFIX...: the three ways of starting a feeding daemon, run
# through PREFIX (a command prefix, or nothing), each refused.
refused() {
	who=$1; shift
	"$@" "$HRNG" -F -v 64 2>fg.err
	st=$?
	check "$who, -F: status 1" [ "$st" -eq 1 ]
	check "$who, -F: one line naming CAP_SYS_ADMIN, nothing fed" one_line fg.err

	rm -f "$work/d.pid"
	"$@" "$HRNG" -v 64 -p "$work/d.pid" 2>fork.err
	st=$?
	check "$who, forked: status 1 from the caller" [ "$st" -eq 1 ]
	check "$who, forked: one line on the caller's stderr" one_line fork.err
	check "$who, forked: no pidfile" [ ! -e "$work/d.pid" ]

	"$@" "$HRNG" --once -v 64 2>once.err
	st=$?
	check "$who, --once: status 1" [ "$st" -eq 1 ]
	check "$who, --once: one line naming CAP_SYS_ADMIN" one_line once.err
}

# serves WHO PREFIX...: the control, an EGD-only daemon as the same user.
serves() {
	who=$1; shift
	if under_valgrind; then
		skip "$who, EGD only: valgrind has no seccomp(2), so the daemon will not run"
		return
	fi
	rm -f "$work/e.sock"
	"$@" "$HRNG" -F --no-kernel --egd=unix:"$work/e.sock" 2>egd.err &
	pid=$!
	check "$who, --no-kernel --egd (the control): starts" wait_for egd.err "serving EGD only"
	kill -TERM "$pid" 2>/dev/null; wait "$pid"; st=$?; pid=""
	check "$who, --no-kernel --egd: stops with 143" [ "$st" -eq 143 ]
}

if [ "$(id -u)" -eq 0 ]; then
	nobody="setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all"
	# uid 0 keeps nothing across exec once the bounding set is empty
	nocaps="setpriv --inh-caps=-all --bounding-set=-all"
	# shellcheck disable=SC2086
	refused "nobody, no capabilities" $nobody
	# shellcheck disable=SC2086
	serves "nobody" $nobody
	# shellcheck disable=SC2086
	$nocaps grep '^CapEff:' /proc/self/status >caps.txt
	check "setpriv leaves uid 0 with no effective capability" \
		grep -q '^CapEff:[[:space:]]*0000000000000000$' caps.txt
	# shellcheck disable=SC2086
	refused "uid 0, no capabilities" $nocaps
else
	refused "uid $(id -u)"
	serves "uid $(id -u)"
fi

done_testing
