/* estimate.h - min-entropy estimates of SP 800-90B 6.3, small enough to
 * run at start-up.
 *
 * est_min_entropy() takes raw noise samples as 8-bit symbols (the form the
 * health tests, --raw-samples and the conditioner see them in) and gives
 * two of the standard's non-IID estimates, each in bits per sample:
 *   6.3.1 Most Common Value, with its 99 % upper confidence bound;
 *   6.3.8 Lag Prediction (D = 128), which sees dependence between samples
 *         (periods, alternation, a stuck low bit) that MCV cannot,
 * and their minimum, the figure the start-up calibration compares with
 * the claim.  scripts/sp800-90b.py runs all ten estimators on a file; the
 * two here are written from the same text and agree with it on the same
 * samples (tests/test_estimate.c).
 *
 * Nothing here allocates or keeps state; est_min_entropy() is pure.
 */
#ifndef HRNG_ESTIMATE_H
#define HRNG_ESTIMATE_H

#include <stddef.h>
#include <stdint.h>

enum {
	EST_LAG_D = 128,          /* SP 800-90B 6.3.8: D = 128 */
	EST_MIN_SAMPLES = 16,     /* fewer give no estimate (0 bits) */
};

struct est_result {
	double mcv;               /* 6.3.1, bits per sample */
	double lag;               /* 6.3.8, bits per sample */
	double h;                 /* min(mcv, lag) */
};

/* Estimates over n samples of 8 bits; with n < EST_MIN_SAMPLES every
 * figure is 0.  Returns r->h. */
double est_min_entropy(const uint8_t *s, size_t n, struct est_result *r);

/* The pieces, for the tests: 6.3.1 from the largest count of n; the
 * common ending of 6.3.7 - 6.3.10 from c correct predictions of n with
 * longest run r_run of correct ones, k possible values. */
double est_mcv_bits(size_t max_count, size_t n);
double est_prediction_bits(size_t c, size_t n, size_t r_run, unsigned k);

#endif
