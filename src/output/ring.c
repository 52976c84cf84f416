/* ring.c - a lane's release ring (see ring.h).
 *
 * Functions offered (see ring.h):
 *   ring_alloc(), ring_free()  secret memory for the ring, wiped at the end
 *   ring_push()   the producer's bytes join [release, head)
 *   ring_wipe()   wipe a range of positions (dropped or discarded bytes)
 *   ring_take()   copy a range out, wiping it behind the copy
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "ring.h"
#include "util.h"

int ring_alloc(struct ring *r, size_t cap)
{
	*r = (struct ring){ .cap = cap, .size = cap };
	r->buf = secret_alloc(cap);
	return r->buf ? 0 : -ENOMEM;
}

void ring_free(struct ring *r)
{
	/* Positions are written from 0 on, so only the first head_max bytes
	 * (at most the whole ring) ever held output; wiping the rest would
	 * only fault in pages nobody touched. */
	if (r->buf)
		wipe(r->buf, r->head_max < r->cap ? (size_t)r->head_max : r->cap);
	secret_free(r->buf, r->size);
	r->buf = NULL;
}

void ring_push(struct ring *r, size_t k)
{
	r->head += k;
	if (r->head > r->head_max)
		r->head_max = r->head;
}

void ring_wipe(struct ring *r, uint64_t from, uint64_t to)
{
	while (from < to) {
		size_t k = ring_span(r, from, to - from);

		wipe(r->buf + ring_index(r, from), k);
		from += k;
	}
}

void ring_take(struct ring *r, uint64_t from, uint8_t *out, size_t k)
{
	size_t done = 0;

	while (done < k) {
		size_t at = ring_index(r, from + done);
		size_t c = ring_span(r, from + done, k - done);

		memcpy(out + done, r->buf + at, c);
		wipe(r->buf + at, c);
		done += c;
	}
}
