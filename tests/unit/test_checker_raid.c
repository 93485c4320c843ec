/* test_checker_raid.c - the /proc/mdstat parser on texts, and the raid
 * checker on fixture hosts (hosts/raid-*). */
#include <math.h>

#include "testutil.h"
#include "check/checkers.h"

static sm_raid_array *parse(const char *text, size_t *count)
{
	sm_raid_array *arrays;

	assert_int_equal(sm_raid_parse(text, &arrays, count), 0);
	return arrays;
}

static void test_parse_healthy_mirror(void **state)
{
	size_t n;
	sm_raid_array *a = parse("Personalities : [raid1]\n"
	                         "md0 : active raid1 sdb1[1] sda1[0]\n"
	                         "      1046528 blocks super 1.2 [2/2] [UU]\n"
	                         "\n"
	                         "unused devices: <none>\n",
	                         &n);

	(void)state;
	assert_int_equal(n, 1);
	assert_string_equal(a[0].name, "md0");
	assert_string_equal(a[0].state, "active");
	assert_string_equal(a[0].level, "raid1");
	assert_int_equal(a[0].total_devices, 2);
	assert_int_equal(a[0].active_devices, 2);
	assert_int_equal(a[0].nfailed, 0);
	assert_false(a[0].rebuilding);
	assert_false(a[0].scrubbing);
	assert_true(isnan(a[0].resync_percent));
	assert_false(sm_raid_degraded(&a[0]));
	sm_raid_free(a, n);
}

static void test_parse_failed_devices(void **state)
{
	size_t n;
	sm_raid_array *a = parse("md5 : active raid5 sdd1[3](F) dm-0[2](F) sdb1[1] sda1[0]\n"
	                         "      2930034432 blocks level 5, 512k chunk [4/2] [UU__]\n",
	                         &n);

	(void)state;
	assert_int_equal(n, 1);
	assert_string_equal(a[0].level, "raid5");
	assert_int_equal(a[0].nfailed, 2);
	assert_string_equal(a[0].failed[0], "sdd1");
	assert_string_equal(a[0].failed[1], "dm-0");
	assert_int_equal(a[0].total_devices, 4);
	assert_int_equal(a[0].active_devices, 2);
	assert_true(sm_raid_degraded(&a[0]));
	sm_raid_free(a, n);
}

static void test_parse_progress(void **state)
{
	static const struct {
		const char *line;
		bool rebuilding, scrubbing;
		double percent;
	} cases[] = {
	    {"      [=>...]  recovery = 50.0% (1/2) finish=1min", true, false, 50.0},
	    {"      [====]  recovery = 100% (2/2)", true, false, 100.0},
	    {"      [>....]  resync =  0.1% (1/999)", true, false, 0.1},
	    {"      [>....]  reshape = 7.5% (1/9)", true, false, 7.5},
	    {"      [==>..]  check = 12.3% (1/8)", false, true, 12.3},
	    {"      [==>..]  repair=33.3%", false, true, 33.3},
	    {"      resync=DELAYED", false, false, NAN},
	    {"      resync=PENDING", false, false, NAN},
	    {"      recovery = 5x%", false, false, NAN},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[256];
		size_t n;
		sm_raid_array *a;
		snprintf(text, sizeof text, "md1 : active raid1 sdb1[1] sda1[0]\n%s\n",
		         cases[i].line);
		a = parse(text, &n);
		assert_int_equal(n, 1);
		assert_int_equal(a[0].rebuilding, cases[i].rebuilding);
		assert_int_equal(a[0].scrubbing, cases[i].scrubbing);
		if (isnan(cases[i].percent))
			assert_true(isnan(a[0].resync_percent));
		else
			assert_true(a[0].resync_percent == cases[i].percent);
		sm_raid_free(a, n);
	}
}

static void test_parse_headers(void **state)
{
	size_t n;
	sm_raid_array *a = parse("md2 : inactive sdf1[0](S)\n"
	                         "md_d0 : active (auto-read-only) raid1 sda[0] sdb[1]\n"
	                         "md127:active linear sdc[0] sdd[1]\n"
	                         "md3 : active faulty sde[0]\n"
	                         "md4 : active multipath sdf[0] sdg[1]\n"
	                         "md : active raid1 sda[0]\n"
	                         "mdX : \n"
	                         "md9 : active\n"
	                         "xmd0 : active raid1 sda[0]\n",
	                         &n);

	(void)state;
	assert_int_equal(n, 5);
	assert_string_equal(a[0].name, "md2");
	assert_string_equal(a[0].state, "inactive");
	assert_string_equal(a[0].level, ""); /* a device comes first */
	assert_int_equal(a[0].nfailed, 0);   /* (S) is a spare, not failed */
	assert_true(sm_raid_degraded(&a[0]));
	assert_string_equal(a[1].name, "md_d0");
	assert_string_equal(a[1].level, ""); /* (auto-read-only) comes first */
	assert_false(sm_raid_degraded(&a[1]));
	assert_string_equal(a[2].name, "md127");
	assert_string_equal(a[2].level, "linear");
	assert_string_equal(a[3].level, "faulty");
	assert_string_equal(a[4].level, "multipath");
	assert_int_equal(a[4].total_devices, -1); /* no counts line */
	assert_false(sm_raid_degraded(&a[4]));
	sm_raid_free(a, n);
}

static void test_parse_nothing(void **state)
{
	size_t n = 99;
	sm_raid_array *a;

	(void)state;
	a = parse("", &n);
	assert_int_equal(n, 0);
	assert_null(a);
	a = parse("Personalities : \nunused devices: <none>\n", &n);
	assert_int_equal(n, 0);
	assert_null(a);
	/* A continuation line with no array open is ignored. */
	a = parse("   [2/1] recovery = 5.0%\r\n", &n);
	assert_int_equal(n, 0);
	sm_raid_free(a, n);
}

static json_t *array(const sm_check_result *res, size_t i)
{
	json_t *a = json_array_get(json_object_get(res->metrics, "arrays"), i);

	assert_non_null(a);
	return a;
}

static const char *str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static void assert_names(const sm_check_result *res, const char *key, const char *joined)
{
	json_t *list = json_object_get(res->metrics, key);
	char buf[256] = "";

	assert_true(json_is_array(list));
	for (size_t i = 0; i < json_array_size(list); i++) {
		if (i > 0)
			strcat(buf, ",");
		strcat(buf, json_string_value(json_array_get(list, i)));
	}
	assert_string_equal(buf, joined);
}

static void run_host(const char *host, sm_check_result *res)
{
	use_host(host);
	run_checker("raid", NULL, res);
	assert_string_equal(str(res->metrics, "platform"), "linux");
	assert_false(res->warning.set); /* state based: no thresholds */
}

static void test_healthy(void **state)
{
	sm_check_result res;
	const char *keys[] = {"platform",        "array_count",       "arrays",
	                      "degraded_arrays", "rebuilding_arrays", "scrubbing_arrays"};
	const char *array_keys[] = {"name",           "level",         "state",
	                            "active_devices", "total_devices", "failed",
	                            "rebuilding",     "scrubbing",     "resync_percent"};

	(void)state;
	run_host("raid-healthy", &res);
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "All 2 RAID array(s) healthy");
	assert_keys(res.metrics, keys, sizeof keys / sizeof keys[0]);
	assert_keys(array(&res, 0), array_keys, sizeof array_keys / sizeof array_keys[0]);
	assert_int_equal(metric_num(&res, "array_count"), 2);
	assert_string_equal(str(array(&res, 1), "name"), "md1");
	assert_string_equal(str(array(&res, 1), "level"), "raid1");
	assert_int_equal(json_integer_value(json_object_get(array(&res, 1), "active_devices")), 2);
	assert_true(json_is_null(json_object_get(array(&res, 1), "resync_percent")));
	assert_names(&res, "degraded_arrays", "");
	assert_string_equal(res.perfdata, "degraded=0;;;0");
	sm_check_result_clear(&res);
}

static void test_degraded(void **state)
{
	sm_check_result res;
	json_t *failed;

	(void)state;
	run_host("raid-degraded", &res);
	assert_int_equal(res.status, SM_CRITICAL);
	assert_string_equal(res.message, "Degraded RAID array(s): md0");
	assert_names(&res, "degraded_arrays", "md0");
	assert_names(&res, "rebuilding_arrays", "");
	failed = json_object_get(array(&res, 0), "failed");
	assert_int_equal(json_array_size(failed), 1);
	assert_string_equal(json_string_value(json_array_get(failed, 0)), "sdd1");
	assert_int_equal(json_integer_value(json_object_get(array(&res, 0), "total_devices")), 3);
	assert_int_equal(json_integer_value(json_object_get(array(&res, 0), "active_devices")), 2);
	assert_string_equal(res.perfdata, "degraded=1;;;0");
	sm_check_result_clear(&res);
}

static void test_rebuilding(void **state)
{
	sm_check_result res;

	(void)state;
	run_host("raid-rebuilding", &res);
	assert_int_equal(res.status, SM_WARNING);
	assert_string_equal(res.message, "RAID array(s) rebuilding: md0");
	assert_names(&res, "degraded_arrays", ""); /* degraded, but recovering */
	assert_names(&res, "rebuilding_arrays", "md0");
	assert_true(json_is_true(json_object_get(array(&res, 0), "rebuilding")));
	assert_true(json_real_value(json_object_get(array(&res, 0), "resync_percent")) == 50.0);
	sm_check_result_clear(&res);
}

static void test_scrubbing(void **state)
{
	sm_check_result res;

	(void)state;
	run_host("raid-scrubbing", &res);
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "All 1 RAID array(s) healthy");
	assert_names(&res, "scrubbing_arrays", "md127");
	assert_names(&res, "rebuilding_arrays", "");
	assert_true(json_real_value(json_object_get(array(&res, 0), "resync_percent")) == 12.3);
	sm_check_result_clear(&res);
}

static void test_degraded_mid_scrub_is_critical(void **state)
{
	size_t n;
	sm_raid_array *a = parse("md0 : active raid1 sda1[0]\n"
	                         "      100 blocks [2/1] [U_]\n"
	                         "      [=>...]  check = 1.0%\n",
	                         &n);

	(void)state;
	assert_true(a[0].scrubbing);
	assert_false(a[0].rebuilding);
	assert_true(sm_raid_degraded(&a[0]));
	sm_raid_free(a, n);
}

static void test_inactive(void **state)
{
	sm_check_result res;

	(void)state;
	run_host("raid-inactive", &res);
	assert_int_equal(res.status, SM_CRITICAL);
	assert_string_equal(res.message, "Degraded RAID array(s): md2");
	assert_true(json_is_null(json_object_get(array(&res, 0), "level")));
	assert_string_equal(str(array(&res, 0), "state"), "inactive");
	assert_true(json_is_null(json_object_get(array(&res, 0), "total_devices")));
	sm_check_result_clear(&res);
}

static void test_no_arrays(void **state)
{
	sm_check_result res;

	(void)state;
	run_host("raid-none", &res);
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "No software RAID arrays");
	assert_int_equal(metric_num(&res, "array_count"), 0);
	sm_check_result_clear(&res);
}

static void test_unavailable_is_skipped(void **state)
{
	static const char *const hosts[] = {"raid-missing", "raid-dir"};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		sm_check_result res;
		run_host(hosts[i], &res);
		assert_int_equal(res.status, SM_OK);
		assert_string_equal(res.message, "Skipped: mdstat unavailable");
		assert_int_equal(metric_num(&res, "array_count"), 0);
		assert_int_equal(json_array_size(json_object_get(res.metrics, "arrays")), 0);
		assert_int_equal(json_array_size(json_object_get(res.metrics, "degraded_arrays")),
		                 0);
		assert_null(res.error);
		assert_null(res.perfdata);
		sm_check_result_clear(&res);
	}
}

static void test_junk_lines(void **state)
{
	sm_check_result res;

	(void)state;
	run_host("raid-junk", &res);
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "All 2 RAID array(s) healthy");
	assert_string_equal(str(array(&res, 0), "name"), "md0");
	/* The "[1/0] recovery" line after junk belongs to no array. */
	assert_false(json_is_true(json_object_get(array(&res, 0), "rebuilding")));
	assert_string_equal(str(array(&res, 1), "name"), "md_home");
	assert_string_equal(str(array(&res, 1), "level"), "raid10");
	assert_true(json_is_null(json_object_get(array(&res, 1), "resync_percent")));
	sm_check_result_clear(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_healthy_mirror),
	    cmocka_unit_test(test_parse_failed_devices),
	    cmocka_unit_test(test_parse_progress),
	    cmocka_unit_test(test_parse_headers),
	    cmocka_unit_test(test_parse_nothing),
	    cmocka_unit_test(test_healthy),
	    cmocka_unit_test(test_degraded),
	    cmocka_unit_test(test_rebuilding),
	    cmocka_unit_test(test_scrubbing),
	    cmocka_unit_test(test_degraded_mid_scrub_is_critical),
	    cmocka_unit_test(test_inactive),
	    cmocka_unit_test(test_no_arrays),
	    cmocka_unit_test(test_unavailable_is_skipped),
	    cmocka_unit_test(test_junk_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
