#!/bin/sh
# e2e-noise.sh - the calibrated noise source as a user meets it: -r 1's
# lines, --assess, --raw-samples at the chosen rung, -d keeping the table;
# and, in a --enable-mock-timer build, coarse timers no CPU here has (a
# three-valued Zen 5-like timer, a 21-tick quantised one) and a timer no
# rung can rescue, refused with one line.  Nothing here assumes a CPU.
. "$top_srcdir/tests/tap.sh"

work=$(mktemp -d) || exit 99
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 99

# -r 1: the noise lines, the claim and the seed size; ends with a newline.
"$HRNG" -r 1 >info.txt 2>err.txt
st=$?
check "-r 1: status 0" [ "$st" -eq 0 ]
check "-r 1: names the granularity" grep -q "^timer granularity: [1-9][0-9]* ticks" info.txt
check "-r 1: names the rung, its table and stride" \
	grep -q "^noise ladder: rung [1-9] of [1-9][0-9]*: walk table [0-9]* KB, [0-9]* walk step" info.txt
check "-r 1: the start-up estimate, at least the 1.50 needed" \
	awk '/^start-up estimate:/ { found = 1; if ($3 + 0 < 1.5) exit 1 } END { exit !found }' info.txt
check "-r 1: the claim, 0.50 bits/sample" grep -q "^claimed: 0.50 bits/sample" info.txt
check "-r 1: 640 samples behind a kernel seed" grep -q "^kernel seeds: 640 samples" info.txt
check "-r 1: the last line ends with a newline" sh -c '[ "$(tail -c 1 info.txt | od -An -c | tr -d " ")" = "\\n" ]'
check "-r 1: nothing on stderr" [ ! -s err.txt ]

# --assess: every rung up to the chosen one, the choice, a histogram.
"$HRNG" --assess >assess.txt 2>err.txt
st=$?
check "--assess: status 0" [ "$st" -eq 0 ]
check "--assess: a table row per rung (9)" \
	sh -c '[ "$(grep -cE "^[1-9] +[0-9]+ +[0-9]+ " assess.txt)" -eq 9 ]'
check "--assess: the choice and why" grep -q "^choice: rung [1-9] (table [0-9]* KB" assess.txt
check "--assess: the chosen rung's row passes" \
	sh -c 'r=$(sed -n "s/^choice: rung \([0-9]*\).*/\1/p" assess.txt); grep -qE "^$r .* passes$" assess.txt'
check "--assess: no row before it passes" \
	sh -c 'r=$(sed -n "s/^choice: rung \([0-9]*\).*/\1/p" assess.txt);
	       ! awk -v r="$r" "\$1 ~ /^[0-9]+\$/ && \$1 < r && /passes\$/" assess.txt | grep -q .'
check "--assess: a histogram drawn with #" grep -qE "^ *[0-9]+ +[0-9.]+% #+$" assess.txt
check "--assess -d 16: the table stays at 32 KB on every row" \
	sh -c '"$HRNG" --assess -d 16 >d16.txt; [ "$(grep -cE "^[1-9] +32 " d16.txt)" -eq 7 ]'

# --assess chooses a mode of its own: with another, one line and status 1.
for other in "-n 1M" "-r 1" "--raw-samples=x.bin"; do
	# shellcheck disable=SC2086
	"$HRNG" --assess $other >out.txt 2>err.txt
	st=$?
	check "--assess $other: refused, one line naming both" \
		sh -c "[ $st -eq 1 ] && [ ! -s out.txt ] && [ \"\$(wc -l <err.txt)\" -eq 1 ] &&
		       grep -q -- '--assess cannot be used together with' err.txt && [ ! -e x.bin ]"
done

# --raw-samples: the rung is logged at -v 1; one byte per sample.
"$HRNG" -v 1 --raw-samples=raw.bin -n 4096 2>raw.err
st=$?
check "--raw-samples: status 0, 4096 bytes" sh -c "[ $st -eq 0 ] && [ \$(wc -c <raw.bin) -eq 4096 ]"
check "--raw-samples -v 1: logs the rung" grep -q "noise: granularity .* rung [1-9] of" raw.err

if ! "$HRNG" -V | grep -q "mock timer"; then
	skip "mock timers: not a --enable-mock-timer build"
	done_testing
	exit 0
fi

# Three deltas in a Zen 5 guest's proportions: the ladder climbs past
# stride 1 and the raw samples are sums of deltas of 2, 3 and 4 (63, 42
# and 84 ticks divided by 21).
HAVEGE_RNGD_MOCK_TIMER=dist:63@50,42@36,84@14 "$HRNG" -v 1 --raw-samples=dist.bin \
	-n 20000 2>dist.err
st=$?
stride=$(sed -n 's/.*rung [0-9]* of [0-9]* (table [0-9]* KB, \([0-9]*\) step.*/\1/p' dist.err)
check "three-valued timer: status 0" [ "$st" -eq 0 ]
check "three-valued timer: granularity 21 found" grep -q "granularity 21 ticks" dist.err
check "three-valued timer: climbed past stride 1" [ "${stride:-1}" -gt 1 ]
check "three-valued timer: every raw sample within [2, 4] x stride" \
	sh -c "od -An -v -tu1 dist.bin | tr -s ' ' '\n' | sed '/^\$/d' |
	       awk -v s=$stride '\$1 < 2 * s || \$1 > 4 * s { bad++ } END { exit bad > 0 }'"
HAVEGE_RNGD_MOCK_TIMER=dist:63@50,42@36,84@14 "$HRNG" -n 1m -f dist-out.bin
check "three-valued timer: file mode writes 1 MiB" [ "$(wc -c <dist-out.bin)" -eq 1048576 ]

# A timer quantised to 21 ticks from the start: the granularity is a
# multiple of 21 (whether a rung passes is up to this CPU's noise).
HAVEGE_RNGD_MOCK_TIMER=coarse:0,21 "$HRNG" -r 1 >coarse.txt 2>coarse.err
check "21-tick timer: granularity a multiple of 21, or refused with one line" \
	sh -c 'g=$(sed -n "s/^timer granularity: \([0-9]*\).*/\1/p" coarse.txt);
	       { [ -n "$g" ] && [ $((g % 21)) -eq 0 ]; } ||
	       { [ "$(wc -l <coarse.err)" -eq 1 ] && grep -q "start-up health test failed" coarse.err; }'

# Two alternating deltas: no rung rescues it; one line names every rung.
HAVEGE_RNGD_MOCK_TIMER=two:40,60 "$HRNG" -n 64k -f two.bin 2>two.err
st=$?
check "two-valued timer: status 1, no output" sh -c "[ $st -eq 1 ] && [ ! -e two.bin ]"
check "two-valued timer: one line naming all nine rungs" \
	sh -c '[ "$(wc -l <two.err)" -eq 1 ] && [ "$(grep -o " table [0-9]* KB x[0-9]*" two.err | wc -l)" -eq 9 ]'
HAVEGE_RNGD_MOCK_TIMER=two:40,60 "$HRNG" --assess >two-assess.txt 2>&1
st=$?
check "two-valued timer: --assess exits 1 and says start-up would refuse" \
	sh -c "[ $st -eq 1 ] && grep -q '^choice: none; start-up would refuse' two-assess.txt"
HAVEGE_RNGD_MOCK_TIMER=two:40,60 "$HRNG" -r 1 >two-info.txt 2>two-info.err
st=$?
check "two-valued timer: -r 1 exits 1 with the one line" \
	sh -c "[ $st -eq 1 ] && [ \"\$(wc -l <two-info.err)\" -eq 1 ]"
HAVEGE_RNGD_MOCK_TIMER=two:40,60 "$HRNG" -d 16 -n 1k -f two.bin 2>two-d.err
check "two-valued timer, -d 16: refused naming seven rungs, all 32 KB" \
	sh -c '[ "$(grep -o " table 32 KB x[0-9]*" two-d.err | wc -l)" -eq 7 ]'

done_testing
