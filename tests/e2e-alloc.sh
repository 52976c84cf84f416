#!/bin/sh
# e2e-alloc.sh - allocation failure at start-up (a --enable-mock-timer build
# only: src/mockalloc.c).  For each way of running the program, count the
# allocations our code makes (HAVEGE_RNGD_MOCK_ALLOC=count), then make each
# one fail in turn (fail:N) and require, every time: status 1 (not a crash,
# not a signal), one error line saying memory ran out, and nothing written
# (no output file, no temporary file, nothing on stdout).  One more run with
# fail:N+1 must succeed, which shows the count covered every allocation.
. "$top_srcdir/tests/tap.sh"

if ! "$HRNG" -V | grep -q "mock timer"; then
	skip_all "not a --enable-mock-timer build"
fi

work=$(mktemp -d) || exit 99
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 99

# count_allocs CMD...: the number of allocations of a whole run.
count_allocs() {
	HAVEGE_RNGD_MOCK_ALLOC=count "$@" 2>count.err >/dev/null
	sed -n 's/^mockalloc: \([0-9][0-9]*\) allocations$/\1/p' count.err | tail -1
}

# one_failure N OUT CMD...: run with allocation N failing; OUT is the output
# file (or socket) the run would make ("-" for stdout).  A run that got
# past its failure and serves is stopped after 10 s, and fails the check.
# Prints nothing and returns 0 when everything required held, else says
# what did not.
one_failure() {
	n=$1 out=$2
	shift 2
	rm -f "$out" stdout.bin
	HAVEGE_RNGD_MOCK_ALLOC=fail:$n timeout -s TERM 10 "$@" >stdout.bin 2>err.txt
	st=$?
	errs=$(grep -c -E 'out of memory|Cannot allocate memory' err.txt)
	other=$(grep -v -E 'out of memory|Cannot allocate memory|feeding the|serving EGD only|^mockalloc:' err.txt | wc -l)
	if [ "$st" -ne 1 ]; then
		echo "# fail:$n: status $st"; return 1
	fi
	if [ "$errs" -ne 1 ] || [ "$other" -ne 0 ]; then
		echo "# fail:$n: expected one out-of-memory line, got:"; sed 's/^/#   /' err.txt
		return 1
	fi
	if [ "$out" != - ] && [ -e "$out" ]; then
		echo "# fail:$n: $out was left behind"; return 1
	fi
	if ls -A | grep -q '^\.havege-rngd'; then
		echo "# fail:$n: a temporary file was left behind"; return 1
	fi
	if [ -s stdout.bin ] && [ "$out" = - ]; then
		echo "# fail:$n: output reached stdout"; return 1
	fi
	return 0
}

# sweep NAME OUT TOTAL CMD...: make each of the TOTAL allocations fail in
# turn (one_failure), one check for them all.
sweep() {
	name=$1 out=$2 total=$3
	shift 3
	if [ -z "$total" ] || [ "$total" -lt 1 ]; then
		fail "$name: allocations counted"
		return 1
	fi
	bad=0 n=1
	while [ "$n" -le "$total" ]; do
		one_failure "$n" "$out" "$@" || bad=$((bad + 1))
		n=$((n + 1))
	done
	check "$name: each of $total allocations failing gives status 1, one line, no output" \
		[ "$bad" -eq 0 ]
}

# scenario NAME OUT CMD...: the whole sweep for a run that ends by itself,
# and one run past the count, which must succeed.
scenario() {
	name=$1 out=$2
	shift 2
	total=$(count_allocs "$@")
	sweep "$name" "$out" "$total" "$@" || return
	rm -f "$out"
	HAVEGE_RNGD_MOCK_ALLOC=fail:$((total + 1)) "$@" >/dev/null 2>err.txt
	check "$name: allocation $((total + 1)) failing is never reached (status 0)" [ $? -eq 0 ]
}

scenario "file" out.bin "$HRNG" -n 64k -f out.bin
scenario "file -t 2 -o ta8bcb" out.bin "$HRNG" -t 2 -o ta8bcb -n 2m -f out.bin
scenario "stdout" - "$HRNG" -n 64k -f -
scenario "-r 1" - "$HRNG" -r 1
scenario "--raw-samples" raw.bin "$HRNG" --raw-samples=raw.bin -n 4k

# The daemon's modes run under their seccomp filter, which AddressSanitizer
# cannot live with (its thread set-up reads /proc/self/maps, its leak check
# needs ptrace): in a sanitizer build only the file modes above are swept.
if ldd "$HRNG" 2>/dev/null | grep -q libasan; then
	skip "daemon -F --once: AddressSanitizer cannot run under the seccomp filter"
	skip "EGD --no-kernel: AddressSanitizer cannot run under the seccomp filter"
	done_testing
	exit
fi

# The daemon's start-up: --once feeds the kernel one time and exits, so it
# needs root and a real /dev/random (it credits 64 bytes there).
if [ "$(id -u)" -eq 0 ] && [ -c /dev/random ]; then
	scenario "daemon -F --once" - "$HRNG" -F --once -v 1
else
	skip "daemon -F --once: needs root (RNDADDENTROPY)"
fi

# The EGD server, without the kernel.  It serves until stopped, so the
# counting run is stopped by SIGTERM once it has started up and slept in
# its loop: the count covers start-up and the first wait's poll set, and
# each of those failing must end the run with status 1 and its socket gone.
HAVEGE_RNGD_MOCK_ALLOC=count "$HRNG" -F --no-kernel --egd=unix:"$work/e.sock" 2>count.err &
pid=$!
i=0
while [ ! -S "$work/e.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
sleep 0.2
kill -TERM $pid; wait $pid
total=$(sed -n 's/^mockalloc: \([0-9][0-9]*\) allocations$/\1/p' count.err)
sweep "EGD --no-kernel" "$work/e.sock" "$total" "$HRNG" -F --no-kernel --egd=unix:"$work/e.sock"

done_testing
