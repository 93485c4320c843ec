/* test_checker_diskanalysis.c - the disk cleanup analyzers disk_common and
 * disk_linux over host trees built at run time under $SM_HOST_ROOT. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "check/diskanalysis.h"

#define MB (1024ULL * 1024)

/* Set a host entry's own mtime days in the past (not following symlinks). */
static void age(const char *host, double days)
{
	struct timespec t[2];

	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= (time_t)(days * 86400);
	t[1] = t[0];
	assert_int_equal(utimensat(AT_FDCWD, at(host), t, AT_SYMLINK_NOFOLLOW), 0);
}

/* A fresh empty host for each test. */
static int setup(void **state)
{
	(void)state;
	setenv("SM_HOST_ROOT", scratch_make("sm-diskanalysis"), 1);
	setenv("HOME", "/home/user", 1);
	unsetenv("SM_WALK_TIMEOUT");
	unsetenv("SM_PROC_ROOT");
	unsetenv("SM_SYS_ROOT");
	return 0;
}

static json_t *list(const sm_check_result *res, const char *key)
{
	json_t *v = json_object_get(res->metrics, key);

	assert_non_null(v);
	assert_true(json_is_array(v));
	return v;
}

static const char *item_path(json_t *arr, size_t i)
{
	return json_string_value(json_object_get(json_array_get(arr, i), "path"));
}

static double item_mb(json_t *arr, size_t i)
{
	return json_number_value(json_object_get(json_array_get(arr, i), "size_mb"));
}

/* Whether the recommendations contain a list whose title is title. */
static bool has_rec(const sm_check_result *res, const char *title)
{
	json_t *recs = list(res, "recommendations"), *r;
	size_t i;

	json_array_foreach(recs, i, r)
	{
		if (strcmp(json_string_value(json_array_get(r, 0)), title) == 0)
			return true;
	}
	return false;
}

/* metrics[key] equals the JSON text want. */
static void assert_metrics_subset(const sm_check_result *res, const char *key, const char *want)
{
	json_error_t jerr;
	json_t *w = json_loads(want, 0, &jerr);

	assert_non_null(w);
	if (!json_equal(json_object_get(res->metrics, key), w)) {
		char *got = json_dumps(json_object_get(res->metrics, key), 0);
		print_error("%s: got %s\n", key, got ? got : "(none)");
		free(got);
		fail();
	}
	json_decref(w);
}

static void test_keyword_match(void **state)
{
	(void)state;
	assert_true(sm_diskanalysis_keyword_match("/root/.cache/pip", "pip"));
	assert_false(sm_diskanalysis_keyword_match("/root/.cache/pipewire", "pip"));
	assert_false(sm_diskanalysis_keyword_match("/root/.cache/mypip", "pip"));
	assert_true(sm_diskanalysis_keyword_match("/root/.cache/pip/http", "pip"));
	assert_true(sm_diskanalysis_keyword_match("/home/u/go/pkg/mod", "go/pkg"));
	assert_false(sm_diskanalysis_keyword_match("/home/u/go/pkgs", "go/pkg"));
	assert_false(sm_diskanalysis_keyword_match("/home/u/go/x/pkg", "go/pkg"));
	assert_true(sm_diskanalysis_keyword_match("/var/log/syslog", "/var/log"));
	assert_true(sm_diskanalysis_keyword_match("//var//log/", "/var/log"));
	assert_false(sm_diskanalysis_keyword_match("/srv/var/log/x", "/var/log"));
	assert_false(sm_diskanalysis_keyword_match("/var/logs/x", "/var/log"));
	assert_true(sm_diskanalysis_keyword_match("/home/u/.cache/x", ".cache"));
	assert_false(sm_diskanalysis_keyword_match("/home/u/.cacheX/x", ".cache"));
	assert_true(sm_diskanalysis_keyword_match("/var/lib/snapd/snaps", "snapd"));
	assert_false(sm_diskanalysis_keyword_match("/var/lib/snapd/snaps", "snap"));
	assert_false(sm_diskanalysis_keyword_match("/var/log", ""));
	assert_false(sm_diskanalysis_keyword_match("/", "x"));
}

static void test_budget(void **state)
{
	double s;

	(void)state;
	unsetenv("SM_WALK_TIMEOUT");
	assert_int_equal(sm_diskanalysis_budget(&s), 0);
	assert_true(s == 1.0);
	setenv("SM_WALK_TIMEOUT", "2.5", 1);
	assert_int_equal(sm_diskanalysis_budget(&s), 0);
	assert_true(s == 2.5);
	setenv("SM_WALK_TIMEOUT", "1m", 1); /* a duration, as every setting of seconds */
	assert_int_equal(sm_diskanalysis_budget(&s), 0);
	assert_true(s == 60);
	const char *bad[] = {"0", "-1", "abc", "1x", "nan", "inf", " 30 "};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		setenv("SM_WALK_TIMEOUT", bad[i], 1);
		assert_int_equal(sm_diskanalysis_budget(&s), -1);
	}
	unsetenv("SM_WALK_TIMEOUT");
}

static void test_skip_without_targets(void **state)
{
	const char *names[] = {"disk_common", "disk_linux"};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		sm_check_result res;
		run_checker(names[i], NULL, &res);
		assert_int_equal(res.status, SM_OK);
		assert_string_equal(res.message, "Skipped: no target directories found");
		assert_int_equal(json_object_size(res.metrics), 1);
		assert_string_equal(json_string_value(json_object_get(res.metrics, "platform")),
		                    "linux");
		sm_check_result_clear(&res);
	}
}

/* The common analyzer's tree: 358.0 MB recoverable. */
static void common_tree(void)
{
	mkfile(at("/var/log/syslog"), 2 * MB);
	mkfile(at("/var/log/small.log"), 10);
	mkfile(at("/var/log/apt/history.log"), MB / 2); /* a child under 1 MB */
	mkfile(at("/home/user/.cache/pip/http/a"), 3 * MB);
	mkfile(at("/home/user/.cache/pipewire/b"), 2 * MB);
	mkfile(at("/home/user/.cache/huge.bin"), 200 * MB); /* a hog, not a large file */
	mkfile(at("/home/user/big.iso"), 150 * MB);
	mkfile(at("/home/user/docs/notes.txt"), 100);
	mkfile(at("/tmp/old.txt"), 0);
	age("/tmp/old.txt", 10.5);
	mkfile(at("/tmp/fresh.txt"), 50 * MB);
	mkfile(at("/tmp/olddir/payload"), MB);
	age("/tmp/olddir", 8);
	mkdirs(at("/var/tmp"));
	/* Symlinks to big things outside the targets count for nothing. */
	mkfile(at("/elsewhere/huge"), 900 * MB);
	assert_int_equal(symlink(at("/elsewhere/huge"), at("/var/log/huge-link")), 0);
	assert_int_equal(symlink(at("/elsewhere"), at("/home/user/elsewhere")), 0);
	assert_int_equal(symlink(at("/elsewhere/huge"), at("/tmp/huge-link")), 0);
	assert_int_equal(symlink(".", at("/home/user/docs/loop")), 0);
}

static void test_common_analysis(void **state)
{
	sm_check_result res;
	json_t *hogs, *old, *large, *recs;

	(void)state;
	common_tree();
	run_checker("disk_common", NULL, &res);
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "Disk analysis: 358.0 MB recoverable");
	assert_null(res.error);

	hogs = list(&res, "space_hogs");
	assert_int_equal(json_array_size(hogs), 4);
	assert_string_equal(item_path(hogs, 0), "/home/user/.cache/huge.bin");
	assert_true(item_mb(hogs, 0) == 200.0);
	assert_string_equal(item_path(hogs, 1), "/home/user/.cache/pip");
	assert_true(item_mb(hogs, 1) == 3.0);
	/* Equal sizes keep collection order: /var/log before ~/.cache. */
	assert_string_equal(item_path(hogs, 2), "/var/log/syslog");
	assert_string_equal(item_path(hogs, 3), "/home/user/.cache/pipewire");
	assert_null(json_object_get(json_array_get(hogs, 0), "age_days"));

	old = list(&res, "old_files");
	assert_int_equal(json_array_size(old), 2);
	assert_string_equal(item_path(old, 0), "/tmp/olddir");
	assert_true(item_mb(old, 0) == 1.0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(old, 0), "age_days")),
	                 8);
	assert_string_equal(item_path(old, 1), "/tmp/old.txt");
	assert_true(item_mb(old, 1) == 0.0); /* no size floor for old items */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(old, 1), "age_days")),
	                 10);

	large = list(&res, "large_files");
	assert_int_equal(json_array_size(large), 1);
	assert_string_equal(item_path(large, 0), "/home/user/big.iso");
	assert_true(item_mb(large, 0) == 150.0);

	assert_true(metric_num(&res, "total_recoverable_mb") == 358.0);
	assert_true(json_is_true(json_object_get(res.metrics, "complete")));
	assert_string_equal(json_string_value(json_object_get(res.metrics, "platform")), "linux");

	recs = list(&res, "recommendations");
	assert_int_equal(json_array_size(recs), 5);
	assert_true(has_rec(&res, "Compress or rotate large logs in /var/log"));
	assert_true(has_rec(&res, "Clear pip cache:"));
	assert_true(has_rec(&res, "Clear user caches in ~/.cache (review per-app first)"));
	assert_true(has_rec(&res, "Remove old temporary files from /tmp and /var/tmp"));
	assert_true(has_rec(&res, "Review and remove large files in home directory"));
	/* Rule order, then the two advices. */
	assert_string_equal(json_string_value(json_array_get(json_array_get(recs, 1), 1)),
	                    "pip cache purge");
	assert_string_equal(json_string_value(json_array_get(json_array_get(recs, 4), 0)),
	                    "Review and remove large files in home directory");
	assert_non_null(res.perfdata);
	assert_string_equal(res.perfdata, "disk_common_recoverable=358MB;5000;20000;0");

	/* The same items by the directory they were found in, largest first,
	 * each with what to do: every rule matching one of its items. */
	assert_metrics_subset(
	    &res, "by_directory",
	    "[{\"path\":\"/home/user/.cache\",\"kind\":\"space_hogs\","
	    "\"size_mb\":205.0,\"count\":3,\"advice\":[\"Clear pip cache: pip "
	    "cache purge\",\"Clear user caches in ~/.cache (review per-app "
	    "first)\"]},"
	    "{\"path\":\"/home/user\",\"kind\":\"large_files\",\"size_mb\":150.0,"
	    "\"count\":1,\"advice\":[\"Review and remove large files in home "
	    "directory\"]},"
	    "{\"path\":\"/var/log\",\"kind\":\"space_hogs\",\"size_mb\":2.0,"
	    "\"count\":1,\"advice\":[\"Compress or rotate large logs in /var/log\"]},"
	    "{\"path\":\"/tmp\",\"kind\":\"old_files\",\"size_mb\":1.0,\"count\":2,"
	    "\"advice\":[\"Remove old temporary files from /tmp and /var/tmp\"]}]");
	sm_check_result_clear(&res);
}

/* Without $HOME, "~" is the effective user's home in the watched host's
 * /etc/passwd, read directly (no NSS: a static sm-check cannot load it). */
static void test_home_from_host_passwd(void **state)
{
	sm_check_result res;
	char line[256];
	FILE *f;
	json_t *large;

	(void)state;
	unsetenv("HOME");
	mkdirs(at("/etc"));
	f = fopen(at("/etc/passwd"), "w");
	assert_non_null(f);
	snprintf(line, sizeof line,
	         "other:x:%ld:0::/home/other:/bin/sh\nme:x:%ld:0:Me:/srv/me:/bin/sh\n",
	         (long)geteuid() + 1, (long)geteuid());
	fputs(line, f);
	fclose(f);
	mkfile(at("/srv/me/disk.img"), 120 * MB);
	mkfile(at("/home/other/disk.img"), 130 * MB);
	run_checker("disk_common", NULL, &res);
	large = list(&res, "large_files");
	assert_int_equal(json_array_size(large), 1);
	assert_string_equal(item_path(large, 0), "/srv/me/disk.img");
	sm_check_result_clear(&res);
}

static void test_thresholds(void **state)
{
	sm_check_opts opts = {0};
	sm_check_result res;

	(void)state;
	common_tree();
	opts.warning = sm_range_value(300);
	opts.critical = sm_range_value(1000);
	run_checker("disk_common", &opts, &res);
	assert_int_equal(res.status, SM_WARNING);
	assert_string_equal(res.message, "Disk analysis: 358.0 MB recoverable");
	sm_check_result_clear(&res);

	opts.critical = sm_range_value(358); /* inclusive */
	run_checker("disk_common", &opts, &res);
	assert_int_equal(res.status, SM_CRITICAL);
	sm_check_result_clear(&res);
}

static void test_linux_analysis(void **state)
{
	sm_check_result res;
	json_t *hogs, *large;

	(void)state;
	mkfile(at("/var/cache/apt/archives/apt/pkg.deb"), 2 * MB);
	mkfile(at("/var/cache/apt/archives/lock"), 0);
	mkfile(at("/var/log/journal/0123abcd/system.journal"), 3 * MB);
	mkfile(at("/var/lib/snapd/snaps/core_1.snap"), 5 * MB);
	mkfile(at("/srv/data/big.img"), 120 * MB);
	mkfile(at("/opt/app/small"), 10);
	mkfile(at("/tmp/stale"), 4 * MB);
	age("/tmp/stale", 30);
	run_checker("disk_linux", NULL, &res);
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "Disk analysis: 134.0 MB recoverable");
	hogs = list(&res, "space_hogs");
	assert_int_equal(json_array_size(hogs), 3);
	assert_string_equal(item_path(hogs, 0), "/var/lib/snapd/snaps");
	assert_string_equal(item_path(hogs, 1), "/var/log/journal/0123abcd");
	assert_string_equal(item_path(hogs, 2), "/var/cache/apt/archives/apt");
	large = list(&res, "large_files");
	assert_int_equal(json_array_size(large), 1);
	assert_string_equal(item_path(large, 0), "/srv/data/big.img");
	assert_int_equal(json_array_size(list(&res, "old_files")), 1);
	assert_true(has_rec(&res, "Clear APT package cache:"));
	assert_true(has_rec(&res, "Trim systemd journal logs:"));
	assert_true(has_rec(&res, "Remove old snap package revisions:"));
	assert_false(has_rec(&res, "Clean unused Docker data (containers, images, networks, "
	                           "build cache):"));
	assert_false(has_rec(&res, "Invalidate JetBrains IDE caches:"));
	assert_true(has_rec(&res, "Remove old temporary files from /tmp"));
	assert_true(has_rec(&res, "Review and remove large files in /srv and /opt"));
	assert_int_equal(json_array_size(list(&res, "recommendations")), 5);
	sm_check_result_clear(&res);
}

/* A cache of hundreds of archives: the ten largest listed, all counted. */
static void test_lists_keep_ten(void **state)
{
	sm_check_result res;
	json_t *hogs;
	char path[64];

	(void)state;
	for (int i = 1; i <= 30; i++) {
		snprintf(path, sizeof path, "/var/cache/apt/archives/pkg%02d.deb", i);
		mkfile(at(path), (unsigned long long)i * MB);
	}
	run_checker("disk_linux", NULL, &res);
	hogs = list(&res, "space_hogs");
	assert_int_equal(json_array_size(hogs), SM_DISKANALYSIS_LISTED);
	assert_string_equal(item_path(hogs, 0), "/var/cache/apt/archives/pkg30.deb");
	assert_string_equal(item_path(hogs, 9), "/var/cache/apt/archives/pkg21.deb");
	assert_true(metric_num(&res, "space_hogs_count") == 30);
	assert_true(metric_num(&res, "old_files_count") == 0);
	assert_true(metric_num(&res, "total_recoverable_mb") == 465.0); /* 1 + ... + 30 */
	assert_string_equal(res.message, "Disk analysis: 465.0 MB recoverable");
	sm_check_result_clear(&res);
}

/* One path, one collection: the first to list it keeps it. */
static void test_dedup_across_collections(void **state)
{
	sm_check_result res;

	(void)state;
	setenv("HOME", "/tmp", 1); /* ~ and /tmp are the same directory */
	mkfile(at("/tmp/big.iso"), 150 * MB);
	age("/tmp/big.iso", 9);
	mkfile(at("/tmp/.cache/pip/x"), 2 * MB); /* a hog; /tmp/.cache is fresh */
	run_checker("disk_common", NULL, &res);
	assert_int_equal(json_array_size(list(&res, "space_hogs")), 1);
	assert_int_equal(json_array_size(list(&res, "old_files")), 1);
	assert_string_equal(item_path(list(&res, "old_files"), 0), "/tmp/big.iso");
	assert_int_equal(json_array_size(list(&res, "large_files")), 0);
	assert_true(metric_num(&res, "total_recoverable_mb") == 152.0);
	assert_false(has_rec(&res, "Review and remove large files in home directory"));
	sm_check_result_clear(&res);
}

static void test_budget_runs_out(void **state)
{
	sm_check_result res;

	(void)state;
	common_tree();
	setenv("SM_WALK_TIMEOUT", "0.000001", 1);
	run_checker("disk_common", NULL, &res);
	unsetenv("SM_WALK_TIMEOUT");
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "Disk analysis: 0.0 MB recoverable (walk cut short)");
	assert_true(json_is_false(json_object_get(res.metrics, "complete")));
	sm_check_result_clear(&res);
}

static void test_bad_budget_fails(void **state)
{
	sm_check_result res;

	(void)state;
	common_tree();
	setenv("SM_WALK_TIMEOUT", "soon", 1);
	run_checker("disk_linux", NULL, &res);
	unsetenv("SM_WALK_TIMEOUT");
	assert_int_equal(res.status, SM_UNKNOWN);
	assert_string_equal(res.message,
	                    "Check failed: SM_WALK_TIMEOUT=soon: not a positive number of seconds");
	sm_check_result_clear(&res);
}

/* File names are bytes: invalid UTF-8 still makes a JSON string. */
static void test_invalid_utf8_names(void **state)
{
	sm_check_result res;
	json_t *hogs;

	(void)state;
	mkfile(at("/var/log/bad\xff\xfe.log"), 3 * MB);
	run_checker("disk_common", NULL, &res);
	hogs = list(&res, "space_hogs");
	assert_int_equal(json_array_size(hogs), 1);
	assert_non_null(item_path(hogs, 0));
	assert_non_null(strstr(item_path(hogs, 0), "/var/log/bad"));
	sm_check_result_clear(&res);
}

/* A directory that cannot be read is skipped, not an error. */
static void test_unreadable_target(void **state)
{
	sm_check_result res;

	(void)state;
	mkfile(at("/var/lib/docker/overlay2/layer"), 10 * MB);
	mkfile(at("/var/log/journal/x/j"), 2 * MB);
	assert_int_equal(chmod(at("/var/lib/docker"), 0), 0);
	run_checker("disk_linux", NULL, &res);
	assert_int_equal(res.status, SM_OK);
	if (geteuid() != 0) {
		assert_int_equal(json_array_size(list(&res, "space_hogs")), 1);
		assert_false(has_rec(&res, "Clean unused Docker data (containers, images, "
		                           "networks, build cache):"));
	} else {
		assert_int_equal(json_array_size(list(&res, "space_hogs")), 2);
	}
	sm_check_result_clear(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keyword_match),
	    cmocka_unit_test(test_budget),
	    cmocka_unit_test_setup_teardown(test_skip_without_targets, setup, scratch_remove),
	    cmocka_unit_test_setup_teardown(test_common_analysis, setup, scratch_remove),
	    cmocka_unit_test_setup_teardown(test_home_from_host_passwd, setup, scratch_remove),
	    cmocka_unit_test_setup_teardown(test_thresholds, setup, scratch_remove),
	    cmocka_unit_test_setup_teardown(test_linux_analysis, setup, scratch_remove),
	    cmocka_unit_test_setup_teardown(test_lists_keep_ten, setup, scratch_remove),
	    cmocka_unit_test_setup_teardown(test_dedup_across_collections, setup, scratch_remove),
	    cmocka_unit_test_setup_teardown(test_budget_runs_out, setup, scratch_remove),
	    cmocka_unit_test_setup_teardown(test_bad_budget_fails, setup, scratch_remove),
	    cmocka_unit_test_setup_teardown(test_invalid_utf8_names, setup, scratch_remove),
	    cmocka_unit_test_setup_teardown(test_unreadable_target, setup, scratch_remove),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
