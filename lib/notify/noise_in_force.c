/* noise_in_force.c - what holds notifications back at a given moment: the
 * active silences and the open maintenance windows, for sm-pipeline status
 * (see noise.h). A file of its own, apart from noise.c: that one reaches
 * the notify decision and through it the driver table and libcurl, which
 * sm-pipeline does not link. Its rows have the shape of noise.c's
 * listings. */
#include <sqlite3.h>

#include "sm/json.h"
#include "sm/noise.h"
#include "sm/rfc3339.h"

/* What a silence or a window held back: its skipped deliveries, counted in
 * the index of skipped deliveries by reason. */
#define HELD_BACK(reason)                                                                          \
	"(SELECT count(*) FROM notification_deliveries d WHERE d.status = 'skipped'"               \
	" AND d.reason = " reason ")"

static int store_error(sm_store *store, sm_error *err)
{
	sm_error_set(err, "cannot read the store: %s", sqlite3_errmsg(sm_store_db(store)));
	return SM_EXIT_FAILURE;
}

static json_t *text_at(sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);

	return sm_json_string(s ? s : "");
}

static json_t *matchers_at(sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	json_t *v = s ? json_loads(s, 0, NULL) : NULL;

	if (json_is_array(v))
		return v;
	json_decref(v);
	return json_array();
}

/* The silences at now: counts, and the first max active ones. */
static int silences(sm_store *store, const char *now, time_t t, size_t max, json_t *out,
                    sm_error *err)
{
	/* Both read the index on ends_at: only silences not yet over. */
	sqlite3_stmt *count = sm_store_prepare(
	    store,
	    "SELECT coalesce(sum(starts_at <= ?1), 0), coalesce(sum(starts_at > ?1), 0)"
	    " FROM silences WHERE ends_at > ?1",
	    err);
	sqlite3_stmt *list =
	    count ? sm_store_prepare(
	                store,
	                "SELECT id, matchers, starts_at, ends_at, comment, author,"
	                " created_at, updated_at, " HELD_BACK(
	                    "'silenced by ' || s.id") " FROM silences s WHERE ends_at > ?1 AND "
	                                              "starts_at <= ?1"
	                                              " ORDER BY ends_at, rowid LIMIT ?2",
	                err)
	          : NULL;
	json_t *latest = json_array();
	int rc = SM_EXIT_FAILURE, step;

	json_object_set_new(out, "active", json_integer(0));
	json_object_set_new(out, "pending", json_integer(0));
	json_object_set_new(out, "latest", latest);
	if (!list)
		goto done;
	sqlite3_bind_text(count, 1, now, -1, SQLITE_STATIC);
	if (sqlite3_step(count) != SQLITE_ROW) {
		rc = store_error(store, err);
		goto done;
	}
	json_object_set_new(out, "active", json_integer(sqlite3_column_int64(count, 0)));
	json_object_set_new(out, "pending", json_integer(sqlite3_column_int64(count, 1)));
	sqlite3_bind_text(list, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(list, 2, (sqlite3_int64)max);
	while ((step = sqlite3_step(list)) == SQLITE_ROW) {
		json_t *row = json_object();
		struct timespec end;
		const char *ends = (const char *)sqlite3_column_text(list, 3);
		json_object_set_new(row, "id", text_at(list, 0));
		json_object_set_new(row, "matchers", matchers_at(list, 1));
		json_object_set_new(row, "starts_at", text_at(list, 2));
		json_object_set_new(row, "ends_at", text_at(list, 3));
		json_object_set_new(row, "remaining_seconds",
		                    ends && sm_rfc3339_parse(ends, &end) == 1 && end.tv_sec > t
		                        ? json_integer(end.tv_sec - t)
		                        : json_integer(0));
		json_object_set_new(row, "state", json_string("active"));
		json_object_set_new(row, "comment", text_at(list, 4));
		json_object_set_new(row, "author", text_at(list, 5));
		json_object_set_new(row, "created_at", text_at(list, 6));
		json_object_set_new(row, "updated_at", text_at(list, 7));
		json_object_set_new(row, "held_back", json_integer(sqlite3_column_int64(list, 8)));
		json_array_append_new(latest, row);
	}
	rc = step == SQLITE_DONE ? SM_EXIT_OK : store_error(store, err);
done:
	sqlite3_finalize(count);
	sqlite3_finalize(list);
	return rc;
}

/* The maintenance windows open at t: their count and the first max. The
 * windows are few (each one is written by hand): every schedule is read. */
static int windows(sm_store *store, time_t t, size_t max, json_t *out, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(
	    store,
	    "SELECT id, matchers, schedule, tz, comment, created_at FROM maintenance_windows"
	    " ORDER BY created_at, rowid",
	    err);
	sqlite3_stmt *held =
	    st ? sm_store_prepare(store, "SELECT " HELD_BACK("'maintenance ' || ?1"), err) : NULL;
	json_t *open = json_array();
	long long n = 0;
	int rc = SM_EXIT_FAILURE, step;

	json_object_set_new(out, "open", json_integer(0));
	json_object_set_new(out, "windows", open);
	if (!held)
		goto done;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *schedule = (const char *)sqlite3_column_text(st, 2);
		const char *tz = (const char *)sqlite3_column_text(st, 3);
		sm_noise_schedule s;
		sm_error why;
		json_t *row;
		if (!schedule || sm_noise_schedule_parse(schedule, &s, &why) < 0 ||
		    !sm_noise_schedule_active_at(&s, tz ? tz : "", t) || (size_t)n++ >= max)
			continue;
		sqlite3_reset(held);
		sqlite3_bind_text(held, 1, (const char *)sqlite3_column_text(st, 0), -1,
		                  SQLITE_TRANSIENT);
		if (sqlite3_step(held) != SQLITE_ROW)
			break;
		row = json_object();
		json_object_set_new(row, "id", text_at(st, 0));
		json_object_set_new(row, "matchers", matchers_at(st, 1));
		json_object_set_new(row, "schedule", text_at(st, 2));
		json_object_set_new(row, "tz", text_at(st, 3));
		json_object_set_new(row, "comment", text_at(st, 4));
		json_object_set_new(row, "created_at", text_at(st, 5));
		json_object_set_new(row, "active", json_true());
		json_object_set_new(row, "held_back", json_integer(sqlite3_column_int64(held, 0)));
		json_array_append_new(open, row);
	}
	json_object_set_new(out, "open", json_integer(n));
	rc = step == SQLITE_DONE ? SM_EXIT_OK : store_error(store, err);
done:
	sqlite3_finalize(st);
	sqlite3_finalize(held);
	return rc;
}

int sm_noise_in_force(sm_store *store, time_t now, size_t max, json_t **out, sm_error *err)
{
	struct timespec ts = {.tv_sec = now};
	char at[SM_RFC3339_LEN];
	json_t *o = json_object(), *s = json_object(), *m = json_object();

	*out = NULL;
	json_object_set_new(o, "silences", s);
	json_object_set_new(o, "maintenance", m);
	sm_rfc3339_format(at, &ts, false);
	if (silences(store, at, now, max, s, err) != SM_EXIT_OK ||
	    windows(store, now, max, m, err) != SM_EXIT_OK) {
		json_decref(o);
		return SM_EXIT_FAILURE;
	}
	*out = o;
	return SM_EXIT_OK;
}
