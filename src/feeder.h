/* feeder.h - keep the kernel's pool served: the daemon's control loop.
 *
 * feeder_run() detects the pool's kind and then, until a stop signal:
 *  - old pool: sleeps in poll() until the kernel wakes writers (entropy_avail
 *    below write_wakeup_threshold) and refills the pool to 7/8 full (see
 *    refill_target() for why not to the brim), usually in one RNDADDENTROPY
 *    sized for the kernel's asymptotic crediting.  No timer: an idle host
 *    costs no wake-ups.
 *  - new pool: until the CRNG is ready, feeds and credits as fast as useful;
 *    then injects fresh seeds once per interval (-T) on the monotonic clock
 *    and otherwise sleeps.
 * Everything given to the kernel is GEN_SEEDS output: 32-byte seeds each
 * backed by 256 + 64 bits of raw noise that passed the health and online
 * tests; credit is credit_per_byte bits per byte (at most 8).  When the
 * generator fails, nothing more is credited: feeder_run() returns 1.
 *
 * The feeder blocks only in kernel->wait(), which also waits for io's fds
 * (the EGD server); signals arrive there as -EINTR.
 */
#ifndef HRNG_FEEDER_H
#define HRNG_FEEDER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "generator.h"
#include "kernel.h"

enum {
	FEEDER_CREDIT_MAX = KERNEL_CREDIT_MAX,  /* bits per byte (kernel.h) */
	FEEDER_INJECT_BYTES = 64,       /* new pool: two seeds per interval */
	FEEDER_CALL_MAX = KERNEL_ADD_MAX,       /* bytes per RNDADDENTROPY (kernel.h) */
};

struct feeder_config {
	bool feed;                      /* false (--no-kernel): serve io only */
	bool write_set;                 /* -w given */
	int write_bits;                 /* -w */
	unsigned interval_s;            /* -T; 0 = no periodic injection */
	unsigned credit_per_byte;       /* --credit, 0..8 */
	bool once;                      /* -e: one refill, then exit 0 */
};

struct feeder_stats {
	uint64_t wakeups;               /* returns from the kernel wait */
	uint64_t refills;               /* refills (old) or injections (new) */
	uint64_t add_calls;             /* successful RNDADDENTROPY */
	uint64_t bytes;                 /* bytes given to the kernel */
	uint64_t bits;                  /* bits credited */
	uint64_t add_errors;            /* RNDADDENTROPY that failed */
};

struct feeder_signals {
	volatile sig_atomic_t *stop;    /* the stopping signal, 0 while running */
	volatile sig_atomic_t *usr1;    /* SIGUSR1 seen: log statistics */
};

/* Called with a status line after start-up (sd_notify STATUS=). */
typedef void (*feeder_hook)(void *arg, const char *what);

/* Other work of the daemon's one loop (the EGD server): the fds to wait
 * for and when to wake, then what woke.  max_fds bounds pollfds().  dead()
 * (NULL: never) says the io's own noise source failed for good: the loop
 * then ends as for a failing source of seeds. */
struct feeder_io {
	size_t max_fds;
	size_t (*pollfds)(void *arg, struct pollfd *fds, size_t max, int64_t *timeout_ns,
			  uint64_t now_ns);
	void (*dispatch)(void *arg, const struct pollfd *fds, size_t n, uint64_t now_ns);
	void (*log_stats)(void *arg);
	bool (*dead)(void *arg);
	void *arg;
};

int kernel_detect(struct kernel *k, struct kernel_info *info);
const char *kernel_pool_name(enum kernel_pool pool);

/* Apply -w before privileges are dropped: returns 0, or 1 after a one-line
 * error (a warning only for EACCES, EROFS and EPERM). */
int feeder_set_threshold(struct kernel *k, struct kernel_info *info,
			 const struct feeder_config *cfg);
/* info is kernel_detect()'s, taken before privileges were dropped (the
 * loop reads nothing from /proc).  Returns the exit status: 0 after --once, 128 + signal when stopped, 1
 * when the generator or the kernel failed (logged). */
int feeder_run(struct kernel *k, const struct kernel_info *info, struct generator *g,
	       const struct feeder_config *cfg, const struct feeder_signals *sig,
	       struct feeder_stats *st, const struct feeder_io *io,
	       feeder_hook hook, void *hook_arg);

#endif
