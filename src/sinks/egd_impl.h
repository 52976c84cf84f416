/* egd_impl.h - what the two halves of the EGD server share, and nothing
 * else includes: the server's, each listener's and each client's state,
 * and the functions egd.c (listeners, the poll interface, set-up) calls in
 * egd_serve.c (token buckets, output queues, serving requests).
 */
#ifndef HRNG_EGD_IMPL_H
#define HRNG_EGD_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "egd.h"
#include "listen.h"

struct quiet_log {
	uint64_t last_ns;               /* when a line was last logged */
	uint64_t quiet;                 /* events since, not logged */
	bool logged;                    /* last_ns is set */
};

struct egd_listener {
	struct listener sock;
	uint64_t retry_ns;              /* not polled before this (EMFILE) */
	struct quiet_log accept_log;    /* accept() failures */
	struct quiet_log uid_log;       /* connections refused per uid */
	bool ready;                     /* POLLIN seen in this dispatch */
	struct egd_listener_stats st;
};

/* ---------------------------------------------------------------- token bucket
 * (egd_serve.c)
 */

enum { EGD_WAKE_HZ = 100 };     /* a limited client wakes us at most this often */

struct bucket {
	uint64_t level;                 /* byte-ns, <= burst * NS_PER_SEC */
	uint64_t last_ns;
};

/* Nanoseconds until the bucket holds want bytes. */
uint64_t egd_bucket_wait(const struct bucket *b, uint64_t rate, uint64_t want);

/* ---------------------------------------------------------------- clients */

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
	struct byte_source src;        /* read() only: whole requests */
	uint64_t rate, burst;
	size_t queue_max;
	bool more;                      /* the last pass left work undone */
	bool source_dead;               /* read failed: logged once */
	int32_t *map;                   /* pollfd i -> slot, or -(listener + 1) */
	size_t nmap;
};

static inline size_t out_space(const struct egd_server *s, const struct egd_client *c)
{
	return s->queue_max - c->len;
}

/* The client's socket is closed, its queue wiped and freed, its slot freed. */
void egd_client_close(struct egd_server *s, unsigned slot);
/* Read what fits in the input buffer.  Returns 0, or -errno on a socket
 * error (the caller closes). */
int egd_client_read(struct egd_client *c);
/* Send what the socket takes.  Returns 0, or -errno on a socket error. */
int egd_client_flush(struct egd_client *c);
/* Serve every client once, round robin (egd_serve.c says how). */
void egd_serve_pass(struct egd_server *s, uint64_t now);

#endif
