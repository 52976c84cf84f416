/* mockalloc.c - allocation failure injection (mock builds only).
 *
 * Functions offered (see mockalloc.h):
 *   mockalloc_fail_now()  whether the allocation being made must fail
 *   __wrap_malloc() and its siblings, and __wrap_pthread_create(): what
 *       -Wl,--wrap=malloc (and so on) turns our code's calls into; each
 *       asks mockalloc_fail_now() and otherwise calls the real function
 *
 * Only references from our own objects are wrapped (that is how --wrap
 * works), so the C library and libgcrypt allocate as usual: the seam tests
 * our error paths, not theirs.  The count is shared by all threads.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mockalloc.h"

#ifdef HRNG_MOCK_TIMER

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
int __wrap_asprintf(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int __real_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);

static atomic_ulong made;
static unsigned long fail_at;    /* 0: never */

static void print_count(void)
{
	fprintf(stderr, "mockalloc: %lu allocations\n", (unsigned long)atomic_load(&made));
}

/* Read HAVEGE_RNGD_MOCK_ALLOC once, on the first allocation (getenv does
 * not allocate). */
static void setup(void)
{
	static atomic_int done;
	const char *v;
	char *end;

	if (atomic_exchange(&done, 1))
		return;
	v = getenv("HAVEGE_RNGD_MOCK_ALLOC");
	if (!v)
		return;
	if (strcmp(v, "count") == 0) {
		atexit(print_count);
	} else if (strncmp(v, "fail:", 5) == 0) {
		fail_at = strtoul(v + 5, &end, 10);
		if (*end)
			fail_at = 0;
	}
}

int mockalloc_fail_now(void)
{
	unsigned long n;

	setup();
	n = atomic_fetch_add(&made, 1) + 1;
	if (fail_at && n == fail_at) {
		errno = ENOMEM;
		return 1;
	}
	return 0;
}

void *__wrap_malloc(size_t n)
{
	return mockalloc_fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
	return mockalloc_fail_now() ? NULL : __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n)
{
	return mockalloc_fail_now() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = __wrap_malloc(n);

	return d ? memcpy(d, s, n) : NULL;
}

int __wrap_asprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	*out = n < 0 ? NULL : __wrap_malloc((size_t)n + 1);
	if (!*out)
		return -1;
	va_start(ap, fmt);
	vsnprintf(*out, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return n;
}

/* A thread start is an allocation too (its stack is mapped): EAGAIN is
 * what pthread_create() returns when that cannot be had. */
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
	return mockalloc_fail_now() ? EAGAIN : __real_pthread_create(t, a, fn, arg);
}

#endif /* HRNG_MOCK_TIMER */
