/* daemon.c - forking, the pidfile, systemd notification (see daemon.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
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
#include "util.h"

int pidfile_write(const char *path)
{
	char buf[32];
	struct stat st;
	int fd, len, ret = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_err("cannot write the pidfile %s", path);
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		log_errx("pidfile %s is not a plain file; refusing it", path);
		close(fd);
		return -1;
	}
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || write_all(fd, buf, (size_t)len) < 0) {
		log_err("cannot write the pidfile %s", path);
		ret = -1;
	}
	close(fd);
	return ret;
}

void pidfile_remove(const char *path)
{
	if (path && unlink(path) < 0 && errno != ENOENT)
		log_warn("cannot remove the pidfile %s", path);
}

/* The parent: wait for the child's one status byte, or its death. */
static void parent_wait(pid_t child, int fd)
{
	unsigned char status = 1;
	int ws;

	if (read(fd, &status, 1) != 1) {
		/* the child died before reporting */
		if (waitpid(child, &ws, 0) == child && WIFEXITED(ws))
			status = (unsigned char)WEXITSTATUS(ws);
		else
			status = 1;
	}
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
	int p[2];
	pid_t pid;

	*ready = -1;
	if (pipe2(p, O_CLOEXEC) < 0) {
		log_err("cannot create a pipe");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		log_err("cannot fork");
		return -1;
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
	if (pidfile && pidfile_write(pidfile) < 0)
		return -1;
	if (setsid() < 0 || chdir("/") < 0)
		log_warn("cannot detach from the terminal");
	log_init("havege-rngd", LOG_DEST_SYSLOG, log_get_verbose());
	detach_stdio();
	return 0;
}

void daemon_ready(int fd, int status)
{
	unsigned char b = (unsigned char)status;

	if (fd < 0)
		return;
	if (write(fd, &b, 1) != 1)
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
