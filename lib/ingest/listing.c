/* listing.c - filtered listings of alerts and incidents, and one incident
 * with its alerts, history, deliveries and analyses (see listing.h). */
#include <stdio.h>
#include <string.h>

#include "sm/alert.h"
#include "sm/ingest.h"
#include "sm/listing.h"
#include "sm/rfc3339.h"

#define ALERT_COLUMNS                                                                              \
	"SELECT id, source, fingerprint, name, status, severity, description,"                     \
	" labels AS labels_json, annotations AS annotations_json, started_at, ended_at,"           \
	" incident_id, created_at, updated_at FROM alerts"

/* Each row of st as an object appended to rows; -1 with err when a step
 * fails. st is finalized. */
static int collect(sm_store *store, sqlite3_stmt *st, json_t *rows, sm_error *err)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(rows, sm_ingest_row_json(st));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		sm_error_set(err, "%s: %s", sm_store_path(store),
		             sqlite3_errmsg(sm_store_db(store)));
		return -1;
	}
	return 0;
}

/* Parameters bound by number: the WHERE clause names only those in use. */
enum { P_STATUS = 1, P_SOURCE, P_SINCE, P_LIMIT };

/* " WHERE …" for filter into buf: severities are a closed set of words, so
 * they are written into the text; everything else is bound. */
static void where_clause(char *buf, size_t size, const sm_listing_filter *f)
{
	size_t n = 0;
	const char *and = " WHERE ";

	buf[0] = '\0';
	if (f->status) {
		n += (size_t)snprintf(buf + n, size - n, "%sstatus = ?1", and);
		and = " AND ";
	}
	if (f->source) {
		n += (size_t)snprintf(buf + n, size - n, "%ssource = ?2", and);
		and = " AND ";
	}
	if (f->since_s > 0) {
		n += (size_t)snprintf(buf + n, size - n, "%supdated_at >= ?3", and);
		and = " AND ";
	}
	if (f->severity) {
		int floor = sm_severity_parse(f->severity);
		const char *sep = "";
		n += (size_t)snprintf(buf + n, size - n, "%sseverity IN (", and);
		for (int s = SM_SEVERITY_CRITICAL; s >= SM_SEVERITY_INFO && s >= floor; s--) {
			n += (size_t)snprintf(buf + n, size - n, "%s'%s'", sep,
			                      sm_severity_name((enum sm_severity)s));
			sep = ",";
		}
		snprintf(buf + n, size - n, ")");
	}
}

static void bind_filter(sqlite3_stmt *st, const sm_listing_filter *f, const char *cutoff)
{
	if (f->status)
		sqlite3_bind_text(st, P_STATUS, f->status, -1, SQLITE_STATIC);
	if (f->source)
		sqlite3_bind_text(st, P_SOURCE, f->source, -1, SQLITE_STATIC);
	if (f->since_s > 0)
		sqlite3_bind_text(st, P_SINCE, cutoff, -1, SQLITE_STATIC);
}

int sm_listing_rows(sm_store *store, const char *what, const sm_listing_filter *filter,
                    json_t **rows, long long *total, sm_error *err)
{
	char where[256], q[1024], cutoff[SM_RFC3339_LEN] = "";
	const char *columns, *table;
	sqlite3_stmt *st;

	*rows = NULL;
	*total = 0;
	if (strcmp(what, "incidents") == 0) {
		columns = sm_ingest_incident_columns();
		table = "incidents";
	} else if (strcmp(what, "alerts") == 0) {
		columns = ALERT_COLUMNS;
		table = "alerts";
	} else {
		sm_error_set(err, "nothing called '%s' to list", what);
		return -1;
	}
	if (filter->severity && sm_severity_parse(filter->severity) < 0) {
		sm_error_set(err, "no severity '%s' (critical, warning, info)", filter->severity);
		return -1;
	}
	if (filter->since_s > 0) {
		/* Stored times are RFC 3339 UTC with milliseconds: they compare as text. */
		struct timespec ts = {.tv_sec = filter->now - (time_t)filter->since_s};
		sm_rfc3339_format(cutoff, &ts, true);
	}
	where_clause(where, sizeof where, filter);
	snprintf(q, sizeof q, "SELECT count(*) FROM %s%s", table, where);
	st = sm_store_prepare(store, q, err);
	if (!st)
		return -1;
	bind_filter(st, filter, cutoff);
	if (sqlite3_step(st) == SQLITE_ROW)
		*total = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	snprintf(q, sizeof q, "%s%s ORDER BY id DESC LIMIT ?4", columns, where);
	st = sm_store_prepare(store, q, err);
	if (!st)
		return -1;
	bind_filter(st, filter, cutoff);
	sqlite3_bind_int64(st, P_LIMIT, filter->limit > 0 ? filter->limit : -1);
	*rows = json_array();
	if (collect(store, st, *rows, err) < 0) {
		json_decref(*rows);
		*rows = NULL;
		return -1;
	}
	return 0;
}

/* What sm_listing_incident gathers: each list's rows for incident ?1. */
static const struct {
	const char *name, *sql;
} parts[] = {
    {"alerts", ALERT_COLUMNS " WHERE incident_id = ?1 ORDER BY id"},
    {"history", "SELECT h.id, h.alert_id, a.name AS alert, h.change, h.old_status,"
                " h.new_status, h.old_severity, h.new_severity, h.at, h.trace_id"
                " FROM alert_history h JOIN alerts a ON a.id = h.alert_id"
                " WHERE a.incident_id = ?1 ORDER BY h.at, h.id"},
    {"deliveries", "SELECT id, channel, status, attempt, http_status, error, created_at,"
                   " trace_id FROM notification_deliveries WHERE incident_id = ?1"
                   " ORDER BY id"},
    {"analysis", "SELECT id, provider, model, status, fallback, duration_ms, prompt_tokens,"
                 " completion_tokens, recommendations AS recommendations_json, error,"
                 " created_at, trace_id FROM analysis_runs WHERE incident_id = ?1"
                 " ORDER BY id"},
};

int sm_listing_incident(sm_store *store, long long id, json_t **out, sm_error *err)
{
	json_t *inc, *all;

	*out = NULL;
	inc = sm_incident_json(store, id);
	if (!inc)
		return 0;
	all = json_object();
	json_object_set_new(all, "incident", inc);
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		sqlite3_stmt *st = sm_store_prepare(store, parts[i].sql, err);
		json_t *rows = json_array();
		if (!st) {
			json_decref(rows);
			json_decref(all);
			return -1;
		}
		sqlite3_bind_int64(st, 1, id);
		json_object_set_new(all, parts[i].name, rows);
		if (collect(store, st, rows, err) < 0) {
			json_decref(all);
			return -1;
		}
	}
	*out = all;
	return 0;
}
