/* daemon.c - forking, the pidfile, systemd notification (see daemon.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "daemon.h"
#include "log.h"
#include "signals.h"
#include "util.h"

/* The pidfile, open and locked for the daemon's life (-1: none). */
static int pidfile_fd = -1;

/* Open path for writing without blocking (a FIFO with no reader gives
 * ENXIO instead of a hang) and without following a symlink; only a plain
 * file with one link is taken.  Returns the descriptor or -errno (logged;
 * -EINVAL for something other than a plain file). */
static int pidfile_open(const char *path)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
		      0644);

	if (fd < 0 && errno != ENXIO) {
		int e = errno;

		log_err("cannot write the pidfile %s", path);
		return -e;
	}
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		log_errx("pidfile %s is not a plain file; refusing it", path);
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	return fd;
}

/* A write lock on the whole file, held until we close it: a second
 * instance with the same pidfile is refused.  Returns 0 or -errno (logged;
 * -EAGAIN when another process holds the lock). */
static int pidfile_lock(int fd, const char *path)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	if (fcntl(fd, F_SETLK, &fl) == 0)
		return 0;
	if (errno != EACCES && errno != EAGAIN) {
		int e = errno;

		log_err("cannot lock the pidfile %s", path);
		return -e;
	}
	fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET };
	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		log_errx("pidfile %s is held by a running havege-rngd (pid %ld); "
			 "not starting a second one", path, (long)fl.l_pid);
	else
		log_errx("pidfile %s is held by a running havege-rngd; not starting a second one",
			 path);
	return -EAGAIN;
}

int pidfile_write(const char *path)
{
	char buf[32];
	int fd, len, ret;

	fd = pidfile_open(path);
	if (fd < 0)
		return fd;
	ret = pidfile_lock(fd, path);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	ret = ftruncate(fd, 0) < 0 ? -errno : write_all(fd, buf, (size_t)len);
	if (ret < 0) {
		errno = -ret;
		log_err("cannot write the pidfile %s", path);
		close(fd);
		return ret;
	}
	pidfile_fd = fd;
	return 0;
}

void pidfile_remove(const char *path)
{
	/* unlinked while still locked, so no second instance can take the
	 * name and then lose it to us */
	if (path && unlink(path) < 0 && errno != ENOENT)
		log_warn("cannot remove the pidfile %s", path);
	if (pidfile_fd >= 0)
		close(pidfile_fd);
	pidfile_fd = -1;
}

/* ------------------------------------------------------------ the parent */

static volatile sig_atomic_t parent_signal;

/* A stop signal to the waiting parent stops the daemon too: the parent
 * passes it on and then waits for the daemon's own exit status. */
static void on_parent_signal(int sig)
{
	parent_signal = sig;
}

/* The child's exit status as a shell would give it. */
static unsigned char child_status(pid_t child)
{
	int ws;
	pid_t r;

	do
		r = waitpid(child, &ws, 0);
	while (r < 0 && errno == EINTR);
	if (r != child)
		return 1;
	if (WIFEXITED(ws))
		return (unsigned char)WEXITSTATUS(ws);
	return WIFSIGNALED(ws) ? (unsigned char)(128 + WTERMSIG(ws)) : 1;
}

/* read() that goes on after a signal, passing a stop signal on to the
 * child once. */
static ssize_t parent_read(pid_t child, int fd, void *buf, size_t n, bool *passed)
{
	ssize_t r;

	for (;;) {
		r = read(fd, buf, n);
		if (r >= 0 || errno != EINTR)
			return r;
		if (parent_signal && !*passed) {
			kill(child, parent_signal);
			*passed = true;
		}
	}
}

/* The parent: wait for the child's status byte (and, after a failure, the
 * reason it logged to syslog), or its death. */
static void parent_wait(pid_t child, int fd)
{
	unsigned char status = 1;
	char why[300];
	size_t have = 0;
	bool passed = false;
	ssize_t r;

	signals_catch_stop(on_parent_signal);
	r = parent_read(child, fd, &status, 1, &passed);
	while (r == 1 && status != 0 && have < sizeof(why) - 1) {
		ssize_t k = parent_read(child, fd, why + have, sizeof(why) - 1 - have, &passed);

		if (k <= 0)
			break;
		have += (size_t)k;
	}
	why[have] = '\0';
	if (have > 0)
		fprintf(stderr, "havege-rngd: %s\n", why);
	if (r != 1 || passed)
		status = child_status(child);
	_exit(status);
}

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

int daemon_fork(const char *pidfile, int *ready)
{
	int p[2], ret;
	pid_t pid;

	*ready = -1;
	if (pipe2(p, O_CLOEXEC) < 0) {
		ret = -errno;
		log_err("cannot create a pipe");
		return ret;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		log_err("cannot fork");
		return ret;
	}
	if (pid > 0) {
		close(p[1]);
		parent_wait(pid, p[0]);
	}
	close(p[0]);
	*ready = p[1];
	/* While stderr is still the caller's, so a refusal is seen there; the
	 * caller's error path then cleans up (sockets, descriptors) and tells
	 * the parent, which exits with status 1. */
	if (pidfile && (ret = pidfile_write(pidfile)) < 0)
		return ret;
	if (setsid() < 0 || chdir("/") < 0)
		log_warn("cannot detach from the terminal");
	log_init("havege-rngd", LOG_DEST_SYSLOG, log_get_verbose());
	detach_stdio();
	return 0;
}

/* The status byte; after a failure, the reason too if it went to syslog
 * only (a reason already on the caller's stderr is not repeated). */
void daemon_ready(int fd, int status)
{
	char msg[260];
	const char *why = status ? log_last_syslog_error() : "";
	size_t len = strlen(why);

	if (fd < 0)
		return;
	if (len > sizeof(msg) - 1)
		len = sizeof(msg) - 1;
	msg[0] = (char)status;
	memcpy(msg + 1, why, len);
	if (write(fd, msg, len + 1) != (ssize_t)(len + 1))
		log_warn("cannot report start-up to the parent");
	close(fd);
}

/*
 * systemd's notification protocol (sd_notify(3)): one datagram with the
 * text, to the AF_UNIX socket named by $NOTIFY_SOCKET; a leading '@' names
 * an abstract socket.  Without the variable, not under systemd: nothing to
 * do.  Ours rather than libsystemd's, which would add half a megabyte of
 * resident memory for these few lines.
 */
void notify(const char *line)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@'))
		return;
	len = strlen(path);
	if (len >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, line, strlen(line), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		log_warn("cannot notify systemd");
	close(fd);
}
