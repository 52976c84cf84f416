/* fuzz_ais31.c - AIS-31 procedures A and B fed arbitrary data.
 *
 * The first byte chooses how the rest is split into feeds; the input is
 * repeated up to the length procedure A needs, so every step is reached.
 * However the data and the split, a run must consume no more than it was
 * given, finish with consistent counts, and give the same result as the
 * same bytes fed in one piece.
 */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ais31.h"

enum { A_BYTES = 1035716, LIMIT = 4 << 20 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run(enum ais31_proc proc, const uint8_t *p, size_t n, size_t step,
		struct ais31_result *out)
{
	struct ais31_run *r = ais31_run_new(proc, 8);
	size_t off = 0;

	assert(r);
	while (off < n && !ais31_run_done(r)) {
		size_t k = n - off < step ? n - off : step;
		size_t used = ais31_run_feed(r, p + off, k);

		assert(used <= k);
		off += used;
		if (used < k)
			assert(ais31_run_done(r));
	}
	*out = *ais31_run_result(r);
	if (ais31_run_done(r)) {
		assert(out->fails <= out->tests);
		assert(out->bytes == off);
	}
	ais31_run_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ais31_result whole, split;
	size_t n, i, step;
	uint8_t *buf;
	int proc;

	if (size < 2)
		return 0;
	step = (size_t)data[0] * 977 + 1;
	data++;
	size--;
	n = A_BYTES + 4096;
	buf = malloc(n);
	if (!buf)
		return 0;
	for (i = 0; i < n; i++)
		buf[i] = data[i % size];
	for (proc = AIS31_PROC_A; proc <= AIS31_PROC_B; proc++) {
		run((enum ais31_proc)proc, buf, n, n, &whole);
		run((enum ais31_proc)proc, buf, n, step, &split);
		assert(whole.fails == split.fails && whole.fail_mask == split.fail_mask);
		assert(whole.bytes == split.bytes);
	}
	free(buf);
	return 0;
}

#define CORPUS "corpus-ais31"
#include "replay.h"
