/* test_check.c - the registry, result helpers, perfdata and check_runs rows. */
#include <unistd.h>
#include "testutil.h"
#include "sm/json.h"
#include "sm/store.h"

static void registry_order_and_lookup(void **state)
{
	static const char *const order[] = {
	    "cpu",           "cpu_temp",        "memory",      "swap",       "load",
	    "disk",          "disk_inodes",     "disk_common", "disk_linux", "disk_temp",
	    "io_strain",     "listening_ports", "network",     "process",    "raid",
	    "reboot_debian", "agents",          "queue"};
	size_t n;
	const sm_checker *const *all = sm_checkers(&n);

	(void)state;
	assert_int_equal(n, sizeof order / sizeof order[0]);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(all[i]->name, order[i]);
		assert_ptr_equal(sm_checker_find(order[i]), all[i]);
		assert_non_null(all[i]->run);
		assert_true(strlen(all[i]->description) > 10);
	}
	assert_null(sm_checker_find("disk_macos"));
	assert_null(sm_checker_find(""));
	assert_true(sm_checker_find("network")->minimum);
	assert_true(sm_checker_find("cpu")->slow);
	assert_true(isnan(sm_checker_find("raid")->warning));
}

/* The options the checkers declare: each once, in the order of the first
 * checker taking it, with the checkers that take it. */
static void checker_options(void **state)
{
	static const struct {
		const char *name, *users;
		enum sm_check_option_kind kind;
	} expected[] = {
	    {"per-cpu", "cpu", SM_CHECK_SWITCH},
	    {"samples", "cpu, io_strain", SM_CHECK_NUMBER},
	    {"interval", "cpu, io_strain", SM_CHECK_NUMBER},
	    {"paths", "disk, disk_inodes", SM_CHECK_LIST},
	    {"hosts", "network", SM_CHECK_LIST},
	    {"names", "process", SM_CHECK_LIST},
	    {"push-interval", "agents", SM_CHECK_NUMBER},
	};
	size_t n;
	const sm_check_option *const *all = sm_check_options(&n);
	char users[256];

	(void)state;
	assert_int_equal(n, sizeof expected / sizeof expected[0]);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(all[i]->name, expected[i].name);
		assert_int_equal(all[i]->kind, expected[i].kind);
		assert_non_null(all[i]->help);
		assert_ptr_equal(sm_check_option_find(expected[i].name), all[i]);
		sm_check_option_users(all[i], users, sizeof users);
		assert_string_equal(users, expected[i].users);
	}
	assert_null(sm_check_option_find("warning"));
	assert_string_equal(sm_checker_find("disk")->path_metric, "worst_path");
	assert_null(sm_checker_find("memory")->path_metric);
}

/* Option values: lists add up, numbers are checked and the last counts,
 * switches are on once given; what an option refuses is one message. */
static void option_values(void **state)
{
	static const struct {
		const char *option, *text, *error; /* NULL: accepted */
	} cases[] = {
	    {"paths", "/,/boot", NULL},
	    {"paths", ",/srv,", NULL},
	    {"paths", "relative/dir", "--paths: 'relative/dir' is not an absolute path"},
	    {"hosts", "db-01,::1", NULL},
	    {"hosts", "a;b", "--hosts: 'a;b' is not a valid host name"},
	    {"samples", "5", NULL},
	    {"samples", "3", NULL},
	    {"samples", "0", "--samples: expected a number from 1 to 3600, got '0'"},
	    {"samples", "1.5", "--samples: expected a whole number"},
	    {"interval", "0.25", NULL},
	    {"interval", "x", "--interval: expected a number from 0.001 to 3600, got 'x'"},
	    {"per-cpu", "", NULL},
	};
	sm_check_opts opts = {0};
	size_t n;
	const char *const *paths;
	sm_error err;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = sm_check_opts_set(&opts, sm_check_option_find(cases[i].option),
		                           cases[i].text, &err);
		if (cases[i].error) {
			assert_int_equal(rc, -1);
			assert_string_equal(err.msg, cases[i].error);
		} else if (rc != 0) {
			fail_msg("%s %s: %s", cases[i].option, cases[i].text, err.msg);
		}
	}
	paths = sm_check_opts_list(&opts, "paths", &n);
	assert_int_equal(n, 3);
	assert_string_equal(paths[0], "/");
	assert_string_equal(paths[2], "/srv");
	assert_true(sm_check_opts_number(&opts, "samples", 1) == 3);
	assert_true(sm_check_opts_number(&opts, "interval", 1) == 0.25);
	assert_true(sm_check_opts_number(&opts, "push-interval", 300) == 300);
	assert_true(sm_check_opts_switch(&opts, "per-cpu"));
	assert_null(sm_check_opts_list(&opts, "names", &n));
	assert_int_equal(n, 0);
	sm_check_opts_clear(&opts);
	assert_false(sm_check_opts_switch(&opts, "per-cpu"));
	assert_null(sm_check_opts_list(&opts, "paths", &n));
}

static void statuses(void **state)
{
	(void)state;
	assert_string_equal(sm_status_name(SM_OK), "ok");
	assert_string_equal(sm_status_name(SM_CRITICAL), "critical");
	assert_string_equal(sm_status_name((enum sm_status)9), "unknown");
	assert_int_equal(sm_status_parse("warning"), SM_WARNING);
	assert_int_equal(sm_status_parse("WARNING"), -1);
}

static void rounding(void **state)
{
	(void)state;
	assert_true(sm_round(45.24, 1) == 45.2);
	assert_true(sm_round(45.26, 1) == 45.3);
	assert_true(sm_round(2.5, 0) == 2.0); /* half to even */
	assert_true(sm_round(3.5, 0) == 4.0);
	assert_true(sm_round(-2.5, 0) == -2.0);
	assert_true(sm_round(-0.04, 1) == 0.0);
	assert_false(signbit(sm_round(-0.04, 1)));
	assert_true(sm_round(1e300, 2) == 1e300);
	assert_true(isnan(sm_round(NAN, 1)));
	assert_true(sm_round(0.125, 2) == 0.12);
	assert_true(sm_round(12345.678, 2) == 12345.68);
}

static void result_helpers_and_thresholds(void **state)
{
	sm_check_result res = {0};
	sm_check_opts opts = {0};
	sm_error err;

	(void)state;
	res.metrics = json_object();
	res.warning = sm_range_value(70);
	res.critical = sm_range_value(90);
	assert_int_equal(sm_result_level(&res, 69.9), SM_OK);
	assert_int_equal(sm_result_level(&res, 70), SM_WARNING);
	assert_int_equal(sm_result_level(&res, 90), SM_CRITICAL);
	res.minimum = true; /* network/process: below the threshold trips */
	res.warning = sm_range_value(70);
	res.critical = sm_range_value(50);
	assert_int_equal(sm_result_level(&res, 100), SM_OK);
	assert_int_equal(sm_result_level(&res, 60), SM_WARNING);
	assert_int_equal(sm_result_level(&res, 49), SM_CRITICAL);
	sm_result_skip(&res, "no %s", "sensors");
	assert_string_equal(res.message, "Skipped: no sensors");
	assert_int_equal(res.status, SM_OK);
	sm_result_fail(&res, "%s: gone", "/proc/x");
	assert_string_equal(res.message, "Check failed: /proc/x: gone");
	assert_string_equal(res.error, "/proc/x: gone");
	assert_int_equal(res.status, SM_UNKNOWN);
	sm_check_result_clear(&res);

	/* sm_check_run applies overrides and records them in the result. */
	assert_int_equal(sm_range_parse("@0:100", &opts.warning, &err), 0);
	use_host("cli-ok");
	run_checker("memory", &opts, &res);
	assert_int_equal(res.status, SM_WARNING);
	assert_string_equal(res.warning.text, "@0:100");
	assert_string_equal(res.critical.text, "90");
	sm_check_result_clear(&res);
	run_checker("raid", &opts, &res); /* state based: no thresholds */
	assert_false(res.warning.set);
	sm_check_result_clear(&res);
}

static void perfdata_format(void **state)
{
	sm_check_result res = {0};
	sm_error err;

	(void)state;
	res.warning = sm_range_value(80);
	res.critical = sm_range_value(95);
	sm_result_perf(&res, "/", 45.25, "%", true, 0, 100);
	sm_result_perf(&res, "it's a disk", 3, "", false, NAN, NAN);
	assert_int_equal(sm_range_parse("10:20", &res.warning, &err), 0);
	sm_result_perf(&res, "load1", 0.5, "", true, 0, NAN);
	assert_string_equal(res.perfdata,
	                    "/=45.25%;80;95;0;100 'it''s a disk'=3 load1=0.5;10:20;95;0");
	sm_check_result_clear(&res);
}

/* A run for output without perfdata formats none. */
static void no_perfdata_when_not_wanted(void **state)
{
	sm_check_opts opts = {0};
	sm_check_result res;

	(void)state;
	use_host("cli-ok");
	sm_check_run(sm_checker_find("load"), &opts, &res);
	assert_non_null(res.perfdata);
	sm_check_result_clear(&res);
	opts.no_perfdata = true;
	sm_check_run(sm_checker_find("load"), &opts, &res);
	assert_int_equal(res.status, SM_OK);
	assert_null(res.perfdata);
	sm_check_result_clear(&res);
}

static void result_json_and_record(void **state)
{
	char dir[] = "/tmp/sm-check-XXXXXX", path[128];
	sm_check_result res;
	sm_store *store;
	sm_error err;
	sqlite3_stmt *st;
	json_t *j;
	char *text;

	(void)state;
	use_host("cli-warn");
	run_checker("memory", NULL, &res);
	j = sm_check_result_json(&res);
	text = json_dumps(j, SM_JSON_FLAGS);
	assert_non_null(strstr(text, "{\"checker\":\"memory\",\"status\":\"warning\",\"message\":"
	                             "\"Memory usage: 75.0%"));
	assert_non_null(strstr(text, "\"error\":null,\"thresholds\":{\"warning\":\"70\","
	                             "\"critical\":\"90\"},\"duration_ms\":"));
	free(text);
	json_decref(j);

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/sm.db", dir);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_int_equal(
	    sm_check_record(store, &res, "db-01", "0123456789abcdef0123456789abcdef", 0, &err), 0);
	st =
	    sm_store_prepare(store,
	                     "SELECT checker, hostname, status, warning_threshold, trace_id,"
	                     " json_extract(metrics, '$.memory_percent'), alert_id FROM check_runs",
	                     &err);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "memory");
	assert_string_equal((const char *)sqlite3_column_text(st, 1), "db-01");
	assert_string_equal((const char *)sqlite3_column_text(st, 2), "warning");
	assert_string_equal((const char *)sqlite3_column_text(st, 3), "70");
	assert_string_equal((const char *)sqlite3_column_text(st, 4),
	                    "0123456789abcdef0123456789abcdef");
	assert_true(sqlite3_column_double(st, 5) == 75.0);
	assert_int_equal(sqlite3_column_type(st, 6), SQLITE_NULL); /* no alert */
	sqlite3_finalize(st);
	sm_store_close(store);
	sm_check_result_clear(&res);
	rm_rf(dir);
}

static void hosts_validation(void **state)
{
	static const char *const good[] = {"127.0.0.1", "::1", "fe80::1%eth0", "db-01.example.org",
	                                   "host_name"};
	static const char *const bad[] = {"", "-c5", "a b", "a;b", "$(x)", "a\nb", "x/y"};

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_true(sm_check_host_valid(good[i]));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(sm_check_host_valid(bad[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(registry_order_and_lookup),
	    cmocka_unit_test(checker_options),
	    cmocka_unit_test(option_values),
	    cmocka_unit_test(statuses),
	    cmocka_unit_test(rounding),
	    cmocka_unit_test(result_helpers_and_thresholds),
	    cmocka_unit_test(perfdata_format),
	    cmocka_unit_test(no_perfdata_when_not_wanted),
	    cmocka_unit_test(result_json_and_record),
	    cmocka_unit_test(hosts_validation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
