/* generator.c - collectors, health tests, online tests and conditioning,
 * assembled into one source of conditioned bytes.
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
 * A lane is one collector with its own health tests, online tests and
 * conditioner.  Each fill of walk output goes through, in order:
 *  1. the SP 800-90B health tests on the fill's timer deltas: a failing
 *     fill is dropped before anything sees it;
 *  2. the continuous AIS-31 group on the walk bytes, which reports where
 *     each procedure ends and whether it passed (GEN_STREAM only: seeds
 *     hold no walk byte, see continuous_tests());
 *  3. the conditioner, 16 KiB of walk per key, into the lane's ring
 *     (GEN_STREAM); or, for GEN_SEEDS, the fill's raw samples hashed into
 *     32-byte seeds, gen_seed_samples() samples each.
 * Conditioned bytes stay in the ring, unreleased, until the procedure that
 * covered their walk bytes has passed; what a failed or retried procedure
 * covered is dropped from the ring.  Without continuous tests every byte is
 * released as soon as it is conditioned.
 *
 * Ring positions are stream offsets that only increase:
 *   tail <= release <= head,  head - tail <= cap
 * [tail, release) may be read by gen_read(); [release, head) awaits a test
 * verdict; [head, ...) is the producer's to write.  The producer alone moves
 * head and release, the consumer alone moves tail, both under g->lock.
 * With one lane there is no thread: gen_read() produces when it runs dry.
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

#include "ais31.h"
#include "conditioner.h"
#include "generator.h"
#include "health.h"
#include "log.h"
#include "noise.h"
#include "timer.h"
#include "util.h"

enum {
	GEN_CHUNK = 16384,        /* walk bytes behind each conditioner key */
	/* Walk output a single AIS-31 procedure may cover before its verdict:
	 * A takes 1,035,716 bytes; B about 0.9 MB on sound data and at most
	 * 2.67 MB (ais31.c caps each T6b/T7 step at four times its mean).
	 * A procedure still undecided after 3 MiB is a definitive failure. */
	GEN_HOLD_MAX = 3 << 20,
	/* GEN_SEEDS: seed bytes that can wait, made ahead, besides one fill's:
	 * the most the kernel feeder gives in one call (FEEDER_CALL_MAX). */
	GEN_SEEDS_AHEAD = 4096,
};

struct lane {
	struct generator *g;
	struct noise noise;        /* the calibrated collector; noise.why is
	                            * set only when calibration refused it */
	struct health health;
	struct conditioner *cond;
	struct ais31_ctl *online;  /* continuous group, NULL = none */
	uint32_t *walk;            /* the fill being tested and conditioned */
	uint64_t *deltas;          /* its timer deltas */
	/* With continuous tests a collector thread fills the next buffer
	 * while this one is tested: a two-stage pipeline over two buffers. */
	struct fillbuf {
		uint32_t *walk;
		uint64_t *deltas;
		bool full;             /* filled and health-tested, not yet used */
	} fb[2];
	unsigned fb_fill, fb_use;  /* next buffer to fill / to use */
	pthread_t collector;
	bool has_collector;
	pthread_cond_t fb_cond;    /* a buffer became full or free */
	uint8_t *ring;             /* conditioned bytes, cap a power of two */
	size_t cap;
	size_t ring_size;          /* as allocated: cap may shrink (see below) */
	uint64_t tail, release, head;   /* see the invariant above */
	uint64_t unreleased_walk;  /* walk bytes behind [release, head) */
	uint64_t head_max;         /* the highest head has been; only increases */
	size_t fill_out;           /* ring bytes one fill adds at most */
	size_t cap_by_reader;      /* cap enough when the reader produces */
	uint64_t *pend;            /* GEN_SEEDS: samples awaiting a seed */
	size_t npend;
	pthread_t thread;
	bool has_thread;
	pthread_cond_t room;       /* consumer -> producer: tail moved */
};

struct generator {
	struct gen_config cfg;
	size_t fill_words;
	struct lane *lanes;
	unsigned nlanes;
	unsigned next;             /* lane gen_read() looks at first */
	enum { LANES_UNSET, LANES_THREADED, LANES_BY_READER } mode;  /* see above */
	struct lane *peeked;       /* the lane of the last gen_peek() */
	pthread_mutex_t lock;
	pthread_cond_t ready;      /* producer -> consumer: release moved */
	bool stop;                 /* set once by gen_free() */
	int error;                 /* 0, or -EIO once permanent; sticky */
	struct gen_stats stats;    /* under lock */
};

static size_t ring_index(const struct lane *l, uint64_t pos)
{
	return (size_t)(pos & (l->cap - 1));
}

static void set_error(struct generator *g, int err)
{
	pthread_mutex_lock(&g->lock);
	if (!g->error)
		g->error = err;
	pthread_cond_broadcast(&g->ready);
	pthread_mutex_unlock(&g->lock);
}

/* ------------------------------------------------------------ producing */

static size_t deltas_size(const struct generator *g);

/* Fill walk until a fill passes the health tests; -EIO once they fail
 * permanently. */
static int fill_healthy(struct lane *l, uint32_t *walk, uint64_t *deltas)
{
	struct generator *g = l->g;

	for (;;) {
		uint64_t t0 = log_verbose(VERB_FILLS) ? monotonic_ns() : 0;
		size_t n = noise_fill(&l->noise, walk, g->fill_words, deltas);
		unsigned fail = health_insert(&l->health, deltas, n);

		if (t0)
			log_info("fill: %zu words, %zu samples in %.3f ms", g->fill_words, n,
				 (double)(monotonic_ns() - t0) / 1e6);
		pthread_mutex_lock(&g->lock);
		g->stats.samples += n;
		g->stats.walk_bytes += g->fill_words * 4;
		if (fail & ~HEALTH_PERMANENT_MASK && !(fail & HEALTH_PERMANENT_MASK))
			g->stats.health_intermittent++;
		g->stats.health_failure |= fail & HEALTH_PERMANENT_MASK;
		pthread_mutex_unlock(&g->lock);
		if (fail & HEALTH_PERMANENT_MASK) {
			log_errx("noise source failed permanently (%s): no further output",
				 health_describe(fail));
			return -EIO;
		}
		if (!fail) {
			health_clean(&l->health);
			return 0;
		}
		if (log_verbose(VERB_RETRIES))
			log_warnx("health test %s failed on a fill: discarded",
				  health_describe(fail));
		health_reset(&l->health);
	}
}

/* Condition fill bytes [off, off + n) into the ring at head.  The key of
 * each piece comes from the samples that produced it (sample i produced
 * walk bytes [B i, B i + B), B = noise_sample_bytes()). */
static int condition(struct lane *l, size_t off, size_t n)
{
	const size_t SAMPLE_BYTES = noise_sample_bytes(&l->noise);
	const uint8_t *walk = (const uint8_t *)l->walk + off;

	while (n > 0) {
		size_t at = ring_index(l, l->head);
		size_t k = n < GEN_CHUNK ? n : GEN_CHUNK;
		size_t s0 = off / SAMPLE_BYTES, s1;

		if (k > l->cap - at)
			k = l->cap - at;
		s1 = (off + k + SAMPLE_BYTES - 1) / SAMPLE_BYTES;
		if (cond_block(l->cond, l->deltas + s0, s1 - s0, walk, k, l->ring + at) < 0) {
			log_errx("conditioner failed (libgcrypt)");
			return -EIO;
		}
		walk += k;
		off += k;
		n -= k;
		pthread_mutex_lock(&l->g->lock);
		l->head += k;
		if (l->head > l->head_max)
			l->head_max = l->head;
		pthread_mutex_unlock(&l->g->lock);
	}
	return 0;
}

/* GEN_SEEDS: sample i produced walk bytes [B i, B i + B) and belongs to
 * the piece that holds its first byte.  Every gen_seed_samples() samples
 * make one seed, appended to the ring (head stays a multiple of 32). */
static int make_seeds(struct lane *l, size_t off, size_t n)
{
	const size_t SAMPLE_BYTES = noise_sample_bytes(&l->noise);
	size_t i = (off + SAMPLE_BYTES - 1) / SAMPLE_BYTES;
	size_t end = (off + n + SAMPLE_BYTES - 1) / SAMPLE_BYTES;
	size_t per_seed = gen_seed_samples();

	for (; i < end; i++) {
		l->pend[l->npend++] = l->deltas[i];
		if (l->npend < per_seed)
			continue;
		if (cond_seed(l->cond, l->pend, l->npend, l->ring + ring_index(l, l->head)) < 0)
			return -EIO;
		wipe(l->pend, l->npend * sizeof(*l->pend));
		l->npend = 0;
		pthread_mutex_lock(&l->g->lock);
		l->head += COND_KEY_BYTES;
		if (l->head > l->head_max)
			l->head_max = l->head;
		pthread_mutex_unlock(&l->g->lock);
	}
	return 0;
}

static void release_to_head(struct lane *l)
{
	struct generator *g = l->g;

	l->unreleased_walk = 0;
	pthread_mutex_lock(&g->lock);
	l->release = l->head;
	pthread_cond_broadcast(&g->ready);
	pthread_mutex_unlock(&g->lock);
}

static void wipe_ring_range(struct lane *l, uint64_t from, uint64_t to)
{
	while (from < to) {
		size_t at = ring_index(l, from);
		size_t k = l->cap - at;

		if (k > to - from)
			k = (size_t)(to - from);
		wipe(l->ring + at, k);
		from += k;
	}
}

/* A procedure failed or is re-run: drop what it covered, which is all of
 * [release, head) plus `skip` bytes of the current fill. */
static void drop_unreleased(struct lane *l, size_t skip)
{
	struct generator *g = l->g;

	pthread_mutex_lock(&g->lock);
	g->stats.online_discarded += l->unreleased_walk + skip;
	wipe_ring_range(l, l->release, l->head);
	l->head = l->release;
	pthread_mutex_unlock(&g->lock);
	l->unreleased_walk = 0;
	if (l->pend) {
		wipe(l->pend, l->npend * sizeof(*l->pend));
		l->npend = 0;
	}
}

/*
 * The online-test seam: feed walk bytes to the lane's continuous group.
 * Sets *used to the bytes consumed up to the next procedure boundary (or
 * all of n) and returns what happened there.
 */
enum verdict { V_MORE, V_PASS, V_DROP, V_FAIL };

static void log_event(const struct ais31_event *ev, const char *group)
{
	char line[512];

	/* An advisory procedure's failure is always logged: that is all
	 * advisory means.  Other results follow -v 32 (all) and -v 2 (retries
	 * and failures). */
	if (log_verbose(VERB_TESTS) || ev->verdict == AIS31_WARN ||
	    (ev->verdict != AIS31_PASS && log_verbose(VERB_RETRIES))) {
		ais31_format_result(&ev->result, line, sizeof(line));
		log_info("%s %s: %s", group,
			 ev->verdict == AIS31_PASS ? "passed" :
			 ev->verdict == AIS31_RETRY ? "failed once, retrying" :
			 ev->verdict == AIS31_WARN ? "failed (advisory)" : "FAILED", line);
	}
}

static void count_event(struct generator *g, const struct ais31_event *ev)
{
	pthread_mutex_lock(&g->lock);
	g->stats.online_runs++;
	g->stats.online_retries += ev->verdict == AIS31_RETRY;
	pthread_mutex_unlock(&g->lock);
}

static enum verdict online_feed(struct lane *l, const uint8_t *walk, size_t n, size_t *used)
{
	struct ais31_event ev;

	if (!l->online) {
		*used = n;
		return V_PASS;
	}
	*used = ais31_ctl_feed(l->online, walk, n, &ev);
	if (ais31_ctl_failed(l->online) && !ev.completed)
		return V_FAIL;
	if (!ev.completed)
		return V_MORE;
	count_event(l->g, &ev);
	log_event(&ev, "continuous test");
	switch (ev.verdict) {
	case AIS31_PASS:
	case AIS31_WARN:
		return V_PASS;
	case AIS31_RETRY:
		return V_DROP;
	case AIS31_FAIL:
	default:
		return V_FAIL;
	}
}

/* The collector stage of the pipeline: fill and health-test buffers ahead
 * of the tester stage. */
static void *collector_thread(void *arg)
{
	struct lane *l = arg;
	struct generator *g = l->g;

	for (;;) {
		struct fillbuf *b = &l->fb[l->fb_fill];
		int err;

		pthread_mutex_lock(&g->lock);
		while (!g->stop && !g->error && b->full)
			pthread_cond_wait(&l->fb_cond, &g->lock);
		bool quit = g->stop || g->error;
		pthread_mutex_unlock(&g->lock);
		if (quit)
			break;
		err = fill_healthy(l, b->walk, b->deltas);
		pthread_mutex_lock(&g->lock);
		if (err < 0 && !g->error)
			g->error = err;
		b->full = err == 0;
		l->fb_fill ^= 1;
		pthread_cond_broadcast(&l->fb_cond);
		pthread_cond_broadcast(&g->ready);
		pthread_mutex_unlock(&g->lock);
		if (err < 0)
			break;
	}
	return NULL;
}

/* The next healthy fill, in l->walk and l->deltas: from the collector
 * thread when there is one, else collected here. */
static int next_fill(struct lane *l)
{
	struct generator *g = l->g;
	struct fillbuf *b;
	int err;

	if (!l->has_collector) {
		l->walk = l->fb[0].walk;
		l->deltas = l->fb[0].deltas;
		return fill_healthy(l, l->walk, l->deltas);
	}
	b = &l->fb[l->fb_use];
	pthread_mutex_lock(&g->lock);
	while (!b->full && !g->error && !g->stop)
		pthread_cond_wait(&l->fb_cond, &g->lock);
	err = b->full ? 0 : (g->error ? g->error : -EINTR);
	pthread_mutex_unlock(&g->lock);
	l->walk = b->walk;
	l->deltas = b->deltas;
	return err;
}

/* The tester stage is done with l->walk: hand its buffer back.  Both
 * halves are wiped: the walk is what the output was made from, and the
 * deltas are what its key was hashed from. */
static void release_fill(struct lane *l)
{
	struct generator *g = l->g;

	if (!l->noise.seeds_walk)       /* the seeds walk writes none */
		wipe(l->walk, g->fill_words * 4);
	wipe(l->deltas, deltas_size(g));
	if (!l->has_collector)
		return;
	pthread_mutex_lock(&g->lock);
	l->fb[l->fb_use].full = false;
	l->fb_use ^= 1;
	pthread_cond_signal(&l->fb_cond);
	pthread_mutex_unlock(&g->lock);
}

/* One fill: health tests, online tests, conditioning, release. */
static int produce(struct lane *l)
{
	size_t left = l->g->fill_words * 4, off = 0;
	int ret = next_fill(l);
	const uint8_t *w = (const uint8_t *)l->walk;

	if (ret < 0)
		return ret;

	while (ret == 0 && left > 0) {
		size_t used;
		enum verdict v = online_feed(l, w, left, &used);

		switch (v) {
		case V_FAIL:
			log_errx("continuous online test failed definitively: no further output");
			drop_unreleased(l, used);
			return -EIO;
		case V_DROP:
			drop_unreleased(l, used);
			break;
		case V_PASS:
		case V_MORE:
			l->unreleased_walk += used;
			ret = l->g->cfg.output == GEN_SEEDS ? make_seeds(l, off, used)
							    : condition(l, off, used);
			if (ret == 0 && v == V_PASS)
				release_to_head(l);
			break;
		}
		if (ret == 0 && l->unreleased_walk > GEN_HOLD_MAX) {
			log_errx("online test did not finish within %d bytes: no further output",
				 GEN_HOLD_MAX);
			ret = -EIO;
		}
		w += used;
		off += used;
		left -= used;
	}
	release_fill(l);
	return ret;
}

static void *lane_thread(void *arg)
{
	struct lane *l = arg;
	struct generator *g = l->g;
	size_t fill = l->fill_out;

	for (;;) {
		pthread_mutex_lock(&g->lock);
		while (!g->stop && !g->error && l->head + fill - l->tail > l->cap)
			pthread_cond_wait(&l->room, &g->lock);
		bool quit = g->stop || g->error;
		pthread_mutex_unlock(&g->lock);
		if (quit)
			break;
		int err = produce(l);
		if (err < 0) {
			set_error(g, err);
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

/* With g->lock held, on a read of the merged stream: give each lane its
 * thread if that is not done yet.  Returns 0 or g->error. */
static int lanes_threaded(struct generator *g)
{
	unsigned i;

	assert(g->mode != LANES_BY_READER);
	if (g->nlanes < 2 || g->mode == LANES_THREADED)
		return g->error;
	g->mode = LANES_THREADED;
	for (i = 0; i < g->nlanes; i++)
		secret_lock(g->lanes[i].ring, g->lanes[i].cap);
	for (i = 0; i < g->nlanes; i++) {
		int r = pthread_create(&g->lanes[i].thread, NULL, lane_thread, &g->lanes[i]);

		if (r != 0) {
			log_errx("cannot start a lane thread (%u of %u): %s", i + 1, g->nlanes,
				 thread_error(r));
			if (!g->error)
				g->error = -r;
			break;
		}
		g->lanes[i].has_thread = true;
	}
	return g->error;
}

int gen_start_lanes(struct generator *g)
{
	int r;

	pthread_mutex_lock(&g->lock);
	r = lanes_threaded(g);
	pthread_mutex_unlock(&g->lock);
	return r;
}

/* With g->lock held, on a read of one lane: from now on each lane is
 * produced by its reader, in the smaller ring that needs. */
static void lanes_by_reader(struct generator *g)
{
	unsigned i;

	assert(g->mode != LANES_THREADED);
	if (g->mode == LANES_BY_READER)
		return;
	g->mode = LANES_BY_READER;
	for (i = 0; i < g->nlanes; i++) {
		assert(g->lanes[i].head == 0);
		g->lanes[i].cap = g->lanes[i].cap_by_reader;
		secret_lock(g->lanes[i].ring, g->lanes[i].cap);
	}
}

/* Copy up to n released bytes of lane l into buf and wipe them from the
 * ring; called with g->lock held, which it drops around the copy: the
 * producer never writes [tail, release). */
static size_t take(struct generator *g, struct lane *l, uint8_t *buf, size_t n)
{
	uint64_t from = l->tail;
	size_t k = (size_t)(l->release - from), done = 0;

	if (k > n)
		k = n;
	pthread_mutex_unlock(&g->lock);
	while (done < k) {
		size_t at = ring_index(l, from + done);
		size_t c = l->cap - at;

		if (c > k - done)
			c = k - done;
		memcpy(buf + done, l->ring + at, c);
		wipe(l->ring + at, c);
		done += c;
	}
	pthread_mutex_lock(&g->lock);
	l->tail += k;
	g->stats.bytes_out += k;
	pthread_cond_signal(&l->room);
	return k;
}

/* Called with g->lock held: one fill of lane l made here, with the lock
 * dropped meanwhile; a failure becomes g->error.  Returns produce()'s
 * result. */
static int produce_unlocked(struct generator *g, struct lane *l)
{
	int r;

	pthread_mutex_unlock(&g->lock);
	r = produce(l);
	pthread_mutex_lock(&g->lock);
	if (r < 0 && !g->error)
		g->error = r;
	return r;
}

/* The next lane with released bytes, round robin; NULL if none. */
static struct lane *ready_lane(struct generator *g)
{
	unsigned i;

	for (i = 0; i < g->nlanes; i++) {
		struct lane *l = &g->lanes[(g->next + i) % g->nlanes];

		if (l->release > l->tail) {
			g->next = (unsigned)((l - g->lanes) + 1) % g->nlanes;
			return l;
		}
	}
	return NULL;
}

/* With g->lock held: a lane with released bytes, waiting for the lane
 * threads or producing here (one lane, no thread) until there is one.
 * NULL once the generator has failed (g->error says how). */
static struct lane *next_ready(struct generator *g)
{
	for (;;) {
		struct lane *l;

		if (g->error)
			return NULL;
		l = ready_lane(g);
		if (l)
			return l;
		if (g->lanes[0].has_thread)
			pthread_cond_wait(&g->ready, &g->lock);
		else
			produce_unlocked(g, &g->lanes[0]);
	}
}

int gen_read(struct generator *g, void *buf, size_t n)
{
	uint8_t *p = buf;
	int ret = 0;

	pthread_mutex_lock(&g->lock);
	lanes_threaded(g);
	while (n > 0) {
		struct lane *l = next_ready(g);
		size_t k;

		if (!l) {
			ret = g->error;
			break;
		}
		k = take(g, l, p, n);
		p += k;
		n -= k;
	}
	pthread_mutex_unlock(&g->lock);
	if (ret < 0)
		wipe(buf, (size_t)(p - (uint8_t *)buf));
	return ret;
}

unsigned gen_seed_samples(void)
{
	enum { SEED_INPUT_HALVES = 2 * (COND_KEY_BYTES * 8 + 64) };

	return (SEED_INPUT_HALVES + HEALTH_ENTROPY_HALVES - 1) / HEALTH_ENTROPY_HALVES;
}

/* ------------------------------------------------------------ start-up */

static size_t pow2_at_least(size_t n)
{
	size_t p = 1;

	while (p < n)
		p *= 2;
	return p;
}

/* Bytes of timer deltas behind one fill. */
static size_t deltas_size(const struct generator *g)
{
	return g->fill_words / COLLECTOR_WORDS_PER_SAMPLE * sizeof(uint64_t);
}

/* The start-up group of -o: run on fresh walk output, which is then thrown
 * away, before any output. */
static int startup_online(struct lane *l)
{
	const struct testspec *spec = l->g->cfg.spec;
	struct ais31_ctl *ctl;
	struct ais31_event ev;
	int ret = 0;

	if (!spec || !testspec_any(&spec->startup))
		return 0;
	ctl = ais31_ctl_new(&spec->startup, false);
	if (!ctl)
		return -ENOMEM;
	/* The group tests walk output, which only the stream walk makes:
	 * seeds mode runs it there too, on the same table (its samples are
	 * health-tested and thrown away like the output). */
	bool seeds_walk = l->noise.seeds_walk;
	l->noise.seeds_walk = false;
	while (ret == 0 && !ais31_ctl_finished(ctl) && !ais31_ctl_failed(ctl)) {
		const uint8_t *w = (const uint8_t *)l->walk;
		size_t left = l->g->fill_words * 4;

		ret = fill_healthy(l, l->walk, l->deltas);
		while (ret == 0 && left > 0 && !ais31_ctl_finished(ctl) && !ais31_ctl_failed(ctl)) {
			size_t used = ais31_ctl_feed(ctl, w, left, &ev);

			if (ev.completed) {
				count_event(l->g, &ev);
				log_event(&ev, "start-up test");
			}
			w += used;
			left -= used;
		}
	}
	if (ret == 0 && ais31_ctl_failed(ctl)) {
		log_errx("start-up online test (AIS-31, -o) failed: no output");
		ret = -EIO;
	}
	wipe(l->walk, l->g->fill_words * 4);
	l->noise.seeds_walk = seeds_walk;
	ais31_ctl_free(ctl);
	return ret;
}

/* GEN_STREAM: before the first block, absorb at least gen_seed_samples()
 * health-tested samples into the conditioner's chain, so the first key
 * already rests on 256 + 64 bits of claimed noise whatever the stride
 * (a block alone has 512 / stride samples behind it).  Part of the
 * start-up test: a failure here refuses the source. */
static int prime_chain(struct lane *l)
{
	const size_t per_step = COLLECTOR_WORDS_PER_SAMPLE * l->noise.stride;
	size_t need = gen_seed_samples(), words = need * per_step;
	uint8_t seed[COND_KEY_BYTES];
	int ret = 0;

	words = (words + NOISE_FILL_QUANTUM - 1) / NOISE_FILL_QUANTUM * NOISE_FILL_QUANTUM;
	if (words > l->g->fill_words)
		words = l->g->fill_words;
	while (ret == 0 && need > 0) {
		size_t n = noise_fill(&l->noise, l->walk, words, l->deltas);
		unsigned fail = health_insert(&l->health, l->deltas, n);

		if (fail) {
			log_errx("start-up health test failed (%s): no output", health_describe(fail));
			ret = -EIO;
		} else if (cond_seed(l->cond, l->deltas, n, seed) < 0) {
			ret = -EIO;
		}
		need -= n < need ? n : need;
	}
	wipe(seed, sizeof(seed));
	wipe(l->walk, words * 4);
	wipe(l->deltas, words / COLLECTOR_WORDS_PER_SAMPLE * sizeof(uint64_t));
	health_init(&l->health);
	return ret;
}

/* Whether the continuous AIS-31 group runs.  It tests walk bytes, which
 * are what GEN_STREAM output is made from.  GEN_SEEDS output is made from
 * the raw timer samples alone, each of which the SP 800-90B health tests
 * have passed; no seed holds a walk byte, so testing them would guard
 * nothing and costs about as much as the seeds themselves (doc/figures.md,
 * "The old-pool kernel").  The start-up tests run for both. */
static bool continuous_tests(const struct generator *g)
{
	return g->cfg.output == GEN_STREAM && g->cfg.spec &&
	       testspec_any(&g->cfg.spec->continuous);
}

static int lane_init(struct generator *g, struct lane *l)
{
	size_t fill = g->fill_words * 4;
	size_t hold = continuous_tests(g) ? GEN_HOLD_MAX : 0, ahead = 0;
	size_t ring_need;
	unsigned i;
	int ret;

	l->g = g;
	if (pthread_cond_init(&l->room, NULL) != 0 || pthread_cond_init(&l->fb_cond, NULL) != 0)
		return -ENOMEM;
	/* Calibration measures the noise and, on the same samples, is the
	 * SP 800-90B start-up health test (4.3 item 3: more than 1024). */
	ret = g->cfg.output == GEN_SEEDS ?
	      noise_calibrate_seeds(&l->noise, g->cfg.data_kb, g->cfg.inst_kb, g->cfg.table_fixed) :
	      noise_calibrate(&l->noise, g->cfg.data_kb, g->cfg.inst_kb, g->cfg.table_fixed);
	if (ret < 0)
		return ret;
	l->cond = cond_new();
	/* Walk output and timer deltas are what the output is made from:
	 * secret buffers, like the ring. */
	for (i = 0; i < (hold ? 2 : 1); i++) {
		l->fb[i].walk = secret_alloc(fill);
		l->fb[i].deltas = secret_alloc(deltas_size(g));
		if (!l->fb[i].walk || !l->fb[i].deltas)
			return -ENOMEM;
		secret_lock(l->fb[i].walk, fill);
		secret_lock(l->fb[i].deltas, deltas_size(g));
	}
	l->walk = l->fb[0].walk;
	l->deltas = l->fb[0].deltas;
	/* Ring bytes one fill can add: the fill itself, or its seeds (32 bytes
	 * per gen_seed_samples() samples, 32 walk bytes each). */
	l->fill_out = fill;
	if (g->cfg.output == GEN_SEEDS) {
		l->fill_out = (fill / 32 / gen_seed_samples() + 1) * COND_KEY_BYTES;
		/* No continuous test holds seeds back (continuous_tests());
		 * the room is for a whole refill made ahead by gen_prefill(),
		 * so that a wake-up is served from seeds already made. */
		ahead = GEN_SEEDS_AHEAD;
		l->pend = secret_alloc(gen_seed_samples() * sizeof(*l->pend));
		secret_lock(l->pend, gen_seed_samples() * sizeof(*l->pend));
	}
	/* One lane refills only when the ring has nothing released, so what a
	 * test may hold plus one fill is enough.  A lane with its own thread
	 * may work up to three fills ahead of the reader: with less slack the
	 * lanes and the reader wait on each other and -t 2 scales worse. */
	ring_need = hold + ahead + (g->nlanes > 1 ? 4 : 1) * l->fill_out;
	l->cap = pow2_at_least(ring_need);
	l->cap_by_reader = pow2_at_least(hold + ahead + l->fill_out);
	l->ring_size = l->cap;
	l->ring = secret_alloc(l->ring_size);
	if (!l->cond || !l->ring || (g->cfg.output == GEN_SEEDS && !l->pend))
		return -ENOMEM;
	if (hold) {
		l->online = ais31_ctl_new(&g->cfg.spec->continuous, true);
		if (!l->online)
			return -ENOMEM;
	}
	health_init(&l->health);
	ret = g->cfg.output == GEN_STREAM ? prime_chain(l) : 0;
	if (ret == 0)
		ret = startup_online(l);
	/* Locking faults the whole ring in: only after the start-up tests
	 * have freed their buffers, so the two never add up in the peak.
	 * With several lanes the first read settles how much of the ring is
	 * used, and locks that (lanes_threaded(), lanes_by_reader()). */
	if (ret == 0 && g->nlanes == 1)
		secret_lock(l->ring, l->cap);
	return ret;
}

static void lane_fini(struct lane *l)
{
	unsigned i;

	noise_free(&l->noise);
	cond_free(l->cond);
	ais31_ctl_free(l->online);
	for (i = 0; i < 2; i++) {
		if (l->fb[i].walk)
			wipe(l->fb[i].walk, l->g->fill_words * 4);
		if (l->fb[i].deltas)
			wipe(l->fb[i].deltas, deltas_size(l->g));
		secret_free(l->fb[i].walk, l->g->fill_words * 4);
		secret_free(l->fb[i].deltas, deltas_size(l->g));
	}
	if (l->pend)
		wipe(l->pend, gen_seed_samples() * sizeof(*l->pend));
	secret_free(l->pend, gen_seed_samples() * sizeof(*l->pend));
	/* Ring positions are written from 0 on, so only the first head_max
	 * bytes (at most the whole ring) ever held output; wiping the rest
	 * would only fault in pages nobody touched. */
	if (l->ring)
		wipe(l->ring, l->head_max < l->cap ? (size_t)l->head_max : l->cap);
	secret_free(l->ring, l->ring_size);
	pthread_cond_destroy(&l->room);
	pthread_cond_destroy(&l->fb_cond);
}

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

	j->ret = lane_init(j->g, j->l);
	return NULL;
}

static int start_lanes(struct generator *g)
{
	struct init_job *jobs;
	pthread_t *tids;
	unsigned i, started = 0;
	int ret = 0;

	if (g->nlanes == 1)
		return lane_init(g, &g->lanes[0]);
	jobs = calloc(g->nlanes, sizeof(*jobs));
	tids = calloc(g->nlanes, sizeof(*tids));
	if (!jobs || !tids) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < g->nlanes; i++) {
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

	for (i = 0; i < g->nlanes; i++) {
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
	for (i = 0; i < g->nlanes && g->cfg.output == GEN_STREAM; i++) {
		struct lane *l = &g->lanes[i];

		if (!l->online)
			continue;
		if (pthread_create(&l->collector, NULL, collector_thread, l) != 0)
			return -EAGAIN;
		l->has_collector = true;
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
	g->cfg = *cfg;
	g->nlanes = cfg->threads ? cfg->threads : 1;
	/* A fill is a whole number of samples at any stride. */
	g->fill_words = cfg->buffer_words - cfg->buffer_words % NOISE_FILL_QUANTUM;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->ready, NULL);
	g->lanes = calloc(g->nlanes, sizeof(*g->lanes));
	if (!g->lanes || g->fill_words == 0)
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
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	for (i = 0; g->lanes && i < g->nlanes; i++) {
		pthread_cond_signal(&g->lanes[i].room);
		pthread_cond_broadcast(&g->lanes[i].fb_cond);
	}
	pthread_mutex_unlock(&g->lock);
	for (i = 0; g->lanes && i < g->nlanes; i++) {
		if (g->lanes[i].has_thread)
			pthread_join(g->lanes[i].thread, NULL);
		if (g->lanes[i].has_collector)
			pthread_join(g->lanes[i].collector, NULL);
		if (g->lanes[i].g)
			lane_fini(&g->lanes[i]);
	}
	free(g->lanes);
	pthread_cond_destroy(&g->ready);
	pthread_mutex_destroy(&g->lock);
	wipe(g, sizeof(*g));
	free(g);
}

ssize_t gen_peek(struct generator *g, const uint8_t **p, size_t max)
{
	struct lane *l;
	ssize_t ret;

	pthread_mutex_lock(&g->lock);
	lanes_threaded(g);
	l = next_ready(g);
	if (l) {
		size_t at = ring_index(l, l->tail), k = (size_t)(l->release - l->tail);

		if (k > l->cap - at)
			k = l->cap - at;
		if (k > max)
			k = max;
		*p = l->ring + at;
		g->peeked = l;
		ret = (ssize_t)k;
	} else {
		ret = g->error;
	}
	pthread_mutex_unlock(&g->lock);
	return ret;
}

static void consume(struct generator *g, struct lane *l, size_t k)
{
	/* [tail, tail + k) is the consumer's alone: the producer never
	 * writes below release. */
	wipe(l->ring + ring_index(l, l->tail), k);
	pthread_mutex_lock(&g->lock);
	l->tail += k;
	g->stats.bytes_out += k;
	pthread_cond_signal(&l->room);
	pthread_mutex_unlock(&g->lock);
}

void gen_consume(struct generator *g, size_t k)
{
	consume(g, g->peeked, k);
}

unsigned gen_lanes(const struct generator *g)
{
	return g->nlanes;
}

ssize_t gen_peek_lane(struct generator *g, unsigned lane, const uint8_t **p, size_t max)
{
	struct lane *l = &g->lanes[lane];
	ssize_t ret;

	pthread_mutex_lock(&g->lock);
	lanes_by_reader(g);
	while (!g->error && !g->stop && l->release == l->tail) {
		produce_unlocked(g, l);
	}
	if (g->error || g->stop) {
		ret = g->error ? g->error : -EINTR;
	} else {
		size_t at = ring_index(l, l->tail), k = (size_t)(l->release - l->tail);

		if (k > l->cap - at)
			k = l->cap - at;
		*p = l->ring + at;
		ret = (ssize_t)(k < max ? k : max);
	}
	pthread_mutex_unlock(&g->lock);
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

	pthread_mutex_lock(&g->lock);
	/* Lanes with threads work ahead by themselves. */
	if (lanes_threaded(g) < 0 || l->has_thread) {
		ret = g->error;
		pthread_mutex_unlock(&g->lock);
		return ret;
	}
	while (ret == 0 && !g->error && l->release - l->tail < n &&
	       l->head - l->tail + l->fill_out <= l->cap) {
		ret = produce_unlocked(g, l);
	}
	ret = g->error;
	pthread_mutex_unlock(&g->lock);
	return ret;
}

void gen_discard(struct generator *g)
{
	unsigned i;

	pthread_mutex_lock(&g->lock);
	for (i = 0; i < g->nlanes; i++) {
		struct lane *l = &g->lanes[i];

		wipe_ring_range(l, l->tail, l->release);
		l->tail = l->release;
		pthread_cond_signal(&l->room);
	}
	pthread_mutex_unlock(&g->lock);
}

void gen_get_stats(struct generator *g, struct gen_stats *st)
{
	pthread_mutex_lock(&g->lock);
	*st = g->stats;
	pthread_mutex_unlock(&g->lock);
}

const struct noise *gen_noise(const struct generator *g)
{
	return &g->lanes[0].noise;
}

void gen_get_layout(const struct generator *g, struct collector_layout *l)
{
	collector_get_layout(g->lanes[0].noise.col, l);
}
