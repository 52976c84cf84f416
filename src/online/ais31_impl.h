/* ais31_impl.h - what the parts of the AIS-31 code share, and nothing
 * else includes: the thresholds of both procedures, the run's state, the
 * block layout the bit-counting kernels work on, and the functions one
 * part calls in another.
 *
 *   ais31.c       one run (the state machine), the shared tables, the log line
 *   ais31_a.c     procedure A: T0, T1-T4, T5 (the word kernels)
 *   ais31_wide.c  the T1-T3 and T5 kernels eight words at a time (AVX-512)
 *   ais31_b.c     procedure B: T6a, T6b/T7, T8
 *   ais31_ctl.c   the controller of a group: order and retry rule
 */
#ifndef HRNG_AIS31_IMPL_H
#define HRNG_AIS31_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ais31.h"

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

/* A failed basic test of a run: counted, and remembered if the first. */
void ais31_record_fail(struct ais31_run *run, enum ais31_test t,
		       unsigned index, double value);

/* Count one basic test of a run. */
static inline void record(struct ais31_run *run, bool pass, enum ais31_test t,
			  unsigned index, double value)
{
	run->res.tests++;
	if (!pass)
		ais31_record_fail(run, t, index, value);
}
/* Build the shared tables (once, whoever asks first). */
void ais31_tables_init(void);

/* ------------------------------------------------------------ procedure A
 *
 * A block of procedure A as the kernels see it (ais31_a.c says how the
 * words are made).
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

AIS31_INLINE bool t5_better(unsigned z, unsigned *best_dev)
{
	unsigned dev = z > A_T5_MID ? z - A_T5_MID : A_T5_MID - z;

	if (dev <= *best_dev)
		return false;
	*best_dev = dev;
	return true;
}

/* T5's search over every shift tau, for both kernels: dist(wm, s) counts
 * the bits where wm and its copy shifted by tau (s) differ, inlined into
 * each kernel with that kernel's instructions; the first tau furthest from
 * the expected count wins. */
AIS31_INLINE unsigned t5_search(const uint64_t *wm,
				uint64_t (*sh)[T5_SHIFT_WORDS],
				unsigned (*dist)(const uint64_t *wm,
						 const uint64_t *s))
{
	unsigned tau, best_tau = 1, best_dev = 0;

	for (tau = 1; tau <= A_T5_TAU_MAX; tau++)
		if (t5_better(dist(wm, sh[tau & 63] + (tau >> 6)), &best_dev))
			best_tau = tau;
	return best_tau;
}

/* The bit-counting kernels: word at a time (ais31_a.c), or eight words
 * (ais31_wide.c), chosen once while the tables are built. */
struct ais31_kernels {
	void (*block_count)(const struct block_words *bw,
			    struct block_counts *c);
	unsigned (*t5_search)(const uint64_t *wm,
			      uint64_t (*sh)[T5_SHIFT_WORDS]);
};

/* T5: which bits of the first 5000 count, by word (built by
 * ais31_a_tables()). */
extern uint64_t ais31_t5_mask[T5_VEC_WORDS];

void ais31_a_tables(void);
size_t ais31_a_feed(struct ais31_run *run, const uint8_t *p, size_t n);
/* Point k at the wide kernels when the CPU has them; else leave it. */
void ais31_wide_choose(struct ais31_kernels *k);

/* ------------------------------------------------------------ procedure B */

void ais31_b_tables(void);
size_t ais31_b_feed(struct ais31_run *run, const uint8_t *p, size_t n);

#endif
