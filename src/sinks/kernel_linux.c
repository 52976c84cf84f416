/* kernel_linux.c - the real kernel: /dev/random, its ioctls, /proc.
 *
 * Functions offered:
 *   kernel_linux_open()        open and check /dev/random, fill a struct kernel
 *   kernel_linux_set_waitmask() the signal mask ppoll() sleeps with
 *
 * The daemon blocks its stop signals and sleeps in ppoll() with them
 * unblocked, so a signal that arrives between a check of the stop flag and
 * the sleep still ends the sleep (no lost wake-up); and every turn that
 * ppoll() found work lets pending signals in too (deliver_pending()), so a
 * busy loop still acts on a signal within one turn.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <linux/random.h>

#include "kernel.h"
#include "log.h"
#include "util.h"

enum {
	RANDOM_MAJOR = 1,       /* drivers/char/mem.c: /dev/random is 1:8 */
	RANDOM_MINOR = 8,
};

struct linux_ctx {
	int fd;                 /* /dev/random */
	struct pollfd *fds;     /* ours first, then the caller's extra ones */
	size_t nfds;            /* room in fds */
	char proc[PATH_MAX];    /* /proc/sys/kernel/random */
	sigset_t waitmask;      /* mask while sleeping in ppoll() */
	bool have_waitmask;
};

static struct linux_ctx *ctx_of(struct kernel *k)
{
	return k->ctx;
}

/* Read one integer from proc/NAME; -errno on failure. */
static int read_proc_int(struct kernel *k, const char *name)
{
	char path[PATH_MAX + 64], buf[32];
	long v;
	char *end;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", ctx_of(k)->proc, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EINVAL;
	buf[n] = '\0';
	v = strtol(buf, &end, 10);
	if (end == buf || v < 0 || v > INT_MAX)
		return -EINVAL;
	return (int)v;
}

static int linux_entropy_avail(struct kernel *k)
{
	int bits;

	if (ioctl(ctx_of(k)->fd, RNDGETENTCNT, &bits) < 0)
		return -errno;
	return bits;
}

static int linux_poolsize(struct kernel *k)
{
	return read_proc_int(k, "poolsize");
}

static bool linux_has_read_threshold(struct kernel *k)
{
	return read_proc_int(k, "read_wakeup_threshold") >= 0;
}

static int linux_write_threshold(struct kernel *k)
{
	return read_proc_int(k, "write_wakeup_threshold");
}

static int linux_set_write_threshold(struct kernel *k, int bits)
{
	char path[PATH_MAX + 64], buf[16];
	int fd, len, ret = 0;

	snprintf(path, sizeof(path), "%s/write_wakeup_threshold", ctx_of(k)->proc);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%d\n", bits);
	if (write(fd, buf, (size_t)len) != len)
		ret = -errno;
	close(fd);
	return ret;
}

static int linux_add_entropy(struct kernel *k, const void *data, size_t n, int credit)
{
	/* rand_pool_info ends in a flexible array: room for it and the data,
	 * aligned as its int fields need. */
	uint32_t req[(sizeof(struct rand_pool_info) + KERNEL_ADD_MAX + 3) / 4];
	struct rand_pool_info *info = (struct rand_pool_info *)req;
	int ret = 0;

	if (n > KERNEL_ADD_MAX || credit < 0)
		return -EINVAL;
	info->entropy_count = credit;
	info->buf_size = (int)n;
	memcpy(info->buf, data, n);
	if (ioctl(ctx_of(k)->fd, RNDADDENTROPY, info) < 0)
		ret = -errno;
	wipe(req, sizeof(req));
	return ret;
}

/* A zero-length getrandom() that would block fails with EAGAIN until the
 * CRNG is initialised (5.6+); older kernels behave the same way for the
 * urandom pool's initialisation. */
static int linux_crng_ready(struct kernel *k)
{
	char c;

	(void)k;
	if (getrandom(&c, 0, GRND_NONBLOCK) == 0)
		return 1;
	return errno == EAGAIN ? 0 : -errno;
}

/* ppoll() that finds a descriptor ready returns at once, and the signals
 * its mask would have let in stay pending, blocked again: under a steady
 * load it never sleeps, so a stop would wait for the load to end.  A
 * zero-timeout ppoll() with the wait mask and no descriptors lets in what
 * is pending (true: a handler ran) or returns 0 at once. */
static bool deliver_pending(const struct linux_ctx *c)
{
	static const struct timespec zero = { 0, 0 };

	return ppoll(NULL, 0, &zero, &c->waitmask) < 0 && errno == EINTR;
}

static int linux_wait(struct kernel *k, bool want_writable, struct pollfd *extra,
		      size_t nextra, int64_t timeout_ns)
{
	struct linux_ctx *c = ctx_of(k);
	struct pollfd *fds;
	struct timespec ts, *tsp = NULL;
	size_t i, n = 0;
	int r;

	if (1 + nextra > c->nfds) {
		fds = realloc(c->fds, (1 + nextra) * sizeof(*fds));
		if (!fds)
			return -ENOMEM;
		c->fds = fds;
		c->nfds = 1 + nextra;
	}
	fds = c->fds;
	if (want_writable)
		fds[n++] = (struct pollfd){ .fd = c->fd, .events = POLLOUT };
	for (i = 0; i < nextra; i++)
		fds[n++] = extra[i];
	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / NS_PER_SEC;
		ts.tv_nsec = timeout_ns % NS_PER_SEC;
		tsp = &ts;
	}
	r = ppoll(fds, n, tsp, c->have_waitmask ? &c->waitmask : NULL);
	if (r < 0)
		return -errno;
	if (r > 0 && c->have_waitmask && deliver_pending(c))
		return -EINTR;
	for (i = 0; i < nextra; i++)
		extra[i].revents = fds[i + (want_writable ? 1 : 0)].revents;
	if (r == 0)
		return WAIT_TIMEOUT;
	if (want_writable && (fds[0].revents & POLLOUT))
		return WAIT_WRITABLE;
	return WAIT_EVENT;
}

static uint64_t linux_now_ns(struct kernel *k)
{
	(void)k;
	return monotonic_ns();
}

static void linux_close(struct kernel *k)
{
	struct linux_ctx *c = ctx_of(k);

	if (c) {
		if (c->fd >= 0)
			close(c->fd);
		free(c->fds);
		free(c);
	}
	k->ctx = NULL;
}

/* Refuse anything but the kernel's own random device: a symlink (a link to
 * urandom once made haveged spin) or any other file.  A refusal is logged
 * here: it quotes nothing the user gave. */
static int open_random(const char *path)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0) {
		int e = errno;

		log_errx("%s: %s", path, strerror(e));
		return -e;
	}
	if (S_ISLNK(st.st_mode)) {
		log_errx("%s is a symbolic link; refusing it", path);
		return -ELOOP;
	}
	fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int e = errno;

		log_errx("cannot open %s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) ||
	    major(st.st_rdev) != RANDOM_MAJOR || minor(st.st_rdev) != RANDOM_MINOR) {
		log_errx("%s is not the kernel's random device (1:8)", path);
		close(fd);
		return -ENODEV;
	}
	return fd;
}

int kernel_linux_open(struct kernel *k, const char *random_path, const char *proc_dir)
{
	struct linux_ctx *c = calloc(1, sizeof(*c));
	int fd;

	if (!c) {
		log_errx("out of memory");
		return -ENOMEM;
	}
	fd = open_random(random_path ? random_path : "/dev/random");
	if (fd < 0) {
		free(c);
		return fd;
	}
	c->fd = fd;
	snprintf(c->proc, sizeof(c->proc), "%s", proc_dir ? proc_dir : "/proc/sys/kernel/random");
	*k = (struct kernel){ .name = "linux", .ctx = c, KERNEL_OPS(linux) };
	return 0;
}

void kernel_linux_set_waitmask(struct kernel *k, const sigset_t *mask)
{
	ctx_of(k)->waitmask = *mask;
	ctx_of(k)->have_waitmask = true;
}
