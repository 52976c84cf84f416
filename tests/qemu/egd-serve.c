/* egd-serve.c - the EGD server alone, for tests/e2e-qemu.sh: the daemon's
 * own composition (daemon_run(), service.h) without a feeder.
 *
 *   egd-serve SOCKET SERVED TIMEOUT-S
 *       serve EGD on the UNIX socket SOCKET from a known pseudo-random
 *       stream, append every byte handed out to the file SERVED, and stop
 *       on SIGTERM, SIGINT or after TIMEOUT-S seconds (the statistics go
 *       to stderr).  "ready" on stdout once the socket is listening.
 *       SERVED "-": record nothing; "gen": serve from the real generator
 *       (GEN_STREAM, the cache sizes detected, no online tests) instead
 *       of the known stream (bench/egd.sh uses both).
 *   egd-serve --check SERVED GUEST-HEX
 *       exit 0 when the bytes in GUEST-HEX (hex text, whitespace ignored)
 *       are all bytes from SERVED: runs of at least RUN_MIN bytes, each
 *       found in SERVED after the one before (the guest's kernel may take
 *       some of the device's bytes for itself, so runs need not touch).
 *
 * The stream is the same kind of counter-based stream the unit tests use,
 * so 16 bytes in a row never occur twice and a run found in SERVED cannot
 * be there by chance.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpu.h"
#include "egd.h"
#include "generator.h"
#include "log.h"
#include "loop.h"
#include "service.h"
#include "util.h"

enum { RUN_MIN = 16 };

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

struct source {
	uint64_t pos;
	FILE *served;                   /* NULL: record nothing */
};

static uint8_t stream_byte(uint64_t i)
{
	uint64_t z = (i >> 3) + 0x6a09e667f3bcc909ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (uint8_t)(z >> (8 * (i & 7)));
}

static int source_read(void *ctx, void *buf, size_t n)
{
	struct source *src = ctx;
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = stream_byte(src->pos + i);
	src->pos += n;
	if (!src->served)
		return 0;
	return fwrite(buf, 1, n, src->served) == n ? 0 : -EIO;
}

/* The known stream, recorded or not; "gen": NULL, the daemon's own
 * GEN_STREAM generator serves. */
static int source_open(struct source *src, const char *served,
		       int (**read)(void *, void *, size_t))
{
	*read = source_read;
	if (strcmp(served, "-") == 0)
		return 0;
	if (strcmp(served, "gen") == 0) {
		*read = NULL;
		return 0;
	}
	src->served = fopen(served, "wb");
	return src->served ? 0 : -1;
}

/* The run's end: the timeout, looked at 5 times a second (a signal that
 * slips in just before the sleep waits no longer than that). */
struct timer {
	uint64_t end;
};

static void timer_start(void *arg, struct loop *l)
{
	(void)arg;
	(void)l;
	printf("ready %ld\n", (long)getpid());
	fflush(stdout);
}

static size_t timer_prepare(void *arg, struct pollfd *fds, size_t max, int64_t *timeout_ns,
			    bool *want_writable, uint64_t now_ns)
{
	(void)arg;
	(void)fds;
	(void)max;
	(void)want_writable;
	(void)now_ns;
	if (*timeout_ns < 0 || *timeout_ns > 200000000)
		*timeout_ns = 200000000;
	return 0;
}

static void timer_wake(void *arg, struct loop *l, int w)
{
	(void)w;
	if (monotonic_ns() >= ((struct timer *)arg)->end)
		loop_stop(l, 0);
}

static int serve(const char *path, const char *served, unsigned timeout_s)
{
	char spec[256];
	struct egd_listener_cfg l = { .spec = spec };
	struct source src = { 0 };
	struct timer t = { .end = monotonic_ns() + (uint64_t)timeout_s * NS_PER_SEC };
	struct loop_handler th = { .start = timer_start, .prepare = timer_prepare,
				   .on_wake = timer_wake, .arg = &t };
	struct daemon_config c = {
		.gen = { .buffer_words = 128 * 1024, .threads = 1, .spec = NULL },
		.egd = { .listeners = &l, .nlisteners = 1, .unix_mode = 0600,
			 .unix_gid = (gid_t)-1, .max_clients = 1024 },
		.egd_source.ctx = &src, .extra = &th, .stats_at_end = true, .stop = &stop,
	};
	struct cache_geom geom;
	int status;

	snprintf(spec, sizeof(spec), "unix:%s", path);
	if (source_open(&src, served, &c.egd_source.read) < 0) {
		fprintf(stderr, "egd-serve: cannot open the source %s\n", served);
		return 1;
	}
	if (!c.egd_source.read) {
		cpu_detect(&geom, 0, 0);
		c.gen.data_kb = geom.data_kb;
		c.gen.inst_kb = geom.inst_kb;
	}
	status = daemon_run(&c, NULL);
	if (src.served)
		fclose(src.served);
	return status == 0 || status == -EINTR ? 0 : 1;
}

/* Hex text to bytes; returns the count, or -1 on a bad character. */
static long read_hex(const char *path, uint8_t **out)
{
	FILE *f = fopen(path, "r");
	size_t n = 0, cap = 4096;
	uint8_t *b = malloc(cap);
	int c, hi = -1;

	if (!f || !b)
		return -1;
	while ((c = fgetc(f)) != EOF) {
		if (isspace(c))
			continue;
		if (!isxdigit(c))
			return -1;
		c = isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
		if (hi < 0) {
			hi = c;
			continue;
		}
		if (n == cap && !(b = realloc(b, cap *= 2)))
			return -1;
		b[n++] = (uint8_t)(hi << 4 | c);
		hi = -1;
	}
	fclose(f);
	*out = b;
	return hi < 0 ? (long)n : -1;
}

static long read_bin(const char *path, uint8_t **out)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) < 0 || !(*out = malloc((size_t)n + 1)) ||
	    fread(*out, 1, (size_t)n, f) != (size_t)n)
		return -1;
	fclose(f);
	return n;
}

static int check(const char *served_path, const char *guest_path)
{
	uint8_t *sv = NULL, *g = NULL, *at;
	long ns = read_bin(served_path, &sv), ng = read_hex(guest_path, &g);
	size_t gi = 0, si = 0, len, runs = 0;

	if (ns < 0 || ng <= 0) {
		fprintf(stderr, "egd-serve: cannot read %s or %s\n", served_path, guest_path);
		return 1;
	}
	while (gi < (size_t)ng) {
		len = (size_t)ng - gi < RUN_MIN ? (size_t)ng - gi : RUN_MIN;
		at = memmem(sv + si, (size_t)ns - si, g + gi, len);
		if (!at || len < RUN_MIN) {
			fprintf(stderr, "egd-serve: guest bytes %zu.. were not served%s\n",
				gi, at ? " (a run too short to tell)" : "");
			return 1;
		}
		si = (size_t)(at - sv);
		while (gi < (size_t)ng && si < (size_t)ns && g[gi] == sv[si]) {
			gi++;
			si++;
		}
		runs++;
	}
	printf("%ld guest bytes, all served, in %zu run(s), of %ld served\n", ng, runs, ns);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--check") == 0)
		return check(argv[2], argv[3]);
	if (argc != 4) {
		fprintf(stderr, "usage: egd-serve SOCKET SERVED TIMEOUT-S\n"
			"       egd-serve --check SERVED GUEST-HEX\n");
		return 2;
	}
	log_init("egd-serve", LOG_DEST_STDERR, 0);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	return serve(argv[1], argv[2], (unsigned)atoi(argv[3]));
}
