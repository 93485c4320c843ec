/* test_pipeline_status.c - the status summary from a store filled by SQL:
 * the newest row per (hostname, checker) whatever the insert order, the
 * overall level from each kind of problem, ages from a fixed clock, and
 * the text for a person. */
#include <time.h>

#include "testutil.h"
#include "sm/pipeline_status.h"
#include "sm/store.h"

static const char *dir, *path;
static sm_store *store;

/* 2026-12-01T12:00:00Z */
#define NOW ((time_t)1796126400)

static int setup(void **state)
{
	sm_error err;

	(void)state;
	dir = scratch_make("sm-status");
	path = scratch_db();
	setenv("SM_HOST_ROOT", dir, 1); /* no etc/hostname: uname's name */
	setenv("TZ", "UTC", 1);
	tzset();
	return sm_store_open(path, &store, &err);
}

static int teardown(void **state)
{
	sm_store_close(store);
	return scratch_remove(state);
}

static void exec(const char *sql)
{
	sm_error err;

	assert_int_equal(sm_store_exec(store, sql, &err), 0);
}

static void ages_read_as_people_say_them(void **state)
{
	static const struct {
		long long seconds;
		const char *text;
	} cases[] = {
	    {-5, "0 s ago"},
	    {0, "0 s ago"},
	    {59, "59 s ago"},
	    {60, "1 min ago"},
	    {3599, "59 min ago"},
	    {3600, "1 h ago"},
	    {2 * 86400 - 1, "47 h ago"},
	    {2 * 86400, "2 d ago"},
	    {400 * 86400, "400 d ago"},
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sm_pipeline_status_age(buf, sizeof buf, cases[i].seconds);
		assert_string_equal(buf, cases[i].text);
	}
}

static void the_newest_row_of_each_pair(void **state)
{
	json_t *rows;
	sm_error err;

	(void)state;
	/* Inserted out of time order; a tie on executed_at goes to the later row. */
	exec("INSERT INTO check_runs (checker, hostname, status, message, executed_at) VALUES"
	     " ('memory', 'b', 'critical', 'new', '2026-12-01T11:00:00.000Z'),"
	     " ('memory', 'b', 'ok', 'old', '2026-11-01T11:00:00.000Z'),"
	     " ('cpu', 'b', 'ok', 'tie 1', '2026-12-01T10:00:00.000Z'),"
	     " ('cpu', 'b', 'warning', 'tie 2', '2026-12-01T10:00:00.000Z'),"
	     " ('memory', 'a', 'ok', 'a new', '2026-12-01T11:59:00.000Z'),"
	     " ('memory', 'a', 'warning', 'a old', '2026-12-01T11:58:00.000Z')");
	assert_int_equal(sm_pipeline_status_latest(store, &rows, &err), 0);
	assert_int_equal(json_array_size(rows), 3);
	static const char *const want[][3] = {
	    {"cpu", "b", "tie 2"}, {"memory", "a", "a new"}, {"memory", "b", "new"}};
	for (size_t i = 0; i < 3; i++) {
		json_t *row = json_array_get(rows, i);
		assert_string_equal(json_string_value(json_object_get(row, "checker")), want[i][0]);
		assert_string_equal(json_string_value(json_object_get(row, "hostname")),
		                    want[i][1]);
		assert_string_equal(json_string_value(json_object_get(row, "message")), want[i][2]);
	}
	json_decref(rows);
}

static enum sm_status level_now(json_t **out)
{
	enum sm_status level;
	sm_error err;

	assert_int_equal(sm_pipeline_status(store, NOW, out, &level, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(*out, "exit_status")), level);
	return level;
}

static void each_problem_sets_the_level(void **state)
{
	json_t *s;

	(void)state;
	assert_int_equal(level_now(&s), SM_OK);
	assert_string_equal(json_string_value(json_object_get(s, "status")), "ok");
	json_decref(s);
	/* An info incident is not a problem; an old failed run neither. */
	exec("INSERT INTO incidents (title, severity, group_key, created_at, updated_at)"
	     " VALUES ('note', 'info', 'k1', '2026-12-01T11:00:00.000Z', "
	     "'2026-12-01T11:00:00.000Z');"
	     "INSERT INTO pipeline_runs (run_id, trace_id, status, created_at)"
	     " VALUES ('r1', 't', 'failed', '2026-11-29T11:00:00.000Z')");
	assert_int_equal(level_now(&s), SM_OK);
	json_decref(s);
	exec("INSERT INTO pipeline_runs (run_id, trace_id, status, created_at)"
	     " VALUES ('r2', 't', 'failed', '2026-12-01T00:00:00.000Z')");
	assert_int_equal(level_now(&s), SM_WARNING);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(s, "runs"), "failed_last_day")), 1);
	json_decref(s);
	exec("DELETE FROM pipeline_runs;"
	     "INSERT INTO inbox (envelope, state, created_at) VALUES ('{}', 'failed', 'x')");
	assert_int_equal(level_now(&s), SM_WARNING);
	json_decref(s);
	exec("DELETE FROM inbox;"
	     "INSERT INTO check_runs (checker, hostname, status, message, executed_at) VALUES"
	     " ('raid', 'h', 'unknown', 'no mdstat', '2026-12-01T11:55:00.000Z')");
	assert_int_equal(level_now(&s), SM_WARNING);
	json_decref(s);
	exec("UPDATE incidents SET severity = 'critical'");
	assert_int_equal(level_now(&s), SM_CRITICAL);
	json_decref(s);
	/* Resolved: no longer open. */
	exec("UPDATE incidents SET status = 'resolved'");
	assert_int_equal(level_now(&s), SM_WARNING);
	json_decref(s);
}

static void the_text_for_a_person(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem;
	json_t *s;
	char want[1024];

	(void)state;
	exec("INSERT INTO check_runs (checker, hostname, status, message, executed_at) VALUES"
	     " ('disk', 'zz', 'warning', 'Disk usage: 85% of / (12 GB free)',"
	     " '2026-12-01T11:55:00.000Z');"
	     "INSERT INTO incidents (title, severity, group_key, created_at, updated_at)"
	     " VALUES ('disk on zz', 'warning', 'k', '2026-11-28T00:00:00Z', "
	     "'2026-11-28T00:00:00Z');"
	     "INSERT INTO inbox (envelope, state, created_at) VALUES ('{}', 'pending', 'x');"
	     "INSERT INTO agents (instance_id, hostname, first_push_at, last_push_at)"
	     " VALUES ('i-1', 'zz', '2026-12-01T11:59:30Z', '2026-12-01T11:59:30Z')");
	assert_int_equal(level_now(&s), SM_WARNING);
	mem = open_memstream(&text, &len);
	sm_pipeline_status_print(s, mem, false, 60);
	fclose(mem);
	/* The first host is this one, whatever its name. */
	snprintf(want, sizeof want,
	         "sm status WARNING at 2026-12-01 12:00:00 UTC\n"
	         "host %s (this host)\n"
	         "  no check results\n"
	         "host zz (agent i-1, last push 30 s ago)\n"
	         "  disk             WARNING  5 min ago    Disk usage: 85%% of\n"
	         "incidents: 1 open (0 critical, 1 warning, 0 info)\n"
	         "  #1       WARNING  open          3 d ago      disk on zz\n"
	         "silences: 0 active, 0 pending; maintenance windows: 0 open\n"
	         "queue: 1 pending, 0 claimed, 0 failed\n"
	         "runs: 0 failed in the last day\n",
	         json_string_value(
	             json_object_get(json_array_get(json_object_get(s, "hosts"), 0), "hostname")));
	assert_string_equal(text, want);
	free(text);
	/* Times in the JSON are RFC 3339 UTC, whole seconds. */
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_array_get(json_object_get(json_object_get(s, "incidents"), "latest"), 0),
	        "updated_at")),
	    "2026-11-28T00:00:00Z");
	json_decref(s);
}

/* Active at now: a silence from its start up to (not at) its end; a window
 * whose schedule holds now in its zone. Counted all, listed the soonest
 * ending first; they do not change the level. */
static void silences_and_windows_in_force(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem;
	json_t *s, *sil, *maint;

	(void)state;
	exec("INSERT INTO silences (id, matchers, starts_at, ends_at, comment, author, created_at,"
	     " updated_at) VALUES"
	     " ('starts-now', '[\"a=\\\"1\\\"\"]', '2026-12-01T12:00:00Z', '2026-12-01T14:00:00Z',"
	     "  'a comment long enough to be cut at sixty columns', 'bob', 'x', 'x'),"
	     " ('ends-first', '[\"b=~\\\"x.*\\\"\"]', '2026-11-30T00:00:00Z', "
	     "'2026-12-01T12:00:01Z',"
	     "  '', '', 'x', 'x'),"
	     " ('ended-now', '[\"c=\\\"1\\\"\"]', '2026-11-30T00:00:00Z', '2026-12-01T12:00:00Z',"
	     "  '', '', 'x', 'x'),"
	     " ('later', '[\"d=\\\"1\\\"\"]', '2026-12-01T12:00:01Z', '2026-12-02T00:00:00Z',"
	     "  '', '', 'x', 'x');"
	     "INSERT INTO notification_deliveries (incident_id, channel, status, reason,"
	     " created_at) VALUES (NULL, 'c', 'skipped', 'silenced by starts-now', 'x'),"
	     " (NULL, 'c', 'skipped', 'maintenance open', 'x');"
	     "INSERT INTO maintenance_windows (id, matchers, schedule, tz, comment, created_at)"
	     " VALUES ('open', '[\"e=\\\"1\\\"\"]', 'Tue 12:00-12:01', 'UTC', 'tuesdays', 'x'),"
	     " ('shut', '[]', 'Mon 12:00-13:00', '', '', 'x'),"
	     " ('broken', '[]', 'not a schedule', '', '', 'x')");
	assert_int_equal(level_now(&s), SM_OK);
	sil = json_object_get(s, "silences");
	assert_int_equal(json_integer_value(json_object_get(sil, "active")), 2);
	assert_int_equal(json_integer_value(json_object_get(sil, "pending")), 1);
	assert_int_equal(json_array_size(json_object_get(sil, "latest")), 2);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(sil, "latest"), 0), "id")),
	                    "ends-first");
	assert_int_equal(
	    json_integer_value(json_object_get(json_array_get(json_object_get(sil, "latest"), 0),
	                                       "remaining_seconds")),
	    1);
	maint = json_object_get(s, "maintenance");
	assert_int_equal(json_integer_value(json_object_get(maint, "open")), 1);
	mem = open_memstream(&text, &len);
	sm_pipeline_status_print(s, mem, false, 60);
	fclose(mem);
	assert_non_null(strstr(text,
	                       "silences: 2 active, 1 pending; maintenance windows: 1 open\n"
	                       "  silence ends-first, held back 0\n"
	                       "    until 2026-12-01 12:00 (1 s left): {b=~\"x.*\"}\n"
	                       "  silence starts-now, held back 1\n"
	                       "    until 2026-12-01 14:00 (2 h left): {a=\"1\"} by bob: a co\n"
	                       "  window open, held back 1\n"
	                       "    Tue 12:00-12:01 (UTC): {e=\"1\"}: tuesdays\n"
	                       "queue: "));
	free(text);
	json_decref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ages_read_as_people_say_them),
	    cmocka_unit_test_setup_teardown(the_newest_row_of_each_pair, setup, teardown),
	    cmocka_unit_test_setup_teardown(each_problem_sets_the_level, setup, teardown),
	    cmocka_unit_test_setup_teardown(the_text_for_a_person, setup, teardown),
	    cmocka_unit_test_setup_teardown(silences_and_windows_in_force, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
