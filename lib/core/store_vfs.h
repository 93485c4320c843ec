/* store_vfs.h - the store's SQLite VFS (store_vfs.c): the system's own, with
 * the writes of each WAL commit gathered into one. */
#ifndef SM_CORE_STORE_VFS_H
#define SM_CORE_STORE_VFS_H

#define SM_STORE_VFS "sm"

/* Register the VFS (once a process): 0, or -1 when SQLite has no default
 * VFS to wrap (the store then opens with SQLite's own). */
int sm_store_vfs_register(void);

#endif
