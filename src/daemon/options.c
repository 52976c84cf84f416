/* options.c - the command line: haveged's options, same meanings, strict values.
 *
 * Offered (see options.h):
 *   opt_defaults()     fill a struct options with haveged's defaults; call it
 *                      before opt_parse().
 *   opt_parse()        apply argv on top, validating every value; one line
 *                      naming the option and the value on error.
 *   opt_run_mode(), opt_file_bytes(), opt_raw_samples(), opt_file_path()
 *                      what a parsed command line asks for.
 *   opt_usage()        the help text, generated from the option table;
 *   opt_long_name()    the table's long names, one by one, for the tests.
 *   opt_parse_size()   the -n size grammar on its own.
 *
 * haveged reads every number with atoi(), so "-b 12x" silently means 12
 * and "-b x" means 0.  Here every value goes through a typed parser with a
 * range, and anything else is refused before the program does any work.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egd.h"
#include "log.h"
#include "options.h"
#include "util.h"

/* ------------------------------------------------------------------ numbers
 *
 * parse_uint() reads plain decimal digits: no sign, no space, no base
 * prefix, nothing after.  opt_parse_size() reads the -n grammar.  Both
 * return 0, -EINVAL (not the form) or -ERANGE (too large).
 */

enum { SIZE_SUFFIX_STEP = 10 };  /* each k/m/g/t suffix: a further x1024 */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Accumulate the digits at *p into *v; *big is set on overflow. */
static const char *scan_digits(const char *p, uint64_t *v, bool *big, bool *nonzero)
{
	for (; is_digit(*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (d)
			*nonzero = true;
		if (*v > (UINT64_MAX - d) / 10)
			*big = true;
		else
			*v = *v * 10 + d;
	}
	return p;
}

static int parse_uint(const char *s, uint64_t *v)
{
	bool big = false, nonzero = false;
	const char *end;

	*v = 0;
	if (!is_digit(*s))
		return -EINVAL;
	end = scan_digits(s, v, &big, &nonzero);
	if (*end)
		return -EINVAL;
	return big ? -ERANGE : 0;
}

/* log2 of the unit a suffix names, or -1 when c is not one. */
static int suffix_shift(char c)
{
	static const char suffixes[] = "kmgt";
	const char *at;

	if (c == '\0')
		return 0;
	at = strchr(suffixes, c | 0x20);  /* ASCII: fold to lower case */
	if (!at || !*at)
		return -EINVAL;
	return (int)(at - suffixes + 1) * SIZE_SUFFIX_STEP;
}

/* floor(0.<digits> * unit), exactly.  Horner from the last digit: with
 * v_i = unit * 0.d_i d_i+1 ..., v_i = (d_i * unit + v_i+1) / 10, and since
 * d_i * unit is whole, flooring v_i+1 first does not change floor(v_i).
 * unit <= 2^40 keeps 9 * unit + v well inside 64 bits. */
static uint64_t fraction_bytes(const char *digits, size_t n, uint64_t unit)
{
	uint64_t v = 0;

	while (n--)
		v = ((uint64_t)(digits[n] - '0') * unit + v) / 10;
	return v;
}

int opt_parse_size(const char *s, uint64_t *bytes)
{
	bool big = false, frac_big = false, nonzero = false;
	uint64_t whole = 0, unit, total, frac_value = 0;
	const char *p, *frac = s;
	size_t nfrac = 0;
	int shift;

	if (!is_digit(*s))
		return -EINVAL;
	p = scan_digits(s, &whole, &big, &nonzero);
	if (*p == '.') {
		frac = p + 1;
		/* only the end and whether it is zero count here */
		p = scan_digits(frac, &frac_value, &frac_big, &nonzero);
		nfrac = (size_t)(p - frac);
		if (nfrac == 0)
			return -EINVAL;
	}
	shift = suffix_shift(*p);
	if (shift < 0 || (*p && p[1]))
		return -EINVAL;
	unit = UINT64_C(1) << shift;
	if (big || whole > OPT_NUMBER_MAX / unit)
		return -ERANGE;
	total = whole * unit + fraction_bytes(frac, nfrac, unit);
	if (total > OPT_NUMBER_MAX)
		return -ERANGE;
	if (total == 0 && nonzero)
		return -EDOM;
	*bytes = total;
	return 0;
}

/* ------------------------------------------------------------ value parsers
 *
 * One typed parser per kind of value.  Each gets its table row (where the
 * field is, the range) and the option as the user spelt it, stores the value
 * or writes one line into err, and returns 0 or -1.
 */

enum {
	OPT_NAME_MAX = 48,        /* an option as spelt, for messages */
	LONG_RAW_SAMPLES = 256,   /* getopt codes of the long-only options: */
	LONG_PROGRESS,            /* above every char a short option can be */
	LONG_CREDIT,
	LONG_EGD,
	LONG_EGD_RATE,
	LONG_EGD_CLIENTS,
	LONG_EGD_MODE,
	LONG_EGD_GROUP,
	LONG_EGD_PER_UID,
	LONG_NO_KERNEL,
	LONG_ASSESS,
};

#define NO_FIELD SIZE_MAX
#define FIELD(o, row, type) ((type *)(void *)((char *)(o) + (row)->field))
#define GIVEN(o, row) ((bool *)(void *)((char *)(o) + (row)->given))

/* What a value parser needs: the options being filled, the option being
 * parsed as the user spelt it, and where the message goes. */
struct value_ctx {
	struct options *o;
	char name[OPT_NAME_MAX];
	char *err;
	size_t errlen;
};

struct opt_row;
typedef int (*opt_parser)(const struct opt_row *row, const char *arg,
			  struct value_ctx *v);

struct opt_row {
	int val;                /* short option, or LONG_* for long-only ones */
	const char *name;       /* long option */
	const char *metavar;    /* NULL: takes no value */
	opt_parser parse;
	unsigned min, max;      /* range of an unsigned value; max 0: none */
	size_t field;           /* offsetof(struct options, ...) */
	size_t given;           /* a bool set when seen, or NO_FIELD */
	const char *help;
	/* For -h: the default and the range or form of a value, where
	 * min..max and the field's default do not say it (NULL: generated
	 * for parse_unsigned and parse_verbose; flags have none). */
	const char *range;
};

static int fail(struct value_ctx *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct value_ctx *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->err, v->errlen, fmt, ap);
	va_end(ap);
	escape_controls(v->err, v->errlen);      /* one line, whatever was typed */
	return -EINVAL;
}

static int parse_flag(const struct opt_row *row, const char *arg,
		      struct value_ctx *v)
{
	assert(arg == NULL);
	*FIELD(v->o, row, bool) = true;
	return 0;
}

/* hint: how the value may be written besides min..max ("" if not). */
static int check_unsigned(const struct opt_row *row, const char *arg,
			  struct value_ctx *v, const char *hint)
{
	uint64_t n;
	int rc = parse_uint(arg, &n);

	if (rc == -EINVAL)
		return fail(v, "%s: invalid number '%s' (expected %u..%u%s)",
			    v->name, arg, row->min, row->max, hint);
	if (rc == -ERANGE || n < row->min || n > row->max)
		return fail(v, "%s: '%s' out of range (%u..%u%s)",
			    v->name, arg, row->min, row->max, hint);
	*FIELD(v->o, row, unsigned) = (unsigned)n;
	return 0;
}

static int parse_unsigned(const struct opt_row *row, const char *arg,
			  struct value_ctx *v)
{
	return check_unsigned(row, arg, v, "");
}

/* -v: a bitmask, or haveged's -1 for every bit. */
static int parse_verbose(const struct opt_row *row, const char *arg,
			 struct value_ctx *v)
{
	if (strcmp(arg, "-1") == 0) {
		*FIELD(v->o, row, unsigned) = OPT_VERBOSE_ALL;
		return 0;
	}
	return check_unsigned(row, arg, v, ", or -1 for all bits");
}

static int parse_size(const struct opt_row *row, const char *arg,
		      struct value_ctx *v)
{
	uint64_t n;

	switch (opt_parse_size(arg, &n)) {
	case 0:
		*FIELD(v->o, row, uint64_t) = n;
		return 0;
	case -ERANGE:
		return fail(v, "%s: size '%s' out of range (at most 16t)",
			    v->name, arg);
	case -EDOM:
		return fail(v, "%s: size '%s' is less than one byte (0 means unlimited)",
			    v->name, arg);
	default:
		return fail(v, "%s: invalid size '%s' (digits with an optional fraction and one k/m/g/t suffix)",
			    v->name, arg);
	}
}

static int parse_path(const struct opt_row *row, const char *arg,
		      struct value_ctx *v)
{
	if (*arg == '\0')
		return fail(v, "%s: invalid path '' (empty)", v->name);
	*FIELD(v->o, row, const char *) = arg;
	return 0;
}

/* -o: the grammar belongs to testspec.c; keep its reason in the line. */
static int parse_testspec(const struct opt_row *row, const char *arg,
			  struct value_ctx *v)
{
	struct testspec spec;
	char why[160];

	/* its message quotes the whole spec and points at the character */
	if (testspec_parse(arg, &spec, why, sizeof(why)) < 0)
		return fail(v, "%s: %s", v->name, why);
	v->o->spec = spec;
	*FIELD(v->o, row, const char *) = arg;
	return 0;
}

/* -c: only the form is checked here; the daemon refuses the command
 * itself, since it opens no command socket. */
static int parse_command(const struct opt_row *row, const char *arg,
			 struct value_ctx *v)
{
	static const char root[] = "root=";

	if (strcmp(arg, "close") != 0 &&
	    (strncmp(arg, root, sizeof(root) - 1) != 0 || arg[sizeof(root) - 1] == '\0'))
		return fail(v, "%s: invalid command '%s' (close or root=DIR)",
			    v->name, arg);
	*FIELD(v->o, row, const char *) = arg;
	return 0;
}

/* --egd: unlike every other option, each one adds a listener (several
 * sockets at once is the point); the form is checked here, the address
 * when the server opens it. */
static int parse_egd(const struct opt_row *row, const char *arg, struct value_ctx *v)
{
	(void)row;
	if (!((strncmp(arg, "unix:", 5) == 0 && arg[5]) ||
	      (strncmp(arg, "tcp:", 4) == 0 && arg[4])))
		return fail(v, "%s: invalid listener '%s' (unix:PATH or tcp:[HOST:]PORT)",
			    v->name, arg);
	if (v->o->n_egd == OPT_EGD_MAX)
		return fail(v, "%s: at most %d listeners ('%s' is one too many)",
			    v->name, OPT_EGD_MAX, arg);
	v->o->egd[v->o->n_egd++] = arg;
	return 0;
}

/* --egd-rate=BYTES[/BURST], each a size (k/m suffixes). */
static int parse_rate(const struct opt_row *row, const char *arg, struct value_ctx *v)
{
	char head[64];
	const char *slash = strchr(arg, '/');
	size_t len = slash ? (size_t)(slash - arg) : strlen(arg);
	uint64_t rate, burst = 0;

	(void)row;
	if (len == 0 || len >= sizeof(head))
		goto bad;
	memcpy(head, arg, len);
	head[len] = '\0';
	if (opt_parse_size(head, &rate) < 0 || (slash && opt_parse_size(slash + 1, &burst) < 0))
		goto bad;
	if (slash && burst == 0)
		goto bad;
	if (rate > EGD_RATE_MAX || burst > EGD_RATE_MAX)
		return fail(v, "%s: '%s' is more than %llu bytes", v->name, arg,
			    (unsigned long long)EGD_RATE_MAX);
	v->o->egd_rate = rate;
	v->o->egd_burst = burst;
	return 0;
bad:
	return fail(v, "%s: invalid rate '%s' (BYTES[/BURST], sizes with k/m suffixes)",
		    v->name, arg);
}

static int parse_octal(const struct opt_row *row, const char *arg, struct value_ctx *v)
{
	char *end;
	unsigned long n;

	if (*arg < '0' || *arg > '7')
		goto bad;
	n = strtoul(arg, &end, 8);
	if (*end || n > row->max)
		goto bad;
	*FIELD(v->o, row, unsigned) = (unsigned)n;
	return 0;
bad:
	return fail(v, "%s: invalid mode '%s' (octal, 0 to %o)", v->name, arg, row->max);
}

static int parse_name(const struct opt_row *row, const char *arg, struct value_ctx *v)
{
	if (*arg == '\0')
		return fail(v, "%s: invalid name '' (empty)", v->name);
	*FIELD(v->o, row, const char *) = arg;
	return 0;
}

/* ------------------------------------------------------------ the table
 *
 * Every option once: getopt's short and long tables, the value parsing and
 * the help text are all generated from it.  Short letters and long names
 * are haveged 1.9.26's, so existing command lines keep their meaning.
 */

#define F(member) offsetof(struct options, member)

static const struct opt_row opt_table[] = {
	/* short, long, value, parser, min, max, field, given, help */
	{ 'b', "buffer", "N", parse_unsigned, 1, OPT_BUFFER_MAX, F(buffer), NO_FIELD,
	  "buffer in 1024-word units", NULL },
	{ 'c', "command", "CMD", parse_command, 0, 0, F(command), NO_FIELD,
	  "close | root=DIR: not supported", "(default none)" },
	{ 'C', "no-command", NULL, parse_flag, 0, 0, F(no_command), NO_FIELD,
	  "open no command socket (there is none)", NULL },
	{ 'd', "data", "KB", parse_unsigned, 0, OPT_CACHE_MAX_KB, F(data_kb), NO_FIELD,
	  "L1 data cache KB, 0 detects", NULL },
	{ 'e', "once", NULL, parse_flag, 0, 0, F(once), NO_FIELD,
	  "refill the kernel pool once, then exit", NULL },
	{ 'f', "file", "PATH", parse_path, 0, 0, F(file), NO_FIELD,
	  "file mode output, - = stdout", "(default " OPT_FILE_DEFAULT ")" },
	{ 'F', "Foreground", NULL, parse_flag, 0, 0, F(foreground), NO_FIELD,
	  "do not fork; messages to stderr", NULL },
	{ 'h', "help", NULL, parse_flag, 0, 0, F(help), NO_FIELD,
	  "this text, then exit 1", NULL },
	{ 'i', "inst", "KB", parse_unsigned, 0, OPT_CACHE_MAX_KB, F(inst_kb), NO_FIELD,
	  "L1 code cache KB, 0 detects", NULL },
	{ 'n', "number", "SIZE", parse_size, 0, 0, F(number), F(number_set),
	  "file mode: SIZE bytes, 0 = unlimited to stdout",
	  "(default none, no file mode; 0..16t)" },
	{ 'o', "onlinetest", "SPEC", parse_testspec, 0, 0, F(onlinetest), NO_FIELD,
	  "AIS-31 online tests, in haveged's notation",
	  "(default " TESTSPEC_DAEMON_DEFAULT ", file mode " TESTSPEC_FILE_DEFAULT ")" },
	{ 'p', "pidfile", "PATH", parse_path, 0, 0, F(pidfile), NO_FIELD,
	  "pid file", "(default " OPT_PIDFILE_DEFAULT ")" },
	{ 'r', "run", "N", parse_unsigned, 0, OPT_RUN_MAX, F(run), NO_FIELD,
	  "0 daemon, 1 info, >1 write N KiB", NULL },
	{ 't', "threads", "N", parse_unsigned, 1, OPT_THREADS_MAX, F(threads), NO_FIELD,
	  "collector threads", NULL },
	{ 'T', "time_interval", "SECONDS", parse_unsigned, 0, OPT_INTERVAL_MAX,
	  F(interval), NO_FIELD, "periodic refill, 0 = none", NULL },
	{ 'v', "verbose", "MASK", parse_verbose, 0, OPT_VERBOSE_ALL, F(verbose), NO_FIELD,
	  "log bitmask, -1 = all bits", NULL },
	{ 'V', "version", NULL, parse_flag, 0, 0, F(version), NO_FIELD,
	  "print the version, then exit 0", NULL },
	{ 'w', "write", "BITS", parse_unsigned, 0, OPT_WRITE_MAX, F(write_bits), F(write_set),
	  "wakeup threshold, 0 = leave", NULL },
	{ LONG_RAW_SAMPLES, "raw-samples", "FILE", parse_path, 0, 0, F(raw_samples), NO_FIELD,
	  "raw timer samples, -n of them, - = stdout",
	  "(default none; -n default 1000000)" },
	{ LONG_PROGRESS, "progress", NULL, parse_flag, 0, 0, F(progress), NO_FIELD,
	  "progress on stderr in file modes", NULL },
	{ LONG_CREDIT, "credit", "BITS", parse_unsigned, 0, OPT_CREDIT_MAX, F(credit), NO_FIELD,
	  "bits credited per byte given to the kernel", NULL },
	{ LONG_EGD, "egd", "LISTEN", parse_egd, 0, 0, F(egd), NO_FIELD,
	  "EGD listener: unix:PATH or tcp:[HOST:]PORT",
	  "(default none; repeat for more, at most 8)" },
	{ LONG_EGD_RATE, "egd-rate", "BYTES[/BURST]", parse_rate, 0, 0, F(egd_rate), NO_FIELD,
	  "per EGD client, bytes/s; burst default 1 s worth",
	  "(default 0 = unlimited; at most 1000000000 each)" },
	{ LONG_EGD_CLIENTS, "egd-clients", "N", parse_unsigned, 1, OPT_EGD_CLIENTS_MAX,
	  F(egd_clients), NO_FIELD, "most EGD clients at once, over all listeners", NULL },
	{ LONG_EGD_MODE, "egd-mode", "OCTAL", parse_octal, 0, 0777, F(egd_mode), NO_FIELD,
	  "mode of EGD UNIX sockets", NULL },
	{ LONG_EGD_GROUP, "egd-group", "GROUP", parse_name, 0, 0, F(egd_group), NO_FIELD,
	  "group of EGD UNIX sockets (e.g. libvirt-qemu)", "(default the daemon's own)" },
	{ LONG_EGD_PER_UID, "egd-per-uid", "N", parse_unsigned, 1, OPT_EGD_CLIENTS_MAX,
	  F(egd_per_uid), NO_FIELD, "most EGD UNIX clients of one non-root user",
	  "(default half of --egd-clients; 1..1024)" },
	{ LONG_ASSESS, "assess", NULL, parse_flag, 0, 0, F(assess), NO_FIELD,
	  "measure the noise at every rung of the ladder, then exit", NULL },
	{ LONG_NO_KERNEL, "no-kernel", NULL, parse_flag, 0, 0, F(no_kernel), NO_FIELD,
	  "serve EGD only; feed nothing to the kernel", NULL },
};

#undef F

enum { OPT_ROWS = ARRAY_SIZE(opt_table) };

static const struct opt_row *row_by_val(int val)
{
	for (size_t i = 0; i < OPT_ROWS; i++)
		if (opt_table[i].val == val)
			return &opt_table[i];
	return NULL;
}

/* ------------------------------------------------------------ opt_parse()
 *
 * getopt_long() with opterr = 0 and a leading ':' in the short string, so
 * every complaint is ours and a missing value is told apart from an
 * unknown option.  getopt's state is global: optind = 0 asks glibc for a
 * full restart, which tests need (they parse many command lines).
 */

/* Each option's last spelling and value, for messages about pairs. */
struct parse_state {
	struct value_ctx v;
	struct {
		char name[OPT_NAME_MAX];
		const char *arg;
	} seen[OPT_ROWS];
};

static void build_getopt(struct option *longopts, char *shortopts)
{
	*shortopts++ = ':';
	for (size_t i = 0; i < OPT_ROWS; i++) {
		const struct opt_row *r = &opt_table[i];

		longopts[i] = (struct option){ r->name,
			r->metavar ? required_argument : no_argument, NULL, r->val };
		if (r->val < LONG_RAW_SAMPLES) {
			*shortopts++ = (char)r->val;
			if (r->metavar)
				*shortopts++ = ':';
		}
	}
	*shortopts = '\0';
	longopts[OPT_ROWS] = (struct option){ NULL, 0, NULL, 0 };
}

static bool is_long(const char *elem)
{
	return strncmp(elem, "--", 2) == 0;
}

/* "--name" out of "--name" or "--name=value": what the user typed, which
 * may be an abbreviation getopt_long() accepted. */
static void spell_long(char *name, const char *elem)
{
	snprintf(name, OPT_NAME_MAX, "%.*s", (int)strcspn(elem, "="), elem);
}

/* After getopt_long() returned option c: its value is optarg, and the
 * element it came from ends at optind - 1 (or - 2 when the value was the
 * next element).  Short options may be grouped, so those are rebuilt. */
static void spell_option(char *name, int c, int longidx, char **argv)
{
	const char *elem;

	if (longidx < 0) {
		snprintf(name, OPT_NAME_MAX, "-%c", c);
		return;
	}
	elem = argv[optind - 1];
	if (optarg && optarg == elem)
		elem = argv[optind - 2];
	spell_long(name, elem);
}

/* Unknown or ambiguous --name: glibc has stepped past it either way. */
static int bad_long(struct value_ctx *v, const char *elem)
{
	size_t len = strcspn(elem + 2, "="), matches = 0;

	spell_long(v->name, elem);
	for (size_t i = 0; i < OPT_ROWS; i++)
		if (strncmp(opt_table[i].name, elem + 2, len) == 0)
			matches++;
	if (matches > 1)
		return fail(v, "%s: ambiguous option", v->name);
	return fail(v, "%s: unknown option", v->name);
}

/* getopt_long() returned ':' or '?'. */
static int getopt_error(struct value_ctx *v, int c, char **argv)
{
	const char *elem = argv[optind - 1];
	const struct opt_row *r = optopt ? row_by_val(optopt) : NULL;

	if (c == ':') {
		if (is_long(elem))
			spell_long(v->name, elem);
		else
			snprintf(v->name, OPT_NAME_MAX, "-%c", optopt);
		return fail(v, "%s: missing value", v->name);
	}
	if (optopt == 0)
		return bad_long(v, elem);
	if (r) {        /* a known option: only "--flag=value" gets here */
		const char *eq = strchr(elem, '=');

		spell_long(v->name, elem);
		return fail(v, "%s: takes no value, got '%s'", v->name,
			    eq ? eq + 1 : "");
	}
	if (optopt > 0 && optopt < 128 && optopt > ' ')
		snprintf(v->name, OPT_NAME_MAX, "-%c", optopt);
	else
		snprintf(v->name, OPT_NAME_MAX, "-\\x%02x", (unsigned)optopt & 0xff);
	return fail(v, "%s: unknown option", v->name);
}

/* Pairs that choose the same thing twice.  haveged refuses -n with -r > 1;
 * -r 1 (print and exit) and --raw-samples leave no sense to the other. */
static int check_pairs(struct parse_state *st)
{
	const struct options *o = st->v.o;
	size_t n = (size_t)(row_by_val('n') - opt_table);
	size_t r = (size_t)(row_by_val('r') - opt_table);
	size_t raw = (size_t)(row_by_val(LONG_RAW_SAMPLES) - opt_table);
	size_t first;

	if (o->assess && (o->run || o->number_set || o->raw_samples)) {
		size_t a = (size_t)(row_by_val(LONG_ASSESS) - opt_table);

		first = o->raw_samples ? raw : o->number_set ? n : r;
		snprintf(st->v.name, OPT_NAME_MAX, "%s", st->seen[a].name);
		return fail(&st->v, "%s cannot be used together with %s", st->v.name,
			    st->seen[first].name);
	}
	if (o->run == 0 || (!o->number_set && !o->raw_samples))
		return 0;
	first = o->raw_samples ? raw : n;
	snprintf(st->v.name, OPT_NAME_MAX, "%s", st->seen[first].name);
	return fail(&st->v, "%s: '%s' cannot be used together with %s %s",
		    st->v.name, st->seen[first].arg, st->seen[r].name, st->seen[r].arg);
}

/* Without -o, the mode decides (haveged: fewer tests in file mode). */
static void default_testspec(struct options *o)
{
	enum run_mode mode = opt_run_mode(o);
	const char *text = mode == RUN_FILE || mode == RUN_RAW ?
		TESTSPEC_FILE_DEFAULT : TESTSPEC_DAEMON_DEFAULT;
	char why[128];
	int rc;

	if (o->onlinetest)
		return;
	rc = testspec_parse(text, &o->spec, why, sizeof(why));
	assert(rc == 0);        /* our own default must parse */
	(void)rc;
}

static int apply(struct parse_state *st, int c, int longidx, char **argv)
{
	const struct opt_row *r = row_by_val(c);
	size_t i;
	int ret;

	if (!r)
		return getopt_error(&st->v, c, argv);
	spell_option(st->v.name, c, longidx, argv);
	ret = r->parse(r, optarg, &st->v);
	if (ret < 0)
		return ret;
	if (r->given != NO_FIELD)
		*GIVEN(st->v.o, r) = true;
	i = (size_t)(r - opt_table);
	memcpy(st->seen[i].name, st->v.name, OPT_NAME_MAX);
	st->seen[i].arg = optarg;
	return 0;
}

int opt_parse(struct options *o, int argc, char **argv, char *err, size_t errlen)
{
	struct option longopts[OPT_ROWS + 1];
	char shortopts[2 * OPT_ROWS + 2];
	struct parse_state st = { .v = { .o = o, .err = err, .errlen = errlen } };
	int c, longidx, ret;

	assert(errlen > 0);
	err[0] = '\0';
	build_getopt(longopts, shortopts);
	opterr = 0;
	optind = 0;
	for (;;) {
		longidx = -1;
		c = getopt_long(argc, argv, shortopts, longopts, &longidx);
		if (c == -1)
			break;
		ret = apply(&st, c, longidx, argv);
		if (ret < 0)
			return ret;
	}
	if (optind < argc)
		return fail(&st.v, "unexpected argument '%s'", argv[optind]);
	ret = check_pairs(&st);
	if (ret < 0)
		return ret;
	default_testspec(o);
	return 0;
}

/* ------------------------------------------------------------ queries
 *
 * What a parsed command line asks for.  Call only after opt_parse()
 * returned 0: the pairs it refuses are not sorted out here.
 */

void opt_defaults(struct options *o)
{
	*o = (struct options){
		.buffer = OPT_BUFFER_DEFAULT,
		.file = OPT_FILE_DEFAULT,
		.pidfile = OPT_PIDFILE_DEFAULT,
		.interval = OPT_INTERVAL_DEFAULT,
		.threads = 1,
		.credit = OPT_CREDIT_MAX,
		.egd_clients = OPT_EGD_CLIENTS_DEFAULT,
		.egd_mode = OPT_EGD_MODE_DEFAULT,
	};
}

enum run_mode opt_run_mode(const struct options *o)
{
	if (o->assess)
		return RUN_ASSESS;
	if (o->raw_samples)
		return RUN_RAW;
	if (o->number_set || o->run > 1)
		return RUN_FILE;
	if (o->run == 1)
		return RUN_INFO;
	return RUN_DAEMON;
}

uint64_t opt_file_bytes(const struct options *o)
{
	assert(opt_run_mode(o) == RUN_FILE);
	if (o->number_set)
		return o->number;
	return (uint64_t)o->run * 1024;
}

uint64_t opt_raw_samples(const struct options *o)
{
	assert(opt_run_mode(o) == RUN_RAW);
	return o->number_set ? o->number : OPT_RAW_SAMPLES_DEFAULT;
}

/* haveged: -n 0 (unlimited) always goes to stdout, whatever -f says. */
const char *opt_file_path(const struct options *o)
{
	enum run_mode mode = opt_run_mode(o);

	assert(mode == RUN_FILE || mode == RUN_RAW);
	if (mode == RUN_RAW)
		return strcmp(o->raw_samples, "-") == 0 ? NULL : o->raw_samples;
	if (o->number_set && o->number == 0)
		return NULL;
	return strcmp(o->file, "-") == 0 ? NULL : o->file;
}

/* ------------------------------------------------------------ opt_usage() */

enum {
	USAGE_LEFT  = 27,       /* width of the "-x, --long=VALUE" column */
	USAGE_WIDTH = 79,       /* wrap the range to a second line past this */
};

static void usage_row(FILE *f, const struct opt_row *r, struct options *d)
{
	bool has_short = r->val < LONG_RAW_SAMPLES;
	char left[OPT_NAME_MAX], range[64] = "";
	int len;

	snprintf(left, sizeof(left), "%c%c%c --%s%s%s",
		 has_short ? '-' : ' ', has_short ? r->val : ' ',
		 has_short ? ',' : ' ',
		 r->name, r->metavar ? "=" : "", r->metavar ? r->metavar : "");
	if (r->range)
		snprintf(range, sizeof(range), "%s", r->range);
	else if (r->max && r->parse == parse_unsigned)
		snprintf(range, sizeof(range), "(default %u; %u..%u)",
			 *FIELD(d, r, unsigned), r->min, r->max);
	else if (r->parse == parse_octal)
		snprintf(range, sizeof(range), "(default %#o; %#o..%#o)",
			 *FIELD(d, r, unsigned), r->min, r->max);
	else if (r->parse == parse_verbose)
		snprintf(range, sizeof(range), "(default %u; %u..%u, or -1)",
			 *FIELD(d, r, unsigned), r->min, r->max);
	len = fprintf(f, "  %-*s %s", USAGE_LEFT, left, r->help);
	if (!range[0])
		fputc('\n', f);
	else if (len + 1 + (int)strlen(range) <= USAGE_WIDTH)
		fprintf(f, " %s\n", range);
	else
		fprintf(f, "\n  %-*s %s\n", USAGE_LEFT, "", range);
}

const char *opt_long_name(size_t i)
{
	return i < OPT_ROWS ? opt_table[i].name : NULL;
}

void opt_usage(FILE *f)
{
	struct options d;

	opt_defaults(&d);
	fputs("Usage: havege-rngd [OPTION]...\n"
	      "Feed the kernel entropy pool from HAVEGE timing noise, conditioned\n"
	      "with SHA-256 and AES-256-CTR; or write the output to a file or stdout\n"
	      "(-n, -r > 1), or raw timer samples (--raw-samples).\n\n", f);
	for (size_t i = 0; i < OPT_ROWS; i++)
		usage_row(f, &opt_table[i], &d);
	fputs("\nOptions without a value are off unless given.\n"
	      "SIZE: digits with an optional fraction and one k/m/g/t suffix\n"
	      "(either case, each x1024), e.g. 1.5M; at most 16t.\n"
	      "See havege-rngd(8).\n", f);
}
