/* checkers.h - the checker family's one list and what its members share.
 * Private to libsm: tools reach checkers through sm_checkers() and
 * sm_checker_find(). */
#ifndef SM_LIB_CHECKERS_H
#define SM_LIB_CHECKERS_H

#include "sm/check.h"

/* The checker family, in run order: one row each, `const sm_checker
 * sm_checker_<name>` in checker_<name>.c (name, description, run function,
 * default thresholds, options). Adding a checker is that file, one entry
 * here, its fixtures and its lines in sm-check(1); the table, --list and
 * sm-check's flags and --help follow. */
#define SM_CHECKER_LIST(X)                                                                         \
	X(cpu)                                                                                     \
	X(cpu_temp)                                                                                \
	X(memory)                                                                                  \
	X(swap)                                                                                    \
	X(load)                                                                                    \
	X(disk)                                                                                    \
	X(disk_inodes)                                                                             \
	X(disk_common)                                                                             \
	X(disk_linux)                                                                              \
	X(disk_temp)                                                                               \
	X(io_strain)                                                                               \
	X(listening_ports)                                                                         \
	X(network)                                                                                 \
	X(process)                                                                                 \
	X(raid)                                                                                    \
	X(reboot_debian)                                                                           \
	X(agents)                                                                                  \
	X(queue)

#define SM_CHECKER_DECLARE(name) extern const sm_checker sm_checker_##name;
SM_CHECKER_LIST(SM_CHECKER_DECLARE)
#undef SM_CHECKER_DECLARE

/* The run function of a checker file. */
#define SM_CHECKER_RUN(fn)                                                                         \
	static void fn(const sm_checker *self, const sm_check_opts *opts, sm_check_result *res)
/* A NULL-terminated list of options for a row. */
#define SM_CHECK_OPTIONS(...) ((const sm_check_option *const[]){__VA_ARGS__, NULL})

/* Options more than one checker takes (check.c). */
extern const sm_check_option sm_check_option_paths;    /* disk, disk_inodes */
extern const sm_check_option sm_check_option_samples;  /* cpu, io_strain */
extern const sm_check_option sm_check_option_interval; /* cpu, io_strain */

/* Sample interval and sample count from opts, with the defaults applied. */
double sm_check_interval(const sm_check_opts *opts);
int sm_check_samples(const sm_check_opts *opts);
/* strerror that is safe on checker threads. */
const char *sm_check_strerror(int errnum, char *buf, size_t size);

/* --- host metrics: cpu, memory, swap, io_strain (checker_cpu.c,
 * checker_memory.c, checker_io_strain.c). Pure parsers and computations over
 * /proc texts, so tests drive them with fixture files. --- */

/* CPU busy percentages (1 decimal) between two /proc/stat texts: one value
 * for the aggregate "cpu" line, or with per_cpu one per "cpuN" line of after
 * (in its order, matched to before by N). *percent is malloc'd. Returns 0, or
 * -1 with err naming /proc/stat when a text has no usable line. */
int sm_cpu_busy(const char *before, const char *after, bool per_cpu, double **percent,
                size_t *count, sm_error *err);

/* Sleep for seconds on the monotonic clock, resuming after signals (the
 * sampling checkers cpu and io_strain; defined in checker_cpu.c). */
void sm_check_sleep(double seconds);

/* The cpu checker's readings, accumulated sample by sample. */
typedef struct sm_cpu_usage {
	bool per_cpu;
	int samples;
	double sum, min, max; /* readings (per_cpu: the busiest core of each sample) */
	double *core_sum;     /* per_cpu: per-core sums over the samples */
	int *core_samples;    /* per_cpu: samples in which each core was seen */
	size_t cores;         /* per_cpu: cores seen in the first sample */
	int cpu_count;        /* cpuN lines of the latest snapshot */
} sm_cpu_usage;

/* Add the sample between two /proc/stat snapshots; -1 with err if malformed. */
int sm_cpu_usage_add(sm_cpu_usage *usage, const char *before, const char *after, sm_error *err);
/* The cpu checker's status, message, metrics and perfdata from usage. */
void sm_cpu_usage_report(const sm_cpu_usage *usage, sm_check_result *res);
void sm_cpu_usage_free(sm_cpu_usage *usage);

/* The /proc/meminfo lines the memory and swap checkers use, in bytes. */
typedef struct sm_meminfo {
	unsigned long long mem_total, mem_free, mem_available, active_file, inactive_file,
	    sreclaimable, swap_total, swap_free;
	unsigned present; /* SM_MEMINFO_* bits of the lines found */
} sm_meminfo;

enum {
	SM_MEMINFO_MEM_TOTAL = 1u << 0,
	SM_MEMINFO_MEM_FREE = 1u << 1,
	SM_MEMINFO_MEM_AVAILABLE = 1u << 2,
	SM_MEMINFO_ACTIVE_FILE = 1u << 3,
	SM_MEMINFO_INACTIVE_FILE = 1u << 4,
	SM_MEMINFO_SRECLAIMABLE = 1u << 5,
	SM_MEMINFO_SWAP_TOTAL = 1u << 6,
	SM_MEMINFO_SWAP_FREE = 1u << 7,
};

/* Parse a /proc/meminfo text; -1 with err when a line it uses is malformed. */
int sm_meminfo_parse(const char *text, sm_meminfo *out, sm_error *err);
/* MemAvailable, or the kernel-less estimate, clamped to [0, MemTotal]. */
unsigned long long sm_meminfo_available(const sm_meminfo *m);

/* One /proc/diskstats device line: cumulative counters. */
typedef struct sm_diskstat {
	char name[64];
	unsigned long long reads, read_bytes, writes, write_bytes, busy_ms;
	bool has_busy; /* old kernels' 4-counter partition lines have no busy time */
} sm_diskstat;

/* Parse a /proc/diskstats text, keeping the devices named in whole (NULL:
 * every device) except loop*, ram* and zram*. *out is malloc'd. Returns 0, or
 * -1 with err naming /proc/diskstats on a malformed line. */
int sm_diskstats_parse(const char *text, const char *const *whole, size_t nwhole, sm_diskstat **out,
                       size_t *count, sm_error *err);

/* One device's rates over the sampled window. */
typedef struct sm_disk_io {
	char disk[64];
	double util_percent, read_mb_s, write_mb_s, read_iops, write_iops;
} sm_disk_io;

/* Rates of each device of after (in its order) that before also has and that
 * has a busy time; out must hold nafter rows. Returns the rows filled. */
size_t sm_io_strain_rates(const sm_diskstat *before, size_t nbefore, const sm_diskstat *after,
                          size_t nafter, double elapsed_s, sm_disk_io *out);
/* The io_strain checker's result from two snapshots elapsed_s apart;
 * window_s is the requested window (the sample_interval_s metric). */
void sm_io_strain_report(sm_check_result *res, const sm_diskstat *before, size_t nbefore,
                         const sm_diskstat *after, size_t nafter, double elapsed_s,
                         double window_s);

/* --- disk, disk_inodes, raid, network (checker_disk.c, checker_raid.c,
 * checker_network.c). Shared helpers and pure parsers, so tests drive them
 * with fixture texts. --- */

struct statvfs;
/* statvfs(3) of an absolute host path (resolved under the host root); 0, or
 * -1 with why ("No such file or directory", "not an absolute path"). */
int sm_check_statvfs(const char *path, struct statvfs *st, char *why, size_t size);

/* One md array as /proc/mdstat describes it. */
typedef struct sm_raid_array {
	char name[64];
	char state[32];     /* "active", "inactive", ... */
	char level[32];     /* "raid1", "linear", ...; "" when the header names none */
	int active_devices; /* from "[total/active]"; -1 when absent */
	int total_devices;  /* -1 when absent */
	char **failed;      /* devices marked "(F)" */
	size_t nfailed;
	bool rebuilding;       /* recovery, resync or reshape under way */
	bool scrubbing;        /* check or repair under way */
	double resync_percent; /* NAN when no operation shows a percentage */
} sm_raid_array;

/* Parse a /proc/mdstat text (tolerant: junk lines close the current array).
 * *arrays is malloc'd (NULL when none); free with sm_raid_free. Returns 0,
 * or -1 when out of memory. */
int sm_raid_parse(const char *mdstat, sm_raid_array **arrays, size_t *count);
void sm_raid_free(sm_raid_array *arrays, size_t count);
/* Missing devices, failed devices or a state other than active. */
bool sm_raid_degraded(const sm_raid_array *array);

/* The average round-trip time in ms from ping's output ("rtt min/avg/max/mdev
 * = a/b/c/d ms", busybox's "round-trip min/avg/max = a/b/c ms"); NAN if none. */
double sm_ping_latency(const char *output);

#endif
