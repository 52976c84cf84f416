/* ais31.h - AIS-31 test procedures A and B as online tests.
 *
 * Two layers:
 *
 *  - struct ais31_run: one procedure (A or B) as a resumable state machine.
 *    ais31_run_feed() takes any number of bytes and stops right after the
 *    byte that completes the procedure; the result then describes the run.
 *    How the input is split across calls never changes the result.
 *
 *  - struct ais31_ctl: the controller of one -o group (start-up or
 *    continuous).  It runs B before A, alternates B, A, B, A in a continuous
 *    group, applies the retry rule, and tells the caller where each
 *    procedure ended in the input and with what verdict.
 *
 * Bits are taken from each byte most significant bit first.  Input is the
 * walk output before conditioning.  See doc/ais31.md for the thresholds and
 * their AIS 20/31 sections.
 */
#ifndef HRNG_AIS31_H
#define HRNG_AIS31_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "testspec.h"

enum ais31_proc {
	AIS31_PROC_A,
	AIS31_PROC_B,
	AIS31_NPROC,
};

/* The basic tests; bit (1 << test) in ais31_result.fail_mask. */
enum ais31_test {
	AIS31_T0,       /* disjointness of 65536 48-bit strings */
	AIS31_T1,       /* monobit */
	AIS31_T2,       /* poker */
	AIS31_T3,       /* runs */
	AIS31_T4,       /* long run */
	AIS31_T5,       /* autocorrelation */
	AIS31_T6A,      /* proportion of ones */
	AIS31_T6B,      /* 1-step transition probabilities */
	AIS31_T7A,      /* 2-step transition homogeneity (2 comparisons) */
	AIS31_T7B,      /* 3-step transition homogeneity (4 comparisons) */
	AIS31_T8,       /* Coron's entropy estimate */
	AIS31_NTESTS,
};

struct ais31_result {
	enum ais31_proc proc;
	uint64_t bytes;             /* input this run consumed */
	unsigned tests;             /* basic tests evaluated */
	unsigned fails;             /* basic tests failed */
	unsigned fail_mask;         /* 1 << enum ais31_test, for each failed */
	/* the first failure, valid when fails > 0 */
	enum ais31_test first_test;
	unsigned first_index;       /* A: block 0-256 (T1-T5); B: comparison (T7) */
	double first_value;         /* its statistic, as in the value fields */
	/* procedure A */
	unsigned t0_duplicates;     /* strings equal to an earlier one */
	unsigned t5_blocks;         /* blocks test 5 ran on */
	/* procedure B: the statistics of all nine basic tests */
	double t6a;                 /* proportion of ones */
	double t6b;                 /* P(1 | 0) - P(1 | 1) */
	double t7a[2];              /* chi-square, prefixes x0, x1 */
	double t7b[4];              /* chi-square, prefixes x00 .. x11 */
	double t8;                  /* Coron's estimate, bits per byte */
};

/* ---------------------------------------------------------------- one run
 * ais31_run_new() allocates (NULL on ENOMEM); a_shift is n of a<n> (test 5
 * on every 2^n-th block; ignored for B).  After ais31_run_done() turns
 * true, feed consumes nothing until ais31_run_reset().  Not in AIS 20/31:
 * a T6b or T7 step that has not collected its 100000 tuples per prefix
 * after four times the expected input ends with that test failed, so a
 * stuck source cannot keep procedure B open forever.
 */
struct ais31_run;

struct ais31_run *ais31_run_new(enum ais31_proc proc, unsigned a_shift);
void ais31_run_free(struct ais31_run *run);
void ais31_run_reset(struct ais31_run *run);
size_t ais31_run_feed(struct ais31_run *run, const uint8_t *p, size_t n);
bool ais31_run_done(const struct ais31_run *run);
/* The step the next byte goes to: A: T0, then T1 for the 257 blocks
 * (T1-T5); B: T6A, T6B, T7A, T7B, T8; AIS31_NTESTS once done. */
enum ais31_test ais31_run_step(const struct ais31_run *run);
const struct ais31_result *ais31_run_result(const struct ais31_run *run);

/* One line for -v 32, e.g. "AIS-31 B: 9 tests, 0 failed; T6a 0.50031 ...".
 * Returns what snprintf returns. */
int ais31_format_result(const struct ais31_result *r, char *buf, size_t len);
const char *ais31_test_name(enum ais31_test t);

/* ------------------------------------------------------------ statistics
 * The statistics of one 20000-bit block of procedure A (2500 bytes), and
 * T7's chi-square, computed by the code the procedures run; for tests.
 */
struct ais31_block_values {
	unsigned ones;              /* T1 */
	double poker;               /* T2: X */
	uint32_t runs[2][6];        /* T3: [bit][length-1], index 5 = 6+ */
	unsigned long_run;          /* T4: 0, or a run >= 34 found */
	unsigned t5_tau;            /* T5: the tau chosen on bits 0-9999 */
	unsigned t5_z;              /* T5: Z_tau on bits 10000-19999 */
};

void ais31_block_values(const uint8_t *block, struct ais31_block_values *v);
double ais31_t7_chi2(uint32_t ones_a, uint32_t ones_b);

/* ------------------------------------------------------------ controller */

enum ais31_verdict {
	AIS31_PASS,     /* release what this run covered */
	AIS31_RETRY,    /* exactly one test failed: discard, run again */
	AIS31_FAIL,     /* definitive failure: discard; the group has failed */
	AIS31_WARN,     /* advisory ('w') procedure failed: report only */
};

struct ais31_event {
	bool completed;             /* a procedure ended in this call */
	enum ais31_proc proc;
	enum ais31_verdict verdict;
	uint64_t run_bytes;         /* input the ended run covered */
	struct ais31_result result;
};

struct ais31_stats {
	uint64_t runs[AIS31_NPROC];
	uint64_t passed[AIS31_NPROC];
	uint64_t retried[AIS31_NPROC];
	uint64_t failed[AIS31_NPROC];
	uint64_t warned[AIS31_NPROC];
};

struct ais31_ctl;

/* Returns NULL on ENOMEM.  A start-up controller runs its procedures once
 * (with retries) and is then finished; a continuous one never finishes
 * unless it fails.  A group that selects nothing is finished at once. */
struct ais31_ctl *ais31_ctl_new(const struct testspec_group *g, bool continuous);
void ais31_ctl_free(struct ais31_ctl *ctl);
/* Consumes up to n bytes and stops right after a procedure ends: returns
 * the bytes consumed; ev->completed says whether one ended there.  Returns
 * 0 once finished or failed. */
size_t ais31_ctl_feed(struct ais31_ctl *ctl, const uint8_t *p, size_t n,
		      struct ais31_event *ev);
bool ais31_ctl_finished(const struct ais31_ctl *ctl);
bool ais31_ctl_failed(const struct ais31_ctl *ctl);
/* The procedure the next input goes to. */
enum ais31_proc ais31_ctl_current(const struct ais31_ctl *ctl);
const struct ais31_stats *ais31_ctl_stats(const struct ais31_ctl *ctl);

#endif
