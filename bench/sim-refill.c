/* sim-refill.c - the daemon's control loop against a simulated old pool,
 * with a consumer draining /dev/random, timed in real compute time.
 *
 * Sections: options; the run; figures.
 *
 * main() parses the options, builds the real generator (GEN_SEEDS output,
 * caches from cpu_detect(), the daemon's -o default), a simulated 4096-bit
 * pool (kernel_sim.h) whose virtual clock also advances by the real time
 * the feeder spends computing (real_time_counts), and runs the unmodified
 * the feeder on the daemon's loop until the virtual duration has passed.  It then prints one
 * "name value [unit]" line per figure, for bench/refill.sh to read:
 * the consumer's blocked time, the wake-to-refill latency (real ns from the
 * POLLOUT wake-up to the RNDADDENTROPY that lifted the pool back above the
 * threshold: the sim's latency_ns samples), the feeder's counters, the bits
 * credited against those the asymptotic pool really gained, and the CPU the
 * process used (getrusage) per virtual second.
 *
 * Usage: sim-refill -r RATE [-w BITS] [-s SECONDS] [-b KWORDS] [-o SPEC]
 *                   [-t THREADS] [-c BITS_PER_BYTE] [-d KB] [-i KB] [-L FILE]
 *        sim-refill -R FILE [-n SAMPLES] [-d KB] [-i KB]
 *
 * -R writes raw samples of the seeds walk instead (noise.h: the walk the
 * kernel seeds come from, which --raw-samples does not record), one byte
 * each as the health tests see them, at the rung its own calibration
 * chose here, for scripts/sp800-90b.py.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cpu.h"
#include "feeder.h"
#include "generator.h"
#include "kernel_sim.h"
#include "log.h"
#include "loop.h"
#include "noise.h"
#include "testspec.h"
#include "util.h"

/* ------------------------------------------------------------ options */

enum {
	/* haveged users set -w 1024 to 2048; the example unit says
	 * --write=2048, the harder case (wake-ups come twice as often as at
	 * 1024 for the same drain, since a refill lifts to 7/8 either way). */
	SIM_DEFAULT_THRESHOLD = 2048,
	SIM_DEFAULT_SECONDS = 10,
	/* -b in units of 1024 words, as the daemon's; see doc/daemon-figures.md
	 * for why the daemon's default of 128 is kept. */
	SIM_DEFAULT_KWORDS = 128,
	SIM_MAX_KWORDS = 65536,
	SEC_NS = NS_PER_SEC,
};

struct sim_opts {
	double rate;             /* consumer, bytes/s */
	unsigned threshold;      /* -w */
	double seconds;          /* virtual duration */
	unsigned kwords;         /* -b */
	const char *spec;        /* -o */
	unsigned threads;        /* -t */
	unsigned credit;         /* -c */
	unsigned data_kb, inst_kb;  /* -d, -i; 0 = detect */
	const char *dump;        /* -L: every latency sample, us, one a line */
	const char *raw;         /* -R: seeds-walk samples to this file */
	double raw_samples;      /* -n */
};

static void usage(void)
{
	fprintf(stderr,
		"usage: sim-refill -r RATE [-w BITS] [-s SECONDS] [-b KWORDS] [-o SPEC]\n"
		"                  [-t THREADS] [-c BITS_PER_BYTE] [-d KB] [-i KB] [-L FILE]\n"
		"  -r  consumer drain on /dev/random, bytes/s (k, m suffix: x1024)\n"
		"  -w  write_wakeup_threshold (default %d)\n"
		"  -s  virtual seconds to run (default %d)\n"
		"  -b  generator buffer, x1024 words (default %d)\n"
		"  -o  online tests (default %s)\n"
		"  -t  generator threads (default 1); -c credit, bits/byte (default 8)\n"
		"  -d, -i  L1 data and instruction cache, KB (default: detect)\n"
		"  -L  write every latency sample (us, in order) to this file\n"
		"  -R  write -n (default 1m) raw samples of the seeds walk to FILE, exit\n",
		SIM_DEFAULT_THRESHOLD, SIM_DEFAULT_SECONDS, SIM_DEFAULT_KWORDS,
		TESTSPEC_DAEMON_DEFAULT);
	exit(2);
}

/* A number with an optional k/m/g suffix (each a further x1024). */
static int parse_size(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': v *= 1024; end++; break;
	case 'm': case 'M': v *= 1024 * 1024; end++; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; end++; break;
	default: break;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static unsigned parse_uint(char opt, const char *s, unsigned max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max) {
		fprintf(stderr, "sim-refill: -%c: bad value '%s' (0..%u)\n", opt, s, max);
		exit(2);
	}
	return (unsigned)v;
}

static void parse_opts(int argc, char **argv, struct sim_opts *o)
{
	int c;

	*o = (struct sim_opts){ .rate = -1, .threshold = SIM_DEFAULT_THRESHOLD,
				.seconds = SIM_DEFAULT_SECONDS, .kwords = SIM_DEFAULT_KWORDS,
				.spec = TESTSPEC_DAEMON_DEFAULT, .threads = 1,
				.credit = FEEDER_CREDIT_MAX };
	o->raw_samples = 1000000;
	while ((c = getopt(argc, argv, "r:w:s:b:o:t:c:d:i:L:R:n:h")) != -1) {
		switch (c) {
		case 'r':
			if (parse_size(optarg, &o->rate) < 0) {
				fprintf(stderr, "sim-refill: -r: bad rate '%s'\n", optarg);
				exit(2);
			}
			break;
		case 'w': o->threshold = parse_uint('w', optarg, KERNEL_OLD_POOLSIZE); break;
		case 's':
			if (parse_size(optarg, &o->seconds) < 0 || o->seconds <= 0) {
				fprintf(stderr, "sim-refill: -s: bad duration '%s'\n", optarg);
				exit(2);
			}
			break;
		case 'b': o->kwords = parse_uint('b', optarg, SIM_MAX_KWORDS); break;
		case 'o': o->spec = optarg; break;
		case 't': o->threads = parse_uint('t', optarg, 4); break;
		case 'c': o->credit = parse_uint('c', optarg, FEEDER_CREDIT_MAX); break;
		case 'd': o->data_kb = parse_uint('d', optarg, CACHE_MAX_KB); break;
		case 'i': o->inst_kb = parse_uint('i', optarg, CACHE_MAX_KB); break;
		case 'L': o->dump = optarg; break;
		case 'R': o->raw = optarg; break;
		case 'n':
			if (parse_size(optarg, &o->raw_samples) < 0 || o->raw_samples < 1) {
				fprintf(stderr, "sim-refill: -n: bad count '%s'\n", optarg);
				exit(2);
			}
			break;
		default: usage();
		}
	}
	if (optind != argc || (!o->raw && o->rate < 0) || o->kwords == 0 || o->threads == 0)
		usage();
}

/* ------------------------------------------------------------ the run */

static volatile sig_atomic_t stop;

struct outcome {
	int status;                   /* the loop's: 0, -EINTR, -errno */
	struct feeder_stats fs;
	uint64_t wakeups;             /* the loop's */
	struct sim_stats *ss;         /* a copy: the sim is freed */
	struct gen_stats gs;
	uint64_t virt_ns;             /* virtual time at the end */
	uint64_t wall_ns;             /* real time of the loop */
	uint64_t cpu_ns;              /* user + system time of the loop */
};

static uint64_t cpu_ns_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * SEC_NS +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

/* The generator as the daemon builds it (mode_gen_config(): caches from cpu_detect,
 * -b, -t, -o), with GEN_SEEDS output.  Exits on failure. */
static struct generator *make_generator(const struct sim_opts *o, struct testspec *spec,
					struct cache_geom *geom)
{
	struct gen_config gc = { .buffer_words = (size_t)o->kwords * 1024,
				 .threads = o->threads, .output = GEN_SEEDS };
	struct generator *g;
	char err[128];

	if (testspec_parse(o->spec, spec, err, sizeof(err)) < 0) {
		fprintf(stderr, "sim-refill: -o: %s\n", err);
		exit(2);
	}
	cpu_detect(geom, o->data_kb, o->inst_kb);
	gc.data_kb = geom->data_kb;
	gc.inst_kb = geom->inst_kb;
	gc.spec = spec;
	if (gen_new(&g, &gc) < 0) {
		fprintf(stderr, "sim-refill: the generator failed its start-up tests\n");
		exit(1);
	}
	return g;
}

/* The pool starts full (a host in steady state); -w goes through
 * feeder_set_threshold() as the daemon's does, cap included. */
static void run(const struct sim_opts *o, struct generator *g, struct outcome *out)
{
	struct sim_config sc = { .pool = POOL_OLD, .drain_bytes_per_s = o->rate,
				 .initial_avail = KERNEL_OLD_POOLSIZE,
				 .end_ns = (uint64_t)(o->seconds * SEC_NS),
				 .stop = &stop, .real_time_counts = true };
	struct feeder_config fc = { .feed = true, .write_set = true, .write_bits = (int)o->threshold,
				    .interval_s = 60, .credit_per_byte = o->credit };
	struct loop_config lc = { .stop = &stop, .waiting = "waiting on /dev/random" };
	struct kernel_info info;
	struct feeder *f;
	struct loop l;
	struct kernel_sim *sim;
	struct kernel k;
	uint64_t cpu0, t0;

	sim = kernel_sim_new(&sc, &k);
	if (!sim || kernel_detect(&k, &info) < 0 || feeder_set_threshold(&k, &info, &fc)) {
		fprintf(stderr, "sim-refill: cannot set up the simulated kernel\n");
		exit(1);
	}
	f = feeder_new(&k, &info, g, &fc, &stop, &out->fs);
	if (!f)
		exit(1);
	lc.k = &k;
	loop_init(&l, &lc);
	feeder_add(f, &l);
	cpu0 = cpu_ns_now();
	t0 = monotonic_ns();
	out->status = loop_run(&l);
	out->wall_ns = monotonic_ns() - t0;
	out->cpu_ns = cpu_ns_now() - cpu0;
	out->wakeups = loop_wakeups(&l);
	feeder_free(f);
	out->virt_ns = kernel_sim_now(sim);
	out->ss = malloc(sizeof(*out->ss));
	if (!out->ss) {
		fprintf(stderr, "sim-refill: out of memory\n");
		exit(1);
	}
	*out->ss = *kernel_sim_stats(sim);
	gen_get_stats(g, &out->gs);
	kernel_sim_free(sim);
}

/* -R: the seeds walk's samples, as make_generator()'s lanes calibrate it
 * (caches from cpu_detect(); -d keeps the table as the daemon's does). */
static int write_raw(const struct sim_opts *o)
{
	enum { WORDS = 64 * 1024 };
	static uint64_t d[WORDS / COLLECTOR_WORDS_PER_SAMPLE];
	static uint8_t b[WORDS / COLLECTOR_WORDS_PER_SAMPLE];
	uint64_t left = (uint64_t)o->raw_samples;
	struct cache_geom geom;
	struct noise n;
	FILE *f;

	cpu_detect(&geom, o->data_kb, o->inst_kb);
	if (noise_calibrate_seeds(&n, geom.data_kb, geom.inst_kb,
				  geom.data_src == CACHE_SRC_OPTION) < 0) {
		fprintf(stderr, "sim-refill: -R: %s\n", n.why[0] ? n.why : "out of memory");
		noise_free(&n);
		return 1;
	}
	fprintf(stderr, "sim-refill: seeds walk: rung %u, table %zu KB, stride %u, gcd %llu, "
		"start-up estimate %.2f bits/sample\n", n.rung + 1, n.table_kb, n.stride,
		(unsigned long long)n.gcd, n.est.h);
	f = fopen(o->raw, "wb");
	while (f && left > 0) {
		size_t k = noise_fill(&n, NULL, WORDS, d), i;

		if (k > left)
			k = (size_t)left;
		for (i = 0; i < k; i++)
			b[i] = (uint8_t)d[i];
		if (fwrite(b, 1, k, f) != k)
			break;
		left -= k;
	}
	noise_free(&n);
	if (!f || fclose(f) != 0 || left > 0) {
		fprintf(stderr, "sim-refill: %s: %s\n", o->raw, strerror(errno));
		if (f)
			remove(o->raw);         /* nothing half written */
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ figures */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array: the smallest sample with at
 * least q of the samples at or below it. */
static uint64_t percentile(const uint64_t *v, unsigned n, double q)
{
	unsigned rank;

	if (n == 0)
		return 0;
	rank = (unsigned)(q * n + 0.999999);
	return v[rank ? rank - 1 : 0];
}

/* The samples in the order they were taken, before print_latency()
 * sorts them: to see whether slow refills come in runs. */
static void dump_latency(const struct sim_stats *ss, const char *path)
{
	FILE *f = fopen(path, "w");
	unsigned i;

	if (!f) {
		fprintf(stderr, "sim-refill: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	for (i = 0; i < ss->latencies; i++)
		fprintf(f, "%.1f\n", ss->latency_ns[i] / 1e3);
	if (fclose(f) != 0) {
		fprintf(stderr, "sim-refill: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void print_latency(struct sim_stats *ss)
{
	unsigned n = ss->latencies;

	qsort(ss->latency_ns, n, sizeof(ss->latency_ns[0]), cmp_u64);
	printf("latency_samples %u%s\n", n, n == SIM_LATENCY_MAX ? " (the sim's cap)" : "");
	printf("latency_median_us %.1f\n", percentile(ss->latency_ns, n, 0.5) / 1e3);
	printf("latency_p90_us %.1f\n", percentile(ss->latency_ns, n, 0.9) / 1e3);
	printf("latency_p99_us %.1f\n", percentile(ss->latency_ns, n, 0.99) / 1e3);
	printf("latency_max_us %.1f\n", n ? ss->latency_ns[n - 1] / 1e3 : 0.0);
}

static void print_figures(const struct sim_opts *o, const struct cache_geom *geom,
			  struct outcome *r)
{
	struct sim_stats *ss = r->ss;
	double vs = r->virt_ns / 1e9;

	printf("config rate=%.0fB/s w=%u b=%uK t=%u o=%s credit=%u data=%uKB inst=%uKB\n",
	       o->rate, o->threshold, o->kwords, o->threads, o->spec, o->credit,
	       geom->data_kb, geom->inst_kb);
	printf("status %d\n", r->status);
	printf("virtual_s %.3f\n", vs);
	printf("wall_s %.3f\n", r->wall_ns / 1e9);
	printf("blocked_ms %.3f\n", ss->blocked_ns / 1e6);
	printf("blocked_pct %.3f\n", vs > 0 ? 100.0 * ss->blocked_ns / r->virt_ns : 0.0);
	/* The consumer reads at its rate whenever it is not starved. */
	printf("served_kBps %.1f\n", vs > 0 ? o->rate * (vs - ss->blocked_ns / 1e9) / vs / 1024 : 0.0);
	printf("below_pct %.3f\n", vs > 0 ? 100.0 * ss->below_ns / r->virt_ns : 0.0);
	printf("longest_below_us %.1f\n", ss->longest_below_ns / 1e3);
	print_latency(ss);
	printf("wakeups %llu\n", (unsigned long long)r->wakeups);
	printf("wake_writable %llu\n", (unsigned long long)ss->wake_writable);
	printf("refills %llu\n", (unsigned long long)r->fs.refills);
	printf("add_calls %llu\n", (unsigned long long)r->fs.add_calls);
	printf("bytes_given %llu\n", (unsigned long long)r->fs.bytes);
	printf("bits_credited %llu\n", (unsigned long long)ss->credited_bits);
	printf("bits_effective %llu\n", (unsigned long long)ss->credited_effective);
	printf("walk_mb %.1f\n", r->gs.walk_bytes / 1e6);
	printf("online_runs %llu\n", (unsigned long long)r->gs.online_runs);
	printf("health_discards %llu\n", (unsigned long long)r->gs.health_intermittent);
	printf("online_discarded_kb %.1f\n", r->gs.online_discarded / 1e3);
	printf("cpu_ms %.1f\n", r->cpu_ns / 1e6);
	printf("cpu_ms_per_vs %.1f\n", vs > 0 ? r->cpu_ns / 1e6 / vs : 0.0);
}

int main(int argc, char **argv)
{
	struct sim_opts o;
	struct testspec spec;
	struct cache_geom geom;
	struct generator *g;
	struct outcome r = { 0 };

	parse_opts(argc, argv, &o);
	log_init("sim-refill", LOG_DEST_STDERR, 0);
	if (o.raw)
		return write_raw(&o);
	g = make_generator(&o, &spec, &geom);
	run(&o, g, &r);
	if (o.dump)
		dump_latency(r.ss, o.dump);
	print_figures(&o, &geom, &r);
	free(r.ss);
	gen_free(g);
	/* Stopped at the end of virtual time is the one expected ending. */
	return r.status == -EINTR ? 0 : 1;
}
