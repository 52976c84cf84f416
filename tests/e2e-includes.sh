#!/bin/sh
# e2e-includes.sh - the modules of src/ include one another without a
# cycle (issue 14: timer.c and collector.c once included each other for
# the test seam, and log and util did too).  scripts/include-cycles reads
# the #include lines and asks tsort(1).  A fraction of a second.
. "$top_srcdir/tests/tap.sh"

if out=$(sh "$top_srcdir/scripts/include-cycles" "$top_srcdir/src" 2>&1); then
	ok "no include cycle among the modules of src/ ($out)"
else
	fail "an include cycle in src/: $(echo "$out" | tr '\n' ' ')"
fi
done_testing
