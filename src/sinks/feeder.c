/* feeder.c - keep the kernel's pool served (see feeder.h).
 *
 * Functions offered:
 *   kernel_detect(), kernel_pool_name()   which pool this kernel has
 *   feeder_set_threshold()                apply -w (before privileges go)
 *   feeder_new(), feeder_add(), feeder_free()   the pool's handler on the loop
 *
 * Sections: kernel kind; giving seeds to the kernel; the old pool; the new
 * pool; statistics; the handler.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conditioner.h"
#include "feeder.h"
#include "log.h"
#include "loop.h"
#include "util.h"

/* Seeds buffered longer than this are dropped, not given: what goes in is
 * recent noise, and no seed waits in memory for hours on an idle host.
 * Five minutes: an idle 5.18+ host injects every -T (60) s, and making
 * seeds anew for each injection would cost a continuous test's worth of
 * walk (about 0.9 MB, some 10 ms with cold caches) every minute. */
enum { FEEDER_STALE_NS = 300ull * NS_PER_SEC };

struct feeder {
	struct kernel *k;
	struct generator *g;
	const struct feeder_config *cfg;
	volatile sig_atomic_t *stop;
	struct feeder_stats *st;
	struct kernel_info info;
	struct loop *loop;       /* the loop it was added to */
	bool old;                /* refill on writer wake-ups, else inject */
	bool armed;              /* waiting: early is set for this wait */
	bool early;              /* new pool: wait for the kernel's wake-up too */
	int threshold;           /* old pool: write_wakeup_threshold at start */
	uint64_t last_read;      /* when seeds were last taken (now_ns) */
	uint64_t next;           /* new pool: when the next injection is due */
	const char *op;          /* what give() was doing when it failed */
};

/* ------------------------------------------------------------ kernel kind */

int kernel_detect(struct kernel *k, struct kernel_info *info)
{
	int size = k->poolsize(k);

	if (size < 0)
		return size;
	info->poolsize = size;
	info->pool = size > KERNEL_NEW_POOLSIZE ? POOL_OLD : POOL_NEW;
	info->read_threshold = k->has_read_threshold(k);
	info->write_threshold = k->write_threshold(k);
	return 0;
}

const char *kernel_pool_name(enum kernel_pool pool)
{
	return pool == POOL_OLD ? "4096-bit pool with writer wake-ups (before 5.18)"
				: "256-bit pool (5.18+ or a 2022 backport)";
}

int feeder_set_threshold(struct kernel *k, struct kernel_info *info,
			 const struct feeder_config *cfg)
{
	int bits = cfg->write_bits, r;

	if (!cfg->write_set)
		return 0;
	if (info->pool == POOL_NEW) {
		log_notice("-w %d has no effect on this kernel: its 256-bit pool ignores "
			   "write_wakeup_threshold; fresh seeds go in every -T seconds instead",
			   bits);
		return 0;
	}
	if (bits > info->poolsize - KERNEL_THRESHOLD_MARGIN)
		bits = info->poolsize - KERNEL_THRESHOLD_MARGIN;
	r = k->set_write_threshold(k, bits);
	if (r == -EACCES || r == -EROFS || r == -EPERM) {
		log_warnx("cannot set write_wakeup_threshold to %d (%s); keeping %d",
			  bits, strerror(-r), k->write_threshold(k));
		return 0;
	}
	if (r < 0) {
		log_errx("cannot set write_wakeup_threshold to %d: %s", bits, strerror(-r));
		return r;
	}
	info->write_threshold = k->write_threshold(k);
	log_info("write_wakeup_threshold set to %d bits", bits);
	return 0;
}

/* ------------------------------------------------------------ giving seeds */

/* Give n bytes of fresh seeds to the kernel (n a multiple of 32, at most
 * FEEDER_CALL_MAX), crediting credit_per_byte bits each.  Seeds left in
 * the generator from a read more than FEEDER_STALE_NS ago are dropped
 * first.  Returns 0, or -EIO when the generator failed, or the kernel's
 * -errno. */
static int give(struct feeder *f, size_t n)
{
	enum { ADD_TRIES = 8 };
	uint8_t buf[FEEDER_CALL_MAX];
	int credit = (int)(n * f->cfg->credit_per_byte), before = 0, r, tries;
	uint64_t now = f->k->now_ns(f->k);

	if (now - f->last_read > FEEDER_STALE_NS)
		gen_discard(f->g);
	f->last_read = now;
	f->op = "making seeds";
	r = gen_read(f->g, buf, n);
	if (r < 0)
		goto out_wipe;
	f->op = "RNDADDENTROPY";
	if (log_verbose(VERB_KERNEL))
		before = f->k->entropy_avail(f->k);
	/* EINTR and EAGAIN are passing: try again, a few times. */
	for (tries = 0; tries < ADD_TRIES; tries++) {
		r = f->k->add_entropy(f->k, buf, n, credit);
		if ((r != -EINTR && r != -EAGAIN) || *f->stop)
			break;
	}
	if (r < 0) {
		f->st->add_errors++;
		goto out_wipe;
	}
	f->st->add_calls++;
	f->st->bytes += n;
	f->st->bits += (uint64_t)credit;
	if (log_verbose(VERB_KERNEL))
		log_info("RNDADDENTROPY: %zu bytes, %d bits credited, entropy_avail %d -> %d",
			 n, credit, before, f->k->entropy_avail(f->k));
out_wipe:
	wipe(buf, sizeof(buf));
	return r;
}

/* One line for a failure of what the feeder was doing; returns its -errno. */
static int op_failed(const char *what, int r)
{
	return loop_failed(NULL, what, r);
}

/* ------------------------------------------------------------ old pool */

/*
 * Bits to credit to lift the old pool from avail to target.  Those kernels
 * (3.x to 5.17) credit asymptotically: each step of at most half the pool
 * moves entropy_avail step / poolsize x 3/4 of the remaining way to full,
 * so half a pool's worth of credit closes 3/8 of the gap.  Count the steps
 * that close enough of it.
 */
static int bits_to_fill(int poolsize, int avail, int target)
{
	enum { STEPS_MAX = 16 };
	double gap = poolsize - avail, allowed = poolsize - target;
	int steps = 0;

	while (gap > allowed && steps < STEPS_MAX) {
		gap *= 5.0 / 8.0;
		steps++;
	}
	return steps * (poolsize / 2);
}

/*
 * The refill target: 7/8 of the pool, or a little above the threshold when
 * -w set that higher.  Near full the old kernel credits asymptotically:
 * lifting 896 -> 3584 takes 3 half-pool steps of credit, 896 -> 4064 ten,
 * so the last eighth would cost more than twice the seeds of the rest for
 * 12 % more entropy_avail.  haveged's single call lands near 2500.
 */
static int refill_target(const struct feeder *f)
{
	int p = f->info.poolsize, t = p - p / 8;

	if (f->threshold + 64 > t)
		t = f->threshold + 64 < p - 8 ? f->threshold + 64 : p - 8;
	return t;
}

/* Seed bytes a refill from the threshold needs, whole seeds. */
/* Seed bytes that carry bits of credit at cpb bits a byte: whole seeds,
 * at most one call's worth. */
static size_t seed_bytes(int bits, unsigned cpb)
{
	size_t n = (size_t)(bits / (int)cpb + COND_KEY_BYTES - 1) / COND_KEY_BYTES * COND_KEY_BYTES;

	return n > FEEDER_CALL_MAX ? FEEDER_CALL_MAX : n;
}

/* Seed bytes for the next call of a refill that still needs `bits`: the
 * old kernel counts at most a pool's worth of credit in one call (Linux
 * 5.4 caps it in credit_entropy_bits_safe(); doc/kernels.md), so seeds
 * beyond that would be mixed in uncounted: made for nothing. */
static size_t call_bytes(const struct feeder *f, int bits, unsigned cpb)
{
	return seed_bytes(bits < f->info.poolsize ? bits : f->info.poolsize, cpb);
}

/* What a whole refill from the threshold takes, over all its calls. */
static size_t refill_bytes(const struct feeder *f)
{
	unsigned cpb = f->cfg->credit_per_byte ? f->cfg->credit_per_byte : FEEDER_CREDIT_MAX;

	return seed_bytes(bits_to_fill(f->info.poolsize, f->threshold, refill_target(f)), cpb);
}

/* Refill: one or two calls of at most a pool's worth of credit; a few
 * more if the kernel credits differently from the model above.  Then have
 * the next refill's seeds made while the pool is full, so the next
 * wake-up is served at once (the generator keeps room for them). */
static int refill_old(struct feeder *f)
{
	enum { REFILL_CALLS = 4 };
	int target = refill_target(f);
	unsigned cpb = f->cfg->credit_per_byte;
	int i, r;

	f->st->refills++;
	for (i = 0; i < REFILL_CALLS; i++) {
		int avail = f->k->entropy_avail(f->k);
		size_t n = COND_KEY_BYTES;

		if (avail < 0)
			return op_failed("reading entropy_avail", avail);
		if (avail >= target)
			break;
		if (cpb)
			n = call_bytes(f, bits_to_fill(f->info.poolsize, avail, target), cpb);
		r = give(f, n);
		if (r < 0)
			return op_failed(f->op, r);
		if (cpb == 0)
			break;          /* mixing only: nothing will fill it */
	}
	r = gen_prefill(f->g, refill_bytes(f));
	return r < 0 ? op_failed("making seeds", r) : 0;
}

/* ------------------------------------------------------------ new pool */

/* Before the CRNG is ready every credited bit counts: give full seeds
 * until the kernel says it is ready. */
static int seed_until_ready(struct feeder *f)
{
	enum { BOOT_CALLS = 64 };
	int i, r;

	for (i = 0; i < BOOT_CALLS && f->k->crng_ready(f->k) == 0; i++) {
		r = give(f, FEEDER_INJECT_BYTES);
		if (r < 0)
			return op_failed(f->op, r);
	}
	if (f->k->crng_ready(f->k) == 1)
		log_notice("the kernel's CRNG is ready (%llu bits credited by us)",
			   (unsigned long long)f->st->bits);
	return 0;
}

static int inject(struct feeder *f)
{
	int r;

	f->st->refills++;
	r = give(f, FEEDER_INJECT_BYTES);
	return r < 0 ? op_failed(f->op, r) : 0;
}

/* The next injection, on the monotonic clock: a late wake-up does not
 * bunch them up. */
static void schedule_next(struct feeder *f)
{
	uint64_t period = (uint64_t)f->cfg->interval_s * NS_PER_SEC;

	f->next += period;
	if (f->next <= f->k->now_ns(f->k))
		f->next = f->k->now_ns(f->k) + period;
}

/* ------------------------------------------------------------ statistics */

static void log_stats(void *arg)
{
	struct feeder *f = arg;
	struct gen_stats gs = { 0 };

	gen_get_stats(f->g, &gs);
	log_info("statistics: %s; %llu wake-ups, %llu refills, %llu RNDADDENTROPY "
		 "(%llu failed), %llu bytes and %llu bits given; generator: %llu bytes, "
		 "%llu samples, %llu health-test discards, %llu online tests (%llu retries)%s",
		 kernel_pool_name(f->info.pool), (unsigned long long)loop_wakeups(f->loop),
		 (unsigned long long)f->st->refills, (unsigned long long)f->st->add_calls,
		 (unsigned long long)f->st->add_errors, (unsigned long long)f->st->bytes,
		 (unsigned long long)f->st->bits, (unsigned long long)gs.bytes_out,
		 (unsigned long long)gs.samples, (unsigned long long)gs.health_intermittent,
		 (unsigned long long)gs.online_runs, (unsigned long long)gs.online_retries,
		 gs.health_failure ? "; noise source FAILED" : "");
}

/* ------------------------------------------------------------ the handler */

/* The first refill or injection, before the loop first looks at the
 * signals; --once ends the loop there. */
static void feeder_start(void *arg, struct loop *l)
{
	struct feeder *f = arg;
	int r;

	if (f->old)
		r = refill_old(f);
	else
		r = f->k->crng_ready(f->k) == 0 ? seed_until_ready(f) : inject(f);
	if (r || f->cfg->once)
		loop_stop(l, r);
	f->next = f->k->now_ns(f->k) + (uint64_t)f->cfg->interval_s * NS_PER_SEC;
}

/* Each wait (until a wake-up for the feeder ends it) asks for the
 * kernel's wake-up as it stood when the wait began. */
static size_t feeder_prepare(void *arg, struct pollfd *fds, size_t max, int64_t *timeout_ns,
			     bool *want_writable, uint64_t now)
{
	struct feeder *f = arg;

	(void)fds;
	(void)max;
	if (!f->armed) {
		f->armed = true;
		f->early = f->old || f->k->crng_ready(f->k) == 0;
	}
	*want_writable = *want_writable || f->early;
	if (!f->old && f->cfg->interval_s) {
		int64_t t = (int64_t)(f->next > now ? f->next - now : 0);

		if (*timeout_ns < 0 || t < *timeout_ns)
			*timeout_ns = t;
	}
	return 0;
}

/* With --credit=0 nothing can fill the old pool: waiting for its writer
 * wake-ups would spin.  Such a feeder mixes in fresh seeds every -T
 * seconds instead, as on the new pool. */
static void feeder_on_wake(void *arg, struct loop *l, int w)
{
	struct feeder *f = arg;
	int r = 0;

	if (w == WAIT_WRITABLE) {
		f->armed = false;
		r = f->old ? refill_old(f) : seed_until_ready(f);
	} else if (w == -EINTR) {
		f->armed = false;
	} else if (!f->old && f->cfg->interval_s && f->k->now_ns(f->k) >= f->next) {
		f->armed = false;
		r = inject(f);
		schedule_next(f);
	}
	if (r)
		loop_stop(l, r);
}

struct feeder *feeder_new(struct kernel *k, const struct kernel_info *info, struct generator *g,
			  const struct feeder_config *cfg, volatile sig_atomic_t *stop,
			  struct feeder_stats *st)
{
	struct feeder *f = calloc(1, sizeof(*f));

	if (!f) {
		log_errx("out of memory");
		return NULL;
	}
	*f = (struct feeder){ .k = k, .g = g, .cfg = cfg, .stop = stop, .st = st,
			      .info = *info };
	memset(st, 0, sizeof(*st));
	f->threshold = info->pool == POOL_OLD && info->write_threshold > 0 ?
		       info->write_threshold : 0;
	f->old = info->pool == POOL_OLD && cfg->credit_per_byte > 0;
	return f;
}

int feeder_add(struct feeder *f, struct loop *l)
{
	struct loop_handler h = { .start = feeder_start, .prepare = feeder_prepare,
				  .on_wake = feeder_on_wake, .log_stats = log_stats, .arg = f };

	f->loop = l;
	return loop_add(l, &h);
}

void feeder_free(struct feeder *f)
{
	free(f);
}
