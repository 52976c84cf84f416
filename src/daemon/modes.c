/* modes.c - the modes other than the daemon (see modes.h).
 *
 * Sections: the generator the options ask for; -r 1; raw samples; file
 * mode.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assess.h"
#include "collector.h"
#include "filesink.h"
#include "log.h"
#include "modes.h"
#include "noise.h"
#include "report.h"
#include "signals.h"
#include "testspec.h"
#include "timer.h"

/* ------------------------------------------------------------ the generator */

/* -d given: the calibration ladder keeps the walk table where it is. */
static bool table_fixed(const struct cache_geom *geom)
{
	return geom->data_src == CACHE_SRC_OPTION;
}

void mode_gen_config(struct gen_config *gc, const struct options *o,
		     const struct cache_geom *geom)
{
	memset(gc, 0, sizeof(*gc));
	gc->data_kb = geom->data_kb;
	gc->inst_kb = geom->inst_kb;
	gc->table_fixed = table_fixed(geom);
	gc->buffer_words = (size_t)o->buffer * 1024;
	gc->threads = o->threads;
	gc->spec = &o->spec;
}

/* ------------------------------------------------------------ -r 1 */

/* The configuration, and the noise source as calibrated here and now.
 * Returns 0, -ENOMEM (logged), or -EIO when the source would be refused
 * (after the lines). */
int mode_info(const struct options *o)
{
	const struct testspec *spec = &o->spec;
	struct cache_geom geom;
	struct timer_info ti;
	struct collector_layout l;
	struct noise n;
	char specbuf[64];
	int ret;

	cpu_detect(&geom, o->data_kb, o->inst_kb);
	timer_measure(&ti);
	ret = noise_calibrate(&n, geom.data_kb, geom.inst_kb, table_fixed(&geom));
	if (ret == -ENOMEM) {
		noise_free(&n);
		log_errx("out of memory");
		return -ENOMEM;
	}
	testspec_format(spec, specbuf, sizeof(specbuf));
	printf("havege-rngd %s%s\n", PACKAGE_VERSION, timer_is_mock() ? " (mock timer build)" : "");
	printf("cpu: %s\n", geom.cpu[0] ? geom.cpu : "unknown");
	printf("data cache: %u KB (%s)\n", geom.data_kb, cpu_source_name(geom.data_src));
	printf("instruction cache: %u KB (%s)\n", geom.inst_kb, cpu_source_name(geom.inst_src));
	printf("timer: %s, resolution %llu ticks, %.3f ticks/ns\n", ti.name,
	       (unsigned long long)ti.resolution, ti.ticks_per_ns);
	if (ret == 0) {
		collector_get_layout(n.col, &l);
		printf("walk table: %zu words (%zu KB)\n", l.table_words, l.table_words * 4 / 1024);
		if (l.measured)
			printf("walk code: %u of %u copies run, %zu of %zu bytes\n", l.copies_run,
			       l.copies_built, l.code_run, l.code_built);
		else
			printf("walk code: all %u copies run (layout unmeasured)\n", l.copies_built);
		assess_print_noise(stdout, &n);
	}
	printf("online tests: %s\n", specbuf[0] ? specbuf : "off");
	printf("buffer: %u x 1024 words; threads: %u\n", o->buffer, o->threads);
	fflush(stdout);
	if (ret < 0)
		log_errx("start-up health test failed: %s", n.why);
	noise_free(&n);
	return ret < 0 ? -EIO : 0;
}

/* ------------------------------------------------------------ raw samples */

struct raw_ctx {
	struct noise n;
	uint32_t *walk;          /* scratch for the walk output */
	uint64_t *deltas;        /* one fill of samples */
	size_t have, pos;        /* samples in the array, next to hand out */
};

enum { RAW_WORDS = 64 * 1024 };

static int raw_read(void *ctx, void *buf, size_t n)
{
	struct raw_ctx *rc = ctx;
	uint8_t *p = buf;

	while (n > 0) {
		if (rc->pos == rc->have) {
			rc->have = noise_fill(&rc->n, rc->walk, RAW_WORDS, rc->deltas);
			rc->pos = 0;
		}
		*p++ = (uint8_t)rc->deltas[rc->pos++];
		n--;
	}
	return 0;
}

/* One byte per sample, exactly as the health tests see them at the rung
 * the calibration chose (noise.h), for SP 800-90B assessment. */
int mode_raw(const struct options *o, const struct cache_geom *geom)
{
	struct filesink_opts fo = { .path = opt_file_path(o), .bytes = opt_raw_samples(o),
				    .progress = o->progress };
	struct raw_ctx rc = { .walk = NULL };
	int st, ret;

	ret = noise_calibrate(&rc.n, geom->data_kb, geom->inst_kb, table_fixed(geom));
	rc.walk = malloc(RAW_WORDS * sizeof(uint32_t));
	rc.deltas = malloc(RAW_WORDS / COLLECTOR_WORDS_PER_SAMPLE * sizeof(uint64_t));
	if (ret == -EIO) {
		log_errx("start-up health test failed: %s", rc.n.why);
		st = ret;
	} else if (ret < 0 || !rc.walk || !rc.deltas) {
		log_errx("out of memory");
		st = -ENOMEM;
	} else {
		struct byte_source src = { .read = raw_read, .ctx = &rc };

		if (log_verbose(VERB_SUMMARY))
			assess_log_noise(&rc.n);
#ifdef HRNG_MOCK_TIMER
		timer_mock_started();
#endif
		st = filesink_run(&src, &fo, &sig_stop);
	}
	noise_free(&rc.n);
	free(rc.walk);
	free(rc.deltas);
	return st;
}

/* ------------------------------------------------------------ file mode */

static void log_summary(const struct options *o, const struct cache_geom *geom,
			const struct testspec *spec, struct generator *g)
{
	struct collector_layout l;
	struct timer_info ti;
	char specbuf[64];

	gen_get_layout(g, &l);
	timer_measure(&ti);
	testspec_format(spec, specbuf, sizeof(specbuf));
	log_info("havege-rngd %s: timer %s; data %u KB (%s), inst %u KB (%s); "
		 "%u of %u copies; tests %s; threads %u", PACKAGE_VERSION, ti.name,
		 geom->data_kb, cpu_source_name(geom->data_src), geom->inst_kb,
		 cpu_source_name(geom->inst_src), l.copies_run, l.copies_built,
		 specbuf[0] ? specbuf : "off", o->threads);
	assess_log_noise(gen_noise(g));
}

int mode_file(const struct options *o, const struct cache_geom *geom)
{
	const struct testspec *spec = &o->spec;
	struct filesink_opts fo = { .path = opt_file_path(o), .bytes = opt_file_bytes(o),
				    .progress = o->progress || isatty(STDERR_FILENO) };
	struct gen_config gc;
	struct generator *g;
	int st;

	mode_gen_config(&gc, o, geom);
	st = report_gen_failed(gen_new(&g, &gc));
	if (st < 0)
		return st;
	if (log_verbose(VERB_SUMMARY))
		log_summary(o, geom, spec, g);
	report_layout(g);
	struct byte_source src = gen_byte_source(g);

	st = filesink_run(&src, &fo, &sig_stop);
	gen_free(g);
	return st;
}
