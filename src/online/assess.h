/* assess.h - what the noise source measured, for people: -r 1's noise
 * lines and the --assess survey.
 *
 * assess_print_noise() prints the lines -r 1 gives about a calibrated
 * source (timer granularity, the rung, the start-up estimate, the claim,
 * the samples behind a kernel seed); assess_log_noise() says the same in
 * one log line.  assess_run() walks every rung of
 * the ladder, prints what each measured, the rung start-up would choose
 * and why, and a histogram of the samples at that rung; it returns 0,
 * -ENOMEM (logged), or noise_survey()'s -errno when no rung passes (the
 * source would be refused, after the lines).
 */
#ifndef HRNG_ASSESS_H
#define HRNG_ASSESS_H

#include <stdbool.h>
#include <stdio.h>

#include "noise.h"

void assess_print_noise(FILE *f, const struct noise *n);
/* The same in one log line (-v 1). */
void assess_log_noise(const struct noise *n);
int assess_run(FILE *f, unsigned data_kb, unsigned inst_kb, bool table_fixed);

#endif
