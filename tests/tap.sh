# tap.sh - TAP helpers for the shell tests; source it.
# ok/fail print one result line each; done_testing prints the plan.
# $HRNG is the built binary (set by make check), $top_srcdir the sources.
#
# With HRNG_VALGRIND=1 in the environment (scripts/test-all's valgrind
# suite), $HRNG becomes tests/valgrind.sh, which runs the real binary under
# valgrind memcheck, one log per process.  done_testing (and skip_all) then
# read every log of the script: a memcheck error, a leak, a descriptor left
# open at exit, or a log cut short is one failing test each, with the log
# copied into the TAP output.  Scripts ask under_valgrind to scale down what
# valgrind makes slow, and check_timing skips (with the reason) the checks
# that time the program, since everything runs 20 to 50 times slower.
tap_n=0
tap_failed=0
ok() {   # ok DESCRIPTION: a passing check
	tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"
}
fail() { # fail DESCRIPTION: a failing check
	tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $*"
}
check() { # check DESCRIPTION COMMAND...: ok when the command succeeds
	d=$1; shift
	if "$@"; then ok "$d"; else fail "$d"; fi
}
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $*"; }
# check_timing DESCRIPTION COMMAND...: a check on how fast the program
# is; not asserted under valgrind.
check_timing() {
	if under_valgrind; then
		skip "$1: not timed under valgrind (it runs the program 20-50 times slower)"
	else
		check "$@"
	fi
}
skip_all() { # skip_all REASON: nothing (more) to test here
	if [ -n "$vg_dir" ] && [ -n "$(vg_logs)" ]; then
		# the program ran under valgrind before the reason showed up:
		# its logs still count
		skip "$*"
		done_testing
		exit
	fi
	echo "1..0 # SKIP $*"; exit 0
}
done_testing() {
	[ -z "$vg_dir" ] || vg_report
	echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]
}
under_valgrind() { [ -n "$vg_dir" ]; }
: "${HRNG:=$(pwd)/havege-rngd}"
: "${top_srcdir:=.}"

# ---------------------------------------------------------------- valgrind
# vg_dir holds this script's logs (build tree, tests/valgrind-logs/NAME/,
# kept for a look after a failure; emptied when the script starts).
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
		if ($4 != 0) print $4 " memcheck errors (leaks included)"
	}
	END { if (!summary) print "log cut short: killed before valgrind could check it" }
	' "$1"
}

# vg_report: one failing test per log with a problem, or one passing test
# for all of them.  (Its variables are vg_*: the scripts have their own
# $pid, which their EXIT traps kill.)
vg_report() {
	vg_n=0 vg_bad=0
	for vg_log in $(vg_logs); do
		vg_n=$((vg_n + 1))
		vg_pid=${vg_log##*/vg.}; vg_pid=${vg_pid%.log}
		vg_forked=0
		grep -rqs --include='vg.*.log' "== Parent PID: $vg_pid\$" "$vg_dir" && vg_forked=1
		vg_why=$(vg_problems "$vg_log" "$vg_forked" | tr '\n' ';')
		[ -n "$vg_why" ] || continue
		vg_bad=$((vg_bad + 1))
		vg_cmd=$(sed -n 's/^==[0-9]*== Command: //p' "$vg_log" | head -n 1)
		fail "valgrind: $vg_cmd (pid $vg_pid): $vg_why"
		sed 's/^/# /' "$vg_log" | head -n 300
	done
	if [ "$vg_n" -eq 0 ]; then
		fail "valgrind: no log in $vg_dir: the program never ran under valgrind"
	elif [ "$vg_bad" -eq 0 ]; then
		ok "valgrind: $vg_n processes, no memcheck error, no leak, no descriptor left open"
	fi
}

if [ "${HRNG_VALGRIND:-0}" = 1 ]; then
	command -v valgrind >/dev/null 2>&1 || skip_all "HRNG_VALGRIND=1 but valgrind is not installed"
	vg_dir=$(cd "${top_builddir:-.}" && pwd)/tests/valgrind-logs/$(basename "$0" .sh)
	rm -rf "$vg_dir" && mkdir -p "$vg_dir" || exit 99
	# a copy, made executable: $HRNG is run as a program, and the
	# source tree keeps its scripts without the x bit
	cp "$top_srcdir/tests/valgrind.sh" "$vg_dir/valgrind.sh" &&
		chmod +x "$vg_dir/valgrind.sh" || exit 99
	HRNG_VALGRIND_BIN=$HRNG HRNG_VALGRIND_LOGS=$vg_dir
	export HRNG_VALGRIND_BIN HRNG_VALGRIND_LOGS
	if [ -f "$top_srcdir/tests/valgrind.supp" ]; then
		HRNG_VALGRIND_SUPP=$(cd "$top_srcdir/tests" && pwd)/valgrind.supp
		export HRNG_VALGRIND_SUPP
	fi
	HRNG=$vg_dir/valgrind.sh
fi
