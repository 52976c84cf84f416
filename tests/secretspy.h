/* secretspy.h - watch the secret allocator from a test program.
 *
 * A test program linked with -Wl,--wrap=secret_alloc -Wl,--wrap=secret_free
 * (Makefile.am: spy_ldflags) and including this header once sees every
 * output buffer our code maps (util.c secret_alloc(): rings, walk buffers,
 * timer deltas, seed samples, conditioner state, EGD queues, the file
 * sink's chunk) while it lives:
 *   spy_holds(p, n)      whether n bytes equal to p's are in a live buffer
 *                        (output handed out must not linger in them)
 *   spy_live(i, &p, &n)  the i-th live buffer, false past the last
 *   spy_dirty_frees()    how many buffers were unmapped with a byte not
 *                        wiped (util.h: the caller wipes before freeing)
 *   spy_dontdump(p)      whether /proc/self/smaps marks the mapping holding
 *                        p "dd" (MADV_DONTDUMP: left out of core dumps)
 */
#ifndef HRNG_SECRETSPY_H
#define HRNG_SECRETSPY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void *__real_secret_alloc(size_t n);
void __real_secret_free(void *p, size_t n);
void *__wrap_secret_alloc(size_t n);
void __wrap_secret_free(void *p, size_t n);

enum { SPY_MAX = 512 };

static struct {
	pthread_mutex_t lock;
	struct { uint8_t *p; size_t n; } buf[SPY_MAX];
	unsigned long dirty;
} spy = { .lock = PTHREAD_MUTEX_INITIALIZER };

void *__wrap_secret_alloc(size_t n)
{
	uint8_t *p = __real_secret_alloc(n);
	unsigned i;

	if (!p)
		return NULL;
	pthread_mutex_lock(&spy.lock);
	for (i = 0; i < SPY_MAX && spy.buf[i].p; i++)
		;
	if (i < SPY_MAX) {
		spy.buf[i].p = p;
		spy.buf[i].n = n;
	}
	pthread_mutex_unlock(&spy.lock);
	if (i == SPY_MAX)
		fprintf(stderr, "secretspy: more than %d live buffers\n", SPY_MAX), abort();
	return p;
}

static bool spy_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

void __wrap_secret_free(void *p, size_t n)
{
	unsigned i;

	if (!p)
		return;
	pthread_mutex_lock(&spy.lock);
	for (i = 0; i < SPY_MAX; i++) {
		if (spy.buf[i].p == p) {
			if (!spy_zero(p, spy.buf[i].n))
				spy.dirty++;
			spy.buf[i].p = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&spy.lock);
	__real_secret_free(p, n);
}

static inline bool spy_live(unsigned i, uint8_t **p, size_t *n)
{
	unsigned k, seen = 0;
	bool found = false;

	pthread_mutex_lock(&spy.lock);
	for (k = 0; k < SPY_MAX && !found; k++) {
		if (spy.buf[k].p && seen++ == i) {
			*p = spy.buf[k].p;
			*n = spy.buf[k].n;
			found = true;
		}
	}
	pthread_mutex_unlock(&spy.lock);
	return found;
}

static inline bool spy_holds(const void *needle, size_t len)
{
	uint8_t *p;
	size_t n;
	unsigned i;

	for (i = 0; spy_live(i, &p, &n); i++)
		if (memmem(p, n, needle, len))
			return true;
	return false;
}

static inline unsigned long spy_dirty_frees(void)
{
	unsigned long d;

	pthread_mutex_lock(&spy.lock);
	d = spy.dirty;
	pthread_mutex_unlock(&spy.lock);
	return d;
}

/* The VmFlags line of the smaps entry whose range holds p. */
static inline bool spy_dontdump(const void *p)
{
	FILE *fp = fopen("/proc/self/smaps", "r");
	char line[512];
	unsigned long a = (unsigned long)(uintptr_t)p, lo, hi;
	bool inside = false, dd = false;

	if (!fp)
		return false;
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			inside = a >= lo && a < hi;
			continue;
		}
		if (inside && strncmp(line, "VmFlags:", 8) == 0) {
			dd = strstr(line, " dd") != NULL;
			break;
		}
	}
	fclose(fp);
	return dd;
}

#endif
