/* conditioner.c - SHA-256 and AES-256-CTR conditioning through libcrypto.
 *
 * Functions offered (see conditioner.h for the construction):
 *   cond_new()    fetch the algorithms, zero chain and counter
 *   cond_block()  raw noise and a walk block in, the block whitened out
 *   cond_seed()   raw noise in, a 32-byte full-entropy seed out
 *   cond_free()   wipe and release
 *
 * Every intermediate secret (h, the key) lives on the stack of the function
 * that made it and is wiped on every path through the out_wipe label.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "conditioner.h"
#include "util.h"

/* Domain separation, so these hashes can never equal any other use of
 * SHA-256 over the same bytes. */
static const char cond_label[] = "havege-rngd conditioner v1";

struct conditioner {
	EVP_MD *sha256;          /* fetched once: an implicit fetch per hash
	                          * costs more than hashing a block */
	EVP_CIPHER *aes;
	EVP_MD_CTX *md;          /* reused for every hash */
	EVP_CIPHER_CTX *cipher;  /* reused for every block */
	uint8_t chain[COND_KEY_BYTES];  /* carried from block to block */
	uint64_t counter;        /* blocks absorbed; only increases */
};

struct conditioner *cond_new(void)
{
	struct conditioner *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	c->aes = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
	c->md = EVP_MD_CTX_new();
	c->cipher = EVP_CIPHER_CTX_new();
	if (!c->sha256 || !c->aes || !c->md || !c->cipher ||
	    EVP_EncryptInit_ex2(c->cipher, c->aes, NULL, NULL, NULL) != 1) {
		cond_free(c);
		return NULL;
	}
	return c;
}

void cond_free(struct conditioner *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->md);
	EVP_CIPHER_CTX_free(c->cipher);
	EVP_MD_free(c->sha256);
	EVP_CIPHER_free(c->aes);
	wipe(c, sizeof(*c));
	free(c);
}

/* h = SHA-256(label || chain || counter || noise). */
static int absorb(struct conditioner *c, const uint64_t *noise, size_t nsamples,
		  uint8_t h[COND_KEY_BYTES])
{
	uint8_t ctr[8];
	unsigned len = 0;
	int i;

	for (i = 0; i < 8; i++)
		ctr[i] = (uint8_t)(c->counter >> (8 * i));
	if (EVP_DigestInit_ex(c->md, c->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(c->md, cond_label, sizeof(cond_label)) != 1 ||
	    EVP_DigestUpdate(c->md, c->chain, sizeof(c->chain)) != 1 ||
	    EVP_DigestUpdate(c->md, ctr, sizeof(ctr)) != 1 ||
	    EVP_DigestUpdate(c->md, noise, nsamples * sizeof(*noise)) != 1 ||
	    EVP_DigestFinal_ex(c->md, h, &len) != 1 || len != COND_KEY_BYTES)
		return -1;
	c->counter++;
	return 0;
}

/* out = SHA-256(h || tag): separate outputs for the chain and the key. */
static int derive(struct conditioner *c, const uint8_t h[COND_KEY_BYTES], uint8_t tag,
		  uint8_t out[COND_KEY_BYTES])
{
	unsigned len = 0;

	if (EVP_DigestInit_ex(c->md, c->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(c->md, h, COND_KEY_BYTES) != 1 ||
	    EVP_DigestUpdate(c->md, &tag, 1) != 1 ||
	    EVP_DigestFinal_ex(c->md, out, &len) != 1 || len != COND_KEY_BYTES)
		return -1;
	return 0;
}

/* out[0..n) = in[0..n) XOR AES-256-CTR keystream under key, IV 0 (a fresh
 * key for every block, so the counter never repeats under one key). */
static int whiten(struct conditioner *c, const uint8_t key[COND_KEY_BYTES],
		  const uint8_t *in, uint8_t *out, size_t n)
{
	static const uint8_t iv[16];
	int len;

	if (EVP_EncryptInit_ex2(c->cipher, NULL, key, iv, NULL) != 1)
		return -1;
	while (n > 0) {
		int chunk = n > (1u << 30) ? (1 << 30) : (int)n;

		if (EVP_EncryptUpdate(c->cipher, out, &len, in, chunk) != 1 || len != chunk)
			return -1;
		in += chunk;
		out += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

int cond_block(struct conditioner *c, const uint64_t *noise, size_t nsamples,
	       const void *walk, size_t n, void *out)
{
	uint8_t h[COND_KEY_BYTES], key[COND_KEY_BYTES];
	int ret = -1;

	if (absorb(c, noise, nsamples, h) < 0 ||
	    derive(c, h, 0x00, c->chain) < 0 ||
	    derive(c, h, 0x01, key) < 0 ||
	    whiten(c, key, walk, out, n) < 0)
		goto out_wipe;
	ret = 0;
out_wipe:
	wipe(h, sizeof(h));
	wipe(key, sizeof(key));
	return ret;
}

int cond_seed(struct conditioner *c, const uint64_t *noise, size_t nsamples,
	      uint8_t seed[COND_KEY_BYTES])
{
	uint8_t h[COND_KEY_BYTES];
	int ret = -1;

	if (absorb(c, noise, nsamples, h) < 0 ||
	    derive(c, h, 0x00, c->chain) < 0 ||
	    derive(c, h, 0x02, seed) < 0)
		goto out_wipe;
	ret = 0;
out_wipe:
	wipe(h, sizeof(h));
	return ret;
}
