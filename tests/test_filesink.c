/* test_filesink.c - file mode output: exact sizes, no partial files,
 * errors, stops, closed pipes. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"
#include "secretspy.h"

#include "filesink.h"
#include "log.h"

/* A fake byte source: byte i of the stream is (uint8_t)(i * 7 + 1); it can
 * fail or ask for a stop after a given number of bytes. */
struct fake {
	uint64_t pos;
	uint64_t fail_at;                  /* 0 = never */
	uint64_t stop_at;                  /* 0 = never */
	volatile sig_atomic_t *stop;
};

static int fake_read(void *ctx, void *buf, size_t n)
{
	struct fake *f = ctx;
	uint8_t *p = buf;
	size_t i;

	if (f->fail_at && f->pos + n > f->fail_at)
		return -EIO;
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)((f->pos + i) * 7 + 1);
	f->pos += n;
	if (f->stop_at && f->pos >= f->stop_at)
		*f->stop = SIGTERM;
	return 0;
}


static int run_fake(struct fake *f, const struct filesink_opts *o, volatile sig_atomic_t *stop)
{
	struct byte_source src = { .read = fake_read, .ctx = f };

	return filesink_run(&src, o, stop);
}

static size_t entries(void)
{
	DIR *d = opendir(test_dir);
	struct dirent *e;
	size_t n = 0;

	while ((e = readdir(d)))
		n += e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."));
	closedir(d);
	return n;
}

static void path_in_dir(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", test_dir, name);
}

static void test_exact_size_and_content(void **state)
{
	static const uint64_t sizes[] = { 1, 1000, FILESINK_CHUNK, FILESINK_CHUNK + 1, 1000003 };
	volatile sig_atomic_t stop = 0;
	char path[128];
	size_t i;

	(void)state;
	path_in_dir(path, sizeof(path), "out.bin");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct fake f = { 0 };
		struct filesink_opts o = { .path = path, .bytes = sizes[i] };
		struct stat st;
		FILE *fp;
		uint64_t k;

		assert_int_equal(run_fake(&f, &o, &stop), 0);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal((uint64_t)st.st_size, sizes[i]);
		fp = fopen(path, "rb");
		for (k = 0; k < sizes[i]; k++)
			if (fgetc(fp) != (int)(uint8_t)(k * 7 + 1))
				break;
		fclose(fp);
		assert_int_equal(k, sizes[i]);
		/* Only the target: no temporary file left behind. */
		assert_int_equal(entries(), 1);
	}
}

static void test_source_failure_leaves_nothing(void **state)
{
	volatile sig_atomic_t stop = 0;
	struct fake f = { .fail_at = 3 * FILESINK_CHUNK };
	char path[128];
	struct filesink_opts o = { .path = path, .bytes = 10 * FILESINK_CHUNK };

	(void)state;
	path_in_dir(path, sizeof(path), "fail.bin");
	assert_int_equal(run_fake(&f, &o, &stop), -EIO);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(entries(), 0);
}

static void test_failure_keeps_old_file(void **state)
{
	volatile sig_atomic_t stop = 0;
	struct fake f = { .fail_at = 2 * FILESINK_CHUNK };
	char path[128];
	struct filesink_opts o = { .path = path, .bytes = 4 * FILESINK_CHUNK };
	struct stat st;
	FILE *fp;

	(void)state;
	path_in_dir(path, sizeof(path), "old.bin");
	fp = fopen(path, "w");
	fputs("previous contents", fp);
	fclose(fp);
	assert_int_equal(run_fake(&f, &o, &stop), -EIO);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, strlen("previous contents"));
	assert_int_equal(entries(), 1);
}

static void test_stop_leaves_nothing(void **state)
{
	volatile sig_atomic_t stop = 0;
	struct fake f = { .stop_at = 5 * FILESINK_CHUNK, .stop = &stop };
	char path[128];
	struct filesink_opts o = { .path = path, .bytes = 0 };

	(void)state;
	path_in_dir(path, sizeof(path), "stopped.bin");
	o.bytes = UINT64_C(1) << 40;
	assert_int_equal(run_fake(&f, &o, &stop), -EINTR);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(entries(), 0);
	/* It stopped within one chunk of being asked. */
	assert_true(f.pos <= 6 * FILESINK_CHUNK);
}

static void test_stop_after_last_byte_is_success(void **state)
{
	volatile sig_atomic_t stop = 0;
	struct fake f = { .stop_at = 2 * FILESINK_CHUNK, .stop = &stop };
	char path[128];
	struct filesink_opts o = { .path = path, .bytes = 2 * FILESINK_CHUNK };

	(void)state;
	path_in_dir(path, sizeof(path), "complete.bin");
	assert_int_equal(run_fake(&f, &o, &stop), 0);
	assert_int_equal(access(path, F_OK), 0);
}

static void test_full_device(void **state)
{
	volatile sig_atomic_t stop = 0;
	struct fake f = { 0 };
	struct filesink_opts o = { .path = "/dev/full", .bytes = 1000 };

	(void)state;
	if (access("/dev/full", W_OK) != 0)
		skip();
	/* A device is written directly; ENOSPC is an error. */
	assert_int_equal(run_fake(&f, &o, &stop), -ENOSPC);
}

static void test_missing_directory(void **state)
{
	volatile sig_atomic_t stop = 0;
	struct fake f = { 0 };
	char path[128];
	struct filesink_opts o = { .path = path, .bytes = 10 };

	(void)state;
	path_in_dir(path, sizeof(path), "no/such/dir/out.bin");
	assert_int_equal(run_fake(&f, &o, &stop), -ENOENT);
	assert_int_equal(f.pos, 0);
}

static void test_closed_pipe_is_quiet_success(void **state)
{
	volatile sig_atomic_t stop = 0;
	struct fake f = { 0 };
	struct filesink_opts o = { .path = NULL, .bytes = 0 };
	int p[2], saved;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	saved = dup(STDOUT_FILENO);
	dup2(p[1], STDOUT_FILENO);
	close(p[1]);
	assert_int_equal(run_fake(&f, &o, &stop), 0);
	dup2(saved, STDOUT_FILENO);
	close(saved);
}

/* Issue 12, 4: a replaced file keeps its mode; a new one gets 0666 less
 * the umask, as fopen() would give it. */
static void test_keeps_mode_of_replaced_file(void **state)
{
	volatile sig_atomic_t stop = 0;
	struct fake f = { 0 };
	char path[128];
	struct filesink_opts o = { .path = path, .bytes = 32 };
	struct stat st;
	mode_t old = umask(022);
	int fd;

	(void)state;
	path_in_dir(path, sizeof(path), "key.bin");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0600), 0);
	close(fd);
	assert_int_equal(run_fake(&f, &o, &stop), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 32);
	path_in_dir(path, sizeof(path), "new.bin");
	assert_int_equal(run_fake(&f, &o, &stop), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	umask(old);
}

/* Issue 12, 18: the path is a FIFO when first looked at, then swapped for
 * a regular file (renamed over it, or a symlink to one) before the open:
 * refused, and the regular file is not written in place. */
static char swap_from[160];

static void swap_hook(const char *path)
{
	assert_int_equal(rename(swap_from, path), 0);
}

static void swap_case(const char *how)
{
	volatile sig_atomic_t stop = 0;
	struct fake f = { 0 };
	char path[128], victim[128], buf[16] = { 0 };
	struct filesink_opts o = { .path = path, .bytes = 4096 };
	int fd;

	path_in_dir(path, sizeof(path), "out.fifo");
	path_in_dir(victim, sizeof(victim), "victim.bin");
	assert_int_equal(mkfifo(path, 0600), 0);
	fd = open(victim, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(fd, "old", 3), 3);
	close(fd);
	if (strcmp(how, "symlink") == 0) {
		path_in_dir(swap_from, sizeof(swap_from), "link");
		assert_int_equal(symlink(victim, swap_from), 0);
	} else {
		path_in_dir(swap_from, sizeof(swap_from), "copy.bin");
		assert_int_equal(link(victim, swap_from), 0);
	}
	filesink_set_open_hook(swap_hook);
	assert_int_equal(run_fake(&f, &o, &stop), -ESTALE);
	filesink_set_open_hook(NULL);
	fd = open(victim, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf)), 3);
	close(fd);
	assert_string_equal(buf, "old");
	unlink(path);
	unlink(victim);
}

static long lock_seen = -1;
static bool dontdump_seen;

static int locked_read(void *ctx, void *buf, size_t n)
{
	lock_seen = locked_kib();
	dontdump_seen = spy_dontdump(buf);
	return fake_read(ctx, buf, n);
}

/* The chunk buffer of a source without peek() comes from the secret
 * allocator: out of core dumps, locked during the run (where
 * RLIMIT_MEMLOCK allows), wiped, and released on every way out: done, a
 * source failure, a stop.  The sanitizers make mlock() a no-op, so under
 * them the lock during the run is not checked. */
static void test_chunk_buffer_locked_and_released(void **state)
{
	volatile sig_atomic_t stop = 0;
	struct fake ok = { 0 }, bad = { .fail_at = 2 * FILESINK_CHUNK },
		    stopped = { .stop_at = 2 * FILESINK_CHUNK, .stop = &stop };
	struct filesink_opts o = { .bytes = 4 * FILESINK_CHUNK };
	struct byte_source src = { .read = locked_read };
	struct rlimit rl;
	char path[128];
	long before = locked_kib();
	unsigned long dirty = spy_dirty_frees();

	(void)state;
	if (before < 0)
		skip();
	path_in_dir(path, sizeof(path), "lock.bin");
	o.path = path;
	src.ctx = &ok;
	assert_int_equal(filesink_run(&src, &o, &stop), 0);
	assert_true(dontdump_seen);     /* out of core dumps (MADV_DONTDUMP) */
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 &&
	    (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)(before + 128) * 1024) &&
	    mlock_works())
		assert_int_equal(lock_seen, before + FILESINK_CHUNK / 1024);
	assert_int_equal(locked_kib(), before);
	src.ctx = &bad;
	assert_int_equal(filesink_run(&src, &o, &stop), -EIO);
	assert_int_equal(locked_kib(), before);
	src.ctx = &stopped;
	assert_int_equal(filesink_run(&src, &o, &stop), -EINTR);
	assert_int_equal(locked_kib(), before);
	assert_int_equal(spy_dirty_frees(), dirty);     /* wiped before unmapping */
}

static void test_swapped_path_refused(void **state)
{
	(void)state;
	swap_case("rename");
	swap_case("symlink");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exact_size_and_content, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_source_failure_leaves_nothing, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_failure_keeps_old_file, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_stop_leaves_nothing, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_stop_after_last_byte_is_success, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test(test_full_device),
		cmocka_unit_test_setup_teardown(test_missing_directory, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test(test_closed_pipe_is_quiet_success),
		cmocka_unit_test_setup_teardown(test_keeps_mode_of_replaced_file, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_swapped_path_refused, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_chunk_buffer_locked_and_released, tmpdir_setup,
						tmpdir_teardown),
	};

	log_init("test_filesink", LOG_DEST_STDERR, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
