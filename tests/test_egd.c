/* test_egd.c - the EGD server over real sockets: every command, partial
 * reads and writes, many clients, a client that never reads, slow readers
 * (others still served promptly, memory bounded, the slow kept), garbage and
 * truncated input, the rate limit, the client limit, the UNIX socket
 * file's safe replacement, TCP on loopback; and the parser on its own.
 *
 * The server runs its own small poll loop in a thread (as the daemon's
 * main loop would), served from a known pseudo-random stream, so a test can
 * tell exactly which bytes were served.  Every client socket has a receive
 * timeout, so no test can hang.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "egd.h"
#include "log.h"
#include "testutil.h"
#include "secretspy.h"
#include "util.h"

/* ---------------------------------------------------------------- the source */

enum { LOG_CAP = 1 << 20 };

/* Byte i of the stream: one byte of splitmix64(i / 8), so any 16 bytes
 * in a row occur once in the stream. */
static uint8_t stream_byte(uint64_t i)
{
	uint64_t z = (i >> 3) + 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (uint8_t)(z >> (8 * (i & 7)));
}

struct source {
	uint64_t pos;                   /* bytes handed out */
	uint64_t fail_at;               /* 0 = never */
	uint8_t *log;                   /* the first LOG_CAP bytes handed out */
};

static int source_read(void *ctx, void *buf, size_t n)
{
	struct source *src = ctx;
	uint8_t *p = buf;
	size_t i;

	if (src->fail_at && src->pos + n > src->fail_at)
		return -EIO;
	for (i = 0; i < n; i++) {
		p[i] = stream_byte(src->pos + i);
		if (src->pos + i < LOG_CAP)
			src->log[src->pos + i] = p[i];
	}
	src->pos += n;
	return 0;
}

/* ---------------------------------------------------------------- the server thread */

struct srv {
	struct egd_server *s;
	struct source src;
	int stop[2];
	pthread_t th;
	char path[128];
	char err[256];
	unsigned long turns;            /* returns from ppoll() */
};


static void *srv_loop(void *arg)
{
	struct srv *v = arg;
	size_t max = egd_max_pollfds(v->s) + 1;
	struct pollfd *fds = calloc(max, sizeof(*fds));

	for (;;) {
		int64_t to = -1;
		struct timespec ts, *tp = NULL;
		size_t n;

		fds[0] = (struct pollfd){ .fd = v->stop[0], .events = POLLIN };
		n = egd_pollfds(v->s, fds + 1, max - 1, &to, monotonic_ns());
		if (to >= 0) {
			ts.tv_sec = to / NS_PER_SEC;
			ts.tv_nsec = to % NS_PER_SEC;
			tp = &ts;
		}
		if (ppoll(fds, n + 1, tp, NULL) < 0 && errno != EINTR)
			break;
		v->turns++;
		if (fds[0].revents)
			break;
		egd_dispatch(v->s, fds + 1, n, monotonic_ns());
	}
	free(fds);
	return NULL;
}

static int srv_open(struct srv *v, struct egd_config *cfg)
{
	v->src.log = calloc(1, LOG_CAP);
	assert_non_null(v->src.log);
	if (egd_server_new(&v->s, cfg, &(struct byte_source){ .read = source_read, .ctx = &v->src },
			   v->err, sizeof(v->err)) < 0)
		return -1;
	assert_int_equal(pipe2(v->stop, O_CLOEXEC), 0);
	assert_int_equal(pthread_create(&v->th, NULL, srv_loop, v), 0);
	return 0;
}

/* One UNIX listener at test_dir/sock with the given limits. */
static struct srv *srv_start(uint64_t rate, uint64_t burst, unsigned clients, size_t queue)
{
	struct srv *v = calloc(1, sizeof(*v));
	struct egd_listener_cfg l = { .spec = v->path };
	struct egd_config cfg = { .listeners = &l, .nlisteners = 1,
				  .unix_mode = 0600, .unix_gid = (gid_t)-1,
				  .rate = rate, .burst = burst,
				  .max_clients = clients, .queue_max = queue,
				  /* every client is the test's uid: no per-uid limit */
				  .max_per_uid = clients ? clients : EGD_DEFAULT_CLIENTS };

	snprintf(v->path, sizeof(v->path), "unix:%s/sock", test_dir);
	if (srv_open(v, &cfg) < 0)
		fail_msg("egd_server_new: %s", v->err);
	return v;
}

/* Stop the loop; the server stays up so its counters can be read. */
static void srv_stop(struct srv *v, struct egd_listener_stats *st)
{
	assert_int_equal(write(v->stop[1], "x", 1), 1);
	pthread_join(v->th, NULL);
	if (st)
		assert_int_equal(egd_get_stats(v->s, 0, st, NULL), 0);
}

static void srv_free(struct srv *v)
{
	egd_server_free(v->s);
	close(v->stop[0]);
	close(v->stop[1]);
	free(v->src.log);
	free(v);
}

/* ---------------------------------------------------------------- clients */

static void expect_stream(const uint8_t *got, uint64_t from, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (got[i] != stream_byte(from + i))
			fail_msg("byte %zu: %02x, stream[%llu] is %02x", i, got[i],
				 (unsigned long long)(from + i), stream_byte(from + i));
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---------------------------------------------------------------- fixtures */

/* ---------------------------------------------------------------- parser */

static void test_parse(void **state)
{
	static const uint8_t write_req[] = { 3, 0x01, 0x02, 3, 0xaa, 0xbb, 0xcc, 9 };
	struct egd_request r;
	uint8_t b[2] = { 0, 0 };
	size_t i;

	(void)state;
	assert_int_equal(egd_parse(b, 0, &r), 0);
	b[0] = 0;
	assert_int_equal(egd_parse(b, 1, &r), 1);
	assert_int_equal(r.cmd, EGD_CMD_LEVEL);
	b[0] = 4;
	assert_int_equal(egd_parse(b, 1, &r), 1);
	assert_int_equal(r.cmd, EGD_CMD_PID);
	for (b[0] = 1; b[0] <= 2; b[0]++) {
		b[1] = 200;
		assert_int_equal(egd_parse(b, 1, &r), 0);
		assert_int_equal(egd_parse(b, 2, &r), 2);
		assert_int_equal(r.cmd, b[0]);
		assert_int_equal(r.count, 200);
	}
	/* 0x03 needs all of its data before it is a request. */
	for (i = 0; i < 7; i++)
		assert_int_equal(egd_parse(write_req, i, &r), 0);
	assert_int_equal(egd_parse(write_req, sizeof(write_req), &r), 7);
	assert_int_equal(r.cmd, EGD_CMD_WRITE);
	assert_int_equal(r.bits, 0x0102);
	assert_int_equal(r.count, 3);
	assert_ptr_equal(r.data, write_req + 4);
	for (i = 5; i < 256; i++) {
		b[0] = (uint8_t)i;
		assert_int_equal(egd_parse(b, 1, &r), -EPROTO);
	}
}

/* ---------------------------------------------------------------- commands */

static void test_level(void **state)
{
	struct srv *v = srv_start(0, 0, 0, 1024);
	uint8_t z = 0, rep[4];
	int fd = egd_client_unix(v->path);

	(void)state;
	egd_send_all(fd, &z, 1);
	egd_recv_all(fd, rep, 4, 4);
	assert_int_equal(be32(rep), 1024 * 8);  /* unlimited: one queue's worth */
	close(fd);
	srv_stop(v, NULL);
	srv_free(v);

	v = srv_start(1000, 300, 0, 1024);       /* limited: what the bucket holds */
	fd = egd_client_unix(v->path);
	egd_send_all(fd, &z, 1);
	egd_recv_all(fd, rep, 4, 4);
	assert_int_equal(be32(rep), 300 * 8);
	close(fd);
	srv_stop(v, NULL);
	srv_free(v);
}

static void test_read_nonblocking(void **state)
{
	struct srv *v = srv_start(10, 100, 0, 0);
	uint8_t req[] = { 1, 60, 1, 255, 1, 255 }, rep[256];
	int fd = egd_client_unix(v->path);

	(void)state;
	egd_send_all(fd, req, 2);
	egd_recv_all(fd, rep, 61, 61);
	assert_int_equal(rep[0], 60);
	expect_stream(rep + 1, 0, 60);
	/* 40 bytes left in the bucket: k is what is there, not what is asked. */
	egd_send_all(fd, req + 2, 2);
	egd_recv_all(fd, rep, 1, 1);
	assert_in_range(rep[0], 40, 41);
	egd_recv_all(fd, rep + 1, rep[0], 256);
	expect_stream(rep + 1, 60, rep[0]);
	/* An empty bucket: k = 0 at once, no waiting. */
	egd_send_all(fd, req + 4, 2);
	egd_recv_all(fd, rep, 1, 1);
	assert_in_range(rep[0], 0, 1);
	close(fd);
	srv_stop(v, NULL);
	srv_free(v);
}

/* Several requests in one write, answered in order; 0x02 has no prefix. */
static void test_read_blocking_fifo(void **state)
{
	struct srv *v = srv_start(0, 0, 0, 0);
	uint8_t req[] = { 2, 10, 0, 2, 20, 2, 0, 2, 255 }, rep[4 + 10 + 20 + 255];
	struct egd_listener_stats st;
	int fd = egd_client_unix(v->path);

	(void)state;
	egd_send_all(fd, req, sizeof(req));
	egd_recv_all(fd, rep, sizeof(rep), sizeof(rep));
	expect_stream(rep, 0, 10);
	assert_int_equal(be32(rep + 10), 4096 * 8);
	expect_stream(rep + 14, 10, 20 + 255);
	close(fd);
	srv_stop(v, &st);
	assert_int_equal(st.bytes_served, 10 + 20 + 255);
	assert_int_equal(st.requests, 5);
	assert_int_equal(st.protocol_errors, 0);
	srv_free(v);
}

static void test_write_discarded(void **state)
{
	struct srv *v = srv_start(0, 0, 0, 0);
	uint8_t req[4 + 255 + 2], rep[8];
	struct egd_listener_stats st;
	int fd = egd_client_unix(v->path);

	(void)state;
	req[0] = 3;
	req[1] = 0x07;
	req[2] = 0xf8;
	req[3] = 255;
	memset(req + 4, 0x5a, 255);
	req[259] = 2;
	req[260] = 8;
	egd_send_all(fd, req, sizeof(req));
	egd_recv_all(fd, rep, 8, 8);
	expect_stream(rep, 0, 8);   /* no reply to 0x03, and the stream is unchanged */
	close(fd);
	srv_stop(v, &st);
	assert_int_equal(st.discarded_bytes, 255);
	assert_int_equal(st.bytes_served, 8);
	assert_int_equal(st.protocol_errors, 0);
	srv_free(v);
}

static void test_pid(void **state)
{
	struct srv *v = srv_start(0, 0, 0, 0);
	uint8_t four = 4, len;
	char text[32], want[32];
	int fd = egd_client_unix(v->path);

	(void)state;
	egd_send_all(fd, &four, 1);
	egd_recv_all(fd, &len, 1, 1);
	assert_in_range(len, 1, 20);
	egd_recv_all(fd, text, len, len);
	text[len] = '\0';
	snprintf(want, sizeof(want), "%ld", (long)getpid());
	assert_string_equal(text, want);
	close(fd);
	srv_stop(v, NULL);
	srv_free(v);
}

/* ---------------------------------------------------------------- partial I/O */

static void test_partial(void **state)
{
	static const uint8_t req[] = { 3, 0, 16, 2, 0x11, 0x22, 2, 255, 1, 5, 0 };
	struct timespec pause = { 0, 2000000 };
	struct srv *v = srv_start(0, 0, 0, 0);
	uint8_t rep[255 + 6 + 4];
	struct egd_listener_stats st;
	int fd = egd_client_unix(v->path);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(req); i++) {
		egd_send_all(fd, req + i, 1);
		nanosleep(&pause, NULL);
	}
	egd_recv_all(fd, rep, sizeof(rep), 3);
	expect_stream(rep, 0, 255);
	assert_int_equal(rep[255], 5);
	expect_stream(rep + 256, 255, 5);
	assert_int_equal(be32(rep + 261), 4096 * 8);
	close(fd);
	srv_stop(v, &st);
	assert_int_equal(st.requests, 4);
	assert_int_equal(st.discarded_bytes, 2);
	srv_free(v);
}

/* ---------------------------------------------------------------- many clients */

enum { MANY = 64, MANY_REQS = 8, MANY_LEN = 64 };

static int cmp_pos(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* Every client's every reply is a run of MANY_LEN bytes the server took
 * from the source, and no run was given to two clients. */
static void test_many_clients(void **state)
{
	static uint8_t rep[MANY][MANY_REQS * MANY_LEN];
	static int64_t pos[MANY * MANY_REQS];
	uint8_t req[MANY_REQS * 2];
	struct egd_listener_stats st;
	struct srv *v = srv_start(0, 0, MANY, 0);
	int fds[MANY], i, j;

	(void)state;
	for (j = 0; j < MANY_REQS; j++) {
		req[2 * j] = 2;
		req[2 * j + 1] = MANY_LEN;
	}
	for (i = 0; i < MANY; i++)
		fds[i] = egd_client_unix(v->path);
	for (i = 0; i < MANY; i++)
		egd_send_all(fds[i], req, sizeof(req));
	for (i = 0; i < MANY; i++)
		egd_recv_all(fds[i], rep[i], sizeof(rep[i]), 100);
	for (i = 0; i < MANY; i++)
		close(fds[i]);
	srv_stop(v, &st);
	assert_int_equal(st.bytes_served, MANY * MANY_REQS * MANY_LEN);
	assert_int_equal(st.clients_accepted, MANY);
	assert_int_equal(st.clients_refused, 0);
	for (i = 0; i < MANY; i++)
		for (j = 0; j < MANY_REQS; j++) {
			uint8_t *p = memmem(v->src.log, (size_t)st.bytes_served,
					    rep[i] + j * MANY_LEN, MANY_LEN);

			assert_non_null(p);
			pos[i * MANY_REQS + j] = p - v->src.log;
		}
	qsort(pos, MANY * MANY_REQS, sizeof(pos[0]), cmp_pos);
	for (i = 1; i < MANY * MANY_REQS; i++)
		assert_true(pos[i] >= pos[i - 1] + MANY_LEN);
	srv_free(v);
}

/* ---------------------------------------------------------------- a client that never reads */

static void test_never_reads(void **state)
{
	enum { QUEUE = 256 };
	struct srv *v = srv_start(0, 0, 0, QUEUE);
	uint8_t req[4096], rep[64];
	struct egd_listener_stats st;
	int hog = egd_client_unix(v->path), good, i;
	size_t sent = 0;

	(void)state;
	for (i = 0; i < (int)sizeof(req); i += 2) {
		req[i] = 2;
		req[i + 1] = 255;
	}
	/* Requests until its own socket is full: about 1 MiB of replies asked. */
	for (i = 0; i < 256; i++) {
		ssize_t w = send(hog, req, sizeof(req), MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w <= 0)
			break;
		sent += (size_t)w;
	}
	assert_true(sent >= 16384);
	good = egd_client_unix(v->path);
	egd_send_all(good, "\x02\x40", 2);
	egd_recv_all(good, rep, 64, 64);
	close(good);
	srv_stop(v, &st);
	assert_true(st.queue_peak <= QUEUE);
	assert_int_equal(st.queue_peak, QUEUE);         /* it did fill up */
	/* What was served fits in the queue and the socket buffers, not in
	 * what was asked for (sent / 2 * 255 bytes). */
	assert_true(st.bytes_served < (uint64_t)sent / 2 * 255 / 2);
	close(hog);
	srv_free(v);
}

/* ---------------------------------------------------------------- slow readers
 *
 * Clients that ask for far more than they read, then take a byte every
 * SLOW_PAUSE_MS: their socket buffers and then their queues fill and stay
 * full.  The policy (doc/egd.md, "Bounded memory"): such a client is kept,
 * costs at most queue_max bytes of our memory and one slot, and delays
 * nobody else.
 */

enum {
	SLOW = 8,
	SLOW_ASKED = 4096,              /* 0x02 255 requests each: 1 MB, more than
					 * the socket buffers hold */
	SLOW_PAUSE_MS = 100,
	SLOW_RUN_MS = 2000,
	/* A good client's waits: the median is what shows that nobody waits
	 * on a slow reader (a server that did would make every wait last
	 * until that reader drained its socket buffer, a byte every
	 * SLOW_PAUSE_MS); the worst only that no wait is long, since on a
	 * loaded machine (load 8 to 9 on 2 cores) the scheduler alone gave
	 * single waits of over 250 ms, against 3.2 ms on an idle one. */
	PROMPT_MEDIAN_MS = 50,
	PROMPT_WORST_MS = 2000,
	GOOD_MAX = 1 << 16,             /* waits recorded, at most */
};

static void ask_a_lot(int fd)
{
	uint8_t req[2 * SLOW_ASKED];
	int i;

	for (i = 0; i < SLOW_ASKED; i++) {
		req[2 * i] = 2;
		req[2 * i + 1] = 255;
	}
	egd_send_all(fd, req, sizeof(req));
}

/* The kernel's default send buffer for a UNIX stream socket: what the
 * server's socket to a slow reader holds at most besides our queue. */
static size_t unix_sndbuf(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), v = 0;
	socklen_t len = sizeof(v);

	assert_true(fd >= 0);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &len), 0);
	close(fd);
	return (size_t)v;
}

/* One 0x02 64 by the good client; returns how long it took, in ns. */
static uint64_t good_request(int fd, uint8_t *rep)
{
	uint64_t t0 = monotonic_ns();

	egd_send_all(fd, "\x02\x40", 2);
	egd_recv_all(fd, rep, 64, 64);
	return monotonic_ns() - t0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_slow_readers(void **state)
{
	enum { QUEUE = 4096 };
	struct srv *v = srv_start(0, 0, SLOW + 1, QUEUE);
	struct egd_listener_stats st;
	uint8_t first[SLOW][255], rep[64];
	uint64_t *waits = calloc(GOOD_MAX, sizeof(*waits));
	uint64_t median, good = 0, t0, next;
	int slow[SLOW], fd, i;
	size_t got[SLOW] = { 0 };

	(void)state;
	assert_non_null(waits);
	for (i = 0; i < SLOW; i++) {
		slow[i] = egd_client_unix(v->path);
		ask_a_lot(slow[i]);
	}
	fd = egd_client_unix(v->path);
	t0 = next = monotonic_ns();
	while (monotonic_ns() - t0 < (uint64_t)SLOW_RUN_MS * 1000000) {
		uint64_t dt = good_request(fd, rep);

		if (good < GOOD_MAX)
			waits[good++] = dt;
		if (monotonic_ns() < next)
			continue;
		next += (uint64_t)SLOW_PAUSE_MS * 1000000;
		for (i = 0; i < SLOW; i++, got[i - 1]++)
			egd_recv_all(slow[i], first[i] + got[i], 1, 1);
	}
	qsort(waits, good, sizeof(*waits), cmp_u64);
	median = waits[good / 2];
	print_message("slow readers: %llu good requests, median %.2f ms, the slowest %.1f ms; "
		      "each slow reader took %zu bytes\n", (unsigned long long)good,
		      median / 1e6, waits[good - 1] / 1e6, got[0]);
	srv_stop(v, &st);
	close(fd);
	assert_true(median < (uint64_t)PROMPT_MEDIAN_MS * 1000000);
	assert_true(waits[good - 1] < (uint64_t)PROMPT_WORST_MS * 1000000);
	free(waits);
	/* A server waiting on the slow readers would answer one request per
	 * SLOW_PAUSE_MS at best: 20 in the run. */
	assert_true(good >= 100);
	/* Kept, every one of them, with its queue full but never more. */
	assert_int_equal(st.clients_now, SLOW + 1);
	assert_int_equal(st.protocol_errors, 0);
	assert_int_equal(st.queue_peak, QUEUE);
	/* Served to the slow ones: at most their queues and socket buffers
	 * (x2: the kernel counts buffer overhead), far below what they asked. */
	assert_true(st.bytes_served - good * 64 <= SLOW * (QUEUE + 2 * unix_sndbuf()));
	assert_true(st.bytes_served - good * 64 < (uint64_t)SLOW * SLOW_ASKED * 255 / 2);
	/* What a slow reader took a byte at a time is its first reply as the
	 * source gave it, in order: nothing lost or reordered by waiting. */
	for (i = 0; i < SLOW; i++) {
		assert_true(got[i] >= SLOW_RUN_MS / SLOW_PAUSE_MS - 1);
		assert_non_null(memmem(v->src.log, LOG_CAP, first[i], got[i]));
		close(slow[i]);
	}
	srv_free(v);
}

/* Start the loop again after srv_stop(). */
static void srv_resume(struct srv *v)
{
	char x;

	assert_int_equal(read(v->stop[0], &x, 1), 1);
	assert_int_equal(pthread_create(&v->th, NULL, srv_loop, v), 0);
}

/* Bytes sent to a client do not stay in its output queue (doc/security.md):
 * once the loop has sent two replies and is stopped (so the test reads
 * our buffers without racing it), nothing of either is left in any of
 * them, and that connection's queue is all zeros; every queue is marked
 * MADV_DONTDUMP; and a queue still full of unsent bytes (a client that
 * never reads) is wiped before it is unmapped. */
static void test_queue_wiped(void **state)
{
	struct srv *v = srv_start(0, 0, 0, 0);
	unsigned long dirty = spy_dirty_frees();
	uint8_t rep[255], rep2[16], *p;
	int fd = egd_client_unix(v->path), hog = egd_client_unix(v->path);
	struct egd_listener_stats st;
	unsigned i, queues = 0, full = 0, tries;
	uint64_t served;
	size_t off, n;

	(void)state;
	ask_a_lot(hog);
	egd_send_all(fd, "\x02\xff", 2);
	egd_recv_all(fd, rep, sizeof(rep), sizeof(rep));
	egd_send_all(fd, "\x02\x10", 2);
	egd_recv_all(fd, rep2, sizeof(rep2), sizeof(rep2));
	/* Wait (up to 10 s) for the hog's socket buffer to fill, and so its
	 * queue: the bytes served stop growing from one look to the next. */
	for (tries = 0, served = 0;; tries++) {
		srv_stop(v, &st);
		if ((st.bytes_served == served && st.queue_peak == EGD_DEFAULT_QUEUE) ||
		    tries == 1000)
			break;
		served = st.bytes_served;
		srv_resume(v);
		usleep(10000);
	}
	assert_int_equal(st.bytes_served, served);
	for (off = 0; off + 16 <= sizeof(rep); off += 16)
		assert_false(spy_holds(rep + off, 16));
	assert_false(spy_holds(rep2, sizeof(rep2)));
	for (i = 0; spy_live(i, &p, &n); i++) {
		if (n != EGD_DEFAULT_QUEUE)
			continue;
		queues++;
		assert_true(spy_dontdump(p));
		full += !spy_zero(p, n);
	}
	assert_int_equal(queues, 2);
	assert_int_equal(full, 1);              /* the hog's, and only it */
	close(fd);
	close(hog);
	srv_free(v);
	assert_int_equal(spy_dirty_frees(), dirty);
}

/* Slow readers that fill every slot: the next client is refused (closed
 * at once, counted), none of them is dropped to make room; when one goes,
 * its slot serves a new client. */
static void test_slow_readers_hold_slots(void **state)
{
	enum { MAX = 4 };
	struct srv *v = srv_start(0, 0, MAX, 0);
	struct egd_listener_stats st;
	uint8_t rep[64];
	int slow[MAX], fd, i;

	(void)state;
	for (i = 0; i < MAX; i++) {
		slow[i] = egd_client_unix(v->path);
		ask_a_lot(slow[i]);
		egd_recv_all(slow[i], rep, 1, 1);   /* accepted and served */
	}
	fd = egd_client_unix(v->path);
	assert_true(egd_closed_by_server(fd));
	close(fd);
	srv_stop(v, &st);
	assert_int_equal(st.clients_refused, 1);
	assert_int_equal(st.clients_now, MAX);  /* none dropped for the newcomer */
	assert_int_equal(st.protocol_errors, 0);
	srv_resume(v);
	/* The server sees this hang-up no later than the next connection. */
	close(slow[0]);
	fd = egd_client_unix(v->path);
	assert_true(good_request(fd, rep) < (uint64_t)PROMPT_WORST_MS * 1000000);
	close(fd);
	for (i = 1; i < MAX; i++)
		close(slow[i]);
	srv_stop(v, &st);
	assert_int_equal(st.clients_refused, 1);
	srv_free(v);
}

/* ---------------------------------------------------------------- bad input */

static void test_garbage_and_truncated(void **state)
{
	static const char *bad[] = { "\x05", "\xff\x00\x00", "\x02", "\x01",
				     "\x03\x00\x08\x05\xab", "\x02\x08\x03\x00" };
	static const size_t badlen[] = { 1, 3, 1, 1, 5, 4 };
	struct srv *v = srv_start(0, 0, 0, 0);
	struct egd_listener_stats st;
	uint8_t rep[16];
	int good = egd_client_unix(v->path), fd;
	size_t i;

	(void)state;
	egd_send_all(good, "\x02\x08", 2);
	egd_recv_all(good, rep, 8, 8);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = egd_client_unix(v->path);
		egd_send_all(fd, bad[i], badlen[i]);
		shutdown(fd, SHUT_WR);  /* the end of the stream */
		if (i == 5)             /* a good request first, then a truncated one */
			egd_recv_all(fd, rep, 8, 8);
		assert_true(egd_closed_by_server(fd));
		close(fd);
	}
	/* The first client is still served. */
	egd_send_all(good, "\x02\x08", 2);
	egd_recv_all(good, rep, 8, 8);
	close(good);
	srv_stop(v, &st);
	assert_int_equal(st.protocol_errors, sizeof(bad) / sizeof(bad[0]));
	srv_free(v);
}

/* A well-formed request followed by the end of the stream is answered,
 * then the connection closes with no error counted. */
static void test_half_close(void **state)
{
	struct srv *v = srv_start(0, 0, 0, 0);
	struct egd_listener_stats st;
	uint8_t rep[32];
	int fd = egd_client_unix(v->path);

	(void)state;
	egd_send_all(fd, "\x02\x20", 2);
	shutdown(fd, SHUT_WR);
	egd_recv_all(fd, rep, 32, 32);
	expect_stream(rep, 0, 32);
	assert_true(egd_closed_by_server(fd));
	close(fd);
	srv_stop(v, &st);
	assert_int_equal(st.protocol_errors, 0);
	srv_free(v);
}

/* A client that hangs up while owed bytes, its bucket empty, is dropped at
 * once: a closed UNIX peer reports POLLHUP even with no events asked, so
 * keeping it until a token arrives would wake the loop without pause.
 * 1 byte/s, one slot: the slot comes free for the next client, and the
 * loop turned a handful of times, not thousands. */
static void test_hangup_while_owed(void **state)
{
	struct srv *v = srv_start(1, 1, 1, 0);
	struct egd_listener_stats st;
	uint8_t rep[2];
	int fd = egd_client_unix(v->path), i;

	(void)state;
	egd_send_all(fd, "\x02\xff", 2);
	egd_recv_all(fd, rep, 1, 1);        /* the burst; 254 bytes still owed */
	close(fd);
	for (i = 0; i < 300; i++) {
		fd = egd_client_unix(v->path);
		send(fd, "\x01\x01", 2, MSG_NOSIGNAL);
		if (recv(fd, rep, 2, MSG_WAITALL) == 2)
			break;
		close(fd);              /* refused: the slot is still held */
		usleep(10000);
	}
	assert_true(i < 300);
	close(fd);
	srv_stop(v, &st);
	print_message("loop turns: %lu\n", v->turns);
	assert_true(v->turns < 1000);
	assert_int_equal(st.clients_accepted, 2);
	assert_int_equal(st.clients_refused, (unsigned)i);
	srv_free(v);
}

static void test_source_failure(void **state)
{
	struct srv *v = calloc(1, sizeof(*v));
	struct egd_listener_cfg l = { .spec = v->path };
	struct egd_config cfg = { .listeners = &l, .nlisteners = 1, .unix_mode = 0600,
				  .unix_gid = (gid_t)-1 };
	uint8_t rep[16];
	int fd;

	(void)state;
	snprintf(v->path, sizeof(v->path), "unix:%s/sock", test_dir);
	v->src.fail_at = 20;
	assert_int_equal(srv_open(v, &cfg), 0);
	fd = egd_client_unix(v->path);
	egd_send_all(fd, "\x02\x10\x02\x10", 4);
	egd_recv_all(fd, rep, 16, 16);
	expect_stream(rep, 0, 16);
	assert_true(egd_closed_by_server(fd));      /* a dead source closes, never fakes */
	close(fd);
	srv_stop(v, NULL);
	srv_free(v);
}

/* ---------------------------------------------------------------- rate limit */

/* The limiter never over-serves: what a client got by time t is at most
 * its burst plus rate x t, exactly (tokens are counted in byte-ns, and the
 * bucket, full at connect, holds at most the burst at t0).  Under-serving
 * is only checked loosely: the client keeps requests outstanding, so the
 * server always has work, but a server descheduled for longer than the
 * burst lasts (62 ms here) loses tokens for good, and a loaded machine (or
 * a sanitizer) does that; a limiter off by a unit (bits for bytes, us for
 * ns) still falls far outside. */
static void test_rate_limit(void **state)
{
	enum { RATE = 65536, BURST = 4096, OUTSTANDING = 8 };
	struct srv *v = srv_start(RATE, BURST, 0, 0);
	uint8_t req[2 * OUTSTANDING], rep[255];
	uint64_t got = 0, t0, t;
	double expect;
	int fd = egd_client_unix(v->path), i;

	(void)state;
	for (i = 0; i < OUTSTANDING; i++) {
		req[2 * i] = 2;
		req[2 * i + 1] = 255;
	}
	t0 = monotonic_ns();
	egd_send_all(fd, req, sizeof(req));
	/* Keep OUTSTANDING requests queued; one more each time one is done. */
	do {
		egd_recv_all(fd, rep, 255, 255);
		got += 255;
		egd_send_all(fd, req, 2);
		t = monotonic_ns();
	} while (t - t0 < 1500000000u);
	expect = BURST + (double)RATE * (double)(t - t0) / 1e9;
	print_message("rate: %llu bytes in %.3f s, expected %.0f\n",
		      (unsigned long long)got, (double)(t - t0) / 1e9, expect);
	assert_true((double)got <= expect + 1);      /* + 1: the double's rounding */
	assert_true(got >= 0.5 * expect);
	close(fd);
	srv_stop(v, NULL);
	srv_free(v);
}

/* ---------------------------------------------------------------- client limit */

static void test_max_clients(void **state)
{
	enum { MAX = 4 };
	struct srv *v = srv_start(0, 0, MAX, 0);
	struct egd_listener_stats st;
	uint8_t rep[8];
	int fds[MAX], extra, i;

	(void)state;
	for (i = 0; i < MAX; i++) {
		fds[i] = egd_client_unix(v->path);
		egd_send_all(fds[i], "\x02\x08", 2);
		egd_recv_all(fds[i], rep, 8, 8);
	}
	extra = egd_client_unix(v->path);
	send(extra, "\x02\x08", 2, MSG_NOSIGNAL);
	assert_true(egd_closed_by_server(extra));
	close(extra);
	/* A freed slot is usable again. */
	close(fds[0]);
	for (i = 0; i < 100; i++) {
		fds[0] = egd_client_unix(v->path);
		send(fds[0], "\x02\x08", 2, MSG_NOSIGNAL);
		if (recv(fds[0], rep, 8, MSG_WAITALL) == 8)
			break;
		close(fds[0]);          /* raced the server's close: retry */
		usleep(10000);
	}
	assert_true(i < 100);
	for (i = 0; i < MAX; i++)
		close(fds[i]);
	srv_stop(v, &st);
	assert_true(st.clients_refused >= 1);
	assert_int_equal(st.clients_accepted, MAX + 1);
	srv_free(v);
}

/* --egd-clients above RLIMIT_NOFILE, and accept() out of descriptors, in a
 * child (the hard limit cannot be raised again).  Soft 64, hard 4096: the
 * soft limit is raised and every client fits.  Hard 64: 1024 clients are
 * capped to what the limit leaves (one warning); then, every descriptor
 * taken, ten accept() failures 200 ms apart (the server's clock) make one
 * line, and one a minute later says how many were not reported. */
static int fd_limit_child(const char *spec, const char *logpath)
{
	struct egd_listener_cfg l = { .spec = spec };
	struct egd_config cfg = { .listeners = &l, .nlisteners = 1, .unix_mode = 0600,
				  .unix_gid = (gid_t)-1, .max_clients = 1024 };
	struct rlimit rl = { 64, 4096 };
	struct egd_listener_stats st;
	struct pollfd fds[64];
	struct egd_server *s;
	uint64_t now = NS_PER_SEC;
	char err[256];
	int i, c1, c2;
	size_t n;

	if (freopen(logpath, "w", stderr) == NULL || setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 10;
	if (egd_server_new(&s, &cfg, &(struct byte_source){ .read = source_read }, err, sizeof(err)) < 0)
		return 11;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < 1024 + 1 ||
	    egd_max_pollfds(s) != 1024 + 1)
		return 12;                      /* raised: everyone fits */
	egd_server_free(s);
	rl = (struct rlimit){ 64, 64 };
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 ||
	    egd_server_new(&s, &cfg, &(struct byte_source){ .read = source_read }, err, sizeof(err)) < 0)
		return 13;
	if (egd_max_pollfds(s) != 64 - 16)    /* the listener, 47 clients */
		return 14;
	c1 = egd_client_unix(spec);
	c2 = egd_client_unix(spec);
	while (dup(c1) >= 0)
		;                               /* no descriptor left */
	for (i = 0; i < 11; i++) {
		int64_t to = -1;

		now += i < 10 ? 200000000ull : 61ull * NS_PER_SEC;
		n = egd_pollfds(s, fds, 64, &to, now);
		if (n != 1 || poll(fds, n, 1000) != 1)
			return 15;
		egd_dispatch(s, fds, n, now);
	}
	egd_get_stats(s, 0, &st, NULL);
	(void)c2;
	return st.accept_errors == 11 && st.clients_now == 0 ? 0 : 16;
}

static void test_fd_limit(void **state)
{
	char spec[140], logpath[140], buf[2048];
	int status;
	size_t len;
	FILE *f;
	pid_t pid;

	(void)state;
	snprintf(spec, sizeof(spec), "unix:%s/fdsock", test_dir);
	snprintf(logpath, sizeof(logpath), "%s/fdlimit.log", test_dir);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		status = fd_limit_child(spec, logpath);
		fflush(stderr);
		_exit(status);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	f = fopen(logpath, "r");
	assert_non_null(f);
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	print_message("%s", buf);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* three lines: the cap, the first accept error, the next with a count */
	assert_non_null(strstr(buf, "serving at most 47 clients"));
	assert_non_null(strstr(buf, "accept: Too many open files (reported at most"));
	assert_non_null(strstr(buf, "accept: Too many open files (9 more since the last report)"));
	assert_int_equal(strchr(strchr(strchr(buf, '\n') + 1, '\n') + 1, '\n')[1], '\0');
}

/* ---------------------------------------------------------------- the socket file */

static int listen_unix(const char *path, bool stay)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	if (!stay) {
		close(fd);
		return -1;
	}
	return fd;
}

static int try_new(const char *spec, mode_t mode, gid_t gid, char *err, size_t errlen,
		   struct egd_server **s)
{
	struct egd_listener_cfg l = { .spec = spec };
	struct egd_config cfg = { .listeners = &l, .nlisteners = 1,
				  .unix_mode = mode, .unix_gid = gid };

	return egd_server_new(s, &cfg, &(struct byte_source){ .read = source_read }, err, errlen);
}

static void test_socket_file(void **state)
{
	struct egd_server *s;
	char path[128], spec[140], err[256];
	struct stat st;
	gid_t gid = getuid() == 0 ? 1 : getgid();  /* root: really change it */
	int live;

	(void)state;
	snprintf(path, sizeof(path), "%s/stale", test_dir);
	snprintf(spec, sizeof(spec), "unix:%s", path);
	listen_unix(path, false);                  /* left behind by a "crash" */
	assert_int_equal(try_new(spec, 0660, gid, err, sizeof(err), &s), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(st.st_gid, gid);
	close(egd_client_unix(spec));                  /* it is ours now */
	egd_server_free(s);
	assert_int_equal(lstat(path, &st), -1);    /* removed on free */
	assert_int_equal(errno, ENOENT);

	/* --egd-mode=0 means 0 (no one but root may connect), not 0600. */
	assert_int_equal(try_new(spec, 0, (gid_t)-1, err, sizeof(err), &s), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0);
	egd_server_free(s);
	assert_int_equal(try_new(spec, 01777, (gid_t)-1, err, sizeof(err), &s), -EINVAL);
	assert_non_null(strstr(err, "0 to 0777"));

	live = listen_unix(path, true);            /* someone else's, alive */
	assert_int_equal(try_new(spec, 0, (gid_t)-1, err, sizeof(err), &s), -EADDRINUSE);
	assert_non_null(strstr(err, "another server"));
	assert_int_equal(lstat(path, &st), 0);     /* left alone */
	close(live);
	unlink(path);
}

static void test_symlink_refused(void **state)
{
	struct egd_server *s;
	char target[128], link[128], spec[140], err[256];
	struct stat st;
	int fd;

	(void)state;
	snprintf(target, sizeof(target), "%s/precious", test_dir);
	snprintf(link, sizeof(link), "%s/link", test_dir);
	fd = open(target, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	assert_int_equal(symlink(target, link), 0);
	snprintf(spec, sizeof(spec), "unix:%s", link);
	assert_int_equal(try_new(spec, 0, (gid_t)-1, err, sizeof(err), &s), -EEXIST);
	assert_null(s);
	assert_non_null(strstr(err, "symbolic link"));
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 4);
	/* A regular file is refused too, and kept. */
	snprintf(spec, sizeof(spec), "unix:%s", target);
	assert_int_equal(try_new(spec, 0, (gid_t)-1, err, sizeof(err), &s), -EEXIST);
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(stat(target, &st), 0);
	assert_true(S_ISREG(st.st_mode));
}

/* ---------------------------------------------------------------- the connection policy */

/* One turn of a loop on the server's own clock: poll without waiting
 * (a local peer's bytes are there once its send() returned), dispatch. */
static int64_t turn(struct egd_server *s, uint64_t now)
{
	struct pollfd fds[8];
	int64_t to = -1;
	size_t n = egd_pollfds(s, fds, 8, &to, now);

	assert_true(poll(fds, n, 0) >= 0);
	egd_dispatch(s, fds, n, now);
	return to;
}

static bool still_open(int fd)
{
	uint8_t b;

	return recv(fd, &b, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

/* A request left half sent is closed after EGD_STALL_S seconds (a protocol
 * error); a connection that has sent nothing is kept, for an hour and
 * more, and served when it asks, as QEMU's is. */
static void test_stall_and_idle(void **state)
{
	struct egd_server *s;
	struct egd_listener_stats st;
	char spec[140], err[256];
	struct egd_listener_cfg l = { .spec = spec };
	struct egd_config cfg = { .listeners = &l, .nlisteners = 1, .unix_mode = 0600,
				  .unix_gid = (gid_t)-1 };
	struct source src = { .log = calloc(1, LOG_CAP) };
	uint8_t rep[8];
	const uint64_t t0 = NS_PER_SEC, stall = (uint64_t)EGD_STALL_S * NS_PER_SEC;
	int idle, half;
	int64_t to;

	(void)state;
	snprintf(spec, sizeof(spec), "unix:%s/stall", test_dir);
	assert_int_equal(egd_server_new(&s, &cfg, &(struct byte_source){ .read = source_read, .ctx = &src },
					err, sizeof(err)), 0);
	idle = egd_client_unix(spec);
	half = egd_client_unix(spec);
	egd_send_all(half, "\x02", 1);
	turn(s, t0);                            /* accepts both */
	turn(s, t0 + 1);                        /* reads the half request */
	to = turn(s, t0 + 2);
	assert_true(to > 0 && (uint64_t)to <= stall);   /* wakes to close it */
	turn(s, t0 + stall);                    /* 1 ns short */
	assert_true(still_open(half));
	turn(s, t0 + 1 + stall);
	assert_true(egd_closed_by_server(half));
	close(half);
	turn(s, t0 + 3600ull * NS_PER_SEC);     /* an hour idle */
	assert_true(still_open(idle));
	egd_send_all(idle, "\x02\x08", 2);
	turn(s, t0 + 3601ull * NS_PER_SEC);
	egd_recv_all(idle, rep, 8, 8);
	expect_stream(rep, 0, 8);
	close(idle);
	assert_int_equal(egd_get_stats(s, 0, &st, NULL), 0);
	assert_int_equal(st.protocol_errors, 1);
	egd_server_free(s);
	free(src.log);
}

/* Connect to spec as uid: only the calling thread's effective uid is
 * changed (the raw system call, not glibc's process-wide one), and back. */
static int connect_as(const char *spec, uid_t uid)
{
	int fd;

	if (getuid() != 0)
		return egd_client_unix(spec);
	assert_int_equal(syscall(SYS_setresuid, -1, uid, -1), 0);
	fd = egd_client_unix(spec);
	assert_int_equal(syscall(SYS_setresuid, -1, 0, -1), 0);
	return fd;
}

/* A UNIX peer's uid may hold --egd-per-uid connections, no more (the next
 * is closed at once and counted); root is not limited.  Not root: the
 * test's own uid is the one limited. */
static void test_per_uid(void **state)
{
	enum { PER_UID = 3 };
	struct srv *v = calloc(1, sizeof(*v));
	struct egd_listener_cfg l = { .spec = v->path };
	struct egd_config cfg = { .listeners = &l, .nlisteners = 1, .unix_mode = 0666,
				  .unix_gid = (gid_t)-1, .max_clients = 8,
				  .max_per_uid = PER_UID };
	struct egd_listener_stats st;
	uid_t uid = getuid() == 0 ? 65534 : getuid();
	uint8_t rep[4];
	int fds[PER_UID + 1], root[3] = { -1, -1, -1 }, i;

	(void)state;
	assert_int_equal(chmod(test_dir, 0711), 0);
	snprintf(v->path, sizeof(v->path), "unix:%s/peruid", test_dir);
	assert_int_equal(srv_open(v, &cfg), 0);
	for (i = 0; i < PER_UID; i++) {
		fds[i] = connect_as(v->path, uid);
		egd_send_all(fds[i], "\x02\x04", 2);
		egd_recv_all(fds[i], rep, 4, 4);
	}
	fds[PER_UID] = connect_as(v->path, uid);
	send(fds[PER_UID], "\x02\x04", 2, MSG_NOSIGNAL);
	assert_true(egd_closed_by_server(fds[PER_UID]));
	close(fds[PER_UID]);
	for (i = 0; getuid() == 0 && i < 3; i++) {      /* root: not limited */
		root[i] = egd_client_unix(v->path);
		egd_send_all(root[i], "\x02\x04", 2);
		egd_recv_all(root[i], rep, 4, 4);
	}
	for (i = 0; i < PER_UID; i++)
		close(fds[i]);
	for (i = 0; i < 3; i++)
		if (root[i] >= 0)
			close(root[i]);
	srv_stop(v, &st);
	assert_int_equal(st.refused_per_uid, 1);
	assert_int_equal(st.clients_refused, 1);
	assert_int_equal(st.clients_accepted, PER_UID + (getuid() == 0 ? 3 : 0));
	srv_free(v);
}

/* ---------------------------------------------------------------- specs and TCP */

static void test_bad_specs(void **state)
{
	static const char *bad[] = { "udp:1", "unix:", "tcp:", "tcp:host:", "tcp:99999",
				     "tcp:[::1]", "tcp:1x", "tcp:256.1.1.1:0", NULL };
	struct egd_server *s;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(try_new(bad[i], 0, (gid_t)-1, err, sizeof(err), &s), -EINVAL);
		assert_null(s);
		assert_true(strlen(err) > 0);
	}
}

static void test_tcp(void **state)
{
	struct srv *v = calloc(1, sizeof(*v));
	struct egd_listener_cfg l[2] = { { .spec = "tcp:127.0.0.1:0" }, { .spec = "tcp:0" } };
	struct egd_config cfg = { .listeners = l, .nlisteners = 2, .unix_gid = (gid_t)-1 };
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct egd_listener_stats st;
	uint8_t rep[16];
	unsigned port, k;
	int fd;

	(void)state;
	assert_int_equal(srv_open(v, &cfg), 0);
	for (k = 0; k < 2; k++) {
		assert_int_equal(egd_get_stats(v->s, k, NULL, &port), 0);
		assert_true(port > 0);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		egd_set_timeout(fd, 3000);
		sa.sin_port = htons((uint16_t)port);
		assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		egd_send_all(fd, "\x02\x10", 2);
		egd_recv_all(fd, rep, 16, 5);
		expect_stream(rep, 16 * k, 16);
		close(fd);
	}
	srv_stop(v, NULL);
	assert_int_equal(egd_get_stats(v->s, 1, &st, NULL), 0);
	assert_int_equal(st.bytes_served, 16);
	assert_int_equal(egd_get_stats(v->s, 2, &st, NULL), -ENOENT);
	srv_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_level),
		cmocka_unit_test(test_read_nonblocking),
		cmocka_unit_test(test_read_blocking_fifo),
		cmocka_unit_test(test_write_discarded),
		cmocka_unit_test(test_pid),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_many_clients),
		cmocka_unit_test(test_queue_wiped),
		cmocka_unit_test(test_never_reads),
		cmocka_unit_test(test_slow_readers),
		cmocka_unit_test(test_slow_readers_hold_slots),
		cmocka_unit_test(test_garbage_and_truncated),
		cmocka_unit_test(test_half_close),
		cmocka_unit_test(test_hangup_while_owed),
		cmocka_unit_test(test_source_failure),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_max_clients),
		cmocka_unit_test(test_fd_limit),
		cmocka_unit_test(test_stall_and_idle),
		cmocka_unit_test(test_per_uid),
		cmocka_unit_test(test_socket_file),
		cmocka_unit_test(test_symlink_refused),
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_tcp),
	};

	signal(SIGPIPE, SIG_IGN);
	log_init("test_egd", LOG_DEST_STDERR, 0);
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
