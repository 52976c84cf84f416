/* generator.h - the whole pipeline: collectors, health tests, online
 * tests, conditioning; conditioned bytes out.
 *
 * gen_new() builds one lane per thread (-t): a noise source calibrated at
 * start-up (noise.h), its own health tests and online tests, and its own
 * conditioner.  Calibration is the SP 800-90B start-up health test; then
 * the conditioner's chain is primed and the AIS-31 start-up group runs,
 * all before gen_new() returns, so a generator that exists has passed
 * them.  gen_read() hands out conditioned bytes whose walk output
 * passed every test that covered it.  A permanent failure makes every later
 * gen_read() return -EIO: a dead source is never used again.
 */
#ifndef HRNG_GENERATOR_H
#define HRNG_GENERATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "collector.h"
#include "genconfig.h"
#include "source.h"
#include "testspec.h"

struct generator;

/* Returns 0, or -errno: -ENOMEM, -EIO (a start-up test failed: the reason
 * is logged), -EAGAIN (a thread could not start). */
int gen_new(struct generator **g, const struct gen_config *cfg);
void gen_free(struct generator *g);
/* Read as one stream from now on, and start the lane threads of -t N
 * (N > 1) now rather than at the first read: the daemon calls it before
 * its seccomp filter, which allows no thread creation.  Returns 0, or
 * -errno after one line if a thread could not start. */
int gen_start_lanes(struct generator *g);
/* Fill buf with exactly n conditioned bytes; returns 0 or -EIO. */
int gen_read(struct generator *g, void *buf, size_t n);
/* Zero-copy reading: gen_peek() waits as gen_read() would, then points *p
 * at up to max released bytes, contiguous in a lane's ring, and returns
 * how many (or -EIO).  They stay valid until gen_consume(g, k), which
 * wipes the first k of them (k at most what gen_peek() returned) and gives
 * their room back.  One peek at a time. */
ssize_t gen_peek(struct generator *g, const uint8_t **p, size_t max);
void gen_consume(struct generator *g, size_t k);
/* The same for one lane, so that several readers (one thread per lane)
 * can each take their lane's output; each reader produces its lane when
 * it runs dry, and no lane threads are started.  A generator is read
 * either as one stream (gen_read, gen_peek, gen_prefill) or lane by lane,
 * never both. */
unsigned gen_lanes(const struct generator *g);
ssize_t gen_peek_lane(struct generator *g, unsigned lane, const uint8_t **p, size_t max);
void gen_consume_lane(struct generator *g, unsigned lane, size_t k);
/* Make sure at least n bytes are released and waiting (producing now if
 * needed), so the next gen_read() of n bytes returns at once.  Returns 0
 * or -EIO. */
int gen_prefill(struct generator *g, size_t n);
/* Wipe what is released but unread, so the next read is made from fresh
 * noise (the daemon calls it when its buffered seeds have grown old). */
void gen_discard(struct generator *g);
void gen_get_stats(struct generator *g, struct gen_stats *st);
void gen_get_layout(const struct generator *g, struct collector_layout *l);
/* The generator as a byte source (source.h) for the sinks: read() is
 * gen_read(), peek()/consume() are gen_peek()/gen_consume(), and with
 * several lanes peek_lane()/consume_lane() read lane by lane. */
struct byte_source gen_byte_source(struct generator *g);
/* Lane 0's calibrated noise source: the rung, the granularity, the
 * start-up estimate (for -r 1 and the log). */
struct noise;
const struct noise *gen_noise(const struct generator *g);

#endif
