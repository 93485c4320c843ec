/* test_checker_io_strain.c - the io_strain checker: per-device rates from
 * /proc/diskstats pairs (tests/fixtures/hosts/io-* diskstats and
 * diskstats.after), the whole-device filter, the skips and the failures. */
#include "testutil.h"
#include "check/checkers.h"

/* What /sys/block of the io-ok, io-warning and io-critical fixtures lists. */
static const char *const whole[] = {"loop0", "sda", "nvme0n1"};

static void parse(const char *host, const char *file, sm_diskstat **out, size_t *count)
{
	char *text = slurp(host, file);
	sm_error err;

	assert_int_equal(sm_diskstats_parse(text, whole, 3, out, count, &err), 0);
	free(text);
}

/* The report of a fixture pair taken elapsed_s apart, as sm_check_run sets
 * up results. */
static void report(const char *host, double elapsed_s, sm_check_result *res)
{
	const sm_checker *c = sm_checker_find("io_strain");
	sm_diskstat *before, *after;
	size_t nbefore, nafter;

	memset(res, 0, sizeof *res);
	res->checker = c->name;
	res->metrics = json_object();
	res->warning = sm_range_value(c->warning);
	res->critical = sm_range_value(c->critical);
	parse(host, "proc/diskstats", &before, &nbefore);
	parse(host, "proc/diskstats.after", &after, &nafter);
	sm_io_strain_report(res, before, nbefore, after, nafter, elapsed_s, 1.0);
	free(before);
	free(after);
}

static void rates_from_a_fixture_pair(void **state)
{
	sm_diskstat *before, *after;
	size_t nbefore, nafter, n;
	sm_disk_io io[4];

	(void)state;
	parse("io-ok", "proc/diskstats", &before, &nbefore);
	parse("io-ok", "proc/diskstats.after", &after, &nafter);
	/* loop0 is in /sys/block but is memory; sda1 is a partition. */
	assert_int_equal(nbefore, 2);
	assert_int_equal(nafter, 2);
	assert_string_equal(after[0].name, "sda");
	assert_string_equal(after[1].name, "nvme0n1");
	n = sm_io_strain_rates(before, nbefore, after, nafter, 1.0, io);
	assert_int_equal(n, 2);
	assert_string_equal(io[0].disk, "sda");
	assert_real(io[0].util_percent, 25.0);
	assert_real(io[0].read_mb_s, 10.49); /* 20480 sectors = 10485760 B */
	assert_real(io[0].write_mb_s, 2.1);
	assert_real(io[0].read_iops, 100.0);
	assert_real(io[0].write_iops, 50.0);
	assert_string_equal(io[1].disk, "nvme0n1");
	assert_real(io[1].util_percent, 12.0);
	assert_real(io[1].read_mb_s, 1.05);
	assert_real(io[1].write_mb_s, 4.19);
	assert_real(io[1].read_iops, 10.0);
	assert_real(io[1].write_iops, 20.0);
	/* Over two seconds every rate halves. */
	n = sm_io_strain_rates(before, nbefore, after, nafter, 2.0, io);
	assert_int_equal(n, 2);
	assert_real(io[0].util_percent, 12.5);
	assert_real(io[0].read_iops, 50.0);
	/* No time elapsed: no rates at all. */
	assert_int_equal(sm_io_strain_rates(before, nbefore, after, nafter, 0.0, io), 0);
	/* Counters that went down (a re-added device) count as no activity. */
	n = sm_io_strain_rates(after, nafter, before, nbefore, 1.0, io);
	assert_int_equal(n, 2);
	assert_real(io[0].util_percent, 0.0);
	assert_real(io[0].read_mb_s, 0.0);
	free(before);
	free(after);
}

static void util_is_capped_at_100(void **state)
{
	const char *a = "8 0 sda 1 0 0 0 1 0 0 0 0 1000 0\n";
	const char *b = "8 0 sda 1 0 0 0 1 0 0 0 0 2500 0\n";
	sm_diskstat *before, *after;
	size_t nbefore, nafter;
	sm_disk_io io[1];
	sm_error err;

	(void)state;
	assert_int_equal(sm_diskstats_parse(a, NULL, 0, &before, &nbefore, &err), 0);
	assert_int_equal(sm_diskstats_parse(b, NULL, 0, &after, &nafter, &err), 0);
	assert_int_equal(sm_io_strain_rates(before, nbefore, after, nafter, 1.0, io), 1);
	assert_real(io[0].util_percent, 100.0);
	free(before);
	free(after);
}

static void parser(void **state)
{
	static const struct {
		const char *text, *error;
	} bad[] = {
	    {"8 0 sda 1 2 3\n", "/proc/diskstats: malformed line 1"},
	    {"8 0 sda 1 2 3 4 5\n", "/proc/diskstats: malformed line 1"},
	    {"\n8 0 sda 1 2 3 x\n", "/proc/diskstats: malformed line 2"},
	    {"8 0 sda 1 2 3 -4\n", "/proc/diskstats: malformed line 1"},
	    {"x 0 sda 1 2 3 4\n", "/proc/diskstats: malformed line 1"},
	    {"8 0 a-device-name-much-longer-than-any-kernel-would-ever-print-for-a-disk 1 2 3 4\n",
	     "/proc/diskstats: malformed line 1"},
	};
	char *text = slurp("io-nosysblock", "proc/diskstats");
	sm_diskstat *d;
	size_t n;
	sm_error err;

	(void)state;
	/* Without /sys/block: everything but loop, ram and zram devices. */
	assert_int_equal(sm_diskstats_parse(text, NULL, 0, &d, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(d[0].name, "sda");
	assert_string_equal(d[1].name, "sda1");
	assert_true(d[0].has_busy);
	assert_true(d[0].busy_ms == 301222);
	assert_true(d[0].read_bytes == 9876544ULL * 512);
	free(d);
	free(text);
	/* Linux 2.6 partition lines: four counters, no busy time. */
	assert_int_equal(sm_diskstats_parse("   8    1 sda1 181000 9800000 91000 7600000", NULL, 0,
	                                    &d, &n, &err),
	                 0);
	assert_int_equal(n, 1);
	assert_false(d[0].has_busy);
	assert_true(d[0].write_bytes == 7600000ULL * 512);
	free(d);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		d = (sm_diskstat *)&err; /* must come back NULL */
		assert_int_equal(sm_diskstats_parse(bad[i].text, NULL, 0, &d, &n, &err), -1);
		assert_null(d);
		assert_string_equal(err.msg, bad[i].error);
	}
}

static void report_outcomes(void **state)
{
	static const struct {
		const char *host;
		enum sm_status status;
		const char *message;
		double util;
	} cases[] = {
	    {"io-ok", SM_OK, "Busiest disk 25.0% util (sda)", 25.0},
	    {"io-warning", SM_WARNING, "Busiest disk 85.0% util (sda)", 85.0},
	    {"io-critical", SM_CRITICAL, "Busiest disk 97.0% util (sda)", 97.0},
	};
	sm_check_result res;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		report(cases[i].host, 1.0, &res);
		assert_result(&res, cases[i].status, cases[i].message, NULL, NULL);
		assert_real(metric_num(&res, "busiest_util_percent"), cases[i].util);
		sm_check_result_clear(&res);
	}
	report("io-ok", 1.0, &res);
	assert_metrics(&res, "{\"platform\":\"linux\",\"disk_count\":2,\"busiest_disk\":\"sda\","
	                     "\"busiest_util_percent\":25.0,\"sample_interval_s\":1.0,\"disks\":["
	                     "{\"disk\":\"sda\",\"util_percent\":25.0,\"read_mb_s\":10.49,"
	                     "\"write_mb_s\":2.1,\"read_iops\":100.0,\"write_iops\":50.0},"
	                     "{\"disk\":\"nvme0n1\",\"util_percent\":12.0,\"read_mb_s\":1.05,"
	                     "\"write_mb_s\":4.19,\"read_iops\":10.0,\"write_iops\":20.0}]}");
	assert_string_equal(res.perfdata,
	                    "'sda util'=25%;80;95;0;100 'nvme0n1 util'=12%;80;95;0;100");
	sm_check_result_clear(&res);
}

static void sampling_a_static_host(void **state)
{
	sm_check_opts opts = {0};
	sm_check_result res;

	(void)state;
	opts_number(&opts, "samples", 2);
	opts_number(&opts, "interval", 0.001);
	use_host("io-ok"); /* the file does not change: 0 % */
	run_checker("io_strain", &opts, &res);
	assert_result(&res, SM_OK, "Busiest disk 0.0% util (sda)", NULL, NULL);
	assert_real(metric_num(&res, "sample_interval_s"), 0.002); /* samples x interval */
	assert_real(metric_num(&res, "disk_count"), 2);
	sm_check_result_clear(&res);

	/* No /sys/block: partitions count too; the whole disk comes first. */
	use_host("io-nosysblock");
	run_checker("io_strain", &opts, &res);
	assert_result(&res, SM_OK, "Busiest disk 0.0% util (sda)", NULL, NULL);
	assert_real(metric_num(&res, "disk_count"), 2);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(res.metrics, "disks"), 1), "disk")),
	                    "sda1");
	sm_check_result_clear(&res);
}

static void skips(void **state)
{
	static const char no_disks[] =
	    "{\"platform\":\"linux\",\"disk_count\":0,\"busiest_disk\":null,"
	    "\"busiest_util_percent\":null,\"sample_interval_s\":0.001,\"disks\":[]}";
	sm_check_opts opts = {0};

	(void)state;
	opts_number(&opts, "interval", 0.001);
	assert_outcome("io-empty", "io_strain", &opts, SM_OK, "Skipped: no disk IO counters",
	               no_disks, NO_PERFDATA);
	assert_outcome("io-nobusy", "io_strain", &opts, SM_OK,
	               "Skipped: no disk IO utilization data", no_disks, NULL);
}

static void unknown(void **state)
{
	sm_check_opts opts = {0};
	sm_check_result res;

	(void)state;
	opts_number(&opts, "interval", 0.001);
	assert_outcome("io-malformed", "io_strain", &opts, SM_UNKNOWN,
	               "Check failed: /proc/diskstats: malformed line 2", "{}", NULL);
	/* A directory where the file should be. */
	assert_host_error("io-unreadable", "io_strain", &opts, "/proc/diskstats: Is a directory");

	use_host("io-no-such-host");
	run_checker("io_strain", &opts, &res);
	assert_int_equal(res.status, SM_UNKNOWN);
	assert_non_null(strstr(res.error, "/proc/diskstats: No such file or directory"));
	sm_check_result_clear(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rates_from_a_fixture_pair),
	    cmocka_unit_test(util_is_capped_at_100),
	    cmocka_unit_test(parser),
	    cmocka_unit_test(report_outcomes),
	    cmocka_unit_test(sampling_a_static_host),
	    cmocka_unit_test(skips),
	    cmocka_unit_test(unknown),
	};

	return cmocka_run_group_tests(tests, 0, NULL);
}
