/* egd.c - the EGD server: listeners, clients, the protocol, fair service.
 *
 * Functions offered (see egd.h for the contract of each):
 *   egd_parse()                           the request parser, pure
 *   egd_server_new() / egd_server_free()  listeners up / everything down
 *   egd_max_pollfds(), egd_pollfds(), egd_dispatch()
 *                                         the caller's poll loop drives us
 *   egd_get_stats(), egd_log_stats()      counters per listener
 *
 * Sections, in reading order: the parser; listeners (spec parsing, the
 * UNIX socket file's safe replacement, TCP); the per-client token bucket;
 * the per-client output queue; serving requests; the poll interface;
 * statistics; set-up and tear-down.
 *
 * Memory per client is bounded: a fixed input buffer of a few requests
 * and an output queue of queue_max bytes.  A client whose queue is full is
 * not read from, so it cannot make us queue more (its own socket buffer
 * then fills and its writes block, which is the kernel's back-pressure).
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "egd.h"
#include "log.h"
#include "util.h"

/* ---------------------------------------------------------------- parser
 *
 * egd_parse() decodes one request; it knows the length of every command
 * from its first bytes, so it never needs to look past the request.
 */

int egd_parse(const uint8_t *buf, size_t len, struct egd_request *req)
{
	size_t need;

	if (len == 0)
		return 0;
	memset(req, 0, sizeof(*req));
	switch (buf[0]) {
	case EGD_CMD_LEVEL:
	case EGD_CMD_PID:
		req->cmd = buf[0];
		return 1;
	case EGD_CMD_READ_NB:
	case EGD_CMD_READ:
		if (len < 2)
			return 0;
		req->cmd = buf[0];
		req->count = buf[1];
		return 2;
	case EGD_CMD_WRITE:
		if (len < 4)
			return 0;
		need = 4 + (size_t)buf[3];
		if (len < need)
			return 0;
		req->cmd = EGD_CMD_WRITE;
		req->bits = (uint16_t)(buf[1] << 8 | buf[2]);
		req->count = buf[3];
		req->data = buf + 4;
		return (int)need;
	default:
		return -EPROTO;
	}
}

/* ---------------------------------------------------------------- listeners
 *
 * listener_open() parses one spec and opens it: unix_open() or tcp_open().
 * A UNIX socket file is ours to remove only while it is the very inode we
 * bound (dev, ino), so free never removes a file someone put there later.
 */

enum {
	EGD_BACKLOG = 128,
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

struct quiet_log {
	uint64_t last_ns;               /* when a line was last logged */
	uint64_t quiet;                 /* events since, not logged */
	bool logged;                    /* last_ns is set */
};

struct egd_listener {
	int fd;
	char *name;                     /* the spec, for messages */
	char *path;                     /* UNIX: the socket file we made, else NULL */
	bool is_unix;                   /* an AF_UNIX listener (made or inherited) */
	dev_t dev;                      /* UNIX: the inode we bound */
	ino_t ino;
	unsigned port;                  /* TCP: the bound port */
	uint64_t retry_ns;              /* not polled before this (EMFILE) */
	struct quiet_log accept_log;    /* accept() failures */
	struct quiet_log uid_log;       /* connections refused per uid */
	bool ready;                     /* POLLIN seen in this dispatch */
	struct egd_listener_stats st;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Is a live server listening on path?  A refused connection means the
 * file is left over from a process that died without removing it. */
static bool unix_in_use(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return live;
}

/* Remove a stale socket file.  lstat(), never stat(): a symlink is
 * refused, not followed, and so is anything that is not a socket. */
static int unix_clear(const char *path, const struct sockaddr_un *sa,
		      char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		set_err(err, errlen, "%s exists and is not a socket%s; not replacing it",
			path, S_ISLNK(st.st_mode) ? " (a symbolic link)" : "");
		return -1;
	}
	if (unix_in_use(sa)) {
		set_err(err, errlen, "%s: another server is listening there", path);
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		set_err(err, errlen, "cannot remove the stale socket %s: %s",
			path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Owner and mode are set on the file without following a link, so a
 * symlink swapped in after bind() cannot redirect them. */
static int unix_set_perms(struct egd_listener *l, const struct egd_config *cfg,
			  char *err, size_t errlen)
{
	struct stat st;

	if (cfg->unix_gid != (gid_t)-1 &&
	    fchownat(AT_FDCWD, l->path, (uid_t)-1, cfg->unix_gid, AT_SYMLINK_NOFOLLOW) < 0) {
		set_err(err, errlen, "cannot give %s group %u: %s", l->path,
			(unsigned)cfg->unix_gid, strerror(errno));
		return -1;
	}
	if (fchmodat(AT_FDCWD, l->path, cfg->unix_mode, AT_SYMLINK_NOFOLLOW) < 0) {
		set_err(err, errlen, "cannot set the mode of %s: %s", l->path,
			strerror(errno));
		return -1;
	}
	if (lstat(l->path, &st) < 0 || !S_ISSOCK(st.st_mode) ||
	    st.st_dev != l->dev || st.st_ino != l->ino) {
		set_err(err, errlen, "%s changed under us", l->path);
		return -1;
	}
	return 0;
}

static int unix_open(struct egd_listener *l, const char *path,
		     const struct egd_config *cfg, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t mask;
	int rc;

	if (!*path || strlen(path) >= sizeof(sa.sun_path)) {
		set_err(err, errlen, "%s: bad UNIX socket path", l->name);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (unix_clear(path, &sa, err, errlen) < 0)
		return -1;
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		set_err(err, errlen, "%s: socket: %s", l->name, strerror(errno));
		return -1;
	}
	/* Born owner-only; opened up to the configured mode only once the
	 * group is right, so no other user can connect in between. */
	mask = umask(0177);
	rc = bind(l->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(mask);
	if (rc < 0) {
		set_err(err, errlen, "%s: bind: %s", l->name, strerror(errno));
		return -1;
	}
	l->is_unix = true;
	l->path = strdup(path);
	if (!l->path) {
		unlink(path);
		set_err(err, errlen, "out of memory");
		return -1;
	}
	/* From here on listener_close() removes the file if it fails. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		l->dev = st.st_dev;
		l->ino = st.st_ino;
	}
	return unix_set_perms(l, cfg, err, errlen);
}

/* "[HOST:]PORT", HOST may be "[v6-address]"; HOST defaults to loopback.
 * Splits spec in place. */
static int tcp_split(char *spec, const char **host, const char **port)
{
	char *colon;

	*host = "127.0.0.1";
	if (spec[0] == '[') {
		char *end = strchr(spec, ']');

		if (!end || end[1] != ':')
			return -1;
		*end = '\0';
		*host = spec + 1;
		*port = end + 2;
	} else if ((colon = strrchr(spec, ':'))) {
		*colon = '\0';
		*host = spec;
		*port = colon + 1;
	} else {
		*port = spec;
	}
	if (!**host || !**port || strspn(*port, "0123456789") != strlen(*port) ||
	    strlen(*port) > 5 || atoi(*port) > 65535)
		return -1;
	return 0;
}

static int tcp_bind(struct egd_listener *l, const struct addrinfo *ai)
{
	int one = 1;

	l->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       ai->ai_protocol);
	if (l->fd < 0)
		return -1;
	/* A restart must not wait out TIME_WAIT from the last run's clients. */
	if (setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(l->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		int e = errno;

		close(l->fd);
		l->fd = -1;
		errno = e;
		return -1;
	}
	return 0;
}

static unsigned tcp_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int tcp_open(struct egd_listener *l, const char *spec, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV |
					     AI_NUMERICHOST };
	struct addrinfo *res, *ai;
	const char *host, *port;
	char *copy = strdup(spec);
	int rc;

	if (!copy || tcp_split(copy, &host, &port) < 0) {
		set_err(err, errlen, "%s: expected tcp:[HOST:]PORT", l->name);
		free(copy);
		return -1;
	}
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		set_err(err, errlen, "%s: %s", l->name, gai_strerror(rc));
		free(copy);
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next)
		if (tcp_bind(l, ai) == 0)
			break;
	if (!ai)
		set_err(err, errlen, "%s: bind: %s", l->name, strerror(errno));
	freeaddrinfo(res);
	free(copy);
	if (l->fd < 0)
		return -1;
	l->port = tcp_port(l->fd);
	return 0;
}

/* A socket handed over: already bound and listening (fds_listeners()
 * checked that), its file and mode the socket unit's. */
static int inherited_open(struct egd_listener *l, int fd)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);

	l->fd = fd;
	if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0) {
		l->is_unix = sa.ss_family == AF_UNIX;
		if (sa.ss_family == AF_INET || sa.ss_family == AF_INET6)
			l->port = tcp_port(fd);
	}
	return 0;
}

static int listener_open(struct egd_listener *l, const struct egd_listener_cfg *lc,
			 const struct egd_config *cfg, char *err, size_t errlen)
{
	const char *spec = lc->spec;
	int rc;

	l->fd = -1;
	l->name = strdup(spec ? spec : "");
	if (!l->name) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	if (lc->inherited)
		return inherited_open(l, lc->fd);
	if (spec && strncmp(spec, "unix:", 5) == 0)
		rc = unix_open(l, spec + 5, cfg, err, errlen);
	else if (spec && strncmp(spec, "tcp:", 4) == 0)
		rc = tcp_open(l, spec + 4, err, errlen);
	else {
		set_err(err, errlen, "%s: expected unix:PATH or tcp:[HOST:]PORT", l->name);
		rc = -1;
	}
	if (rc == 0 && listen(l->fd, EGD_BACKLOG) < 0) {
		set_err(err, errlen, "%s: listen: %s", l->name, strerror(errno));
		rc = -1;
	}
	return rc;
}

static void listener_close(struct egd_listener *l)
{
	struct stat st;

	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	if (l->path && lstat(l->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == l->dev && st.st_ino == l->ino)
		unlink(l->path);
	free(l->path);
	free(l->name);
	l->path = l->name = NULL;
}

/* ---------------------------------------------------------------- token bucket
 *
 * Each client has its own bucket of burst bytes, refilled at rate bytes/s
 * on the caller's monotonic clock.  The level is kept in byte-nanoseconds
 * (bytes x 1e9) so that no fraction of a byte is lost between refills;
 * rate and burst are at most 1e9, so the level stays below 2^60.
 */

enum { EGD_WAKE_HZ = 100 };     /* a limited client wakes us at most this often */

struct bucket {
	uint64_t level;                 /* byte-ns, <= burst * NS_PER_SEC */
	uint64_t last_ns;
};

static void bucket_refill(struct bucket *b, uint64_t rate, uint64_t burst, uint64_t now)
{
	uint64_t cap = burst * NS_PER_SEC, dt;

	if (!rate || now <= b->last_ns)
		return;
	dt = now - b->last_ns;
	b->last_ns = now;
	if (dt >= cap / rate + 1 || cap - b->level <= dt * rate)
		b->level = cap;
	else
		b->level += dt * rate;
}

static uint64_t bucket_bytes(const struct bucket *b, uint64_t rate)
{
	return rate ? b->level / NS_PER_SEC : UINT64_MAX;
}

static void bucket_take(struct bucket *b, uint64_t rate, uint64_t n)
{
	if (rate) {
		assert(n * NS_PER_SEC <= b->level);
		b->level -= n * NS_PER_SEC;
	}
}

/* Nanoseconds until the bucket holds want bytes. */
static uint64_t bucket_wait(const struct bucket *b, uint64_t rate, uint64_t want)
{
	uint64_t need = want * NS_PER_SEC;

	if (!rate || b->level >= need)
		return 0;
	return (need - b->level + rate - 1) / rate;
}

/* ---------------------------------------------------------------- clients
 *
 * A client's output queue is out[off .. off+len) of queue_max bytes; sent
 * bytes are wiped at once, and the rest is wiped when the client goes.
 */

enum {
	EGD_INBUF = 2 * EGD_REQUEST_MAX,  /* whole requests, never more */
	EGD_QUANTUM = 4096,               /* bytes per client per pass */
};

struct egd_client {
	int fd;
	unsigned listener;
	bool eof;                       /* the peer sends no more: finish, close */
	unsigned owed;                  /* 0x02 bytes still to queue, before any later request */
	size_t inlen;
	uint8_t in[EGD_INBUF];
	uint8_t *out;
	size_t off, len;                /* off + len <= queue_max */
	struct bucket bucket;
	uint64_t stall_ns;              /* a request half sent since (0: none) */
	uid_t uid;                      /* a UNIX peer's, when has_uid */
	bool has_uid;
};

struct egd_server {
	struct egd_listener *ls;
	size_t nls;
	struct egd_client **cl;         /* max_clients slots, NULL = free */
	unsigned max_clients;
	unsigned max_per_uid;           /* UNIX peers of one uid but root */
	unsigned nclients;
	unsigned cursor;                /* round robin: the pass starts here */
	egd_read_fn read;
	void *ctx;
	uint64_t rate, burst;
	size_t queue_max;
	bool more;                      /* the last pass left work undone */
	bool source_dead;               /* read failed: logged once */
	int32_t *map;                   /* pollfd i -> slot, or -(listener + 1) */
	size_t nmap;
};

static size_t out_space(const struct egd_server *s, const struct egd_client *c)
{
	return s->queue_max - c->len;
}

/* Make n bytes room at the tail; the caller has checked out_space(). */
static uint8_t *out_tail(const struct egd_server *s, struct egd_client *c, size_t n)
{
	assert(n <= out_space(s, c));
	if (c->off + c->len + n > s->queue_max) {
		memmove(c->out, c->out + c->off, c->len);
		wipe(c->out + c->len, c->off);
		c->off = 0;
	}
	return c->out + c->off + c->len;
}

static void out_commit(const struct egd_server *s, struct egd_client *c, size_t n)
{
	struct egd_listener_stats *st = &s->ls[c->listener].st;

	c->len += n;
	if (c->len > st->queue_peak)
		st->queue_peak = c->len;
}

static void client_close(struct egd_server *s, unsigned slot)
{
	struct egd_client *c = s->cl[slot];

	close(c->fd);
	wipe(c->out, s->queue_max);
	wipe(c->in, sizeof(c->in));
	secret_free(c->out, s->queue_max);
	s->ls[c->listener].st.clients_now--;
	s->nclients--;
	free(c);
	s->cl[slot] = NULL;
}

/* Read what fits in the input buffer.  Returns 0, or -1 on a socket
 * error (the caller closes). */
static int client_read(struct egd_client *c)
{
	while (!c->eof && c->inlen < sizeof(c->in)) {
		ssize_t r = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen,
				 MSG_DONTWAIT);

		if (r > 0)
			c->inlen += (size_t)r;
		else if (r == 0)
			c->eof = true;
		else if (errno == EINTR)
			continue;
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		else
			return -1;
	}
	return 0;
}

/* Send what the socket takes.  Returns 0, or -1 on a socket error. */
static int client_flush(struct egd_client *c)
{
	while (c->len > 0) {
		ssize_t w = send(c->fd, c->out + c->off, c->len,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		wipe(c->out + c->off, (size_t)w);
		c->off += (size_t)w;
		c->len -= (size_t)w;
	}
	c->off = 0;
	return 0;
}

/* Replies to the requests before the bad one still go out if the socket
 * takes them now; then the connection is closed. */
static void client_proto_error(struct egd_server *s, unsigned slot)
{
	s->ls[s->cl[slot]->listener].st.protocol_errors++;
	client_flush(s->cl[slot]);
	client_close(s, slot);
}

/* ---------------------------------------------------------------- serving
 *
 * serve_pass() visits every client once, starting one further along each
 * time (round robin), and gives each at most EGD_QUANTUM bytes of output,
 * so a greedy client delays the others by one quantum at most.  Within a
 * client, requests are answered strictly in order: a 0x02 reply is
 * completed before anything after it is looked at, which is the FIFO that
 * QEMU relies on when it has several requests outstanding.
 */

enum serve_result { SERVE_OK, SERVE_WAIT, SERVE_CLOSE, SERVE_ERROR };

/* Append n bytes from the source.  -EIO: the source is dead. */
static int queue_random(struct egd_server *s, struct egd_client *c, size_t n)
{
	uint8_t *p = out_tail(s, c, n);

	if (s->read(s->ctx, p, n) < 0) {
		wipe(p, n);
		if (!s->source_dead)
			log_warnx("egd: the byte source failed; closing clients");
		s->source_dead = true;
		return -EIO;
	}
	out_commit(s, c, n);
	s->ls[c->listener].st.bytes_served += n;
	return 0;
}

/* 0x00: what a client could take right now without waiting. */
static void reply_level(struct egd_server *s, struct egd_client *c)
{
	uint64_t bytes = bucket_bytes(&c->bucket, s->rate);
	uint64_t bits;
	uint8_t *p = out_tail(s, c, 4);

	if (bytes > s->queue_max)
		bytes = s->queue_max;
	bits = bytes * 8 > UINT32_MAX ? UINT32_MAX : bytes * 8;
	p[0] = (uint8_t)(bits >> 24);
	p[1] = (uint8_t)(bits >> 16);
	p[2] = (uint8_t)(bits >> 8);
	p[3] = (uint8_t)bits;
	out_commit(s, c, 4);
}

static enum serve_result reply_read_nb(struct egd_server *s, struct egd_client *c,
				       unsigned n)
{
	uint64_t k = bucket_bytes(&c->bucket, s->rate);

	if (k > n)
		k = n;
	if (out_space(s, c) < 1 + k)
		return SERVE_WAIT;
	*out_tail(s, c, 1) = (uint8_t)k;
	out_commit(s, c, 1);
	if (k && queue_random(s, c, (size_t)k) < 0)
		return SERVE_ERROR;
	bucket_take(&c->bucket, s->rate, k);
	return SERVE_OK;
}

static void reply_pid(struct egd_server *s, struct egd_client *c, const char *pid)
{
	size_t n = strlen(pid);
	uint8_t *p = out_tail(s, c, 1 + n);

	p[0] = (uint8_t)n;
	memcpy(p + 1, pid, n);
	out_commit(s, c, 1 + n);
}

static enum serve_result handle(struct egd_server *s, struct egd_client *c,
				struct egd_request *r)
{
	char pid[24];

	switch (r->cmd) {
	case EGD_CMD_LEVEL:
		if (out_space(s, c) < 4)
			return SERVE_WAIT;
		reply_level(s, c);
		return SERVE_OK;
	case EGD_CMD_READ_NB:
		return reply_read_nb(s, c, r->count);
	case EGD_CMD_READ:
		c->owed = r->count;
		return SERVE_OK;
	case EGD_CMD_WRITE:
		/* Discarded: see doc/egd.md for why. */
		s->ls[c->listener].st.discarded_bytes += r->count;
		return SERVE_OK;
	case EGD_CMD_PID:
		snprintf(pid, sizeof(pid), "%ld", (long)getpid());
		if (out_space(s, c) < 1 + strlen(pid))
			return SERVE_WAIT;
		reply_pid(s, c, pid);
		return SERVE_OK;
	}
	return SERVE_CLOSE;     /* not reached: egd_parse() knows only these */
}

/* Queue as much of the owed 0x02 reply as tokens, room and budget allow. */
static enum serve_result serve_owed(struct egd_server *s, struct egd_client *c,
				    size_t *budget)
{
	uint64_t n = c->owed;

	if (n > bucket_bytes(&c->bucket, s->rate))
		n = bucket_bytes(&c->bucket, s->rate);
	if (n > out_space(s, c))
		n = out_space(s, c);
	if (n > *budget)
		n = *budget;
	if (n == 0)
		return SERVE_WAIT;
	if (queue_random(s, c, (size_t)n) < 0)
		return SERVE_ERROR;
	bucket_take(&c->bucket, s->rate, n);
	c->owed -= (unsigned)n;
	*budget -= (size_t)n;
	return SERVE_OK;
}

/* Parse and answer the next request.  The request is consumed (and its
 * bytes wiped: they may be 0x03 data) only once it is answered. */
static enum serve_result serve_next(struct egd_server *s, struct egd_client *c)
{
	struct egd_request r;
	enum serve_result res;
	int n = egd_parse(c->in, c->inlen, &r);

	if (n < 0)
		return SERVE_ERROR;
	if (n == 0)
		return c->eof && c->inlen ? SERVE_ERROR : SERVE_WAIT;
	res = handle(s, c, &r);
	if (res != SERVE_OK)
		return res;
	s->ls[c->listener].st.requests++;
	memmove(c->in, c->in + n, c->inlen - (size_t)n);
	c->inlen -= (size_t)n;
	c->stall_ns = 0;                /* a request done: the next one's clock */
	wipe(c->in + c->inlen, (size_t)n);
	return SERVE_OK;
}

/* A request half sent, with nothing owed or queued to the client: the rest
 * is the client's to send, and it gets EGD_STALL_S seconds to do it (QEMU
 * sends each request whole).  Idle connections, with no request begun,
 * are kept: QEMU holds its one open as long as the guest runs. */
static bool stalled(struct egd_client *c, uint64_t now)
{
	if (!c->inlen || c->owed || c->len || c->eof) {
		c->stall_ns = 0;
		return false;
	}
	if (!c->stall_ns)
		c->stall_ns = now;
	return now - c->stall_ns >= (uint64_t)EGD_STALL_S * NS_PER_SEC;
}

static enum serve_result serve_client(struct egd_server *s, struct egd_client *c,
				      uint64_t now)
{
	size_t budget = EGD_QUANTUM;
	enum serve_result res = SERVE_OK;

	bucket_refill(&c->bucket, s->rate, s->burst, now);
	while (res == SERVE_OK && budget > 0)
		res = c->owed ? serve_owed(s, c, &budget) : serve_next(s, c);
	if (res == SERVE_OK)
		s->more = true;         /* the budget ran out with work left */
	if (res == SERVE_ERROR && s->source_dead) {
		client_flush(c);        /* what was read before the failure is good */
		return SERVE_CLOSE;
	}
	if (res == SERVE_ERROR)
		return SERVE_ERROR;
	if (client_flush(c) < 0)
		return SERVE_CLOSE;
	if (c->eof && !c->owed && !c->inlen && !c->len)
		return SERVE_CLOSE;
	return stalled(c, now) ? SERVE_ERROR : SERVE_OK;
}

static void serve_pass(struct egd_server *s, uint64_t now)
{
	unsigned i, slot;

	s->more = false;
	for (i = 0; i < s->max_clients; i++) {
		slot = (s->cursor + i) % s->max_clients;
		if (!s->cl[slot])
			continue;
		switch (serve_client(s, s->cl[slot], now)) {
		case SERVE_ERROR:
			client_proto_error(s, slot);
			break;
		case SERVE_CLOSE:
			client_close(s, slot);
			break;
		default:
			break;
		}
	}
	s->cursor = (s->cursor + 1) % s->max_clients;
}

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
		log_warnx("egd %s: accept: %s (%llu more since the last report)", l->name,
			  strerror(e), (unsigned long long)quiet);
	else
		log_warnx("egd %s: accept: %s (reported at most once a minute)", l->name,
			  strerror(e));
}

/* A UNIX peer's uid (SO_PEERCRED); false for TCP, or when it is unknown. */
static bool peer_uid(const struct egd_listener *l, int fd, uid_t *uid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (!l->is_unix || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
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
			  "allows: refused (%llu more since the last report)", l->name,
			  (unsigned)uid, max, (unsigned long long)quiet);
	else
		log_warnx("egd %s: uid %u holds %u connections, the most --egd-per-uid "
			  "allows: refused (reported at most once a minute)", l->name,
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
		fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
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
	lower_timeout(timeout_ns, bucket_wait(&c->bucket, s->rate, want));
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
		fds[n] = (struct pollfd){ .fd = s->ls[i].fd, .events = POLLIN };
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
		client_close(s, slot);
		return;
	}
	if ((rev & POLLIN) && client_read(c) < 0) {
		client_close(s, slot);
		return;
	}
	if ((rev & POLLOUT) && client_flush(c) < 0)
		client_close(s, slot);
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
		if (m < 0 && s->ls[-m - 1].fd == fds[i].fd)
			s->ls[-m - 1].ready = true;
		else if (m >= 0 && s->cl[m] && s->cl[m]->fd == fds[i].fd)
			dispatch_client(s, (unsigned)m, fds[i].revents);
	}
	serve_pass(s, now_ns);
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
		return -1;
	if (st)
		*st = s->ls[i].st;
	if (port)
		*port = s->ls[i].port;
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
			 s->ls[i].name, (unsigned long long)st->bytes_served,
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
	if (!cfg->listeners || cfg->nlisteners == 0) {
		set_err(err, errlen, "egd: no listener given");
		return -1;
	}
	if (cfg->rate > EGD_RATE_MAX || cfg->burst > EGD_RATE_MAX) {
		set_err(err, errlen, "egd: rate and burst must be at most %llu bytes",
			EGD_RATE_MAX);
		return -1;
	}
	if (cfg->queue_max && cfg->queue_max < EGD_QUEUE_MIN) {
		set_err(err, errlen, "egd: the output queue must hold at least %d bytes",
			EGD_QUEUE_MIN);
		return -1;
	}
	if (cfg->unix_mode & ~(mode_t)0777) {
		set_err(err, errlen, "egd: a socket file's mode is 0 to 0777, not %#o",
			(unsigned)cfg->unix_mode);
		return -1;
	}
	if (cfg->max_clients > EGD_CLIENTS_MAX || cfg->max_per_uid > EGD_CLIENTS_MAX) {
		set_err(err, errlen, "egd: at most %d clients", EGD_CLIENTS_MAX);
		return -1;
	}
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
		s->ls[i].fd = -1;
	return s->ls && s->cl && s->map ? 0 : -1;
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
		   egd_read_fn read, void *ctx, char *err, size_t errlen)
{
	struct egd_config c = *cfg;
	struct egd_server *s;
	size_t i;

	*sp = NULL;
	if (config_check(cfg, err, errlen) < 0)
		return -1;
	fit_fd_limit(&c);
	s = calloc(1, sizeof(*s));
	if (!s || server_alloc(s, &c) < 0) {
		set_err(err, errlen, "out of memory");
		egd_server_free(s);
		return -1;
	}
	s->read = read;
	s->ctx = ctx;
	for (i = 0; i < s->nls; i++) {
		if (listener_open(&s->ls[i], &c.listeners[i], &c, err, errlen) < 0) {
			egd_server_free(s);
			return -1;
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
			client_close(s, i);
	for (i = 0; s->ls && i < s->nls; i++)
		listener_close(&s->ls[i]);
	free(s->ls);
	free(s->cl);
	free(s->map);
	free(s);
}
