/* test_timer.c - the timer: monotonic, measurable, and (mock builds) the
 * mock's forms. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "timer.h"

static void test_monotonic(void **state)
{
	uint64_t prev = timer_hw_now();
	unsigned i, changes = 0;

	(void)state;
	for (i = 0; i < 100000; i++) {
		uint64_t t = timer_hw_now();

		assert_true(t >= prev);
		changes += t != prev;
		prev = t;
	}
	/* A cycle counter changes between almost every pair of reads. */
	assert_true(changes > 1000);
}

static void test_measure(void **state)
{
	struct timer_info ti;

	(void)state;
	timer_measure(&ti);
	assert_non_null(ti.name);
	assert_true(ti.resolution > 0);
	assert_true(ti.ticks_per_ns > 0.0);
#if defined(__x86_64__) || defined(__i386__)
	if (!timer_is_mock())
		assert_string_equal(ti.name, "rdtsc");
#endif
}

#ifdef HRNG_TEST_SEAMS
static void test_mock_forms(void **state)
{
	(void)state;
	assert_true(timer_is_mock());
	assert_int_equal(timer_mock_set("const:42"), 0);
	assert_int_equal(timer_now(), 42);
	assert_int_equal(timer_now(), 42);

	assert_int_equal(timer_mock_set("step:97"), 0);
	assert_int_equal(timer_now(), 97);
	assert_int_equal(timer_now(), 194);

	assert_int_equal(timer_mock_set("two:3,5"), 0);
	uint64_t a = timer_now(), b = timer_now(), c = timer_now();
	assert_int_equal(b - a, 5);
	assert_int_equal(c - b, 3);

	assert_int_equal(timer_mock_set("freeze:2"), 0);
	timer_now();
	uint64_t f = timer_now();
	assert_int_equal(timer_now(), f);
	assert_int_equal(timer_now(), f);

	assert_int_equal(timer_mock_set("coarse:1,1000"), 0);
	timer_now();
	assert_int_equal(timer_now() % 1000, 0);
	assert_int_equal(timer_now() % 1000, 0);

	assert_int_equal(timer_mock_set("real"), 0);
}

static void test_mock_rejects(void **state)
{
	static const char *bad[] = { "", "const", "const:", "const:x", "const:1x",
		"step:-1", "two:1", "two:1,", "two:,1", "two:1,2,3", "sine:1", "REAL",
		"coarse:1", "coarse:1,0", "coarse:1,x" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(timer_mock_set(bad[i]), -EINVAL);
	timer_mock_set("real");
}
#else
static void test_not_mock(void **state)
{
	(void)state;
	assert_false(timer_is_mock());
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_monotonic),
		cmocka_unit_test(test_measure),
#ifdef HRNG_TEST_SEAMS
		cmocka_unit_test(test_mock_forms),
		cmocka_unit_test(test_mock_rejects),
#else
		cmocka_unit_test(test_not_mock),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
