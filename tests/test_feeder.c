/* test_feeder.c - the feeder on the daemon's loop against the simulated
 * kernel, in virtual time: cold boot, steady drain, idle, injections, -w, --once,
 * signals, kernel errors, and a failing noise source. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "feeder.h"
#include "generator.h"
#include "kernel_sim.h"
#include "log.h"
#include "loop.h"
#include "testspec.h"
#include "testutil.h"
#include "timer.h"

enum { SEC = NS_PER_SEC };

static volatile sig_atomic_t stop, usr1;

struct scenario {
	struct sim_config sim;
	struct feeder_config fc;
	const struct loop_handler *io; /* other work of the loop, NULL = none */
	const char *spec;             /* online tests, NULL = none */
	const char *mock_after_start; /* mock timer once the generator is up */
	int stop_at_start;            /* a stop signal caught before the loop */
	size_t prefill;               /* seed bytes made before the feeder runs */
	/* results */
	struct gen_stats gen_before;  /* the generator as the feeder starts ... */
	struct gen_stats gen_after;   /* ... and as it ends */
	int status;
	struct feeder_stats st;
	uint64_t wakeups;             /* the loop's */
	struct sim_stats ss;
	double avail;
	uint64_t now;
};

static struct scenario base(enum kernel_pool pool, uint64_t end_s)
{
	struct scenario sc = {
		.sim = { .pool = pool, .end_ns = end_s * SEC, .stop = &stop },
		.fc = { .feed = true, .interval_s = 60, .credit_per_byte = 8 },
	};
	return sc;
}

/* The feeder, and io if any, on a loop of their own until it ends. */
static int feed(struct kernel *k, const struct kernel_info *info, struct generator *g,
		struct scenario *sc)
{
	struct loop_config lc = { .k = k, .stop = &stop, .usr1 = &usr1,
				  .waiting = "waiting on /dev/random" };
	struct feeder *f = feeder_new(k, info, g, &sc->fc, &stop, &sc->st);
	struct loop l;
	int status;

	assert_non_null(f);
	loop_init(&l, &lc);
	assert_int_equal(feeder_add(f, &l), 0);
	if (sc->io)
		assert_int_equal(loop_add(&l, sc->io), 0);
	status = loop_run(&l);
	sc->wakeups = loop_wakeups(&l);
	feeder_free(f);
	return status;
}

/* Build a seeds generator and a simulated kernel, run the feeder to the
 * end of the scenario, and keep what happened. */
static void run(struct scenario *sc)
{
	struct gen_config gc = test_gen_config(1, 16 * 1024);
	struct testspec spec;
	struct generator *g;
	struct kernel k;
	struct kernel_info info;
	struct kernel_sim *sim;

	stop = usr1 = 0;
	stop = sc->stop_at_start;
	gc.output = GEN_SEEDS;
	if (sc->spec) {
		spec = test_spec(sc->spec);
		gc.spec = &spec;
	}
	assert_int_equal(gen_new(&g, &gc), 0);
#ifdef HRNG_MOCK_TIMER
	if (sc->mock_after_start)
		assert_int_equal(timer_mock_set(sc->mock_after_start), 0);
#endif
	sim = kernel_sim_new(&sc->sim, &k);
	assert_non_null(sim);
	assert_int_equal(kernel_detect(&k, &info), 0);
	if (sc->fc.write_set)
		assert_int_equal(feeder_set_threshold(&k, &info, &sc->fc), 0);
	if (sc->prefill)
		assert_int_equal(gen_prefill(g, sc->prefill), 0);
	gen_get_stats(g, &sc->gen_before);
	sc->status = feed(&k, &info, g, sc);
	gen_get_stats(g, &sc->gen_after);
	sc->ss = *kernel_sim_stats(sim);
	sc->avail = kernel_sim_avail(sim);
	sc->now = kernel_sim_now(sim);
	kernel_sim_free(sim);
	gen_free(g);
}

/* 5.18+ cold boot: nothing credited yet.  The first seeds make the CRNG
 * ready at once; then one injection a minute for an hour, and no other
 * wake-up. */
static void test_cold_boot_new_pool(void **state)
{
	struct scenario sc = base(POOL_NEW, 3600);

	(void)state;
	run(&sc);
	assert_int_equal(sc.status, -EINTR);
	assert_int_equal(sc.ss.crng_ready_ns, 0);         /* ready at time 0 */
	assert_int_equal(sc.avail, 256);
	assert_int_equal(sc.st.refills, 59);               /* at 60 s .. 3540 s */
	assert_int_equal(sc.ss.wake_timeout, 59);
	assert_int_equal(sc.ss.wake_writable, 0);
	/* Boot: 64 bytes credited 512 bits, capped by the kernel at 256. */
	assert_int_equal(sc.ss.credited_effective, 256);
	assert_int_equal(sc.st.bytes, 64 + 59 * 64);
}

/* An idle, ready 5.18+ kernel with -T 0: no periodic injection, so after
 * the first injection the daemon never wakes. */
static void test_new_pool_no_interval(void **state)
{
	struct scenario sc = base(POOL_NEW, 86400);

	(void)state;
	sc.sim.crng_ready = true;
	sc.fc.interval_s = 0;
	run(&sc);
	assert_int_equal(sc.status, -EINTR);
	assert_int_equal(sc.st.add_calls, 1);
	assert_int_equal(sc.wakeups, 1);                /* the stop alone */
}

/* Old pool, full and idle for a day: not one wake-up, not one write. */
static void test_old_pool_idle(void **state)
{
	struct scenario sc = base(POOL_OLD, 86400);

	(void)state;
	sc.sim.initial_avail = 4096;
	run(&sc);
	assert_int_equal(sc.status, -EINTR);
	assert_int_equal(sc.wakeups, 1);
	assert_int_equal(sc.st.add_calls, 0);
	assert_int_equal(sc.ss.wake_writable, 0);
}

/* A steady drain: a full old pool read at 4 KiB/s for 30 s, -w 2048.
 * (In virtual time the rate only sets how many seeds the test makes:
 * 3840, a second or two of real work at any stride the calibration
 * picks, also under the sanitizers.) */
enum { DRAIN_S = 30, DRAIN_BPS = 4 * 1024 };

static struct scenario steady_drain(void)
{
	struct scenario sc = base(POOL_OLD, DRAIN_S);

	sc.sim.initial_avail = 4096;
	sc.sim.drain_bytes_per_s = DRAIN_BPS;
	sc.fc.write_set = true;
	sc.fc.write_bits = 2048;
	return sc;
}

/* What serving the steady drain means. */
static void assert_drain_served(const struct scenario *sc)
{
	double drained = 8.0 * DRAIN_BPS * DRAIN_S;

	assert_int_equal(sc->status, -EINTR);
	assert_int_equal(sc->ss.blocked_ns, 0);
	assert_true(sc->ss.longest_below_ns <= 1);        /* the 1 ns of crossing */
	assert_int_equal(sc->st.refills, sc->ss.wake_writable + 1);  /* + the first */
	/* Each wake-up comes at 2048 and lifts to >= 3584: at most drained /
	 * 1536 wake-ups, and at least drained / 2048 (the most a refill can
	 * add before the next crossing). */
	assert_true(sc->ss.wake_writable <= drained / 1536 + 1);
	assert_true(sc->ss.wake_writable >= drained / 2048);
	/* Everything drained was made good by credit. */
	assert_true(sc->ss.credited_effective + 4096 >= drained);
	assert_int_equal(sc->st.add_errors, 0);
}

/* Old pool drained by a consumer at 4 KiB/s for 30 s (a TLS server on
 * /dev/random), -w 2048.  In virtual time a refill takes no time, so the
 * pool must never be seen below the threshold after a wake-up has been
 * served, never starve, and every wake-up must lift it to at least 7/8.
 * (How long a refill takes in real time is bench/refill.sh's business.) */
static void test_old_pool_steady_drain(void **state)
{
	struct scenario sc = steady_drain();

	(void)state;
	run(&sc);
	assert_drain_served(&sc);
}

/* A consumer faster than the noise can honestly back: the daemon credits
 * only what its seeds carry, so the consumer waits; the pool is still
 * refilled on every wake-up. */
static void test_old_pool_overload(void **state)
{
	struct scenario sc = base(POOL_OLD, 2);

	(void)state;
	sc.sim.initial_avail = 4096;
	sc.sim.drain_bytes_per_s = 256.0 * 1024 * 1024;
	sc.sim.real_time_counts = true;
	run(&sc);
	assert_int_equal(sc.status, -EINTR);
	assert_true(sc.ss.blocked_ns > 0);
	assert_true(sc.st.bits <= sc.st.bytes * 8);
}

/* --credit=0 on a draining old pool: nothing can fill it, so no refills
 * on wake-ups (they would spin); fresh seeds are mixed every -T seconds. */
static void test_old_pool_no_credit(void **state)
{
	struct scenario sc = base(POOL_OLD, 600);

	(void)state;
	sc.sim.initial_avail = 4096;
	sc.sim.drain_bytes_per_s = 1024;
	sc.fc.credit_per_byte = 0;
	run(&sc);
	assert_int_equal(sc.status, -EINTR);
	assert_int_equal(sc.ss.wake_writable, 0);
	assert_int_equal(sc.st.add_calls, 10);            /* at 0, 60, ... 540 s */
	assert_int_equal(sc.ss.credited_bits, 0);
	assert_true(sc.wakeups <= 11);
}

/* -w: set on the old pool, capped at poolsize - 32; on the new pool it has
 * no effect and is not an error; a read-only /proc/sys is a warning. */
static void test_write_threshold(void **state)
{
	struct feeder_config fc = { .write_set = true, .write_bits = 5000 };
	struct sim_config old = { .pool = POOL_OLD }, new = { .pool = POOL_NEW };
	struct kernel_info info;
	struct kernel k;
	struct kernel_sim *sim;

	(void)state;
	sim = kernel_sim_new(&old, &k);
	assert_int_equal(kernel_detect(&k, &info), 0);
	assert_int_equal(info.pool, POOL_OLD);
	assert_int_equal(feeder_set_threshold(&k, &info, &fc), 0);
	assert_int_equal(k.write_threshold(&k), 4096 - 32);
	fc.write_bits = 1024;
	assert_int_equal(feeder_set_threshold(&k, &info, &fc), 0);
	assert_int_equal(k.write_threshold(&k), 1024);
	kernel_sim_free(sim);

	sim = kernel_sim_new(&new, &k);
	assert_int_equal(kernel_detect(&k, &info), 0);
	assert_int_equal(info.pool, POOL_NEW);
	assert_int_equal(feeder_set_threshold(&k, &info, &fc), 0);
	assert_int_equal(k.write_threshold(&k), 256);
	kernel_sim_free(sim);

	old.fail_set_errno = EROFS;
	sim = kernel_sim_new(&old, &k);
	assert_int_equal(kernel_detect(&k, &info), 0);
	assert_int_equal(feeder_set_threshold(&k, &info, &fc), 0);   /* warning */
	kernel_sim_free(sim);
	old.fail_set_errno = EINVAL;
	sim = kernel_sim_new(&old, &k);
	assert_int_equal(feeder_set_threshold(&k, &info, &fc), -EINVAL);     /* error */
	kernel_sim_free(sim);
}

/* --once: one refill to full and exit 0, on both pools. */
static void test_once(void **state)
{
	struct scenario sc = base(POOL_OLD, 10);

	(void)state;
	sc.sim.initial_avail = 100;
	sc.fc.once = true;
	run(&sc);
	assert_int_equal(sc.status, 0);
	assert_true(sc.avail >= 4096 - 512);       /* 7/8 full */
	assert_int_equal(sc.wakeups, 0);

	sc = base(POOL_NEW, 10);
	sc.fc.once = true;
	run(&sc);
	assert_int_equal(sc.status, 0);
	assert_int_equal(sc.avail, 256);
	assert_int_equal(sc.st.add_calls, 1);
}

/* The old kernel counts at most a pool's worth of credit in one call
 * (the simulator caps it as Linux 5.4 does): a refill from -w 2048 to 7/8
 * takes 6144 bits of credit by the model, given as 4096 + 2048 bits in
 * two calls, 768 bytes.  One call of 768 bytes would have 2048 bits go
 * uncounted and need a third call's worth more seeds. */
static void test_refill_call_cap(void **state)
{
	struct scenario sc = base(POOL_OLD, 10);

	(void)state;
	sc.sim.initial_avail = 2047;
	sc.fc.write_set = true;
	sc.fc.write_bits = 2048;
	sc.fc.once = true;
	run(&sc);
	assert_int_equal(sc.status, 0);
	assert_true(sc.avail >= 4096 - 512);
	assert_int_equal(sc.ss.add_calls, 2);
	assert_int_equal(sc.ss.add_bytes, 768);
	assert_int_equal(sc.ss.credited_bits, 6144);
}

/* Signals: SIGINT ends with -EINTR; SIGUSR1 logs statistics and changes
 * nothing (no extra injection, the schedule holds). */
static void test_signals(void **state)
{
	struct scenario sc = base(POOL_NEW, 150);

	(void)state;
	sc.sim.crng_ready = true;
	sc.sim.stop_signal = SIGINT;
	sc.sim.usr1_at_ns = 30ull * SEC;
	sc.sim.usr1 = &usr1;
	run(&sc);
	assert_int_equal(sc.status, -EINTR);
	assert_int_equal(usr1, 0);                         /* consumed */
	assert_int_equal(sc.st.add_calls, 3);              /* at 0, 60, 120 s */
}

/* poll() cut short by signals the daemon does not act on (SIGCHLD, a
 * debugger's stop, SIGWINCH): every third wait returns EINTR with no flag
 * set.  The daemon sleeps again with what is left of its deadline: the old
 * pool is served exactly as without them, and the new pool gets its
 * injections on schedule, none early, none extra. */
static void test_stray_eintr(void **state)
{
	struct scenario sc = steady_drain();

	(void)state;
	sc.sim.eintr_every = 3;
	run(&sc);
	assert_true(sc.ss.stray_eintr > 10);
	assert_drain_served(&sc);

	sc = base(POOL_NEW, 150);
	sc.sim.crng_ready = true;
	sc.sim.eintr_every = 2;
	run(&sc);
	assert_int_equal(sc.status, -EINTR);
	assert_true(sc.ss.stray_eintr >= 2);
	assert_int_equal(sc.st.add_calls, 3);              /* at 0, 60, 120 s */
	assert_int_equal(sc.ss.wake_timeout, 2);
}

/* An io (the EGD server) whose own source dies at its third wake-up: the
 * loop ends with -EIO there, as for failing seeds, and credits nothing
 * after. */
struct fake_io {
	unsigned dispatched, dead_after;
	uint64_t first_ns;
};

static size_t fake_pollfds(void *arg, struct pollfd *fds, size_t max, int64_t *timeout_ns,
			   bool *want_writable, uint64_t now_ns)
{
	(void)arg;
	(void)want_writable;
	(void)now_ns;
	assert_true(max >= 1);
	fds[0] = (struct pollfd){ .fd = -1 };   /* poll() ignores it */
	if (*timeout_ns < 0 || *timeout_ns > 10 * (int64_t)SEC)
		*timeout_ns = 10 * (int64_t)SEC; /* a client every 10 s */
	return 1;
}

static void fake_dispatch(void *arg, struct loop *l, const struct pollfd *fds, size_t n,
			  uint64_t now_ns)
{
	struct fake_io *f = arg;

	(void)fds;
	assert_int_equal(n, 1);
	if (f->dispatched++ == 0)
		f->first_ns = now_ns;
	if (f->dispatched >= f->dead_after)
		loop_failed(l, "serving EGD", -EIO);    /* as egd_loop.c does */
}

static void test_io_source_dies(void **state)
{
	struct fake_io f = { .dead_after = 3 };
	struct loop_handler io = { .max_fds = 1, .prepare = fake_pollfds,
				   .on_fds = fake_dispatch, .arg = &f };
	struct scenario sc = base(POOL_NEW, 3600);

	(void)state;
	sc.sim.crng_ready = true;
	sc.io = &io;
	run(&sc);
	assert_int_equal(sc.status, -EIO);
	assert_int_equal(f.dispatched, 3);
	/* The injection at start-up, none at 60 s: it stopped at about 30 s. */
	assert_int_equal(sc.st.add_calls, 1);
	assert_true(sc.now < 60 * (uint64_t)SEC);
}

/* Kernel errors: EINTR and EAGAIN are retried (the credit lands once);
 * EPERM (privilege lost) and EFAULT (a bug) end the daemon with their -errno
 * before anything more is credited; a passing error that never passes
 * does too. */
static void test_kernel_errors(void **state)
{
	static const int passing[] = { EINTR, EAGAIN };
	static const int fatal[] = { EPERM, EFAULT, EINVAL };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(passing) / sizeof(passing[0]); i++) {
		struct scenario sc = base(POOL_NEW, 100);

		sc.sim.crng_ready = true;
		sc.sim.fail_add_errno = passing[i];
		sc.sim.fail_add_count = 3;
		run(&sc);
		assert_int_equal(sc.status, -EINTR);
		assert_int_equal(sc.ss.add_failures, 3);
		assert_int_equal(sc.st.add_calls, 2);           /* at 0 and 60 s */
		assert_int_equal(sc.st.add_errors, 0);

		sc = base(POOL_NEW, 100);
		sc.sim.crng_ready = true;
		sc.sim.fail_add_errno = passing[i];
		sc.sim.fail_add_count = 1000;
		run(&sc);
		/* -EINTR is kept for a stop: an EINTR that never passes is -EIO */
		assert_int_equal(sc.status, passing[i] == EINTR ? -EIO : -passing[i]);
		assert_int_equal(sc.ss.credited_bits, 0);
	}
	for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		struct scenario sc = base(POOL_NEW, 100);

		sc.sim.crng_ready = true;
		sc.sim.fail_add_errno = fatal[i];
		sc.sim.fail_add_count = 1;
		run(&sc);
		assert_int_equal(sc.status, -fatal[i]);
		assert_int_equal(sc.ss.credited_bits, 0);
		assert_int_equal(sc.ss.add_failures, 1);        /* not retried */
	}
}

/* With online tests on: the same loop, seeds only from tested fills. */
static void test_with_online_tests(void **state)
{
	struct scenario sc = base(POOL_OLD, 5);

	(void)state;
	sc.spec = "ta8bcb";
	sc.sim.initial_avail = 0;
	sc.sim.drain_bytes_per_s = 4096;
	run(&sc);
	assert_int_equal(sc.status, -EINTR);
	assert_int_equal(sc.ss.blocked_ns, 0);
	assert_true(sc.st.refills > 1);
}

/* Seeds left buffered by a read more than five minutes (FEEDER_STALE_NS)
 * earlier are dropped before the next read; younger ones are used.  A
 * ready 5.18+ kernel, and seeds for at least two injections made before
 * the feeder starts (with continuous online tests, as the daemon runs,
 * they are released a whole passing run at a time, far more than two
 * injections' worth): the first injection (virtual time 0) takes some,
 * the second comes -T later.  After 299 s it takes more of the same: the
 * generator makes nothing.  After 301 s they are dropped and it must
 * fill anew.  The generator has no threads in seeds mode, so its
 * counters move only when the feeder reads. */
/* Two injections -T apart, seeds for both made before the feeder starts. */
static struct scenario stale_run(unsigned interval_s)
{
	struct scenario sc = base(POOL_NEW, interval_s + 1);

	sc.spec = "ta8bcb";
	sc.sim.crng_ready = true;
	sc.prefill = 2 * FEEDER_INJECT_BYTES;
	sc.fc.interval_s = interval_s;
	run(&sc);
	assert_int_equal(sc.status, -EINTR);
	assert_int_equal(sc.st.refills, 2);                /* at 0 s and -T */
	assert_int_equal(sc.ss.add_bytes, 2 * FEEDER_INJECT_BYTES);
	assert_true(sc.gen_before.walk_bytes > 0);
	return sc;
}

static void test_stale_seeds_dropped(void **state)
{
	struct scenario sc;

	(void)state;
	sc = stale_run(299);
	assert_int_equal(sc.gen_after.walk_bytes, sc.gen_before.walk_bytes);
	sc = stale_run(301);
	assert_true(sc.gen_after.walk_bytes > sc.gen_before.walk_bytes);
}

#ifdef HRNG_MOCK_TIMER
/* The timer freezes right after start-up: the first fill fails the health
 * tests permanently, nothing is ever credited, and the daemon ends with -EIO. */
static void test_dead_source_never_credits(void **state)
{
	struct scenario sc = base(POOL_OLD, 60);

	(void)state;
	sc.sim.initial_avail = 0;
	sc.mock_after_start = "freeze:100";
	run(&sc);
	timer_mock_set("real");
	assert_int_equal(sc.status, -EIO);
	assert_int_equal(sc.ss.add_calls, 0);
	assert_int_equal(sc.ss.credited_bits, 0);
	assert_int_equal(sc.avail, 0);
}
#endif

/* A stop signal caught during start-up, before the daemon blocked its
 * signals, sets the flag without interrupting any sleep: the loop must see
 * it before it first sleeps, not at the next wake-up (60 s on a ready
 * 5.18+ pool, never on a full idle old one). */
static void test_stop_before_loop(void **state)
{
	struct scenario sc = base(POOL_NEW, 3600);

	(void)state;
	sc.sim.crng_ready = true;
	sc.stop_at_start = SIGTERM;
	run(&sc);
	assert_int_equal(sc.status, -EINTR);
	assert_true(sc.now < SEC);                          /* no sleep */
	sc = base(POOL_OLD, 86400);
	sc.sim.initial_avail = 4096;
	sc.stop_at_start = SIGINT;
	run(&sc);
	assert_int_equal(sc.status, -EINTR);
	assert_true(sc.now < SEC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cold_boot_new_pool),
		cmocka_unit_test(test_new_pool_no_interval),
		cmocka_unit_test(test_old_pool_idle),
		cmocka_unit_test(test_stop_before_loop),
		cmocka_unit_test(test_old_pool_steady_drain),
		cmocka_unit_test(test_old_pool_overload),
		cmocka_unit_test(test_old_pool_no_credit),
		cmocka_unit_test(test_write_threshold),
		cmocka_unit_test(test_once),
		cmocka_unit_test(test_refill_call_cap),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_stray_eintr),
		cmocka_unit_test(test_io_source_dies),
		cmocka_unit_test(test_kernel_errors),
		cmocka_unit_test(test_with_online_tests),
		cmocka_unit_test(test_stale_seeds_dropped),
#ifdef HRNG_MOCK_TIMER
		cmocka_unit_test(test_dead_source_never_credits),
#endif
	};

	log_init("test_feeder", LOG_DEST_STDERR, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
