/* feeder.h - keep the kernel's pool served: pool policy, as a handler on
 * the daemon's loop (loop.h).
 *
 * The feeder, from the pool's kind (kernel_detect()), until the loop ends:
 *  - old pool: has the loop wait until the kernel wakes writers (entropy_avail
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
 * generator or the kernel fails, nothing more is credited: the feeder
 * stops the loop with the -errno (logged).  The first refill or injection
 * is made when the loop starts; --once stops the loop after it with 0.
 */
#ifndef HRNG_FEEDER_H
#define HRNG_FEEDER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "generator.h"
#include "kernel.h"
#include "loop.h"

enum {
	FEEDER_CREDIT_MAX = KERNEL_CREDIT_MAX,  /* bits per byte (kernel.h) */
	FEEDER_INJECT_BYTES = 64,       /* new pool: two seeds per interval */
	FEEDER_CALL_MAX = KERNEL_ADD_MAX,       /* bytes per RNDADDENTROPY (kernel.h) */
};

struct feeder_config {
	bool feed;                      /* false (--no-kernel): no feeder at all */
	bool write_set;                 /* -w given */
	int write_bits;                 /* -w */
	unsigned interval_s;            /* -T; 0 = no periodic injection */
	unsigned credit_per_byte;       /* --credit, 0..8 */
	bool once;                      /* -e: one refill, then exit 0 */
};

struct feeder_stats {
	uint64_t refills;               /* refills (old) or injections (new) */
	uint64_t add_calls;             /* successful RNDADDENTROPY */
	uint64_t bytes;                 /* bytes given to the kernel */
	uint64_t bits;                  /* bits credited */
	uint64_t add_errors;            /* RNDADDENTROPY that failed */
};

int kernel_detect(struct kernel *k, struct kernel_info *info);
const char *kernel_pool_name(enum kernel_pool pool);

/* Apply -w before privileges are dropped: returns 0, or 1 after a one-line
 * error (a warning only for EACCES, EROFS and EPERM). */
int feeder_set_threshold(struct kernel *k, struct kernel_info *info,
			 const struct feeder_config *cfg);
struct feeder;

/* info is kernel_detect()'s, taken before privileges were dropped (the
 * feeder reads nothing from /proc); stop is the loop's stop flag (a
 * passing RNDADDENTROPY error is not retried once it is set); st is
 * zeroed here and counts from then on.  Returns NULL (logged) when out
 * of memory. */
struct feeder *feeder_new(struct kernel *k, const struct kernel_info *info, struct generator *g,
			  const struct feeder_config *cfg, volatile sig_atomic_t *stop,
			  struct feeder_stats *st);
/* Register the feeder's handler; its statistics line counts l's wake-ups.
 * Returns loop_add()'s result. */
int feeder_add(struct feeder *f, struct loop *l);
void feeder_free(struct feeder *f);

#endif
