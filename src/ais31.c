/* ais31.c - AIS-31 test procedures A and B, and the controller of a group.
 *
 * Offers (see ais31.h):
 *   ais31_run_new/free/reset/feed/done/step/result - one procedure as a
 *       resumable state machine over the walk output bytes.
 *   ais31_block_values(), ais31_t7_chi2() - the statistics alone (tests).
 *   ais31_format_result(), ais31_test_name()  - the -v 32 log line.
 *   ais31_ctl_new/free/feed/finished/failed/current/stats - the controller
 *       of a start-up or continuous group, with haveged's retry rule.
 *
 * A caller creates a run or a controller, then feeds it bytes in any split;
 * nothing else needs setting up (the shared lookup tables are built once,
 * under pthread_once, by the first ais31_run_new()).
 *
 * Source of every threshold: W. Killmann, W. Schindler, "A proposal for:
 * Functionality classes for random number generators", AIS 20/31 version
 * 2.0, BSI, 18 September 2011, below "AIS 20/31".  Test procedure A is its
 * section 2.4.4.1 (tests T0-T5), test procedure B section 2.4.4.2 (tests
 * T6-T8).  doc/ais31.md lists them and where haveged differs.
 *
 * Bits are read most significant bit of each byte first; 64-bit words are
 * loaded big-endian so that stream order is word bit 63 down to bit 0.
 */
#include "config.h"

#include "ais31.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kernels that count bits get a popcnt clone on x86-64 (selected at load
 * time through an ifunc) without raising the baseline the program needs. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define AIS31_KERNEL __attribute__((target_clones("popcnt", "default")))
#else
#define AIS31_KERNEL
#endif
/* Helpers of a kernel must be inlined into each of its clones. */
#define AIS31_INLINE static inline __attribute__((always_inline))

AIS31_INLINE uint64_t load_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

AIS31_INLINE unsigned popcount64(uint64_t v)
{
	return (unsigned)__builtin_popcountll(v);
}

/* ------------------------------------------------------------ constants
 *
 * AIS 20/31 section 2.4.4.1, test procedure A.
 */
enum {
	A_T0_STRINGS    = 65536,        /* T0: 2^16 strings ... */
	A_T0_STRING_BYTES = 6,          /* ... of 48 bits */
	A_T0_BYTES      = A_T0_STRINGS * A_T0_STRING_BYTES,     /* 393216 */
	T0_HASH_BITS    = 22,           /* pass-1 bitmap: 512 KiB */
	T0_FILTER_MASK  = (1 << 15) - 1,        /* pass-2 filter: 4 KiB */
	A_BLOCKS        = 257,          /* T1-T5 run on 257 blocks ... */
	A_BLOCK_BITS    = 20000,        /* ... of 20000 bits */
	A_BLOCK_BYTES   = A_BLOCK_BITS / 8,
	A_BLOCK_WORDS   = (A_BLOCK_BITS + 63) / 64,             /* 313 */
	BW_VEC_END      = 320,          /* 313 rounded up to 8-word vectors */
	BW_WORDS        = BW_VEC_END + 8,       /* and a look-ahead vector */
	/* T1 monobit: passes when 9654 < ones < 10346 */
	A_T1_LOW        = 9654,
	A_T1_HIGH       = 10346,
	/* T2 poker on 5000 nibbles: X = 16/5000 sum f^2 - 5000, passes when
	 * 1.03 < X < 57.4; kept exact as 5000 X = 16 sum f^2 - 5000^2. */
	A_T2_NIBBLES    = 5000,
	A_T2_LOW_X5000  = 5150,         /* 1.03 * 5000 */
	A_T2_HIGH_X5000 = 287000,       /* 57.4 * 5000 */
	/* T3 runs: lengths 1-5 and 6+, each for zeros and ones */
	A_T3_CLASSES    = 6,
	/* T4 long run: a run of 34 or more bits fails */
	A_T4_LONG_RUN   = 34,
	/* T5 autocorrelation: tau from 1 to 5000 over 5000 bits; passes when
	 * 2326 < Z_tau < 2674 on the second half */
	A_T5_TAU_MAX    = 5000,
	A_T5_BITS       = 5000,
	A_T5_SECOND     = 10000,        /* first bit of the test half */
	A_T5_LOW        = 2326,
	A_T5_HIGH       = 2674,
	A_T5_MID        = 2500,
	T5_WORDS        = (A_T5_BITS + 63) / 64,            /* 79 */
	T5_VEC_WORDS    = 80,           /* T5_WORDS padded for 8-word vectors */
	T5_SHIFT_WORDS  = T5_VEC_WORDS + A_T5_TAU_MAX / 64, /* 158 */
};

/* T3's acceptance intervals, inclusive, for runs of length 1..5 and 6+. */
static const uint16_t a_t3_low[A_T3_CLASSES] = { 2267, 1079, 502, 223, 90, 90 };
static const uint16_t a_t3_high[A_T3_CLASSES] = { 2733, 1421, 748, 402, 223, 223 };

/* AIS 20/31 section 2.4.4.2, test procedure B. */
enum {
	B_T6A_BITS      = 100000,       /* T6 with k = 1, n = 100000 ... */
	B_T6A_BYTES     = B_T6A_BITS / 8,
	B_T6A_A_X2      = 5000,         /* ... a = 0.025: |ones - 50000| < 2500 */
	B_TUPLES        = 100000,       /* n per prefix for T6b and T7 */
	B_T6B_A         = 2000,         /* a = 0.02: |ones0 - ones1| < 2000 */
	B_T8_L          = 8,            /* T8: Coron's test, L = 8, ... */
	B_T8_Q          = 2560,         /* ... Q = 2560 initial words, ... */
	B_T8_K          = 256000,       /* ... K = 256000 test words */
	B_T8_HIST       = 2048,         /* distances kept in a histogram */
	/* Not in AIS 20/31: a T6b/T7 step ends, failed, after four times the
	 * bytes it needs on average (2^(L-1) * 100000 * L bits), so a stuck
	 * source cannot hold procedure B open forever. */
	B_TUPLE_CAP_FACTOR = 4,
};

/* T5 counts only the first 5000 - 78 * 64 = 8 bits of its last word. */
static const uint64_t t5_last_mask = ~UINT64_C(0) << (64 - (A_T5_BITS % 64));

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
static uint64_t poker_tab[2][256];      /* T2: nibble counts, 8-bit lanes */
static uint64_t t5_mask[T5_VEC_WORDS];    /* T5: which bits of wm count */
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* The bit-counting kernels: word at a time, or eight words (see "wide
 * kernels"); set once by build_tables(). */
struct block_words;
struct block_counts;
static void block_count_words(const struct block_words *bw,
			      struct block_counts *c);
static unsigned t5_search_words(const uint64_t *wm,
				uint64_t (*sh)[T5_SHIFT_WORDS]);
static void choose_wide(void);

static struct {
	void (*block_count)(const struct block_words *bw,
			    struct block_counts *c);
	unsigned (*t5_search)(const uint64_t *wm,
			      uint64_t (*sh)[T5_SHIFT_WORDS]);
} wide = { block_count_words, t5_search_words };

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

static void build_tables(void)
{
	double h = 0.0;
	unsigned i;

	build_tuple_tab(2, 8);
	build_tuple_tab(3, 6);
	build_tuple_tab(4, 8);
	for (i = 0; i < 256; i++) {
		unsigned hn = i >> 4, ln = i & 15;

		poker_tab[hn >> 3][i] += UINT64_C(1) << (8 * (hn & 7));
		poker_tab[ln >> 3][i] += UINT64_C(1) << (8 * (ln & 7));
	}
	for (i = 0; i < T5_VEC_WORDS; i++)
		t5_mask[i] = i + 1 < T5_WORDS ? ~UINT64_C(0) :
			     i + 1 == T5_WORDS ? t5_last_mask : 0;
	choose_wide();
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

/* ------------------------------------------------------------ run state */

struct tuples {
	unsigned L;                 /* tuple length 2, 3 or 4 */
	unsigned classes;           /* prefixes: 2^(L-1) */
	unsigned full;              /* prefixes with B_TUPLES samples */
	uint32_t count[8];          /* samples per prefix, <= B_TUPLES */
	uint32_t ones[8];           /* of which the last bit is 1 */
	uint32_t acc;               /* bits not yet forming a tuple */
	unsigned nacc;              /* how many, < L */
	uint32_t bytes;             /* consumed by this step, <= cap */
	uint32_t cap;               /* B_TUPLE_CAP_FACTOR * expected bytes */
};

struct coron {
	uint32_t n;                 /* words seen, up to Q + K */
	uint32_t last[256];         /* index (1-based) of each value's last
				     * occurrence, 0 = not yet seen */
	uint32_t hist[B_T8_HIST];   /* distances below B_T8_HIST */
	double far;                 /* sum of g() of the longer distances */
};

enum b_stage { B_T6A, B_T6B, B_T7A, B_T7B, B_T8, B_DONE };

struct t0_work {
	uint64_t bitmap[(1 << T0_HASH_BITS) / 64];
	uint64_t filter[(T0_FILTER_MASK + 1) / 64];
	uint32_t cand[A_T0_STRINGS];        /* candidate hashes */
	uint64_t keys[A_T0_STRINGS];        /* strings with such a hash */
};

struct ais31_run {
	enum ais31_proc proc;
	unsigned a_shift;
	bool done;
	struct ais31_result res;
	/* procedure A: stage 0 = T0, then block numbers 1..257 */
	unsigned a_next;            /* 0 = T0 pending, k = block k-1 pending */
	size_t staged;              /* bytes of the pending chunk in stage */
	uint8_t *stage;             /* A_T0_BYTES: the chunk being gathered */
	struct t0_work *t0;
	uint64_t (*t5_shift)[T5_SHIFT_WORDS];  /* 64 shifted copies, T5 */
	/* procedure B */
	enum b_stage b_stage;
	uint32_t b_pos;             /* bytes into the current fixed stage */
	uint32_t b_ones;            /* T6a */
	struct tuples tup;
	struct coron cor;
};

static void record_fail(struct ais31_run *run, enum ais31_test t,
			unsigned index, double value)
{
	struct ais31_result *r = &run->res;

	if (!r->fails) {
		r->first_test = t;
		r->first_index = index;
		r->first_value = value;
	}
	r->fails++;
	r->fail_mask |= 1u << t;
}

static void record(struct ais31_run *run, bool pass, enum ais31_test t,
		   unsigned index, double value)
{
	run->res.tests++;
	if (!pass)
		record_fail(run, t, index, value);
}

/* ------------------------------------------------------------ test T0
 *
 * AIS 20/31 2.4.4.1, T0: the 2^16 48-bit strings must be pairwise
 * different.  Pass 1 marks a 22-bit hash of each string in a bitmap, with
 * no branch on the data; a string whose mark is already set makes its hash
 * a candidate (about 512 do by chance in random data).  Pass 2 collects
 * the strings with a candidate hash (about 1000), sorts them and counts
 * equal neighbours: the exact number of strings equal to an earlier one.
 */
AIS31_INLINE uint64_t t0_key(const uint8_t *p)
{
	return (uint64_t)p[0] << 40 | (uint64_t)p[1] << 32 |
	       (uint64_t)p[2] << 24 | (uint64_t)p[3] << 16 |
	       (uint64_t)p[4] << 8 | p[5];
}

AIS31_INLINE uint32_t t0_hash(uint64_t key)
{
	return (uint32_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >>
			  (64 - T0_HASH_BITS));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Pass 1: the candidate hashes, sorted, unique. */
static uint32_t t0_candidates(struct t0_work *t, const uint8_t *p)
{
	uint32_t i, n = 0, u = 0;

	memset(t->bitmap, 0, sizeof(t->bitmap));
	for (i = 0; i < A_T0_STRINGS; i++, p += A_T0_STRING_BYTES) {
		uint32_t h = t0_hash(t0_key(p));
		uint64_t bit = UINT64_C(1) << (h & 63), *word = &t->bitmap[h >> 6];

		if (*word & bit)
			t->cand[n++] = h;
		*word |= bit;
	}
	qsort(t->cand, n, sizeof(*t->cand), cmp_u32);
	for (i = 0; i < n; i++)
		if (!u || t->cand[u - 1] != t->cand[i])
			t->cand[u++] = t->cand[i];
	return u;
}

static unsigned t0_duplicates(struct t0_work *t, const uint8_t *p)
{
	uint32_t ncand = t0_candidates(t, p), i, n = 0;
	unsigned dups = 0;

	if (!ncand)
		return 0;
	memset(t->filter, 0, sizeof(t->filter));
	for (i = 0; i < ncand; i++)
		t->filter[(t->cand[i] & T0_FILTER_MASK) >> 6] |=
			UINT64_C(1) << (t->cand[i] & 63);
	for (i = 0; i < A_T0_STRINGS; i++) {
		uint64_t key = t0_key(p + A_T0_STRING_BYTES * i);
		uint32_t h = t0_hash(key);

		if (!(t->filter[(h & T0_FILTER_MASK) >> 6] >> (h & 63) & 1))
			continue;
		if (bsearch(&h, t->cand, ncand, sizeof(h), cmp_u32))
			t->keys[n++] = key;
	}
	qsort(t->keys, n, sizeof(*t->keys), cmp_u64);
	for (i = 1; i < n; i++)
		dups += t->keys[i] == t->keys[i - 1];
	return dups;
}

/* ------------------------------------------------------------ tests T1-T4
 *
 * A block is loaded into big-endian words w[] (bits past 20000 zero) and
 * t[], whose bit p is set where a run starts (p = 0, b_p != b_{p-1}, and
 * every p past the end, so runs stop there).  A run of length >= k starts
 * at p when t_p is set and t_{p+1} .. t_{p+k-1} are clear; with s[] = t[]
 * limited to the block, G_1 = s and G_{k+1} = G_k & ~(t shifted by k).
 * popcount(G_k) counts runs >= k of either bit, popcount(G_k & w) those of
 * ones.  Exact lengths are differences of those (AIS 20/31 T3 counts
 * lengths 1-5 and 6+ for each bit).
 */
struct block_words {
	uint64_t w[BW_WORDS];
	uint64_t t[BW_WORDS];
	uint64_t s[BW_WORDS];
};

/* What the bit-counting kernel finds in a block (T1-T3). */
struct block_counts {
	uint32_t all[A_T3_CLASSES];     /* runs >= k+1 of either bit */
	uint32_t one[A_T3_CLASSES];     /* runs >= k+1 of ones */
	uint32_t nibble[16];            /* T2 counts, padding included */
	unsigned ones;
};

struct block_stats {
	unsigned ones;              /* T1 */
	uint64_t poker_sq;          /* T2: sum of f^2 over the 16 nibbles */
	uint32_t runs[2][A_T3_CLASSES];   /* [bit][k-1] = runs >= k */
	unsigned long_run;          /* T4: a run >= 34 found (its length) */
};

AIS31_INLINE uint64_t next_bits(const uint64_t *x, unsigned i, unsigned k)
{
	return x[i] << k | x[i + 1] >> (64 - k);
}

static void load_block(const uint8_t *p, struct block_words *bw)
{
	const uint64_t past = (UINT64_C(1) << 32) - 1;  /* 20000 = 312*64+32 */
	enum { LAST = A_BLOCK_BITS / 64 };
	uint64_t prev = 0;
	unsigned i;

	for (i = 0; i < LAST; i++)
		bw->w[i] = load_be64(p + 8 * i);
	bw->w[LAST] = (uint64_t)p[8 * LAST] << 56 | (uint64_t)p[8 * LAST + 1] << 48 |
		      (uint64_t)p[8 * LAST + 2] << 40 | (uint64_t)p[8 * LAST + 3] << 32;
	for (i = LAST + 1; i < BW_WORDS; i++)
		bw->w[i] = 0;
	for (i = 0; i <= LAST; i++) {
		bw->t[i] = bw->w[i] ^ (bw->w[i] >> 1 | prev << 63);
		bw->s[i] = bw->t[i];
		prev = bw->w[i];
	}
	bw->t[0] |= UINT64_C(1) << 63;
	bw->s[0] = bw->t[0];
	bw->t[LAST] |= past;
	bw->s[LAST] &= ~past;
	for (i = LAST + 1; i < BW_WORDS; i++) {
		bw->t[i] = ~UINT64_C(0);
		bw->s[i] = 0;
	}
}

/* T2 nibble counts of one word through poker_tab (8-bit lanes). */
AIS31_INLINE void poker_word(uint64_t x, uint64_t *lo, uint64_t *hi)
{
	unsigned j;

	for (j = 0; j < 8; j++, x >>= 8) {
		*lo += poker_tab[0][x & 0xff];
		*hi += poker_tab[1][x & 0xff];
	}
}

AIS31_INLINE void poker_flush(uint64_t lo, uint64_t hi, uint32_t *f)
{
	unsigned k;

	for (k = 0; k < 8; k++) {
		f[k] += (lo >> (8 * k)) & 0xff;
		f[k + 8] += (hi >> (8 * k)) & 0xff;
	}
}

/* T1, T2 and T3 counts over the 313 words, one word at a time. */
AIS31_KERNEL
static void block_count_words(const struct block_words *bw,
			      struct block_counts *c)
{
	uint64_t lo = 0, hi = 0;
	unsigned i, k;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < A_BLOCK_WORDS; i++) {
		uint64_t g = bw->s[i];

		c->ones += popcount64(bw->w[i]);
		for (k = 0; k < A_T3_CLASSES; k++) {
			c->all[k] += popcount64(g);
			c->one[k] += popcount64(g & bw->w[i]);
			g &= ~next_bits(bw->t, i, k + 1);
		}
		poker_word(bw->w[i], &lo, &hi);
		if (i % 15 == 14) {     /* 15 * 8 * 2 < 256 per lane */
			poker_flush(lo, hi, c->nibble);
			lo = hi = 0;
		}
	}
	poker_flush(lo, hi, c->nibble);
	c->nibble[0] -= (64 * A_BLOCK_WORDS - A_BLOCK_BITS) / 4;
}

AIS31_INLINE unsigned bit_at(const uint64_t *x, unsigned pos)
{
	return (unsigned)(x[pos >> 6] >> (63 - (pos & 63))) & 1;
}

/* Length of the run of bit value v through the 16 bits at s, stopping
 * once it reaches A_T4_LONG_RUN. */
AIS31_INLINE unsigned run_through(const uint64_t *x, unsigned s, unsigned v)
{
	unsigned len = 16, p;

	for (p = s; p > 0 && len < A_T4_LONG_RUN && bit_at(x, p - 1) == v; p--)
		len++;
	for (p = s + 16; p < A_BLOCK_BITS && len < A_T4_LONG_RUN &&
	     bit_at(x, p) == v; p++)
		len++;
	return len;
}

/* T4: any run of 34 bits or more covers an aligned 16-bit lane of equal
 * bits, so only such lanes (p = 2^-15 each in random data) need a look. */
AIS31_INLINE unsigned long_run(const uint64_t *x)
{
	const uint64_t lo = UINT64_C(0x0001000100010001);
	const uint64_t hi = UINT64_C(0x8000800080008000);
	unsigned i, lane;

	for (i = 0; i < A_BLOCK_BITS / 64 + 1; i++) {
		uint64_t z = x[i], o = ~x[i];

		if (i == A_BLOCK_BITS / 64)
			o &= ~UINT64_C(0) << 32;    /* past the block: no lane */
		if (!(((z - lo) & ~z & hi) | ((o - lo) & ~o & hi)))
			continue;
		for (lane = 0; lane < 4; lane++) {
			unsigned v = (unsigned)(x[i] >> (48 - 16 * lane)) & 0xffff;
			unsigned s = 64 * i + 16 * lane, len;

			if (s >= A_BLOCK_BITS || (v != 0 && v != 0xffff))
				continue;
			len = run_through(x, s, v & 1);
			if (len >= A_T4_LONG_RUN)
				return len;
		}
	}
	return 0;
}

static void block_stats(const struct block_words *bw, struct block_stats *bs)
{
	struct block_counts c;
	unsigned k;

	wide.block_count(bw, &c);
	bs->ones = c.ones;
	bs->poker_sq = 0;
	for (k = 0; k < 16; k++)
		bs->poker_sq += (uint64_t)c.nibble[k] * c.nibble[k];
	for (k = 0; k < A_T3_CLASSES; k++) {
		bs->runs[1][k] = c.one[k];
		bs->runs[0][k] = c.all[k] - c.one[k];
	}
	bs->long_run = long_run(bw->w);
}

/* T3: 0 if every count is inside its interval, else the first count
 * outside (reported as the value). */
static bool runs_pass(const struct block_stats *bs, double *bad)
{
	unsigned bit, k;

	for (bit = 0; bit < 2; bit++) {
		for (k = 0; k < A_T3_CLASSES; k++) {
			const uint32_t *ge = bs->runs[bit];
			uint32_t n = k + 1 < A_T3_CLASSES ? ge[k] - ge[k + 1] : ge[k];

			if (n < a_t3_low[k] || n > a_t3_high[k]) {
				*bad = n;
				return false;
			}
		}
	}
	return true;
}

static void block_evaluate(struct ais31_run *run, unsigned blk,
			   const struct block_stats *bs)
{
	int64_t x5000 = 16 * (int64_t)bs->poker_sq -
			(int64_t)A_T2_NIBBLES * A_T2_NIBBLES;
	double bad = 0.0;
	bool ok;

	record(run, bs->ones > A_T1_LOW && bs->ones < A_T1_HIGH, AIS31_T1,
	       blk, bs->ones);
	record(run, x5000 > A_T2_LOW_X5000 && x5000 < A_T2_HIGH_X5000,
	       AIS31_T2, blk, x5000 / (double)A_T2_NIBBLES);
	ok = runs_pass(bs, &bad);
	record(run, ok, AIS31_T3, blk, bad);
	record(run, bs->long_run == 0, AIS31_T4, blk, bs->long_run);
}

/* ------------------------------------------------------------ test T5
 *
 * AIS 20/31 2.4.4.1, T5: Z_tau = sum_{j<5000} b_j xor b_{j+tau}.  The tau
 * in 1..5000 with the largest |Z_tau - 2500| over bits 0..9999 (the
 * smallest such tau on a tie) is then tested on bits 10000..19999.  For the
 * search, 64 copies of the block shifted by 0..63 bits make every shifted
 * word one load: Z_{64q+r} = sum_i popcount(w[i] ^ shift[r][i + q]).
 */
AIS31_INLINE uint64_t bits_from(const uint64_t *w, unsigned pos)
{
	unsigned i = pos >> 6, r = pos & 63;

	return r ? w[i] << r | w[i + 1] >> (64 - r) : w[i];
}

AIS31_INLINE unsigned t5_z(const uint64_t *w, unsigned start, unsigned tau)
{
	unsigned i, z = 0;

	for (i = 0; i < T5_WORDS; i++) {
		uint64_t x = bits_from(w, start + 64 * i) ^
			     bits_from(w, start + tau + 64 * i);

		z += popcount64(i + 1 < T5_WORDS ? x : x & t5_last_mask);
	}
	return z;
}

/* The first 5000 bits (wm, 80 words, the tail masked) and the 64 shifted
 * copies of bits 0-10111. */
static void t5_prepare(const uint64_t *w, uint64_t *wm,
		       uint64_t (*sh)[T5_SHIFT_WORDS])
{
	unsigned r, i;

	for (i = 0; i < T5_VEC_WORDS; i++)
		wm[i] = i < T5_WORDS ? w[i] & t5_mask[i] : 0;
	for (r = 0; r < 64; r++)
		for (i = 0; i < T5_SHIFT_WORDS; i++)
			sh[r][i] = bits_from(w, 64 * i + r);
}

AIS31_INLINE bool t5_better(unsigned z, unsigned *best_dev)
{
	unsigned dev = z > A_T5_MID ? z - A_T5_MID : A_T5_MID - z;

	if (dev <= *best_dev)
		return false;
	*best_dev = dev;
	return true;
}

AIS31_KERNEL
static unsigned t5_search_words(const uint64_t *wm,
				uint64_t (*sh)[T5_SHIFT_WORDS])
{
	unsigned i, tau, best_tau = 1, best_dev = 0;

	for (tau = 1; tau <= A_T5_TAU_MAX; tau++) {
		const uint64_t *s = sh[tau & 63] + (tau >> 6);
		unsigned z = 0;

		for (i = 0; i < T5_WORDS; i++)
			z += popcount64((wm[i] ^ s[i]) & t5_mask[i]);
		if (t5_better(z, &best_dev))
			best_tau = tau;
	}
	return best_tau;
}

static unsigned t5_best_tau(const uint64_t *w, uint64_t (*sh)[T5_SHIFT_WORDS])
{
	uint64_t wm[T5_VEC_WORDS];

	t5_prepare(w, wm, sh);
	return wide.t5_search(wm, sh);
}

static void t5_run(struct ais31_run *run, unsigned blk, const uint64_t *w)
{
	unsigned tau = t5_best_tau(w, run->t5_shift);
	unsigned z = t5_z(w, A_T5_SECOND, tau);

	run->res.t5_blocks++;
	record(run, z > A_T5_LOW && z < A_T5_HIGH, AIS31_T5, blk, z);
}

/* ------------------------------------------------------------ wide kernels
 *
 * The same two kernels eight words at a time with AVX-512 VPOPCNTQ, chosen
 * at start-up when the CPU has it; results are identical by construction
 * (integer counts of the same bits).
 */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512_POPCNT __attribute__((target("avx512f,avx512vpopcntdq")))

/* Bits p+K.. of t for each of 8 words at i: constant K, immediate shifts. */
#define NEXT_BITS8(t0, t1, K) \
	_mm512_or_si512(_mm512_slli_epi64((t0), (K)), \
			_mm512_srli_epi64((t1), 64 - (K)))

/* Four popcounts (each <= 64 per lane, <= 2560 over a block) packed in
 * 16-bit fields of one accumulator, so all counts stay in registers. */
AVX512_POPCNT
static inline __m512i pack4(__m512i a, __m512i b, __m512i c, __m512i d)
{
	return _mm512_or_si512(
		_mm512_or_si512(_mm512_popcnt_epi64(a),
				_mm512_slli_epi64(_mm512_popcnt_epi64(b), 16)),
		_mm512_or_si512(_mm512_slli_epi64(_mm512_popcnt_epi64(c), 32),
				_mm512_slli_epi64(_mm512_popcnt_epi64(d), 48)));
}

/* T2 bit-sliced: with a..d the four bits of every nibble moved to its
 * lowest bit, nibble value v is counted by popcount(AB[v >> 2] & CD[v & 3])
 * where AB, CD hold the four combinations of a, b and of c, d;
 * acc[j] packs the counts of v = 4j .. 4j+3. */
AVX512_POPCNT
static inline void poker8(__m512i x, __m512i *acc)
{
	const __m512i m = _mm512_set1_epi64(0x1111111111111111);
	__m512i a = _mm512_and_si512(_mm512_srli_epi64(x, 3), m);
	__m512i b = _mm512_and_si512(_mm512_srli_epi64(x, 2), m);
	__m512i c = _mm512_and_si512(_mm512_srli_epi64(x, 1), m);
	__m512i d = _mm512_and_si512(x, m);
	__m512i nc = _mm512_xor_si512(c, m), nd = _mm512_xor_si512(d, m);
	__m512i cd0 = _mm512_and_si512(nc, nd), cd1 = _mm512_and_si512(nc, d);
	__m512i cd2 = _mm512_and_si512(c, nd), cd3 = _mm512_and_si512(c, d);
	__m512i ab[4] = {
		_mm512_andnot_si512(_mm512_or_si512(a, b), m),
		_mm512_andnot_si512(a, b), _mm512_andnot_si512(b, a),
		_mm512_and_si512(a, b),
	};
	unsigned j;

#pragma GCC unroll 4
	for (j = 0; j < 4; j++)
		acc[j] = _mm512_add_epi64(acc[j], pack4(
				_mm512_and_si512(ab[j], cd0),
				_mm512_and_si512(ab[j], cd1),
				_mm512_and_si512(ab[j], cd2),
				_mm512_and_si512(ab[j], cd3)));
}

AVX512_POPCNT
static inline uint32_t field(__m512i acc, unsigned j)
{
	return (uint32_t)_mm512_reduce_add_epi64(_mm512_and_si512(
		_mm512_srli_epi64(acc, 16 * j), _mm512_set1_epi64(0xffff)));
}

/* T1, T2 and T3 counts, eight words at a time.  runs[0] packs the runs
 * >= 1..4 of either bit, runs[1] those of ones, runs[2] both for >= 5, 6. */
AVX512_POPCNT
static void block_count_avx512(const struct block_words *bw,
			       struct block_counts *c)
{
	__m512i runs[3], nib[4], acc_w = _mm512_setzero_si512();
	unsigned i, k;

	runs[0] = runs[1] = runs[2] = acc_w;
	nib[0] = nib[1] = nib[2] = nib[3] = acc_w;
	for (i = 0; i < BW_VEC_END; i += 8) {
		__m512i w = _mm512_loadu_si512((const void *)(bw->w + i));
		__m512i t0 = _mm512_loadu_si512((const void *)(bw->t + i));
		__m512i t1 = _mm512_loadu_si512((const void *)(bw->t + i + 1));
		__m512i g1 = _mm512_loadu_si512((const void *)(bw->s + i));
		__m512i g2 = _mm512_andnot_si512(NEXT_BITS8(t0, t1, 1), g1);
		__m512i g3 = _mm512_andnot_si512(NEXT_BITS8(t0, t1, 2), g2);
		__m512i g4 = _mm512_andnot_si512(NEXT_BITS8(t0, t1, 3), g3);
		__m512i g5 = _mm512_andnot_si512(NEXT_BITS8(t0, t1, 4), g4);
		__m512i g6 = _mm512_andnot_si512(NEXT_BITS8(t0, t1, 5), g5);

		acc_w = _mm512_add_epi64(acc_w, _mm512_popcnt_epi64(w));
		runs[0] = _mm512_add_epi64(runs[0], pack4(g1, g2, g3, g4));
		runs[1] = _mm512_add_epi64(runs[1], pack4(
				_mm512_and_si512(g1, w), _mm512_and_si512(g2, w),
				_mm512_and_si512(g3, w), _mm512_and_si512(g4, w)));
		runs[2] = _mm512_add_epi64(runs[2], pack4(g5, g6,
				_mm512_and_si512(g5, w), _mm512_and_si512(g6, w)));
		poker8(w, nib);
	}
	c->ones = (unsigned)_mm512_reduce_add_epi64(acc_w);
	for (k = 0; k < 4; k++) {
		c->all[k] = field(runs[0], k);
		c->one[k] = field(runs[1], k);
	}
	c->all[4] = field(runs[2], 0);
	c->all[5] = field(runs[2], 1);
	c->one[4] = field(runs[2], 2);
	c->one[5] = field(runs[2], 3);
	for (k = 0; k < 16; k++)
		c->nibble[k] = field(nib[k / 4], k % 4);
	c->nibble[0] -= (64 * BW_VEC_END - A_BLOCK_BITS) / 4;
}

AVX512_POPCNT
static unsigned t5_search_avx512(const uint64_t *wm,
				 uint64_t (*sh)[T5_SHIFT_WORDS])
{
	unsigned i, tau, best_tau = 1, best_dev = 0;

	for (tau = 1; tau <= A_T5_TAU_MAX; tau++) {
		const uint64_t *s = sh[tau & 63] + (tau >> 6);
		__m512i acc = _mm512_setzero_si512();

		for (i = 0; i < T5_VEC_WORDS; i += 8) {
			__m512i x = _mm512_xor_si512(
				_mm512_loadu_si512((const void *)(wm + i)),
				_mm512_loadu_si512((const void *)(s + i)));

			x = _mm512_and_si512(x, _mm512_loadu_si512(
					     (const void *)(t5_mask + i)));
			acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));
		}
		if (t5_better((unsigned)_mm512_reduce_add_epi64(acc), &best_dev))
			best_tau = tau;
	}
	return best_tau;
}

static void choose_wide(void)
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512vpopcntdq")) {
		wide.block_count = block_count_avx512;
		wide.t5_search = t5_search_avx512;
	}
}
#else
static void choose_wide(void)
{
}
#endif

/* ------------------------------------------------------------ procedure A
 *
 * Input is cut into fixed chunks: T0's 393216 bytes, then 257 blocks of
 * 2500 bytes.  A chunk wholly inside the caller's buffer is tested in
 * place; otherwise it is gathered in run->stage first.
 */
static void a_block(struct ais31_run *run, unsigned blk, const uint8_t *p)
{
	struct block_words bw;
	struct block_stats bs;

	load_block(p, &bw);
	block_stats(&bw, &bs);
	block_evaluate(run, blk, &bs);
	if ((blk & ((1u << run->a_shift) - 1)) == 0)
		t5_run(run, blk, bw.w);
}

static void a_chunk(struct ais31_run *run, const uint8_t *p)
{
	if (run->a_next == 0) {
		unsigned dups = t0_duplicates(run->t0, p);

		run->res.t0_duplicates = dups;
		record(run, dups == 0, AIS31_T0, 0, dups);
	} else {
		a_block(run, run->a_next - 1, p);
	}
	if (++run->a_next > A_BLOCKS)
		run->done = true;
}

static size_t a_feed(struct ais31_run *run, const uint8_t *p, size_t n)
{
	size_t used = 0;

	while (used < n && !run->done) {
		size_t need = run->a_next ? A_BLOCK_BYTES : A_T0_BYTES;
		size_t take;

		if (run->staged == 0 && n - used >= need) {
			a_chunk(run, p + used);
			used += need;
			continue;
		}
		take = need - run->staged < n - used ? need - run->staged : n - used;
		memcpy(run->stage + run->staged, p + used, take);
		run->staged += take;
		used += take;
		if (run->staged == need) {
			run->staged = 0;
			a_chunk(run, run->stage);
		}
	}
	return used;
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

static size_t b_feed(struct ais31_run *run, const uint8_t *p, size_t n)
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

/* ------------------------------------------------------------ runs */

static void init_tables(void)
{
	pthread_once(&tables_once, build_tables);
}

void ais31_run_reset(struct ais31_run *run)
{
	assert(run);
	memset(&run->res, 0, sizeof(run->res));
	run->res.proc = run->proc;
	run->done = false;
	run->a_next = 0;
	run->staged = 0;
	run->b_stage = B_T6A;
	run->b_pos = 0;
	run->b_ones = 0;
}

static int run_alloc_a(struct ais31_run *run)
{
	run->stage = malloc(A_T0_BYTES);
	run->t0 = malloc(sizeof(*run->t0));
	run->t5_shift = malloc(64 * sizeof(*run->t5_shift));
	if (!run->stage || !run->t0 || !run->t5_shift)
		return -1;
	return 0;
}

struct ais31_run *ais31_run_new(enum ais31_proc proc, unsigned a_shift)
{
	struct ais31_run *run;

	assert(proc < AIS31_NPROC && a_shift <= 8);
	init_tables();
	run = calloc(1, sizeof(*run));
	if (!run)
		return NULL;
	run->proc = proc;
	run->a_shift = a_shift;
	if (proc == AIS31_PROC_A && run_alloc_a(run) < 0) {
		ais31_run_free(run);
		return NULL;
	}
	ais31_run_reset(run);
	return run;
}

void ais31_run_free(struct ais31_run *run)
{
	if (!run)
		return;
	free(run->stage);
	free(run->t0);
	free(run->t5_shift);
	free(run);
}

size_t ais31_run_feed(struct ais31_run *run, const uint8_t *p, size_t n)
{
	size_t used;

	assert(run && (p || !n));
	if (run->done)
		return 0;
	used = run->proc == AIS31_PROC_A ? a_feed(run, p, n) : b_feed(run, p, n);
	run->res.bytes += used;
	return used;
}

enum ais31_test ais31_run_step(const struct ais31_run *run)
{
	static const enum ais31_test b_steps[] = {
		[B_T6A] = AIS31_T6A, [B_T6B] = AIS31_T6B, [B_T7A] = AIS31_T7A,
		[B_T7B] = AIS31_T7B, [B_T8] = AIS31_T8, [B_DONE] = AIS31_NTESTS,
	};

	if (run->done)
		return AIS31_NTESTS;
	if (run->proc == AIS31_PROC_A)
		return run->a_next ? AIS31_T1 : AIS31_T0;
	return b_steps[run->b_stage];
}

bool ais31_run_done(const struct ais31_run *run)
{
	return run->done;
}

const struct ais31_result *ais31_run_result(const struct ais31_run *run)
{
	return &run->res;
}

/* ------------------------------------------------------------ statistics
 * for tests and tools: the same code the procedures run.
 */
void ais31_block_values(const uint8_t *block, struct ais31_block_values *v)
{
	uint64_t (*sh)[T5_SHIFT_WORDS];
	struct block_words bw;
	struct block_stats bs;
	unsigned bit, k;

	init_tables();
	load_block(block, &bw);
	block_stats(&bw, &bs);
	v->ones = bs.ones;
	v->poker = (16 * (double)bs.poker_sq -
		    (double)A_T2_NIBBLES * A_T2_NIBBLES) / A_T2_NIBBLES;
	for (bit = 0; bit < 2; bit++)
		for (k = 0; k < A_T3_CLASSES; k++)
			v->runs[bit][k] = k + 1 < A_T3_CLASSES ?
				bs.runs[bit][k] - bs.runs[bit][k + 1] :
				bs.runs[bit][k];
	v->long_run = bs.long_run;
	sh = malloc(64 * sizeof(*sh));
	assert(sh);
	v->t5_tau = t5_best_tau(bw.w, sh);
	v->t5_z = t5_z(bw.w, A_T5_SECOND, v->t5_tau);
	free(sh);
}

/* ------------------------------------------------------------ log line */

static const char *const test_names[AIS31_NTESTS] = {
	"T0", "T1", "T2", "T3", "T4", "T5", "T6a", "T6b", "T7a", "T7b", "T8",
};

const char *ais31_test_name(enum ais31_test t)
{
	assert(t < AIS31_NTESTS);
	return test_names[t];
}

static int format_b(const struct ais31_result *r, char *buf, size_t len)
{
	return snprintf(buf, len,
			"T6a %.5f T6b %+.5f T7a %.2f %.2f T7b %.2f %.2f %.2f %.2f "
			"T8 %.5f", r->t6a, r->t6b, r->t7a[0], r->t7a[1],
			r->t7b[0], r->t7b[1], r->t7b[2], r->t7b[3], r->t8);
}

int ais31_format_result(const struct ais31_result *r, char *buf, size_t len)
{
	char detail[160], fail[96] = "";

	assert(r && buf);
	if (r->proc == AIS31_PROC_A)
		snprintf(detail, sizeof(detail),
			 "T0 %u duplicates, T5 on %u blocks",
			 r->t0_duplicates, r->t5_blocks);
	else
		format_b(r, detail, sizeof(detail));
	if (r->fails)
		snprintf(fail, sizeof(fail), "; first failure %s #%u value %g",
			 ais31_test_name(r->first_test), r->first_index,
			 r->first_value);
	return snprintf(buf, len,
			"AIS-31 procedure %c: %u tests, %u failed, %llu bytes; %s%s",
			r->proc == AIS31_PROC_A ? 'A' : 'B', r->tests, r->fails,
			(unsigned long long)r->bytes, detail, fail);
}

/* ------------------------------------------------------------ controller
 *
 * Order (haveged): B before A; a continuous group with both alternates
 * B, A, B, A.  Retry rule (AIS 20/31 2.4.4.1 and 2.4.4.2): a run with
 * exactly one failed basic test, while no retry of that procedure is
 * pending, is repeated on fresh data; any other failure is definitive.  An
 * advisory ('w') procedure is never repeated and never fails the group:
 * its failures are only reported (AIS31_WARN).
 */
struct ais31_ctl {
	bool selected[AIS31_NPROC];
	bool advisory[AIS31_NPROC];
	bool continuous;
	struct ais31_run *run[AIS31_NPROC];     /* NULL when not selected */
	enum ais31_proc cur;                    /* the run being fed */
	bool retry_pending[AIS31_NPROC];
	bool finished;                          /* start-up done, or nothing */
	bool failed;                            /* only set, never cleared */
	struct ais31_stats stats;
};

struct ais31_ctl *ais31_ctl_new(const struct testspec_group *g, bool continuous)
{
	struct ais31_ctl *ctl;
	int k;

	assert(g);
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return NULL;
	ctl->selected[AIS31_PROC_A] = g->a;
	ctl->advisory[AIS31_PROC_A] = g->a_advisory;
	ctl->selected[AIS31_PROC_B] = g->b;
	ctl->advisory[AIS31_PROC_B] = g->b_advisory;
	ctl->continuous = continuous;
	for (k = 0; k < AIS31_NPROC; k++) {
		if (!ctl->selected[k])
			continue;
		ctl->run[k] = ais31_run_new(k, k == AIS31_PROC_A ? g->a_shift : 0);
		if (!ctl->run[k]) {
			ais31_ctl_free(ctl);
			return NULL;
		}
	}
	ctl->cur = g->b ? AIS31_PROC_B : AIS31_PROC_A;
	ctl->finished = !testspec_any(g);
	return ctl;
}

void ais31_ctl_free(struct ais31_ctl *ctl)
{
	int k;

	if (!ctl)
		return;
	for (k = 0; k < AIS31_NPROC; k++)
		ais31_run_free(ctl->run[k]);
	free(ctl);
}

/* After a run that passed (or only warned): the next procedure. */
static void ctl_advance(struct ais31_ctl *ctl)
{
	enum ais31_proc other = ctl->cur == AIS31_PROC_A ? AIS31_PROC_B
							 : AIS31_PROC_A;

	if (!ctl->continuous) {
		if (ctl->cur == AIS31_PROC_B && ctl->selected[AIS31_PROC_A])
			ctl->cur = AIS31_PROC_A;
		else
			ctl->finished = true;
	} else if (ctl->selected[other]) {
		ctl->cur = other;
	}
}

static enum ais31_verdict ctl_verdict(struct ais31_ctl *ctl,
				      const struct ais31_result *r)
{
	enum ais31_proc p = ctl->cur;

	if (r->fails == 0) {
		ctl->retry_pending[p] = false;
		return AIS31_PASS;
	}
	if (ctl->advisory[p]) {
		ctl->retry_pending[p] = false;
		return AIS31_WARN;
	}
	if (r->fails == 1 && !ctl->retry_pending[p]) {
		ctl->retry_pending[p] = true;
		return AIS31_RETRY;
	}
	return AIS31_FAIL;
}

static void ctl_complete(struct ais31_ctl *ctl, struct ais31_event *ev)
{
	struct ais31_run *run = ctl->run[ctl->cur];
	enum ais31_proc p = ctl->cur;

	ev->completed = true;
	ev->proc = p;
	ev->result = *ais31_run_result(run);
	ev->run_bytes = ev->result.bytes;
	ev->verdict = ctl_verdict(ctl, &ev->result);
	ctl->stats.runs[p]++;
	switch (ev->verdict) {
	case AIS31_PASS:
		ctl->stats.passed[p]++;
		ctl_advance(ctl);
		break;
	case AIS31_WARN:
		ctl->stats.warned[p]++;
		ctl_advance(ctl);
		break;
	case AIS31_RETRY:
		ctl->stats.retried[p]++;
		break;
	case AIS31_FAIL:
		ctl->stats.failed[p]++;
		ctl->failed = true;
		break;
	}
	ais31_run_reset(run);
}

size_t ais31_ctl_feed(struct ais31_ctl *ctl, const uint8_t *p, size_t n,
		      struct ais31_event *ev)
{
	struct ais31_run *run;
	size_t used;

	assert(ctl && ev);
	ev->completed = false;
	if (ctl->finished || ctl->failed)
		return 0;
	run = ctl->run[ctl->cur];
	used = ais31_run_feed(run, p, n);
	if (ais31_run_done(run))
		ctl_complete(ctl, ev);
	return used;
}

bool ais31_ctl_finished(const struct ais31_ctl *ctl)
{
	return ctl->finished;
}

bool ais31_ctl_failed(const struct ais31_ctl *ctl)
{
	return ctl->failed;
}

enum ais31_proc ais31_ctl_current(const struct ais31_ctl *ctl)
{
	return ctl->cur;
}

const struct ais31_stats *ais31_ctl_stats(const struct ais31_ctl *ctl)
{
	return &ctl->stats;
}
