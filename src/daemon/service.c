/* service.c - the daemon's composition (see service.h).
 *
 * Sections: the kernel; the EGD server; the process; the loop; daemon_run().
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "assess.h"
#include "daemon.h"
#include "egd_loop.h"
#include "log.h"
#include "privs.h"
#include "report.h"
#include "service.h"
#include "signals.h"
#include "testspec.h"
#include "timer.h"

struct daemon {
	const struct daemon_config *c;
	struct kernel own;              /* /dev/random, when no driver was given */
	struct kernel *k;
	struct kernel_info info;
	struct egd_server *srv;
	struct generator *g;            /* the feeder's seeds */
	struct generator *eg;           /* the EGD server's stream */
	struct feeder *feeder;
	struct feeder_stats fs;
	struct loop loop;
	int ready;                      /* daemon_ready()'s descriptor, -1 = none */
	bool own_pidfile;               /* ours to remove: we wrote it */
};

/* ------------------------------------------------------------ the kernel */

/* Everything before the loop that needs privileges: the device, the
 * threshold.  Returns 0, or -errno after one line.  An EGD-only daemon
 * opens the device too (its ppoll is the loop's) but needs no privilege. */
static int open_kernel(struct daemon *d)
{
	const struct daemon_config *c = d->c;
	int r;

	d->k = c->kernel;
	if (!d->k) {
		r = kernel_linux_open(&d->own, NULL, NULL);
		if (r < 0)
			return r;
		d->k = &d->own;
	}
	if (!c->feeder.feed) {
		r = kernel_detect(d->k, &d->info);
		return r < 0 ? r : 0;
	}
	if (c->process && !privs_have_admin()) {
		log_errx("CAP_SYS_ADMIN is needed to credit the kernel's pool "
			 "(RNDADDENTROPY): run as root");
		return -EPERM;
	}
	r = kernel_detect(d->k, &d->info);
	if (r < 0) {
		log_errx("cannot read the kernel's pool size");
		return r;
	}
	return feeder_set_threshold(d->k, &d->info, &c->feeder);
}

/* ------------------------------------------------------------ the EGD server */

/* The EGD server's byte source: its own stream generator, made after the
 * sockets (which are opened while privileges still allow a chgrp). */
static int egd_gen_read(void *ctx, void *buf, size_t n)
{
	struct daemon *d = ctx;

	return d->eg ? gen_read(d->eg, buf, n) : -EIO;
}

/* Open the listeners.  Returns 0, or -errno after one line. */
static int open_egd(struct daemon *d)
{
	const struct daemon_config *c = d->c;
	struct egd_config ec = c->egd;
	char err[256];
	size_t i;
	int r;

	if (ec.nlisteners == 0)
		return 0;
	for (i = 0; i < ec.nlisteners; i++)
		if (ec.listeners[i].inherited)
			log_info("egd %s: serving on the socket systemd handed over (descriptor %d)",
				 ec.listeners[i].spec, ec.listeners[i].fd);
	if (c->egd_group) {
		struct group *gr = getgrnam(c->egd_group);

		if (!gr) {
			log_errx("--egd-group: no group '%s'", c->egd_group);
			return -ENOENT;
		}
		ec.unix_gid = gr->gr_gid;
	}
	struct byte_source gen = { .read = egd_gen_read, .ctx = d };

	r = egd_server_new(&d->srv, &ec, c->egd_source.read ? &c->egd_source : &gen, err,
			   sizeof(err));
	if (r < 0) {
		log_errx("%s", err);
		return r;
	}
	if (c->egd_now)
		*c->egd_now = d->srv;
	return 0;
}

/* ------------------------------------------------------------ the process */

/* Fork, block the signals, drop privileges, make the generators and the
 * feeder.  Returns 0, or -errno (logged). */
static int start(struct daemon *d)
{
	const struct daemon_config *c = d->c;
	struct gen_config gc = c->gen;
	int r;

	if (c->detach && (r = daemon_fork(c->pidfile, &d->ready)) < 0)
		return r;
	d->own_pidfile = c->detach && c->pidfile;
	if (c->process) {
		sigset_t wait;

		signals_block_daemon(&wait);
		kernel_linux_set_waitmask(d->k, &wait);
		if ((r = privs_drop(c->feeder.feed)) < 0)
			return r;
	}
	gc.output = GEN_SEEDS;
	if (c->feeder.feed && (r = report_gen_failed(gen_new(&d->g, &gc))) < 0)
		return r;
	/* Every allocation before the summary lines: a failure is the one line. */
	if (c->feeder.feed &&
	    !(d->feeder = feeder_new(d->k, &d->info, d->g, &c->feeder, c->stop, &d->fs)))
		return -ENOMEM;
	gc.output = GEN_STREAM;
	if (d->srv && !c->egd_source.read && (r = report_gen_failed(gen_new(&d->eg, &gc))) < 0)
		return r;
	return 0;
}

static void log_summary(const struct daemon *d)
{
	const struct daemon_config *c = d->c;
	const struct cache_geom *geom = c->geom;
	bool no_kernel = !c->feeder.feed;
	struct timer_info ti;
	char specbuf[64];

	timer_measure(&ti);
	testspec_format(c->gen.spec, specbuf, sizeof(specbuf));
	/* The seeds skip the continuous group (lane.c, continuous_tests()):
	 * say so where -o is shown, so nobody takes it for a test of them. */
	bool split = !no_kernel && testspec_any(&c->gen.spec->continuous);

	log_info("havege-rngd %s: timer %s; data %u KB (%s), inst %u KB (%s); tests %s%s; "
		 "%s %u bits/byte; kernel: %s", PACKAGE_VERSION, ti.name, geom->data_kb,
		 cpu_source_name(geom->data_src), geom->inst_kb, cpu_source_name(geom->inst_src),
		 specbuf[0] ? specbuf : "off",
		 split ? " (continuous on EGD output; the seeds: start-up and health tests)" : "",
		 no_kernel ? "not fed, credit would be" : "credit",
		 c->feeder.credit_per_byte, kernel_pool_name(d->info.pool));
}

/* Every thread, and the time zone syslog stamps with, before the filter:
 * it allows neither clone nor opening /etc/localtime.  Then the summary,
 * and the parent and systemd hear that the daemon is up.  Returns 0, or
 * -errno (logged). */
static int harden(struct daemon *d)
{
	int r;

	if ((d->g && (r = gen_start_lanes(d->g)) < 0) ||
	    (d->eg && (r = gen_start_lanes(d->eg)) < 0))
		return r;
	tzset();
	if ((r = privs_seccomp()) < 0)
		return r;
	if (log_verbose(VERB_SUMMARY)) {
		log_summary(d);
		assess_log_noise(gen_noise(d->g ? d->g : d->eg));
	}
	report_layout(d->g ? d->g : d->eg);
	notify("READY=1");
	daemon_ready(d->ready, 0);
	d->ready = -1;
	return 0;
}

/* ------------------------------------------------------------ the loop */

/* --no-kernel: the feeder's statistics line, without a feeder. */
static void unfed_stats(void *arg)
{
	log_info("statistics: %llu wake-ups; the kernel is not fed",
		 (unsigned long long)loop_wakeups(arg));
}

static void notify_status(const char *status)
{
	char line[200];

	snprintf(line, sizeof(line), "STATUS=%s", status);
	notify(line);
	log_info("%s", status);
}

/* The handlers, in the order they are served: the feeder (or its
 * statistics line), the EGD server, the caller's. */
static void add_handlers(struct daemon *d)
{
	const struct daemon_config *c = d->c;
	struct loop_handler unfed = { .log_stats = unfed_stats, .arg = &d->loop };
	struct loop_config lc = { .k = d->k, .stop = c->stop, .usr1 = c->usr1,
				  .waiting = c->feeder.feed ? "waiting on /dev/random"
							    : "waiting for EGD clients" };

	loop_init(&d->loop, &lc);
	if (d->feeder)
		feeder_add(d->feeder, &d->loop);
	else
		loop_add(&d->loop, &unfed);
	if (d->srv)
		egd_loop_add(d->srv, &d->loop);
	if (c->extra)
		loop_add(&d->loop, c->extra);
}

static int run_loop(struct daemon *d)
{
	const struct daemon_config *c = d->c;
	char status[160];
	int r;

	add_handlers(d);
	if (c->process) {
		if (c->feeder.feed)
			snprintf(status, sizeof(status), "feeding the %s",
				 kernel_pool_name(d->info.pool));
		else
			snprintf(status, sizeof(status), "serving EGD only; the kernel is not fed");
		notify_status(status);
	}
	r = loop_run(&d->loop);
	if (c->stats_at_end)
		loop_log_stats(&d->loop);
	if (c->process && r == -EINTR)
		log_notice("stopped by signal %d", (int)*c->stop);
	return r;
}

/* ------------------------------------------------------------ daemon_run() */

static int check_config(const struct daemon_config *c)
{
	if (!c->feeder.feed && c->feeder.once) {
		log_errx("--once with --no-kernel: nothing to do (--once feeds the kernel once "
			 "and serves no EGD client)");
		return -EINVAL;
	}
	if (!c->feeder.feed && c->egd.nlisteners == 0) {
		log_errx("--no-kernel: nothing left to do without --egd");
		return -EINVAL;
	}
	return 0;
}

static void result(const struct daemon *d, struct daemon_result *res, bool looped)
{
	memset(res, 0, sizeof(*res));
	res->looped = looped;
	res->wakeups = d->loop.wakeups;
	res->feeder = d->fs;
	if (d->g)
		gen_get_stats(d->g, &res->seeds);
	if (d->srv)
		egd_get_stats(d->srv, 0, &res->egd, NULL);
}

int daemon_run(const struct daemon_config *c, struct daemon_result *res)
{
	struct daemon d = { .c = c, .ready = -1 };
	bool looped = false;
	int status;

	if ((status = check_config(c)) || (status = open_kernel(&d)) ||
	    (status = open_egd(&d)) || (status = start(&d)) ||
	    (c->process && (status = harden(&d))))
		goto out;
	looped = true;
	status = run_loop(&d);
out:
	if (res)
		result(&d, res, looped);
	if (c->egd_now)
		*c->egd_now = NULL;
	feeder_free(d.feeder);
	egd_server_free(d.srv);
	gen_free(d.eg);
	gen_free(d.g);
	if (d.own.close)
		d.own.close(&d.own);
	/* Another instance's pidfile is left alone; the parent hears of a
	 * failure only once everything is cleaned up. */
	if (d.own_pidfile)
		pidfile_remove(c->pidfile);
	daemon_ready(d.ready, 1);
	return status;
}
