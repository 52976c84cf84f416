/* walk-cost.c - what a sample costs and carries on the two walks.
 *
 * For each stride 1 to 16 (and 32, 64 on the seeds walk), PASSES times
 * over, the two walks of one collector (twice the L1d given, as the
 * calibration's first table): the stream walk (collector_fill(), a timer
 * read and 32 output bytes a step, a sample the sum of stride deltas) and
 * the seeds walk (collector_fill_seeds(), no output, one read a sample).
 * Prints one line per walk and stride: ns a step and a sample, and the
 * MCV/Lag estimate (estimate.h) over 4096 samples, each divided by the
 * timer's granularity as noise.c does.  The calibration's own figures are
 * what the daemon uses; this shows the walks side by side.
 *
 * Usage: walk-cost [DATA_KB [PASSES]]   (defaults 32 and 3)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "collector.h"
#include "estimate.h"
#include "noise.h"
#include "timer.h"
#include "util.h"

enum { N = 4096, MAX_STRIDE = 64 };

static uint64_t d[N * MAX_STRIDE];
static uint32_t w[N * 16 * COLLECTOR_WORDS_PER_SAMPLE];
static uint8_t sym[N];

/* One walk at one stride: the line, and the samples' estimate. */
static void one(struct collector *c, bool seeds, unsigned stride, uint64_t gcd)
{
	uint64_t t0 = monotonic_ns();
	size_t n, i;
	double ns;
	struct est_result e;

	if (seeds)
		collector_fill_seeds(c, stride, d, N);
	else
		collector_fill(c, w, (size_t)N * stride * COLLECTOR_WORDS_PER_SAMPLE, d);
	ns = (double)(monotonic_ns() - t0) / N;
	n = seeds ? noise_shape(d, N, 1, gcd) : noise_shape(d, (size_t)N * stride, stride, gcd);
	for (i = 0; i < n; i++)
		sym[i] = (uint8_t)d[i];
	est_min_entropy(sym, n, &e);
	printf("%-6s stride %2u: %7.1f ns/step %8.1f ns/sample  estimate %.2f bits/sample\n",
	       seeds ? "seeds" : "stream", stride, ns / stride, ns, e.h);
}

int main(int argc, char **argv)
{
	unsigned data_kb = argc > 1 ? (unsigned)atoi(argv[1]) : 32;
	int passes = argc > 2 ? atoi(argv[2]) : 3, p;
	struct collector *c;
	uint64_t gcd;
	unsigned s;

	if (timer_init() < 0 || data_kb == 0 || passes <= 0 ||
	    !(c = collector_new(data_kb, 32))) {
		fprintf(stderr, "usage: walk-cost [DATA_KB [PASSES]]\n");
		return 2;
	}
	collector_warmup(c);
	collector_fill(c, w, 2048 * COLLECTOR_WORDS_PER_SAMPLE, d);
	gcd = noise_gcd(d, 2048);
	printf("table %u KB, timer granularity %llu\n", data_kb * 2, (unsigned long long)gcd);
	for (p = 0; p < passes; p++)
		for (s = 1; s <= MAX_STRIDE; s *= 2) {
			if (s <= 16)
				one(c, false, s, gcd);
			one(c, true, s, gcd);
		}
	collector_free(c);
	return 0;
}
