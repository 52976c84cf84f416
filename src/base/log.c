/* log.c - messages to stderr or syslog, each one line: control characters
 * in a message (from a path or a name the user gave) are escaped as \xNN.
 *
 * Before log_init() everything goes to stderr under the name "havege-rngd",
 * so option errors are reported the same way whatever the later mode.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static struct {
	const char *ident;      /* program name, prefixed on stderr */
	enum log_dest dest;     /* set once by log_init() */
	unsigned verbose;       /* -v bitmask */
	char last_err[256];     /* the last error sent to syslog only */
} log_state = { "havege-rngd", LOG_DEST_STDERR, 0, "" };

void log_init(const char *ident, enum log_dest dest, unsigned verbose)
{
	log_state.ident = ident;
	log_state.dest = dest;
	log_state.verbose = verbose;
	if (dest == LOG_DEST_SYSLOG)
		openlog(ident, LOG_PID, LOG_DAEMON);
	else
		setvbuf(stderr, NULL, _IOLBF, 0);
}

void log_fini(void)
{
	if (log_state.dest == LOG_DEST_SYSLOG)
		closelog();
	log_state.dest = LOG_DEST_STDERR;
}

const char *log_last_syslog_error(void)
{
	return log_state.last_err;
}

bool log_verbose(unsigned bit)
{
	return (log_state.verbose & bit) != 0;
}

unsigned log_get_verbose(void)
{
	return log_state.verbose;
}

void escape_controls(char *s, size_t size)
{
	char out[1024];
	size_t i, o = 0;

	if (size == 0)
		return;
	for (i = 0; s[i] && o + 1 < sizeof(out); i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != 0x7f) {
			out[o++] = (char)c;
		} else if (o + 5 < sizeof(out)) {
			snprintf(out + o, sizeof(out) - o, "\\x%02x", c);
			o += 4;
		} else {
			break;
		}
	}
	out[o] = '\0';
	snprintf(s, size, "%s", out);
}

static void log_vmsg(int prio, const char *suffix, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void log_vmsg(int prio, const char *suffix, const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	/* Every message is one line, whatever user text it quotes (a path,
	 * a group name, a listener spec): control characters become \xNN. */
	escape_controls(line, sizeof(line));
	if (log_state.dest == LOG_DEST_SYSLOG) {
		if (prio <= LOG_ERR)
			snprintf(log_state.last_err, sizeof(log_state.last_err), "%.180s%s%.60s",
				 line, suffix ? ": " : "", suffix ? suffix : "");
		if (suffix)
			syslog(prio, "%s: %s", line, suffix);
		else
			syslog(prio, "%s", line);
		return;
	}
	if (suffix)
		fprintf(stderr, "%s: %s: %s\n", log_state.ident, line, suffix);
	else
		fprintf(stderr, "%s: %s\n", log_state.ident, line);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, NULL, fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	const char *why = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, why, fmt, ap);
	va_end(ap);
}

void log_err(const char *fmt, ...)
{
	const char *why = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERR, why, fmt, ap);
	va_end(ap);
}
