/* procfs.h - small readers of /proc and /etc shared by the checkers that look
 * at processes (process, listening_ports). Private to libsm.
 *
 * Every path is a host path resolved under $SM_HOST_ROOT (host.h). Nothing
 * here keeps state, so the readers are safe on checker threads.
 */
#ifndef SM_LIB_PROCFS_H
#define SM_LIB_PROCFS_H

#include <stdbool.h>
#include <stddef.h>

/* Read a whole host file (at most max bytes) into *out, NUL-terminated; the
 * caller frees it. Returns 0, or -1 with *errnum set (EFBIG when larger than
 * max), so callers can name the host path and the reason themselves. */
int sm_procfs_read(const char *path, size_t max, char **out, size_t *len, int *errnum);

/* The process ids under the host's /proc, ascending. Returns 0, or -1 with
 * *errnum set when /proc cannot be listed. The caller frees *pids. */
int sm_procfs_pids(long **pids, size_t *count, int *errnum);
/* The same from procfd, the host's /proc open as a directory (read from
 * where its offset is). */
int sm_procfs_pids_at(int procfd, long **pids, size_t *count, int *errnum);

/* /proc/<pid>/comm without its newline; -1 when unreadable or empty. */
int sm_procfs_comm(long pid, char *buf, size_t size);

/* The basename of argv[0] from /proc/<pid>/cmdline; -1 when there is none
 * (kernel threads, zombies, vanished processes). */
int sm_procfs_argv0(long pid, char *buf, size_t size);

/* The real uid from the Uid: line of /proc/<pid>/status; -1 if unknown. */
int sm_procfs_uid(long pid, long *uid);

/* The user name of uid from the host's /etc/passwd (parsed here, never
 * through NSS, so it is the watched host's database); -1 when absent. */
int sm_procfs_user_name(long uid, char *buf, size_t size);
/* The home directory of uid, from the same file; -1 when absent. */
int sm_procfs_user_home(long uid, char *buf, size_t size);

#endif
