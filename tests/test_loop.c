/* test_loop.c - the daemon's one loop (src/daemon/loop.c): the order handlers
 * are asked and served in, deadlines and the kernel's wake-up, descriptor
 * readiness, descriptors a handler drops, signals, and failures.
 *
 * Most tests run the loop on a fake kernel driver with a virtual clock
 * whose wait() asks poll() (no sleep) which descriptors are ready; the
 * last one uses the real Linux driver and real signals. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "kernel.h"
#include "log.h"
#include "loop.h"
#include "util.h"

enum { SEC = NS_PER_SEC };

static volatile sig_atomic_t stop, usr1;

/* ------------------------------------------------------------ fake kernel */

static struct {
	uint64_t now;
	unsigned waits;
	bool want;                      /* the last wait's */
	int64_t timeout;                /* the last wait's */
	size_t n;                       /* the last wait's descriptors */
	unsigned writable_at;           /* that wait (1-based) returns WAIT_WRITABLE */
	int fail;                       /* errno every wait fails with, 0 = none */
} fk;

static int fk_wait(struct kernel *k, bool want, struct pollfd *fds, size_t n, int64_t timeout)
{
	(void)k;
	if (++fk.waits > 1000)
		fail_msg("the loop did not end");
	fk.want = want;
	fk.timeout = timeout;
	fk.n = n;
	if (fk.fail)
		return -fk.fail;
	if (poll(fds, n, 0) > 0)
		return WAIT_EVENT;
	if (want && fk.waits == fk.writable_at)
		return WAIT_WRITABLE;
	if (timeout < 0) {              /* nothing would ever wake it: end */
		stop = SIGTERM;
		return -EINTR;
	}
	fk.now += (uint64_t)timeout;
	return WAIT_TIMEOUT;
}

static uint64_t fk_now(struct kernel *k)
{
	(void)k;
	return fk.now;
}

static struct kernel fake = { .name = "fake", .wait = fk_wait, .now_ns = fk_now };

static void loop_fake(struct loop *l)
{
	struct loop_config lc = { .k = &fake, .stop = &stop, .usr1 = &usr1,
				  .waiting = "waiting on the fake" };

	memset(&fk, 0, sizeof(fk));
	stop = usr1 = 0;
	loop_init(l, &lc);
}

/* ------------------------------------------------------------ a recorder */

/* A handler that writes what is done to it into a shared trace:
 * "s0" start, "p0" prepare, "f0" on_fds, "w0" on_wake, "l0" log_stats. */
static char trace[512];

static void note(const char *what, int id)
{
	size_t len = strlen(trace);

	snprintf(trace + len, sizeof(trace) - len, "%s%d ", what, id);
}

struct rec {
	int id;
	int fd;                         /* -1: none */
	uint64_t deadline;              /* absolute, UINT64_MAX = none */
	bool want;                      /* the kernel's wake-up */
	unsigned stop_at_wake;          /* stop the loop at this on_wake (1-based) */
	int stop_status;
	bool stop_at_start;
	/* seen */
	unsigned wakes, fds_calls;
	int last_w;
	short revents;
	uint64_t fds_now;
};

static void rec_start(void *arg, struct loop *l)
{
	struct rec *r = arg;

	note("s", r->id);
	if (r->stop_at_start)
		loop_stop(l, r->stop_status);
}

static size_t rec_prepare(void *arg, struct pollfd *fds, size_t max, int64_t *timeout_ns,
			  bool *want_writable, uint64_t now)
{
	struct rec *r = arg;

	note("p", r->id);
	if (r->want)
		*want_writable = true;
	if (r->deadline != UINT64_MAX) {
		int64_t t = (int64_t)(r->deadline > now ? r->deadline - now : 0);

		if (*timeout_ns < 0 || t < *timeout_ns)
			*timeout_ns = t;
	}
	if (r->fd < 0)
		return 0;
	assert_true(max >= 1);
	fds[0] = (struct pollfd){ .fd = r->fd, .events = POLLIN };
	return 1;
}

static void rec_fds(void *arg, struct loop *l, const struct pollfd *fds, size_t n, uint64_t now)
{
	struct rec *r = arg;

	(void)l;
	note("f", r->id);
	assert_int_equal(n, 1);
	assert_int_equal(fds[0].fd, r->fd);     /* its own slice of the array */
	r->fds_calls++;
	r->revents = fds[0].revents;
	r->fds_now = now;
}

static void rec_wake(void *arg, struct loop *l, int w)
{
	struct rec *r = arg;

	note("w", r->id);
	r->last_w = w;
	if (++r->wakes == r->stop_at_wake)
		loop_stop(l, r->stop_status);
}

static unsigned stats_calls;

static void rec_stats(void *arg)
{
	if (++stats_calls > 1000)
		fail_msg("statistics without end: SIGUSR1 not consumed");
	note("l", ((struct rec *)arg)->id);
}

static struct loop_handler handler(struct rec *r)
{
	return (struct loop_handler){ .max_fds = 1, .start = rec_start, .prepare = rec_prepare,
				      .on_fds = rec_fds, .on_wake = rec_wake,
				      .log_stats = rec_stats, .arg = r };
}

static struct rec rec(int id)
{
	return (struct rec){ .id = id, .fd = -1, .deadline = UINT64_MAX };
}

/* ------------------------------------------------------------ tests */

/* Start, prepare, descriptors, wake-ups: each in the order the handlers
 * were added, descriptors (of those that have some) before any wake-up;
 * loop_stop() ends the turn at once with its status. */
static void test_order(void **state)
{
	struct rec a = rec(0), b = rec(1), c = rec(2);
	struct loop_handler ha = handler(&a), hb = handler(&b), hc = handler(&c);
	int p[2];
	struct loop l;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	b.fd = c.fd = p[0];                     /* ready: never read */
	a.deadline = 5ull * SEC;
	b.stop_at_wake = 2;
	b.stop_status = 7;
	loop_fake(&l);
	trace[0] = '\0';
	assert_int_equal(loop_add(&l, &ha), 0);
	assert_int_equal(loop_add(&l, &hb), 0);
	assert_int_equal(loop_add(&l, &hc), 0);
	assert_int_equal(loop_run(&l), 7);
	assert_string_equal(trace, "s0 s1 s2 p0 p1 p2 f1 f2 w0 w1 w2 p0 p1 p2 f1 f2 w0 w1 ");
	assert_int_equal(loop_wakeups(&l), 2);
	assert_int_equal(fk.n, 2);              /* a has no descriptor */
	assert_true(b.revents & POLLIN);
	assert_int_equal(c.wakes, 1);           /* stopped before its second */
	close(p[0]);
	close(p[1]);
}

/* The loop sleeps to the nearest deadline of all handlers, asks for the
 * kernel's wake-up when any handler wants it, and sleeps without a
 * timeout when none has a deadline. */
static void test_deadlines(void **state)
{
	struct rec a = rec(0), b = rec(1);
	struct loop_handler ha = handler(&a), hb = handler(&b);
	struct loop l;

	(void)state;
	a.deadline = 7ull * SEC;
	b.deadline = 3ull * SEC;
	b.stop_at_wake = 1;
	loop_fake(&l);
	loop_add(&l, &ha);
	loop_add(&l, &hb);
	assert_int_equal(loop_run(&l), 0);
	assert_int_equal(fk.timeout, 3ll * SEC);
	assert_int_equal(fk.now, 3ull * SEC);
	assert_false(fk.want);
	assert_int_equal(a.last_w, WAIT_TIMEOUT);

	/* Past deadlines: a zero timeout, not a negative (infinite) one. */
	a = rec(0);
	b = rec(1);
	a.want = true;
	a.deadline = 0;
	b.stop_at_wake = 1;
	loop_fake(&l);
	fk.now = 10ull * SEC;
	fk.writable_at = 1;
	loop_add(&l, &ha);
	loop_add(&l, &hb);
	assert_int_equal(loop_run(&l), 0);
	assert_int_equal(fk.timeout, 0);
	assert_true(fk.want);
	assert_int_equal(b.last_w, WAIT_WRITABLE);      /* every handler hears it */

	/* No deadline anywhere: an infinite wait (the fake ends it). */
	a = rec(0);
	loop_fake(&l);
	loop_add(&l, &ha);
	assert_int_equal(loop_run(&l), -EINTR);
	assert_int_equal(fk.timeout, -1);
	assert_int_equal(a.last_w, -EINTR);             /* told of the interruption */
}

/* Descriptors: on_fds is called with revents as poll() set them, for a
 * ready one and for one that is not; a handler that stops listing its
 * descriptor (it closed it) is no longer asked about it, and the next
 * handler's slice moves up. */
static void test_fds_and_removal(void **state)
{
	struct rec a = rec(0), b = rec(1);
	struct loop_handler ha = handler(&a), hb = handler(&b);
	int ready[2], idle[2];
	struct loop l;

	(void)state;
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(idle), 0);
	assert_int_equal(write(ready[1], "x", 1), 1);
	a.fd = idle[0];
	b.fd = ready[0];
	b.stop_at_wake = 1;
	loop_fake(&l);
	fk.now = 42;
	loop_add(&l, &ha);
	loop_add(&l, &hb);
	assert_int_equal(loop_run(&l), 0);
	assert_int_equal(fk.n, 2);
	assert_int_equal(a.revents, 0);
	assert_true(b.revents & POLLIN);
	assert_int_equal(b.fds_now, 42);
	assert_int_equal(b.last_w, WAIT_EVENT);

	/* a drops its descriptor: b's is the only one, first in the array. */
	close(idle[0]);
	close(idle[1]);
	a.fd = -1;
	a.fds_calls = 0;
	b.wakes = 0;
	b.fds_calls = 0;
	loop_fake(&l);
	loop_add(&l, &ha);
	loop_add(&l, &hb);
	assert_int_equal(loop_run(&l), 0);
	assert_int_equal(fk.n, 1);
	assert_int_equal(a.fds_calls, 0);
	assert_int_equal(b.fds_calls, 1);
	close(ready[0]);
	close(ready[1]);
}

/* A stop caught before the loop: start() still runs (the daemon's first
 * refill), then the loop ends with 128 + signal without sleeping.  SIGUSR1:
 * every handler's statistics, in order, and the flag is consumed. */
static void test_signals(void **state)
{
	struct rec a = rec(0), b = rec(1);
	struct loop_handler ha = handler(&a), hb = handler(&b);
	struct loop l;

	(void)state;
	loop_fake(&l);
	trace[0] = '\0';
	stop = SIGINT;
	loop_add(&l, &ha);
	assert_int_equal(loop_run(&l), -EINTR);
	assert_string_equal(trace, "s0 ");
	assert_int_equal(fk.waits, 0);

	a.deadline = 1ull * SEC;
	a.stop_at_wake = 1;
	loop_fake(&l);
	trace[0] = '\0';
	usr1 = 1;
	loop_add(&l, &ha);
	loop_add(&l, &hb);
	assert_int_equal(loop_run(&l), 0);
	assert_string_equal(trace, "s0 s1 l0 l1 p0 p1 w0 ");
	assert_int_equal(usr1, 0);
}

/* A wait that fails ends the loop with 1 and calls no handler; a start()
 * that stops it means no wait at all; a fifth handler is refused. */
static void test_failures(void **state)
{
	struct rec a = rec(0);
	struct loop_handler ha = handler(&a);
	struct loop l;
	int i;

	(void)state;
	loop_fake(&l);
	fk.fail = EBADF;
	trace[0] = '\0';
	loop_add(&l, &ha);
	assert_int_equal(loop_run(&l), -EBADF);
	assert_string_equal(trace, "s0 p0 ");
	assert_int_equal(loop_wakeups(&l), 1);

	a.stop_at_start = true;
	a.stop_status = 3;
	loop_fake(&l);
	loop_add(&l, &ha);
	assert_int_equal(loop_run(&l), 3);
	assert_int_equal(fk.waits, 0);

	loop_fake(&l);
	for (i = 0; i < LOOP_HANDLERS_MAX; i++)
		assert_int_equal(loop_add(&l, &ha), 0);
	assert_int_equal(loop_add(&l, &ha), -ENOSPC);
}

/* A loop that always has work (a descriptor that stays readable, as under
 * a flood of EGD clients) still acts on signals at once: ppoll() returning
 * a positive count must not leave them pending.  The real Linux driver,
 * the daemon's mask: SIGUSR1 raised at the 10th turn logs statistics at
 * the next one, SIGTERM at the 20th ends the loop at the next one. */
struct busy_io {
	int pipe[2];
	unsigned turns, stats, usr1_at, term_at;
};

static size_t busy_pollfds(void *arg, struct pollfd *fds, size_t max, int64_t *timeout_ns,
			   bool *want_writable, uint64_t now_ns)
{
	struct busy_io *b = arg;

	(void)max;
	(void)timeout_ns;
	(void)want_writable;
	(void)now_ns;
	fds[0] = (struct pollfd){ .fd = b->pipe[0], .events = POLLIN };
	return 1;
}

static void busy_dispatch(void *arg, struct loop *l, const struct pollfd *fds, size_t n,
			  uint64_t now_ns)
{
	struct busy_io *b = arg;

	(void)l;
	(void)now_ns;
	assert_int_equal(n, 1);
	assert_true(fds[0].revents & POLLIN);   /* never read: always ready */
	b->turns++;
	if (b->turns == b->usr1_at)
		kill(getpid(), SIGUSR1);
	if (b->turns == b->term_at)
		kill(getpid(), SIGTERM);
	if (b->turns > b->term_at + 1000)
		fail_msg("SIGTERM pending for 1000 busy turns");
}

static void busy_stats(void *arg)
{
	if (++((struct busy_io *)arg)->stats > 1000)
		fail_msg("statistics without end: SIGUSR1 not consumed");
}

static void on_test_signal(int sig)
{
	if (sig == SIGUSR1)
		usr1 = 1;
	else
		stop = sig;
}

static void test_signals_under_load(void **state)
{
	struct busy_io b = { .usr1_at = 10, .term_at = 20 };
	struct loop_handler io = { .max_fds = 1, .prepare = busy_pollfds,
				   .on_fds = busy_dispatch, .log_stats = busy_stats, .arg = &b };
	struct loop_config lc = { .stop = &stop, .usr1 = &usr1,
				  .waiting = "waiting for EGD clients" };
	struct sigaction sa = { .sa_handler = on_test_signal }, old_term, old_usr1;
	struct kernel k;
	struct loop l;
	sigset_t block, old;
	int status;

	(void)state;
	if (kernel_linux_open(&k, NULL, NULL) < 0)
		skip();                 /* no /dev/random to open here */
	assert_int_equal(pipe(b.pipe), 0);
	assert_int_equal(write(b.pipe[1], "x", 1), 1);
	stop = usr1 = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGUSR1, &sa, &old_usr1);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	kernel_linux_set_waitmask(&k, &old);
	lc.k = &k;
	loop_init(&l, &lc);
	assert_int_equal(loop_add(&l, &io), 0);
	status = loop_run(&l);
	sigprocmask(SIG_SETMASK, &old, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGUSR1, &old_usr1, NULL);
	k.close(&k);
	close(b.pipe[0]);
	close(b.pipe[1]);
	assert_int_equal(status, -EINTR);
	assert_int_equal(b.stats, 1);
	assert_int_equal(usr1, 0);                         /* consumed */
	assert_true(b.turns <= b.term_at + 1);             /* the very next turn */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_deadlines),
		cmocka_unit_test(test_fds_and_removal),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_signals_under_load),
	};

	log_init("test_loop", LOG_DEST_STDERR, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
