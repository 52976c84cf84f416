/* test_ais31.c - AIS-31 procedures A and B and the group controller.
 *
 * - recorded vectors (tests/data/ais31-*, format in
 *   scripts/make-ais31-vectors.py): each must fail exactly the tests its
 *   header names, and ais31-pass.bin must pass both procedures;
 * - each statistic on handcrafted blocks, values worked out in comments;
 * - procedure B's values against a plain bit-by-bit re-implementation;
 * - the split of the input never changes a result;
 * - the controller: order, retry, failure, advisory, boundaries.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"
#include "ais31.h"

enum {
	BLOCK_BYTES = 2500,
	A_BYTES = 1035716,          /* 393216 + 257 * 2500 */
	T8_WORDS = 2560 + 256000,
};

/* ------------------------------------------------------------ vectors */

struct vector {
	char procedure[4];
	char start[8];
	size_t repeat;              /* 0: payload as is */
	unsigned expect_mask;       /* tests that must fail; 0 = pass */
	uint8_t *data;
	size_t len;
};

static const char *const names[AIS31_NTESTS] = {
	"T0", "T1", "T2", "T3", "T4", "T5", "T6a", "T6b", "T7a", "T7b", "T8",
};

static int test_by_name(const char *s)
{
	int t;

	for (t = 0; t < AIS31_NTESTS; t++)
		if (!strcmp(s, names[t]))
			return t;
	fail_msg("unknown test name '%s'", s);
	return -1;
}

static void parse_expect(struct vector *v, char *list)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(list, " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save))
		if (strcmp(tok, "pass"))
			v->expect_mask |= 1u << test_by_name(tok);
}

static void parse_header_line(struct vector *v, char *line)
{
	if (!strncmp(line, "# procedure: ", 13))
		snprintf(v->procedure, sizeof(v->procedure), "%.*s",
			 (int)strcspn(line + 13, "\n"), line + 13);
	else if (!strncmp(line, "# start: ", 9))
		snprintf(v->start, sizeof(v->start), "%.*s",
			 (int)strcspn(line + 9, "\n"), line + 9);
	else if (!strncmp(line, "# repeat: ", 10))
		v->repeat = strtoul(line + 10, NULL, 10);
	else if (!strncmp(line, "# expect: ", 10))
		parse_expect(v, line + 10);
}

static void load_vector(const char *name, struct vector *v)
{
	const char *top = getenv("top_srcdir");
	char path[512], line[256];
	FILE *f;
	long at;

	memset(v, 0, sizeof(*v));
	snprintf(path, sizeof(path), "%s/tests/data/%s", top ? top : ".", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	while (fgets(line, sizeof(line), f) && strcmp(line, "--\n")) {
		if (line[0] != '#')
			fail_msg("%s: header line not a comment: %s", name, line);
		parse_header_line(v, line);
	}
	at = ftell(f);
	fseek(f, 0, SEEK_END);
	v->len = (size_t)(ftell(f) - at);
	fseek(f, at, SEEK_SET);
	v->data = malloc(v->len);
	assert_non_null(v->data);
	assert_int_equal(fread(v->data, 1, v->len, f), v->len);
	fclose(f);
	assert_true(v->len > 0);
	assert_true(v->procedure[0] && v->start[0]);
}

/* Good data (ais31-pass.bin), read on through a cursor and wrapping. */
static struct vector good;
static size_t good_at;

static int load_good(void **state)
{
	(void)state;
	load_vector("ais31-pass.bin", &good);
	return 0;
}

static int free_good(void **state)
{
	(void)state;
	free(good.data);
	return 0;
}

static const uint8_t *good_bytes(size_t n)
{
	const uint8_t *p;

	assert_true(n <= good.len);
	if (good_at + n > good.len)
		good_at = 0;
	p = good.data + good_at;
	good_at += n;
	return p;
}

static void feed_all(struct ais31_run *run, const uint8_t *p, size_t n)
{
	size_t used = ais31_run_feed(run, p, n);

	assert_int_equal(used, n);
}

static void finish_with_good(struct ais31_run *run)
{
	while (!ais31_run_done(run))
		ais31_run_feed(run, good_bytes(4096), 4096);
}

static void feed_payload(struct ais31_run *run, const struct vector *v)
{
	size_t total = v->repeat ? v->repeat : v->len, done = 0;

	while (done < total && !ais31_run_done(run)) {
		size_t off = done % v->len, n = v->len - off;

		if (n > total - done)
			n = total - done;
		done += ais31_run_feed(run, v->data + off, n);
	}
	/* only ais31-pass.bin holds more than its procedure needs */
	assert_true(done == total || v->expect_mask == 0);
}

/* Feed good bytes one at a time until the run reaches the named step. */
static void advance_to(struct ais31_run *run, const char *start)
{
	enum ais31_test want;

	if (!strcmp(start, "run"))
		return;
	want = (enum ais31_test)test_by_name(start);
	while (ais31_run_step(run) != want) {
		assert_false(ais31_run_done(run));
		feed_all(run, good_bytes(1), 1);
	}
}

static struct ais31_result run_vector(const struct vector *v, enum ais31_proc p)
{
	struct ais31_run *run = ais31_run_new(p, 8);
	struct ais31_result r;

	assert_non_null(run);
	good_at = 0;
	advance_to(run, v->start);
	feed_payload(run, v);
	finish_with_good(run);
	r = *ais31_run_result(run);
	ais31_run_free(run);
	return r;
}

static void check_vector(const char *name)
{
	struct vector v;
	struct ais31_result r;

	load_vector(name, &v);
	assert_true(v.procedure[0] == 'A' || v.procedure[0] == 'B');
	r = run_vector(&v, v.procedure[0] == 'A' ? AIS31_PROC_A : AIS31_PROC_B);
	if (r.fail_mask != v.expect_mask)
		fail_msg("%s: failed tests 0x%x, header expects 0x%x", name,
			 r.fail_mask, v.expect_mask);
	free(v.data);
}

static void vector_pass_a(void **state)
{
	struct ais31_result r;

	(void)state;
	r = run_vector(&good, AIS31_PROC_A);
	assert_int_equal(r.fails, 0);
	assert_int_equal(r.bytes, A_BYTES);
	/* 1 T0 + 4 x 257 T1-T4 + T5 on blocks 0 and 256 (a8) */
	assert_int_equal(r.tests, 1 + 4 * 257 + 2);
	assert_int_equal(r.t5_blocks, 2);
}

static void vector_pass_b(void **state)
{
	struct ais31_result r;

	(void)state;
	r = run_vector(&good, AIS31_PROC_B);
	assert_int_equal(r.fails, 0);
	assert_int_equal(r.tests, 9);
	assert_in_range(r.bytes, 800000, 950000);
}

static void vector_constant(void **state)
{
	struct vector v;
	struct ais31_result r;

	(void)state;
	check_vector("ais31-constant.bin");
	/* each of T1-T5 fails exactly once, on block 0 */
	load_vector("ais31-constant.bin", &v);
	r = run_vector(&v, AIS31_PROC_A);
	assert_int_equal(r.fails, 5);
	assert_int_equal(r.first_test, AIS31_T1);
	assert_int_equal(r.first_index, 0);
	assert_true(r.first_value == 0.0);      /* no ones at all */
	free(v.data);
}

static void vector_biased(void **state)
{
	(void)state;
	check_vector("ais31-biased.bin");
}

static void vector_markov(void **state)
{
	(void)state;
	check_vector("ais31-markov.bin");
}

static void vector_period(void **state)
{
	(void)state;
	check_vector("ais31-period.bin");
}

static void vector_lcg(void **state)
{
	struct vector v;
	struct ais31_result r;

	(void)state;
	check_vector("ais31-lcg.bin");
	load_vector("ais31-lcg.bin", &v);
	r = run_vector(&v, AIS31_PROC_A);
	/* 6-byte strings over a 256-byte period: offsets 6i mod 256 take
	 * 128 values, so 65536 - 128 strings repeat an earlier one */
	assert_int_equal(r.t0_duplicates, 65536 - 128);
	free(v.data);
}

/* ------------------------------------------------------------ statistics */

static void fill_block(uint8_t *b, uint8_t pattern)
{
	memset(b, pattern, BLOCK_BYTES);
}

static void set_bit(uint8_t *b, unsigned pos, unsigned v)
{
	uint8_t m = (uint8_t)(0x80 >> (pos & 7));

	b[pos >> 3] = (uint8_t)(v ? b[pos >> 3] | m : b[pos >> 3] & ~m);
}

static void stats_constant_block(void **state)
{
	uint8_t b[BLOCK_BYTES];
	struct ais31_block_values v;
	unsigned k;

	(void)state;
	fill_block(b, 0x00);
	ais31_block_values(b, &v);
	assert_int_equal(v.ones, 0);
	/* f(0) = 5000: X = 16/5000 * 5000^2 - 5000 = 75000 */
	assert_true(v.poker == 75000.0);
	/* one run of 20000 zeros, counted as 6+ */
	for (k = 0; k < 6; k++) {
		assert_int_equal(v.runs[1][k], 0);
		assert_int_equal(v.runs[0][k], k == 5);
	}
	assert_true(v.long_run >= 34);
	/* Z_tau = 0 for every tau: |0 - 2500| is largest first at tau 1 */
	assert_int_equal(v.t5_tau, 1);
	assert_int_equal(v.t5_z, 0);
}

static void stats_alternating_block(void **state)
{
	uint8_t b[BLOCK_BYTES];
	struct ais31_block_values v;

	(void)state;
	fill_block(b, 0x55);    /* 0101...: bit p is 1 iff p is odd */
	ais31_block_values(b, &v);
	assert_int_equal(v.ones, 10000);
	/* every nibble is 0101 = 5: X = 75000 as for the constant block */
	assert_true(v.poker == 75000.0);
	/* 10000 runs of one 0 and 10000 runs of one 1 */
	assert_int_equal(v.runs[0][0], 10000);
	assert_int_equal(v.runs[1][0], 10000);
	assert_int_equal(v.runs[0][1] + v.runs[1][5], 0);
	assert_int_equal(v.long_run, 0);
	/* odd tau: every pair differs, Z = 5000, deviation 2500 (first at
	 * tau 1); the second half gives Z_1 = 5000 again */
	assert_int_equal(v.t5_tau, 1);
	assert_int_equal(v.t5_z, 5000);
}

static void stats_runs_of_two_and_four(void **state)
{
	uint8_t b[BLOCK_BYTES];
	struct ais31_block_values v;

	(void)state;
	fill_block(b, 0xcc);    /* 1100 1100: 5000 runs of 11, 5000 of 00 */
	ais31_block_values(b, &v);
	assert_int_equal(v.runs[1][1], 5000);
	assert_int_equal(v.runs[0][1], 5000);
	assert_int_equal(v.runs[1][0] + v.runs[0][0], 0);
	fill_block(b, 0xf0);    /* 1111 0000: 2500 runs of four each */
	ais31_block_values(b, &v);
	assert_int_equal(v.runs[1][3], 2500);
	assert_int_equal(v.runs[0][3], 2500);
	assert_int_equal(v.ones, 10000);
	/* nibbles F and 0, 2500 each: 16/5000 * 2 * 2500^2 - 5000 = 35000 */
	assert_true(v.poker == 35000.0);
}

static void stats_runs_of_six_and_more(void **state)
{
	uint8_t b[BLOCK_BYTES];
	struct ais31_block_values v;
	unsigned i;

	(void)state;
	/* 1111 1110 0000 0001 repeated 1250 times reads as 1^7, then
	 * (0^8 1^8) x 1249, then 0^8 and the block's last bit, a lone 1:
	 * 1250 runs of 6+ ones (the 7 and 1249 eights) and one of a single
	 * one; 1250 runs of eight zeros. */
	for (i = 0; i < BLOCK_BYTES; i += 2) {
		b[i] = 0xfe;
		b[i + 1] = 0x01;
	}
	ais31_block_values(b, &v);
	/* runs: 1^7, then (0^8 1^8) x 1249, then 0^8 1^1 */
	assert_int_equal(v.runs[1][5], 1 + 1249);
	assert_int_equal(v.runs[1][0], 1);
	assert_int_equal(v.runs[0][5], 1250);
	assert_int_equal(v.long_run, 0);
}

/* The nibbles cycle 0..15: 5000 = 312 * 16 + 8, so f = 313 for 0-7 and
 * 312 for 8-15; sum f^2 = 8 * (97969 + 97344) = 1562504, and
 * X = 16 * 1562504 / 5000 - 5000 = 64 / 5000 = 0.0128: too uniform, below
 * T2's lower bound 1.03. */
static void stats_poker_too_uniform(void **state)
{
	uint8_t b[BLOCK_BYTES];
	struct ais31_block_values v;
	unsigned i;

	(void)state;
	for (i = 0; i < BLOCK_BYTES; i++)
		b[i] = (uint8_t)(((2 * i) & 15) << 4 | ((2 * i + 1) & 15));
	ais31_block_values(b, &v);
	assert_true(fabs(v.poker - 0.0128) < 1e-9);
}

/* A run of exactly 33 passes T4, 34 fails; placed in the alternating
 * block, with the bit before and after forced to the other value. */
static unsigned long_run_of(unsigned start, unsigned len)
{
	uint8_t b[BLOCK_BYTES];
	struct ais31_block_values v;
	unsigned p;

	fill_block(b, 0x55);
	for (p = start; p < start + len; p++)
		set_bit(b, p, 1);
	if (start > 0)
		set_bit(b, start - 1, 0);
	if (start + len < 20000)
		set_bit(b, start + len, 0);
	ais31_block_values(b, &v);
	return v.long_run;
}

static void stats_long_run_bound(void **state)
{
	(void)state;
	assert_int_equal(long_run_of(1001, 33), 0);
	assert_int_equal(long_run_of(1001, 34), 34);
	/* at the very start and the very end of the block */
	assert_int_equal(long_run_of(0, 33), 0);
	assert_int_equal(long_run_of(0, 34), 34);
	assert_int_equal(long_run_of(20000 - 33, 33), 0);
	assert_int_equal(long_run_of(20000 - 34, 34), 34);
}

/* T5 against a bit-by-bit computation on a block of good data. */
static unsigned naive_z(const uint8_t *b, unsigned start, unsigned tau)
{
	unsigned j, z = 0;

	for (j = start; j < start + 5000; j++) {
		unsigned x = (b[j >> 3] >> (7 - (j & 7))) & 1;
		unsigned y = (b[(j + tau) >> 3] >> (7 - ((j + tau) & 7))) & 1;

		z += x ^ y;
	}
	return z;
}

static void stats_autocorrelation_matches_naive(void **state)
{
	const uint8_t *b;
	struct ais31_block_values v;
	unsigned tau, best = 1, best_dev = 0;

	(void)state;
	good_at = 0;
	b = good_bytes(BLOCK_BYTES);
	ais31_block_values(b, &v);
	for (tau = 1; tau <= 5000; tau += 1) {
		unsigned z = naive_z(b, 0, tau);
		unsigned dev = z > 2500 ? z - 2500 : 2500 - z;

		if (dev > best_dev) {
			best_dev = dev;
			best = tau;
		}
	}
	assert_int_equal(v.t5_tau, best);
	assert_int_equal(v.t5_z, naive_z(b, 10000, best));
}

/* A second half that repeats the first at distance tau makes Z_tau 0. */
static void stats_autocorrelation_fails_on_period(void **state)
{
	uint8_t b[BLOCK_BYTES];
	struct ais31_block_values v;

	(void)state;
	good_at = 0;
	/* period 4000 bits = 500 bytes: Z_4000 = 0, deviation 2500, the
	 * largest possible, so tau = 4000 unless a smaller tau also has
	 * Z in {0, 5000}, which good data never has */
	memcpy(b, good_bytes(500), 500);
	memcpy(b + 500, b, 500);
	memcpy(b + 1000, b, 1000);
	memcpy(b + 2000, b, 500);
	ais31_block_values(b, &v);
	assert_int_equal(v.t5_tau, 4000);
	assert_int_equal(v.t5_z, 0);
}

/* T7's chi-square with n = 100000 per prefix: ones 50000 and 51000 give
 * d = -1000, s = 101000: 10^6 (1/101000 + 1/99000) = 9.90099 + 10.10101
 * = 20.00200, above 15.13. */
static void stats_t7_chi2(void **state)
{
	(void)state;
	assert_true(fabs(ais31_t7_chi2(50000, 51000) - 20.0020002) < 1e-6);
	assert_true(ais31_t7_chi2(50000, 50000) == 0.0);
	assert_true(ais31_t7_chi2(51000, 50000) == ais31_t7_chi2(50000, 51000));
	/* d = 600, s = 100000: 360000 * (1/100000 + 1/100000) = 7.2 */
	assert_true(fabs(ais31_t7_chi2(50300, 49700) - 7.2) < 1e-9);
}

/* ------------------------------------------------ procedure B, plainly
 *
 * The same steps written the obvious way: one bit, one tuple, one word at
 * a time.  The module must agree exactly (T8 to rounding).
 */
struct plain_b {
	const uint8_t *p;
	size_t bit;                 /* next bit */
	unsigned ones6a;
	uint32_t ones[3][8];
	double t8;
};

static unsigned next_bit(struct plain_b *s)
{
	unsigned v = (s->p[s->bit >> 3] >> (7 - (s->bit & 7))) & 1;

	s->bit++;
	return v;
}

static void plain_tuples(struct plain_b *s, unsigned L, uint32_t *ones)
{
	uint32_t count[8] = { 0 };
	unsigned classes = 1u << (L - 1), full = 0;

	while (full < classes) {
		unsigned t = 0, i;

		for (i = 0; i < L; i++)
			t = t << 1 | next_bit(s);
		if (count[t >> 1] < 100000) {
			ones[t >> 1] += t & 1;
			full += ++count[t >> 1] == 100000;
		}
	}
	s->bit = (s->bit + 7) & ~(size_t)7;    /* next step: fresh byte */
}

static void plain_coron(struct plain_b *s)
{
	static double g[T8_WORDS + 2];
	uint32_t last[256] = { 0 }, n;
	const uint8_t *w = s->p + s->bit / 8;
	double sum = 0.0;

	for (n = 2; n < T8_WORDS + 2; n++)
		g[n] = g[n - 1] + 1.0 / (n - 1) / M_LN2;
	for (n = 1; n <= T8_WORDS; n++) {
		if (n > 2560)
			sum += g[n - last[w[n - 1]]];
		last[w[n - 1]] = n;
	}
	s->t8 = sum / 256000;
	s->bit += 8 * (size_t)T8_WORDS;
}

static void plain_procedure_b(struct plain_b *s)
{
	unsigned i;

	for (i = 0; i < 100000; i++)
		s->ones6a += next_bit(s);
	plain_tuples(s, 2, s->ones[0]);
	plain_tuples(s, 3, s->ones[1]);
	plain_tuples(s, 4, s->ones[2]);
	plain_coron(s);
}

static double plain_chi2(uint32_t a, uint32_t b)
{
	/* the textbook form: four cells, expected counts from the pooled
	 * proportion */
	double n = 100000, p1 = (a + b) / (2 * n), p0 = 1 - p1, t = 0;
	double f[2][2] = { { n - a, a }, { n - b, b } };
	unsigned i;

	for (i = 0; i < 2; i++)
		t += (f[i][0] - n * p0) * (f[i][0] - n * p0) / (n * p0) +
		     (f[i][1] - n * p1) * (f[i][1] - n * p1) / (n * p1);
	return t;
}

static void procedure_b_matches_plain(void **state)
{
	struct plain_b s = { .p = good.data };
	struct ais31_result r;
	unsigned k;

	(void)state;
	plain_procedure_b(&s);
	r = run_vector(&good, AIS31_PROC_B);
	assert_int_equal(r.bytes, s.bit / 8);
	assert_true(r.t6a == s.ones6a / 100000.0);
	assert_true(r.t6b == ((double)s.ones[0][0] - s.ones[0][1]) / 100000.0);
	for (k = 0; k < 2; k++)
		assert_true(fabs(r.t7a[k] - plain_chi2(s.ones[1][k],
						       s.ones[1][k + 2])) < 1e-9);
	for (k = 0; k < 4; k++)
		assert_true(fabs(r.t7b[k] - plain_chi2(s.ones[2][k],
						       s.ones[2][k + 4])) < 1e-9);
	assert_true(fabs(r.t8 - s.t8) < 1e-9);
}

/* A cycle through all 256 byte values makes every distance 256, so
 * f_C = g(256) = H(255) / ln 2 = (ln 255 + 0.57722 + 1/510 - ...) / ln 2
 * = 8.8303: Coron's test cannot see a permutation cycle. */
static void coron_of_a_cycle(void **state)
{
	struct ais31_run *run = ais31_run_new(AIS31_PROC_B, 0);
	const struct ais31_result *r;
	uint8_t cycle[256];
	double h = 0.0;
	unsigned i;

	(void)state;
	for (i = 0; i < 256; i++)
		cycle[i] = (uint8_t)i;
	for (i = 1; i < 256; i++)
		h += 1.0 / i;
	good_at = 0;
	advance_to(run, "T8");
	while (!ais31_run_done(run))
		ais31_run_feed(run, cycle, sizeof(cycle));
	r = ais31_run_result(run);
	assert_true(fabs(r->t8 - h / M_LN2) < 1e-9);
	assert_true(fabs(r->t8 - 8.8303) < 1e-3);
	assert_int_equal(r->fail_mask, 0);
	ais31_run_free(run);
}

/* Constant data never fills T6b's "1" prefix: the step must end, failed,
 * at its cap instead of holding procedure B open forever. */
static void stuck_source_ends_procedure_b(void **state)
{
	struct ais31_run *run = ais31_run_new(AIS31_PROC_B, 0);
	static uint8_t zeros[1 << 20];
	const struct ais31_result *r;
	size_t fed = 0;

	(void)state;
	while (!ais31_run_done(run) && fed < (size_t)8 << 20) {
		ais31_run_feed(run, zeros, sizeof(zeros));
		fed += sizeof(zeros);
	}
	assert_true(ais31_run_done(run));
	r = ais31_run_result(run);
	assert_true(r->fail_mask & (1u << AIS31_T6A));
	assert_true(r->fail_mask & (1u << AIS31_T6B));
	assert_true(r->fail_mask & (1u << AIS31_T8));
	ais31_run_free(run);
}

/* ------------------------------------------------------------ splitting */

static struct ais31_result run_split(enum ais31_proc p, const size_t *sizes,
				     size_t nsizes)
{
	struct ais31_run *run = ais31_run_new(p, 3);
	struct ais31_result r;
	size_t at = 0, i = 0;

	while (!ais31_run_done(run)) {
		size_t n = sizes[i++ % nsizes];

		if (n > good.len - at)
			n = good.len - at;
		assert_true(n > 0);
		at += ais31_run_feed(run, good.data + at, n);
	}
	r = *ais31_run_result(run);
	assert_int_equal(at, r.bytes);
	ais31_run_free(run);
	return r;
}

static void assert_same_result(const struct ais31_result *x,
			       const struct ais31_result *y)
{
	unsigned k;

	assert_int_equal(x->bytes, y->bytes);
	assert_int_equal(x->tests, y->tests);
	assert_int_equal(x->fails, y->fails);
	assert_int_equal(x->fail_mask, y->fail_mask);
	assert_int_equal(x->t0_duplicates, y->t0_duplicates);
	assert_int_equal(x->t5_blocks, y->t5_blocks);
	assert_true(x->t6a == y->t6a && x->t6b == y->t6b && x->t8 == y->t8);
	for (k = 0; k < 2; k++)
		assert_true(x->t7a[k] == y->t7a[k]);
	for (k = 0; k < 4; k++)
		assert_true(x->t7b[k] == y->t7b[k]);
}

static void split_never_matters(void **state)
{
	static const size_t whole[] = { (size_t)1 << 30 };
	static const size_t bytes[] = { 1 };
	static const size_t odd[] = { 1, 3, 7, 2500, 1, 4093, 65537, 13, 2,
				      393215, 5 };
	enum ais31_proc p;

	(void)state;
	for (p = AIS31_PROC_A; p < AIS31_NPROC; p++) {
		struct ais31_result one = run_split(p, whole, 1);
		struct ais31_result by1 = run_split(p, bytes, 1);
		struct ais31_result mixed = run_split(p, odd, 11);

		assert_int_equal(one.fails, 0);
		assert_same_result(&one, &by1);
		assert_same_result(&one, &mixed);
	}
}

/* ------------------------------------------------------------ controller */

static struct ais31_ctl *ctl_for(const char *spec, bool continuous)
{
	struct testspec s = test_spec(spec);
	struct ais31_ctl *ctl;

	ctl = ais31_ctl_new(continuous ? &s.continuous : &s.startup, continuous);
	assert_non_null(ctl);
	return ctl;
}

/* Feed until the next completion; returns the bytes consumed for it. */
static size_t until_event(struct ais31_ctl *ctl, const uint8_t *p, size_t n,
			  struct ais31_event *ev)
{
	size_t total = 0;

	for (;;) {
		size_t used = ais31_ctl_feed(ctl, p + total, n - total, ev);

		total += used;
		if (ev->completed)
			return total;
		assert_true(used > 0);
		assert_true(total < n);
	}
}

static size_t good_event(struct ais31_ctl *ctl, struct ais31_event *ev)
{
	size_t total = 0;

	do {
		size_t used = ais31_ctl_feed(ctl, good_bytes(8192), 8192, ev);

		good_at -= 8192 - used;     /* give back what was not used */
		total += used;
	} while (!ev->completed);
	return total;
}

static void ctl_startup_order_and_boundaries(void **state)
{
	struct ais31_ctl *ctl = ctl_for("ta8b", false);
	struct ais31_event ev;
	size_t used;

	(void)state;
	good_at = 0;
	assert_int_equal(ais31_ctl_current(ctl), AIS31_PROC_B);
	/* one large buffer: the feed must stop exactly where B ends */
	used = until_event(ctl, good.data, good.len, &ev);
	assert_int_equal(ev.proc, AIS31_PROC_B);
	assert_int_equal(ev.verdict, AIS31_PASS);
	assert_int_equal(used, ev.run_bytes);
	assert_int_equal(ev.run_bytes, run_vector(&good, AIS31_PROC_B).bytes);
	assert_int_equal(ais31_ctl_current(ctl), AIS31_PROC_A);
	good_at = used;
	used = good_event(ctl, &ev);
	assert_int_equal(ev.proc, AIS31_PROC_A);
	assert_int_equal(ev.verdict, AIS31_PASS);
	assert_int_equal(used, A_BYTES);
	assert_true(ais31_ctl_finished(ctl));
	assert_false(ais31_ctl_failed(ctl));
	assert_int_equal(ais31_ctl_feed(ctl, good.data, 100, &ev), 0);
	assert_false(ev.completed);
	ais31_ctl_free(ctl);
}

static void ctl_continuous_alternates(void **state)
{
	struct ais31_ctl *ctl = ctl_for("ca8b", true);
	static const enum ais31_proc want[] = {
		AIS31_PROC_B, AIS31_PROC_A, AIS31_PROC_B, AIS31_PROC_A,
	};
	const struct ais31_stats *st;
	struct ais31_event ev;
	unsigned i;

	(void)state;
	good_at = 0;
	for (i = 0; i < 4; i++) {
		size_t used = good_event(ctl, &ev);

		assert_int_equal(ev.proc, want[i]);
		assert_int_equal(ev.verdict, AIS31_PASS);
		assert_int_equal(used, ev.run_bytes);
	}
	assert_false(ais31_ctl_finished(ctl));
	st = ais31_ctl_stats(ctl);
	assert_int_equal(st->runs[AIS31_PROC_A], 2);
	assert_int_equal(st->passed[AIS31_PROC_B], 2);
	ais31_ctl_free(ctl);
}

/* One biased T6a (exactly one failed test) at the start of a B run. */
static size_t biased_b_run(struct ais31_ctl *ctl, const struct vector *bias,
			   struct ais31_event *ev)
{
	size_t used = ais31_ctl_feed(ctl, bias->data, bias->len, ev);

	assert_int_equal(used, bias->len);
	return used + good_event(ctl, ev);
}

static void ctl_retry_then_pass(void **state)
{
	struct ais31_ctl *ctl = ctl_for("tb", false);
	const struct ais31_stats *st;
	struct vector bias;
	struct ais31_event ev;
	size_t used;

	(void)state;
	load_vector("ais31-biased.bin", &bias);
	good_at = 0;
	used = biased_b_run(ctl, &bias, &ev);
	assert_int_equal(ev.verdict, AIS31_RETRY);
	assert_int_equal(ev.result.fails, 1);
	assert_int_equal(used, ev.run_bytes);
	assert_false(ais31_ctl_finished(ctl));
	good_event(ctl, &ev);
	assert_int_equal(ev.verdict, AIS31_PASS);
	assert_true(ais31_ctl_finished(ctl));
	st = ais31_ctl_stats(ctl);
	assert_int_equal(st->runs[AIS31_PROC_B], 2);
	assert_int_equal(st->retried[AIS31_PROC_B], 1);
	assert_int_equal(st->passed[AIS31_PROC_B], 1);
	ais31_ctl_free(ctl);
	free(bias.data);
}

static void ctl_second_failure_is_definitive(void **state)
{
	struct ais31_ctl *ctl = ctl_for("cb", true);
	struct vector bias;
	struct ais31_event ev;

	(void)state;
	load_vector("ais31-biased.bin", &bias);
	good_at = 0;
	biased_b_run(ctl, &bias, &ev);
	assert_int_equal(ev.verdict, AIS31_RETRY);
	biased_b_run(ctl, &bias, &ev);
	assert_int_equal(ev.verdict, AIS31_FAIL);
	assert_true(ais31_ctl_failed(ctl));
	assert_int_equal(ais31_ctl_feed(ctl, good.data, 100, &ev), 0);
	assert_int_equal(ais31_ctl_stats(ctl)->failed[AIS31_PROC_B], 1);
	ais31_ctl_free(ctl);
	free(bias.data);
}

static void ctl_two_failed_tests_fail_at_once(void **state)
{
	struct ais31_ctl *ctl = ctl_for("ta8", false);
	struct vector cst;
	struct ais31_event ev;

	(void)state;
	load_vector("ais31-constant.bin", &cst);
	good_at = 0;
	/* T0 on good data, then the constant block: 5 failures */
	assert_int_equal(ais31_ctl_feed(ctl, good_bytes(393216), 393216, &ev),
			 393216);
	assert_int_equal(ais31_ctl_feed(ctl, cst.data, cst.len, &ev), cst.len);
	good_event(ctl, &ev);
	assert_int_equal(ev.verdict, AIS31_FAIL);
	assert_int_equal(ev.result.fails, 5);
	assert_true(ais31_ctl_failed(ctl));
	ais31_ctl_free(ctl);
	free(cst.data);
}

static void ctl_advisory_never_fails(void **state)
{
	struct ais31_ctl *ctl = ctl_for("cbw", true);
	struct vector bias;
	struct ais31_event ev;
	unsigned i;

	(void)state;
	load_vector("ais31-biased.bin", &bias);
	good_at = 0;
	for (i = 0; i < 2; i++) {
		biased_b_run(ctl, &bias, &ev);
		assert_int_equal(ev.verdict, AIS31_WARN);
		assert_false(ais31_ctl_failed(ctl));
	}
	good_event(ctl, &ev);
	assert_int_equal(ev.verdict, AIS31_PASS);
	assert_int_equal(ais31_ctl_stats(ctl)->warned[AIS31_PROC_B], 2);
	assert_int_equal(ais31_ctl_stats(ctl)->retried[AIS31_PROC_B], 0);
	ais31_ctl_free(ctl);
	free(bias.data);
}

static void ctl_empty_group_is_finished(void **state)
{
	struct ais31_ctl *ctl = ctl_for("c", true);
	struct ais31_event ev;

	(void)state;
	assert_true(ais31_ctl_finished(ctl));
	assert_int_equal(ais31_ctl_feed(ctl, good.data, 100, &ev), 0);
	assert_false(ev.completed);
	ais31_ctl_free(ctl);
}

/* ------------------------------------------------------------ log line */

static void format_lines(void **state)
{
	struct vector bias;
	struct ais31_result r;
	char line[512];

	(void)state;
	r = run_vector(&good, AIS31_PROC_B);
	ais31_format_result(&r, line, sizeof(line));
	assert_non_null(strstr(line, "procedure B: 9 tests, 0 failed"));
	assert_non_null(strstr(line, "T8 "));
	assert_null(strstr(line, "first failure"));
	load_vector("ais31-biased.bin", &bias);
	r = run_vector(&bias, AIS31_PROC_B);
	ais31_format_result(&r, line, sizeof(line));
	assert_non_null(strstr(line, "1 failed"));
	assert_non_null(strstr(line, "first failure T6a"));
	r = run_vector(&good, AIS31_PROC_A);
	ais31_format_result(&r, line, sizeof(line));
	assert_non_null(strstr(line, "procedure A: 1031 tests, 0 failed"));
	assert_non_null(strstr(line, "T5 on 2 blocks"));
	free(bias.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vector_pass_a),
		cmocka_unit_test(vector_pass_b),
		cmocka_unit_test(vector_constant),
		cmocka_unit_test(vector_biased),
		cmocka_unit_test(vector_markov),
		cmocka_unit_test(vector_period),
		cmocka_unit_test(vector_lcg),
		cmocka_unit_test(stats_constant_block),
		cmocka_unit_test(stats_alternating_block),
		cmocka_unit_test(stats_runs_of_two_and_four),
		cmocka_unit_test(stats_runs_of_six_and_more),
		cmocka_unit_test(stats_poker_too_uniform),
		cmocka_unit_test(stats_long_run_bound),
		cmocka_unit_test(stats_autocorrelation_matches_naive),
		cmocka_unit_test(stats_autocorrelation_fails_on_period),
		cmocka_unit_test(stats_t7_chi2),
		cmocka_unit_test(procedure_b_matches_plain),
		cmocka_unit_test(coron_of_a_cycle),
		cmocka_unit_test(stuck_source_ends_procedure_b),
		cmocka_unit_test(split_never_matters),
		cmocka_unit_test(ctl_startup_order_and_boundaries),
		cmocka_unit_test(ctl_continuous_alternates),
		cmocka_unit_test(ctl_retry_then_pass),
		cmocka_unit_test(ctl_second_failure_is_definitive),
		cmocka_unit_test(ctl_two_failed_tests_fail_at_once),
		cmocka_unit_test(ctl_advisory_never_fails),
		cmocka_unit_test(ctl_empty_group_is_finished),
		cmocka_unit_test(format_lines),
	};

	return cmocka_run_group_tests(tests, load_good, free_good);
}
