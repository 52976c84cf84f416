/* test_cpu.c - cache geometry (src/noise/cpu.c): sysfs parsing on fake trees
 * built in a temporary directory, the order of sources, the plausibility
 * rule, and on this machine the agreement of cpu_detect() with sysfs.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "testutil.h"
#include "cpu.h"

/* ------------------------------------------------- fake sysfs trees */

struct fake_index {
	const char *name;       /* "index0" */
	const char *level;      /* NULL: file absent */
	const char *type;
	const char *size;
};

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	if (!text)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", text);
	assert_int_equal(fclose(f), 0);
}

/* A cache dir under a fresh temporary root; returns the root. */
static char *fake_tree(const struct fake_index *idx, size_t n, char *cache,
		       size_t len)
{
	const char *tmp = getenv("TMPDIR");
	char tmpl[PATH_MAX], dir[PATH_MAX];
	char *root;
	size_t i;

	snprintf(tmpl, sizeof(tmpl), "%s/test_cpu.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	root = mkdtemp(tmpl);
	assert_non_null(root);
	root = strdup(root);
	assert_non_null(root);
	snprintf(cache, len, "%s/cache", root);
	assert_int_equal(mkdir(cache, 0700), 0);
	for (i = 0; i < n; i++) {
		snprintf(dir, sizeof(dir), "%s/%s", cache, idx[i].name);
		assert_int_equal(mkdir(dir, 0700), 0);
		write_file(dir, "level", idx[i].level);
		write_file(dir, "type", idx[i].type);
		write_file(dir, "size", idx[i].size);
	}
	return root;
}

static void drop_tree(char *root)
{
	assert_int_equal(test_remove_tree(root), 0);
	free(root);
}

#define FAKE(arr, cache) fake_tree(arr, sizeof(arr) / sizeof(arr[0]), \
				   cache, sizeof(cache))

/* cpu_from_sysfs() on a tree; checks the return and gives the sizes. */
static void sysfs_sizes(const struct fake_index *idx, size_t n,
			unsigned *d, unsigned *i)
{
	char cache[PATH_MAX];
	char *root = fake_tree(idx, n, cache, sizeof(cache));

	*d = *i = 12345;
	assert_int_equal(cpu_from_sysfs(cache, d, i), 0);
	drop_tree(root);
}

#define SIZES(arr, d, i) sysfs_sizes(arr, sizeof(arr) / sizeof(arr[0]), d, i)

/* ------------------------------------------------------- sysfs tests */

static void test_sysfs_normal(void **state)
{
	static const struct fake_index t[] = {
		{ "index0", "1", "Data", "32K" },
		{ "index1", "1", "Instruction", "64K" },
		{ "index2", "2", "Unified", "512K" },
		{ "index3", "3", "Unified", "32768K" },
	};
	unsigned d, i;

	(void)state;
	SIZES(t, &d, &i);
	assert_int_equal(d, 32);
	assert_int_equal(i, 64);
}

static void test_sysfs_missing_l1i(void **state)
{
	static const struct fake_index t[] = {
		{ "index0", "1", "Data", "48K" },
		{ "index2", "2", "Unified", "2048K" },
		{ "index3", "1", NULL, "32K" },          /* no type file */
	};
	char cache[PATH_MAX];
	struct cache_geom g;
	unsigned d, i;
	char *root;

	(void)state;
	SIZES(t, &d, &i);
	assert_int_equal(d, 48);
	assert_int_equal(i, 0);
	root = FAKE(t, cache);
	cpu_detect_in(&g, 0, 0, cache, false);
	drop_tree(root);
	assert_int_equal(g.data_kb, 48);
	assert_int_equal(g.data_src, CACHE_SRC_SYSFS);
	assert_int_equal(g.inst_kb, CACHE_DEFAULT_KB);
	assert_int_equal(g.inst_src, CACHE_SRC_DEFAULT);
}

/* Index numbers mean nothing; other entries in the dir are ignored. */
static void test_sysfs_odd_order(void **state)
{
	static const struct fake_index t[] = {
		{ "index0", "3", "Unified", "16384K" },
		{ "index10", "2", "Data", "1024K" },     /* an L2, not an L1 */
		{ "index7", "1", "Instruction", "32K" },
		{ "index3", "1", "Data", "64K" },
	};
	static const struct fake_index decoys[] = {
		{ "power", "1", "Data", "8K" },
		{ "index", "1", "Data", "8K" },
		{ "indexX", "1", "Data", "8K" },
		{ "index1x", "1", "Data", "8K" },
		{ "index2", "1", "Instruction", "32K" },
	};
	unsigned d, i;

	(void)state;
	SIZES(t, &d, &i);
	assert_int_equal(d, 64);
	assert_int_equal(i, 32);
	SIZES(decoys, &d, &i);
	assert_int_equal(d, 0);
	assert_int_equal(i, 32);
}

static void test_sysfs_garbage_size(void **state)
{
	static const struct fake_index a[] = {
		{ "index0", "1", "Data", "abc" },
		{ "index1", "1", "Instruction", "32" },
	};
	static const struct fake_index b[] = {
		{ "index0", "1", "Data", "48K junk" },
		{ "index1", "1", "Instruction", "-32K" },
	};
	static const struct fake_index c[] = {
		{ "index0", "1", "Data", "0K" },
		{ "index1", "1", "Instruction", "99999999999999999999K" },
	};
	static const struct fake_index e[] = {
		{ "index0", "1", "Data", "" },
		{ "index1", "1", "Instruction", "32G" },
	};
	char cache[PATH_MAX];
	struct cache_geom g;
	unsigned d, i;
	char *root;

	(void)state;
	SIZES(a, &d, &i);
	assert_int_equal(d + i, 0);
	SIZES(b, &d, &i);
	assert_int_equal(d + i, 0);
	SIZES(c, &d, &i);
	assert_int_equal(d + i, 0);
	SIZES(e, &d, &i);
	assert_int_equal(d + i, 0);
	root = FAKE(a, cache);
	cpu_detect_in(&g, 0, 0, cache, false);
	drop_tree(root);
	assert_int_equal(g.data_kb, CACHE_DEFAULT_KB);
	assert_int_equal(g.data_src, CACHE_SRC_DEFAULT);
	assert_int_equal(g.inst_src, CACHE_SRC_DEFAULT);
}

/* "1M" is 1024 KB and plausible; "2M" parses but is no L1. */
static void test_sysfs_megabytes(void **state)
{
	static const struct fake_index t[] = {
		{ "index0", "1", "Data", "1M" },
		{ "index1", "1", "Instruction", "2M" },
	};
	char cache[PATH_MAX];
	struct cache_geom g;
	unsigned d, i;
	char *root;

	(void)state;
	SIZES(t, &d, &i);
	assert_int_equal(d, 1024);
	assert_int_equal(i, 2048);
	root = FAKE(t, cache);
	cpu_detect_in(&g, 0, 0, cache, false);
	drop_tree(root);
	assert_int_equal(g.data_kb, 1024);
	assert_int_equal(g.data_src, CACHE_SRC_SYSFS);
	assert_int_equal(g.inst_kb, CACHE_DEFAULT_KB);
	assert_int_equal(g.inst_src, CACHE_SRC_DEFAULT);
}

static void test_sysfs_unified_l1(void **state)
{
	static const struct fake_index t[] = {
		{ "index0", "1", "Unified", "16K" },
		{ "index1", "2", "Unified", "256K" },
	};
	static const struct fake_index u[] = {
		{ "index0", "1", "Unified", "16K" },
		{ "index1", "1", "Data", "8K" },
	};
	unsigned d, i;

	(void)state;
	SIZES(t, &d, &i);
	assert_int_equal(d, 16);
	assert_int_equal(i, 16);
	SIZES(u, &d, &i);               /* a split L1 wins over unified */
	assert_int_equal(d, 8);
	assert_int_equal(i, 16);
}

static void test_sysfs_absent(void **state)
{
	unsigned d = 1, i = 1;

	(void)state;
	assert_int_equal(cpu_from_sysfs("/nonexistent/cpu0/cache", &d, &i), -ENOENT);
	assert_int_equal(d + i, 0);
}

/* -------------------------------------------- order of the sources */

static void test_option_wins(void **state)
{
	static const struct fake_index t[] = {
		{ "index0", "1", "Data", "32K" },
		{ "index1", "1", "Instruction", "32K" },
	};
	char cache[PATH_MAX];
	struct cache_geom g;
	char *root;

	(void)state;
	cpu_detect(&g, 24, 40);
	assert_int_equal(g.data_kb, 24);
	assert_int_equal(g.inst_kb, 40);
	assert_int_equal(g.data_src, CACHE_SRC_OPTION);
	assert_int_equal(g.inst_src, CACHE_SRC_OPTION);

	root = FAKE(t, cache);
	cpu_detect_in(&g, 0, 128, cache, false);
	drop_tree(root);
	assert_int_equal(g.data_kb, 32);
	assert_int_equal(g.data_src, CACHE_SRC_SYSFS);
	assert_int_equal(g.inst_kb, 128);
	assert_int_equal(g.inst_src, CACHE_SRC_OPTION);
}

static void test_default_when_nothing(void **state)
{
	struct cache_geom g;

	(void)state;
	memset(&g, 0xa5, sizeof(g));
	cpu_detect_in(&g, 0, 0, NULL, false);
	assert_int_equal(g.data_kb, CACHE_DEFAULT_KB);
	assert_int_equal(g.inst_kb, CACHE_DEFAULT_KB);
	assert_int_equal(g.data_src, CACHE_SRC_DEFAULT);
	assert_int_equal(g.inst_src, CACHE_SRC_DEFAULT);
	assert_string_equal(g.cpu, "");
	cpu_detect_in(&g, 0, 0, "/nonexistent", false);
	assert_int_equal(g.data_src, CACHE_SRC_DEFAULT);
	assert_int_equal(g.inst_src, CACHE_SRC_DEFAULT);
}

#ifdef HAVE_LIBCPUID
/* When libcpuid answers plausibly it wins over a (fake) sysfs. */
static void test_libcpuid_before_sysfs(void **state)
{
	static const struct fake_index t[] = {
		{ "index0", "1", "Data", "8K" },
		{ "index1", "1", "Instruction", "8K" },
	};
	unsigned d, i;
	char cache[PATH_MAX], name[64];
	struct cache_geom g;
	char *root;

	(void)state;
	if (cpu_from_libcpuid(&d, &i, name, sizeof(name)) != 0) {
		skip();         /* no CPUID on this architecture */
		return;
	}
	assert_true(cpu_cache_plausible(d));
	assert_true(cpu_cache_plausible(i));
	assert_true(name[0] != '\0');
	root = FAKE(t, cache);
	cpu_detect_in(&g, 0, 0, cache, true);
	drop_tree(root);
	assert_int_equal(g.data_kb, d);
	assert_int_equal(g.inst_kb, i);
	assert_int_equal(g.data_src, CACHE_SRC_LIBCPUID);
	assert_int_equal(g.inst_src, CACHE_SRC_LIBCPUID);
	assert_string_equal(g.cpu, name);
}
#else
/* Built --without-libcpuid: the seam says "absent" and fills nothing. */
static void test_without_libcpuid(void **state)
{
	unsigned d = 1, i = 1;
	char name[8] = "x";
	struct cache_geom g;

	(void)state;
	assert_int_equal(cpu_from_libcpuid(&d, &i, name, sizeof(name)), -ENODEV);
	assert_int_equal(d + i, 0);
	assert_string_equal(name, "");
	cpu_detect_in(&g, 0, 0, NULL, true);
	assert_int_equal(g.data_src, CACHE_SRC_DEFAULT);
	assert_int_equal(g.inst_src, CACHE_SRC_DEFAULT);
}
#endif

/* --------------------------------------------------- this machine */

static void test_this_machine(void **state)
{
	unsigned d, i, cd, ci;
	struct cache_geom g;
	char name[64];

	(void)state;
	if (cpu_from_sysfs(CPU_SYSFS_CACHE_DIR, &d, &i) != 0) {
		skip();         /* no sysfs cache dir (container, non-Linux) */
		return;
	}
	assert_true(cpu_cache_plausible(d));
	assert_true(cpu_cache_plausible(i));
	cpu_detect(&g, 0, 0);
	assert_int_equal(g.data_kb, d);
	assert_int_equal(g.inst_kb, i);
	if (cpu_from_libcpuid(&cd, &ci, name, sizeof(name)) == 0) {
		/* Both sources exist: they must agree. */
		assert_int_equal(cd, d);
		assert_int_equal(ci, i);
		assert_int_equal(g.data_src, CACHE_SRC_LIBCPUID);
		assert_int_equal(g.inst_src, CACHE_SRC_LIBCPUID);
	} else {
		assert_int_equal(g.data_src, CACHE_SRC_SYSFS);
		assert_int_equal(g.inst_src, CACHE_SRC_SYSFS);
	}
	print_message("# L1d %u KB (%s), L1i %u KB (%s), cpu \"%s\"\n",
		      g.data_kb, cpu_source_name(g.data_src), g.inst_kb,
		      cpu_source_name(g.inst_src), g.cpu);
}

/* ------------------------------------------------ small functions */

static void test_plausible(void **state)
{
	static const unsigned yes[] = { 4, 8, 16, 32, 48, 64, 96, 128, 192, 1024 };
	static const unsigned no[] = { 0, 1, 2, 3, 6, 17, 50, 1023, 1028, 2048,
				       UINT_MAX };
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(yes) / sizeof(yes[0]); k++)
		assert_true(cpu_cache_plausible(yes[k]));
	for (k = 0; k < sizeof(no) / sizeof(no[0]); k++)
		assert_false(cpu_cache_plausible(no[k]));
}

static void test_source_names(void **state)
{
	(void)state;
	assert_string_equal(cpu_source_name(CACHE_SRC_OPTION), "option");
	assert_string_equal(cpu_source_name(CACHE_SRC_LIBCPUID), "libcpuid");
	assert_string_equal(cpu_source_name(CACHE_SRC_SYSFS), "sysfs");
	assert_string_equal(cpu_source_name(CACHE_SRC_DEFAULT), "default");
	assert_string_equal(cpu_source_name((enum cache_source)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sysfs_normal),
		cmocka_unit_test(test_sysfs_missing_l1i),
		cmocka_unit_test(test_sysfs_odd_order),
		cmocka_unit_test(test_sysfs_garbage_size),
		cmocka_unit_test(test_sysfs_megabytes),
		cmocka_unit_test(test_sysfs_unified_l1),
		cmocka_unit_test(test_sysfs_absent),
		cmocka_unit_test(test_option_wins),
		cmocka_unit_test(test_default_when_nothing),
#ifdef HAVE_LIBCPUID
		cmocka_unit_test(test_libcpuid_before_sysfs),
#else
		cmocka_unit_test(test_without_libcpuid),
#endif
		cmocka_unit_test(test_this_machine),
		cmocka_unit_test(test_plausible),
		cmocka_unit_test(test_source_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
