/* conditioner.c - SHA-256 and AES-256-CTR conditioning through libgcrypt.
 *
 * Functions offered (see conditioner.h for the construction):
 *   cond_new()    initialise libgcrypt once, open the hash and cipher
 *   cond_block()  raw noise and a walk block in, the block whitened out
 *   cond_seed()   raw noise in, a 32-byte full-entropy seed out
 *   cond_seed_bytes()  the same from samples already one byte each
 *   cond_free()   wipe and release
 *
 * Every intermediate secret (h, the key) lives on the stack of the function
 * that made it and is wiped before that function returns.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>

#include "conditioner.h"
#include "util.h"

/* Domain separation, so these hashes can never equal any other use of
 * SHA-256 over the same bytes. */
static const char cond_label[] = "havege-rngd conditioner v2";

struct conditioner {
	gcry_md_hd_t md;                /* SHA-256, reset for every hash */
	gcry_cipher_hd_t cipher;        /* AES-256-CTR, rekeyed every block */
	uint8_t chain[COND_KEY_BYTES];  /* carried from block to block */
	uint64_t counter;               /* blocks absorbed; only increases */
};

static pthread_once_t gcrypt_once = PTHREAD_ONCE_INIT;
static int gcrypt_ok;

/* libgcrypt must be initialised once before any other call.  We keep no
 * key in its secure memory (our secrets live briefly on our own stacks
 * and are wiped), so that pool is switched off. */
static void gcrypt_init(void)
{
	if (!gcry_check_version(GCRYPT_VERSION))
		return;
	gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	gcrypt_ok = 1;
}

struct conditioner *cond_new(void)
{
	struct conditioner *c;

	pthread_once(&gcrypt_once, gcrypt_init);
	if (!gcrypt_ok)
		return NULL;
	/* Pages of its own, locked: the chain is the next block's key. */
	c = secret_alloc(sizeof(*c));
	secret_lock(c, sizeof(*c));
	if (!c)
		return NULL;
	if (gcry_md_open(&c->md, GCRY_MD_SHA256, 0) != 0) {
		c->md = NULL;
		cond_free(c);
		return NULL;
	}
	if (gcry_cipher_open(&c->cipher, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_CTR, 0) != 0) {
		c->cipher = NULL;
		cond_free(c);
		return NULL;
	}
	return c;
}

void cond_free(struct conditioner *c)
{
	if (!c)
		return;
	if (c->md)
		gcry_md_close(c->md);
	if (c->cipher)
		gcry_cipher_close(c->cipher);
	wipe(c, sizeof(*c));
	secret_free(c, sizeof(*c));
}

/* out = SHA-256 of what was written to c->md since the reset. */
static void hash_out(struct conditioner *c, uint8_t out[COND_KEY_BYTES])
{
	memcpy(out, gcry_md_read(c->md, GCRY_MD_SHA256), COND_KEY_BYTES);
	gcry_md_reset(c->md);
}

/* The samples as the hash takes them: one byte each, the 8 bits a sample
 * is (src/noise/noise.h); of a wider value only the low byte counts. */
static void write_noise(struct conditioner *c, const uint64_t *noise, size_t n)
{
	enum { BATCH = 1024 };
	uint8_t buf[BATCH];
	size_t used = 0;

	while (n > 0) {
		size_t k = n < BATCH ? n : BATCH, i;

		for (i = 0; i < k; i++)
			buf[i] = (uint8_t)noise[i];
		gcry_md_write(c->md, buf, k);
		used = k > used ? k : used;
		noise += k;
		n -= k;
	}
	wipe(buf, used);
}

/* The hash's fixed start: label || chain || counter. */
static void write_head(struct conditioner *c)
{
	uint8_t ctr[8];
	int i;

	for (i = 0; i < 8; i++)
		ctr[i] = (uint8_t)(c->counter >> (8 * i));
	gcry_md_write(c->md, cond_label, sizeof(cond_label));
	gcry_md_write(c->md, c->chain, sizeof(c->chain));
	gcry_md_write(c->md, ctr, sizeof(ctr));
}

/* h = SHA-256(label || chain || counter || noise), the noise either as
 * wide values (noise) or as bytes (bytes); the hash is the same. */
static void absorb(struct conditioner *c, const uint64_t *noise, const uint8_t *bytes,
		   size_t nsamples, uint8_t h[COND_KEY_BYTES])
{
	write_head(c);
	if (bytes)
		gcry_md_write(c->md, bytes, nsamples);
	else
		write_noise(c, noise, nsamples);
	hash_out(c, h);
	c->counter++;
}

/* out = SHA-256(h || tag): separate outputs for the chain and the key. */
static void derive(struct conditioner *c, const uint8_t h[COND_KEY_BYTES], uint8_t tag,
		   uint8_t out[COND_KEY_BYTES])
{
	gcry_md_write(c->md, h, COND_KEY_BYTES);
	gcry_md_write(c->md, &tag, 1);
	hash_out(c, out);
}

/* out[0..n) = in[0..n) XOR AES-256-CTR keystream under key, counter block 0
 * (a fresh key for every block, so a counter never repeats under a key). */
static int whiten(struct conditioner *c, const uint8_t key[COND_KEY_BYTES],
		  const uint8_t *in, uint8_t *out, size_t n)
{
	static const uint8_t ctr0[16], zero[COND_KEY_BYTES];
	int ret;

	if (gcry_cipher_setkey(c->cipher, key, COND_KEY_BYTES) != 0 ||
	    gcry_cipher_setctr(c->cipher, ctr0, sizeof(ctr0)) != 0)
		return -EIO;
	if (in == out)
		ret = gcry_cipher_encrypt(c->cipher, out, n, NULL, 0) != 0 ? -EIO : 0;
	else
		ret = gcry_cipher_encrypt(c->cipher, out, n, in, n) != 0 ? -EIO : 0;
	/* The handle keeps the expanded key, whose first round keys are the
	 * key itself, until the next block: overwrite it now, so the key is
	 * gone when cond_block() returns (test_no_key_left). */
	if (gcry_cipher_setkey(c->cipher, zero, COND_KEY_BYTES) != 0)
		ret = -EIO;
	return ret;
}

int cond_block(struct conditioner *c, const uint64_t *noise, size_t nsamples,
	       const void *walk, size_t n, void *out)
{
	uint8_t h[COND_KEY_BYTES], key[COND_KEY_BYTES];
	int ret;

	absorb(c, noise, NULL, nsamples, h);
	derive(c, h, 0x00, c->chain);
	derive(c, h, 0x01, key);
	ret = whiten(c, key, walk, out, n);
	wipe(h, sizeof(h));
	wipe(key, sizeof(key));
	return ret;
}

/* A seed from either form of the samples. */
static int seed_from(struct conditioner *c, const uint64_t *noise, const uint8_t *bytes,
		     size_t nsamples, uint8_t seed[COND_KEY_BYTES])
{
	uint8_t h[COND_KEY_BYTES];

	absorb(c, noise, bytes, nsamples, h);
	derive(c, h, 0x00, c->chain);
	derive(c, h, 0x02, seed);
	wipe(h, sizeof(h));
	return 0;
}

int cond_seed(struct conditioner *c, const uint64_t *noise, size_t nsamples,
	      uint8_t seed[COND_KEY_BYTES])
{
	return seed_from(c, noise, NULL, nsamples, seed);
}

int cond_seed_bytes(struct conditioner *c, const uint8_t *samples, size_t nsamples,
		    uint8_t seed[COND_KEY_BYTES])
{
	return seed_from(c, NULL, samples, nsamples, seed);
}
