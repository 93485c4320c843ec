/* test_noise.c - silences, inhibit rules and maintenance windows in the
 * store (sm/noise.h), what they say about an envelope (notify_noise.c),
 * and where the decision puts them. */
#include "notify/notify_private.h"
#include "sm/noise.h"
#include "testutil.h"

static sm_store *open_store(void)
{
	sm_store *store;
	sm_error err;

	scratch_make("sm-noise");
	assert_int_equal(sm_store_open(at("sm.db"), &store, &err), 0);
	return store;
}

static long long count(sm_store *store, const char *table)
{
	char sql[128];
	sqlite3_stmt *st;
	long long n = -1;

	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
	st = sm_store_prepare(store, sql, NULL);
	if (st && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static json_t *load(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, 0, &jerr);

	if (!v)
		fail_msg("bad test JSON: %s: %s", jerr.text, text);
	return v;
}

/* Add a silence from request JSON text; its id into id (when given). */
static int add_silence(sm_store *store, const char *request, char *id, sm_error *err)
{
	json_t *req = load(request), *row = NULL;
	int rc = sm_noise_silence_add(store, req, &row, err);

	if (rc == SM_EXIT_OK && id)
		snprintf(id, 40, "%s", json_string_value(json_object_get(row, "id")));
	json_decref(row);
	json_decref(req);
	return rc;
}

static void remove_scratch(void)
{
	char cmd[4200];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch_root());
	assert_int_equal(system(cmd), 0);
}

/* Now by the clock silences are stamped with (time() may lag it by a
 * tick, and a silence added this second would not have started yet). */
static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

/* --- silences -------------------------------------------------------------- */

static void silences(void **state)
{
	sm_store *store = open_store();
	json_t *rows, *row;
	char id[40], pending[40];
	sm_error err;

	(void)state;
	assert_int_equal(
	    add_silence(store,
	                "{\"matchers\":[\"alertname=Disk\",\"instance=~web-.*\"],"
	                "\"duration\":\"2h\",\"comment\":\"disk swap\",\"author\":\"ann\"}",
	                id, &err),
	    SM_EXIT_OK);
	assert_int_equal(strlen(id), 36);
	assert_int_equal(id[14], '4');
	assert_int_equal(
	    add_silence(store,
	                "{\"matchers\":[\"job=x\"],\"starts_at\":\"2099-01-01T00:00:00Z\","
	                "\"ends_at\":\"2099-01-02T00:00:00+01:00\"}",
	                pending, &err),
	    SM_EXIT_OK);
	assert_int_equal(sm_noise_silence_list(store, false, &rows, &err), SM_EXIT_OK);
	assert_int_equal(json_array_size(rows), 2);
	row = json_array_get(rows, 0); /* newest first: same second, higher rowid */
	assert_string_equal(json_string_value(json_object_get(row, "id")), pending);
	assert_string_equal(json_string_value(json_object_get(row, "state")), "pending");
	assert_string_equal(json_string_value(json_object_get(row, "ends_at")),
	                    "2099-01-01T23:00:00Z");
	row = json_array_get(rows, 1);
	assert_string_equal(json_string_value(json_object_get(row, "state")), "active");
	assert_string_equal(json_string_value(json_array_get(json_object_get(row, "matchers"), 1)),
	                    "instance=~\"web-.*\"");
	assert_string_equal(json_string_value(json_object_get(row, "author")), "ann");
	assert_int_equal(json_integer_value(json_object_get(row, "held_back")), 0);
	json_decref(rows);

	assert_int_equal(sm_noise_silence_expire(store, id, &row, &err), SM_EXIT_OK);
	assert_string_equal(json_string_value(json_object_get(row, "state")), "expired");
	json_decref(row);
	assert_int_equal(sm_noise_silence_expire(store, id, NULL, &err), SM_EXIT_USAGE);
	assert_non_null(strstr(err.msg, "expired already"));
	assert_int_equal(sm_noise_silence_get(store, id, &row, &err), SM_EXIT_OK);
	assert_string_equal(json_string_value(json_object_get(row, "comment")), "disk swap");
	json_decref(row);
	assert_int_equal(sm_noise_silence_get(store, "no-such-id", &row, &err), SM_EXIT_USAGE);
	assert_null(row);
	assert_int_equal(sm_noise_silence_expire(store, "no-such-id", NULL, &err), SM_EXIT_USAGE);
	assert_string_equal(err.msg, "no silence 'no-such-id'");
	/* A pending silence expired never starts. */
	assert_int_equal(sm_noise_silence_expire(store, pending, &row, &err), SM_EXIT_OK);
	assert_string_equal(json_string_value(json_object_get(row, "state")), "expired");
	assert_string_equal(json_string_value(json_object_get(row, "starts_at")),
	                    json_string_value(json_object_get(row, "ends_at")));
	json_decref(row);
	assert_int_equal(sm_noise_silence_list(store, false, &rows, &err), SM_EXIT_OK);
	assert_int_equal(json_array_size(rows), 0);
	json_decref(rows);
	assert_int_equal(sm_noise_silence_list(store, true, &rows, &err), SM_EXIT_OK);
	assert_int_equal(json_array_size(rows), 2);
	json_decref(rows);
	sm_store_close(store);
}

/* Each refused request: its exit status, a word of its message, and
 * nothing stored. */
static void silence_refusals(void **state)
{
	static const struct {
		const char *request;
		int rc;
		const char *says;
	} cases[] = {
	    {"[]", SM_EXIT_DATAERR, "JSON object"},
	    {"{}", SM_EXIT_USAGE, "at least one matcher"},
	    {"{\"matchers\":[]}", SM_EXIT_USAGE, "at least one matcher"},
	    {"{\"matchers\":\"a=b\"}", SM_EXIT_DATAERR, "list of strings"},
	    {"{\"matchers\":[\"team=\",\"env=~.*\"]}", SM_EXIT_USAGE, "empty string"},
	    {"{\"matchers\":[\"a\"]}", SM_EXIT_USAGE, "no operator"},
	    {"{\"matchers\":[\"a=~(\"]}", SM_EXIT_USAGE, "invalid regex"},
	    {"{\"matchers\":[\"a=b\"],\"duration\":\"soon\"}", SM_EXIT_USAGE, "not a duration"},
	    {"{\"matchers\":[\"a=b\"],\"duration\":5}", SM_EXIT_DATAERR, "must be a string"},
	    {"{\"matchers\":[\"a=b\"],\"starts_at\":\"2099-01-02T00:00:00Z\","
	     "\"ends_at\":\"2099-01-01T00:00:00Z\"}",
	     SM_EXIT_USAGE, "not after the start"},
	    {"{\"matchers\":[\"a=b\"],\"starts_at\":\"2020-01-01T00:00:00Z\","
	     "\"ends_at\":\"2020-01-02T00:00:00Z\"}",
	     SM_EXIT_USAGE, "in the past"},
	    {"{\"matchers\":[\"a=b\"],\"ends_at\":\"tomorrow\"}", SM_EXIT_USAGE, "RFC 3339"},
	    {"{\"matchers\":[\"a=b\"],\"ends_at\":\"2099-01-01T00:00:00Z\",\"duration\":\"1h\"}",
	     SM_EXIT_USAGE, "not both"},
	};
	sm_store *store = open_store();

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sm_error err = {0};
		int rc = add_silence(store, cases[i].request, NULL, &err);
		if (rc != cases[i].rc || !strstr(err.msg, cases[i].says))
			fail_msg("%s: %d '%s', want %d '%s'", cases[i].request, rc, err.msg,
			         cases[i].rc, cases[i].says);
	}
	assert_int_equal(count(store, "silences"), 0);
	sm_store_close(store);
}

/* --- inhibit rules and maintenance windows --------------------------------- */

static void inhibit_rules(void **state)
{
	sm_store *store = open_store();
	json_t *req, *row, *rows;
	sm_error err;
	char id[40];

	(void)state;
	req = load("{\"source\":[\"severity=critical\"],\"target\":[\"severity=warning\"],"
	           "\"equal\":[\"instance\"]}");
	assert_int_equal(sm_noise_inhibit_add(store, req, &row, &err), SM_EXIT_OK);
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(row, "id")));
	assert_string_equal(json_string_value(json_array_get(json_object_get(row, "equal"), 0)),
	                    "instance");
	json_decref(row);
	json_decref(req);
	assert_int_equal(sm_noise_inhibit_list(store, &rows, &err), SM_EXIT_OK);
	assert_int_equal(json_array_size(rows), 1);
	assert_string_equal(json_string_value(json_array_get(
	                        json_object_get(json_array_get(rows, 0), "target"), 0)),
	                    "severity=\"warning\"");
	json_decref(rows);

	static const char *const bad[] = {
	    "{\"target\":[\"a=b\"]}",
	    "{\"source\":[\"a=b\"]}",
	    "{\"source\":[\"a=b\"],\"target\":[\"c=~[\"]}",
	    "{\"source\":[\"a=b\"],\"target\":[\"c=d\"],\"equal\":[\"in stance\"]}",
	    "{\"source\":[\"a=b\"],\"target\":[\"c=d\"],\"equal\":\"instance\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		req = load(bad[i]);
		if (sm_noise_inhibit_add(store, req, &row, &err) == SM_EXIT_OK)
			fail_msg("%s: added", bad[i]);
		json_decref(req);
	}
	assert_int_equal(count(store, "inhibit_rules"), 1);
	assert_int_equal(sm_noise_inhibit_remove(store, "nope", &err), SM_EXIT_USAGE);
	assert_int_equal(sm_noise_inhibit_remove(store, id, &err), SM_EXIT_OK);
	assert_int_equal(count(store, "inhibit_rules"), 0);
	sm_store_close(store);
}

static void maintenance_windows(void **state)
{
	sm_store *store = open_store();
	json_t *req, *row;
	sm_error err;
	char id[40];

	(void)state;
	req = load("{\"matchers\":[\"instance=db-1\"],\"schedule\":\"daily 00:00-24:00\","
	           "\"tz\":\"Europe/Berlin\",\"comment\":\"always\"}");
	assert_int_equal(sm_noise_maintenance_add(store, req, &row, &err), SM_EXIT_OK);
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(row, "id")));
	assert_true(json_is_true(json_object_get(row, "active")));
	assert_string_equal(json_string_value(json_object_get(row, "tz")), "Europe/Berlin");
	json_decref(row);
	json_decref(req);

	static const char *const bad[] = {
	    "{\"matchers\":[\"instance=db-1\"]}",
	    "{\"matchers\":[\"instance=db-1\"],\"schedule\":\"Sun\"}",
	    ("{\"matchers\":[\"instance=db-1\"],\"schedule\":\"Sun "
	     "02:00-04:00\",\"tz\":\"Nowhere\"}"),
	    "{\"matchers\":[\"team=\"],\"schedule\":\"Sun 02:00-04:00\"}",
	    "{\"schedule\":\"Sun 02:00-04:00\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		req = load(bad[i]);
		if (sm_noise_maintenance_add(store, req, &row, &err) == SM_EXIT_OK)
			fail_msg("%s: added", bad[i]);
		assert_int_equal(err.kind, SM_ERROR_USAGE);
		json_decref(req);
	}
	assert_int_equal(count(store, "maintenance_windows"), 1);
	assert_int_equal(sm_noise_maintenance_remove(store, "nope", &err), SM_EXIT_USAGE);
	assert_int_equal(sm_noise_maintenance_remove(store, id, &err), SM_EXIT_OK);
	assert_int_equal(count(store, "maintenance_windows"), 0);
	sm_store_close(store);
}

/* --- what noise control says about an envelope ----------------------------- */

/* A firing alert in the store. */
static void store_alert(sm_store *store, const char *fingerprint, const char *name,
                        const char *severity, const char *labels)
{
	sqlite3_stmt *st = sm_store_prepare(
	    store,
	    "INSERT INTO alerts (source, fingerprint, name, status, severity, labels, created_at,"
	    " updated_at) VALUES ('alertmanager', ?, ?, 'firing', ?, ?, 'x', 'x')",
	    NULL);

	assert_non_null(st);
	sqlite3_bind_text(st, 1, fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, severity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, labels, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* An envelope's alert as JSON text. */
#define ALERT(fp, name, status, severity, labels)                                                  \
	"{\"fingerprint\":\"" fp "\",\"name\":\"" name "\",\"status\":\"" status                   \
	"\",\"severity\":\"" severity "\",\"labels\":" labels "}"
#define ENV(alerts) "{\"v\":1,\"source\":\"alertmanager\",\"alerts\":[" alerts "]}"

struct findings_case {
	const char *what, *env;
	const char *silenced, *inhibited, *maintenance; /* prefixes; "" none */
};

static void findings(void **state)
{
	static const struct findings_case cases[] = {
	    {"silenced by its name", ENV(ALERT("f1", "Disk", "firing", "warning", "{}")),
	     "silenced by ", "", ""},
	    {"anchored: Disk2 is not Disk", ENV(ALERT("f1", "Disk2", "firing", "warning", "{}")),
	     "", "", ""},
	    {"one of two firing alerts silenced: not held back",
	     ENV(ALERT("f1", "Disk", "firing", "warning", "{}") "," ALERT(
	         "f2", "Load", "firing", "warning", "{\"instance\":\"web-9\"}")),
	     "", "", ""},
	    {"only the firing alerts count",
	     ENV(ALERT("f1", "Disk", "firing", "warning", "{}") "," ALERT(
	         "f2", "Load", "resolved", "warning", "{\"instance\":\"web-9\"}")),
	     "silenced by ", "", ""},
	    {"inhibited by the critical alert on the same instance",
	     ENV(ALERT("f3", "Load", "firing", "warning", "{\"instance\":\"web-1\"}")), "",
	     "inhibited by NodeDown on web-1", ""},
	    {"no critical alert on web-2: not inhibited",
	     ENV(ALERT("f3", "Load", "firing", "warning", "{\"instance\":\"web-2\"}")), "", "", ""},
	    {"the inhibiting alert itself is not inhibited",
	     ENV(ALERT("src", "NodeDown", "firing", "critical", "{\"instance\":\"web-1\"}")), "",
	     "", ""},
	    {"one silenced, one inhibited: held back, the inhibition named",
	     ENV(ALERT("f1", "Disk", "firing", "warning", "{}") "," ALERT(
	         "f3", "Load", "firing", "warning", "{\"instance\":\"web-1\"}")),
	     "", "inhibited by NodeDown on web-1", ""},
	    {"in the window",
	     ENV(ALERT("f4", "Cpu", "firing", "warning", "{\"instance\":\"db-1\"}")), "", "",
	     "maintenance "},
	    {"no alerts: nothing", ENV(""), "", "", ""},
	};
	sm_store *store = open_store();
	struct notify_noise_cache *cache = notify_noise_cache_new();
	json_t *req, *row;
	sm_error err;

	(void)state;
	assert_non_null(cache);
	assert_int_equal(add_silence(store, "{\"matchers\":[\"alertname=Disk\"]}", NULL, &err),
	                 SM_EXIT_OK);
	/* Expired: silences nothing. */
	{
		char old[40];
		assert_int_equal(
		    add_silence(store, "{\"matchers\":[\"alertname=~Cpu|Load\"]}", old, &err),
		    SM_EXIT_OK);
		assert_int_equal(sm_noise_silence_expire(store, old, NULL, &err), SM_EXIT_OK);
	}
	req =
	    load("{\"source\":[\"severity=critical\"],\"target\":[\"severity=~warning|critical\"],"
	         "\"equal\":[\"instance\"]}");
	assert_int_equal(sm_noise_inhibit_add(store, req, &row, &err), SM_EXIT_OK);
	json_decref(row);
	json_decref(req);
	req = load("{\"matchers\":[\"instance=db-1\"],\"schedule\":\"daily 00:00-24:00\"}");
	assert_int_equal(sm_noise_maintenance_add(store, req, &row, &err), SM_EXIT_OK);
	json_decref(row);
	json_decref(req);
	store_alert(store, "src", "NodeDown", "critical", "{\"instance\":\"web-1\"}");

	/* Each case twice: with no cache, and with one kept across the cases
	 * (rows parsed once, reused). */
	for (size_t i = 0; i < 2 * (sizeof cases / sizeof cases[0]); i++) {
		json_t *env = load(cases[i / 2].env);
		struct notify_noise n;

		assert_int_equal(
		    notify_noise_find(store, i % 2 ? cache : NULL, env, now_s(), &n, &err), 0);
		const struct findings_case *c = &cases[i / 2];
		if (strncmp(n.silenced, c->silenced, strlen(c->silenced)) != 0 ||
		    (!*c->silenced && *n.silenced) ||
		    strncmp(n.inhibited, c->inhibited, strlen(c->inhibited)) != 0 ||
		    (!*c->inhibited && *n.inhibited) ||
		    strncmp(n.maintenance, c->maintenance, strlen(c->maintenance)) != 0 ||
		    (!*c->maintenance && *n.maintenance))
			fail_msg("%s: '%s' '%s' '%s'", cases[i / 2].what, n.silenced, n.inhibited,
			         n.maintenance);
		json_decref(env);
	}
	notify_noise_cache_free(cache);
	sm_store_close(store);
}

/* Two alerts that match both sides of a rule do not inhibit each other
 * (Alertmanager's two-sided exclusion); a missing equal label is "" on
 * both sides, so it is equal. */
static void inhibition_edges(void **state)
{
	sm_store *store = open_store();
	json_t *req, *env, *row;
	struct notify_noise n;
	sm_error err;

	(void)state;
	req = load("{\"source\":[\"alertname=~A|B\"],\"target\":[\"alertname=~A|B\"]}");
	assert_int_equal(sm_noise_inhibit_add(store, req, &row, &err), SM_EXIT_OK);
	json_decref(row);
	json_decref(req);
	req = load("{\"source\":[\"alertname=Up\"],\"target\":[\"alertname=Down\"],"
	           "\"equal\":[\"cluster\"]}");
	assert_int_equal(sm_noise_inhibit_add(store, req, &row, &err), SM_EXIT_OK);
	json_decref(row);
	json_decref(req);
	store_alert(store, "a", "A", "warning", "{}");
	store_alert(store, "up", "Up", "warning", "{}");

	env = load(ENV(ALERT("b", "B", "firing", "warning", "{}")));
	assert_int_equal(notify_noise_find(store, NULL, env, now_s(), &n, &err), 0);
	assert_string_equal(n.inhibited, "");
	json_decref(env);
	env = load(ENV(ALERT("d", "Down", "firing", "warning", "{}")));
	assert_int_equal(notify_noise_find(store, NULL, env, now_s(), &n, &err), 0);
	assert_string_equal(n.inhibited, "inhibited by Up");
	json_decref(env);
	env = load(ENV(ALERT("d", "Down", "firing", "warning", "{\"cluster\":\"eu\"}")));
	assert_int_equal(notify_noise_find(store, NULL, env, now_s(), &n, &err), 0);
	assert_string_equal(n.inhibited, "");
	json_decref(env);
	sm_store_close(store);
}

/* One cache across calls, as a notifier keeps it: each call still reads
 * the store, so a silence added, changed or expired between two envelopes,
 * an inhibit rule removed, or a window that closed is seen at the next. */
static void cache_follows_the_store(void **state)
{
	sm_store *store = open_store();
	struct notify_noise_cache *cache = notify_noise_cache_new();
	json_t *disk = load(ENV(ALERT("f1", "Disk", "firing", "warning", "{}"))),
	       *cpu = load(ENV(ALERT("f2", "Cpu", "firing", "warning", "{\"instance\":\"db-1\"}"))),
	       *req, *row;
	char id[40], sql[200], expect[64];
	struct notify_noise n;
	time_t monday = 1764547200; /* 2025-12-01T00:00:00Z, a Monday */
	sm_error err;

	(void)state;
	assert_non_null(cache);
	assert_int_equal(notify_noise_find(store, cache, disk, now_s(), &n, &err), 0);
	assert_string_equal(n.silenced, "");
	assert_int_equal(add_silence(store, "{\"matchers\":[\"alertname=~Disk|Mem\"]}", id, &err),
	                 SM_EXIT_OK);
	snprintf(expect, sizeof expect, "silenced by %s", id);
	assert_int_equal(notify_noise_find(store, cache, disk, now_s(), &n, &err), 0);
	assert_string_equal(n.silenced, expect);
	assert_int_equal(notify_noise_find(store, cache, disk, now_s(), &n, &err), 0);
	assert_string_equal(n.silenced, expect);
	/* The same row with other matchers: parsed again. */
	snprintf(sql, sizeof sql,
	         "UPDATE silences SET matchers = '[\"alertname=Cpu\"]' WHERE id = '%s'", id);
	assert_int_equal(sm_store_exec(store, sql, &err), 0);
	assert_int_equal(notify_noise_find(store, cache, disk, now_s(), &n, &err), 0);
	assert_string_equal(n.silenced, "");
	assert_int_equal(notify_noise_find(store, cache, cpu, now_s(), &n, &err), 0);
	assert_string_equal(n.silenced, expect);
	assert_int_equal(sm_noise_silence_expire(store, id, NULL, &err), SM_EXIT_OK);
	assert_int_equal(notify_noise_find(store, cache, cpu, now_s(), &n, &err), 0);
	assert_string_equal(n.silenced, "");

	/* An inhibit rule, then none. */
	req = load("{\"source\":[\"alertname=NodeDown\"],\"target\":[\"alertname=Cpu\"]}");
	assert_int_equal(sm_noise_inhibit_add(store, req, &row, &err), SM_EXIT_OK);
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(row, "id")));
	json_decref(row);
	json_decref(req);
	store_alert(store, "src", "NodeDown", "critical", "{}");
	assert_int_equal(notify_noise_find(store, cache, cpu, now_s(), &n, &err), 0);
	assert_string_equal(n.inhibited, "inhibited by NodeDown");
	assert_int_equal(sm_noise_inhibit_remove(store, id, &err), SM_EXIT_OK);
	assert_int_equal(notify_noise_find(store, cache, cpu, now_s(), &n, &err), 0);
	assert_string_equal(n.inhibited, "");

	/* A kept window is open or not at each call's time. */
	req = load("{\"matchers\":[\"instance=db-1\"],\"schedule\":\"Mon 00:00-01:00\","
	           "\"tz\":\"UTC\"}");
	assert_int_equal(sm_noise_maintenance_add(store, req, &row, &err), SM_EXIT_OK);
	json_decref(row);
	json_decref(req);
	assert_int_equal(notify_noise_find(store, cache, cpu, monday + 1800, &n, &err), 0);
	assert_memory_equal(n.maintenance, "maintenance ", 12);
	assert_int_equal(notify_noise_find(store, cache, cpu, monday + 7200, &n, &err), 0);
	assert_string_equal(n.maintenance, "");
	assert_int_equal(notify_noise_find(store, cache, cpu, monday + 7 * 86400 + 60, &n, &err),
	                 0);
	assert_memory_equal(n.maintenance, "maintenance ", 12);

	json_decref(disk);
	json_decref(cpu);
	notify_noise_cache_free(cache);
	sm_store_close(store);
}

/* --- the decision ----------------------------------------------------------- */

/* Noise control skips even news, in its order; without findings the
 * decision is as before. */
static void decision_order(void **state)
{
	json_t *env =
	           load("{\"v\":1,\"incident\":{\"id\":1,\"status\":\"open\",\"severity\":"
	                "\"warning\",\"change\":\"created\"},\"alerts\":[{\"name\":\"X\","
	                "\"status\":\"firing\",\"severity\":\"warning\",\"change\":\"created\"}]}"),
	       *config = json_object(), *strict = load("{\"min_severity\":\"critical\"}");
	struct notify_noise n = {0};
	sm_notify_decision d;

	(void)state;
	d = notify_decide(env, config, -1, &n);
	assert_true(d.deliver);
	assert_string_equal(d.reason, "incident created");
	snprintf(n.maintenance, sizeof n.maintenance, "maintenance m1");
	d = notify_decide(env, config, -1, &n);
	assert_false(d.deliver);
	assert_string_equal(d.reason, "maintenance m1");
	snprintf(n.inhibited, sizeof n.inhibited, "inhibited by Y");
	d = notify_decide(env, config, -1, &n);
	assert_string_equal(d.reason, "inhibited by Y");
	snprintf(n.silenced, sizeof n.silenced, "silenced by s1");
	d = notify_decide(env, config, -1, &n);
	assert_false(d.deliver);
	assert_string_equal(d.reason, "silenced by s1");
	/* min_severity comes first. */
	d = notify_decide(env, strict, -1, &n);
	assert_string_equal(d.reason, "below min_severity");
	d = notify_decide(env, config, -1, NULL);
	assert_true(d.deliver);
	json_decref(env);
	json_decref(config);
	json_decref(strict);
}

static int cleanup(void **state)
{
	(void)state;
	remove_scratch();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(silences, cleanup),
	    cmocka_unit_test_teardown(silence_refusals, cleanup),
	    cmocka_unit_test_teardown(inhibit_rules, cleanup),
	    cmocka_unit_test_teardown(maintenance_windows, cleanup),
	    cmocka_unit_test_teardown(findings, cleanup),
	    cmocka_unit_test_teardown(inhibition_edges, cleanup),
	    cmocka_unit_test_teardown(cache_follows_the_store, cleanup),
	    cmocka_unit_test(decision_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
