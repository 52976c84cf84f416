/* test_collector.c - the walk: table size, code measurement, fills. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "collector.h"
#include "timer.h"

enum { WORDS = 64 * 1024, SAMPLES = WORDS / COLLECTOR_WORDS_PER_SAMPLE };

static void test_table_is_twice_l1d(void **state)
{
	static const unsigned sizes[] = { 16, 32, 48, 64 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct collector *c = collector_new(sizes[i], 32);
		struct collector_layout l;

		assert_non_null(c);
		collector_get_layout(c, &l);
		assert_int_equal(l.table_words * 4, sizes[i] * 2 * 1024);
		collector_free(c);
	}
}

/* The executed code is the largest run of copies that fits L1i. */
static void check_fit(unsigned inst_kb)
{
	struct collector *c = collector_new(32, inst_kb);
	struct collector_layout l;

	assert_non_null(c);
	collector_get_layout(c, &l);
	assert_int_equal(l.copies_built, COLLECTOR_COPIES);
	assert_true(l.copies_run >= 1 && l.copies_run <= COLLECTOR_COPIES);
	if (l.measured) {
		assert_true(l.code_run <= l.code_built);
		if (l.copies_run > 1)
			assert_true(l.code_run <= (size_t)inst_kb * 1024);
		/* One more copy would not have fitted (unless all run). */
		if (l.copies_run < COLLECTOR_COPIES) {
			assert_true(l.code_next > l.code_run);
			assert_true(l.code_next > (size_t)inst_kb * 1024);
		} else {
			assert_int_equal(l.code_next, 0);
			assert_int_equal(l.code_run, l.code_built);
		}
	} else {
		assert_int_equal(l.copies_run, COLLECTOR_COPIES);
	}
	collector_free(c);
}

static void test_code_fits_l1i(void **state)
{
	(void)state;
	check_fit(1);
	check_fit(8);
	check_fit(16);
	check_fit(32);
	check_fit(64);
	check_fit(1024);
}

static void test_layout_measured(void **state)
{
	struct collector *c = collector_new(32, 32);
	struct collector_layout l;

	(void)state;
	collector_get_layout(c, &l);
	/* The build keeps the copies in order (see collector.c); if a
	 * compiler stops doing so, this says it loudly. */
	assert_int_equal(l.measured, 1);
	assert_true(l.code_built > 0);
	collector_free(c);
}

static void test_fill(void **state)
{
	struct collector *c = collector_new(32, 32);
	uint32_t *a = calloc(WORDS, 4), *b = calloc(WORDS, 4);
	uint64_t *d = calloc(SAMPLES, 8);
	size_t n, i, zero = 0, same = 0;

	(void)state;
	collector_warmup(c);
	n = collector_fill(c, a, WORDS, d);
	assert_int_equal(n, SAMPLES);
	collector_fill(c, b, WORDS, d);
	for (i = 0; i < WORDS; i++) {
		zero += a[i] == 0;
		same += a[i] == b[i];
	}
	/* Walk output looks like noise: zero words and coincidences as rare
	 * as chance makes them (expected 65536 / 2^32 each). */
	assert_true(zero < 4);
	assert_true(same < 4);
	for (i = 0, zero = 0; i < SAMPLES; i++)
		zero += d[i] == 0;
	if (!timer_is_mock())
		assert_true(zero < SAMPLES / 100);
	free(a);
	free(b);
	free(d);
	collector_free(c);
}

static void test_small_fill(void **state)
{
	struct collector *c = collector_new(16, 16);
	uint32_t w[COLLECTOR_WORDS_PER_SAMPLE * 3];
	uint64_t d[3];

	(void)state;
	assert_int_equal(collector_fill(c, w, COLLECTOR_WORDS_PER_SAMPLE, d), 1);
	assert_int_equal(collector_fill(c, w, COLLECTOR_WORDS_PER_SAMPLE * 3, d), 3);
	assert_int_equal(collector_fill(c, w, 0, d), 0);
	collector_free(c);
}

/* The seeds walk: a sample per stride steps, counted as its own steps,
 * and no step of the stream walk. */
static void test_seeds_walk(void **state)
{
	struct collector *c = collector_new(16, 16);
	uint32_t w[COLLECTOR_WORDS_PER_SAMPLE * 3];
	uint64_t d[64], steps, seeds, steps0, seeds0;
	unsigned stride;

	(void)state;
	collector_get_steps(c, &steps, &seeds);
	assert_int_equal(steps, 0);
	assert_int_equal(seeds, 0);
	for (stride = 1; stride <= 8; stride *= 2) {
		collector_get_steps(c, &steps0, &seeds0);
		assert_int_equal(collector_fill_seeds(c, stride, d, 64), 64);
		collector_get_steps(c, &steps, &seeds);
		assert_int_equal(steps, steps0);
		assert_int_equal(seeds, seeds0 + 64 * stride);
	}
	assert_int_equal(collector_fill_seeds(c, 4, d, 0), 0);
	assert_int_equal(collector_fill(c, w, COLLECTOR_WORDS_PER_SAMPLE * 3, d), 3);
	collector_get_steps(c, &steps, &seeds);
	assert_int_equal(steps, 3);
	collector_free(c);
}

#ifdef HRNG_TEST_SEAMS
/* A sample is the time of stride steps: with a mock timer, which stands
 * for one step's delta a read, the sum of stride of them (a mock build's
 * seeds walk reads the mock at every step, collector.c; a real build's
 * only once a sample). */
static void test_seeds_walk_reads(void **state)
{
	struct collector *c = collector_new(16, 16);
	uint64_t d[64], t0, t1;
	size_t i;

	(void)state;
	timer_mock_set("step:1");
	t0 = timer_now();
	assert_int_equal(collector_fill_seeds(c, 8, d, 64), 64);
	t1 = timer_now();
	assert_int_equal(t1 - t0, 64 * 8 + 1);
	for (i = 1; i < 64; i++)
		assert_int_equal(d[i], 8);
	timer_mock_set("real");
	collector_free(c);
}

/* With a dead timer the walk is a deterministic function of its start: two
 * collectors give identical output.  This is why the health tests look at
 * the deltas and not at the output. */
static void test_dead_timer_is_deterministic(void **state)
{
	uint32_t a[4096], b[4096];
	uint64_t d[4096 / COLLECTOR_WORDS_PER_SAMPLE];
	struct collector *c1, *c2;

	(void)state;
	timer_mock_set("step:97");
	c1 = collector_new(32, 32);
	timer_mock_set("step:97");
	c2 = collector_new(32, 32);
	timer_mock_set("step:97");
	collector_fill(c1, a, 4096, d);
	timer_mock_set("step:97");
	collector_fill(c2, b, 4096, d);
	assert_memory_equal(a, b, sizeof(a));
	collector_free(c1);
	collector_free(c2);
	timer_mock_set("real");
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_is_twice_l1d),
		cmocka_unit_test(test_code_fits_l1i),
		cmocka_unit_test(test_layout_measured),
		cmocka_unit_test(test_fill),
		cmocka_unit_test(test_small_fill),
		cmocka_unit_test(test_seeds_walk),
#ifdef HRNG_TEST_SEAMS
		cmocka_unit_test(test_seeds_walk_reads),
		cmocka_unit_test(test_dead_timer_is_deterministic),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
