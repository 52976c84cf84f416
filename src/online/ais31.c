/* ais31.c - one AIS-31 procedure as a resumable state machine, the
 * shared lookup tables, and the -v 32 log line.
 *
 * Offers (see ais31.h):
 *   ais31_run_new/free/reset/feed/done/step/result - one procedure as a
 *       resumable state machine over the walk output bytes.
 *   ais31_format_result(), ais31_test_name()  - the -v 32 log line.
 * and, inside the AIS-31 code (ais31_impl.h), ais31_record_fail() and
 * ais31_tables_init().  The procedures themselves are in ais31_a.c (A),
 * ais31_wide.c (A's wide kernels) and ais31_b.c (B); the controller of a
 * group is ais31_ctl.c.
 *
 * A caller creates a run or a controller, then feeds it bytes in any split;
 * nothing else needs setting up (the shared lookup tables are built once,
 * under pthread_once, by the first ais31_run_new()).
 *
 * Source of every threshold: W. Killmann, W. Schindler, "A proposal for:
 * Functionality classes for random number generators", AIS 20/31 version
 * 2.0, BSI, 18 September 2011, below "AIS 20/31".  Test procedure A is its
 * section 2.4.4.1 (tests T0-T5), test procedure B section 2.4.4.2 (tests
 * T6-T8).  doc/ais31.md lists them and where haveged differs.
 *
 * Bits are read most significant bit of each byte first; 64-bit words are
 * loaded big-endian so that stream order is word bit 63 down to bit 0.
 */
#include "config.h"

#include "ais31_impl.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ shared tables */

static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void build_tables(void)
{
	ais31_b_tables();
	ais31_a_tables();
}

void ais31_tables_init(void)
{
	pthread_once(&tables_once, build_tables);
}

/* ------------------------------------------------------------ run state */

void ais31_record_fail(struct ais31_run *run, enum ais31_test t,
		       unsigned index, double value)
{
	struct ais31_result *r = &run->res;

	if (!r->fails) {
		r->first_test = t;
		r->first_index = index;
		r->first_value = value;
	}
	r->fails++;
	r->fail_mask |= 1u << t;
}

/* ------------------------------------------------------------ runs */

void ais31_run_reset(struct ais31_run *run)
{
	assert(run);
	memset(&run->res, 0, sizeof(run->res));
	run->res.proc = run->proc;
	run->done = false;
	run->a_next = 0;
	run->staged = 0;
	run->b_stage = B_T6A;
	run->b_pos = 0;
	run->b_ones = 0;
}

static int run_alloc_a(struct ais31_run *run)
{
	run->stage = malloc(A_T0_BYTES);
	run->t0 = malloc(sizeof(*run->t0));
	run->t5_shift = malloc(64 * sizeof(*run->t5_shift));
	if (!run->stage || !run->t0 || !run->t5_shift)
		return -ENOMEM;
	return 0;
}

struct ais31_run *ais31_run_new(enum ais31_proc proc, unsigned a_shift)
{
	struct ais31_run *run;

	assert(proc < AIS31_NPROC && a_shift <= 8);
	ais31_tables_init();
	run = calloc(1, sizeof(*run));
	if (!run)
		return NULL;
	run->proc = proc;
	run->a_shift = a_shift;
	if (proc == AIS31_PROC_A && run_alloc_a(run) < 0) {
		ais31_run_free(run);
		return NULL;
	}
	ais31_run_reset(run);
	return run;
}

void ais31_run_free(struct ais31_run *run)
{
	if (!run)
		return;
	free(run->stage);
	free(run->t0);
	free(run->t5_shift);
	free(run);
}

size_t ais31_run_feed(struct ais31_run *run, const uint8_t *p, size_t n)
{
	size_t used;

	assert(run && (p || !n));
	if (run->done)
		return 0;
	used = run->proc == AIS31_PROC_A ? ais31_a_feed(run, p, n) :
	       ais31_b_feed(run, p, n);
	run->res.bytes += used;
	return used;
}

enum ais31_test ais31_run_step(const struct ais31_run *run)
{
	static const enum ais31_test b_steps[] = {
		[B_T6A] = AIS31_T6A, [B_T6B] = AIS31_T6B, [B_T7A] = AIS31_T7A,
		[B_T7B] = AIS31_T7B, [B_T8] = AIS31_T8, [B_DONE] = AIS31_NTESTS,
	};

	if (run->done)
		return AIS31_NTESTS;
	if (run->proc == AIS31_PROC_A)
		return run->a_next ? AIS31_T1 : AIS31_T0;
	return b_steps[run->b_stage];
}

bool ais31_run_done(const struct ais31_run *run)
{
	return run->done;
}

const struct ais31_result *ais31_run_result(const struct ais31_run *run)
{
	return &run->res;
}

/* ------------------------------------------------------------ log line */

static const char *const test_names[AIS31_NTESTS] = {
	"T0", "T1", "T2", "T3", "T4", "T5", "T6a", "T6b", "T7a", "T7b", "T8",
};

const char *ais31_test_name(enum ais31_test t)
{
	assert(t < AIS31_NTESTS);
	return test_names[t];
}

static int format_b(const struct ais31_result *r, char *buf, size_t len)
{
	return snprintf(buf, len,
			"T6a %.5f T6b %+.5f T7a %.2f %.2f T7b %.2f %.2f %.2f %.2f "
			"T8 %.5f", r->t6a, r->t6b, r->t7a[0], r->t7a[1],
			r->t7b[0], r->t7b[1], r->t7b[2], r->t7b[3], r->t8);
}

int ais31_format_result(const struct ais31_result *r, char *buf, size_t len)
{
	char detail[160], fail[96] = "";

	assert(r && buf);
	if (r->proc == AIS31_PROC_A)
		snprintf(detail, sizeof(detail),
			 "T0 %u duplicates, T5 on %u blocks",
			 r->t0_duplicates, r->t5_blocks);
	else
		format_b(r, detail, sizeof(detail));
	if (r->fails)
		snprintf(fail, sizeof(fail), "; first failure %s #%u value %g",
			 ais31_test_name(r->first_test), r->first_index,
			 r->first_value);
	return snprintf(buf, len,
			"AIS-31 procedure %c: %u tests, %u failed, %llu bytes; %s%s",
			r->proc == AIS31_PROC_A ? 'A' : 'B', r->tests, r->fails,
			(unsigned long long)r->bytes, detail, fail);
}
