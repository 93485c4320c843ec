/* test_checker_agents.c - the agents checker against a scratch store whose
 * agents table holds rows pushed some seconds ago: thresholds in seconds of
 * silence (3x and 6x the push interval), the skip on a store without agents,
 * UNKNOWN on a store that cannot be opened, messages, metrics, perfdata. */
#include <time.h>
#include "testutil.h"
#include "sm/agents.h"
#include "sm/rfc3339.h"
#include "sm/store.h"

/* One agents row: its silence in seconds, or a literal last_push_at. */
struct row {
	const char *id, *host;
	long long ago;
	const char *last_push_at; /* when set, used as is instead of ago */
};

static int setup(void **state)
{
	(void)state;
	scratch_make("sm-agents");
	setenv("SM_DB", at("sm.db"), 1);
	return 0;
}

static int teardown(void **state)
{
	unsetenv("SM_DB");
	return scratch_remove(state);
}

/* Replace the agents table by rows, their times relative to base. */
static void seed(const struct row *rows, size_t n, time_t base)
{
	sm_store *store;
	sm_error err;

	assert_int_equal(sm_store_open(NULL, &store, &err), 0);
	assert_int_equal(sm_store_exec(store, "DELETE FROM agents", &err), 0);
	for (size_t i = 0; i < n; i++) {
		char when[SM_RFC3339_LEN];
		struct timespec ts = {.tv_sec = base - (time_t)rows[i].ago};
		sqlite3_stmt *st = sm_store_prepare(
		    store,
		    "INSERT INTO agents (instance_id, hostname, first_push_at, last_push_at,"
		    " last_address, pushes) VALUES (?1, ?2, ?3, ?3, '192.0.2.7', 3)",
		    &err);

		assert_non_null(st);
		sm_rfc3339_format(when, &ts, false);
		sqlite3_bind_text(st, 1, rows[i].id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, rows[i].host ? rows[i].host : rows[i].id, -1,
		                  SQLITE_STATIC);
		sqlite3_bind_text(st, 3, rows[i].last_push_at ? rows[i].last_push_at : when, -1,
		                  SQLITE_TRANSIENT);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
	}
	sm_store_close(store);
}

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

/* Seed rows and run the checker within one wall-clock second, so every
 * silence is exactly its row's ago (retried when a second ticks over). */
static time_t run_exact(const struct row *rows, size_t n, const sm_check_opts *opts,
                        sm_check_result *res)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		time_t base = now_s();

		seed(rows, n, base);
		run_checker("agents", opts, res);
		if (now_s() == base)
			return base;
		sm_check_result_clear(res);
	}
	fail_msg("the clock kept ticking over");
	return 0;
}

static void registry_row(void **state)
{
	size_t n;
	const sm_checker *const *all = sm_checkers(&n);
	const sm_checker *c = sm_checker_find("agents");

	(void)state;
	assert_non_null(c);
	assert_ptr_equal(c, all[n - 2]);
	assert_string_equal(all[n - 3]->name, "reboot_debian");
	assert_string_equal(all[n - 1]->name, "queue");
	assert_true(c->warning == 900 && c->critical == 1800);
	assert_false(c->minimum);
	assert_false(c->slow);
}

/* Check each agent's last_push_at against base - ago, then drop it so the
 * rest of the metrics compare as text. */
static void strip_push_times(sm_check_result *res, const struct row *rows, time_t base)
{
	static const char *const keys[] = {"instance_id", "hostname", "last_push_at", "silence_s",
	                                   "status"};
	json_t *agents = json_object_get(res->metrics, "agents"), *a;
	size_t i;

	json_array_foreach(agents, i, a)
	{
		char want[SM_RFC3339_LEN];
		struct timespec ts = {.tv_sec = base - (time_t)rows[i].ago};

		assert_keys(a, keys, 5);
		sm_rfc3339_format(want, &ts, false);
		assert_string_equal(json_string_value(json_object_get(a, "last_push_at")), want);
		json_object_del(a, "last_push_at");
	}
}

static void outcomes(void **state)
{
	static const struct row fine[] = {
	    {"app-01", NULL, 42, NULL}, {"db-01", NULL, 300, NULL}, {"web-01", NULL, 60, NULL}};
	static const struct row one_late[] = {{"db-01", NULL, 60, NULL},
	                                      {"web-02", NULL, 1200, NULL}};
	static const struct row two_late[] = {
	    {"db-01", NULL, 2400, NULL}, {"web-01", NULL, 60, NULL}, {"web-02", NULL, 1200, NULL}};
	static const struct {
		const struct row *rows;
		size_t n;
		enum sm_status status;
		const char *message, *metrics, *perfdata;
	} cases[] = {
	    {fine, 3, SM_OK, "3 agents pushing (last silence 5 min)",
	     "{\"agent_count\":3,\"silent_count\":0,\"oldest_silence_s\":300,"
	     "\"expected_interval_s\":300.0,\"agents\":["
	     "{\"instance_id\":\"app-01\",\"hostname\":\"app-01\",\"silence_s\":42,"
	     "\"status\":\"ok\"},"
	     "{\"instance_id\":\"db-01\",\"hostname\":\"db-01\",\"silence_s\":300,"
	     "\"status\":\"ok\"},"
	     "{\"instance_id\":\"web-01\",\"hostname\":\"web-01\",\"silence_s\":60,"
	     "\"status\":\"ok\"}]}",
	     "silent=0;;;0 oldest_silence=300s;900;1800;0"},
	    {one_late, 2, SM_WARNING, "1 of 2 agents silent: web-02 (20 min)",
	     "{\"agent_count\":2,\"silent_count\":1,\"oldest_silence_s\":1200,"
	     "\"expected_interval_s\":300.0,\"agents\":["
	     "{\"instance_id\":\"db-01\",\"hostname\":\"db-01\",\"silence_s\":60,"
	     "\"status\":\"ok\"},"
	     "{\"instance_id\":\"web-02\",\"hostname\":\"web-02\",\"silence_s\":1200,"
	     "\"status\":\"warning\"}]}",
	     "silent=1;;;0 oldest_silence=1200s;900;1800;0"},
	    {two_late, 3, SM_CRITICAL, "2 of 3 agents silent: db-01 (40 min), web-02 (20 min)",
	     "{\"agent_count\":3,\"silent_count\":2,\"oldest_silence_s\":2400,"
	     "\"expected_interval_s\":300.0,\"agents\":["
	     "{\"instance_id\":\"db-01\",\"hostname\":\"db-01\",\"silence_s\":2400,"
	     "\"status\":\"critical\"},"
	     "{\"instance_id\":\"web-01\",\"hostname\":\"web-01\",\"silence_s\":60,"
	     "\"status\":\"ok\"},"
	     "{\"instance_id\":\"web-02\",\"hostname\":\"web-02\",\"silence_s\":1200,"
	     "\"status\":\"warning\"}]}",
	     "silent=2;;;0 oldest_silence=2400s;900;1800;0"},
	    {NULL, 0, SM_OK, "Skipped: no agents have pushed to this hub",
	     "{\"agent_count\":0,\"silent_count\":0,\"oldest_silence_s\":null,"
	     "\"expected_interval_s\":300.0,\"agents\":[]}",
	     NO_PERFDATA},
	};
	static const char *const keys[] = {"agent_count", "silent_count", "oldest_silence_s",
	                                   "expected_interval_s", "agents"};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sm_check_result res;
		time_t base = run_exact(cases[i].rows, cases[i].n, NULL, &res);

		assert_null(res.error);
		assert_string_equal(res.warning.text, "900");
		assert_string_equal(res.critical.text, "1800");
		assert_keys(res.metrics, keys, 5);
		strip_push_times(&res, cases[i].rows, base);
		assert_result(&res, cases[i].status, cases[i].message, cases[i].metrics,
		              cases[i].perfdata);
		sm_check_result_clear(&res);
	}
}

static void unopenable_store_is_unknown(void **state)
{
	sm_check_result res;

	(void)state;
	setenv("SM_DB", "/proc/sm-no-such-dir/sm.db", 1);
	run_checker("agents", NULL, &res);
	assert_result(&res, SM_UNKNOWN, NULL, "{}", NO_PERFDATA);
	assert_non_null(res.error);
	assert_true(strncmp(res.message, "Check failed: cannot open the store: ", 37) == 0);
	assert_non_null(strstr(res.error, "/proc/sm-no-such-dir"));
	sm_check_result_clear(&res);
	setenv("SM_DB", at("sm.db"), 1);
}

static void push_interval_scales_thresholds(void **state)
{
	/* Every 60 s: warning after 3 min, critical after 6 min. */
	static const struct row rows[] = {{"a", NULL, 60, NULL},   {"b", NULL, 240, NULL},
	                                  {"c", NULL, 1200, NULL}, {"d", NULL, 179, NULL},
	                                  {"e", NULL, 180, NULL},  {"f", NULL, 360, NULL}};
	static const char *const statuses[] = {"ok", "warning", "critical",
	                                       "ok", "warning", "critical"};
	sm_check_opts opts = {0};
	sm_check_result res;
	json_t *agents;

	(void)state;
	opts_number(&opts, "push-interval", 60);
	run_exact(rows, 6, &opts, &res);
	assert_int_equal(res.status, SM_CRITICAL);
	assert_string_equal(res.warning.text, "180");
	assert_string_equal(res.critical.text, "360");
	assert_string_equal(res.message,
	                    "4 of 6 agents silent: c (20 min), f (6 min), b (4 min), e (3 min)");
	assert_real(metric_num(&res, "expected_interval_s"), 60);
	assert_real(metric_num(&res, "silent_count"), 4);
	agents = json_object_get(res.metrics, "agents");
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(agents, i), "status")),
		    statuses[i]);
	assert_string_equal(res.perfdata, "silent=4;;;0 oldest_silence=1200s;180;360;0");
	sm_check_result_clear(&res);

	/* The JSON of the check shows the thresholds used. */
	opts.values[0].number = 3600;
	run_exact(rows, 6, &opts, &res);
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "6 agents pushing (last silence 20 min)");
	assert_string_equal(res.warning.text, "10800");
	assert_string_equal(res.critical.text, "21600");
	sm_check_result_clear(&res);
}

static void overrides_win_over_the_interval(void **state)
{
	static const struct row rows[] = {
	    {"db-01", NULL, 2400, NULL}, {"web-01", NULL, 60, NULL}, {"web-02", NULL, 1200, NULL}};
	sm_check_opts opts = {0};
	sm_check_result res;
	sm_error err;

	(void)state;
	/* Only -c: the warning stays 3x the interval. */
	assert_int_equal(sm_range_parse("3000", &opts.critical, &err), 0);
	run_exact(rows, 3, &opts, &res);
	assert_int_equal(res.status, SM_WARNING);
	assert_string_equal(res.message, "2 of 3 agents silent: db-01 (40 min), web-02 (20 min)");
	assert_string_equal(res.warning.text, "900");
	assert_string_equal(res.critical.text, "3000");
	sm_check_result_clear(&res);

	/* Only -w, with an interval: the critical scales, the warning is as given. */
	opts = (sm_check_opts){0};
	opts_number(&opts, "push-interval", 600);
	assert_int_equal(sm_range_parse("30", &opts.warning, &err), 0);
	run_exact(rows, 3, &opts, &res);
	assert_int_equal(res.status, SM_WARNING);
	assert_string_equal(res.warning.text, "30");
	assert_string_equal(res.critical.text, "3600");
	assert_string_equal(
	    res.message, "3 of 3 agents silent: db-01 (40 min), web-02 (20 min), web-01 (1 min)");
	sm_check_result_clear(&res);

	/* Both, as a plugin range: silent outside 0..1000 s. */
	opts = (sm_check_opts){0};
	assert_int_equal(sm_range_parse("0:1000", &opts.warning, &err), 0);
	assert_int_equal(sm_range_parse("0:2000", &opts.critical, &err), 0);
	run_exact(rows, 3, &opts, &res);
	assert_int_equal(res.status, SM_CRITICAL);
	assert_string_equal(res.message, "2 of 3 agents silent: db-01 (40 min), web-02 (20 min)");
	assert_string_equal(res.perfdata, "silent=2;;;0 oldest_silence=2400s;0:1000;0:2000;0");
	sm_check_result_clear(&res);
}

static void durations_labels_and_long_lists(void **state)
{
	static const struct row rows[] = {
	    {"a", NULL, 1000, NULL},  {"b", NULL, 3600, NULL},   {"c", NULL, 7500, NULL},
	    {"d", NULL, 90000, NULL}, {"e", NULL, 172800, NULL}, {"i-0abc", "app-01", 2000, NULL},
	    {"f", "", 1100, NULL},    {"g", NULL, 42, NULL},
	};
	sm_check_result res;

	(void)state;
	run_exact(rows, 8, NULL, &res);
	assert_int_equal(res.status, SM_CRITICAL);
	/* Critical first, longest silence first; five named, the rest counted. */
	assert_string_equal(res.message,
	                    "7 of 8 agents silent: e (2 d), d (1 d 1 h), c (2 h 5 min), "
	                    "b (1 h), app-01 [i-0abc] (33 min), and 2 more");
	assert_real(metric_num(&res, "oldest_silence_s"), 172800);
	sm_check_result_clear(&res);

	/* One agent, seconds. */
	run_exact(rows + 7, 1, NULL, &res);
	assert_string_equal(res.message, "1 agent pushing (last silence 42 s)");
	sm_check_result_clear(&res);
}

static void odd_timestamps(void **state)
{
	/* A last push in the future (a clock ahead of the hub's) is no silence;
	 * one that cannot be read makes that agent unknown, never hides others. */
	static const struct row rows[] = {{"ahead", NULL, -120, NULL},
	                                  {"junk", NULL, 0, "yesterday"},
	                                  {"late", NULL, 1000, NULL}};
	sm_check_result res;
	json_t *agents;

	(void)state;
	run_exact(rows, 1, NULL, &res);
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "1 agent pushing (last silence 0 s)");
	assert_real(metric_num(&res, "oldest_silence_s"), 0);
	sm_check_result_clear(&res);

	run_exact(rows, 2, NULL, &res);
	assert_int_equal(res.status, SM_UNKNOWN);
	assert_string_equal(res.message, "1 of 2 agents silent: junk (last push unreadable)");
	assert_null(res.error);
	agents = json_object_get(res.metrics, "agents");
	assert_true(json_is_null(json_object_get(json_array_get(agents, 1), "silence_s")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(agents, 1), "status")),
	                    "unknown");
	sm_check_result_clear(&res);

	run_exact(rows, 3, NULL, &res);
	assert_int_equal(res.status, SM_WARNING);
	assert_string_equal(res.message,
	                    "2 of 3 agents silent: late (16 min), junk (last push unreadable)");
	assert_real(metric_num(&res, "oldest_silence_s"), 1000);
	sm_check_result_clear(&res);
}

static void recorded_pushes_are_seen(void **state)
{
	/* Through the writer sm-ingest uses: a push just now is no silence. */
	json_t *agent = json_pack("{s:s,s:s}", "instance_id", "web-01", "hostname", "web-01");
	sm_check_result res;
	sm_store *store;
	sm_error err;

	(void)state;
	seed(NULL, 0, 0);
	assert_int_equal(sm_store_open(NULL, &store, &err), 0);
	assert_int_equal(sm_agents_record(store, agent, "192.0.2.7", &err), 0);
	sm_store_close(store);
	json_decref(agent);
	run_checker("agents", NULL, &res);
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "1 agent pushing (last silence 0 s)");
	assert_real(metric_num(&res, "agent_count"), 1);
	sm_check_result_clear(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(registry_row),
	    cmocka_unit_test(outcomes),
	    cmocka_unit_test(unopenable_store_is_unknown),
	    cmocka_unit_test(push_interval_scales_thresholds),
	    cmocka_unit_test(overrides_win_over_the_interval),
	    cmocka_unit_test(durations_labels_and_long_lists),
	    cmocka_unit_test(odd_timestamps),
	    cmocka_unit_test(recorded_pushes_are_seen),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
