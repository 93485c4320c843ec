/* walk.h - bounded directory walks: sizes, old items and large files
 * without a du subprocess.
 *
 * A walk never follows a symlink (the start directory included), never
 * leaves the start directory's filesystem, skips what it cannot read (and
 * counts it), keeps a bounded number of directories open however deep the
 * tree, and stops at a CLOCK_MONOTONIC deadline, saying so in its stats.
 * Paths given to it are real paths (map host paths with sm_host_path first).
 * It keeps no static state: walks may run on several threads at once.
 */
#ifndef SM_WALK_H
#define SM_WALK_H

#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>

/* Which entries reach the callback (regular files always do). */
enum sm_walk_flags {
	SM_WALK_DIRS = 1 << 0,  /* directories, before their contents */
	SM_WALK_POST = 1 << 1,  /* directories again, after their contents (with bytes) */
	SM_WALK_OTHER = 1 << 2, /* symlinks, sockets, fifos, devices (never followed) */
};

enum sm_walk_kind {
	SM_WALK_FILE,     /* a regular file */
	SM_WALK_DIR,      /* a directory, before its contents */
	SM_WALK_DIR_POST, /* a directory, after its contents */
	SM_WALK_NONFILE,  /* anything else, from lstat */
};

/* What the callback returns. */
enum sm_walk_action {
	SM_WALK_CONTINUE = 0,
	SM_WALK_SKIP = 1, /* on SM_WALK_DIR: do not descend (and no SM_WALK_DIR_POST) */
	SM_WALK_STOP = 2, /* end the walk now; stats->stopped is set */
};

typedef struct sm_walk_entry {
	const char *path;      /* dir "/" the path relative to dir */
	const char *name;      /* the last component of path */
	const struct stat *st; /* the entry's lstat */
	int depth;             /* 1 for the start directory's children */
	enum sm_walk_kind kind;
	/* SM_WALK_DIR_POST: apparent size (st_size) of the regular files under
	 * the directory that the walk reached: a lower bound when the directory
	 * could not be read (error != 0) or the walk was cut short. */
	unsigned long long bytes;
	int error; /* SM_WALK_DIR_POST: errno when the directory could not be read */
} sm_walk_entry;

typedef int (*sm_walk_fn)(const sm_walk_entry *entry, void *ctx);

typedef struct sm_walk_opts {
	int flags; /* enum sm_walk_flags */
	/* Absolute CLOCK_MONOTONIC time at which the walk gives up (see
	 * sm_walk_deadline); NULL for none. */
	const struct timespec *deadline;
	/* Entries deeper than this are walked (and counted in bytes) but not
	 * passed to the callback; 0 for no limit. */
	int max_depth;
} sm_walk_opts;

typedef struct sm_walk_stats {
	unsigned long long files;      /* regular files seen */
	unsigned long long dirs;       /* directories seen, the start directory excluded */
	unsigned long long bytes;      /* apparent size of the regular files seen */
	unsigned long long unreadable; /* entries that could not be stat'ed or opened */
	unsigned long long other_fs;   /* entries on another filesystem, not entered */
	bool cut_short;                /* the deadline passed before the walk was done */
	bool stopped;                  /* the callback returned SM_WALK_STOP */
} sm_walk_stats;

/* Walk the tree under dir (not dir itself), calling fn (may be NULL) for
 * each entry selected by opts (may be NULL: files only, no deadline). Stats
 * (may be NULL) are reset first. When the deadline passes, the directories
 * being walked still get their SM_WALK_DIR_POST calls, with partial bytes.
 * Returns 0 when the walk ran, complete or not (see stats); -1 with errno
 * when dir cannot be walked at all (ENOENT, ENOTDIR, also for a symlink,
 * EACCES...) or memory ran out (ENOMEM, stats say how far it got). */
int sm_walk(const char *dir, const sm_walk_opts *opts, sm_walk_fn fn, void *ctx,
            sm_walk_stats *stats);

/* The apparent size (st_size) of the regular files under dir, each hard
 * link counted, stopping at deadline (may be NULL). Same return as sm_walk. */
int sm_walk_size(const char *dir, const struct timespec *deadline, unsigned long long *bytes,
                 sm_walk_stats *stats);

/* The deadline `seconds` from now on CLOCK_MONOTONIC. */
void sm_walk_deadline(struct timespec *deadline, double seconds);
/* Whether deadline (may be NULL: never) has passed. */
bool sm_walk_expired(const struct timespec *deadline);

#endif
