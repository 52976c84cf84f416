/* fds.c - descriptors 0-2 open, inherited ones closed (see fds.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fds.h"

int fds_std_open(void)
{
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		int nf;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* the lowest free number: this one, since those below are open */
		nf = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (nf < 0)
			return -errno;
		if (nf != fd) {         /* a lower one closed meanwhile: not ours */
			close(nf);
			return -EBADF;
		}
	}
	return 0;
}

/* Without close_range(2): every descriptor /proc lists, or failing that
 * every number up to the limit. */
static void close_each(long first)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long max, fd;

	if (d) {
		while ((e = readdir(d)) != NULL) {
			char *end;

			fd = strtol(e->d_name, &end, 10);
			if (*end == '\0' && end != e->d_name && fd >= first && fd != dirfd(d))
				close((int)fd);
		}
		closedir(d);
		return;
	}
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = first; fd < max; fd++)
		close((int)fd);
}

void fds_close_inherited(int keep)
{
	unsigned first = 3u + (unsigned)keep;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, first, ~0u, 0u) == 0)
		return;
#endif
	close_each((long)first);
}

/* ------------------------------------------------------------ socket activation */

/* A decimal number, all of s, at most max; -EINVAL otherwise. */
static long parse_count(const char *s, long max)
{
	char *end;
	long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	return errno || *end || v > max ? -EINVAL : v;
}

/* Is fd a listening stream socket?  Made non-blocking and close-on-exec. */
static int listener_check(int fd, char *err, size_t errlen)
{
	int type = 0, acc = 0, fl;
	socklen_t len = sizeof(type), alen = sizeof(acc);

	if (fcntl(fd, F_GETFD) < 0) {
		snprintf(err, errlen, "LISTEN_FDS: descriptor %d is not open", fd);
		return -EINVAL;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen) < 0) {
		snprintf(err, errlen, "LISTEN_FDS: descriptor %d is not a socket", fd);
		return -EINVAL;
	}
	if (type != SOCK_STREAM || !acc) {
		snprintf(err, errlen, "LISTEN_FDS: descriptor %d is not a listening stream "
			 "socket (ListenStream= in the socket unit)", fd);
		return -EINVAL;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		snprintf(err, errlen, "LISTEN_FDS: descriptor %d: %s", fd, strerror(errno));
		return -EINVAL;
	}
	return 0;
}

static int listeners_check(const char *pid_s, const char *n_s, char *err, size_t errlen)
{
	long pid = parse_count(pid_s, 0x7fffffffL);
	long n = parse_count(n_s, FDS_LISTEN_MAX);
	int i;

	if (pid != (long)getpid()) {
		snprintf(err, errlen, "LISTEN_PID=%s is not this process (%ld): the sockets "
			 "are not ours", pid_s ? pid_s : "(unset)", (long)getpid());
		return -EINVAL;
	}
	if (n < 1) {
		snprintf(err, errlen, "LISTEN_FDS=%s: expected 1 to %d sockets", n_s,
			 FDS_LISTEN_MAX);
		return -EINVAL;
	}
	for (i = 0; i < n; i++)
		if (listener_check(FDS_LISTEN_FIRST + i, err, errlen) < 0)
			return -EINVAL;
	return (int)n;
}

int fds_listeners(char *err, size_t errlen)
{
	const char *n_s = getenv("LISTEN_FDS");
	int n;

	if (!n_s) {
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDNAMES");
		return 0;
	}
	n = listeners_check(getenv("LISTEN_PID"), n_s, err, errlen);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return n;
}
