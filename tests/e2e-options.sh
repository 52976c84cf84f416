#!/bin/sh
# e2e-options.sh - the real binary's answer to bad command lines (TAP).
#
# Contract: a bad option or value gives exactly one line on stderr,
# "havege-rngd: <message naming the option and the value>", exit status 1,
# nothing on stdout, and no output file (not even a temporary one).  -h
# prints the usage on stderr and exits 1 (haveged's convention); -V prints
# a version line on stdout and exits 0.
#
# Every case runs in a fresh empty directory as
#   havege-rngd -f out.bin -n 1k ARGS...
# so that, were the bad value let through, file mode would write out.bin
# there.  A control case first checks that the same prefix with good values
# does write out.bin, so "no out.bin" means something.

. "${top_srcdir:-.}/tests/tap.sh"
set -f   # the words of the table are not patterns

[ -x "$HRNG" ] || skip_all "no binary at $HRNG"
command -v timeout >/dev/null 2>&1 || skip_all "timeout(1) not installed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/e2e-options.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# run DIR ARGS...: run the binary in DIR; stdout, stderr and the exit
# status go to $tmp/out, $tmp/err and $status.
run() {
	dir=$1; shift
	mkdir -p "$dir"
	status=0
	(cd "$dir" && exec timeout 10 "$HRNG" "$@") >"$tmp/out" 2>"$tmp/err" || status=$?
}

# check_bad N WORDS ARGS: one case of the table; prints one TAP line.
check_bad() {
	dir="$tmp/case$1"; words=$2; args=$3
	eval "set -- $args"
	run "$dir" -f out.bin -n 1k "$@"
	why=""
	[ "$status" -eq 1 ] || why="$why exit status $status, want 1;"
	[ -s "$tmp/out" ] && why="$why output on stdout;"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || why="$why stderr is not one line;"
	[ -z "$(ls -A "$dir")" ] || why="$why left files: $(ls -A "$dir");"
	line=$(head -n 1 "$tmp/err")
	case $line in
	"havege-rngd: "*) ;;
	*) why="$why no 'havege-rngd: ' prefix;" ;;
	esac
	for w in $words; do
		case $line in
		*"$w"*) ;;
		*) why="$why message lacks $w;" ;;
		esac
	done
	if [ -z "$why" ]; then
		ok "rejected: $args"
	else
		fail "rejected: $args"
		echo "#$why"
		echo "# stderr: $(head -c 300 "$tmp/err")"
	fi
	rm -rf "$dir"
}

# Control: good values, daemon-only options included (accepted and ignored
# in file mode), write out.bin of exactly 1 KiB.
run "$tmp/control" -f out.bin -n 1k -w 1024 -T 0 -e -C -F -p x.pid -b 64 -t 1 -v 0
if [ "$status" -eq 0 ] && [ -f "$tmp/control/out.bin" ] &&
   [ "$(wc -c <"$tmp/control/out.bin")" -eq 1024 ] && [ ! -s "$tmp/out" ]; then
	ok "control: good values write out.bin (1024 bytes)"
else
	fail "control: good values write out.bin (1024 bytes)"
	echo "# exit status $status; stderr: $(head -c 300 "$tmp/err")"
fi
rm -rf "$tmp/control"

# Bad cases, one a line: the words the message must contain (blank-
# separated), "|", then the arguments (shell words).  Every option appears,
# with each class of bad value: not a number, negative, trailing garbage,
# bad suffix, out of range, missing, a value given to a flag, unknown.
n=0
while IFS='|' read -r words args; do
	n=$((n + 1))
	check_bad "$n" "$words" "$args" </dev/null
done <<'EOF'
-b '0'|-b 0
-b '65537'|-b 65537
--buffer 'x'|--buffer=x
--buffer '-1'|--buffer -1
--buffer missing|--buffer
-d '12x'|-d 12x
--data '65537'|--data=65537
-d ' 8'|-d " 8"
-i 'abc'|-i abc
--inst '-4'|--inst -4
--inst '0x10'|--inst=0x10
-n '12x' k/m/g/t|-n 12x
--number '17t'|--number=17t
-n '16.0001t'|-n 16.0001t
-n '0.1'|-n 0.1
--number '1kk'|--number 1kk
-n '-1'|-n -1
-n '1e3'|-n 1e3
-n missing|-n
-o tq|-o tq
--onlinetest ta9|--onlinetest=ta9
-f ''|-f ""
--file ''|--file=
-p ''|-p ""
--pidfile missing|--pidfile
-r 'x'|-r x
--run '-1'|--run=-1
-r '4294967296'|-r 4294967296
-n '1k' -r 2|-r 2
-n '1k' --run 1|--run 1
-t '0'|-t 0
--threads '65'|--threads=65
-T '604801'|-T 604801
--time_interval '1.5'|--time_interval 1.5
-v '-2'|-v -2
--verbose '0x10'|--verbose=0x10
-v '65536'|-v 65536
-w '4097'|-w 4097
--write '1k'|--write 1k
-c 'open'|-c open
--command 'root='|--command=root=
-c missing|-c
--once '1'|--once=1
--Foreground 'yes'|--Foreground=yes
--no-command '1'|--no-command=1
--version 'x'|--version=x
--help 'x'|--help=x
--progress '1'|--progress=1
--raw-samples ''|--raw-samples=
--egd-rate '2g'|--egd-rate=2g
--egd-rate '4k/2g'|--egd-rate 4k/2g
--egd-rate '1000000001'|--egd-rate 1000000001
--egd-rate '4k/0'|--egd-rate=4k/0
--egd-rate 'x' BYTES[/BURST]|--egd-rate=x
--egd-rate missing|--egd-rate
--egd-per-uid '0'|--egd-per-uid=0
--egd-per-uid '1025'|--egd-per-uid 1025
--credit '9' 0..8|--credit=9
--credit 'x'|--credit x
--credit '-1'|--credit=-1
--egd 'udp:1' unix:PATH|--egd=udp:1
--egd 'unix:'|--egd unix:
--egd 'tcp:'|--egd=tcp:
--egd missing|--egd
--egd at most 8 'unix:i'|--egd=unix:a --egd=unix:b --egd=unix:c --egd=unix:d --egd=unix:e --egd=unix:f --egd=unix:g --egd=unix:h --egd=unix:i
--egd-clients '0' 1..1024|--egd-clients=0
--egd-clients '1025'|--egd-clients 1025
--egd-clients 'many'|--egd-clients=many
--egd-mode '0800' octal|--egd-mode=0800
--egd-mode '01000'|--egd-mode 01000
--egd-mode '-1'|--egd-mode=-1
--egd-group ''|--egd-group=
--egd-group missing|--egd-group
--no-kernel 'yes'|--no-kernel=yes
--assess '1'|--assess=1
--raw-samples 'raw.bin' -r 3|--raw-samples=raw.bin -r 3
-x unknown|-x
-x unknown|-Fx
--bogus unknown|--bogus=1
--n ambiguous|--n 5
--num '12x'|--num 12x
'stray'|stray
EOF

# Out-of-range values are refused by the parser in every mode, before any
# work: the daemon (which would feed the kernel), EGD only (which would
# open a socket) and file mode above.  Were one let through, the daemon
# would start: the timeout would end it (status 124) or the socket appear.
# bad_in_mode N WORDS ARGS...: one TAP line.
bad_in_mode() {
	dir="$tmp/mode$1"; words=$2; shift 2
	run "$dir" "$@"
	line=$(head -n 1 "$tmp/err")
	why=""
	[ "$status" -eq 1 ] || why="$why exit status $status, want 1;"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || why="$why stderr is not one line;"
	[ -z "$(ls -A "$dir")" ] || why="$why left files: $(ls -A "$dir");"
	for w in $words; do
		case $line in *"$w"*) ;; *) why="$why message lacks $w;" ;; esac
	done
	if [ -z "$why" ]; then
		ok "rejected before start: $*"
	else
		fail "rejected before start: $*"
		echo "#$why"
		echo "# stderr: $(head -c 300 "$tmp/err")"
	fi
	rm -rf "$dir"
}
bad_in_mode 1 "--egd-rate '2g'" -F -p x.pid --egd-rate=2g
bad_in_mode 2 "--egd-rate '2g'" -F --no-kernel --egd=unix:egd.sock --egd-rate=2g
bad_in_mode 3 "--egd-rate '1k/2g'" -F --no-kernel --egd=unix:egd.sock --egd-rate 1k/2g
bad_in_mode 4 "--egd-clients '1025'" -F --no-kernel --egd=unix:egd.sock --egd-clients=1025
bad_in_mode 5 "--egd-mode '0800'" -F --no-kernel --egd=unix:egd.sock --egd-mode=0800
bad_in_mode 6 "--credit '9'" -F -p x.pid --credit=9
bad_in_mode 7 "--egd-rate '2g'" --raw-samples=raw.bin -n 16 --egd-rate=2g
bad_in_mode 8 "--egd-rate '2g'" -r 1 --egd-rate=2g

# Control characters in a path or a name that a message quotes: still one
# line, the character escaped (\x0a), status 1, nothing left behind.
nl=$(printf '\nx'); nl=${nl%x}
# escaped N WHAT ARGS...: one TAP line.
escaped() {
	what=$2; dir="$tmp/esc$1"; shift 2
	run "$dir" "$@"
	if [ "$status" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
	   grep -qF '\x0a' "$tmp/err" && [ -z "$(ls -A "$dir")" ]; then
		ok "a newline in $what: one line, escaped"
	else
		fail "a newline in $what: one line, escaped"
		echo "# exit status $status; stderr: $(head -c 300 "$tmp/err")"
	fi
	rm -rf "$dir"
}
escaped 1 "--egd-group" -F --no-kernel --egd=unix:"$tmp/esc.sock" --egd-group="x${nl}y"
escaped 2 "an EGD socket path" -F --no-kernel --egd=unix:"$tmp/no${nl}dir/s.sock"
escaped 3 "an EGD listener spec" -F --no-kernel --egd="tcp:1${nl}2"
# The file sink of -f, reached without the generator's start-up tests.
escaped 4 "an output path" -n 16 --raw-samples="$tmp/no${nl}dir/raw.bin"

# -h and --help: usage on stderr, exit 1, nothing on stdout, no file.
for h in -h --help; do
	run "$tmp/help" -f out.bin -n 1k "$h"
	if [ "$status" -eq 1 ] && [ ! -s "$tmp/out" ] &&
	   grep -q -- "--number" "$tmp/err" && grep -q -- "--raw-samples" "$tmp/err" &&
	   [ -z "$(ls -A "$tmp/help")" ]; then
		ok "$h: usage on stderr, exit 1"
	else
		fail "$h: usage on stderr, exit 1"
		echo "# exit status $status; stdout $(wc -c <"$tmp/out") bytes"
	fi
	rm -rf "$tmp/help"
done

# -h and the man page agree: every long option -h lists is documented
# there (test_options checks that -h lists the whole table, with defaults).
run "$tmp/help" -h
names=$(sed -n 's/^ *\(-[A-Za-z], \)\{0,1\}--\([A-Za-z_-]*\).*/\2/p' "$tmp/err")
undocumented=""
for name in $names; do
	grep -qF -- "\\-\\-$(printf '%s' "$name" | sed 's/-/\\-/g')" "$top_srcdir/doc/havege-rngd.8" ||
		undocumented="$undocumented --$name"
done
check "-h lists $(echo $names | wc -w) long options, each in havege-rngd(8)${undocumented:+; not:$undocumented}" \
	sh -c '[ -n "$1" ] && [ -z "$2" ]' _ "$names" "$undocumented"
rm -rf "$tmp/help"

# -V and --version: a version line on stdout, exit 0, no file.
version=""
if [ -n "${top_builddir:-}" ] && [ -f "$top_builddir/config.h" ]; then
	version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")
fi
for v in -V --version; do
	run "$tmp/version" -f out.bin -n 1k "$v"
	line=$(head -n 1 "$tmp/out")
	if [ "$status" -eq 0 ] && [ -z "$(ls -A "$tmp/version")" ] &&
	   echo "$line" | grep -q 'havege-rngd.*[0-9][0-9]*\.[0-9][0-9]*' &&
	   { [ -z "$version" ] || echo "$line" | grep -qF -- "$version"; }; then
		ok "$v: version line on stdout, exit 0"
	else
		fail "$v: version line on stdout, exit 0"
		echo "# exit status $status; stdout: $line"
	fi
	rm -rf "$tmp/version"
done

done_testing
