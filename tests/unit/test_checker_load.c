/* test_checker_load.c - the load checker against tests/fixtures/hosts/load-*:
 * load average per logical CPU (counted from /proc/stat). */
#include "testutil.h"
#include "check/checkers.h"

static void outcomes(void **state)
{
	static const struct outcome cases[] = {
	    {"load-ok", SM_OK, "Load average: 1.03, 0.42, 0.16 (0.52 per CPU, 2 CPUs)",
	     "{\"load1\":1.03,\"load5\":0.42,\"load15\":0.16,\"cpu_count\":2,"
	     "\"load1_per_cpu\":0.52,\"load5_per_cpu\":0.21,\"load15_per_cpu\":0.08}",
	     "load1=1.03;;;0 load5=0.42;;;0 load15=0.16;;;0 load1_per_cpu=0.52;1.5;3;0"},
	    {"load-warning", SM_WARNING, "Load average: 6.40, 3.20, 2.00 (1.60 per CPU, 4 CPUs)",
	     "{\"load1\":6.4,\"load5\":3.2,\"load15\":2.0,\"cpu_count\":4,"
	     "\"load1_per_cpu\":1.6,\"load5_per_cpu\":0.8,\"load15_per_cpu\":0.5}",
	     "load1=6.4;;;0 load5=3.2;;;0 load15=2;;;0 load1_per_cpu=1.6;1.5;3;0"},
	    {"load-critical", SM_CRITICAL, "Load average: 3.50, 2.00, 1.00 (3.50 per CPU, 1 CPU)",
	     "{\"load1\":3.5,\"load5\":2.0,\"load15\":1.0,\"cpu_count\":1,"
	     "\"load1_per_cpu\":3.5,\"load5_per_cpu\":2.0,\"load15_per_cpu\":1.0}",
	     "load1=3.5;;;0 load5=2;;;0 load15=1;;;0 load1_per_cpu=3.5;1.5;3;0"},
	    {"load-malformed", SM_UNKNOWN, "Check failed: /proc/loadavg: malformed", "{}",
	     NO_PERFDATA},
	    {"load-nocpu", SM_UNKNOWN,
	     "Check failed: cannot count CPUs: no cpuN lines in /proc/stat", "{}", NO_PERFDATA},
	};
	(void)state;
	assert_outcomes("load", cases, sizeof cases / sizeof cases[0]);
}

static void junk(void **state)
{
	static const char *const texts[] = {
	    "",
	    "\n",
	    "0.16 0.13\n",
	    "0.16 0.13 nan 1/83 5577\n",
	    "-1.00 0.13 0.07 1/83 5577\n",
	    "1e999 0.13 0.07 1/83 5577\n",
	    "0.16x 0.13 0.07 1/83 5577\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		assert_proc_error("load", "loadavg", texts[i], "/proc/loadavg: malformed");
}

static void unreadable(void **state)
{
	(void)state;
	assert_host_error("load-no-such-host", "load", NULL,
	                  "/proc/loadavg: No such file or directory");
}

static void range_override(void **state)
{
	sm_check_opts opts = {0};
	sm_check_result res;
	sm_error err;

	(void)state;
	use_host("load-ok");
	/* "0.5": a plain number keeps the checker's direction (at or above). */
	assert_int_equal(sm_range_parse("0.5", &opts.warning, &err), 0);
	run_checker("load", &opts, &res);
	assert_int_equal(res.status, SM_WARNING);
	assert_real(metric_num(&res, "load1_per_cpu"), 0.52);
	sm_check_result_clear(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(outcomes),
	    cmocka_unit_test(junk),
	    cmocka_unit_test(unreadable),
	    cmocka_unit_test(range_override),
	};

	return cmocka_run_group_tests(tests, 0, NULL);
}
