/* kernel.h - the kernel's random interface, as a small driver.
 *
 * The feeder talks to the kernel only through struct kernel, so the same
 * control loop runs against the real Linux interface (kernel_linux.c) and
 * against a simulated kernel with a virtual clock (kernel_sim.c).
 *
 * kernel_detect() reads the pool's kind from the driver: the size of the
 * input pool is the tell (4096 bits: the old pool with writer wake-ups;
 * 256 bits: the 5.18+ BLAKE2s pool, also in the 2022 stable backports),
 * never the version string.
 *
 * Every operation returns 0 (or a non-negative value) or -errno.
 */
#ifndef HRNG_KERNEL_H
#define HRNG_KERNEL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kernel_pool {
	POOL_OLD,       /* 4096-bit input pool, POLLOUT below write_wakeup_threshold */
	POOL_NEW,       /* 256-bit pool: POLLOUT and credit only before CRNG ready */
};

enum {
	KERNEL_OLD_POOLSIZE = 4096,
	KERNEL_NEW_POOLSIZE = 256,
	/* -w is capped at poolsize - 32, as haveged does: a threshold at the
	 * very top would wake writers for every bit read. */
	KERNEL_THRESHOLD_MARGIN = 32,
	/* The most a byte can carry, so the most RNDADDENTROPY may credit for
	 * it: the cap of --credit and the feeder's default. */
	KERNEL_CREDIT_MAX = 8,
	/* The largest RNDADDENTROPY we send, bytes (kernel_linux.c keeps a
	 * request this big on its stack; the feeder never asks for more). */
	KERNEL_ADD_MAX = 4096,
};

/* Results of kernel->wait(). */
enum kernel_wait {
	WAIT_TIMEOUT = 0,       /* the timeout passed */
	WAIT_WRITABLE = 1,      /* the kernel wakes writers (POLLOUT) */
	WAIT_EVENT = 2,         /* one of the extra fds is ready */
};

struct kernel {
	const char *name;       /* "linux", "simulated" */
	void *ctx;
	/* entropy_avail, in bits (RNDGETENTCNT). */
	int (*entropy_avail)(struct kernel *k);
	/* poolsize, in bits. */
	int (*poolsize)(struct kernel *k);
	/* whether read_wakeup_threshold exists (gone since 5.6). */
	bool (*has_read_threshold)(struct kernel *k);
	int (*write_threshold)(struct kernel *k);
	int (*set_write_threshold)(struct kernel *k, int bits);
	/* RNDADDENTROPY: mix n bytes, crediting credit bits. */
	int (*add_entropy)(struct kernel *k, const void *buf, size_t n, int credit);
	/* 1 once the CRNG is initialised, else 0. */
	int (*crng_ready)(struct kernel *k);
	/* Sleep until POLLOUT on /dev/random (if want_writable), one of the
	 * extra fds is ready, a signal (-EINTR), or timeout_ns passes
	 * (negative: none).  Returns enum kernel_wait. */
	int (*wait)(struct kernel *k, bool want_writable, struct pollfd *extra,
		    size_t nextra, int64_t timeout_ns);
	/* The monotonic clock, ns. */
	uint64_t (*now_ns)(struct kernel *k);
	void (*close)(struct kernel *k);
};

/* The operations of a driver whose functions are named prefix_<operation>
 * (linux_wait, sim_wait): every driver offers all of them. */
#define KERNEL_OPS(prefix)						\
	.entropy_avail = prefix##_entropy_avail,			\
	.poolsize = prefix##_poolsize,					\
	.has_read_threshold = prefix##_has_read_threshold,		\
	.write_threshold = prefix##_write_threshold,			\
	.set_write_threshold = prefix##_set_write_threshold,		\
	.add_entropy = prefix##_add_entropy,				\
	.crng_ready = prefix##_crng_ready,				\
	.wait = prefix##_wait,						\
	.now_ns = prefix##_now_ns,					\
	.close = prefix##_close

struct kernel_info {
	enum kernel_pool pool;
	int poolsize;
	bool read_threshold;    /* read_wakeup_threshold exists (pre-5.6) */
	int write_threshold;    /* write_wakeup_threshold, -1 if unreadable */
};

int kernel_detect(struct kernel *k, struct kernel_info *info);
const char *kernel_pool_name(enum kernel_pool pool);

/* The real kernel: opens /dev/random (refusing a symlink or anything but
 * the kernel's character device 1:8).  random_path and proc_dir are
 * parameters so tests can point them elsewhere; NULL = the real ones.
 * Returns 0, or -errno after logging the one-line reason. */
int kernel_linux_open(struct kernel *k, const char *random_path, const char *proc_dir);
#include <signal.h>
void kernel_linux_set_waitmask(struct kernel *k, const sigset_t *mask);

#endif
