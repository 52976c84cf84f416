/* test_options.c - the command line parser (src/daemon/options.c).
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

#include "egd.h"
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
	assert_int_equal(rc, -EINVAL);
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

	assert_int_equal(parse(&o, "--number=12x", NULL), -EINVAL);
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

/* shrt NULL: a long-only option. */
static const struct uint_option uint_options[] = {
	{ "-b", "--buffer", O(buffer), 1, OPT_BUFFER_MAX },
	{ "-d", "--data", O(data_kb), 0, OPT_CACHE_MAX_KB },
	{ "-i", "--inst", O(inst_kb), 0, OPT_CACHE_MAX_KB },
	{ "-r", "--run", O(run), 0, OPT_RUN_MAX },
	{ "-t", "--threads", O(threads), 1, OPT_THREADS_MAX },
	{ "-T", "--time_interval", O(interval), 0, OPT_INTERVAL_MAX },
	{ "-v", "--verbose", O(verbose), 0, 0xffff },
	{ "-w", "--write", O(write_bits), 0, OPT_WRITE_MAX },
	{ NULL, "--credit", O(credit), 0, OPT_CREDIT_MAX },
	{ NULL, "--egd-clients", O(egd_clients), 1, OPT_EGD_CLIENTS_MAX },
	{ NULL, "--egd-per-uid", O(egd_per_uid), 1, OPT_EGD_CLIENTS_MAX },
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
	snprintf(eq, sizeof(eq), "%s=%u", u->lng, value);
	if (u->shrt) {
		snprintf(attached, sizeof(attached), "%s%u", u->shrt, value);
		parse_ok(&o, u->shrt, num);
		assert_int_equal(field_of(&o, u), value);
		parse_ok(&o, attached);
		assert_int_equal(field_of(&o, u), value);
	}
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
	if (u->shrt)
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
	struct testspec want = test_spec(text);

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

/* ------------------------------------------------------------ EGD */

static void test_egd_listeners(void **state)
{
	struct options o;

	(void)state;
	parse_ok(&o, "-F");
	assert_int_equal(o.n_egd, 0);
	parse_ok(&o, "--egd=unix:/run/egd", "--egd", "tcp:127.0.0.1:708", "--egd=tcp:0");
	assert_int_equal(o.n_egd, 3);
	assert_string_equal(o.egd[0], "unix:/run/egd");
	assert_string_equal(o.egd[1], "tcp:127.0.0.1:708");
	assert_string_equal(o.egd[2], "tcp:0");
	parse_ok(&o, "--egd=unix:a", "--egd=unix:b", "--egd=unix:c", "--egd=unix:d",
		 "--egd=unix:e", "--egd=unix:f", "--egd=unix:g", "--egd=unix:h");
	assert_int_equal(o.n_egd, OPT_EGD_MAX);
	bad(NEEDLES("--egd", "at most 8", "'unix:i'"), "--egd=unix:a", "--egd=unix:b",
	    "--egd=unix:c", "--egd=unix:d", "--egd=unix:e", "--egd=unix:f",
	    "--egd=unix:g", "--egd=unix:h", "--egd=unix:i");
	bad(NEEDLES("--egd", "'udp:1'", "unix:PATH or tcp:"), "--egd=udp:1");
	bad(NEEDLES("--egd", "'unix:'"), "--egd", "unix:");
	bad(NEEDLES("--egd", "'tcp:'"), "--egd=tcp:");
	bad(NEEDLES("--egd", "''"), "--egd=");
	bad(NEEDLES("--egd", "missing"), "--egd");
}

static void test_egd_rate(void **state)
{
	static const char *const wrong[] = {
		"x", "", "/5", "5/", "5/0", "-1", "1e3", "4k/x", "1k/2k/3k", "12q",
	};
	char quoted[32];
	struct options o;

	(void)state;
	parse_ok(&o, "-F");
	assert_true(o.egd_rate == 0 && o.egd_burst == 0);       /* unlimited */
	parse_ok(&o, "--egd-rate=1000");
	assert_true(o.egd_rate == 1000 && o.egd_burst == 0);
	parse_ok(&o, "--egd-rate", "64k/1k");
	assert_true(o.egd_rate == 65536 && o.egd_burst == 1024);
	parse_ok(&o, "--egd-rate=1000000000/1000000000");         /* the cap */
	assert_true(o.egd_rate == 1000000000 && o.egd_burst == 1000000000);
	parse_ok(&o, "--egd-rate=0");
	assert_true(o.egd_rate == 0);
	/* above the cap, whatever the mode: file mode, daemon, EGD only */
	bad(NEEDLES("--egd-rate", "'2g'", "1000000000"), "--egd-rate=2g");
	bad(NEEDLES("--egd-rate", "'1000000001'", "1000000000"), "-n", "1k",
	    "--egd-rate=1000000001");
	bad(NEEDLES("--egd-rate", "'4k/2g'", "1000000000"), "-F", "--egd-rate", "4k/2g");
	bad(NEEDLES("--egd-rate", "'1g/1'"), "-F", "--no-kernel", "--egd=unix:x",
	    "--egd-rate=1g/1");
	bad(NEEDLES("--egd-rate", "'17t'"), "--egd-rate=17t");
	for (size_t i = 0; i < ARRAY_SIZE(wrong); i++) {
		snprintf(quoted, sizeof(quoted), "'%s'", wrong[i]);
		bad(NEEDLES("--egd-rate", quoted, "BYTES[/BURST]"), "--egd-rate", wrong[i]);
	}
	bad(NEEDLES("--egd-rate", "missing"), "--egd-rate");
}

static void test_egd_mode_and_group(void **state)
{
	static const char *const wrong[] = {
		"8", "0800", "01000", "1000", "-1", "", "x", "0x1ff", "06 ", "+644",
	};
	char quoted[32];
	struct options o;

	(void)state;
	parse_ok(&o, "-F");
	assert_int_equal(o.egd_mode, 0600);
	assert_null(o.egd_group);
	parse_ok(&o, "--egd-mode=0660");
	assert_int_equal(o.egd_mode, 0660);
	parse_ok(&o, "--egd-mode", "777");                       /* octal without 0 */
	assert_int_equal(o.egd_mode, 0777);
	parse_ok(&o, "--egd-mode=0");
	assert_int_equal(o.egd_mode, 0);
	for (size_t i = 0; i < ARRAY_SIZE(wrong); i++) {
		snprintf(quoted, sizeof(quoted), "'%s'", wrong[i]);
		bad(NEEDLES("--egd-mode", quoted, "octal, 0 to 777"), "--egd-mode", wrong[i]);
	}
	parse_ok(&o, "--egd-group=libvirt-qemu");
	assert_string_equal(o.egd_group, "libvirt-qemu");
	parse_ok(&o, "--egd-group", "0");
	assert_string_equal(o.egd_group, "0");
	bad(NEEDLES("--egd-group", "''"), "--egd-group=");
	bad(NEEDLES("--egd-group", "missing"), "--egd-group");
}

static void test_credit_and_no_kernel(void **state)
{
	struct options o;

	(void)state;
	parse_ok(&o, "-F");
	assert_int_equal(o.credit, 8);
	assert_false(o.no_kernel);
	parse_ok(&o, "--credit=0");
	assert_int_equal(o.credit, 0);
	bad(NEEDLES("--credit", "'9'", "range", "0..8"), "--credit=9");
	bad(NEEDLES("--credit", "'0.5'"), "--credit", "0.5");
	/* --no-kernel is a flag; what it needs (--egd) is the daemon's to
	 * say, after parsing */
	parse_ok(&o, "--no-kernel");
	assert_true(o.no_kernel);
	assert_int_equal(opt_run_mode(&o), RUN_DAEMON);
	bad(NEEDLES("--no-kernel", "no value", "'yes'"), "--no-kernel=yes");
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
	{ NULL, "--no-kernel", O(no_kernel) },
	{ NULL, "--assess", O(assess) },
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
	assert_int_equal(parse(&o, "-Fxe", NULL), -EINVAL);
	parse_ok(&o, "-b", "9");
	assert_int_equal(o.buffer, 9);
	assert_false(o.once);
	assert_int_equal(parse(&o, "-n", "1", "stray", NULL), -EINVAL);
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
	assert_int_equal(parse(&o, "-n", "1k", "--", "x", NULL), -EINVAL);
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

/* The line of the usage that lists --name (with "=" when it takes a
 * value), and the line after it when that is the range wrapped; NULL when
 * absent.  Returns a copy. */
static char *usage_entry(const char *text, const char *name)
{
	char key[64];
	const char *p = text, *end;

	snprintf(key, sizeof(key), "--%s", name);
	while ((p = strstr(p, key)) != NULL) {
		char next = p[strlen(key)];
		const char *start = p;

		while (start > text && start[-1] != '\n')
			start--;
		/* listed, not mentioned: the option column starts the line */
		if ((next == '=' || next == ' ' || next == '\n') &&
		    (size_t)(p - start) <= 6) {
			end = strchr(p, '\n');
			if (end && strncmp(end + 1, "        ", 8) == 0)
				end = strchr(end + 1, '\n');
			return strndup(start, end ? (size_t)(end - start) : strlen(start));
		}
		p += strlen(key);
	}
	return NULL;
}

/* -h: every option of the parser's table is listed, and every one that
 * takes a value shows its default and its range or form. */
static void test_usage_lists_every_option(void **state)
{
	static const char *const documented[] = {
		"buffer", "command", "no-command", "data", "once", "file", "Foreground",
		"help", "inst", "number", "onlinetest", "pidfile", "run", "threads",
		"time_interval", "verbose", "version", "write", "raw-samples",
		"progress", "credit", "egd", "egd-rate", "egd-clients", "egd-mode",
		"egd-group", "egd-per-uid", "assess", "no-kernel",
	};
	char *text = NULL, *entry, want[64];
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);
	const char *name;

	(void)state;
	assert_non_null(f);
	opt_usage(f);
	assert_int_equal(fclose(f), 0);
	for (i = 0; (name = opt_long_name(i)) != NULL; i++) {
		char key[64];

		if (!(entry = usage_entry(text, name)))
			fail_msg("usage lacks --%s", name);
		snprintf(key, sizeof(key), "--%s=", name);
		if (strstr(entry, key) && !strstr(entry, "(default "))
			fail_msg("usage gives no default for --%s: %s", name, entry);
		free(entry);
	}
	/* the table is walked: as many options as the man page documents */
	assert_int_equal(i, ARRAY_SIZE(documented));
	for (i = 0; i < ARRAY_SIZE(documented); i++) {
		size_t j;

		for (j = 0; (name = opt_long_name(j)) && strcmp(name, documented[i]); j++)
			;
		if (!name)
			fail_msg("--%s is not in the parser's table", documented[i]);
	}
	/* the ranges are the parser's own */
	snprintf(want, sizeof(want), "(default %d; 1..%d)", OPT_BUFFER_DEFAULT, OPT_BUFFER_MAX);
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof(want), "(default %d; 0..%d)", OPT_CREDIT_MAX, OPT_CREDIT_MAX);
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof(want), "(default %d; 1..%d)", OPT_EGD_CLIENTS_DEFAULT,
		 OPT_EGD_CLIENTS_MAX);
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof(want), "at most %llu each", (unsigned long long)EGD_RATE_MAX);
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof(want), "at most %d)", OPT_EGD_MAX);
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof(want), "-n default %d)", OPT_RAW_SAMPLES_DEFAULT);
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, "(default 0600; 0..0777)"));
	assert_non_null(strstr(text, "(default half of --egd-clients; 1..1024)"));
	assert_non_null(strstr(text, "(default 0; 0..65535, or -1)"));
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
		cmocka_unit_test(test_egd_listeners),
		cmocka_unit_test(test_egd_rate),
		cmocka_unit_test(test_egd_mode_and_group),
		cmocka_unit_test(test_credit_and_no_kernel),
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
