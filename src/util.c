/* util.c - small helpers shared by several modules. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

void wipe(void *p, size_t n)
{
	/* explicit_bzero is not elided by the optimiser (glibc 2.25+). */
	explicit_bzero(p, n);
}

void escape_controls(char *s, size_t size)
{
	char out[1024];
	size_t i, o = 0;

	if (size == 0)
		return;
	for (i = 0; s[i] && o + 1 < sizeof(out); i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != 0x7f) {
			out[o++] = (char)c;
		} else if (o + 5 < sizeof(out)) {
			snprintf(out + o, sizeof(out) - o, "\\x%02x", c);
			o += 4;
		} else {
			break;
		}
	}
	out[o] = '\0';
	snprintf(s, size, "%s", out);
}

int write_all(int fd, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
