/* pipeline_metrics.c - sm-pipeline's signals, one backend row per way out. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sm/config.h"
#include "sm/log.h"
#include "sm/pipeline_metrics.h"

enum kind { COUNTER, TIMER };

typedef struct backend {
	const char *name;
	void (*emit)(const char *signal, const char *stage, enum kind kind, double value);
	int (*flush)(sm_store *store, sm_error *err);
} backend;

static const backend *current;
static char source[64] = "cli", run_id[40];
static int statsd_fd = -1;
static struct sockaddr_storage statsd_addr;
static socklen_t statsd_addr_len;

static void log_emit(const char *signal, const char *stage, enum kind kind, double value)
{
	char v[32];

	snprintf(v, sizeof v, "%g", kind == COUNTER ? 1 : value);
	sm_log_kv(SM_LOG_INFO, "metric", "run_id", run_id, "signal", signal, "stage", stage,
	          "source", source, "value", v, SM_LOG_END);
}

static void statsd_emit(const char *signal, const char *stage, enum kind kind, double value)
{
	const char *prefix = sm_config_get("STATSD_PREFIX", "sm");
	char line[512];
	int n;

	if (statsd_fd < 0)
		return;
	if (kind == COUNTER)
		n = snprintf(line, sizeof line, "%s.%s.%s.%s:1|c", prefix, signal, stage, source);
	else
		n = snprintf(line, sizeof line, "%s.%s.%s.%s:%.3f|ms", prefix, signal, stage,
		             source, value);
	/* Metrics never fail a run: a lost datagram is lost. */
	if (n > 0 && (size_t)n < sizeof line &&
	    sendto(statsd_fd, line, (size_t)n, 0, (struct sockaddr *)&statsd_addr,
	           statsd_addr_len) < 0)
		sm_log(SM_LOG_DEBUG, "statsd: datagram not sent");
}

static void none_emit(const char *signal, const char *stage, enum kind kind, double value)
{
	(void)signal, (void)stage, (void)kind, (void)value;
}

/* --- the prometheus textfile ------------------------------------------------- */

static const double buckets[] = {0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

static int write_counts(FILE *f, sm_store *store, const char *metric, const char *sql,
                        const char *label2, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(store, sql, err);

	if (!st)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (label2)
			fprintf(f, "%s{%s=\"%s\",status=\"%s\"} %lld\n", metric, label2,
			        sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
			        (long long)sqlite3_column_int64(st, 2));
		else
			fprintf(f, "%s{status=\"%s\"} %lld\n", metric, sqlite3_column_text(st, 0),
			        (long long)sqlite3_column_int64(st, 1));
	}
	sqlite3_finalize(st);
	return 0;
}

/* A histogram of durations (ms in the store, seconds in the file). */
static int write_histogram(FILE *f, sm_store *store, const char *metric, const char *sql,
                           bool by_stage, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(store, sql, err);
	char group[64] = "";
	unsigned long long counts[NBUCKETS] = {0}, total = 0;
	double sum = 0;
	bool any = false;
	int rc;

	if (!st)
		return -1;
	do {
		const char *g;
		rc = sqlite3_step(st);
		g = rc == SQLITE_ROW && by_stage ? (const char *)sqlite3_column_text(st, 0) : "";
		if (any && (rc != SQLITE_ROW || strcmp(g, group) != 0)) {
			char label[100] = "";
			if (by_stage)
				snprintf(label, sizeof label, "stage=\"%s\",", group);
			for (size_t i = 0; i < NBUCKETS; i++)
				fprintf(f, "%s_bucket{%sle=\"%g\"} %llu\n", metric, label,
				        buckets[i], counts[i]);
			fprintf(f, "%s_bucket{%sle=\"+Inf\"} %llu\n", metric, label, total);
			if (by_stage)
				label[strlen(label) - 1] = '\0';
			fprintf(f, "%s_sum%s%s%s %.6f\n", metric, by_stage ? "{" : "", label,
			        by_stage ? "}" : "", sum);
			fprintf(f, "%s_count%s%s%s %llu\n", metric, by_stage ? "{" : "", label,
			        by_stage ? "}" : "", total);
			memset(counts, 0, sizeof counts);
			total = 0;
			sum = 0;
		}
		if (rc == SQLITE_ROW) {
			double s = sqlite3_column_double(st, 1) / 1000.0;
			snprintf(group, sizeof group, "%s", g);
			any = true;
			for (size_t i = 0; i < NBUCKETS; i++)
				counts[i] += s <= buckets[i];
			total++;
			sum += s;
		}
	} while (rc == SQLITE_ROW);
	sqlite3_finalize(st);
	return 0;
}

static int prometheus_flush(sm_store *store, sm_error *err)
{
	const char *path = sm_config_get("SM_METRICS_TEXTFILE", NULL);
	char tmp[4200];
	FILE *f;
	int rc = 0;

	if (!path || !store)
		return 0;
	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
	f = fopen(tmp, "w");
	if (!f) {
		sm_error_set(err, "%s: cannot write", tmp);
		return -1;
	}
	fputs("# HELP sm_pipeline_runs_total Pipeline runs by their status now.\n"
	      "# TYPE sm_pipeline_runs_total counter\n",
	      f);
	rc |= write_counts(
	    f, store, "sm_pipeline_runs_total",
	    "SELECT status, count(*) FROM pipeline_runs GROUP BY status ORDER BY status", NULL,
	    err);
	fputs("# HELP sm_pipeline_stage_attempts_total Stage attempts by node type and status.\n"
	      "# TYPE sm_pipeline_stage_attempts_total counter\n",
	      f);
	rc |= write_counts(f, store, "sm_pipeline_stage_attempts_total",
	                   "SELECT stage, status, count(*) FROM stage_executions"
	                   " GROUP BY stage, status ORDER BY stage, status",
	                   "stage", err);
	fputs("# HELP sm_pipeline_run_duration_seconds Duration of finished runs.\n"
	      "# TYPE sm_pipeline_run_duration_seconds histogram\n",
	      f);
	rc |= write_histogram(
	    f, store, "sm_pipeline_run_duration_seconds",
	    "SELECT '', duration_ms FROM pipeline_runs WHERE finished_at IS NOT NULL", false, err);
	fputs("# HELP sm_pipeline_stage_duration_seconds Duration of stage attempts.\n"
	      "# TYPE sm_pipeline_stage_duration_seconds histogram\n",
	      f);
	rc |= write_histogram(f, store, "sm_pipeline_stage_duration_seconds",
	                      "SELECT stage, duration_ms FROM stage_executions"
	                      " WHERE status = 'succeeded' OR status = 'failed' ORDER BY stage",
	                      true, err);
	if (fclose(f) != 0 || rc != 0) {
		unlink(tmp);
		if (!*err->msg)
			sm_error_set(err, "%s: cannot write", tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		sm_error_set(err, "%s: cannot replace", path);
		return -1;
	}
	return 0;
}

static const backend backends[] = {
    {"logging", log_emit, NULL},
    {"statsd", statsd_emit, NULL},
    {"prometheus", none_emit, prometheus_flush},
    {"none", none_emit, NULL},
};

static int statsd_open(sm_error *err)
{
	const char *host = sm_config_get("STATSD_HOST", "localhost");
	const char *port = sm_config_get("STATSD_PORT", "8125");
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
	int rc = getaddrinfo(host, port, &hints, &res);

	if (rc != 0) {
		sm_error_set(err, "STATSD_HOST %s, STATSD_PORT %s: %s", host, port,
		             gai_strerror(rc));
		return -1;
	}
	statsd_fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memcpy(&statsd_addr, res->ai_addr, res->ai_addrlen);
	statsd_addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	if (statsd_fd < 0) {
		sm_error_set(err, "statsd: no socket");
		return -1;
	}
	return 0;
}

int sm_pipeline_metrics_init(sm_error *err)
{
	const char *name = sm_config_get("ORCHESTRATION_METRICS_BACKEND", "logging");

	current = NULL;
	for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
		if (strcmp(backends[i].name, name) == 0)
			current = &backends[i];
	if (!current) {
		sm_error_set(
		    err,
		    "ORCHESTRATION_METRICS_BACKEND: unknown backend '%s' (available: logging, "
		    "statsd, prometheus, none)",
		    name);
		return -1;
	}
	if (current->emit == statsd_emit && statsd_fd < 0 && statsd_open(err) < 0) {
		current = NULL;
		return -1;
	}
	if (current->flush && !sm_config_get("SM_METRICS_TEXTFILE", NULL)) {
		current = NULL;
		sm_error_set(err,
		             "ORCHESTRATION_METRICS_BACKEND prometheus needs SM_METRICS_TEXTFILE");
		return -1;
	}
	return 0;
}

void sm_pipeline_metrics_context(const char *src, const char *run)
{
	size_t n = 0;

	snprintf(run_id, sizeof run_id, "%s", run ? run : "");

	/* A metric name part: keep it to safe characters. */
	for (const char *p = src ? src : "cli"; *p && n + 1 < sizeof source; p++)
		source[n++] = strchr(".:|@# \t\n", *p) ? '_' : *p;
	source[n] = '\0';
}

void sm_pipeline_metrics_run(const char *event, double duration_ms)
{
	char signal[64];

	if (!current)
		return;
	if (strcmp(event, "started") == 0) {
		current->emit("pipeline.started", "pipeline", COUNTER, 0);
		return;
	}
	snprintf(signal, sizeof signal, "pipeline.%s", event);
	current->emit("pipeline.completed", "pipeline", COUNTER, 0);
	current->emit(signal, "pipeline", COUNTER, 0);
	current->emit("pipeline.duration", "pipeline", TIMER, duration_ms);
}

void sm_pipeline_metrics_stage(const char *stage, const char *event, double duration_ms)
{
	char signal[64];

	if (!current)
		return;
	snprintf(signal, sizeof signal, "pipeline.stage.%s", event);
	current->emit(signal, stage, COUNTER, 0);
	if (strcmp(event, "succeeded") == 0 || strcmp(event, "failed") == 0)
		current->emit("pipeline.stage.duration", stage, TIMER, duration_ms);
}

int sm_pipeline_metrics_flush(sm_store *store, sm_error *err)
{
	return current && current->flush ? current->flush(store, err) : 0;
}
