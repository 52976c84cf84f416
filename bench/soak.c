/* soak.c - the daemon's loop for minutes on end: the real feeder and EGD
 * server over a simulated old pool drained without pause, with a stuck
 * timer injected for a window in the middle; and the EGD load clients
 * that bench/soak.sh runs against it.
 *
 * Sections: options; the kernel (the simulated pool, woken by a real
 * ppoll() so the EGD sockets are served); the schedule (the failure
 * window, ticks); one daemon instance and its restarts; the report; the
 * clients; main.
 *
 * Server mode runs the daemon's own composition, daemon_run() (service.h):
 * a GEN_SEEDS generator for the kernel, a GEN_STREAM one for EGD, both with
 * the daemon's default online tests, the feeder and the EGD server on the
 * one loop, and a handler of its own for the schedule.  The simulated 4096-bit pool (kernel_sim.h) keeps
 * its virtual clock equal to real time, and its consumer drains it
 * continuously.  Between start and start + length (-f) the timer is
 * stuck (timer_mock_set(), so only a --enable-mock-timer build can run
 * this): the health tests must fail permanently, the feeder must stop
 * crediting and return 1.  The program then does what systemd does with
 * our unit (Restart=always, RestartSec=5s): starts a new instance five
 * seconds later, whose start-up tests refuse to run on the stuck timer
 * until the window is over.  Every credit is counted by phase: before the
 * window, in it (before and after the failure was detected), after it.
 *
 * Every TICK_S seconds it prints a "tick" line (credit, EGD bytes, its own
 * descriptors and clients at that instant); at the end, one "name value"
 * line per figure.  bench/soak.sh reads both.
 *
 * Usage: soak -S PATH [-s SECONDS] [-f START,LENGTH] [-r DRAIN] [-w BITS]
 *             [-R RATE] [-n MAX_CLIENTS]
 *        soak -C PATH -k mixed|slow -n CLIENTS -s SECONDS
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cpu.h"
#include "egd.h"
#include "feeder.h"
#include "loop.h"
#include "service.h"
#include "generator.h"
#include "kernel_sim.h"
#include "log.h"
#include "testspec.h"
#include "timer.h"
#include "util.h"

/* ------------------------------------------------------------ options */

enum {
	SEC_NS = NS_PER_SEC,
	MS_NS = 1000000,
	TICK_S = 10,
	RESTART_S = 5,                  /* the unit's RestartSec=5s */
	/* The loop wakes at least this often, so a SIGTERM that lands just
	 * before ppoll() is seen within a tenth of a second. */
	WAKE_MAX_NS = 100 * MS_NS,
	SOAK_THRESHOLD = 2048,          /* -w, as bench/sim-refill */
	SOAK_DRAIN = 256,               /* bytes/s read from /dev/random */
	SOAK_RATE = 4096,               /* EGD bytes/s per client */
	SOAK_MAX_CLIENTS = 80,
};

struct soak_opts {
	const char *path;               /* -S / -C: the EGD socket */
	const char *kind;               /* -k: client kind */
	double seconds;                 /* -s */
	double fail_start, fail_len;    /* -f, seconds; len 0 = no window */
	double drain;                   /* -r, bytes/s */
	unsigned threshold;             /* -w */
	unsigned rate;                  /* -R, EGD bytes/s per client */
	unsigned clients;               /* -n */
	bool client_mode;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: soak -S PATH [-s SECONDS] [-f START,LENGTH] [-r DRAIN] [-w BITS]\n"
		"            [-R RATE] [-n MAX_CLIENTS]\n"
		"       soak -C PATH -k mixed|slow -n CLIENTS -s SECONDS\n"
		"  -S  serve EGD here: the feeder and EGD server on a simulated old pool\n"
		"  -f  stick the timer from START for LENGTH seconds (default: none)\n"
		"  -r  consumer drain on /dev/random, bytes/s (default %d)\n"
		"  -w  write_wakeup_threshold (default %d)\n"
		"  -R  EGD rate limit per client, bytes/s (default %d; 0 = none)\n"
		"  -n  server: at most this many EGD clients (default %d);\n"
		"      client: connections to keep open\n"
		"  -C  be CLIENTS clients of the server at PATH for SECONDS\n"
		"  -k  mixed: 0x01, 0x02, 0x00 and 0x04 requests, paced;\n"
		"      slow: ask for 261 KB, then read a byte every 100 ms\n",
		SOAK_DRAIN, SOAK_THRESHOLD, SOAK_RATE, SOAK_MAX_CLIENTS);
	exit(2);
}

static double parse_num(char opt, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0) {
		fprintf(stderr, "soak: -%c: bad value '%s'\n", opt, s);
		exit(2);
	}
	return v;
}

static void parse_window(const char *s, struct soak_opts *o)
{
	char *end;

	o->fail_start = strtod(s, &end);
	if (end == s || *end != ',' || o->fail_start < 0)
		usage();
	o->fail_len = parse_num('f', end + 1);
}

static void parse_opts(int argc, char **argv, struct soak_opts *o)
{
	int c;

	*o = (struct soak_opts){ .seconds = 600, .drain = SOAK_DRAIN,
				 .threshold = SOAK_THRESHOLD, .rate = SOAK_RATE,
				 .clients = SOAK_MAX_CLIENTS };
	while ((c = getopt(argc, argv, "S:C:k:s:f:r:w:R:n:h")) != -1) {
		switch (c) {
		case 'S': o->path = optarg; break;
		case 'C': o->path = optarg; o->client_mode = true; break;
		case 'k': o->kind = optarg; break;
		case 's': o->seconds = parse_num('s', optarg); break;
		case 'f': parse_window(optarg, o); break;
		case 'r': o->drain = parse_num('r', optarg); break;
		case 'w': o->threshold = (unsigned)parse_num('w', optarg); break;
		case 'R': o->rate = (unsigned)parse_num('R', optarg); break;
		case 'n': o->clients = (unsigned)parse_num('n', optarg); break;
		default: usage();
		}
	}
	if (optind != argc || !o->path || o->seconds <= 0 || o->clients == 0 ||
	    o->threshold > KERNEL_OLD_POOLSIZE - KERNEL_THRESHOLD_MARGIN)
		usage();
	if (o->client_mode && (!o->kind || (strcmp(o->kind, "mixed") && strcmp(o->kind, "slow"))))
		usage();
}

/* ------------------------------------------------------------ the kernel
 *
 * The simulated pool as the feeder sees it, with two functions replaced:
 * wait(), which sleeps in a real ppoll() on the EGD descriptors until the
 * pool would cross the threshold (the simulation alone never looks at
 * them), and add_entropy(), which counts each credit against the phase it
 * falls in.  With real_time_counts and every simulated sleep made zero
 * long, the virtual clock is the real one.
 */

enum phase { PH_BEFORE, PH_WINDOW, PH_AFTER, PH_N };

static const char *const phase_name[PH_N] = { "before", "window", "after" };

static volatile sig_atomic_t stop;

static struct {
	struct soak_opts o;
	struct kernel_sim *ks;
	struct kernel sim;              /* the simulation's own driver */
	struct kernel k;                /* sim with wait and add_entropy replaced */
	enum phase phase;               /* only advances */
	uint64_t fail_start, fail_end;  /* virtual ns */
	uint64_t next_tick;
	uint64_t credit[PH_N];          /* bits credited in each phase */
	uint64_t credit_late;           /* in the window after detect_ns */
	uint64_t detect_ns;             /* feeder stopped in the window; 0 = not yet */
	uint64_t refused, restarts, unexpected;
	uint64_t refill_bits_max;       /* largest single credit */
	struct egd_server *egd;         /* the running instance's, or NULL */
	struct egd_listener_stats egd_done;  /* summed over finished instances */
	struct feeder_stats fs_done;
	uint64_t health_discards;       /* intermittent, over all instances */
	unsigned health_failure;        /* permanent bits seen, any instance */
} soak;

static uint64_t soak_now(void)
{
	return soak.sim.now_ns(&soak.sim);
}

static int soak_add_entropy(struct kernel *k, const void *buf, size_t n, int credit)
{
	int r = soak.sim.add_entropy(&soak.sim, buf, n, credit);
	(void)k;

	if (r < 0 || credit <= 0)
		return r;
	soak.credit[soak.phase] += (uint64_t)credit;
	if (soak.phase == PH_WINDOW && soak.detect_ns)
		soak.credit_late += (uint64_t)credit;
	if ((uint64_t)credit > soak.refill_bits_max)
		soak.refill_bits_max = (uint64_t)credit;
	return r;
}

/* Virtual ns until entropy_avail falls below the threshold (0: it is). */
static uint64_t until_writable(void)
{
	double avail = kernel_sim_avail(soak.ks);
	double thr = soak.sim.write_threshold(&soak.sim);
	double rate = soak.o.drain * 8 / 1e9;

	if (avail < thr)
		return 0;
	if (rate <= 0)
		return UINT64_MAX;
	return (uint64_t)((avail - thr) / rate) + 1;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* How long one ppoll() may sleep: to the pool's wake-up, the caller's
 * timeout, the end of the run, or WAKE_MAX_NS. */
static uint64_t sleep_ns(bool want, uint64_t now, uint64_t deadline)
{
	uint64_t t = WAKE_MAX_NS;
	uint64_t end = (uint64_t)(soak.o.seconds * SEC_NS);

	if (want)
		t = min_u64(t, until_writable());
	if (deadline != UINT64_MAX)
		t = min_u64(t, deadline > now ? deadline - now : 0);
	return min_u64(t, end > now ? end - now : 0);
}

static int soak_wait(struct kernel *k, bool want, struct pollfd *fds, size_t n,
		     int64_t timeout_ns)
{
	uint64_t start = soak_now();
	uint64_t deadline = timeout_ns < 0 ? UINT64_MAX : start + (uint64_t)timeout_ns;
	(void)k;

	for (;;) {
		uint64_t t = sleep_ns(want, soak_now(), deadline);
		struct timespec ts = { .tv_sec = (time_t)(t / SEC_NS),
				       .tv_nsec = (long)(t % SEC_NS) };
		int r, w;

		if (stop)
			return -EINTR;
		r = ppoll(fds, n, &ts, NULL);
		if (r < 0 && errno != EINTR)
			return -errno;
		/* Zero long: brings the pool up to now, says if it wants us,
		 * and raises the stop signal once the run is over. */
		w = soak.sim.wait(&soak.sim, want, NULL, 0, 0);
		if (w != WAIT_TIMEOUT || stop)
			return w == WAIT_TIMEOUT ? -EINTR : w;
		if (r > 0)
			return WAIT_EVENT;
		if (soak_now() >= deadline)
			return WAIT_TIMEOUT;
	}
}

static int kernel_setup(void)
{
	struct sim_config sc = { .pool = POOL_OLD, .drain_bytes_per_s = soak.o.drain,
				 .initial_avail = KERNEL_OLD_POOLSIZE,
				 .end_ns = (uint64_t)(soak.o.seconds * SEC_NS),
				 .stop = &stop, .real_time_counts = true };

	soak.ks = kernel_sim_new(&sc, &soak.sim);
	if (!soak.ks)
		return -1;
	soak.k = soak.sim;
	soak.k.wait = soak_wait;
	soak.k.add_entropy = soak_add_entropy;
	return 0;
}

/* ------------------------------------------------------------ the schedule */

#ifdef HRNG_MOCK_TIMER
/* The mock timer is one plain struct in timer.c that the collector threads
 * read while this thread rewrites it; a read torn by the switch yields one
 * odd sample, no worse than the failure being injected. */
static void stick_timer(bool stuck)
{
	timer_mock_set(stuck ? "const:4242" : "real");
}
#else
static void stick_timer(bool stuck)
{
	(void)stuck;
}
#endif

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n > 3 ? n - 3 : 0;      /* ".", "..", and the DIR's own */
}

/* t = the finished instances' counters plus one instance's. */
static void egd_add(struct egd_listener_stats *t, const struct egd_listener_stats *now)
{
	*t = soak.egd_done;
	t->bytes_served += now->bytes_served;
	t->requests += now->requests;
	t->clients_accepted += now->clients_accepted;
	t->clients_refused += now->clients_refused;
	t->protocol_errors += now->protocol_errors;
	t->clients_now = now->clients_now;
	if (now->queue_peak > t->queue_peak)
		t->queue_peak = now->queue_peak;
}

static void egd_totals(struct egd_listener_stats *t)
{
	struct egd_listener_stats now = { 0 };

	if (soak.egd)
		egd_get_stats(soak.egd, 0, &now, NULL);
	egd_add(t, &now);
}

static void print_tick(uint64_t now)
{
	struct egd_listener_stats t;

	egd_totals(&t);
	printf("tick t=%.0f phase=%s credited=%llu served=%llu requests=%llu "
	       "clients=%u fds=%u avail=%d\n", now / 1e9, phase_name[soak.phase],
	       (unsigned long long)(soak.credit[0] + soak.credit[1] + soak.credit[2]),
	       (unsigned long long)t.bytes_served, (unsigned long long)t.requests,
	       t.clients_now, count_fds(), (int)kernel_sim_avail(soak.ks));
	fflush(stdout);
}

static void event(const char *what)
{
	printf("event t=%.3f %s\n", soak_now() / 1e9, what);
	fflush(stdout);
}

/* Enter the next phase or print a tick when their time has come. */
static void schedule(void)
{
	uint64_t now = soak_now();

	if (soak.phase == PH_BEFORE && now >= soak.fail_start) {
		stick_timer(true);
		soak.phase = PH_WINDOW;
		event("inject: the timer is stuck (every delta 0)");
	}
	if (soak.phase == PH_WINDOW && now >= soak.fail_end) {
		stick_timer(false);
		soak.phase = PH_AFTER;
		event("lift: the timer is real again");
	}
	while (now >= soak.next_tick) {
		print_tick(now);
		soak.next_tick += (uint64_t)TICK_S * SEC_NS;
	}
}

/* Virtual ns from now to the next thing schedule() has to do. */
static uint64_t schedule_in(void)
{
	uint64_t now = soak_now(), next = soak.next_tick;

	if (soak.phase == PH_BEFORE)
		next = min_u64(next, soak.fail_start);
	else if (soak.phase == PH_WINDOW)
		next = min_u64(next, soak.fail_end);
	return next > now ? next - now : 0;
}

/* ------------------------------------------------------------ one instance
 *
 * instance_run() is the daemon's daemon_run() without the process around
 * it: both generators (their start-up tests included), the EGD server, the
 * threshold, the loop; then everything freed, as the process's exit would.
 * A handler of its own drives the schedule, so the window opens and
 * closes inside the daemon's own loop.
 */

static size_t schedule_prepare(void *arg, struct pollfd *fds, size_t max, int64_t *timeout_ns,
			       bool *want_writable, uint64_t now_ns)
{
	uint64_t t = schedule_in();

	(void)arg;
	(void)fds;
	(void)max;
	(void)want_writable;
	(void)now_ns;
	if (*timeout_ns < 0 || t < (uint64_t)*timeout_ns)
		*timeout_ns = (int64_t)t;
	return 0;
}

static void schedule_wake(void *arg, struct loop *l, int w)
{
	(void)arg;
	(void)l;
	(void)w;
	schedule();
}

static void add_results(const struct daemon_result *res)
{
	struct egd_listener_stats t;

	egd_add(&t, &res->egd);
	t.clients_now = 0;
	soak.egd_done = t;
	soak.fs_done.refills += res->feeder.refills;
	soak.fs_done.add_calls += res->feeder.add_calls;
	soak.fs_done.bytes += res->feeder.bytes;
	soak.fs_done.bits += res->feeder.bits;
	soak.health_discards += res->seeds.health_intermittent;
	soak.health_failure |= res->seeds.health_failure;
}

/* Returns false when the start-up tests refused, else true (the loop ran
 * and ended). */
static bool instance_run(const struct testspec *spec)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
	struct egd_listener_cfg l = { .spec = path };
	struct loop_handler sched = { .prepare = schedule_prepare, .on_wake = schedule_wake };
	struct daemon_config c = {
		.feeder = { .feed = true, .write_set = true, .write_bits = (int)soak.o.threshold,
			    .interval_s = 60, .credit_per_byte = FEEDER_CREDIT_MAX },
		.gen = { .buffer_words = 128 * 1024, .threads = 1, .spec = spec },
		.egd = { .listeners = &l, .nlisteners = 1, .unix_mode = 0600,
			 .unix_gid = (gid_t)-1, .rate = soak.o.rate, .max_clients = soak.o.clients,
			 .max_per_uid = soak.o.clients },     /* every client is ours */
		.kernel = &soak.k, .extra = &sched, .egd_now = &soak.egd, .stop = &stop,
	};
	struct daemon_result res;
	struct cache_geom geom;

	snprintf(path, sizeof(path), "unix:%s", soak.o.path);
	cpu_detect(&geom, 0, 0);
	c.gen.data_kb = geom.data_kb;
	c.gen.inst_kb = geom.inst_kb;
	daemon_run(&c, &res);
	add_results(&res);
	/* Before the window nothing may keep an instance from starting. */
	if (!res.looped && soak.phase == PH_BEFORE) {
		fprintf(stderr, "soak: cannot set up the EGD server or the simulated kernel\n");
		exit(1);
	}
	return res.looped;
}

/* RestartSec: sleep RESTART_S of real time, keeping the schedule. */
static void restart_pause(void)
{
	uint64_t until = soak_now() + (uint64_t)RESTART_S * SEC_NS;

	while (!stop && soak_now() < until) {
		uint64_t t = min_u64(min_u64(until - soak_now(), schedule_in()), WAKE_MAX_NS);
		struct timespec ts = { .tv_sec = (time_t)(t / SEC_NS),
				       .tv_nsec = (long)(t % SEC_NS) };

		nanosleep(&ts, NULL);
		schedule();
		if (soak_now() >= (uint64_t)(soak.o.seconds * SEC_NS))
			stop = SIGTERM;
	}
}

/* Why an instance ended, as one event line; counts it. */
static void instance_ended(bool looped)
{
	if (!looped) {
		soak.refused++;
		event("restart refused: the start-up tests failed");
		return;
	}
	if (soak.phase == PH_WINDOW && !soak.detect_ns) {
		soak.detect_ns = soak_now();
		event("detected: the feeder stopped with status 1 (permanent health failure)");
		return;
	}
	soak.unexpected++;
	event(soak.phase == PH_WINDOW ? "the feeder stopped again in the window"
				       : "UNEXPECTED: the feeder stopped outside the window");
}

static void serve(const struct testspec *spec)
{
	bool looped;

	for (;;) {
		looped = instance_run(spec);
		schedule();
		if (stop)
			return;
		instance_ended(looped);
		restart_pause();
		if (stop)
			return;
		soak.restarts++;
	}
}

/* ------------------------------------------------------------ the report */

static void report(void)
{
	const struct sim_stats *ss = kernel_sim_stats(soak.ks);
	struct egd_listener_stats t;

	egd_totals(&t);
	printf("virtual_s %.1f\n", kernel_sim_now(soak.ks) / 1e9);
	printf("window_s %.0f %.0f\n", soak.fail_start / 1e9, soak.fail_end / 1e9);
	printf("credit_before_bits %llu\n", (unsigned long long)soak.credit[PH_BEFORE]);
	printf("credit_window_bits %llu\n", (unsigned long long)soak.credit[PH_WINDOW]);
	printf("credit_window_after_detection_bits %llu\n", (unsigned long long)soak.credit_late);
	printf("credit_after_bits %llu\n", (unsigned long long)soak.credit[PH_AFTER]);
	printf("largest_credit_bits %llu\n", (unsigned long long)soak.refill_bits_max);
	printf("detect_ms %.1f\n", soak.detect_ns ? (soak.detect_ns - soak.fail_start) / 1e6 : -1.0);
	printf("restarts %llu\n", (unsigned long long)soak.restarts);
	printf("restarts_refused %llu\n", (unsigned long long)soak.refused);
	printf("unexpected_stops %llu\n", (unsigned long long)soak.unexpected);
	printf("health_failure_bits 0x%x\n", soak.health_failure);
	printf("health_discards %llu\n", (unsigned long long)soak.health_discards);
	printf("refills %llu\n", (unsigned long long)soak.fs_done.refills);
	printf("add_calls %llu\n", (unsigned long long)ss->add_calls);
	printf("blocked_ms %.1f\n", ss->blocked_ns / 1e6);
	printf("egd_bytes_served %llu\n", (unsigned long long)t.bytes_served);
	printf("egd_requests %llu\n", (unsigned long long)t.requests);
	printf("egd_accepted %llu\n", (unsigned long long)t.clients_accepted);
	printf("egd_refused %llu\n", (unsigned long long)t.clients_refused);
	printf("egd_protocol_errors %llu\n", (unsigned long long)t.protocol_errors);
	printf("egd_queue_peak %zu\n", t.queue_peak);
}

static void on_signal(int sig)
{
	stop = sig;
}

static int run_server(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct testspec spec;
	char err[128];

	if (!timer_is_mock()) {
		fprintf(stderr, "soak: needs a build configured with --enable-mock-timer\n");
		return 77;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (testspec_parse(TESTSPEC_DAEMON_DEFAULT, &spec, err, sizeof(err)) < 0 ||
	    kernel_setup() < 0) {
		fprintf(stderr, "soak: cannot set up: %s\n", err);
		return 1;
	}
	soak.fail_start = (uint64_t)(soak.o.fail_start * SEC_NS);
	soak.fail_end = soak.fail_start + (uint64_t)(soak.o.fail_len * SEC_NS);
	if (soak.o.fail_len <= 0)
		soak.fail_start = soak.fail_end = UINT64_MAX;
	soak.next_tick = 0;
	serve(&spec);
	report();
	kernel_sim_free(soak.ks);
	return soak.unexpected ? 1 : 0;
}

/* ------------------------------------------------------------ the clients
 *
 * Each client is a thread on its own connection that reconnects whenever
 * the server goes away (its restarts), until the end.  Every wait is
 * bounded by a 5 s socket timeout.
 */

enum {
	SLOW_REQUESTS = 1024,           /* 0x02 255 each: 261 KB asked at once */
	SLOW_PAUSE_MS = 100,
	MIXED_PAUSE_MS = 20,
	RECONNECT_PAUSE_MS = 100,
	IO_TIMEOUT_S = 5,
};

struct client {
	pthread_t th;
	unsigned id;
	uint64_t requests, bytes, reconnects;
};

static struct {
	const char *path;
	bool slow;
	uint64_t end_ns;
} cl;

static void pause_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * MS_NS };

	nanosleep(&ts, NULL);
}

/* A connection, retried every 100 ms until the end; -1 then. */
static int client_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", cl.path);
	while (monotonic_ns() < cl.end_ns) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			return fd;
		}
		if (fd >= 0)
			close(fd);
		pause_ms(100);
	}
	return -1;
}

static int recv_n(int fd, uint8_t *buf, size_t n)
{
	while (n > 0) {
		ssize_t r = recv(fd, buf, n, 0);

		if (r <= 0)
			return -1;
		buf += r;
		n -= (size_t)r;
	}
	return 0;
}

/* One request of the mixed diet and its reply; -1 when the connection
 * failed.  Mostly 0x01 (non-blocking), every 4th a 0x02, every 16th a
 * 0x00, every 64th a 0x04. */
static int mixed_one(struct client *c, int fd, uint64_t i)
{
	uint8_t req[2] = { EGD_CMD_READ_NB, (uint8_t)(1 + (i * 37 + c->id) % 255) };
	uint8_t buf[256];
	size_t len = 2, want = 1;

	if (i % 64 == 63) {
		req[0] = EGD_CMD_PID;
		len = 1;
	} else if (i % 16 == 15) {
		req[0] = EGD_CMD_LEVEL;
		len = 1;
		want = 4;
	} else if (i % 4 == 3) {
		req[0] = EGD_CMD_READ;
		want = req[1];
	}
	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len || recv_n(fd, buf, want) < 0)
		return -1;
	if (req[0] == EGD_CMD_READ_NB || req[0] == EGD_CMD_PID) {
		if (recv_n(fd, buf + 1, buf[0]) < 0)
			return -1;
		want = buf[0];
	}
	c->requests++;
	c->bytes += req[0] == EGD_CMD_READ || req[0] == EGD_CMD_READ_NB ? want : 0;
	return 0;
}

static void mixed_session(struct client *c, int fd)
{
	uint64_t i = 0;

	while (monotonic_ns() < cl.end_ns && mixed_one(c, fd, i++) == 0)
		pause_ms(MIXED_PAUSE_MS);
}

/* Ask for a lot at once, then take it a byte at a time: the server's
 * socket buffer and then its queue for us fill up and stay full. */
static void slow_session(struct client *c, int fd)
{
	uint8_t req[2 * SLOW_REQUESTS], b;
	unsigned i;

	for (i = 0; i < SLOW_REQUESTS; i++) {
		req[2 * i] = EGD_CMD_READ;
		req[2 * i + 1] = 255;
	}
	if (send(fd, req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req))
		return;
	c->requests += SLOW_REQUESTS;
	while (monotonic_ns() < cl.end_ns && recv(fd, &b, 1, 0) == 1) {
		c->bytes++;
		pause_ms(SLOW_PAUSE_MS);
	}
}

static void *client_thread(void *arg)
{
	struct client *c = arg;
	int fd;

	while ((fd = client_connect()) >= 0) {
		if (cl.slow)
			slow_session(c, fd);
		else
			mixed_session(c, fd);
		close(fd);
		if (monotonic_ns() >= cl.end_ns)
			break;
		/* The server hung up (a dead source closes every client that
		 * asks for bytes): a pause, or we would spin reconnecting. */
		c->reconnects++;
		pause_ms(RECONNECT_PAUSE_MS);
	}
	return NULL;
}

static int run_clients(const struct soak_opts *o)
{
	struct client *cs = calloc(o->clients, sizeof(*cs));
	uint64_t req = 0, bytes = 0, rec = 0;
	unsigned i;

	if (!cs)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	cl.path = o->path;
	cl.slow = strcmp(o->kind, "slow") == 0;
	cl.end_ns = monotonic_ns() + (uint64_t)(o->seconds * SEC_NS);
	for (i = 0; i < o->clients; i++) {
		cs[i].id = i;
		if (pthread_create(&cs[i].th, NULL, client_thread, &cs[i]) != 0)
			return 1;
	}
	for (i = 0; i < o->clients; i++) {
		pthread_join(cs[i].th, NULL);
		req += cs[i].requests;
		bytes += cs[i].bytes;
		rec += cs[i].reconnects;
	}
	printf("clients=%u kind=%s requests=%llu bytes=%llu reconnects=%llu\n", o->clients,
	       o->kind, (unsigned long long)req, (unsigned long long)bytes,
	       (unsigned long long)rec);
	free(cs);
	return 0;
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	parse_opts(argc, argv, &soak.o);
	if (soak.o.client_mode)
		return run_clients(&soak.o);
	log_init("soak", LOG_DEST_STDERR, 0);
	return run_server();
}
