/* diskanalysis.h - the engine shared by the disk cleanup analyzers
 * (disk_common, disk_linux). Private to libsm.
 *
 * An analyzer is a declaration: which directories to size, where to look
 * for old items and for large files, and which advice goes with which
 * space hogs. The engine walks (walk.h) under one time budget for the whole
 * checker, de-duplicates, sorts, totals and fills the check result.
 */
#ifndef SM_LIB_DISKANALYSIS_H
#define SM_LIB_DISKANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include "sm/check.h"

/* Time budget of one analyzer run, in seconds; $SM_WALK_TIMEOUT overrides. */
#define SM_DISKANALYSIS_BUDGET 1.0
/* Immediate children of a space-hog target at least this big are listed. */
#define SM_DISKANALYSIS_HOG_BYTES (1024ULL * 1024)
/* Items listed per collection in the metrics (the largest); the total
 * counts them all. */
#define SM_DISKANALYSIS_LISTED 10
/* Files at least this big are "large". */
#define SM_DISKANALYSIS_LARGE_BYTES (100ULL * 1024 * 1024)

/* Advice given when any keyword matches a space-hog path. */
typedef struct sm_diskanalysis_rule {
	const char *const *keywords; /* NULL-terminated, see sm_diskanalysis_keyword_match */
	const char *const *lines;    /* NULL-terminated: a title, then details */
} sm_diskanalysis_rule;

typedef struct sm_diskanalysis_spec {
	/* NULL-terminated host paths; "~" is $HOME, itself a host path. */
	const char *const *space_hog_targets;  /* immediate children sized */
	const char *const *old_file_targets;   /* immediate children older than old_days */
	const char *const *large_file_targets; /* files >= 100 MB anywhere below */
	int old_days;
	const sm_diskanalysis_rule *rules; /* in advice order */
	size_t nrules;
	const char *old_files_advice;   /* when old items were found */
	const char *large_files_advice; /* when large files were found */
} sm_diskanalysis_spec;

/* Analyze the host as spec says and fill res (status, message, metrics,
 * perfdata); thresholds in res are MB recoverable. */
void sm_diskanalysis_run(const sm_diskanalysis_spec *spec, sm_check_result *res);

/* The analyzers' details for people (sm_checker.details): the totals by
 * directory with what to do about each, then the largest items. */
void sm_diskanalysis_details(const sm_check_result *res, FILE *out, size_t limit);

/* Whether keyword names whole components of path: "pip" matches
 * "/root/.cache/pip" but not "/root/.cache/pipewire"; "go/pkg" matches two
 * consecutive components; a leading '/' anchors at the root, so "/var/log"
 * matches "/var/log/syslog" but not "/srv/var/log". Case-sensitive. */
bool sm_diskanalysis_keyword_match(const char *path, const char *keyword);

/* The run's time budget: $SM_WALK_TIMEOUT (seconds, > 0) or the default.
 * Returns -1 when the variable is set but not a positive number. */
int sm_diskanalysis_budget(double *seconds);

#endif
