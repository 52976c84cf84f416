#!/bin/sh
# e2e-file.sh - file mode of the real binary: exact sizes, stdout, closed
# pipes, signals, write errors, no partial files.
. "$top_srcdir/tests/tap.sh"

work=$(mktemp -d) || exit 99
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 99

size_of() { wc -c <"$1" | tr -d ' '; }

# running: wait (up to 30 s: valgrind is slow to start) for the run just
# started to make its temporary file, so that a signal lands mid-run.
running() {
	i=0
	while [ $i -lt 300 ]; do
		for f in .havege-rngd.*; do [ -e "$f" ] && return 0; done
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# exact sizes through -n, in every suffix form
for case in "1:1" "1000:1000" "1k:1024" "1K:1024" "1.5k:1536" "3m:3145728" "0.5M:524288"; do
	arg=${case%%:*} want=${case#*:}
	rm -f out.bin
	"$HRNG" -n "$arg" -f out.bin
	st=$?
	check "-n $arg: status 0" [ "$st" -eq 0 ]
	check "-n $arg: exactly $want bytes" [ "$(size_of out.bin)" = "$want" ]
done
check "no temporary file left behind" [ "$(ls -A | wc -l)" -eq 1 ]

# -r n (> 1) writes n KiB to the default file, "sample"
rm -f sample
"$HRNG" -r 3
check "-r 3 writes 3 KiB to ./sample" [ "$(size_of sample)" = 3072 ]

# stdout: -f - and -n 0.  Each unlimited run has a file size limit (a
# pipe has none): were -n 0 to write a file after all, it would stop at
# 1 MiB with SIGXFSZ instead of filling the disk while head waits.
unlimited() { (ulimit -f 2048; exec "$HRNG" -n 0 "$@"); }
"$HRNG" -n 4097 -f - >stdout.bin
check "-f -: exactly 4097 bytes on stdout" [ "$(size_of stdout.bin)" = 4097 ]
n=$(unlimited | head -c 100000 | wc -c | tr -d ' ')
check "-n 0: unlimited output to stdout" [ "$n" = 100000 ]
# the man page: -n 0 "always writes to standard output whatever -f says"
n=$(unlimited -f notme.bin | head -c 100000 | wc -c | tr -d ' ')
check "-n 0 -f FILE: unlimited output to stdout all the same" [ "$n" = 100000 ]
check "-n 0 -f FILE: FILE not created, no temporary file" \
	sh -c '[ ! -e notme.bin ] && [ -z "$(ls -A | grep havege-rngd)" ]'

# a closed pipe ends the run quietly with status 0
unlimited 2>err.txt | head -c 10 >/dev/null
st=$?
check "closed pipe: status 0 (pipeline status is head's)" [ "$st" -eq 0 ]
( unlimited 2>err.txt; echo $? >status.txt ) | head -c 10 >/dev/null
check "closed pipe: havege-rngd exits 0" [ "$(cat status.txt)" = 0 ]
check "closed pipe: nothing on stderr" [ ! -s err.txt ]

# two runs differ
"$HRNG" -n 4096 -f a.bin && "$HRNG" -n 4096 -f b.bin
check "two runs give different output" sh -c '! cmp -s a.bin b.bin'

# SIGTERM, SIGINT and SIGHUP stop a long run: 128 + signal, no output file
for sig in TERM INT HUP; do
	rm -f big.bin
	"$HRNG" -n 16t -f big.bin &
	pid=$!
	check "SIG$sig: the run has begun (temporary file)" running
	kill -s "$sig" "$pid"
	t0=$(date +%s%N)
	wait "$pid"
	st=$?
	t1=$(date +%s%N)
	case $sig in TERM) want=143 ;; INT) want=130 ;; HUP) want=129 ;; esac
	check "SIG$sig: status $want" [ "$st" -eq "$want" ]
	check_timing "SIG$sig: stopped within 1 s (took $(( (t1 - t0) / 1000000 )) ms)" [ $(( (t1 - t0) / 1000000 )) -lt 1000 ]
	check "SIG$sig: no partial file" [ ! -e big.bin ]
	check "SIG$sig: no temporary file" [ -z "$(ls -A | grep havege-rngd)" ]
done

# write errors: one clear line, status 1
if [ -w /dev/full ]; then
	"$HRNG" -n 1000 -f /dev/full 2>err.txt
	st=$?
	check "/dev/full: status 1" [ "$st" -eq 1 ]
	check "/dev/full: one line naming the problem" \
		sh -c '[ "$(wc -l <err.txt)" -eq 1 ] && grep -q "No space left" err.txt'
else
	skip "/dev/full not writable"
	skip "/dev/full not writable"
fi
"$HRNG" -n 10 -f "$work/missing/dir/x.bin" 2>err.txt
st=$?
check "missing directory: status 1" [ "$st" -eq 1 ]
check "missing directory: one line" [ "$(wc -l <err.txt)" -eq 1 ]

# a disk that fills up half way: one line, status 1, nothing left behind
mkdir small
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=1m tmpfs small 2>/dev/null; then
	"$HRNG" -n 4m -f small/out.bin 2>err.txt
	st=$?
	check "disk full half way: status 1" [ "$st" -eq 1 ]
	check "disk full half way: one line naming the problem" \
		sh -c '[ "$(wc -l <err.txt)" -eq 1 ] && grep -q "No space left" err.txt'
	check "disk full half way: no partial file, no temporary file" [ -z "$(ls -A small)" ]
	umount small
else
	skip "needs root to mount a small tmpfs"
	skip "needs root to mount a small tmpfs"
	skip "needs root to mount a small tmpfs"
fi

# an existing file is replaced only by a complete run
printf 'old' >keep.bin
"$HRNG" -n 2048 -f keep.bin
check "existing file replaced by the complete output" [ "$(size_of keep.bin)" = 2048 ]

# raw samples: one byte per sample, -n bounds the count
"$HRNG" --raw-samples=raw.bin -n 5000
check "--raw-samples -n 5000 writes 5000 bytes" [ "$(size_of raw.bin)" = 5000 ]
"$HRNG" --raw-samples=- -n 300 >raw2.bin
check "--raw-samples=- writes to stdout" [ "$(size_of raw2.bin)" = 300 ]

# progress only when asked (or on a terminal): logs stay clean
"$HRNG" -n 2m -f p.bin 2>err.txt
check "no --progress, stderr not a terminal: stderr empty" [ ! -s err.txt ]
"$HRNG" -n 2m -f p.bin --progress 2>err.txt
check "--progress: a progress line with bytes and rate" grep -q "of 2.0 MiB, .* MB/s" err.txt
check "--progress, stderr not a terminal: whole lines, no carriage return" \
	sh -c "! grep -q \"\$(printf '\\r')\" err.txt"
# on a terminal (script(1) gives one), progress without being asked: one
# line updated in place with carriage returns, ended by a newline
if command -v script >/dev/null 2>&1; then
	rm -f tty.bin
	script -qec "'$HRNG' -n 2m -f tty.bin" /dev/null </dev/null >tty.txt 2>&1
	st=$?
	check "on a terminal: status 0, 2 MiB written" \
		sh -c "[ $st -eq 0 ] && [ \"\$(wc -c <tty.bin | tr -d ' ')\" = 2097152 ]"
	cr=$(printf '\r')
	check "on a terminal, no --progress: the line updated in place (\\r), then ended" \
		sh -c "grep -q \"^${cr}havege-rngd: .* of 2.0 MiB, .* MB/s\" tty.txt &&
			[ \"\$(tail -c 2 tty.txt | od -An -c | tr -d ' ')\" = '\\r\\n' ]"
else
	skip "script(1) not installed: no terminal to test progress on"
	skip "script(1) not installed: no terminal to test progress on"
fi

# -t 2 writes the same exact sizes (one writer thread per lane, each at
# offsets it claims): no gap left unwritten
rm -f t2.bin
"$HRNG" -t 2 -n 5m -f t2.bin
check "-t 2: exactly 5 MiB" [ "$(size_of t2.bin)" = 5242880 ]
zero_blocks=$(od -An -v -tx1 -w4096 t2.bin | grep -c '^\( 00\)*$')
check "-t 2: no all-zero 4 KiB block (no unwritten gap)" [ "$zero_blocks" -eq 0 ]
"$HRNG" -t 2 -n 16t -f t2big.bin &
pid=$!
check "-t 2: the run has begun (temporary file)" running
kill -TERM "$pid"
wait "$pid"
st=$?
check "-t 2, SIGTERM: status 143" [ "$st" -eq 143 ]
check "-t 2, SIGTERM: no partial file" [ ! -e t2big.bin ]
check "-t 2, SIGTERM: no temporary file" [ -z "$(ls -A | grep havege-rngd)" ]

# ---------------------------------------------------------------- issue 12
# 4: the replaced file's mode, owner and group are kept; a new file gets
# 0666 less the umask
install -m 600 /dev/null key.bin
(umask 022; exec "$HRNG" -n 32 -f key.bin)
check "replacing a 0600 file: still 0600 ($(stat -c %a key.bin))" [ "$(stat -c %a key.bin)" = 600 ]
rm -f new.bin
(umask 027; exec "$HRNG" -n 32 -f new.bin)
check "a new file: 0666 less the umask ($(stat -c %a new.bin))" [ "$(stat -c %a new.bin)" = 640 ]
if [ "$(id -u)" -eq 0 ]; then
	install -m 640 -o 65534 -g 65534 /dev/null owned.bin
	"$HRNG" -n 32 -f owned.bin
	check "root replacing nobody's 0640 file: owner, group and mode kept ($(stat -c '%u:%g %a' owned.bin))" \
		[ "$(stat -c '%u:%g %a' owned.bin)" = "65534:65534 640" ]
	if command -v setpriv >/dev/null 2>&1; then
		chmod 711 "$work"   # nobody goes through, into shared/
		mkdir shared && chmod 777 shared
		install -m 644 /dev/null shared/roots.bin
		setpriv --reuid=65534 --regid=65534 --clear-groups "$HRNG" -n 32 -f shared/roots.bin
		check "nobody replacing root's 0644 file: now nobody's, owner only ($(stat -c '%u %a' shared/roots.bin))" \
			[ "$(stat -c '%u %a' shared/roots.bin)" = "65534 600" ]
	else
		skip "setpriv not installed"
	fi
else
	skip "needs root to give a file another owner"
	skip "needs root to give a file another owner"
fi

# 5: stderr closed: the output file does not become descriptor 2
"$HRNG" -n 1m -f closed.bin --progress 2>&-
check "stderr closed, --progress: exactly 1 MiB, no progress text inside" \
	[ "$(size_of closed.bin)" = 1048576 ]

# 6: every signal whose default would kill the run ends it cleanly
# (their numbers on Linux x86 and arm; dash's kill -l gives no number)
for sigwant in USR1:138 USR2:140 ALRM:142 QUIT:131; do
	sig=${sigwant%:*} want=${sigwant#*:}
	"$HRNG" -n 16t -f sig.bin &
	pid=$!
	running
	kill -s "$sig" "$pid"
	wait "$pid"
	st=$?
	check "SIG$sig: status $want ($st), no partial or temporary file" \
		sh -c "[ $st -eq $want ] && [ ! -e sig.bin ] && [ -z \"\$(ls -A | grep havege-rngd)\" ]"
done

# 15: disk full with several writer threads: one line, not one per thread
mkdir small4
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=2m tmpfs small4 2>/dev/null; then
	"$HRNG" -t 4 -n 3m -f small4/out.bin 2>err.txt
	st=$?
	check "disk full, -t 4: status 1, one line ($(wc -l <err.txt))" \
		sh -c "[ $st -eq 1 ] && [ \"\$(grep -vc '^==' err.txt)\" -eq 1 ] && grep -q 'No space left' err.txt"
	check "disk full, -t 4: nothing left behind" [ -z "$(ls -A small4)" ]
	umount small4
else
	skip "needs root to mount a small tmpfs"
	skip "needs root to mount a small tmpfs"
fi

# 16: SIGTERM while blocked opening a FIFO with no reader: 143
mkfifo out.fifo
"$HRNG" -n 1k -f out.fifo 2>err.txt &
pid=$!
# blocked in openat (257 on x86-64, 56 on arm64), or at least asleep
i=0
while [ $i -lt 300 ]; do
	case $(cat /proc/$pid/syscall 2>/dev/null) in 257\ *|56\ *) break ;; esac
	sleep 0.1; i=$((i + 1))
done
kill -TERM "$pid"
wait "$pid"
st=$?
check "SIGTERM while opening a FIFO: status 143 ($st), nothing on stderr" \
	sh -c "[ $st -eq 143 ] && [ \"\$(grep -vc '^==' err.txt)\" -eq 0 ]"

# A stop signal taken during the start-up tests, before the FIFO is opened,
# still ends the run: it used to be remembered only by an open() that it
# could no longer interrupt, which then waited for a reader for ever.  The
# signal is sent as soon as the handler is in place (SigCgt has SIGTERM,
# bit 15), long before the start-up tests are done.
mkfifo early.fifo
"$HRNG" -n 1k -f early.fifo 2>err.txt &
pid=$!
i=0
while [ $i -lt 3000 ]; do
	cgt=$(sed -n 's/^SigCgt:[[:space:]]*//p' /proc/$pid/status 2>/dev/null)
	[ -n "$cgt" ] && [ $((0x${cgt#????????????} & 0x4000)) -ne 0 ] && break
	sleep 0.01; i=$((i + 1))
done
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$pid" 2>/dev/null; then
	kill -KILL "$pid"; wait "$pid"
	fail "SIGTERM before the FIFO is opened: still waiting for a reader after 30 s"
else
	wait "$pid"
	st=$?
	check "SIGTERM before the FIFO is opened: status 143 ($st), nothing on stderr" \
		sh -c "[ $st -eq 143 ] && [ \"\$(grep -vc '^==' err.txt)\" -eq 0 ]"
fi

# 18: the temporary file is on disk before it is renamed into place
if under_valgrind; then
	skip "fsync before rename: not traced under valgrind"
elif command -v strace >/dev/null 2>&1; then
	strace -f -qq -e trace=fsync,fdatasync,rename,renameat,renameat2 -o sync.trace \
		"$HRNG" -n 4k -f synced.bin
	check "fsync of the output, then rename" \
		sh -c "grep -n 'fsync\|fdatasync\|rename' sync.trace | head -n 2 | tr '\n' ' ' | grep -q 'sync(.*rename'"
	sed 's/^/# trace: /' sync.trace
else
	skip "strace not installed"
fi

# Signals at random moments: a run either completes (status 0, the whole
# file) or stops (128 + signal, no file); never a partial or temporary
# file.  SIGPIPE is ignored once the program has set itself up (the run
# completes); one that lands before that (valgrind starts slowly) ends it
# like the others.  (40 runs.)  Not under valgrind: a signal that lands
# while valgrind's loader is still starting the program leaves that
# start-up's descriptors to valgrind's report, which says nothing of ours.
runs=10
under_valgrind && runs=0
bad=""
for sigwant in TERM:143 INT:130 HUP:129 PIPE:141; do
	sig=${sigwant%:*} want=${sigwant#*:}
	i=0
	while [ $i -lt $runs ]; do
		rm -f rnd.bin
		delay=$(awk -v s="$$$i$sig" 'BEGIN { srand(s); printf "%.3f", rand() * 0.3 }')
		"$HRNG" -n 8m -f rnd.bin 2>/dev/null &
		pid=$!
		sleep "$delay"
		kill -s "$sig" "$pid" 2>/dev/null
		wait "$pid"
		st=$?
		if [ -n "$(ls -A | grep havege-rngd)" ]; then
			bad="$bad SIG$sig after ${delay}s: temporary file left;"
			rm -f .havege-rngd.*
		elif [ "$st" -eq 0 ] && [ "$(size_of rnd.bin)" != 8388608 ]; then
			bad="$bad SIG$sig after ${delay}s: status 0 but $(size_of rnd.bin) bytes;"
		elif [ "$st" -ne 0 ] && { [ "$st" -ne "$want" ] || [ -e rnd.bin ]; }; then
			bad="$bad SIG$sig after ${delay}s: status $st, file $( [ -e rnd.bin ] && echo left || echo absent);"
		fi
		i=$((i + 1))
	done
done
if [ "$runs" -gt 0 ]; then
	check "$((runs * 4)) signals at random moments: whole file or none, never a temporary file" [ -z "$bad" ]
	[ -z "$bad" ] || echo "# $bad"
else
	skip "signals at random moments: not under valgrind (its own start-up would be signalled)"
fi

# -r 1 prints the tuning, with sources, and exits 0
"$HRNG" -r 1 >info.txt
st=$?
check "-r 1: status 0" [ "$st" -eq 0 ]
for word in "data cache:" "instruction cache:" "timer:" "walk code:" "health tests:" "online tests:"; do
	check "-r 1 reports '$word'" grep -q "$word" info.txt
done

done_testing
