/* hwtimer.h - the hardware timer, read directly.
 *
 * timer_hw_now() is the CPU cycle counter where there is one (x86 rdtsc,
 * aarch64 cntvct_el0), else clock_gettime(CLOCK_MONOTONIC_RAW) in ns.
 * It sits apart from timer.h so that the test seams (seams.c), which
 * timer.h calls in a seam build, can read the real timer without
 * including timer.h back.
 */
#ifndef HRNG_HWTIMER_H
#define HRNG_HWTIMER_H

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

#endif
