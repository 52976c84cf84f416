/* timer.c - timer identification, resolution measurement, and the mock.
 *
 * Functions offered (see timer.h):
 *   timer_init()     apply HAVEGE_RNGD_MOCK_TIMER (mock builds only)
 *   timer_measure()  name, smallest non-zero delta, ticks per ns
 *   timer_is_mock()  whether this build has the mock seam
 *   timer_mock_set(), timer_mock_read()  the mock (mock builds only)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "log.h"
#include "timer.h"
#include "util.h"

enum { RESOLUTION_READS = 4096 };

static const char *timer_hw_name(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return "rdtsc";
#elif defined(__aarch64__)
	return "cntvct_el0";
#else
	return "clock_gettime(CLOCK_MONOTONIC_RAW)";
#endif
}

/* Ticks per ns of the hardware timer, measured over about 2 ms. */
static double ticks_per_ns(void)
{
	uint64_t n0 = monotonic_ns(), t0 = timer_hw_now(), n1, t1;
	struct timespec pause = { 0, 2000000 };

	nanosleep(&pause, NULL);
	n1 = monotonic_ns();
	t1 = timer_hw_now();
	return n1 > n0 ? (double)(t1 - t0) / (double)(n1 - n0) : 0.0;
}

void timer_measure(struct timer_info *info)
{
	uint64_t prev = timer_now(), best = UINT64_MAX;
	unsigned i;

	for (i = 0; i < RESOLUTION_READS; i++) {
		uint64_t t = timer_now();

		if (t != prev && t - prev < best)
			best = t - prev;
		prev = t;
	}
	info->name = timer_is_mock() ? "mock" : timer_hw_name();
	info->resolution = best == UINT64_MAX ? 0 : best;
	info->ticks_per_ns = ticks_per_ns();
}

#ifdef HRNG_MOCK_TIMER

/* The mock: a test seam built only with --enable-mock-timer. */
enum { MOCK_DIST_MAX = 8, MOCK_REPLAY_MAX = 1 << 20 };

static struct {
	enum { MOCK_REAL, MOCK_CONST, MOCK_STEP, MOCK_TWO, MOCK_FREEZE, MOCK_COARSE,
	       MOCK_DIST, MOCK_REPLAY } kind;
	uint64_t a, b;          /* parameters of the kind */
	uint64_t now;           /* value returned last */
	uint64_t reads;         /* reads so far */
	/* DIST: deltas drawn independently, value[i] with weight[i] percent */
	unsigned nvalues;
	uint64_t value[MOCK_DIST_MAX];
	unsigned weight[MOCK_DIST_MAX];
	uint64_t rng;           /* xorshift64 state, fixed seed */
	/* REPLAY: deltas read from a file of bytes, over and over */
	uint8_t *replay;
	size_t nreplay;
} mock;

static uint64_t mock_dist_next(void)
{
	unsigned r, i, acc = 0;

	mock.rng ^= mock.rng << 13;
	mock.rng ^= mock.rng >> 7;
	mock.rng ^= mock.rng << 17;
	r = (unsigned)(mock.rng % 100);
	for (i = 0; i + 1 < mock.nvalues; i++) {
		acc += mock.weight[i];
		if (r < acc)
			break;
	}
	return mock.value[i];
}

bool timer_is_mock(void)
{
	return true;
}

uint64_t timer_mock_read(void)
{
	mock.reads++;
	switch (mock.kind) {
	case MOCK_CONST:
		return mock.a;
	case MOCK_STEP:
		return mock.now += mock.a;
	case MOCK_TWO:
		return mock.now += (mock.reads & 1) ? mock.a : mock.b;
	case MOCK_FREEZE:
		if (mock.reads <= mock.a)
			mock.now = timer_hw_now();
		return mock.now;
	case MOCK_COARSE:
		return mock.reads <= mock.a ? timer_hw_now() : timer_hw_now() / mock.b * mock.b;
	case MOCK_DIST:
		return mock.now += mock_dist_next();
	case MOCK_REPLAY:
		return mock.now += mock.replay[mock.reads % mock.nreplay];
	case MOCK_REAL:
	default:
		return timer_hw_now();
	}
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	*v = strtoull(s, &end, 10);
	return end != s ? (int)(end - s) : -1;
}

/* "dist:V@P,V@P,...": up to MOCK_DIST_MAX values whose percentages add
 * up to 100. */
static int mock_dist(const char *p)
{
	unsigned total = 0;
	int n;

	while (mock.nvalues < MOCK_DIST_MAX) {
		uint64_t v, w;

		if ((n = parse_u64(p, &v)) < 0 || p[n] != '@')
			return -1;
		p += n + 1;
		if ((n = parse_u64(p, &w)) < 0 || w == 0 || w > 100)
			return -1;
		p += n;
		mock.value[mock.nvalues] = v;
		mock.weight[mock.nvalues++] = (unsigned)w;
		total += (unsigned)w;
		if (*p != ',')
			break;
		p++;
	}
	if (*p || total != 100)
		return -1;
	mock.rng = UINT64_C(0x9E3779B97F4A7C15);
	mock.kind = MOCK_DIST;
	return 0;
}

/* "replay:PATH": the file's bytes, one delta each (at most 1 MiB). */
static int mock_replay(const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return -1;
	mock.replay = malloc(MOCK_REPLAY_MAX);
	n = mock.replay ? fread(mock.replay, 1, MOCK_REPLAY_MAX, f) : 0;
	fclose(f);
	if (n == 0) {
		free(mock.replay);
		mock.replay = NULL;
		return -1;
	}
	mock.nreplay = n;
	mock.kind = MOCK_REPLAY;
	return 0;
}

int timer_mock_set(const char *spec)
{
	int n;

	free(mock.replay);
	memset(&mock, 0, sizeof(mock));
	if (strncmp(spec, "dist:", 5) == 0 && mock_dist(spec + 5) == 0)
		return 0;
	if (strncmp(spec, "replay:", 7) == 0 && mock_replay(spec + 7) == 0)
		return 0;
	if (strcmp(spec, "real") == 0) {
		mock.kind = MOCK_REAL;
		return 0;
	}
	if (strncmp(spec, "const:", 6) == 0 && (n = parse_u64(spec + 6, &mock.a)) > 0 && !spec[6 + n]) {
		mock.kind = MOCK_CONST;
		return 0;
	}
	if (strncmp(spec, "step:", 5) == 0 && (n = parse_u64(spec + 5, &mock.a)) > 0 && !spec[5 + n]) {
		mock.kind = MOCK_STEP;
		return 0;
	}
	if (strncmp(spec, "freeze:", 7) == 0 && (n = parse_u64(spec + 7, &mock.a)) > 0 && !spec[7 + n]) {
		mock.kind = MOCK_FREEZE;
		return 0;
	}
	if (strncmp(spec, "coarse:", 7) == 0 && (n = parse_u64(spec + 7, &mock.a)) > 0 &&
	    spec[7 + n] == ',') {
		const char *p = spec + 8 + n;

		if ((n = parse_u64(p, &mock.b)) > 0 && !p[n] && mock.b > 0) {
			mock.kind = MOCK_COARSE;
			return 0;
		}
	}
	if (strncmp(spec, "two:", 4) == 0 && (n = parse_u64(spec + 4, &mock.a)) > 0 &&
	    spec[4 + n] == ',') {
		const char *p = spec + 5 + n;

		if ((n = parse_u64(p, &mock.b)) > 0 && !p[n]) {
			mock.kind = MOCK_TWO;
			return 0;
		}
	}
	mock.kind = MOCK_REAL;
	return -1;
}

/* HAVEGE_RNGD_MOCK_TIMER_LATER: a mock that takes over once a generator
 * has passed its start-up tests (or --raw-samples its calibration),
 * however many reads they took. */
void timer_mock_started(void)
{
	const char *later = getenv("HAVEGE_RNGD_MOCK_TIMER_LATER");

	if (later && timer_mock_set(later) < 0)
		log_errx("HAVEGE_RNGD_MOCK_TIMER_LATER: invalid mock timer '%s'", later);
}

int timer_init(void)
{
	const char *spec = getenv("HAVEGE_RNGD_MOCK_TIMER");
	const char *walk = getenv("HAVEGE_RNGD_MOCK_WALK");

	if (spec && timer_mock_set(spec) < 0) {
		log_errx("HAVEGE_RNGD_MOCK_TIMER: invalid mock timer '%s' (real, const:V, step:S, "
			 "two:A,B, freeze:N, coarse:N,R, dist:V@P,... or replay:FILE)", spec);
		return -1;
	}
	if (walk && collector_mock_set(walk) < 0) {
		log_errx("HAVEGE_RNGD_MOCK_WALK: invalid mock walk '%s' "
			 "(none, const, bias, bias-after:N or period:N:M)", walk);
		return -1;
	}
	return 0;
}

#else

bool timer_is_mock(void)
{
	return false;
}

int timer_init(void)
{
	return 0;
}

#endif
