/* daemon.h - process plumbing: forking, the pidfile, systemd notification.
 *
 * daemon_fork() forks; the parent waits until the child reports with
 * daemon_ready() (start-up tests passed: status 0; or failed: 1) and exits
 * with that status, so `havege-rngd` without -F still fails visibly when
 * its start-up tests fail.  The child starts a session, moves to /, points
 * stdin, stdout and stderr at /dev/null and writes the pidfile.
 *
 * pidfile_write() refuses a symlink (O_NOFOLLOW) or anything but a regular
 * file; pidfile_remove() removes it on a clean exit.
 * notify() sends an sd_notify(3) line when run under systemd ($NOTIFY_SOCKET).
 */
#ifndef HRNG_DAEMON_H
#define HRNG_DAEMON_H

#include <stdbool.h>

/* Returns, in the child, a descriptor for daemon_ready(); the parent never
 * returns.  -1 (logged) if the fork failed. */
int daemon_fork(const char *pidfile);
void daemon_ready(int fd, int status);
int pidfile_write(const char *path);
void pidfile_remove(const char *path);
void notify(const char *line);

#endif
