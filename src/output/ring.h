/* ring.h - a lane's release ring: conditioned bytes between the producer
 * that makes them and the reader that takes them.
 *
 * Positions are stream offsets that only increase:
 *   tail <= release <= head,  head - tail <= cap
 * [tail, release) may be read; [release, head) awaits a test verdict;
 * [head, ...) is the producer's to write.  A position's byte sits at
 * ring_index(); a range of positions may wrap past the end of buf, so
 * every walk over one goes span by span through ring_span().
 *
 * The ring takes no lock: its owner (lane.h) keeps the positions under
 * the generator's lock and says who may touch which range.
 */
#ifndef HRNG_RING_H
#define HRNG_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring {
	uint8_t *buf;              /* secret memory, cap a power of two */
	size_t cap;                /* may shrink after ring_alloc(), never grow */
	size_t size;               /* as allocated */
	uint64_t tail, release, head;   /* see the invariant above */
	uint64_t head_max;         /* the highest head has been; only increases */
};

static inline size_t ring_index(const struct ring *r, uint64_t pos)
{
	return (size_t)(pos & (r->cap - 1));
}

/* How many of the n bytes from position pos lie in one piece of buf,
 * starting at ring_index(r, pos): n, clipped at the end of buf. */
static inline size_t ring_span(const struct ring *r, uint64_t pos, uint64_t n)
{
	size_t room = r->cap - ring_index(r, pos);

	return n < room ? (size_t)n : room;
}

/* Allocate a ring of cap bytes (a power of two) in secret memory, all
 * positions 0.  Returns 0 or -ENOMEM. */
int ring_alloc(struct ring *r, size_t cap);
/* Wipe what ever held output and release the memory. */
void ring_free(struct ring *r);
/* The producer wrote k bytes at head: move head past them. */
void ring_push(struct ring *r, size_t k);
/* Wipe positions [from, to). */
void ring_wipe(struct ring *r, uint64_t from, uint64_t to);
/* Copy the k bytes from position from into out, wiping them in the ring. */
void ring_take(struct ring *r, uint64_t from, uint8_t *out, size_t k);

#endif
