/* replay.h - the main() of a fuzz target built without libFuzzer: run
 * LLVMFuzzerTestOneInput on every file of the target's seed corpus and
 * print TAP, so the corpus is replayed by make check.
 *
 * Include it once, after the target's LLVMFuzzerTestOneInput, with
 * CORPUS defined to the corpus directory under tests/fuzz/.
 */
#ifndef HRNG_LIBFUZZER
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    !(buf = malloc((size_t)len + 1)) || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

static int visible(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

int main(int argc, char **argv)
{
	const char *top = getenv("top_srcdir");
	char dir[4096], path[8192];
	struct dirent **names;
	int n, i, failed = 0;

	if (argc > 1)
		snprintf(dir, sizeof(dir), "%s", argv[1]);
	else
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/%s", top ? top : ".", CORPUS);
	/* The corpus is part of the source tree: without it the target has
	 * nothing to replay, which is an error, not a skip. */
	n = scandir(dir, &names, visible, alphasort);
	if (n <= 0) {
		if (n == 0)
			free(names);
		printf("Bail out! %s corpus at %s\n", n < 0 ? "no" : "an empty", dir);
		return 1;
	}
	printf("1..%d\n", n);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (replay_file(path) == 0)
			printf("ok %d - %s\n", i + 1, names[i]->d_name);
		else
			printf("not ok %d - %s (unreadable)\n", i + 1, names[i]->d_name), failed++;
		free(names[i]);
	}
	free(names);
	return failed != 0;
}
#endif
