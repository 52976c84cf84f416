/* testutil.h - shared by the cmocka test programs. */
#ifndef HRNG_TESTUTIL_H
#define HRNG_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>

/* Skip a whole program (no root, no KVM, ...): a TAP plan of zero tests
 * with the reason, which automake's tap-driver counts as one skip. */
#define SKIP_ALL(reason) do { \
		printf("1..0 # SKIP %s\n", (reason)); \
		exit(0); \
	} while (0)

#endif
