/* loop.c - the daemon's one loop (see loop.h).
 *
 * Functions offered:
 *   loop_init(), loop_add()      set up, register handlers
 *   loop_run()                   turn until stopped
 *   loop_stop(), loop_failed()   what handlers end it with
 *   loop_wakeups()               returns from the wait, for statistics
 *   loop_log_stats()             every handler's statistics (SIGUSR1)
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop.h"

void loop_init(struct loop *l, const struct loop_config *cfg)
{
	memset(l, 0, sizeof(*l));
	l->cfg = *cfg;
}

int loop_add(struct loop *l, const struct loop_handler *h)
{
	if (l->nh == LOOP_HANDLERS_MAX)
		return -ENOSPC;
	l->h[l->nh++] = *h;
	return 0;
}

void loop_stop(struct loop *l, int status)
{
	if (l->done)
		return;
	l->done = true;
	l->status = status;
}

int loop_failed(struct loop *l, const char *what, int err)
{
	if (err == -EIO)
		log_errx("the noise source failed: nothing more will be credited or served");
	else
		log_errx("%s failed: %s", what, strerror(-err));
	/* -EINTR is a stop by a signal: an interrupted call that failed is a
	 * failure like any other. */
	if (err == -EINTR)
		err = -EIO;
	if (l)
		loop_stop(l, err);
	return err;
}

uint64_t loop_wakeups(const struct loop *l)
{
	return l->wakeups;
}

void loop_log_stats(const struct loop *l)
{
	size_t i;

	for (i = 0; i < l->nh; i++)
		if (l->h[i].log_stats)
			l->h[i].log_stats(l->h[i].arg);
}

/* A stop or SIGUSR1 caught before the daemon blocked its signals
 * (start-up) set its flag without interrupting any sleep: look before
 * sleeping, or it would wait for the next wake-up.  Returns true when the
 * turn is over. */
static bool signals_seen(struct loop *l)
{
	if (*l->cfg.stop) {
		loop_stop(l, -EINTR);
		return true;
	}
	if (!l->cfg.usr1 || !*l->cfg.usr1)
		return false;
	*l->cfg.usr1 = 0;
	loop_log_stats(l);
	return true;
}

/* After the wait: descriptors first, then the wake-ups, each in the
 * order the handlers were added, until one stops the loop. */
static void dispatch(struct loop *l, const size_t *count, int w)
{
	struct kernel *k = l->cfg.k;
	size_t i, off = 0;

	for (i = 0; i < l->nh && !l->done; off += count[i], i++)
		if (count[i] && w >= 0)
			l->h[i].on_fds(l->h[i].arg, l, l->fds + off, count[i], k->now_ns(k));
	for (i = 0; i < l->nh && !l->done; i++)
		if (l->h[i].on_wake)
			l->h[i].on_wake(l->h[i].arg, l, w);
}

/* One turn: the signals, what every handler waits for, the one sleep. */
static void turn(struct loop *l)
{
	struct kernel *k = l->cfg.k;
	size_t count[LOOP_HANDLERS_MAX] = { 0 }, i, n = 0;
	int64_t timeout = -1;
	bool want = false;
	uint64_t now;
	int w;

	if (signals_seen(l))
		return;
	now = k->now_ns(k);
	for (i = 0; i < l->nh; i++) {
		if (l->h[i].prepare)
			count[i] = l->h[i].prepare(l->h[i].arg, l->fds + n, l->h[i].max_fds,
						   &timeout, &want, now);
		n += count[i];
	}
	w = k->wait(k, want, l->fds, n, timeout);
	l->wakeups++;
	if (w < 0 && w != -EINTR)
		loop_failed(l, l->cfg.waiting, w);
	else
		dispatch(l, count, w);
}

int loop_run(struct loop *l)
{
	size_t i, max = 0;

	for (i = 0; i < l->nh; i++)
		max += l->h[i].max_fds;
	if (max) {
		l->fds = calloc(max, sizeof(*l->fds));
		if (!l->fds) {
			log_errx("out of memory");
			return -ENOMEM;
		}
	}
	for (i = 0; i < l->nh && !l->done; i++)
		if (l->h[i].start)
			l->h[i].start(l->h[i].arg, l);
	while (!l->done)
		turn(l);
	free(l->fds);
	l->fds = NULL;
	return l->status;
}
