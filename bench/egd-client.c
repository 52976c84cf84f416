/* egd-client.c - load client for bench/egd.sh: CLIENTS connections to an
 * EGD server's UNIX socket, each asking "0x02 LEN" (a blocking read, as
 * QEMU does) and waiting for the LEN bytes, again and again for SECONDS.
 *
 *   egd-client SOCKET CLIENTS SECONDS [LEN]
 *
 * One thread per connection, so a request is outstanding on every
 * connection at once.  Prints one line of key=value figures: requests,
 * aggregate and per-client throughput (min, median, max over clients),
 * request latency (median, p99, max, in microseconds, over every request)
 * and how many clients were starved (fewer than a quarter of the median
 * client's requests).  Exit 1 on a connection or protocol failure.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

enum {
	HIST_US = 20000,                /* 1 us buckets up to 20 ms */
	CONNECT_TRIES = 200,
};

struct worker {
	pthread_t th;
	int fd;
	uint64_t requests;
	uint64_t over;                  /* latencies >= HIST_US */
	uint64_t max_us;
	uint32_t *hist;
	int failed;
};

static const char *sock_path;
static unsigned req_len = 64;
static uint64_t end_ns;
static pthread_barrier_t start;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static int connect_unix(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, i;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	for (i = 0; i < CONNECT_TRIES; i++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		usleep(10000);          /* the backlog was full: retry */
	}
	return -1;
}

static void record(struct worker *w, uint64_t ns)
{
	uint64_t us = ns / 1000;

	if (us < HIST_US)
		w->hist[us]++;
	else
		w->over++;
	if (us > w->max_us)
		w->max_us = us;
	w->requests++;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	uint8_t req[2] = { 2, (uint8_t)req_len }, buf[256];
	uint64_t t0, t1;

	pthread_barrier_wait(&start);
	while (!w->failed && (t0 = now_ns()) < end_ns) {
		if (send(w->fd, req, 2, MSG_NOSIGNAL) != 2 ||
		    recv(w->fd, buf, req_len, MSG_WAITALL) != (ssize_t)req_len) {
			w->failed = 1;
			break;
		}
		t1 = now_ns();
		record(w, t1 - t0);
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* The latency at quantile q over every worker's histogram, in us. */
static uint64_t quantile(struct worker *ws, unsigned n, uint64_t total, double q)
{
	uint64_t want = (uint64_t)(q * (double)(total - 1)) + 1, seen = 0;
	unsigned b, i;

	for (b = 0; b < HIST_US; b++) {
		for (i = 0; i < n; i++)
			seen += ws[i].hist[b];
		if (seen >= want)
			return b;
	}
	return HIST_US;                 /* ">= 20 ms" */
}

static void report(struct worker *ws, unsigned n, double secs)
{
	uint64_t *per = calloc(n, sizeof(*per)), total = 0, max_us = 0;
	unsigned i, starved = 0;

	for (i = 0; i < n; i++) {
		per[i] = ws[i].requests;
		total += per[i];
		if (ws[i].max_us > max_us)
			max_us = ws[i].max_us;
	}
	qsort(per, n, sizeof(*per), cmp_u64);
	for (i = 0; i < n; i++)
		if (per[i] * 4 < per[n / 2])
			starved++;
	printf("clients=%u requests=%llu aggregate_kBps=%.0f req_per_s=%.0f "
	       "client_kBps_min=%.1f client_kBps_median=%.1f client_kBps_max=%.1f "
	       "lat_median_us=%llu lat_p99_us=%llu lat_max_us=%llu starved=%u\n",
	       n, (unsigned long long)total, (double)total * req_len / secs / 1000,
	       (double)total / secs, (double)per[0] * req_len / secs / 1000,
	       (double)per[n / 2] * req_len / secs / 1000,
	       (double)per[n - 1] * req_len / secs / 1000,
	       (unsigned long long)quantile(ws, n, total, 0.5),
	       (unsigned long long)quantile(ws, n, total, 0.99),
	       (unsigned long long)max_us, starved);
	free(per);
}

int main(int argc, char **argv)
{
	struct worker *ws;
	unsigned n, i, failed = 0;
	double secs;
	uint64_t t0;

	if (argc < 4 || argc > 5 || (n = (unsigned)atoi(argv[2])) == 0 ||
	    (secs = atof(argv[3])) <= 0) {
		fprintf(stderr, "usage: egd-client SOCKET CLIENTS SECONDS [LEN]\n");
		return 2;
	}
	sock_path = argv[1];
	if (argc == 5)
		req_len = (unsigned)atoi(argv[4]);
	if (req_len < 1 || req_len > 255) {
		fprintf(stderr, "egd-client: LEN must be 1..255\n");
		return 2;
	}
	ws = calloc(n, sizeof(*ws));
	pthread_barrier_init(&start, NULL, n + 1);
	for (i = 0; i < n; i++) {
		ws[i].hist = calloc(HIST_US, sizeof(*ws[i].hist));
		ws[i].fd = connect_unix();
		if (ws[i].fd < 0 || !ws[i].hist) {
			fprintf(stderr, "egd-client: cannot connect to %s: %s\n",
				sock_path, strerror(errno));
			return 1;
		}
		pthread_create(&ws[i].th, NULL, run, &ws[i]);
	}
	t0 = now_ns();
	end_ns = t0 + (uint64_t)(secs * 1e9);
	pthread_barrier_wait(&start);
	for (i = 0; i < n; i++) {
		pthread_join(ws[i].th, NULL);
		failed += (unsigned)ws[i].failed;
		close(ws[i].fd);
	}
	report(ws, n, (double)(now_ns() - t0) / 1e9);
	if (failed)
		fprintf(stderr, "egd-client: %u connections failed\n", failed);
	return failed ? 1 : 0;
}
