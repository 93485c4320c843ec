/* noise.c - silences, inhibit rules and maintenance windows in the store:
 * add, list, expire or remove, each request and result JSON so the
 * command line and an HTTP handler share them. What the rows mean to a
 * notification is notify_noise.c's business. */
#include <stdlib.h>
#include <string.h>

#include "notify_private.h"
#include "sm/config.h"
#include "sm/json.h"
#include "sm/matcher.h"
#include "sm/noise.h"
#include "sm/rfc3339.h"
#include "sm/trace.h"

/* How a result column becomes a JSON member. */
enum col_kind { COL_TEXT, COL_JSON, COL_INT };

struct col {
	const char *name;
	enum col_kind kind;
};

static const struct col silence_cols[] = {
    {"id", COL_TEXT},         {"matchers", COL_JSON},   {"starts_at", COL_TEXT},
    {"ends_at", COL_TEXT},    {"comment", COL_TEXT},    {"author", COL_TEXT},
    {"created_at", COL_TEXT}, {"updated_at", COL_TEXT}, {"held_back", COL_INT},
};
#define SILENCE_SELECT                                                                             \
	"SELECT id, matchers, starts_at, ends_at, comment, author, created_at, updated_at,"        \
	" (SELECT count(*) FROM notification_deliveries d WHERE d.status = 'skipped'"              \
	"  AND d.reason = 'silenced by ' || s.id)"                                                 \
	" FROM silences s"

static const struct col inhibit_cols[] = {
    {"id", COL_TEXT},    {"source", COL_JSON},     {"target", COL_JSON},
    {"equal", COL_JSON}, {"created_at", COL_TEXT},
};
#define INHIBIT_SELECT                                                                             \
	"SELECT id, source_matchers, target_matchers, equal, created_at FROM inhibit_rules"

static const struct col window_cols[] = {
    {"id", COL_TEXT},      {"matchers", COL_JSON},   {"schedule", COL_TEXT}, {"tz", COL_TEXT},
    {"comment", COL_TEXT}, {"created_at", COL_TEXT}, {"held_back", COL_INT},
};
#define WINDOW_SELECT                                                                              \
	"SELECT id, matchers, schedule, tz, comment, created_at,"                                  \
	" (SELECT count(*) FROM notification_deliveries d WHERE d.status = 'skipped'"              \
	"  AND d.reason = 'maintenance ' || w.id)"                                                 \
	" FROM maintenance_windows w"

/* The rows of st (its parameters bound) as objects, each shaped by fix
 * when given. Finalizes st. */
static int rows(sm_store *store, sqlite3_stmt *st, const struct col *cols, size_t ncols,
                void (*fix)(json_t *row, const char *now), json_t **out, sm_error *err)
{
	char now[SM_RFC3339_LEN];
	json_t *list = json_array();
	int step;

	sm_rfc3339_now(now, false);
	while (list && (step = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *row = json_object();
		for (size_t i = 0; row && i < ncols; i++) {
			const char *text = (const char *)sqlite3_column_text(st, (int)i);
			json_t *v =
			    cols[i].kind == COL_INT ? json_integer(sqlite3_column_int64(st, (int)i))
			    : cols[i].kind == COL_JSON ? json_loads(text ? text : "[]", 0, NULL)
			                               : sm_json_string(text ? text : "");
			json_object_set_new(row, cols[i].name, v ? v : json_array());
		}
		if (row && fix)
			fix(row, now);
		json_array_append_new(list, row);
	}
	if (!list || step != SQLITE_DONE) {
		sm_error_set(err, "cannot read the store: %s", sqlite3_errmsg(sm_store_db(store)));
		sqlite3_finalize(st);
		json_decref(list);
		return SM_EXIT_FAILURE;
	}
	sqlite3_finalize(st);
	*out = list;
	return SM_EXIT_OK;
}

/* The one row of sql with ?1 the id, or SM_EXIT_USAGE naming what. */
static int row_by_id(sm_store *store, const char *sql, const struct col *cols, size_t ncols,
                     void (*fix)(json_t *, const char *), const char *what, const char *id,
                     json_t **out, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(store, sql, err);
	json_t *list;
	int rc;

	if (!st)
		return SM_EXIT_FAILURE;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((rc = rows(store, st, cols, ncols, fix, &list, err)) != SM_EXIT_OK)
		return rc;
	if (json_array_size(list) == 0) {
		json_decref(list);
		sm_error_set_kind(err, SM_ERROR_USAGE, "no %s '%.64s'", what, id);
		return SM_EXIT_USAGE;
	}
	*out = json_incref(json_array_get(list, 0));
	json_decref(list);
	return SM_EXIT_OK;
}

/* A random version 4 UUID. */
static int new_id(char out[37], sm_error *err)
{
	char hex[SM_TRACE_LEN + 1];

	if (sm_trace_new(hex) < 0) {
		sm_error_set(err, "no randomness for an id");
		return -1;
	}
	hex[12] = '4';
	hex[16] = "89ab"[hex[16] % 4];
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	return 0;
}

/* request's member key as a string: *v stays def when absent or null;
 * -1 with err (data) when it is another type. */
static int member_str(json_t *request, const char *key, const char **v, sm_error *err)
{
	json_t *m = json_object_get(request, key);

	if (!m || json_is_null(m))
		return 0;
	if (!json_is_string(m)) {
		sm_error_set_kind(err, SM_ERROR_DATA, "%s must be a string", key);
		return -1;
	}
	*v = json_string_value(m);
	return 0;
}

static int request_ok(json_t *request, sm_error *err)
{
	if (json_is_object(request))
		return 0;
	sm_error_set_kind(err, SM_ERROR_DATA, "the request must be a JSON object");
	return -1;
}

/* Matchers from request's member key into list: at least one; with
 * not_all_empty, one that does not match the empty string (a silence of
 * everything is a mistake, as Alertmanager holds). */
static int member_matchers(json_t *request, const char *key, bool not_all_empty, sm_matchers *list,
                           sm_error *err)
{
	json_t *empty = json_object(), *given = json_object_get(request, key);
	bool all_empty = true;

	if (given && sm_matchers_from_json(list, given, err) < 0) {
		json_decref(empty);
		return -1;
	}
	for (size_t i = 0; i < list->count; i++)
		all_empty = all_empty && sm_matcher_matches(&list->items[i], empty);
	json_decref(empty);
	if (list->count == 0) {
		sm_error_set_kind(err, SM_ERROR_USAGE, "%s: at least one matcher is needed", key);
		return -1;
	}
	if (not_all_empty && all_empty) {
		sm_error_set_kind(err, SM_ERROR_USAGE,
		                  "%s: at least one matcher must not match the empty string", key);
		return -1;
	}
	return 0;
}

/* Bind the canonical JSON text of list at index i of st. */
static int bind_matchers(sqlite3_stmt *st, int i, const sm_matchers *list)
{
	json_t *a = sm_matchers_to_json(list);
	char *text = a ? sm_json_dumps(a, SM_JSON_FLAGS) : NULL;

	json_decref(a);
	if (!text)
		return -1;
	sqlite3_bind_text(st, i, text, -1, free);
	return 0;
}

/* Run an insert or update whose parameters are bound; finalizes st. */
static int write_row(sm_store *store, sqlite3_stmt *st, sm_error *err)
{
	int step = sqlite3_step(st);

	sqlite3_finalize(st);
	if (step != SQLITE_DONE) {
		sm_error_set(err, "cannot write the store: %s", sqlite3_errmsg(sm_store_db(store)));
		return SM_EXIT_FAILURE;
	}
	return SM_EXIT_OK;
}

/* --- silences ------------------------------------------------------------ */

static void silence_state(json_t *row, const char *now)
{
	const char *starts = json_string_value(json_object_get(row, "starts_at")),
	           *ends = json_string_value(json_object_get(row, "ends_at"));
	const char *state = strcmp(ends, now) <= 0    ? "expired"
	                    : strcmp(starts, now) > 0 ? "pending"
	                                              : "active";

	json_object_set_new(row, "state", json_string(state));
}

/* A time member, RFC 3339, into *ts; absent: left alone. */
static int member_time(json_t *request, const char *key, struct timespec *ts, bool *given,
                       sm_error *err)
{
	const char *text = NULL;

	*given = false;
	if (member_str(request, key, &text, err) < 0)
		return -1;
	if (!text)
		return 0;
	if (sm_rfc3339_parse(text, ts) != 1) {
		sm_error_set_kind(err, SM_ERROR_USAGE, "%s: '%.64s' is not an RFC 3339 time", key,
		                  text);
		return -1;
	}
	*given = true;
	return 0;
}

int sm_noise_silence_add(sm_store *store, json_t *request, json_t **out, sm_error *err)
{
	sm_matchers list = {0};
	struct timespec now, start, end = {0};
	const char *duration = NULL, *comment = "", *author = "";
	char id[37], starts[SM_RFC3339_LEN], ends[SM_RFC3339_LEN], at[SM_RFC3339_LEN];
	bool start_given, end_given;
	double seconds;
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	clock_gettime(CLOCK_REALTIME, &now);
	now.tv_nsec = 0;
	start = now;
	if (request_ok(request, err) < 0 ||
	    member_matchers(request, "matchers", true, &list, err) < 0 ||
	    member_time(request, "starts_at", &start, &start_given, err) < 0 ||
	    member_time(request, "ends_at", &end, &end_given, err) < 0 ||
	    member_str(request, "duration", &duration, err) < 0 ||
	    member_str(request, "comment", &comment, err) < 0 ||
	    member_str(request, "author", &author, err) < 0)
		goto fail;
	if (end_given && duration) {
		sm_error_set_kind(err, SM_ERROR_USAGE, "give an end or a duration, not both");
		goto fail;
	}
	if (!end_given) {
		if (sm_config_duration(duration ? duration : SM_NOISE_DEFAULT_DURATION, &seconds) <
		        0 ||
		    seconds < 1) {
			sm_error_set_kind(err, SM_ERROR_USAGE,
			                  "duration: '%.64s' is not a duration (90s, 15m, 4h, 7d)",
			                  duration);
			goto fail;
		}
		end.tv_sec = start.tv_sec + (time_t)seconds;
	}
	start.tv_nsec = end.tv_nsec = 0;
	if (end.tv_sec <= start.tv_sec) {
		sm_error_set_kind(err, SM_ERROR_USAGE, "the end is not after the start");
		goto fail;
	}
	if (end.tv_sec <= now.tv_sec) {
		sm_error_set_kind(err, SM_ERROR_USAGE, "the end is in the past");
		goto fail;
	}
	if (new_id(id, err) < 0)
		goto fail_store;
	sm_rfc3339_format(starts, &start, false);
	sm_rfc3339_format(ends, &end, false);
	sm_rfc3339_format(at, &now, false);
	st = sm_store_prepare(store,
	                      "INSERT INTO silences (id, matchers, starts_at, ends_at, comment,"
	                      " author, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	                      err);
	if (!st)
		goto fail_store;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (bind_matchers(st, 2, &list) < 0) {
		sqlite3_finalize(st);
		sm_error_set(err, "out of memory");
		goto fail_store;
	}
	sqlite3_bind_text(st, 3, starts, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, ends, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, comment, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, author, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, at, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, at, -1, SQLITE_STATIC);
	sm_matchers_clear(&list);
	if ((rc = write_row(store, st, err)) != SM_EXIT_OK)
		return rc;
	return sm_noise_silence_get(store, id, out, err);
fail:
	sm_matchers_clear(&list);
	return sm_error_exit(err);
fail_store:
	sm_matchers_clear(&list);
	return SM_EXIT_FAILURE;
}

int sm_noise_silence_list(sm_store *store, bool all, json_t **out, sm_error *err)
{
	char now[SM_RFC3339_LEN];
	sqlite3_stmt *st = sm_store_prepare(
	    store,
	    all ? SILENCE_SELECT " ORDER BY created_at DESC, rowid DESC"
	        : SILENCE_SELECT " WHERE ends_at > ? ORDER BY created_at DESC, rowid DESC",
	    err);

	if (!st)
		return SM_EXIT_FAILURE;
	sm_rfc3339_now(now, false);
	if (!all)
		sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
	return rows(store, st, silence_cols, sizeof silence_cols / sizeof silence_cols[0],
	            silence_state, out, err);
}

int sm_noise_silence_get(sm_store *store, const char *id, json_t **out, sm_error *err)
{
	*out = NULL;
	return row_by_id(store, SILENCE_SELECT " WHERE id = ?", silence_cols,
	                 sizeof silence_cols / sizeof silence_cols[0], silence_state, "silence", id,
	                 out, err);
}

int sm_noise_silence_expire(sm_store *store, const char *id, json_t **out, sm_error *err)
{
	char now[SM_RFC3339_LEN];
	json_t *row;
	sqlite3_stmt *st;
	int rc;

	if (out)
		*out = NULL;
	rc = sm_noise_silence_get(store, id, &row, err);
	if (rc != SM_EXIT_OK)
		return rc;
	if (notify_str_is(row, "state", "expired")) {
		json_decref(row);
		sm_error_set_kind(err, SM_ERROR_USAGE, "silence '%.64s' has expired already", id);
		return SM_EXIT_USAGE;
	}
	json_decref(row);
	sm_rfc3339_now(now, false);
	st = sm_store_prepare(store,
	                      "UPDATE silences SET ends_at = ?1, updated_at = ?1,"
	                      " starts_at = min(starts_at, ?1) WHERE id = ?2",
	                      err);
	if (!st)
		return SM_EXIT_FAILURE;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	if ((rc = write_row(store, st, err)) != SM_EXIT_OK || !out)
		return rc;
	return sm_noise_silence_get(store, id, out, err);
}

/* --- inhibit rules ------------------------------------------------------- */

static bool label_name_ok(const char *s)
{
	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

int sm_noise_inhibit_add(sm_store *store, json_t *request, json_t **out, sm_error *err)
{
	sm_matchers source = {0}, target = {0};
	json_t *equal = json_object_get(request, "equal"), *v;
	char id[37], at[SM_RFC3339_LEN], *equal_text = NULL;
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc = SM_EXIT_FAILURE;

	*out = NULL;
	if (request_ok(request, err) < 0 ||
	    member_matchers(request, "source", false, &source, err) < 0 ||
	    member_matchers(request, "target", false, &target, err) < 0)
		goto bad;
	if (equal && !json_is_array(equal)) {
		sm_error_set_kind(err, SM_ERROR_DATA, "equal must be a list of label names");
		goto bad;
	}
	json_array_foreach(equal, i, v)
	{
		if (!label_name_ok(json_string_value(v))) {
			sm_error_set_kind(err, SM_ERROR_USAGE, "equal: '%.64s' is not a label name",
			                  json_is_string(v) ? json_string_value(v) : "?");
			goto bad;
		}
	}
	equal_text = equal ? sm_json_dumps(equal, SM_JSON_FLAGS) : strdup("[]");
	if (!equal_text || new_id(id, err) < 0)
		goto done;
	sm_rfc3339_now(at, false);
	st = sm_store_prepare(store,
	                      "INSERT INTO inhibit_rules (id, source_matchers, target_matchers,"
	                      " equal, created_at) VALUES (?, ?, ?, ?, ?)",
	                      err);
	if (!st)
		goto done;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (bind_matchers(st, 2, &source) < 0 || bind_matchers(st, 3, &target) < 0) {
		sqlite3_finalize(st);
		sm_error_set(err, "out of memory");
		goto done;
	}
	sqlite3_bind_text(st, 4, equal_text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, at, -1, SQLITE_STATIC);
	if ((rc = write_row(store, st, err)) == SM_EXIT_OK)
		rc = row_by_id(store, INHIBIT_SELECT " WHERE id = ?", inhibit_cols,
		               sizeof inhibit_cols / sizeof inhibit_cols[0], NULL, "inhibit rule",
		               id, out, err);
	goto done;
bad:
	rc = sm_error_exit(err);
done:
	free(equal_text);
	sm_matchers_clear(&source);
	sm_matchers_clear(&target);
	return rc;
}

int sm_noise_inhibit_list(sm_store *store, json_t **out, sm_error *err)
{
	sqlite3_stmt *st =
	    sm_store_prepare(store, INHIBIT_SELECT " ORDER BY created_at, rowid", err);

	if (!st)
		return SM_EXIT_FAILURE;
	return rows(store, st, inhibit_cols, sizeof inhibit_cols / sizeof inhibit_cols[0], NULL,
	            out, err);
}

/* Delete the row id of table; an unknown id is SM_EXIT_USAGE. */
static int remove_row(sm_store *store, const char *sql, const char *what, const char *id,
                      sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(store, sql, err);
	int rc;

	if (!st)
		return SM_EXIT_FAILURE;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((rc = write_row(store, st, err)) != SM_EXIT_OK)
		return rc;
	if (sqlite3_changes(sm_store_db(store)) == 0) {
		sm_error_set_kind(err, SM_ERROR_USAGE, "no %s '%.64s'", what, id);
		return SM_EXIT_USAGE;
	}
	return SM_EXIT_OK;
}

int sm_noise_inhibit_remove(sm_store *store, const char *id, sm_error *err)
{
	return remove_row(store, "DELETE FROM inhibit_rules WHERE id = ?", "inhibit rule", id, err);
}

/* --- maintenance windows ------------------------------------------------- */

static void window_state(json_t *row, const char *now)
{
	sm_noise_schedule s;
	sm_error err;
	const char *schedule = json_string_value(json_object_get(row, "schedule")),
	           *tz = json_string_value(json_object_get(row, "tz"));

	(void)now;
	json_object_set_new(row, "active",
	                    json_boolean(sm_noise_schedule_parse(schedule, &s, &err) == 0 &&
	                                 sm_noise_schedule_active_at(&s, tz, time(NULL))));
}

int sm_noise_maintenance_add(sm_store *store, json_t *request, json_t **out, sm_error *err)
{
	sm_matchers list = {0};
	sm_noise_schedule s;
	const char *schedule = NULL, *tz = "", *comment = "";
	char id[37], at[SM_RFC3339_LEN];
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	if (request_ok(request, err) < 0 ||
	    member_matchers(request, "matchers", true, &list, err) < 0 ||
	    member_str(request, "schedule", &schedule, err) < 0 ||
	    member_str(request, "tz", &tz, err) < 0 ||
	    member_str(request, "comment", &comment, err) < 0)
		goto fail;
	if (!schedule) {
		sm_error_set_kind(err, SM_ERROR_USAGE, "a maintenance window needs a schedule");
		goto fail;
	}
	if (sm_noise_schedule_parse(schedule, &s, err) < 0)
		goto fail;
	if (!sm_noise_zone_valid(tz)) {
		sm_error_set_kind(err, SM_ERROR_USAGE, "tz: '%.64s' is not a time zone", tz);
		goto fail;
	}
	if (new_id(id, err) < 0) {
		sm_matchers_clear(&list);
		return SM_EXIT_FAILURE;
	}
	sm_rfc3339_now(at, false);
	st =
	    sm_store_prepare(store,
	                     "INSERT INTO maintenance_windows (id, matchers, schedule, tz, comment,"
	                     " created_at) VALUES (?, ?, ?, ?, ?, ?)",
	                     err);
	if (!st || bind_matchers(st, 2, &list) < 0) {
		if (st)
			sm_error_set(err, "out of memory");
		sqlite3_finalize(st);
		sm_matchers_clear(&list);
		return SM_EXIT_FAILURE;
	}
	sm_matchers_clear(&list);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, schedule, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, tz, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, comment, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, at, -1, SQLITE_STATIC);
	if ((rc = write_row(store, st, err)) != SM_EXIT_OK)
		return rc;
	return row_by_id(store, WINDOW_SELECT " WHERE id = ?", window_cols,
	                 sizeof window_cols / sizeof window_cols[0], window_state,
	                 "maintenance window", id, out, err);
fail:
	sm_matchers_clear(&list);
	return sm_error_exit(err);
}

int sm_noise_maintenance_list(sm_store *store, json_t **out, sm_error *err)
{
	sqlite3_stmt *st =
	    sm_store_prepare(store, WINDOW_SELECT " ORDER BY created_at, rowid", err);

	if (!st)
		return SM_EXIT_FAILURE;
	return rows(store, st, window_cols, sizeof window_cols / sizeof window_cols[0],
	            window_state, out, err);
}

int sm_noise_maintenance_remove(sm_store *store, const char *id, sm_error *err)
{
	return remove_row(store, "DELETE FROM maintenance_windows WHERE id = ?",
	                  "maintenance window", id, err);
}
