/* fuzz_testspec.c - the -o grammar on arbitrary text.
 *
 * A spec that parses must format to a canonical text that parses to the
 * same groups; one that does not must be rejected with one line.
 */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[256], canon[64];
	struct testspec a, b;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	if (testspec_parse(text, &a, err, sizeof(err)) == 0) {
		testspec_format(&a, canon, sizeof(canon));
		assert(testspec_parse(canon, &b, err, sizeof(err)) == 0);
		assert(memcmp(&a.startup, &b.startup, sizeof(a.startup)) == 0);
		assert(memcmp(&a.continuous, &b.continuous, sizeof(a.continuous)) == 0);
	} else {
		assert(err[0] != '\0' && !strchr(err, '\n'));
	}
	free(text);
	return 0;
}

#define CORPUS "corpus-testspec"
#include "replay.h"
