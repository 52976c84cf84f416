/* test_stats.c - statistical sanity of the output, with fixed thresholds.
 *
 * On 4 MiB of conditioned output, and separately on 4 MiB of raw walk
 * output (before conditioning), three checks:
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
#include "generator.h"
#include "log.h"

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

static void test_conditioned_output(void **state)
{
	struct gen_config gc = { .data_kb = 32, .inst_kb = 32, .buffer_words = 128 * 1024,
				 .threads = 1, .spec = NULL };
	uint8_t *buf = malloc(N);
	struct generator *g;

	(void)state;
	assert_int_equal(gen_new(&g, &gc), 0);
	assert_int_equal(gen_read(g, buf, N), 0);
	assert_int_equal(failures(buf, N), 0);
	gen_free(g);
	free(buf);
}

static void test_walk_output(void **state)
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
		cmocka_unit_test(test_conditioned_output),
		cmocka_unit_test(test_walk_output),
		cmocka_unit_test(test_checks_reject_bad_data),
	};

	log_init("test_stats", LOG_DEST_STDERR, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
