/* generator.c - the lanes (lane.c) assembled into one source of
 * conditioned bytes: who produces, and the readers' side of the rings.
 *
 * Functions offered (see generator.h):
 *   gen_new()        build the lanes, warm up, run the start-up tests
 *   gen_read()       conditioned bytes that passed every covering test
 *   gen_peek(), gen_consume()  the same without a copy
 *   gen_prefill()    have bytes released and waiting before they are asked for
 *   gen_discard()    drop what is released but unread (stale seeds)
 *   gen_get_stats()  counters for -v and SIGUSR1
 *   gen_get_layout() the collector layout, for -r 1
 *   gen_free()       stop the threads, wipe, release
 *
 * A lane (lane.c) is one collector with its own health tests, online
 * tests and conditioner, and its own release ring (ring.h).  This file
 * decides who runs each lane's pipeline and hands the released bytes out.
 *
 * In each ring the producer alone moves head and release, the consumer
 * alone moves tail, both under g->grp.lock; the consumer reads and wipes
 * [tail, release), which the producer never writes.  With one lane there
 * is no thread: gen_read() produces when it runs dry.
 *
 * With several lanes, who produces is settled by the first read.  Read as
 * one stream (gen_read(), gen_peek(), gen_prefill()), each lane gets its
 * own thread that works ahead of the reader.  Read lane by lane
 * (gen_peek_lane(): one reader thread per lane, the file writer's), each
 * reader produces its own lane when it runs dry, as gen_read() does with
 * one lane: the bytes are made and written on one core while they are in
 * its cache, with no hand-over between threads, and the ring needs only
 * one fill of room.  A generator is read one way or the other, not both.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "generator.h"
#include "lane.h"
#include "log.h"
#include "ring.h"
#include "timer.h"
#include "util.h"

struct generator {
	struct lane_group grp;     /* config, lock, error, statistics */
	struct lane *lanes;        /* grp.nlanes of them */
	unsigned next;             /* lane gen_read() looks at first */
	enum { LANES_UNSET, LANES_THREADED, LANES_BY_READER } mode;  /* see above */
	struct lane *peeked;       /* the lane of the last gen_peek() */
};

static void set_error(struct lane_group *grp, int err)
{
	pthread_mutex_lock(&grp->lock);
	if (!grp->error)
		grp->error = err;
	pthread_cond_broadcast(&grp->ready);
	pthread_mutex_unlock(&grp->lock);
}

/* ------------------------------------------------------------ producers */

static void *lane_thread(void *arg)
{
	struct lane *l = arg;
	struct lane_group *grp = l->grp;
	size_t fill = l->fill_out;

	for (;;) {
		pthread_mutex_lock(&grp->lock);
		while (!grp->stop && !grp->error && l->ring.head + fill - l->ring.tail > l->ring.cap)
			pthread_cond_wait(&l->room, &grp->lock);
		bool quit = grp->stop || grp->error;
		pthread_mutex_unlock(&grp->lock);
		if (quit)
			break;
		int err = lane_produce(l);
		if (err < 0) {
			set_error(grp, err);
			break;
		}
	}
	return NULL;
}

/* ------------------------------------------------------------ consuming */

/* Why pthread_create() failed, in words a user can act on: EAGAIN is
 * also what a stack that cannot be mapped (ulimit -v) gives. */
static const char *thread_error(int err)
{
	if (err == EAGAIN)
		return "out of memory for its stack, or over the limit on processes "
		       "(ulimit -v, ulimit -u)";
	return strerror(err);
}

/* With g->grp.lock held, on a read of the merged stream: give each lane its
 * thread if that is not done yet.  Returns 0 or g->grp.error. */
static int lanes_threaded(struct generator *g)
{
	unsigned i;

	assert(g->mode != LANES_BY_READER);
	if (g->grp.nlanes < 2 || g->mode == LANES_THREADED)
		return g->grp.error;
	g->mode = LANES_THREADED;
	for (i = 0; i < g->grp.nlanes; i++)
		secret_lock(g->lanes[i].ring.buf, g->lanes[i].ring.cap);
	for (i = 0; i < g->grp.nlanes; i++) {
		int r = pthread_create(&g->lanes[i].thread, NULL, lane_thread, &g->lanes[i]);

		if (r != 0) {
			log_errx("cannot start a lane thread (%u of %u): %s", i + 1, g->grp.nlanes,
				 thread_error(r));
			if (!g->grp.error)
				g->grp.error = -r;
			break;
		}
		g->lanes[i].has_thread = true;
	}
	return g->grp.error;
}

int gen_start_lanes(struct generator *g)
{
	int r;

	pthread_mutex_lock(&g->grp.lock);
	r = lanes_threaded(g);
	pthread_mutex_unlock(&g->grp.lock);
	return r;
}

/* With g->grp.lock held, on a read of one lane: from now on each lane is
 * produced by its reader, in the smaller ring that needs. */
static void lanes_by_reader(struct generator *g)
{
	unsigned i;

	assert(g->mode != LANES_THREADED);
	if (g->mode == LANES_BY_READER)
		return;
	g->mode = LANES_BY_READER;
	for (i = 0; i < g->grp.nlanes; i++) {
		assert(g->lanes[i].ring.head == 0);
		g->lanes[i].ring.cap = g->lanes[i].cap_by_reader;
		secret_lock(g->lanes[i].ring.buf, g->lanes[i].ring.cap);
	}
}

/* Copy up to n released bytes of lane l into buf and wipe them from the
 * ring; called with g->grp.lock held, which it drops around the copy: the
 * producer never writes [tail, release). */
static size_t take(struct generator *g, struct lane *l, uint8_t *buf, size_t n)
{
	size_t k = (size_t)(l->ring.release - l->ring.tail);

	if (k > n)
		k = n;
	pthread_mutex_unlock(&g->grp.lock);
	ring_take(&l->ring, l->ring.tail, buf, k);
	pthread_mutex_lock(&g->grp.lock);
	l->ring.tail += k;
	g->grp.stats.bytes_out += k;
	pthread_cond_signal(&l->room);
	return k;
}

/* Called with g->grp.lock held: one fill of lane l made here, with the lock
 * dropped meanwhile; a failure becomes g->grp.error.  Returns lane_produce()'s
 * result. */
static int produce_unlocked(struct generator *g, struct lane *l)
{
	int r;

	pthread_mutex_unlock(&g->grp.lock);
	r = lane_produce(l);
	pthread_mutex_lock(&g->grp.lock);
	if (r < 0 && !g->grp.error)
		g->grp.error = r;
	return r;
}

/* The next lane with released bytes, round robin; NULL if none. */
static struct lane *ready_lane(struct generator *g)
{
	unsigned i;

	for (i = 0; i < g->grp.nlanes; i++) {
		struct lane *l = &g->lanes[(g->next + i) % g->grp.nlanes];

		if (l->ring.release > l->ring.tail) {
			g->next = (unsigned)((l - g->lanes) + 1) % g->grp.nlanes;
			return l;
		}
	}
	return NULL;
}

/* With g->grp.lock held: a lane with released bytes, waiting for the lane
 * threads or producing here (one lane, no thread) until there is one.
 * NULL once the generator has failed (g->grp.error says how). */
static struct lane *next_ready(struct generator *g)
{
	for (;;) {
		struct lane *l;

		if (g->grp.error)
			return NULL;
		l = ready_lane(g);
		if (l)
			return l;
		if (g->lanes[0].has_thread)
			pthread_cond_wait(&g->grp.ready, &g->grp.lock);
		else
			produce_unlocked(g, &g->lanes[0]);
	}
}

int gen_read(struct generator *g, void *buf, size_t n)
{
	uint8_t *p = buf;
	int ret = 0;

	pthread_mutex_lock(&g->grp.lock);
	lanes_threaded(g);
	while (n > 0) {
		struct lane *l = next_ready(g);
		size_t k;

		if (!l) {
			ret = g->grp.error;
			break;
		}
		k = take(g, l, p, n);
		p += k;
		n -= k;
	}
	pthread_mutex_unlock(&g->grp.lock);
	if (ret < 0)
		wipe(buf, (size_t)(p - (uint8_t *)buf));
	return ret;
}

/* ------------------------------------------------------------ start-up */

/* Several lanes warm up and pass their start-up tests side by side, each
 * on its own thread, so -t N costs no more start-up time than -t 1. */
struct init_job {
	struct generator *g;
	struct lane *l;
	int ret;
};

static void *init_thread(void *arg)
{
	struct init_job *j = arg;

	j->ret = lane_init(&j->g->grp, j->l);
	return NULL;
}

static int start_lanes(struct generator *g)
{
	struct init_job *jobs;
	pthread_t *tids;
	unsigned i, started = 0;
	int ret = 0;

	if (g->grp.nlanes == 1)
		return lane_init(&g->grp, &g->lanes[0]);
	jobs = calloc(g->grp.nlanes, sizeof(*jobs));
	tids = calloc(g->grp.nlanes, sizeof(*tids));
	if (!jobs || !tids) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < g->grp.nlanes; i++) {
		jobs[i] = (struct init_job){ .g = g, .l = &g->lanes[i] };
		if (pthread_create(&tids[i], NULL, init_thread, &jobs[i]) != 0) {
			ret = -EAGAIN;
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(tids[i], NULL);
		if (jobs[i].ret < 0 && ret == 0)
			ret = jobs[i].ret;
	}
out:
	free(jobs);
	free(tids);
	return ret;
}

/* A refused noise source says so in one line, however many lanes. */
static void log_refusal(const struct generator *g)
{
	unsigned i;

	for (i = 0; i < g->grp.nlanes; i++) {
		if (g->lanes[i].noise.why[0]) {
			log_errx("start-up health test failed: %s", g->lanes[i].noise.why);
			return;
		}
	}
}

static int init_lanes(struct generator *g)
{
	int ret = start_lanes(g);

	if (ret == -EIO)
		log_refusal(g);
	return ret;
}

static int start_threads(struct generator *g)
{
	unsigned i;

	/* The two-stage pipeline is for throughput (file, EGD).  The kernel
	 * feed wants seeds now and then, and threads that wake for nothing
	 * in between. */
	for (i = 0; i < g->grp.nlanes && g->grp.cfg.output == GEN_STREAM; i++) {
		if (g->lanes[i].online && lane_start_collector(&g->lanes[i]) < 0)
			return -EAGAIN;
	}
	return 0;
}

int gen_new(struct generator **gp, const struct gen_config *cfg)
{
	struct generator *g = calloc(1, sizeof(*g));
	int ret = -ENOMEM;

	*gp = NULL;
	if (!g)
		return -ENOMEM;
	g->grp.cfg = *cfg;
	g->grp.nlanes = cfg->threads ? cfg->threads : 1;
	/* A fill is a whole number of samples at any stride. */
	g->grp.fill_words = cfg->buffer_words - cfg->buffer_words % NOISE_FILL_QUANTUM;
	pthread_mutex_init(&g->grp.lock, NULL);
	pthread_cond_init(&g->grp.ready, NULL);
	g->lanes = calloc(g->grp.nlanes, sizeof(*g->lanes));
	if (!g->lanes || g->grp.fill_words == 0)
		goto fail;
	ret = init_lanes(g);
	if (ret < 0)
		goto fail;
	ret = start_threads(g);
	if (ret < 0)
		goto fail;
	*gp = g;
#ifdef HRNG_MOCK_TIMER
	timer_mock_started();
#endif
	return 0;
fail:
	gen_free(g);
	return ret;
}

void gen_free(struct generator *g)
{
	unsigned i;

	if (!g)
		return;
	pthread_mutex_lock(&g->grp.lock);
	g->grp.stop = true;
	for (i = 0; g->lanes && i < g->grp.nlanes; i++) {
		pthread_cond_signal(&g->lanes[i].room);
		pthread_cond_broadcast(&g->lanes[i].pipe.cond);
	}
	pthread_mutex_unlock(&g->grp.lock);
	for (i = 0; g->lanes && i < g->grp.nlanes; i++) {
		if (g->lanes[i].has_thread)
			pthread_join(g->lanes[i].thread, NULL);
		if (g->lanes[i].grp)
			lane_fini(&g->lanes[i]);
	}
	free(g->lanes);
	pthread_cond_destroy(&g->grp.ready);
	pthread_mutex_destroy(&g->grp.lock);
	wipe(g, sizeof(*g));
	free(g);
}

ssize_t gen_peek(struct generator *g, const uint8_t **p, size_t max)
{
	struct lane *l;
	ssize_t ret;

	pthread_mutex_lock(&g->grp.lock);
	lanes_threaded(g);
	l = next_ready(g);
	if (l) {
		size_t k = ring_span(&l->ring, l->ring.tail, l->ring.release - l->ring.tail);

		if (k > max)
			k = max;
		*p = l->ring.buf + ring_index(&l->ring, l->ring.tail);
		g->peeked = l;
		ret = (ssize_t)k;
	} else {
		ret = g->grp.error;
	}
	pthread_mutex_unlock(&g->grp.lock);
	return ret;
}

static void consume(struct generator *g, struct lane *l, size_t k)
{
	/* [tail, tail + k) is the consumer's alone: the producer never
	 * writes below release. */
	wipe(l->ring.buf + ring_index(&l->ring, l->ring.tail), k);
	pthread_mutex_lock(&g->grp.lock);
	l->ring.tail += k;
	g->grp.stats.bytes_out += k;
	pthread_cond_signal(&l->room);
	pthread_mutex_unlock(&g->grp.lock);
}

void gen_consume(struct generator *g, size_t k)
{
	consume(g, g->peeked, k);
}

unsigned gen_lanes(const struct generator *g)
{
	return g->grp.nlanes;
}

ssize_t gen_peek_lane(struct generator *g, unsigned lane, const uint8_t **p, size_t max)
{
	struct lane *l = &g->lanes[lane];
	ssize_t ret;

	pthread_mutex_lock(&g->grp.lock);
	lanes_by_reader(g);
	while (!g->grp.error && !g->grp.stop && l->ring.release == l->ring.tail) {
		produce_unlocked(g, l);
	}
	if (g->grp.error || g->grp.stop) {
		ret = g->grp.error ? g->grp.error : -EINTR;
	} else {
		size_t k = ring_span(&l->ring, l->ring.tail, l->ring.release - l->ring.tail);

		*p = l->ring.buf + ring_index(&l->ring, l->ring.tail);
		ret = (ssize_t)(k < max ? k : max);
	}
	pthread_mutex_unlock(&g->grp.lock);
	return ret;
}

void gen_consume_lane(struct generator *g, unsigned lane, size_t k)
{
	consume(g, &g->lanes[lane], k);
}

int gen_prefill(struct generator *g, size_t n)
{
	struct lane *l = &g->lanes[0];
	int ret = 0;

	pthread_mutex_lock(&g->grp.lock);
	/* Lanes with threads work ahead by themselves. */
	if (lanes_threaded(g) < 0 || l->has_thread) {
		ret = g->grp.error;
		pthread_mutex_unlock(&g->grp.lock);
		return ret;
	}
	while (ret == 0 && !g->grp.error && l->ring.release - l->ring.tail < n &&
	       l->ring.head - l->ring.tail + l->fill_out <= l->ring.cap) {
		ret = produce_unlocked(g, l);
	}
	ret = g->grp.error;
	pthread_mutex_unlock(&g->grp.lock);
	return ret;
}

void gen_discard(struct generator *g)
{
	unsigned i;

	pthread_mutex_lock(&g->grp.lock);
	for (i = 0; i < g->grp.nlanes; i++) {
		struct lane *l = &g->lanes[i];

		ring_wipe(&l->ring, l->ring.tail, l->ring.release);
		l->ring.tail = l->ring.release;
		pthread_cond_signal(&l->room);
	}
	pthread_mutex_unlock(&g->grp.lock);
}

void gen_get_stats(struct generator *g, struct gen_stats *st)
{
	pthread_mutex_lock(&g->grp.lock);
	*st = g->grp.stats;
	pthread_mutex_unlock(&g->grp.lock);
}

const struct noise *gen_noise(const struct generator *g)
{
	return &g->lanes[0].noise;
}

void gen_get_layout(const struct generator *g, struct collector_layout *l)
{
	collector_get_layout(g->lanes[0].noise.col, l);
}

/* ------------------------------------------------------------ byte source */

static int source_read(void *ctx, void *buf, size_t n)
{
	return gen_read(ctx, buf, n);
}

static ssize_t source_peek(void *ctx, const uint8_t **p, size_t max)
{
	return gen_peek(ctx, p, max);
}

static void source_consume(void *ctx, size_t k)
{
	gen_consume(ctx, k);
}

static ssize_t source_peek_lane(void *ctx, unsigned lane, const uint8_t **p, size_t max)
{
	return gen_peek_lane(ctx, lane, p, max);
}

static void source_consume_lane(void *ctx, unsigned lane, size_t k)
{
	gen_consume_lane(ctx, lane, k);
}

struct byte_source gen_byte_source(struct generator *g)
{
	struct byte_source src = { .read = source_read, .peek = source_peek,
				   .consume = source_consume, .ctx = g };

	if (gen_lanes(g) > 1) {
		src.lanes = gen_lanes(g);
		src.peek_lane = source_peek_lane;
		src.consume_lane = source_consume_lane;
	}
	return src;
}
