/* testutil.h - shared by the cmocka test programs; tests/testutil.c has
 * the functions (every unit test links it).
 *
 *   SKIP_ALL()               skip a whole program, with the reason
 *   tmpdir_setup/teardown()  a fresh test_dir per test (cmocka fixtures)
 *   test_remove_tree()       rm -rf without a shell
 *   locked_kib(), mlock_works()  what mlock() does in this process
 *   test_gen_config()        the generator configuration the tests share
 *   test_spec()              an -o spec that must parse
 *   egd_client_unix(), egd_send_all(), egd_recv_all(),
 *   egd_closed_by_server()   an EGD client over a UNIX socket
 */
#ifndef HRNG_TESTUTIL_H
#define HRNG_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "generator.h"
#include "testspec.h"

/* Skip a whole program (no root, no KVM, ...): a TAP plan of zero tests
 * with the reason, which automake's tap-driver counts as one skip. */
#define SKIP_ALL(reason) do { \
		printf("1..0 # SKIP %s\n", (reason)); \
		exit(0); \
	} while (0)

/* A fresh temporary directory per test: test_dir, made by tmpdir_setup()
 * and removed with everything in it by tmpdir_teardown() (cmocka's
 * setup/teardown signature). */
extern char test_dir[64];

int tmpdir_setup(void **state);
int tmpdir_teardown(void **state);
/* Remove root and everything below it, following no link: 0, or -1 with
 * errno set. */
int test_remove_tree(const char *root);

/* VmLck of this process in KiB, or -1 if /proc does not say. */
long locked_kib(void);
/* Whether mlock() locks anything in this process: the sanitizers' run-time
 * libraries (AddressSanitizer, ThreadSanitizer) replace it with a no-op. */
bool mlock_works(void);

/* 32 KiB caches (no detection), threads lanes of buffer_words words, no
 * tests, stream output: the rest is the caller's to set. */
struct gen_config test_gen_config(unsigned threads, size_t buffer_words);
/* text parsed by testspec_parse(), which must accept it. */
struct testspec test_spec(const char *text);

/* Connect to spec ("unix:PATH"), with 3 s send and receive timeouts so no
 * test can hang; fails the test when it cannot. */
int egd_client_unix(const char *spec);
/* Set fd's send and receive timeouts to ms milliseconds. */
void egd_set_timeout(int fd, int ms);
/* Send all n bytes at once, or fail the test. */
void egd_send_all(int fd, const void *p, size_t n);
/* Read exactly n bytes in pieces of at most piece bytes, or fail the test. */
void egd_recv_all(int fd, void *buf, size_t n, size_t piece);
/* The server closed the connection: EOF (or a reset) and no data. */
bool egd_closed_by_server(int fd);

#endif
