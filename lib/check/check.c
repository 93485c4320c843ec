/* check.c - the checker registry, the result model and helpers shared by
 * the checker implementations (checker_*.c). */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkers.h"
#include "sm/json.h"
#include "sm/rfc3339.h"

#define NONE NAN

/* Run order of "all checkers"; descriptions are what --list prints. */
static const sm_checker registry[] = {
    {"cpu", "CPU usage averaged over samples (or the busiest core).", sm_checker_cpu, 70, 90, false,
     true},
    {"cpu_temp", "Hottest CPU package/core temperature (°C) from hwmon.", sm_checker_cpu_temp, 80,
     90, false, false},
    {"memory", "Memory (RAM) usage percentage.", sm_checker_memory, 70, 90, false, false},
    {"swap", "Swap usage percentage; a host without swap is fine.", sm_checker_swap, 50, 80, false,
     false},
    {"load", "1-minute load average per logical CPU.", sm_checker_load, 1.5, 3.0, false, false},
    {"disk", "Disk space usage of mount points.", sm_checker_disk, 80, 95, false, false},
    {"disk_inodes", "Inode usage per filesystem; the worst path drives the status.",
     sm_checker_disk_inodes, 80, 95, false, false},
    {"disk_common", "Disk cleanup analysis: logs, caches, old temp files (MB recoverable).",
     sm_checker_disk_common, 5000, 20000, false, true},
    {"disk_linux", "Disk cleanup analysis of Linux package caches and journals.",
     sm_checker_disk_linux, 5000, 20000, false, true},
    {"disk_temp", "Hottest disk temperature (°C) from hwmon.", sm_checker_disk_temp, 55, 60, false,
     false},
    {"io_strain", "Busiest block device's IO utilization (% busy time).", sm_checker_io_strain, 80,
     95, false, true},
    {"listening_ports", "Audit listening TCP ports against an allowlist.",
     sm_checker_listening_ports, NONE, NONE, false, false},
    {"network", "Reachability of hosts by ping (minimum % reachable).", sm_checker_network, 70, 50,
     true, true},
    {"process", "Named processes running (minimum % running).", sm_checker_process, 100, 50, true,
     false},
    {"raid", "Software RAID health from /proc/mdstat.", sm_checker_raid, NONE, NONE, false, false},
    {"reboot_debian", "WARNING when a Debian-family host has a pending reboot.",
     sm_checker_reboot_debian, NONE, NONE, false, false},
    {"agents", "Agents that stopped pushing to this hub (hub only).", sm_checker_agents, 900, 1800,
     false, false},
};

const sm_checker *sm_checkers(size_t *count)
{
	*count = sizeof registry / sizeof registry[0];
	return registry;
}

const sm_checker *sm_checker_find(const char *name)
{
	for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
		if (strcmp(registry[i].name, name) == 0)
			return &registry[i];
	return NULL;
}

void sm_checker_names(char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof registry / sizeof registry[0] && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
		                         registry[i].name);
}

static const char *const status_names[] = {"ok", "warning", "critical", "unknown"};

const char *sm_status_name(enum sm_status status)
{
	return (unsigned)status <= SM_UNKNOWN ? status_names[status] : "unknown";
}

int sm_status_parse(const char *name)
{
	for (int i = 0; i <= SM_UNKNOWN; i++)
		if (strcmp(name, status_names[i]) == 0)
			return i;
	return -1;
}

double sm_check_interval(const sm_check_opts *opts)
{
	return opts && opts->interval > 0 ? opts->interval : 1.0;
}

int sm_check_samples(const sm_check_opts *opts)
{
	return opts && opts->samples > 0 ? opts->samples : 1;
}

const char *sm_check_strerror(int errnum, char *buf, size_t size)
{
	/* GNU strerror_r may return a static string instead of filling buf. */
	return strerror_r(errnum, buf, size);
}

void sm_check_run(const sm_checker *checker, const sm_check_opts *opts, sm_check_result *res)
{
	static const sm_check_opts none;
	struct timespec start, end;

	if (!opts)
		opts = &none;
	memset(res, 0, sizeof *res);
	res->checker = checker->name;
	res->status = SM_UNKNOWN;
	res->metrics = json_object();
	res->minimum = checker->minimum;
	if (!isnan(checker->warning)) {
		res->warning = opts->warning.set ? opts->warning : sm_range_value(checker->warning);
		res->critical =
		    opts->critical.set ? opts->critical : sm_range_value(checker->critical);
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	checker->run(checker, opts, res);
	clock_gettime(CLOCK_MONOTONIC, &end);
	res->duration_ms = sm_elapsed_ms(&start, &end);
	if (!res->message)
		sm_result_fail(res, "checker returned no result");
}

struct job {
	const sm_checker *checker;
	const sm_check_opts *opts;
	sm_check_result *res;
	pthread_t thread;
	bool threaded;
};

static void *job_main(void *arg)
{
	struct job *job = arg;

	sm_check_run(job->checker, job->opts, job->res);
	return NULL;
}

/* Samplers and walkers run concurrently, so a full run costs about one
 * sample interval instead of the sum of them. */
void sm_check_run_many(const sm_checker *const *selected, size_t n, const sm_check_opts *opts,
                       sm_check_result *results)
{
	struct job *jobs = calloc(n, sizeof *jobs);

	for (size_t i = 0; i < n; i++) {
		if (!jobs) {
			sm_check_run(selected[i], opts, &results[i]);
			continue;
		}
		jobs[i] = (struct job){selected[i], opts, &results[i], 0, false};
		if (selected[i]->slow && n > 1)
			jobs[i].threaded =
			    pthread_create(&jobs[i].thread, NULL, job_main, &jobs[i]) == 0;
	}
	for (size_t i = 0; jobs && i < n; i++)
		if (!jobs[i].threaded)
			sm_check_run(selected[i], opts, &results[i]);
	for (size_t i = 0; jobs && i < n; i++)
		if (jobs[i].threaded)
			pthread_join(jobs[i].thread, NULL);
	free(jobs);
}

void sm_check_result_clear(sm_check_result *res)
{
	free(res->message);
	free(res->error);
	free(res->perfdata);
	json_decref(res->metrics);
	memset(res, 0, sizeof *res);
}

json_t *sm_check_result_json(const sm_check_result *res)
{
	json_t *o = json_object();

	json_object_set_new(o, "checker", json_string(res->checker));
	json_object_set_new(o, "status", json_string(sm_status_name(res->status)));
	json_object_set_new(o, "message", sm_json_string(res->message ? res->message : ""));
	json_object_set(o, "metrics", res->metrics ? res->metrics : json_object());
	json_object_set_new(o, "error", sm_json_string(res->error));
	if (res->warning.set) {
		json_t *th = json_object();
		json_object_set_new(th, "warning", json_string(res->warning.text));
		json_object_set_new(th, "critical", json_string(res->critical.text));
		json_object_set_new(o, "thresholds", th);
	}
	json_object_set_new(o, "duration_ms", json_real(sm_round(res->duration_ms, 3)));
	return o;
}

int sm_check_record(sm_store *store, const sm_check_result *res, const char *hostname,
                    const char *trace_id, long long alert_id, sm_error *err)
{
	static const char sql[] =
	    "INSERT INTO check_runs (checker, hostname, status, message, metrics, error,"
	    " warning_threshold, critical_threshold, duration_ms, executed_at, trace_id, alert_id)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	char now[SM_RFC3339_LEN];
	char *metrics = res->metrics ? sm_json_dump(res->metrics, NULL) : strdup("{}");
	sqlite3_stmt *st = sm_store_prepare(store, sql, err);
	int rc = -1;

	if (!st || !metrics)
		goto done;
	sm_rfc3339_now(now, true);
	sqlite3_bind_text(st, 1, res->checker, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hostname, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sm_status_name(res->status), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, res->message ? res->message : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, metrics, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, res->error ? res->error : "", -1, SQLITE_STATIC);
	if (res->warning.set) {
		sqlite3_bind_text(st, 7, res->warning.text, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, res->critical.text, -1, SQLITE_STATIC);
	}
	sqlite3_bind_double(st, 9, res->duration_ms);
	sqlite3_bind_text(st, 10, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, trace_id ? trace_id : "", -1, SQLITE_STATIC);
	if (alert_id > 0)
		sqlite3_bind_int64(st, 12, alert_id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sm_error_set(err, "%s: %s", sm_store_path(store),
		             sqlite3_errmsg(sm_store_db(store)));
		goto done;
	}
	rc = 0;
done:
	sqlite3_finalize(st);
	free(metrics);
	return rc;
}

__attribute__((format(printf, 1, 0))) static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

void sm_result_set(sm_check_result *res, enum sm_status status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(res->message);
	res->message = vformat(fmt, ap);
	va_end(ap);
	res->status = status;
}

void sm_result_skip(sm_check_result *res, const char *fmt, ...)
{
	char *why;
	va_list ap;

	va_start(ap, fmt);
	why = vformat(fmt, ap);
	va_end(ap);
	sm_result_set(res, SM_OK, "Skipped: %s", why ? why : "");
	free(why);
}

void sm_result_fail(sm_check_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(res->error);
	res->error = vformat(fmt, ap);
	va_end(ap);
	sm_result_set(res, SM_UNKNOWN, "Check failed: %s", res->error ? res->error : "");
}

enum sm_status sm_result_level(const sm_check_result *res, double v)
{
	if (sm_range_trips(&res->critical, v, res->minimum))
		return SM_CRITICAL;
	if (sm_range_trips(&res->warning, v, res->minimum))
		return SM_WARNING;
	return SM_OK;
}

/* A plain threshold in plugin terms: "N" alerts above N, "N:" below N. */
static void perf_range(char *buf, size_t size, const sm_range *r, bool minimum)
{
	if (!r->set)
		snprintf(buf, size, "%s", "");
	else if (r->is_range)
		snprintf(buf, size, "%s", r->text);
	else
		snprintf(buf, size, minimum ? "%g:" : "%g", r->value);
}

void sm_result_perf(sm_check_result *res, const char *label, double value, const char *uom,
                    bool with_thresholds, double min, double max)
{
	char warn[48] = "", crit[48] = "", lo[32] = "", hi[32] = "", item[512], quoted[300];
	char *joined = NULL;

	/* Labels with spaces or quotes must be single-quoted (quotes doubled). */
	if (strpbrk(label, " '=")) {
		size_t n = 0;
		quoted[n++] = '\'';
		for (const char *p = label; *p && n < sizeof quoted - 3; p++) {
			if (*p == '\'')
				quoted[n++] = '\'';
			quoted[n++] = *p;
		}
		quoted[n++] = '\'';
		quoted[n] = '\0';
	} else {
		snprintf(quoted, sizeof quoted, "%s", label);
	}
	if (with_thresholds) {
		perf_range(warn, sizeof warn, &res->warning, res->minimum);
		perf_range(crit, sizeof crit, &res->critical, res->minimum);
	}
	if (!isnan(min))
		snprintf(lo, sizeof lo, "%g", min);
	if (!isnan(max))
		snprintf(hi, sizeof hi, "%g", max);
	snprintf(item, sizeof item, "%s=%.6g%s;%s;%s;%s;%s", quoted, value, uom ? uom : "", warn,
	         crit, lo, hi);
	/* Trailing empty fields are optional; drop them. */
	for (size_t n = strlen(item); n > 0 && item[n - 1] == ';'; n--)
		item[n - 1] = '\0';
	if (asprintf(&joined, "%s%s%s", res->perfdata ? res->perfdata : "",
	             res->perfdata ? " " : "", item) < 0)
		return;
	free(res->perfdata);
	res->perfdata = joined;
}

void sm_metric_real(json_t *obj, const char *key, double v)
{
	json_object_set_new(obj, key, isfinite(v) ? json_real(v) : json_null());
}

void sm_metric_int(json_t *obj, const char *key, long long v)
{
	json_object_set_new(obj, key, json_integer(v));
}

void sm_metric_str(json_t *obj, const char *key, const char *s)
{
	json_object_set_new(obj, key, sm_json_string(s));
}

void sm_metric_bool(json_t *obj, const char *key, bool b)
{
	json_object_set_new(obj, key, json_boolean(b));
}
