/* test_generator.c - the pipeline: reads, lanes, start-up and continuous
 * health failures (with the mock timer), statistics. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "generator.h"
#include "log.h"
#include "testspec.h"
#include "timer.h"

static struct gen_config config(unsigned threads, size_t buffer_words)
{
	struct gen_config gc = { .data_kb = 32, .inst_kb = 32, .buffer_words = buffer_words,
				 .threads = threads, .spec = NULL };
	return gc;
}

/* Read total bytes in uneven pieces; returns the first error or 0. */
static int read_pieces(struct generator *g, uint8_t *buf, size_t total)
{
	size_t done = 0, piece = 1;

	while (done < total) {
		size_t k = piece < total - done ? piece : total - done;
		int r = gen_read(g, buf + done, k);

		if (r < 0)
			return r;
		done += k;
		piece = piece * 3 + 1;
	}
	return 0;
}

static void test_read_counts(void **state)
{
	enum { TOTAL = 3 << 20 };
	struct gen_config gc = config(1, 16 * 1024);
	uint8_t *buf = malloc(TOTAL);
	struct generator *g;
	struct gen_stats st;

	(void)state;
	assert_int_equal(gen_new(&g, &gc), 0);
	assert_int_equal(read_pieces(g, buf, TOTAL), 0);
	gen_get_stats(g, &st);
	assert_int_equal(st.bytes_out, TOTAL);
	assert_true(st.walk_bytes >= TOTAL);
	assert_int_equal(st.samples * 32, st.walk_bytes);
	assert_int_equal(st.health_failure, 0);
	gen_free(g);
	free(buf);
}

static void test_two_generators_differ(void **state)
{
	enum { N = 4096 };
	struct gen_config gc = config(1, 1024);
	uint8_t a[N], b[N];
	struct generator *g1, *g2;

	(void)state;
	assert_int_equal(gen_new(&g1, &gc), 0);
	assert_int_equal(gen_new(&g2, &gc), 0);
	assert_int_equal(gen_read(g1, a, N), 0);
	assert_int_equal(gen_read(g2, b, N), 0);
	assert_memory_not_equal(a, b, N);
	gen_free(g1);
	gen_free(g2);
}

static void test_threads(void **state)
{
	enum { TOTAL = 8 << 20 };
	struct gen_config gc = config(2, 64 * 1024);
	uint8_t *buf = malloc(TOTAL);
	struct generator *g;
	struct gen_stats st;

	(void)state;
	assert_int_equal(gen_new(&g, &gc), 0);
	assert_int_equal(read_pieces(g, buf, TOTAL), 0);
	gen_get_stats(g, &st);
	assert_int_equal(st.bytes_out, TOTAL);
	gen_free(g);
	/* Freed while the lanes are blocked on a full ring: must not hang. */
	assert_int_equal(gen_new(&g, &gc), 0);
	assert_int_equal(gen_read(g, buf, 100), 0);
	gen_free(g);
	free(buf);
}

static void test_bad_buffer(void **state)
{
	struct gen_config gc = config(1, 7);   /* less than one sample */
	struct generator *g;

	(void)state;
	assert_int_equal(gen_new(&g, &gc), -ENOMEM);
	assert_null(g);
}

#ifdef HRNG_MOCK_TIMER
/* A dead or deterministic timer fails the start-up health test: the
 * generator is never built, so nothing is ever output. */
static void test_startup_catches_dead_timers(void **state)
{
	static const char *dead[] = { "const:12345", "step:97", "step:1", "two:40,60" };
	struct gen_config gc = config(1, 1024);
	struct generator *g;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(dead) / sizeof(dead[0]); i++) {
		assert_int_equal(timer_mock_set(dead[i]), 0);
		assert_int_equal(gen_new(&g, &gc), -EIO);
		assert_null(g);
	}
	assert_int_equal(timer_mock_set("real"), 0);
	assert_int_equal(gen_new(&g, &gc), 0);
	gen_free(g);
}

/* The timer dies after start-up: reads fail and keep failing. */
static void test_timer_dies_later(void **state)
{
	struct gen_config gc = config(1, 1024);
	uint8_t buf[4096];
	struct generator *g;
	struct gen_stats st;
	int r = 0, i;

	(void)state;
	assert_int_equal(timer_mock_set("freeze:200000"), 0);
	assert_int_equal(gen_new(&g, &gc), 0);
	for (i = 0; i < 100000 && r == 0; i++)
		r = gen_read(g, buf, sizeof(buf));
	assert_int_equal(r, -EIO);
	assert_int_equal(gen_read(g, buf, 1), -EIO);
	gen_get_stats(g, &st);
	assert_int_not_equal(st.health_failure, 0);
	gen_free(g);
	timer_mock_set("real");
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_counts),
		cmocka_unit_test(test_two_generators_differ),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_bad_buffer),
#ifdef HRNG_MOCK_TIMER
		cmocka_unit_test(test_startup_catches_dead_timers),
		cmocka_unit_test(test_timer_dies_later),
#endif
	};

	log_init("test_generator", LOG_DEST_STDERR, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
