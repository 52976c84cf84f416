/* util.h - small helpers shared by several modules.
 *
 * wipe() clears memory in a way the compiler may not drop (for secrets).
 * write_all() writes a whole buffer, retrying short writes and EINTR;
 * returns 0 or -errno.
 * secret_alloc() maps zeroed pages of their own for output buffers, kept
 * out of core dumps; secret_lock() locks (part of) one in memory so it
 * never reaches swap, where RLIMIT_MEMLOCK allows (the first refusal logs
 * one warning, later ones are silent); secret_free() unmaps it, which
 * also unlocks it.  The caller wipes what it wrote before freeing.
 * NS_PER_SEC is the one spelling of nanoseconds per second (an int, as
 * the literal it replaces).
 */
#ifndef HRNG_UTIL_H
#define HRNG_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

void wipe(void *p, size_t n);
int write_all(int fd, const void *buf, size_t n);
uint64_t monotonic_ns(void);
void *secret_alloc(size_t n);
void secret_lock(void *p, size_t n);
void secret_free(void *p, size_t n);

enum { NS_PER_SEC = 1000000000 };

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
