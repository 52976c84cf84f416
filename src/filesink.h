/* filesink.h - file mode: exactly -n bytes to a file or stdout.
 *
 * filesink_run() writes o->bytes conditioned bytes (0 = until stopped) from
 * the generator.  A regular file (or a new path) is written through a
 * temporary file in the same directory, renamed into place only when the
 * run completes, so an error or a signal never leaves a partial file; any
 * other existing target (a FIFO, a device) and stdout are written directly.
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

#include "generator.h"

enum { FILESINK_CHUNK = 64 * 1024 };

struct filesink_opts {
	const char *path;       /* NULL = stdout */
	uint64_t bytes;         /* 0 = unlimited */
	bool progress;          /* report progress on stderr */
};

/* A source of bytes for the sink: the generator, or a test's stand-in. */
typedef int (*filesink_read_fn)(void *ctx, void *buf, size_t n);

int filesink_run(filesink_read_fn read, void *ctx, const struct filesink_opts *o,
		 volatile sig_atomic_t *stop);
/* filesink_read_fn over a struct generator. */
int filesink_gen_read(void *generator, void *buf, size_t n);

#endif
