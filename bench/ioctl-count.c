/* ioctl-count.c - an LD_PRELOAD shim for bench/oldpool.sh: counts the
 * bits a daemon credits with RNDADDENTROPY, for a daemon that does not
 * count them itself (haveged).  After every such call it prints
 * "credit CALLS BYTES BITS" (running totals) on file descriptor 2, which
 * the benchmark's guest sends to a log.  Everything else is passed on.
 * Built by bench/oldpool.sh with: cc -shared -fPIC -o ioctl-count.so
 * ioctl-count.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <linux/random.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>

static unsigned long long calls, bytes, bits;

int ioctl(int fd, unsigned long req, ...)
{
	static int (*real)(int, unsigned long, void *);
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		real = (int (*)(int, unsigned long, void *))dlsym(RTLD_NEXT, "ioctl");
	int rc = real(fd, req, arg);

	if (req == RNDADDENTROPY && rc == 0) {
		const struct rand_pool_info *p = arg;

		calls++;
		bytes += (unsigned long long)p->buf_size;
		bits += (unsigned long long)(p->entropy_count > 0 ? p->entropy_count : 0);
		dprintf(2, "credit %llu %llu %llu\n", calls, bytes, bits);
	}
	return rc;
}
