/* test_checker_swap.c - the swap checker against tests/fixtures/hosts/swap-*:
 * a host without swap is skipped (OK), never critical. */
#include "testutil.h"
#include "check/checkers.h"

static void outcomes(void **state)
{
	static const struct outcome cases[] = {
	    {"swap-ok", SM_OK, "Swap usage: 12.5% (0.5/4.0 GB)",
	     "{\"swap_percent\":12.5,\"swap_total_gb\":4.0,\"swap_used_gb\":0.5,"
	     "\"swap_free_gb\":3.5}",
	     "swap=12.5%;50;80;0;100"},
	    {"swap-warning", SM_WARNING, "Swap usage: 75.0% (3.0/4.0 GB)",
	     "{\"swap_percent\":75.0,\"swap_total_gb\":4.0,\"swap_used_gb\":3.0,"
	     "\"swap_free_gb\":1.0}",
	     "swap=75%;50;80;0;100"},
	    {"swap-critical", SM_CRITICAL, "Swap usage: 95.0% (3.8/4.0 GB)",
	     "{\"swap_percent\":95.0,\"swap_total_gb\":4.0,\"swap_used_gb\":3.8,"
	     "\"swap_free_gb\":0.2}",
	     "swap=95%;50;80;0;100"},
	    {"swap-none", SM_OK, "Skipped: no swap configured",
	     "{\"swap_percent\":0.0,\"swap_total_gb\":0.0,\"swap_used_gb\":0.0,"
	     "\"swap_free_gb\":0.0}",
	     NO_PERFDATA},
	    {"swap-malformed", SM_UNKNOWN, "Check failed: /proc/meminfo: malformed SwapTotal line",
	     "{}", NO_PERFDATA},
	};
	(void)state;
	assert_outcomes("swap", cases, sizeof cases / sizeof cases[0]);
}

static void no_swap_is_never_critical(void **state)
{
	sm_check_opts opts = {0};
	sm_error err;

	(void)state;
	/* Even thresholds a 0 % reading would trip leave a swapless host alone. */
	assert_int_equal(sm_range_parse("0", &opts.critical, &err), 0);
	assert_outcome("swap-none", "swap", &opts, SM_OK, "Skipped: no swap configured", NULL,
	               NULL);
}

static void unreadable_and_junk(void **state)
{
	static const struct {
		const char *text, *error;
	} cases[] = {
	    {"MemTotal: 100 kB\n", "/proc/meminfo: no SwapTotal line"},
	    {"SwapTotal: 100 kB\n", "/proc/meminfo: no SwapFree line"},
	    {"SwapTotal: 100 kB\nSwapFree: x kB\n", "/proc/meminfo: malformed SwapFree line"},
	};
	sm_check_result res;

	(void)state;
	use_host("swap-no-such-host");
	run_checker("swap", NULL, &res);
	assert_int_equal(res.status, SM_UNKNOWN);
	assert_non_null(strstr(res.error, "/proc/meminfo: No such file or directory"));
	sm_check_result_clear(&res);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_proc_error("swap", "meminfo", cases[i].text, cases[i].error);
}

static void free_above_total_is_clamped(void **state)
{
	struct tmp_host h = {0};
	sm_check_result res;

	(void)state;
	tmp_host(&h, "/proc", "meminfo", "SwapTotal: 1048576 kB\nSwapFree: 2097152 kB\n");
	run_checker("swap", NULL, &res);
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "Swap usage: 0.0% (0.0/1.0 GB)");
	assert_real(metric_num(&res, "swap_free_gb"), 1.0);
	sm_check_result_clear(&res);
	tmp_host_remove(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(outcomes),
	    cmocka_unit_test(no_swap_is_never_critical),
	    cmocka_unit_test(unreadable_and_junk),
	    cmocka_unit_test(free_above_total_is_clamped),
	};

	return cmocka_run_group_tests(tests, 0, NULL);
}
