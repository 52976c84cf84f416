/* lane.c - one lane's pipeline: fill, health tests, online tests,
 * conditioning or seeds, release; and the start-up tests before it.
 *
 * Functions offered (see lane.h):
 *   lane_init()      calibrate, allocate, prime, run the start-up tests
 *   lane_produce()   one fill through the pipeline into the ring
 *   lane_start_collector()  the collector thread of the two-stage pipeline
 *   lane_fini()      join the collector, wipe, release
 *
 * Each fill of walk output goes through, in order:
 *  1. the SP 800-90B health tests on the fill's timer deltas: a failing
 *     fill is dropped before anything sees it;
 *  2. the continuous AIS-31 group on the walk bytes, which reports where
 *     each procedure ends and whether it passed (GEN_STREAM only: seeds
 *     hold no walk byte, see continuous_tests());
 *  3. the conditioner, 16 KiB of walk per key, into the lane's ring
 *     (GEN_STREAM, condition()); or, for GEN_SEEDS, the fill's raw samples
 *     hashed into 32-byte seeds, gen_seed_samples() samples each
 *     (make_seeds()).
 * Conditioned bytes stay in the ring, unreleased, until the procedure that
 * covered their walk bytes has passed; what a failed or retried procedure
 * covered is dropped from the ring.  Without continuous tests every byte is
 * released as soon as it is conditioned.  The producer alone moves head
 * and release, under the group's lock (ring.h has the invariant).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "ais31.h"
#include "conditioner.h"
#include "lane.h"
#include "log.h"
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

static size_t pow2_at_least(size_t n)
{
	size_t p = 1;

	while (p < n)
		p *= 2;
	return p;
}

/* Bytes of timer deltas behind one fill. */
static size_t deltas_size(const struct lane_group *grp)
{
	return grp->fill_words / COLLECTOR_WORDS_PER_SAMPLE * sizeof(uint64_t);
}

/* ------------------------------------------------------------ producing */

/* Fill walk until a fill passes the health tests; -EIO once they fail
 * permanently. */
static int fill_healthy(struct lane *l, uint32_t *walk, uint64_t *deltas)
{
	struct lane_group *grp = l->grp;

	for (;;) {
		uint64_t t0 = log_verbose(VERB_FILLS) ? monotonic_ns() : 0;
		size_t n = noise_fill(&l->noise, walk, grp->fill_words, deltas);
		unsigned fail = health_insert(&l->health, deltas, n);

		if (t0)
			log_info("fill: %zu words, %zu samples in %.3f ms", grp->fill_words, n,
				 (double)(monotonic_ns() - t0) / 1e6);
		pthread_mutex_lock(&grp->lock);
		grp->stats.samples += n;
		grp->stats.walk_bytes += grp->fill_words * 4;
		if (fail & ~HEALTH_PERMANENT_MASK && !(fail & HEALTH_PERMANENT_MASK))
			grp->stats.health_intermittent++;
		grp->stats.health_failure |= fail & HEALTH_PERMANENT_MASK;
		pthread_mutex_unlock(&grp->lock);
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
		size_t at = ring_index(&l->ring, l->ring.head);
		size_t k = ring_span(&l->ring, l->ring.head, n < GEN_CHUNK ? n : GEN_CHUNK);
		size_t s0 = off / SAMPLE_BYTES, s1;

		s1 = (off + k + SAMPLE_BYTES - 1) / SAMPLE_BYTES;
		if (cond_block(l->cond, l->deltas + s0, s1 - s0, walk, k, l->ring.buf + at) < 0) {
			log_errx("conditioner failed (libgcrypt)");
			return -EIO;
		}
		walk += k;
		off += k;
		n -= k;
		pthread_mutex_lock(&l->grp->lock);
		ring_push(&l->ring, k);
		pthread_mutex_unlock(&l->grp->lock);
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
		l->pend[l->npend++] = (uint8_t)l->deltas[i];   /* a sample is 8 bits */
		if (l->npend < per_seed)
			continue;
		if (cond_seed_bytes(l->cond, l->pend, l->npend,
				    l->ring.buf + ring_index(&l->ring, l->ring.head)) < 0)
			return -EIO;
		wipe(l->pend, l->npend * sizeof(*l->pend));
		l->npend = 0;
		pthread_mutex_lock(&l->grp->lock);
		ring_push(&l->ring, COND_KEY_BYTES);
		pthread_mutex_unlock(&l->grp->lock);
	}
	return 0;
}

static void release_to_head(struct lane *l)
{
	struct lane_group *grp = l->grp;

	l->unreleased_walk = 0;
	pthread_mutex_lock(&grp->lock);
	l->ring.release = l->ring.head;
	pthread_cond_broadcast(&grp->ready);
	pthread_mutex_unlock(&grp->lock);
}

/* A procedure failed or is re-run: drop what it covered, which is all of
 * [release, head) plus `skip` bytes of the current fill. */
static void drop_unreleased(struct lane *l, size_t skip)
{
	struct lane_group *grp = l->grp;

	pthread_mutex_lock(&grp->lock);
	grp->stats.online_discarded += l->unreleased_walk + skip;
	ring_wipe(&l->ring, l->ring.release, l->ring.head);
	l->ring.head = l->ring.release;
	pthread_mutex_unlock(&grp->lock);
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

static void count_event(struct lane_group *grp, const struct ais31_event *ev)
{
	pthread_mutex_lock(&grp->lock);
	grp->stats.online_runs++;
	grp->stats.online_retries += ev->verdict == AIS31_RETRY;
	pthread_mutex_unlock(&grp->lock);
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
	count_event(l->grp, &ev);
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
	struct lane_group *grp = l->grp;

	for (;;) {
		struct fillbuf *b = &l->pipe.fb[l->pipe.fill];
		int err;

		pthread_mutex_lock(&grp->lock);
		while (!grp->stop && !grp->error && b->full)
			pthread_cond_wait(&l->pipe.cond, &grp->lock);
		bool quit = grp->stop || grp->error;
		pthread_mutex_unlock(&grp->lock);
		if (quit)
			break;
		err = fill_healthy(l, b->walk, b->deltas);
		pthread_mutex_lock(&grp->lock);
		if (err < 0 && !grp->error)
			grp->error = err;
		b->full = err == 0;
		l->pipe.fill ^= 1;
		pthread_cond_broadcast(&l->pipe.cond);
		pthread_cond_broadcast(&grp->ready);
		pthread_mutex_unlock(&grp->lock);
		if (err < 0)
			break;
	}
	return NULL;
}

/* The next healthy fill, in l->walk and l->deltas: from the collector
 * thread when there is one, else collected here. */
static int next_fill(struct lane *l)
{
	struct lane_group *grp = l->grp;
	struct fillbuf *b;
	int err;

	if (!l->pipe.has_collector) {
		l->walk = l->pipe.fb[0].walk;
		l->deltas = l->pipe.fb[0].deltas;
		return fill_healthy(l, l->walk, l->deltas);
	}
	b = &l->pipe.fb[l->pipe.use];
	pthread_mutex_lock(&grp->lock);
	while (!b->full && !grp->error && !grp->stop)
		pthread_cond_wait(&l->pipe.cond, &grp->lock);
	err = b->full ? 0 : (grp->error ? grp->error : -EINTR);
	pthread_mutex_unlock(&grp->lock);
	l->walk = b->walk;
	l->deltas = b->deltas;
	return err;
}

/* The tester stage is done with l->walk: hand its buffer back.  Both
 * halves are wiped: the walk is what the output was made from, and the
 * deltas are what its key was hashed from. */
static void release_fill(struct lane *l)
{
	struct lane_group *grp = l->grp;

	if (!l->noise.seeds_walk)       /* the seeds walk writes none */
		wipe(l->walk, grp->fill_words * 4);
	wipe(l->deltas, deltas_size(grp));
	if (!l->pipe.has_collector)
		return;
	pthread_mutex_lock(&grp->lock);
	l->pipe.fb[l->pipe.use].full = false;
	l->pipe.use ^= 1;
	pthread_cond_signal(&l->pipe.cond);
	pthread_mutex_unlock(&grp->lock);
}

/* One fill: health tests, online tests, conditioning, release. */
int lane_produce(struct lane *l)
{
	size_t left = l->grp->fill_words * 4, off = 0;
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
			ret = l->grp->cfg.output == GEN_SEEDS ? make_seeds(l, off, used)
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

unsigned gen_seed_samples(void)
{
	enum { SEED_INPUT_HALVES = 2 * (COND_KEY_BYTES * 8 + 64) };

	return (SEED_INPUT_HALVES + HEALTH_ENTROPY_HALVES - 1) / HEALTH_ENTROPY_HALVES;
}

/* ------------------------------------------------------------ start-up */

/* The start-up group of -o: run on fresh walk output, which is then thrown
 * away, before any output. */
static int startup_online(struct lane *l)
{
	const struct testspec *spec = l->grp->cfg.spec;
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
		size_t left = l->grp->fill_words * 4;

		ret = fill_healthy(l, l->walk, l->deltas);
		while (ret == 0 && left > 0 && !ais31_ctl_finished(ctl) && !ais31_ctl_failed(ctl)) {
			size_t used = ais31_ctl_feed(ctl, w, left, &ev);

			if (ev.completed) {
				count_event(l->grp, &ev);
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
	wipe(l->walk, l->grp->fill_words * 4);
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
	if (words > l->grp->fill_words)
		words = l->grp->fill_words;
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
static bool continuous_tests(const struct lane_group *grp)
{
	return grp->cfg.output == GEN_STREAM && grp->cfg.spec &&
	       testspec_any(&grp->cfg.spec->continuous);
}

/* Walk output and timer deltas are what the output is made from:
 * secret buffers, like the ring.  Two of each for the two-stage pipeline. */
static int alloc_fills(struct lane *l, unsigned nbuf)
{
	size_t fill = l->grp->fill_words * 4, dsize = deltas_size(l->grp);
	unsigned i;

	for (i = 0; i < nbuf; i++) {
		l->pipe.fb[i].walk = secret_alloc(fill);
		l->pipe.fb[i].deltas = secret_alloc(dsize);
		if (!l->pipe.fb[i].walk || !l->pipe.fb[i].deltas)
			return -ENOMEM;
		secret_lock(l->pipe.fb[i].walk, fill);
		secret_lock(l->pipe.fb[i].deltas, dsize);
	}
	l->walk = l->pipe.fb[0].walk;
	l->deltas = l->pipe.fb[0].deltas;
	return 0;
}

/* The ring, room for `hold` bytes a test may hold back and what the
 * producers work ahead; for GEN_SEEDS also the samples awaiting a seed.
 * Returns 0 or -ENOMEM (the caller checks l->pend). */
static int alloc_ring(struct lane *l, size_t hold)
{
	const struct lane_group *grp = l->grp;
	size_t fill = grp->fill_words * 4, ahead = 0, ring_need;

	/* Ring bytes one fill can add: the fill itself, or its seeds (32 bytes
	 * per gen_seed_samples() samples, 32 walk bytes each). */
	l->fill_out = fill;
	if (grp->cfg.output == GEN_SEEDS) {
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
	ring_need = hold + ahead + (grp->nlanes > 1 ? 4 : 1) * l->fill_out;
	l->cap_by_reader = pow2_at_least(hold + ahead + l->fill_out);
	return ring_alloc(&l->ring, pow2_at_least(ring_need));
}

int lane_init(struct lane_group *grp, struct lane *l)
{
	size_t hold = continuous_tests(grp) ? GEN_HOLD_MAX : 0;
	int ret;

	l->grp = grp;
	if (pthread_cond_init(&l->room, NULL) != 0 || pthread_cond_init(&l->pipe.cond, NULL) != 0)
		return -ENOMEM;
	/* Calibration measures the noise and, on the same samples, is the
	 * SP 800-90B start-up health test (4.3 item 3: more than 1024). */
	ret = grp->cfg.output == GEN_SEEDS ?
	      noise_calibrate_seeds(&l->noise, grp->cfg.data_kb, grp->cfg.inst_kb,
				    grp->cfg.table_fixed) :
	      noise_calibrate(&l->noise, grp->cfg.data_kb, grp->cfg.inst_kb, grp->cfg.table_fixed);
	if (ret < 0)
		return ret;
	l->cond = cond_new();
	if (alloc_fills(l, hold ? 2 : 1) < 0)
		return -ENOMEM;
	if (alloc_ring(l, hold) < 0 || !l->cond || (grp->cfg.output == GEN_SEEDS && !l->pend))
		return -ENOMEM;
	if (hold) {
		l->online = ais31_ctl_new(&grp->cfg.spec->continuous, true);
		if (!l->online)
			return -ENOMEM;
	}
	health_init(&l->health);
	ret = grp->cfg.output == GEN_STREAM ? prime_chain(l) : 0;
	if (ret == 0)
		ret = startup_online(l);
	/* Locking faults the whole ring in: only after the start-up tests
	 * have freed their buffers, so the two never add up in the peak.
	 * With several lanes the first read settles how much of the ring is
	 * used, and locks that (lanes_threaded(), lanes_by_reader()). */
	if (ret == 0 && grp->nlanes == 1)
		secret_lock(l->ring.buf, l->ring.cap);
	return ret;
}

int lane_start_collector(struct lane *l)
{
	if (pthread_create(&l->pipe.collector, NULL, collector_thread, l) != 0)
		return -EAGAIN;
	l->pipe.has_collector = true;
	return 0;
}

void lane_fini(struct lane *l)
{
	unsigned i;

	if (l->pipe.has_collector)
		pthread_join(l->pipe.collector, NULL);
	noise_free(&l->noise);
	cond_free(l->cond);
	ais31_ctl_free(l->online);
	for (i = 0; i < 2; i++) {
		if (l->pipe.fb[i].walk)
			wipe(l->pipe.fb[i].walk, l->grp->fill_words * 4);
		if (l->pipe.fb[i].deltas)
			wipe(l->pipe.fb[i].deltas, deltas_size(l->grp));
		secret_free(l->pipe.fb[i].walk, l->grp->fill_words * 4);
		secret_free(l->pipe.fb[i].deltas, deltas_size(l->grp));
	}
	if (l->pend)
		wipe(l->pend, gen_seed_samples() * sizeof(*l->pend));
	secret_free(l->pend, gen_seed_samples() * sizeof(*l->pend));
	ring_free(&l->ring);
	pthread_cond_destroy(&l->room);
	pthread_cond_destroy(&l->pipe.cond);
}
