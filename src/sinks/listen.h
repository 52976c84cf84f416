/* listen.h - listening stream sockets from a spec: "unix:PATH" (a socket
 * file made safely, with a mode and group) or "tcp:[HOST:]PORT" (loopback
 * by default), or one handed over by the service manager.
 *
 * Functions offered:
 *   listener_open()    parse a spec and listen on it (or adopt an inherited one)
 *   listener_close()   close it; remove the socket file only while it is
 *                      the very inode we bound
 *   listen_set_err()   a one-line reason into an error buffer, as these do,
 *                      returning the -errno to go with it
 *
 * A UNIX socket file is ours to remove only while it is the very inode we
 * bound (dev, ino), so closing never removes a file someone put there later.
 */
#ifndef HRNG_LISTEN_H
#define HRNG_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct listen_spec {
	const char *spec;               /* "unix:PATH", "tcp:[HOST:]PORT" */
	/* fd: a listening stream socket handed over (spec is then only its
	 * name in messages); taken over, its socket file never removed. */
	bool inherited;
	int fd;
	mode_t unix_mode;               /* a socket file we make, as given */
	gid_t unix_gid;                 /* (gid_t)-1 = leave the creator's */
};

struct listener {
	int fd;
	char *name;                     /* the spec, for messages */
	char *path;                     /* UNIX: the socket file we made, else NULL */
	bool is_unix;                   /* an AF_UNIX listener (made or inherited) */
	dev_t dev;                      /* UNIX: the inode we bound */
	ino_t ino;
	unsigned port;                  /* TCP: the bound port */
};

/* Open, bind and listen (non-blocking, close-on-exec).  Returns 0, or
 * -errno with a one-line reason in err (it quotes the spec or the path);
 * call listener_close() either way. */
int listener_open(struct listener *l, const struct listen_spec *ls,
		  char *err, size_t errlen);
/* Safe on a listener that failed to open, or was never opened (fd -1). */
void listener_close(struct listener *l);

/* Format into err (when err is not NULL and errlen > 0); returns ret, the
 * -errno that goes with the reason. */
int listen_set_err(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
