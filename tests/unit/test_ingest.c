/* test_ingest.c - the store rules of the alert write path, on a real
 * SQLite file: dedup, grouping, escalation, incremental resolve, refire,
 * history, and the envelopes each write produces. */
#include <unistd.h>
#include "testutil.h"
#include "sm/envelope.h"
#include "sm/ingest.h"
#include "sm/listing.h"

static const char *dir, *path;
static sm_store *store;
static sm_ingest *writer;

static int setup(void **state)
{
	sm_error err;

	(void)state;
	dir = scratch_make("sm-ingest");
	path = scratch_db();
	if (sm_store_open(path, &store, &err) < 0)
		return -1;
	writer = sm_ingest_new(store, &err);
	return writer ? 0 : -1;
}

static int teardown(void **state)
{
	sm_ingest_free(writer);
	sm_store_close(store);
	return scratch_remove(state);
}

/* One alert: name, instance label, severity, resolved; fingerprint from
 * name + instance so repeats deduplicate. */
struct spec {
	const char *name, *instance, *severity;
	bool resolved;
};

/* Ingest the alerts in one transaction; returns the envelopes. */
static json_t *ingest(const char *source, const struct spec *specs, size_t n)
{
	sm_alert_batch b = {0};
	json_t *envs = json_array();
	sm_error err;

	snprintf(b.source, sizeof b.source, "%s", source);
	for (size_t i = 0; i < n; i++) {
		sm_alert *a = sm_batch_add(&b);
		char fp[128];
		snprintf(fp, sizeof fp, "%s-%s", specs[i].name,
		         specs[i].instance ? specs[i].instance : "");
		sm_alert_set_fingerprint(a, fp);
		sm_alert_set_name(a, specs[i].name);
		a->severity = sm_severity_normalize(specs[i].severity);
		a->resolved = specs[i].resolved;
		if (specs[i].instance)
			sm_alert_label(a, "instance", specs[i].instance);
	}
	assert_int_equal(sm_batch_finish(&b, false, &err), 0);
	assert_int_equal(sm_store_begin(store, &err), 0);
	if (sm_ingest_apply(writer, &b, "0123456789abcdef0123456789abcdef", envs, &err) < 0)
		fail_msg("apply: %s", err.msg);
	assert_int_equal(sm_store_commit(store, &err), 0);
	sm_batch_clear(&b);
	return envs;
}

static long long scalar(const char *sql)
{
	sqlite3_stmt *st = sm_store_prepare(store, sql, NULL);
	long long v = -1;

	assert_non_null(st);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static const char *env_str(json_t *envs, size_t i, const char *section, const char *key)
{
	json_t *env = json_array_get(envs, i), *part = json_object_get(env, section);

	if (json_is_array(part))
		part = json_array_get(part, 0);
	return json_string_value(json_object_get(part, key));
}

static void lifecycle(void **state)
{
	const struct spec fire = {"DiskFull", "db-01", "warning", false};
	const struct spec crit = {"DiskFull", "db-01", "critical", false};
	const struct spec ok = {"DiskFull", "db-01", "warning", true};
	json_t *e;
	long long history;

	(void)state;
	e = ingest("alertmanager", &fire, 1); /* create */
	assert_int_equal(json_array_size(e), 1);
	assert_string_equal(env_str(e, 0, "alerts", "change"), "created");
	assert_string_equal(env_str(e, 0, "incident", "change"), "created");
	assert_string_equal(env_str(e, 0, "incident", "title"), "DiskFull on db-01");
	assert_string_equal(env_str(e, 0, "incident", "status"), "open");
	json_decref(e);
	e = ingest("alertmanager", &fire, 1); /* repeat: no new rows */
	assert_string_equal(env_str(e, 0, "alerts", "change"), "unchanged");
	assert_string_equal(env_str(e, 0, "incident", "change"), "unchanged");
	json_decref(e);
	assert_int_equal(scalar("SELECT count(*) FROM alerts"), 1);
	assert_int_equal(scalar("SELECT count(*) FROM alert_history"), 1);
	e = ingest("alertmanager", &crit, 1); /* escalation */
	assert_string_equal(env_str(e, 0, "alerts", "change"), "updated");
	assert_string_equal(env_str(e, 0, "incident", "change"), "escalated");
	assert_string_equal(env_str(e, 0, "incident", "severity"), "critical");
	assert_string_equal(env_str(e, 0, "incident", "previous_severity"), "warning");
	json_decref(e);
	e = ingest("alertmanager", &fire, 1); /* severity falls on the alert, never the incident */
	assert_string_equal(env_str(e, 0, "incident", "severity"), "critical");
	json_decref(e);
	e = ingest("alertmanager", &ok, 1); /* resolve: the incident resolves */
	assert_string_equal(env_str(e, 0, "alerts", "change"), "resolved");
	assert_string_equal(env_str(e, 0, "alerts", "status"), "resolved");
	assert_string_equal(env_str(e, 0, "incident", "status"), "resolved");
	assert_string_equal(env_str(e, 0, "incident", "change"), "resolved");
	assert_non_null(env_str(e, 0, "alerts", "ended_at"));
	json_decref(e);
	history = scalar("SELECT count(*) FROM alert_history");
	e = ingest("alertmanager", &ok, 1); /* resolved repeat: nothing written */
	assert_string_equal(env_str(e, 0, "alerts", "change"), "unchanged");
	json_decref(e);
	assert_int_equal(scalar("SELECT count(*) FROM alert_history"), history);
	e = ingest("alertmanager", &fire, 1); /* refire: the incident reopens */
	assert_string_equal(env_str(e, 0, "alerts", "change"), "refired");
	assert_string_equal(env_str(e, 0, "incident", "change"), "reopened");
	assert_string_equal(env_str(e, 0, "incident", "status"), "open");
	assert_string_equal(env_str(e, 0, "incident", "severity"), "warning");
	json_decref(e);
	assert_int_equal(scalar("SELECT count(*) FROM incidents"), 1);
	assert_int_equal(scalar("SELECT count(*) FROM alert_history WHERE change = 'refired'"), 1);
	/* Every change was one history row: created, updated ×2, resolved, refired. */
	assert_int_equal(scalar("SELECT count(*) FROM alert_history"), 5);
}

static void grouping_and_partial_resolve(void **state)
{
	const struct spec two[] = {{"HighLoad", "web-01", "warning", false},
	                           {"HighLoad", "web-02", "warning", false}};
	const struct spec same_host[] = {{"HighLoad", "web-01", "warning", false}};
	const struct spec noinstance[] = {{"Backup", NULL, "info", false}};
	json_t *e;

	(void)state;
	e = ingest("grafana", two, 2); /* two hosts: two incidents, two envelopes */
	assert_int_equal(json_array_size(e), 2);
	assert_string_not_equal(env_str(e, 0, "incident", "title"),
	                        env_str(e, 1, "incident", "title"));
	json_decref(e);
	/* Another source with the same name and instance joins the open incident. */
	e = ingest("alertmanager", same_host, 1);
	assert_string_equal(env_str(e, 0, "incident", "change"), "updated");
	assert_int_equal(scalar("SELECT count(*) FROM incidents WHERE title LIKE 'HighLoad%'"), 2);
	assert_int_equal(
	    scalar("SELECT count(*) FROM alerts WHERE incident_id = (SELECT incident_id"
	           " FROM alerts WHERE source = 'grafana' AND fingerprint = 'HighLoad-web-01')"),
	    2);
	json_decref(e);
	/* One of its two alerts resolves: the incident stays open. */
	{
		const struct spec r = {"HighLoad", "web-01", "warning", true};
		e = ingest("grafana", &r, 1);
		assert_string_equal(env_str(e, 0, "incident", "status"), "open");
		json_decref(e);
		e = ingest("alertmanager", &r, 1);
		assert_string_equal(env_str(e, 0, "incident", "status"), "resolved");
		json_decref(e);
	}
	e = ingest("generic", noinstance, 1); /* no instance label: grouped by name */
	assert_string_equal(env_str(e, 0, "incident", "title"), "Backup");
	json_decref(e);
}

static void resolved_first_sighting_and_closed(void **state)
{
	const struct spec r = {"Ghost", "x", "critical", true};
	const struct spec f = {"Ghost", "x", "critical", false};
	sm_error err;
	json_t *e, *inc;
	long long first;

	(void)state;
	e = ingest("generic", &r, 1); /* stored resolved, no incident */
	assert_int_equal(json_array_size(e), 1);
	assert_true(json_is_null(json_object_get(json_array_get(e, 0), "incident")));
	assert_string_equal(env_str(e, 0, "alerts", "status"), "resolved");
	json_decref(e);
	assert_int_equal(
	    scalar("SELECT count(*) FROM alerts WHERE name = 'Ghost' AND incident_id IS NULL"), 1);
	e = ingest("generic", &f, 1); /* it fires: a new incident */
	assert_string_equal(env_str(e, 0, "alerts", "change"), "refired");
	inc = json_object_get(json_array_get(e, 0), "incident");
	first = json_integer_value(json_object_get(inc, "id"));
	json_decref(e);
	/* Managed by hand: ack, then close; a refire after close starts anew. */
	assert_int_equal(sm_incident_set_status(store, first, "ack", &err), 1);
	assert_int_equal(sm_incident_set_status(store, first, "ack", &err), 0);
	assert_int_equal(sm_incident_set_status(store, first, "close", &err), 1);
	assert_int_equal(sm_incident_set_status(store, 999999, "close", &err), -1);
	assert_string_equal(err.msg, "no incident 999999");
	assert_int_equal(sm_incident_set_status(store, first, "explode", &err), -1);
	e = ingest("generic", &r, 1);
	json_decref(e);
	e = ingest("generic", &f, 1);
	inc = json_object_get(json_array_get(e, 0), "incident");
	assert_true(json_integer_value(json_object_get(inc, "id")) != first);
	assert_string_equal(json_string_value(json_object_get(inc, "change")), "created");
	json_decref(e);
}

static void local_ok_creates_nothing(void **state)
{
	sm_alert_batch b = {0};
	json_t *envs = json_array(), *payload;
	const sm_driver *local = sm_driver_find("local");
	sm_error err;
	long long before = scalar("SELECT count(*) FROM alerts");

	(void)state;
	payload = json_pack("{s:i,s:s,s:[{s:s,s:s,s:s}]}", "v", 1, "host", "h1", "checks",
	                    "checker", "memory", "status", "ok", "message", "fine");
	assert_int_equal(sm_driver_parse(local, payload, NULL, &b, &err), 0);
	assert_int_equal(sm_store_begin(store, &err), 0);
	assert_int_equal(
	    sm_ingest_apply(writer, &b, "0123456789abcdef0123456789abcdef", envs, &err), 0);
	assert_int_equal(sm_store_commit(store, &err), 0);
	assert_int_equal(json_array_size(envs), 0);
	assert_int_equal(scalar("SELECT count(*) FROM alerts"), before);
	sm_batch_clear(&b);
	json_decref(envs);
	json_decref(payload);
}

static void listing(void **state)
{
	json_t *rows;
	sm_error err;
	long long total;
	sm_listing_filter open = {.status = "open"}, two = {.limit = 2};

	(void)state;
	assert_int_equal(sm_listing_rows(store, "incidents", &open, &rows, &total, &err), 0);
	assert_true(json_array_size(rows) >= 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "status")),
	                    "open");
	json_decref(rows);
	assert_int_equal(sm_listing_rows(store, "alerts", &two, &rows, &total, &err), 0);
	assert_int_equal(json_array_size(rows), 2);
	assert_true(json_is_object(json_object_get(json_array_get(rows, 0), "labels")));
	json_decref(rows);
	assert_int_equal(sm_listing_rows(store, "secrets", &two, &rows, &total, &err), -1);
	{
		sqlite3_stmt *st = sm_store_prepare(store, "PRAGMA integrity_check", NULL);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
		sqlite3_finalize(st);
	}
}

/* A writer that stays open between commits (a batch, the FastCGI
 * responder) must not keep a read snapshot: when another process writes in
 * between, its next BEGIN IMMEDIATE would fail at once with SQLITE_BUSY. */
static void no_snapshot_kept_between_commits(void **state)
{
	static const struct spec first[] = {{"Kept", "a", "warning", false}};
	static const struct spec again[] = {{"Kept", "a", "critical", false}};
	sm_store *other;
	sm_error err;
	json_t *envs;

	(void)state;
	json_decref(ingest("alertmanager", first, 1));
	assert_int_equal(sm_store_open(path, &other, &err), 0);
	assert_int_equal(sm_store_begin(other, &err), 0);
	assert_int_equal(sm_store_exec(other, "UPDATE incidents SET title = title || '!'", &err),
	                 0);
	assert_int_equal(sm_store_commit(other, &err), 0);
	sm_store_close(other);
	envs = ingest("alertmanager", again, 1); /* asserts its BEGIN works */
	assert_int_equal(json_array_size(envs), 1);
	json_decref(envs);
}

/* The key names and order of an object, as one string. */
static void keys_of(json_t *o, char *buf, size_t size)
{
	const char *key;
	json_t *v;
	size_t used = 0;

	buf[0] = '\0';
	json_object_foreach(o, key, v)
	{
		(void)v;
		used += (size_t)snprintf(buf + used, size - used, "%s ", key);
	}
}

/* The envelopes are printed as text, not built with sm_envelope_new: their
 * keys, in order, are still the ones the envelope functions make, and the
 * text is what sm_json_dump prints for the parsed envelope. */
static void envelope_text_matches_the_envelope_functions(void **state)
{
	struct spec one[] = {{"Disk", "db-9", "critical", false}};
	json_t *envs = ingest("alertmanager", one, 1), *env = json_array_get(envs, 0);
	json_t *ref = sm_envelope_new("alertmanager", "0123456789abcdef0123456789abcdef");
	char got[256], want[256];
	sm_alert_batch b = {0};
	sm_text text = {0};
	sm_error err;
	char *printed;

	(void)state;
	json_object_set_new(ref, "incident", json_null());
	json_object_set_new(ref, "alerts", json_array());
	sm_envelope_add_stage(ref, "ingest", "ok", "2026-01-01T00:00:00.000Z", 0.5, NULL);
	keys_of(env, got, sizeof got);
	keys_of(ref, want, sizeof want);
	assert_string_equal(got, want);
	keys_of(json_array_get(json_object_get(env, "stages"), 0), got, sizeof got);
	keys_of(json_array_get(json_object_get(ref, "stages"), 0), want, sizeof want);
	assert_string_equal(got, want);
	keys_of(json_object_get(env, "incident"), got, sizeof got);
	assert_string_equal(got, "id title status severity source created_at updated_at "
	                         "acknowledged_at resolved_at closed_at change ");
	keys_of(json_array_get(json_object_get(env, "alerts"), 0), got, sizeof got);
	assert_string_equal(got, "id fingerprint name status severity description labels "
	                         "annotations started_at ended_at change flapping ");

	/* The text itself: one line per envelope, exactly sm_json_dump's. */
	snprintf(b.source, sizeof b.source, "alertmanager");
	sm_alert_set_fingerprint(sm_batch_add(&b), "text-1");
	sm_alert_label(&b.items[0], "instance", "h\xc3\xa9\"1\"");
	assert_int_equal(sm_batch_finish(&b, false, &err), 0);
	assert_int_equal(sm_store_begin(store, &err), 0);
	assert_int_equal(
	    sm_ingest_apply_text(writer, &b, "0123456789abcdef0123456789abcdef", &text, &err), 0);
	assert_int_equal(sm_store_commit(store, &err), 0);
	assert_non_null(strchr(text.p, '\n'));
	assert_int_equal(strchr(text.p, '\n') - text.p + 1, (long)text.len);
	env = sm_json_parse(text.p, text.len - 1, 0, NULL);
	assert_non_null(env);
	printed = sm_json_dump(env, NULL);
	assert_memory_equal(printed, text.p, text.len - 1);
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_object_get(json_array_get(json_object_get(env, "alerts"), 0), "labels"),
	        "instance")),
	    "h\xc3\xa9\"1\"");
	free(printed);
	free(text.p);
	json_decref(env);
	sm_batch_clear(&b);
	json_decref(ref);
	json_decref(envs);
}

/* The change decision, row by row: what is stored and what came in, and
 * what the write path must do. */
static void change_decision_table(void **state)
{
	enum {
		K = 1,
		F = 2,
		S = 4,
		I = 8,
		R = 16,
		C = 32
	}; /* known firing same incident resolved create */
	static const struct {
		int in;
		enum sm_change change;
		enum sm_incident_step incident;
		bool write, keep_severity, incident_updated;
	} rows[] = {
	    /* never seen */
	    {0, SM_CHANGE_CREATED, SM_INCIDENT_ATTACH, true, false, false},
	    {R, SM_CHANGE_SKIPPED, SM_INCIDENT_NONE, false, false, false},
	    {R | C, SM_CHANGE_CREATED, SM_INCIDENT_NONE, true, false, false},
	    /* firing, reported firing */
	    {K | F | S | I, SM_CHANGE_UNCHANGED, SM_INCIDENT_KEEP, false, false, false},
	    {K | F | I, SM_CHANGE_UPDATED, SM_INCIDENT_KEEP, true, false, true},
	    {K | F | S, SM_CHANGE_UPDATED, SM_INCIDENT_ATTACH, true, false, false},
	    {K | F, SM_CHANGE_UPDATED, SM_INCIDENT_ATTACH, true, false, false},
	    /* firing, reported resolved: the severity it had stays */
	    {K | F | I | R, SM_CHANGE_RESOLVED, SM_INCIDENT_RESOLVE, true, true, false},
	    {K | F | S | I | R, SM_CHANGE_RESOLVED, SM_INCIDENT_RESOLVE, true, true, false},
	    {K | F | R, SM_CHANGE_RESOLVED, SM_INCIDENT_NONE, true, true, false},
	    /* resolved, reported resolved again: nothing */
	    {K | I | R, SM_CHANGE_UNCHANGED, SM_INCIDENT_NONE, false, false, false},
	    {K | R | C, SM_CHANGE_UNCHANGED, SM_INCIDENT_NONE, false, false, false},
	    /* resolved, reported firing */
	    {K | I, SM_CHANGE_REFIRED, SM_INCIDENT_REOPEN, true, false, false},
	    {K | S | I, SM_CHANGE_REFIRED, SM_INCIDENT_REOPEN, true, false, false},
	    {K, SM_CHANGE_REFIRED, SM_INCIDENT_REOPEN, true, false, false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		int b = rows[i].in;
		sm_change_in in = {b & K, b & F, b & S, b & I, b & R, b & C};
		sm_change_out out = sm_ingest_decide(&in);
		if (out.change != rows[i].change || out.incident != rows[i].incident ||
		    out.write != rows[i].write || out.keep_severity != rows[i].keep_severity ||
		    out.incident_updated != rows[i].incident_updated)
			fail_msg("row %zu: got %s/%d/%d/%d/%d", i, sm_change_name(out.change),
			         out.incident, out.write, out.keep_severity, out.incident_updated);
	}
	assert_string_equal(sm_change_name(SM_CHANGE_REFIRED), "refired");
}

/* Severity moves: an incident's severity only rises while alerts join or
 * stay, starts again at the alert's on a reopen, and a resolve leaves it. */
static void incident_severity_moves(void **state)
{
	enum sm_severity c = SM_SEVERITY_CRITICAL, w = SM_SEVERITY_WARNING, n = SM_SEVERITY_INFO;

	(void)state;
	assert_int_equal(sm_ingest_incident_severity(SM_INCIDENT_KEEP, w, c), c);
	assert_int_equal(sm_ingest_incident_severity(SM_INCIDENT_KEEP, c, n), c);
	assert_int_equal(sm_ingest_incident_severity(SM_INCIDENT_ATTACH, n, w), w);
	assert_int_equal(sm_ingest_incident_severity(SM_INCIDENT_ATTACH, c, w), c);
	assert_int_equal(sm_ingest_incident_severity(SM_INCIDENT_REOPEN, c, n), n);
	assert_int_equal(sm_ingest_incident_severity(SM_INCIDENT_RESOLVE, w, c), w);
	assert_int_equal(sm_ingest_incident_severity(SM_INCIDENT_NONE, w, c), w);
}

static int statements(void)
{
	int n = 0;

	for (sqlite3_stmt *st = sqlite3_next_stmt(sm_store_db(store), NULL); st;
	     st = sqlite3_next_stmt(sm_store_db(store), st))
		n++;
	return n;
}

/* A writer parses a statement when it first needs it (a CGI request uses
 * a few of them once), and a statement that cannot be prepared fails the
 * apply with the store's message. */
static void statements_prepared_on_first_use(void **state)
{
	sm_alert_batch b = {0};
	json_t *envs = json_array();
	sm_ingest *w;
	sm_alert *a;
	sm_error err;
	int before = statements();

	(void)state;
	w = sm_ingest_new(store, &err);
	assert_non_null(w);
	assert_int_equal(statements(), before);
	snprintf(b.source, sizeof b.source, "%s", "generic");
	a = sm_batch_add(&b);
	sm_alert_set_fingerprint(a, "lazy-1");
	sm_alert_set_name(a, "Lazy");
	assert_int_equal(sm_batch_finish(&b, false, &err), 0);
	assert_int_equal(sm_store_begin(store, &err), 0);
	assert_int_equal(
	    sm_store_exec(store, "ALTER TABLE alert_history RENAME TO alert_history_gone", &err),
	    0);
	assert_int_equal(sm_ingest_apply(w, &b, "0123456789abcdef0123456789abcdef", envs, &err),
	                 -1);
	assert_non_null(strstr(err.msg, "alert_history"));
	sm_store_rollback(store);
	json_array_clear(envs);
	assert_int_equal(sm_store_begin(store, &err), 0);
	assert_int_equal(sm_ingest_apply(w, &b, "0123456789abcdef0123456789abcdef", envs, &err), 0);
	assert_int_equal(sm_store_commit(store, &err), 0);
	assert_true(statements() > before);
	sm_batch_clear(&b);
	json_decref(envs);
	sm_ingest_free(w);
	assert_int_equal(statements(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(change_decision_table),
	    cmocka_unit_test(incident_severity_moves),
	    cmocka_unit_test(lifecycle),
	    cmocka_unit_test(grouping_and_partial_resolve),
	    cmocka_unit_test(resolved_first_sighting_and_closed),
	    cmocka_unit_test(local_ok_creates_nothing),
	    cmocka_unit_test(listing),
	    cmocka_unit_test(no_snapshot_kept_between_commits),
	    cmocka_unit_test(envelope_text_matches_the_envelope_functions),
	    cmocka_unit_test(statements_prepared_on_first_use),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
