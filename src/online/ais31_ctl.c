/* ais31_ctl.c - the controller of one AIS-31 -o group (start-up or
 * continuous): which procedure runs next, and haveged's retry rule.
 *
 * Offers (see ais31.h): ais31_ctl_new/free/feed/finished/failed/current/
 * stats.  It drives its runs through the public run API alone.
 */
#include "config.h"

#include "ais31.h"

#include <assert.h>
#include <stdlib.h>

/* ------------------------------------------------------------ controller
 *
 * Order (haveged): B before A; a continuous group with both alternates
 * B, A, B, A.  Retry rule (AIS 20/31 2.4.4.1 and 2.4.4.2): a run with
 * exactly one failed basic test, while no retry of that procedure is
 * pending, is repeated on fresh data; any other failure is definitive.  An
 * advisory ('w') procedure is never repeated and never fails the group:
 * its failures are only reported (AIS31_WARN).
 */
struct ais31_ctl {
	bool selected[AIS31_NPROC];
	bool advisory[AIS31_NPROC];
	bool continuous;
	struct ais31_run *run[AIS31_NPROC];     /* NULL when not selected */
	enum ais31_proc cur;                    /* the run being fed */
	bool retry_pending[AIS31_NPROC];
	bool finished;                          /* start-up done, or nothing */
	bool failed;                            /* only set, never cleared */
	struct ais31_stats stats;
};

struct ais31_ctl *ais31_ctl_new(const struct testspec_group *g, bool continuous)
{
	struct ais31_ctl *ctl;
	int k;

	assert(g);
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return NULL;
	ctl->selected[AIS31_PROC_A] = g->a;
	ctl->advisory[AIS31_PROC_A] = g->a_advisory;
	ctl->selected[AIS31_PROC_B] = g->b;
	ctl->advisory[AIS31_PROC_B] = g->b_advisory;
	ctl->continuous = continuous;
	for (k = 0; k < AIS31_NPROC; k++) {
		if (!ctl->selected[k])
			continue;
		ctl->run[k] = ais31_run_new(k, k == AIS31_PROC_A ? g->a_shift : 0);
		if (!ctl->run[k]) {
			ais31_ctl_free(ctl);
			return NULL;
		}
	}
	ctl->cur = g->b ? AIS31_PROC_B : AIS31_PROC_A;
	ctl->finished = !testspec_any(g);
	return ctl;
}

void ais31_ctl_free(struct ais31_ctl *ctl)
{
	int k;

	if (!ctl)
		return;
	for (k = 0; k < AIS31_NPROC; k++)
		ais31_run_free(ctl->run[k]);
	free(ctl);
}

/* After a run that passed (or only warned): the next procedure. */
static void ctl_advance(struct ais31_ctl *ctl)
{
	enum ais31_proc other = ctl->cur == AIS31_PROC_A ? AIS31_PROC_B
							 : AIS31_PROC_A;

	if (!ctl->continuous) {
		if (ctl->cur == AIS31_PROC_B && ctl->selected[AIS31_PROC_A])
			ctl->cur = AIS31_PROC_A;
		else
			ctl->finished = true;
	} else if (ctl->selected[other]) {
		ctl->cur = other;
	}
}

static enum ais31_verdict ctl_verdict(struct ais31_ctl *ctl,
				      const struct ais31_result *r)
{
	enum ais31_proc p = ctl->cur;

	if (r->fails == 0) {
		ctl->retry_pending[p] = false;
		return AIS31_PASS;
	}
	if (ctl->advisory[p]) {
		ctl->retry_pending[p] = false;
		return AIS31_WARN;
	}
	if (r->fails == 1 && !ctl->retry_pending[p]) {
		ctl->retry_pending[p] = true;
		return AIS31_RETRY;
	}
	return AIS31_FAIL;
}

static void ctl_complete(struct ais31_ctl *ctl, struct ais31_event *ev)
{
	struct ais31_run *run = ctl->run[ctl->cur];
	enum ais31_proc p = ctl->cur;

	ev->completed = true;
	ev->proc = p;
	ev->result = *ais31_run_result(run);
	ev->run_bytes = ev->result.bytes;
	ev->verdict = ctl_verdict(ctl, &ev->result);
	ctl->stats.runs[p]++;
	switch (ev->verdict) {
	case AIS31_PASS:
		ctl->stats.passed[p]++;
		ctl_advance(ctl);
		break;
	case AIS31_WARN:
		ctl->stats.warned[p]++;
		ctl_advance(ctl);
		break;
	case AIS31_RETRY:
		ctl->stats.retried[p]++;
		break;
	case AIS31_FAIL:
		ctl->stats.failed[p]++;
		ctl->failed = true;
		break;
	}
	ais31_run_reset(run);
}

size_t ais31_ctl_feed(struct ais31_ctl *ctl, const uint8_t *p, size_t n,
		      struct ais31_event *ev)
{
	struct ais31_run *run;
	size_t used;

	assert(ctl && ev);
	ev->completed = false;
	if (ctl->finished || ctl->failed)
		return 0;
	run = ctl->run[ctl->cur];
	used = ais31_run_feed(run, p, n);
	if (ais31_run_done(run))
		ctl_complete(ctl, ev);
	return used;
}

bool ais31_ctl_finished(const struct ais31_ctl *ctl)
{
	return ctl->finished;
}

bool ais31_ctl_failed(const struct ais31_ctl *ctl)
{
	return ctl->failed;
}

enum ais31_proc ais31_ctl_current(const struct ais31_ctl *ctl)
{
	return ctl->cur;
}

const struct ais31_stats *ais31_ctl_stats(const struct ais31_ctl *ctl)
{
	return &ctl->stats;
}
