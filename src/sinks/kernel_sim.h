/* kernel_sim.h - a simulated kernel random interface with a virtual clock.
 *
 * It models both pool kinds closely enough to drive the unmodified feeder:
 *  - old pool (4096 bits): entropy_avail drains at the consumer's rate
 *    (8 bits per byte read from /dev/random); POLLOUT while entropy_avail
 *    is below write_wakeup_threshold; crediting approaches full
 *    asymptotically: n credited bits move the count 3/4 n / poolsize of the
 *    remaining way to full, in steps of at most half the pool (the 3.x-5.x
 *    kernels' credit_entropy_bits);
 *  - new pool (256 bits): entropy_avail counts credits up to 256 while the
 *    CRNG is not ready, then stays at 256; credit is capped at 256 bits per
 *    call and ignored once ready; POLLOUT only before ready;
 *    write_wakeup_threshold reads 256 and ignores writes.
 * Time: the virtual clock advances by the simulated sleeps in wait() and,
 * between calls, by the real time the caller spent (so a slow refill shows
 * up as time below the threshold).  At end_ns the simulation raises
 * stop_signal in *stop and wait() returns -EINTR: every scenario ends.
 */
#ifndef HRNG_KERNEL_SIM_H
#define HRNG_KERNEL_SIM_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "kernel.h"

struct sim_config {
	enum kernel_pool pool;
	int write_threshold;          /* old pool; 0 = the 4.x default, 896 */
	double drain_bytes_per_s;     /* consumer reading /dev/random (old pool) */
	int initial_avail;            /* bits at the start */
	bool crng_ready;              /* new pool: initialised already */
	uint64_t end_ns;              /* virtual time the scenario ends */
	int stop_signal;              /* raised at end_ns (0: SIGTERM) */
	volatile sig_atomic_t *stop;  /* where the signal is raised */
	bool real_time_counts;        /* add the caller's real time to the clock */
	int fail_add_errno;           /* add_entropy fails with this (0 = no) */
	unsigned fail_add_count;      /* ... this many times */
	int fail_set_errno;           /* set_write_threshold fails with this */
	uint64_t usr1_at_ns;          /* raise SIGUSR1 then (0 = never) ... */
	volatile sig_atomic_t *usr1;  /* ... here, and wait() returns -EINTR */
	unsigned eintr_every;         /* every Nth wait() is cut short by a
					 * signal the daemon does not handle
					 * (-EINTR, no flag set; 0 = never) */
};

enum { SIM_LATENCY_MAX = 1 << 16 };

struct sim_stats {
	uint64_t waits;               /* wait() calls that slept or returned */
	uint64_t stray_eintr;         /* of which cut short by eintr_every */
	uint64_t wake_writable;       /* wait() returns for POLLOUT */
	uint64_t wake_timeout;        /* wait() returns for the timeout */
	uint64_t add_calls, add_bytes, credited_bits, credited_effective;
	uint64_t add_failures;
	uint64_t blocked_ns;          /* the consumer starved (entropy_avail 0) */
	uint64_t below_ns;            /* entropy_avail below the threshold */
	uint64_t longest_below_ns;    /* longest stretch below the threshold */
	uint64_t crng_ready_ns;       /* virtual time the CRNG became ready (new) */
	unsigned latencies;           /* wake-to-refill samples kept */
	uint64_t latency_ns[SIM_LATENCY_MAX];  /* real ns, wake to back above threshold */
};

struct kernel_sim;

struct kernel_sim *kernel_sim_new(const struct sim_config *cfg, struct kernel *k);
void kernel_sim_free(struct kernel_sim *s);
const struct sim_stats *kernel_sim_stats(const struct kernel_sim *s);
double kernel_sim_avail(const struct kernel_sim *s);
uint64_t kernel_sim_now(const struct kernel_sim *s);

#endif
