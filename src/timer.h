/* timer.h - the high-resolution timer the walk samples.
 *
 * timer_now() is the CPU cycle counter where there is one (x86 rdtsc,
 * aarch64 cntvct_el0), else clock_gettime(CLOCK_MONOTONIC_RAW) in ns.
 * It is inline because the walk calls it once per iteration.
 *
 * In a build configured with --enable-mock-timer (and only there),
 * timer_now() reads a mock chosen by timer_mock_set() or by the environment
 * variable HAVEGE_RNGD_MOCK_TIMER, so tests can replace the noise source:
 *   real          the real timer (the default)
 *   const:V       always V
 *   step:S        a counter advancing by S per read
 *   two:A,B       deltas alternating A, B, A, ...
 *   freeze:N      real for N reads, then frozen
 *   coarse:N,R    real for N reads, then rounded down to multiples of R
 *                 (coarse:0,21: a timer that advances in steps of 21)
 *   dist:V@P,...  deltas drawn independently: V with probability P %
 *                 (dist:63@50,42@36,84@14: the three deltas of a Zen 5
 *                 guest's default walk, in its proportions)
 *   replay:FILE   deltas replayed from a file, one byte each, in a loop
 *                 (a --raw-samples recording of another machine)
 */
#ifndef HRNG_TIMER_H
#define HRNG_TIMER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "util.h"

static inline uint64_t timer_hw_now(void)
{
#if defined(__x86_64__) || defined(__i386__)
	uint32_t lo, hi;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
#elif defined(__aarch64__)
	uint64_t v;

	__asm__ __volatile__("isb; mrs %0, cntvct_el0" : "=r"(v) : : "memory");
	return v;
#else
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
#endif
}

#ifdef HRNG_MOCK_TIMER
uint64_t timer_mock_read(void);
static inline uint64_t timer_now(void)
{
	return timer_mock_read();
}
/* Returns 0, or -1 if spec is not one of the forms above. */
int timer_mock_set(const char *spec);
/* Called by gen_new() once start-up passed, and by --raw-samples once
 * calibration did: applies the environment
 * variable HAVEGE_RNGD_MOCK_TIMER_LATER, if set (the timer goes bad after
 * start-up, whatever the number of reads calibration took). */
void timer_mock_started(void);
#else
static inline uint64_t timer_now(void)
{
	return timer_hw_now();
}
#endif

struct timer_info {
	const char *name;        /* "rdtsc", "cntvct_el0", "clock_gettime" (+ " (mock)") */
	uint64_t resolution;     /* smallest non-zero delta seen, in ticks */
	double ticks_per_ns;     /* measured against CLOCK_MONOTONIC */
};

void timer_measure(struct timer_info *info);
bool timer_is_mock(void);
/* Called once at start-up: applies HAVEGE_RNGD_MOCK_TIMER in a mock build.
 * Returns 0, or -1 with the reason logged. */
int timer_init(void);

#endif
