/* test_conditioner.c - the construction of conditioner.h, recomputed
 * step by step with libgcrypt's one-shot calls, and its properties. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <gcrypt.h>

#include "conditioner.h"

enum { NOISE = 512, BLOCK = 16384 };

static uint64_t noise[NOISE];
static uint8_t walk[BLOCK];

static void fill_inputs(uint64_t seed)
{
	size_t i;

	for (i = 0; i < NOISE; i++)
		noise[i] = (seed += 0x9E3779B97F4A7C15u) >> 20;
	for (i = 0; i < BLOCK; i++)
		walk[i] = (uint8_t)((seed += 0x9E3779B97F4A7C15u) >> 56);
}

/* SHA-256 of the concatenation, through the one-shot scatter call. */
static void sha256_parts(uint8_t out[32], const void *a, size_t an, const void *b, size_t bn,
			 const void *c, size_t cn, const void *d, size_t dn)
{
	gcry_buffer_t iov[4] = {
		{ .size = an, .len = an, .data = (void *)a },
		{ .size = bn, .len = bn, .data = (void *)b },
		{ .size = cn, .len = cn, .data = (void *)c },
		{ .size = dn, .len = dn, .data = (void *)d },
	};

	assert_int_equal(gcry_md_hash_buffers(GCRY_MD_SHA256, 0, out, iov, 4), 0);
}

/* The documented construction for block number `counter` with `chain`;
 * writes the expected output and the next chain. */
static void expected(const uint8_t chain[32], uint64_t counter, uint8_t *out, uint8_t next[32])
{
	static const char label[] = "havege-rngd conditioner v2";
	static const uint8_t iv[16];
	uint8_t ctr[8], h[32], key[32], t0 = 0, t1 = 1;
	gcry_cipher_hd_t cx;
	int i;

	uint8_t low[NOISE];

	for (i = 0; i < 8; i++)
		ctr[i] = (uint8_t)(counter >> (8 * i));
	for (i = 0; i < NOISE; i++)
		low[i] = (uint8_t)noise[i];     /* a sample, one byte */
	sha256_parts(h, label, sizeof(label), chain, 32, ctr, 8, low, sizeof(low));
	sha256_parts(next, h, 32, &t0, 1, "", 0, "", 0);
	sha256_parts(key, h, 32, &t1, 1, "", 0, "", 0);
	assert_int_equal(gcry_cipher_open(&cx, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_CTR, 0), 0);
	assert_int_equal(gcry_cipher_setkey(cx, key, 32), 0);
	assert_int_equal(gcry_cipher_setctr(cx, iv, 16), 0);
	assert_int_equal(gcry_cipher_encrypt(cx, out, BLOCK, walk, BLOCK), 0);
	gcry_cipher_close(cx);
	/* test_no_key_left looks for an h or a key anywhere in this process */
	explicit_bzero(h, sizeof(h));
	explicit_bzero(key, sizeof(key));
}

static void test_construction(void **state)
{
	static uint8_t got[BLOCK], want[BLOCK];
	uint8_t chain[32] = { 0 }, next[32];
	struct conditioner *c = cond_new();
	uint64_t b;

	(void)state;
	assert_non_null(c);   /* cond_new() initialised libgcrypt */
	for (b = 0; b < 3; b++) {
		fill_inputs(b);
		assert_int_equal(cond_block(c, noise, NOISE, walk, BLOCK, got), 0);
		expected(chain, b, want, next);
		assert_memory_equal(got, want, BLOCK);
		memcpy(chain, next, 32);
	}
	cond_free(c);
}

static void test_in_place_and_chain(void **state)
{
	static uint8_t a[BLOCK], b[BLOCK];
	struct conditioner *c = cond_new();

	(void)state;
	fill_inputs(7);
	memcpy(a, walk, BLOCK);
	assert_int_equal(cond_block(c, noise, NOISE, a, BLOCK, a), 0);
	assert_memory_not_equal(a, walk, BLOCK);
	/* Same inputs again: the chain and counter moved, so the output differs. */
	assert_int_equal(cond_block(c, noise, NOISE, walk, BLOCK, b), 0);
	assert_memory_not_equal(a, b, BLOCK);
	cond_free(c);

	/* A fresh conditioner repeats the first block exactly. */
	c = cond_new();
	assert_int_equal(cond_block(c, noise, NOISE, walk, BLOCK, b), 0);
	assert_memory_equal(a, b, BLOCK);
	cond_free(c);
}

/* Only the low byte of a value, the 8-bit sample, is hashed: bits 8 and
 * 40 change nothing, bit 7 changes the block. */
static void test_high_bits_ignored(void **state)
{
	static uint8_t a[BLOCK], b[BLOCK];
	struct conditioner *c1 = cond_new(), *c2 = cond_new(), *c3 = cond_new();

	(void)state;
	fill_inputs(5);
	assert_int_equal(cond_block(c1, noise, NOISE, walk, BLOCK, a), 0);
	noise[3] ^= UINT64_C(1) << 40;
	noise[4] ^= UINT64_C(1) << 8;
	assert_int_equal(cond_block(c2, noise, NOISE, walk, BLOCK, b), 0);
	assert_memory_equal(a, b, BLOCK);
	noise[5] ^= UINT64_C(1) << 7;
	assert_int_equal(cond_block(c3, noise, NOISE, walk, BLOCK, b), 0);
	assert_memory_not_equal(a, b, BLOCK);
	cond_free(c1);
	cond_free(c2);
	cond_free(c3);
}

static void test_noise_changes_everything(void **state)
{
	static uint8_t a[BLOCK], b[BLOCK];
	struct conditioner *c1 = cond_new(), *c2 = cond_new();
	size_t i, same = 0;

	(void)state;
	fill_inputs(3);
	assert_int_equal(cond_block(c1, noise, NOISE, walk, BLOCK, a), 0);
	noise[NOISE - 1] ^= 1;        /* one bit of one sample */
	assert_int_equal(cond_block(c2, noise, NOISE, walk, BLOCK, b), 0);
	for (i = 0; i < BLOCK; i++)
		same += a[i] == b[i];
	/* Unrelated keystreams agree on about 1 byte in 256. */
	assert_true(same < BLOCK / 128);
	cond_free(c1);
	cond_free(c2);
}

static void test_seed(void **state)
{
	uint8_t s1[COND_KEY_BYTES], s2[COND_KEY_BYTES], zero[COND_KEY_BYTES] = { 0 };
	struct conditioner *c = cond_new();

	(void)state;
	fill_inputs(11);
	assert_int_equal(cond_seed(c, noise, NOISE, s1), 0);
	assert_int_equal(cond_seed(c, noise, NOISE, s2), 0);
	assert_memory_not_equal(s1, zero, sizeof(s1));
	assert_memory_not_equal(s1, s2, sizeof(s1));
	cond_free(c);
}

/* cond_seed_bytes() over the low bytes is cond_seed() over the values:
 * the same seeds, one after the other, from two fresh conditioners; and
 * a seed is the documented hash (SHA-256(h || 0x02), h as for a block).
 * Its inputs differ from every other test's in their low bytes (seeds
 * of fill_inputs() that differ only below bit 20 give the same bytes),
 * and its own h is wiped: test_no_key_left looks for another test's h
 * in the whole of this process's memory. */
static void test_seed_bytes(void **state)
{
	uint8_t a[COND_KEY_BYTES], b[COND_KEY_BYTES], low[NOISE], h[32], want[32], t2 = 2;
	static const char label[] = "havege-rngd conditioner v2";
	static const uint8_t chain[32], ctr[8];
	struct conditioner *c1 = cond_new(), *c2 = cond_new();
	int i, round;

	(void)state;
	for (round = 0; round < 2; round++) {
		fill_inputs((UINT64_C(31) + (uint64_t)round) << 32);
		for (i = 0; i < NOISE; i++)
			low[i] = (uint8_t)noise[i];
		assert_int_equal(cond_seed(c1, noise, NOISE, a), 0);
		assert_int_equal(cond_seed_bytes(c2, low, NOISE, b), 0);
		assert_memory_equal(a, b, sizeof(a));
		if (round == 0) {
			sha256_parts(h, label, sizeof(label), chain, 32, ctr, 8, low, NOISE);
			sha256_parts(want, h, 32, &t2, 1, "", 0, "", 0);
			assert_memory_equal(a, want, sizeof(a));
		}
	}
	low[0] ^= 1;
	assert_int_equal(cond_seed_bytes(c2, low, NOISE, b), 0);
	assert_int_equal(cond_seed(c1, noise, NOISE, a), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	explicit_bzero(h, sizeof(h));
	cond_free(c1);
	cond_free(c2);
}

/* ---------------------------------------------------------------- no key left behind */

enum { MASK = 0xa5 };

/* Block 0's h and key for a zero chain, XORed with MASK, computed in a
 * child process: this process never holds them in the clear, so a copy
 * found in its memory can only be the conditioner's. */
static void masked_secrets(uint8_t masked[2][32])
{
	static const char label[] = "havege-rngd conditioner v2";
	static const uint8_t chain[32];
	uint8_t ctr[8] = { 0 }, low[NOISE], t1 = 1, buf[2][32];
	int fds[2], st, i, j;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (i = 0; i < NOISE; i++)
			low[i] = (uint8_t)noise[i];
		sha256_parts(buf[0], label, sizeof(label), chain, 32, ctr, 8, low, sizeof(low));
		sha256_parts(buf[1], buf[0], 32, &t1, 1, "", 0, "", 0);
		for (i = 0; i < 2; i++)
			for (j = 0; j < 32; j++)
				buf[i][j] ^= MASK;
		_exit(write(fds[1], buf, sizeof(buf)) == (ssize_t)sizeof(buf) ? 0 : 1);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], masked, 64), 64);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(st, 0);
}

/* Whether p[0..n) holds the 32 bytes whose masked form is m. */
static bool holds_masked(const uint8_t *p, size_t n, const uint8_t m[32])
{
	size_t i, k;

	for (i = 0; i + 32 <= n; i++) {
		for (k = 0; k < 32 && (uint8_t)(p[i + k] ^ MASK) == m[k]; k++)
			;
		if (k == 32)
			return true;
	}
	return false;
}

/* Whether any writable mapping of this process (up to 256 MiB each: a
 * sanitizer's shadow is left out) holds the secret; read through
 * /proc/self/mem, which also reads what a sanitizer would not let us
 * touch.  The scratch buffer holds a copy only once one is found. */
static bool memory_holds(const uint8_t m[32])
{
	static uint8_t scratch[1 << 16];
	FILE *maps = fopen("/proc/self/maps", "r");
	int mem = open("/proc/self/mem", O_RDONLY);
	unsigned long lo, hi;
	char perms[8], line[512];
	bool found = false;

	assert_non_null(maps);
	assert_true(mem >= 0);
	while (!found && fgets(line, sizeof(line), maps)) {
		unsigned long a;

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[1] != 'w' ||
		    hi - lo > (256ul << 20))
			continue;
		for (a = lo; a < hi && !found; a += sizeof(scratch) - 31) {
			size_t want = hi - a < sizeof(scratch) ? hi - a : sizeof(scratch);
			ssize_t r = pread(mem, scratch, want, (off_t)a);

			if (r > 0)
				found = holds_masked(scratch, (size_t)r, m);
			if (want < sizeof(scratch))
				break;
		}
	}
	fclose(maps);
	close(mem);
	return found;
}

/* cond_block() leaves neither its key nor the hash it came from anywhere
 * in memory (doc/security.md: keys wiped before return): not on its
 * stack, not in the conditioner, not in libgcrypt's cipher or hash
 * contexts.  The output checks that it was block 0's key indeed. */
static void test_no_key_left(void **state)
{
	static uint8_t got[BLOCK], want[BLOCK];
	uint8_t masked[2][32], chain[32] = { 0 }, next[32];
	struct conditioner *c = cond_new();

	(void)state;
	assert_non_null(c);
	/* Low bytes no other test hashes (seeds 0 to 11 all give the same). */
	fill_inputs(UINT64_C(23) << 40);
	masked_secrets(masked);
	assert_int_equal(cond_block(c, noise, NOISE, walk, BLOCK, got), 0);
	assert_false(memory_holds(masked[0]));           /* h */
	assert_false(memory_holds(masked[1]));           /* the key */
	cond_free(c);
	expected(chain, 0, want, next);
	assert_memory_equal(got, want, BLOCK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_construction),
		cmocka_unit_test(test_in_place_and_chain),
		cmocka_unit_test(test_high_bits_ignored),
		cmocka_unit_test(test_noise_changes_everything),
		cmocka_unit_test(test_seed),
		cmocka_unit_test(test_seed_bytes),
		cmocka_unit_test(test_no_key_left),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
