/* collector.c - the HAVEGE collector: a timed walk over a cache-sized table.
 *
 * Functions offered (see collector.h):
 *   collector_new()        allocate the table, measure the walk code
 *   collector_fill()       run the walk, returning output words and deltas
 *   collector_warmup()     run passes to bring table and caches to steady state
 *   collector_get_layout() what was measured, for -r 1 and -v 8/16
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
	seam_walk_spoil(out, nwords);
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
