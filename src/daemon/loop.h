/* loop.h - the daemon's one loop: handlers register descriptors and
 * deadlines; one place blocks.
 *
 * The model is chrony's sched.c.  Each turn the loop looks at the signal
 * flags (a stop ends it with -EINTR; SIGUSR1 has every handler log
 * its statistics), asks every handler what to wait for (prepare()), sleeps
 * once in kernel->wait() -- so the simulated kernel's virtual clock stays
 * the one seam for time -- and then calls, in the order the handlers were
 * added, on_fds() of each that had descriptors and on_wake() of each.  As
 * chrony serves file handlers before timeouts, descriptors are served
 * before the wake-ups (the kernel waking writers, a deadline) are acted on.
 *
 * A handler ends the loop with loop_stop() (0, or -errno) or loop_failed()
 * (one line, then its -errno).  start() runs once, before the loop first looks at the
 * signals: a start-up that must happen even when a stop came early.
 */
#ifndef HRNG_LOOP_H
#define HRNG_LOOP_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel.h"

struct loop;

struct loop_handler {
	size_t max_fds;         /* bounds what prepare() fills */
	/* Once, before the first turn.  NULL: nothing. */
	void (*start)(void *arg, struct loop *l);
	/* Before sleeping: fill up to max_fds pollfds (returns how many),
	 * lower *timeout_ns (never raise it; -1 = none) and set
	 * *want_writable to sleep until the kernel wakes writers.  NULL:
	 * nothing to wait for. */
	size_t (*prepare)(void *arg, struct pollfd *fds, size_t max, int64_t *timeout_ns,
			  bool *want_writable, uint64_t now_ns);
	/* After a wait that did not fail: this handler's pollfds, revents
	 * set.  Called only when prepare() filled some. */
	void (*on_fds)(void *arg, struct loop *l, const struct pollfd *fds, size_t n,
		       uint64_t now_ns);
	/* Then, after every wait but a failed one: its result (enum
	 * kernel_wait, or -EINTR). */
	void (*on_wake)(void *arg, struct loop *l, int w);
	/* SIGUSR1: one line or a few through log_info().  NULL: nothing. */
	void (*log_stats)(void *arg);
	void *arg;
};

enum { LOOP_HANDLERS_MAX = 4 };

struct loop_config {
	struct kernel *k;                       /* whose wait() the loop sleeps in */
	volatile sig_atomic_t *stop;            /* the stopping signal, 0 while running */
	volatile sig_atomic_t *usr1;            /* SIGUSR1 seen; NULL: never */
	const char *waiting;                    /* a failed wait's message: "%s failed" */
};

struct loop {
	struct loop_config cfg;
	struct loop_handler h[LOOP_HANDLERS_MAX];
	size_t nh;
	struct pollfd *fds;
	uint64_t wakeups;                       /* returns from the kernel's wait */
	bool done;
	int status;
};

void loop_init(struct loop *l, const struct loop_config *cfg);
/* Returns 0, or -ENOSPC past LOOP_HANDLERS_MAX. */
int loop_add(struct loop *l, const struct loop_handler *h);
/* Runs until a handler stops it or a stop signal.  Returns -EINTR when
 * stopped by a signal (*cfg.stop names it), else what loop_stop() was
 * given (loop_failed()'s -errno; -ENOMEM, logged, when out of memory). */
int loop_run(struct loop *l);
/* End the loop after the current callback; loop_run() returns status
 * (0, or -errno). */
void loop_stop(struct loop *l, int status);
/* One line for a failure of what a handler was doing (what: "RNDADDENTROPY",
 * ...); -EIO is the noise source failing, which has logged its reason
 * already.  Returns err (-EIO for -EINTR, which is kept for a stop), what
 * the loop then ends with. */
int loop_failed(struct loop *l, const char *what, int err);
uint64_t loop_wakeups(const struct loop *l);
/* Every handler's log_stats(), in the order they were added. */
void loop_log_stats(const struct loop *l);

#endif
