/* genconfig.h - what a generator is built from (struct gen_config, its
 * output kind) and what it counts (struct gen_stats): the types that the
 * generator (generator.h) and its lanes (lane.h) share, kept apart so
 * that neither header needs the other. */
#ifndef HRNG_GENCONFIG_H
#define HRNG_GENCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct testspec;

enum gen_output {
	GEN_STREAM,     /* conditioned walk output (file mode, EGD) */
	GEN_SEEDS,      /* 32-byte full-entropy seeds from raw samples (kernel) */
};

struct gen_config {
	unsigned data_kb;             /* L1d for the walk table */
	unsigned inst_kb;             /* L1i for the unrolled code */
	bool table_fixed;             /* -d given: the ladder keeps the table */
	size_t buffer_words;          /* walk output per fill (-b x 1024) */
	unsigned threads;             /* lanes (see gen_peek_lane for who runs them) */
	const struct testspec *spec;  /* online tests; NULL = none */
	enum gen_output output;
};

/* GEN_SEEDS: raw samples behind each 32-byte seed, enough for 256 + 64 bits
 * at the claimed HEALTH_ENTROPY_HALVES / 2 bits per sample (SP 800-90B 3.1.5.1.2: full
 * entropy). */
unsigned gen_seed_samples(void);

struct gen_stats {
	uint64_t bytes_out;           /* handed to callers */
	uint64_t walk_bytes;          /* walk output produced */
	uint64_t samples;             /* timer samples health-tested */
	uint64_t health_intermittent; /* buffers discarded for RCT/APT */
	uint64_t online_runs;         /* AIS-31 procedures completed */
	uint64_t online_retries;
	uint64_t online_discarded;    /* bytes discarded for online tests */
	unsigned health_failure;      /* permanent failure bits, 0 = healthy */
};

#endif
