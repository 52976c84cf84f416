/* ais31_wide.c - the bit-counting kernels of procedure A (T1-T3 counts,
 * T5's search) eight words at a time.
 *
 * The same two kernels as ais31_a.c's, with AVX-512 VPOPCNTQ, chosen at
 * start-up when the CPU has it (ais31_wide_choose()); results are
 * identical by construction (integer counts of the same bits).  Each
 * function carries its own target attribute, so this file needs no
 * compiler flags of its own and the rest of the program none of AVX-512.
 */
#include "config.h"

#include "ais31_impl.h"

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

AVX512_POPCNT __attribute__((always_inline))
static inline unsigned t5_distance_avx512(const uint64_t *wm, const uint64_t *s)
{
	__m512i acc = _mm512_setzero_si512();
	unsigned i;

	for (i = 0; i < T5_VEC_WORDS; i += 8) {
		__m512i x = _mm512_xor_si512(
			_mm512_loadu_si512((const void *)(wm + i)),
			_mm512_loadu_si512((const void *)(s + i)));

		x = _mm512_and_si512(x, _mm512_loadu_si512(
				     (const void *)(ais31_t5_mask + i)));
		acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));
	}
	return (unsigned)_mm512_reduce_add_epi64(acc);
}

AVX512_POPCNT
static unsigned t5_search_avx512(const uint64_t *wm,
				 uint64_t (*sh)[T5_SHIFT_WORDS])
{
	return t5_search(wm, sh, t5_distance_avx512);
}

void ais31_wide_choose(struct ais31_kernels *k)
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512vpopcntdq")) {
		k->block_count = block_count_avx512;
		k->t5_search = t5_search_avx512;
	}
}
#else
void ais31_wide_choose(struct ais31_kernels *k)
{
	(void)k;
}
#endif
