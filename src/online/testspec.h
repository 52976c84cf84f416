/* testspec.h - the -o online test specification (haveged's grammar).
 *
 * Grammar, case-insensitive: 't' opens the start-up group, 'c' the
 * continuous group (each resets its own group).  Inside a group 'a[n][w]'
 * selects AIS-31 procedure A (n one digit 1-8: test 5 runs on every 2^n-th
 * block), 'b[w]' procedure B; 'w' makes the procedure advisory.  An empty
 * spec or a bare "c" disables testing.  Anything else is an error naming
 * the offending character.
 */
#ifndef HRNG_TESTSPEC_H
#define HRNG_TESTSPEC_H

#include <stdbool.h>
#include <stddef.h>

struct testspec_group {
	bool a;            /* procedure A selected */
	bool a_advisory;   /* 'w' after a */
	unsigned a_shift;  /* n of a<n>; 0 = test 5 on every block */
	bool b;            /* procedure B selected */
	bool b_advisory;   /* 'w' after b */
};

struct testspec {
	struct testspec_group startup;     /* 't' */
	struct testspec_group continuous;  /* 'c' */
};

#define TESTSPEC_DAEMON_DEFAULT "ta8bcb"
#define TESTSPEC_FILE_DEFAULT   "ta8b"

/* Returns 0, or -EINVAL with one line in err naming the offending character. */
int testspec_parse(const char *text, struct testspec *spec, char *err, size_t errlen);
/* Canonical text of a parsed spec (for -r 1), e.g. "ta8bcb". */
void testspec_format(const struct testspec *spec, char *buf, size_t len);
bool testspec_any(const struct testspec_group *g);

#endif
