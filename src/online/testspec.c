/* testspec.c - parse and print the -o online test specification.
 *
 * Offers:
 *   testspec_parse()  - text -> struct testspec, or one error line naming the
 *                       offending character and its (0-based) position.
 *   testspec_format() - struct testspec -> canonical text ("ta8bcb").
 *   testspec_any()    - whether a group selects any procedure at all.
 *
 * Nothing to set up first; every function is pure.  The grammar is
 * haveged's (see testspec.h): 't' and 'c' open a group and reset it, 'a'
 * may take one digit 1-8 and then 'w', 'b' may take 'w'.  A letter repeated
 * inside a group replaces its earlier setting ("ta8a" = "ta").
 */
#include "config.h"

#include "log.h"
#include "testspec.h"
#include "util.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ parsing
 *
 * A small state machine over the characters.  The state remembers which
 * group is open and what the previous token was, because a digit is only
 * legal straight after 'a' and a 'w' only straight after 'a', 'a<n>' or 'b'.
 */

enum {
	TESTSPEC_SHIFT_MIN = 1,     /* a1: test 5 on every 2nd block */
	TESTSPEC_SHIFT_MAX = 8,     /* a8: on every 256th block (2 of 257) */
};

enum spec_prev {
	PREV_NONE,      /* start, or just after 'w' or a group letter */
	PREV_A,         /* 'a' with no digit yet: digit or 'w' may follow */
	PREV_A_DIGIT,   /* 'a<n>': only 'w' may follow as a modifier */
	PREV_B,         /* 'b': 'w' may follow */
};

struct spec_parser {
	struct testspec_group *group;   /* NULL until 't' or 'c' */
	enum spec_prev prev;
};

static void spec_error(const char *text, size_t pos, char *err, size_t errlen)
{
	unsigned char ch = (unsigned char)text[pos];

	if (isprint(ch))
		snprintf(err, errlen,
			 "unrecognized test setup: '%c' at position %zu in \"%s\"",
			 ch, pos, text);
	else
		snprintf(err, errlen,
			 "unrecognized test setup: byte 0x%02x at position %zu in \"%s\"",
			 ch, pos, text);
	escape_controls(err, errlen);            /* one line, whatever was typed */
}

static void open_group(struct spec_parser *p, struct testspec_group *g)
{
	memset(g, 0, sizeof(*g));
	p->group = g;
	p->prev = PREV_NONE;
}

/* One character; returns false if it is not allowed here. */
static bool spec_step(struct spec_parser *p, struct testspec *spec, int ch)
{
	struct testspec_group *g = p->group;

	switch (ch) {
	case 't':
		open_group(p, &spec->startup);
		return true;
	case 'c':
		open_group(p, &spec->continuous);
		return true;
	case 'a':
		if (!g)
			return false;
		g->a = true;
		g->a_advisory = false;
		g->a_shift = 0;
		p->prev = PREV_A;
		return true;
	case 'b':
		if (!g)
			return false;
		g->b = true;
		g->b_advisory = false;
		p->prev = PREV_B;
		return true;
	case 'w':
		if (p->prev == PREV_B)
			g->b_advisory = true;
		else if (p->prev == PREV_A || p->prev == PREV_A_DIGIT)
			g->a_advisory = true;
		else
			return false;
		p->prev = PREV_NONE;
		return true;
	default:
		if (p->prev != PREV_A || ch < '0' + TESTSPEC_SHIFT_MIN ||
		    ch > '0' + TESTSPEC_SHIFT_MAX)
			return false;
		g->a_shift = (unsigned)(ch - '0');
		p->prev = PREV_A_DIGIT;
		return true;
	}
}

int testspec_parse(const char *text, struct testspec *spec, char *err,
		   size_t errlen)
{
	struct spec_parser p = { .group = NULL, .prev = PREV_NONE };
	size_t i;

	assert(text && spec);
	memset(spec, 0, sizeof(*spec));
	for (i = 0; text[i]; i++) {
		int ch = tolower((unsigned char)text[i]);

		if (!spec_step(&p, spec, ch)) {
			if (err && errlen)
				spec_error(text, i, err, errlen);
			memset(spec, 0, sizeof(*spec));
			return -EINVAL;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ printing */

static size_t format_group(char *out, char letter, const struct testspec_group *g)
{
	size_t n = 0;

	if (!testspec_any(g))
		return 0;
	out[n++] = letter;
	if (g->a) {
		out[n++] = 'a';
		if (g->a_shift)
			out[n++] = (char)('0' + g->a_shift);
		if (g->a_advisory)
			out[n++] = 'w';
	}
	if (g->b) {
		out[n++] = 'b';
		if (g->b_advisory)
			out[n++] = 'w';
	}
	return n;
}

void testspec_format(const struct testspec *spec, char *buf, size_t len)
{
	char text[16];  /* longest is "ta8wbwca8wbw": 12 characters */
	size_t n;

	assert(spec && buf && len);
	assert(spec->startup.a_shift <= TESTSPEC_SHIFT_MAX);
	assert(spec->continuous.a_shift <= TESTSPEC_SHIFT_MAX);
	n = format_group(text, 't', &spec->startup);
	n += format_group(text + n, 'c', &spec->continuous);
	text[n] = '\0';
	snprintf(buf, len, "%s", text);
}

bool testspec_any(const struct testspec_group *g)
{
	assert(g);
	return g->a || g->b;
}
