/* inbox.c - the webhook queue in the store (see inbox.h). */
#include <limits.h>
#include <stdlib.h>
#include <time.h>

#include "sm/inbox.h"
#include "sm/json.h"
#include "sm/rfc3339.h"

int sm_inbox_put_text(sm_store *store, const char *text, size_t len, const char *trace_id,
                      sm_error *err)
{
	char now[SM_RFC3339_LEN];
	sqlite3_stmt *st = sm_store_prepare(
	    store, "INSERT INTO inbox (envelope, created_at, trace_id) VALUES (?1, ?2, ?3)", err);
	int rc = -1;

	if (!st)
		return -1;
	if (len > INT_MAX) {
		sm_error_set(err, "an envelope of %zu bytes is too large to queue", len);
		sqlite3_finalize(st);
		return -1;
	}
	sm_rfc3339_now(now, true);
	sqlite3_bind_text(st, 1, text, (int)len, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, trace_id ? trace_id : "", -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		sm_error_set(err, "%s: %s", sm_store_path(store),
		             sqlite3_errmsg(sm_store_db(store)));
	else
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

int sm_inbox_put(sm_store *store, json_t *env, sm_error *err)
{
	size_t len = 0;
	char *text = sm_json_dump(env, &len);
	int rc;

	if (!text) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	rc = sm_inbox_put_text(store, text, len,
	                       json_string_value(json_object_get(env, "trace_id")), err);
	free(text);
	return rc;
}

int sm_inbox_claim(sm_store *store, const char *worker, double stale_s, long long *id, json_t **env,
                   sm_error *err)
{
	char now[SM_RFC3339_LEN], stale[SM_RFC3339_LEN];
	struct timespec ts;
	sqlite3_stmt *st = sm_store_prepare(
	    store,
	    "UPDATE inbox SET state = 'claimed', claimed_by = ?1, claimed_at = ?2,"
	    " attempts = attempts + 1 WHERE id = (SELECT id FROM inbox WHERE state = 'pending'"
	    " OR (state = 'claimed' AND claimed_at < ?3) ORDER BY id LIMIT 1)"
	    " RETURNING id, envelope",
	    err);
	int rc = -1, step;

	*env = NULL;
	if (!st)
		return -1;
	clock_gettime(CLOCK_REALTIME, &ts);
	sm_rfc3339_format(now, &ts, true);
	ts.tv_sec -= (time_t)(stale_s > 0 ? stale_s : 600);
	sm_rfc3339_format(stale, &ts, true);
	sqlite3_bind_text(st, 1, worker, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, stale, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		json_error_t jerr;
		*id = sqlite3_column_int64(st, 0);
		*env = json_loads((const char *)sqlite3_column_text(st, 1), 0, &jerr);
		if (*env) {
			rc = 1;
		} else {
			sm_error_set(err, "inbox item %lld: unreadable envelope: %s", *id,
			             jerr.text);
		}
	} else if (step == SQLITE_DONE) {
		rc = 0;
	} else {
		sm_error_set(err, "%s: %s", sm_store_path(store),
		             sqlite3_errmsg(sm_store_db(store)));
	}
	/* Step to the end so the UPDATE completes before finalize. */
	while (step == SQLITE_ROW)
		step = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc;
}

int sm_inbox_finish(sm_store *store, long long id, bool ok, const char *error, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(
	    store, "UPDATE inbox SET state = ?2, error = ?3 WHERE id = ?1 AND state = 'claimed'",
	    err);
	int rc = -1;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, ok ? "done" : "failed", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, error ? error : "", -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		sm_error_set(err, "%s: %s", sm_store_path(store),
		             sqlite3_errmsg(sm_store_db(store)));
	else if (sqlite3_changes(sm_store_db(store)) == 0)
		sm_error_set(err, "inbox item %lld is not claimed", id);
	else
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

long long sm_inbox_depth(sm_store *store)
{
	sqlite3_stmt *st = sm_store_prepare(
	    store, "SELECT count(*) FROM inbox WHERE state IN ('pending', 'claimed')", NULL);
	long long n = -1;

	if (st && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}
