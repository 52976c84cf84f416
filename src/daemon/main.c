/* main.c - havege-rngd: parse the command line, then run one mode.
 *
 *   RUN_INFO   -r 1: print the configuration and tuning (mode_info())
 *   RUN_ASSESS the noise source's assessment (assess_run())
 *   RUN_RAW    --raw-samples: raw timer deltas (mode_raw())
 *   RUN_FILE   -n / -r > 1: conditioned bytes to a file or stdout (mode_file())
 *   RUN_DAEMON feed the kernel and/or serve EGD (daemon_run(), service.h)
 *
 * Start-up and configuration errors are one line on stderr and exit status
 * 1 before anything is written.  Below main.c functions return 0 or -errno;
 * only exit_status() here makes exit statuses of them.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "assess.h"
#include "cpu.h"
#include "fds.h"
#include "listeners.h"
#include "log.h"
#include "modes.h"
#include "options.h"
#include "service.h"
#include "signals.h"
#include "timer.h"

/* A mode's result as the exit status: 0 done; 128 + signal when stopped
 * by one (-EINTR); 1 for any other -errno, whose line was logged. */
static int exit_status(int r)
{
	if (r == -EINTR && sig_stop)
		return 128 + (int)sig_stop;
	return r < 0 ? 1 : 0;
}

/* The daemon as the options ask for it; l holds the EGD listeners. */
static void daemon_config_from(struct daemon_config *c, const struct options *o,
			       const struct cache_geom *geom, struct egd_listener_cfg *l)
{
	/* -w 0 means "leave the threshold", as in haveged */
	struct feeder_config fc = { .feed = !o->no_kernel,
				    .write_set = o->write_set && o->write_bits > 0,
				    .write_bits = (int)o->write_bits, .interval_s = o->interval,
				    .credit_per_byte = o->credit, .once = o->once };
	struct egd_config ec = {
		.listeners = l, .unix_mode = o->egd_mode, .unix_gid = (gid_t)-1,
		.rate = o->egd_rate, .burst = o->egd_burst,
		.max_clients = o->egd_clients, .max_per_uid = o->egd_per_uid,
	};

	/* --once serves no EGD */
	ec.nlisteners = o->once ? 0 : listeners_merge(o->egd, o->n_egd, l);
	*c = (struct daemon_config){ .feeder = fc, .egd = ec, .egd_group = o->egd_group,
				     .process = true, .detach = !o->foreground && !o->once,
				     .pidfile = o->pidfile, .geom = geom,
				     .stop = &sig_stop, .usr1 = &sig_usr1 };
	mode_gen_config(&c->gen, o, geom);
}

static int run_daemon(const struct options *o, const struct cache_geom *geom)
{
	struct egd_listener_cfg l[OPT_EGD_MAX + FDS_LISTEN_MAX];
	struct daemon_config c;

	daemon_config_from(&c, o, geom, l);
	return daemon_run(&c, NULL);
}

/* Options that end the program before any mode: returns the exit status,
 * or -1 to go on. */
static int early_exit(const struct options *o)
{
	if (o->help) {
		opt_usage(stderr);
		return 1;
	}
	if (o->version) {
		printf("havege-rngd %s%s\n", PACKAGE_VERSION,
		       timer_is_mock() ? " (mock timer build: not for production)" : "");
		return 0;
	}
	log_init("havege-rngd", LOG_DEST_STDERR, o->verbose);
	if (timer_init() < 0)
		return 1;
	if (o->command) {
		log_errx("-c/--command: havege-rngd has no command socket; for early boot run "
			 "--once from the initramfs or havege-rngd-once.service "
			 "(see EARLY BOOT in havege-rngd(8))");
		return 1;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct options o;
	struct cache_geom geom;
	char err[256];
	int r;

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
	if (opt_run_mode(&o) == RUN_DAEMON && listeners_inherit(!o.once, err, sizeof(err)) < 0) {
		log_errx("%s", err);
		return 1;
	}
	r = early_exit(&o);
	if (r >= 0)
		return r;
	signals_install();
	switch (opt_run_mode(&o)) {
	case RUN_INFO:
		return exit_status(mode_info(&o));
	case RUN_ASSESS:
		cpu_detect(&geom, o.data_kb, o.inst_kb);
		return exit_status(assess_run(stdout, geom.data_kb, geom.inst_kb,
					      geom.data_src == CACHE_SRC_OPTION)); /* -d: fixed */
	case RUN_RAW:
	case RUN_FILE:
		signals_install_file();
		cpu_detect(&geom, o.data_kb, o.inst_kb);
		r = opt_run_mode(&o) == RUN_RAW ? mode_raw(&o, &geom) : mode_file(&o, &geom);
		return exit_status(r);
	case RUN_DAEMON:
	default:
		cpu_detect(&geom, o.data_kb, o.inst_kb);
		return exit_status(run_daemon(&o, &geom));
	}
}
