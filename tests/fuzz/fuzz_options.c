/* fuzz_options.c - the command-line parser on arbitrary argument vectors.
 *
 * The input is split at NUL bytes into arguments.  Whatever they are,
 * opt_parse() must either accept them with a valid mode, or reject them
 * with exactly one non-empty line, and never crash or read out of bounds.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

enum { MAX_ARGS = 32 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *argv[MAX_ARGS + 2], err[256];
	struct options o;
	size_t i, start = 0;
	int argc = 1, r;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[0] = "havege-rngd";
	for (i = 0; i <= size && argc <= MAX_ARGS; i++) {
		if (i == size || copy[i] == '\0') {
			argv[argc++] = copy + start;
			start = i + 1;
		}
	}
	argv[argc] = NULL;
	opt_defaults(&o);
	err[0] = '\0';
	r = opt_parse(&o, argc, argv, err, sizeof(err));
	if (r == 0) {
		enum run_mode m = opt_run_mode(&o);

		assert(m == RUN_DAEMON || m == RUN_INFO || m == RUN_FILE || m == RUN_RAW ||
		       m == RUN_ASSESS);
		assert(o.threads >= 1 && o.buffer >= 1 && o.credit <= OPT_CREDIT_MAX);
	} else {
		assert(r == -EINVAL);
		assert(err[0] != '\0' && !strchr(err, '\n'));
	}
	free(copy);
	return 0;
}

#define CORPUS "corpus-options"
#include "replay.h"
