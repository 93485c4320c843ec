/* test_pipeline_status_html.c - the status page at a fixed clock: where a
 * result lands among the chart's points (the average and range of its
 * interval, one at the current second in the last), the charted number
 * read from the index (no row's metrics parsed), the incident timeline's
 * bars, and escaping. */
#include <time.h>

#include "testutil.h"
#include "sm/pipeline_status_html.h"
#include "sm/store.h"

static char dir[64], path[128];
static sm_store *store;

/* 2026-12-01T12:00:00Z */
#define NOW ((time_t)1796126400)

static int setup(void **state)
{
	sm_error err;

	(void)state;
	snprintf(dir, sizeof dir, "/tmp/sm-page-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/sm.db", dir);
	setenv("SM_HOST_ROOT", dir, 1);
	return sm_store_open(path, &store, &err);
}

static int teardown(void **state)
{
	(void)state;
	sm_store_close(store);
	rm_rf(dir);
	return 0;
}

static void exec(const char *sql)
{
	sm_error err;

	assert_int_equal(sm_store_exec(store, sql, &err), 0);
}

/* The page at NOW; its exit level in *level. */
static char *page(enum sm_status *level)
{
	/* Static: with a local whose address the stream keeps, GCC 12's
	 * -Wdangling-pointer (Release) takes the page for that local. */
	static char *text;
	static size_t len;
	FILE *out;

	text = NULL;
	out = open_memstream(&text, &len);
	sm_error err;

	assert_non_null(out);
	assert_int_equal(sm_pipeline_status_html(store, NOW, out, level, &err), 0);
	fclose(out);
	return text;
}

/* The line of the page holding needle (a chart's figure is one line). */
static char *line_of(const char *text, const char *needle)
{
	const char *found = strstr(text, needle);
	size_t pos, from, to;

	assert_non_null(found);
	pos = (size_t)(found - text);
	for (from = pos; from > 0 && text[from - 1] != '\n'; from--)
		;
	for (to = pos; text[to] && text[to] != '\n'; to++)
		;
	return strndup(text + from, to - from);
}

static size_t count(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void a_point_is_the_average_and_range_of_its_interval(void **state)
{
	enum sm_status level;
	char *text, *day, *week;

	(void)state;
	/* Two results in the quarter from 11:30, one at the current second
	 * (after NOW's whole second began), one older than a week (left out),
	 * one whose metrics are not JSON (left out). */
	exec("INSERT INTO check_runs (checker, hostname, status, message, metrics, executed_at)"
	     " VALUES ('cpu', 'h', 'ok', 'm', '{\"cpu_percent\":10}', '2026-12-01T11:31:00.000Z'),"
	     " ('cpu', 'h', 'ok', 'm', '{\"cpu_percent\":30}', '2026-12-01T11:40:00.000Z'),"
	     " ('cpu', 'h', 'ok', 'm', '{\"cpu_percent\":77}', '2026-12-01T12:00:00.500Z'),"
	     " ('cpu', 'h', 'ok', 'm', '{\"cpu_percent\":99}', '2026-11-20T12:00:00.000Z'),"
	     " ('cpu', 'h', 'ok', 'm', 'not json', '2026-12-01T11:50:00.000Z')");
	text = page(&level);
	day = line_of(text, "<figcaption>cpu, 24 hours");
	week = line_of(text, "<figcaption>cpu, 7 days");
	/* 96 quarters from NOW - 24 h: the one from 11:30 (94) and the one
	 * from 11:45 (95), which takes the current second too. */
	assert_non_null(strstr(day, "data-start=\"1796040000\" data-step=\"900\" data-unit=\"%\""));
	assert_int_equal(count(day, ";"), 95);
	assert_non_null(strstr(day, ";;20.00,10.00,30.00;77.00,77.00,77.00\">"));
	assert_non_null(strstr(
	    day, "<title>cpu, 24 hours: average 48.50%, lowest 10.00%, highest 77.00%</title>"));
	assert_non_null(strstr(day, ": <b>77.0%</b> now"));
	/* The week: one point for the hour from 11:00. */
	assert_non_null(strstr(week, "data-start=\"1795521600\" data-step=\"3600\""));
	assert_int_equal(count(week, ";"), 167);
	{
		char want[256] = "data-points=\"";
		for (int i = 0; i < 167; i++)
			strcat(want, ";");
		strcat(want, "39.00,10.00,77.00\">");
		assert_non_null(strstr(week, want));
	}
	free(day);
	free(week);
	free(text);
}

static void the_charted_number_comes_from_the_index(void **state)
{
	sqlite3_stmt *st;
	sm_error err;
	bool reads_metrics = false;

	(void)state;
	/* The plan of the chart's rows: the index's expression column, never
	 * the table's metrics (column 5). */
	st = sm_store_prepare(store,
	                      "EXPLAIN WITH r AS MATERIALIZED (SELECT " SM_STORE_CHART_VALUE
	                      " AS v FROM check_runs WHERE checker = 'cpu' AND hostname = 'h')"
	                      " SELECT avg(v) FROM r",
	                      &err);
	assert_non_null(st);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *op = (const char *)sqlite3_column_text(st, 1);
		const char *p4 = (const char *)sqlite3_column_text(st, 6);
		if (strcmp(op, "Function") == 0 && p4 && strstr(p4, "json_"))
			reads_metrics = true;
	}
	sqlite3_finalize(st);
	assert_false(reads_metrics);
}

static void the_timeline_and_escaping(void **state)
{
	enum sm_status level;
	char *text, *timeline;

	(void)state;
	exec("INSERT INTO incidents (title, status, severity, group_key, created_at, updated_at,"
	     " resolved_at) VALUES"
	     " ('<b>\"x\" & y</b>', 'open', 'critical', 'k1', '2026-11-30T12:00:00Z',"
	     "  '2026-12-01T11:00:00Z', NULL),"
	     " ('old', 'resolved', 'warning', 'k2', '2026-11-20T12:00:00Z', '2026-11-21T12:00:00Z',"
	     "  '2026-11-21T12:00:00Z'),"
	     " ('ended', 'resolved', 'info', 'k3', '2026-11-27T12:00:00Z', '2026-11-28T12:00:00Z',"
	     "  '2026-11-28T12:00:00Z')");
	text = page(&level);
	assert_int_equal(level, SM_CRITICAL);
	assert_null(strstr(text, "<b>\"x\""));
	assert_non_null(strstr(text, "&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;"));
	timeline = line_of(text, "<svg class=\"timeline\"");
	/* The open one from a day ago to now: the last seventh of 600 units
	 * after the 300 of labels; the ended one from day -4 to day -3; the
	 * one that ended before the week is not drawn. */
	assert_int_equal(count(text, "<rect class=\"bar"), 2);
	assert_non_null(
	    strstr(text, "<rect class=\"bar critical\" x=\"814.3\" y=\"3\" width=\"85.7\""));
	assert_non_null(
	    strstr(text, "<rect class=\"bar info ended\" x=\"557.1\" y=\"19\" width=\"85.7\""));
	assert_non_null(strstr(text, "of 1 that ended in the week"));
	free(timeline);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(a_point_is_the_average_and_range_of_its_interval, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(the_charted_number_comes_from_the_index, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(the_timeline_and_escaping, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
