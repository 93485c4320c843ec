/* test_checker_memory.c - the memory checker and the /proc/meminfo parser it
 * shares with swap, against tests/fixtures/hosts/mem-*. */
#include "testutil.h"
#include "check/checkers.h"

static void outcomes(void **state)
{
	static const struct outcome cases[] = {
	    {"mem-ok", SM_OK, "Memory usage: 30.0% (2.4/8.0 GB)",
	     "{\"memory_percent\":30.0,\"memory_total_gb\":8.0,\"memory_used_gb\":2.4,"
	     "\"memory_available_gb\":5.6}",
	     "memory=30%;70;90;0;100"},
	    {"mem-warning", SM_WARNING, "Memory usage: 75.0% (6.0/8.0 GB)",
	     "{\"memory_percent\":75.0,\"memory_total_gb\":8.0,\"memory_used_gb\":6.0,"
	     "\"memory_available_gb\":2.0}",
	     "memory=75%;70;90;0;100"},
	    {"mem-critical", SM_CRITICAL, "Memory usage: 95.0% (7.6/8.0 GB)",
	     "{\"memory_percent\":95.0,\"memory_total_gb\":8.0,\"memory_used_gb\":7.6,"
	     "\"memory_available_gb\":0.4}",
	     "memory=95%;70;90;0;100"},
	    /* No MemAvailable (Linux < 3.14): MemFree + file pages + SReclaimable. */
	    {"mem-noavail", SM_OK, "Memory usage: 62.5% (5.0/8.0 GB)",
	     "{\"memory_percent\":62.5,\"memory_total_gb\":8.0,\"memory_used_gb\":5.0,"
	     "\"memory_available_gb\":3.0}",
	     "memory=62.5%;70;90;0;100"},
	    {"mem-malformed", SM_UNKNOWN, "Check failed: /proc/meminfo: no MemTotal line", "{}",
	     NO_PERFDATA},
	};
	(void)state;
	assert_outcomes("memory", cases, sizeof cases / sizeof cases[0]);
}

static void unreadable(void **state)
{
	sm_check_result res;

	(void)state;
	/* A directory where the file should be. */
	assert_host_error("mem-unreadable", "memory", NULL, "/proc/meminfo: Is a directory");

	use_host("mem-no-such-host");
	run_checker("memory", NULL, &res);
	assert_int_equal(res.status, SM_UNKNOWN);
	assert_non_null(strstr(res.message, "/proc/meminfo: No such file or directory"));
	sm_check_result_clear(&res);
}

static void junk(void **state)
{
	static const struct {
		const char *text, *error;
	} cases[] = {
	    {"", "/proc/meminfo: no MemTotal line"},
	    {"MemTotal: lots kB\n", "/proc/meminfo: malformed MemTotal line"},
	    {"MemTotal: -5 kB\n", "/proc/meminfo: malformed MemTotal line"},
	    {"MemTotal: 99999999999999999999 kB\n", "/proc/meminfo: malformed MemTotal line"},
	    {"MemTotal: 18014398509481984 kB\n", "/proc/meminfo: malformed MemTotal line"},
	    {"MemTotal: 100 kB\nMemAvailable: 5 MB\n",
	     "/proc/meminfo: malformed MemAvailable line"},
	    {"MemTotal: 0 kB\nMemFree: 0 kB\n", "/proc/meminfo: MemTotal is 0"},
	    {"MemTotal: 100 kB\nBuffers: 5 kB\n", "/proc/meminfo: no MemAvailable or MemFree line"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_proc_error("memory", "meminfo", cases[i].text, cases[i].error);
}

static void parser(void **state)
{
	sm_meminfo m;
	sm_error err;

	(void)state;
	/* Unknown lines, lines without a unit and a missing final newline are fine. */
	assert_int_equal(sm_meminfo_parse("HugePages_Total:       0\nMemTotal:  100 kB\n"
	                                  "MemFree: 10 kB\nActive(file): 200 kB\nSwapTotal:0 kB\n"
	                                  "SwapFree:    0 kB",
	                                  &m, &err),
	                 0);
	assert_int_equal(m.present, SM_MEMINFO_MEM_TOTAL | SM_MEMINFO_MEM_FREE |
	                                SM_MEMINFO_ACTIVE_FILE | SM_MEMINFO_SWAP_TOTAL |
	                                SM_MEMINFO_SWAP_FREE);
	assert_true(m.mem_total == 102400);
	assert_true(m.active_file == 204800);
	/* The estimate never exceeds MemTotal. */
	assert_true(sm_meminfo_available(&m) == 102400);
	assert_int_equal(
	    sm_meminfo_parse("MemTotal: 100 kB\nMemAvailable: 40 kB\nMemFree: 90 kB\n", &m, &err),
	    0);
	assert_true(sm_meminfo_available(&m) == 40 * 1024);
	assert_int_equal(sm_meminfo_parse("MemTotal: 100 kB\nMemAvailable: 400 kB\n", &m, &err), 0);
	assert_true(sm_meminfo_available(&m) == 100 * 1024);
	assert_int_equal(sm_meminfo_parse("SwapFree: 1 2 kB\n", &m, &err), -1);
	assert_string_equal(err.msg, "/proc/meminfo: malformed SwapFree line");
}

static void range_override(void **state)
{
	sm_check_opts opts = {0};
	sm_error err;

	(void)state;
	/* "@25:35": critical while inside 25..35 %. */
	assert_int_equal(sm_range_parse("@25:35", &opts.critical, &err), 0);
	assert_outcome("mem-ok", "memory", &opts, SM_CRITICAL, NULL, NULL,
	               "memory=30%;70;@25:35;0;100");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(outcomes), cmocka_unit_test(unreadable),     cmocka_unit_test(junk),
	    cmocka_unit_test(parser),   cmocka_unit_test(range_override),
	};

	return cmocka_run_group_tests(tests, 0, NULL);
}
