/* lane.h - one lane of the generator: a calibrated noise source with its
 * own health tests, online tests and conditioner, writing into its own
 * release ring.
 *
 * lane_init() calibrates the source (the SP 800-90B start-up health test),
 * primes the conditioner and runs the AIS-31 start-up group: a lane that
 * exists has passed them.  lane_produce() then makes one fill of walk
 * output and takes it through the pipeline (see lane.c) into the ring,
 * releasing what the online tests have passed.  Who calls lane_produce(),
 * and when, is the generator's business (generator.c).
 *
 * All lanes of a generator share one struct lane_group: its lock guards
 * every lane's ring positions, the shared error and the statistics.
 */
#ifndef HRNG_LANE_H
#define HRNG_LANE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "genconfig.h"
#include "health.h"
#include "noise.h"
#include "ring.h"

/* What the lanes of one generator share. */
struct lane_group {
	struct gen_config cfg;
	size_t fill_words;         /* walk words per fill */
	unsigned nlanes;
	pthread_mutex_t lock;
	pthread_cond_t ready;      /* producer -> consumer: release moved */
	bool stop;                 /* set once by gen_free() */
	int error;                 /* 0, or -EIO once permanent; sticky */
	struct gen_stats stats;    /* under lock */
};

struct lane {
	struct lane_group *grp;    /* set by lane_init(): NULL = never begun */
	struct noise noise;        /* the calibrated collector; noise.why is
	                            * set only when calibration refused it */
	struct health health;
	struct conditioner *cond;
	struct ais31_ctl *online;  /* continuous group, NULL = none */
	uint32_t *walk;            /* the fill being tested and conditioned */
	uint64_t *deltas;          /* its timer deltas */
	/* With continuous tests a collector thread fills the next buffer
	 * while this one is tested: a two-stage pipeline over two buffers. */
	struct fillpipe {
		struct fillbuf {
			uint32_t *walk;
			uint64_t *deltas;
			bool full;     /* filled and health-tested, not yet used */
		} fb[2];
		unsigned fill, use;    /* next buffer to fill / to use */
		pthread_t collector;
		bool has_collector;
		pthread_cond_t cond;   /* a buffer became full or free */
	} pipe;
	struct ring ring;          /* conditioned bytes; cap may shrink to
	                            * cap_by_reader (generator.c) */
	uint64_t unreleased_walk;  /* walk bytes behind [release, head) */
	size_t fill_out;           /* ring bytes one fill adds at most */
	size_t cap_by_reader;      /* cap enough when the reader produces */
	uint8_t *pend;             /* GEN_SEEDS: samples awaiting a seed */
	size_t npend;
	/* The generator's: the lane's producer thread, if it has one. */
	pthread_t thread;
	bool has_thread;
	pthread_cond_t room;       /* consumer -> producer: tail moved */
};

/* Calibrate, allocate, run the start-up tests; l is zeroed memory.
 * Returns 0 or -errno (-EIO: a start-up test failed; -ENOMEM).  Whatever
 * it returns, lane_fini() releases the lane. */
int lane_init(struct lane_group *grp, struct lane *l);
/* Stop waiting for the collector thread (grp->stop is set), wipe, free. */
void lane_fini(struct lane *l);
/* GEN_STREAM with continuous tests: start the collector thread of the
 * two-stage pipeline.  Returns 0 or -EAGAIN. */
int lane_start_collector(struct lane *l);
/* One fill through the pipeline into the ring; 0, or -EIO once the lane
 * has failed for good (logged).  Called without the lock. */
int lane_produce(struct lane *l);

#endif
