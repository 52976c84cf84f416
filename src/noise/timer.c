/* timer.c - timer identification and resolution measurement.
 *
 * Functions offered (see timer.h):
 *   timer_init()     apply the test seams' environment (seam builds only)
 *   timer_measure()  name, smallest non-zero delta, ticks per ns
 *   timer_is_mock()  whether this build has the test seams
 * The mock timer itself is in seams.c.
 */
#include "config.h"

#include <stdint.h>
#include <time.h>

#include "timer.h"
#include "util.h"

enum { RESOLUTION_READS = 4096 };

static const char *timer_hw_name(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return "rdtsc";
#elif defined(__aarch64__)
	return "cntvct_el0";
#else
	return "clock_gettime(CLOCK_MONOTONIC_RAW)";
#endif
}

/* Ticks per ns of the hardware timer, measured over about 2 ms. */
static double ticks_per_ns(void)
{
	uint64_t n0 = monotonic_ns(), t0 = timer_hw_now(), n1, t1;
	struct timespec pause = { 0, 2000000 };

	nanosleep(&pause, NULL);
	n1 = monotonic_ns();
	t1 = timer_hw_now();
	return n1 > n0 ? (double)(t1 - t0) / (double)(n1 - n0) : 0.0;
}

void timer_measure(struct timer_info *info)
{
	uint64_t prev = timer_now(), best = UINT64_MAX;
	unsigned i;

	for (i = 0; i < RESOLUTION_READS; i++) {
		uint64_t t = timer_now();

		if (t != prev && t - prev < best)
			best = t - prev;
		prev = t;
	}
	info->name = timer_is_mock() ? "mock" : timer_hw_name();
	info->resolution = best == UINT64_MAX ? 0 : best;
	info->ticks_per_ns = ticks_per_ns();
}


#ifdef HRNG_TEST_SEAMS
bool timer_is_mock(void)
{
	return true;
}

int timer_init(void)
{
	return seams_init();
}
#else
bool timer_is_mock(void)
{
	return false;
}

int timer_init(void)
{
	return 0;
}
#endif
