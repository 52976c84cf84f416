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
 *    reordering is switched off for this one function so the labels stay in
 *    source order; collector_new() checks that they did and otherwise falls
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
 * One step: read the timer, record the delta, fold the timer into the
 * state, touch a table entry chosen by the state (a branch on its value
 * decides which entry is written back), then emit 8 words: an 8-word block
 * of the table, chosen by the state, xored with the state's products, and
 * written back changed so the table keeps moving.
 */
#define STEP(k)								\
step_##k: {								\
	uint64_t t_ = timer_now();					\
	*dl++ = t_ - prev;						\
	prev = t_;							\
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
	o[0] = p_[0] ^ (uint32_t)(m1_ >> 32);				\
	o[1] = p_[1] ^ (uint32_t)m1_;					\
	o[2] = p_[2] ^ (uint32_t)(m2_ >> 32);				\
	o[3] = p_[3] ^ (uint32_t)m2_;					\
	o[4] = p_[4] ^ (uint32_t)(m3_ >> 32);				\
	o[5] = p_[5] ^ (uint32_t)m3_;					\
	o[6] = p_[6] ^ (uint32_t)(m4_ >> 32);				\
	o[7] = p_[7] ^ (uint32_t)m4_;					\
	p_[0] = rotl32(p_[0], ROT(k, 13)) + o[5];			\
	p_[1] ^= o[6];							\
	p_[2] += rotl32(o[7], 9);					\
	p_[3] ^= o[0] + (uint32_t)t_;					\
	p_[4] = rotl32(p_[4], 3) ^ o[1];				\
	p_[5] += o[2];							\
	p_[6] ^= rotl32(o[3], 17);					\
	p_[7] += o[4] ^ x_;						\
	if (s & BIT(k, 17))						\
		s += m4_;						\
	else								\
		s ^= m3_;						\
	o += COLLECTOR_WORDS_PER_SAMPLE;				\
	if (o >= end)							\
		goto done;						\
}

/*
 * The walk itself.  With out == NULL it only reports its label addresses
 * (labels[0..COLLECTOR_COPIES], the last being the end of the last copy),
 * which collector_new() uses to measure the code.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("no-reorder-blocks", "no-crossjumping")
#endif
static size_t walk(struct collector *c, uint32_t *out, size_t nwords,
		   uint64_t *deltas, const void **labels)
{
	static const void *const entry[COLLECTOR_COPIES + 1] = {
		&&step_0, &&step_1, &&step_2, &&step_3, &&step_4, &&step_5, &&step_6, &&step_7,
		&&step_8, &&step_9, &&step_10, &&step_11, &&step_12, &&step_13, &&step_14, &&step_15,
		&&step_16, &&step_17, &&step_18, &&step_19, &&step_20, &&step_21, &&step_22, &&step_23,
		&&step_24, &&step_25, &&step_26, &&step_27, &&step_28, &&step_29, &&step_30, &&step_31,
		&&step_32, &&step_33, &&step_34, &&step_35, &&step_36, &&step_37, &&step_38, &&step_39,
		&&step_40, &&step_41, &&step_42, &&step_43, &&step_44, &&step_45, &&step_46, &&step_47,
		&&step_48, &&step_49, &&step_50, &&step_51, &&step_52, &&step_53, &&step_54, &&step_55,
		&&step_56, &&step_57, &&step_58, &&step_59, &&step_60, &&step_61, &&step_62, &&step_63,
		&&step_64, &&step_65, &&step_66, &&step_67, &&step_68, &&step_69, &&step_70, &&step_71,
		&&step_72, &&step_73, &&step_74, &&step_75, &&step_76, &&step_77, &&step_78, &&step_79,
		&&step_80, &&step_81, &&step_82, &&step_83, &&step_84, &&step_85, &&step_86, &&step_87,
		&&step_88, &&step_89, &&step_90, &&step_91, &&step_92, &&step_93, &&step_94, &&step_95,
		&&step_96, &&step_97, &&step_98, &&step_99, &&step_100, &&step_101, &&step_102, &&step_103,
		&&step_104, &&step_105, &&step_106, &&step_107, &&step_108, &&step_109, &&step_110, &&step_111,
		&&step_112, &&step_113, &&step_114, &&step_115, &&step_116, &&step_117, &&step_118, &&step_119,
		&&step_120, &&step_121, &&step_122, &&step_123, &&step_124, &&step_125, &&step_126, &&step_127,
		&&pass_end,
	};

	if (!out) {
		memcpy(labels, entry, sizeof(entry));
		return 0;
	}

	uint32_t *const tbl = c->table;
	const uint32_t words = c->words, blocks = c->blocks;
	uint32_t *o = out;
	uint32_t *const end = out + nwords;
	uint64_t *dl = deltas;
	uint64_t s = c->s, prev = c->prev;

	goto *entry[c->first];
	STEP(0)
	STEP(1)
	STEP(2)
	STEP(3)
	STEP(4)
	STEP(5)
	STEP(6)
	STEP(7)
	STEP(8)
	STEP(9)
	STEP(10)
	STEP(11)
	STEP(12)
	STEP(13)
	STEP(14)
	STEP(15)
	STEP(16)
	STEP(17)
	STEP(18)
	STEP(19)
	STEP(20)
	STEP(21)
	STEP(22)
	STEP(23)
	STEP(24)
	STEP(25)
	STEP(26)
	STEP(27)
	STEP(28)
	STEP(29)
	STEP(30)
	STEP(31)
	STEP(32)
	STEP(33)
	STEP(34)
	STEP(35)
	STEP(36)
	STEP(37)
	STEP(38)
	STEP(39)
	STEP(40)
	STEP(41)
	STEP(42)
	STEP(43)
	STEP(44)
	STEP(45)
	STEP(46)
	STEP(47)
	STEP(48)
	STEP(49)
	STEP(50)
	STEP(51)
	STEP(52)
	STEP(53)
	STEP(54)
	STEP(55)
	STEP(56)
	STEP(57)
	STEP(58)
	STEP(59)
	STEP(60)
	STEP(61)
	STEP(62)
	STEP(63)
	STEP(64)
	STEP(65)
	STEP(66)
	STEP(67)
	STEP(68)
	STEP(69)
	STEP(70)
	STEP(71)
	STEP(72)
	STEP(73)
	STEP(74)
	STEP(75)
	STEP(76)
	STEP(77)
	STEP(78)
	STEP(79)
	STEP(80)
	STEP(81)
	STEP(82)
	STEP(83)
	STEP(84)
	STEP(85)
	STEP(86)
	STEP(87)
	STEP(88)
	STEP(89)
	STEP(90)
	STEP(91)
	STEP(92)
	STEP(93)
	STEP(94)
	STEP(95)
	STEP(96)
	STEP(97)
	STEP(98)
	STEP(99)
	STEP(100)
	STEP(101)
	STEP(102)
	STEP(103)
	STEP(104)
	STEP(105)
	STEP(106)
	STEP(107)
	STEP(108)
	STEP(109)
	STEP(110)
	STEP(111)
	STEP(112)
	STEP(113)
	STEP(114)
	STEP(115)
	STEP(116)
	STEP(117)
	STEP(118)
	STEP(119)
	STEP(120)
	STEP(121)
	STEP(122)
	STEP(123)
	STEP(124)
	STEP(125)
	STEP(126)
	STEP(127)
pass_end:
	__asm__ __volatile__("" ::: "memory");
	goto *entry[c->first];
done:
	c->s = s;
	c->prev = prev;
	return (size_t)(dl - deltas);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

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

#define SEED_STEP(k)							\
seed_##k: {								\
	uint64_t t_ = prev;						\
	if (--left == 0) {						\
		left = stride;						\
		t_ = timer_now();					\
		*dl++ = t_ - prev;					\
		prev = t_;						\
	} else {							\
		SEED_SKIPPED_READ();					\
	}								\
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
	uint32_t o0_ = p_[0] ^ (uint32_t)(m1_ >> 32);			\
	uint32_t o1_ = p_[1] ^ (uint32_t)m1_;				\
	uint32_t o2_ = p_[2] ^ (uint32_t)(m2_ >> 32);			\
	uint32_t o3_ = p_[3] ^ (uint32_t)m2_;				\
	uint32_t o4_ = p_[4] ^ (uint32_t)(m3_ >> 32);			\
	uint32_t o5_ = p_[5] ^ (uint32_t)m3_;				\
	uint32_t o6_ = p_[6] ^ (uint32_t)(m4_ >> 32);			\
	uint32_t o7_ = p_[7] ^ (uint32_t)m4_;				\
	p_[0] = rotl32(p_[0], ROT(k, 13)) + o5_;			\
	p_[1] ^= o6_;							\
	p_[2] += rotl32(o7_, 9);					\
	p_[3] ^= o0_ + (uint32_t)t_;					\
	p_[4] = rotl32(p_[4], 3) ^ o1_;					\
	p_[5] += o2_;							\
	p_[6] ^= rotl32(o3_, 17);					\
	p_[7] += o4_ ^ x_;						\
	if (s & BIT(k, 17))						\
		s += m4_;						\
	else								\
		s ^= m3_;						\
	if (dl >= end)							\
		goto done;						\
}

/* Like walk(), for nsamples samples of stride steps, deltas only.  With
 * deltas == NULL it only reports its label addresses. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("no-reorder-blocks", "no-crossjumping")
#endif
static size_t walk_seeds(struct collector *c, size_t nsamples, unsigned stride,
			 uint64_t *deltas, const void **labels)
{
	static const void *const entry[COLLECTOR_COPIES + 1] = {
		&&seed_0, &&seed_1, &&seed_2, &&seed_3, &&seed_4, &&seed_5, &&seed_6, &&seed_7,
		&&seed_8, &&seed_9, &&seed_10, &&seed_11, &&seed_12, &&seed_13, &&seed_14, &&seed_15,
		&&seed_16, &&seed_17, &&seed_18, &&seed_19, &&seed_20, &&seed_21, &&seed_22, &&seed_23,
		&&seed_24, &&seed_25, &&seed_26, &&seed_27, &&seed_28, &&seed_29, &&seed_30, &&seed_31,
		&&seed_32, &&seed_33, &&seed_34, &&seed_35, &&seed_36, &&seed_37, &&seed_38, &&seed_39,
		&&seed_40, &&seed_41, &&seed_42, &&seed_43, &&seed_44, &&seed_45, &&seed_46, &&seed_47,
		&&seed_48, &&seed_49, &&seed_50, &&seed_51, &&seed_52, &&seed_53, &&seed_54, &&seed_55,
		&&seed_56, &&seed_57, &&seed_58, &&seed_59, &&seed_60, &&seed_61, &&seed_62, &&seed_63,
		&&seed_64, &&seed_65, &&seed_66, &&seed_67, &&seed_68, &&seed_69, &&seed_70, &&seed_71,
		&&seed_72, &&seed_73, &&seed_74, &&seed_75, &&seed_76, &&seed_77, &&seed_78, &&seed_79,
		&&seed_80, &&seed_81, &&seed_82, &&seed_83, &&seed_84, &&seed_85, &&seed_86, &&seed_87,
		&&seed_88, &&seed_89, &&seed_90, &&seed_91, &&seed_92, &&seed_93, &&seed_94, &&seed_95,
		&&seed_96, &&seed_97, &&seed_98, &&seed_99, &&seed_100, &&seed_101, &&seed_102, &&seed_103,
		&&seed_104, &&seed_105, &&seed_106, &&seed_107, &&seed_108, &&seed_109, &&seed_110, &&seed_111,
		&&seed_112, &&seed_113, &&seed_114, &&seed_115, &&seed_116, &&seed_117, &&seed_118, &&seed_119,
		&&seed_120, &&seed_121, &&seed_122, &&seed_123, &&seed_124, &&seed_125, &&seed_126, &&seed_127,
		&&pass_end,
	};

	if (!deltas) {
		memcpy(labels, entry, sizeof(entry));
		return 0;
	}

	uint32_t *const tbl = c->table;
	const uint32_t words = c->words, blocks = c->blocks;
	uint64_t *dl = deltas;
	uint64_t *const end = deltas + nsamples;
	uint64_t s = c->s, prev = c->prev;
	unsigned left = stride; /* steps to the next read */

	goto *entry[c->first_seeds];
	SEED_STEP(0)
	SEED_STEP(1)
	SEED_STEP(2)
	SEED_STEP(3)
	SEED_STEP(4)
	SEED_STEP(5)
	SEED_STEP(6)
	SEED_STEP(7)
	SEED_STEP(8)
	SEED_STEP(9)
	SEED_STEP(10)
	SEED_STEP(11)
	SEED_STEP(12)
	SEED_STEP(13)
	SEED_STEP(14)
	SEED_STEP(15)
	SEED_STEP(16)
	SEED_STEP(17)
	SEED_STEP(18)
	SEED_STEP(19)
	SEED_STEP(20)
	SEED_STEP(21)
	SEED_STEP(22)
	SEED_STEP(23)
	SEED_STEP(24)
	SEED_STEP(25)
	SEED_STEP(26)
	SEED_STEP(27)
	SEED_STEP(28)
	SEED_STEP(29)
	SEED_STEP(30)
	SEED_STEP(31)
	SEED_STEP(32)
	SEED_STEP(33)
	SEED_STEP(34)
	SEED_STEP(35)
	SEED_STEP(36)
	SEED_STEP(37)
	SEED_STEP(38)
	SEED_STEP(39)
	SEED_STEP(40)
	SEED_STEP(41)
	SEED_STEP(42)
	SEED_STEP(43)
	SEED_STEP(44)
	SEED_STEP(45)
	SEED_STEP(46)
	SEED_STEP(47)
	SEED_STEP(48)
	SEED_STEP(49)
	SEED_STEP(50)
	SEED_STEP(51)
	SEED_STEP(52)
	SEED_STEP(53)
	SEED_STEP(54)
	SEED_STEP(55)
	SEED_STEP(56)
	SEED_STEP(57)
	SEED_STEP(58)
	SEED_STEP(59)
	SEED_STEP(60)
	SEED_STEP(61)
	SEED_STEP(62)
	SEED_STEP(63)
	SEED_STEP(64)
	SEED_STEP(65)
	SEED_STEP(66)
	SEED_STEP(67)
	SEED_STEP(68)
	SEED_STEP(69)
	SEED_STEP(70)
	SEED_STEP(71)
	SEED_STEP(72)
	SEED_STEP(73)
	SEED_STEP(74)
	SEED_STEP(75)
	SEED_STEP(76)
	SEED_STEP(77)
	SEED_STEP(78)
	SEED_STEP(79)
	SEED_STEP(80)
	SEED_STEP(81)
	SEED_STEP(82)
	SEED_STEP(83)
	SEED_STEP(84)
	SEED_STEP(85)
	SEED_STEP(86)
	SEED_STEP(87)
	SEED_STEP(88)
	SEED_STEP(89)
	SEED_STEP(90)
	SEED_STEP(91)
	SEED_STEP(92)
	SEED_STEP(93)
	SEED_STEP(94)
	SEED_STEP(95)
	SEED_STEP(96)
	SEED_STEP(97)
	SEED_STEP(98)
	SEED_STEP(99)
	SEED_STEP(100)
	SEED_STEP(101)
	SEED_STEP(102)
	SEED_STEP(103)
	SEED_STEP(104)
	SEED_STEP(105)
	SEED_STEP(106)
	SEED_STEP(107)
	SEED_STEP(108)
	SEED_STEP(109)
	SEED_STEP(110)
	SEED_STEP(111)
	SEED_STEP(112)
	SEED_STEP(113)
	SEED_STEP(114)
	SEED_STEP(115)
	SEED_STEP(116)
	SEED_STEP(117)
	SEED_STEP(118)
	SEED_STEP(119)
	SEED_STEP(120)
	SEED_STEP(121)
	SEED_STEP(122)
	SEED_STEP(123)
	SEED_STEP(124)
	SEED_STEP(125)
	SEED_STEP(126)
	SEED_STEP(127)
pass_end:
	__asm__ __volatile__("" ::: "memory");
	goto *entry[c->first_seeds];
done:
	c->s = s;
	c->prev = prev;
	return (size_t)(dl - deltas);
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
