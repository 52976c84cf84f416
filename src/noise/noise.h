/* noise.h - the noise source: the collector, calibrated at start-up.
 *
 * The raw noise is the time the walk takes.  How much of it one timer
 * sample carries depends on the machine: a fine-grained timer on one CPU,
 * a timer that advances in steps of 21 ticks on another.  So nothing about
 * it is assumed; noise_calibrate() measures it:
 *
 *  1. The timer's granularity: the greatest common divisor of 2048 walk
 *     deltas.  Every delta is divided by it before anything sees it.  A
 *     timer that does not advance, or advances by the same amount on every
 *     step, is refused there and then: no amount of work makes it noise.
 *  2. A ladder of rungs, each adding work behind one sample: more walk
 *     steps between the two timer reads that make a sample (the stride),
 *     then a walk table that reaches past L1 into L2 and L3.  At each rung
 *     NOISE_CALIB_SAMPLES fresh samples go through the SP 800-90B start-up
 *     health test and two of its min-entropy estimators (MCV and Lag, see
 *     estimate.h).  The first rung whose estimate reaches
 *     NOISE_TARGET_HALVES (three times the claim) is used.
 *  3. If the top rung still falls short, the source is refused, with one
 *     line naming every rung tried and what each measured.
 *
 * The claim, HEALTH_ENTROPY_HALVES / 2 bits per sample (health.h), is
 * fixed in the code: the health tests' cut-offs and the samples behind a
 * kernel seed derive from it.  The ladder only adds work; it never raises
 * the claim.
 *
 * A sample is then, at every rung and for every consumer (the health
 * tests, the conditioner, the seeds, --raw-samples): the sum of `stride`
 * consecutive walk deltas, divided by the granularity, reduced to its low
 * 8 bits.  noise_fill() hands out exactly that.
 *
 * The seeds walk.  Kernel seeds are hashed from samples alone, so the
 * generator's seeds mode calibrates with noise_calibrate_seeds() and
 * walks collector_fill_seeds(): the same steps with no output, the timer
 * read once per sample instead of once per step.  Its sample is still
 * the time of `stride` steps, but a timer read costs about as much as a
 * step, so a sample costs about half (doc/figures.md).  Its timing is its
 * own, so it is calibrated on its own samples, and the health tests see
 * its samples; the measurement gcd (step 1) is taken on single steps of
 * the stream walk in both cases (a sum of multiples of it is one too).
 */
#ifndef HRNG_NOISE_H
#define HRNG_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector.h"
#include "estimate.h"
#include "health.h"

enum {
	/* Calibration passes at three times the claim: at the strides the
	 * ladder reaches, MCV and Lag over 4096 samples read up to 1.4 times
	 * what all ten SP 800-90B estimators give over 10^6 (doc/entropy.md),
	 * so three times keeps the full assessment at twice the claim. */
	NOISE_TARGET_HALVES = 3 * HEALTH_ENTROPY_HALVES,
	NOISE_CALIB_SAMPLES = 4096,     /* samples estimated at each rung */
	NOISE_MAX_STRIDE = 64,          /* walk steps per sample, at most */
	NOISE_MAX_RUNGS = 12,
	/* Walk words per sample at the top stride: fills are multiples. */
	NOISE_FILL_QUANTUM = NOISE_MAX_STRIDE * COLLECTOR_WORDS_PER_SAMPLE,
};

/* One rung: the walk table as a multiple of the L1 data cache, and the
 * walk steps behind each sample. */
struct noise_rung {
	unsigned table_l1;        /* table size / L1d size */
	unsigned stride;
};

/* What was measured at one rung. */
struct noise_trial {
	struct noise_rung rung;
	size_t table_kb;
	struct est_result est;    /* over NOISE_CALIB_SAMPLES samples */
	unsigned health;          /* start-up health test failure bits */
	double ns_per_sample;     /* walk time behind one sample */
};

struct noise {
	struct collector *col;    /* the collector of the chosen rung */
	unsigned data_kb, inst_kb;
	bool table_fixed;         /* -d given: only the stride climbs */
	bool seeds_walk;          /* noise_calibrate_seeds(): samples from
	                           * the seeds walk, no walk output */
	uint64_t gcd;             /* timer granularity, ticks; >= 1 */
	unsigned stride;          /* walk steps per sample */
	unsigned rung;            /* index of the chosen rung */
	size_t table_kb;
	struct est_result est;    /* the start-up estimate at that rung */
	struct noise_trial trial[NOISE_MAX_RUNGS];
	unsigned ntrials;         /* rungs tried, in order */
	char why[512];            /* after a refusal: the one line */
};

/* The ladder in use: all rungs, or with table_fixed only the strides. */
unsigned noise_ladder(bool table_fixed, const struct noise_rung **rungs);

/* Calibrate: measure the timer and climb the ladder.  Returns 0 with
 * n->col ready at the chosen rung; -EIO when the source is refused (the
 * reason in n->why, not logged); -ENOMEM.  noise_free() in every case. */
int noise_calibrate(struct noise *n, unsigned data_kb, unsigned inst_kb, bool table_fixed);
/* The same, but every rung is measured whatever it gives (--assess); the
 * first that passes is still the one chosen. */
int noise_survey(struct noise *n, unsigned data_kb, unsigned inst_kb, bool table_fixed);

/* The same for the seeds walk (collector_fill_seeds()): the timer is
 * read once per sample, not once per step, so a sample is the time of
 * `stride` steps measured by one pair of reads, and no walk output is
 * made.  Calibration, and every later noise_fill(), run on that walk. */
int noise_calibrate_seeds(struct noise *n, unsigned data_kb, unsigned inst_kb, bool table_fixed);

/* Walk output and samples: out[0..nwords) gets walk output (nwords a
 * multiple of 8 x stride); samples[] must have room for nwords / 8
 * entries (it holds the raw deltas on the way), and its first
 * nwords / 8 / stride receive the samples.  Returns that count.  After
 * noise_calibrate_seeds() out is not touched (it may be NULL): the same
 * nwords / 8 steps are walked, but only the samples are made. */
size_t noise_fill(struct noise *n, uint32_t *out, size_t nwords, uint64_t *samples);
/* Walk bytes behind one sample: 32 x stride. */
size_t noise_sample_bytes(const struct noise *n);
/* Divide by the granularity and reduce to 8 bits, after summing stride
 * deltas: deltas[0..nsteps) in, the first nsteps / stride out. */
size_t noise_shape(uint64_t *deltas, size_t nsteps, unsigned stride, uint64_t gcd);
/* The granularity of n deltas: their greatest common divisor (0 when all
 * are 0). */
uint64_t noise_gcd(const uint64_t *deltas, size_t n);
/* The claim and the calibration target, in bits per sample. */
double noise_claim_bits(void);
double noise_target_bits(void);
void noise_free(struct noise *n);

#endif
