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
 * Returns 0 done (also when the reader of stdout went away), -EINTR when
 * stopped (*stop names the signal), another -errno after an error (already
 * logged).
 */
#ifndef HRNG_FILESINK_H
#define HRNG_FILESINK_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "source.h"

enum { FILESINK_CHUNK = 64 * 1024 };

struct filesink_opts {
	const char *path;       /* NULL = stdout */
	uint64_t bytes;         /* 0 = unlimited */
	bool progress;          /* report progress on stderr */
};

/* src is the generator (gen_byte_source()) or a test's stand-in.  Its
 * zero-copy peek()/consume() are used when offered, else read().  With
 * several lanes, a regular file of known size is written by one thread
 * per lane, at offsets each claims in turn (the order of random chunks in
 * the file does not matter). */
int filesink_run(const struct byte_source *src, const struct filesink_opts *o,
		 volatile sig_atomic_t *stop);
/* For tests: hook(path) runs between the first look at the path and its
 * opening, where a race would swap it.  NULL removes it. */
void filesink_set_open_hook(void (*hook)(const char *path));

#endif
