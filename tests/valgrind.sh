#!/bin/sh
# valgrind.sh - run havege-rngd under valgrind memcheck; the e2e tests use
# it as $HRNG when HRNG_VALGRIND=1 (tests/tap.sh sets that up).
#
# Why a wrapper and not a prefix: the tests run "$HRNG" as one word, take
# $! as the daemon's PID and signal it, so this must exec valgrind, which
# then runs the program in the same process.
#
#   HRNG_VALGRIND_BIN   the real binary
#   HRNG_VALGRIND_LOGS  a directory: one log per process, vg.PID.log (a
#                       forked daemon gets its own), read back by
#                       tests/tap.sh when the test ends
#   HRNG_VALGRIND_SUPP  optional: a suppression file (tests/valgrind.supp)
#
# Any memcheck error, and any definite, indirect or possible leak, makes the
# exit status HRNG_VALGRIND_STATUS (86: the program itself only ever exits
# 0, 1 or 128 + a signal).  Descriptors still open at exit are listed in
# the log (--track-fds); valgrind does not count them as errors, so tap.sh
# reads the log for them.  "Still reachable" blocks are not leaks: they are
# libraries' one-time state, reachable until exit.
: "${HRNG_VALGRIND_BIN:?the binary to run under valgrind}"
: "${HRNG_VALGRIND_LOGS:?a directory for the valgrind logs}"
: "${HRNG_VALGRIND_STATUS:=86}"

supp=${HRNG_VALGRIND_SUPP:-}

exec valgrind --tool=memcheck \
	--leak-check=full \
	--show-leak-kinds=definite,indirect,possible \
	--errors-for-leak-kinds=definite,indirect,possible \
	--track-origins=yes --num-callers=30 \
	--track-fds=yes \
	--error-exitcode="$HRNG_VALGRIND_STATUS" \
	${supp:+--suppressions="$supp"} \
	--log-file="$HRNG_VALGRIND_LOGS/vg.%p.log" \
	"$HRNG_VALGRIND_BIN" "$@"
