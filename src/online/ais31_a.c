/* ais31_a.c - AIS-31 test procedure A (AIS 20/31 section 2.4.4.1): T0,
 * then T1-T4 on 257 blocks and T5 on every 2^n-th of them, with the word
 * at a time bit-counting kernels (ais31_wide.c has the AVX-512 ones).
 *
 * Offers: ais31_a_feed() and ais31_a_tables() to ais31.c (ais31_impl.h),
 * and ais31_block_values() (ais31.h), the statistics of one block for
 * tests and tools.
 */
#include "config.h"

#include "ais31_impl.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* T3's acceptance intervals, inclusive, for runs of length 1..5 and 6+. */
static const uint16_t a_t3_low[A_T3_CLASSES] = { 2267, 1079, 502, 223, 90, 90 };
static const uint16_t a_t3_high[A_T3_CLASSES] = { 2733, 1421, 748, 402, 223, 223 };

/* T5 counts only the first 5000 - 78 * 64 = 8 bits of its last word. */
static const uint64_t t5_last_mask = ~UINT64_C(0) << (64 - (A_T5_BITS % 64));

static uint64_t poker_tab[2][256];      /* T2: nibble counts, 8-bit lanes */
uint64_t ais31_t5_mask[T5_VEC_WORDS];     /* T5: which bits of wm count */

static void block_count_words(const struct block_words *bw,
			      struct block_counts *c);
static unsigned t5_search_words(const uint64_t *wm,
				uint64_t (*sh)[T5_SHIFT_WORDS]);

/* Set once by ais31_a_tables(). */
static struct ais31_kernels wide = { block_count_words, t5_search_words };

void ais31_a_tables(void)
{
	unsigned i;

	for (i = 0; i < 256; i++) {
		unsigned hn = i >> 4, ln = i & 15;

		poker_tab[hn >> 3][i] += UINT64_C(1) << (8 * (hn & 7));
		poker_tab[ln >> 3][i] += UINT64_C(1) << (8 * (ln & 7));
	}
	for (i = 0; i < T5_VEC_WORDS; i++)
		ais31_t5_mask[i] = i + 1 < T5_WORDS ? ~UINT64_C(0) :
				   i + 1 == T5_WORDS ? t5_last_mask : 0;
	ais31_wide_choose(&wide);
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
		wm[i] = i < T5_WORDS ? w[i] & ais31_t5_mask[i] : 0;
	for (r = 0; r < 64; r++)
		for (i = 0; i < T5_SHIFT_WORDS; i++)
			sh[r][i] = bits_from(w, 64 * i + r);
}


AIS31_INLINE unsigned t5_distance_words(const uint64_t *wm, const uint64_t *s)
{
	unsigned i, z = 0;

	for (i = 0; i < T5_WORDS; i++)
		z += popcount64((wm[i] ^ s[i]) & ais31_t5_mask[i]);
	return z;
}

AIS31_KERNEL
static unsigned t5_search_words(const uint64_t *wm,
				uint64_t (*sh)[T5_SHIFT_WORDS])
{
	return t5_search(wm, sh, t5_distance_words);
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

size_t ais31_a_feed(struct ais31_run *run, const uint8_t *p, size_t n)
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

/* ------------------------------------------------------------ statistics
 * for tests and tools: the same code the procedures run.
 */
void ais31_block_values(const uint8_t *block, struct ais31_block_values *v)
{
	uint64_t (*sh)[T5_SHIFT_WORDS];
	struct block_words bw;
	struct block_stats bs;
	unsigned bit, k;

	ais31_tables_init();
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
