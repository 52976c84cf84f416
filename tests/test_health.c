/* test_health.c - SP 800-90B health tests (src/online/health.c).
 *
 * The cut-off table against an independent floating-point recomputation;
 * RCT and APT tripping exactly at their cut-offs, for every row of the
 * table; start-up failures of degenerate timers; no false alarm on good
 * streams; the intermittent / reset / clean cycle; the failure names.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "health.h"
#include "testutil.h"

/* The rows of the table: H in half bits. */
static const unsigned rows_halves[] = { 1, 2, 3, 4, 6, 8, 10, 12 };
#define NROWS (sizeof(rows_halves) / sizeof(rows_halves[0]))
#define FOR_ROWS(h) for (size_t r_ = 0; r_ < NROWS && ((h) = rows_halves[r_], 1); r_++)
enum { H_BEYOND = 13 };        /* no such row */

/* ------------------------------------------------------------ helpers */

/* splitmix64: a seeded, reproducible stream for the tests. */
static uint64_t prng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned insert1(struct health *h, uint64_t sample)
{
	return health_insert(h, &sample, 1);
}

static void init_row(struct health *h, unsigned halves)
{
	assert_int_equal(health_init_halves(h, halves), 0);
}

/* -------------------------------------- (a) the table, recomputed */

/* P(X >= c) for c = 0..n, X ~ Binomial(n, 2^-(halves / 2)), in long
 * double by the recurrence P(j + 1) = P(j) (n - j) / (j + 1) p / (1 - p).
 * No term underflows: the smallest, 2^(-6 * 512), is far inside the long
 * double range.  (No libm: the test programs do not link it.) */
static void tails(unsigned n, unsigned halves, long double *tail)
{
	const long double sqrt_half = 0.707106781186547524400844362104849039L;
	long double p = 1.0L, q, pmf = 1.0L, acc = 0.0L;
	long double *pmfs = tail;       /* the pmf first, then summed in place */
	unsigned j;

	for (j = 0; j < halves / 2; j++)
		p /= 2;
	if (halves % 2)
		p *= sqrt_half;
	q = 1.0L - p;
	for (j = 0; j < n; j++)
		pmf *= q;
	for (j = 0; j <= n; j++) {
		pmfs[j] = pmf;
		pmf = pmf * (n - j) / (j + 1) * p / q;
	}
	for (j = n + 1; j-- > 0;) {
		acc += pmfs[j];
		tail[j] = acc;
	}
}

/* Least c with P(X >= c) <= 2^-a, i.e. 1 + CRITBINOM(n, p, 1 - 2^-a).
 * Fails the test if a tail sits too close to alpha for long double to
 * decide. */
static unsigned apt_cutoff_float(unsigned halves, unsigned a)
{
	long double tail[HEALTH_APT_WINDOW + 1], alpha = 1.0L;
	unsigned c;

	for (c = 0; c < a; c++)
		alpha /= 2;
	tails(HEALTH_APT_WINDOW, halves, tail);
	for (c = 1; c <= HEALTH_APT_WINDOW; c++)
		if (tail[c] <= alpha)
			break;
	assert_true(c <= HEALTH_APT_WINDOW);
	assert_true(tail[c] < alpha * (1 - 1e-9L));
	assert_true(tail[c - 1] > alpha * (1 + 1e-9L));
	return c;
}

/* 4.4.1: the least C with 2^(-H (C - 1)) <= alpha = 2^-a, by search
 * (H = halves / 2, so H (C - 1) >= a is halves (C - 1) >= 2 a). */
static unsigned rct_cutoff_search(unsigned halves, unsigned a)
{
	unsigned c = 1;

	while (halves * (c - 1) < 2 * a)
		c++;
	return c;
}

static void test_table_matches_recomputation(void **state)
{
	const struct health_cutoffs *row;
	unsigned halves;

	(void)state;
	FOR_ROWS(halves) {
		row = health_cutoffs_for(halves);
		assert_non_null(row);
		assert_int_equal(row->entropy_halves, halves);
		assert_int_equal(row->rct, rct_cutoff_search(halves, 30));
		assert_int_equal(row->rct_perm, rct_cutoff_search(halves, 60));
		assert_int_equal(row->apt, apt_cutoff_float(halves, 30));
		assert_int_equal(row->apt_perm, apt_cutoff_float(halves, 60));
	}
	assert_null(health_cutoffs_for(0));
	assert_null(health_cutoffs_for(H_BEYOND));
}

static void test_cutoffs_in_use(void **state)
{
	const struct health_cutoffs *row = health_cutoffs_for(HEALTH_ENTROPY_HALVES);
	struct health h;

	(void)state;
	assert_non_null(row);
	assert_int_equal(health_rct_cutoff(false), row->rct);
	assert_int_equal(health_rct_cutoff(true), row->rct_perm);
	assert_int_equal(health_apt_cutoff(false), row->apt);
	assert_int_equal(health_apt_cutoff(true), row->apt_perm);
	health_init(&h);
	assert_int_equal(h.rct.cutoff, row->rct);
	assert_int_equal(h.apt.cutoff_perm, row->apt_perm);
	assert_int_equal(health_init_halves(&h, H_BEYOND), -EINVAL);
}

/* ------------------------------------------------- (b) RCT cut-off */

static void rct_trips_at_cutoff(unsigned halves)
{
	const struct health_cutoffs *row = health_cutoffs_for(halves);
	const unsigned rct_bits = HEALTH_RCT | HEALTH_RCT_PERMANENT;
	struct health h;
	unsigned i;

	init_row(&h, halves);
	/* A different sample first: the run must start at the repeat. */
	insert1(&h, 1);
	for (i = 1; i < row->rct; i++)
		assert_int_equal(insert1(&h, 77) & rct_bits, 0);
	assert_int_equal(insert1(&h, 77) & rct_bits, HEALTH_RCT);
	for (i = row->rct + 1; i < row->rct_perm; i++)
		assert_int_equal(insert1(&h, 77) & rct_bits, HEALTH_RCT);
	assert_int_equal(insert1(&h, 77) & rct_bits, rct_bits);
}

static void test_rct_exact_cutoff(void **state)
{
	unsigned halves;

	(void)state;
	FOR_ROWS(halves)
		rct_trips_at_cutoff(halves);
}

/* The same inside one batch, with the run split across two batches. */
static void test_rct_batches(void **state)
{
	unsigned c = health_rct_cutoff(false);
	uint64_t buf[256];
	struct health h;
	unsigned i;

	(void)state;
	assert_true(c + 10 < 256);
	for (i = 0; i < 256; i++)
		buf[i] = i < 10 ? i : 5000;   /* run of 246 from index 10 */
	health_init(&h);
	/* indices 10 .. 8 + c: c - 1 equal samples, then the c-th alone */
	assert_int_equal(health_insert(&h, buf, 9 + c) & HEALTH_RCT, 0);
	assert_int_equal(health_insert(&h, buf + 9 + c, 1) & HEALTH_RCT,
			 HEALTH_RCT);
}

/* ------------------------------------------------- (c) APT cut-off */

/* One window in which the first value occurs exactly `count` times,
 * spread evenly (sample i is the value iff i * count mod W < count), so no
 * run of it comes near the RCT cut-off; the others are all distinct. */
static void apt_window(uint64_t *w, unsigned count, uint64_t value,
		       uint64_t other)
{
	unsigned i;

	for (i = 0; i < HEALTH_APT_WINDOW; i++)
		w[i] = (i * count) % HEALTH_APT_WINDOW < count ? value : other + i;
}

static unsigned apt_one_window(unsigned halves, unsigned count)
{
	uint64_t w[HEALTH_APT_WINDOW];
	struct health h;
	unsigned got;

	init_row(&h, halves);
	apt_window(w, count, 3, 1000);
	got = health_insert(&h, w, HEALTH_APT_WINDOW);
	assert_int_equal(got & (HEALTH_RCT | HEALTH_RCT_PERMANENT), 0);
	return got;
}

static void test_apt_exact_cutoff(void **state)
{
	const unsigned apt_bits = HEALTH_APT | HEALTH_APT_PERMANENT;
	const struct health_cutoffs *row;
	unsigned halves;

	(void)state;
	FOR_ROWS(halves) {
		row = health_cutoffs_for(halves);
		assert_int_equal(apt_one_window(halves, row->apt - 1), 0);
		assert_int_equal(apt_one_window(halves, row->apt) & apt_bits,
				 HEALTH_APT);
		assert_int_equal(apt_one_window(halves, row->apt + 1) & apt_bits,
				 HEALTH_APT);
		assert_int_equal(apt_one_window(halves, row->apt_perm - 1) &
				 apt_bits, HEALTH_APT);
		assert_int_equal(apt_one_window(halves, row->apt_perm) & apt_bits,
				 apt_bits);
	}
}

/* 4.4.2 counts only the window's first sample: a value that is frequent
 * but does not open the window is not counted, and counts do not carry
 * over a window boundary. */
static void test_apt_counts_first_of_window(void **state)
{
	/* The 1.5-bit row: its cut-off is below W / 2, so two windows can
	 * hold 2c - 2 of a value within W samples (the window mechanics are
	 * the same for every row). */
	const unsigned halves = 3;
	unsigned c = health_cutoffs_for(halves)->apt;
	uint64_t w[2 * HEALTH_APT_WINDOW];
	struct health h;
	unsigned i;

	(void)state;
	assert_true(2 * c - 2 <= HEALTH_APT_WINDOW);
	apt_window(w, c + 10, 3, 1000);
	w[0] = 999999;                   /* a unique opener */
	health_init_halves(&h, halves);
	assert_int_equal(health_insert(&h, w, HEALTH_APT_WINDOW), 0);

	/* Two windows, each opened by the value and holding it c - 1 times:
	 * in the first at its end, in the second at its start, so that 2c - 2
	 * fall within W samples across the boundary. */
	for (i = 0; i < 2 * HEALTH_APT_WINDOW; i++)
		w[i] = 100000 + i;
	w[0] = 3;
	for (i = 0; i < c - 2; i++)
		w[HEALTH_APT_WINDOW - 1 - 2 * i] = 3;
	for (i = 0; i < c - 1; i++)
		w[HEALTH_APT_WINDOW + 2 * i] = 3;
	health_init_halves(&h, halves);
	assert_int_equal(health_insert(&h, w, 2 * HEALTH_APT_WINDOW), 0);
}

/* ------------------------------------------ (d) degenerate timers */

static unsigned startup_with(unsigned halves, const uint64_t *s, size_t n)
{
	struct health h;

	init_row(&h, halves);
	return health_startup(&h, s, n);
}

static void test_startup_fixed_step(void **state)
{
	uint64_t s[HEALTH_STARTUP_SAMPLES];
	unsigned halves, got;
	size_t i;

	(void)state;
	/* A counter advancing by a fixed step: every delta is the same. */
	for (i = 0; i < HEALTH_STARTUP_SAMPLES; i++)
		s[i] = 38;
	FOR_ROWS(halves) {
		got = startup_with(halves, s, HEALTH_STARTUP_SAMPLES);
		assert_true(got & HEALTH_STARTUP);
		assert_true(got & HEALTH_RCT_PERMANENT);
	}
}

/* Two deltas in turn: every window opens with one of them and holds it
 * W / 2 times.  That trips the APT for every claim above 1 bit per
 * sample; at H = 1 a two-valued source is exactly what is claimed, so it
 * must pass. */
static void test_startup_alternating(void **state)
{
	uint64_t s[HEALTH_STARTUP_SAMPLES];
	const struct health_cutoffs *row;
	unsigned halves, got;
	size_t i;

	(void)state;
	for (i = 0; i < HEALTH_STARTUP_SAMPLES; i++)
		s[i] = i & 1 ? 41 : 36;
	FOR_ROWS(halves) {
		row = health_cutoffs_for(halves);
		got = startup_with(halves, s, HEALTH_STARTUP_SAMPLES);
		assert_int_equal(got & HEALTH_RCT, 0);
		if (HEALTH_APT_WINDOW / 2 >= row->apt) {
			assert_true(got & HEALTH_STARTUP);
			assert_true(got & HEALTH_APT);
		} else {
			assert_int_equal(got, 0);
		}
	}
	/* At the claim in use (0.5 bits) the APT lets a two-valued timer
	 * through: refusing it is the start-up calibration's job, whose Lag
	 * estimate sees the alternation (tests/test_noise.c). */
	assert_true(health_cutoffs_for(HEALTH_ENTROPY_HALVES)->apt > HEALTH_APT_WINDOW / 2);
}

/* An intermittent-level failure at start-up is already fatal. */
static void test_startup_intermittent_is_fatal(void **state)
{
	uint64_t s[HEALTH_STARTUP_SAMPLES], seed = 5;
	unsigned c = health_rct_cutoff(false), got;
	struct health h;
	size_t i;

	(void)state;
	for (i = 0; i < HEALTH_STARTUP_SAMPLES; i++)
		s[i] = prng_next(&seed) & 0xffff;
	for (i = 0; i < c; i++)
		s[500 + i] = 1234;
	health_init(&h);
	got = health_startup(&h, s, HEALTH_STARTUP_SAMPLES);
	assert_int_equal(got, HEALTH_RCT | HEALTH_STARTUP);
	assert_true(health_permanent(&h));
	health_reset(&h);
	assert_true(health_permanent(&h));
}

/* ---------------------------------------------- (e) good streams */

enum { GOOD_BATCH = 4096, GOOD_BATCHES = 2048 };  /* 8 Mi samples */

/* A wide delta distribution (16 random bits over a base, as a busy timer
 * gives) through the tests in use, batch by batch as the collector does. */
static void test_good_stream_passes(void **state)
{
	static uint64_t buf[GOOD_BATCH];
	uint64_t seed = 20240601;
	struct health h;
	unsigned b, i;

	(void)state;
	health_init(&h);
	for (i = 0; i < GOOD_BATCH; i++)
		buf[i] = 200 + (prng_next(&seed) & 0xffff);
	assert_int_equal(health_startup(&h, buf, GOOD_BATCH), 0);
	for (b = 0; b < GOOD_BATCHES; b++) {
		for (i = 0; i < GOOD_BATCH; i++)
			buf[i] = 200 + (prng_next(&seed) & 0xffff);
		assert_int_equal(health_insert(&h, buf, GOOD_BATCH), 0);
		health_clean(&h);
	}
	assert_int_equal(h.samples, (uint64_t)GOOD_BATCH * (GOOD_BATCHES + 1));
	assert_int_equal(h.intermittent, 0);
}

/* For every row, a source with one bit more than claimed (2^(H+1) equally
 * likely deltas) passes 1 Mi samples: the cut-offs are not too tight. */
static void test_source_above_claim_passes(void **state)
{
	static uint64_t buf[GOOD_BATCH];
	uint64_t seed = 77, mask;
	struct health h;
	unsigned halves, b, i;

	(void)state;
	FOR_ROWS(halves) {
		mask = (1ull << ((halves + 3) / 2)) - 1;  /* >= 1 bit over H */
		init_row(&h, halves);
		for (b = 0; b < 256; b++) {
			for (i = 0; i < GOOD_BATCH; i++)
				buf[i] = 90 + (prng_next(&seed) & mask);
			assert_int_equal(health_insert(&h, buf, GOOD_BATCH), 0);
		}
	}
}

/* ------------------------------- (f) intermittent, reset and clean */

enum { CYCLE_BATCH = 1024 };

static void fill_good(uint64_t *buf, uint64_t *seed)
{
	unsigned i;

	for (i = 0; i < CYCLE_BATCH; i++)
		buf[i] = prng_next(seed) & 0xfffff;
}

/* A good batch with one run just at the intermittent RCT cut-off. */
static void fill_bad(uint64_t *buf, uint64_t *seed)
{
	unsigned i, c = health_rct_cutoff(false);

	fill_good(buf, seed);
	for (i = 0; i < c; i++)
		buf[100 + i] = 424242;
}

static void test_intermittent_cycle(void **state)
{
	uint64_t buf[CYCLE_BATCH], seed = 9;
	struct health h;
	int round;

	(void)state;
	health_init(&h);
	for (round = 0; round < 5; round++) {
		fill_bad(buf, &seed);
		assert_int_equal(health_insert(&h, buf, CYCLE_BATCH), HEALTH_RCT);
		assert_false(health_permanent(&h));
		health_reset(&h);
		assert_int_equal(health_failed(&h), 0);
		fill_good(buf, &seed);
		assert_int_equal(health_insert(&h, buf, CYCLE_BATCH), 0);
		health_clean(&h);
	}
	assert_int_equal(h.intermittent, 5);
	assert_int_equal(h.in_a_row, 0);
}

static void test_third_in_a_row_is_permanent(void **state)
{
	uint64_t buf[CYCLE_BATCH], seed = 10;
	struct health h;
	unsigned i, got;

	(void)state;
	assert_int_equal(HEALTH_MAX_INTERMITTENT, 3);
	health_init(&h);
	for (i = 1; i < HEALTH_MAX_INTERMITTENT; i++) {
		fill_bad(buf, &seed);
		assert_int_equal(health_insert(&h, buf, CYCLE_BATCH), HEALTH_RCT);
		health_reset(&h);
		/* A good batch without health_clean() does not break the row. */
		fill_good(buf, &seed);
		assert_int_equal(health_insert(&h, buf, CYCLE_BATCH), 0);
	}
	fill_bad(buf, &seed);
	got = health_insert(&h, buf, CYCLE_BATCH);
	assert_int_equal(got, HEALTH_RCT | HEALTH_REPEATED);
	assert_true(health_permanent(&h));
	health_reset(&h);
	assert_int_equal(health_failed(&h), HEALTH_REPEATED);
	fill_good(buf, &seed);
	assert_int_equal(health_insert(&h, buf, CYCLE_BATCH), HEALTH_REPEATED);
}

/* Two crossings before the caller resets are one failure, not two. */
static void test_one_failure_per_reset(void **state)
{
	uint64_t buf[CYCLE_BATCH], seed = 11;
	unsigned i, c = health_rct_cutoff(false);
	struct health h;

	(void)state;
	health_init(&h);
	fill_bad(buf, &seed);
	for (i = 0; i < c; i++)
		buf[600 + i] = 8888;
	assert_int_equal(health_insert(&h, buf, CYCLE_BATCH), HEALTH_RCT);
	assert_int_equal(health_insert(&h, buf, CYCLE_BATCH), HEALTH_RCT);
	assert_int_equal(h.intermittent, 1);
	assert_int_equal(h.in_a_row, 1);
}

static void test_permanent_survives_reset(void **state)
{
	uint64_t buf[CYCLE_BATCH], seed = 12;
	unsigned i, c = health_rct_cutoff(true);
	struct health h;

	(void)state;
	health_init(&h);
	fill_good(buf, &seed);
	for (i = 0; i < c; i++)
		buf[300 + i] = 5;
	assert_int_equal(health_insert(&h, buf, CYCLE_BATCH),
			 HEALTH_RCT | HEALTH_RCT_PERMANENT);
	health_reset(&h);
	assert_int_equal(health_failed(&h), HEALTH_RCT_PERMANENT);
	assert_true(health_permanent(&h));
	fill_good(buf, &seed);
	assert_int_equal(health_insert(&h, buf, CYCLE_BATCH),
			 HEALTH_RCT_PERMANENT);
}

/* A reset throws away the partial run: after it the count starts anew. */
/* A run that tripped the RCT survives the reset: a stuck source fed in
 * batches shorter than the cut-off trips on every batch after the first,
 * three in a row, and the run goes on to the permanent cut-off. */
static void test_stuck_in_short_batches(void **state)
{
	unsigned c = health_rct_cutoff(false), batch = c / 2, i, got = 0;
	uint64_t buf[256];
	struct health h;

	(void)state;
	assert_true(batch < sizeof(buf) / sizeof(buf[0]));
	for (i = 0; i < batch; i++)
		buf[i] = 7;
	health_init(&h);
	for (i = 0; i < 20 && !health_permanent(&h); i++) {
		got = health_insert(&h, buf, batch);
		if (got) {
			health_reset(&h);
		} else {
			health_clean(&h);
			assert_true(i < 2);          /* only before the first trip */
		}
	}
	assert_true(health_permanent(&h));
	assert_true(got & (HEALTH_REPEATED | HEALTH_RCT_PERMANENT));
}

static void test_reset_restarts_tests(void **state)
{
	unsigned i, c = health_rct_cutoff(false);
	struct health h;

	(void)state;
	health_init(&h);
	for (i = 1; i < c; i++)
		assert_int_equal(insert1(&h, 6), 0);
	health_reset(&h);
	for (i = 1; i < c; i++)
		assert_int_equal(insert1(&h, 6), 0);
	assert_int_equal(insert1(&h, 6), HEALTH_RCT);
}

/* --------------------------------------------------- (g) the names */

static void test_describe(void **state)
{
	(void)state;
	assert_string_equal(health_describe(0), "none");
	assert_string_equal(health_describe(HEALTH_RCT), "RCT");
	assert_string_equal(health_describe(HEALTH_APT), "APT");
	assert_string_equal(health_describe(HEALTH_RCT_PERMANENT), "RCT permanent");
	assert_string_equal(health_describe(HEALTH_APT_PERMANENT), "APT permanent");
	assert_string_equal(health_describe(HEALTH_STARTUP), "start-up");
	assert_string_equal(health_describe(HEALTH_REPEATED), "repeated");
	/* the most severe bit names a mask */
	assert_string_equal(health_describe(HEALTH_RCT | HEALTH_RCT_PERMANENT),
			    "RCT permanent");
	assert_string_equal(health_describe(HEALTH_APT | HEALTH_STARTUP),
			    "start-up");
	assert_string_equal(health_describe(1u << 20), "unknown");
}

static void test_format(void **state)
{
	char buf[80], small[8];
	int n;

	(void)state;
	n = health_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "none");
	assert_int_equal(n, 4);
	health_format(HEALTH_APT | HEALTH_RCT | HEALTH_RCT_PERMANENT |
		      HEALTH_STARTUP, buf, sizeof(buf));
	assert_string_equal(buf, "start-up,RCT permanent,RCT,APT");
	health_format(HEALTH_APT | (1u << 20), buf, sizeof(buf));
	assert_string_equal(buf, "APT,unknown");
	n = health_format(HEALTH_REPEATED | HEALTH_APT_PERMANENT, small,
			  sizeof(small));
	assert_string_equal(small, "repeate");
	assert_int_equal(n, (int)strlen("repeated,APT permanent"));
	assert_int_equal(health_format(HEALTH_RCT, NULL, 0), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_matches_recomputation),
		cmocka_unit_test(test_cutoffs_in_use),
		cmocka_unit_test(test_rct_exact_cutoff),
		cmocka_unit_test(test_rct_batches),
		cmocka_unit_test(test_apt_exact_cutoff),
		cmocka_unit_test(test_apt_counts_first_of_window),
		cmocka_unit_test(test_startup_fixed_step),
		cmocka_unit_test(test_startup_alternating),
		cmocka_unit_test(test_startup_intermittent_is_fatal),
		cmocka_unit_test(test_good_stream_passes),
		cmocka_unit_test(test_source_above_claim_passes),
		cmocka_unit_test(test_intermittent_cycle),
		cmocka_unit_test(test_third_in_a_row_is_permanent),
		cmocka_unit_test(test_one_failure_per_reset),
		cmocka_unit_test(test_permanent_survives_reset),
		cmocka_unit_test(test_stuck_in_short_batches),
		cmocka_unit_test(test_reset_restarts_tests),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
