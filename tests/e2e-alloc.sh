#!/bin/sh
# e2e-alloc.sh - allocation failure at start-up (a --enable-mock-timer build
# only: src/seams/seams.c; thread starts and the secret allocator's pages
# count as allocations), and in the EGD server after start-up, when a
# client connects.  For each way of running the program, count the
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
pid=""
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
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

# The EGD server, without the kernel, and a client after start-up.  It
# serves until stopped, so the counting run serves one client (its reply
# shows the loop has run, with no sleep to guess at) and is then stopped:
# the count covers start-up, the loop's poll set, and what a client's
# connection allocates (its state and its output queue).  Each of those
# failing in turn, with a client connecting once the daemon says it
# serves: a start-up allocation ends the run with status 1, one line and
# the socket gone; a client's ends that connection only (one line, the
# daemon goes on: a second client is served, SIGTERM gives 143).
if command -v python3 >/dev/null 2>&1; then
	client_py=$(cd "$top_srcdir" && pwd)/tests/egd/client.py
	egd_client() { timeout 20 python3 "$client_py" "$work/e.sock" read 64 2>&1; }
	# egd_run N [CLIENTS]: the daemon with allocation N failing (or
	# counting: N=count), a client once it serves and then another (only
	# one if CLIENTS is 1); sets $st, $first, $second, $started
	egd_run() {
		rm -f "$work/e.sock"
		if [ "$1" = count ]; then mode=count; else mode=fail:$1; fi
		HAVEGE_RNGD_MOCK_ALLOC=$mode "$HRNG" -F --no-kernel --egd=unix:"$work/e.sock" 2>err.txt &
		pid=$!
		i=0
		while kill -0 "$pid" 2>/dev/null && ! grep -q "serving EGD only" err.txt &&
		      [ $i -lt 600 ]; do
			sleep 0.05; i=$((i + 1))
		done
		first="" second="" started=0
		if kill -0 "$pid" 2>/dev/null && grep -q "serving EGD only" err.txt; then
			started=1
			first=$(egd_client)
			[ "${2:-2}" -eq 1 ] || ! kill -0 "$pid" 2>/dev/null || second=$(egd_client)
			kill -TERM "$pid" 2>/dev/null
		elif kill -0 "$pid" 2>/dev/null; then
			# neither serving nor ended in 30 s: killed, so the wait
			# below ends and the status (137) fails the check
			echo "# $mode: neither serving nor ended after 30 s; killed"
			kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid"; st=$?; pid=""
	}
	egd_run count 1
	total=$(sed -n 's/^mockalloc: \([0-9][0-9]*\) allocations$/\1/p' err.txt)
	egd_run count 2
	total2=$(sed -n 's/^mockalloc: \([0-9][0-9]*\) allocations$/\1/p' err.txt)
	# what one client's connection costs: the second client's share
	per_client=$(( ${total2:-0} - ${total:-0} ))
	check "EGD --no-kernel: allocations counted (${total:-none} with one client, ${total2:-none} with two)" \
		[ -n "$total" ] && [ -n "$total2" ] && [ "$per_client" -ge 1 ]
	bad=0 n=1 in_loop=0
	while [ -n "$total" ] && [ "$n" -le "$total" ]; do
		egd_run "$n"
		oom=$(grep -c -E 'out of memory|Cannot allocate memory' err.txt)
		other=$(grep -v -E 'out of memory|Cannot allocate memory|serving EGD only|stopped by signal|^mockalloc:' err.txt | wc -l)
		if [ "$oom" -ne 1 ] || [ "$other" -ne 0 ]; then
			echo "# fail:$n: expected one out-of-memory line, got:"; sed 's/^/#   /' err.txt
			bad=$((bad + 1))
		elif [ -e "$work/e.sock" ]; then
			echo "# fail:$n: socket left behind"; bad=$((bad + 1))
		elif [ "$started" -eq 0 ] || [ "$st" -eq 1 ]; then
			[ "$st" -eq 1 ] || { echo "# fail:$n: status $st"; bad=$((bad + 1)); }
		else
			in_loop=$((in_loop + 1))
			case $first in "read 64 "*)
				echo "# fail:$n: the first client was served"; bad=$((bad + 1)) ;;
			esac
			case $second in "read 64 "*) ;; *)
				echo "# fail:$n: the second client not served: $second"; bad=$((bad + 1)) ;;
			esac
			[ "$st" -eq 143 ] || { echo "# fail:$n: status $st after SIGTERM"; bad=$((bad + 1)); }
		fi
		n=$((n + 1))
	done
	check "EGD --no-kernel: each of ${total:-?} allocations failing (start-up or a client's) gives one line, status 1 or the daemon serving on" \
		[ "$bad" -eq 0 ]
	check "EGD --no-kernel: $in_loop of them were a client's, each closing that connection only" \
		[ "$in_loop" -ge 1 ] && [ "$in_loop" -eq "$per_client" ]
else
	skip "EGD --no-kernel: python3 not installed (the client)"
fi

done_testing
