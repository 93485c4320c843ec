/* test_pipeline_prune.c - retention: durations and SM_RETENTION specs (a
 * table of good and bad spellings), and a prune at a fixed time over rows
 * made by SQL: what goes, what stays, and a dry run that counts the same. */
#include <time.h>

#include "testutil.h"
#include "sm/pipeline_prune.h"
#include "sm/store.h"

static const char *dir, *path;
static sm_store *store;

/* 2026-12-01T12:00:00Z */
#define NOW ((time_t)1796126400)
#define DAY 86400LL

static int setup(void **state)
{
	sm_error err;

	(void)state;
	dir = scratch_make("sm-prune");
	path = scratch_db();
	return sm_store_open(path, &store, &err);
}

static int teardown(void **state)
{
	sm_store_close(store);
	return scratch_remove(state);
}

static void durations(void **state)
{
	static const struct {
		const char *text;
		long long seconds; /* -1: malformed */
	} cases[] = {
	    {"90s", 90},     {"15m", 900},
	    {"4h", 14400},   {"7d", 7 * DAY},
	    {"300", 300},    {"0d", 0},
	    {"", -1},        {"d", -1},
	    {"-1d", -1},     {"+1d", -1},
	    {"1w", 7 * DAY}, {"1dd", -1},
	    {"1 d", -1},     {" 1d", -1},
	    {"1.5h", 5400},  {"366000d", 366000 * DAY},
	    {"366001d", -1}, {"99999999999999999999", -1},
	};
	long long s;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		s = -2;
		int rc = sm_pipeline_prune_duration(cases[i].text, &s);
		if (cases[i].seconds < 0) {
			assert_int_equal(rc, -1);
			assert_int_equal(s, -2);
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(s, cases[i].seconds);
		}
	}
	assert_int_equal(sm_pipeline_prune_duration(NULL, &s), -1);
}

static void retention_specs(void **state)
{
	static const char *const bad[] = {
	    "check_runs", "=1d", "checks=1d", "runs=1x", "runs=", "queue=1d,history",
	};
	sm_pipeline_retention r, kept;
	sm_error err;

	(void)state;
	assert_int_equal(sm_pipeline_prune_retention(NULL, &r, &err), 0);
	assert_int_equal(r.seconds[SM_RETAIN_CHECK_RUNS], 30 * DAY);
	assert_int_equal(r.seconds[SM_RETAIN_CHECK_DETAIL], 7 * DAY);
	assert_int_equal(r.seconds[SM_RETAIN_RUNS], 30 * DAY);
	assert_int_equal(r.seconds[SM_RETAIN_HISTORY], 180 * DAY);
	assert_int_equal(r.seconds[SM_RETAIN_DELIVERIES], 90 * DAY);
	assert_int_equal(r.seconds[SM_RETAIN_QUEUE], 7 * DAY);
	assert_int_equal(sm_pipeline_prune_retention("", &r, &err), 0);
	assert_int_equal(r.seconds[SM_RETAIN_QUEUE], 7 * DAY);
	/* Some kinds given: the others keep their defaults. */
	assert_int_equal(sm_pipeline_prune_retention("queue=1h,check_runs=2d,", &r, &err), 0);
	assert_int_equal(r.seconds[SM_RETAIN_QUEUE], 3600);
	assert_int_equal(r.seconds[SM_RETAIN_CHECK_RUNS], 2 * DAY);
	assert_int_equal(r.seconds[SM_RETAIN_HISTORY], 180 * DAY);
	kept = r;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err.kind = SM_ERROR_FAILURE;
		assert_int_equal(sm_pipeline_prune_retention(bad[i], &r, &err), -1);
		assert_int_equal(err.kind, SM_ERROR_USAGE);
		assert_memory_equal(&r, &kept, sizeof r);
	}
	assert_string_equal(sm_pipeline_prune_kind(SM_RETAIN_DELIVERIES), "deliveries");
}

static void exec(const char *sql)
{
	sm_error err;

	assert_int_equal(sm_store_exec(store, sql, &err), 0);
}

static long long count(const char *sql)
{
	sqlite3_stmt *st = sm_store_prepare(store, sql, NULL);
	long long n = -1;

	if (st && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static long long removed(const json_t *report, const char *table)
{
	return json_integer_value(json_object_get(json_object_get(report, "removed"), table));
}

/* Old rows are from 2026-09-01 (91 days before NOW), new ones from the
 * day before NOW. */
static void fill(void)
{
	exec(
	    "INSERT INTO check_runs (checker, hostname, status, message, executed_at) VALUES"
	    " ('cpu', 'a', 'ok', '', '2026-09-01T00:00:00.000Z'),"
	    " ('cpu', 'a', 'ok', '', '2026-09-01T00:05:00.000Z')," /* newest of cpu/a: stays */
	    " ('memory', 'a', 'ok', '', '2026-09-01T00:00:00.000Z'),"
	    " ('memory', 'a', 'ok', '', '2026-11-30T00:00:00.000Z'),"
	    " ('cpu', 'b', 'ok', '', '2026-09-01T00:00:00.000Z');" /* the only one: stays */
	    "INSERT INTO incidents (id, title, status, severity, group_key, created_at, updated_at)"
	    " VALUES (1, 'gone', 'resolved', 'warning', 'k1', '2026-01-01T00:00:00Z',"
	    " '2026-01-02T00:00:00Z'),"
	    " (2, 'open', 'open', 'warning', 'k2', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'),"
	    " (3, 'closed lately', 'closed', 'warning', 'k3', '2026-01-01T00:00:00Z',"
	    " '2026-11-30T00:00:00Z');"
	    "INSERT INTO alerts (id, source, fingerprint, name, status, severity, incident_id,"
	    " created_at, updated_at) VALUES"
	    " (1, 's', 'f1', 'n', 'resolved', 'warning', 1, 'x', 'x'),"
	    " (2, 's', 'f2', 'n', 'firing', 'warning', 2, 'x', 'x'),"
	    " (3, 's', 'f3', 'n', 'resolved', 'warning', 3, 'x', 'x');"
	    "INSERT INTO alert_history (alert_id, change, new_status, new_severity, at) VALUES"
	    " (1, 'created', 'firing', 'warning', '2026-01-01T00:00:00.000Z'),"
	    " (1, 'resolved', 'resolved', 'warning', '2026-01-02T00:00:00.000Z'),"
	    " (2, 'created', 'firing', 'warning', '2026-01-01T00:00:00.000Z'),"
	    " (3, 'created', 'firing', 'warning', '2026-01-01T00:00:00.000Z');"
	    "INSERT INTO notification_deliveries (channel, incident_id, status, created_at) VALUES"
	    " ('c', 1, 'sent', '2026-01-01T00:00:00.000Z'),"
	    " ('c', 2, 'sent', '2026-01-01T00:00:00.000Z'),"
	    " ('c', NULL, 'sent', '2026-01-01T00:00:00.000Z'),"
	    " ('c', 1, 'sent', '2026-11-30T00:00:00.000Z');"
	    "INSERT INTO pipeline_runs (id, run_id, trace_id, status, created_at, finished_at)"
	    " VALUES (1, 'done', 't', 'notified', '2026-09-01T00:00:00Z', '2026-09-01T00:00:01Z'),"
	    " (2, 'failed-waiting', 't', 'failed', '2026-09-01T00:00:00Z', '2026-09-01T00:00:01Z'),"
	    " (3, 'still-running', 't', 'analyzed', '2026-09-01T00:00:00Z', NULL),"
	    " (4, 'failed', 't', 'failed', '2026-09-01T00:00:00Z', '2026-09-01T00:00:01Z');"
	    "INSERT INTO stage_executions (run, node_id, stage, status, started_at) VALUES"
	    " (1, 'a', 'ingest', 'succeeded', 'x'), (1, 'b', 'notify', 'succeeded', 'x'),"
	    " (2, 'a', 'ingest', 'failed', 'x'), (3, 'a', 'ingest', 'succeeded', 'x'),"
	    " (4, 'a', 'ingest', 'failed', 'x');"
	    "INSERT INTO inbox (envelope, state, created_at, run_id) VALUES"
	    " ('{}', 'done', '2026-09-01T00:00:00.000Z', 'done'),"
	    " ('{}', 'failed', '2026-09-01T00:00:00.000Z', 'failed-waiting'),"
	    " ('{}', 'pending', '2026-09-01T00:00:00.000Z', NULL),"
	    " ('{}', 'claimed', '2026-09-01T00:00:00.000Z', NULL),"
	    " ('{}', 'done', '2026-11-30T23:00:00.000Z', NULL)");
}

static void what_goes_and_what_stays(void **state)
{
	static const struct {
		const char *table;
		long long removed;
	} want[] = {
	    {"check_runs", 2},    {"stage_executions", 3},        {"pipeline_runs", 2},
	    {"alert_history", 2}, {"notification_deliveries", 2}, {"inbox", 1},
	};
	sm_pipeline_retention r;
	json_t *report;
	sm_error err;

	(void)state;
	fill();
	assert_int_equal(sm_pipeline_prune_retention(NULL, &r, &err), 0);
	/* A dry run counts what a real one removes, and removes nothing. */
	assert_int_equal(sm_pipeline_prune(store, &r, NOW, true, &report, &err), SM_EXIT_OK);
	assert_true(json_is_true(json_object_get(report, "dry_run")));
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		assert_int_equal(removed(report, want[i].table), want[i].removed);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(report, "before"), "queue")),
	    "2026-11-24T12:00:00Z");
	json_decref(report);
	assert_int_equal(count("SELECT count(*) FROM check_runs"), 5);
	assert_int_equal(count("SELECT count(*) FROM stage_executions"), 5);
	assert_int_equal(sm_pipeline_prune(store, &r, NOW, false, &report, &err), SM_EXIT_OK);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		assert_int_equal(removed(report, want[i].table), want[i].removed);
	json_decref(report);
	/* The newest of each pair, however old. */
	assert_int_equal(count("SELECT count(*) FROM check_runs WHERE executed_at IN"
	                       " ('2026-09-01T00:05:00.000Z', '2026-11-30T00:00:00.000Z')"
	                       " OR hostname = 'b'"),
	                 3);
	assert_int_equal(count("SELECT count(*) FROM check_runs"), 3);
	/* A run a failed item names, and one not finished, stay with their stages. */
	assert_int_equal(count("SELECT count(*) FROM pipeline_runs WHERE id IN (2, 3)"), 2);
	assert_int_equal(count("SELECT count(*) FROM stage_executions WHERE run IN (2, 3)"), 2);
	assert_int_equal(count("SELECT count(*) FROM stage_executions"), 2);
	/* History: the open incident's and the one closed lately stay. */
	assert_int_equal(count("SELECT count(*) FROM alert_history WHERE alert_id IN (2, 3)"), 2);
	assert_int_equal(count("SELECT count(*) FROM alert_history"), 2);
	/* Deliveries: the open incident's and the recent one stay. */
	assert_int_equal(count("SELECT count(*) FROM notification_deliveries WHERE incident_id = 2"
	                       " OR created_at > '2026-11'"),
	                 2);
	assert_int_equal(count("SELECT count(*) FROM notification_deliveries"), 2);
	/* The queue: only the old done item went. */
	assert_int_equal(count("SELECT count(*) FROM inbox WHERE state <> 'done'"), 3);
	assert_int_equal(count("SELECT count(*) FROM inbox"), 4);
	assert_int_equal(count("SELECT count(*) FROM incidents"), 3);
	/* Again: nothing left to remove. */
	assert_int_equal(sm_pipeline_prune(store, &r, NOW, false, &report, &err), SM_EXIT_OK);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		assert_int_equal(removed(report, want[i].table), 0);
	json_decref(report);
}

/* Beyond check_detail (7 days), an hour of OK results is its first; the
 * results that are not OK or that made or resolved an alert stay, and
 * nothing newer is touched. */
static void old_results_are_thinned_to_one_an_hour(void **state)
{
	sm_pipeline_retention r;
	json_t *report;
	sm_error err;

	(void)state;
	/* Three hours of five-minute results 10 days before NOW (36 rows),
	 * one of them a warning and one the OK that resolved alert 1; a
	 * day of them 2 days before NOW (12 rows, the newest of the pair). */
	exec("INSERT INTO alerts (id, source, fingerprint, name, status, severity, created_at,"
	     " updated_at) VALUES (1, 's', 'f', 'n', 'resolved', 'warning', 'x', 'x');"
	     "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 35)"
	     " INSERT INTO check_runs (checker, hostname, status, message, executed_at, alert_id)"
	     " SELECT 'cpu', 'h', CASE i WHEN 13 THEN 'warning' ELSE 'ok' END, '',"
	     " strftime('%Y-%m-%dT%H:%M:%fZ', '2026-11-21T09:00:00', '+' || (i * 5) || ' minutes'),"
	     " CASE i WHEN 30 THEN 1 END FROM n;"
	     "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 11)"
	     " INSERT INTO check_runs (checker, hostname, status, message, executed_at)"
	     " SELECT 'cpu', 'h', 'ok', '',"
	     " strftime('%Y-%m-%dT%H:%M:%fZ', '2026-11-29T09:00:00', '+' || (i * 5) || ' minutes')"
	     " FROM n");
	assert_int_equal(sm_pipeline_prune_retention(NULL, &r, &err), 0);
	assert_int_equal(sm_pipeline_prune(store, &r, NOW, true, &report, &err), SM_EXIT_OK);
	assert_int_equal(removed(report, "check_runs"), 36 - 5);
	json_decref(report);
	assert_int_equal(sm_pipeline_prune(store, &r, NOW, false, &report, &err), SM_EXIT_OK);
	assert_int_equal(removed(report, "check_runs"), 36 - 5);
	json_decref(report);
	assert_int_equal(count("SELECT count(*) FROM check_runs WHERE executed_at < '2026-11-22'"
	                       " AND (executed_at IN ('2026-11-21T09:00:00.000Z',"
	                       " '2026-11-21T10:00:00.000Z', '2026-11-21T11:00:00.000Z')"
	                       " OR status = 'warning' OR alert_id = 1)"),
	                 5);
	assert_int_equal(count("SELECT count(*) FROM check_runs"), 5 + 12);
	/* Again: the first of each hour stays the first. */
	assert_int_equal(sm_pipeline_prune(store, &r, NOW, false, &report, &err), SM_EXIT_OK);
	assert_int_equal(removed(report, "check_runs"), 0);
	json_decref(report);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(durations),
	    cmocka_unit_test(retention_specs),
	    cmocka_unit_test_setup_teardown(old_results_are_thinned_to_one_an_hour, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(what_goes_and_what_stays, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
