/* filesink.c - file mode: exactly -n bytes to a file or stdout.
 *
 * Functions offered (see filesink.h):
 *   filesink_run()       the whole run: open, write, progress, rename
 *   filesink_gen_read()  the generator as a byte source
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filesink.h"
#include "log.h"
#include "util.h"

struct sink {
	int fd;
	const char *path;        /* target, NULL = stdout */
	char *tmp;               /* temporary path, NULL when writing directly */
	uint64_t written;        /* bytes written, only increases */
	uint64_t start_ns;
	uint64_t last_report_ns;
	bool tty;                /* progress on a terminal: one updated line */
};

int filesink_gen_read(void *generator, void *buf, size_t n)
{
	return gen_read(generator, buf, n);
}

static ssize_t gen_peek_fn(void *ctx, const uint8_t **p, size_t max)
{
	return gen_peek(ctx, p, max);
}

static void gen_consume_fn(void *ctx, size_t k)
{
	gen_consume(ctx, k);
}

struct filesink_source filesink_gen_source(struct generator *g)
{
	struct filesink_source src = { .read = filesink_gen_read, .peek = gen_peek_fn,
				       .consume = gen_consume_fn, .ctx = g };
	return src;
}

/* The next chunk of at most n bytes: *p points at it (in buf, or in the
 * source's own memory for zero-copy); returns its length or -1. */
static ssize_t next_chunk(const struct filesink_source *src, uint8_t *buf, size_t n,
			  const uint8_t **p)
{
	if (src->peek)
		return src->peek(src->ctx, p, n);
	*p = buf;
	return src->read(src->ctx, buf, n) < 0 ? -1 : (ssize_t)n;
}

/* Open the target.  A new or regular file goes through a temporary file
 * next to it (same file system, so rename() is atomic). */
static int sink_open(struct sink *s)
{
	struct stat st;
	char *dir, *copy;
	mode_t mask;

	if (!s->path) {
		s->fd = STDOUT_FILENO;
		return 0;
	}
	if (stat(s->path, &st) == 0 && !S_ISREG(st.st_mode)) {
		s->fd = open(s->path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		if (s->fd < 0)
			log_err("cannot open %s", s->path);
		return s->fd < 0 ? -1 : 0;
	}
	copy = strdup(s->path);
	dir = copy ? dirname(copy) : NULL;
	if (!dir || asprintf(&s->tmp, "%s/.havege-rngd.XXXXXX", dir) < 0) {
		free(copy);
		s->tmp = NULL;
		log_errx("out of memory");
		return -1;
	}
	free(copy);
	s->fd = mkostemp(s->tmp, O_CLOEXEC);
	if (s->fd < 0) {
		log_err("cannot create a file next to %s", s->path);
		free(s->tmp);
		s->tmp = NULL;
		return -1;
	}
	/* mkstemp makes 0600; give the file what fopen() would have. */
	mask = umask(0);
	umask(mask);
	if (fchmod(s->fd, 0666 & ~mask) < 0)
		log_warn("cannot set the mode of %s", s->path);
	return 0;
}

/* Finish: on success rename into place; otherwise remove the partial file. */
static int sink_close(struct sink *s, bool ok)
{
	int ret = ok ? 0 : -1;

	if (s->fd > STDERR_FILENO && close(s->fd) < 0 && ok) {
		log_err("cannot write %s", s->path);
		ret = -1;
	}
	if (s->tmp) {
		if (ret == 0 && rename(s->tmp, s->path) < 0) {
			log_err("cannot rename the output into place as %s", s->path);
			ret = -1;
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
	double secs = (double)(now - s->start_ns) / 1e9;
	double rate = secs > 0 ? (double)s->written / secs : 0;

	if (!final && now - s->last_report_ns < 1000000000u)
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

/* Write a chunk; EINTR is retried unless a stop was asked for.  Returns 0,
 * 1 when the reader went away (EPIPE), -1 on another error (logged), -2 on
 * a stop. */
static int sink_write(struct sink *s, const uint8_t *p, size_t n, volatile sig_atomic_t *stop)
{
	while (n > 0) {
		ssize_t w = write(s->fd, p, n);

		if (w < 0 && errno == EINTR) {
			if (*stop)
				return -2;
			continue;
		}
		if (w < 0 && errno == EPIPE)
			return 1;
		if (w < 0) {
			log_err("cannot write %s", s->path ? s->path : "to stdout");
			return -1;
		}
		p += w;
		n -= (size_t)w;
		s->written += (uint64_t)w;
	}
	return 0;
}

int filesink_run(const struct filesink_source *src, const struct filesink_opts *o,
		 volatile sig_atomic_t *stop)
{
	static uint8_t buf[FILESINK_CHUNK];
	struct sink s = { .fd = -1, .path = o->path };
	int st = 0;

	if (sink_open(&s) < 0)
		return 1;
	s.start_ns = s.last_report_ns = monotonic_ns();
	s.tty = isatty(STDERR_FILENO);
	while (!*stop && (o->bytes == 0 || s.written < o->bytes)) {
		size_t n = src->peek ? 16 * FILESINK_CHUNK : sizeof(buf);
		const uint8_t *p;
		ssize_t k;

		if (o->bytes && o->bytes - s.written < n)
			n = (size_t)(o->bytes - s.written);
		k = next_chunk(src, buf, n, &p);
		if (k < 0) {
			st = -1;
			break;
		}
		st = sink_write(&s, p, (size_t)k, stop);
		if (src->peek)
			src->consume(src->ctx, (size_t)k);     /* wipes them */
		if (st != 0)
			break;
		if (o->progress)
			progress(&s, o->bytes, false);
	}
	wipe(buf, sizeof(buf));
	if (st == 1) {          /* the reader went away: a quiet, normal end */
		sink_close(&s, true);
		return 0;
	}
	if (*stop && !(o->bytes && s.written == o->bytes)) {
		sink_close(&s, false);
		return 128 + (int)*stop;
	}
	if (st < 0) {
		sink_close(&s, false);
		return 1;
	}
	if (o->progress)
		progress(&s, o->bytes, true);
	return sink_close(&s, true) < 0 ? 1 : 0;
}
