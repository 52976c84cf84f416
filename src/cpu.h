/* cpu.h - L1 cache geometry for tuning the walk.
 *
 * cpu_detect() fills a cache_geom: each size comes from the -d/-i option
 * when non-zero, else libcpuid (when built with it), else sysfs
 * (/sys/devices/system/cpu/cpu0/cache), else the 16 KB default; the source
 * of each value is recorded for -r 1.
 */
#ifndef HRNG_CPU_H
#define HRNG_CPU_H

#include <stddef.h>

enum cache_source {
	CACHE_SRC_OPTION,
	CACHE_SRC_LIBCPUID,
	CACHE_SRC_SYSFS,
	CACHE_SRC_DEFAULT,
};

enum { CACHE_DEFAULT_KB = 16 };

struct cache_geom {
	unsigned data_kb;               /* L1 data cache, KB */
	unsigned inst_kb;               /* L1 instruction cache, KB */
	enum cache_source data_src;
	enum cache_source inst_src;
	char cpu[64];                   /* vendor and model, "" if unknown */
};

void cpu_detect(struct cache_geom *g, unsigned data_opt_kb, unsigned inst_opt_kb);
const char *cpu_source_name(enum cache_source src);

/* Seams for tests: read only one source.  Each returns 0 and sets the sizes
 * it found (0 for a size it did not find), or -1 if the source is absent. */
int cpu_from_libcpuid(unsigned *data_kb, unsigned *inst_kb, char *cpu, size_t cpulen);
int cpu_from_sysfs(const char *cache_dir, unsigned *data_kb, unsigned *inst_kb);

#endif
