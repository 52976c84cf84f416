/* options.h - the command line: haveged's options, same meanings, strict values.
 *
 * opt_defaults() fills the defaults; opt_parse() applies argv on top (the last
 * of a repeated option wins, as in haveged) and validates every value.  On a
 * bad option or value it writes one line naming the option (as the user
 * spelt it) and the value into err and returns -EINVAL; nothing else has
 * happened by then.  opt_parse() uses getopt_long(), so it may permute argv and it
 * resets getopt's global state itself: it can be called more than once.
 *
 * After a successful opt_parse() the queries below say what to do:
 * opt_run_mode() picks the mode; in RUN_FILE opt_file_bytes() and
 * opt_file_path() give the amount and destination, in RUN_RAW
 * opt_raw_samples() and opt_file_path() do.  opt_usage() prints the help.
 */
#ifndef HRNG_OPTIONS_H
#define HRNG_OPTIONS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "egd.h"
#include "kernel.h"
#include "testspec.h"

enum {
	OPT_BUFFER_DEFAULT   = 128,     /* -b, units of 1024 32-bit words */
	OPT_BUFFER_MAX       = 65536,   /* 256 MiB of buffer */
	OPT_CACHE_MAX_KB     = 65536,   /* -d/-i upper bound */
	OPT_INTERVAL_DEFAULT = 60,      /* -T seconds: the 5.18+ CRNG reseed interval */
	OPT_INTERVAL_MAX     = 604800,  /* -T: one week */
	OPT_THREADS_MAX      = 64,      /* -t; the file sink's most writer lanes */
	OPT_WRITE_MAX        = KERNEL_OLD_POOLSIZE, /* -w bits: the largest pool there has been */
	OPT_CREDIT_MAX       = KERNEL_CREDIT_MAX, /* --credit: a byte carries at most 8 bits */
	OPT_EGD_MAX          = 8,       /* --egd listeners */
	OPT_EGD_CLIENTS_DEFAULT = EGD_DEFAULT_CLIENTS,
	OPT_EGD_CLIENTS_MAX  = 1024,
	OPT_EGD_MODE_DEFAULT = 0600,
	OPT_VERBOSE_ALL      = 0xffff,  /* -v -1: every bit of the mask */
	OPT_RAW_SAMPLES_DEFAULT = 1000000, /* --raw-samples without -n */
};

/* 16 TiB, haveged's own ceiling for -n. */
#define OPT_NUMBER_MAX (UINT64_C(16) << 40)
/* -r n KiB (deprecated): bounded by the field; -n goes further. */
#define OPT_RUN_MAX UINT_MAX

#define OPT_PIDFILE_DEFAULT "/var/run/havege-rngd.pid"
#define OPT_FILE_DEFAULT    "sample"   /* haveged's -f default */

enum run_mode {
	RUN_DAEMON,     /* feed the kernel */
	RUN_INFO,       /* -r 1: print configuration and tuning */
	RUN_FILE,       /* -n, or -r > 1: write bytes to a file or stdout */
	RUN_RAW,        /* --raw-samples=FILE: write raw timer samples */
	RUN_ASSESS,     /* --assess: measure every rung of the noise ladder */
};

struct options {
	unsigned buffer;         /* -b: collection buffer, units of 1024 words */
	unsigned data_kb;        /* -d: L1 data cache KB, 0 = detect */
	unsigned inst_kb;        /* -i: L1 instruction cache KB, 0 = detect */
	const char *file;        /* -f: output path, "-" = stdout */
	bool foreground;         /* -F */
	bool number_set;         /* -n given */
	uint64_t number;         /* -n: bytes (samples in RUN_RAW), 0 = unlimited */
	const char *onlinetest;  /* -o: spec text as given, NULL = mode default */
	struct testspec spec;    /* -o parsed; after opt_parse() the mode's
				  * default when -o was not given (nothing
				  * is tested in RUN_RAW, spec is then unused) */
	const char *pidfile;     /* -p */
	unsigned run;            /* -r */
	unsigned verbose;        /* -v bitmask (-1 = OPT_VERBOSE_ALL) */
	bool write_set;          /* -w given */
	unsigned write_bits;     /* -w */
	unsigned interval;       /* -T seconds, 0 = no periodic refill */
	bool once;               /* -e */
	const char *command;     /* -c argument, NULL if not given */
	bool no_command;         /* -C */
	unsigned threads;        /* -t */
	const char *raw_samples; /* --raw-samples=FILE, "-" = stdout */
	bool progress;           /* --progress */
	unsigned credit;         /* --credit: bits per byte given to the kernel */
	const char *egd[OPT_EGD_MAX];  /* --egd=unix:PATH | tcp:[HOST:]PORT; each adds one */
	unsigned n_egd;
	uint64_t egd_rate;       /* --egd-rate: bytes/s per client, 0 = unlimited */
	uint64_t egd_burst;      /* ... /BURST bytes, 0 = one second's worth */
	unsigned egd_clients;    /* --egd-clients */
	unsigned egd_mode;       /* --egd-mode, octal */
	const char *egd_group;   /* --egd-group, NULL = leave */
	unsigned egd_per_uid;    /* --egd-per-uid, 0 = half of egd_clients */
	bool no_kernel;          /* --no-kernel: serve EGD only, feed nothing */
	bool assess;             /* --assess: survey the noise ladder */
	bool version;            /* -V */
	bool help;               /* -h */
};

void opt_defaults(struct options *o);
/* Returns 0, or -EINVAL with one line (no newline) in err.  Strings in o point
 * into argv. */
int opt_parse(struct options *o, int argc, char **argv, char *err, size_t errlen);
enum run_mode opt_run_mode(const struct options *o);
/* RUN_FILE only: bytes to write, -n or -r n KiB; 0 = unlimited. */
uint64_t opt_file_bytes(const struct options *o);
/* RUN_RAW only: timer samples to write, -n or 1000000; 0 = unlimited. */
uint64_t opt_raw_samples(const struct options *o);
/* RUN_FILE or RUN_RAW: output path; NULL means stdout. */
const char *opt_file_path(const struct options *o);
/* Every option with its default and range. */
void opt_usage(FILE *stream);
/* The long name of the i-th option of the table, NULL past the last (for
 * the tests: every one must be in the usage). */
const char *opt_long_name(size_t i);

/* Parse a size: digits with an optional fraction and one k/m/g/t suffix
 * (either case, each a further x1024); a fraction of a byte is dropped.
 * Returns 0, -EINVAL if s is not a size, -ERANGE if it is above
 * OPT_NUMBER_MAX, -EDOM if it is not zero yet less than one byte. */
int opt_parse_size(const char *s, uint64_t *bytes);

#endif
