/* testutil.h - shared by the cmocka test programs. */
#ifndef HRNG_TESTUTIL_H
#define HRNG_TESTUTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

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

/* VmLck of this process in KiB, or -1 if /proc does not say. */
static inline long locked_kib(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "VmLck: %ld kB", &kib) == 1)
			break;
	fclose(fp);
	return kib;
}

/* Whether mlock() locks anything in this process: the sanitizers' run-time
 * libraries (AddressSanitizer, ThreadSanitizer) replace it with a no-op.
 * Needs <sys/mman.h> and <stdbool.h>. */
static inline bool mlock_works(void)
{
	size_t n = 64 << 10;
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long before = locked_kib();
	bool ok;

	if (p == MAP_FAILED || before < 0)
		return false;
	ok = mlock(p, n) == 0 && locked_kib() >= before + 64;
	munmap(p, n);
	if (!ok)
		printf("# mlock() locks nothing here (a sanitizer build?)\n");
	return ok;
}

#endif
