/* inbox.c - the webhook queue in the store (see inbox.h). */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sm/inbox.h"
#include "sm/json.h"
#include "sm/rfc3339.h"

/* Insert a queued envelope (len bytes of text) by sql, whose ?1 is the
 * envelope, ?2 the time (claimed_at, else now), ?3 the trace id, and, for
 * a claimed one, ?4 its worker and ?5 its run id. Kept: a FastCGI
 * responder or a batch queues envelope after envelope (parsing the
 * statement each time was an eighth of a request's instructions). */
static int insert(sm_store *store, const char *sql, const char *text, size_t len,
                  const char *trace_id, const char *claimed_by, const char *claimed_at,
                  const char *run_id, sm_error *err)
{
	char now[SM_RFC3339_LEN];
	sqlite3_stmt *st;
	int rc = -1;

	if (len > INT_MAX) {
		sm_error_set(err, "an envelope of %zu bytes is too large to queue", len);
		return -1;
	}
	if (!(st = sm_store_prepare_kept(store, sql, err)))
		return -1;
	if (!claimed_at)
		sm_rfc3339_now(now, true);
	sqlite3_bind_text(st, 1, text, (int)len, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, claimed_at ? claimed_at : now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, trace_id ? trace_id : "", -1, SQLITE_STATIC);
	if (claimed_by) {
		sqlite3_bind_text(st, 4, claimed_by, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, run_id, -1, SQLITE_STATIC);
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		sm_error_set(err, "%s: %s", sm_store_path(store),
		             sqlite3_errmsg(sm_store_db(store)));
	else
		rc = 0;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st); /* text and now are gone after return */
	return rc;
}

int sm_inbox_put_text(sm_store *store, const char *text, size_t len, const char *trace_id,
                      sm_error *err)
{
	return insert(store,
	              "INSERT INTO inbox (envelope, created_at, trace_id) VALUES (?1, ?2, ?3)",
	              text, len, trace_id, NULL, NULL, NULL, err);
}

int sm_inbox_put_claimed(sm_store *store, const char *text, size_t len, const char *trace_id,
                         const char *claimed_by, const char *claimed_at, const char *run_id,
                         sm_error *err)
{
	return insert(
	    store,
	    "INSERT INTO inbox (envelope, created_at, trace_id, state, attempts,"
	    " claimed_by, claimed_at, run_id) VALUES (?1, ?2, ?3, 'claimed', 1, ?4, ?2, ?5)",
	    text, len, trace_id, claimed_by, claimed_at, run_id, err);
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

int sm_inbox_put_run(sm_store *store, json_t *env, const char *run_id, const char *definition,
                     sm_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sm_inbox_put(store, env, err) < 0)
		return -1;
	st = sm_store_prepare(store, "UPDATE inbox SET run_id = ?2, definition = ?3 WHERE id = ?1",
	                      err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, sqlite3_last_insert_rowid(sm_store_db(store)));
	sqlite3_bind_text(st, 2, run_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, definition, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	if (rc < 0)
		sm_error_set(err, "%s: %s", sm_store_path(store),
		             sqlite3_errmsg(sm_store_db(store)));
	sqlite3_finalize(st);
	return rc;
}

static void now_plus(char buf[SM_RFC3339_LEN], double seconds)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	sm_timespec_add(&ts, seconds);
	sm_rfc3339_format(buf, &ts, true);
}

static int db_error(sm_store *store, sm_error *err)
{
	sm_error_set(err, "%s: %s", sm_store_path(store), sqlite3_errmsg(sm_store_db(store)));
	return -1;
}

void sm_inbox_item_clear(sm_inbox_item *item)
{
	json_decref(item->envelope);
	memset(item, 0, sizeof *item);
}

/* Fail an item whose envelope cannot be read: it must not block the queue. */
static void fail_unreadable(sm_store *store, const sm_inbox_item *item, const char *why)
{
	sm_error ignored;
	char msg[300];

	snprintf(msg, sizeof msg, "unreadable envelope: %s", why);
	sm_inbox_fail(store, item, msg, &ignored);
}

static int by_id(const void *a, const void *b)
{
	const sm_inbox_item *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

int sm_inbox_claim_many(sm_store *store, const char *worker, double stale_s, sm_inbox_item *items,
                        size_t max, size_t *n, sm_error *err)
{
	char now[SM_RFC3339_LEN], stale[SM_RFC3339_LEN];
	/* One statement for the batch: each side walks inbox_state in id
	 * order and stops at its limit (one OR over both sorted every pending
	 * item on each claim); the merge sorts at most 2 × max ids. */
	sqlite3_stmt *st = sm_store_prepare_kept(
	    store,
	    "UPDATE inbox SET state = 'claimed', claimed_by = ?1, claimed_at = ?2,"
	    " heartbeat_at = NULL, attempts = attempts + 1 WHERE id IN (SELECT id FROM"
	    " (SELECT * FROM (SELECT id FROM inbox WHERE state = 'pending'"
	    "   AND (next_attempt_at IS NULL OR next_attempt_at <= ?2) ORDER BY id LIMIT ?4)"
	    "  UNION ALL SELECT * FROM (SELECT id FROM inbox WHERE state = 'claimed'"
	    "   AND coalesce(heartbeat_at, claimed_at) < ?3 ORDER BY id LIMIT ?4))"
	    " ORDER BY id LIMIT ?4)"
	    " RETURNING id, envelope, attempts, coalesce(run_id, ''), coalesce(definition, '')",
	    err);
	size_t got = 0, unreadable = 0;
	char(*why)[160];
	int step;

	*n = 0;
	if (!st)
		return -1;
	if (max == 0)
		return 0;
	if (!(why = calloc(max, sizeof *why))) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	sm_rfc3339_now(now, true);
	now_plus(stale, -(stale_s > 0 ? stale_s : 900));
	sqlite3_bind_text(st, 1, worker, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, stale, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)max);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		sm_inbox_item *item = &items[got];
		json_error_t jerr = {0};
		if (got == max)
			continue; /* cannot be: the statement's own limit */
		memset(item, 0, sizeof *item);
		item->id = sqlite3_column_int64(st, 0);
		item->envelope = sm_json_parse((const char *)sqlite3_column_text(st, 1),
		                               (size_t)sqlite3_column_bytes(st, 1), 0, &jerr);
		if (!json_is_object(item->envelope))
			snprintf(why[got], sizeof why[got], "%s",
			         item->envelope ? "not an object" : jerr.text);
		item->attempts = sqlite3_column_int64(st, 2);
		snprintf(item->run_id, sizeof item->run_id, "%s", sqlite3_column_text(st, 3));
		snprintf(item->definition, sizeof item->definition, "%s",
		         sqlite3_column_text(st, 4));
		snprintf(item->worker, sizeof item->worker, "%s", worker);
		snprintf(item->claimed_at, sizeof item->claimed_at, "%s", now);
		got++;
	}
	/* Reset at once: a kept statement left active would hold its read
	 * transaction open. */
	sqlite3_reset(st);
	if (step != SQLITE_DONE) {
		while (got > 0)
			sm_inbox_item_clear(&items[--got]);
		free(why);
		return db_error(store, err);
	}
	/* Not JSON, or not an object: failed now, or it would block the
	 * queue. The rest keep the order they were queued in. */
	for (size_t i = 0; i < got; i++) {
		if (!why[i][0]) {
			if (i != *n)
				items[*n] = items[i];
			(*n)++;
			continue;
		}
		fail_unreadable(store, &items[i], why[i]);
		sm_inbox_item_clear(&items[i]);
		unreadable++;
	}
	free(why);
	qsort(items, *n, sizeof *items, by_id);
	if (*n == 0 && unreadable > 0)
		return sm_inbox_claim_many(store, worker, stale_s, items, max, n, err);
	return *n > 0;
}

int sm_inbox_claim(sm_store *store, const char *worker, double stale_s, sm_inbox_item *item,
                   sm_error *err)
{
	size_t n;

	memset(item, 0, sizeof *item);
	return sm_inbox_claim_many(store, worker, stale_s, item, 1, &n, err);
}

int sm_inbox_set_run(sm_store *store, const sm_inbox_item *item, const char *run_id,
                     const char *definition, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare_kept(
	    store, "UPDATE inbox SET run_id = ?2, definition = ?3 WHERE id = ?1", err);
	int rc = 0;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, item->id);
	sqlite3_bind_text(st, 2, run_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, definition, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_error(store, err);
	sqlite3_reset(st);
	return rc;
}

/* Run st, an update of a claimed item whose ?1, ?2 and ?3 are the item's
 * id, worker and claim time (the caller bound the rest), and reset it: 1
 * when the claim was still this one and the row changed, 0 when not, -1
 * with err. */
static int step_on_claim(sm_store *store, sqlite3_stmt *st, const sm_inbox_item *item,
                         sm_error *err)
{
	int rc = -1;

	sqlite3_bind_int64(st, 1, item->id);
	sqlite3_bind_text(st, 2, item->worker, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, item->claimed_at, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		db_error(store, err);
	else
		rc = sqlite3_changes(sm_store_db(store)) > 0;
	sqlite3_reset(st);
	return rc;
}

int sm_inbox_heartbeat(sm_store *store, const sm_inbox_item *item, sm_error *err)
{
	char now[SM_RFC3339_LEN];
	sqlite3_stmt *st = sm_store_prepare(store,
	                                    "UPDATE inbox SET heartbeat_at = ?4 WHERE id = ?1 AND"
	                                    " state = 'claimed' AND claimed_by = ?2 AND"
	                                    " claimed_at = ?3",
	                                    err);
	int rc = -1;

	if (!st)
		return -1;
	sm_rfc3339_now(now, true);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	rc = step_on_claim(store, st, item, err);
	sqlite3_finalize(st);
	return rc;
}

/* Move a claimed item to state, only while the claim is still this one. */
static int end_claim(sm_store *store, const sm_inbox_item *item, const char *state, const char *due,
                     const char *error, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare_kept(
	    store,
	    "UPDATE inbox SET state = ?4, next_attempt_at = ?5, error = ?6,"
	    " claimed_by = CASE WHEN ?4 = 'pending' THEN NULL ELSE claimed_by END"
	    " WHERE id = ?1 AND state = 'claimed' AND claimed_by = ?2 AND claimed_at = ?3",
	    err);

	if (!st)
		return -1;
	sqlite3_bind_text(st, 4, state, -1, SQLITE_STATIC);
	if (due)
		sqlite3_bind_text(st, 5, due, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_text(st, 6, error ? error : "", -1, SQLITE_STATIC);
	return step_on_claim(store, st, item, err);
}

int sm_inbox_done(sm_store *store, const sm_inbox_item *item, sm_error *err)
{
	return end_claim(store, item, "done", NULL, NULL, err);
}

int sm_inbox_fail(sm_store *store, const sm_inbox_item *item, const char *error, sm_error *err)
{
	return end_claim(store, item, "failed", NULL, error, err);
}

int sm_inbox_defer(sm_store *store, const sm_inbox_item *item, double delay_s, const char *error,
                   sm_error *err)
{
	char due[SM_RFC3339_LEN];

	now_plus(due, delay_s > 0 ? delay_s : 0);
	return end_claim(store, item, "pending", due, error, err);
}

int sm_inbox_release(sm_store *store, const sm_inbox_item *item, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare_kept(
	    store,
	    "UPDATE inbox SET state = 'pending', claimed_by = NULL, claimed_at = NULL,"
	    " heartbeat_at = NULL, attempts = max(attempts - 1, 0)"
	    " WHERE id = ?1 AND state = 'claimed' AND claimed_by = ?2 AND claimed_at = ?3",
	    err);

	if (!st)
		return -1;
	return step_on_claim(store, st, item, err);
}

int sm_inbox_retry(sm_store *store, long long id, long long *count, sm_error *err)
{
	sqlite3_stmt *st;
	int step;

	*count = 0;
	if (id > 0) {
		char state[16] = "";
		st = sm_store_prepare(store, "SELECT state FROM inbox WHERE id = ?", err);
		if (!st)
			return SM_EXIT_FAILURE;
		sqlite3_bind_int64(st, 1, id);
		step = sqlite3_step(st);
		if (step == SQLITE_ROW)
			snprintf(state, sizeof state, "%s", sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		if (step != SQLITE_ROW && step != SQLITE_DONE) {
			db_error(store, err);
			return SM_EXIT_FAILURE;
		}
		if (!*state) {
			sm_error_set(err, "unknown queue item %lld (see sm-pipeline queue)", id);
			return SM_EXIT_USAGE;
		}
		if (strcmp(state, "failed") != 0) {
			sm_error_set(err,
			             "queue item %lld is %s: only a failed item can be retried", id,
			             state);
			return SM_EXIT_FAILURE;
		}
	}
	/* A retried item starts over: a new run, routed again, since what made
	 * it fail (a definition, a channel) has presumably been fixed. */
	st = sm_store_prepare(store,
	                      "UPDATE inbox SET state = 'pending', attempts = 0, error = '',"
	                      " run_id = NULL, definition = NULL, next_attempt_at = NULL,"
	                      " claimed_by = NULL, claimed_at = NULL"
	                      " WHERE state = 'failed' AND (?1 = 0 OR id = ?1)",
	                      err);
	if (!st)
		return SM_EXIT_FAILURE;
	sqlite3_bind_int64(st, 1, id);
	step = sqlite3_step(st);
	sqlite3_finalize(st);
	if (step != SQLITE_DONE) {
		db_error(store, err);
		return SM_EXIT_FAILURE;
	}
	*count = sqlite3_changes(sm_store_db(store));
	if (*count > 0)
		sm_inbox_wake(store);
	return SM_EXIT_OK;
}

static json_t *text_or_null(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	return s && *s ? json_string((const char *)s) : json_null();
}

int sm_inbox_list(sm_store *store, const char *status, long limit, json_t **out, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(
	    store,
	    "SELECT id, state, trace_id, run_id, definition, attempts, error, created_at,"
	    " claimed_by, claimed_at, next_attempt_at FROM inbox WHERE ?1 IS NULL OR state = ?1"
	    " ORDER BY id DESC LIMIT ?2",
	    err);
	int step;

	*out = NULL;
	if (!st)
		return SM_EXIT_FAILURE;
	if (status)
		sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
	*out = json_array();
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_object();
		json_object_set_new(o, "id", json_integer(sqlite3_column_int64(st, 0)));
		json_object_set_new(o, "status", text_or_null(st, 1));
		json_object_set_new(o, "trace_id", text_or_null(st, 2));
		json_object_set_new(o, "run_id", text_or_null(st, 3));
		json_object_set_new(o, "definition", text_or_null(st, 4));
		json_object_set_new(o, "attempts", json_integer(sqlite3_column_int64(st, 5)));
		json_object_set_new(o, "error", text_or_null(st, 6));
		json_object_set_new(o, "created_at", text_or_null(st, 7));
		json_object_set_new(o, "claimed_by", text_or_null(st, 8));
		json_object_set_new(o, "claimed_at", text_or_null(st, 9));
		json_object_set_new(o, "next_attempt_at", text_or_null(st, 10));
		json_array_append_new(*out, o);
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE) {
		json_decref(*out);
		*out = NULL;
		db_error(store, err);
		return SM_EXIT_FAILURE;
	}
	return SM_EXIT_OK;
}

long long sm_inbox_depth(sm_store *store)
{
	sqlite3_stmt *st = sm_store_prepare(
	    store, "SELECT count(*) FROM inbox WHERE state = 'pending' OR state = 'claimed'", NULL);
	long long n = -1;

	if (st && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

double sm_inbox_next_due(sm_store *store)
{
	/* Kept: asked after every batch, and a statement prepared anew reads
	 * the schema's page in a read transaction of its own. */
	sqlite3_stmt *st =
	    sm_store_prepare_kept(store,
	                          "SELECT count(*), min(coalesce(next_attempt_at, '')) "
	                          "FROM inbox WHERE state = 'pending'",
	                          NULL);
	double s = -1;

	if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0) {
		struct timespec due, now;
		const char *at = (const char *)sqlite3_column_text(st, 1);
		s = 0;
		clock_gettime(CLOCK_REALTIME, &now);
		if (at && *at && sm_rfc3339_parse(at, &due) == 1) {
			double d = (double)(due.tv_sec - now.tv_sec) +
			           (double)(due.tv_nsec - now.tv_nsec) / 1e9;
			s = d > 0 ? d : 0;
		}
	}
	/* Reset at once: a kept statement left active holds its read
	 * transaction open. */
	if (st)
		sqlite3_reset(st);
	return s;
}

void sm_inbox_wake_path(const sm_store *store, char *buf, size_t size)
{
	snprintf(buf, size, "%s-wake", sm_store_path(store));
}

void sm_inbox_wake(const sm_store *store)
{
	char path[4200];

	sm_inbox_wake_path(store, path, sizeof path);
	/* Touching the file is the whole message; errors are the fallback
	 * poll's to cover. */
	(void)utimensat(AT_FDCWD, path, NULL, 0);
}
