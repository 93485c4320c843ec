/* host.h - where host facts are read from.
 *
 * Every /proc, /sys and /etc path is resolved under $SM_HOST_ROOT (default
 * "/"), so `SM_HOST_ROOT=/host sm-check` watches the host from a container and
 * tests point it at fixture trees. $SM_PROC_ROOT and $SM_SYS_ROOT, when set,
 * replace <root>/proc and <root>/sys.
 */
#ifndef SM_HOST_H
#define SM_HOST_H

#include <stddef.h>
#include <stdio.h>
#include "sm/err.h"

/* The host root without a trailing slash ("" for "/"). */
const char *sm_host_root(void);
/* Resolve an absolute host path; returns 0, or -1 when it does not fit. */
int sm_host_path(char *buf, size_t size, const char *path);
/* Read a whole host file (at most max bytes), NUL-terminated. The caller
 * frees *out. On error, err says "<path>: <reason>" and -1 is returned. */
int sm_host_read(const char *path, size_t max, char **out, size_t *len, sm_error *err);
/* Open a host file for reading; NULL with err on failure. */
FILE *sm_host_fopen(const char *path, sm_error *err);
/* Logical CPUs, counted from the cpuN lines of <proc>/stat; 0 if unknown. */
int sm_host_cpu_count(void);
/* The host name: <root>/etc/hostname under a non-default root, else uname. */
void sm_host_name(char *buf, size_t size);

#endif
