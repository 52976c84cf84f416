# tap.sh - TAP helpers for the shell tests; source it.
# ok/fail print one result line each; done_testing prints the plan.
# $HRNG is the built binary (set by make check), $top_srcdir the sources.
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
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $*"; }
done_testing() { echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]; }
: "${HRNG:=$(pwd)/havege-rngd}"
: "${top_srcdir:=.}"
