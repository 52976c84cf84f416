/* seams.c - the test seams (--enable-test-seams builds only).
 *
 * Functions offered (see seams.h):
 *   seams_init()          apply HAVEGE_RNGD_MOCK_TIMER and _WALK
 *   timer_mock_set(), timer_mock_read(), timer_mock_started()
 *                         the mock timer that timer_now() reads
 *   collector_mock_set(), seam_walk_spoil()
 *                         the mock walk that spoils collector_fill()'s output
 *   __wrap_malloc() and its siblings, __wrap_pthread_create(),
 *   __wrap_mmap()         what -Wl,--wrap=malloc (and so on) turns our
 *                         code's calls into: each may fail the allocation
 *                         (HAVEGE_RNGD_MOCK_ALLOC) and otherwise calls the
 *                         real function
 *   seam_probe_filter()   HAVEGE_RNGD_MOCK_SECCOMP=probe: two calls the
 *                         seccomp filter must refuse, and what they got
 *
 * Only references from our own objects are wrapped (that is how --wrap
 * works), so the C library and libgcrypt allocate as usual: the seam tests
 * our error paths, not theirs.  The allocation count is shared by all
 * threads.  The mock timer and walk are plain file-static structs: a test
 * sets them while no walk runs (bench/soak.c's switch mid-run may tear one
 * read, no worse than the failure it injects).
 */
#include "config.h"

#ifdef HRNG_TEST_SEAMS

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/random.h>

#include "hwtimer.h"
#include "log.h"
#include "seams.h"

/* ------------------------------------------------------------ the mock timer */

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
	return -EINVAL;
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

/* ------------------------------------------------------------ the mock walk */

static struct {
	enum { MOCK_WALK_NONE, MOCK_WALK_CONST, MOCK_WALK_BIAS, MOCK_WALK_PERIOD } kind;
	uint64_t after;        /* walk bytes left before it starts */
	uint64_t length;       /* PERIOD: bytes it lasts */
	uint64_t pos;          /* PERIOD: bytes of walk output so far */
	uint8_t pattern[100];  /* PERIOD: the 100 bytes repeated */
} mock_walk;

/* "period:N:M": from byte N of the walk output, for M bytes, a 100-byte
 * pattern repeats (AIS-31 T8 sees a period; the other tests may not). */
static int mock_period(const char *spec)
{
	char *end;
	uint32_t x = 2463534242u;
	size_t i;

	mock_walk.after = strtoull(spec, &end, 10);
	if (end == spec || *end != ':' || end[1] < '0' || end[1] > '9')
		return -1;
	mock_walk.length = strtoull(end + 1, &end, 10);
	if (*end)
		return -1;
	for (i = 0; i < sizeof(mock_walk.pattern); i++) {
		x ^= x << 13; x ^= x >> 17; x ^= x << 5;
		mock_walk.pattern[i] = (uint8_t)(x >> 24);
	}
	mock_walk.kind = MOCK_WALK_PERIOD;
	return 0;
}

int collector_mock_set(const char *spec)
{
	char *end;

	memset(&mock_walk, 0, sizeof(mock_walk));
	if (strcmp(spec, "none") == 0)
		return 0;
	if (strcmp(spec, "const") == 0) {
		mock_walk.kind = MOCK_WALK_CONST;
		return 0;
	}
	if (strcmp(spec, "bias") == 0) {
		mock_walk.kind = MOCK_WALK_BIAS;
		return 0;
	}
	if (strncmp(spec, "period:", 7) == 0 && mock_period(spec + 7) == 0)
		return 0;
	if (strncmp(spec, "bias-after:", 11) == 0 && spec[11] >= '0' && spec[11] <= '9') {
		mock_walk.after = strtoull(spec + 11, &end, 10);
		if (!*end) {
			mock_walk.kind = MOCK_WALK_BIAS;
			return 0;
		}
	}
	mock_walk.kind = MOCK_WALK_NONE;
	return -EINVAL;
}

static void mock_spoil_period(uint8_t *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++, mock_walk.pos++)
		if (mock_walk.pos >= mock_walk.after &&
		    mock_walk.pos - mock_walk.after < mock_walk.length)
			out[i] = mock_walk.pattern[mock_walk.pos % sizeof(mock_walk.pattern)];
}

void seam_walk_spoil(uint32_t *out, size_t nwords)
{
	size_t i;

	if (mock_walk.kind == MOCK_WALK_NONE)
		return;
	if (mock_walk.kind == MOCK_WALK_PERIOD) {
		mock_spoil_period((uint8_t *)out, nwords * 4);
		return;
	}
	if (mock_walk.after >= nwords * 4) {
		mock_walk.after -= nwords * 4;
		return;
	}
	mock_walk.after = 0;
	for (i = 0; i < nwords; i++) {
		if (mock_walk.kind == MOCK_WALK_CONST)
			out[i] = 0x5a5a5a5a;
		else            /* each bit a one with probability 1/4 */
			out[i] &= (out[i] >> 16) | (out[i] << 16);
	}
}

/* ------------------------------------------------------------ failing allocations */

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
int __wrap_asprintf(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int __real_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);
void *__real_mmap(void *addr, size_t n, int prot, int flags, int fd, off_t off);
void *__wrap_mmap(void *addr, size_t n, int prot, int flags, int fd, off_t off);

static atomic_ulong made;
static unsigned long fail_at;    /* 0: never */

static void print_count(void)
{
	fprintf(stderr, "mockalloc: %lu allocations\n", (unsigned long)atomic_load(&made));
}

/* Read HAVEGE_RNGD_MOCK_ALLOC once, on the first allocation (getenv does
 * not allocate). */
static void setup(void)
{
	static atomic_int done;
	const char *v;
	char *end;

	if (atomic_exchange(&done, 1))
		return;
	v = getenv("HAVEGE_RNGD_MOCK_ALLOC");
	if (!v)
		return;
	if (strcmp(v, "count") == 0) {
		atexit(print_count);
	} else if (strncmp(v, "fail:", 5) == 0) {
		fail_at = strtoul(v + 5, &end, 10);
		if (*end)
			fail_at = 0;
	}
}

static int alloc_fail_now(void)
{
	unsigned long n;

	setup();
	n = atomic_fetch_add(&made, 1) + 1;
	if (fail_at && n == fail_at) {
		errno = ENOMEM;
		return 1;
	}
	return 0;
}

void *__wrap_malloc(size_t n)
{
	return alloc_fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
	return alloc_fail_now() ? NULL : __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n)
{
	return alloc_fail_now() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = __wrap_malloc(n);

	return d ? memcpy(d, s, n) : NULL;
}

int __wrap_asprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	*out = n < 0 ? NULL : __wrap_malloc((size_t)n + 1);
	if (!*out)
		return -1;
	va_start(ap, fmt);
	vsnprintf(*out, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return n;
}

/* A thread start is an allocation too (its stack is mapped): EAGAIN is
 * what pthread_create() returns when that cannot be had. */
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
	return alloc_fail_now() ? EAGAIN : __real_pthread_create(t, a, fn, arg);
}

/* The secret allocator's pages (secret_alloc(), util.c) are our only
 * mmap(): failing it there is an allocation failing like any other. */
void *__wrap_mmap(void *addr, size_t n, int prot, int flags, int fd, off_t off)
{
	return alloc_fail_now() ? MAP_FAILED : __real_mmap(addr, n, prot, flags, fd, off);
}

/* ------------------------------------------------------------ the seccomp probe */

/* With HAVEGE_RNGD_MOCK_SECCOMP=probe the daemon, once its filter is in
 * (privs_seccomp()), makes two calls the filter leaves out and logs what
 * each got: ioctl RNDRESEEDCRNG (on no descriptor, so it would do nothing
 * even if let through: EBADF then) and open.  The filter must answer
 * EPERM and the daemon must go on (tests/e2e-mock.sh); a kill action, or
 * a hole, shows there. */
void seam_probe_filter(void)
{
	const char *v = getenv("HAVEGE_RNGD_MOCK_SECCOMP");
	int fd;

	if (!v || strcmp(v, "probe") != 0)
		return;
	if (ioctl(-1, RNDRESEEDCRNG) < 0)
		log_warn("seccomp probe: ioctl RNDRESEEDCRNG");
	else
		log_warnx("seccomp probe: ioctl RNDRESEEDCRNG: succeeded");
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		log_warn("seccomp probe: open /");
	} else {
		log_warnx("seccomp probe: open /: succeeded");
		close(fd);
	}
}

/* ------------------------------------------------------------ start-up */

int seams_init(void)
{
	const char *spec = getenv("HAVEGE_RNGD_MOCK_TIMER");
	const char *walk = getenv("HAVEGE_RNGD_MOCK_WALK");

	if (spec && timer_mock_set(spec) < 0) {
		log_errx("HAVEGE_RNGD_MOCK_TIMER: invalid mock timer '%s' (real, const:V, step:S, "
			 "two:A,B, freeze:N, coarse:N,R, dist:V@P,... or replay:FILE)", spec);
		return -EINVAL;
	}
	if (walk && collector_mock_set(walk) < 0) {
		log_errx("HAVEGE_RNGD_MOCK_WALK: invalid mock walk '%s' "
			 "(none, const, bias, bias-after:N or period:N:M)", walk);
		return -EINVAL;
	}
	return 0;
}

#endif /* HRNG_TEST_SEAMS */
