/* fuzz_egd.c - fuzz target for the EGD request parser, egd_parse().
 *
 * LLVMFuzzerTestOneInput() checks, for any input:
 *  - parsing the whole input at once never reads past it, every request's
 *    length is 1..EGD_REQUEST_MAX and agrees with its command, and a
 *    parse stops only at the end, at an incomplete request or on -EPROTO;
 *  - feeding the same bytes the way the server receives them (pieces of
 *    sizes taken from the input, through a buffer the size of the
 *    server's) yields exactly the same requests and the same outcome.
 * A broken property aborts, which both libFuzzer and the replay report.
 *
 * Built with -fsanitize=fuzzer and -DHRNG_LIBFUZZER it is a libFuzzer
 * binary.  Without, replay.h's main() replays the seed corpus
 * tests/fuzz/corpus-egd (or the directory given as argv[1]) with TAP
 * output, so `make check` runs the corpus under the ordinary compiler.
 *
 * libFuzzer build, from a configured build directory:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -DHRNG_LIBFUZZER \
 *     -I. -I$srcdir/src/sinks -I$srcdir/src/output \
 *     $srcdir/tests/fuzz/fuzz_egd.c $srcdir/src/sinks/egd_proto.c \
 *     -o egd-fuzz
 *   ./egd-fuzz -max_total_time=60 CORPUS-COPY $srcdir/tests/fuzz/corpus-egd
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { TRACE_MAX = 8192, WINDOW = 2 * EGD_REQUEST_MAX };

struct trace {
	size_t n;                       /* requests */
	int end;                        /* 0: incomplete or done; -EPROTO */
	uint32_t sig[TRACE_MAX];        /* cmd, count, bits of each, packed */
};

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "egd_fuzz: %s\n", what);
		abort();
	}
}

static uint32_t signature(const struct egd_request *r)
{
	return (uint32_t)r->cmd << 24 | (uint32_t)r->count << 16 | r->bits;
}

static void check_request(const uint8_t *at, size_t avail, int n,
			  const struct egd_request *r)
{
	check(n >= 1 && n <= EGD_REQUEST_MAX && (size_t)n <= avail, "length out of range");
	check(r->cmd == at[0], "command is not the first byte");
	switch (r->cmd) {
	case EGD_CMD_LEVEL:
	case EGD_CMD_PID:
		check(n == 1, "0x00/0x04 is one byte");
		break;
	case EGD_CMD_READ_NB:
	case EGD_CMD_READ:
		check(n == 2 && r->count == at[1], "0x01/0x02 is two bytes");
		break;
	case EGD_CMD_WRITE:
		check(n == 4 + r->count && r->data == at + 4 &&
		      r->bits == (at[1] << 8 | at[2]), "0x03 layout");
		break;
	default:
		check(0, "unknown command accepted");
	}
}

static void one_shot(const uint8_t *d, size_t size, struct trace *t)
{
	struct egd_request r;
	size_t off = 0;
	int n;

	t->n = 0;
	while ((n = egd_parse(d + off, size - off, &r)) > 0) {
		check_request(d + off, size - off, n, &r);
		if (t->n < TRACE_MAX)
			t->sig[t->n] = signature(&r);
		t->n++;
		off += (size_t)n;
	}
	check(n == 0 || n == -EPROTO, "unexpected return");
	check(n == -EPROTO || size - off < EGD_REQUEST_MAX, "stopped early");
	t->end = n;
}

/* As the server reads: pieces into a bounded window, parse what is whole. */
static void piecewise(const uint8_t *d, size_t size, struct trace *t)
{
	uint8_t win[WINDOW];
	struct egd_request r;
	size_t off = 0, len = 0, piece;
	int n = 0;

	t->n = 0;
	while (off < size || len) {
		piece = 1 + (size ? d[off % size] % 37 : 0);
		if (piece > size - off)
			piece = size - off;
		if (piece > sizeof(win) - len)
			piece = sizeof(win) - len;
		memcpy(win + len, d + off, piece);
		off += piece;
		len += piece;
		while ((n = egd_parse(win, len, &r)) > 0) {
			check_request(win, len, n, &r);
			if (t->n < TRACE_MAX)
				t->sig[t->n] = signature(&r);
			t->n++;
			memmove(win, win + n, len - (size_t)n);
			len -= (size_t)n;
		}
		if (n < 0 || (off == size && piece == 0) || off == size)
			break;
	}
	t->end = n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct trace a, b;
	size_t i;

	one_shot(data, size, &a);
	piecewise(data, size, &b);
	check(a.n == b.n, "piecewise parse found a different number of requests");
	check(a.end == b.end, "piecewise parse ended differently");
	for (i = 0; i < a.n && i < TRACE_MAX; i++)
		check(a.sig[i] == b.sig[i], "piecewise parse found a different request");
	return 0;
}

#define CORPUS "corpus-egd"
#include "replay.h"
