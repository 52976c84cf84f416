/* ais31.c - AIS-31 test procedures A and B, and the controller of a group.
 *
 * Offers (see ais31.h):
 *   ais31_run_new/free/reset/feed/done/result - one procedure as a
 *       resumable state machine over the walk output bytes.
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
#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__)
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
	T0_BITS         = 17,
	T0_SLOTS        = 1 << T0_BITS,
	T0_AHEAD        = 16,
	A_BLOCKS        = 257,          /* T1-T5 run on 257 blocks ... */
	A_BLOCK_BITS    = 20000,        /* ... of 20000 bits */
	A_BLOCK_BYTES   = A_BLOCK_BITS / 8,
	A_BLOCK_WORDS   = (A_BLOCK_BITS + 63) / 64,             /* 313 */
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
	T5_SHIFT_WORDS  = T5_WORDS + A_T5_TAU_MAX / 64 + 1, /* 158 */
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
};

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
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

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
	coron_g[0] = 0.0;
	for (i = 1; i < B_T8_HIST; i++) {
		coron_g[i] = h / M_LN2;
		h += 1.0 / i;
	}
}

/* g(i) beyond the table, from the asymptotic series of the harmonic number
 * H(m) = ln m + gamma + 1/2m - 1/12m^2 + 1/120m^4 (error < 1e-18 here). */
static double coron_g_large(uint32_t i)
{
	double m = (double)i - 1.0, m2 = m * m;
	double hm = log(m) + 0.57721566490153286 + 1.0 / (2.0 * m) -
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
};

struct coron {
	uint32_t n;                 /* words seen, up to Q + K */
	uint32_t last[256];         /* index (1-based) of each value's last
				     * occurrence, 0 = not yet seen */
	uint32_t hist[B_T8_HIST];   /* distances below B_T8_HIST */
	double far;                 /* sum of g() of the longer distances */
};

enum b_stage { B_T6A, B_T6B, B_T7A, B_T7B, B_T8, B_DONE };

struct ais31_run {
	enum ais31_proc proc;
	unsigned a_shift;
	bool done;
	struct ais31_result res;
	/* procedure A: stage 0 = T0, then block numbers 1..257 */
	unsigned a_next;            /* 0 = T0 pending, k = block k-1 pending */
	size_t staged;              /* bytes of the pending chunk in stage */
	uint8_t *stage;             /* A_T0_BYTES: the chunk being gathered */
	uint64_t *t0_table;         /* T0_SLOTS: hash table of T0 */
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
 * different.  They go into an open-addressing hash table of 2^17 slots
 * (load 1/2) keyed by a multiplicative hash, so structured input spreads
 * too; a string found already present is a duplicate.
 */
AIS31_INLINE uint64_t t0_key(const uint8_t *p)
{
	return ((uint64_t)p[0] << 40 | (uint64_t)p[1] << 32 |
		(uint64_t)p[2] << 24 | (uint64_t)p[3] << 16 |
		(uint64_t)p[4] << 8 | p[5]) + 1;     /* 0 marks an empty slot */
}

AIS31_INLINE uint64_t t0_slot(uint64_t key)
{
	return (key * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - T0_BITS);
}

/* The table does not fit L1, so the slot of a string T0_AHEAD later is
 * prefetched while this one is inserted. */
static unsigned t0_duplicates(uint64_t *table, const uint8_t *p)
{
	unsigned i, dups = 0;

	memset(table, 0, T0_SLOTS * sizeof(*table));
	for (i = 0; i < A_T0_STRINGS; i++, p += A_T0_STRING_BYTES) {
		uint64_t key = t0_key(p), h = t0_slot(key);

		if (i + T0_AHEAD < A_T0_STRINGS)
			__builtin_prefetch(table + t0_slot(t0_key(p +
					   T0_AHEAD * A_T0_STRING_BYTES)), 1);
		while (table[h] && table[h] != key)
			h = (h + 1) & (T0_SLOTS - 1);
		dups += table[h] == key;
		table[h] = key;
	}
	return dups;
}

/* ------------------------------------------------------------ tests T1-T4
 *
 * A block is loaded into 313 big-endian words w[], bits past 20000 zero.
 * The runs test counts, for ones and (on the complement) for zeros, the
 * runs of length >= k as popcount(run starts & next k-1 bits set); runs of
 * exactly k are differences of those.
 */
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

AIS31_INLINE void runs_ge(const uint64_t *x, uint32_t ge[A_T3_CLASSES])
{
	uint64_t prev = 0;
	unsigned i, k;

	memset(ge, 0, A_T3_CLASSES * sizeof(*ge));
	for (i = 0; i < A_BLOCK_WORDS; i++) {
		uint64_t m = x[i] & ~(x[i] >> 1 | prev << 63);

		prev = x[i];
		ge[0] += popcount64(m);
		for (k = 1; k < A_T3_CLASSES; k++) {
			m &= next_bits(x, i, k);
			ge[k] += popcount64(m);
		}
	}
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

/* T2: nibble counts, 16 counters in 8-bit lanes of two words (poker_tab)
 * per byte value; flushed before a lane could pass 255. */
AIS31_INLINE uint64_t poker_sum_sq(const uint8_t *p)
{
	uint32_t f[16] = { 0 };
	uint64_t sq = 0;
	unsigned i, j, k;

	for (i = 0; i < A_BLOCK_BYTES; i += 127) {
		uint64_t lo = 0, hi = 0;
		unsigned end = i + 127 < A_BLOCK_BYTES ? i + 127 : A_BLOCK_BYTES;

		for (j = i; j < end; j++) {
			lo += poker_tab[0][p[j]];
			hi += poker_tab[1][p[j]];
		}
		for (k = 0; k < 8; k++) {
			f[k] += (lo >> (8 * k)) & 0xff;
			f[k + 8] += (hi >> (8 * k)) & 0xff;
		}
	}
	for (k = 0; k < 16; k++)
		sq += (uint64_t)f[k] * f[k];
	return sq;
}

/* The block as words (w) and its complement (z), each with one zero word
 * after the end so next_bits() may look one word ahead. */
static void load_block(const uint8_t *p, uint64_t *w, uint64_t *z)
{
	const uint64_t tail = ~UINT64_C(0) << 32;   /* 20000 = 312 * 64 + 32 */
	unsigned i;

	for (i = 0; i < A_BLOCK_BITS / 64; i++) {
		w[i] = load_be64(p + 8 * i);
		z[i] = ~w[i];
	}
	w[i] = (uint64_t)p[8 * i] << 56 | (uint64_t)p[8 * i + 1] << 48 |
	       (uint64_t)p[8 * i + 2] << 40 | (uint64_t)p[8 * i + 3] << 32;
	z[i] = ~w[i] & tail;
	w[i + 1] = z[i + 1] = 0;
}

AIS31_KERNEL
static void block_stats(const uint8_t *p, const uint64_t *w, const uint64_t *z,
			struct block_stats *bs)
{
	unsigned i;

	bs->ones = 0;
	for (i = 0; i < A_BLOCK_WORDS; i++)
		bs->ones += popcount64(w[i]);
	bs->poker_sq = poker_sum_sq(p);
	runs_ge(z, bs->runs[0]);
	runs_ge(w, bs->runs[1]);
	bs->long_run = long_run(w);
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

static const uint64_t t5_last_mask = ~UINT64_C(0) << (64 - (A_T5_BITS % 64));

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

AIS31_KERNEL
static unsigned t5_best_tau(const uint64_t *w, uint64_t (*sh)[T5_SHIFT_WORDS])
{
	unsigned r, i, tau, best_tau = 1, best_dev = 0;

	for (r = 0; r < 64; r++)
		for (i = 0; i < T5_SHIFT_WORDS; i++)
			sh[r][i] = bits_from(w, 64 * i + r);
	for (tau = 1; tau <= A_T5_TAU_MAX; tau++) {
		const uint64_t *s = sh[tau & 63] + (tau >> 6);
		unsigned z = 0, dev;

		for (i = 0; i + 1 < T5_WORDS; i++)
			z += popcount64(w[i] ^ s[i]);
		z += popcount64((w[i] ^ s[i]) & t5_last_mask);
		dev = z > A_T5_MID ? z - A_T5_MID : A_T5_MID - z;
		if (dev > best_dev) {
			best_dev = dev;
			best_tau = tau;
		}
	}
	return best_tau;
}

static void t5_run(struct ais31_run *run, unsigned blk, const uint64_t *w)
{
	unsigned tau = t5_best_tau(w, run->t5_shift);
	unsigned z = t5_z(w, A_T5_SECOND, tau);

	run->res.t5_blocks++;
	record(run, z > A_T5_LOW && z < A_T5_HIGH, AIS31_T5, blk, z);
}

/* ------------------------------------------------------------ procedure A
 *
 * Input is cut into fixed chunks: T0's 393216 bytes, then 257 blocks of
 * 2500 bytes.  A chunk wholly inside the caller's buffer is tested in
 * place; otherwise it is gathered in run->stage first.
 */
static void a_block(struct ais31_run *run, unsigned blk, const uint8_t *p)
{
	uint64_t w[A_BLOCK_WORDS + 1], z[A_BLOCK_WORDS + 1];
	struct block_stats bs;

	load_block(p, w, z);
	block_stats(p, w, z, &bs);
	block_evaluate(run, blk, &bs);
	if ((blk & ((1u << run->a_shift) - 1)) == 0)
		t5_run(run, blk, w);
}

static void a_chunk(struct ais31_run *run, const uint8_t *p)
{
	if (run->a_next == 0) {
		unsigned dups = t0_duplicates(run->t0_table, p);

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

static size_t tuples_feed(struct tuples *t, const uint8_t *p, size_t n,
			  bool *complete)
{
	size_t used = 0;

	*complete = false;
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
	*complete = t->full == t->classes;
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

static void tuples_evaluate(struct ais31_run *run)
{
	const struct tuples *t = &run->tup;
	struct ais31_result *r = &run->res;
	unsigned k, half = t->classes / 2;

	if (t->L == 2) {
		int32_t d = (int32_t)t->ones[0] - (int32_t)t->ones[1];

		r->t6b = d / (double)B_TUPLES;
		record(run, d > -B_T6B_A && d < B_T6B_A, AIS31_T6B, 0, r->t6b);
		return;
	}
	for (k = 0; k < half; k++) {
		double chi2 = ais31_t7_chi2(t->ones[k], t->ones[k + half]);
		enum ais31_test id = t->L == 3 ? AIS31_T7A : AIS31_T7B;

		if (t->L == 3)
			r->t7a[k] = chi2;
		else
			r->t7b[k] = chi2;
		record(run, chi2 <= b_t7_limit, id, k, chi2);
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
	size_t i = 0;

	for (; i < n && c->n < B_T8_Q; i++)
		c->last[p[i]] = ++c->n;
	for (; i < n && c->n < B_T8_Q + B_T8_K; i++) {
		uint32_t d = ++c->n - c->last[p[i]];

		c->last[p[i]] = c->n;
		if (d < B_T8_HIST)
			c->hist[d]++;
		else
			c->far += coron_g_large(d);
	}
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
	run->t0_table = malloc(T0_SLOTS * sizeof(*run->t0_table));
	run->t5_shift = malloc(64 * sizeof(*run->t5_shift));
	if (!run->stage || !run->t0_table || !run->t5_shift)
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
	free(run->t0_table);
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
	uint64_t w[A_BLOCK_WORDS + 1], z[A_BLOCK_WORDS + 1];
	uint64_t (*sh)[T5_SHIFT_WORDS];
	struct block_stats bs;
	unsigned bit, k;

	init_tables();
	load_block(block, w, z);
	block_stats(block, w, z, &bs);
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
	v->t5_tau = t5_best_tau(w, sh);
	v->t5_z = t5_z(w, A_T5_SECOND, v->t5_tau);
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
