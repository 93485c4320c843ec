/* test_host.c - host paths under SM_HOST_ROOT and small host readers. */
#include <sys/stat.h>
#include "testutil.h"
#include "sm/host.h"

static void path_resolution(void **state)
{
	char buf[256];

	(void)state;
	unsetenv("SM_HOST_ROOT");
	unsetenv("SM_PROC_ROOT");
	unsetenv("SM_SYS_ROOT");
	assert_int_equal(sm_host_path(buf, sizeof buf, "/proc/stat"), 0);
	assert_string_equal(buf, "/proc/stat");
	setenv("SM_HOST_ROOT", "/host///", 1);
	assert_string_equal(sm_host_root(), "/host");
	assert_int_equal(sm_host_path(buf, sizeof buf, "/etc/os-release"), 0);
	assert_string_equal(buf, "/host/etc/os-release");
	setenv("SM_PROC_ROOT", "/fakeproc", 1);
	assert_int_equal(sm_host_path(buf, sizeof buf, "/proc/stat"), 0);
	assert_string_equal(buf, "/fakeproc/stat");
	assert_int_equal(sm_host_path(buf, sizeof buf, "/process/x"), 0);
	assert_string_equal(buf, "/host/process/x"); /* /proc only as a whole component */
	setenv("SM_SYS_ROOT", "/fakesys", 1);
	assert_int_equal(sm_host_path(buf, sizeof buf, "/sys"), 0);
	assert_string_equal(buf, "/fakesys");
	assert_int_equal(sm_host_path(buf, 8, "/etc/os-release"), -1);
	unsetenv("SM_HOST_ROOT");
	unsetenv("SM_PROC_ROOT");
	unsetenv("SM_SYS_ROOT");
}

static void reading_files(void **state)
{
	char dir[] = "/tmp/sm-host-XXXXXX", path[128];
	char *data = NULL;
	size_t len = 0;
	sm_error err;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/etc", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/etc/hostname", dir);
	f = fopen(path, "w");
	fputs("db-01\n", f);
	fclose(f);
	snprintf(path, sizeof path, "%s/proc", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/proc/stat", dir);
	f = fopen(path, "w");
	fputs("cpu  1 2 3 4\ncpu0 1 2 3 4\ncpu1 1 2 3 4\ncpu12 1 2\nintr 5\n", f);
	fclose(f);
	setenv("SM_HOST_ROOT", dir, 1);
	assert_int_equal(sm_host_read("/etc/hostname", 4096, &data, &len, &err), 0);
	assert_string_equal(data, "db-01\n");
	assert_int_equal(len, 6);
	free(data);
	assert_int_equal(sm_host_read("/etc/hostname", 3, &data, &len, &err), -1);
	assert_non_null(strstr(err.msg, "larger than 3 bytes"));
	assert_null(data);
	assert_int_equal(sm_host_read("/etc/missing", 4096, &data, &len, &err), -1);
	assert_non_null(strstr(err.msg, "/etc/missing: No such file or directory"));
	assert_null(sm_host_fopen("/etc/missing", &err));
	assert_int_equal(sm_host_cpu_count(), 3);
	sm_host_name(path, sizeof path);
	assert_string_equal(path, "db-01");
	unsetenv("SM_HOST_ROOT");
	rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(path_resolution),
	    cmocka_unit_test(reading_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
