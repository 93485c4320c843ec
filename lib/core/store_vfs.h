/* store_vfs.h - the store's SQLite VFS (store_vfs.c): the system's own, with
 * the writes of each WAL commit gathered into one, and reads copied out of
 * a mapping of the file in the processes that ask for it. */
#ifndef SM_CORE_STORE_VFS_H
#define SM_CORE_STORE_VFS_H

#include <stdbool.h>

#define SM_STORE_VFS "sm"

/* Register the VFS (once a process): 0, or -1 when SQLite has no default
 * VFS to wrap (the store then opens with SQLite's own). */
int sm_store_vfs_register(void);

/* Whether the process reads through its files' mappings from now on, and
 * the files it opens meanwhile get one (sm_store_map_reads). */
void sm_store_vfs_map_reads(bool on);
/* Let go of the pages the process's mappings hold (sm_store_map_idle). */
void sm_store_vfs_map_idle(void);
/* How many reads the process copied out of a mapping (tests, benchmarks). */
unsigned long long sm_store_vfs_mapped_reads(void);

#endif
