/* health.h - SP 800-90B section 4.4 health tests on the raw timer deltas.
 *
 * The Repetition Count Test (4.4.1) and the Adaptive Proportion Test (4.4.2)
 * run on every raw sample (the timer delta between two consecutive reads of
 * the walk), before anything is mixed.  Each test is a small state machine
 * with the verbs init, insert, reset and failed.
 *
 * Two levels of failure (a bitmask):
 *  - intermittent: a cut-off for a false-alarm probability of 2^-30 per test
 *    was crossed.  The caller discards what it collected since the last
 *    good check, calls health_reset(), and goes on.
 *  - permanent: the cut-off for 2^-60 was crossed, or HEALTH_MAX_INTERMITTENT
 *    intermittent failures came in a row.  The source is dead: never output
 *    or credit from it again.
 * The cut-offs derive from HEALTH_ENTROPY_HALVES, the min-entropy per sample
 * we claim; see health.c and scripts/health-cutoffs.py.
 *
 * Order of calls: health_init() (or health_init_halves()), then
 * health_startup() with at least HEALTH_STARTUP_SAMPLES samples before any
 * output, then health_insert() for every batch; after each batch either
 * health_clean() (nothing failed) or health_reset() (intermittent failure,
 * batch discarded).  One struct health per collector; no locking inside.
 */
#ifndef HRNG_HEALTH_H
#define HRNG_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum health_failure {
	HEALTH_RCT           = 1u << 0,   /* intermittent RCT */
	HEALTH_APT           = 1u << 1,   /* intermittent APT */
	HEALTH_RCT_PERMANENT = 1u << 8,
	HEALTH_APT_PERMANENT = 1u << 9,
	HEALTH_STARTUP       = 1u << 10,  /* start-up test failed: permanent */
	HEALTH_REPEATED      = 1u << 11,  /* too many intermittent in a row */
};
#define HEALTH_PERMANENT_MASK 0xff00u

enum {
	HEALTH_STARTUP_SAMPLES = 1024,    /* SP 800-90B 4.3 item 3: at least 1024 */
	HEALTH_MAX_INTERMITTENT = 3,
};

/* The claim: min-entropy per raw sample, in half bits.  It selects the
 * row of the cut-off table in health.c (rows for 0.5, 1, 1.5, 2, 3, 4, 5
 * and 6 bits) and fixes the samples behind a kernel seed.  0.5 bits: the
 * start-up calibration (noise.h) climbs its ladder until the measured
 * estimate is three times this, on every machine; the SP 800-90B
 * assessments behind it are in doc/entropy.md (jitterentropy claims 1/3
 * bit per sample by default, haveged claims nothing).  A sample is what
 * noise.h shapes: the low 8 bits of the walk time over `stride` steps,
 * divided by the timer's granularity. */
enum { HEALTH_ENTROPY_HALVES = 1 };

enum { HEALTH_APT_WINDOW = 512 };                 /* SP 800-90B 4.4.2, non-binary */

/* One row of the cut-off table: a failure is signalled when a count
 * reaches (>=) the cut-off. */
struct health_cutoffs {
	unsigned entropy_halves; /* H, in half bits */
	unsigned rct;           /* RCT, alpha = 2^-30 */
	unsigned rct_perm;      /* RCT, alpha = 2^-60 */
	unsigned apt;           /* APT, alpha = 2^-30 */
	unsigned apt_perm;      /* APT, alpha = 2^-60 */
};

struct health_rct {
	uint64_t last;        /* previous sample */
	unsigned run;         /* length of the current run of equal samples */
	unsigned cutoff;      /* intermittent */
	unsigned cutoff_perm; /* permanent */
};

struct health_apt {
	uint64_t first;       /* the sample counted in this window */
	unsigned pos;         /* samples seen in this window, 0..window */
	unsigned count;       /* occurrences of first in this window */
	unsigned cutoff;
	unsigned cutoff_perm;
};

struct health {
	struct health_rct rct;
	struct health_apt apt;
	unsigned failed;        /* enum health_failure bits since last reset */
	unsigned in_a_row;      /* intermittent failures without a clean check */
	uint64_t samples;       /* all samples inserted, only increases */
	uint64_t intermittent;  /* intermittent failures, only increases */
};

/* Both tests with the cut-offs for HEALTH_ENTROPY_HALVES. */
void health_init(struct health *h);
/* The same for another row of the table; -EINVAL if there is no such row. */
int health_init_halves(struct health *h, unsigned entropy_halves);
/* Insert n samples; returns the failure bits now set (0 = healthy).
 * Raising an intermittent bit (after a reset) counts one intermittent
 * failure; the HEALTH_MAX_INTERMITTENT-th in a row adds HEALTH_REPEATED. */
unsigned health_insert(struct health *h, const uint64_t *samples, size_t n);
/* After an intermittent failure: clear it and restart both tests.  The
 * permanent bits stay. */
void health_reset(struct health *h);
/* Call when a block passed without failure: clears the in-a-row count. */
void health_clean(struct health *h);
unsigned health_failed(const struct health *h);
bool health_permanent(const struct health *h);
/* Start-up test: n >= HEALTH_STARTUP_SAMPLES samples through both tests
 * with the permanent meaning; returns 0 or the failure bits. */
unsigned health_startup(struct health *h, const uint64_t *samples, size_t n);
/* Name of the most severe bit set in failure ("start-up", "repeated",
 * "RCT permanent", "APT permanent", "RCT", "APT"; "none" for 0). */
const char *health_describe(unsigned failure);
/* All bits set in failure, most severe first, comma separated, into buf
 * (always terminated when len > 0); returns what snprintf returns. */
int health_format(unsigned failure, char *buf, size_t len);

/* The cut-offs in use (HEALTH_ENTROPY_HALVES), for -r 1 and tests. */
unsigned health_rct_cutoff(bool permanent);
unsigned health_apt_cutoff(bool permanent);
/* The table row for entropy_halves, or NULL if there is none. */
const struct health_cutoffs *health_cutoffs_for(unsigned entropy_halves);

#endif
