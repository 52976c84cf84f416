# tap.sh - TAP helpers for the shell tests; source it.
# ok/fail print one result line each; done_testing prints the plan.
# $HRNG is the built binary (set by make check), $top_srcdir the sources.
#
# With HRNG_VALGRIND=1 in the environment (scripts/test-all's valgrind
# suite), $HRNG becomes tests/valgrind.sh, which runs the real binary under
# valgrind memcheck, one log per process.  done_testing (and skip_all) then
# read every log the script made: a memcheck error, a leak, a descriptor
# left open at exit or a log cut short is one failing test, with the log
# copied into the TAP output.  Scripts ask under_valgrind where valgrind
# changes what can be run, and check_timing skips (saying why) the checks
# that time the program: under valgrind it runs tens of times slower, and
# start-up and exit (the leak check) take most of a second each.
tap_n=0
tap_failed=0
ok() {   # ok DESCRIPTION: a passing check
	tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"
}
fail() { # fail DESCRIPTION: a failing check
	tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $*"
}
check() { # check DESCRIPTION COMMAND...: ok when the command succeeds;
	# returns the command's success, for a caller that says more on failure
	d=$1; shift
	if "$@"; then ok "$d"; else fail "$d"; return 1; fi
}
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $*"; }

# wait_for FILE PATTERN: up to 10 s for a line matching PATTERN in FILE.
wait_for() {
	i=0
	while [ $i -lt 100 ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
# check_timing DESCRIPTION COMMAND...: a check of how fast the program
# is; skipped under valgrind.
check_timing() {
	if under_valgrind; then
		skip "$1: not timed under valgrind (tens of times slower)"
	else
		check "$@"
	fi
}
skip_all() { # skip_all REASON: nothing (more) to test here
	if under_valgrind && [ -n "$(vg_logs)" ]; then
		# the program ran under valgrind before the reason showed up:
		# its logs still count
		skip "$*"
		done_testing
		exit
	fi
	echo "1..0 # SKIP $*"; exit 0
}
done_testing() {
	if under_valgrind; then vg_report; fi
	echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]
}
under_valgrind() { [ -n "$vg_dir" ]; }
: "${HRNG:=$(pwd)/havege-rngd}"
: "${top_srcdir:=.}"

# ---------------------------------------------------------------- valgrind
# vg_dir holds this script's logs: tests/valgrind-logs/NAME/ in the build
# tree, emptied when the script starts, kept afterwards for a look.
vg_dir=""
vg_logs() { find "$vg_dir" -name 'vg.*.log' | sort; }

# vg_problems LOG FORKED: what is wrong with one log, a line each; nothing
# when it is clean.  A process that forked (FORKED=1: the daemon's parent,
# which _exit()s as soon as its child reports) handed its descriptors to
# the child, whose own log accounts for them, so its open descriptors are
# not counted; its errors and leaks are.
vg_problems() {
	awk -v forked="$2" '
	/^==[0-9]+== Open / && / [0-9]+:/ {
		what = $0; sub(/^==[0-9]+== /, "", what); sub(/:.*/, "", what)
		held = 1; next
	}
	held {
		held = 0
		if ($0 !~ /<inherited from parent>/ && !forked)
			print what " left open at exit"
	}
	/== ERROR SUMMARY: / {
		summary = 1
		if ($4 != 0) print "memcheck: " $4 " errors (leaks count as errors)"
	}
	END { if (!summary) print "log cut short: still running, or killed before valgrind could check it" }
	' "$1"
}

# vg_killed PID: the test killed PID with SIGKILL on purpose (a crash it
# simulates), so valgrind could not write that log's report: drop it.
vg_killed() {
	if under_valgrind; then rm -f "$vg_dir/vg.$1.log"; fi
}

# vg_known_bug PATTERN REASON: the runs whose command line contains PATTERN
# have a problem already reported against src/ and not fixed yet.  Their
# failures are TAP TODOs (expected failures, log still shown); once they
# are clean, an unexpected pass asks for the vg_known_bug line to go.
vg_known=""
vg_known_bug() {
	vg_known="$vg_known$1	$2
"
}
# vg_known_reason COMMAND: the REASON of the first PATTERN in COMMAND
vg_known_reason() {
	while IFS='	' read -r vg_p vg_r; do
		[ -n "$vg_p" ] || continue
		case $1 in *"$vg_p"*) echo "$vg_r"; return ;; esac
	done <<VG_KNOWN
$vg_known
VG_KNOWN
}

# vg_running PID: whether that process is still at work (not a zombie)
vg_running() {
	[ -r "/proc/$1/status" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# vg_settle: wait, up to 60 s, for every process with a log to end: a
# daemon's forked child may still be unwinding, valgrind still writing its
# leak report, when the test is done with them.
vg_settle() {
	vg_i=0
	while [ $vg_i -lt 600 ]; do
		vg_busy=""
		for vg_log in $(vg_logs); do
			vg_pid=${vg_log##*/vg.}; vg_pid=${vg_pid%.log}
			vg_running "$vg_pid" && vg_busy=1 && break
		done
		[ -n "$vg_busy" ] || return 0
		sleep 0.1
		vg_i=$((vg_i + 1))
	done
}

# vg_report: one failing test per log with a problem, or one passing test
# for all of them.  (Its variables are vg_*: the scripts have their own
# $pid, which their EXIT traps kill.)
vg_report() {
	vg_settle
	vg_n=0 vg_bad=0 vg_todo_n=0 vg_hit=""
	for vg_log in $(vg_logs); do
		vg_n=$((vg_n + 1))
		vg_pid=${vg_log##*/vg.}; vg_pid=${vg_pid%.log}
		vg_forked=0
		grep -rqs --include='vg.*.log' "== Parent PID: $vg_pid\$" "$vg_dir" && vg_forked=1
		vg_why=$(vg_problems "$vg_log" "$vg_forked" | tr '\n' ';')
		[ -n "$vg_why" ] || continue
		vg_cmd=$(sed -n 's/^==[0-9]*== Command: //p' "$vg_log" | head -n 1)
		vg_todo=$(vg_known_reason "$vg_cmd")
		if [ -n "$vg_todo" ]; then
			vg_hit="$vg_hit<$vg_todo>" vg_todo_n=$((vg_todo_n + 1))
			tap_n=$((tap_n + 1))
			echo "not ok $tap_n - valgrind: $vg_cmd (pid $vg_pid): $vg_why # TODO $vg_todo"
		else
			vg_bad=$((vg_bad + 1))
			fail "valgrind: $vg_cmd (pid $vg_pid): $vg_why"
		fi
		sed 's/^/# /' "$vg_log" | head -n 300
	done
	while IFS='	' read -r vg_p vg_r; do
		[ -n "$vg_p" ] || continue
		case $vg_hit in *"<$vg_r>"*) continue ;; esac
		tap_n=$((tap_n + 1))
		echo "ok $tap_n - valgrind: runs with '$vg_p' are clean # TODO fixed? then drop vg_known_bug: $vg_r"
	done <<VG_KNOWN
$vg_known
VG_KNOWN
	if [ "$vg_n" -eq 0 ]; then
		fail "valgrind: no log in $vg_dir: the program never ran under valgrind"
	elif [ "$vg_bad" -eq 0 ]; then
		vg_known_n=""
		[ "$vg_todo_n" -eq 0 ] || vg_known_n=" (and $vg_todo_n known, TODO above)"
		ok "valgrind: $((vg_n - vg_todo_n)) processes with no memcheck error, no leak, no descriptor left open$vg_known_n"
	fi
}

if [ "${HRNG_VALGRIND:-0}" = 1 ]; then
	command -v valgrind >/dev/null 2>&1 || skip_all "HRNG_VALGRIND=1 but valgrind is not installed"
	vg_dir=$(cd "${top_builddir:-.}" && pwd)/tests/valgrind-logs/$(basename "$0" .sh)
	rm -rf "$vg_dir" && mkdir -p "$vg_dir" || exit 99
	# runs as nobody (setpriv) write their logs here too
	chmod 1777 "$vg_dir" || exit 99
	# a copy, made executable: $HRNG is run as a program, and a
	# checkout or tarball need not keep the x bit
	cp "$top_srcdir/tests/valgrind.sh" "$vg_dir/valgrind.sh" &&
		chmod 755 "$vg_dir/valgrind.sh" || exit 99
	HRNG_VALGRIND_BIN=$HRNG HRNG_VALGRIND_LOGS=$vg_dir
	export HRNG_VALGRIND_BIN HRNG_VALGRIND_LOGS
	if [ -f "$top_srcdir/tests/valgrind.supp" ]; then
		HRNG_VALGRIND_SUPP=$(cd "$top_srcdir/tests" && pwd)/valgrind.supp
		export HRNG_VALGRIND_SUPP
	fi
	HRNG=$vg_dir/valgrind.sh
fi
