/* cpu.c - L1 data and instruction cache sizes, for sizing the walk.
 *
 * Offered:
 *   cpu_detect()         both sizes and where each came from, and the CPU
 *                        name; the order is option, libcpuid, sysfs, the
 *                        16 KB default, decided for each cache on its own;
 *   cpu_detect_in()      the same with the sources chosen (for tests);
 *   cpu_from_libcpuid()  the sizes CPUID reports, through libcpuid;
 *   cpu_from_sysfs()     the sizes the kernel reports under a cache dir;
 *   cpu_cache_plausible() whether a size is believable as an L1;
 *   cpu_source_name()    a source as text, for -r 1.
 * Nothing needs to be set up first.  This runs once at start-up; it reads
 * files and executes CPUID, so it does not belong on any hot path.
 *
 * Why libcpuid and not our own CPUID code: haveged's own AMD path reads
 * leaf 0x80000005 only when the highest extended leaf ends in 5, 6 or 8,
 * and so gets nothing on current AMD parts.  libcpuid decodes leaf 4 and
 * 0x8000001D as the vendors document them; the kernel's sysfs view comes
 * from the same leaves and is the fallback.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_LIBCPUID
#include <libcpuid.h>
#endif

#include "cpu.h"

/* ------------------------------------------------------------------------
 * Plausibility and names
 *
 * Offers cpu_cache_plausible(), cpu_source_name().
 *
 * An L1 is ways x sets x line.  With 64-byte lines and at least 64 sets
 * every L1 in current x86 and Arm parts is a multiple of 4 KB: 16, 32,
 * 48 (Intel since Ice Lake and this machine's Xeon, 12-way), 64, 96, 128,
 * 192 KB.  A power-of-two rule would throw away the 48 KB L1d of this very
 * machine, so the test is "a multiple of 4 KB from 4 KB to 1 MB".  It
 * catches what a broken decoder gives: 0, -1 turned unsigned, a size in
 * bytes or in MB, an L2 or L3 taken for an L1.
 */
bool cpu_cache_plausible(unsigned kb)
{
	return kb >= CACHE_MIN_KB && kb <= CACHE_MAX_KB && kb % 4 == 0;
}

const char *cpu_source_name(enum cache_source src)
{
	switch (src) {
	case CACHE_SRC_OPTION:
		return "option";
	case CACHE_SRC_LIBCPUID:
		return "libcpuid";
	case CACHE_SRC_SYSFS:
		return "sysfs";
	case CACHE_SRC_DEFAULT:
		return "default";
	}
	return "unknown";
}

/* ------------------------------------------------------------------------
 * libcpuid
 *
 * Offers cpu_from_libcpuid().  libcpuid 0.6.2: cpu_identify() fills
 * l1_data_cache and l1_instruction_cache in KB, -1 when unknown.
 */
#ifdef HAVE_LIBCPUID
/* "brand (vendor)", or whichever of the two is non-empty.  The brand
 * string of some Intel parts is padded with leading spaces. */
static void cpu_name(const struct cpu_id_t *id, char *cpu, size_t cpulen)
{
	const char *brand = id->brand_str;

	while (*brand == ' ')
		brand++;
	if (*brand && id->vendor_str[0])
		snprintf(cpu, cpulen, "%s (%s)", brand, id->vendor_str);
	else
		snprintf(cpu, cpulen, "%s", *brand ? brand : id->vendor_str);
}

static unsigned libcpuid_kb(int32_t kb)
{
	return kb > 0 ? (unsigned)kb : 0;
}

int cpu_from_libcpuid(unsigned *data_kb, unsigned *inst_kb, char *cpu, size_t cpulen)
{
	struct cpu_raw_data_t raw;
	struct cpu_id_t id;

	*data_kb = 0;
	*inst_kb = 0;
	if (cpulen)
		cpu[0] = '\0';
	if (!cpuid_present() || cpuid_get_raw_data(&raw) < 0 ||
	    cpu_identify(&raw, &id) < 0)
		return -ENODEV;
	*data_kb = libcpuid_kb(id.l1_data_cache);
	*inst_kb = libcpuid_kb(id.l1_instruction_cache);
	if (cpulen)
		cpu_name(&id, cpu, cpulen);
	return 0;
}
#else
int cpu_from_libcpuid(unsigned *data_kb, unsigned *inst_kb, char *cpu, size_t cpulen)
{
	*data_kb = 0;
	*inst_kb = 0;
	if (cpulen)
		cpu[0] = '\0';
	return -ENODEV;
}
#endif

/* ------------------------------------------------------------------------
 * sysfs
 *
 * Offers cpu_from_sysfs().  The kernel describes each cache of a CPU in
 * <cache_dir>/index<N>/ (Documentation/ABI/testing/sysfs-devices-system-cpu):
 * "level" (1, 2, ...), "type" (Data, Instruction, Unified) and "size"
 * ("48K").  The index numbers carry no meaning, so every index is read.
 */
enum { SYSFS_LINE = 64 };

/* One line of <dir>/<index>/<attr>, without its newline; 0 or -errno. */
static int read_attr(const char *dir, const char *index, const char *attr,
		     char *buf, size_t len)
{
	char path[PATH_MAX];
	FILE *f;
	int ret = -ENODATA;

	if (snprintf(path, sizeof(path), "%s/%s/%s", dir, index, attr) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fgets(buf, (int)len, f)) {
		buf[strcspn(buf, "\n")] = '\0';
		ret = 0;
	}
	fclose(f);
	return ret;
}

/* "48K" -> 48, "1M" -> 1024; 0 for anything else (the kernel writes
 * "%uK"; M is accepted for the sake of other producers). */
static unsigned parse_size_kb(const char *s)
{
	unsigned long n;
	char *end;

	if (!isdigit((unsigned char)*s))
		return 0;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || n == 0 || end[0] == '\0' || end[1] != '\0')
		return 0;
	if ((*end == 'K' || *end == 'k') && n <= UINT_MAX)
		return (unsigned)n;
	if ((*end == 'M' || *end == 'm') && n <= UINT_MAX / 1024)
		return (unsigned)n * 1024;
	return 0;
}

struct sysfs_l1 {
	unsigned data_kb, inst_kb, unified_kb;   /* 0 = not seen */
};

static void sysfs_index(const char *dir, const char *index, struct sysfs_l1 *l1)
{
	char level[SYSFS_LINE], type[SYSFS_LINE], size[SYSFS_LINE];
	unsigned kb, *slot;

	if (read_attr(dir, index, "level", level, sizeof(level)) ||
	    strcmp(level, "1") ||
	    read_attr(dir, index, "type", type, sizeof(type)) ||
	    read_attr(dir, index, "size", size, sizeof(size)))
		return;
	if (!strcmp(type, "Data"))
		slot = &l1->data_kb;
	else if (!strcmp(type, "Instruction"))
		slot = &l1->inst_kb;
	else if (!strcmp(type, "Unified"))
		slot = &l1->unified_kb;
	else
		return;
	kb = parse_size_kb(size);
	if (!*slot)
		*slot = kb;
}

static bool is_index_name(const char *name)
{
	if (strncmp(name, "index", 5) || !name[5])
		return false;
	for (name += 5; *name; name++)
		if (!isdigit((unsigned char)*name))
			return false;
	return true;
}

int cpu_from_sysfs(const char *cache_dir, unsigned *data_kb, unsigned *inst_kb)
{
	struct sysfs_l1 l1 = { 0, 0, 0 };
	struct dirent *de;
	DIR *d;

	*data_kb = 0;
	*inst_kb = 0;
	d = opendir(cache_dir);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (is_index_name(de->d_name))
			sysfs_index(cache_dir, de->d_name, &l1);
	closedir(d);
	/* A unified L1 (rare, old parts) serves as both. */
	*data_kb = l1.data_kb ? l1.data_kb : l1.unified_kb;
	*inst_kb = l1.inst_kb ? l1.inst_kb : l1.unified_kb;
	return 0;
}

/* ------------------------------------------------------------------------
 * The decision
 *
 * Offers cpu_detect(), cpu_detect_in().  Each cache is decided on its own:
 * a part whose CPUID describes only one L1 still gets the other from sysfs.
 */
static void choose(unsigned *kb, enum cache_source *src, unsigned opt,
		   unsigned from_cpuid, unsigned from_sysfs)
{
	if (opt) {
		*kb = opt;
		*src = CACHE_SRC_OPTION;
	} else if (cpu_cache_plausible(from_cpuid)) {
		*kb = from_cpuid;
		*src = CACHE_SRC_LIBCPUID;
	} else if (cpu_cache_plausible(from_sysfs)) {
		*kb = from_sysfs;
		*src = CACHE_SRC_SYSFS;
	} else {
		*kb = CACHE_DEFAULT_KB;
		*src = CACHE_SRC_DEFAULT;
	}
}

void cpu_detect_in(struct cache_geom *g, unsigned data_opt_kb, unsigned inst_opt_kb,
		   const char *cache_dir, bool use_libcpuid)
{
	unsigned cpuid_d = 0, cpuid_i = 0, sysfs_d = 0, sysfs_i = 0;

	memset(g, 0, sizeof(*g));
	/* Asked even when both options are set: -r 1 shows the CPU name. */
	if (use_libcpuid)
		cpu_from_libcpuid(&cpuid_d, &cpuid_i, g->cpu, sizeof(g->cpu));
	if (cache_dir &&
	    ((!data_opt_kb && !cpu_cache_plausible(cpuid_d)) ||
	     (!inst_opt_kb && !cpu_cache_plausible(cpuid_i))))
		cpu_from_sysfs(cache_dir, &sysfs_d, &sysfs_i);
	choose(&g->data_kb, &g->data_src, data_opt_kb, cpuid_d, sysfs_d);
	choose(&g->inst_kb, &g->inst_src, inst_opt_kb, cpuid_i, sysfs_i);
}

void cpu_detect(struct cache_geom *g, unsigned data_opt_kb, unsigned inst_opt_kb)
{
	cpu_detect_in(g, data_opt_kb, inst_opt_kb, CPU_SYSFS_CACHE_DIR, true);
}
