/* cpu.h - L1 cache geometry for tuning the walk.
 *
 * cpu_detect() fills a cache_geom: each size comes from the -d/-i option
 * when non-zero, else libcpuid (when built with it), else sysfs
 * (/sys/devices/system/cpu/cpu0/cache), else the 16 KB default; the source
 * of each value is recorded for -r 1.  A value from libcpuid or sysfs is
 * used only when cpu_cache_plausible() accepts it; otherwise the next
 * source is asked.  Nothing needs to be called first; cpu_detect() reads
 * CPUID and sysfs once and is meant for start-up.
 */
#ifndef HRNG_CPU_H
#define HRNG_CPU_H

#include <stdbool.h>
#include <stddef.h>

enum cache_source {
	CACHE_SRC_OPTION,
	CACHE_SRC_LIBCPUID,
	CACHE_SRC_SYSFS,
	CACHE_SRC_DEFAULT,
};

enum {
	CACHE_DEFAULT_KB = 16,
	CACHE_MIN_KB = 4,               /* cpu_cache_plausible() bounds */
	CACHE_MAX_KB = 1024,
};

#define CPU_SYSFS_CACHE_DIR "/sys/devices/system/cpu/cpu0/cache"

struct cache_geom {
	unsigned data_kb;               /* L1 data cache, KB */
	unsigned inst_kb;               /* L1 instruction cache, KB */
	enum cache_source data_src;
	enum cache_source inst_src;
	char cpu[64];                   /* vendor and model, "" if unknown */
};

void cpu_detect(struct cache_geom *g, unsigned data_opt_kb, unsigned inst_opt_kb);
const char *cpu_source_name(enum cache_source src);
/* A believable L1 size: a multiple of 4 KB from CACHE_MIN_KB to
 * CACHE_MAX_KB (see cpu.c for why not only powers of two). */
bool cpu_cache_plausible(unsigned kb);

/* Seams for tests: read only one source.  Each returns 0 and sets the sizes
 * it found (0 for a size it did not find), or -errno if the source is
 * absent (-ENODEV for libcpuid; opendir()'s errno for sysfs). */
int cpu_from_libcpuid(unsigned *data_kb, unsigned *inst_kb, char *cpu, size_t cpulen);
int cpu_from_sysfs(const char *cache_dir, unsigned *data_kb, unsigned *inst_kb);
/* cpu_detect() with its sources chosen: libcpuid only if use_libcpuid,
 * sysfs from cache_dir (NULL: none).  cpu_detect() is
 * cpu_detect_in(g, d, i, CPU_SYSFS_CACHE_DIR, true). */
void cpu_detect_in(struct cache_geom *g, unsigned data_opt_kb, unsigned inst_opt_kb,
		   const char *cache_dir, bool use_libcpuid);

#endif
