/* mockalloc.h - allocation failure injection, a test seam.
 *
 * mockalloc_fail_now() says whether the allocation about to be made must
 * fail.  In a --enable-mock-timer build every allocation our code makes
 * asks it: malloc, calloc, realloc, strdup and asprintf are linked with
 * -Wl,--wrap (see Makefile.am), and so is pthread_create (a thread's
 * stack is an allocation; a failure is EAGAIN); secret_alloc() asks it
 * directly before its mmap().  The
 * environment variable HAVEGE_RNGD_MOCK_ALLOC chooses:
 *   fail:N   the N-th allocation (counting from 1) fails, no other does
 *   count    nothing fails; the number made is printed on stderr at exit
 * In any other build mockalloc_fail_now() is the constant 0.
 */
#ifndef HRNG_MOCKALLOC_H
#define HRNG_MOCKALLOC_H

#ifdef HRNG_MOCK_TIMER
int mockalloc_fail_now(void);
#else
static inline int mockalloc_fail_now(void)
{
	return 0;
}
#endif

#endif
