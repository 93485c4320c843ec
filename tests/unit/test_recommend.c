/* test_recommend.c - the local provider's rules: memory and CPU on fixture
 * hosts (hosts/rec-*), disk on directory trees made at run time, incident
 * words and the envelope dispatch. */
#include <time.h>

#include "testutil.h"
#include "sm/recommend.h"

#define MB (1024ULL * 1024)

static const char *str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	assert_non_null(s);
	return s;
}

static json_t *details(json_t *rec)
{
	json_t *d = json_object_get(rec, "details");

	assert_true(json_is_object(d));
	return d;
}

/* The JSON of v as the tools print it, compared to json. */
static void assert_json(json_t *v, const char *json)
{
	char *dump = json_dumps(v, SM_JSON_FLAGS | JSON_ENCODE_ANY);

	assert_non_null(dump);
	assert_string_equal(dump, json);
	free(dump);
}

/* A recommendation's type, priority, title and description. */
static void assert_rec(json_t *rec, const char *type, const char *priority, const char *title,
                       const char *description)
{
	const char *keys[] = {"type", "priority", "title", "description", "actions", "details"};

	assert_keys(rec, keys, 6);
	assert_string_equal(str(rec, "type"), type);
	if (priority)
		assert_string_equal(str(rec, "priority"), priority);
	assert_string_equal(str(rec, "title"), title);
	if (description)
		assert_string_equal(str(rec, "description"), description);
}

static sm_recommend_opts defaults(void)
{
	sm_recommend_opts o;

	sm_recommend_opts_init(&o);
	o.cpu_sample_s = 0;
	return o;
}

/* --- the model --- */

static void test_model(void **state)
{
	json_t *actions = json_array(), *rec;

	(void)state;
	json_array_append_new(actions, json_string("do it"));
	rec =
	    sm_recommend_new(SM_RECOMMEND_NETWORK, SM_RECOMMEND_CRITICAL, "T", "D", actions, NULL);
	assert_json(rec, "{\"type\":\"network\",\"priority\":\"critical\",\"title\":\"T\","
	                 "\"description\":\"D\",\"actions\":[\"do it\"],\"details\":{}}");
	json_decref(rec);
	assert_int_equal(sm_recommend_type_parse("process"), SM_RECOMMEND_PROCESS);
	assert_int_equal(sm_recommend_type_parse("general"), SM_RECOMMEND_GENERAL);
	assert_int_equal(sm_recommend_type_parse("Memory"), -1);
	assert_int_equal(sm_recommend_type_parse(NULL), -1);
	assert_int_equal(sm_recommend_priority_parse("high"), SM_RECOMMEND_HIGH);
	assert_int_equal(sm_recommend_priority_parse("urgent"), -1);
	assert_string_equal(sm_recommend_priority_name(SM_RECOMMEND_LOW), "low");
	assert_string_equal(sm_recommend_type_name(SM_RECOMMEND_CPU), "cpu");
}

/* --- memory --- */

static void test_memory_top_processes(void **state)
{
	sm_recommend_opts o = defaults();
	json_t *out = json_array(), *rec, *top;
	sm_error err = {0};

	(void)state;
	use_host("rec-mem");
	assert_int_equal(sm_recommend_memory(&o, out, &err), 0);
	assert_int_equal(json_array_size(out), 1);
	rec = json_array_get(out, 0);
	/* 85 % of memory used: high. */
	assert_rec(rec, "memory", "high", "High Memory Usage Detected",
	           "Top 6 processes are using 67.2% of memory. Top consumers: postgres, java, "
	           "averyveryverylongname");
	assert_json(json_object_get(rec, "actions"),
	            "[\"Review process 'postgres' (PID: 100) - using 30.0% memory\","
	            "\"Consider restarting memory-heavy services during maintenance window\","
	            "\"Check for memory leaks in long-running processes\","
	            "\"Consider increasing system memory if this is recurring\"]");
	top = json_object_get(details(rec), "top_processes");
	/* Zombies, kernel threads, malformed status files and processes at or
	 * below 0.1 % are left out; a cut comm is completed from argv[0]; a
	 * missing comm falls back to the status Name. */
	assert_int_equal(json_array_size(top), 6);
	assert_json(json_array_get(top, 0),
	            "{\"pid\":100,\"name\":\"postgres\",\"memory_percent\":30.0,"
	            "\"memory_mb\":292.97,\"cmdline\":\"postgres -D /var/lib/pg\"}");
	assert_json(json_array_get(top, 1),
	            "{\"pid\":200,\"name\":\"java\",\"memory_percent\":20.0,"
	            "\"memory_mb\":195.31,\"cmdline\":\"/usr/bin/java -Xmx2g -jar app.jar\"}");
	assert_string_equal(str(json_array_get(top, 2), "name"), "averyveryverylongname");
	assert_string_equal(str(json_array_get(top, 3), "name"), "nginx");
	assert_string_equal(str(json_array_get(top, 4), "name"), "fromstatus");
	assert_string_equal(str(json_array_get(top, 5), "name"), "longcmd");
	/* Command lines are cut to 200 bytes. */
	assert_int_equal(strlen(str(json_array_get(top, 5), "cmdline")), 200);
	assert_real(json_real_value(json_object_get(details(rec), "total_memory_percent")), 67.16);
	json_decref(out);
}

static void test_memory_top_n(void **state)
{
	sm_recommend_opts o = defaults();
	json_t *out = json_array(), *top;
	sm_error err = {0};

	(void)state;
	use_host("rec-mem");
	o.top_n = 2;
	assert_int_equal(sm_recommend_memory(&o, out, &err), 0);
	assert_string_equal(str(json_array_get(out, 0), "description"),
	                    "Top 2 processes are using 50.0% of memory. Top consumers: postgres, "
	                    "java");
	top = json_object_get(details(json_array_get(out, 0)), "top_processes");
	assert_int_equal(json_array_size(top), 2);
	json_decref(out);
}

static void test_memory_priorities(void **state)
{
	static const struct {
		const char *host, *priority;
	} cases[] = {
	    {"rec-mem-91", "critical"},
	    {"rec-mem-90", "high"}, /* > 90 is critical, 90 is not */
	    {"rec-mem-75", "medium"},
	    {"rec-mem-50", "low"}, /* still emitted, with the same title */
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *out = json_array();
		sm_error err = {0};
		use_host(cases[i].host);
		assert_int_equal(sm_recommend_memory(NULL, out, &err), 0);
		assert_int_equal(json_array_size(out), 1);
		assert_rec(json_array_get(out, 0), "memory", cases[i].priority,
		           "High Memory Usage Detected",
		           "Top 1 processes are using 40.0% of memory. Top consumers: hog");
		json_decref(out);
	}
}

static void test_memory_nothing_and_errors(void **state)
{
	json_t *out = json_array();
	sm_error err = {0};

	(void)state;
	use_host("rec-mem-none");
	assert_int_equal(sm_recommend_memory(NULL, out, &err), 0);
	assert_int_equal(json_array_size(out), 0);
	use_host("rec-mem-nototal");
	assert_int_equal(sm_recommend_memory(NULL, out, &err), -1);
	assert_string_equal(err.msg, "/proc/meminfo: no MemTotal line");
	use_host("rec-absent");
	assert_int_equal(sm_recommend_memory(NULL, out, &err), -1);
	assert_non_null(strstr(err.msg, "/proc/meminfo: No such file or directory"));
	assert_int_equal(json_array_size(out), 0);
	json_decref(out);
}

/* --- cpu --- */

static void take(const char *host, sm_recommend_cpu_snapshot *snap)
{
	sm_error err = {0};

	use_host(host);
	assert_int_equal(sm_recommend_cpu_snapshot_take(snap, &err), 0);
}

static void test_cpu_from_snapshots(void **state)
{
	sm_recommend_cpu_snapshot a, b;
	sm_recommend_opts o = defaults();
	json_t *out = json_array(), *rec, *top;
	sm_error err = {0};

	(void)state;
	take("rec-cpu-a", &a);
	take("rec-cpu-b", &b);
	/* The malformed stat of pid 80 and the zombie 70 are skipped. */
	assert_int_equal(b.count, 7);
	assert_int_equal(sm_recommend_cpu_from(&a, &b, &o, out, &err), 0);
	assert_int_equal(json_array_size(out), 1);
	rec = json_array_get(out, 0);
	/* 85 % busy between the snapshots: high. */
	assert_rec(rec, "cpu", "high", "High CPU Usage Detected",
	           "Top 3 processes using significant CPU. Total: 230.0%");
	assert_json(json_object_get(rec, "actions"),
	            "[\"Investigate process 'stress' (PID: 10)\","
	            "\"Check for runaway processes or infinite loops\","
	            "\"Consider process priority adjustments (nice/renice)\","
	            "\"Review cron jobs and scheduled tasks\"]");
	top = json_object_get(details(rec), "top_processes");
	/* bash at exactly 1 % is left out, as are new and reused pids. */
	assert_json(top, "[{\"pid\":10,\"name\":\"stress\",\"cpu_percent\":150.0,"
	                 "\"cmdline\":\"stress --cpu 2\"},"
	                 "{\"pid\":20,\"name\":\"python3\",\"cpu_percent\":50.0,"
	                 "\"cmdline\":\"/usr/bin/python3 train.py\"},"
	                 "{\"pid\":90,\"name\":\"we ird) x\",\"cpu_percent\":30.0,"
	                 "\"cmdline\":\"\"}]");
	assert_json(json_object_get(details(rec), "cpu_count"), "4");
	assert_json(json_object_get(details(rec), "cpu_physical_count"), "2");
	assert_json(json_object_get(details(rec), "load_avg"), "[3.5,2.25,1.0]");
	/* Only the top one with top_n 1. */
	o.top_n = 1;
	json_array_clear(out);
	assert_int_equal(sm_recommend_cpu_from(&a, &b, &o, out, &err), 0);
	assert_string_equal(str(json_array_get(out, 0), "description"),
	                    "Top 1 processes using significant CPU. Total: 150.0%");
	/* The same snapshot twice: no time passed, nothing to say. */
	json_array_clear(out);
	assert_int_equal(sm_recommend_cpu_from(&b, &b, &o, out, &err), 0);
	assert_int_equal(json_array_size(out), 0);
	sm_recommend_cpu_snapshot_free(&a);
	sm_recommend_cpu_snapshot_free(&b);
	json_decref(out);
}

/* Snapshots made by hand: one process busy for `ticks` of 100 per CPU. */
static void cpu_case(const char *stat_before, const char *stat_after, unsigned long long ticks,
                     const char *priority)
{
	sm_recommend_cpu_proc p0 = {.pid = 7, .ticks = 0, .name = "spin", .cmdline = (char *)""};
	sm_recommend_cpu_proc p1 = {
	    .pid = 7, .ticks = ticks, .name = "spin", .cmdline = (char *)""};
	sm_recommend_cpu_snapshot a = {.procs = &p0, .count = 1, .stat = (char *)stat_before};
	sm_recommend_cpu_snapshot b = {.procs = &p1, .count = 1, .stat = (char *)stat_after};
	json_t *out = json_array();
	sm_error err = {0};

	assert_int_equal(sm_recommend_cpu_from(&a, &b, NULL, out, &err), 0);
	if (priority) {
		assert_int_equal(json_array_size(out), 1);
		assert_string_equal(str(json_array_get(out, 0), "priority"), priority);
	} else {
		assert_int_equal(json_array_size(out), 0);
	}
	json_decref(out);
}

static void test_cpu_priorities(void **state)
{
	static const char before[] = "cpu  0 0 0 0 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n";

	(void)state;
	use_host("rec-absent"); /* no cpuinfo, no loadavg: nulls */
	cpu_case(before, "cpu  95 0 0 5 0 0 0 0 0 0\ncpu0 95 0 0 5 0 0 0 0 0 0\n", 95, "critical");
	cpu_case(before, "cpu  90 0 0 10 0 0 0 0 0 0\ncpu0 90 0 0 10 0 0 0 0 0 0\n", 90, "high");
	cpu_case(before, "cpu  81 0 0 19 0 0 0 0 0 0\ncpu0 81 0 0 19 0 0 0 0 0 0\n", 81, "high");
	/* Never low: an idle host with one busy process is medium. */
	cpu_case(before, "cpu  2 0 0 98 0 0 0 0 0 0\ncpu0 2 0 0 98 0 0 0 0 0 0\n", 2, "medium");
	/* 1 % is not above 1 %. */
	cpu_case(before, "cpu  1 0 0 99 0 0 0 0 0 0\ncpu0 1 0 0 99 0 0 0 0 0 0\n", 1, NULL);
}

static void test_cpu_bad_stat(void **state)
{
	sm_recommend_cpu_proc p = {.pid = 7, .name = "x", .cmdline = (char *)""};
	sm_recommend_cpu_snapshot a = {.procs = &p, .count = 1, .stat = (char *)"intr 1\n"};
	json_t *out = json_array();
	sm_error err = {0};

	(void)state;
	assert_int_equal(sm_recommend_cpu_from(&a, &a, NULL, out, &err), -1);
	assert_string_equal(err.msg, "/proc/stat: no usable cpu line");
	use_host("rec-absent");
	assert_int_equal(sm_recommend_cpu(NULL, out, &err), -1);
	assert_non_null(strstr(err.msg, "/proc/stat: No such file or directory"));
	json_decref(out);
}

static void test_cpu_sample_zero(void **state)
{
	sm_recommend_opts o = defaults();
	json_t *out = json_array();
	sm_error err = {0};

	(void)state;
	use_host("rec-cpu-b");
	assert_int_equal(sm_recommend_cpu(&o, out, &err), 0);
	assert_int_equal(json_array_size(out), 0);
	json_decref(out);
}

/* --- disk --- */

static void age(const char *path, int days)
{
	struct timespec t[2];

	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= (time_t)days * 86400;
	t[1] = t[0];
	assert_int_equal(utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW), 0);
}

static int make_tree(void **state)
{
	(void)state;
	scratch_make("sm-rec");
	mkfile(at("/data/big.bin"), 150 * MB);
	mkfile(at("/data/sub/deep/a/b/huge.iso"), 120 * MB);
	age(at("/data/sub/deep/a/b/huge.iso"), 40);
	mkfile(at("/data/logs/app.log"), 5 * MB);
	age(at("/data/logs/app.log"), 40);
	mkfile(at("/data/logs/recent.log"), 5 * MB);
	mkfile(at("/data/logs/small.log"), 100 * 1024);
	age(at("/data/logs/small.log"), 40);
	mkfile(at("/data/cache/x.dat"), 2 * MB);
	age(at("/data/cache/x.dat"), 31);
	mkfile(at("/data/old.bak"), 2 * MB);
	age(at("/data/old.bak"), 31);
	/* A loop and a link to a large file: neither is followed nor counted. */
	assert_int_equal(symlink(".", at("/data/loop")), 0);
	assert_int_equal(symlink("big.bin", at("/data/link-big")), 0);
	assert_int_equal(symlink("/data", at("/datalink")), 0);
	mkdirs(at("/empty"));
	mkfile(at("/var/log/syslog.1"), 2 * MB);
	age(at("/var/log/syslog.1"), 60);
	mkfile(at("/home/u/.cache/thing.bin"), 3 * MB);
	age(at("/home/u/.cache/thing.bin"), 90);
	setenv("SM_HOST_ROOT", scratch_root(), 1);
	return 0;
}

static void test_disk_large_and_old(void **state)
{
	sm_recommend_opts o = defaults();
	json_t *out = json_array(), *large, *old, *items;
	sm_error err = {0};

	(void)state;
	setenv("SM_HOST_ROOT", scratch_root(), 1);
	assert_int_equal(sm_recommend_disk(" /data/ ", &o, out, &err), 0);
	assert_int_equal(json_array_size(out), 2);
	large = json_array_get(out, 0);
	/* Nested directories are not counted twice: 150 + 120 MB. */
	assert_rec(large, "disk", NULL, "Large Files and Directories Found",
	           "Found 5 large items totaling 270.0 MB on /data");
	assert_true(sm_recommend_priority_parse(str(large, "priority")) >= 0);
	assert_json(json_object_get(large, "actions"),
	            "[\"Review largest item: /data/big.bin (150.0 MB)\","
	            "\"Run 'ncdu' for interactive disk usage analysis\","
	            "\"Consider archiving or compressing old data\","
	            "\"Set up log rotation if not already configured\"]");
	items = json_object_get(details(large), "large_items");
	/* Directories down to depth 3, files at any depth; ties by path. */
	assert_json(items, "[{\"path\":\"/data/big.bin\",\"size_mb\":150.0,"
	                   "\"modified_days_ago\":0,\"is_directory\":false},"
	                   "{\"path\":\"/data/sub\",\"size_mb\":120.0,"
	                   "\"modified_days_ago\":0,\"is_directory\":true},"
	                   "{\"path\":\"/data/sub/deep\",\"size_mb\":120.0,"
	                   "\"modified_days_ago\":0,\"is_directory\":true},"
	                   "{\"path\":\"/data/sub/deep/a\",\"size_mb\":120.0,"
	                   "\"modified_days_ago\":0,\"is_directory\":true},"
	                   "{\"path\":\"/data/sub/deep/a/b/huge.iso\",\"size_mb\":120.0,"
	                   "\"modified_days_ago\":40,\"is_directory\":false}]");
	assert_json(json_object_get(details(large), "total_size_mb"), "270.0");
	assert_json(json_object_get(details(large), "scan_complete"), "true");

	old = json_array_get(out, 1);
	assert_rec(old, "disk", "medium", "Old Logs and Temporary Files Found",
	           "Found 4 old files (>30 days) totaling 129.0 MB that can potentially be "
	           "cleaned up");
	assert_json(json_object_get(old, "actions"),
	            "[\"Review and remove old log files\",\"Clear old cache directories\","
	            "\"Configure logrotate for automatic log management\","
	            "\"Run: find /var/log -mtime +30 -type f -name '*.log*' -ls\"]");
	assert_json(json_object_get(details(old), "old_files"),
	            "[{\"path\":\"/data/sub/deep/a/b/huge.iso\",\"size_mb\":120.0,"
	            "\"days_old\":40,\"file_type\":\"other\"},"
	            "{\"path\":\"/data/logs/app.log\",\"size_mb\":5.0,\"days_old\":40,"
	            "\"file_type\":\"log\"},"
	            "{\"path\":\"/data/cache/x.dat\",\"size_mb\":2.0,\"days_old\":31,"
	            "\"file_type\":\"cache\"},"
	            "{\"path\":\"/data/old.bak\",\"size_mb\":2.0,\"days_old\":31,"
	            "\"file_type\":\"log\"}]");
	assert_json(json_object_get(details(old), "total_files"), "4");
	json_decref(out);
}

static void test_disk_thresholds(void **state)
{
	sm_recommend_opts o = defaults();
	json_t *out = json_array();
	sm_error err = {0};

	(void)state;
	setenv("SM_HOST_ROOT", scratch_root(), 1);
	o.large_file_mb = 130;
	o.old_file_days = 35;
	assert_int_equal(sm_recommend_disk("/data", &o, out, &err), 0);
	assert_string_equal(str(json_array_get(out, 0), "description"),
	                    "Found 1 large items totaling 150.0 MB on /data");
	assert_string_equal(str(json_array_get(out, 1), "description"),
	                    "Found 2 old files (>35 days) totaling 125.0 MB that can potentially "
	                    "be cleaned up");
	assert_string_equal(json_string_value(json_array_get(
	                        json_object_get(json_array_get(out, 1), "actions"), 3)),
	                    "Run: find /var/log -mtime +35 -type f -name '*.log*' -ls");
	json_decref(out);
}

static void test_disk_health_check(void **state)
{
	json_t *out = json_array();
	sm_error err = {0};

	(void)state;
	setenv("SM_HOST_ROOT", scratch_root(), 1);
	assert_int_equal(sm_recommend_disk("/empty", NULL, out, &err), 0);
	assert_json(out, "[{\"type\":\"disk\",\"priority\":\"low\",\"title\":\"Disk Health Check\","
	                 "\"description\":\"No immediate disk space concerns found.\","
	                 "\"actions\":[\"Continue monitoring disk usage\","
	                 "\"Consider setting up disk usage alerts\"],"
	                 "\"details\":{\"scanned_path\":\"/empty\",\"scan_complete\":true}}]");
	json_decref(out);
}

static void test_disk_root_uses_scan_paths(void **state)
{
	static const char *const paths[] = {"/var/log", "/missing", "~/.cache", NULL};
	sm_recommend_opts o = defaults();
	json_t *out = json_array(), *old;
	sm_error err = {0};
	char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;

	(void)state;
	setenv("SM_HOST_ROOT", scratch_root(), 1);
	setenv("HOME", "/home/u", 1);
	o.scan_paths = paths;
	assert_int_equal(sm_recommend_disk("", &o, out, &err), 0);
	assert_int_equal(json_array_size(out), 2);
	assert_string_equal(str(json_array_get(out, 0), "title"),
	                    "Large Files and Directories Found");
	assert_true(strstr(str(json_array_get(out, 0), "description"), " on /") != NULL);
	/* Old files come from the scan paths only, not from /data. */
	old = json_object_get(details(json_array_get(out, 1)), "old_files");
	assert_json(old, "[{\"path\":\"/home/u/.cache/thing.bin\",\"size_mb\":3.0,"
	                 "\"days_old\":90,\"file_type\":\"cache\"},"
	                 "{\"path\":\"/var/log/syslog.1\",\"size_mb\":2.0,\"days_old\":60,"
	                 "\"file_type\":\"other\"}]");
	if (home) {
		setenv("HOME", home, 1);
		free(home);
	}
	json_decref(out);
}

static void test_disk_symlinks_not_followed(void **state)
{
	json_t *out = json_array();
	sm_error err = {0};
	char *dump;

	(void)state;
	setenv("SM_HOST_ROOT", scratch_root(), 1);
	assert_int_equal(sm_recommend_disk("/data", NULL, out, &err), 0);
	dump = json_dumps(out, SM_JSON_FLAGS);
	assert_null(strstr(dump, "/data/loop"));
	assert_null(strstr(dump, "link-big"));
	free(dump);
	/* A start path that is a symlink is not walked. */
	assert_int_equal(sm_recommend_disk("/datalink", NULL, out, &err), -1);
	assert_non_null(strstr(err.msg, "/datalink: "));
	json_decref(out);
}

static void test_disk_bad_paths(void **state)
{
	json_t *out = json_array();
	sm_error err = {0};

	(void)state;
	setenv("SM_HOST_ROOT", scratch_root(), 1);
	assert_int_equal(sm_recommend_disk("/nope", NULL, out, &err), -1);
	assert_string_equal(err.msg, "/nope: No such file or directory");
	assert_int_equal(sm_recommend_disk("data", NULL, out, &err), -1);
	assert_string_equal(err.msg, "data: not an absolute path");
	assert_int_equal(sm_recommend_disk("/data/big.bin", NULL, out, &err), -1);
	assert_string_equal(err.msg, "/data/big.bin: Not a directory");
	assert_int_equal(json_array_size(out), 0);
	json_decref(out);
}

static void test_disk_unreadable_dir(void **state)
{
	json_t *out = json_array();
	sm_error err = {0};

	(void)state;
	setenv("SM_HOST_ROOT", scratch_root(), 1);
	mkfile(at("/locked-tree/locked/secret.bin"), 200 * MB);
	mkfile(at("/locked-tree/open/seen.bin"), 110 * MB);
	assert_int_equal(chmod(at("/locked-tree/locked"), 0), 0);
	assert_int_equal(sm_recommend_disk("/locked-tree", NULL, out, &err), 0);
	/* root reads the locked directory anyway: only the rest is asserted. */
	if (geteuid() != 0)
		assert_string_equal(str(json_array_get(out, 0), "description"),
		                    "Found 2 large items totaling 110.0 MB on /locked-tree");
	assert_string_equal(str(json_array_get(out, 0), "title"),
	                    "Large Files and Directories Found");
	assert_int_equal(chmod(at("/locked-tree/locked"), 0755), 0);
	json_decref(out);
}

static void test_disk_deadline(void **state)
{
	sm_recommend_opts o = defaults();
	json_t *out = json_array();
	sm_error err = {0};

	(void)state;
	setenv("SM_HOST_ROOT", scratch_root(), 1);
	o.walk_timeout_s = 1e-9; /* passed before the first entry */
	assert_int_equal(sm_recommend_disk("/data", &o, out, &err), 0);
	assert_int_equal(json_array_size(out), 1);
	assert_string_equal(str(json_array_get(out, 0), "title"), "Disk Health Check");
	assert_json(json_object_get(details(json_array_get(out, 0)), "scan_complete"), "false");
	json_decref(out);
}

static void test_disk_priority(void **state)
{
	/* Used percent of the filesystem, and the priority it gives: each
	 * bound belongs to the level below it; unknown is medium. */
	static const struct {
		double used;
		enum sm_recommend_priority priority;
	} cases[] = {
	    {95.1, SM_RECOMMEND_CRITICAL}, {95.0, SM_RECOMMEND_HIGH}, {90.5, SM_RECOMMEND_HIGH},
	    {90.0, SM_RECOMMEND_MEDIUM},   {80.0, SM_RECOMMEND_LOW},  {3.0, SM_RECOMMEND_LOW},
	    {NAN, SM_RECOMMEND_MEDIUM},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (sm_recommend_disk_priority(cases[i].used) != cases[i].priority)
			fail_msg("%g: %d", cases[i].used,
			         sm_recommend_disk_priority(cases[i].used));
}

static void progress_count(const char *msg, void *ctx)
{
	json_array_append_new(ctx, json_string(msg));
}

static void test_disk_progress(void **state)
{
	sm_recommend_opts o = defaults();
	json_t *out = json_array(), *msgs = json_array();
	sm_error err = {0};

	(void)state;
	setenv("SM_HOST_ROOT", scratch_root(), 1);
	o.progress = progress_count;
	o.progress_ctx = msgs;
	o.large_file_mb = 130;
	assert_int_equal(sm_recommend_disk("/data", &o, out, &err), 0);
	assert_json(msgs, "[\"Scanning /data...\",\"Found: /data/big.bin (150.0 MB)\","
	                  "\"-> Scanned /data, found 1 large items\"]");
	json_decref(msgs);
	json_decref(out);
}

/* --- incident words --- */

static void test_detect_text(void **state)
{
	static const struct {
		const char *text;
		enum sm_recommend_incident type;
	} cases[] = {
	    {"HighMemoryUsage on web-1", SM_RECOMMEND_INCIDENT_MEMORY},
	    {"OOMKilled", SM_RECOMMEND_INCIDENT_MEMORY},
	    {"process ran Out Of Memory", SM_RECOMMEND_INCIDENT_MEMORY},
	    {"low RAM", SM_RECOMMEND_INCIDENT_MEMORY},
	    {"swap_usage", SM_RECOMMEND_INCIDENT_MEMORY},
	    {"DiskSpaceLow on db-01", SM_RECOMMEND_INCIDENT_DISK},
	    {"inodes exhausted", SM_RECOMMEND_INCIDENT_DISK},
	    {"filesystem /var read-only", SM_RECOMMEND_INCIDENT_DISK},
	    {"QuotaExceeded", SM_RECOMMEND_INCIDENT_DISK},
	    {"High CPU", SM_RECOMMEND_INCIDENT_CPU},
	    {"all CPUs busy", SM_RECOMMEND_INCIDENT_CPU},
	    {"node_load15 high", SM_RECOMMEND_INCIDENT_CPU},
	    {"cpu0 throttled", SM_RECOMMEND_INCIDENT_CPU},
	    /* Memory wins over disk, disk over cpu. */
	    {"disk and memory and cpu", SM_RECOMMEND_INCIDENT_MEMORY},
	    {"cpu load on the storage node", SM_RECOMMEND_INCIDENT_DISK},
	    /* Substrings are not words. */
	    {"diskless boot", SM_RECOMMEND_INCIDENT_UNKNOWN},
	    {"ramp up traffic", SM_RECOMMEND_INCIDENT_UNKNOWN},
	    {"program crashed in the frame", SM_RECOMMEND_INCIDENT_UNKNOWN},
	    {"download failed, remember the room", SM_RECOMMEND_INCIDENT_UNKNOWN},
	    {"immemorial workspace", SM_RECOMMEND_INCIDENT_UNKNOWN},
	    {"out of order", SM_RECOMMEND_INCIDENT_UNKNOWN},
	    {"", SM_RECOMMEND_INCIDENT_UNKNOWN},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (sm_recommend_detect_text(cases[i].text) != cases[i].type)
			fail_msg("\"%s\": %d, expected %d", cases[i].text,
			         sm_recommend_detect_text(cases[i].text), cases[i].type);
	assert_int_equal(sm_recommend_detect_text(NULL), SM_RECOMMEND_INCIDENT_UNKNOWN);
}

static json_t *envelope(const char *json)
{
	json_error_t jerr;
	json_t *env = json_loads(json, 0, &jerr);

	if (!env)
		fail_msg("%s", jerr.text);
	return env;
}

static void test_detect_envelope(void **state)
{
	static const struct {
		const char *json;
		enum sm_recommend_incident type;
	} cases[] = {
	    {"{\"incident\":{\"title\":\"HostOutOfMemory on a\"}}", SM_RECOMMEND_INCIDENT_MEMORY},
	    {"{\"incident\":null,\"alerts\":[{\"name\":\"x\",\"description\":\"disk full\"}]}",
	     SM_RECOMMEND_INCIDENT_DISK},
	    {"{\"alerts\":[{\"name\":\"x\",\"labels\":{\"kind\":\"cpu\",\"n\":5}}]}",
	     SM_RECOMMEND_INCIDENT_CPU},
	    /* Label names do not count, only values. */
	    {"{\"alerts\":[{\"name\":\"x\",\"labels\":{\"disk\":\"sda\"}}]}",
	     SM_RECOMMEND_INCIDENT_UNKNOWN},
	    /* Checks that are ok do not count; failing ones by checker and message. */
	    {"{\"checks\":[{\"checker\":\"memory\",\"status\":\"ok\"},"
	     "{\"checker\":\"load\",\"status\":\"warning\",\"message\":\"x\"}]}",
	     SM_RECOMMEND_INCIDENT_CPU},
	    {"{\"checks\":[{\"checker\":\"disk_inodes\",\"status\":\"critical\"}]}",
	     SM_RECOMMEND_INCIDENT_DISK},
	    {"{\"checks\":[{\"checker\":\"memory\",\"status\":\"ok\"}]}",
	     SM_RECOMMEND_INCIDENT_UNKNOWN},
	    {"{\"incident\":{\"title\":\"ramp\"},\"alerts\":\"junk\",\"checks\":{}}",
	     SM_RECOMMEND_INCIDENT_UNKNOWN},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *env = envelope(cases[i].json);
		if (sm_recommend_detect(env) != cases[i].type)
			fail_msg("%s: %d", cases[i].json, sm_recommend_detect(env));
		json_decref(env);
	}
}

/* --- the envelope dispatch --- */

static void run_envelope(const char *json, json_t *out)
{
	sm_recommend_opts o = defaults();
	json_t *env = envelope(json);
	sm_error err = {0};

	if (sm_recommend_for_envelope(env, &o, out, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	json_decref(env);
}

static void test_envelope_memory_and_general(void **state)
{
	json_t *out = json_array();

	(void)state;
	use_host("rec-mem");
	run_envelope(
	    "{\"v\":1,\"incident\":{\"title\":\"HighMemoryUsage on web-1\"},\"alerts\":[]}", out);
	assert_int_equal(json_array_size(out), 1);
	assert_string_equal(str(json_array_get(out, 0), "type"), "memory");
	/* Nothing matches: the general scan, memory above 70 % (the only
	 * physical mount of the fixture cannot be read, so no disk rule). */
	json_array_clear(out);
	run_envelope("{\"v\":1,\"incident\":{\"title\":\"ServiceDown\"}}", out);
	assert_int_equal(json_array_size(out), 1);
	assert_string_equal(str(json_array_get(out, 0), "title"), "High Memory Usage Detected");
	/* Below 70 %: nothing at all. */
	json_array_clear(out);
	use_host("rec-mem-50");
	run_envelope("{\"v\":1}", out);
	assert_int_equal(json_array_size(out), 0);
	json_decref(out);
}

/* No <proc>/mounts (a container): the memory part stands, the disk part is
 * left out and the note says so. */
static void test_general_without_mounts(void **state)
{
	sm_recommend_opts o = defaults();
	json_t *out = json_array();
	sm_error note, err;

	(void)state;
	use_host("rec-mem-75");
	strcpy(note.msg, "stale");
	assert_int_equal(sm_recommend_general(&o, out, &note, &err), 0);
	assert_int_equal(json_array_size(out), 1);
	assert_string_equal(str(json_array_get(out, 0), "type"), "memory");
	assert_non_null(strstr(note.msg, "general scan: disk part left out: "));
	assert_non_null(strstr(note.msg, "/proc/mounts"));
	assert_int_equal(sm_recommend_general(&o, out, NULL, &err), 0); /* note optional */
	/* With mounts there is nothing to say. */
	use_host("rec-mem");
	assert_int_equal(sm_recommend_general(&o, out, &note, &err), 0);
	assert_string_equal(note.msg, "");
	json_decref(out);
}

static void test_envelope_disk_and_cpu(void **state)
{
	json_t *out = json_array();
	sm_recommend_opts o = defaults();
	sm_error err = {0};

	(void)state;
	setenv("SM_HOST_ROOT", scratch_root(), 1);
	run_envelope("{\"v\":1,\"alerts\":[{\"name\":\"DiskSpaceLow\","
	             "\"labels\":{\"mountpoint\":\"/empty\"}}]}",
	             out);
	assert_int_equal(json_array_size(out), 1);
	assert_string_equal(str(details(json_array_get(out, 0)), "scanned_path"), "/empty");
	/* A failing disk check names its worst path. */
	json_array_clear(out);
	run_envelope("{\"v\":1,\"checks\":[{\"checker\":\"disk\",\"status\":\"critical\","
	             "\"message\":\"Disk usage: /data at 97.0%\","
	             "\"metrics\":{\"worst_path\":\"/data\"}}]}",
	             out);
	assert_int_equal(json_array_size(out), 2);
	assert_string_equal(str(json_array_get(out, 0), "description"),
	                    "Found 5 large items totaling 270.0 MB on /data");
	/* So does disk_inodes (its row's path_metric); a raid check names none. */
	json_array_clear(out);
	run_envelope("{\"v\":1,\"checks\":[{\"checker\":\"raid\",\"status\":\"critical\","
	             "\"metrics\":{\"worst_path\":\"/empty\"}},{\"checker\":\"disk_inodes\","
	             "\"status\":\"warning\",\"message\":\"Inode usage: /data at 91.0%\","
	             "\"metrics\":{\"worst_path\":\"/data\"}}]}",
	             out);
	assert_string_equal(str(json_array_get(out, 0), "description"),
	                    "Found 5 large items totaling 270.0 MB on /data");
	/* A cpu incident sampled over no time has nothing to say. */
	json_array_clear(out);
	use_host("rec-cpu-b");
	run_envelope("{\"v\":1,\"incident\":{\"title\":\"HighCPU\"}}", out);
	assert_int_equal(json_array_size(out), 0);
	assert_int_equal(sm_recommend_for_envelope(NULL, &o, out, NULL, &err), -1);
	json_decref(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_model),
	    cmocka_unit_test(test_memory_top_processes),
	    cmocka_unit_test(test_memory_top_n),
	    cmocka_unit_test(test_memory_priorities),
	    cmocka_unit_test(test_memory_nothing_and_errors),
	    cmocka_unit_test(test_cpu_from_snapshots),
	    cmocka_unit_test(test_cpu_priorities),
	    cmocka_unit_test(test_cpu_bad_stat),
	    cmocka_unit_test(test_cpu_sample_zero),
	    cmocka_unit_test(test_disk_large_and_old),
	    cmocka_unit_test(test_disk_thresholds),
	    cmocka_unit_test(test_disk_health_check),
	    cmocka_unit_test(test_disk_root_uses_scan_paths),
	    cmocka_unit_test(test_disk_symlinks_not_followed),
	    cmocka_unit_test(test_disk_bad_paths),
	    cmocka_unit_test(test_disk_unreadable_dir),
	    cmocka_unit_test(test_disk_deadline),
	    cmocka_unit_test(test_disk_priority),
	    cmocka_unit_test(test_disk_progress),
	    cmocka_unit_test(test_detect_text),
	    cmocka_unit_test(test_detect_envelope),
	    cmocka_unit_test(test_envelope_memory_and_general),
	    cmocka_unit_test(test_general_without_mounts),
	    cmocka_unit_test(test_envelope_disk_and_cpu),
	};

	return cmocka_run_group_tests(tests, make_tree, scratch_remove);
}
