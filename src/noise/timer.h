/* timer.h - the high-resolution timer the walk samples.
 *
 * timer_now() is the hardware timer (timer_hw_now(), hwtimer.h: the CPU
 * cycle counter where there is one, else clock_gettime in ns).  It is
 * inline because the walk calls it once per iteration.
 *
 * In a build configured with --enable-test-seams (--enable-mock-timer is
 * the old name; only there), timer_now() reads the mock timer of seams.c,
 * chosen by timer_mock_set() or by the environment variable
 * HAVEGE_RNGD_MOCK_TIMER, so tests can replace the noise source:
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

#include "hwtimer.h"
#include "seams.h"

#ifdef HRNG_TEST_SEAMS
static inline uint64_t timer_now(void)
{
	return timer_mock_read();
}
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
/* Called once at start-up: in a test-seam build applies the seams'
 * environment variables (seams_init(), seams.h).  Returns 0, or -EINVAL
 * with the reason logged. */
int timer_init(void);

#endif
