/* test_stats.c - whether the noise is alive, and smoke checks of the output.
 *
 * The noise: the claim (noise_claim_bits() per sample) is about the raw
 * timer samples, so that is what is measured, with the min-entropy
 * estimators the start-up calibration uses (MCV and Lag, estimate.h), on
 * samples from the calibrated collector, shaped as every consumer sees
 * them.  Controls that must fail: constant, fixed-step and two-valued
 * deltas, fed to the same measurement (and in mock builds made by the
 * collector itself under the mock timers).
 *
 * The output: walk output and conditioned output are deterministic,
 * well-mixed functions of the timer, so statistics on them pass for a
 * dead timer too (a constant, fixed-step or two-valued mock timer passes
 * all three checks).  They are smoke tests: they catch broken mixing or
 * conditioning, not dead noise.  On 4 MiB of conditioned output, and
 * separately on 4 MiB of raw walk output (before conditioning), three
 * checks:
 *  - monobit: |ones - n/2| <= 5.0 sigma   (two-sided p = 5.7e-7)
 *  - byte frequencies: chi-square with 255 degrees of freedom inside
 *    [161.5, 377.2], the 1e-6 and 1 - 1e-6 quantiles (Wilson-Hilferty)
 *  - serial correlation of consecutive bytes: |r| <= 5.0 / sqrt(n)
 *    (normal approximation, two-sided p = 5.7e-7)
 * A sound generator fails one of the six checks with probability about
 * 1.2e-5 per run (the sum of the six two-sided rates).  Broken output
 * (a stuck byte, a bias of a fraction of a percent, a short period) fails
 * them by a wide margin.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "collector.h"
#include "estimate.h"
#include "generator.h"
#include "log.h"
#include "noise.h"
#include "testutil.h"
#include "timer.h"

/* ------------------------------------------------------------ the noise */

enum { ALIVE_SAMPLES = 32768 };

/* Min-entropy per sample (bits) of nsteps raw walk deltas taken stride
 * at a time: divided by their granularity and cut to 8 bits, the samples
 * the health tests, the conditioner and the seeds see (noise.h). */
static double delta_bits(uint64_t *d, size_t nsteps, unsigned stride, struct est_result *r)
{
	size_t n = noise_shape(d, nsteps, stride, noise_gcd(d, nsteps));
	uint8_t *s = malloc(n);
	double h;

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		s[i] = (uint8_t)d[i];
	h = est_min_entropy(s, n, r);
	free(s);
	return h;
}

/* The collector's raw deltas for ALIVE_SAMPLES samples at stride. */
static double collector_bits(struct collector *c, unsigned stride, struct est_result *r)
{
	size_t steps = (size_t)ALIVE_SAMPLES * stride;
	uint32_t *w = malloc(steps * COLLECTOR_WORDS_PER_SAMPLE * sizeof(uint32_t));
	uint64_t *d = malloc(steps * sizeof(uint64_t));
	double h;

	assert_non_null(w);
	assert_non_null(d);
	assert_int_equal(collector_fill(c, w, steps * COLLECTOR_WORDS_PER_SAMPLE, d), steps);
	h = delta_bits(d, steps, stride, r);
	free(w);
	free(d);
	return h;
}

/* This machine's timer, through the collector and stride the calibration
 * chose: fresh samples (not the ones calibration judged) carry at least
 * the claim. */
static void test_noise_alive(void **state)
{
	struct est_result r;
	struct noise n;
	double h;

	(void)state;
	assert_int_equal(noise_calibrate(&n, 32, 32, false), 0);
	h = collector_bits(n.col, n.stride, &r);
	print_message("# noise: stride %u, gcd %llu: MCV %.3f, Lag %.3f bits/sample "
		      "over %d samples (claim %.2f)\n", n.stride, (unsigned long long)n.gcd,
		      r.mcv, r.lag, ALIVE_SAMPLES, noise_claim_bits());
	assert_true(h >= noise_claim_bits());
	noise_free(&n);
}

/* The same for the seeds walk (noise.h), calibrated on its own samples:
 * fresh samples of it carry at least the claim too. */
static void test_seeds_noise_alive(void **state)
{
	uint64_t *d = malloc(ALIVE_SAMPLES * sizeof(uint64_t));
	struct est_result r;
	struct noise n;
	double h;

	(void)state;
	assert_non_null(d);
	assert_int_equal(noise_calibrate_seeds(&n, 32, 32, false), 0);
	assert_int_equal(collector_fill_seeds(n.col, n.stride, d, ALIVE_SAMPLES), ALIVE_SAMPLES);
	h = delta_bits(d, ALIVE_SAMPLES, 1, &r);
	print_message("# seeds walk noise: stride %u, gcd %llu: MCV %.3f, Lag %.3f bits/sample "
		      "over %d samples (claim %.2f)\n", n.stride, (unsigned long long)n.gcd,
		      r.mcv, r.lag, ALIVE_SAMPLES, noise_claim_bits());
	assert_true(h >= noise_claim_bits());
	noise_free(&n);
	free(d);
}

/* The controls: the same measurement on deltas that carry nothing. */
static void test_dead_deltas_measured_dead(void **state)
{
	enum { STEPS = ALIVE_SAMPLES * 4 };
	uint64_t *d = malloc(STEPS * sizeof(uint64_t));
	struct est_result r;
	unsigned stride;

	(void)state;
	assert_non_null(d);
	for (stride = 1; stride <= 4; stride *= 2) {
		for (size_t i = 0; i < STEPS; i++)
			d[i] = 12345;                       /* fixed step */
		assert_true(delta_bits(d, STEPS, stride, &r) < noise_claim_bits());
		for (size_t i = 0; i < STEPS; i++)
			d[i] = 0;                           /* stopped */
		assert_true(delta_bits(d, STEPS, stride, &r) < noise_claim_bits());
		for (size_t i = 0; i < STEPS; i++)
			d[i] = i & 1 ? 60 : 40;             /* two values */
		assert_true(delta_bits(d, STEPS, stride, &r) < noise_claim_bits());
	}
	free(d);
}

#ifdef HRNG_MOCK_TIMER
/* The controls again, made by the collector under dead mock timers. */
static void test_dead_timers_measured_dead(void **state)
{
	static const char *const dead[] = { "const:12345", "step:97", "two:40,60" };
	struct collector *c = collector_new(32, 32);
	struct est_result r;

	(void)state;
	assert_non_null(c);
	for (size_t i = 0; i < sizeof(dead) / sizeof(dead[0]); i++) {
		assert_int_equal(timer_mock_set(dead[i]), 0);
		for (unsigned stride = 1; stride <= 2; stride++)
			assert_true(collector_bits(c, stride, &r) < noise_claim_bits());
	}
	timer_mock_set("real");
	collector_free(c);
}
#endif

/* ------------------------------------------------------- output smoke tests */

enum { N = 4 << 20 };

static const double MONOBIT_SIGMAS = 5.0;
static const double CHI2_LOW = 161.5, CHI2_HIGH = 377.2;
static const double SERIAL_SIGMAS = 5.0;

enum { FAIL_MONOBIT = 1, FAIL_CHI2 = 2, FAIL_SERIAL = 4 };

/* Which of the three checks reject p[0..n). */
static unsigned failures(const uint8_t *p, size_t n)
{
	unsigned f = 0;
	uint64_t count[256] = { 0 }, ones = 0;
	double chi2 = 0, e = (double)n / 256, sx = 0, sxx = 0, sxy = 0, r;
	size_t i;

	for (i = 0; i < n; i++) {
		count[p[i]]++;
		ones += (uint64_t)__builtin_popcount(p[i]);
		sx += p[i];
		sxx += (double)p[i] * p[i];
		sxy += (double)p[i] * p[(i + 1) % n];
	}
	for (i = 0; i < 256; i++)
		chi2 += ((double)count[i] - e) * ((double)count[i] - e) / e;
	/* Monobit: ones over 8n bits, sigma = sqrt(8n) / 2. */
	if (fabs((double)ones - 4.0 * n) > MONOBIT_SIGMAS * sqrt(8.0 * n) / 2)
		f |= FAIL_MONOBIT;
	if (chi2 < CHI2_LOW || chi2 > CHI2_HIGH)
		f |= FAIL_CHI2;
	/* Circular serial correlation coefficient (as ent computes it). */
	r = ((double)n * sxy - sx * sx) / ((double)n * sxx - sx * sx);
	if (fabs(r) > SERIAL_SIGMAS / sqrt((double)n))
		f |= FAIL_SERIAL;
	return f;
}


static void test_smoke_conditioned_output(void **state)
{
	struct gen_config gc = test_gen_config(1, 128 * 1024);
	uint8_t *buf = malloc(N);
	struct generator *g;

	(void)state;
	assert_int_equal(gen_new(&g, &gc), 0);
	assert_int_equal(gen_read(g, buf, N), 0);
	assert_int_equal(failures(buf, N), 0);
	gen_free(g);
	free(buf);
}

static void test_smoke_walk_output(void **state)
{
	struct collector *c = collector_new(32, 32);
	uint32_t *w = malloc(N);
	uint64_t *d = malloc(N / 4 / COLLECTOR_WORDS_PER_SAMPLE * sizeof(uint64_t));

	(void)state;
	collector_warmup(c);
	collector_fill(c, w, N / 4, d);
	assert_int_equal(failures((const uint8_t *)w, N), 0);
	collector_free(c);
	free(w);
	free(d);
}

/* The checks themselves must be able to fail: a bias of bit 0, a sticky
 * byte value and a short period are each rejected by the check meant
 * for it. */
static void test_checks_reject_bad_data(void **state)
{
	uint8_t *p = malloc(N);
	uint64_t x = 88172645463325252u;
	size_t i;

	(void)state;
	for (i = 0; i < N; i++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		p[i] = (uint8_t)(x >> 32);
	}
	assert_int_equal(failures(p, N), 0);       /* xorshift64 passes */
	for (i = 0; i < N; i += 100)
		p[i] |= 1;                         /* 0.5 % of bytes odd */
	assert_true(failures(p, N) & FAIL_MONOBIT);
	for (i = 0; i < N; i += 1000)
		p[i] = 0xA5;                       /* a sticky value */
	assert_true(failures(p, N) & FAIL_CHI2);
	for (i = 0; i < N; i++)
		p[i] = (uint8_t)(i % 251);         /* a short period */
	assert_true(failures(p, N) & FAIL_SERIAL);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_noise_alive),
		cmocka_unit_test(test_seeds_noise_alive),
		cmocka_unit_test(test_dead_deltas_measured_dead),
#ifdef HRNG_MOCK_TIMER
		cmocka_unit_test(test_dead_timers_measured_dead),
#endif
		cmocka_unit_test(test_smoke_conditioned_output),
		cmocka_unit_test(test_smoke_walk_output),
		cmocka_unit_test(test_checks_reject_bad_data),
	};

	log_init("test_stats", LOG_DEST_STDERR, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
