/* test_kernel.c - the Linux driver: which devices it accepts, and reading
 * the pool's kind from /proc (a fake /proc directory here). */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "feeder.h"
#include "kernel.h"
#include "testutil.h"

/* kernel_linux_open() with its one log line (stderr) caught in msg. */
static int open_logged(struct kernel *k, const char *path, const char *proc, char *msg,
		       size_t n)
{
	FILE *log = tmpfile();
	int saved, fd, r;
	ssize_t got;

	assert_non_null(log);
	fd = fileno(log);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	dup2(fd, STDERR_FILENO);
	r = kernel_linux_open(k, path, proc);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	got = pread(fd, msg, n - 1, 0);
	msg[got > 0 ? got : 0] = '\0';
	fclose(log);
	return r;
}


static void put(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", test_dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_refuses_symlink(void **state)
{
	char link[128], err[256];
	struct kernel k;

	(void)state;
	snprintf(link, sizeof(link), "%s/random", test_dir);
	assert_int_equal(symlink("/dev/random", link), 0);
	assert_int_equal(open_logged(&k, link, test_dir, err, sizeof(err)), -ELOOP);
	assert_non_null(strstr(err, "random is a symbolic link; refusing it\n"));
}

static void test_refuses_other_files(void **state)
{
	char path[128], err[256];
	struct kernel k;

	(void)state;
	put("plain", "x");
	snprintf(path, sizeof(path), "%s/plain", test_dir);
	assert_int_equal(open_logged(&k, path, test_dir, err, sizeof(err)), -ENODEV);
	assert_non_null(strstr(err, "not the kernel's random device"));
	if (access("/dev/urandom", R_OK | W_OK) == 0) {
		/* a character device, but 1:9 */
		assert_int_equal(open_logged(&k, "/dev/urandom", test_dir, err, sizeof(err)),
				 -ENODEV);
	}
	assert_int_equal(open_logged(&k, "/nonexistent/random", test_dir, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/random: No such file or directory\n"));
	assert_ptr_equal(strchr(err, '\n'), err + strlen(err) - 1);     /* one line */
}

/* The real device, a fake /proc: the pool's kind comes from poolsize. */
static void test_detect(void **state)
{
	struct kernel_info info;
	char err[256];
	struct kernel k;

	(void)state;
	if (access("/dev/random", R_OK | W_OK) != 0)
		skip();
	put("poolsize", "4096\n");
	put("write_wakeup_threshold", "896\n");
	put("read_wakeup_threshold", "64\n");
	assert_int_equal(open_logged(&k, NULL, test_dir, err, sizeof(err)), 0);
	assert_string_equal(err, "");                  /* nothing logged */
	assert_int_equal(kernel_detect(&k, &info), 0);
	assert_int_equal(info.pool, POOL_OLD);
	assert_int_equal(info.poolsize, 4096);
	assert_true(info.read_threshold);
	assert_int_equal(info.write_threshold, 896);
	/* -w writes the threshold (capped at poolsize - 32) */
	struct feeder_config fc = { .write_set = true, .write_bits = 4096 };
	assert_int_equal(feeder_set_threshold(&k, &info, &fc), 0);
	assert_int_equal(k.write_threshold(&k), 4064);
	assert_int_equal(info.write_threshold, 4064);
	/* entropy_avail through RNDGETENTCNT on the real device */
	assert_true(k.entropy_avail(&k) >= 0);
	assert_true(k.crng_ready(&k) >= 0);
	k.close(&k);

	put("poolsize", "256\n");
	snprintf(err, sizeof(err), "%s/read_wakeup_threshold", test_dir);
	unlink(err);
	assert_int_equal(open_logged(&k, NULL, test_dir, err, sizeof(err)), 0);
	assert_int_equal(kernel_detect(&k, &info), 0);
	assert_int_equal(info.pool, POOL_NEW);
	assert_false(info.read_threshold);
	k.close(&k);
}

/* The machine's own kernel, read-only: it says what it is. */
static void test_this_kernel(void **state)
{
	struct kernel_info info;
	char err[256];
	struct kernel k;

	(void)state;
	if (access("/dev/random", R_OK | W_OK) != 0 ||
	    access("/proc/sys/kernel/random/poolsize", R_OK) != 0)
		skip();
	assert_int_equal(open_logged(&k, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(kernel_detect(&k, &info), 0);
	assert_true(info.poolsize == 256 || info.poolsize == 4096);
	assert_int_equal(info.pool, info.poolsize == 256 ? POOL_NEW : POOL_OLD);
	k.close(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refuses_symlink, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_refuses_other_files, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_detect, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test(test_this_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
