/* recommend.h - the local provider of sm-analyze: recommendations from rules
 * over this host's /proc and a bounded walk of its disks, no network.
 *
 * A recommendation is a JSON object {"type","priority","title",
 * "description","actions":[strings],"details":{...}}, the items of an
 * envelope's analysis.recommendations. Each rule appends what it finds to a
 * JSON array and returns 0, or -1 with err when the host could not be read.
 * Every host path is resolved under $SM_HOST_ROOT (host.h). Nothing here
 * keeps state, so rules may run on several threads at once.
 */
#ifndef SM_RECOMMEND_H
#define SM_RECOMMEND_H

#include <stddef.h>
#include <jansson.h>
#include "sm/err.h"

enum sm_recommend_type {
	SM_RECOMMEND_MEMORY,
	SM_RECOMMEND_DISK,
	SM_RECOMMEND_CPU,
	SM_RECOMMEND_PROCESS,
	SM_RECOMMEND_NETWORK,
	SM_RECOMMEND_GENERAL,
};

enum sm_recommend_priority {
	SM_RECOMMEND_LOW,
	SM_RECOMMEND_MEDIUM,
	SM_RECOMMEND_HIGH,
	SM_RECOMMEND_CRITICAL,
};

/* "memory", "disk", "cpu", "process", "network", "general". */
const char *sm_recommend_type_name(enum sm_recommend_type type);
/* "low", "medium", "high", "critical". */
const char *sm_recommend_priority_name(enum sm_recommend_priority priority);
/* The enum value of a name, or -1 when it names none. */
int sm_recommend_type_parse(const char *name);
int sm_recommend_priority_parse(const char *name);

/* A new recommendation object. actions (an array of strings) and details
 * (an object) are stolen; NULL makes [] and {}. NULL when out of memory. */
json_t *sm_recommend_new(enum sm_recommend_type type, enum sm_recommend_priority priority,
                         const char *title, const char *description, json_t *actions,
                         json_t *details);

/* Progress messages for people ("Analyzing memory...",
 * "Found: <path> (<size> MB)", "-> Scanned <path>, found <n> large items"). */
typedef void (*sm_recommend_progress_fn)(const char *message, void *ctx);

typedef struct sm_recommend_opts {
	int top_n;                         /* processes kept (memory, cpu); <= 0: 10 */
	double large_file_mb;              /* size of a "large" item; <= 0: 100 */
	int old_file_days;                 /* age of an "old" file; <= 0: 30 */
	double cpu_sample_s;               /* CPU sample length, used as given (0: none) */
	double walk_timeout_s;             /* deadline of a disk rule's walks; <= 0: 30 */
	const char *const *scan_paths;     /* NULL-terminated host paths searched for old
	                                      files when the disk path is "/"; "~" is
	                                      $HOME; NULL: /var/log, /tmp,
	                                      /var/tmp, ~/.cache, /var/cache */
	const char *disk_path;             /* the disk rule's path when the envelope names
	                                      none; NULL: "/" */
	sm_recommend_progress_fn progress; /* may be NULL */
	void *progress_ctx;
} sm_recommend_opts;

/* The defaults: top 10, 100 MB, 30 days, a 0.1 s CPU sample, 30 s walks. */
void sm_recommend_opts_init(sm_recommend_opts *opts);

/* Memory: the top processes by resident memory (VmRSS of
 * <proc>/<pid>/status over MemTotal), one "High Memory Usage Detected"
 * recommendation whose priority follows the host's memory use (>90
 * critical, >80 high, >70 medium, else low); nothing when no process holds
 * more than 0.1 % of memory. Unreadable or malformed process files skip
 * the process; an unusable <proc>/meminfo is an error. */
int sm_recommend_memory(const sm_recommend_opts *opts, json_t *out, sm_error *err);

/* Disk: large items (directories down to depth 3, files at any depth, of at
 * least large_file_mb) and old files (>= 1 MiB, older than old_file_days)
 * under the host path (NULL or "": "/"; for "/" the old files are searched
 * in scan_paths instead), by walks that never follow a symlink, never leave
 * the filesystem they start on and stop at walk_timeout_s; details say
 * "scan_complete": false when a walk was cut short. Gives "Large Files and
 * Directories Found", "Old Logs and Temporary Files Found", or else "Disk
 * Health Check". -1 with err when path is not a directory that can be read. */
int sm_recommend_disk(const char *path, const sm_recommend_opts *opts, json_t *out, sm_error *err);

/* The large-items priority from the used percentage of the scanned path's
 * filesystem: >95 critical, >90 high, >80 medium, else low; NAN (unknown)
 * medium. */
enum sm_recommend_priority sm_recommend_disk_priority(double used_percent);

/* One reading of every process's CPU time, for the CPU rule. */
typedef struct sm_recommend_cpu_proc {
	long pid;
	unsigned long long ticks; /* utime + stime, clock ticks */
	char name[64];
	char *cmdline; /* argv joined by spaces, at most 200 bytes; "" for none */
} sm_recommend_cpu_proc;

typedef struct sm_recommend_cpu_snapshot {
	sm_recommend_cpu_proc *procs; /* ascending pid */
	size_t count;
	char *stat; /* the text of <proc>/stat */
} sm_recommend_cpu_snapshot;

/* Read <proc>/stat and every <proc>/<pid>/stat (zombies, unreadable and
 * malformed ones skipped). -1 with err when <proc> or <proc>/stat cannot be
 * read. Free with sm_recommend_cpu_snapshot_free, also after an error. */
int sm_recommend_cpu_snapshot_take(sm_recommend_cpu_snapshot *snap, sm_error *err);
void sm_recommend_cpu_snapshot_free(sm_recommend_cpu_snapshot *snap);

/* CPU from two snapshots: a process's share is its tick delta over the
 * elapsed time (the "cpu" line's tick delta per logical CPU), so a process
 * on two busy cores shows 200 %. Processes above 1 %, top_n of them, make
 * one "High CPU Usage Detected" recommendation whose priority follows the
 * host's busy percent between the snapshots (>90 critical, >80 high, else
 * medium); nothing when none qualifies. -1 with err on a malformed stat. */
int sm_recommend_cpu_from(const sm_recommend_cpu_snapshot *before,
                          const sm_recommend_cpu_snapshot *after, const sm_recommend_opts *opts,
                          json_t *out, sm_error *err);

/* CPU: two snapshots cpu_sample_s apart, then sm_recommend_cpu_from. */
int sm_recommend_cpu(const sm_recommend_opts *opts, json_t *out, sm_error *err);

/* The general scan: the memory rule when more than 70 % of memory is used,
 * then the disk rule on the first physical filesystem of <proc>/mounts more
 * than 70 % full. May add nothing. When <proc>/mounts cannot be read (a
 * container) the disk part is left out and note (may be NULL; "" when
 * nothing was left out) says so; the scan still succeeds. */
int sm_recommend_general(const sm_recommend_opts *opts, json_t *out, sm_error *note, sm_error *err);

/* What an incident is about, from its words. */
enum sm_recommend_incident {
	SM_RECOMMEND_INCIDENT_UNKNOWN,
	SM_RECOMMEND_INCIDENT_MEMORY,
	SM_RECOMMEND_INCIDENT_DISK,
	SM_RECOMMEND_INCIDENT_CPU,
};

/* The incident type of a text by whole, case-insensitive words, camelCase
 * split ("DiskSpaceLow" is disk, space, low) and a plural "s" allowed:
 * memory, ram, oom, "out of memory", mem, swap → memory; else disk,
 * storage, space, filesystem, inode, quota → disk; else cpu, load,
 * processor, compute → cpu. "diskless", "program" and "download" match
 * nothing. */
enum sm_recommend_incident sm_recommend_detect_text(const char *text);

/* The incident type of an envelope, from the incident's title, each
 * alert's name, description and string label values, and each check that
 * is not ok: its checker name and message. */
enum sm_recommend_incident sm_recommend_detect(json_t *env);

/* The local provider on one envelope: the rule of its incident type (disk
 * on the path of the first alert label "mountpoint" or "path", else the
 * worst_path of a failing disk check, else opts->disk_path), or the general
 * scan when nothing matches (note as there). Appends to out. */
int sm_recommend_for_envelope(json_t *env, const sm_recommend_opts *opts, json_t *out,
                              sm_error *note, sm_error *err);

#endif
