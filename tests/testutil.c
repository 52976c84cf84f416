/* testutil.c - helpers shared by the cmocka test programs (testutil.h). */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

/* ---------------------------------------------------------------- tmpdir */

char test_dir[64];

int tmpdir_setup(void **state)
{
	(void)state;
	strcpy(test_dir, "/tmp/hrng-test.XXXXXX");
	return mkdtemp(test_dir) ? 0 : -1;
}

static int remove_one(const char *path, const struct stat *st, int type,
		      struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* Depth first, links removed and never followed (as rm -rf does). */
int test_remove_tree(const char *root)
{
	return nftw(root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A test_dir already gone is fine, as it is to rm -rf. */
int tmpdir_teardown(void **state)
{
	(void)state;
	if (test_remove_tree(test_dir) == 0 || errno == ENOENT)
		return 0;
	return -1;
}

/* ---------------------------------------------------------------- mlock */

long locked_kib(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "VmLck: %ld kB", &kib) == 1)
			break;
	fclose(fp);
	return kib;
}

bool mlock_works(void)
{
	size_t n = 64 << 10;
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long before = locked_kib();
	bool ok;

	if (p == MAP_FAILED || before < 0)
		return false;
	ok = mlock(p, n) == 0 && locked_kib() >= before + 64;
	munmap(p, n);
	if (!ok)
		printf("# mlock() locks nothing here (a sanitizer build?)\n");
	return ok;
}

/* ---------------------------------------------------------------- generator */

struct gen_config test_gen_config(unsigned threads, size_t buffer_words)
{
	struct gen_config gc = { .data_kb = 32, .inst_kb = 32, .buffer_words = buffer_words,
				 .threads = threads, .spec = NULL };
	return gc;
}

struct testspec test_spec(const char *text)
{
	struct testspec spec;
	char err[128];

	assert_int_equal(testspec_parse(text, &spec, err, sizeof(err)), 0);
	return spec;
}

/* ---------------------------------------------------------------- EGD client */

void egd_set_timeout(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int egd_client_unix(const char *spec)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", spec + 5);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	egd_set_timeout(fd, 3000);
	return fd;
}

void egd_send_all(int fd, const void *p, size_t n)
{
	assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

void egd_recv_all(int fd, void *buf, size_t n, size_t piece)
{
	uint8_t *p = buf;

	while (n > 0) {
		ssize_t r = recv(fd, p, n < piece ? n : piece, 0);

		if (r <= 0)
			fail_msg("recv: %s with %zu bytes to go", r ? strerror(errno) : "EOF", n);
		p += r;
		n -= (size_t)r;
	}
}

bool egd_closed_by_server(int fd)
{
	uint8_t b;
	ssize_t r = recv(fd, &b, 1, 0);

	return r == 0 || (r < 0 && errno == ECONNRESET);
}
