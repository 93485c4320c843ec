/* procfs.c - readers of /proc/<pid> and /etc/passwd under the host root,
 * shared by the process and listening_ports checkers. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"
#include "sm/host.h"

int sm_procfs_read(const char *path, size_t max, char **out, size_t *len, int *errnum)
{
	FILE *f;
	char *data = NULL;
	size_t used = 0, cap = 0;

	*out = NULL;
	/* sm_host_fopen leaves fopen's errno in place when given no sm_error. */
	errno = 0;
	f = sm_host_fopen(path, NULL);
	if (!f) {
		*errnum = errno ? errno : ENOENT;
		return -1;
	}
	for (;;) {
		size_t n;
		if (used + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *p = realloc(data, ncap);
			if (!p) {
				*errnum = ENOMEM;
				goto fail;
			}
			data = p;
			cap = ncap;
		}
		n = fread(data + used, 1, cap - used - 1, f);
		used += n;
		if (used > max) {
			*errnum = EFBIG;
			goto fail;
		}
		if (n == 0) {
			if (ferror(f)) {
				/* A directory in place of the file opens, then fails here. */
				*errnum = errno ? errno : EIO;
				goto fail;
			}
			break;
		}
	}
	fclose(f);
	data[used] = '\0';
	*out = data;
	if (len)
		*len = used;
	return 0;
fail:
	fclose(f);
	free(data);
	return -1;
}

static int compare_pids(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

int sm_procfs_pids_at(int procfd, long **pids, size_t *count, int *errnum)
{
	/* getdents64 into a stack buffer: opendir would allocate (and free)
	 * 32 KiB for a listing of a few KiB. */
	char buf[4096] __attribute__((aligned(8)));
	long *list = NULL;
	size_t n = 0, cap = 0;
	ssize_t got;

	*pids = NULL;
	*count = 0;
	while ((got = getdents64(procfd, buf, sizeof buf)) > 0) {
		for (ssize_t off = 0; off < got;) {
			const struct dirent64 *e = (const struct dirent64 *)(buf + off);
			off += e->d_reclen;
			if (!all_digits(e->d_name) || strlen(e->d_name) > 9)
				continue;
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 256;
				long *p = realloc(list, ncap * sizeof *list);
				if (!p) {
					free(list);
					*errnum = ENOMEM;
					return -1;
				}
				list = p;
				cap = ncap;
			}
			list[n++] = strtol(e->d_name, NULL, 10);
		}
	}
	if (got < 0) {
		*errnum = errno;
		free(list);
		return -1;
	}
	/* /proc lists pids in order, a fixture tree in the order of its file
	 * system. */
	if (n > 1)
		qsort(list, n, sizeof *list, compare_pids);
	*pids = list;
	*count = n;
	return 0;
}

int sm_procfs_pids(long **pids, size_t *count, int *errnum)
{
	char dir[4096];
	int fd, rc;

	*pids = NULL;
	*count = 0;
	if (sm_host_path(dir, sizeof dir, "/proc") < 0) {
		*errnum = ENAMETOOLONG;
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		*errnum = errno;
		return -1;
	}
	rc = sm_procfs_pids_at(fd, pids, count, errnum);
	close(fd);
	return rc;
}

int sm_procfs_comm(long pid, char *buf, size_t size)
{
	char path[64], *data;
	size_t len;
	int errnum;

	snprintf(path, sizeof path, "/proc/%ld/comm", pid);
	if (sm_procfs_read(path, 4096, &data, &len, &errnum) < 0)
		return -1;
	while (len > 0 && data[len - 1] == '\n')
		data[--len] = '\0';
	if (len == 0 || size == 0) {
		free(data);
		return -1;
	}
	snprintf(buf, size, "%s", data);
	free(data);
	return 0;
}

int sm_procfs_argv0(long pid, char *buf, size_t size)
{
	char path[64], argv0[4096];
	const char *base;
	size_t n;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
	f = sm_host_fopen(path, NULL);
	if (!f)
		return -1;
	/* Only argv[0] is wanted; a longer one is not a name worth matching. */
	n = fread(argv0, 1, sizeof argv0 - 1, f);
	fclose(f);
	argv0[n] = '\0';
	base = strrchr(argv0, '/');
	base = base ? base + 1 : argv0;
	if (!*base || size == 0)
		return -1;
	snprintf(buf, size, "%s", base);
	return 0;
}

int sm_procfs_uid(long pid, long *uid)
{
	char path[64], *data, *line, *next, *end;
	int errnum, rc = -1;

	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	if (sm_procfs_read(path, 1 << 16, &data, NULL, &errnum) < 0)
		return -1;
	for (line = data; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			next++;
		if (strncmp(line, "Uid:", 4) != 0)
			continue;
		errno = 0;
		*uid = strtol(line + 4, &end, 10);
		if (!errno && end != line + 4 && *uid >= 0)
			rc = 0;
		break;
	}
	free(data);
	return rc;
}

/* Field field (0: name, 5: home) of uid's line in the host's /etc/passwd. */
static int passwd_field(long uid, int field, char *buf, size_t size)
{
	char *data, *line, *next;
	int errnum, rc = -1;

	if (sm_procfs_read("/etc/passwd", 4 << 20, &data, NULL, &errnum) < 0)
		return -1;
	/* name:password:uid:gid:gecos:home:shell */
	for (line = data; line && *line; line = next) {
		char *f[7], *end;
		int n = 1;
		long id;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		f[0] = line;
		for (char *p = line; *p && n < 7; p++)
			if (*p == ':') {
				*p = '\0';
				f[n++] = p + 1;
			}
		if (n <= field || n < 3 || f[0][0] == '\0')
			continue;
		errno = 0;
		id = strtol(f[2], &end, 10);
		if (errno || end == f[2] || *end != '\0' || id != uid)
			continue;
		snprintf(buf, size, "%s", f[field]);
		rc = 0;
		break;
	}
	free(data);
	return rc;
}

int sm_procfs_user_name(long uid, char *buf, size_t size)
{
	return passwd_field(uid, 0, buf, size);
}

int sm_procfs_user_home(long uid, char *buf, size_t size)
{
	return passwd_field(uid, 5, buf, size);
}
