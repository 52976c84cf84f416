/* egd.h - an EGD server, so that QEMU's rng-egd backend and libvirt's
 * <backend model='egd'> draw their guests' entropy from havege-rngd.
 *
 * The protocol (EGD as QEMU and ekeyd speak it; big-endian integers):
 *   0x00            entropy level: reply 4 bytes, bits available
 *   0x01 n          non-blocking read: reply k (k <= n), then k bytes
 *   0x02 n          blocking read: reply exactly n bytes, no prefix
 *   0x03 hi lo len  write entropy: len bytes follow; no reply; the data
 *                   is discarded and never credited (doc/egd.md says why)
 *   0x04            PID: reply a length byte, then the PID as text
 * Anything else, a request cut short by the end of the stream, or one left
 * unfinished for EGD_STALL_S seconds, closes that connection and counts a
 * protocol error.  A connection may stay idle (no request) for ever: QEMU
 * keeps one open for as long as its guest runs.
 *
 * Functions offered:
 *   egd_parse()          the request parser alone: a pure function over a
 *                        byte buffer (tests and the fuzz target use it)
 *   egd_server_new()     open every listener; call it first
 *   egd_max_pollfds()    how many pollfds egd_pollfds() may want
 *   egd_pollfds()        before sleeping: what to wait for, and how long
 *   egd_dispatch()       after waking: accept, read, serve, write
 *   egd_get_stats()      one listener's counters
 *   egd_log_stats()      every listener's counters through log_info()
 *   egd_source_dead()    whether the byte source has failed for good
 *   egd_server_free()    close everything, remove our socket files
 *
 * The server never blocks and never sleeps: the caller owns the one poll()
 * loop, calls egd_pollfds() before it and egd_dispatch() with the same
 * array after it, and passes the monotonic clock in now_ns to both.
 */
#ifndef HRNG_EGD_H
#define HRNG_EGD_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "source.h"

/* ---------------------------------------------------------------- protocol */

enum egd_command {
	EGD_CMD_LEVEL = 0x00,
	EGD_CMD_READ_NB = 0x01,
	EGD_CMD_READ = 0x02,
	EGD_CMD_WRITE = 0x03,
	EGD_CMD_PID = 0x04,
};

enum {
	EGD_REQUEST_MAX = 4 + 255,      /* 0x03 hi lo 255 data[255] */
};

struct egd_request {
	enum egd_command cmd;
	uint8_t count;                  /* 0x01/0x02: bytes asked; 0x03: data length */
	uint16_t bits;                  /* 0x03: bits the client claims */
	const uint8_t *data;            /* 0x03: into the parsed buffer, else NULL */
};

/* Parse the request at the front of buf[0..len).  Returns its length in
 * bytes (1..EGD_REQUEST_MAX) and fills *req; 0 when buf holds only the
 * start of a request (len 0 included); -EPROTO when buf does not start
 * with a known command.  No state, no allocation, reads only buf[0..len). */
int egd_parse(const uint8_t *buf, size_t len, struct egd_request *req);

/* ---------------------------------------------------------------- server */

struct egd_listener_cfg {
	const char *spec;               /* "unix:PATH", "tcp:[HOST:]PORT" */
	/* Socket activation: serve on fd, a listening stream socket handed
	 * over (spec is then only its name in messages).  The server takes
	 * it over and closes it, but never removes its socket file: that
	 * belongs to whoever made it (systemd's socket unit). */
	bool inherited;
	int fd;
};

/* Zero in a field means its default (in brackets), but for unix_mode,
 * which is used as given: 0 is a socket file no one but root may connect
 * to (the daemon passes --egd-mode, 0600 by default). */
struct egd_config {
	const struct egd_listener_cfg *listeners;
	size_t nlisteners;              /* at least 1 */
	mode_t unix_mode;               /* UNIX socket files, as given */
	gid_t unix_gid;                 /* (gid_t)-1 = leave the creator's */
	uint64_t rate;                  /* bytes/s per client, 0 = unlimited */
	uint64_t burst;                 /* token bucket depth, bytes [rate] */
	unsigned max_clients;           /* over all listeners [64] */
	unsigned max_per_uid;           /* UNIX peers of one uid but root [max_clients / 2, >= 1] */
	size_t queue_max;               /* pending output per client [4096] */
};

enum {
	EGD_DEFAULT_CLIENTS = 64,
	EGD_DEFAULT_QUEUE = 4096,
	EGD_QUEUE_MIN = 64,             /* room for any reply but 0x01's data */
	EGD_CLIENTS_MAX = 65536,
	EGD_STALL_S = 10,               /* a request left half sent: closed */
};
#define EGD_RATE_MAX 1000000000ull   /* bytes/s and burst: keeps tokens in 64 bits */


struct egd_listener_stats {
	uint64_t bytes_served;          /* random bytes queued (0x01, 0x02) */
	uint64_t requests;              /* well-formed requests */
	uint64_t clients_accepted;
	uint64_t clients_refused;       /* closed at once: max_clients or max_per_uid */
	uint64_t refused_per_uid;       /* of those: the peer's uid had max_per_uid */
	uint64_t protocol_errors;       /* connections closed for bad input */
	uint64_t discarded_bytes;       /* 0x03 data, dropped */
	uint64_t accept_errors;         /* accept() out of descriptors or memory */
	unsigned clients_now;
	size_t queue_peak;              /* largest output queue seen, bytes */
};

struct egd_server;

/* Open every listener; requests are served from src's read() (copied: it
 * fills exactly n bytes and returns 0, or a negative value when the
 * source is dead).  Returns 0, or -errno with a one-line reason in err,
 * which quotes the listener's spec or path (nothing is left open or
 * created then).  max_clients is fitted under
 * RLIMIT_NOFILE: the soft limit is raised as far as it needs and the hard
 * limit allows; below that fewer clients are served (one warning line;
 * egd_max_pollfds() tells). */
int egd_server_new(struct egd_server **s, const struct egd_config *cfg,
		   const struct byte_source *src, char *err, size_t errlen);
size_t egd_max_pollfds(const struct egd_server *s);
/* Fill up to max pollfds (returns how many) and lower *timeout_ns (never
 * raise it; -1 = infinite) to when a rate-limited client can next be
 * served, or to 0 when work is left over from the last dispatch. */
size_t egd_pollfds(struct egd_server *s, struct pollfd *fds, size_t max,
		   int64_t *timeout_ns, uint64_t now_ns);
/* fds/n: what egd_pollfds() filled, with revents set by poll(). */
void egd_dispatch(struct egd_server *s, const struct pollfd *fds, size_t n,
		  uint64_t now_ns);
/* Returns 0, or -ENOENT when i is not a listener.  port: a TCP listener's bound
 * port (useful with port 0), 0 for a UNIX one; NULL to skip. */
int egd_get_stats(const struct egd_server *s, size_t i,
		  struct egd_listener_stats *st, unsigned *port);
void egd_log_stats(const struct egd_server *s);
/* True once a read from the source has failed (it never recovers): the
 * daemon then stops, as it does when its own seeds fail. */
bool egd_source_dead(const struct egd_server *s);
void egd_server_free(struct egd_server *s);

#endif
