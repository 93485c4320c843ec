/* recommend.c - the local provider's rules (recommend.h).
 *
 * Incident words match whole (not "ram" in "program"), nested large
 * directories are not counted twice in the total, the disk scan is one
 * bounded walk (no `du`), and the old-file totals count every old file
 * found, not only the 100 listed.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "check/checkers.h"
#include "check/procfs.h"
#include "sm/host.h"
#include "sm/json.h"
#include "sm/recommend.h"
#include "sm/walk.h"

#define MIB             (1024.0 * 1024.0)
#define CMDLINE_MAX     200 /* bytes of a command line kept in details */
#define DETAILS_MAX     20  /* items listed in a disk recommendation */
#define LARGE_KEEP      50  /* large items kept in details */
#define OLD_KEEP        100 /* old files kept in details */
#define LARGE_MAX_DEPTH 3   /* directories listed down to this depth (du --max-depth=3) */
#define STATUS_MAX      (1 << 16)

static const char *const type_names[] = {
    [SM_RECOMMEND_MEMORY] = "memory",   [SM_RECOMMEND_DISK] = "disk",
    [SM_RECOMMEND_CPU] = "cpu",         [SM_RECOMMEND_PROCESS] = "process",
    [SM_RECOMMEND_NETWORK] = "network", [SM_RECOMMEND_GENERAL] = "general",
};

static const char *const priority_names[] = {
    [SM_RECOMMEND_LOW] = "low",
    [SM_RECOMMEND_MEDIUM] = "medium",
    [SM_RECOMMEND_HIGH] = "high",
    [SM_RECOMMEND_CRITICAL] = "critical",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *sm_recommend_type_name(enum sm_recommend_type type)
{
	return (unsigned)type < COUNT(type_names) ? type_names[type] : "general";
}

const char *sm_recommend_priority_name(enum sm_recommend_priority priority)
{
	return (unsigned)priority < COUNT(priority_names) ? priority_names[priority] : "medium";
}

static int find_name(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

int sm_recommend_type_parse(const char *name)
{
	return find_name(type_names, COUNT(type_names), name);
}

int sm_recommend_priority_parse(const char *name)
{
	return find_name(priority_names, COUNT(priority_names), name);
}

json_t *sm_recommend_new(enum sm_recommend_type type, enum sm_recommend_priority priority,
                         const char *title, const char *description, json_t *actions,
                         json_t *details)
{
	json_t *rec = json_object();

	if (!actions)
		actions = json_array();
	if (!details)
		details = json_object();
	if (!rec || !actions || !details) {
		json_decref(rec);
		json_decref(actions);
		json_decref(details);
		return NULL;
	}
	json_object_set_new(rec, "type", json_string(sm_recommend_type_name(type)));
	json_object_set_new(rec, "priority", json_string(sm_recommend_priority_name(priority)));
	json_object_set_new(rec, "title", sm_json_string(title));
	json_object_set_new(rec, "description", sm_json_string(description));
	json_object_set_new(rec, "actions", actions);
	json_object_set_new(rec, "details", details);
	return rec;
}

void sm_recommend_opts_init(sm_recommend_opts *opts)
{
	memset(opts, 0, sizeof *opts);
	opts->top_n = 10;
	opts->large_file_mb = 100.0;
	opts->old_file_days = 30;
	opts->cpu_sample_s = 0.1;
	opts->walk_timeout_s = 30.0;
}

/* opts with the defaults filled in where a field is unset. */
static sm_recommend_opts settings(const sm_recommend_opts *opts)
{
	sm_recommend_opts s;

	sm_recommend_opts_init(&s);
	if (!opts)
		return s;
	s.cpu_sample_s = opts->cpu_sample_s > 0 ? opts->cpu_sample_s : 0;
	if (opts->top_n > 0)
		s.top_n = opts->top_n;
	if (opts->large_file_mb > 0)
		s.large_file_mb = opts->large_file_mb;
	if (opts->old_file_days > 0)
		s.old_file_days = opts->old_file_days;
	if (opts->walk_timeout_s > 0)
		s.walk_timeout_s = opts->walk_timeout_s;
	s.scan_paths = opts->scan_paths;
	s.disk_path = opts->disk_path;
	s.progress = opts->progress;
	s.progress_ctx = opts->progress_ctx;
	return s;
}

__attribute__((format(printf, 2, 3))) static void progress(const sm_recommend_opts *s,
                                                           const char *fmt, ...)
{
	char msg[4400];
	va_list ap;

	if (!s->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	s->progress(msg, s->progress_ctx);
}

/* Append a formatted string to a JSON array. */
__attribute__((format(printf, 2, 3))) static void add_text(json_t *array, const char *fmt, ...)
{
	char buf[4400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	json_array_append_new(array, sm_json_string(buf));
}

static int append(json_t *out, json_t *rec, sm_error *err)
{
	if (!rec || json_array_append_new(out, rec) < 0) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	return 0;
}

static const char *errno_text(int errnum, char *buf, size_t size)
{
	return sm_check_strerror(errnum, buf, size);
}

/* --- processes --- */

/* Cut s to at most max bytes without splitting a UTF-8 sequence. */
static void cut_utf8(char *s, size_t max)
{
	size_t len = strlen(s);

	if (len <= max)
		return;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	s[max] = '\0';
}

/* <proc>/<pid>/cmdline as argv joined by spaces (cut to CMDLINE_MAX bytes)
 * and the basename of argv[0]; both "" when there is none. */
static void read_cmdline(long pid, char *joined, size_t jsize, char *argv0, size_t asize)
{
	char path[64], *data = NULL, *base;
	size_t len = 0;
	int errnum;

	joined[0] = argv0[0] = '\0';
	snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
	if (sm_procfs_read(path, 1 << 20, &data, &len, &errnum) < 0)
		return;
	base = strrchr(data, '/'); /* within argv[0]: data stops at its NUL */
	snprintf(argv0, asize, "%s", base ? base + 1 : data);
	while (len > 0 && data[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < len; i++)
		if (data[i] == '\0')
			data[i] = ' ';
	data[len] = '\0';
	snprintf(joined, jsize, "%s", data);
	cut_utf8(joined, CMDLINE_MAX);
	free(data);
}

/* The kernel cuts comm to 15 bytes; like psutil, take argv[0]'s basename
 * when it starts with the cut name (itself cut to the buffer, on a UTF-8
 * character boundary). */
static void full_name(char *name, size_t size, const char *argv0)
{
	size_t len = strlen(argv0);

	if (strlen(name) < 15 || strncmp(argv0, name, strlen(name)) != 0)
		return;
	if (len >= size) {
		len = size - 1;
		while (len > 0 && ((unsigned char)argv0[len] & 0xC0) == 0x80)
			len--;
	}
	memcpy(name, argv0, len);
	name[len] = '\0';
}

/* --- memory --- */

struct mem_proc {
	long pid;
	double percent;
	unsigned long long rss; /* bytes */
	char name[64];
};

static int compare_mem(const void *a, const void *b)
{
	const struct mem_proc *x = a, *y = b;

	if (x->percent != y->percent)
		return x->percent < y->percent ? 1 : -1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* The value after "key:" on a line of text, or NULL. */
static const char *status_field(const char *text, const char *key)
{
	size_t klen = strlen(key);

	for (const char *line = text; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':')
			return line + klen + 1;
	return NULL;
}

/* VmRSS in bytes and the name of one process from its status file; -1 for
 * a process to skip (gone, zombie, kernel thread, malformed). */
static int mem_status(long pid, struct mem_proc *p)
{
	char path[64], *data, *end;
	const char *v;
	unsigned long long kb;
	int errnum, rc = -1;

	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	if (sm_procfs_read(path, STATUS_MAX, &data, NULL, &errnum) < 0)
		return -1;
	v = status_field(data, "State");
	if (v && v[strspn(v, " \t")] == 'Z')
		goto done; /* a zombie has no memory left */
	v = status_field(data, "VmRSS");
	if (!v)
		goto done;
	v += strspn(v, " \t");
	if (!isdigit((unsigned char)*v))
		goto done;
	errno = 0;
	kb = strtoull(v, &end, 10);
	if (errno || strncmp(end + strspn(end, " \t"), "kB", 2) != 0)
		goto done;
	p->pid = pid;
	p->rss = kb * 1024;
	p->name[0] = '\0';
	if (sm_procfs_comm(pid, p->name, sizeof p->name) < 0 && (v = status_field(data, "Name"))) {
		v += strspn(v, " \t");
		snprintf(p->name, sizeof p->name, "%.*s", (int)strcspn(v, "\n"), v);
	}
	rc = 0;
done:
	free(data);
	return rc;
}

static enum sm_recommend_priority memory_priority(double percent)
{
	if (percent > 90)
		return SM_RECOMMEND_CRITICAL;
	if (percent > 80)
		return SM_RECOMMEND_HIGH;
	return percent > 70 ? SM_RECOMMEND_MEDIUM : SM_RECOMMEND_LOW;
}

/* MemTotal and the used percentage of <proc>/meminfo. */
static int memory_usage(unsigned long long *total, double *percent, sm_error *err)
{
	char *text;
	sm_meminfo m;
	int rc;

	if (sm_host_read("/proc/meminfo", 1 << 20, &text, NULL, err) < 0)
		return -1;
	rc = sm_meminfo_parse(text, &m, err);
	free(text);
	if (rc < 0)
		return -1;
	if (!(m.present & SM_MEMINFO_MEM_TOTAL) || m.mem_total == 0) {
		sm_error_set(err, "/proc/meminfo: no MemTotal line");
		return -1;
	}
	*total = m.mem_total;
	/* One decimal, as psutil gives it: the thresholds compare that figure. */
	*percent = sm_round(
	    (double)(m.mem_total - sm_meminfo_available(&m)) / (double)m.mem_total * 100.0, 1);
	return 0;
}

static json_t *memory_rec(const struct mem_proc *procs, size_t n, double system_percent)
{
	json_t *top = json_array(), *details = json_object(), *actions = json_array();
	char names[256] = "", desc[512];
	double sum = 0;

	for (size_t i = 0; i < n; i++) {
		char cmdline[CMDLINE_MAX + 1], argv0[256];
		const struct mem_proc *p = &procs[i];
		json_t *e = json_object();
		read_cmdline(p->pid, cmdline, sizeof cmdline, argv0, sizeof argv0);
		json_object_set_new(e, "pid", json_integer(p->pid));
		json_object_set_new(e, "name", sm_json_string(p->name));
		json_object_set_new(e, "memory_percent", json_real(sm_round(p->percent, 2)));
		json_object_set_new(e, "memory_mb", json_real(sm_round((double)p->rss / MIB, 2)));
		json_object_set_new(e, "cmdline", sm_json_string(cmdline));
		json_array_append_new(top, e);
		sum += p->percent;
		if (i < 3) {
			size_t used = strlen(names);
			snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", p->name);
		}
	}
	json_object_set_new(details, "top_processes", top);
	json_object_set_new(details, "total_memory_percent", json_real(sm_round(sum, 2)));
	add_text(actions, "Review process '%s' (PID: %ld) - using %.1f%% memory", procs[0].name,
	         procs[0].pid, sm_round(procs[0].percent, 2));
	add_text(actions, "Consider restarting memory-heavy services during maintenance window");
	add_text(actions, "Check for memory leaks in long-running processes");
	add_text(actions, "Consider increasing system memory if this is recurring");
	snprintf(desc, sizeof desc,
	         "Top %zu processes are using %.1f%% of memory. Top consumers: %s", n, sum, names);
	return sm_recommend_new(SM_RECOMMEND_MEMORY, memory_priority(system_percent),
	                        "High Memory Usage Detected", desc, actions, details);
}

int sm_recommend_memory(const sm_recommend_opts *opts, json_t *out, sm_error *err)
{
	sm_recommend_opts s = settings(opts);
	unsigned long long total;
	double system_percent;
	long *pids = NULL;
	size_t npids = 0, n = 0;
	struct mem_proc *procs = NULL;
	int errnum, rc = -1;

	progress(&s, "Analyzing memory...");
	if (memory_usage(&total, &system_percent, err) < 0)
		return -1;
	if (sm_procfs_pids(&pids, &npids, &errnum) < 0) {
		char buf[128];
		sm_error_set(err, "/proc: %s", errno_text(errnum, buf, sizeof buf));
		return -1;
	}
	progress(&s, "Analyzing memory... %zu processes", npids);
	procs = calloc(npids ? npids : 1, sizeof *procs);
	if (!procs) {
		sm_error_set(err, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < npids; i++) {
		struct mem_proc *p = &procs[n];
		char cmdline[CMDLINE_MAX + 1], argv0[256];
		if (mem_status(pids[i], p) < 0)
			continue;
		p->percent = (double)p->rss / (double)total * 100.0;
		if (!(p->percent > 0.1))
			continue;
		if (!p->name[0])
			snprintf(p->name, sizeof p->name, "unknown");
		read_cmdline(p->pid, cmdline, sizeof cmdline, argv0, sizeof argv0);
		full_name(p->name, sizeof p->name, argv0);
		n++;
	}
	if (npids > 0)
		progress(&s, "-> Analyzed %zu processes", npids);
	rc = 0;
	if (n == 0)
		goto done;
	qsort(procs, n, sizeof *procs, compare_mem);
	if (n > (size_t)s.top_n)
		n = (size_t)s.top_n;
	rc = append(out, memory_rec(procs, n, system_percent), err);
done:
	free(procs);
	free(pids);
	return rc;
}

/* --- cpu --- */

void sm_recommend_cpu_snapshot_free(sm_recommend_cpu_snapshot *snap)
{
	for (size_t i = 0; i < snap->count; i++)
		free(snap->procs[i].cmdline);
	free(snap->procs);
	free(snap->stat);
	memset(snap, 0, sizeof *snap);
}

/* utime + stime and the name of one process from <proc>/<pid>/stat; -1 for a
 * process to skip. The name is between the first '(' and the last ')'. */
static int cpu_stat(long pid, sm_recommend_cpu_proc *p)
{
	char path[64], *data, *open, *close, *field, *end;
	unsigned long long utime = 0, stime = 0;
	int errnum, rc = -1;

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if (sm_procfs_read(path, 1 << 16, &data, NULL, &errnum) < 0)
		return -1;
	open = strchr(data, '(');
	close = strrchr(data, ')');
	if (!open || !close || close < open)
		goto done;
	snprintf(p->name, sizeof p->name, "%.*s", (int)(close - open - 1), open + 1);
	/* After ')': state, then fields 4..; utime and stime are fields 14, 15. */
	field = close + 1;
	for (int i = 3; i <= 15; i++) {
		field += strspn(field, " ");
		if (!*field)
			goto done;
		if (i == 3 && *field == 'Z')
			goto done; /* zombies have no CPU to give back */
		if (i >= 14) {
			unsigned long long v;
			errno = 0;
			v = strtoull(field, &end, 10);
			if (errno || end == field || (*end && *end != ' ') || *field == '-')
				goto done;
			*(i == 14 ? &utime : &stime) = v;
		}
		field += strcspn(field, " ");
	}
	p->pid = pid;
	p->ticks = utime + stime;
	rc = 0;
done:
	free(data);
	return rc;
}

int sm_recommend_cpu_snapshot_take(sm_recommend_cpu_snapshot *snap, sm_error *err)
{
	long *pids = NULL;
	size_t npids = 0;
	int errnum;

	memset(snap, 0, sizeof *snap);
	if (sm_host_read("/proc/stat", 1 << 20, &snap->stat, NULL, err) < 0)
		return -1;
	if (sm_procfs_pids(&pids, &npids, &errnum) < 0) {
		char buf[128];
		sm_error_set(err, "/proc: %s", errno_text(errnum, buf, sizeof buf));
		return -1;
	}
	snap->procs = calloc(npids ? npids : 1, sizeof *snap->procs);
	if (!snap->procs) {
		free(pids);
		sm_error_set(err, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < npids; i++) {
		sm_recommend_cpu_proc *p = &snap->procs[snap->count];
		char cmdline[CMDLINE_MAX + 1], argv0[256];
		if (cpu_stat(pids[i], p) < 0)
			continue;
		read_cmdline(p->pid, cmdline, sizeof cmdline, argv0, sizeof argv0);
		full_name(p->name, sizeof p->name, argv0);
		if (!p->name[0])
			snprintf(p->name, sizeof p->name, "unknown");
		if (!(p->cmdline = strdup(cmdline))) {
			free(pids);
			sm_error_set(err, "out of memory");
			return -1;
		}
		snap->count++;
	}
	free(pids);
	return 0;
}

/* The ticks of the aggregate "cpu" line (guest time is inside user time) and
 * the number of cpuN lines; -1 when there is no usable "cpu" line. */
static int stat_ticks(const char *text, unsigned long long *total, int *ncpu)
{
	bool found = false;

	*total = 0;
	*ncpu = 0;
	for (const char *line = text; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, "cpu", 3) != 0)
			continue;
		if (isdigit((unsigned char)line[3])) {
			(*ncpu)++;
			continue;
		}
		if (line[3] != ' ' || found)
			continue;
		const char *p = line + 3;
		for (int i = 0; i < 8; i++) {
			char *end;
			unsigned long long v;
			p += strspn(p, " ");
			if (!isdigit((unsigned char)*p)) {
				if (i < 4)
					return -1;
				break; /* old kernels stop after idle */
			}
			errno = 0;
			v = strtoull(p, &end, 10);
			if (errno)
				return -1;
			*total += v;
			p = end;
		}
		found = true;
	}
	return found ? 0 : -1;
}

static const sm_recommend_cpu_proc *find_proc(const sm_recommend_cpu_snapshot *snap, long pid)
{
	size_t lo = 0, hi = snap->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (snap->procs[mid].pid == pid)
			return &snap->procs[mid];
		if (snap->procs[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct cpu_hit {
	const sm_recommend_cpu_proc *proc;
	double percent;
};

static int compare_cpu(const void *a, const void *b)
{
	const struct cpu_hit *x = a, *y = b;

	if (x->percent != y->percent)
		return x->percent < y->percent ? 1 : -1;
	return (x->proc->pid > y->proc->pid) - (x->proc->pid < y->proc->pid);
}

/* Cores from <proc>/cpuinfo (distinct physical id and core id pairs), as
 * JSON; null when it does not say. */
static json_t *physical_cores(void)
{
	char *text, pairs[1024][24];
	size_t n = 0;
	long phys = 0;
	bool any = false;

	if (sm_host_read("/proc/cpuinfo", 4 << 20, &text, NULL, NULL) < 0)
		return json_null();
	for (char *line = text; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		char key[24];
		size_t i;
		const char *colon = strchr(line, ':');
		if (!colon)
			continue;
		if (strncmp(line, "physical id", 11) == 0) {
			phys = strtol(colon + 1, NULL, 10);
			continue;
		}
		if (strncmp(line, "core id", 7) != 0)
			continue;
		any = true;
		snprintf(key, sizeof key, "%ld:%ld", phys, strtol(colon + 1, NULL, 10));
		for (i = 0; i < n && strcmp(pairs[i], key) != 0; i++)
			;
		if (i == n && n < COUNT(pairs))
			snprintf(pairs[n++], sizeof pairs[0], "%s", key);
	}
	free(text);
	return any ? json_integer((json_int_t)n) : json_null();
}

/* [1m, 5m, 15m] from <proc>/loadavg, or null. */
static json_t *load_average(void)
{
	char *text;
	double l[3];
	json_t *a;

	if (sm_host_read("/proc/loadavg", 4096, &text, NULL, NULL) < 0)
		return json_null();
	if (sscanf(text, "%lf %lf %lf", &l[0], &l[1], &l[2]) != 3) {
		free(text);
		return json_null();
	}
	free(text);
	a = json_array();
	for (int i = 0; i < 3; i++)
		json_array_append_new(a, json_real(l[i]));
	return a;
}

static json_t *cpu_rec(const struct cpu_hit *hits, size_t n, double busy, int ncpu)
{
	json_t *top = json_array(), *details = json_object(), *actions = json_array();
	char desc[256];
	double sum = 0;
	enum sm_recommend_priority priority = SM_RECOMMEND_MEDIUM; /* never low */

	for (size_t i = 0; i < n; i++) {
		json_t *e = json_object();
		json_object_set_new(e, "pid", json_integer(hits[i].proc->pid));
		json_object_set_new(e, "name", sm_json_string(hits[i].proc->name));
		json_object_set_new(e, "cpu_percent", json_real(sm_round(hits[i].percent, 2)));
		json_object_set_new(e, "cmdline", sm_json_string(hits[i].proc->cmdline));
		json_array_append_new(top, e);
		sum += hits[i].percent;
	}
	json_object_set_new(details, "top_processes", top);
	json_object_set_new(details, "cpu_count", ncpu > 0 ? json_integer(ncpu) : json_null());
	json_object_set_new(details, "cpu_physical_count", physical_cores());
	json_object_set_new(details, "load_avg", load_average());
	add_text(actions, "Investigate process '%s' (PID: %ld)", hits[0].proc->name,
	         hits[0].proc->pid);
	add_text(actions, "Check for runaway processes or infinite loops");
	add_text(actions, "Consider process priority adjustments (nice/renice)");
	add_text(actions, "Review cron jobs and scheduled tasks");
	snprintf(desc, sizeof desc, "Top %zu processes using significant CPU. Total: %.1f%%", n,
	         sum);
	if (busy > 90)
		priority = SM_RECOMMEND_CRITICAL;
	else if (busy > 80)
		priority = SM_RECOMMEND_HIGH;
	return sm_recommend_new(SM_RECOMMEND_CPU, priority, "High CPU Usage Detected", desc,
	                        actions, details);
}

int sm_recommend_cpu_from(const sm_recommend_cpu_snapshot *before,
                          const sm_recommend_cpu_snapshot *after, const sm_recommend_opts *opts,
                          json_t *out, sm_error *err)
{
	sm_recommend_opts s = settings(opts);
	unsigned long long t0, t1;
	int ncpu0, ncpu1, rc;
	double elapsed, *busy = NULL;
	size_t nbusy = 0, n = 0;
	struct cpu_hit *hits;

	if (!before->stat || !after->stat || stat_ticks(before->stat, &t0, &ncpu0) < 0 ||
	    stat_ticks(after->stat, &t1, &ncpu1) < 0) {
		sm_error_set(err, "/proc/stat: no usable cpu line");
		return -1;
	}
	if (t1 <= t0 || after->count == 0)
		return 0; /* no time passed: nothing can be measured */
	/* The "cpu" line counts every CPU's ticks: per CPU is wall-clock time. */
	elapsed = (double)(t1 - t0) / (ncpu1 > 0 ? ncpu1 : 1);
	hits = calloc(after->count, sizeof *hits);
	if (!hits) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < after->count; i++) {
		const sm_recommend_cpu_proc *p = &after->procs[i];
		const sm_recommend_cpu_proc *q = find_proc(before, p->pid);
		double percent;
		if (!q || p->ticks < q->ticks)
			continue; /* new, or a reused pid */
		percent = (double)(p->ticks - q->ticks) / elapsed * 100.0;
		if (percent > 1.0)
			hits[n++] = (struct cpu_hit){p, percent};
	}
	rc = 0;
	if (n > 0) {
		qsort(hits, n, sizeof *hits, compare_cpu);
		if (n > (size_t)s.top_n)
			n = (size_t)s.top_n;
		if (sm_cpu_busy(before->stat, after->stat, false, &busy, &nbusy, err) < 0)
			rc = -1;
		else
			rc = append(out, cpu_rec(hits, n, nbusy ? busy[0] : 0.0, ncpu1), err);
	}
	free(busy);
	free(hits);
	return rc;
}

int sm_recommend_cpu(const sm_recommend_opts *opts, json_t *out, sm_error *err)
{
	sm_recommend_opts s = settings(opts);
	sm_recommend_cpu_snapshot before, after;
	int rc = -1;

	memset(&after, 0, sizeof after);
	progress(&s, "Analyzing CPU...");
	if (sm_recommend_cpu_snapshot_take(&before, err) < 0)
		goto done;
	if (s.cpu_sample_s > 0)
		sm_check_sleep(s.cpu_sample_s);
	if (sm_recommend_cpu_snapshot_take(&after, err) < 0)
		goto done;
	rc = sm_recommend_cpu_from(&before, &after, &s, out, err);
done:
	sm_recommend_cpu_snapshot_free(&before);
	sm_recommend_cpu_snapshot_free(&after);
	return rc;
}

/* --- disk --- */

struct disk_item {
	char *path; /* host path */
	unsigned long long size;
	long long days; /* since mtime */
	bool is_directory;
};

struct disk_list {
	struct disk_item *items;
	size_t n, cap, keep;
	unsigned long long found, bytes; /* every item found, kept or not */
};

struct disk_scan {
	const sm_recommend_opts *s;
	struct disk_list large, old;
	time_t now, old_before;
	bool want_large, want_old;
	const char *host; /* the walk's start as a host path ("" for "/") */
	size_t reallen;   /* the length of its real path to replace */
	int error;        /* ENOMEM */
};

static int compare_items(const void *a, const void *b)
{
	const struct disk_item *x = a, *y = b;

	if (x->size != y->size)
		return x->size < y->size ? 1 : -1;
	return strcmp(x->path, y->path);
}

/* Sort, drop the tail past keep. */
static void list_trim(struct disk_list *l)
{
	if (l->n > 1)
		qsort(l->items, l->n, sizeof *l->items, compare_items);
	while (l->n > l->keep)
		free(l->items[--l->n].path);
}

/* Add an item; the list is trimmed to keep whenever it doubles past it, so
 * a tree of any size costs bounded memory. */
static int list_add(struct disk_list *l, const char *host, const char *rest,
                    unsigned long long size, long long days, bool dir)
{
	struct disk_item *it;

	l->found++;
	l->bytes += size;
	if (l->n >= 2 * l->keep)
		list_trim(l);
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct disk_item *p = realloc(l->items, cap * sizeof *p);
		if (!p)
			return -1;
		l->items = p;
		l->cap = cap;
	}
	it = &l->items[l->n];
	it->size = size;
	it->days = days;
	it->is_directory = dir;
	it->path = malloc(strlen(host) + strlen(rest) + 2);
	if (!it->path)
		return -1;
	sprintf(it->path, "%s%s", host, rest);
	l->n++;
	return 0;
}

static void list_free(struct disk_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i].path);
	free(l->items);
	memset(l, 0, sizeof *l);
}

static long long days_since(time_t now, time_t then)
{
	return (long long)floor(difftime(now, then) / 86400.0);
}

static int disk_visit(const sm_walk_entry *e, void *ctx)
{
	struct disk_scan *d = ctx;
	const char *rest = e->path + d->reallen;
	unsigned long long threshold = (unsigned long long)(d->s->large_file_mb * MIB);
	int rc = 0;

	if (e->kind == SM_WALK_FILE) {
		unsigned long long size =
		    e->st->st_size > 0 ? (unsigned long long)e->st->st_size : 0;
		long long days = days_since(d->now, e->st->st_mtime);
		if (d->want_large && size >= threshold)
			rc |= list_add(&d->large, d->host, rest, size, days, false);
		if (d->want_old && e->st->st_mtime < d->old_before && size >= 1024 * 1024)
			rc |= list_add(&d->old, d->host, rest, size, days, false);
	} else if (e->kind == SM_WALK_DIR_POST && d->want_large && e->depth <= LARGE_MAX_DEPTH &&
	           e->bytes >= threshold) {
		rc = list_add(&d->large, d->host, rest, e->bytes,
		              days_since(d->now, e->st->st_mtime), true);
	}
	if (rc < 0) {
		d->error = ENOMEM;
		return SM_WALK_STOP;
	}
	return SM_WALK_CONTINUE;
}

/* Walk host path host (real path real) for what d wants. Returns 0, or -1
 * with errno when it cannot be walked at all. *complete is cleared when the
 * deadline cut the walk short. */
static int disk_walk(struct disk_scan *d, const char *host, const struct timespec *deadline,
                     bool *complete)
{
	char real[4096];
	sm_walk_opts wo = {.flags = SM_WALK_POST, .deadline = deadline};
	sm_walk_stats stats;
	int rc;

	if (sm_host_path(real, sizeof real, host) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* Walk paths are real paths: strip them to the host path's rest. */
	for (size_t n = strlen(real); n > 1 && real[n - 1] == '/'; n--)
		real[n - 1] = '\0';
	d->reallen = strcmp(real, "/") == 0 ? 0 : strlen(real);
	d->host = strcmp(host, "/") == 0 ? "" : host;
	rc = sm_walk(real, &wo, disk_visit, d, &stats);
	if (stats.cut_short)
		*complete = false;
	if (d->error) {
		errno = d->error;
		return -1;
	}
	return rc;
}

static const char *const default_scan_paths[] = {
    "/var/log", "/tmp", "/var/tmp", "~/.cache", "/var/cache", NULL,
};

static bool contains(const char *haystack, const char *needle)
{
	return strstr(haystack, needle) != NULL;
}

/* The file type of an old file (log, temp, cache, ...), from its
 * lower-cased path. */
static const char *file_type(const char *path)
{
	char lower[4096], *name, *dot;
	size_t i;

	for (i = 0; path[i] && i + 1 < sizeof lower; i++)
		lower[i] = (char)tolower((unsigned char)path[i]);
	lower[i] = '\0';
	name = strrchr(lower, '/');
	name = name ? name + 1 : lower;
	dot = strrchr(name, '.');
	if (dot == name) /* ".bashrc" has no suffix */
		dot = NULL;
	if (contains(lower, "cache") || contains(lower, "tmp") || contains(lower, "temp"))
		return "cache";
	if ((dot && (strcmp(dot, ".log") == 0 || strcmp(dot, ".old") == 0 ||
	             strcmp(dot, ".bak") == 0 || strcmp(dot, ".tmp") == 0)) ||
	    contains(name, ".log"))
		return "log";
	if ((dot && (strcmp(dot, ".tmp") == 0 || strcmp(dot, ".temp") == 0)) ||
	    strncmp(name, "tmp", 3) == 0)
		return "temp";
	return "other";
}

/* Whether item i lies under another listed directory. */
static bool nested(const struct disk_list *l, size_t i)
{
	const char *p = l->items[i].path;

	for (size_t j = 0; j < l->n; j++) {
		const char *q = l->items[j].path;
		size_t len = strlen(q);
		if (j != i && l->items[j].is_directory && strncmp(p, q, len) == 0 &&
		    (p[len] == '/' || (len == 1 && q[0] == '/')))
			return true;
	}
	return false;
}

enum sm_recommend_priority sm_recommend_disk_priority(double used_percent)
{
	if (isnan(used_percent))
		return SM_RECOMMEND_MEDIUM;
	if (used_percent > 95)
		return SM_RECOMMEND_CRITICAL;
	if (used_percent > 90)
		return SM_RECOMMEND_HIGH;
	return used_percent > 80 ? SM_RECOMMEND_MEDIUM : SM_RECOMMEND_LOW;
}

/* The used percentage of the filesystem holding a host path, as df shows
 * it (used over used + available to users); NAN when unknown. */
static double used_percent(const char *host)
{
	struct statvfs st;
	char why[160];
	double used, avail;

	if (sm_check_statvfs(host, &st, why, sizeof why) < 0)
		return NAN;
	used = ((double)st.f_blocks - (double)st.f_bfree) * (double)st.f_frsize;
	avail = (double)st.f_bavail * (double)st.f_frsize;
	return used + avail > 0 ? sm_round(used / (used + avail) * 100.0, 1) : NAN;
}

static json_t *large_rec(const struct disk_list *l, const char *path, bool complete)
{
	json_t *items = json_array(), *details = json_object(), *actions = json_array();
	double total = 0;
	char desc[4400];

	for (size_t i = 0; i < l->n; i++) {
		if (i < DETAILS_MAX) {
			json_t *e = json_object();
			json_object_set_new(e, "path", sm_json_string(l->items[i].path));
			json_object_set_new(e, "size_mb",
			                    json_real(sm_round((double)l->items[i].size / MIB, 2)));
			json_object_set_new(e, "modified_days_ago", json_integer(l->items[i].days));
			json_object_set_new(e, "is_directory",
			                    json_boolean(l->items[i].is_directory));
			json_array_append_new(items, e);
		}
		if (!nested(l, i))
			total += (double)l->items[i].size / MIB;
	}
	json_object_set_new(details, "large_items", items);
	json_object_set_new(details, "total_size_mb", json_real(sm_round(total, 2)));
	json_object_set_new(details, "scan_complete", json_boolean(complete));
	add_text(actions, "Review largest item: %s (%.1f MB)", l->items[0].path,
	         (double)l->items[0].size / MIB);
	add_text(actions, "Run 'ncdu' for interactive disk usage analysis");
	add_text(actions, "Consider archiving or compressing old data");
	add_text(actions, "Set up log rotation if not already configured");
	snprintf(desc, sizeof desc, "Found %zu large items totaling %.1f MB on %s", l->n, total,
	         path);
	return sm_recommend_new(SM_RECOMMEND_DISK, sm_recommend_disk_priority(used_percent(path)),
	                        "Large Files and Directories Found", desc, actions, details);
}

static json_t *old_rec(const struct disk_list *l, int old_days, bool complete)
{
	json_t *files = json_array(), *details = json_object(), *actions = json_array();
	double total = (double)l->bytes / MIB;
	char desc[512];

	for (size_t i = 0; i < l->n && i < DETAILS_MAX; i++) {
		json_t *e = json_object();
		json_object_set_new(e, "path", sm_json_string(l->items[i].path));
		json_object_set_new(e, "size_mb",
		                    json_real(sm_round((double)l->items[i].size / MIB, 2)));
		json_object_set_new(e, "days_old", json_integer(l->items[i].days));
		json_object_set_new(e, "file_type", json_string(file_type(l->items[i].path)));
		json_array_append_new(files, e);
	}
	json_object_set_new(details, "old_files", files);
	json_object_set_new(details, "total_size_mb", json_real(sm_round(total, 2)));
	json_object_set_new(details, "total_files", json_integer((json_int_t)l->found));
	json_object_set_new(details, "scan_complete", json_boolean(complete));
	add_text(actions, "Review and remove old log files");
	add_text(actions, "Clear old cache directories");
	add_text(actions, "Configure logrotate for automatic log management");
	add_text(actions, "Run: find /var/log -mtime +%d -type f -name '*.log*' -ls", old_days);
	snprintf(desc, sizeof desc,
	         "Found %llu old files (>%d days) totaling %.1f MB that can potentially be "
	         "cleaned up",
	         l->found, old_days, total);
	return sm_recommend_new(SM_RECOMMEND_DISK, SM_RECOMMEND_MEDIUM,
	                        "Old Logs and Temporary Files Found", desc, actions, details);
}

static json_t *health_rec(const char *path, bool complete)
{
	json_t *details = json_object(), *actions = json_array();

	json_object_set_new(details, "scanned_path", sm_json_string(path));
	json_object_set_new(details, "scan_complete", json_boolean(complete));
	add_text(actions, "Continue monitoring disk usage");
	add_text(actions, "Consider setting up disk usage alerts");
	return sm_recommend_new(SM_RECOMMEND_DISK, SM_RECOMMEND_LOW, "Disk Health Check",
	                        "No immediate disk space concerns found.", actions, details);
}

/* Old files in the scan paths (the disk rule on "/"); missing ones skipped. */
static int scan_old(struct disk_scan *d, const struct timespec *deadline, bool *complete)
{
	const char *const *paths = d->s->scan_paths ? d->s->scan_paths : default_scan_paths;

	d->want_large = false;
	d->want_old = true;
	for (size_t i = 0; paths[i]; i++) {
		char host[4096];
		if (paths[i][0] == '~') {
			const char *home = getenv("HOME");
			if (!home || home[0] != '/')
				continue;
			snprintf(host, sizeof host, "%s%s", home, paths[i] + 1);
		} else {
			snprintf(host, sizeof host, "%s", paths[i]);
		}
		if (disk_walk(d, host, deadline, complete) < 0 && errno == ENOMEM)
			return -1;
	}
	return 0;
}

int sm_recommend_disk(const char *path, const sm_recommend_opts *opts, json_t *out, sm_error *err)
{
	sm_recommend_opts s = settings(opts);
	struct disk_scan d = {.s = &s};
	struct timespec deadline;
	char host[4096], ebuf[128];
	size_t len;
	bool complete = true;
	int rc = -1;

	/* Trimmed; empty is the root. */
	path = path ? path + strspn(path, " \t\r\n") : "";
	len = strlen(path);
	while (len > 0 && strchr(" \t\r\n", path[len - 1]))
		len--;
	if (len == 0)
		snprintf(host, sizeof host, "/");
	else
		snprintf(host, sizeof host, "%.*s", (int)len, path);
	while (strlen(host) > 1 && host[strlen(host) - 1] == '/')
		host[strlen(host) - 1] = '\0';
	if (host[0] != '/') {
		sm_error_set(err, "%s: not an absolute path", host);
		return -1;
	}
	d.large.keep = LARGE_KEEP;
	d.old.keep = OLD_KEEP;
	d.now = time(NULL);
	d.old_before = d.now - (time_t)s.old_file_days * 86400;
	d.want_large = true;
	d.want_old = strcmp(host, "/") != 0;
	sm_walk_deadline(&deadline, s.walk_timeout_s);
	progress(&s, "Scanning %s...", host);
	if (disk_walk(&d, host, &deadline, &complete) < 0) {
		sm_error_set(err, "%s: %s", host, errno_text(errno, ebuf, sizeof ebuf));
		goto done;
	}
	if (strcmp(host, "/") == 0 && scan_old(&d, &deadline, &complete) < 0) {
		sm_error_set(err, "out of memory");
		goto done;
	}
	list_trim(&d.large);
	list_trim(&d.old);
	for (size_t i = 0; i < d.large.n; i++) {
		const struct disk_item *it = &d.large.items[i];
		if (it->days > s.old_file_days)
			progress(&s, "Found: %s (%.1f MB, %lld days old)", it->path,
			         (double)it->size / MIB, it->days);
		else
			progress(&s, "Found: %s (%.1f MB)", it->path, (double)it->size / MIB);
	}
	progress(&s, "-> Scanned %s, found %zu large items", host, d.large.n);
	rc = 0;
	if (d.large.n > 0)
		rc = append(out, large_rec(&d.large, host, complete), err);
	if (rc == 0 && d.old.n > 0)
		rc = append(out, old_rec(&d.old, s.old_file_days, complete), err);
	if (rc == 0 && d.large.n == 0 && d.old.n == 0)
		rc = append(out, health_rec(host, complete), err);
done:
	list_free(&d.large);
	list_free(&d.old);
	return rc;
}

/* --- general scan --- */

/* Undo the octal escapes of /proc/mounts ("\040" is a space) in place. */
static void unescape_mount(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* Whether fstype is a filesystem on a device: listed in <proc>/filesystems
 * without "nodev" (psutil's physical partitions); without that file, a
 * device under /dev. */
static bool physical(const char *filesystems, const char *device, const char *fstype)
{
	if (!filesystems)
		return strncmp(device, "/dev/", 5) == 0;
	for (const char *line = filesystems; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		size_t n = strlen(fstype);
		if (strncmp(line, "nodev", 5) == 0)
			continue;
		line += strspn(line, " \t");
		if (strncmp(line, fstype, n) == 0 && (line[n] == '\n' || line[n] == '\0'))
			return true;
	}
	return false;
}

/* The first physical mountpoint more than 70 % full into mount; 0 if none. */
static int full_mount(char *mount, size_t size, sm_error *err)
{
	char *mounts, *filesystems = NULL;
	int found = 0;

	if (sm_host_read("/proc/mounts", 4 << 20, &mounts, NULL, err) < 0)
		return -1;
	if (sm_host_read("/proc/filesystems", 1 << 20, &filesystems, NULL, NULL) < 0)
		filesystems = NULL;
	for (char *line = mounts, *next; line && *line && !found; line = next) {
		char *device, *dir, *type, *save = NULL;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		device = strtok_r(line, " \t", &save);
		dir = strtok_r(NULL, " \t", &save);
		type = strtok_r(NULL, " \t", &save);
		if (!device || !dir || !type || !physical(filesystems, device, type))
			continue;
		unescape_mount(dir);
		if (used_percent(dir) > 70) { /* false for NAN: unreadable ones are skipped */
			snprintf(mount, size, "%s", dir);
			found = 1;
		}
	}
	free(mounts);
	free(filesystems);
	return found;
}

int sm_recommend_general(const sm_recommend_opts *opts, json_t *out, sm_error *note, sm_error *err)
{
	unsigned long long total;
	double percent;
	char mount[4096];
	sm_error why;
	int found;

	if (note)
		note->msg[0] = '\0';
	if (memory_usage(&total, &percent, err) < 0)
		return -1;
	if (percent > 70 && sm_recommend_memory(opts, out, err) < 0)
		return -1;
	/* A container or a host root without <proc>/mounts: the memory part
	 * still stands, and the note says what is missing. */
	found = full_mount(mount, sizeof mount, &why);
	if (found < 0) {
		if (note)
			sm_error_set(note, "general scan: disk part left out: %s", why.msg);
		return 0;
	}
	return found ? sm_recommend_disk(mount, opts, out, err) : 0;
}

/* --- incident-type detection --- */

struct words {
	char *buf;
	char **word;
	size_t n;
};

/* Split text into lower-cased words: runs of letters or of digits, cut
 * again where camelCase starts a new word ("DiskSpaceLow", "OOMKilled"). */
static int split_words(const char *text, struct words *w)
{
	size_t len = strlen(text), cap = len + 1;
	char *o;

	memset(w, 0, sizeof *w);
	/* Every word takes its letters and one NUL: at most twice the text. */
	w->buf = malloc(2 * len + 1);
	w->word = malloc(cap * sizeof *w->word);
	if (!w->buf || !w->word) {
		free(w->buf);
		free(w->word);
		return -1;
	}
	o = w->buf;
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)text[i];
		size_t j = i + 1;
		if (!isalnum(c)) {
			i++;
			continue;
		}
		if (isdigit(c)) {
			while (j < len && isdigit((unsigned char)text[j]))
				j++;
		} else {
			bool upper_run = isupper(c) && j < len && isupper((unsigned char)text[j]);
			while (j < len && isalpha((unsigned char)text[j])) {
				unsigned char x = (unsigned char)text[j];
				/* "OOMKilled": OOM, Killed; but "CPUs" stays one word. */
				if (upper_run && isupper(x) && j + 2 < len &&
				    islower((unsigned char)text[j + 1]) &&
				    islower((unsigned char)text[j + 2]))
					break;
				if (!upper_run && isupper(x))
					break; /* "diskSpace": disk, Space */
				if (upper_run && islower(x))
					upper_run = false;
				j++;
			}
		}
		w->word[w->n++] = o;
		for (; i < j; i++)
			*o++ = (char)tolower((unsigned char)text[i]);
		*o++ = '\0';
	}
	return 0;
}

/* Whether word is keyword, or keyword with a plural "s". */
static bool word_is(const char *word, const char *keyword)
{
	size_t n = strlen(keyword);

	return strncmp(word, keyword, n) == 0 && (word[n] == '\0' || strcmp(word + n, "s") == 0);
}

/* Whether keyword (one or more space-separated words) occurs as whole words. */
static bool has_phrase(const struct words *w, const char *keyword)
{
	char parts[4][32];
	size_t nparts = 0;

	for (const char *p = keyword; *p && nparts < COUNT(parts);) {
		size_t n = strcspn(p, " ");
		snprintf(parts[nparts++], sizeof parts[0], "%.*s", (int)n, p);
		p += n + strspn(p + n, " ");
	}
	for (size_t i = 0; i + nparts <= w->n; i++) {
		size_t k = 0;
		while (k < nparts && (k + 1 < nparts ? strcmp(w->word[i + k], parts[k]) == 0
		                                     : word_is(w->word[i + k], parts[k])))
			k++;
		if (k == nparts)
			return true;
	}
	return false;
}

static const struct {
	enum sm_recommend_incident type;
	const char *const keywords[7];
} incident_words[] = {
    /* In this order: memory wins over disk, disk over cpu. */
    {SM_RECOMMEND_INCIDENT_MEMORY, {"memory", "ram", "oom", "out of memory", "mem", "swap"}},
    {SM_RECOMMEND_INCIDENT_DISK, {"disk", "storage", "space", "filesystem", "inode", "quota"}},
    {SM_RECOMMEND_INCIDENT_CPU, {"cpu", "load", "processor", "compute"}},
};

enum sm_recommend_incident sm_recommend_detect_text(const char *text)
{
	struct words w;
	enum sm_recommend_incident type = SM_RECOMMEND_INCIDENT_UNKNOWN;

	if (!text || split_words(text, &w) < 0)
		return SM_RECOMMEND_INCIDENT_UNKNOWN;
	for (size_t i = 0; i < COUNT(incident_words) && !type; i++)
		for (size_t k = 0; incident_words[i].keywords[k] && !type; k++)
			if (has_phrase(&w, incident_words[i].keywords[k]))
				type = incident_words[i].type;
	free(w.buf);
	free(w.word);
	return type;
}

struct text {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void text_add(struct text *t, json_t *value)
{
	const char *s = json_string_value(value);
	size_t n;

	if (!s || t->failed)
		return;
	n = strlen(s);
	if (t->len + n + 2 > t->cap) {
		size_t cap = (t->len + n + 2) * 2;
		char *p = realloc(t->buf, cap);
		if (!p) {
			t->failed = true;
			return;
		}
		t->buf = p;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len++] = ' ';
	t->buf[t->len] = '\0';
}

enum sm_recommend_incident sm_recommend_detect(json_t *env)
{
	struct text t = {0};
	json_t *v;
	size_t i;
	enum sm_recommend_incident type;

	text_add(&t, json_object_get(json_object_get(env, "incident"), "title"));
	json_array_foreach(json_object_get(env, "alerts"), i, v)
	{
		const char *key;
		json_t *label;
		text_add(&t, json_object_get(v, "name"));
		text_add(&t, json_object_get(v, "description"));
		json_object_foreach(json_object_get(v, "labels"), key, label)
		{
			text_add(&t, label);
		}
	}
	json_array_foreach(json_object_get(env, "checks"), i, v)
	{
		const char *status = json_string_value(json_object_get(v, "status"));
		if (status && strcmp(status, "ok") == 0)
			continue;
		text_add(&t, json_object_get(v, "checker"));
		text_add(&t, json_object_get(v, "message"));
	}
	type = sm_recommend_detect_text(t.buf ? t.buf : "");
	free(t.buf);
	return type;
}

/* The disk path an envelope names: an alert's mountpoint or path label, the
 * path of a failing check whose checker names one (its row's path_metric:
 * disk's and disk_inodes' worst_path), or NULL. */
static const char *envelope_disk_path(json_t *env)
{
	static const char *const labels[] = {"mountpoint", "path"};
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(env, "alerts"), i, v)
	{
		for (size_t k = 0; k < COUNT(labels); k++) {
			const char *p = json_string_value(
			    json_object_get(json_object_get(v, "labels"), labels[k]));
			if (p && p[0] == '/')
				return p;
		}
	}
	json_array_foreach(json_object_get(env, "checks"), i, v)
	{
		const sm_checker *checker =
		    sm_checker_find(json_string_value(json_object_get(v, "checker")));
		const char *status = json_string_value(json_object_get(v, "status"));
		const char *p;
		if (!checker || !checker->path_metric || !status || strcmp(status, "ok") == 0)
			continue;
		p = json_string_value(
		    json_object_get(json_object_get(v, "metrics"), checker->path_metric));
		if (p && p[0] == '/')
			return p;
	}
	return NULL;
}

int sm_recommend_for_envelope(json_t *env, const sm_recommend_opts *opts, json_t *out,
                              sm_error *note, sm_error *err)
{
	const char *path;

	if (note)
		note->msg[0] = '\0';
	if (!json_is_object(env) || !json_is_array(out)) {
		sm_error_set(err, "not an envelope");
		return -1;
	}
	switch (sm_recommend_detect(env)) {
	case SM_RECOMMEND_INCIDENT_MEMORY:
		return sm_recommend_memory(opts, out, err);
	case SM_RECOMMEND_INCIDENT_DISK:
		path = envelope_disk_path(env);
		if (!path)
			path = opts && opts->disk_path ? opts->disk_path : "/";
		return sm_recommend_disk(path, opts, out, err);
	case SM_RECOMMEND_INCIDENT_CPU:
		return sm_recommend_cpu(opts, out, err);
	case SM_RECOMMEND_INCIDENT_UNKNOWN:
		break;
	}
	return sm_recommend_general(opts, out, note, err);
}
