/* oldpool-reader.c - the /dev/random readers of tests/e2e-oldpool.sh,
 * run inside the old-pool (Linux 5.4) guest.  Times are on
 * CLOCK_MONOTONIC, printed in milliseconds; every line starts "GUEST: ".
 *
 *   oldpool-reader drain W ROUNDS LIMIT_MS
 *       ROUNDS times: drain /dev/random (O_NONBLOCK reads until EAGAIN, at
 *       most 64 KiB), then time how long entropy_avail takes to climb back
 *       above W (looked at every 2 ms, given up after LIMIT_MS).  Prints
 *       one line per round and "drain max_ms=M missed=K".
 *   oldpool-reader paced SECONDS
 *       Every 10 ms, read 64 bytes from /dev/random (waiting in poll() as
 *       a blocking read would; short reads are continued until 64 bytes
 *       came) and time the wait.  A wait still going at the end counts
 *       with its length so far (unfinished=1).  Prints "paced reads=N
 *       bytes=B max_wait_ms=M over100=K unfinished=U".
 *   oldpool-reader bulk SECONDS
 *       For SECONDS, read /dev/random as fast as it gives (poll(), then
 *       non-blocking reads of 512 bytes): what a bulk reader gets.  Prints
 *       "bulk seconds=S bytes=B reads=N first_ms=F", F the time to the
 *       first byte (-1 if none came).
 *   oldpool-reader empty
 *       Drains /dev/random as above, once, and prints
 *       "empty avail A -> B after N bytes".
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int avail(int fd)
{
	int n = -1;

	if (ioctl(fd, RNDGETENTCNT, &n) != 0)
		return -1;
	return n;
}

static int drain(int rounds, int w, long limit)
{
	int fd = open("/dev/random", O_RDONLY | O_NONBLOCK);
	double worst = 0;
	int missed = 0;
	unsigned char buf[512];

	if (fd < 0) {
		perror("GUEST: open /dev/random");
		return 1;
	}
	for (int r = 0; r < rounds; r++) {
		int before = avail(fd);
		size_t got = 0;
		ssize_t n;

		while (got < 65536 && (n = read(fd, buf, sizeof buf)) > 0)
			got += (size_t)n;
		int low = avail(fd);
		double t0 = now_ms(), t;
		int a;

		while ((a = avail(fd)) <= w && (t = now_ms()) - t0 < limit)
			nap_ms(2);
		t = now_ms() - t0;
		if (a <= w)
			missed++;
		else if (t > worst)
			worst = t;
		printf("GUEST: drain round=%d avail %d -> %d after %zu bytes; back to %d in %.0f ms%s\n",
		       r, before, low, got, a, t, a <= w ? " (NOT above -w)" : "");
		fflush(stdout);
		nap_ms(200);
	}
	printf("GUEST: drain max_ms=%.0f missed=%d\n", worst, missed);
	close(fd);
	return 0;
}

static int empty(void)
{
	int fd = open("/dev/random", O_RDONLY | O_NONBLOCK);
	unsigned char buf[512];
	size_t got = 0;
	ssize_t n;

	if (fd < 0) {
		perror("GUEST: open /dev/random");
		return 1;
	}
	int before = avail(fd);

	while (got < 65536 && (n = read(fd, buf, sizeof buf)) > 0)
		got += (size_t)n;
	printf("GUEST: empty avail %d -> %d after %zu bytes\n", before, avail(fd), got);
	close(fd);
	return 0;
}

static int paced(int seconds)
{
	int fd = open("/dev/random", O_RDONLY | O_NONBLOCK);
	unsigned char buf[64];
	double end = now_ms() + seconds * 1e3, worst = 0;
	unsigned long reads = 0, bytes = 0, over = 0;
	int unfinished = 0;

	if (fd < 0) {
		perror("GUEST: open /dev/random");
		return 1;
	}
	while (now_ms() < end && !unfinished) {
		double t0 = now_ms();
		size_t got = 0;

		/* A blocking read, but one that gives up at the end: poll()
		 * waits as read() would (for read_wakeup_threshold bits). */
		while (got < sizeof buf) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			double t = now_ms();

			if (t >= end) {
				unfinished = 1;
				break;
			}
			if (poll(&p, 1, (int)(end - t) + 1) < 0 && errno != EINTR) {
				perror("GUEST: poll /dev/random");
				return 1;
			}
			ssize_t n = read(fd, buf + got, sizeof buf - got);

			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				perror("GUEST: read /dev/random");
				return 1;
			}
			if (n > 0)
				got += (size_t)n;
		}
		double t = now_ms() - t0;

		if (t > worst)
			worst = t;
		if (t > 100)
			over++;
		if (unfinished)
			break;
		reads++;
		bytes += got;
		nap_ms(10);
	}
	printf("GUEST: paced reads=%lu bytes=%lu max_wait_ms=%.0f over100=%lu unfinished=%d\n",
	       reads, bytes, worst, over, unfinished);
	close(fd);
	return 0;
}

static int bulk(int seconds)
{
	int fd = open("/dev/random", O_RDONLY | O_NONBLOCK);
	unsigned char buf[512];
	double t0 = now_ms(), end = t0 + seconds * 1e3, first = -1;
	unsigned long long bytes = 0, reads = 0;

	if (fd < 0) {
		perror("GUEST: open /dev/random");
		return 1;
	}
	for (double t; (t = now_ms()) < end;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)(end - t) + 1;

		if (poll(&p, 1, left) < 0 && errno != EINTR) {
			perror("GUEST: poll /dev/random");
			return 1;
		}
		ssize_t n = read(fd, buf, sizeof buf);

		if (n > 0) {
			if (bytes == 0)
				first = now_ms() - t0;
			bytes += (unsigned long long)n;
			reads++;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			perror("GUEST: read /dev/random");
			return 1;
		}
	}
	printf("GUEST: bulk seconds=%d bytes=%llu reads=%llu first_ms=%.0f\n",
	       seconds, bytes, reads, first);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && strcmp(argv[1], "drain") == 0)
		return drain(atoi(argv[3]), atoi(argv[2]), atol(argv[4]));
	if (argc == 3 && strcmp(argv[1], "paced") == 0)
		return paced(atoi(argv[2]));
	if (argc == 3 && strcmp(argv[1], "bulk") == 0)
		return bulk(atoi(argv[2]));
	if (argc == 2 && strcmp(argv[1], "empty") == 0)
		return empty();
	fprintf(stderr, "usage: oldpool-reader drain W ROUNDS LIMIT_MS | paced SECONDS | bulk SECONDS | empty\n");
	return 2;
}
