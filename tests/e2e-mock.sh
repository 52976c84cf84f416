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

# The online tests (-o) on the walk output.  A spoilt walk with a healthy
# timer: the start-up procedures fail, status 1, no output.
for walk in const bias; do
	rm -f out.bin err.txt
	HAVEGE_RNGD_MOCK_WALK=$walk "$HRNG" -n 64k -f out.bin 2>err.txt
	st=$?
	check "walk $walk, default -o ta8b: status 1" [ "$st" -eq 1 ]
	check "walk $walk: no output file" [ ! -e out.bin ]
	check "walk $walk: the message names the start-up online test" \
		grep -q "start-up online test" err.txt
	HAVEGE_RNGD_MOCK_WALK=$walk "$HRNG" -n 64k -o ta8b -f - 2>/dev/null >stdout.bin
	check "walk $walk: nothing on stdout" [ ! -s stdout.bin ]
	HAVEGE_RNGD_MOCK_WALK=$walk "$HRNG" -n 64k -o "" -f out.bin 2>/dev/null
	check "walk $walk with -o '' (tests off): written" [ -s out.bin ]
done
rm -f out.bin

# -o "ta8bw": B advisory: a failing B is reported, output goes on.
HAVEGE_RNGD_MOCK_WALK=bias "$HRNG" -n 64k -o tbw -f out.bin 2>err.txt
st=$?
check "walk bias, -o tbw (advisory): status 0" [ "$st" -eq 0 ]
check "walk bias, -o tbw: 64 KiB written" [ "$(wc -c <out.bin | tr -d ' ')" = 65536 ]
check "walk bias, -o tbw: the advisory failure is logged" grep -q "failed (advisory)" err.txt
rm -f out.bin

# The walk goes bad after start-up: continuous B fails, status 1, and the
# output file is not left half written.
HAVEGE_RNGD_MOCK_WALK=bias-after:6000000 "$HRNG" -n 64m -o ta8bcb -f out.bin 2>err.txt
st=$?
check "walk bias after 6 MB, -o ta8bcb: status 1" [ "$st" -eq 1 ]
check "continuous failure: no partial output file" [ ! -e out.bin ]
check "continuous failure: the message says so" grep -q "continuous online test failed" err.txt

# An EGD-only daemon whose timer freezes after start-up: the first fills
# after it fail the health tests, the clients are closed, and the daemon
# stops with status 1 (for its unit to restart it) instead of accepting
# connections only to close them; its socket is removed.
if under_valgrind; then
	skip "EGD-only daemon with a frozen timer: valgrind has no seccomp(2)"
elif ldd "$HRNG" 2>/dev/null | grep -q libasan; then
	skip "EGD-only daemon with a frozen timer: AddressSanitizer cannot run under the seccomp filter"
elif command -v python3 >/dev/null 2>&1; then
	client_py=$(cd "$top_srcdir" && pwd)/tests/egd/client.py
	HAVEGE_RNGD_MOCK_TIMER_LATER=freeze:100 "$HRNG" -F --no-kernel --egd=unix:"$work/egd.sock" 2>egd.err &
	pid=$!
	i=0
	while [ ! -S "$work/egd.sock" ] && [ $i -lt 200 ] && kill -0 "$pid" 2>/dev/null; do
		sleep 0.05; i=$((i + 1))
	done
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
		timeout 10 python3 "$client_py" "$work/egd.sock" read 255 read 255 read 255 >/dev/null 2>&1
		i=$((i + 1))
	done
	kill -0 "$pid" 2>/dev/null && kill -TERM "$pid"
	wait "$pid"
	st=$?
	check "EGD-only, timer frozen after start-up: status 1" [ "$st" -eq 1 ]
	check "EGD-only, timer frozen: the last line says the source failed" \
		sh -c 'tail -n 1 egd.err | grep -q "the noise source failed: nothing more will be credited or served"'
	check "EGD-only, timer frozen: the health tests said why" grep -q "noise source failed permanently" egd.err
	check "EGD-only, timer frozen: socket removed" [ ! -e "$work/egd.sock" ]
else
	skip "EGD-only daemon with a frozen timer: python3 not installed"
fi

# The seccomp allow-list answers a call outside it with EPERM, and the
# daemon goes on (src/daemon/privs.c; a kill action would end it with SIGSYS).
# HAVEGE_RNGD_MOCK_SECCOMP=probe makes an EGD-only daemon, once its filter
# is in, try ioctl RNDRESEEDCRNG (not one of the two ioctls allowed) and
# open /, and log what each got.  No privilege needed: the EGD-only daemon
# loads the same filter.
if under_valgrind; then
	skip "seccomp probe: valgrind has no seccomp(2)"
elif ldd "$HRNG" 2>/dev/null | grep -q libasan; then
	skip "seccomp probe: AddressSanitizer cannot run under the seccomp filter"
else
	rm -f "$work/probe.sock"
	HAVEGE_RNGD_MOCK_SECCOMP=probe "$HRNG" -F --no-kernel --egd=unix:"$work/probe.sock" 2>probe.err &
	pid=$!
	wait_for probe.err "seccomp probe: open"
	check "seccomp probe: a daemon with its filter in" grep -q "^Seccomp:.*2$" /proc/$pid/status
	check "seccomp probe: ioctl RNDRESEEDCRNG refused with EPERM, logged" \
		grep -q "seccomp probe: ioctl RNDRESEEDCRNG: Operation not permitted" probe.err
	check "seccomp probe: open refused with EPERM, logged" \
		grep -q "seccomp probe: open /: Operation not permitted" probe.err
	check "seccomp probe: the daemon is still running" kill -0 "$pid"
	kill -USR1 "$pid" 2>/dev/null
	check "seccomp probe: its loop goes on (SIGUSR1 statistics)" wait_for probe.err "statistics"
	if command -v python3 >/dev/null 2>&1; then
		timeout 10 python3 "$(cd "$top_srcdir" && pwd)/tests/egd/client.py" \
			"$work/probe.sock" read 64 >probe.txt 2>&1
		check "seccomp probe: still serving EGD" grep -q "^read 64 " probe.txt
	else
		skip "seccomp probe: still serving EGD: python3 not installed (the client)"
	fi
	kill -TERM "$pid" 2>/dev/null; wait "$pid"; st=$?
	check "seccomp probe: SIGTERM, status 143 (not killed by SIGSYS: 159)" [ "$st" -eq 143 ]
fi

# --raw-samples writes the samples themselves: the timer replays deltas
# 30, 70, 150 once calibration has passed, so each byte is the sum of
# `stride` consecutive deltas of that cycle divided by the granularity,
# low 8 bits (noise.h), both read back from -v 1.  After the first sample
# (whose first delta spans the switch of timers) every byte is predicted;
# zeros, conditioned bytes or the real timer's samples are not.
printf '\036\106\226' >cycle.bin
HAVEGE_RNGD_MOCK_TIMER_LATER=replay:cycle.bin "$HRNG" -v 1 --raw-samples=raw.bin -n 4096 2>raw.err
st=$?
check "raw samples, replayed timer: status 0, 4096 bytes" \
	sh -c "[ $st -eq 0 ] && [ \"\$(wc -c <raw.bin | tr -d ' ')\" = 4096 ]"
shape=$(sed -n 's/.*noise: granularity \([0-9]*\) ticks;.* \([0-9]*\) steps\{0,1\} per sample.*/\1 \2/p' raw.err)
check "raw samples: -v 1 names the granularity and stride" [ -n "$shape" ]
od -An -v -tu1 raw.bin | tr -s ' ' '\n' | sed '/^$/d' >raw.txt
check "raw samples are the replayed cycle, summed over the stride and divided by the granularity" \
	awk -v shape="$shape" '
	BEGIN { split(shape, f, " "); g = f[1]; s = f[2]; d[0] = 30; d[1] = 70; d[2] = 150
		if (g < 1 || s < 1) exit 1
		for (j = 0; j < 3; j++) {         # a sample starting at delta j of the cycle
			sum = 0
			for (i = 0; i < s; i++) sum += d[(j + i) % 3]
			e[j] = int(sum / g) % 256
		} }
	NR > 1 { b[NR] = $1 }
	END {
		if (NR != 4096) exit 1
		for (j = 0; j < 3; j++) {         # the phase of sample 2 is not pinned
			ok = 1
			for (k = 2; k <= NR && ok; k++)
				ok = b[k] == e[(j + (k - 2) * s) % 3]
			if (ok) exit 0
		}
		exit 1
	}' raw.txt
rm -f raw.bin raw.txt raw.err cycle.bin

done_testing
