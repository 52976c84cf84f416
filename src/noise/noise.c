/* noise.c - the noise source: the collector, calibrated at start-up.
 *
 * Offered (see noise.h for the whole story):
 *   noise_calibrate()   measure the timer, climb the ladder, keep a rung;
 *   noise_calibrate_seeds()  the same for the seeds walk;
 *   noise_survey()      the same, measuring every rung (--assess);
 *   noise_fill()        walk output and shaped samples at that rung;
 *   noise_shape(), noise_gcd()  the two steps of shaping, for the tests;
 *   noise_ladder(), noise_sample_bytes(), noise_claim_bits(),
 *   noise_target_bits(), noise_free().
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "noise.h"
#include "util.h"

/* ------------------------------------------------------------------------
 * The ladder
 *
 * Ordered by cost.  The stride costs nothing in file-mode throughput (the
 * walk emits 32 bytes a step whatever the stride) and only multiplies the
 * walk behind a kernel seed, so it climbs first.  A larger table slows
 * every step (its misses are the point), so it comes after: 16 x L1 is in
 * L2 on every CPU we know, 128 x L1 (4 - 6 MB) past L2.
 */
static const struct noise_rung ladder_full[] = {
	{ 2, 1 }, { 2, 2 }, { 2, 4 }, { 2, 8 }, { 2, 16 },
	{ 16, 16 }, { 16, 32 }, { 128, 32 }, { 128, 64 },
};

/* -d given: the table stays where the user put it. */
static const struct noise_rung ladder_fixed[] = {
	{ 2, 1 }, { 2, 2 }, { 2, 4 }, { 2, 8 }, { 2, 16 }, { 2, 32 }, { 2, 64 },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
_Static_assert(COUNT(ladder_full) <= NOISE_MAX_RUNGS, "ladder too long");
_Static_assert(COUNT(ladder_fixed) <= NOISE_MAX_RUNGS, "ladder too long");

unsigned noise_ladder(bool table_fixed, const struct noise_rung **rungs)
{
	*rungs = table_fixed ? ladder_fixed : ladder_full;
	return table_fixed ? COUNT(ladder_fixed) : COUNT(ladder_full);
}

double noise_claim_bits(void)
{
	return HEALTH_ENTROPY_HALVES / 2.0;
}

double noise_target_bits(void)
{
	return NOISE_TARGET_HALVES / 2.0;
}

/* ------------------------------------------------------------------------
 * Shaping
 */
static uint64_t gcd2(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* The GCD of g and d[0..n): g = 0 starts afresh. */
static uint64_t gcd_fold(uint64_t g, const uint64_t *d, size_t n)
{
	size_t i;

	for (i = 0; i < n && g != 1; i++)
		g = gcd2(d[i], g);
	return g;
}

uint64_t noise_gcd(const uint64_t *d, size_t n)
{
	return gcd_fold(0, d, n);
}

size_t noise_shape(uint64_t *d, size_t nsteps, unsigned stride, uint64_t gcd)
{
	size_t n = nsteps / stride, i;
	unsigned j;

	if (gcd == 0)
		gcd = 1;
	for (i = 0; i < n; i++) {
		uint64_t sum = 0;

		for (j = 0; j < stride; j++)
			sum += d[i * stride + j];
		/* A division per sample costs, emulated above all; most
		 * timers tick by 1, and then there is nothing to divide. */
		d[i] = (gcd == 1 ? sum : sum / gcd) & 0xff;
	}
	return n;
}

size_t noise_fill(struct noise *n, uint32_t *out, size_t nwords, uint64_t *samples)
{
	if (n->seeds_walk) {
		size_t k = collector_fill_seeds(n->col, n->stride, samples,
						nwords / COLLECTOR_WORDS_PER_SAMPLE / n->stride);

		return noise_shape(samples, k, 1, n->gcd);
	}

	size_t steps = collector_fill(n->col, out, nwords, samples);

	return noise_shape(samples, steps, n->stride, n->gcd);
}

size_t noise_sample_bytes(const struct noise *n)
{
	return (size_t)n->stride * COLLECTOR_WORDS_PER_SAMPLE * 4;
}

/* ------------------------------------------------------------------------
 * Calibration
 */
enum {
	CHUNK_STEPS = 512,                    /* walk steps per scratch fill */
	CHUNK_WORDS = CHUNK_STEPS * COLLECTOR_WORDS_PER_SAMPLE,
	GCD_STEPS = 2048,                     /* deltas behind the granularity */
	SETTLE_SAMPLES = 1024,                /* thrown away at each rung */
};

_Static_assert(CHUNK_STEPS % NOISE_MAX_STRIDE == 0, "chunk not a whole number of samples");
_Static_assert((int)NOISE_CALIB_SAMPLES >= (int)CHUNK_STEPS &&
	       (int)NOISE_CALIB_SAMPLES >= (int)HEALTH_STARTUP_SAMPLES, "scratch too small");

struct scratch {
	uint32_t *walk;                       /* CHUNK_WORDS, wiped after */
	uint64_t *deltas;                     /* NOISE_CALIB_SAMPLES: a fill's
	                                       * deltas, then a rung's samples
	                                       * for the start-up test */
};

/* count samples at the current rung into sym[] (NULL: thrown away). */
static void collect(struct noise *n, struct scratch *s, uint8_t *sym, size_t count)
{
	size_t got = 0, i;

	while (got < count) {
		size_t k = noise_fill(n, s->walk, CHUNK_WORDS, s->deltas);

		for (i = 0; i < k && got < count; i++, got++)
			if (sym)
				sym[got] = (uint8_t)s->deltas[i];
	}
}

/* Step 1: the granularity, from rung 0's table.  Returns 0, or -EIO with
 * n->why set for a timer that is no noise source at any rung. */
static int measure_timer(struct noise *n, struct scratch *s)
{
	size_t steps = 0, i;
	uint64_t first = 0;
	bool same = true;

	n->gcd = 0;
	while (steps < GCD_STEPS) {
		size_t k = collector_fill(n->col, s->walk, CHUNK_WORDS, s->deltas);

		if (steps == 0)
			first = s->deltas[0];
		for (i = 0; i < k; i++)
			same = same && s->deltas[i] == first;
		n->gcd = gcd_fold(n->gcd, s->deltas, k);
		steps += k;
	}
	if (n->gcd == 0) {
		snprintf(n->why, sizeof(n->why), "the timer does not advance "
			 "(%zu reads, all equal): no noise source; no output", steps);
		return -EIO;
	}
	if (same) {
		snprintf(n->why, sizeof(n->why), "the timer advances by exactly %llu ticks "
			 "on every step (%zu steps): no noise source; no output",
			 (unsigned long long)n->gcd, steps);
		return -EIO;
	}
	return 0;
}

/* Put the collector at rung r's table, warmed up. */
static int set_table(struct noise *n, const struct noise_rung *r)
{
	unsigned kb = n->data_kb * r->table_l1 / 2;

	if (n->col && n->table_kb == (size_t)kb * 2)
		return 0;
	collector_free(n->col);
	n->col = collector_new(kb, n->inst_kb);
	if (!n->col)
		return -ENOMEM;
	n->table_kb = (size_t)kb * 2;
	collector_warmup(n->col);
	return 0;
}

/* Measure one rung into t.  Returns true if it passes. */
static bool try_rung(struct noise *n, struct scratch *s, uint8_t *sym, struct noise_trial *t)
{
	struct health h;
	uint64_t t0;
	size_t i;

	collect(n, s, NULL, SETTLE_SAMPLES);
	t0 = monotonic_ns();
	collect(n, s, sym, NOISE_CALIB_SAMPLES);
	t->ns_per_sample = (double)(monotonic_ns() - t0) / NOISE_CALIB_SAMPLES;
	t->table_kb = n->table_kb;
	est_min_entropy(sym, NOISE_CALIB_SAMPLES, &t->est);
	/* The SP 800-90B start-up health test on the same samples. */
	for (i = 0; i < NOISE_CALIB_SAMPLES; i++)
		s->deltas[i] = sym[i];
	health_init(&h);
	t->health = health_startup(&h, s->deltas, NOISE_CALIB_SAMPLES);
	return !t->health && t->est.h >= noise_target_bits();
}

/* The one line naming every rung tried and what it measured. */
static void refusal(struct noise *n)
{
	size_t used;
	unsigned i;

	used = (size_t)snprintf(n->why, sizeof(n->why), "no rung of the noise ladder reaches "
				"%.2f bits/sample (%.0f x the %.2f claimed); tried",
				noise_target_bits(), noise_target_bits() / noise_claim_bits(),
				noise_claim_bits());
	for (i = 0; i < n->ntrials && used < sizeof(n->why); i++) {
		const struct noise_trial *t = &n->trial[i];

		used += (size_t)snprintf(n->why + used, sizeof(n->why) - used,
					 "%s table %zu KB x%u %.2f%s", i ? "," : "", t->table_kb,
					 t->rung.stride, t->est.h, t->health ? " (health test failed)" : "");
	}
	if (used < sizeof(n->why))
		snprintf(n->why + used, sizeof(n->why) - used, "; no output");
}

static int climb(struct noise *n, struct scratch *s, uint8_t *sym, bool survey)
{
	const struct noise_rung *rungs;
	unsigned count = noise_ladder(n->table_fixed, &rungs), i;
	int chosen = -1, ret;

	for (i = 0; i < count && (chosen < 0 || survey); i++) {
		struct noise_trial *t = &n->trial[n->ntrials++];

		ret = set_table(n, &rungs[i]);
		if (ret < 0)
			return ret;
		n->stride = rungs[i].stride;
		t->rung = rungs[i];
		if (try_rung(n, s, sym, t) && chosen < 0)
			chosen = (int)i;
	}
	if (chosen < 0) {
		refusal(n);
		return -EIO;
	}
	n->rung = (unsigned)chosen;
	n->stride = rungs[chosen].stride;
	n->est = n->trial[chosen].est;
	return set_table(n, &rungs[chosen]);
}

static int calibrate(struct noise *n, unsigned data_kb, unsigned inst_kb, bool table_fixed,
		     bool survey, bool seeds_walk)
{
	struct scratch s = { 0 };
	const struct noise_rung *rungs;
	uint8_t sym[NOISE_CALIB_SAMPLES];
	int ret = -ENOMEM;

	memset(n, 0, sizeof(*n));
	n->data_kb = data_kb ? data_kb : 1;
	n->inst_kb = inst_kb ? inst_kb : 1;
	n->table_fixed = table_fixed;
	n->seeds_walk = seeds_walk;
	n->stride = 1;
	/* Pages of their own, unmapped after: calibration's scratch must not
	 * stay resident for the run (the heap would keep it). */
	s.walk = secret_alloc(CHUNK_WORDS * sizeof(uint32_t));
	s.deltas = secret_alloc(NOISE_CALIB_SAMPLES * sizeof(uint64_t));
	noise_ladder(table_fixed, &rungs);
	if (!s.walk || !s.deltas || (ret = set_table(n, &rungs[0])) < 0)
		goto out;
	ret = measure_timer(n, &s);
	if (ret == 0)
		ret = climb(n, &s, sym, survey);
out:
	if (s.walk)
		wipe(s.walk, CHUNK_WORDS * sizeof(uint32_t));
	if (s.deltas)
		wipe(s.deltas, NOISE_CALIB_SAMPLES * sizeof(uint64_t));
	wipe(sym, sizeof(sym));
	secret_free(s.walk, CHUNK_WORDS * sizeof(uint32_t));
	secret_free(s.deltas, NOISE_CALIB_SAMPLES * sizeof(uint64_t));
	return ret;
}

int noise_calibrate(struct noise *n, unsigned data_kb, unsigned inst_kb, bool table_fixed)
{
	return calibrate(n, data_kb, inst_kb, table_fixed, false, false);
}

int noise_survey(struct noise *n, unsigned data_kb, unsigned inst_kb, bool table_fixed)
{
	return calibrate(n, data_kb, inst_kb, table_fixed, true, false);
}

int noise_calibrate_seeds(struct noise *n, unsigned data_kb, unsigned inst_kb, bool table_fixed)
{
	return calibrate(n, data_kb, inst_kb, table_fixed, false, true);
}

void noise_free(struct noise *n)
{
	collector_free(n->col);
	n->col = NULL;
}
