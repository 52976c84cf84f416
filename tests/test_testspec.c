/* test_testspec.c - the -o grammar: every rule, the canonical text and the
 * error line. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"
#include "testspec.h"

static struct testspec parse_ok(const char *text)
{
	struct testspec s;
	char err[160] = "";

	memset(&s, 0xa5, sizeof(s));
	if (testspec_parse(text, &s, err, sizeof(err)) != 0)
		fail_msg("\"%s\" rejected: %s", text, err);
	return s;
}

static void expect_error(const char *text, const char *want)
{
	struct testspec s;
	char err[160] = "";

	assert_int_equal(testspec_parse(text, &s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, want);
	/* a rejected spec never leaves a half-parsed selection behind */
	assert_false(testspec_any(&s.startup));
	assert_false(testspec_any(&s.continuous));
}

static void assert_same(const struct testspec *x, const struct testspec *y)
{
	const struct testspec_group *gx[2] = { &x->startup, &x->continuous };
	const struct testspec_group *gy[2] = { &y->startup, &y->continuous };
	int i;

	for (i = 0; i < 2; i++) {
		assert_int_equal(gx[i]->a, gy[i]->a);
		assert_int_equal(gx[i]->a_advisory, gy[i]->a_advisory);
		assert_int_equal(gx[i]->a_shift, gy[i]->a_shift);
		assert_int_equal(gx[i]->b, gy[i]->b);
		assert_int_equal(gx[i]->b_advisory, gy[i]->b_advisory);
	}
}

static void assert_canonical(const char *text, const char *want)
{
	struct testspec s = parse_ok(text);
	char buf[32];

	testspec_format(&s, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void daemon_default(void **state)
{
	struct testspec s = parse_ok(TESTSPEC_DAEMON_DEFAULT);

	(void)state;
	assert_true(s.startup.a);
	assert_int_equal(s.startup.a_shift, 8);
	assert_false(s.startup.a_advisory);
	assert_true(s.startup.b);
	assert_false(s.startup.b_advisory);
	assert_false(s.continuous.a);
	assert_true(s.continuous.b);
	assert_false(s.continuous.b_advisory);
}

static void file_default(void **state)
{
	struct testspec s = parse_ok(TESTSPEC_FILE_DEFAULT);

	(void)state;
	assert_true(s.startup.a && s.startup.b);
	assert_false(testspec_any(&s.continuous));
}

static void empty_and_bare_c_mean_off(void **state)
{
	static const char *const off[] = { "", "c", "C", "t", "tc", "cc" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		struct testspec s = parse_ok(off[i]);

		assert_false(testspec_any(&s.startup));
		assert_false(testspec_any(&s.continuous));
	}
}

static void every_shift_digit(void **state)
{
	char text[4] = "ta0";
	unsigned n;

	(void)state;
	for (n = 1; n <= 8; n++) {
		struct testspec s;

		text[2] = (char)('0' + n);
		s = parse_ok(text);
		assert_true(s.startup.a);
		assert_int_equal(s.startup.a_shift, n);
	}
	assert_int_equal(parse_ok("ta").startup.a_shift, 0);
}

static void advisory_flags(void **state)
{
	struct testspec s;

	(void)state;
	s = parse_ok("tawbw");
	assert_true(s.startup.a_advisory && s.startup.b_advisory);
	s = parse_ok("ta3wb");
	assert_true(s.startup.a_advisory);
	assert_int_equal(s.startup.a_shift, 3);
	assert_false(s.startup.b_advisory);
	s = parse_ok("cbwa");
	assert_true(s.continuous.b_advisory);
	assert_false(s.continuous.a_advisory);
}

static void case_insensitive(void **state)
{
	struct testspec lo = parse_ok("ta8wbcbw");
	struct testspec up = parse_ok("TA8WBCBW");
	struct testspec mix = parse_ok("tA8WbCbW");

	(void)state;
	assert_same(&lo, &up);
	assert_same(&lo, &mix);
}

/* Each 't' or 'c' starts its group afresh; the other group is untouched. */
static void group_letter_resets_its_group(void **state)
{
	struct testspec s;

	(void)state;
	s = parse_ok("ta8bwcbta");
	assert_true(s.startup.a);
	assert_int_equal(s.startup.a_shift, 0);
	assert_false(s.startup.b);
	assert_true(s.continuous.b);
	s = parse_ok("cbtac");
	assert_false(testspec_any(&s.continuous));
	assert_true(s.startup.a);
}

static void repeated_letter_replaces(void **state)
{
	struct testspec s = parse_ok("ta8wa");

	(void)state;
	assert_int_equal(s.startup.a_shift, 0);
	assert_false(s.startup.a_advisory);
}

static void errors_name_character_and_position(void **state)
{
	(void)state;
	expect_error("ta8x",
		     "unrecognized test setup: 'x' at position 3 in \"ta8x\"");
	expect_error("ta9",
		     "unrecognized test setup: '9' at position 2 in \"ta9\"");
	expect_error("ta0",
		     "unrecognized test setup: '0' at position 2 in \"ta0\"");
	expect_error("a8",
		     "unrecognized test setup: 'a' at position 0 in \"a8\"");
	expect_error("b",
		     "unrecognized test setup: 'b' at position 0 in \"b\"");
	expect_error("tw",
		     "unrecognized test setup: 'w' at position 1 in \"tw\"");
	expect_error("taww",
		     "unrecognized test setup: 'w' at position 3 in \"taww\"");
	expect_error("ta88",
		     "unrecognized test setup: '8' at position 3 in \"ta88\"");
	expect_error("tb8",
		     "unrecognized test setup: '8' at position 2 in \"tb8\"");
	expect_error("taw8",
		     "unrecognized test setup: '8' at position 3 in \"taw8\"");
	expect_error("ta8 ",
		     "unrecognized test setup: ' ' at position 3 in \"ta8 \"");
	expect_error("ta8bcbW?",
		     "unrecognized test setup: '?' at position 7 in \"ta8bcbW?\"");
	/* control characters are escaped: the message stays one line */
	expect_error("t\tb",
		     "unrecognized test setup: byte 0x09 at position 1 in \"t\\x09b\"");
	expect_error("\n\nta8b",
		     "unrecognized test setup: byte 0x0a at position 0 in \"\\x0a\\x0ata8b\"");
}

static void error_buffer_is_bounded(void **state)
{
	struct testspec s;
	char err[12];

	(void)state;
	memset(err, 'Z', sizeof(err));
	assert_int_equal(testspec_parse("q", &s, err, 8), -EINVAL);
	assert_int_equal(err[7], '\0');
	assert_int_equal(err[8], 'Z');
	assert_int_equal(testspec_parse("q", &s, NULL, 0), -EINVAL);
}

static void canonical_text(void **state)
{
	(void)state;
	assert_canonical("ta8bcb", "ta8bcb");
	assert_canonical("TBA8CB", "ta8bcb");
	assert_canonical("ta8wbwca8wbw", "ta8wbwca8wbw");
	assert_canonical("cbta1", "ta1cb");
	assert_canonical("c", "");
	assert_canonical("", "");
	assert_canonical("tcb", "cb");
}

static void format_truncates_safely(void **state)
{
	struct testspec s = parse_ok("ta8bcb");
	char buf[8];

	(void)state;
	memset(buf, 'Z', sizeof(buf));
	testspec_format(&s, buf, 4);
	assert_string_equal(buf, "ta8");
	assert_int_equal(buf[4], 'Z');
}

/* Every valid canonical text parses back to the same selection. */
static void format_round_trips(void **state)
{
	static const char *const specs[] = {
		"ta", "ta1w", "tb", "tbw", "ca8b", "cawbw", "ta5bca2wb",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct testspec s = parse_ok(specs[i]), back;
		char buf[32];

		testspec_format(&s, buf, sizeof(buf));
		assert_string_equal(buf, specs[i]);
		back = parse_ok(buf);
		assert_same(&s, &back);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(daemon_default),
		cmocka_unit_test(file_default),
		cmocka_unit_test(empty_and_bare_c_mean_off),
		cmocka_unit_test(every_shift_digit),
		cmocka_unit_test(advisory_flags),
		cmocka_unit_test(case_insensitive),
		cmocka_unit_test(group_letter_resets_its_group),
		cmocka_unit_test(repeated_letter_replaces),
		cmocka_unit_test(errors_name_character_and_position),
		cmocka_unit_test(error_buffer_is_bounded),
		cmocka_unit_test(canonical_text),
		cmocka_unit_test(format_truncates_safely),
		cmocka_unit_test(format_round_trips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
