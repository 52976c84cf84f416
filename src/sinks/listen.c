/* listen.c - listening stream sockets: UNIX socket files made and
 * removed safely, TCP, and inherited sockets (see listen.h).
 *
 * listener_open() parses one spec and opens it: unix_open() or tcp_open().
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen.h"

enum { LISTEN_BACKLOG = 128 };

int listen_set_err(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return ret;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
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
		return listen_set_err(err, errlen, -errno, "%s: %s", path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return listen_set_err(err, errlen, -EEXIST,
				      "%s exists and is not a socket%s; not replacing it",
				      path, S_ISLNK(st.st_mode) ? " (a symbolic link)" : "");
	if (unix_in_use(sa))
		return listen_set_err(err, errlen, -EADDRINUSE,
				      "%s: another server is listening there", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return listen_set_err(err, errlen, -errno, "cannot remove the stale socket %s: %s",
				      path, strerror(errno));
	return 0;
}

/* Owner and mode are set on the file without following a link, so a
 * symlink swapped in after bind() cannot redirect them. */
static int unix_set_perms(struct listener *l, const struct listen_spec *ls,
			  char *err, size_t errlen)
{
	struct stat st;

	if (ls->unix_gid != (gid_t)-1 &&
	    fchownat(AT_FDCWD, l->path, (uid_t)-1, ls->unix_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return listen_set_err(err, errlen, -errno, "cannot give %s group %u: %s", l->path,
				      (unsigned)ls->unix_gid, strerror(errno));
	if (fchmodat(AT_FDCWD, l->path, ls->unix_mode, AT_SYMLINK_NOFOLLOW) < 0)
		return listen_set_err(err, errlen, -errno, "cannot set the mode of %s: %s",
				      l->path, strerror(errno));
	if (lstat(l->path, &st) < 0 || !S_ISSOCK(st.st_mode) ||
	    st.st_dev != l->dev || st.st_ino != l->ino)
		return listen_set_err(err, errlen, -ESTALE, "%s changed under us", l->path);
	return 0;
}

static int unix_open(struct listener *l, const char *path,
		     const struct listen_spec *ls, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t mask;
	int rc;

	if (!*path || strlen(path) >= sizeof(sa.sun_path))
		return listen_set_err(err, errlen, -EINVAL, "%s: bad UNIX socket path", l->name);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	rc = unix_clear(path, &sa, err, errlen);
	if (rc < 0)
		return rc;
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		return listen_set_err(err, errlen, -errno, "%s: socket: %s", l->name,
				      strerror(errno));
	/* Born owner-only; opened up to the configured mode only once the
	 * group is right, so no other user can connect in between. */
	mask = umask(0177);
	rc = bind(l->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(mask);
	if (rc < 0)
		return listen_set_err(err, errlen, -errno, "%s: bind: %s", l->name,
				      strerror(errno));
	l->is_unix = true;
	l->path = strdup(path);
	if (!l->path) {
		unlink(path);
		return listen_set_err(err, errlen, -ENOMEM, "out of memory");
	}
	/* From here on listener_close() removes the file if it fails. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		l->dev = st.st_dev;
		l->ino = st.st_ino;
	}
	return unix_set_perms(l, ls, err, errlen);
}

/* "[HOST:]PORT", HOST may be "[v6-address]"; HOST defaults to loopback.
 * Splits spec in place.  Returns 0, or -EINVAL. */
static int tcp_split(char *spec, const char **host, const char **port)
{
	char *colon;

	*host = "127.0.0.1";
	if (spec[0] == '[') {
		char *end = strchr(spec, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
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
		return -EINVAL;
	return 0;
}

/* Returns 0, or -errno (errno kept for the message). */
static int tcp_bind(struct listener *l, const struct addrinfo *ai)
{
	int one = 1;

	l->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       ai->ai_protocol);
	if (l->fd < 0)
		return -errno;
	/* A restart must not wait out TIME_WAIT from the last run's clients. */
	if (setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(l->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		int e = errno;

		close(l->fd);
		l->fd = -1;
		errno = e;
		return -e;
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

static int tcp_open(struct listener *l, const char *spec, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV |
					     AI_NUMERICHOST };
	struct addrinfo *res, *ai;
	const char *host, *port;
	char *copy = strdup(spec);
	int rc;

	rc = copy ? tcp_split(copy, &host, &port) : -ENOMEM;
	if (rc < 0) {
		free(copy);
		return listen_set_err(err, errlen, rc, "%s: expected tcp:[HOST:]PORT", l->name);
	}
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		rc = listen_set_err(err, errlen, rc == EAI_MEMORY ? -ENOMEM :
					    rc == EAI_SYSTEM ? -errno : -EINVAL,
				    "%s: %s", l->name, gai_strerror(rc));
		free(copy);
		return rc;
	}
	rc = -EADDRNOTAVAIL;            /* no address at all */
	for (ai = res; ai; ai = ai->ai_next)
		if ((rc = tcp_bind(l, ai)) == 0)
			break;
	if (!ai)
		listen_set_err(err, errlen, rc, "%s: bind: %s", l->name, strerror(errno));
	freeaddrinfo(res);
	free(copy);
	if (l->fd < 0)
		return rc;
	l->port = tcp_port(l->fd);
	return 0;
}

/* A socket handed over: already bound and listening (fds_listeners()
 * checked that), its file and mode the socket unit's. */
static int inherited_open(struct listener *l, int fd)
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

int listener_open(struct listener *l, const struct listen_spec *ls,
		  char *err, size_t errlen)
{
	const char *spec = ls->spec;
	int rc;

	l->fd = -1;
	l->name = strdup(spec ? spec : "");
	if (!l->name)
		return listen_set_err(err, errlen, -ENOMEM, "out of memory");
	if (ls->inherited)
		return inherited_open(l, ls->fd);
	if (spec && strncmp(spec, "unix:", 5) == 0)
		rc = unix_open(l, spec + 5, ls, err, errlen);
	else if (spec && strncmp(spec, "tcp:", 4) == 0)
		rc = tcp_open(l, spec + 4, err, errlen);
	else
		rc = listen_set_err(err, errlen, -EINVAL,
				    "%s: expected unix:PATH or tcp:[HOST:]PORT", l->name);
	if (rc == 0 && listen(l->fd, LISTEN_BACKLOG) < 0)
		rc = listen_set_err(err, errlen, -errno, "%s: listen: %s", l->name,
				    strerror(errno));
	return rc;
}

void listener_close(struct listener *l)
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
