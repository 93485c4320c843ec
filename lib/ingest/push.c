/* push.c - cluster payloads, their signatures, the agent's spool (one queue
 * per hub) and the push to every hub of HUB_URL. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sm/http.h"
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

int sm_spool_add(sm_store *store, const char *hub, const char *body, const char *state,
                 int attempts, long long http_status, const char *error, long long max,
                 sm_error *err)
{
	char now[SM_RFC3339_LEN];
	sqlite3_stmt *st;
	long long count = 0;

	st = sm_store_prepare(store, "SELECT count(*) FROM hub_spool WHERE hub = ?1", err);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, hub, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		count = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (max > 0 && count >= max) {
		/* Bounded: the hub's oldest entries make room, loudly. */
		long long drop = count - max + 1;
		sm_log(SM_LOG_WARN,
		       "spool of %s full (%lld entries, SM_SPOOL_MAX): dropping the %lld oldest",
		       hub, count, drop);
		st = sm_store_prepare(store,
		                      "DELETE FROM hub_spool WHERE id IN (SELECT id FROM hub_spool"
		                      " WHERE hub = ?2 ORDER BY id LIMIT ?1)",
		                      err);
		if (st) {
			sqlite3_bind_int64(st, 1, drop);
			sqlite3_bind_text(st, 2, hub, -1, SQLITE_STATIC);
		}
		if (step_done(store, st, err) < 0)
			return -1;
	}
	sm_rfc3339_now(now, true);
	st = sm_store_prepare(
	    store,
	    "INSERT INTO hub_spool (body, state, attempts, http_status, last_error,"
	    " created_at, updated_at, hub) VALUES (?1, ?2, ?6, ?3, ?4, ?5, ?5, ?7)",
	    err);
	if (st) {
		sqlite3_bind_text(st, 1, body, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
		if (http_status > 0)
			sqlite3_bind_int64(st, 3, http_status);
		sqlite3_bind_text(st, 4, error ? error : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 6, attempts);
		sqlite3_bind_text(st, 7, hub, -1, SQLITE_STATIC);
	}
	return step_done(store, st, err);
}

int sm_spool_next(sm_store *store, const char *hub, long long after, sm_spooled *out, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(store,
	                                    "SELECT id, body, state, attempts FROM hub_spool"
	                                    " WHERE hub = ?2 AND state = 'pending' AND id > ?1"
	                                    " ORDER BY id LIMIT 1",
	                                    err);
	int rc = -1, step;

	memset(out, 0, sizeof *out);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_text(st, 2, hub, -1, SQLITE_STATIC);
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
	    " length(body), hub FROM hub_spool ORDER BY hub, id",
	    err);

	*rows = NULL;
	if (!st)
		return -1;
	*rows = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *r = json_object();
		json_object_set_new(r, "id", json_integer(sqlite3_column_int64(st, 0)));
		json_object_set_new(r, "hub",
		                    sm_json_string((const char *)sqlite3_column_text(st, 8)));
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

int sm_push_hubs(sm_push_agent *ag, const char *list, sm_error *err)
{
	json_t *urls = sm_http_url_list(list, "HUB_URL", err), *v;
	size_t i;

	if (!urls)
		return -1;
	if (json_array_size(urls) > SM_PUSH_HUBS_MAX) {
		sm_error_set_kind(err, SM_ERROR_USAGE, "HUB_URL: %zu hubs, at most %d",
		                  json_array_size(urls), SM_PUSH_HUBS_MAX);
		json_decref(urls);
		return -1;
	}
	ag->nhubs = 0;
	json_array_foreach(urls, i, v)
	{
		sm_push_hub *h = &ag->hubs[ag->nhubs];
		const char *url = json_string_value(v);
		size_t n = strlen(url);

		while (n > 0 && url[n - 1] == '/')
			n--;
		if (n >= sizeof h->base) {
			sm_error_set_kind(err, SM_ERROR_USAGE, "HUB_URL: entry %zu: too long",
			                  i + 1);
			json_decref(urls);
			return -1;
		}
		memset(h, 0, sizeof *h);
		snprintf(h->base, sizeof h->base, "%.*s", (int)n, url);
		snprintf(h->url, sizeof h->url, "%.*s/alerts/webhook/cluster/", (int)n, url);
		ag->nhubs++;
	}
	json_decref(urls);
	return 0;
}

/* What one hub's thread needs: the agent, the hub, the store's lock. */
struct hub_run {
	sm_push_agent *ag;
	sm_push_hub *hub;
	long long new_id; /* the new push's entry in this hub's spool; 0: none */
	pthread_mutex_t *lock;
	pthread_t thread;
	bool started;
};

static enum sm_push_outcome send_one(const struct hub_run *r, const char *body, long *status,
                                     char *why, size_t size)
{
	const sm_push_agent *ag = r->ag;
	char sig[3][128];
	const char *headers[6] = {"Content-Type: application/json", NULL, NULL, NULL, NULL, NULL};
	size_t nh = 1;
	sm_http_request req = {.method = "POST",
	                       .url = r->hub->url,
	                       .headers = headers,
	                       .body = body,
	                       .body_len = strlen(body),
	                       .timeout_s = ag->timeout_s};
	sm_http_response res = {0};
	enum sm_push_outcome out;
	sm_error err;

	*status = 0;
	if (ag->secret) {
		/* Signed at sending time: a spooled push gets a fresh timestamp. */
		if (sm_push_sign(ag->secret, body, (long long)time(NULL), sig, &err) < 0) {
			snprintf(why, size, "%s", err.msg);
			out = SM_PUSH_BROKEN;
			goto report;
		}
		headers[nh++] = sig[0];
		headers[nh++] = sig[1];
		headers[nh++] = sig[2];
	}
	if (ag->api_key_header)
		headers[nh++] = ag->api_key_header;
	if (sm_http_send(&req, &res) < 0) {
		snprintf(why, size, "unreachable: %s", res.error);
		out = res.transient ? SM_PUSH_TEMPORARY : SM_PUSH_BROKEN;
	} else {
		*status = res.status;
		snprintf(why, size, "HTTP %ld", res.status);
		if (res.status >= 200 && res.status < 300)
			out = SM_PUSH_DELIVERED;
		else
			out = res.transient ? SM_PUSH_TEMPORARY : SM_PUSH_REFUSED;
	}
report:
	if (ag->report) {
		const sm_push_attempt a = {r->hub->url, body, out, *status, why, res.elapsed_ms};
		ag->report(&a, ag->report_ctx);
	}
	sm_http_response_clear(&res);
	return out;
}

/* A store call of a hub's thread: the threads share one connection. */
#define LOCKED(r, call)                                                                            \
	do {                                                                                       \
		pthread_mutex_lock((r)->lock);                                                     \
		rc = (call);                                                                       \
		pthread_mutex_unlock((r)->lock);                                                   \
	} while (0)

/* One hub: its pending entries, oldest first, until the first temporary
 * failure (the hub is away: the rest would fail too). */
static void *hub_thread(void *arg)
{
	struct hub_run *r = arg;
	sm_push_hub *h = r->hub;
	long long after = 0;
	sm_spooled s;
	int rc;

	h->outcome = r->new_id ? SM_PUSH_WAITING : SM_PUSH_DELIVERED;
	for (;;) {
		char why[512];
		long status;
		enum sm_push_outcome out;

		LOCKED(r, sm_spool_next(r->ag->store, h->base, after, &s, &h->err));
		if (rc <= 0)
			break;
		out = send_one(r, s.body, &status, why, sizeof why);
		after = s.id;
		if (out == SM_PUSH_DELIVERED)
			LOCKED(r, sm_spool_delete(r->ag->store, s.id, &h->err));
		else
			LOCKED(r, sm_spool_failed(r->ag->store, s.id, out == SM_PUSH_REFUSED,
			                          status, why, &h->err));
		if (s.id == r->new_id || !r->new_id) {
			h->outcome = out;
			h->status = status;
			snprintf(h->why, sizeof h->why, "%s", why);
		}
		if (out == SM_PUSH_REFUSED && s.id != r->new_id)
			h->refused_status = status;
		sm_spooled_clear(&s);
		if (rc < 0)
			break;
		if (out == SM_PUSH_TEMPORARY || out == SM_PUSH_BROKEN) {
			snprintf(h->why, sizeof h->why, "%s", why);
			break;
		}
	}
	h->store_failed = rc < 0;
	return NULL;
}

/* The new push in every hub's spool, committed before anything is sent:
 * a run cut short (killed, a reboot) loses no hub's copy. Entries kept
 * before the spool had hubs go to the first hub. */
static int keep_for_every_hub(sm_push_agent *ag, const char *body, struct hub_run *runs,
                              sm_error *err)
{
	sqlite3_stmt *st;

	if (sm_store_begin(ag->store, err) < 0)
		return -1;
	st = sm_store_prepare(ag->store, "UPDATE hub_spool SET hub = ?1 WHERE hub = ''", err);
	if (st)
		sqlite3_bind_text(st, 1, ag->hubs[0].base, -1, SQLITE_STATIC);
	if (step_done(ag->store, st, err) < 0)
		goto fail;
	for (size_t i = 0; body && i < ag->nhubs; i++) {
		if (sm_spool_add(ag->store, ag->hubs[i].base, body, "pending", 0, 0, "not sent yet",
		                 ag->spool_max, err) < 0)
			goto fail;
		runs[i].new_id = sqlite3_last_insert_rowid(sm_store_db(ag->store));
	}
	if (sm_store_commit(ag->store, err) < 0)
		goto fail;
	return 0;
fail:
	sm_store_rollback(ag->store);
	return -1;
}

int sm_push_run(sm_push_agent *ag, const char *body, sm_error *err)
{
	struct hub_run runs[SM_PUSH_HUBS_MAX] = {0};
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

	if (ag->nhubs == 0) {
		sm_error_set_kind(err, SM_ERROR_USAGE, "HUB_URL: no hub");
		return -1;
	}
	for (size_t i = 0; i < ag->nhubs; i++)
		runs[i] = (struct hub_run){.ag = ag, .hub = &ag->hubs[i], .lock = &lock};
	if (keep_for_every_hub(ag, body, runs, err) < 0)
		return -1;
	/* The first hub in this thread, each other in its own. */
	for (size_t i = 1; i < ag->nhubs; i++)
		runs[i].started = pthread_create(&runs[i].thread, NULL, hub_thread, &runs[i]) == 0;
	hub_thread(&runs[0]);
	for (size_t i = 1; i < ag->nhubs; i++) {
		if (runs[i].started)
			pthread_join(runs[i].thread, NULL);
		else /* no thread to be had: in turn, late but not lost */
			hub_thread(&runs[i]);
	}
	return 0;
}
