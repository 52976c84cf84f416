/* collector.c - the HAVEGE collector: a timed walk over a cache-sized table.
 *
 * Functions offered (see collector.h):
 *   collector_new()        allocate the table, measure the walk code
 *   collector_fill()       run the walk, returning output words and deltas
 *   collector_fill_seeds() the seeds walk: the same steps, deltas only
 *   collector_warmup()     run passes to bring table and caches to steady state
 *   collector_get_layout() what was measured, for -r 1 and -v 8/16
 *   collector_get_steps()  steps walked so far by each walk, for the tests
 *   collector_free()       wipe and free
 *
 * The idea is Seznec and Sendrier's (HAVEGE, ACM TOMACS 13(4), 2003): the
 * time a piece of code takes depends on the state of the caches, the branch
 * predictor and the TLB, which the operating system and other processes
 * disturb in ways a program cannot predict.  So the walk reads the cycle
 * counter once per step and folds it into the walk state, and the walk state
 * decides which table entries are touched and which branches are taken next.
 * The table is twice the L1 data cache, so some accesses miss; the unrolled
 * code is sized to the L1 instruction cache, so the predictor and the I-cache
 * carry a great deal of state.  The timer deltas are the raw noise; the walk
 * output is a mix that only spreads it (its statistics would look good with
 * a dead timer too), which is why the health tests look at the deltas and the
 * output is conditioned cryptographically before it leaves the process.
 *
 * Keeping the compiler honest.  The walk is written so the optimiser cannot
 * fold or merge it:
 *  - timer_now() is an asm volatile, so every step has a side effect that
 *    cannot be moved, merged or removed, and its result feeds every later
 *    address and branch, so nothing after it can be computed in advance;
 *  - each copy of the step takes different constants from its index k
 *    (rotations, bit positions, multipliers), so no two copies are alike and
 *    cross-jumping or tail merging has nothing to share;
 *  - the branches store to different table entries on each side, which the
 *    compiler may not turn into conditional moves (it may not invent stores);
 *  - the copies are entered through computed goto on label addresses, which
 *    also lets us measure the code: the distance between the label of copy k
 *    and the end label is the code one pass from copy k executes.  Block
 *    reordering is switched off for the two walk functions so the labels
 *    stay in source order; collector_new() checks that they did, or else falls
 *    back to running every copy (reported by -r 1 as "unmeasured").
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "seams.h"
#include "timer.h"
#include "util.h"

struct collector {
	uint32_t *table;        /* the walk table, 2 x L1d */
	uint32_t words;         /* table size in words, a multiple of 8 */
	uint32_t blocks;        /* words / 8: 8-word blocks in the table */
	uint64_t s;             /* walk state; the timer is folded into it */
	uint64_t prev;          /* previous timer value */
	unsigned first;         /* index of the first copy run each pass */
	unsigned first_seeds;   /* the same for walk_seeds() */
	uint64_t steps, seeds_steps;  /* walked by walk(), by walk_seeds() */
	struct collector_layout layout;
};

static inline uint64_t rotl64(uint64_t x, unsigned r)
{
	return (x << (r & 63)) | (x >> ((64 - r) & 63));
}

/* Map a uniform 32-bit x onto [0, n) without a division (multiply-shift):
 * the table need not be a power of two, so it can be exactly 2 x L1d. */
static inline uint32_t reduce(uint32_t x, uint32_t n)
{
	return (uint32_t)(((uint64_t)x * n) >> 32);
}

static inline uint32_t rotl32(uint32_t x, unsigned r)
{
	return (x << (r & 31)) | (x >> ((32 - r) & 31));
}

/* Per-copy constants: odd multipliers and rotation amounts that differ
 * from copy to copy (derived from k with small primes; any spread works). */
#define MUL(k)  (UINT64_C(0x9E3779B97F4A7C15) + (UINT64_C(0x2545F4914F6CDD1D) * (k) * 2))
#define ROT(k, p) (((k) * (p) + 7) % 61 + 1)
#define BIT(k, p) (UINT64_C(1) << (((k) * (p) + 3) % 64))

/*
 * The 128 copies are written as 8 rows of 16: EACH_COPY(M) expands M(r, c)
 * for copy 16 * r + c, in order.  A copy's label is pasted from r and c
 * (step_3_5 is copy 53); COPY(r, c) is its index as an integer constant
 * expression, so MUL(), ROT() and BIT() still fold to per-copy constants.
 */
#define COPY(r, c) (16 * (r) + (c))
#define COPY_ROW(M, r)							\
	M(r, 0) M(r, 1) M(r, 2) M(r, 3) M(r, 4) M(r, 5) M(r, 6) M(r, 7)	\
	M(r, 8) M(r, 9) M(r, 10) M(r, 11) M(r, 12) M(r, 13) M(r, 14) M(r, 15)
#define EACH_COPY(M)							\
	COPY_ROW(M, 0) COPY_ROW(M, 1) COPY_ROW(M, 2) COPY_ROW(M, 3)	\
	COPY_ROW(M, 4) COPY_ROW(M, 5) COPY_ROW(M, 6) COPY_ROW(M, 7)
_Static_assert(COLLECTOR_COPIES == 8 * 16, "EACH_COPY() writes 8 rows of 16");

/*
 * The body of a step, the same in both walks once the timer value t_ is
 * known: fold t_ into the state, touch a table entry chosen by the state
 * (a branch on its value decides which entry is written back), then make
 * 8 words O(0)..O(7) from an 8-word block of the table, chosen by the
 * state, xored with the state's products, and write the block back changed
 * so the table keeps moving.
 */
#define STEP_MIX(k, O)							\
	s = (s ^ t_) * MUL(k);						\
	uint32_t i1_ = reduce((uint32_t)(s >> 32), words);		\
	uint32_t x_ = tbl[i1_];						\
	if (x_ & (uint32_t)BIT(k, 5)) {					\
		s += rotl64(x_, ROT(k, 3));				\
		tbl[i1_] = x_ + (uint32_t)(s >> 32);			\
	} else {							\
		s ^= (uint64_t)x_ << ((k) % 29);			\
		tbl[i1_ ^ 1] ^= (uint32_t)(s >> 24);			\
	}								\
	uint32_t *p_ = tbl + 8 * reduce((uint32_t)(s >> 16), blocks);	\
	uint64_t m1_ = rotl64(s, ROT(k, 7)) * MUL(k + 1);		\
	uint64_t m2_ = (s ^ (s >> 29)) * MUL(k + 2);			\
	uint64_t m3_ = rotl64(m1_, 32) ^ m2_;				\
	uint64_t m4_ = rotl64(m2_, ROT(k, 11)) + m1_;			\
	O(0) = p_[0] ^ (uint32_t)(m1_ >> 32);				\
	O(1) = p_[1] ^ (uint32_t)m1_;					\
	O(2) = p_[2] ^ (uint32_t)(m2_ >> 32);				\
	O(3) = p_[3] ^ (uint32_t)m2_;					\
	O(4) = p_[4] ^ (uint32_t)(m3_ >> 32);				\
	O(5) = p_[5] ^ (uint32_t)m3_;					\
	O(6) = p_[6] ^ (uint32_t)(m4_ >> 32);				\
	O(7) = p_[7] ^ (uint32_t)m4_;					\
	p_[0] = rotl32(p_[0], ROT(k, 13)) + O(5);			\
	p_[1] ^= O(6);							\
	p_[2] += rotl32(O(7), 9);					\
	p_[3] ^= O(0) + (uint32_t)t_;					\
	p_[4] = rotl32(p_[4], 3) ^ O(1);				\
	p_[5] += O(2);							\
	p_[6] ^= rotl32(O(3), 17);					\
	p_[7] += O(4) ^ x_;						\
	if (s & BIT(k, 17))						\
		s += m4_;						\
	else								\
		s ^= m3_;

/*
 * One step of walk(): read the timer, record the delta, then the step body
 * with its 8 words written to the output, which it then moves past.
 */
#define OUT_WORD(i) o[i]
#define STEP(r, c) STEP_AT(step_##r##_##c, COPY(r, c))
#define STEP_AT(label, k)						\
label: {								\
	uint64_t t_ = timer_now();					\
	*dl++ = t_ - prev;						\
	prev = t_;							\
	STEP_MIX(k, OUT_WORD)						\
	o += COLLECTOR_WORDS_PER_SAMPLE;				\
	if (o >= end)							\
		goto done;						\
}
#define STEP_ENTRY(r, c) &&step_##r##_##c,

/*
 * The frame both walks share.  WALK_START: the entry table (the label of
 * each copy, then the end of the last copy); called with `report` true,
 * a walk only copies it to labels[0..COLLECTOR_COPIES], which
 * collector_new() uses to measure the code; otherwise the walk state is
 * loaded into locals.  WALK_END: past the last copy, go round again from
 * the first one; when the output is full, store the state and return the
 * number of deltas written.
 */
#define WALK_START(ENTRY, report)					\
	static const void *const entry[COLLECTOR_COPIES + 1] = {	\
		EACH_COPY(ENTRY)					\
		&&pass_end,						\
	};								\
									\
	if (report) {							\
		memcpy(labels, entry, sizeof(entry));			\
		return 0;						\
	}								\
									\
	uint32_t *const tbl = c->table;					\
	const uint32_t words = c->words, blocks = c->blocks
#define WALK_END(first)							\
pass_end:								\
	__asm__ __volatile__("" ::: "memory");				\
	goto *entry[first];						\
done:									\
	c->s = s;							\
	c->prev = prev;							\
	return (size_t)(dl - deltas)

/*
 * The walk itself.  With out == NULL it only reports its label addresses.
 * Both walks are compiled as written: block reordering would move the
 * labels out of source order, cross-jumping would merge the copies.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("no-reorder-blocks", "no-crossjumping")
#endif
static size_t walk(struct collector *c, uint32_t *out, size_t nwords,
		   uint64_t *deltas, const void **labels)
{
	WALK_START(STEP_ENTRY, !out);
	uint32_t *o = out;
	uint32_t *const end = out + nwords;
	uint64_t *dl = deltas;
	uint64_t s = c->s, prev = c->prev;

	goto *entry[c->first];
	EACH_COPY(STEP)
	WALK_END(c->first);
}

/*
 * The seeds walk.  A kernel seed is hashed from timer samples alone
 * (generator.c, make_seeds()), and a sample at stride s is the time of s
 * steps: the s - 1 timer reads inside it and the 32 output bytes a step
 * are work no seed uses, and a read costs about as much as the rest of a
 * step (about 30 ns on an AMD EPYC guest).  So this step does the same
 * table reads and writes and takes the same branches, but its eight words
 * go back into the table only, and the timer is read once every `stride`
 * steps; the steps between fold the last value read into the state.  The
 * timing of this code is its own: calibration and the health tests run on
 * the samples of this walk wherever it is the one used (noise.h).
 */
#ifdef HRNG_TEST_SEAMS
/* A mock timer stands for a timer step by step (timer.h: "two:A,B", the
 * Zen 5 "dist:" and "replay:" give one walk step's delta a read).  So in
 * a mock build the steps between two reads read it too, for nothing, and
 * a sample is the sum of `stride` mock deltas, as in the stream walk; a
 * real timer counts the steps between two reads by itself. */
#define SEED_SKIPPED_READ() ((void)timer_now())
#else
#define SEED_SKIPPED_READ() ((void)0)
#endif

/*
 * One step of walk_seeds(): read the timer if this step ends a sample,
 * then the step body, its 8 words going back into the table only.
 */
#define SEED_WORD(i) o##i##_
#define SEED_STEP(r, c) SEED_STEP_AT(seed_##r##_##c, COPY(r, c))
#define SEED_STEP_AT(label, k)						\
label: {								\
	uint64_t t_ = prev;						\
	uint32_t o0_, o1_, o2_, o3_, o4_, o5_, o6_, o7_;		\
	if (--left == 0) {						\
		left = stride;						\
		t_ = timer_now();					\
		*dl++ = t_ - prev;					\
		prev = t_;						\
	} else {							\
		SEED_SKIPPED_READ();					\
	}								\
	STEP_MIX(k, SEED_WORD)						\
	if (dl >= end)							\
		goto done;						\
}
#define SEED_ENTRY(r, c) &&seed_##r##_##c,

/* Like walk(), for nsamples samples of stride steps, deltas only.  With
 * deltas == NULL it only reports its label addresses. */
static size_t walk_seeds(struct collector *c, size_t nsamples, unsigned stride,
			 uint64_t *deltas, const void **labels)
{
	WALK_START(SEED_ENTRY, !deltas);
	uint64_t *dl = deltas;
	uint64_t *const end = deltas + nsamples;
	uint64_t s = c->s, prev = c->prev;
	unsigned left = stride; /* steps to the next read */

	goto *entry[c->first_seeds];
	EACH_COPY(SEED_STEP)
	WALK_END(c->first_seeds);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

/*
 * Measure the code: copy k runs from labels[k] to labels[COPIES].  Choose
 * the first copy so the executed code is the largest that fits the L1
 * instruction cache (at least one copy).  If the compiler did not keep the
 * copies in source order, distances mean nothing: run them all.
 */
static void measure_code(struct collector *c, unsigned inst_kb)
{
	const void *labels[COLLECTOR_COPIES + 1];
	const char *l0, *lend;
	size_t limit = (size_t)inst_kb * 1024;
	unsigned k;

	walk(c, NULL, 0, NULL, labels);
	c->layout.copies_built = COLLECTOR_COPIES;
	c->layout.code_start = labels[0];
	c->layout.measured = 1;
	for (k = 0; k < COLLECTOR_COPIES; k++)
		if ((const char *)labels[k + 1] <= (const char *)labels[k])
			c->layout.measured = 0;
	l0 = labels[0];
	lend = labels[COLLECTOR_COPIES];
	c->layout.code_built = c->layout.measured ? (size_t)(lend - l0) : 0;
	c->first = 0;
	if (c->layout.measured) {
		c->first = COLLECTOR_COPIES - 1;
		while (c->first > 0 &&
		       (size_t)(lend - (const char *)labels[c->first - 1]) <= limit)
			c->first--;
	}
	c->layout.copies_run = COLLECTOR_COPIES - c->first;
	c->layout.code_run = c->layout.measured ?
		(size_t)(lend - (const char *)labels[c->first]) : 0;
	c->layout.code_next = c->layout.measured && c->first > 0 ?
		(size_t)(lend - (const char *)labels[c->first - 1]) : 0;
}

/* The seeds walk's first copy, chosen as measure_code() chooses the
 * walk's: the most of its own (shorter) code that fits the L1 I-cache. */
static void measure_seeds_code(struct collector *c, unsigned inst_kb)
{
	const void *labels[COLLECTOR_COPIES + 1];
	const char *lend;
	size_t limit = (size_t)inst_kb * 1024;
	unsigned k;

	walk_seeds(c, 0, 1, NULL, labels);
	lend = labels[COLLECTOR_COPIES];
	c->first_seeds = 0;
	for (k = 0; k < COLLECTOR_COPIES; k++)
		if ((const char *)labels[k + 1] <= (const char *)labels[k])
			return;
	c->first_seeds = COLLECTOR_COPIES - 1;
	while (c->first_seeds > 0 &&
	       (size_t)(lend - (const char *)labels[c->first_seeds - 1]) <= limit)
		c->first_seeds--;
}

struct collector *collector_new(unsigned data_kb, unsigned inst_kb)
{
	struct collector *c = calloc(1, sizeof(*c));
	/* Twice the L1 data cache (1 KB = 256 words), so some of the walk's
	 * accesses miss L1 whatever the replacement policy. */
	size_t words = (size_t)(data_kb ? data_kb : 1) * 2 * 256;

	if (!c)
		return NULL;
	if (words < 64)
		words = 64;
	c->table = calloc(words, sizeof(uint32_t));
	if (!c->table) {
		free(c);
		return NULL;
	}
	c->words = (uint32_t)words;
	c->blocks = (uint32_t)(words / COLLECTOR_WORDS_PER_SAMPLE);
	c->layout.table_words = words;
	c->s = timer_now();
	c->prev = timer_now();
	measure_code(c, inst_kb ? inst_kb : 1);
	measure_seeds_code(c, inst_kb ? inst_kb : 1);
	return c;
}

void collector_free(struct collector *c)
{
	if (!c)
		return;
	wipe(c->table, (size_t)c->words * sizeof(uint32_t));
	free(c->table);
	wipe(c, sizeof(*c));
	free(c);
}

size_t collector_fill(struct collector *c, uint32_t *out, size_t nwords, uint64_t *deltas)
{
	size_t n;

	if (nwords == 0)
		return 0;
	n = walk(c, out, nwords, deltas, NULL);
	c->steps += n;
	seam_walk_spoil(out, nwords);
	return n;
}

size_t collector_fill_seeds(struct collector *c, unsigned stride, uint64_t *deltas,
			    size_t nsamples)
{
	size_t n;

	if (nsamples == 0 || stride == 0)
		return 0;
	n = walk_seeds(c, nsamples, stride, deltas, NULL);
	c->seeds_steps += (uint64_t)n * stride;
	return n;
}

/*
 * Warm-up: walk enough to rewrite the whole table several times over, so no
 * output comes from the zeroed start, and the caches and predictor hold the
 * walk's own state.  Output and deltas are thrown away.
 */
void collector_warmup(struct collector *c)
{
	enum { WARMUP_ROUNDS = 4, CHUNK = 4096 };
	uint32_t buf[CHUNK];
	uint64_t d[CHUNK / COLLECTOR_WORDS_PER_SAMPLE];
	size_t done = 0, need = (size_t)WARMUP_ROUNDS * c->words;

	while (done < need) {
		collector_fill(c, buf, CHUNK, d);
		done += CHUNK;
	}
	wipe(buf, sizeof(buf));
}

void collector_get_layout(const struct collector *c, struct collector_layout *l)
{
	*l = c->layout;
}

void collector_get_steps(const struct collector *c, uint64_t *steps, uint64_t *seeds_steps)
{
	*steps = c->steps;
	*seeds_steps = c->seeds_steps;
}
