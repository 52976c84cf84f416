/* log.h - messages to stderr or syslog, with verbosity bits.
 *
 * log_init() must be called first; until then messages go to stderr.
 * log_warn() appends strerror(errno); log_warnx() does not (OpenBSD style).
 * log_verbose(bit) tells whether a -v bit is set.
 */
#ifndef HRNG_LOG_H
#define HRNG_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

/* -v bits, haveged's meanings (see doc/havege-rngd.8). */
enum log_verbose_bit {
	VERB_SUMMARY = 1,     /* start-up summary */
	VERB_RETRIES = 2,     /* online test retries */
	VERB_FILLS   = 4,     /* buffer fill times */
	VERB_LOOP    = 8,     /* collector loop layout */
	VERB_CODE    = 16,    /* code addresses */
	VERB_TESTS   = 32,    /* every completed online test */
	VERB_KERNEL  = 64,    /* every RNDADDENTROPY */
};

enum log_dest { LOG_DEST_STDERR, LOG_DEST_SYSLOG };

void log_init(const char *ident, enum log_dest dest, unsigned verbose);
void log_fini(void);
bool log_verbose(unsigned bit);
unsigned log_get_verbose(void);
/* The last error (LOG_ERR or worse) that went to syslog only, "" if none:
 * a forked daemon's failed start-up passes it to the caller's terminal. */
const char *log_last_syslog_error(void);

/* Rewrite, in place, every control character of the string s (which has
 * room for size bytes) as \xNN, so a message quoting user input stays one
 * line; truncates to fit. */
void escape_controls(char *s, size_t size);

void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_info(...)   log_msg(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warnx(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_errx(...)   log_msg(LOG_ERR, __VA_ARGS__)
/* As log_warnx/log_errx, with ": strerror(errno)" appended. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
