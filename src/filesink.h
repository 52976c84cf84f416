/* filesink.h - file mode: exactly -n bytes to a file or stdout.
 *
 * filesink_run() writes o->bytes conditioned bytes (0 = until stopped) from
 * the generator.  A regular file (or a new path) is written through a
 * temporary file in the same directory, renamed into place only when the
 * run completes, so an error or a signal never leaves a partial file; any
 * other existing target (a FIFO, a device) and stdout are written directly.
 * The temporary file is made 0600, and synced before the rename; the file
 * it replaces gives it its mode, owner and group (where the owner or group
 * cannot be kept, the file stays ours and owner-only).  A direct target
 * is checked on the opened descriptor: if the path was swapped after the
 * first look (for a regular file, or through a symlink), it is refused.
 * The caller sets *stop (from a signal handler) to end the run; it is
 * checked at least every FILESINK_CHUNK bytes.
 *
 * Returns the exit status: 0 done (also when the reader of stdout went
 * away), 1 an error (already logged), 128 + signal when stopped.
 */
#ifndef HRNG_FILESINK_H
#define HRNG_FILESINK_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "generator.h"

enum { FILESINK_CHUNK = 64 * 1024 };

struct filesink_opts {
	const char *path;       /* NULL = stdout */
	uint64_t bytes;         /* 0 = unlimited */
	bool progress;          /* report progress on stderr */
};

/* A source of bytes for the sink: the generator, or a test's stand-in.
 * read() copies n bytes into buf (0 or -1).  A source may also offer
 * zero-copy peek()/consume() (see gen_peek()); then read() is unused. */
typedef int (*filesink_read_fn)(void *ctx, void *buf, size_t n);

struct filesink_source {
	filesink_read_fn read;
	ssize_t (*peek)(void *ctx, const uint8_t **p, size_t max);
	void (*consume)(void *ctx, size_t k);
	/* Several lanes, each readable on its own: a regular file of known
	 * size is then written by one thread per lane, at offsets each claims
	 * in turn (the order of random chunks in the file does not matter). */
	unsigned lanes;
	ssize_t (*peek_lane)(void *ctx, unsigned lane, const uint8_t **p, size_t max);
	void (*consume_lane)(void *ctx, unsigned lane, size_t k);
	void *ctx;
};

int filesink_run(const struct filesink_source *src, const struct filesink_opts *o,
		 volatile sig_atomic_t *stop);
/* For tests: hook(path) runs between the first look at the path and its
 * opening, where a race would swap it.  NULL removes it. */
void filesink_set_open_hook(void (*hook)(const char *path));
/* filesink_read_fn over a struct generator (the read() of
 * filesink_gen_source()). */
int filesink_gen_read(void *generator, void *buf, size_t n);
/* A filesink_source over a struct generator, zero-copy. */
struct filesink_source filesink_gen_source(struct generator *g);

#endif
