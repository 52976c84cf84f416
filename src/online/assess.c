/* assess.c - what the noise source measured, for people (see assess.h).
 *
 * Offered:
 *   assess_print_noise()  -r 1's lines about the calibrated source;
 *   assess_run()          --assess: every rung, the choice, a histogram.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "assess.h"
#include "generator.h"
#include "health.h"
#include "log.h"
#include "timer.h"
#include "util.h"

void assess_print_noise(FILE *f, const struct noise *n)
{
	const struct noise_rung *rungs;
	unsigned count = noise_ladder(n->table_fixed, &rungs);

	fprintf(f, "timer granularity: %llu ticks (every delta is divided by it)\n",
		(unsigned long long)n->gcd);
	fprintf(f, "noise ladder: rung %u of %u: walk table %zu KB, %u walk step%s per sample%s\n",
		n->rung + 1, count, n->table_kb, n->stride, n->stride == 1 ? "" : "s",
		n->table_fixed ? " (table fixed by -d)" : "");
	fprintf(f, "start-up estimate: %.2f bits/sample (MCV %.2f, Lag %.2f, over %d samples); "
		"needed %.2f\n", n->est.h, n->est.mcv, n->est.lag, NOISE_CALIB_SAMPLES,
		noise_target_bits());
	fprintf(f, "claimed: %.2f bits/sample (fixed; the ladder never raises it)\n",
		noise_claim_bits());
	fprintf(f, "health tests: RCT cut-off %u (permanent %u), APT cut-off %u of %d "
		"(permanent %u)\n", health_rct_cutoff(false), health_rct_cutoff(true),
		health_apt_cutoff(false), HEALTH_APT_WINDOW, health_apt_cutoff(true));
	fprintf(f, "kernel seeds: %u samples behind each 32-byte seed (%.0f bits claimed)\n",
		gen_seed_samples(), gen_seed_samples() * noise_claim_bits());
}

void assess_log_noise(const struct noise *n)
{
	const struct noise_rung *rungs;
	unsigned count = noise_ladder(n->table_fixed, &rungs);

	log_info("noise: granularity %llu ticks; rung %u of %u (table %zu KB, %u step%s per "
		 "sample); start-up estimate %.2f bits/sample, claim %.2f%s",
		 (unsigned long long)n->gcd, n->rung + 1, count, n->table_kb, n->stride,
		 n->stride == 1 ? "" : "s", n->est.h, noise_claim_bits(),
		 n->seeds_walk ? " (the seeds walk)" : "");
}

/* ------------------------------------------------------------------------
 * --assess
 */
static void print_rungs(FILE *f, const struct noise *n)
{
	unsigned i;

	fprintf(f, "%-5s %9s %7s %11s %9s %6s %6s %9s  %s\n", "rung", "table KB", "stride",
		"ns/sample", "walk MB/s", "MCV", "Lag", "estimate", "verdict");
	for (i = 0; i < n->ntrials; i++) {
		const struct noise_trial *t = &n->trial[i];
		double mbs = t->ns_per_sample > 0 ?
			32.0 * t->rung.stride / t->ns_per_sample * 1000.0 : 0.0;
		const char *verdict = t->health ? "health test failed" :
			t->est.h >= noise_target_bits() ? "passes" : "too little";

		fprintf(f, "%-5u %9zu %7u %11.0f %9.0f %6.2f %6.2f %9.2f  %s\n", i + 1,
			t->table_kb, t->rung.stride, t->ns_per_sample, mbs, t->est.mcv,
			t->est.lag, t->est.h, verdict);
	}
}

enum { HIST_SAMPLES = 65536, HIST_ROWS = 20, HIST_WIDTH = 50 };

struct bin {
	unsigned value;
	size_t count;
};

static int by_count(const void *a, const void *b)
{
	const struct bin *x = a, *y = b;

	return x->count != y->count ? (x->count < y->count ? 1 : -1) :
		(int)x->value - (int)y->value;
}

static int by_value(const void *a, const void *b)
{
	return (int)((const struct bin *)a)->value - (int)((const struct bin *)b)->value;
}

/* The HIST_ROWS most common sample values, in value order, as bars. */
static void draw(FILE *f, const size_t count[256], size_t total)
{
	struct bin bins[256];
	size_t shown = 0, top = 0;
	unsigned i, rows = 0, distinct = 0;

	for (i = 0; i < 256; i++) {
		bins[i] = (struct bin){ i, count[i] };
		distinct += count[i] > 0;
	}
	qsort(bins, 256, sizeof(bins[0]), by_count);
	for (i = 0; i < HIST_ROWS && bins[i].count; i++, rows++) {
		shown += bins[i].count;
		if (bins[i].count > top)
			top = bins[i].count;
	}
	qsort(bins, rows, sizeof(bins[0]), by_value);
	fprintf(f, "samples at that rung (%zu, %u distinct values; the %u most common):\n",
		total, distinct, rows);
	for (i = 0; i < rows; i++) {
		int len = (int)((bins[i].count * HIST_WIDTH + top - 1) / top);
		char bar[HIST_WIDTH + 1];

		memset(bar, '#', (size_t)len);
		bar[len] = '\0';
		fprintf(f, "%5u %6.2f%% %s\n", bins[i].value, 100.0 * bins[i].count / total, bar);
	}
	if (shown < total)
		fprintf(f, "other %u values: %.2f%%\n", distinct - rows,
			100.0 * (total - shown) / total);
}

static int histogram(FILE *f, struct noise *n)
{
	enum { WORDS = 2048 * COLLECTOR_WORDS_PER_SAMPLE };
	uint32_t *walk = malloc(WORDS * sizeof(uint32_t));
	uint64_t *d = malloc(WORDS / COLLECTOR_WORDS_PER_SAMPLE * sizeof(uint64_t));
	size_t count[256] = { 0 }, total = 0;

	if (!walk || !d) {
		free(walk);
		free(d);
		return -ENOMEM;
	}
	while (total < HIST_SAMPLES) {
		size_t k = noise_fill(n, walk, WORDS, d), i;

		for (i = 0; i < k; i++)
			count[d[i] & 0xff]++;
		total += k;
	}
	wipe(walk, WORDS * sizeof(uint32_t));
	free(walk);
	free(d);
	draw(f, count, total);
	return 0;
}

int assess_run(FILE *f, unsigned data_kb, unsigned inst_kb, bool table_fixed)
{
	struct noise n;
	struct timer_info ti;
	int ret;

	timer_measure(&ti);
	fprintf(f, "timer: %s, %.3f ticks/ns; claim %.2f bits/sample, a rung passes at %.2f "
		"(MCV and Lag over %d samples, and the start-up health test)\n", ti.name,
		ti.ticks_per_ns, noise_claim_bits(), noise_target_bits(), NOISE_CALIB_SAMPLES);
	ret = noise_survey(&n, data_kb, inst_kb, table_fixed);
	if (ret == -ENOMEM) {
		log_errx("out of memory");
		noise_free(&n);
		return -ENOMEM;
	}
	if (n.ntrials)
		fprintf(f, "timer granularity: %llu ticks\n", (unsigned long long)n.gcd);
	print_rungs(f, &n);
	if (ret < 0) {
		fprintf(f, "choice: none; start-up would refuse: %s\n", n.why);
		noise_free(&n);
		return ret;
	}
	fprintf(f, "choice: rung %u (table %zu KB, %u step%s per sample), the first whose "
		"estimate reaches %.2f bits/sample and whose health test passes\n", n.rung + 1,
		n.table_kb, n.stride, n.stride == 1 ? "" : "s", noise_target_bits());
	ret = histogram(f, &n);
	noise_free(&n);
	if (ret < 0) {
		log_errx("out of memory");
		return ret;
	}
	return 0;
}
