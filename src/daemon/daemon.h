/* daemon.h - process plumbing: forking, the pidfile, systemd notification.
 *
 * daemon_fork() forks; the parent waits until the child reports with
 * daemon_ready() (start-up tests passed: status 0; or failed: 1, followed
 * by the last error the child sent to syslog, which the parent prints on
 * the caller's stderr) and exits with that status, so `havege-rngd`
 * without -F still fails visibly, saying why.  A SIGTERM, SIGINT or SIGHUP
 * to the waiting parent is passed on to the child, and the parent then
 * exits with the child's own status.  The child writes the pidfile (a
 * refusal is reported on the caller's stderr), then starts a session,
 * moves to /, and points stdin, stdout and stderr at /dev/null.
 *
 * pidfile_write() refuses a symlink (O_NOFOLLOW) or anything but a regular
 * file (a FIFO too: opened O_NONBLOCK, it cannot hang), and locks it
 * (fcntl) for the process's life: a pidfile held by a running instance is
 * refused in one line naming its pid.  pidfile_remove() removes it on a
 * clean exit and drops the lock.
 * notify() sends an sd_notify(3) line when run under systemd ($NOTIFY_SOCKET).
 */
#ifndef HRNG_DAEMON_H
#define HRNG_DAEMON_H

#include <stdbool.h>

/* Returns 0 in the child, with *ready the descriptor for daemon_ready();
 * the parent never returns.  -errno (logged) if the fork failed (*ready is -1),
 * or in the child if the pidfile was refused: the caller cleans up and then
 * reports status 1 on *ready. */
int daemon_fork(const char *pidfile, int *ready);
void daemon_ready(int fd, int status);
/* Returns 0, or -errno after logging one line. */
int pidfile_write(const char *path);
void pidfile_remove(const char *path);
void notify(const char *line);

#endif
