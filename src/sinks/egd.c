/* egd.c - the EGD server: accepting clients, the poll loop's interface,
 * set-up and tear-down.
 *
 * Functions offered (see egd.h for the contract of each):
 *   egd_server_new() / egd_server_free()  listeners up / everything down
 *   egd_max_pollfds(), egd_pollfds(), egd_dispatch()
 *                                         the caller's poll loop drives us
 *   egd_get_stats(), egd_log_stats()      counters per listener
 *
 * Here: accepting clients on the listeners, the poll interface,
 * statistics, set-up and tear-down.  The parser is egd_proto.c, the
 * listening sockets listen.c, and the work for each client (token bucket,
 * output queue, serving requests) egd_serve.c.
 *
 * Memory per client is bounded: a fixed input buffer of a few requests
 * and an output queue of queue_max bytes.  A client whose queue is full is
 * not read from, so it cannot make us queue more (its own socket buffer
 * then fills and its writes block, which is the kernel's back-pressure).
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "egd_impl.h"
#include "log.h"
#include "util.h"

enum {
	EGD_ACCEPT_BATCH = 32,          /* accepts per listener per dispatch */
	EGD_ACCEPT_BACKOFF_NS = 100000000, /* after EMFILE: retry in 100 ms */
	/* Descriptors kept for what is not a client: stdio, /dev/random,
	 * syslog, the pidfile, with room to spare (the listeners on top). */
	EGD_FD_RESERVE = 16,
};
/* A failing accept(), or a uid refused for its --egd-per-uid, is logged
 * at most once a minute per listener; the next line says how many were
 * not. */
#define EGD_QUIET_NS (60ull * NS_PER_SEC)

/* ---------------------------------------------------------------- poll interface
 *
 * egd_pollfds() records in s->map which object each pollfd stands for;
 * egd_dispatch() trusts that map only where the fd still matches.
 */

/* A client in a free slot, or NULL (no slot, no memory). */
static struct egd_client *client_new(struct egd_server *s, unsigned li, int fd,
				     uint64_t now)
{
	struct egd_client *c;
	unsigned slot;

	for (slot = 0; slot < s->max_clients && s->cl[slot]; slot++)
		;
	if (slot == s->max_clients)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->out = secret_alloc(s->queue_max))) {
		free(c);
		return NULL;
	}
	secret_lock(c->out, s->queue_max);
	c->fd = fd;
	c->listener = li;
	c->bucket.level = s->burst * NS_PER_SEC;
	c->bucket.last_ns = now;
	s->cl[slot] = c;
	s->nclients++;
	s->ls[li].st.clients_now++;
	s->ls[li].st.clients_accepted++;
	return c;
}

/* May a line be logged now?  At most one a minute; *quiet is set to how
 * many were not since the last one. */
static bool quiet_log_ok(struct quiet_log *q, uint64_t now, uint64_t *quiet)
{
	if (q->logged && now - q->last_ns < EGD_QUIET_NS) {
		q->quiet++;
		return false;
	}
	*quiet = q->quiet;
	q->quiet = 0;
	q->last_ns = now;
	q->logged = true;
	return true;
}

/* accept() ran out of descriptors or memory: try again in a while, and
 * say so at most once a minute, with the count of what went unsaid. */
static void accept_failed(struct egd_listener *l, int e, uint64_t now)
{
	uint64_t quiet;

	l->retry_ns = now + EGD_ACCEPT_BACKOFF_NS;
	l->st.accept_errors++;
	if (!quiet_log_ok(&l->accept_log, now, &quiet))
		return;
	if (quiet)
		log_warnx("egd %s: accept: %s (%llu more since the last report)", l->sock.name,
			  strerror(e), (unsigned long long)quiet);
	else
		log_warnx("egd %s: accept: %s (reported at most once a minute)", l->sock.name,
			  strerror(e));
}

/* A UNIX peer's uid (SO_PEERCRED); false for TCP, or when it is unknown. */
static bool peer_uid(const struct egd_listener *l, int fd, uid_t *uid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (!l->sock.is_unix || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	*uid = cr.uid;
	return true;
}

/* Does uid (not root) hold max_per_uid connections already?  Then it gets
 * no more: one local user cannot take every slot from the others. */
static bool uid_full(const struct egd_server *s, uid_t uid)
{
	unsigned i, n = 0;

	if (uid == 0)
		return false;
	for (i = 0; i < s->max_clients; i++)
		if (s->cl[i] && s->cl[i]->has_uid && s->cl[i]->uid == uid)
			n++;
	return n >= s->max_per_uid;
}

static void uid_refused(struct egd_listener *l, uid_t uid, unsigned max, uint64_t now)
{
	uint64_t quiet;

	l->st.refused_per_uid++;
	if (!quiet_log_ok(&l->uid_log, now, &quiet))
		return;
	if (quiet)
		log_warnx("egd %s: uid %u holds %u connections, the most --egd-per-uid "
			  "allows: refused (%llu more since the last report)", l->sock.name,
			  (unsigned)uid, max, (unsigned long long)quiet);
	else
		log_warnx("egd %s: uid %u holds %u connections, the most --egd-per-uid "
			  "allows: refused (reported at most once a minute)", l->sock.name,
			  (unsigned)uid, max);
}

/* Take the new connection fd on listener li, or close it: every slot
 * taken, or a free one that its uid may not have. */
static void admit(struct egd_server *s, unsigned li, int fd, uint64_t now)
{
	struct egd_listener *l = &s->ls[li];
	struct egd_client *c;
	uid_t uid = 0;
	bool has_uid = peer_uid(l, fd, &uid);

	if (s->nclients < s->max_clients) {
		if (has_uid && uid_full(s, uid)) {
			uid_refused(l, uid, s->max_per_uid, now);
		} else if ((c = client_new(s, li, fd, now))) {
			c->uid = uid;
			c->has_uid = has_uid;
			return;
		} else {
			/* A free slot but no memory for the client: closed,
			 * and treated as a failed accept() (counted, logged at
			 * most once a minute, the listener paused briefly). */
			close(fd);
			accept_failed(l, ENOMEM, now);
			return;
		}
	}
	close(fd);
	l->st.clients_refused++;
}

static void accept_all(struct egd_server *s, unsigned li, uint64_t now)
{
	struct egd_listener *l = &s->ls[li];
	int i, fd;

	for (i = 0; i < EGD_ACCEPT_BATCH; i++) {
		fd = accept4(l->sock.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				accept_failed(l, errno, now);
			return;
		}
		admit(s, li, fd, now);
	}
}

size_t egd_max_pollfds(const struct egd_server *s)
{
	return s->nls + s->max_clients;
}

static short client_events(const struct egd_server *s, const struct egd_client *c)
{
	short ev = 0;

	/* Stop reading requests while the queue is full: back-pressure. */
	if (!c->eof && c->inlen < sizeof(c->in) && c->len < s->queue_max)
		ev |= POLLIN;
	if (c->len)
		ev |= POLLOUT;
	return ev;
}

static void lower_timeout(int64_t *timeout_ns, uint64_t wait)
{
	if (wait > INT64_MAX)
		wait = INT64_MAX;
	if (*timeout_ns < 0 || (int64_t)wait < *timeout_ns)
		*timeout_ns = (int64_t)wait;
}

/* A client owed bytes under a rate limit: wake when a useful amount has
 * dripped in (a 100th of a second's worth), not for every byte. */
static void client_timeout(const struct egd_server *s, const struct egd_client *c,
			   int64_t *timeout_ns)
{
	uint64_t want = s->rate / EGD_WAKE_HZ;

	if (!c->owed || !s->rate || out_space(s, c) == 0)
		return;
	if (want < 1)
		want = 1;
	if (want > c->owed)
		want = c->owed;
	if (want > s->burst)
		want = s->burst;
	lower_timeout(timeout_ns, egd_bucket_wait(&c->bucket, s->rate, want));
}

/* A client with a request half sent: wake to close it if it stays so. */
static void stall_timeout(const struct egd_client *c, int64_t *timeout_ns, uint64_t now)
{
	uint64_t end = c->stall_ns + (uint64_t)EGD_STALL_S * NS_PER_SEC;

	if (c->stall_ns)
		lower_timeout(timeout_ns, end > now ? end - now : 0);
}

size_t egd_pollfds(struct egd_server *s, struct pollfd *fds, size_t max,
		   int64_t *timeout_ns, uint64_t now_ns)
{
	size_t n = 0, i;

	for (i = 0; i < s->nls && n < max; i++) {
		if (s->ls[i].retry_ns > now_ns) {
			lower_timeout(timeout_ns, s->ls[i].retry_ns - now_ns);
			continue;
		}
		fds[n] = (struct pollfd){ .fd = s->ls[i].sock.fd, .events = POLLIN };
		s->map[n++] = -(int32_t)i - 1;
	}
	for (i = 0; i < s->max_clients && n < max; i++) {
		const struct egd_client *c = s->cl[i];

		if (!c)
			continue;
		/* Polled even with no events: POLLHUP and POLLERR still come. */
		fds[n] = (struct pollfd){ .fd = c->fd, .events = client_events(s, c) };
		s->map[n++] = (int32_t)i;
		client_timeout(s, c, timeout_ns);
		stall_timeout(c, timeout_ns, now_ns);
	}
	s->nmap = n;
	if (s->more)
		lower_timeout(timeout_ns, 0);
	return n;
}

static void dispatch_client(struct egd_server *s, unsigned slot, short rev)
{
	struct egd_client *c = s->cl[slot];

	/* POLLHUP: the peer is gone both ways (a UNIX peer that closed); it
	 * can take no reply, and it is reported even with no events asked,
	 * so a client kept for bytes still owed would wake us at once, for
	 * ever.  POLLERR: the connection is broken. */
	if (rev & (POLLNVAL | POLLHUP | POLLERR)) {
		egd_client_close(s, slot);
		return;
	}
	if ((rev & POLLIN) && egd_client_read(c) < 0) {
		egd_client_close(s, slot);
		return;
	}
	if ((rev & POLLOUT) && egd_client_flush(c) < 0)
		egd_client_close(s, slot);
}

void egd_dispatch(struct egd_server *s, const struct pollfd *fds, size_t n,
		  uint64_t now_ns)
{
	size_t i;

	if (n > s->nmap)
		n = s->nmap;
	for (i = 0; i < n; i++) {
		int32_t m = s->map[i];

		if (!fds[i].revents)
			continue;
		if (m < 0 && s->ls[-m - 1].sock.fd == fds[i].fd)
			s->ls[-m - 1].ready = true;
		else if (m >= 0 && s->cl[m] && s->cl[m]->fd == fds[i].fd)
			dispatch_client(s, (unsigned)m, fds[i].revents);
	}
	egd_serve_pass(s, now_ns);
	for (i = 0; i < s->nls; i++) {
		if (s->ls[i].ready)
			accept_all(s, (unsigned)i, now_ns);
		s->ls[i].ready = false;
	}
	s->nmap = 0;
}

/* ---------------------------------------------------------------- statistics */

int egd_get_stats(const struct egd_server *s, size_t i,
		  struct egd_listener_stats *st, unsigned *port)
{
	if (i >= s->nls)
		return -ENOENT;
	if (st)
		*st = s->ls[i].st;
	if (port)
		*port = s->ls[i].sock.port;
	return 0;
}

bool egd_source_dead(const struct egd_server *s)
{
	return s->source_dead;
}

void egd_log_stats(const struct egd_server *s)
{
	size_t i;

	for (i = 0; i < s->nls; i++) {
		const struct egd_listener_stats *st = &s->ls[i].st;

		log_info("egd %s: %llu bytes served, %llu requests, %u clients now, "
			 "%llu accepted, %llu refused, %llu protocol errors, "
			 "%llu bytes written by clients discarded, %llu accept errors",
			 s->ls[i].sock.name, (unsigned long long)st->bytes_served,
			 (unsigned long long)st->requests, st->clients_now,
			 (unsigned long long)st->clients_accepted,
			 (unsigned long long)st->clients_refused,
			 (unsigned long long)st->protocol_errors,
			 (unsigned long long)st->discarded_bytes,
			 (unsigned long long)st->accept_errors);
	}
}

/* ---------------------------------------------------------------- set-up and tear-down */

static int config_check(const struct egd_config *cfg, char *err, size_t errlen)
{
	if (!cfg->listeners || cfg->nlisteners == 0)
		return listen_set_err(err, errlen, -EINVAL, "egd: no listener given");
	if (cfg->rate > EGD_RATE_MAX || cfg->burst > EGD_RATE_MAX)
		return listen_set_err(err, errlen, -EINVAL,
				      "egd: rate and burst must be at most %llu bytes",
				      EGD_RATE_MAX);
	if (cfg->queue_max && cfg->queue_max < EGD_QUEUE_MIN)
		return listen_set_err(err, errlen, -EINVAL,
				      "egd: the output queue must hold at least %d bytes",
				      EGD_QUEUE_MIN);
	if (cfg->unix_mode & ~(mode_t)0777)
		return listen_set_err(err, errlen, -EINVAL,
				      "egd: a socket file's mode is 0 to 0777, not %#o",
				      (unsigned)cfg->unix_mode);
	if (cfg->max_clients > EGD_CLIENTS_MAX || cfg->max_per_uid > EGD_CLIENTS_MAX)
		return listen_set_err(err, errlen, -EINVAL, "egd: at most %d clients",
				      EGD_CLIENTS_MAX);
	return 0;
}

static int server_alloc(struct egd_server *s, const struct egd_config *cfg)
{
	s->nls = cfg->nlisteners;
	s->max_clients = cfg->max_clients ? cfg->max_clients : EGD_DEFAULT_CLIENTS;
	s->max_per_uid = cfg->max_per_uid ? cfg->max_per_uid :
			 s->max_clients / 2 ? s->max_clients / 2 : 1;
	s->queue_max = cfg->queue_max ? cfg->queue_max : EGD_DEFAULT_QUEUE;
	s->rate = cfg->rate;
	s->burst = cfg->burst ? cfg->burst : cfg->rate;
	if (s->rate && s->burst == 0)
		s->burst = 1;
	s->ls = calloc(s->nls, sizeof(*s->ls));
	s->cl = calloc(s->max_clients, sizeof(*s->cl));
	s->map = calloc(s->nls + s->max_clients, sizeof(*s->map));
	for (size_t i = 0; s->ls && i < s->nls; i++)
		s->ls[i].sock.fd = -1;
	return s->ls && s->cl && s->map ? 0 : -ENOMEM;
}

/* Make room for every client under RLIMIT_NOFILE: raise the soft limit as
 * far as needed and allowed; when the hard limit is lower still, serve
 * fewer clients, and say so once. */
static void fit_fd_limit(struct egd_config *c)
{
	unsigned want = c->max_clients ? c->max_clients : EGD_DEFAULT_CLIENTS;
	rlim_t other = (rlim_t)c->nlisteners + EGD_FD_RESERVE, need = other + want;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ? rl.rlim_max : need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur >= need)
		return;
	c->max_clients = rl.rlim_cur > other ? (unsigned)(rl.rlim_cur - other) : 1;
	log_warnx("egd: %u clients need %llu descriptors, RLIMIT_NOFILE allows %llu: "
		  "serving at most %u clients at once (raise the limit, e.g. LimitNOFILE= "
		  "in the unit, or lower --egd-clients)", want, (unsigned long long)need,
		  (unsigned long long)rl.rlim_cur, c->max_clients);
}

int egd_server_new(struct egd_server **sp, const struct egd_config *cfg,
		   const struct byte_source *src, char *err, size_t errlen)
{
	struct egd_config c = *cfg;
	struct egd_server *s;
	size_t i;
	int r;

	*sp = NULL;
	r = config_check(cfg, err, errlen);
	if (r < 0)
		return r;
	fit_fd_limit(&c);
	s = calloc(1, sizeof(*s));
	if (!s || server_alloc(s, &c) < 0) {
		egd_server_free(s);
		return listen_set_err(err, errlen, -ENOMEM, "out of memory");
	}
	s->src = *src;
	for (i = 0; i < s->nls; i++) {
		const struct egd_listener_cfg *lc = &c.listeners[i];
		struct listen_spec ls = { lc->spec, lc->inherited, lc->fd,
					  c.unix_mode, c.unix_gid };

		r = listener_open(&s->ls[i].sock, &ls, err, errlen);
		if (r < 0) {
			egd_server_free(s);
			return r;
		}
	}
	*sp = s;
	return 0;
}

void egd_server_free(struct egd_server *s)
{
	unsigned i;

	if (!s)
		return;
	for (i = 0; s->cl && i < s->max_clients; i++)
		if (s->cl[i])
			egd_client_close(s, i);
	for (i = 0; s->ls && i < s->nls; i++)
		listener_close(&s->ls[i].sock);
	free(s->ls);
	free(s->cl);
	free(s->map);
	free(s);
}
