/* estimate.c - the SP 800-90B 6.3.1 (MCV) and 6.3.8 (Lag) estimates.
 *
 * Offered (see estimate.h):
 *   est_min_entropy()      both estimates over a run of 8-bit samples;
 *   est_mcv_bits(), est_prediction_bits()  their closing formulas.
 * Written from the text of SP 800-90B (January 2018), section 6.3; the
 * same reading as scripts/sp800-90b.py, which a test compares with.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "estimate.h"

enum { SYMBOLS = 256 };                /* 8-bit samples */

static const double Z99 = 2.576;        /* 99 % two-sided normal quantile */

/* ------------------------------------------------------------------------
 * The little arithmetic needed, without libm
 *
 * Offers ln(), ex(), power(), root().  libm would add half a megabyte of
 * resident pages to a process that otherwise needs none of it (its code
 * is faulted in by the page cluster), and these few functions need only
 * the 1e-12 or so that the estimates are ever compared to.
 */
static const double LN2 = 0.69314718055994530942;

/* x = m 2^e with m in [1, 2), from the bits of a positive normal double. */
static double split(double x, int *e)
{
	uint64_t b;

	memcpy(&b, &x, sizeof(b));
	*e = (int)((b >> 52) & 0x7ff) - 1023;
	b = (b & ((UINT64_C(1) << 52) - 1)) | (UINT64_C(1023) << 52);
	memcpy(&x, &b, sizeof(x));
	return x;
}

/* Natural log of x > 0 (normal): ln m = 2 atanh((m - 1) / (m + 1)). */
static double ln(double x)
{
	int e, k;
	double m = split(x, &e), t = (m - 1.0) / (m + 1.0), t2 = t * t, term = t, sum = 0.0;

	for (k = 1; k < 60; k += 2) {
		sum += term / k;
		term *= t2;
	}
	return e * LN2 + 2.0 * sum;
}

/* e^x: x = k ln 2 + r, |r| <= ln 2 / 2, e^r by its series, 2^k from
 * the exponent bits (0 below the normal range, as nothing here needs
 * subnormals). */
static double ex(double x)
{
	double r, term = 1.0, sum = 1.0, scale;
	long k;
	uint64_t b;
	int i;

	if (x < -708.0)
		return 0.0;
	k = (long)(x / LN2 + (x < 0 ? -0.5 : 0.5));
	r = x - (double)k * LN2;
	for (i = 1; i < 30; i++) {
		term *= r / i;
		sum += term;
	}
	if (k > 1023)
		return 1e308 * 10.0;
	b = (uint64_t)(k + 1023) << 52;
	memcpy(&scale, &b, sizeof(scale));
	return sum * scale;
}

/* a^b for a > 0. */
static double power(double a, double b)
{
	return a <= 0.0 ? 0.0 : ex(b * ln(a));
}

static double root(double x)
{
	return x <= 0.0 ? 0.0 : ex(0.5 * ln(x));
}

static double neg_log2(double p)
{
	if (p <= 0.0)
		return 64.0;
	return p >= 1.0 ? 0.0 : -ln(p) / LN2;
}

/* 6.3.1: p-hat = the largest count over n; its upper bound
 * p_u = min(1, p + 2.576 sqrt(p (1 - p) / (n - 1))); H = -log2(p_u). */
double est_mcv_bits(size_t max_count, size_t n)
{
	double p, pu;

	if (n < 2)
		return 0.0;
	p = (double)max_count / (double)n;
	pu = p + Z99 * root(p * (1.0 - p) / (double)(n - 1));
	return neg_log2(pu < 1.0 ? pu : 1.0);
}

/* 6.3.7 step 10 (and the same step of 6.3.8 - 6.3.10): log of the
 * probability that n trials at success probability p hold no run of r
 * successes, with x = x_10 of x_j = 1 + q p^r x_{j-1}^(r+1), x_0 = 1:
 *   (1 - p x) / ((r + 1 - r x) q) * 1 / x^(n + 1),
 * in logarithms, as the power overflows for large n. */
static double log_no_run(double p, size_t n, size_t r)
{
	double q = 1.0 - p, x = 1.0, num, den;
	int j;

	if (q <= 0.0)
		return -1e300;
	for (j = 0; j < 10; j++)
		x = 1.0 + q * power(p, (double)r) * power(x, (double)r + 1.0);
	num = 1.0 - p * x;
	den = ((double)r + 1.0 - (double)r * x) * q;
	if (num <= 0.0 || den <= 0.0)
		return -1e300;
	return ln(num / den) - ((double)n + 1.0) * ln(x);
}

/* P_local: the p at which that probability is 0.99 (it falls as p grows),
 * by bisection. */
static double p_local(size_t n, size_t r)
{
	double lo = 0.0, hi = 1.0, target = ln(0.99);
	int i;

	for (i = 0; i < 200; i++) {
		double mid = (lo + hi) / 2.0;

		if (mid == lo || mid == hi)
			break;
		if (log_no_run(mid, n, r) > target)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2.0;
}

double est_prediction_bits(size_t c, size_t n, size_t r_run, unsigned k)
{
	double pg, pl, pmax;

	if (n < 2)
		return 0.0;
	if (c == 0) {
		pg = 1.0 - power(0.01, 1.0 / (double)n);
	} else {
		double pa = (double)c / (double)n;

		pg = pa + Z99 * root(pa * (1.0 - pa) / (double)(n - 1));
		if (pg > 1.0)
			pg = 1.0;
	}
	pl = p_local(n, r_run);
	pmax = pg > pl ? pg : pl;
	if (pmax < 1.0 / k)
		pmax = 1.0 / k;
	return neg_log2(pmax);
}

static double mcv(const uint8_t *s, size_t n)
{
	size_t count[SYMBOLS] = { 0 }, best = 0, i;

	for (i = 0; i < n; i++)
		if (++count[s[i]] > best)
			best = count[s[i]];
	return est_mcv_bits(best, n);
}

/*
 * 6.3.8: sub-predictor d (1..D) predicts s[i - d]; the prediction is the
 * one of the sub-predictor with the best score so far (ties to the larger
 * d, as the text's ">=" gives), made before the scores take s[i] in.
 * Predictions run from the second sample on: N = n - 1 of them.
 */
static double lag(const uint8_t *s, size_t n)
{
	unsigned score[EST_LAG_D + 1];
	size_t i, c = 0, run = 0, longest = 0;
	unsigned winner = 1, d;

	memset(score, 0, sizeof(score));
	for (i = 1; i < n; i++) {
		int hit = i >= winner && s[i - winner] == s[i];

		c += hit;
		run = hit ? run + 1 : 0;
		if (run > longest)
			longest = run;
		for (d = 1; d <= EST_LAG_D && d <= i; d++) {
			if (s[i - d] != s[i])
				continue;
			if (++score[d] >= score[winner])
				winner = d;
		}
	}
	return est_prediction_bits(c, n - 1, longest + 1, SYMBOLS);
}

double est_min_entropy(const uint8_t *s, size_t n, struct est_result *r)
{
	memset(r, 0, sizeof(*r));
	if (n < EST_MIN_SAMPLES)
		return 0.0;
	r->mcv = mcv(s, n);
	r->lag = lag(s, n);
	r->h = r->mcv < r->lag ? r->mcv : r->lag;
	return r->h;
}
