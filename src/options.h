/* options.h - the command line: haveged's options, same meanings, strict values.
 *
 * opt_defaults() fills the defaults; opt_parse() applies argv on top (the last
 * of a repeated option wins, as in haveged) and validates every value.  On a
 * bad option or value it writes one line naming the option and the value into
 * err and returns -1; nothing else has happened by then.
 */
#ifndef HRNG_OPTIONS_H
#define HRNG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "testspec.h"

enum {
	OPT_BUFFER_DEFAULT   = 128,     /* -b, units of 1024 32-bit words */
	OPT_BUFFER_MAX       = 65536,   /* 256 MiB of buffer */
	OPT_CACHE_MAX_KB     = 65536,   /* -d/-i upper bound */
	OPT_INTERVAL_DEFAULT = 60,      /* -T seconds: the 5.18+ CRNG reseed interval */
	OPT_THREADS_MAX      = 64,      /* -t */
	OPT_WRITE_MAX        = 4096,    /* -w bits: the largest pool there has been */
};

/* 16 TiB, haveged's own ceiling for -n. */
#define OPT_NUMBER_MAX (UINT64_C(16) << 40)

enum run_mode {
	RUN_DAEMON,     /* feed the kernel */
	RUN_INFO,       /* -r 1: print configuration and tuning */
	RUN_FILE,       /* -n, or -r > 1: write bytes to a file or stdout */
};

struct options {
	unsigned buffer;         /* -b: collection buffer, units of 1024 words */
	unsigned data_kb;        /* -d: L1 data cache KB, 0 = detect */
	unsigned inst_kb;        /* -i: L1 instruction cache KB, 0 = detect */
	const char *file;        /* -f: output path, "-" = stdout */
	bool foreground;         /* -F */
	bool number_set;         /* -n given */
	uint64_t number;         /* -n: bytes, 0 = unlimited (always stdout) */
	const char *onlinetest;  /* -o: spec text as given, NULL = mode default */
	struct testspec spec;    /* -o parsed (valid only when onlinetest != NULL) */
	const char *pidfile;     /* -p */
	unsigned run;            /* -r */
	unsigned verbose;        /* -v bitmask (-1 = all) */
	bool write_set;          /* -w given */
	unsigned write_bits;     /* -w */
	unsigned interval;       /* -T seconds */
	bool once;               /* -e */
	const char *command;     /* -c argument, NULL if not given */
	bool no_command;         /* -C */
	unsigned threads;        /* -t */
	const char *raw_samples; /* --raw-samples=FILE */
	bool progress;           /* --progress */
	bool version;            /* -V */
	bool help;               /* -h */
};

void opt_defaults(struct options *o);
int opt_parse(struct options *o, int argc, char **argv, char *err, size_t errlen);
enum run_mode opt_run_mode(const struct options *o);
/* Bytes to write in file mode: -n, or -r n KiB; 0 = unlimited. */
uint64_t opt_file_bytes(const struct options *o);
/* Output path in file mode: NULL means stdout. */
const char *opt_file_path(const struct options *o);
void opt_usage(void *stream);  /* FILE *, kept opaque here */

/* Parse a size: digits with an optional fraction and one k/m/g/t suffix
 * (either case, each a further x1024).  Returns 0, or -1 if s is not one. */
int opt_parse_size(const char *s, uint64_t *bytes);

#endif
