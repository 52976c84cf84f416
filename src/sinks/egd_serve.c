/* egd_serve.c - the EGD server's work for each client: its token
 * bucket, its output queue, and answering its requests in order, one
 * fair pass over all clients at a time.  egd.c owns the listeners, the
 * poll interface and set-up; egd_impl.h is what the two share.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "egd_impl.h"
#include "log.h"
#include "util.h"

/* ---------------------------------------------------------------- token bucket
 *
 * Each client has its own bucket of burst bytes, refilled at rate bytes/s
 * on the caller's monotonic clock.  The level is kept in byte-nanoseconds
 * (bytes x 1e9) so that no fraction of a byte is lost between refills;
 * rate and burst are at most 1e9, so the level stays below 2^60.
 */

static void bucket_refill(struct bucket *b, uint64_t rate, uint64_t burst, uint64_t now)
{
	uint64_t cap = burst * NS_PER_SEC, dt;

	if (!rate || now <= b->last_ns)
		return;
	dt = now - b->last_ns;
	b->last_ns = now;
	if (dt >= cap / rate + 1 || cap - b->level <= dt * rate)
		b->level = cap;
	else
		b->level += dt * rate;
}

static uint64_t bucket_bytes(const struct bucket *b, uint64_t rate)
{
	return rate ? b->level / NS_PER_SEC : UINT64_MAX;
}

static void bucket_take(struct bucket *b, uint64_t rate, uint64_t n)
{
	if (rate) {
		assert(n * NS_PER_SEC <= b->level);
		b->level -= n * NS_PER_SEC;
	}
}


uint64_t egd_bucket_wait(const struct bucket *b, uint64_t rate, uint64_t want)
{
	uint64_t need = want * NS_PER_SEC;

	if (!rate || b->level >= need)
		return 0;
	return (need - b->level + rate - 1) / rate;
}

/* ---------------------------------------------------------------- clients
 *
 * A client's output queue is out[off .. off+len) of queue_max bytes; sent
 * bytes are wiped at once, and the rest is wiped when the client goes.
 */

/* Make n bytes room at the tail; the caller has checked out_space(). */
static uint8_t *out_tail(const struct egd_server *s, struct egd_client *c, size_t n)
{
	assert(n <= out_space(s, c));
	if (c->off + c->len + n > s->queue_max) {
		memmove(c->out, c->out + c->off, c->len);
		wipe(c->out + c->len, c->off);
		c->off = 0;
	}
	return c->out + c->off + c->len;
}

static void out_commit(const struct egd_server *s, struct egd_client *c, size_t n)
{
	struct egd_listener_stats *st = &s->ls[c->listener].st;

	c->len += n;
	if (c->len > st->queue_peak)
		st->queue_peak = c->len;
}

void egd_client_close(struct egd_server *s, unsigned slot)
{
	struct egd_client *c = s->cl[slot];

	close(c->fd);
	wipe(c->out, s->queue_max);
	wipe(c->in, sizeof(c->in));
	secret_free(c->out, s->queue_max);
	s->ls[c->listener].st.clients_now--;
	s->nclients--;
	free(c);
	s->cl[slot] = NULL;
}

int egd_client_read(struct egd_client *c)
{
	while (!c->eof && c->inlen < sizeof(c->in)) {
		ssize_t r = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen,
				 MSG_DONTWAIT);

		if (r > 0)
			c->inlen += (size_t)r;
		else if (r == 0)
			c->eof = true;
		else if (errno == EINTR)
			continue;
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		else
			return -errno;
	}
	return 0;
}

int egd_client_flush(struct egd_client *c)
{
	while (c->len > 0) {
		ssize_t w = send(c->fd, c->out + c->off, c->len,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		wipe(c->out + c->off, (size_t)w);
		c->off += (size_t)w;
		c->len -= (size_t)w;
	}
	c->off = 0;
	return 0;
}

/* Replies to the requests before the bad one still go out if the socket
 * takes them now; then the connection is closed. */
static void client_proto_error(struct egd_server *s, unsigned slot)
{
	s->ls[s->cl[slot]->listener].st.protocol_errors++;
	egd_client_flush(s->cl[slot]);
	egd_client_close(s, slot);
}

/* ---------------------------------------------------------------- serving
 *
 * egd_serve_pass() visits every client once, starting one further along each
 * time (round robin), and gives each at most EGD_QUANTUM bytes of output,
 * so a greedy client delays the others by one quantum at most.  Within a
 * client, requests are answered strictly in order: a 0x02 reply is
 * completed before anything after it is looked at, which is the FIFO that
 * QEMU relies on when it has several requests outstanding.
 */

enum serve_result { SERVE_OK, SERVE_WAIT, SERVE_CLOSE, SERVE_ERROR };

/* Append n bytes from the source.  -EIO: the source is dead. */
static int queue_random(struct egd_server *s, struct egd_client *c, size_t n)
{
	uint8_t *p = out_tail(s, c, n);

	if (s->src.read(s->src.ctx, p, n) < 0) {
		wipe(p, n);
		if (!s->source_dead)
			log_warnx("egd: the byte source failed; closing clients");
		s->source_dead = true;
		return -EIO;
	}
	out_commit(s, c, n);
	s->ls[c->listener].st.bytes_served += n;
	return 0;
}

/* 0x00: what a client could take right now without waiting. */
static void reply_level(struct egd_server *s, struct egd_client *c)
{
	uint64_t bytes = bucket_bytes(&c->bucket, s->rate);
	uint64_t bits;
	uint8_t *p = out_tail(s, c, 4);

	if (bytes > s->queue_max)
		bytes = s->queue_max;
	bits = bytes * 8 > UINT32_MAX ? UINT32_MAX : bytes * 8;
	p[0] = (uint8_t)(bits >> 24);
	p[1] = (uint8_t)(bits >> 16);
	p[2] = (uint8_t)(bits >> 8);
	p[3] = (uint8_t)bits;
	out_commit(s, c, 4);
}

static enum serve_result reply_read_nb(struct egd_server *s, struct egd_client *c,
				       unsigned n)
{
	uint64_t k = bucket_bytes(&c->bucket, s->rate);

	if (k > n)
		k = n;
	if (out_space(s, c) < 1 + k)
		return SERVE_WAIT;
	*out_tail(s, c, 1) = (uint8_t)k;
	out_commit(s, c, 1);
	if (k && queue_random(s, c, (size_t)k) < 0)
		return SERVE_ERROR;
	bucket_take(&c->bucket, s->rate, k);
	return SERVE_OK;
}

static void reply_pid(struct egd_server *s, struct egd_client *c, const char *pid)
{
	size_t n = strlen(pid);
	uint8_t *p = out_tail(s, c, 1 + n);

	p[0] = (uint8_t)n;
	memcpy(p + 1, pid, n);
	out_commit(s, c, 1 + n);
}

static enum serve_result handle(struct egd_server *s, struct egd_client *c,
				struct egd_request *r)
{
	char pid[24];

	switch (r->cmd) {
	case EGD_CMD_LEVEL:
		if (out_space(s, c) < 4)
			return SERVE_WAIT;
		reply_level(s, c);
		return SERVE_OK;
	case EGD_CMD_READ_NB:
		return reply_read_nb(s, c, r->count);
	case EGD_CMD_READ:
		c->owed = r->count;
		return SERVE_OK;
	case EGD_CMD_WRITE:
		/* Discarded: see doc/egd.md for why. */
		s->ls[c->listener].st.discarded_bytes += r->count;
		return SERVE_OK;
	case EGD_CMD_PID:
		snprintf(pid, sizeof(pid), "%ld", (long)getpid());
		if (out_space(s, c) < 1 + strlen(pid))
			return SERVE_WAIT;
		reply_pid(s, c, pid);
		return SERVE_OK;
	}
	return SERVE_CLOSE;     /* not reached: egd_parse() knows only these */
}

/* Queue as much of the owed 0x02 reply as tokens, room and budget allow. */
static enum serve_result serve_owed(struct egd_server *s, struct egd_client *c,
				    size_t *budget)
{
	uint64_t n = c->owed;

	if (n > bucket_bytes(&c->bucket, s->rate))
		n = bucket_bytes(&c->bucket, s->rate);
	if (n > out_space(s, c))
		n = out_space(s, c);
	if (n > *budget)
		n = *budget;
	if (n == 0)
		return SERVE_WAIT;
	if (queue_random(s, c, (size_t)n) < 0)
		return SERVE_ERROR;
	bucket_take(&c->bucket, s->rate, n);
	c->owed -= (unsigned)n;
	*budget -= (size_t)n;
	return SERVE_OK;
}

/* Parse and answer the next request.  The request is consumed (and its
 * bytes wiped: they may be 0x03 data) only once it is answered. */
static enum serve_result serve_next(struct egd_server *s, struct egd_client *c)
{
	struct egd_request r;
	enum serve_result res;
	int n = egd_parse(c->in, c->inlen, &r);

	if (n < 0)
		return SERVE_ERROR;
	if (n == 0)
		return c->eof && c->inlen ? SERVE_ERROR : SERVE_WAIT;
	res = handle(s, c, &r);
	if (res != SERVE_OK)
		return res;
	s->ls[c->listener].st.requests++;
	memmove(c->in, c->in + n, c->inlen - (size_t)n);
	c->inlen -= (size_t)n;
	c->stall_ns = 0;                /* a request done: the next one's clock */
	wipe(c->in + c->inlen, (size_t)n);
	return SERVE_OK;
}

/* A request half sent, with nothing owed or queued to the client: the rest
 * is the client's to send, and it gets EGD_STALL_S seconds to do it (QEMU
 * sends each request whole).  Idle connections, with no request begun,
 * are kept: QEMU holds its one open as long as the guest runs. */
static bool stalled(struct egd_client *c, uint64_t now)
{
	if (!c->inlen || c->owed || c->len || c->eof) {
		c->stall_ns = 0;
		return false;
	}
	if (!c->stall_ns)
		c->stall_ns = now;
	return now - c->stall_ns >= (uint64_t)EGD_STALL_S * NS_PER_SEC;
}

static enum serve_result serve_client(struct egd_server *s, struct egd_client *c,
				      uint64_t now)
{
	size_t budget = EGD_QUANTUM;
	enum serve_result res = SERVE_OK;

	bucket_refill(&c->bucket, s->rate, s->burst, now);
	while (res == SERVE_OK && budget > 0)
		res = c->owed ? serve_owed(s, c, &budget) : serve_next(s, c);
	if (res == SERVE_OK)
		s->more = true;         /* the budget ran out with work left */
	if (res == SERVE_ERROR && s->source_dead) {
		egd_client_flush(c);    /* what was read before the failure is good */
		return SERVE_CLOSE;
	}
	if (res == SERVE_ERROR)
		return SERVE_ERROR;
	if (egd_client_flush(c) < 0)
		return SERVE_CLOSE;
	if (c->eof && !c->owed && !c->inlen && !c->len)
		return SERVE_CLOSE;
	return stalled(c, now) ? SERVE_ERROR : SERVE_OK;
}

void egd_serve_pass(struct egd_server *s, uint64_t now)
{
	unsigned i, slot;

	s->more = false;
	for (i = 0; i < s->max_clients; i++) {
		slot = (s->cursor + i) % s->max_clients;
		if (!s->cl[slot])
			continue;
		switch (serve_client(s, s->cl[slot], now)) {
		case SERVE_ERROR:
			client_proto_error(s, slot);
			break;
		case SERVE_CLOSE:
			egd_client_close(s, slot);
			break;
		default:
			break;
		}
	}
	s->cursor = (s->cursor + 1) % s->max_clients;
}
