/* push.c - cluster payloads, their signatures and the agent's spool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm/json.h"
#include "sm/log.h"
#include "sm/push.h"
#include "sm/rfc3339.h"

/* The seed's mapping: OK resolves (info); WARNING and UNKNOWN fire as
 * warning; CRITICAL fires as critical. */
static void status_of(const char *check_status, const char **status, const char **severity)
{
	*status = "firing";
	*severity = "warning";
	if (!check_status)
		return;
	if (strcmp(check_status, "ok") == 0) {
		*status = "resolved";
		*severity = "info";
	} else if (strcmp(check_status, "critical") == 0) {
		*severity = "critical";
	}
}

json_t *sm_push_payload(json_t *checks, const char *instance_id, const char *hostname)
{
	json_t *payload = json_object(), *alerts = json_array(), *check;
	char now[SM_RFC3339_LEN];
	size_t i;

	sm_rfc3339_now(now, true);
	json_object_set_new(payload, "source", json_string("cluster"));
	json_object_set_new(payload, "instance_id", sm_json_string(instance_id));
	json_object_set_new(payload, "hostname", sm_json_string(hostname));
	json_object_set_new(payload, "version", json_string("1.0"));
	json_array_foreach(checks, i, check)
	{
		const char *checker = json_string_value(json_object_get(check, "checker"));
		const char *message = json_string_value(json_object_get(check, "message"));
		const char *status, *severity;
		json_t *metrics = json_object_get(check, "metrics"), *a;
		char *fingerprint = NULL, *name = NULL;

		if (!checker)
			continue;
		if (!message)
			message = "";
		status_of(json_string_value(json_object_get(check, "status")), &status, &severity);
		if (asprintf(&fingerprint, "%s-%s", checker, instance_id) < 0)
			fingerprint = NULL;
		if (asprintf(&name, "%s: %s", checker, message) < 0)
			name = NULL;
		a = json_object();
		json_object_set_new(a, "fingerprint", sm_json_string(fingerprint));
		json_object_set_new(a, "name", sm_json_string(name));
		json_object_set_new(a, "status", json_string(status));
		json_object_set_new(a, "severity", json_string(severity));
		json_object_set_new(a, "started_at", json_string(now));
		json_object_set_new(a, "ended_at",
		                    strcmp(status, "resolved") == 0 ? json_string(now)
		                                                    : json_null());
		json_object_set_new(a, "description", sm_json_string(message));
		json_object_set_new(a, "labels",
		                    json_pack("{s:s,s:o,s:o}", "checker", checker, "hostname",
		                              sm_json_string(hostname), "instance_id",
		                              sm_json_string(instance_id)));
		json_object_set_new(a, "annotations",
		                    json_pack("{s:o}", "message", sm_json_string(message)));
		if (json_is_object(metrics))
			json_object_set(a, "metrics", metrics);
		else
			json_object_set_new(a, "metrics", json_object());
		json_array_append_new(alerts, a);
		free(fingerprint);
		free(name);
	}
	json_object_set_new(payload, "alerts", alerts);
	return payload;
}

int sm_push_sign(const char *secret, const char *body, long long now, char headers[3][128],
                 sm_error *err)
{
	char hex[SM_SHA256_HEX];
	size_t len = strlen(body);

	if (sm_hmac_sha256_hex(secret, strlen(secret), body, len, hex, err) < 0)
		return -1;
	snprintf(headers[0], 128, "X-Cluster-Signature: %s", hex);
	snprintf(headers[1], 128, "X-SM-Timestamp: %lld", now);
	if (sm_hmac_stamped_hex(secret, strlen(secret), now, body, len, hex, err) < 0)
		return -1;
	snprintf(headers[2], 128, "X-SM-Signature: sha256=%s", hex);
	return 0;
}

static int step_done(sm_store *store, sqlite3_stmt *st, sm_error *err)
{
	int rc = 0;

	if (!st)
		return -1;
	if (sqlite3_step(st) != SQLITE_DONE) {
		sm_error_set(err, "%s: %s", sm_store_path(store),
		             sqlite3_errmsg(sm_store_db(store)));
		rc = -1;
	}
	sqlite3_finalize(st);
	return rc;
}

int sm_spool_add(sm_store *store, const char *body, const char *state, long long http_status,
                 const char *error, long long max, sm_error *err)
{
	char now[SM_RFC3339_LEN];
	sqlite3_stmt *st;
	long long count = 0;

	st = sm_store_prepare(store, "SELECT count(*) FROM hub_spool", err);
	if (!st)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		count = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (max > 0 && count >= max) {
		/* Bounded: the oldest entries make room, loudly. */
		long long drop = count - max + 1;
		sm_log(SM_LOG_WARN,
		       "spool full (%lld entries, SM_SPOOL_MAX): dropping the %lld oldest", count,
		       drop);
		st = sm_store_prepare(store,
		                      "DELETE FROM hub_spool WHERE id IN (SELECT id FROM hub_spool"
		                      " ORDER BY id LIMIT ?1)",
		                      err);
		if (st)
			sqlite3_bind_int64(st, 1, drop);
		if (step_done(store, st, err) < 0)
			return -1;
	}
	sm_rfc3339_now(now, true);
	st = sm_store_prepare(
	    store,
	    "INSERT INTO hub_spool (body, state, attempts, http_status, last_error,"
	    " created_at, updated_at) VALUES (?1, ?2, 1, ?3, ?4, ?5, ?5)",
	    err);
	if (st) {
		sqlite3_bind_text(st, 1, body, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
		if (http_status > 0)
			sqlite3_bind_int64(st, 3, http_status);
		sqlite3_bind_text(st, 4, error ? error : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	}
	return step_done(store, st, err);
}

int sm_spool_next(sm_store *store, long long after, sm_spooled *out, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(
	    store,
	    "SELECT id, body, state, attempts FROM hub_spool WHERE state = 'pending' AND id > ?1"
	    " ORDER BY id LIMIT 1",
	    err);
	int rc = -1, step;

	memset(out, 0, sizeof *out);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, after);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		out->id = sqlite3_column_int64(st, 0);
		out->body = strdup((const char *)sqlite3_column_text(st, 1));
		snprintf(out->state, sizeof out->state, "%s", sqlite3_column_text(st, 2));
		out->attempts = sqlite3_column_int(st, 3);
		rc = out->body ? 1 : -1;
		if (!out->body)
			sm_error_set(err, "out of memory");
	} else if (step == SQLITE_DONE) {
		rc = 0;
	} else {
		sm_error_set(err, "%s: %s", sm_store_path(store),
		             sqlite3_errmsg(sm_store_db(store)));
	}
	sqlite3_finalize(st);
	return rc;
}

void sm_spooled_clear(sm_spooled *s)
{
	free(s->body);
	memset(s, 0, sizeof *s);
}

int sm_spool_delete(sm_store *store, long long id, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(store, "DELETE FROM hub_spool WHERE id = ?1", err);

	if (st)
		sqlite3_bind_int64(st, 1, id);
	return step_done(store, st, err);
}

int sm_spool_failed(sm_store *store, long long id, bool refused, long long http_status,
                    const char *error, sm_error *err)
{
	char now[SM_RFC3339_LEN];
	sqlite3_stmt *st = sm_store_prepare(
	    store,
	    "UPDATE hub_spool SET attempts = attempts + 1, state = ?2, http_status = ?3,"
	    " last_error = ?4, updated_at = ?5 WHERE id = ?1",
	    err);

	sm_rfc3339_now(now, true);
	if (st) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, refused ? "refused" : "pending", -1, SQLITE_STATIC);
		if (http_status > 0)
			sqlite3_bind_int64(st, 3, http_status);
		sqlite3_bind_text(st, 4, error ? error : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	}
	return step_done(store, st, err);
}

long long sm_spool_retry_refused(sm_store *store, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(
	    store, "UPDATE hub_spool SET state = 'pending' WHERE state = 'refused'", err);

	if (step_done(store, st, err) < 0)
		return -1;
	return sqlite3_changes(sm_store_db(store));
}

int sm_spool_list(sm_store *store, json_t **rows, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(
	    store,
	    "SELECT id, state, attempts, http_status, last_error, created_at, updated_at,"
	    " length(body) FROM hub_spool ORDER BY id",
	    err);

	*rows = NULL;
	if (!st)
		return -1;
	*rows = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *r = json_object();
		json_object_set_new(r, "id", json_integer(sqlite3_column_int64(st, 0)));
		json_object_set_new(r, "state",
		                    sm_json_string((const char *)sqlite3_column_text(st, 1)));
		json_object_set_new(r, "attempts", json_integer(sqlite3_column_int64(st, 2)));
		json_object_set_new(r, "http_status",
		                    sqlite3_column_type(st, 3) == SQLITE_NULL
		                        ? json_null()
		                        : json_integer(sqlite3_column_int64(st, 3)));
		json_object_set_new(r, "last_error",
		                    sm_json_string((const char *)sqlite3_column_text(st, 4)));
		json_object_set_new(r, "created_at",
		                    sm_json_string((const char *)sqlite3_column_text(st, 5)));
		json_object_set_new(r, "updated_at",
		                    sm_json_string((const char *)sqlite3_column_text(st, 6)));
		json_object_set_new(r, "bytes", json_integer(sqlite3_column_int64(st, 7)));
		json_array_append_new(*rows, r);
	}
	sqlite3_finalize(st);
	return 0;
}
