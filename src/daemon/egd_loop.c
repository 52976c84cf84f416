/* egd_loop.c - the EGD server as a handler on the loop (see egd_loop.h):
 * an adapter over egd_pollfds(), egd_dispatch(), egd_source_dead() and
 * egd_log_stats(), which already have the loop's shape. */
#include "config.h"

#include <errno.h>

#include "egd_loop.h"

static size_t egd_prepare(void *arg, struct pollfd *fds, size_t max, int64_t *timeout_ns,
			  bool *want_writable, uint64_t now_ns)
{
	(void)want_writable;
	return egd_pollfds(arg, fds, max, timeout_ns, now_ns);
}

static void egd_on_fds(void *arg, struct loop *l, const struct pollfd *fds, size_t n,
		       uint64_t now_ns)
{
	egd_dispatch(arg, fds, n, now_ns);
	if (egd_source_dead(arg))
		loop_failed(l, "serving EGD", -EIO);
}

static void egd_stats(void *arg)
{
	egd_log_stats(arg);
}

int egd_loop_add(struct egd_server *s, struct loop *l)
{
	struct loop_handler h = { .max_fds = egd_max_pollfds(s), .prepare = egd_prepare,
				  .on_fds = egd_on_fds, .log_stats = egd_stats, .arg = s };

	return loop_add(l, &h);
}
