/* source.h - a source of random bytes, as the sinks read it: the
 * generator (gen_byte_source(), generator.h), or a test's stand-in.
 *
 * read() copies n bytes into buf and returns 0, or a negative value when
 * the source has failed (the generator: -EIO; then nothing was handed out).
 * A source may also offer zero-copy peek()/consume() (see gen_peek()): a
 * sink that finds them uses them instead of read().  A source of several
 * lanes, each readable on its own, sets lanes > 1 and peek_lane() /
 * consume_lane(); a sink may then read each lane from its own thread.
 * Every callback gets ctx first.
 */
#ifndef HRNG_SOURCE_H
#define HRNG_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct byte_source {
	int (*read)(void *ctx, void *buf, size_t n);    /* always set */
	ssize_t (*peek)(void *ctx, const uint8_t **p, size_t max);   /* or NULL */
	void (*consume)(void *ctx, size_t k);
	unsigned lanes;                                  /* 0 or 1: one stream */
	ssize_t (*peek_lane)(void *ctx, unsigned lane, const uint8_t **p, size_t max);
	void (*consume_lane)(void *ctx, unsigned lane, size_t k);
	void *ctx;
};

#endif
