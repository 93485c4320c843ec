/* test_checker_temp.c - the cpu_temp and disk_temp checkers and the hwmon
 * reader behind them, against tests/fixtures/hosts/hwmon-*. */
#include <math.h>
#include "testutil.h"
#include "check/checkers.h"
#include "check/hwmon.h"

static const char skip_cpu[] = "{\"platform\":\"linux\",\"sensor_count\":0,\"hottest_c\":null,"
                               "\"hottest_sensor\":null,\"sensors\":[]}";
static const char skip_disk[] = "{\"platform\":\"linux\",\"disk_count\":0,\"hottest_c\":null,"
                                "\"hottest_disk\":null,\"disks\":[]}";

static const struct {
	const char *host, *checker;
	enum sm_status status;
	const char *message, *metrics, *perfdata;
} cases[] = {
    {"hwmon-ok", "cpu_temp", SM_OK, "Hottest CPU sensor 45.0°C (Package id 0) [coretemp]",
     "{\"platform\":\"linux\",\"sensor_count\":3,\"hottest_c\":45.0,"
     "\"hottest_sensor\":\"Package id 0\",\"sensors\":["
     "{\"sensor\":\"Package id 0\",\"chip\":\"coretemp\",\"temp_c\":45.0,\"high_c\":80.0,"
     "\"critical_c\":100.0},"
     "{\"sensor\":\"Core 0\",\"chip\":\"coretemp\",\"temp_c\":43.0,\"high_c\":80.0,"
     "\"critical_c\":100.0},"
     "{\"sensor\":\"Core 1\",\"chip\":\"coretemp\",\"temp_c\":44.0,\"high_c\":80.0,"
     "\"critical_c\":100.0}]}",
     "'coretemp Package id 0'=45;80;90 'coretemp Core 0'=43;80;90 'coretemp Core 1'=44;80;90"},
    {"hwmon-ok", "disk_temp", SM_OK, "Hottest disk 38.0°C (Composite) [nvme]",
     "{\"platform\":\"linux\",\"disk_count\":2,\"hottest_c\":38.0,"
     "\"hottest_disk\":\"Composite\",\"disks\":["
     "{\"disk\":\"Composite\",\"chip\":\"nvme\",\"temp_c\":38.0,\"high_c\":81.85,"
     "\"critical_c\":84.85},"
     "{\"disk\":\"Sensor 1\",\"chip\":\"nvme\",\"temp_c\":36.0,\"high_c\":null,"
     "\"critical_c\":null}]}",
     "'nvme Composite'=38;55;60 'nvme Sensor 1'=36;55;60"},
    {"hwmon-warm", "cpu_temp", SM_WARNING, "Hottest CPU sensor 85.0°C (Tctl) [k10temp]", NULL,
     "'k10temp Tctl'=85;80;90 'k10temp Tccd1'=71.25;80;90"},
    /* drivetemp has no labels: the chip name stands in; only a max is
     * given, so it is also the critical limit (as psutil reports it). */
    {"hwmon-warm", "disk_temp", SM_WARNING, "Hottest disk 57.0°C (drivetemp) [drivetemp]",
     "{\"platform\":\"linux\",\"disk_count\":1,\"hottest_c\":57.0,"
     "\"hottest_disk\":\"drivetemp\",\"disks\":["
     "{\"disk\":\"drivetemp\",\"chip\":\"drivetemp\",\"temp_c\":57.0,\"high_c\":70.0,"
     "\"critical_c\":70.0}]}",
     "drivetemp=57;55;60"},
    /* Equal readings: the first sensor wins. */
    {"hwmon-hot", "cpu_temp", SM_CRITICAL, "Hottest CPU sensor 95.5°C (Package id 0) [coretemp]",
     NULL, NULL},
    /* hwmon2 sorts before hwmon10; equal labels get a perfdata suffix. */
    {"hwmon-hot", "disk_temp", SM_CRITICAL, "Hottest disk 61.0°C (Composite) [nvme]", NULL,
     "'nvme Composite'=52;55;60 'nvme Composite #2'=61;55;60"},
    {"hwmon-none", "cpu_temp", SM_OK, "Skipped: no CPU temperature sensors", skip_cpu, NULL},
    {"hwmon-none", "disk_temp", SM_OK, "Skipped: no disk temperature sensors", skip_disk, NULL},
    {"hwmon-no-such-host", "cpu_temp", SM_OK, "Skipped: no CPU temperature sensors", skip_cpu,
     NULL},
    {"hwmon-no-such-host", "disk_temp", SM_OK, "Skipped: no disk temperature sensors", skip_disk,
     NULL},
    /* Junk, zero, negative and missing readings are skipped, as are a
     * zero-padded file name and a chip without a name. */
    {"hwmon-junk", "cpu_temp", SM_OK, "Hottest CPU sensor 50.0°C (Core 3) [coretemp]",
     "{\"platform\":\"linux\",\"sensor_count\":1,\"hottest_c\":50.0,"
     "\"hottest_sensor\":\"Core 3\",\"sensors\":["
     "{\"sensor\":\"Core 3\",\"chip\":\"coretemp\",\"temp_c\":50.0,\"high_c\":null,"
     "\"critical_c\":null}]}",
     "'coretemp Core 3'=50;80;90"},
    {"hwmon-junk", "disk_temp", SM_OK, "Skipped: no disk temperature sensors", skip_disk, NULL},
    {"hwmon-device", "cpu_temp", SM_OK, "Hottest CPU sensor 52.0°C (Physical id 0) [coretemp]",
     "{\"platform\":\"linux\",\"sensor_count\":1,\"hottest_c\":52.0,"
     "\"hottest_sensor\":\"Physical id 0\",\"sensors\":["
     "{\"sensor\":\"Physical id 0\",\"chip\":\"coretemp\",\"temp_c\":52.0,\"high_c\":95.0,"
     "\"critical_c\":95.0}]}",
     NULL},
    /* No hwmon sensors at all: thermal zones stand in. */
    {"hwmon-thermal", "cpu_temp", SM_OK, "Hottest CPU sensor 48.3°C (cpu_thermal) [cpu_thermal]",
     "{\"platform\":\"linux\",\"sensor_count\":1,\"hottest_c\":48.312,"
     "\"hottest_sensor\":\"cpu_thermal\",\"sensors\":["
     "{\"sensor\":\"cpu_thermal\",\"chip\":\"cpu_thermal\",\"temp_c\":48.312,"
     "\"high_c\":110.0,\"critical_c\":110.0}]}",
     "cpu_thermal=48.312;80;90"},
    {"hwmon-thermal", "disk_temp", SM_OK, "Skipped: no disk temperature sensors", skip_disk, NULL},
};

static void outcomes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sm_check_result res;

		use_host(cases[i].host);
		run_checker(cases[i].checker, NULL, &res);
		assert_int_equal(res.status, cases[i].status);
		assert_string_equal(res.message, cases[i].message);
		if (cases[i].metrics)
			assert_metrics(&res, cases[i].metrics);
		if (cases[i].perfdata)
			assert_string_equal(res.perfdata, cases[i].perfdata);
		assert_null(res.error);
		sm_check_result_clear(&res);
	}
}

static void unknown_when_hwmon_cannot_be_listed(void **state)
{
	static const char *const checkers[] = {"cpu_temp", "disk_temp"};
	char expected[8192];

	(void)state;
	/* A file where /sys/class/hwmon should be: not "no sensors" but a
	 * failure to look, so UNKNOWN naming the path. */
	use_host("hwmon-notdir");
	snprintf(expected, sizeof expected, "%s/sys/class/hwmon: Not a directory",
	         fixture("hosts/hwmon-notdir"));
	for (size_t i = 0; i < 2; i++) {
		sm_check_result res;

		run_checker(checkers[i], NULL, &res);
		assert_int_equal(res.status, SM_UNKNOWN);
		assert_string_equal(res.error, expected);
		assert_metrics(&res, "{}");
		assert_null(res.perfdata);
		sm_check_result_clear(&res);
	}
}

static void reader(void **state)
{
	static const char *const chips[] = {"nvme", "coretemp", "acpitz", NULL};
	sm_hwmon_temp *t;
	size_t n;
	sm_error err;

	(void)state;
	use_host("hwmon-hot");
	assert_int_equal(sm_hwmon_read(chips, &t, &n, &err), 0);
	assert_int_equal(n, 4); /* hwmon1 coretemp x2, hwmon2 nvme, hwmon10 nvme */
	assert_string_equal(t[0].chip, "coretemp");
	assert_string_equal(t[1].label, "Core 0");
	assert_string_equal(t[2].chip, "nvme");
	assert_real(t[2].current, 52.0);
	assert_real(t[3].current, 61.0);
	assert_real(t[3].high, 81.85);
	assert_real(t[3].critical, 84.85);
	free(t);

	use_host("hwmon-ok");
	assert_int_equal(sm_hwmon_read(chips, &t, &n, &err), 0);
	assert_int_equal(n, 6);
	assert_string_equal(t[0].chip, "acpitz");
	assert_string_equal(t[0].label, "acpitz");
	assert_true(isnan(t[0].high) && isnan(t[0].critical));
	free(t);
}

static void range_override(void **state)
{
	sm_check_opts opts = {0};
	sm_check_result res;
	sm_error err;

	(void)state;
	use_host("hwmon-ok");
	/* Plugin range "30:40": OK only between 30 and 40 °C. */
	assert_int_equal(sm_range_parse("30:40", &opts.warning, &err), 0);
	run_checker("cpu_temp", &opts, &res);
	assert_int_equal(res.status, SM_WARNING);
	sm_check_result_clear(&res);
	run_checker("disk_temp", &opts, &res);
	assert_int_equal(res.status, SM_OK);
	sm_check_result_clear(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(outcomes),
	    cmocka_unit_test(unknown_when_hwmon_cannot_be_listed),
	    cmocka_unit_test(reader),
	    cmocka_unit_test(range_override),
	};

	return cmocka_run_group_tests(tests, 0, NULL);
}
