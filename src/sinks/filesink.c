/* filesink.c - file mode: exactly -n bytes to a file or stdout.
 *
 * Functions offered (see filesink.h):
 *   filesink_run()       the whole run: open, write, progress, rename
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filesink.h"
#include "log.h"
#include "options.h"
#include "util.h"

struct sink {
	int fd;
	const char *path;        /* target, NULL = stdout */
	char *tmp;               /* temporary path, NULL when writing directly */
	uint64_t written;        /* bytes written, only increases */
	uint64_t start_ns;
	uint64_t last_report_ns;
	bool tty;                /* progress on a terminal: one updated line */
	bool replaces;           /* tmp replaces a regular file: keep its... */
	struct stat old;         /* ...mode, owner and group */
};

static void (*open_hook)(const char *path);

void filesink_set_open_hook(void (*hook)(const char *path))
{
	open_hook = hook;
}

/* The next chunk of at most n bytes: *p points at it (in buf, or in the
 * source's own memory for zero-copy); returns its length or -EIO (the
 * source is dead). */
static ssize_t next_chunk(const struct byte_source *src, uint8_t *buf, size_t n,
			  const uint8_t **p)
{
	if (src->peek)
		return src->peek(src->ctx, p, n);      /* -EIO when dead */
	*p = buf;
	return src->read(src->ctx, buf, n) < 0 ? -EIO : (ssize_t)n;
}

/* An existing target that is not a regular file (a FIFO, a device) is
 * written directly.  *seen is what stat() found at the path: the opened
 * descriptor must be that very file, or the path was swapped meanwhile
 * (for a regular file, or through a symlink) and is not written.  A FIFO
 * with no reader blocks here until one comes or a stop signal.  Returns
 * 0, -errno after one line (-ESTALE: swapped), or -EINTR when stopped. */
static int sink_open_direct(struct sink *s, const struct stat *seen,
			    volatile sig_atomic_t *stop)
{
	struct stat st;

	/* A stop that came earlier (during the start-up tests, say) would
	 * not interrupt the open: without a reader it would never return. */
	for (;;) {
		if (*stop)
			return -EINTR;
		s->fd = open(s->path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		if (s->fd >= 0 || errno != EINTR)
			break;
	}
	if (s->fd < 0) {
		int e = errno;

		log_err("cannot open %s", s->path);
		return -e;
	}
	if (fstat(s->fd, &st) < 0 || S_ISREG(st.st_mode) || st.st_dev != seen->st_dev ||
	    st.st_ino != seen->st_ino) {
		log_errx("%s changed while it was being opened; not writing to it", s->path);
		close(s->fd);
		s->fd = -1;
		return -ESTALE;
	}
	return 0;
}

/* A new or regular file goes through a temporary file next to it (same
 * file system, so rename() is atomic), made 0600 by mkostemp.  Returns 0
 * or -errno after one line. */
static int sink_open_tmp(struct sink *s)
{
	char *dir, *copy = strdup(s->path);

	dir = copy ? dirname(copy) : NULL;
	if (!dir || asprintf(&s->tmp, "%s/.havege-rngd.XXXXXX", dir) < 0) {
		free(copy);
		s->tmp = NULL;
		log_errx("out of memory");
		return -ENOMEM;
	}
	free(copy);
	s->fd = mkostemp(s->tmp, O_CLOEXEC);
	if (s->fd < 0) {
		int e = errno;

		log_err("cannot create a file next to %s", s->path);
		free(s->tmp);
		s->tmp = NULL;
		return -e;
	}
	return 0;
}

/* Open the target: 0, -errno after one line, -EINTR when stopped. */
static int sink_open(struct sink *s, volatile sig_atomic_t *stop)
{
	struct stat st;
	bool found;

	if (!s->path) {
		s->fd = STDOUT_FILENO;
		return 0;
	}
	found = stat(s->path, &st) == 0;
	if (open_hook)
		open_hook(s->path);
	if (found && !S_ISREG(st.st_mode))
		return sink_open_direct(s, &st, stop);
	s->replaces = found;
	s->old = st;
	return sink_open_tmp(s);
}

/* The finished temporary file gets what the file it replaces had: mode,
 * owner and group; where the owner or group cannot be kept (not root),
 * the file is ours and only we may read it.  A new file gets what
 * fopen() would have given it. */
static int sink_set_mode(struct sink *s)
{
	mode_t mode, mask;

	if (!s->replaces) {
		mask = umask(0);
		umask(mask);
		return fchmod(s->fd, 0666 & ~mask);
	}
	mode = s->old.st_mode & 0777;
	if (fchown(s->fd, s->old.st_uid, s->old.st_gid) < 0 &&
	    fchown(s->fd, (uid_t)-1, s->old.st_gid) < 0)
		mode &= 0700;
	return fchmod(s->fd, mode);
}

/* Finish: on success rename into place; otherwise remove the partial file.
 * Returns 0, or -errno after one line (-ECANCELED when !ok: nothing to
 * say, the failure was told already). */
static int sink_close(struct sink *s, bool ok)
{
	int ret = ok ? 0 : -ECANCELED;

	/* On disk before the rename, so that a power cut cannot leave a
	 * short file under the target's name either. */
	if (s->tmp && ret == 0 && (sink_set_mode(s) < 0 || fsync(s->fd) < 0)) {
		ret = -errno;
		log_err("cannot write %s", s->path);
	}
	if (s->fd > STDERR_FILENO && close(s->fd) < 0 && ret == 0) {
		ret = -errno;
		log_err("cannot write %s", s->path);
	}
	if (s->tmp) {
		if (ret == 0 && rename(s->tmp, s->path) < 0) {
			ret = -errno;
			log_err("cannot rename the output into place as %s", s->path);
		}
		if (ret < 0)
			unlink(s->tmp);
		free(s->tmp);
	}
	return ret;
}

static void progress(struct sink *s, uint64_t total, bool final)
{
	uint64_t now = monotonic_ns();
	double secs = (double)(now - s->start_ns) / NS_PER_SEC;
	double rate = secs > 0 ? (double)s->written / secs : 0;

	if (!final && now - s->last_report_ns < NS_PER_SEC)
		return;
	s->last_report_ns = now;
	if (total) {
		double left = rate > 0 ? (double)(total - s->written) / rate : 0;

		fprintf(stderr, "%shavege-rngd: %.1f of %.1f MiB, %.1f MB/s, %.0f s left%s",
			s->tty ? "\r" : "", (double)s->written / 1048576.0,
			(double)total / 1048576.0, rate / 1e6, left,
			s->tty && !final ? "   " : "\n");
	} else {
		fprintf(stderr, "%shavege-rngd: %.1f MiB, %.1f MB/s%s",
			s->tty ? "\r" : "", (double)s->written / 1048576.0, rate / 1e6,
			s->tty && !final ? "   " : "\n");
	}
}

/* Write a chunk; EINTR, or a write cut short, is retried unless a stop was
 * asked for.  Returns 0, -EPIPE when the reader went away (not logged: a
 * normal end), -errno on another error (logged), -EINTR on a stop. */
static int sink_write(struct sink *s, const uint8_t *p, size_t n, volatile sig_atomic_t *stop)
{
	while (n > 0) {
		ssize_t w = write(s->fd, p, n);

		if (w < 0 && errno == EINTR) {
			if (*stop)
				return -EINTR;
			continue;
		}
		if (w < 0 && errno == EPIPE)
			return -EPIPE;
		if (w < 0) {
			int e = errno;

			log_err("cannot write %s", s->path ? s->path : "to stdout");
			return -e;
		}
		p += w;
		n -= (size_t)w;
		s->written += (uint64_t)w;
		/* A signal cuts a blocked write short rather than failing it
		 * once some bytes went (a pipe with room for part of the
		 * chunk): look at the flag before blocking again, or a reader
		 * that stopped reading would hold the stop off for ever. */
		if (n > 0 && *stop)
			return -EINTR;
	}
	return 0;
}

/* ------------------------------------------------------------ one writer per lane */

struct lane_writer {
	struct sink *s;
	const struct byte_source *src;
	unsigned lane;
	uint64_t total;
	pthread_mutex_t *lock;
	uint64_t *claimed;       /* next offset to claim, under lock */
	int *failed;             /* 0, -errno (an error, logged) or -EINTR (a stop), under lock */
	volatile sig_atomic_t *stop;
};

static int pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static void *lane_writer(void *arg)
{
	struct lane_writer *w = arg;
	const uint8_t *p;

	for (;;) {
		uint64_t off;
		size_t m;
		ssize_t k;
		int r;

		pthread_mutex_lock(w->lock);
		if (*w->stop && !*w->failed)
			*w->failed = -EINTR;
		r = *w->failed || *w->claimed >= w->total;
		pthread_mutex_unlock(w->lock);
		if (r)
			break;
		k = w->src->peek_lane(w->src->ctx, w->lane, &p, 16 * FILESINK_CHUNK);
		pthread_mutex_lock(w->lock);
		if (k < 0 && !*w->failed)
			*w->failed = -EIO;             /* the source is dead */
		off = *w->claimed;
		m = k < 0 || off >= w->total ? 0 : (size_t)k;
		if (m > w->total - off)
			m = (size_t)(w->total - off);
		*w->claimed += m;
		pthread_mutex_unlock(w->lock);
		if (k < 0)
			break;
		r = pwrite_all(w->s->fd, p, m, off);
		w->src->consume_lane(w->src->ctx, w->lane, (size_t)k);   /* wipes them */
		if (r < 0) {
			bool first;

			/* one line for the run, not one per thread */
			pthread_mutex_lock(w->lock);
			first = *w->failed == 0;
			*w->failed = r;
			pthread_mutex_unlock(w->lock);
			if (first) {
				errno = -r;
				log_err("cannot write %s", w->s->path);
			}
			break;
		}
	}
	return NULL;
}

/* Write o->bytes with one thread per lane.  Returns 0, -errno after an
 * error (logged) or -EINTR when stopped. */
static int run_lanes(struct sink *s, const struct byte_source *src,
		     const struct filesink_opts *o, volatile sig_atomic_t *stop)
{
	pthread_t tid[OPT_THREADS_MAX];        /* a lane per -t thread, at most */
	struct lane_writer w[OPT_THREADS_MAX];
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	uint64_t claimed = 0;
	int failed = 0;
	unsigned i, n = src->lanes < OPT_THREADS_MAX ? src->lanes : OPT_THREADS_MAX, started = 0;

	for (i = 0; i < n; i++) {
		int r;

		w[i] = (struct lane_writer){ .s = s, .src = src, .lane = i, .total = o->bytes,
					     .lock = &lock, .claimed = &claimed,
					     .failed = &failed, .stop = stop };
		r = pthread_create(&tid[i], NULL, lane_writer, &w[i]);
		if (r == 0) {
			started++;
			continue;
		}
		/* -t N asked for N writers: fewer is a failed run, not a slower
		 * one; those started see the failure and stop. */
		log_errx("cannot start a writer thread (%u of %u): %s", i + 1, n,
			 r == EAGAIN ? "out of memory for its stack, or over the limit on "
				       "processes (ulimit -v, ulimit -u)" : strerror(r));
		pthread_mutex_lock(&lock);
		if (!failed)
			failed = -r;
		pthread_mutex_unlock(&lock);
		break;
	}
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	if (!failed && claimed == o->bytes)
		s->written = o->bytes;
	return failed ? failed : 0;
}

/* ------------------------------------------------------------ the run */

/* Write with one thread: 0 done, -EPIPE the reader went away, -errno an
 * error (logged), -EINTR a stop.  A source without peek() is read into a chunk
 * buffer from the secret allocator (locked, kept out of core dumps),
 * wiped and freed at the end of the run. */
static int run_one(struct sink *s, const struct byte_source *src,
		   const struct filesink_opts *o, volatile sig_atomic_t *stop)
{
	uint8_t *buf = NULL;
	int st = 0;

	if (!src->peek) {
		buf = secret_alloc(FILESINK_CHUNK);
		if (!buf) {
			log_errx("out of memory");
			return -ENOMEM;
		}
		secret_lock(buf, FILESINK_CHUNK);
	}
	while (!*stop && (o->bytes == 0 || s->written < o->bytes)) {
		size_t n = src->peek ? 16 * FILESINK_CHUNK : FILESINK_CHUNK;
		const uint8_t *p;
		ssize_t k;

		if (o->bytes && o->bytes - s->written < n)
			n = (size_t)(o->bytes - s->written);
		k = next_chunk(src, buf, n, &p);
		if (k < 0) {
			st = (int)k;
			break;
		}
		st = sink_write(s, p, (size_t)k, stop);
		if (src->peek)
			src->consume(src->ctx, (size_t)k);     /* wipes them */
		if (st != 0)
			break;
		if (o->progress)
			progress(s, o->bytes, false);
	}
	if (buf) {
		wipe(buf, FILESINK_CHUNK);
		secret_free(buf, FILESINK_CHUNK);
	}
	return st;
}

int filesink_run(const struct byte_source *src, const struct filesink_opts *o,
		 volatile sig_atomic_t *stop)
{
	struct sink s = { .fd = -1, .path = o->path };
	int st;

	st = sink_open(&s, stop);
	if (st < 0)
		return st == -EINTR && !*stop ? -EIO : st;
	s.start_ns = s.last_report_ns = monotonic_ns();
	s.tty = isatty(STDERR_FILENO);
	/* One writer per lane needs a file it can write at any offset (ours,
	 * the temporary one), a known size, and no progress line. */
	if (src->lanes > 1 && s.tmp && o->bytes && !o->progress)
		st = run_lanes(&s, src, o, stop);
	else
		st = run_one(&s, src, o, stop);
	if (st == -EPIPE) {     /* the reader went away: a quiet, normal end */
		sink_close(&s, true);
		return 0;
	}
	if (*stop && !(o->bytes && s.written == o->bytes)) {
		sink_close(&s, false);
		return -EINTR;
	}
	if (st < 0) {
		sink_close(&s, false);
		return st == -EINTR ? -EIO : st;        /* -EINTR: stopped */
	}
	if (o->progress)
		progress(&s, o->bytes, true);
	st = sink_close(&s, true);
	return st == -EINTR ? -EIO : st;
}
