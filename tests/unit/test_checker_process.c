/* test_checker_process.c - the process checker on a fixture host
 * (hosts/proc-host) with a handful of fake /proc/<pid> directories. */
#include <unistd.h>

#include "testutil.h"

#define MEM_TOTAL_BYTES (2048000.0 * 1024.0)

static sm_check_opts names(const char *const *list, size_t n)
{
	sm_check_opts o = {0};

	opts_list(&o, "names", list, n);
	return o;
}

static json_t *proc(const sm_check_result *res, const char *name)
{
	json_t *p = json_object_get(json_object_get(res->metrics, "processes"), name);

	assert_non_null(p);
	return p;
}

static void assert_found(const sm_check_result *res, const char *name, long long pid,
                         const char *status, double rss_pages)
{
	json_t *p = proc(res, name);
	double expected = rss_pages * (double)sysconf(_SC_PAGESIZE) / MEM_TOTAL_BYTES * 100.0;
	const char *keys[] = {"running", "pid", "status", "memory_percent"};

	assert_keys(p, keys, sizeof keys / sizeof keys[0]); /* no cpu_percent */
	assert_true(json_is_true(json_object_get(p, "running")));
	assert_int_equal(json_integer_value(json_object_get(p, "pid")), pid);
	assert_string_equal(json_string_value(json_object_get(p, "status")), status);
	assert_true(json_real_value(json_object_get(p, "memory_percent")) == expected);
}

static void assert_missing(const sm_check_result *res, const char *name)
{
	json_t *p = proc(res, name);

	assert_int_equal(json_object_size(p), 3);
	assert_true(json_is_false(json_object_get(p, "running")));
	assert_true(json_is_null(json_object_get(p, "pid")));
	assert_string_equal(json_string_value(json_object_get(p, "status")), "not_found");
}

static void run_names(const char *const *list, size_t n, sm_check_result *res)
{
	sm_check_opts o = names(list, n);

	use_host("proc-host");
	run_checker("process", &o, res);
	assert_true(res->minimum);
}

static void test_none_configured(void **state)
{
	sm_check_result res;
	const char *keys[] = {"processes", "running_count", "total_count"};

	(void)state;
	run_names(NULL, 0, &res);
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "No processes configured to monitor");
	assert_keys(res.metrics, keys, sizeof keys / sizeof keys[0]); /* no running_percent */
	assert_int_equal(json_object_size(json_object_get(res.metrics, "processes")), 0);
	assert_int_equal(metric_num(&res, "running_count"), 0);
	assert_int_equal(metric_num(&res, "total_count"), 0);
	sm_check_result_clear(&res);
}

static void test_all_running(void **state)
{
	static const char *const list[] = {"sshd", "nginx"};
	const char *keys[] = {"processes", "running_count", "total_count", "running_percent"};
	sm_check_result res;

	(void)state;
	run_names(list, 2, &res);
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "Processes: 2/2 running");
	assert_keys(res.metrics, keys, sizeof keys / sizeof keys[0]);
	assert_found(&res, "sshd", 420, "sleeping", 1500); /* the lowest of two pids */
	assert_found(&res, "nginx", 512, "running", 2048);
	assert_int_equal(metric_num(&res, "running_count"), 2);
	assert_int_equal(metric_num(&res, "total_count"), 2);
	assert_true(metric_num(&res, "running_percent") == 100.0);
	assert_string_equal(res.perfdata, "running=2;;;0;2");
	sm_check_result_clear(&res);
}

static void test_half_running_is_warning(void **state)
{
	static const char *const list[] = {"sshd", "mysqld"};
	sm_check_result res;

	(void)state;
	run_names(list, 2, &res);
	assert_int_equal(res.status, SM_WARNING);
	assert_string_equal(res.message, "Processes: 1/2 running. Missing: mysqld");
	assert_missing(&res, "mysqld");
	assert_true(metric_num(&res, "running_percent") == 50.0);
	sm_check_result_clear(&res);
}

/* Names match exactly: "ssh" is not "sshd", "Nginx" is not "nginx". */
static void test_no_substring_match_is_critical(void **state)
{
	static const char *const list[] = {"ssh", "Nginx", "ngin", "redis"};
	sm_check_result res;

	(void)state;
	run_names(list, 4, &res);
	assert_int_equal(res.status, SM_CRITICAL);
	assert_string_equal(res.message,
	                    "Processes: 0/4 running. Missing: ssh, Nginx, ngin, redis");
	assert_missing(&res, "ssh");
	assert_missing(&res, "Nginx");
	assert_true(metric_num(&res, "running_percent") == 0.0);
	sm_check_result_clear(&res);
}

static void test_one_of_three_is_critical(void **state)
{
	static const char *const list[] = {"systemd", "a", "b"};
	sm_check_result res;

	(void)state;
	run_names(list, 3, &res);
	assert_int_equal(res.status, SM_CRITICAL);
	assert_string_equal(res.message, "Processes: 1/3 running. Missing: a, b");
	assert_true(metric_num(&res, "running_percent") == 1.0 / 3.0 * 100.0);
	sm_check_result_clear(&res);
}

/* comm is cut at 15 bytes: the long name is matched on argv[0]'s basename. */
static void test_truncated_comm(void **state)
{
	static const char *const list[] = {"postgres-exporter", "postgres-exporter-v2",
	                                   "postgres-export", "postgres-exporter-v3"};
	sm_check_result res;

	(void)state;
	run_names(list, 4, &res);
	assert_found(&res, "postgres-exporter", 777, "sleeping", 4096);
	assert_found(&res, "postgres-exporter-v2", 778, "sleeping", 4096);
	assert_found(&res, "postgres-export", 777, "sleeping", 4096);
	assert_missing(&res, "postgres-exporter-v3");
	sm_check_result_clear(&res);
}

static void test_states(void **state)
{
	static const char *const list[] = {"kworker/0:1-eve", "zombie-app", "backup (daily)",
	                                   "kthreadd"};
	sm_check_result res;

	(void)state;
	run_names(list, 4, &res);
	assert_int_equal(res.status, SM_OK);
	assert_found(&res, "kworker/0:1-eve", 600, "idle", 0);
	assert_found(&res, "zombie-app", 888, "zombie", 0);
	assert_found(&res, "backup (daily)", 901, "disk-sleep", 1024); /* ')' inside comm */
	assert_found(&res, "kthreadd", 2, "sleeping", 0);
	sm_check_result_clear(&res);
}

/* A process listed in /proc that is gone by the time its stat is read. */
static void test_vanished_process(void **state)
{
	static const char *const list[] = {"vanished"};
	sm_check_result res;

	(void)state;
	run_names(list, 1, &res);
	assert_int_equal(res.status, SM_CRITICAL);
	assert_missing(&res, "vanished");
	sm_check_result_clear(&res);
}

static void test_threshold_override(void **state)
{
	static const char *const list[] = {"sshd", "mysqld"};
	sm_check_opts o = names(list, 2);
	sm_check_result res;

	(void)state;
	use_host("proc-host");
	/* A plain minimum of 50: 50 % running is enough. */
	o.warning = sm_range_value(50);
	o.critical = sm_range_value(25);
	run_checker("process", &o, &res);
	assert_int_equal(res.status, SM_OK);
	sm_check_result_clear(&res);
	/* A plugin range: critical unless 75..100 % run. */
	assert_int_equal(sm_range_parse("75:", &o.critical, NULL), 0);
	run_checker("process", &o, &res);
	assert_int_equal(res.status, SM_CRITICAL);
	sm_check_result_clear(&res);
}

static void test_no_meminfo_is_unknown(void **state)
{
	static const char *const list[] = {"init"};
	sm_check_opts o = names(list, 1);
	sm_check_result res;

	(void)state;
	use_host("proc-nomem");
	run_checker("process", &o, &res);
	assert_int_equal(res.status, SM_UNKNOWN);
	assert_string_equal(res.message, "Check failed: /proc/meminfo: No such file or directory");
	assert_string_equal(res.error, "/proc/meminfo: No such file or directory");
	sm_check_result_clear(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_none_configured),
	    cmocka_unit_test(test_all_running),
	    cmocka_unit_test(test_half_running_is_warning),
	    cmocka_unit_test(test_no_substring_match_is_critical),
	    cmocka_unit_test(test_one_of_three_is_critical),
	    cmocka_unit_test(test_truncated_comm),
	    cmocka_unit_test(test_states),
	    cmocka_unit_test(test_vanished_process),
	    cmocka_unit_test(test_threshold_override),
	    cmocka_unit_test(test_no_meminfo_is_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
