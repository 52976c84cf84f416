/* service.h - the daemon's composition: daemon_run() wires the kernel
 * driver, the generators, the feeder, the EGD server and the loop, in the
 * start-up order the daemon needs, and runs the loop.
 *
 * The real daemon (main.c) sets process: /dev/random is opened with the
 * privilege to credit checked, the process forks (detach), blocks its
 * signals, drops privileges, starts every thread and installs the seccomp
 * filter, says READY=1 and logs its status line.  Tests and benches leave
 * process false and may give a kernel driver of their own (a simulated
 * one), an EGD byte source of their own, and one more handler on the loop.
 *
 * Start-up order: the device and -w (privileges), the EGD listeners (a
 * chgrp), the fork, the privileges dropped, the generators (their start-up
 * tests), the threads and the filter, then the loop.
 */
#ifndef HRNG_SERVICE_H
#define HRNG_SERVICE_H

#include <signal.h>
#include <stdbool.h>

#include "cpu.h"
#include "egd.h"
#include "feeder.h"
#include "generator.h"
#include "loop.h"

struct daemon_config {
	struct feeder_config feeder;    /* .feed false (--no-kernel): no feeder */
	struct gen_config gen;          /* both generators' (.output is set here) */
	struct egd_config egd;          /* .nlisteners 0: no EGD server */
	const char *egd_group;          /* --egd-group (sets egd.unix_gid), NULL = none */
	struct byte_source egd_source;  /* EGD's bytes; .read NULL: a GEN_STREAM generator */
	bool process;                   /* the real daemon (see above) */
	bool detach;                    /* fork; with process */
	const char *pidfile;            /* with detach, NULL = none */
	const struct cache_geom *geom;  /* -v 1's summary, with process */
	struct kernel *kernel;          /* the driver; NULL = /dev/random */
	const struct loop_handler *extra;       /* one more on the loop, NULL = none */
	struct egd_server **egd_now;    /* the server while it exists, NULL = not told */
	bool stats_at_end;              /* every handler's statistics when the loop ends */
	/* With process: signals.h's sig_stop and sig_usr1, which its
	 * handlers set. */
	volatile sig_atomic_t *stop;    /* the stopping signal, 0 while running */
	volatile sig_atomic_t *usr1;    /* SIGUSR1 seen, NULL = never */
};

/* What a run did; valid when daemon_run() returns. */
struct daemon_result {
	bool looped;                    /* start-up passed: the loop ran */
	uint64_t wakeups;               /* the loop's */
	struct feeder_stats feeder;
	struct gen_stats seeds;         /* the feeder's generator at the end */
	struct egd_listener_stats egd;  /* the first listener's at the end */
};

/* Returns 0 after --once; -EINTR when stopped by a signal (*c->stop names
 * it); another -errno after one line when start-up failed, or the
 * generator or the kernel did (loop.h).  main.c makes these exit
 * statuses.  res may be NULL. */
int daemon_run(const struct daemon_config *c, struct daemon_result *res);

#endif
