/* checker_process.c - named processes running, from /proc/<pid>.
 *
 * A name matches exactly, like `pgrep -x`: the process's comm equals it, or,
 * since the kernel truncates comm to 15 bytes, the basename of argv[0] equals
 * it when comm is exactly 15 bytes long. Substrings never match ("ssh" is not
 * "sshd"). The lowest matching pid is reported. Thresholds are minimum
 * percentages of the configured names found running.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkers.h"
#include "procfs.h"
#include "sm/json.h"

#define COMM_MAX 15 /* TASK_COMM_LEN - 1 */

typedef struct proc_entry {
	long pid;
	char comm[64];
	char argv0[256]; /* only read when comm may be truncated */
	int argv0_state; /* 0 unread, 1 read, -1 none */
} proc_entry;

static bool matches(proc_entry *p, const char *name)
{
	if (strcmp(p->comm, name) == 0)
		return true;
	if (strlen(p->comm) != COMM_MAX || strncmp(p->comm, name, COMM_MAX) != 0)
		return false;
	if (p->argv0_state == 0)
		p->argv0_state = sm_procfs_argv0(p->pid, p->argv0, sizeof p->argv0) == 0 ? 1 : -1;
	return p->argv0_state == 1 && strcmp(p->argv0, name) == 0;
}

static const char *state_name(char letter)
{
	static const struct {
		char letter;
		const char *name;
	} states[] = {
	    {'R', "running"},   {'S', "sleeping"},     {'D', "disk-sleep"}, {'Z', "zombie"},
	    {'T', "stopped"},   {'t', "tracing-stop"}, {'X', "dead"},       {'x', "dead"},
	    {'K', "wake-kill"}, {'W', "waking"},       {'P', "parked"},     {'I', "idle"},
	};

	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
		if (states[i].letter == letter)
			return states[i].name;
	return "unknown";
}

/* The state letter after "pid (comm) " in /proc/<pid>/stat; 0 if unreadable.
 * comm may hold spaces and parentheses, so the last ')' ends it. */
static char stat_state(long pid)
{
	char path[64], *text, *paren, state = 0;
	int errnum;

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if (sm_procfs_read(path, 1 << 16, &text, NULL, &errnum) < 0)
		return 0;
	paren = strrchr(text, ')');
	if (paren && paren[1] == ' ' && paren[2] && paren[2] != ' ')
		state = paren[2];
	free(text);
	return state;
}

/* Resident memory of pid in bytes (statm's second field); NAN if unknown. */
static double resident_bytes(long pid)
{
	char path[64], *text;
	unsigned long long size, resident;
	int errnum;
	double bytes = NAN;
	long page = sysconf(_SC_PAGESIZE);

	snprintf(path, sizeof path, "/proc/%ld/statm", pid);
	if (sm_procfs_read(path, 4096, &text, NULL, &errnum) < 0)
		return NAN;
	if (sscanf(text, "%llu %llu", &size, &resident) == 2 && page > 0)
		bytes = (double)resident * (double)page;
	free(text);
	return bytes;
}

/* MemTotal from /proc/meminfo in bytes; 0 with why when unreadable. */
static double mem_total(char *why, size_t size)
{
	char *text, *line;
	unsigned long long kib;
	int errnum;

	if (sm_procfs_read("/proc/meminfo", 1 << 20, &text, NULL, &errnum) < 0) {
		char buf[128];
		snprintf(why, size, "/proc/meminfo: %s",
		         sm_check_strerror(errnum, buf, sizeof buf));
		return 0;
	}
	line = strstr(text, "MemTotal:");
	if (!line || (line != text && line[-1] != '\n') ||
	    sscanf(line, "MemTotal: %llu kB", &kib) != 1 || kib == 0) {
		free(text);
		snprintf(why, size, "/proc/meminfo: no MemTotal line");
		return 0;
	}
	free(text);
	return (double)kib * 1024.0;
}

/* Every process's comm, in pid order; processes that vanish are skipped. */
static proc_entry *scan(size_t *count, char *why, size_t size)
{
	long *pids;
	size_t npids, n = 0;
	int errnum;
	proc_entry *entries;

	*count = 0;
	if (sm_procfs_pids(&pids, &npids, &errnum) < 0) {
		char buf[128];
		snprintf(why, size, "/proc: %s", sm_check_strerror(errnum, buf, sizeof buf));
		return NULL;
	}
	entries = calloc(npids ? npids : 1, sizeof *entries);
	if (!entries) {
		free(pids);
		snprintf(why, size, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < npids; i++) {
		if (sm_procfs_comm(pids[i], entries[n].comm, sizeof entries[n].comm) < 0)
			continue;
		entries[n++].pid = pids[i];
	}
	free(pids);
	*count = n;
	return entries;
}

/* The entry for one configured name: the first match that is still there. */
static json_t *find(proc_entry *procs, size_t nprocs, const char *name, double total_bytes)
{
	json_t *o = json_object();

	for (size_t i = 0; i < nprocs; i++) {
		char state;
		if (!matches(&procs[i], name) || (state = stat_state(procs[i].pid)) == 0)
			continue;
		sm_metric_bool(o, "running", true);
		sm_metric_int(o, "pid", procs[i].pid);
		sm_metric_str(o, "status", state_name(state));
		sm_metric_real(o, "memory_percent",
		               resident_bytes(procs[i].pid) / total_bytes * 100.0);
		return o;
	}
	sm_metric_bool(o, "running", false);
	json_object_set_new(o, "pid", json_null());
	sm_metric_str(o, "status", "not_found");
	return o;
}

static const sm_check_option names_option = {
    .name = "names",
    .kind = SM_CHECK_LIST,
    .arg = "N,...",
    .help = "process names to look for",
};

SM_CHECKER_RUN(run)
{
	size_t nnames;
	const char *const *names = sm_check_opts_list(opts, names_option.name, &nnames);
	json_t *entries = json_object();
	proc_entry *procs;
	size_t nprocs, running = 0, missing_len = 0;
	char why[256], *missing = NULL;
	double total_bytes, percent;

	(void)self;
	if (nnames == 0) {
		json_object_set_new(res->metrics, "processes", entries);
		sm_metric_int(res->metrics, "running_count", 0);
		sm_metric_int(res->metrics, "total_count", 0);
		sm_result_set(res, SM_OK, "No processes configured to monitor");
		return;
	}
	total_bytes = mem_total(why, sizeof why);
	procs = total_bytes > 0 ? scan(&nprocs, why, sizeof why) : NULL;
	if (!procs) {
		json_decref(entries);
		sm_result_fail(res, "%s", why);
		return;
	}
	for (size_t i = 0; i < nnames; i++) {
		const char *name = names[i];
		json_t *o = find(procs, nprocs, name, total_bytes);
		if (json_is_true(json_object_get(o, "running"))) {
			running++;
		} else {
			size_t n = strlen(name);
			char *grown = realloc(missing, missing_len + n + 3);
			if (grown) {
				missing = grown;
				snprintf(missing + missing_len, n + 3, "%s%s",
				         missing_len ? ", " : "", name);
				missing_len += n + (missing_len ? 2 : 0);
			}
		}
		json_object_set_new(entries, name, o);
	}
	free(procs);
	percent = (double)running / (double)nnames * 100.0;
	json_object_set_new(res->metrics, "processes", entries);
	sm_metric_int(res->metrics, "running_count", (long long)running);
	sm_metric_int(res->metrics, "total_count", (long long)nnames);
	sm_metric_real(res->metrics, "running_percent", percent);
	sm_result_perf(res, "running", (double)running, "", false, 0, (double)nnames);
	if (missing)
		sm_result_set(res, sm_result_level(res, percent),
		              "Processes: %zu/%zu running. Missing: %s", running, nnames, missing);
	else
		sm_result_set(res, sm_result_level(res, percent), "Processes: %zu/%zu running",
		              running, nnames);
	free(missing);
}

const sm_checker sm_checker_process = {
    .name = "process",
    .description = "Named processes running (minimum % running).",
    .run = run,
    .warning = 100,
    .critical = 50,
    .minimum = true,
    .options = SM_CHECK_OPTIONS(&names_option),
    .advice = "start it and see why it stopped: systemctl status NAME; journalctl -u NAME",
};
