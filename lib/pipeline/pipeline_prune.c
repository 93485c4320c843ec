/* pipeline_prune.c - sm-pipeline prune: retention of check results, runs,
 * incident history, deliveries and the done queue. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm/config.h"
#include "sm/pipeline_prune.h"
#include "sm/pipeline_status.h"
#include "sm/rfc3339.h"

static const char *const kind_names[SM_RETAIN_KINDS] = {
    [SM_RETAIN_CHECK_RUNS] = "check_runs",
    [SM_RETAIN_CHECK_DETAIL] = "check_detail",
    [SM_RETAIN_RUNS] = "runs",
    [SM_RETAIN_HISTORY] = "history",
    [SM_RETAIN_DELIVERIES] = "deliveries",
    [SM_RETAIN_QUEUE] = "queue",
};

/* A finished run: its status is final and no queue item still waiting or
 * failed names it (retrying that item would look the run up). */
#define FINISHED_RUN                                                                               \
	"(status = 'notified' OR status = 'checked' OR status = 'failed')"                         \
	" AND finished_at IS NOT NULL AND created_at < ?1"                                         \
	" AND run_id NOT IN (SELECT run_id FROM inbox WHERE (state = 'pending'"                    \
	" OR state = 'claimed' OR state = 'failed') AND run_id IS NOT NULL)"

/* What is removed, in this order (a run's stage_executions before the
 * run). ?1 is the kind's cutoff; the check_runs rows run once per
 * (checker, hostname) with ?2, ?3 and ?4 the pair and the id of its newest
 * row, which stays, so each delete walks one range of the index; ?5 is
 * the cutoff of check_runs, so thinning does not count again (in a dry
 * run) what expires anyway. Thinning keeps the first result of each hour
 * (the first 13 characters of its time), every result that is not OK and
 * every one that made or resolved an alert: the problems stay in full
 * until check_runs expires them, and an hour of OK results is one. */
static const struct prune_step {
	const char *table;
	enum sm_pipeline_retention_kind kind;
	const char *where;
	bool per_check;
} steps[] = {
    {"check_runs", SM_RETAIN_CHECK_RUNS,
     "checker = ?2 AND hostname = ?3 AND executed_at < ?1 AND id <> ?4", true},
    {"check_runs", SM_RETAIN_CHECK_DETAIL,
     "checker = ?2 AND hostname = ?3 AND executed_at < ?1 AND executed_at >= ?5 AND id <> ?4"
     " AND status = 'ok' AND alert_id IS NULL AND id NOT IN (SELECT min(id) FROM check_runs"
     " WHERE checker = ?2 AND hostname = ?3 AND executed_at < ?1 AND executed_at >= ?5"
     " GROUP BY substr(executed_at, 1, 13))",
     true},
    {"stage_executions", SM_RETAIN_RUNS,
     "run IN (SELECT id FROM pipeline_runs WHERE " FINISHED_RUN ")", false},
    {"pipeline_runs", SM_RETAIN_RUNS, FINISHED_RUN, false},
    {"alert_history", SM_RETAIN_HISTORY,
     "at < ?1 AND alert_id IN (SELECT a.id FROM incidents i JOIN alerts a ON a.incident_id = i.id"
     " WHERE (i.status = 'resolved' OR i.status = 'closed') AND i.updated_at < ?1)",
     false},
    {"notification_deliveries", SM_RETAIN_DELIVERIES,
     "created_at < ?1 AND (incident_id IS NULL OR incident_id NOT IN (SELECT id FROM incidents"
     " WHERE status = 'open' OR status = 'acknowledged'))",
     false},
    {"inbox", SM_RETAIN_QUEUE, "state = 'done' AND created_at < ?1", false},
};

const char *sm_pipeline_prune_kind(enum sm_pipeline_retention_kind kind)
{
	return kind < SM_RETAIN_KINDS ? kind_names[kind] : "";
}

int sm_pipeline_prune_duration(const char *text, long long *seconds)
{
	double s;

	if (sm_config_duration(text, &s) < 0)
		return -1;
	*seconds = (long long)s;
	return 0;
}

/* Apply spec's items to out; nothing is kept from a malformed spec. */
static int apply_spec(const char *spec, sm_pipeline_retention *out, sm_error *err)
{
	char *copy = strdup(spec), *item, *save = NULL;
	int rc = 0;

	if (!copy) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	for (item = strtok_r(copy, ",", &save); item && rc == 0;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		int kind = -1;
		if (!eq) {
			sm_error_set_kind(err, SM_ERROR_USAGE,
			                  "SM_RETENTION: expected KIND=DURATION, got '%s'", item);
			rc = -1;
			break;
		}
		*eq = '\0';
		for (int k = 0; k < SM_RETAIN_KINDS; k++)
			if (strcmp(kind_names[k], item) == 0)
				kind = k;
		if (kind < 0) {
			sm_error_set_kind(err, SM_ERROR_USAGE,
			                  "SM_RETENTION: unknown kind '%s' (expected check_runs, "
			                  "check_detail, runs, history, deliveries or queue)",
			                  item);
			rc = -1;
		} else if (sm_pipeline_prune_duration(eq + 1, &out->seconds[kind]) < 0) {
			sm_error_set_kind(
			    err, SM_ERROR_USAGE,
			    "SM_RETENTION: %s: expected a duration such as 90s, 15m, 4h "
			    "or 7d, got '%s'",
			    item, eq + 1);
			rc = -1;
		}
	}
	free(copy);
	return rc;
}

int sm_pipeline_prune_retention(const char *spec, sm_pipeline_retention *r, sm_error *err)
{
	sm_pipeline_retention out = {{0}};

	/* The defaults are parsed from their own spelling, so the two agree. */
	if (apply_spec(SM_RETENTION_DEFAULT, &out, err) < 0 ||
	    (spec && *spec && apply_spec(spec, &out, err) < 0))
		return -1;
	*r = out;
	return 0;
}

static int store_error(sm_store *store, sm_error *err)
{
	sm_error_set(err, "%s: %s", sm_store_path(store), sqlite3_errmsg(sm_store_db(store)));
	return -1;
}

/* Run one step's count or delete with its bindings; the rows it covers
 * added to *count. */
static int run_step(sm_store *store, const struct prune_step *step, const char *cutoff,
                    const char *checks_cutoff, const json_t *check, bool dry_run, long long *count,
                    sm_error *err)
{
	char sql[1024];
	sqlite3_stmt *st;
	int rc;

	snprintf(sql, sizeof sql, "%s FROM %s WHERE %s", dry_run ? "SELECT count(*)" : "DELETE",
	         step->table, step->where);
	if (!(st = sm_store_prepare(store, sql, err)))
		return -1;
	sqlite3_bind_text(st, 1, cutoff, -1, SQLITE_STATIC);
	if (check) {
		sqlite3_bind_text(st, 2, json_string_value(json_object_get(check, "checker")), -1,
		                  SQLITE_STATIC);
		sqlite3_bind_text(st, 3, json_string_value(json_object_get(check, "hostname")), -1,
		                  SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, json_integer_value(json_object_get(check, "id")));
		if (sqlite3_bind_parameter_count(st) >= 5)
			sqlite3_bind_text(st, 5, checks_cutoff, -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*count += sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*count += sqlite3_changes(sm_store_db(store));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_error(store, err);
}

int sm_pipeline_prune(sm_store *store, const sm_pipeline_retention *r, time_t now, bool dry_run,
                      json_t **report, sm_error *err)
{
	char cutoff[SM_RETAIN_KINDS][SM_RFC3339_LEN];
	json_t *removed = json_object(), *before = json_object(), *checks = NULL;

	*report = NULL;
	for (int k = 0; k < SM_RETAIN_KINDS; k++) {
		/* Stored times carry milliseconds; the cutoff is written the same
		 * way so the two compare as text. */
		struct timespec ts = {.tv_sec = now - (time_t)r->seconds[k]};
		char whole[SM_RFC3339_LEN];
		sm_rfc3339_format(cutoff[k], &ts, true);
		sm_rfc3339_format(whole, &ts, false);
		json_object_set_new(before, kind_names[k], json_string(whole));
	}
	/* A dry run only reads; a real one takes the write lock for the whole
	 * removal, so it is all or nothing. */
	if ((dry_run ? sm_store_exec(store, "BEGIN", err) : sm_store_begin(store, err)) < 0)
		goto fail;
	if (sm_pipeline_status_latest(store, &checks, err) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		const struct prune_step *step = &steps[i];
		long long count = 0;
		if (step->per_check) {
			const json_t *check;
			size_t k;
			json_array_foreach(checks, k, check)
			{
				if (run_step(store, step, cutoff[step->kind],
				             cutoff[SM_RETAIN_CHECK_RUNS], check, dry_run, &count,
				             err) < 0)
					goto fail;
			}
		} else if (run_step(store, step, cutoff[step->kind], NULL, NULL, dry_run, &count,
		                    err) < 0) {
			goto fail;
		}
		/* check_runs has two steps: one count. */
		count += json_integer_value(json_object_get(removed, step->table));
		json_object_set_new(removed, step->table, json_integer(count));
	}
	if (dry_run)
		sm_store_rollback(store);
	else if (sm_store_commit(store, err) < 0)
		goto fail;
	json_decref(checks);
	*report = json_object();
	json_object_set_new(*report, "dry_run", json_boolean(dry_run));
	json_object_set_new(*report, "removed", removed);
	json_object_set_new(*report, "before", before);
	return SM_EXIT_OK;
fail:
	sm_store_rollback(store);
	json_decref(checks);
	json_decref(removed);
	json_decref(before);
	return sm_error_exit(err);
}

int sm_pipeline_prune_vacuum(sm_store *store, sm_error *err)
{
	if (sm_store_exec(store, "VACUUM", err) < 0)
		return -1;
	/* VACUUM in WAL mode writes the new pages to the log: the file shrinks
	 * only once they are copied back and the log emptied. */
	return sm_store_exec(store, "PRAGMA wal_checkpoint(TRUNCATE)", err);
}
