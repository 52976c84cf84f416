#!/bin/sh
# e2e-mock.sh - with the mock timer (a --enable-mock-timer build only): a
# dead or deterministic timer is caught at start-up, with status 1 and no
# output; the real timer passes.
. "$top_srcdir/tests/tap.sh"

if ! "$HRNG" -V | grep -q "mock timer"; then
	skip_all "not a --enable-mock-timer build"
fi

work=$(mktemp -d) || exit 99
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 99

for timer in "const:123456" "step:97" "step:1" "two:40,60"; do
	HAVEGE_RNGD_MOCK_TIMER=$timer "$HRNG" -n 64k -f out.bin 2>err.txt
	st=$?
	check "$timer: status 1" [ "$st" -eq 1 ]
	check "$timer: no output file" [ ! -e out.bin ]
	check "$timer: nothing left in the directory but the log" [ "$(ls -A)" = err.txt ]
	check "$timer: one line naming the start-up health test" \
		sh -c '[ "$(wc -l <err.txt)" -eq 1 ] && grep -q "start-up health test failed" err.txt'
	HAVEGE_RNGD_MOCK_TIMER=$timer "$HRNG" -n 64k -f - >stdout.bin 2>/dev/null
	check "$timer: nothing on stdout either" [ ! -s stdout.bin ]
	rm -f stdout.bin
done

HAVEGE_RNGD_MOCK_TIMER=real "$HRNG" -n 64k -f out.bin
st=$?
check "real timer through the mock seam: status 0" [ "$st" -eq 0 ]
check "real timer: 64 KiB written" [ "$(wc -c <out.bin | tr -d ' ')" = 65536 ]

HAVEGE_RNGD_MOCK_TIMER=bogus "$HRNG" -n 1k -f bogus.bin 2>err.txt
st=$?
check "invalid mock spec: status 1 and one line" \
	sh -c "[ $st -eq 1 ] && [ \"\$(wc -l <err.txt)\" -eq 1 ] && grep -q HAVEGE_RNGD_MOCK_TIMER err.txt"
check "invalid mock spec: no output" [ ! -e bogus.bin ]

"$HRNG" -r 1 >info.txt
check "-r 1 names the mock timer" grep -q "timer: mock" info.txt

done_testing
