/* kernel_sim.c - the simulated kernel of kernel_sim.h.
 *
 * Functions offered:
 *   kernel_sim_new()    a struct kernel over a simulated pool
 *   kernel_sim_stats()  what happened: wake-ups, credits, starvation, latency
 *   kernel_sim_avail(), kernel_sim_now()   the pool and the clock
 *   kernel_sim_free()
 *
 * State changes only in advance() (time passing: the consumer drains) and
 * add() (credit).  Both keep the below-threshold bookkeeping.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_sim.h"
#include "util.h"

enum { OLD_DEFAULT_THRESHOLD = 896 };   /* 4.x write_wakeup_threshold */

struct kernel_sim {
	struct sim_config cfg;
	struct sim_stats stats;
	uint64_t now;            /* virtual ns, only increases */
	double avail;            /* bits, 0 .. poolsize */
	int poolsize;
	int threshold;           /* write_wakeup_threshold (old pool) */
	bool ready;              /* CRNG initialised (new pool) */
	bool below;              /* avail < threshold right now (old pool) */
	uint64_t below_since;    /* virtual ns the current stretch began */
	bool woken;              /* a POLLOUT wake-up awaits its refill */
	uint64_t woken_real;     /* real ns of that wake-up */
	uint64_t last_real;      /* real ns when the caller last got control */
	unsigned fails_left;
	bool usr1_sent;
};

static struct kernel_sim *sim_of(struct kernel *k)
{
	return k->ctx;
}

static double drain_bits_per_ns(const struct kernel_sim *s)
{
	return s->cfg.pool == POOL_OLD ? s->cfg.drain_bytes_per_s * 8 / NS_PER_SEC : 0;
}

static void end_stretch(struct kernel_sim *s)
{
	uint64_t len = s->now - s->below_since;

	if (len > s->stats.longest_below_ns)
		s->stats.longest_below_ns = len;
	s->below = false;
}

/* dt ns pass: the consumer drains, and may starve. */
static void advance(struct kernel_sim *s, uint64_t dt)
{
	double rate = drain_bits_per_ns(s), demand = rate * (double)dt;
	uint64_t to_empty;

	if (rate > 0 && s->avail >= (double)s->threshold && s->avail - demand < s->threshold) {
		/* crosses the threshold within dt */
		s->below = true;
		s->below_since = s->now + (uint64_t)((s->avail - s->threshold) / rate);
	}
	if (s->below) {
		uint64_t from = s->below_since > s->now ? s->below_since : s->now;

		s->stats.below_ns += s->now + dt - from;
	}
	if (demand <= s->avail) {
		s->avail -= demand;
	} else {
		to_empty = (uint64_t)(s->avail / rate);
		s->stats.blocked_ns += dt - to_empty;
		s->avail = 0;
	}
	s->now += dt;
}

/* Bring the clock up to date with the caller's real time. */
static void catch_up(struct kernel_sim *s)
{
	uint64_t r = monotonic_ns();

	if (s->cfg.real_time_counts && r > s->last_real)
		advance(s, r - s->last_real);
	s->last_real = r;
}

static void handed_back(struct kernel_sim *s)
{
	s->last_real = monotonic_ns();
}

static bool writable(const struct kernel_sim *s)
{
	if (s->cfg.pool == POOL_NEW)
		return !s->ready;
	return s->avail < (double)s->threshold;
}

static int sim_entropy_avail(struct kernel *k)
{
	struct kernel_sim *s = sim_of(k);
	int v;

	catch_up(s);
	v = (int)s->avail;
	handed_back(s);
	return v;
}

static int sim_poolsize(struct kernel *k)
{
	return sim_of(k)->poolsize;
}

static bool sim_has_read_threshold(struct kernel *k)
{
	return sim_of(k)->cfg.pool == POOL_OLD;
}

static int sim_write_threshold(struct kernel *k)
{
	struct kernel_sim *s = sim_of(k);

	return s->cfg.pool == POOL_OLD ? s->threshold : KERNEL_NEW_POOLSIZE;
}

static int sim_set_write_threshold(struct kernel *k, int bits)
{
	struct kernel_sim *s = sim_of(k);

	if (s->cfg.fail_set_errno)
		return -s->cfg.fail_set_errno;
	if (bits < 0 || bits > s->poolsize)
		return -EINVAL;
	if (s->cfg.pool == POOL_OLD)
		s->threshold = bits;
	return 0;               /* the new pool accepts and ignores it */
}

/* Old pool: one call counts at most a pool's worth of credit (5.4's
 * credit_entropy_bits_safe(); the rest is mixed in, not counted); each
 * step of at most half the pool moves the count 3/4 of step / poolsize
 * of the remaining way to full. */
static void credit_old(struct kernel_sim *s, int credit)
{
	double left = credit < s->poolsize ? credit : s->poolsize;

	while (left > 0) {
		double step = left < s->poolsize / 2 ? left : s->poolsize / 2;

		s->avail += (s->poolsize - s->avail) * step * 3 / 4 / s->poolsize;
		left -= step;
	}
}

static void credit_new(struct kernel_sim *s, int credit)
{
	if (s->ready)
		return;
	s->avail += credit < KERNEL_NEW_POOLSIZE ? credit : KERNEL_NEW_POOLSIZE;
	if (s->avail >= KERNEL_NEW_POOLSIZE) {
		s->avail = KERNEL_NEW_POOLSIZE;
		s->ready = true;
		s->stats.crng_ready_ns = s->now;
	}
}

static int sim_add_entropy(struct kernel *k, const void *buf, size_t n, int credit)
{
	struct kernel_sim *s = sim_of(k);
	double before;

	(void)buf;
	catch_up(s);
	if (credit < 0)
		return -EINVAL;
	if (s->fails_left > 0) {
		s->fails_left--;
		s->stats.add_failures++;
		handed_back(s);
		return -s->cfg.fail_add_errno;
	}
	before = s->avail;
	s->stats.add_calls++;
	s->stats.add_bytes += n;
	s->stats.credited_bits += (uint64_t)credit;
	if (s->cfg.pool == POOL_OLD)
		credit_old(s, credit);
	else
		credit_new(s, credit);
	s->stats.credited_effective += (uint64_t)(s->avail - before);
	if (s->below && s->avail >= (double)s->threshold)
		end_stretch(s);
	if (s->woken && !writable(s)) {
		if (s->stats.latencies < SIM_LATENCY_MAX)
			s->stats.latency_ns[s->stats.latencies++] = monotonic_ns() - s->woken_real;
		s->woken = false;
	}
	handed_back(s);
	return 0;
}

static int sim_crng_ready(struct kernel *k)
{
	struct kernel_sim *s = sim_of(k);

	return s->cfg.pool == POOL_OLD || s->ready;
}

static void raise_end(struct kernel_sim *s)
{
	if (s->cfg.stop)
		*s->cfg.stop = s->cfg.stop_signal ? s->cfg.stop_signal : SIGTERM;
}

/* Virtual ns until POLLOUT, or UINT64_MAX for never. */
static uint64_t until_writable(const struct kernel_sim *s)
{
	double rate = drain_bits_per_ns(s);

	if (s->cfg.pool == POOL_NEW || rate <= 0)
		return UINT64_MAX;
	return (uint64_t)((s->avail - s->threshold) / rate) + 1;
}

/* The end of a wait that was not interrupted: counted, and the daemon's
 * turn begins. */
static int woke(struct kernel_sim *s, int ret)
{
	if (ret == WAIT_WRITABLE) {
		s->stats.wake_writable++;
		s->woken = true;
		s->woken_real = monotonic_ns();
	} else {
		s->stats.wake_timeout++;
	}
	handed_back(s);
	return ret;
}

static int sim_wait(struct kernel *k, bool want_writable, struct pollfd *extra,
		    size_t nextra, int64_t timeout_ns)
{
	struct kernel_sim *s = sim_of(k);
	uint64_t dt, t_end, t_usr1 = UINT64_MAX, t_event = UINT64_MAX;

	(void)extra;
	(void)nextra;
	catch_up(s);
	s->stats.waits++;
	if (s->cfg.eintr_every && s->stats.waits % s->cfg.eintr_every == 0) {
		s->stats.stray_eintr++;
		handed_back(s);
		return -EINTR;
	}
	t_end = s->cfg.end_ns > s->now ? s->cfg.end_ns - s->now : 0;
	/* The end comes even to a daemon that never gets to sleep (a pool
	 * drained faster than it can be refilled in real time). */
	if (t_end == 0) {
		raise_end(s);
		handed_back(s);
		return -EINTR;
	}
	if (want_writable && writable(s))
		return woke(s, WAIT_WRITABLE);
	if (s->cfg.usr1 && s->cfg.usr1_at_ns && !s->usr1_sent)
		t_usr1 = s->cfg.usr1_at_ns > s->now ? s->cfg.usr1_at_ns - s->now : 0;
	if (want_writable)
		t_event = until_writable(s);
	dt = t_end;
	if (timeout_ns >= 0 && (uint64_t)timeout_ns < dt)
		dt = (uint64_t)timeout_ns;
	if (t_event < dt)
		dt = t_event;
	if (t_usr1 < dt)
		dt = t_usr1;
	advance(s, dt);
	if (dt == t_usr1) {
		s->usr1_sent = true;
		*s->cfg.usr1 = 1;
		handed_back(s);
		return -EINTR;
	}
	if (dt == t_end && t_event != dt) {
		raise_end(s);
		handed_back(s);
		return -EINTR;
	}
	return woke(s, t_event == dt ? WAIT_WRITABLE : WAIT_TIMEOUT);
}

static uint64_t sim_now_ns(struct kernel *k)
{
	struct kernel_sim *s = sim_of(k);

	catch_up(s);
	handed_back(s);
	return s->now;
}

static void sim_close(struct kernel *k)
{
	(void)k;
}

struct kernel_sim *kernel_sim_new(const struct sim_config *cfg, struct kernel *k)
{
	struct kernel_sim *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cfg = *cfg;
	s->poolsize = cfg->pool == POOL_OLD ? KERNEL_OLD_POOLSIZE : KERNEL_NEW_POOLSIZE;
	s->threshold = cfg->write_threshold ? cfg->write_threshold : OLD_DEFAULT_THRESHOLD;
	s->avail = cfg->initial_avail;
	s->ready = cfg->pool == POOL_NEW && cfg->crng_ready;
	if (s->ready)
		s->avail = KERNEL_NEW_POOLSIZE;
	s->below = cfg->pool == POOL_OLD && s->avail < s->threshold;
	s->fails_left = cfg->fail_add_errno ? cfg->fail_add_count : 0;
	s->last_real = monotonic_ns();
	*k = (struct kernel){ .name = "simulated", .ctx = s, KERNEL_OPS(sim) };
	return s;
}

void kernel_sim_free(struct kernel_sim *s)
{
	free(s);
}

const struct sim_stats *kernel_sim_stats(const struct kernel_sim *s)
{
	return &s->stats;
}

double kernel_sim_avail(const struct kernel_sim *s)
{
	return s->avail;
}

uint64_t kernel_sim_now(const struct kernel_sim *s)
{
	return s->now;
}
