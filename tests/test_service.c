/* test_service.c - daemon_run(), the daemon's composition, without the
 * process around it: on the simulated kernel, with a byte source and a
 * handler of the test's own. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "kernel_sim.h"
#include "log.h"
#include "service.h"
#include "util.h"

static volatile sig_atomic_t stop;

static struct daemon_config base(struct kernel *k)
{
	return (struct daemon_config){
		.feeder = { .feed = true, .interval_s = 60, .credit_per_byte = 8 },
		.gen = { .data_kb = 32, .inst_kb = 32, .buffer_words = 16 * 1024, .threads = 1 },
		.kernel = k, .stop = &stop,
	};
}

/* --once on a cold 5.18+ pool: the feeder's generator is made, the CRNG
 * seeded, and the run ends with 0. */
static void test_once_feeds(void **state)
{
	struct sim_config sc = { .pool = POOL_NEW, .end_ns = 10ull * NS_PER_SEC, .stop = &stop };
	struct daemon_result res;
	struct kernel k;
	struct kernel_sim *sim = kernel_sim_new(&sc, &k);
	struct daemon_config c = base(&k);

	(void)state;
	stop = 0;
	c.feeder.once = true;
	assert_int_equal(daemon_run(&c, &res), 0);
	assert_true(res.looped);
	assert_int_equal(res.wakeups, 0);
	assert_true(res.feeder.add_calls >= 1);
	assert_true(res.seeds.bytes_out >= 64);
	assert_int_equal(kernel_sim_avail(sim), 256);
	kernel_sim_free(sim);
}

/* The EGD server alone (no feeder) with the caller's byte source, and the
 * caller's handler on the same loop: it is started and woken, and stops
 * the run; the server exists while the loop runs and is gone after. */
struct probe {
	struct egd_server *egd;
	bool started, egd_seen;
	unsigned wakes;
};

static struct probe probe;

static void probe_start(void *arg, struct loop *l)
{
	(void)l;
	((struct probe *)arg)->started = true;
}

static void probe_wake(void *arg, struct loop *l, int w)
{
	struct probe *p = arg;

	(void)w;
	p->egd_seen = p->egd != NULL;
	if (++p->wakes == 3)
		loop_stop(l, 0);
}

static size_t probe_prepare(void *arg, struct pollfd *fds, size_t max, int64_t *timeout_ns,
			    bool *want_writable, uint64_t now_ns)
{
	(void)arg;
	(void)fds;
	(void)max;
	(void)want_writable;
	(void)now_ns;
	*timeout_ns = 1000000;          /* 1 ms, virtual */
	return 0;
}

static int zero_read(void *ctx, void *buf, size_t n)
{
	(void)ctx;
	memset(buf, 0, n);
	return 0;
}

static void test_egd_only(void **state)
{
	struct sim_config sc = { .pool = POOL_NEW, .end_ns = 10ull * NS_PER_SEC, .stop = &stop,
				 .crng_ready = true };
	char path[64], spec[80];
	struct egd_listener_cfg l = { .spec = spec };
	struct loop_handler h = { .start = probe_start, .prepare = probe_prepare,
				  .on_wake = probe_wake, .arg = &probe };
	struct daemon_result res;
	struct kernel k;
	struct kernel_sim *sim = kernel_sim_new(&sc, &k);
	struct daemon_config c = base(&k);

	(void)state;
	stop = 0;
	snprintf(path, sizeof(path), "/tmp/test_service.%ld", (long)getpid());
	snprintf(spec, sizeof(spec), "unix:%s", path);
	c.feeder.feed = false;
	c.egd = (struct egd_config){ .listeners = &l, .nlisteners = 1, .unix_mode = 0600,
				     .unix_gid = (gid_t)-1 };
	c.egd_source.read = zero_read;
	c.extra = &h;
	c.egd_now = &probe.egd;
	assert_int_equal(daemon_run(&c, &res), 0);
	assert_true(res.looped);
	assert_true(probe.started);
	assert_true(probe.egd_seen);
	assert_null(probe.egd);
	assert_int_equal(res.wakeups, 3);
	assert_int_equal(res.seeds.bytes_out, 0);       /* no feeder, no seeds */
	assert_int_equal(access(path, F_OK), -1);        /* the socket file removed */
	kernel_sim_free(sim);
}

/* What cannot run is refused before anything is opened. */
static void test_refused(void **state)
{
	struct daemon_result res;
	struct daemon_config c = base(NULL);

	(void)state;
	c.feeder.feed = false;
	assert_int_equal(daemon_run(&c, &res), -EINVAL); /* --no-kernel, no --egd */
	assert_false(res.looped);
	c.feeder.once = true;
	assert_int_equal(daemon_run(&c, &res), -EINVAL);
	assert_false(res.looped);
}

/* The results main.c makes exit statuses of: a stop signal ends the run
 * with -EINTR (the signal stays in *stop for the 128 + signal), a bad
 * listener with its -errno after the one line. */
static void test_results(void **state)
{
	struct sim_config sc = { .pool = POOL_NEW, .end_ns = 2ull * NS_PER_SEC, .stop = &stop,
				 .crng_ready = true, .stop_signal = SIGINT };
	struct egd_listener_cfg l = { .spec = "udp:1" };
	struct daemon_result res;
	struct kernel k;
	struct kernel_sim *sim = kernel_sim_new(&sc, &k);
	struct daemon_config c = base(&k);

	(void)state;
	stop = 0;
	assert_int_equal(daemon_run(&c, &res), -EINTR);
	assert_true(res.looped);
	assert_int_equal(stop, SIGINT);
	stop = 0;
	c.egd = (struct egd_config){ .listeners = &l, .nlisteners = 1, .unix_gid = (gid_t)-1 };
	assert_int_equal(daemon_run(&c, &res), -EINVAL);
	assert_false(res.looped);
	kernel_sim_free(sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_once_feeds),
		cmocka_unit_test(test_egd_only),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_results),
	};

	log_init("test_service", LOG_DEST_STDERR, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
