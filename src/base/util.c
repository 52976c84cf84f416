/* util.c - small helpers shared by several modules. */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

void wipe(void *p, size_t n)
{
	/* explicit_bzero is not elided by the optimiser (glibc 2.25+). */
	explicit_bzero(p, n);
}

int write_all(int fd, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ secrets */

/* Output buffers get pages of their own: mlock() and munlock() work on
 * whole pages, so a buffer that shared a page with another could be
 * unlocked by the other's release; and unmapping returns them at once. */
void *secret_alloc(size_t n)
{
	/* In a test-seam build this mmap() may be made to fail (seams.h). */
	void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Output has no place in a core dump (Linux 3.4+; best effort). */
	madvise(p, n ? n : 1, MADV_DONTDUMP);
	return p;
}

void secret_lock(void *p, size_t n)
{
	static atomic_flag warned = ATOMIC_FLAG_INIT;

	if (!p || n == 0 || mlock(p, n) == 0)
		return;
	if (!atomic_flag_test_and_set(&warned))
		log_warnx("cannot lock output buffers in memory (%s): they may be "
			  "written to swap; raise RLIMIT_MEMLOCK (LimitMEMLOCK= in a unit)",
			  strerror(errno));
}

void secret_free(void *p, size_t n)
{
	if (p)
		munmap(p, n ? n : 1);
}
