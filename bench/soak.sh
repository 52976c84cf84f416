#!/bin/bash
# soak.sh - the daemon for DURATION seconds under load: the real feeder on
# a simulated old pool drained without pause, and the EGD server with
# CLIENTS clients; a stuck timer injected for FAIL seconds in the middle.
# Samples the soak process's VmRSS and open descriptors every 10 s and
# checks that both stay flat, that nothing is credited once the failure is
# detected, and that credit resumes after it.
#
# Usage: bench/soak.sh [BUILDDIR]           (default: the current directory)
# Environment: DURATION (default 600), CLIENTS (default 64), FAIL (default
# 60; at most a fifth of DURATION), RSS_BOUND_KB (default 1024).
#
# The soak program (bench/soak.c) must be built with --enable-mock-timer,
# the seam that lets it stick the timer mid-run.  If BUILDDIR is not such
# a build, a mock-timer build is configured and made in BUILDDIR/soak-build
# (bench/soak and bench/egd-client only).
#
# The clients: half are bench/egd-client (0x02 64, blocking, as QEMU),
# restarted every 10 s so connections come and go; three eighths are
# "mixed" (mostly 0x01, some 0x02, 0x00 and 0x04, paced); one eighth are
# slow readers that ask for 261 KB at once and read a byte every 100 ms,
# so the server's socket buffers and queues for them fill and stay full.
# Every client reconnects while the daemon restarts.
#
# Exit 0 when every property passed, 1 otherwise or if a run failed.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u
export LC_ALL=C

die() { echo "${0##*/}: $*" >&2; exit 1; }

srcdir=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-.}" && pwd) || die "no build directory ${1:-.}"
duration=${DURATION:-600}
clients=${CLIENTS:-64}
fail=${FAIL:-60}
rss_bound=${RSS_BOUND_KB:-1024}
[ "$duration" -ge 50 ] || die "DURATION must be at least 50 s"
[ "$clients" -ge 8 ] || die "CLIENTS must be at least 8"
[ "$fail" -le $((duration / 5)) ] || fail=$((duration / 5))
fstart=$((duration / 2 - fail / 2))
# "After warm-up": the 2nd minute, or a fifth of a short run.
warm=120
[ "$duration" -ge 360 ] || warm=$((duration / 5))

# --- a mock-timer build
mock=$build
if ! grep -q '^#define HRNG_MOCK_TIMER 1' "$build/config.h" 2>/dev/null; then
	mock=$build/soak-build
	mkdir -p "$mock" || die "cannot create $mock"
	if [ ! -f "$mock/Makefile" ]; then
		echo "configuring a --enable-mock-timer build in $mock"
		(cd "$mock" && "$srcdir/configure" -q --enable-mock-timer) ||
			die "configure --enable-mock-timer failed"
	fi
fi
if ! make -s -C "$mock" -j2 bench/soak bench/egd-client >/dev/null 2>&1; then
	[ -x "$mock/bench/soak" ] && [ -x "$mock/bench/egd-client" ] ||
		die "cannot make bench/soak and bench/egd-client in $mock"
	echo "warning: make failed in $mock; using the programs already there" >&2
fi
soak=$mock/bench/soak
client=$mock/bench/egd-client

tmp=$(mktemp -d) || die "cannot create a temporary directory"
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
sock=$tmp/egd.sock

nblock=$((clients / 2))
nslow=$((clients / 8))
nmixed=$((clients - nblock - nslow))
maxcl=$((clients + 16))     # room for connections a restart leaves behind

t0=$(date +%s)
"$soak" -S "$sock" -s "$duration" -f "$fstart,$fail" -n "$maxcl" \
	>"$tmp/soak.out" 2>"$tmp/soak.err" &
spid=$!
pids="$spid"
i=0
while [ $i -lt 600 ] && [ ! -S "$sock" ] && kill -0 "$spid" 2>/dev/null; do
	sleep 0.1; i=$((i + 1))
done
[ -S "$sock" ] || { cat "$tmp/soak.err" >&2; die "the soak program did not start"; }

left=$((duration - 5))
"$soak" -C "$sock" -k mixed -n "$nmixed" -s "$left" >"$tmp/mixed.out" 2>&1 &
pids="$pids $!"
"$soak" -C "$sock" -k slow -n "$nslow" -s "$left" >"$tmp/slow.out" 2>&1 &
pids="$pids $!"
# egd-client runs for a fixed time and gives up on a dropped connection:
# run it in 10 s rounds, again after a failed one, until near the end.
(
	cpid=""
	trap '[ -n "$cpid" ] && kill "$cpid" 2>/dev/null; exit 0' TERM
	end=$(($(date +%s) + duration - 15))
	while [ "$(date +%s)" -lt "$end" ]; do
		"$client" "$sock" "$nblock" 10 64 >>"$tmp/block.out" 2>/dev/null &
		cpid=$!
		if wait "$cpid"; then echo ok; else echo failed; sleep 1; fi >>"$tmp/block.runs"
		cpid=""
	done
) &
pids="$pids $!"

echo "machine: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cpus, Linux $(uname -r)"
echo "soak: ${duration} s, $clients EGD clients ($nblock blocking egd-client, $nmixed mixed, $nslow slow readers),"
echo "      simulated old pool drained at 256 B/s, -w 2048; timer stuck from $fstart s for $fail s"
echo "injected: a stuck timer, a PERMANENT health failure by design (the RCT's 2^-60 cut-off, or"
echo "      3 intermittent failures in a row): the feeder stops crediting and exits 1; the soak then"
echo "      restarts it as systemd does (Restart=always, RestartSec=5s) until its start-up tests pass"

# --- sampling, every 10 s until the soak program ends by itself; a
# second after each of its own ticks (t0 is when it started), so the
# tick of the same 10 s mark is there to read
: >"$tmp/samples"
n=1
while kill -0 "$spid" 2>/dev/null; do
	while [ "$(date +%s)" -lt $((t0 + 10 * n + 1)) ] && kill -0 "$spid" 2>/dev/null; do
		sleep 0.5
	done
	kill -0 "$spid" 2>/dev/null || break
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$spid/status" 2>/dev/null)
	fds=$(ls "/proc/$spid/fd" 2>/dev/null | wc -l)
	tick=$(grep '^tick ' "$tmp/soak.out" | tail -n 1)
	[ -n "$rss" ] && echo "$((10 * n)) $rss $fds $tick" >>"$tmp/samples"
	n=$((n + 1))
done
wait "$spid"
sst=$?
pids=${pids#"$spid"}
wait 2>/dev/null

val() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/soak.out"; }
phase_at() {
	if [ "$1" -lt "$fstart" ]; then echo before
	elif [ "$1" -lt $((fstart + fail)) ]; then echo window
	else echo after; fi
}
tf() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# --- the tables
echo
printf '%6s %-7s %9s %5s %14s %14s\n' "t (s)" phase "RSS KiB" fds "credited bits" "EGD bytes"
while read -r t rss fds rest; do
	printf '%6s %-7s %9s %5s %14s %14s\n' "$t" "$(phase_at "$t")" "$rss" "$fds" \
		"$(tf "$rest" credited)" "$(tf "$rest" served)"
done <"$tmp/samples"
echo
grep '^event ' "$tmp/soak.out" | awk '
	/restart refused/ { if (!r++) first = $0; last = $0; next }
	{ if (r) { print first; if (r > 1) printf "  ... %d refused in all, the last:\n%s\n", r, last; r = 0 } print }
	END { if (r) print first }'
echo

# --- figures
rss_first=$(awk 'NR == 1 { print $2 }' "$tmp/samples")
rss_last=$(awk 'END { print $2 }' "$tmp/samples")
rss_max=$(awk '$2 > m { m = $2 } END { print m }' "$tmp/samples")
rss_warm=$(awk -v w="$warm" '$1 >= w { print $2; exit }' "$tmp/samples")
fds_max=$(awk -v w="$warm" '$1 >= w && $3 > m { m = $3 } END { print m + 0 }' "$tmp/samples")
# Descriptors besides client connections, counted by the soak program
# itself at each tick (same instant as its client count).
other=$(awk -v w="$warm" '$1 == "tick" {
	for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	sub(/^t=/, "", $2)
	if (f["t"] + 0 >= w && f["clients"] > 0) print f["fds"] - f["clients"] }' "$tmp/soak.out")
other_warm=$(echo "$other" | head -n 1)
other_max=$(echo "$other" | sort -n | tail -n 1)
growth=$(( ${rss_last:-0} - ${rss_warm:-0} ))
brun=$(grep -c ok "$tmp/block.runs" 2>/dev/null)
bfail=$(grep -c failed "$tmp/block.runs" 2>/dev/null)
breq=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^requests=/) { sub(/requests=/, "", $i); s += $i } }
	END { print s + 0 }' "$tmp/block.out" 2>/dev/null)

echo "RSS KiB: first $rss_first, at ${warm} s $rss_warm, last $rss_last, max $rss_max; growth ${warm} s -> end: $growth KiB"
echo "descriptors (/proc): max after ${warm} s $fds_max; besides clients (own count at each tick): $other_warm at ${warm} s, max $other_max"
echo "credit, bits: before the window $(val credit_before_bits); in it $(val credit_window_bits)" \
	"(after detection $(val credit_window_after_detection_bits)); after it $(val credit_after_bits)"
echo "failure: detected $(val detect_ms) ms after injection; health failure bits $(val health_failure_bits);" \
	"restarts $(val restarts), $(val restarts_refused) refused by the start-up tests"
echo "consumer starved $(val blocked_ms) ms in all; refills $(val refills); RNDADDENTROPY $(val add_calls)"
echo "EGD: $(val egd_bytes_served) bytes served, $(val egd_requests) requests, $(val egd_accepted) connections" \
	"accepted, $(val egd_refused) refused, $(val egd_protocol_errors) protocol errors, queue peak $(val egd_queue_peak) B"
echo "egd-client: $brun rounds of 10 s completed, $bfail failed (a restart, or no answer within its 2 s connect retries); $breq blocking requests answered"
sed 's/^/soak clients: /' "$tmp/mixed.out" "$tmp/slow.out"
echo

# --- verdicts
ok=0
verdict() {     # verdict NAME CONDITION-STATUS DETAIL
	if [ "$2" -eq 0 ]; then echo "PASS $1: $3"; else echo "FAIL $1: $3"; ok=1; fi
}
[ "$sst" -eq 0 ]; verdict "daemon ran to the end" $? "soak status $sst, $(val unexpected_stops) stops outside the window"
[ -n "$rss_warm" ] && [ "$growth" -le "$rss_bound" ]
verdict "RSS flat" $? "grew $growth KiB from ${warm} s to the end (bound $rss_bound KiB)"
[ -n "$other_warm" ] && [ "$other_max" -le "$other_warm" ] && [ "$fds_max" -le $((other_warm + maxcl)) ]
verdict "descriptors flat" $? "besides clients: $other_warm at ${warm} s, at most $other_max later; total at most $fds_max (bound $other_warm + $maxcl clients)"
d=$(val detect_ms); late=$(val credit_window_after_detection_bits)
# Detection waits for the feeder to need samples taken after the
# injection: seeds already tested and buffered are given first, so the
# bound is the window itself, not a fixed time.
awk -v d="$d" -v f="$fail" 'BEGIN { exit !(d >= 0 && d < f * 1000) }' && [ "$late" = 0 ] &&
	[ "$(val restarts_refused)" -gt 0 ]
verdict "zero credit during the failure" $? "detected ${d} ms into the ${fail} s window; $late bits credited from then to its end, every restart in it refused by the start-up tests; the $(val credit_window_bits) bits before detection came from seeds tested and buffered before the injection"
[ "$(val credit_after_bits)" -gt 0 ]
verdict "credit resumes after the window" $? "$(val credit_after_bits) bits after it"
exit $ok
