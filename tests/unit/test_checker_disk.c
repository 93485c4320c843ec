/* test_checker_disk.c - the disk and disk_inodes checkers against real
 * statvfs(3) of the fixture tree, with threshold overrides making the
 * outcome independent of how full the test machine's disk is. */
#include <math.h>
#include <sys/statvfs.h>

#include "testutil.h"
#include "check/checkers.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

static sm_range range(const char *text)
{
	sm_range r;

	assert_int_equal(sm_range_parse(text, &r, NULL), 0);
	return r;
}

static sm_check_opts with_paths(const char *const *paths, size_t n, const char *warning,
                                const char *critical)
{
	sm_check_opts o = {0};

	opts_list(&o, "paths", paths, n);

	if (warning)
		o.warning = range(warning);
	if (critical)
		o.critical = range(critical);
	return o;
}

static json_t *entry(const sm_check_result *res, const char *group, const char *path)
{
	json_t *e = json_object_get(json_object_get(res->metrics, group), path);

	assert_non_null(e);
	return e;
}

static double num(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	assert_non_null(v);
	assert_true(json_is_number(v));
	return json_number_value(v);
}

static void assert_near(double actual, double expected, double tolerance)
{
	if (fabs(actual - expected) > tolerance)
		fail_msg("%g is not within %g of %g", actual, tolerance, expected);
}

/* The "worst_path" metric of res. */
static const char *worst_path(const sm_check_result *res)
{
	return json_string_value(json_object_get(res->metrics, "worst_path"));
}

struct level {
	const char *warning, *critical;
	enum sm_status status;
};

/* checker over "/" and "/data" with each level's thresholds: its status, and
 * a worst path. Both paths are on one real filesystem, read a moment apart
 * while other tests write to it, so either may come out worst (found
 * flaking in CI); test_disk_worst_is_strictly_greater checks the order. */
static void assert_levels(const char *checker, const struct level *cases, size_t n)
{
	static const char *const paths[] = {"/", "/data"};

	for (size_t i = 0; i < n; i++) {
		sm_check_opts o = with_paths(paths, 2, cases[i].warning, cases[i].critical);
		sm_check_result res;

		run_checker(checker, &o, &res);
		assert_int_equal(res.status, cases[i].status);
		assert_true(strcmp(worst_path(&res), "/") == 0 ||
		            strcmp(worst_path(&res), "/data") == 0);
		sm_check_result_clear(&res);
	}
}

static void expected_disk(const char *dir, double *percent, double *total_gb, double *used_gb,
                          double *free_gb)
{
	struct statvfs st;
	double total, used, avail;

	assert_int_equal(statvfs(dir, &st), 0);
	total = (double)st.f_blocks * st.f_frsize;
	used = total - (double)st.f_bfree * st.f_frsize;
	avail = (double)st.f_bavail * st.f_frsize;
	*percent = used / (used + avail) * 100.0;
	*total_gb = total / GIB;
	*used_gb = used / GIB;
	*free_gb = avail / GIB;
}

/* Other processes write to the same filesystem while the tests run: compare
 * usage with a little slack, sizes that do not move exactly. */
static void test_disk_numbers_match_statvfs(void **state)
{
	static const char *const paths[] = {"/data"};
	sm_check_opts o = with_paths(paths, 1, "101", "102");
	sm_check_result res;
	double percent, total_gb, used_gb, free_gb;
	char expected[256];
	json_t *e;

	(void)state;
	use_host("disk-root");
	expected_disk(fixture("hosts/disk-root/data"), &percent, &total_gb, &used_gb, &free_gb);
	run_checker("disk", &o, &res);
	assert_int_equal(res.status, SM_OK);
	e = entry(&res, "disks", "/data");
	assert_near(num(e, "percent"), percent, 0.3);
	assert_true(num(e, "total_gb") == sm_round(total_gb, 2));
	assert_near(num(e, "free_gb"), free_gb, 0.1);
	assert_near(num(e, "used_gb"), used_gb, 0.1);
	assert_true(metric_num(&res, "worst_percent") == num(e, "percent"));
	assert_string_equal(worst_path(&res), "/data");
	snprintf(expected, sizeof expected, "Disk usage: /data at %.1f%%", num(e, "percent"));
	assert_string_equal(res.message, expected);
	snprintf(expected, sizeof expected, "/data=%.6g%%;101;102;0;100", num(e, "percent"));
	assert_string_equal(res.perfdata, expected);
	assert_null(res.error);
	sm_check_result_clear(&res);
}

static void test_disk_metric_order(void **state)
{
	sm_check_opts o = with_paths(NULL, 0, "101", "102");
	sm_check_result res;
	const char *keys[] = {"disks", "worst_percent", "worst_path"};
	const char *entry_keys[] = {"percent", "total_gb", "used_gb", "free_gb"};

	(void)state;
	use_host("disk-root");
	run_checker("disk", &o, &res); /* no paths: "/" of the host */
	assert_keys(res.metrics, keys, sizeof keys / sizeof keys[0]);
	assert_keys(entry(&res, "disks", "/"), entry_keys,
	            sizeof entry_keys / sizeof entry_keys[0]);
	sm_check_result_clear(&res);
}

static void test_disk_levels(void **state)
{
	static const struct level cases[] = {
	    {"101", "102", SM_OK},
	    {"0", "101", SM_WARNING},
	    {"0", "0", SM_CRITICAL},
	    {"~:101", "@0:100", SM_CRITICAL}, /* plugin ranges: inside 0..100 trips */
	    {"@0:100", "@101:", SM_WARNING},
	    {"0:100", "0:100", SM_OK}, /* outside 0..100 trips: never */
	};

	(void)state;
	use_host("disk-root");
	assert_levels("disk", cases, sizeof cases / sizeof cases[0]);
}

static void test_disk_default_thresholds(void **state)
{
	sm_check_result res;

	(void)state;
	use_host("disk-root");
	run_checker("disk", NULL, &res);
	assert_string_equal(res.warning.text, "80");
	assert_string_equal(res.critical.text, "95");
	assert_int_not_equal(res.status, SM_UNKNOWN);
	sm_check_result_clear(&res);
}

/* /proc under SM_PROC_ROOT=/proc is procfs: no blocks, 0 %. A strictly
 * fuller path replaces it as the worst. */
static void test_disk_worst_is_strictly_greater(void **state)
{
	static const char *const paths[] = {"/proc", "/data"};
	sm_check_opts o = with_paths(paths, 2, "101", "102");
	sm_check_result res;
	json_t *e;

	(void)state;
	use_host("disk-root");
	setenv("SM_PROC_ROOT", "/proc", 1);
	run_checker("disk", &o, &res);
	e = entry(&res, "disks", "/proc");
	assert_true(num(e, "percent") == 0.0);
	assert_true(num(e, "total_gb") == 0.0);
	assert_string_equal(worst_path(&res), "/data");
	sm_check_result_clear(&res);

	/* All paths at 0 %: the first path is the worst, not "". */
	o = with_paths(paths, 1, NULL, NULL);
	run_checker("disk", &o, &res);
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "Disk usage: /proc at 0.0%");
	assert_string_equal(worst_path(&res), "/proc");
	sm_check_result_clear(&res);
	unsetenv("SM_PROC_ROOT");
}

static void test_disk_inaccessible_path(void **state)
{
	static const char *const paths[] = {"/data", "/missing", "/also-missing"};
	sm_check_opts o = with_paths(paths, 3, NULL, NULL);
	sm_check_result res;

	(void)state;
	use_host("disk-root");
	run_checker("disk", &o, &res);
	assert_int_equal(res.status, SM_UNKNOWN);
	assert_string_equal(res.message, "Disk check error: path '/missing' not accessible");
	assert_string_equal(res.error, "Disk check error: path '/missing' not accessible");
	assert_string_equal(
	    json_string_value(json_object_get(entry(&res, "disks", "/missing"), "error")),
	    "No such file or directory");
	assert_non_null(json_object_get(entry(&res, "disks", "/data"), "percent"));
	assert_non_null(json_object_get(entry(&res, "disks", "/also-missing"), "error"));
	assert_string_equal(worst_path(&res), "/data");
	/* Perfdata only for the paths that were measured. */
	assert_non_null(res.perfdata);
	assert_null(strstr(res.perfdata, "missing"));
	sm_check_result_clear(&res);
}

static void test_disk_relative_path(void **state)
{
	static const char *const paths[] = {"data"};
	sm_check_opts o = with_paths(paths, 1, NULL, NULL);
	sm_check_result res;

	(void)state;
	use_host("disk-root");
	run_checker("disk", &o, &res);
	assert_int_equal(res.status, SM_UNKNOWN);
	assert_string_equal(res.message, "Disk check error: path 'data' not accessible");
	assert_string_equal(
	    json_string_value(json_object_get(entry(&res, "disks", "data"), "error")),
	    "not an absolute path");
	assert_true(metric_num(&res, "worst_percent") == 0.0);
	assert_string_equal(worst_path(&res), "");
	assert_null(res.perfdata);
	sm_check_result_clear(&res);
}

static void test_inodes_numbers_match_statvfs(void **state)
{
	static const char *const paths[] = {"/data"};
	sm_check_opts o = with_paths(paths, 1, "101", "102");
	sm_check_result res;
	struct statvfs st;
	char expected[256];
	json_t *e;
	const char *keys[] = {"percent", "total", "used", "free"};

	(void)state;
	use_host("disk-root");
	assert_int_equal(statvfs(fixture("hosts/disk-root/data"), &st), 0);
	if (st.f_files == 0)
		skip(); /* a test machine whose filesystem has no inodes */
	run_checker("disk_inodes", &o, &res);
	assert_int_equal(res.status, SM_OK);
	e = entry(&res, "filesystems", "/data");
	assert_keys(e, keys, sizeof keys / sizeof keys[0]);
	assert_true(json_is_integer(json_object_get(e, "total")));
	assert_int_equal((long long)num(e, "total"), (long long)st.f_files);
	assert_near(num(e, "free"), (double)st.f_ffree, 5000);
	assert_int_equal((long long)num(e, "used") + (long long)num(e, "free"),
	                 (long long)st.f_files);
	assert_near(num(e, "percent"),
	            (double)(st.f_files - st.f_ffree) / (double)st.f_files * 100.0, 0.3);
	snprintf(expected, sizeof expected, "Inode usage: /data at %.1f%%", num(e, "percent"));
	assert_string_equal(res.message, expected);
	snprintf(expected, sizeof expected, "'/data inodes'=%.6g%%;101;102;0;100",
	         num(e, "percent"));
	assert_string_equal(res.perfdata, expected);
	sm_check_result_clear(&res);
}

static void test_inodes_levels(void **state)
{
	static const struct level cases[] = {
	    {"101", "102", SM_OK},
	    {"0", "101", SM_WARNING},
	    {"0", "0", SM_CRITICAL},
	};
	struct statvfs st;

	(void)state;
	use_host("disk-root");
	assert_int_equal(statvfs(fixture("hosts/disk-root"), &st), 0);
	if (st.f_files == 0)
		skip();
	assert_levels("disk_inodes", cases, sizeof cases / sizeof cases[0]);
}

static void test_inodes_untracked_filesystem(void **state)
{
	static const char *const proc_only[] = {"/proc"};
	static const char *const mixed[] = {"/proc", "/data"};
	sm_check_opts o = with_paths(proc_only, 1, "0", "0");
	sm_check_result res;

	(void)state;
	use_host("disk-root");
	setenv("SM_PROC_ROOT", "/proc", 1);
	run_checker("disk_inodes", &o, &res);
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "Inode usage: no inode-tracking filesystems");
	assert_true(json_is_false(
	    json_object_get(entry(&res, "filesystems", "/proc"), "inodes_supported")));
	assert_true(metric_num(&res, "worst_percent") == 0.0);
	assert_string_equal(worst_path(&res), "");
	assert_null(res.perfdata);
	sm_check_result_clear(&res);

	o = with_paths(mixed, 2, "0", "101");
	run_checker("disk_inodes", &o, &res);
	assert_string_equal(worst_path(&res), "/data");
	assert_int_equal(res.status, SM_WARNING);
	sm_check_result_clear(&res);
	unsetenv("SM_PROC_ROOT");
}

static void test_inodes_inaccessible_path(void **state)
{
	static const char *const paths[] = {"/data", "/nope"};
	sm_check_opts o = with_paths(paths, 2, NULL, NULL);
	sm_check_result res;

	(void)state;
	use_host("disk-root");
	run_checker("disk_inodes", &o, &res);
	assert_int_equal(res.status, SM_UNKNOWN);
	assert_string_equal(res.message, "Inode check error: path '/nope' not accessible");
	assert_string_equal(res.error, res.message);
	assert_string_equal(
	    json_string_value(json_object_get(entry(&res, "filesystems", "/nope"), "error")),
	    "No such file or directory");
	sm_check_result_clear(&res);
}

static void test_statvfs_helper(void **state)
{
	struct statvfs st;
	char why[64];

	(void)state;
	use_host("disk-root");
	assert_int_equal(sm_check_statvfs("/data", &st, why, sizeof why), 0);
	assert_int_equal(sm_check_statvfs("data", &st, why, sizeof why), -1);
	assert_string_equal(why, "not an absolute path");
	assert_int_equal(sm_check_statvfs("/data/README/x", &st, why, sizeof why), -1);
	assert_string_equal(why, "Not a directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_disk_numbers_match_statvfs),
	    cmocka_unit_test(test_disk_metric_order),
	    cmocka_unit_test(test_disk_levels),
	    cmocka_unit_test(test_disk_default_thresholds),
	    cmocka_unit_test(test_disk_worst_is_strictly_greater),
	    cmocka_unit_test(test_disk_inaccessible_path),
	    cmocka_unit_test(test_disk_relative_path),
	    cmocka_unit_test(test_inodes_numbers_match_statvfs),
	    cmocka_unit_test(test_inodes_levels),
	    cmocka_unit_test(test_inodes_untracked_filesystem),
	    cmocka_unit_test(test_inodes_inaccessible_path),
	    cmocka_unit_test(test_statvfs_helper),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
