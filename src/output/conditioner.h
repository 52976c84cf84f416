/* conditioner.h - cryptographic conditioning of the walk output.
 *
 * The construction (doc/conditioning.md has the accounting):
 *   h     = SHA-256(label || chain || counter || raw noise)
 *   chain = SHA-256(h || 0x00)          carried to the next block
 *   key   = SHA-256(h || 0x01)          AES-256 key for this block
 *   out   = walk block XOR AES-256-CTR(key, IV = 0)
 * The raw noise is the block's samples (src/noise/noise.h: 8-bit values, each
 * hashed as one byte): the samples the health tests
 * passed, the timing of the walk that made the block.  SHA-256 is a vetted
 * conditioning component (SP 800-90B 3.1.5.1.1): with at least 256 + 64
 * bits of noise in, the key has full entropy (3.1.5.1.2).  The keystream
 * then whitens the walk block, like CTR_DRBG's generate spreads its key.
 * Both run in libgcrypt.
 *
 * cond_new() first; cond_block() per walk block; cond_seed() for a
 * full-entropy 32-byte seed (the kernel sink); cond_free() wipes.
 */
#ifndef HRNG_CONDITIONER_H
#define HRNG_CONDITIONER_H

#include <stddef.h>
#include <stdint.h>

enum {
	COND_KEY_BYTES = 32,
};

struct conditioner;

struct conditioner *cond_new(void);
void cond_free(struct conditioner *c);
/* Key from nsamples raw noise samples; out[0..n) = walk[0..n) XOR the
 * keystream (out may equal walk).  Returns 0, or -EIO if libgcrypt failed. */
int cond_block(struct conditioner *c, const uint64_t *noise, size_t nsamples,
	       const void *walk, size_t n, void *out);
/* One 32-byte SHA-256 output from nsamples raw noise samples: full entropy
 * when they carry at least 256 + 64 bits (SP 800-90B 3.1.5.1.2).  Of each
 * value only its low byte, the sample, is hashed. */
int cond_seed(struct conditioner *c, const uint64_t *noise, size_t nsamples,
	      uint8_t seed[COND_KEY_BYTES]);
/* The same hash from samples held one byte each (the seeds' pending
 * samples, lane.c): equal inputs give equal seeds from equal states. */
int cond_seed_bytes(struct conditioner *c, const uint8_t *samples, size_t nsamples,
		    uint8_t seed[COND_KEY_BYTES]);

#endif
