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

/* A fresh temporary directory per test: test_dir, made by tmpdir_setup()
 * and removed with everything in it by tmpdir_teardown() (cmocka's
 * setup/teardown signature). */
#include <string.h>
#include <unistd.h>

static char test_dir[64];

static inline int tmpdir_setup(void **state)
{
	(void)state;
	strcpy(test_dir, "/tmp/hrng-test.XXXXXX");
	return mkdtemp(test_dir) ? 0 : -1;
}

static inline int tmpdir_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
