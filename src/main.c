/* main.c - havege-rngd: parse the command line, then run one mode.
 *
 *   RUN_INFO   -r 1: print the configuration and tuning, exit 0
 *   RUN_RAW    --raw-samples: raw timer deltas for SP 800-90B assessment
 *   RUN_FILE   -n / -r > 1: conditioned bytes to a file or stdout
 *   RUN_DAEMON feed the kernel and/or serve EGD (run_daemon())
 *
 * Start-up and configuration errors are one line on stderr and exit status
 * 1 before anything is written.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "assess.h"
#include "collector.h"
#include "cpu.h"
#include "daemon.h"
#include "egd.h"
#include "fds.h"
#include "feeder.h"
#include "kernel.h"
#include "privs.h"
#include "filesink.h"
#include "generator.h"
#include "health.h"
#include "log.h"
#include "noise.h"
#include "options.h"
#include "testspec.h"
#include "timer.h"
#include "util.h"

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

/* SIGTERM and SIGINT end a run (haveged ignores them in file mode); no
 * SA_RESTART, so a blocked write() returns EINTR and the run ends promptly.
 * A closed pipe shows up as EPIPE instead of killing us. */
static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* File mode: every other signal whose default action ends the process
 * stops the run the same way (128 + signal), so that none leaves the
 * temporary file behind.  Only SIGKILL (and a crash) still can. */
static void install_file_signals(void)
{
	static const int fatal[] = { SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF,
				     SIGXCPU, SIGXFSZ, SIGPOLL, SIGPWR, SIGSTKFLT };
	struct sigaction sa;
	size_t i;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
	for (sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		sigaction(sig, &sa, NULL);
}

/* -d given: the calibration ladder keeps the walk table where it is. */
static bool table_fixed(const struct cache_geom *geom)
{
	return geom->data_src == CACHE_SRC_OPTION;
}

static void gen_config_from(struct gen_config *gc, const struct options *o,
			    const struct cache_geom *geom, const struct testspec *spec)
{
	memset(gc, 0, sizeof(*gc));
	gc->data_kb = geom->data_kb;
	gc->inst_kb = geom->inst_kb;
	gc->table_fixed = table_fixed(geom);
	gc->buffer_words = (size_t)o->buffer * 1024;
	gc->threads = o->threads;
	gc->spec = spec;
}

/* ------------------------------------------------------------ -r 1 */

/* The configuration, and the noise source as calibrated here and now.
 * Returns 0, or 1 when the source would be refused (after the lines). */
static int print_info(const struct options *o, const struct testspec *spec)
{
	struct cache_geom geom;
	struct timer_info ti;
	struct collector_layout l;
	struct noise n;
	char specbuf[64];
	int ret;

	cpu_detect(&geom, o->data_kb, o->inst_kb);
	timer_measure(&ti);
	ret = noise_calibrate(&n, geom.data_kb, geom.inst_kb, table_fixed(&geom));
	if (ret == -ENOMEM) {
		noise_free(&n);
		log_errx("out of memory");
		return 1;
	}
	testspec_format(spec, specbuf, sizeof(specbuf));
	printf("havege-rngd %s%s\n", PACKAGE_VERSION, timer_is_mock() ? " (mock timer build)" : "");
	printf("cpu: %s\n", geom.cpu[0] ? geom.cpu : "unknown");
	printf("data cache: %u KB (%s)\n", geom.data_kb, cpu_source_name(geom.data_src));
	printf("instruction cache: %u KB (%s)\n", geom.inst_kb, cpu_source_name(geom.inst_src));
	printf("timer: %s, resolution %llu ticks, %.3f ticks/ns\n", ti.name,
	       (unsigned long long)ti.resolution, ti.ticks_per_ns);
	if (ret == 0) {
		collector_get_layout(n.col, &l);
		printf("walk table: %zu words (%zu KB)\n", l.table_words, l.table_words * 4 / 1024);
		if (l.measured)
			printf("walk code: %u of %u copies run, %zu of %zu bytes\n", l.copies_run,
			       l.copies_built, l.code_run, l.code_built);
		else
			printf("walk code: all %u copies run (layout unmeasured)\n", l.copies_built);
		assess_print_noise(stdout, &n);
	}
	printf("online tests: %s\n", specbuf[0] ? specbuf : "off");
	printf("buffer: %u x 1024 words; threads: %u\n", o->buffer, o->threads);
	fflush(stdout);
	if (ret < 0)
		log_errx("start-up health test failed: %s", n.why);
	noise_free(&n);
	return ret < 0;
}

/* ------------------------------------------------------------ raw samples */

struct raw_ctx {
	struct noise n;
	uint32_t *walk;          /* scratch for the walk output */
	uint64_t *deltas;        /* one fill of samples */
	size_t have, pos;        /* samples in the array, next to hand out */
};

enum { RAW_WORDS = 64 * 1024 };

static int raw_read(void *ctx, void *buf, size_t n)
{
	struct raw_ctx *rc = ctx;
	uint8_t *p = buf;

	while (n > 0) {
		if (rc->pos == rc->have) {
			rc->have = noise_fill(&rc->n, rc->walk, RAW_WORDS, rc->deltas);
			rc->pos = 0;
		}
		*p++ = (uint8_t)rc->deltas[rc->pos++];
		n--;
	}
	return 0;
}

/* One byte per sample, exactly as the health tests see them at the rung
 * the calibration chose (noise.h), for SP 800-90B assessment. */
static int run_raw(const struct options *o, const struct cache_geom *geom)
{
	struct filesink_opts fo = { .path = opt_file_path(o), .bytes = opt_raw_samples(o),
				    .progress = o->progress };
	struct raw_ctx rc = { .walk = NULL };
	int st = 1, ret;

	ret = noise_calibrate(&rc.n, geom->data_kb, geom->inst_kb, table_fixed(geom));
	rc.walk = malloc(RAW_WORDS * sizeof(uint32_t));
	rc.deltas = malloc(RAW_WORDS / COLLECTOR_WORDS_PER_SAMPLE * sizeof(uint64_t));
	if (ret == -EIO) {
		log_errx("start-up health test failed: %s", rc.n.why);
	} else if (ret < 0 || !rc.walk || !rc.deltas) {
		log_errx("out of memory");
	} else {
		struct byte_source src = { .read = raw_read, .ctx = &rc };

		if (log_verbose(VERB_SUMMARY))
			assess_log_noise(&rc.n);
#ifdef HRNG_MOCK_TIMER
		timer_mock_started();
#endif
		st = filesink_run(&src, &fo, &stop_signal);
	}
	noise_free(&rc.n);
	free(rc.walk);
	free(rc.deltas);
	return st;
}

/* ------------------------------------------------------------ file mode */

static void log_summary(const struct options *o, const struct cache_geom *geom,
			const struct testspec *spec, struct generator *g)
{
	struct collector_layout l;
	struct timer_info ti;
	char specbuf[64];

	gen_get_layout(g, &l);
	timer_measure(&ti);
	testspec_format(spec, specbuf, sizeof(specbuf));
	log_info("havege-rngd %s: timer %s; data %u KB (%s), inst %u KB (%s); "
		 "%u of %u copies; tests %s; threads %u", PACKAGE_VERSION, ti.name,
		 geom->data_kb, cpu_source_name(geom->data_src), geom->inst_kb,
		 cpu_source_name(geom->inst_src), l.copies_run, l.copies_built,
		 specbuf[0] ? specbuf : "off", o->threads);
	assess_log_noise(gen_noise(g));
}

/* -v 8: the walk's layout; -v 16: where its code is. */
static void log_layout(const struct collector_layout *l)
{
	if (log_verbose(VERB_LOOP))
		log_info("walk: %u of %u copies run, %zu of %zu bytes of code, table %zu words%s",
			 l->copies_run, l->copies_built, l->code_run, l->code_built,
			 l->table_words, l->measured ? "" : " (layout unmeasured)");
	if (log_verbose(VERB_CODE))
		log_info("walk code at %p", l->code_start);
}

/* A gen_new() that failed says why in one line: a failing noise source
 * has said so already.  EAGAIN is what a thread whose stack cannot be
 * mapped gives, so it is named for what it usually is. */
static bool gen_failed(int err)
{
	if (err == -EAGAIN)
		log_errx("cannot start the generator's threads: out of memory for their stacks, "
			 "or over the limit on processes (ulimit -v, ulimit -u)");
	else if (err < 0 && err != -EIO)
		log_errx("cannot start the generator: %s", strerror(-err));
	return err < 0;
}

static int run_file(const struct options *o, const struct cache_geom *geom)
{
	const struct testspec *spec = &o->spec;
	struct filesink_opts fo = { .path = opt_file_path(o), .bytes = opt_file_bytes(o),
				    .progress = o->progress || isatty(STDERR_FILENO) };
	struct gen_config gc;
	struct generator *g;
	int st;

	gen_config_from(&gc, o, geom, spec);
	if (gen_failed(gen_new(&g, &gc)))
		return 1;
	if (log_verbose(VERB_SUMMARY))
		log_summary(o, geom, spec, g);
	if (log_verbose(VERB_LOOP | VERB_CODE)) {
		struct collector_layout l;

		gen_get_layout(g, &l);
		log_layout(&l);
	}
	struct byte_source src = gen_byte_source(g);

	st = filesink_run(&src, &fo, &stop_signal);
	gen_free(g);
	return st;
}

/* ------------------------------------------------------------ daemon */

static volatile sig_atomic_t usr1_signal;

static void on_usr1(int sig)
{
	(void)sig;
	usr1_signal = 1;
}

/* The stop signals and SIGUSR1 are blocked except while the daemon sleeps
 * in ppoll(), which unblocks them atomically: none can slip in between a
 * look at the flags and the sleep.  Threads started later inherit the
 * blocked mask, so signals always reach the main thread. */
static void block_daemon_signals(struct kernel *k)
{
	struct sigaction sa;
	sigset_t block, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	kernel_linux_set_waitmask(k, &old);
}

static void notify_status(void *arg, const char *status)
{
	char line[200];

	(void)arg;
	snprintf(line, sizeof(line), "STATUS=%s", status);
	notify(line);
	log_info("%s", status);
}

/* Everything before the loop that needs privileges: the device, the
 * threshold.  Returns 0, or 1 after one line.  An EGD-only daemon opens
 * the device too (its ppoll is the loop's) but needs no privilege. */
static int daemon_open(struct kernel *k, struct kernel_info *info,
		       const struct feeder_config *fc)
{
	char err[256];

	if (kernel_linux_open(k, NULL, NULL, err, sizeof(err)) < 0) {
		log_errx("%s", err);
		return 1;
	}
	if (!fc->feed)
		return kernel_detect(k, info) < 0 ? 1 : 0;
	if (!privs_have_admin()) {
		log_errx("CAP_SYS_ADMIN is needed to credit the kernel's pool "
			 "(RNDADDENTROPY): run as root");
		return 1;
	}
	if (kernel_detect(k, info) < 0) {
		log_errx("cannot read the kernel's pool size");
		return 1;
	}
	return feeder_set_threshold(k, info, fc);
}

static void log_daemon_summary(const struct options *o, const struct cache_geom *geom,
			       const struct kernel_info *info)
{
	struct timer_info ti;
	char specbuf[64];

	timer_measure(&ti);
	testspec_format(&o->spec, specbuf, sizeof(specbuf));
	/* The seeds skip the continuous group (lane.c, continuous_tests()):
	 * say so where -o is shown, so nobody takes it for a test of them. */
	bool split = !o->no_kernel && testspec_any(&o->spec.continuous);

	log_info("havege-rngd %s: timer %s; data %u KB (%s), inst %u KB (%s); tests %s%s; "
		 "%s %u bits/byte; kernel: %s", PACKAGE_VERSION, ti.name, geom->data_kb,
		 cpu_source_name(geom->data_src), geom->inst_kb, cpu_source_name(geom->inst_src),
		 specbuf[0] ? specbuf : "off",
		 split ? " (continuous on EGD output; the seeds: start-up and health tests)" : "",
		 o->no_kernel ? "not fed, credit would be" : "credit",
		 o->credit, kernel_pool_name(info->pool));
}

/* ------------------------------------------------------------ EGD */

/* The EGD server's byte source: its own stream generator, made after the
 * sockets (which are opened while privileges still allow a chgrp). */
struct egd_glue {
	struct egd_server *srv;
	struct generator *g;
};

static int egd_glue_read(void *ctx, void *buf, size_t n)
{
	struct egd_glue *e = ctx;

	return e->g ? gen_read(e->g, buf, n) : -EIO;
}

static size_t egd_io_pollfds(void *arg, struct pollfd *fds, size_t max, int64_t *timeout_ns,
			     uint64_t now_ns)
{
	return egd_pollfds(((struct egd_glue *)arg)->srv, fds, max, timeout_ns, now_ns);
}

static void egd_io_dispatch(void *arg, const struct pollfd *fds, size_t n, uint64_t now_ns)
{
	egd_dispatch(((struct egd_glue *)arg)->srv, fds, n, now_ns);
}

static void egd_io_stats(void *arg)
{
	egd_log_stats(((struct egd_glue *)arg)->srv);
}

static bool egd_io_dead(void *arg)
{
	return egd_source_dead(((struct egd_glue *)arg)->srv);
}

/* The listening sockets systemd handed over (fds_listeners() in main()):
 * descriptors FDS_LISTEN_FIRST on, and their names for messages. */
static int n_inherited;
static char inherited_name[FDS_LISTEN_MAX][sizeof(((struct sockaddr_un *)0)->sun_path) + 16];

/* Name inherited socket i "unix:PATH" (what --egd would say for it) when it
 * is a UNIX socket with a path, else "fd:N". */
static void inherited_names(void)
{
	int i;

	for (i = 0; i < n_inherited; i++) {
		struct sockaddr_un sa;
		socklen_t len = sizeof(sa);
		int fd = FDS_LISTEN_FIRST + i;

		memset(&sa, 0, sizeof(sa));
		if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0 &&
		    sa.sun_family == AF_UNIX && sa.sun_path[0] &&
		    len > offsetof(struct sockaddr_un, sun_path))
			snprintf(inherited_name[i], sizeof(inherited_name[i]), "unix:%.*s",
				 (int)(len - offsetof(struct sockaddr_un, sun_path)), sa.sun_path);
		else
			snprintf(inherited_name[i], sizeof(inherited_name[i]), "fd:%d", fd);
	}
}

/* The listeners: every --egd, but one naming the very socket systemd
 * handed over (unix:PATH, same path) serves on the inherited one instead
 * of binding; inherited sockets no --egd names are served as well. */
static size_t egd_listeners(const struct options *o, struct egd_listener_cfg *l)
{
	bool used[FDS_LISTEN_MAX] = { false };
	size_t n = 0;
	unsigned i;
	int j;

	for (i = 0; i < o->n_egd; i++, n++) {
		l[n] = (struct egd_listener_cfg){ .spec = o->egd[i] };
		for (j = 0; j < n_inherited; j++) {
			if (!used[j] && strcmp(o->egd[i], inherited_name[j]) == 0) {
				l[n].inherited = used[j] = true;
				l[n].fd = FDS_LISTEN_FIRST + j;
				break;
			}
		}
	}
	for (j = 0; j < n_inherited; j++)
		if (!used[j])
			l[n++] = (struct egd_listener_cfg){ .spec = inherited_name[j],
							    .inherited = true,
							    .fd = FDS_LISTEN_FIRST + j };
	return n;
}

/* Open the listeners of --egd and socket activation.  Returns 0, or 1
 * after one line. */
static int egd_open(const struct options *o, struct egd_glue *e)
{
	struct egd_listener_cfg l[OPT_EGD_MAX + FDS_LISTEN_MAX];
	struct egd_config ec = {
		.listeners = l, .nlisteners = egd_listeners(o, l), .unix_mode = o->egd_mode,
		.unix_gid = (gid_t)-1, .rate = o->egd_rate, .burst = o->egd_burst,
		.max_clients = o->egd_clients, .max_per_uid = o->egd_per_uid,
	};
	char err[256];
	size_t i;

	for (i = 0; i < ec.nlisteners; i++)
		if (l[i].inherited)
			log_info("egd %s: serving on the socket systemd handed over (descriptor %d)",
				 l[i].spec, l[i].fd);
	if (o->egd_group) {
		struct group *gr = getgrnam(o->egd_group);

		if (!gr) {
			log_errx("--egd-group: no group '%s'", o->egd_group);
			return 1;
		}
		ec.unix_gid = gr->gr_gid;
	}
	if (egd_server_new(&e->srv, &ec, egd_glue_read, e, err, sizeof(err)) < 0) {
		log_errx("%s", err);
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ the daemon */

static int run_daemon(const struct options *o, const struct cache_geom *geom)
{
	/* -w 0 means "leave the threshold", as in haveged */
	struct feeder_config fc = { .feed = !o->no_kernel,
				    .write_set = o->write_set && o->write_bits > 0,
				    .write_bits = (int)o->write_bits, .interval_s = o->interval,
				    .credit_per_byte = o->credit, .once = o->once };
	struct feeder_signals sig = { .stop = &stop_signal, .usr1 = &usr1_signal };
	struct egd_glue egd = { 0 };
	struct feeder_io io = { .pollfds = egd_io_pollfds, .dispatch = egd_io_dispatch,
				.log_stats = egd_io_stats, .dead = egd_io_dead, .arg = &egd };
	bool serve = (o->n_egd > 0 || n_inherited > 0) && !o->once;
	struct gen_config gc;
	struct feeder_stats st;
	struct kernel_info info;
	struct kernel k = { 0 };
	struct generator *g = NULL;
	bool detach = !o->foreground && !o->once;
	bool own_pidfile = false;       /* ours to remove: we wrote it */
	int ready = -1, status = 1;

	if (o->no_kernel && o->once) {
		log_errx("--once with --no-kernel: nothing to do (--once feeds the kernel once "
			 "and serves no EGD client)");
		return 1;
	}
	if (o->no_kernel && !serve) {
		log_errx("--no-kernel: nothing left to do without --egd");
		return 1;
	}
	if (daemon_open(&k, &info, &fc) || (serve && egd_open(o, &egd)))
		goto out;
	if (detach && daemon_fork(o->pidfile, &ready) < 0)
		goto out;
	own_pidfile = detach && o->pidfile;
	block_daemon_signals(&k);
	if (privs_drop(fc.feed) < 0)
		goto out;
	gen_config_from(&gc, o, geom, &o->spec);
	gc.output = GEN_SEEDS;
	if (fc.feed && gen_failed(gen_new(&g, &gc)))
		goto out;
	gc.output = GEN_STREAM;
	if (serve && gen_failed(gen_new(&egd.g, &gc)))
		goto out;
	/* Every thread, and the time zone syslog stamps with, before the
	 * filter: it allows neither clone nor opening /etc/localtime. */
	if ((g && gen_start_lanes(g) < 0) || (egd.g && gen_start_lanes(egd.g) < 0))
		goto out;
	tzset();
	io.max_fds = serve ? egd_max_pollfds(egd.srv) : 0;
	if (privs_seccomp() < 0)
		goto out;
	if (log_verbose(VERB_SUMMARY)) {
		log_daemon_summary(o, geom, &info);
		assess_log_noise(gen_noise(g ? g : egd.g));
	}
	if (log_verbose(VERB_LOOP | VERB_CODE)) {
		struct collector_layout l;

		gen_get_layout(g ? g : egd.g, &l);
		log_layout(&l);
	}
	notify("READY=1");
	daemon_ready(ready, 0);
	ready = -1;
	status = feeder_run(&k, &info, g, &fc, &sig, &st, serve ? &io : NULL,
			    notify_status, NULL);
	if (status > 128)
		log_notice("stopped by signal %d", status - 128);
out:
	egd_server_free(egd.srv);
	gen_free(egd.g);
	gen_free(g);
	if (k.close)
		k.close(&k);
	/* Another instance's pidfile is left alone; the parent hears of a
	 * failure only once everything is cleaned up. */
	if (own_pidfile)
		pidfile_remove(o->pidfile);
	daemon_ready(ready, 1);
	return status;
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	struct options o;
	struct cache_geom geom;
	char err[256];

	/* Before anything is opened: nothing may take the place of 0-2. */
	if (fds_std_open() < 0)
		return 1;
	opt_defaults(&o);
	if (opt_parse(&o, argc, argv, err, sizeof(err)) < 0) {
		log_errx("%s", err);
		return 1;
	}
	/* The daemon keeps nothing of its caller's but the sockets systemd
	 * hands over: the rest closed before any library could open something
	 * of its own.  --once serves no EGD: it keeps none. */
	if (opt_run_mode(&o) == RUN_DAEMON) {
		n_inherited = fds_listeners(err, sizeof(err));
		if (n_inherited < 0) {
			log_errx("%s", err);
			return 1;
		}
		if (o.once)
			n_inherited = 0;
		fds_close_inherited(n_inherited);
		inherited_names();
	}
	if (o.help) {
		opt_usage(stderr);
		return 1;
	}
	if (o.version) {
		printf("havege-rngd %s%s\n", PACKAGE_VERSION,
		       timer_is_mock() ? " (mock timer build: not for production)" : "");
		return 0;
	}
	log_init("havege-rngd", LOG_DEST_STDERR, o.verbose);
	if (timer_init() < 0)
		return 1;
	if (o.command) {
		log_errx("-c/--command: havege-rngd has no command socket; for early boot run "
			 "--once from the initramfs or havege-rngd-once.service "
			 "(see EARLY BOOT in havege-rngd(8))");
		return 1;
	}
	install_signals();
	switch (opt_run_mode(&o)) {
	case RUN_INFO:
		return print_info(&o, &o.spec);
	case RUN_ASSESS:
		cpu_detect(&geom, o.data_kb, o.inst_kb);
		return assess_run(stdout, geom.data_kb, geom.inst_kb, table_fixed(&geom));
	case RUN_RAW:
		install_file_signals();
		cpu_detect(&geom, o.data_kb, o.inst_kb);
		return run_raw(&o, &geom);
	case RUN_FILE:
		install_file_signals();
		cpu_detect(&geom, o.data_kb, o.inst_kb);
		return run_file(&o, &geom);
	case RUN_DAEMON:
	default:
		cpu_detect(&geom, o.data_kb, o.inst_kb);
		return run_daemon(&o, &geom);
	}
}
