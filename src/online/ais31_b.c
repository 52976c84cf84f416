/* ais31_b.c - AIS-31 test procedure B (AIS 20/31 section 2.4.4.2): T6a,
 * T6b, T7a, T7b, T8, each on fresh bytes.
 *
 * Offers: ais31_b_feed() and ais31_b_tables() to ais31.c (ais31_impl.h),
 * and ais31_t7_chi2() (ais31.h), T7's statistic for tests.
 */
#include "config.h"

#include "ais31_impl.h"

#include <assert.h>
#include <math.h>
#include <string.h>

static const double b_t7_limit = 15.13;  /* chi-square, 1 d.f., alpha 1e-4 */
static const double b_t8_limit = 7.976;  /* bits per 8-bit word */

/* ------------------------------------------------------------ shared tables
 *
 * tuple_tab[L]: for T6b (L = 2) and T7 (L = 3, 4), the prefix counts and the
 * "next bit is 1" counts a unit of input adds, packed in 8-bit lanes (lane =
 * prefix).  A unit is a byte for L = 2 and 4, six bits for L = 3.
 * coron_g: Coron's g(i) = (1/ln 2) sum_{k<i} 1/k for the histogram range.
 */
struct tuple_tab {
	uint64_t count[256];
	uint64_t ones[256];
};

static struct tuple_tab tuple_tab[5];
static double coron_g[B_T8_HIST];

static void build_tuple_tab(unsigned L, unsigned unit_bits)
{
	unsigned v, s;

	for (v = 0; v < (1u << unit_bits); v++) {
		uint64_t c = 0, o = 0;

		for (s = unit_bits; s >= L; s -= L) {
			unsigned t = (v >> (s - L)) & ((1u << L) - 1);

			c += UINT64_C(1) << (8 * (t >> 1));
			o += (uint64_t)(t & 1) << (8 * (t >> 1));
		}
		tuple_tab[L].count[v] = c;
		tuple_tab[L].ones[v] = o;
	}
}

void ais31_b_tables(void)
{
	double h = 0.0;
	unsigned i;

	build_tuple_tab(2, 8);
	build_tuple_tab(3, 6);
	build_tuple_tab(4, 8);
	coron_g[0] = 0.0;
	for (i = 1; i < B_T8_HIST; i++) {
		coron_g[i] = h / M_LN2;
		h += 1.0 / i;
	}
}

/* Natural logarithm for x >= 1 without libm (which the build does not
 * link): halve into [1, 2), then ln x = 2 atanh((x-1)/(x+1)), whose series
 * in y <= 1/3 has converged to double precision after 20 terms. */
static double ln_ge1(double x)
{
	double y, y2, term, sum = 0.0;
	unsigned k = 0, i;

	assert(x >= 1.0);
	while (x >= 2.0) {
		x *= 0.5;
		k++;
	}
	y = (x - 1.0) / (x + 1.0);
	y2 = y * y;
	term = y;
	for (i = 1; i < 42; i += 2) {
		sum += term / i;
		term *= y2;
	}
	return 2.0 * sum + k * M_LN2;
}

/* g(i) beyond the table, from the asymptotic series of the harmonic number
 * H(m) = ln m + gamma + 1/2m - 1/12m^2 + 1/120m^4 (error < 1e-18 here). */
static double coron_g_large(uint32_t i)
{
	double m = (double)i - 1.0, m2 = m * m;
	double hm = ln_ge1(m) + 0.57721566490153286 + 1.0 / (2.0 * m) -
		    1.0 / (12.0 * m2) + 1.0 / (120.0 * m2 * m2);

	return hm / M_LN2;
}

/* ------------------------------------------------------------ tests T6b, T7
 *
 * AIS 20/31 2.4.4.2: disjoint L-bit tuples are sorted by their first L-1
 * bits (the prefix); a tuple whose prefix already has 100000 samples is
 * skipped, and the step ends when every prefix has 100000.  Each step
 * starts on a fresh byte: the bits left in the byte that completes a step
 * are not used.  In bulk, whole groups of L bytes (8 tuples) are counted
 * through tuple_tab while no prefix can reach 100000 within them; near the
 * end, tuples are taken one at a time.
 */
static void tuples_init(struct tuples *t, unsigned L)
{
	memset(t, 0, sizeof(*t));
	t->L = L;
	t->classes = 1u << (L - 1);
	t->cap = B_TUPLE_CAP_FACTOR * t->classes * B_TUPLES * L / 8;
}

static size_t tuples_safe_groups(const struct tuples *t)
{
	uint32_t max = 0;
	unsigned k;

	for (k = 0; k < t->classes; k++)
		max = t->count[k] > max ? t->count[k] : max;
	return (B_TUPLES - max) / 8;
}

static void tuples_flush(struct tuples *t, uint64_t c, uint64_t o)
{
	unsigned k;

	t->full = 0;
	for (k = 0; k < t->classes; k++) {
		t->count[k] += (c >> (8 * k)) & 0xff;
		t->ones[k] += (o >> (8 * k)) & 0xff;
		t->full += t->count[k] == B_TUPLES;
	}
}

static void tuples_bulk(struct tuples *t, const uint8_t *p, size_t groups)
{
	const struct tuple_tab *tab = &tuple_tab[t->L];

	while (groups) {
		size_t g = groups < 31 ? groups : 31;   /* 31 * 8 < 256 */
		uint64_t c = 0, o = 0;
		size_t i;

		groups -= g;
		if (t->L == 3) {
			for (i = 0; i < g; i++, p += 3) {
				uint32_t v = (uint32_t)p[0] << 16 | p[1] << 8 | p[2];
				unsigned u0 = v >> 18, u1 = (v >> 12) & 63;
				unsigned u2 = (v >> 6) & 63, u3 = v & 63;

				c += tab->count[u0] + tab->count[u1] +
				     tab->count[u2] + tab->count[u3];
				o += tab->ones[u0] + tab->ones[u1] +
				     tab->ones[u2] + tab->ones[u3];
			}
		} else {
			for (i = 0; i < g * t->L; i++) {
				c += tab->count[p[i]];
				o += tab->ones[p[i]];
			}
			p += g * t->L;
		}
		tuples_flush(t, c, o);
	}
}

/* One byte, tuple by tuple; true when every prefix is full. */
static bool tuples_byte(struct tuples *t, uint8_t b)
{
	unsigned mask = (1u << t->L) - 1;

	t->acc = t->acc << 8 | b;
	t->nacc += 8;
	while (t->nacc >= t->L) {
		unsigned tup, cls;

		t->nacc -= t->L;
		tup = (t->acc >> t->nacc) & mask;
		cls = tup >> 1;
		if (t->count[cls] < B_TUPLES) {
			t->ones[cls] += tup & 1;
			t->full += ++t->count[cls] == B_TUPLES;
		}
	}
	t->acc &= (1u << t->nacc) - 1;
	return t->full == t->classes;
}

/* The step ends when every prefix is full, or at the cap. */
static size_t tuples_feed(struct tuples *t, const uint8_t *p, size_t n,
			  bool *complete)
{
	size_t used = 0;

	if (n > t->cap - t->bytes)
		n = t->cap - t->bytes;
	while (used < n) {
		size_t groups = t->nacc ? 0 : tuples_safe_groups(t);

		if (groups > (n - used) / t->L)
			groups = (n - used) / t->L;
		if (groups) {
			tuples_bulk(t, p + used, groups);
			used += groups * t->L;
			if (t->full == t->classes)
				break;
			continue;
		}
		if (tuples_byte(t, p[used++]))
			break;
	}
	t->bytes += used;
	*complete = t->full == t->classes || t->bytes == t->cap;
	return used;
}

/* Chi-square statistic of T7 for two prefixes with n = 100000 samples
 * each: with d the difference of their "next bit is 1" counts and s their
 * sum, the four cells give d^2 (1/s + 1/(2n - s)). */
double ais31_t7_chi2(uint32_t ones_a, uint32_t ones_b)
{
	double d = (double)ones_a - (double)ones_b;
	double s = (double)ones_a + (double)ones_b;

	if (d == 0.0)
		return 0.0;
	return d * d * (1.0 / s + 1.0 / (2.0 * B_TUPLES - s));
}

/* A prefix left short by the cap fails its comparisons (value inf). */
static void tuples_evaluate(struct ais31_run *run)
{
	const struct tuples *t = &run->tup;
	struct ais31_result *r = &run->res;
	unsigned k, half = t->classes / 2;

	for (k = 0; k < half; k++) {
		bool short_ = t->count[k] < B_TUPLES ||
			      t->count[k + half] < B_TUPLES;
		int32_t d = (int32_t)t->ones[k] - (int32_t)t->ones[k + half];
		double v;
		bool pass;

		if (t->L == 2) {
			v = r->t6b = short_ ? INFINITY : d / (double)B_TUPLES;
			pass = !short_ && d > -B_T6B_A && d < B_T6B_A;
		} else {
			v = short_ ? INFINITY :
			    ais31_t7_chi2(t->ones[k], t->ones[k + half]);
			pass = !short_ && v <= b_t7_limit;
			if (t->L == 3)
				r->t7a[k] = v;
			else
				r->t7b[k] = v;
		}
		record(run, pass, t->L == 2 ? AIS31_T6B : t->L == 3 ?
		       AIS31_T7A : AIS31_T7B, k, v);
	}
}

/* ------------------------------------------------------------ test T6a
 *
 * AIS 20/31 2.4.4.2, T6 with k = 1, n = 100000, a = 0.025: passes when
 * |ones / 100000 - 1/2| < 0.025, i.e. |2 ones - 100000| < 5000.
 */
AIS31_KERNEL
static size_t t6a_feed(struct ais31_run *run, const uint8_t *p, size_t n,
		       bool *complete)
{
	size_t take = B_T6A_BYTES - run->b_pos, i = 0;

	if (take > n)
		take = n;
	for (; i + 8 <= take; i += 8)
		run->b_ones += popcount64(load_be64(p + i));
	for (; i < take; i++)
		run->b_ones += popcount64(p[i]);
	run->b_pos += take;
	*complete = run->b_pos == B_T6A_BYTES;
	return take;
}

static void t6a_evaluate(struct ais31_run *run)
{
	int32_t dev = 2 * (int32_t)run->b_ones - B_T6A_BITS;

	run->res.t6a = run->b_ones / (double)B_T6A_BITS;
	record(run, dev > -B_T6A_A_X2 && dev < B_T6A_A_X2, AIS31_T6A, 0,
	       run->res.t6a);
}

/* ------------------------------------------------------------ test T8
 *
 * AIS 20/31 2.4.4.2, T8: Coron's estimate on 8-bit words.  The first Q
 * words only set each value's last position; for each of the next K words,
 * A_n = n - (last position of its value, 0 if none) and
 * f_C = (1/K) sum g(A_n).  Passes when f_C > 7.976.  Distances are counted
 * in a histogram (exact, so the split of the input cannot matter) and the
 * rare long ones summed in stream order.
 */
static void coron_init(struct coron *c)
{
	memset(c, 0, sizeof(*c));
}

static size_t coron_feed(struct coron *c, const uint8_t *p, size_t n,
			 bool *complete)
{
	/* Locals and restrict pointers: the stores to last[] and hist[] would
	 * otherwise make the compiler reload the position from *c for every
	 * byte. */
	uint32_t *restrict last = c->last, *restrict hist = c->hist;
	uint32_t pos = c->n;
	size_t i = 0, end;

	for (; i < n && pos < B_T8_Q; i++)
		last[p[i]] = ++pos;
	end = i + (B_T8_Q + B_T8_K - pos < n - i ? B_T8_Q + B_T8_K - pos : n - i);
	for (; i < end; i++) {
		uint32_t d = ++pos - last[p[i]];

		last[p[i]] = pos;
		if (d < B_T8_HIST)
			hist[d]++;
		else
			c->far += coron_g_large(d);
	}
	c->n = pos;
	*complete = c->n == B_T8_Q + B_T8_K;
	return i;
}

static double coron_value(const struct coron *c)
{
	double sum = 0.0;
	unsigned d;

	for (d = 1; d < B_T8_HIST; d++)
		sum += c->hist[d] * coron_g[d];
	return (sum + c->far) / B_T8_K;
}

/* ------------------------------------------------------------ procedure B
 *
 * Steps in order, each on fresh bytes: T6a (12500 bytes), T6b (2-bit
 * tuples), T7a (3-bit), T7b (4-bit), T8 (2560 + 256000 bytes).
 */
static void b_next_stage(struct ais31_run *run)
{
	switch (run->b_stage) {
	case B_T6A:
		t6a_evaluate(run);
		tuples_init(&run->tup, 2);
		break;
	case B_T6B:
	case B_T7A:
		tuples_evaluate(run);
		tuples_init(&run->tup, run->tup.L + 1);
		break;
	case B_T7B:
		tuples_evaluate(run);
		coron_init(&run->cor);
		break;
	case B_T8:
		run->res.t8 = coron_value(&run->cor);
		record(run, run->res.t8 > b_t8_limit, AIS31_T8, 0, run->res.t8);
		run->done = true;
		break;
	case B_DONE:
		assert(0);
	}
	run->b_stage++;
}

size_t ais31_b_feed(struct ais31_run *run, const uint8_t *p, size_t n)
{
	size_t used = 0;

	while (used < n && !run->done) {
		bool complete = false;

		if (run->b_stage == B_T6A)
			used += t6a_feed(run, p + used, n - used, &complete);
		else if (run->b_stage == B_T8)
			used += coron_feed(&run->cor, p + used, n - used,
					   &complete);
		else
			used += tuples_feed(&run->tup, p + used, n - used,
					    &complete);
		if (complete)
			b_next_stage(run);
	}
	return used;
}
