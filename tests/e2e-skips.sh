#!/bin/sh
# e2e-skips.sh - scripts/test-all's skip allow-list (scripts/skips.sh,
# scripts/ci-skips) and the fuzz corpus replay:
#  - a skip on the list stays a skip; one not on it (a whole script or a
#    single check) becomes a failure, named; HRNG_ALLOW_SKIPS=1 only warns;
#  - every entry of the list gives its reason;
#  - a fuzz target whose corpus is missing or empty fails instead of
#    skipping.
. "$top_srcdir/tests/tap.sh"

: "${top_builddir:=.}"
work=$(mktemp -d) || exit 99
trap 'rm -rf "$work"' EXIT

cat >"$work/check.out" <<'OUT'
PASS: tests/e2e-file.sh 1 - something
SKIP: tests/e2e-mock.sh - not a --enable-mock-timer build
SKIP: tests/e2e-noise.sh 21 # SKIP mock timers: not a --enable-mock-timer build
SKIP: tests/e2e-egd.sh - python3 not installed (the test client)
SKIP: tests/test_generator 10 # SKIP test_buffers_locked
OUT

# run_check SUITE [ENV]: the counters and output of check_skips, in a subshell
run_check() {
	(
		top=$top_srcdir fail=0 skip=4
		[ -n "${2:-}" ] && export "$2"
		. "$top_srcdir/scripts/skips.sh"
		check_skips "$1" "$work/check.out"
		echo "counters: fail=$fail skip=$skip"
	)
}

run_check default >"$work/strict.txt" 2>&1
check "listed skips stay skips, the two unlisted ones become failures" \
	grep -qx 'counters: fail=2 skip=2' "$work/strict.txt"
check "an unlisted whole-script skip is named as a failure" \
	grep -qF '[default] FAIL: a skip not on scripts/ci-skips: tests/e2e-egd.sh: (whole script) python3 not installed' "$work/strict.txt"
check "an unlisted single skip is named as a failure" \
	grep -qF '[default] FAIL: a skip not on scripts/ci-skips: tests/test_generator: test_buffers_locked' "$work/strict.txt"
check "a listed skip is not reported as a failure" \
	sh -c "! grep 'FAIL' '$work/strict.txt' | grep -q 'e2e-mock.sh\|e2e-noise.sh'"
check "whole scripts skipped are named apart, listed or not" \
	grep -qxF '[default] note: whole scripts skipped: tests/e2e-mock.sh tests/e2e-egd.sh ' "$work/strict.txt"

run_check tsan >"$work/tsan.txt" 2>&1
check "an entry counts only for its suite (test_buffers_locked is listed for tsan, not default)" \
	grep -q 'counters: fail=3 skip=1' "$work/tsan.txt"

run_check default HRNG_ALLOW_SKIPS=1 >"$work/lenient.txt" 2>&1
check "HRNG_ALLOW_SKIPS=1 warns and fails nothing" \
	sh -c "grep -qx 'counters: fail=0 skip=4' '$work/lenient.txt' && [ \$(grep -c '] WARN: a skip not on' '$work/lenient.txt') -eq 2 ]"

bad=$(grep -v '^#' "$top_srcdir/scripts/ci-skips" | grep -v '^$' |
	awk -F'\t' 'NF != 4 || $1 == "" || $2 == "" || $3 == "" || length($4) < 10' | head -n 3)
check "every allow-list entry has a suite, a test, a pattern and its reason${bad:+: $bad}" [ -z "$bad" ]

replay=$top_builddir/tests/fuzz/fuzz_options
if [ -x "$replay" ]; then
	st=0; "$replay" "$work/no-such-corpus" >"$work/replay.txt" 2>&1 || st=$?
	check "a fuzz replay with no corpus fails (status $st)" \
		sh -c "[ $st -ne 0 ] && grep -q '^Bail out! no corpus' '$work/replay.txt'"
	mkdir "$work/empty"
	st=0; "$replay" "$work/empty" >"$work/replay.txt" 2>&1 || st=$?
	check "a fuzz replay with an empty corpus fails (status $st)" \
		sh -c "[ $st -ne 0 ] && grep -q '^Bail out! an empty corpus' '$work/replay.txt'"
else
	fail "no $replay (make check builds it)"
fi
done_testing
