/* test_checker_cpu.c - the cpu checker: busy percentages from /proc/stat
 * pairs (tests/fixtures/hosts/cpu-* stat and stat.after), the report in both
 * modes, the real sampling path and the failures. */
#include "testutil.h"
#include "check/checkers.h"

/* A result set up as sm_check_run does, with the registry's thresholds. */
static void result_for(const char *name, sm_check_result *res)
{
	const sm_checker *c = sm_checker_find(name);

	assert_non_null(c);
	memset(res, 0, sizeof *res);
	res->checker = c->name;
	res->status = SM_UNKNOWN;
	res->metrics = json_object();
	res->warning = sm_range_value(c->warning);
	res->critical = sm_range_value(c->critical);
}

/* The report of the samples between consecutive fixture snapshots. */
static void report(const char *host, bool per_cpu, const char *const *files, size_t nfiles,
                   sm_check_result *res)
{
	sm_cpu_usage usage = {.per_cpu = per_cpu};
	sm_error err;

	result_for("cpu", res);
	for (size_t i = 0; i + 1 < nfiles; i++) {
		char *before = slurp(host, files[i]), *after = slurp(host, files[i + 1]);
		assert_int_equal(sm_cpu_usage_add(&usage, before, after, &err), 0);
		free(before);
		free(after);
	}
	sm_cpu_usage_report(&usage, res);
	sm_cpu_usage_free(&usage);
}

static const char *const one_sample[] = {"proc/stat", "proc/stat.after"};

static void busy_from_fixture_pairs(void **state)
{
	static const struct {
		const char *host;
		double total, core0, core1;
	} cases[] = {
	    {"cpu-idle", 3.5, 4.0, 3.0},
	    {"cpu-warning", 75.0, 100.0, 50.0},
	    {"cpu-critical", 95.5, 100.0, 91.0},
	    {"cpu-guest", 50.0, 50.0, 50.0},     /* guest time is not counted twice */
	    {"cpu-backwards", 30.0, 30.0, 30.0}, /* a counter going back counts as 0 */
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *before = slurp(cases[i].host, "proc/stat");
		char *after = slurp(cases[i].host, "proc/stat.after");
		double *pct;
		size_t n;
		sm_error err;

		assert_int_equal(sm_cpu_busy(before, after, false, &pct, &n, &err), 0);
		assert_int_equal(n, 1);
		assert_real(pct[0], cases[i].total);
		free(pct);
		assert_int_equal(sm_cpu_busy(before, after, true, &pct, &n, &err), 0);
		assert_int_equal(n, 2);
		assert_real(pct[0], cases[i].core0);
		assert_real(pct[1], cases[i].core1);
		free(pct);
		/* The same snapshot twice: nothing elapsed, 0 %. */
		assert_int_equal(sm_cpu_busy(before, before, false, &pct, &n, &err), 0);
		assert_real(pct[0], 0.0);
		free(pct);
		free(before);
		free(after);
	}
}

static void busy_rejects_junk(void **state)
{
	static const struct {
		const char *text;
		bool per_cpu;
		const char *error;
	} cases[] = {
	    {"", false, "/proc/stat: no cpu line"},
	    {"intr 1 2 3\nctxt 4\n", false, "/proc/stat: no cpu line"},
	    {"cpu  1 2 3 4\n", true, "/proc/stat: no cpuN lines"},
	    {"cpu  1 2 3\n", false, "/proc/stat: malformed cpu line"},
	    {"cpu  1 2 -3 4\n", false, "/proc/stat: malformed cpu line"},
	    {"cpu  1 2 3 4\ncpu7 1 x 3 4\n", true, "/proc/stat: malformed cpu7 line"},
	    {"cpu  99999999999999999999999 2 3 4\n", false, "/proc/stat: malformed cpu line"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		double *pct = NULL;
		size_t n = 9;
		sm_error err = {0};

		assert_int_equal(
		    sm_cpu_busy(cases[i].text, cases[i].text, cases[i].per_cpu, &pct, &n, &err),
		    -1);
		assert_null(pct);
		assert_int_equal(n, 0);
		assert_string_equal(err.msg, cases[i].error);
	}
}

static void busy_tolerates_old_and_odd_kernels(void **state)
{
	/* Old kernels print only four counters, a CPU can come online between
	 * the snapshots, and cpuN lines are matched by N, not position. */
	const char *before = "cpu  100 0 100 800\ncpu1 50 0 50 400\ncpu0 50 0 50 400\n";
	const char *after = "cpu  150 0 150 900\ncpu0 100 0 100 400\ncpu2 1 1 1 1\n"
	                    "cpu1 50 0 50 500\n";
	double *pct;
	size_t n;
	sm_error err;

	(void)state;
	assert_int_equal(sm_cpu_busy(before, after, false, &pct, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_real(pct[0], 50.0);
	free(pct);
	assert_int_equal(sm_cpu_busy(before, after, true, &pct, &n, &err), 0);
	assert_int_equal(n, 2); /* cpu2 came online: no reading yet */
	assert_real(pct[0], 100.0);
	assert_real(pct[1], 0.0);
	free(pct);
}

static void report_ok(void **state)
{
	sm_check_result res;

	(void)state;
	report("cpu-idle", false, one_sample, 2, &res);
	assert_result(&res, SM_OK, "CPU usage: 3.5% (avg of 1 sample)",
	              "{\"cpu_percent\":3.5,\"cpu_min\":3.5,\"cpu_max\":3.5,\"samples\":1,"
	              "\"cpu_count\":2}",
	              "cpu=3.5%;70;90;0;100 cpu_min=3.5%;;;0;100 cpu_max=3.5%;;;0;100");
	assert_null(res.error);
	sm_check_result_clear(&res);
}

static void report_warning_and_busiest_core(void **state)
{
	sm_check_result res;

	(void)state;
	report("cpu-warning", false, one_sample, 2, &res);
	assert_result(&res, SM_WARNING, "CPU usage: 75.0% (avg of 1 sample)", NULL, NULL);
	assert_real(metric_num(&res, "cpu_percent"), 75.0);
	sm_check_result_clear(&res);

	/* One core pegged at 100 % is critical in busiest-core mode. */
	report("cpu-warning", true, one_sample, 2, &res);
	assert_result(&res, SM_CRITICAL, "CPU usage: 100.0% (avg of 1 sample, busiest core)",
	              "{\"cpu_percent\":100.0,\"cpu_min\":100.0,\"cpu_max\":100.0,"
	              "\"samples\":1,\"per_cpu_percent\":[100.0,50.0],\"cpu_count\":2}",
	              NULL);
	sm_check_result_clear(&res);
}

static void report_critical(void **state)
{
	sm_check_result res;

	(void)state;
	report("cpu-critical", false, one_sample, 2, &res);
	assert_result(&res, SM_CRITICAL, "CPU usage: 95.5% (avg of 1 sample)", NULL, NULL);
	assert_real(metric_num(&res, "cpu_percent"), 95.5);
	sm_check_result_clear(&res);
}

static void report_averages_samples(void **state)
{
	static const char *const files[] = {"proc/stat", "proc/stat.after", "proc/stat.after2"};
	sm_check_result res;

	(void)state;
	report("cpu-samples", false, files, 3, &res); /* 20.0 % then 40.0 % */
	assert_result(&res, SM_OK, "CPU usage: 30.0% (avg of 2 samples)",
	              "{\"cpu_percent\":30.0,\"cpu_min\":20.0,\"cpu_max\":40.0,"
	              "\"samples\":2,\"cpu_count\":2}",
	              NULL);
	sm_check_result_clear(&res);

	/* Busiest core: per-core averages; min/max of each sample's busiest. */
	report("cpu-samples", true, files, 3, &res);
	assert_string_equal(res.message, "CPU usage: 30.0% (avg of 2 samples, busiest core)");
	assert_metrics(&res, "{\"cpu_percent\":30.0,\"cpu_min\":20.0,\"cpu_max\":40.0,"
	                     "\"samples\":2,\"per_cpu_percent\":[30.0,30.0],\"cpu_count\":2}");
	sm_check_result_clear(&res);
}

static void report_uses_range_overrides(void **state)
{
	sm_check_result res;
	sm_cpu_usage usage = {0};
	char *before = slurp("cpu-idle", "proc/stat"),
	     *after = slurp("cpu-idle", "proc/stat.after");
	sm_error err;

	(void)state;
	result_for("cpu", &res);
	/* Plugin range "~:3": critical above 3 %, so 3.5 % trips it. */
	assert_int_equal(sm_range_parse("~:3", &res.critical, &err), 0);
	assert_int_equal(sm_cpu_usage_add(&usage, before, after, &err), 0);
	sm_cpu_usage_report(&usage, &res);
	assert_int_equal(res.status, SM_CRITICAL);
	assert_string_equal(res.perfdata,
	                    "cpu=3.5%;70;~:3;0;100 cpu_min=3.5%;;;0;100 cpu_max=3.5%;;;0;100");
	sm_cpu_usage_free(&usage);
	sm_check_result_clear(&res);
	free(before);
	free(after);
}

static void sampling_a_static_host(void **state)
{
	sm_check_opts opts = {0};
	sm_check_result res;

	(void)state;
	opts_number(&opts, "samples", 2);
	opts_number(&opts, "interval", 0.001);
	/* The file does not change: 0 %. */
	assert_outcome("cpu-idle", "cpu", &opts, SM_OK, "CPU usage: 0.0% (avg of 2 samples)",
	               "{\"cpu_percent\":0.0,\"cpu_min\":0.0,\"cpu_max\":0.0,"
	               "\"samples\":2,\"cpu_count\":2}",
	               NULL);

	opts = (sm_check_opts){0};
	opts_number(&opts, "interval", 0.001);
	opts_number(&opts, "per-cpu", 1);
	run_checker("cpu", &opts, &res);
	assert_string_equal(res.message, "CPU usage: 0.0% (avg of 1 sample, busiest core)");
	assert_metrics(&res, "{\"cpu_percent\":0.0,\"cpu_min\":0.0,\"cpu_max\":0.0,"
	                     "\"samples\":1,\"per_cpu_percent\":[0.0,0.0],\"cpu_count\":2}");
	sm_check_result_clear(&res);
}

static void unknown_when_unreadable_or_malformed(void **state)
{
	sm_check_opts opts = {0};
	sm_check_result res;
	char expected[8192];

	(void)state;
	opts_number(&opts, "interval", 0.001);
	use_host("cpu-malformed");
	run_checker("cpu", &opts, &res);
	assert_result(&res, SM_UNKNOWN, "Check failed: /proc/stat: malformed cpu line", "{}",
	              NO_PERFDATA);
	assert_string_equal(res.error, "/proc/stat: malformed cpu line");
	sm_check_result_clear(&res);

	/* A directory where the file should be. */
	snprintf(expected, sizeof expected, "Check failed: %s/proc/stat: Is a directory",
	         fixture("hosts/cpu-unreadable"));
	assert_outcome("cpu-unreadable", "cpu", &opts, SM_UNKNOWN, expected, NULL, NULL);

	assert_host_error("cpu-no-such-host", "cpu", &opts,
	                  "/proc/stat: No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(busy_from_fixture_pairs),
	    cmocka_unit_test(busy_rejects_junk),
	    cmocka_unit_test(busy_tolerates_old_and_odd_kernels),
	    cmocka_unit_test(report_ok),
	    cmocka_unit_test(report_warning_and_busiest_core),
	    cmocka_unit_test(report_critical),
	    cmocka_unit_test(report_averages_samples),
	    cmocka_unit_test(report_uses_range_overrides),
	    cmocka_unit_test(sampling_a_static_host),
	    cmocka_unit_test(unknown_when_unreadable_or_malformed),
	};

	return cmocka_run_group_tests(tests, 0, NULL);
}
