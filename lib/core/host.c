/* host.c - host paths under $SM_HOST_ROOT, and small readers of host facts. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

/* strerror_r: checkers read host files on several threads at once. */
#include "sm/host.h"

/* Read the environment on every call: tests switch roots between cases. */
static const char *root_of(const char *env, char *buf, size_t size)
{
	const char *v = getenv(env);
	size_t n;

	if (!v || !*v)
		return NULL;
	snprintf(buf, size, "%s", v);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '/')
		buf[--n] = '\0';
	return buf;
}

const char *sm_host_root(void)
{
	static __thread char buf[4096];
	const char *r = root_of("SM_HOST_ROOT", buf, sizeof buf);

	return r ? r : "";
}

static bool has_prefix_dir(const char *path, const char *dir, const char **rest)
{
	size_t n = strlen(dir);

	if (strncmp(path, dir, n) != 0 || (path[n] != '/' && path[n] != '\0'))
		return false;
	*rest = path + n;
	return true;
}

int sm_host_path(char *buf, size_t size, const char *path)
{
	char special[4096];
	const char *rest, *base = NULL;
	int n;

	if (has_prefix_dir(path, "/proc", &rest))
		base = root_of("SM_PROC_ROOT", special, sizeof special);
	else if (has_prefix_dir(path, "/sys", &rest))
		base = root_of("SM_SYS_ROOT", special, sizeof special);
	if (base)
		n = snprintf(buf, size, "%s%s", base, rest);
	else
		n = snprintf(buf, size, "%s%s", sm_host_root(), path);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int sm_host_read(const char *path, size_t max, char **out, size_t *len, sm_error *err)
{
	char full[4096], ebuf[128];
	char *data = NULL;
	size_t used = 0, cap = 0;
	int fd;

	*out = NULL;
	if (sm_host_path(full, sizeof full, path) < 0) {
		sm_error_set(err, "%s: path too long", path);
		return -1;
	}
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		sm_error_set(err, "%s: %s", full, strerror_r(errno, ebuf, sizeof ebuf));
		return -1;
	}
	for (;;) {
		ssize_t n;
		if (used + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *p = realloc(data, ncap);
			if (!p) {
				sm_error_set(err, "%s: out of memory", full);
				goto fail;
			}
			data = p;
			cap = ncap;
		}
		n = read(fd, data + used, cap - used - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			sm_error_set(err, "%s: %s", full, strerror_r(errno, ebuf, sizeof ebuf));
			goto fail;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > max) {
			sm_error_set(err, "%s: larger than %zu bytes", full, max);
			goto fail;
		}
	}
	close(fd);
	data[used] = '\0';
	*out = data;
	if (len)
		*len = used;
	return 0;
fail:
	close(fd);
	free(data);
	return -1;
}

FILE *sm_host_fopen(const char *path, sm_error *err)
{
	char full[4096];
	FILE *f;

	if (sm_host_path(full, sizeof full, path) < 0) {
		sm_error_set(err, "%s: path too long", path);
		return NULL;
	}
	f = fopen(full, "re");
	if (!f) {
		char ebuf[128];
		sm_error_set(err, "%s: %s", full, strerror_r(errno, ebuf, sizeof ebuf));
	}
	return f;
}

int sm_host_cpu_count(void)
{
	char line[512];
	int count = 0;
	FILE *f = sm_host_fopen("/proc/stat", NULL);

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "cpu", 3) == 0 && line[3] >= '0' && line[3] <= '9')
			count++;
		/* Lines that do not fit are continued by the next fgets; skip them. */
		while (!strchr(line, '\n') && fgets(line, sizeof line, f))
			;
	}
	fclose(f);
	return count;
}

void sm_host_name(char *buf, size_t size)
{
	struct utsname u;
	char *data = NULL;

	if (*sm_host_root() && sm_host_read("/etc/hostname", 4096, &data, NULL, NULL) == 0) {
		data[strcspn(data, " \t\r\n")] = '\0';
		if (*data) {
			snprintf(buf, size, "%s", data);
			free(data);
			return;
		}
	}
	free(data);
	if (uname(&u) == 0)
		snprintf(buf, size, "%s", u.nodename);
	else
		snprintf(buf, size, "localhost");
}
