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
 * The cut-offs derive from HEALTH_ENTROPY_BITS, the min-entropy per sample
 * we assume; see health.c and scripts/health-cutoffs.py.
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

void health_init(struct health *h);
/* Insert n samples; returns the failure bits now set (0 = healthy). */
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
const char *health_describe(unsigned failure);   /* "RCT", "APT", ... */

/* The cut-offs in use, for -r 1 and tests. */
unsigned health_rct_cutoff(bool permanent);
unsigned health_apt_cutoff(bool permanent);
enum { HEALTH_APT_WINDOW = 512 };                 /* SP 800-90B 4.4.2, non-binary */

#endif
