/* health.c - SP 800-90B 4.4 continuous health tests and the 4.3 start-up
 * test, on the raw timer deltas.
 *
 * Offered (see health.h for the order of calls):
 *   health_init(), health_init_halves()  set both tests up from a table row;
 *   health_insert()     run a batch of samples through both tests (hot path);
 *   health_reset()      restart both tests after an intermittent failure;
 *   health_clean()      a batch passed: clear the in-a-row count;
 *   health_failed(), health_permanent()  read the failure bits;
 *   health_startup()    the start-up test (4.3 item 3);
 *   health_describe(), health_format()   failure bits as text;
 *   health_rct_cutoff(), health_apt_cutoff(), health_cutoffs_for()
 *                       the cut-offs, for -r 1 and the tests.
 * A caller must call health_init() first.  Nothing here allocates, blocks
 * or keeps global mutable state, so one struct health per collector thread
 * needs no locking.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>

#include "health.h"

/* ------------------------------------------------------------------------
 * The cut-off table
 *
 * Offers health_cutoffs_for(), health_rct_cutoff(), health_apt_cutoff().
 *
 * H is the min-entropy per sample we claim, kept in half bits (the first
 * column); alpha the false-alarm probability: 2^-30 for the intermittent
 * level, 2^-60 for the permanent.
 *
 * RCT, SP 800-90B 4.4.1: C = 1 + ceil(-log2(alpha) / H).  A run of C equal
 * samples has probability at most 2^(-H (C - 1)) <= alpha under the claim.
 *   intermittent: 1 + ceil(30 / H)     permanent: 1 + ceil(60 / H)
 *
 * APT, SP 800-90B 4.4.2, non-binary, W = 512:
 *   C = 1 + CRITBINOM(W, 2^-H, 1 - alpha),
 * CRITBINOM(n, p, a) being the least k with P(X <= k) >= a for
 * X ~ Binomial(n, p).  So C is the least count with P(X >= C) <= alpha.
 * The APT fails when the first sample of a window occurs C or more times
 * in that window (4.4.2 step 3, "B >= C").
 * Note: 4.4.2 takes the binomial over all W samples although the first one
 * is the reference itself (only W - 1 are random); we follow the text as
 * written, which gives a cut-off equal to or one below the W - 1 form.
 *
 * The figures were computed by scripts/health-cutoffs.py (exact integer
 * arithmetic for whole bits, 100-digit decimals for half bits); `scripts/health-cutoffs.py --check
 * src/online/health.c` compares this table with a fresh computation, and
 * tests/test_health.c recomputes it independently in floating point.
 */
static const struct health_cutoffs cutoff_table[] = {
	/* H x 2  RCT  RCT perm  APT  APT perm */
	{  1,      61, 121,       422, 447 },
	{  2,      31,  61,       325, 355 },
	{  3,      21,  41,       248, 279 },
	{  4,      16,  31,       190, 220 },
	{  6,      11,  21,       114, 139 },
	{  8,       9,  16,        71,  91 },
	{ 10,       7,  13,        46,  62 },
	{ 12,       6,  11,        31,  44 },
};
_Static_assert(HEALTH_ENTROPY_HALVES >= 1 && HEALTH_ENTROPY_HALVES <= 12,
	       "HEALTH_ENTROPY_HALVES has no row in cutoff_table");

const struct health_cutoffs *health_cutoffs_for(unsigned entropy_halves)
{
	size_t i;

	for (i = 0; i < sizeof(cutoff_table) / sizeof(cutoff_table[0]); i++)
		if (cutoff_table[i].entropy_halves == entropy_halves)
			return &cutoff_table[i];
	return NULL;
}

unsigned health_rct_cutoff(bool permanent)
{
	const struct health_cutoffs *c = health_cutoffs_for(HEALTH_ENTROPY_HALVES);

	return permanent ? c->rct_perm : c->rct;
}

unsigned health_apt_cutoff(bool permanent)
{
	const struct health_cutoffs *c = health_cutoffs_for(HEALTH_ENTROPY_HALVES);

	return permanent ? c->apt_perm : c->apt;
}

/* Slow path of both tests, taken only once a count has reached the
 * intermittent cut-off: the test's bit, and its permanent bit too once the
 * count has reached the permanent cut-off. */
static unsigned verdict(unsigned count, unsigned cutoff_perm, unsigned bit,
			unsigned permanent_bit)
{
	return count >= cutoff_perm ? bit | permanent_bit : bit;
}

/* ------------------------------------------------------------------------
 * Repetition Count Test, SP 800-90B 4.4.1
 *
 * Offers rct_init(), rct_reset(), rct_insert().
 * run == 0 means "no sample yet": the first sample then starts a run of 1
 * whatever last held, so no separate first-sample branch is needed.
 */
static void rct_reset(struct health_rct *t)
{
	/* A run that crossed the cut-off is not forgotten: a stuck source
	 * trips again on its next sample, so fills shorter than the cut-off
	 * cannot pass in between and reach HEALTH_REPEATED (and the run
	 * the permanent cut-off). */
	if (t->run >= t->cutoff)
		return;
	t->last = 0;
	t->run = 0;
}

static void rct_init(struct health_rct *t, const struct health_cutoffs *c)
{
	t->last = 0;
	t->run = 0;
	t->cutoff = c->rct;
	t->cutoff_perm = c->rct_perm;
}

/* The state lives in locals through the loop: samples may alias the
 * struct (both are uint64_t), which would otherwise force a load and a
 * store of every field per sample. */
static unsigned rct_insert(struct health_rct *t, const uint64_t *s, size_t n)
{
	uint64_t last = t->last;
	unsigned run = t->run, cutoff = t->cutoff, fail = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] != last) {
			last = s[i];
			run = 1;
			continue;
		}
		/* Saturate rather than wrap on an endless stuck source. */
		if (++run == 0)
			run--;
		if (run >= cutoff)
			fail |= verdict(run, t->cutoff_perm, HEALTH_RCT,
					HEALTH_RCT_PERMANENT);
	}
	t->last = last;
	t->run = run;
	return fail;
}

/* ------------------------------------------------------------------------
 * Adaptive Proportion Test, SP 800-90B 4.4.2
 *
 * Offers apt_init(), apt_reset(), apt_insert().
 * Windows do not overlap: the sample at pos 0 becomes the reference (count
 * 1), the next W - 1 samples are compared with it, then a new window
 * starts.  A reset throws the current partial window away.
 */
static void apt_reset(struct health_apt *t)
{
	t->first = 0;
	t->pos = 0;
	t->count = 0;
}

static void apt_init(struct health_apt *t, const struct health_cutoffs *c)
{
	apt_reset(t);
	t->cutoff = c->apt;
	t->cutoff_perm = c->apt_perm;
}

/* Locals for the state, for the same aliasing reason as rct_insert(). */
static unsigned apt_insert(struct health_apt *t, const uint64_t *s, size_t n)
{
	uint64_t first = t->first;
	unsigned pos = t->pos, count = t->count, cutoff = t->cutoff;
	unsigned fail = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (pos == 0) {
			first = s[i];
			count = 1;
		} else if (s[i] == first && ++count >= cutoff) {
			fail |= verdict(count, t->cutoff_perm, HEALTH_APT,
					HEALTH_APT_PERMANENT);
		}
		if (++pos == HEALTH_APT_WINDOW)
			pos = 0;
	}
	t->first = first;
	t->pos = pos;
	t->count = count;
	return fail;
}

/* ------------------------------------------------------------------------
 * Both tests together
 *
 * Offers health_init(), health_init_halves(), health_insert(),
 * health_reset(), health_clean(), health_failed(), health_permanent(),
 * health_startup().
 */
#define HEALTH_INTERMITTENT_MASK (HEALTH_RCT | HEALTH_APT)

int health_init_halves(struct health *h, unsigned entropy_halves)
{
	const struct health_cutoffs *c = health_cutoffs_for(entropy_halves);

	if (!c)
		return -EINVAL;
	rct_init(&h->rct, c);
	apt_init(&h->apt, c);
	h->failed = 0;
	h->in_a_row = 0;
	h->samples = 0;
	h->intermittent = 0;
	return 0;
}

void health_init(struct health *h)
{
	int ret = health_init_halves(h, HEALTH_ENTROPY_HALVES);

	assert(ret == 0);
	(void)ret;
}

/* A new intermittent failure is one raised while none was pending, i.e.
 * the first since health_init() or health_reset(): the caller discards
 * and resets once per failure, however many samples crossed a cut-off. */
static void health_count_intermittent(struct health *h, unsigned fail)
{
	if (!(fail & HEALTH_INTERMITTENT_MASK) ||
	    (h->failed & HEALTH_INTERMITTENT_MASK))
		return;
	h->intermittent++;
	if (++h->in_a_row >= HEALTH_MAX_INTERMITTENT)
		h->failed |= HEALTH_REPEATED;
}

unsigned health_insert(struct health *h, const uint64_t *samples, size_t n)
{
	unsigned fail;

	assert(samples || n == 0);
	fail = rct_insert(&h->rct, samples, n);
	fail |= apt_insert(&h->apt, samples, n);
	health_count_intermittent(h, fail);
	h->failed |= fail;
	h->samples += n;
	return h->failed;
}

void health_reset(struct health *h)
{
	rct_reset(&h->rct);
	apt_reset(&h->apt);
	h->failed &= HEALTH_PERMANENT_MASK;
}

void health_clean(struct health *h)
{
	/* Clean means no failure pending: calling this with one is a bug. */
	assert(!(h->failed & HEALTH_INTERMITTENT_MASK));
	h->in_a_row = 0;
}

unsigned health_failed(const struct health *h)
{
	return h->failed;
}

bool health_permanent(const struct health *h)
{
	return (h->failed & HEALTH_PERMANENT_MASK) != 0;
}

/* SP 800-90B 4.3 item 3: the start-up test runs the continuous tests on
 * at least 1024 consecutive samples before any output; any failure there,
 * even at the intermittent level, means the source is not used. */
unsigned health_startup(struct health *h, const uint64_t *samples, size_t n)
{
	assert(n >= HEALTH_STARTUP_SAMPLES);
	if (health_insert(h, samples, n))
		h->failed |= HEALTH_STARTUP;
	return h->failed;
}

/* ------------------------------------------------------------------------
 * Failure bits as text
 *
 * Offers health_describe(), health_format().
 */
static const struct {
	unsigned bit;
	const char *name;
} failure_names[] = {
	/* most severe first */
	{ HEALTH_STARTUP,       "start-up" },
	{ HEALTH_REPEATED,      "repeated" },
	{ HEALTH_RCT_PERMANENT, "RCT permanent" },
	{ HEALTH_APT_PERMANENT, "APT permanent" },
	{ HEALTH_RCT,           "RCT" },
	{ HEALTH_APT,           "APT" },
};

enum { FAILURE_NAMES = sizeof(failure_names) / sizeof(failure_names[0]) };

const char *health_describe(unsigned failure)
{
	size_t i;

	if (!failure)
		return "none";
	for (i = 0; i < FAILURE_NAMES; i++)
		if (failure & failure_names[i].bit)
			return failure_names[i].name;
	return "unknown";
}

/* Every name, each with its comma, fits this; the text is built here and
 * copied once so that a short buf needs no bookkeeping. */
enum { FAILURE_TEXT_MAX = 96 };

int health_format(unsigned failure, char *buf, size_t len)
{
	char text[FAILURE_TEXT_MAX] = "";
	unsigned known = 0;
	size_t i, used = 0;

	for (i = 0; i < FAILURE_NAMES; i++) {
		if (!(failure & failure_names[i].bit))
			continue;
		known |= failure_names[i].bit;
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%s",
					 used ? "," : "", failure_names[i].name);
	}
	if (failure & ~known)
		snprintf(text + used, sizeof(text) - used, "%sunknown",
			 used ? "," : "");
	return snprintf(buf, len, "%s", failure ? text : "none");
}
