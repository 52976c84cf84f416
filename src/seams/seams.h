/* seams.h - the test seams: a mock timer, a mock walk, failing allocations,
 * a seccomp probe.
 *
 * They exist only in a build configured with --enable-test-seams
 * (--enable-mock-timer is its old name, kept as an alias), which defines
 * HRNG_TEST_SEAMS; such a build says so in --version and is never for
 * production.  In any other build this header declares nothing but the
 * inline no-ops the walk and the allocator call, and seams.c is empty.
 *
 * The mock timer (read by timer_now(), timer.h; its forms are listed
 * there): timer_mock_set() chooses one, returning 0 or -EINVAL if spec is
 * not one of those forms; timer_mock_read() is what timer_now() returns.
 * timer_mock_started() is called by gen_new() once start-up passed, and
 * by --raw-samples once calibration did: it applies the environment
 * variable HAVEGE_RNGD_MOCK_TIMER_LATER, if set (the timer goes bad after
 * start-up, whatever the number of reads calibration took).
 *
 * The mock walk: collector_mock_set() spoils the walk output of every
 * later fill (never the deltas): "none", "const" (a constant word),
 * "bias" (each bit a one with probability 1/4), "bias-after:N" (bias once
 * N more bytes of walk output have gone by, from the first whole fill
 * after that), "period:N:M" (from walk byte N, for M bytes, a 100-byte
 * pattern repeats).  Returns 0, or -EINVAL for an unknown spec.
 * seam_walk_spoil() is what collector_fill() calls on each fill.
 *
 * Failing allocations: every allocation our code makes (malloc, calloc,
 * realloc, strdup, asprintf, pthread_create, and the mmap() of the secret
 * allocator) is linked with -Wl,--wrap (see Makefile.am) to a wrapper here
 * that may fail it.  The environment variable HAVEGE_RNGD_MOCK_ALLOC
 * chooses:
 *   fail:N   the N-th allocation (counting from 1) fails, no other does
 *   count    nothing fails; the number made is printed on stderr at exit
 *
 * The seccomp probe: seam_probe_filter(), called by privs_seccomp() once
 * the filter is in, makes two calls the filter must refuse when
 * HAVEGE_RNGD_MOCK_SECCOMP=probe, and logs what each got.
 *
 * seams_init() applies HAVEGE_RNGD_MOCK_TIMER and HAVEGE_RNGD_MOCK_WALK
 * (timer_init() calls it at start-up); returns 0, or -EINVAL with the
 * bad value logged.
 */
#ifndef HRNG_SEAMS_H
#define HRNG_SEAMS_H

#include <stddef.h>
#include <stdint.h>

#ifdef HRNG_TEST_SEAMS
int seams_init(void);

uint64_t timer_mock_read(void);
int timer_mock_set(const char *spec);
void timer_mock_started(void);

int collector_mock_set(const char *spec);
void seam_walk_spoil(uint32_t *out, size_t nwords);

void seam_probe_filter(void);
#else
static inline void seam_walk_spoil(uint32_t *out, size_t nwords)
{
	(void)out;
	(void)nwords;
}

static inline void seam_probe_filter(void)
{
}
#endif

#endif
