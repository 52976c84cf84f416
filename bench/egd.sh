#!/bin/bash
# egd.sh - the EGD server under load: 1, 16 and 256 concurrent clients on
# a loopback UNIX socket, each asking for 64 bytes at a time with 0x02 (a
# blocking read, as QEMU's rng-egd does), one request outstanding per
# client.  Reports aggregate and per-client throughput, request latency
# (median, p99) and the server's peak RSS, and checks the targets: p99
# latency under 1 ms at 16 clients, no client starved at 256.
#
# Usage: bench/egd.sh [BUILDDIR]      (default: the current directory)
# BUILDDIR must hold tests/qemu/egd-serve and bench/egd-client (make
# tests/qemu/egd-serve bench/egd-client).  Environment: SECONDS_PER_ROW
# (default 3), CLIENTS (default "1 16 256"), LEN (default 64), SOURCE
# ("gen": the real generator, the default; "-": a counter stream, which
# measures the server alone).
#
# The server is the daemon itself (SERVER=daemon, the default):
# havege-rngd -F --no-kernel --egd=unix:SOCK, with its default online tests
# (-o ta8bcb).  SERVER=serve uses tests/qemu/egd-serve instead, the EGD
# module alone in a poll loop with SOURCE as its byte source.  Client threads and
# the server share the machine's CPUs, so with more clients than CPUs the
# latency includes the clients' own scheduling.
#
# Exit 0 whatever the targets say; 1 if a run fails.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u
export LC_ALL=C

die() { echo "${0##*/}: $*" >&2; exit 1; }

build=${1:-.}
serve=$build/tests/qemu/egd-serve
daemon=$build/havege-rngd
client=$build/bench/egd-client
server=${SERVER:-daemon}
if [ "$server" = daemon ]; then
	[ -x "$daemon" ] || die "no $daemon (make havege-rngd)"
else
	[ -x "$serve" ] || die "no $serve (make tests/qemu/egd-serve)"
fi
[ -x "$client" ] || die "no $client (make bench/egd-client)"
[ -x /usr/bin/time ] || die "missing /usr/bin/time (package time)"
secs=${SECONDS_PER_ROW:-3}
rows=${CLIENTS:-1 16 256}
len=${LEN:-64}
source=${SOURCE:-gen}

tmp=$(mktemp -d) || die "cannot create a temporary directory"
spid=""
trap '[ -n "$spid" ] && kill "$spid" 2>/dev/null; rm -rf "$tmp"' EXIT

# run_row N: a fresh server, N clients for $secs s; sets LINE and RSS_KB.
run_row() {
	local n=$1 i=0
	rm -f "$tmp/sock" "$tmp/ready"
	if [ "$server" = daemon ]; then
		/usr/bin/time -f %M -o "$tmp/rss" "$daemon" -F --no-kernel --egd=unix:"$tmp/sock" \
			--egd-clients=$((n + 8)) --egd-per-uid=$((n + 8)) 2>"$tmp/serve.err" &
		local tpid=$!
		while [ $i -lt 300 ] && [ ! -S "$tmp/sock" ]; do sleep 0.05; i=$((i + 1)); done
		spid=$(pgrep -P "$tpid")
	else
		/usr/bin/time -f %M -o "$tmp/rss" "$serve" "$tmp/sock" "$source" $((secs + 60)) \
			>"$tmp/ready" 2>"$tmp/serve.err" &
		while [ $i -lt 300 ] && ! grep -q ready "$tmp/ready"; do sleep 0.05; i=$((i + 1)); done
		spid=$(awk '/ready/ { print $2 }' "$tmp/ready")
	fi
	[ -n "$spid" ] || { cat "$tmp/serve.err" >&2; die "the server did not start"; }
	LINE=$("$client" "$tmp/sock" "$n" "$secs" "$len") || die "the client failed with $n clients"
	kill "$spid"
	wait
	spid=""
	RSS_KB=$(tail -n 1 "$tmp/rss")
}

field() { echo "$LINE" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

echo "machine: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cpus, Linux $(uname -r)"
echo "server: $server$( [ "$server" = daemon ] && echo " (havege-rngd --no-kernel --egd, -o ta8bcb)" || echo ", source $source"); $len-byte 0x02 requests; $secs s per row"
printf '%8s %10s %11s %26s %10s %10s %9s %8s\n' clients req/s "aggr kB/s" \
	"per-client kB/s min/med/max" "lat med us" "lat p99 us" "RSS KiB" starved
verdict=""
for n in $rows; do
	run_row "$n"
	printf '%8s %10s %11s %26s %10s %10s %9s %8s\n' "$n" "$(field req_per_s)" \
		"$(field aggregate_kBps)" \
		"$(field client_kBps_min)/$(field client_kBps_median)/$(field client_kBps_max)" \
		"$(field lat_median_us)" "$(field lat_p99_us)" "$RSS_KB" "$(field starved)"
	if [ "$n" = 16 ]; then
		p99=$(field lat_p99_us)
		[ "$p99" -lt 1000 ] && r=met || r=MISSED
		verdict="$verdict
target p99 < 1000 us at 16 clients: $p99 us, $r"
	fi
	if [ "$n" = 256 ]; then
		st=$(field starved)
		[ "$st" -eq 0 ] && r=met || r=MISSED
		verdict="$verdict
target no client starved at 256 (each >= 1/4 of the median): $st starved, $r"
	fi
done
echo "${verdict#?}"
