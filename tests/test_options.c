/* test_options.c - the command line parser (src/options.c).
 *
 * Every option's good values and every class of bad value, in both
 * spellings; the last of a repeated option wins; mode selection; the size
 * grammar of -n; and that each message names the option as written and
 * the value.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "options.h"
#include "testspec.h"
#include "testutil.h"
#include "util.h"

enum { ARGS_MAX = 16, ERR_LEN = 256 };

static char err[ERR_LEN];

/* opt_defaults() + opt_parse() over a NULL-terminated list of arguments. */
static int parse_list(struct options *o, va_list ap)
{
	char *argv[ARGS_MAX + 2];
	int argc = 0;
	const char *a;

	argv[argc++] = (char *)"havege-rngd";
	while ((a = va_arg(ap, const char *)) != NULL) {
		assert_true(argc <= ARGS_MAX);
		argv[argc++] = (char *)a;
	}
	argv[argc] = NULL;
	opt_defaults(o);
	memset(err, 0, sizeof(err));
	return opt_parse(o, argc, argv, err, sizeof(err));
}

static int parse(struct options *o, ...)
{
	va_list ap;
	int rc;

	va_start(ap, o);
	rc = parse_list(o, ap);
	va_end(ap);
	return rc;
}

#define parse_ok(o, ...) do { \
		if (parse((o), __VA_ARGS__, NULL) != 0) \
			fail_msg("unexpected error: %s", err); \
	} while (0)

/* The call fails, err is one line, and it contains every needle. */
static void expect_bad(const char *needles[], ...)
{
	struct options o;
	va_list ap;
	int rc;

	va_start(ap, needles);
	rc = parse_list(&o, ap);
	va_end(ap);
	assert_int_equal(rc, -1);
	assert_true(err[0] != '\0');
	assert_null(strchr(err, '\n'));
	for (; *needles; needles++)
		if (!strstr(err, *needles))
			fail_msg("'%s' not in message: %s", *needles, err);
}

#define NEEDLES(...) ((const char *[]){ __VA_ARGS__, NULL })
#define bad(needles, ...) expect_bad(needles, __VA_ARGS__, NULL)

/* ------------------------------------------------------------ sizes */

struct size_case {
	const char *text;
	int rc;
	uint64_t bytes;
};

static void test_size_edges(void **state)
{
	static const struct size_case cases[] = {
		{ "0", 0, 0 },
		{ "00", 0, 0 },
		{ "0.0", 0, 0 },
		{ "1", 0, 1 },
		{ "1k", 0, 1024 },
		{ "1K", 0, 1024 },
		{ "1m", 0, 1024 * 1024 },
		{ "1G", 0, UINT64_C(1) << 30 },
		{ "1g", 0, UINT64_C(1) << 30 },
		{ "2T", 0, UINT64_C(2) << 40 },
		{ "1.5M", 0, 3 * 512 * 1024 },
		{ "0.5k", 0, 512 },
		{ "1.5", 0, 1 },                 /* fraction of a byte dropped */
		{ "2.999", 0, 2 },
		{ "0.001k", 0, 1 },              /* 1.024 bytes */
		{ "1.0009765625k", 0, 1025 },    /* exactly 1024 + 1 */
		{ "1.0009765624k", 0, 1024 },    /* just under: truncated */
		{ "0.50000000000000000000000000001k", 0, 512 },
		{ "16t", 0, OPT_NUMBER_MAX },
		{ "16T", 0, OPT_NUMBER_MAX },
		{ "16384g", 0, OPT_NUMBER_MAX },
		{ "16.0001t", -ERANGE, 0 },
		{ "17t", -ERANGE, 0 },
		{ "16385g", -ERANGE, 0 },
		{ "17592186044417", -ERANGE, 0 },  /* 16 TiB + 1 */
		{ "18446744073709551616", -ERANGE, 0 },
		{ "99999999999999999999999999t", -ERANGE, 0 },
		{ "0.1", -EDOM, 0 },
		{ "0.9", -EDOM, 0 },
		{ "0.0009k", -EDOM, 0 },         /* 0.9216 bytes */
		{ "1kk", -EINVAL, 0 },
		{ "1kb", -EINVAL, 0 },
		{ "k", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 },
		{ "1k ", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 },
		{ "1e3", -EINVAL, 0 },
		{ ".5k", -EINVAL, 0 },
		{ "1.", -EINVAL, 0 },
		{ "1.k", -EINVAL, 0 },
		{ "1.5.5", -EINVAL, 0 },
		{ "1,5k", -EINVAL, 0 },
		{ "12x", -EINVAL, 0 },
		{ "1p", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t bytes = 12345;
		int rc = opt_parse_size(cases[i].text, &bytes);

		if (rc != cases[i].rc)
			fail_msg("'%s': rc %d, want %d", cases[i].text, rc, cases[i].rc);
		if (rc == 0 && bytes != cases[i].bytes)
			fail_msg("'%s': %llu bytes, want %llu", cases[i].text,
				 (unsigned long long)bytes,
				 (unsigned long long)cases[i].bytes);
		if (rc != 0 && bytes != 12345)
			fail_msg("'%s': output written on error", cases[i].text);
	}
}

/* Whole and three-digit fractions against plain integer arithmetic:
 * "W.FFF<s>" is floor((W * 1000 + FFF) * unit / 1000). */
static void test_size_fractions(void **state)
{
	static const char suffix[] = "kmgt";
	char text[32];

	(void)state;
	for (unsigned s = 0; s < 4; s++) {
		uint64_t unit = UINT64_C(1) << (10 * (s + 1));

		for (unsigned w = 0; w < 16; w += 5) {
			for (unsigned f = 0; f < 1000; f += 37) {
				uint64_t want = ((uint64_t)w * 1000 + f) * unit / 1000;
				uint64_t got;

				snprintf(text, sizeof(text), "%u.%03u%c", w, f,
					 f & 1 ? suffix[s] - 32 : suffix[s]);
				assert_int_equal(opt_parse_size(text, &got), 0);
				if (got != want)
					fail_msg("'%s': %llu, want %llu", text,
						 (unsigned long long)got,
						 (unsigned long long)want);
			}
		}
	}
}

static void test_number_option(void **state)
{
	struct options o;

	(void)state;
	parse_ok(&o, "-n", "1.5M");
	assert_true(o.number_set);
	assert_true(o.number == 3 * 512 * 1024);
	parse_ok(&o, "--number=2k");
	assert_true(o.number == 2048);
	parse_ok(&o, "--number", "16t");
	assert_true(o.number == OPT_NUMBER_MAX);
	parse_ok(&o, "-n0");
	assert_true(o.number_set);
	assert_true(o.number == 0);

	assert_int_equal(parse(&o, "--number=12x", NULL), -1);
	assert_string_equal(err, "--number: invalid size '12x' "
			    "(digits with an optional fraction and one k/m/g/t suffix)");
	bad(NEEDLES("-n", "'17t'", "range"), "-n", "17t");
	bad(NEEDLES("--number", "'0.1'", "less than one byte"), "--number", "0.1");
	bad(NEEDLES("-n", "'-1'"), "-n", "-1");
	bad(NEEDLES("--number", "''"), "--number=");
}

/* ------------------------------------------------------------ unsigned */

struct uint_option {
	const char *shrt, *lng;
	size_t field;
	unsigned min, max;
};

#define O(member) offsetof(struct options, member)

static const struct uint_option uint_options[] = {
	{ "-b", "--buffer", O(buffer), 1, OPT_BUFFER_MAX },
	{ "-d", "--data", O(data_kb), 0, OPT_CACHE_MAX_KB },
	{ "-i", "--inst", O(inst_kb), 0, OPT_CACHE_MAX_KB },
	{ "-r", "--run", O(run), 0, OPT_RUN_MAX },
	{ "-t", "--threads", O(threads), 1, OPT_THREADS_MAX },
	{ "-T", "--time_interval", O(interval), 0, OPT_INTERVAL_MAX },
	{ "-v", "--verbose", O(verbose), 0, 0xffff },
	{ "-w", "--write", O(write_bits), 0, OPT_WRITE_MAX },
};

static unsigned field_of(const struct options *o, const struct uint_option *u)
{
	unsigned v;

	memcpy(&v, (const char *)o + u->field, sizeof(v));
	return v;
}

/* value accepted through all four spellings, and stored */
static void accept_all_spellings(const struct uint_option *u, unsigned value)
{
	char num[24], attached[40], eq[48];
	struct options o;

	snprintf(num, sizeof(num), "%u", value);
	snprintf(attached, sizeof(attached), "%s%u", u->shrt, value);
	snprintf(eq, sizeof(eq), "%s=%u", u->lng, value);
	parse_ok(&o, u->shrt, num);
	assert_int_equal(field_of(&o, u), value);
	parse_ok(&o, attached);
	assert_int_equal(field_of(&o, u), value);
	parse_ok(&o, u->lng, num);
	assert_int_equal(field_of(&o, u), value);
	parse_ok(&o, eq);
	assert_int_equal(field_of(&o, u), value);
}

static void test_unsigned_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(uint_options); i++) {
		const struct uint_option *u = &uint_options[i];

		accept_all_spellings(u, u->min);
		accept_all_spellings(u, u->max);
		accept_all_spellings(u, u->min + (u->max - u->min) / 3);
	}
}

/* One bad value through the short and the long spelling. */
static void reject_value(const struct uint_option *u, const char *value)
{
	char quoted[64], eq[64];

	snprintf(quoted, sizeof(quoted), "'%s'", value);
	snprintf(eq, sizeof(eq), "%s=%s", u->lng, value);
	bad(NEEDLES(u->shrt, quoted), u->shrt, value);
	bad(NEEDLES(u->lng, quoted), eq);
	bad(NEEDLES(u->lng, quoted), u->lng, value);
}

static void test_unsigned_bad(void **state)
{
	static const char *const garbage[] = {
		"abc", "12x", "-5", "+1", " 1", "1 ", "0x10", "1e3", "1.5",
		"1k", "", "99999999999999999999999",
	};
	char num[24];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(uint_options); i++) {
		const struct uint_option *u = &uint_options[i];

		for (size_t g = 0; g < ARRAY_SIZE(garbage); g++)
			reject_value(u, garbage[g]);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)u->max + 1);
		reject_value(u, num);
		if (u->min > 0) {
			snprintf(num, sizeof(num), "%u", u->min - 1);
			reject_value(u, num);
		}
	}
	bad(NEEDLES("-b", "'0'", "range"), "-b", "0");
	bad(NEEDLES("--threads", "'65'", "range"), "--threads=65");
	bad(NEEDLES("-T", "'604801'", "range"), "-T", "604801");
}

static void test_verbose(void **state)
{
	struct options o;

	(void)state;
	parse_ok(&o, "-v", "-1");
	assert_int_equal(o.verbose, OPT_VERBOSE_ALL);
	assert_int_equal(OPT_VERBOSE_ALL, 0xffff);
	parse_ok(&o, "--verbose=-1");
	assert_int_equal(o.verbose, 0xffff);
	parse_ok(&o, "-v-1");
	assert_int_equal(o.verbose, 0xffff);
	parse_ok(&o, "-v", "96");
	assert_int_equal(o.verbose, 96);
	bad(NEEDLES("-v", "'-2'"), "-v", "-2");
	bad(NEEDLES("--verbose", "'-1x'"), "--verbose=-1x");
	bad(NEEDLES("-v", "'65536'", "range"), "-v", "65536");
}

static void test_write_given(void **state)
{
	struct options o;

	(void)state;
	parse_ok(&o, "-b", "4");
	assert_false(o.write_set);
	parse_ok(&o, "-w", "0");
	assert_true(o.write_set);
	assert_int_equal(o.write_bits, 0);
	parse_ok(&o, "--write=1024");
	assert_true(o.write_set);
	assert_int_equal(o.write_bits, 1024);
}

/* ------------------------------------------------------------ strings */

static void test_paths(void **state)
{
	struct options o;

	(void)state;
	parse_ok(&o, "-f", "out.bin");
	assert_string_equal(o.file, "out.bin");
	parse_ok(&o, "--file=-");
	assert_string_equal(o.file, "-");
	parse_ok(&o, "-p", "/run/x.pid");
	assert_string_equal(o.pidfile, "/run/x.pid");
	parse_ok(&o, "--pidfile", "p");
	assert_string_equal(o.pidfile, "p");
	parse_ok(&o, "--raw-samples", "raw.bin");
	assert_string_equal(o.raw_samples, "raw.bin");
	parse_ok(&o, "--raw-samples=-");
	assert_string_equal(o.raw_samples, "-");
	bad(NEEDLES("-f", "''"), "-f", "");
	bad(NEEDLES("--file", "''"), "--file=");
	bad(NEEDLES("-p", "''"), "-p", "");
	bad(NEEDLES("--raw-samples", "''"), "--raw-samples=");
	bad(NEEDLES("--raw-samples", "missing"), "--raw-samples");
}

static void expect_spec(const char *text, const struct testspec *got)
{
	struct testspec want;
	char why[160];

	assert_int_equal(testspec_parse(text, &want, why, sizeof(why)), 0);
	assert_memory_equal(&want, got, sizeof(want));
}

static void test_onlinetest(void **state)
{
	static const char *const good[] = { "ta8bcb", "ta8b", "tbca1w", "c", "", "TA8B" };
	static const char *const wrong[] = { "x", "ta9", "tq", "bw", "ta8bcbz" };
	struct options o;
	char quoted[32];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		parse_ok(&o, "-o", good[i]);
		assert_string_equal(o.onlinetest, good[i]);
		expect_spec(good[i], &o.spec);
		parse_ok(&o, "-n", "1", "--onlinetest", good[i]);
		expect_spec(good[i], &o.spec);
	}
	for (size_t i = 0; i < ARRAY_SIZE(wrong); i++) {
		snprintf(quoted, sizeof(quoted), "%s", wrong[i]);
		bad(NEEDLES("-o: ", quoted), "-o", wrong[i]);
		bad(NEEDLES("--onlinetest: ", quoted), "--onlinetest", wrong[i]);
	}
}

static void test_default_spec_by_mode(void **state)
{
	struct options o;

	(void)state;
	parse_ok(&o, "-F");
	assert_null(o.onlinetest);
	expect_spec(TESTSPEC_DAEMON_DEFAULT, &o.spec);
	parse_ok(&o, "-n", "1k");
	expect_spec(TESTSPEC_FILE_DEFAULT, &o.spec);
	parse_ok(&o, "-r", "4");
	expect_spec(TESTSPEC_FILE_DEFAULT, &o.spec);
	parse_ok(&o, "-r", "1");
	expect_spec(TESTSPEC_DAEMON_DEFAULT, &o.spec);
}

static void test_command(void **state)
{
	struct options o;

	(void)state;
	parse_ok(&o, "-F");
	assert_null(o.command);
	parse_ok(&o, "-c", "close");
	assert_string_equal(o.command, "close");
	parse_ok(&o, "--command=root=/sysroot");
	assert_string_equal(o.command, "root=/sysroot");
	parse_ok(&o, "--command", "root=x");
	assert_string_equal(o.command, "root=x");
	bad(NEEDLES("-c", "'root='"), "-c", "root=");
	bad(NEEDLES("-c", "'open'"), "-c", "open");
	bad(NEEDLES("--command", "'closed'"), "--command=closed");
	bad(NEEDLES("--command", "'root'"), "--command", "root");
	bad(NEEDLES("-c", "''"), "-c", "");
	bad(NEEDLES("-c", "missing"), "-c");
}

/* ------------------------------------------------------------ flags */

struct flag_option {
	const char *shrt, *lng;
	size_t field;
};

static const struct flag_option flag_options[] = {
	{ "-F", "--Foreground", O(foreground) },
	{ "-e", "--once", O(once) },
	{ "-C", "--no-command", O(no_command) },
	{ "-V", "--version", O(version) },
	{ "-h", "--help", O(help) },
	{ NULL, "--progress", O(progress) },
};

static bool flag_of(const struct options *o, size_t field)
{
	bool v;

	memcpy(&v, (const char *)o + field, sizeof(v));
	return v;
}

static void test_flags(void **state)
{
	struct options o;
	char eq[40];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(flag_options); i++) {
		const struct flag_option *f = &flag_options[i];

		parse_ok(&o, "-b", "2");
		assert_false(flag_of(&o, f->field));
		parse_ok(&o, f->lng);
		assert_true(flag_of(&o, f->field));
		if (f->shrt) {
			parse_ok(&o, f->shrt);
			assert_true(flag_of(&o, f->field));
		}
		snprintf(eq, sizeof(eq), "%s=1", f->lng);
		bad(NEEDLES(f->lng, "no value", "'1'"), eq);
	}
	parse_ok(&o, "-FeC");
	assert_true(o.foreground && o.once && o.no_command);
}

/* ------------------------------------------------------------ getopt */

static void test_repeated_last_wins(void **state)
{
	struct options o;

	(void)state;
	parse_ok(&o, "-v", "1", "-v", "2", "-v", "64");
	assert_int_equal(o.verbose, 64);
	parse_ok(&o, "-n", "1k", "--number=2k");
	assert_true(o.number == 2048);
	parse_ok(&o, "--buffer", "7", "-b", "3");
	assert_int_equal(o.buffer, 3);
	parse_ok(&o, "-f", "a", "-f", "b");
	assert_string_equal(o.file, "b");
	parse_ok(&o, "-o", "t", "-o", "ta8b");
	expect_spec("ta8b", &o.spec);
	/* an earlier bad value is still an error */
	bad(NEEDLES("-b", "'x'"), "-b", "x", "-b", "4");
	bad(NEEDLES("-v", "'9x'"), "-v", "9x", "-v", "1");
}

static void test_getopt_errors(void **state)
{
	(void)state;
	bad(NEEDLES("-x", "unknown option"), "-x");
	bad(NEEDLES("-x", "unknown option"), "-Fx");
	bad(NEEDLES("-x", "unknown option"), "--once", "-xF");
	bad(NEEDLES("--bogus", "unknown option"), "--bogus");
	bad(NEEDLES("--bogus", "unknown option"), "--bogus=3");
	bad(NEEDLES("--n", "ambiguous"), "--n", "5");
	bad(NEEDLES("-n", "missing value"), "-n");
	bad(NEEDLES("-n", "missing value"), "-Fn");
	bad(NEEDLES("--number", "missing value"), "--number");
	bad(NEEDLES("--buffer", "missing value"), "-F", "--buffer");
	bad(NEEDLES("-n", "'12x'"), "-Fn12x");
	bad(NEEDLES("--num", "'12x'"), "--num", "12x");   /* abbreviation as written */
	bad(NEEDLES("--numb", "'12x'"), "--numb=12x");
	bad(NEEDLES("unexpected argument", "'stray'"), "stray");
	bad(NEEDLES("unexpected argument", "'stray'"), "-F", "stray", "-n", "1");
	bad(NEEDLES("unexpected argument", "'-'"), "-");
}

static void test_parse_again_after_error(void **state)
{
	struct options o;

	(void)state;
	/* stop inside a group: getopt's hidden position must not leak */
	assert_int_equal(parse(&o, "-Fxe", NULL), -1);
	parse_ok(&o, "-b", "9");
	assert_int_equal(o.buffer, 9);
	assert_false(o.once);
	assert_int_equal(parse(&o, "-n", "1", "stray", NULL), -1);
	parse_ok(&o, "-e");
	assert_true(o.once);
	assert_false(o.number_set);
}

static void test_permuted_argv(void **state)
{
	struct options o;

	(void)state;
	parse_ok(&o, "-n", "1k", "--");
	assert_true(o.number == 1024);
	/* "--" ends the options; what follows is a stray argument */
	assert_int_equal(parse(&o, "-n", "1k", "--", "x", NULL), -1);
	assert_non_null(strstr(err, "'x'"));
}

/* ------------------------------------------------------------ modes */

static void test_modes(void **state)
{
	struct options o;

	(void)state;
	parse_ok(&o, "-F");
	assert_int_equal(opt_run_mode(&o), RUN_DAEMON);
	parse_ok(&o, "-r", "0");
	assert_int_equal(opt_run_mode(&o), RUN_DAEMON);
	parse_ok(&o, "-r", "1");
	assert_int_equal(opt_run_mode(&o), RUN_INFO);

	parse_ok(&o, "-r", "3");
	assert_int_equal(opt_run_mode(&o), RUN_FILE);
	assert_true(opt_file_bytes(&o) == 3 * 1024);
	assert_string_equal(opt_file_path(&o), OPT_FILE_DEFAULT);

	parse_ok(&o, "-n", "1k", "-r", "0");
	assert_int_equal(opt_run_mode(&o), RUN_FILE);
	assert_true(opt_file_bytes(&o) == 1024);
	assert_string_equal(opt_file_path(&o), "sample");

	parse_ok(&o, "-n", "5", "-f", "out.bin");
	assert_string_equal(opt_file_path(&o), "out.bin");
	parse_ok(&o, "-n", "5", "-f", "-");
	assert_null(opt_file_path(&o));
	parse_ok(&o, "-r", "2", "-f", "-");
	assert_null(opt_file_path(&o));
	/* -n 0: unlimited, and always stdout */
	parse_ok(&o, "-n", "0", "-f", "out.bin");
	assert_int_equal(opt_run_mode(&o), RUN_FILE);
	assert_true(opt_file_bytes(&o) == 0);
	assert_null(opt_file_path(&o));
}

static void test_mode_conflicts(void **state)
{
	(void)state;
	bad(NEEDLES("-n", "'1k'", "-r", "2"), "-n", "1k", "-r", "2");
	bad(NEEDLES("--number", "'5'", "--run", "9"), "--run=9", "--number=5");
	bad(NEEDLES("-n", "-r", "1"), "-r", "1", "-n", "0");
	bad(NEEDLES("--raw-samples", "'x'", "-r", "1"), "--raw-samples=x", "-r", "1");
	bad(NEEDLES("--raw-samples", "-r", "4"), "-r", "4", "--raw-samples", "x");
}

static void test_raw_mode(void **state)
{
	struct options o;

	(void)state;
	parse_ok(&o, "--raw-samples=raw.bin");
	assert_int_equal(opt_run_mode(&o), RUN_RAW);
	assert_true(opt_raw_samples(&o) == OPT_RAW_SAMPLES_DEFAULT);
	assert_int_equal(OPT_RAW_SAMPLES_DEFAULT, 1000000);
	assert_string_equal(opt_file_path(&o), "raw.bin");
	parse_ok(&o, "--raw-samples", "-", "-n", "1k");
	assert_int_equal(opt_run_mode(&o), RUN_RAW);
	assert_true(opt_raw_samples(&o) == 1024);
	assert_null(opt_file_path(&o));
	parse_ok(&o, "--raw-samples=r", "-n", "0");
	assert_true(opt_raw_samples(&o) == 0);
	assert_string_equal(opt_file_path(&o), "r");
}

/* Daemon-only options are accepted alongside file mode. */
static void test_daemon_options_in_file_mode(void **state)
{
	struct options o;

	(void)state;
	parse_ok(&o, "-n", "1k", "-w", "1024", "-T", "0", "-e", "-p", "x.pid",
		 "-C", "-F", "-t", "2", "-b", "64");
	assert_int_equal(opt_run_mode(&o), RUN_FILE);
	assert_true(opt_file_bytes(&o) == 1024);
}

static void test_defaults(void **state)
{
	struct options o;

	(void)state;
	opt_defaults(&o);
	assert_int_equal(o.buffer, OPT_BUFFER_DEFAULT);
	assert_int_equal(o.buffer, 128);
	assert_int_equal(o.interval, 60);
	assert_int_equal(o.threads, 1);
	assert_int_equal(o.data_kb, 0);
	assert_int_equal(o.inst_kb, 0);
	assert_int_equal(o.verbose, 0);
	assert_int_equal(o.run, 0);
	assert_false(o.number_set || o.write_set || o.foreground || o.once);
	assert_string_equal(o.pidfile, "/var/run/havege-rngd.pid");
	assert_string_equal(o.file, "sample");
	assert_null(o.onlinetest);
	assert_null(o.command);
	assert_null(o.raw_samples);
	parse_ok(&o, "-F");
	assert_int_equal(o.buffer, 128);
}

/* ------------------------------------------------------------ usage */

static void test_usage_lists_every_option(void **state)
{
	static const char *const names[] = {
		"-b, --buffer=", "-c, --command=", "-C, --no-command",
		"-d, --data=", "-e, --once", "-f, --file=", "-F, --Foreground",
		"-h, --help", "-i, --inst=", "-n, --number=", "-o, --onlinetest=",
		"-p, --pidfile=", "-r, --run=", "-t, --threads=",
		"-T, --time_interval=", "-v, --verbose=", "-V, --version",
		"-w, --write=", "--raw-samples=", "--progress",
	};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	opt_usage(f);
	assert_int_equal(fclose(f), 0);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strstr(text, names[i]))
			fail_msg("usage lacks '%s'", names[i]);
	assert_non_null(strstr(text, "1..65536"));   /* -b range */
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_edges),
		cmocka_unit_test(test_size_fractions),
		cmocka_unit_test(test_number_option),
		cmocka_unit_test(test_unsigned_good),
		cmocka_unit_test(test_unsigned_bad),
		cmocka_unit_test(test_verbose),
		cmocka_unit_test(test_write_given),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_onlinetest),
		cmocka_unit_test(test_default_spec_by_mode),
		cmocka_unit_test(test_command),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_repeated_last_wins),
		cmocka_unit_test(test_getopt_errors),
		cmocka_unit_test(test_parse_again_after_error),
		cmocka_unit_test(test_permuted_argv),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_mode_conflicts),
		cmocka_unit_test(test_raw_mode),
		cmocka_unit_test(test_daemon_options_in_file_mode),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_usage_lists_every_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
