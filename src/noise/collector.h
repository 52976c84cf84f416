/* collector.h - the HAVEGE collector: a timed walk over a cache-sized table.
 *
 * collector_new() allocates the walk table (twice the L1 data cache) and
 * measures the compiled walk code to choose how many unrolled copies of the
 * step run per pass (as many as fit the L1 instruction cache).
 * collector_fill() runs the walk: every step reads the timer once, appends
 * the delta from the previous read to the caller's sample array (the raw
 * noise the health tests see) and appends COLLECTOR_WORDS_PER_SAMPLE words
 * of walk output.  collector_warmup() runs passes whose output is thrown
 * away so the table and the caches are in their working state before the
 * first output.  A collector is used by one thread at a time.
 */
#ifndef HRNG_COLLECTOR_H
#define HRNG_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

enum {
	COLLECTOR_WORDS_PER_SAMPLE = 8,   /* 32 output bytes per timer sample */
	COLLECTOR_COPIES = 128,           /* unrolled copies of the step built */
};

struct collector_layout {
	unsigned copies_built;    /* COLLECTOR_COPIES */
	unsigned copies_run;      /* copies executed per pass */
	size_t code_built;        /* bytes of code for all copies */
	size_t code_run;          /* bytes of code executed per pass */
	size_t code_next;         /* bytes with one more copy; 0 if all run */
	size_t table_words;       /* walk table size, 32-bit words */
	const void *code_start;   /* address of the first copy (for -v 16) */
	int measured;             /* 1 if the code was measured; 0 = the
	                           * compiler laid the copies out of order
	                           * and all copies run */
};

struct collector;

struct collector *collector_new(unsigned data_kb, unsigned inst_kb);
void collector_free(struct collector *c);
/* Fill out[0..nwords) with walk output; nwords must be a multiple of
 * COLLECTOR_WORDS_PER_SAMPLE.  deltas receives nwords /
 * COLLECTOR_WORDS_PER_SAMPLE timer deltas; returns that count. */
size_t collector_fill(struct collector *c, uint32_t *out, size_t nwords, uint64_t *deltas);
/* The seeds walk: nsamples x stride steps of the same kind over the same
 * table, but no output words, and the timer read once every stride steps:
 * deltas[] receives nsamples deltas, each the time of stride steps.
 * Returns nsamples.  Its timing differs from collector_fill()'s, so
 * samples from one say nothing about the other (noise.h, "the seeds
 * walk"). */
size_t collector_fill_seeds(struct collector *c, unsigned stride, uint64_t *deltas,
			    size_t nsamples);
void collector_warmup(struct collector *c);
void collector_get_layout(const struct collector *c, struct collector_layout *l);
/* Steps walked so far by collector_fill() (warm-up included) and by
 * collector_fill_seeds(): which walk made the samples, for the tests. */
void collector_get_steps(const struct collector *c, uint64_t *steps, uint64_t *seeds_steps);

/* The mock walk of test-seam builds (collector_mock_set()) is declared in
 * seams.h; collector_fill() passes each fill's output through it. */

#endif
