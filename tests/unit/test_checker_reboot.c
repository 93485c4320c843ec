/* test_checker_reboot.c - the reboot_debian checker on fixture hosts
 * (hosts/reboot-*), and on a host root whose /var/run points outside it. */
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static const char *str(const sm_check_result *res, const char *key)
{
	return json_string_value(json_object_get(res->metrics, key));
}

static void assert_packages(const sm_check_result *res, const char *const *names, size_t n)
{
	json_t *list = json_object_get(res->metrics, "pending_packages");

	assert_int_equal(json_array_size(list), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(json_string_value(json_array_get(list, i)), names[i]);
	assert_int_equal(metric_num(res, "pending_package_count"), n);
}

static void run_host(const char *host, sm_check_result *res)
{
	use_host(host);
	run_checker("reboot_debian", NULL, res);
	assert_string_equal(str(res, "platform"), "linux");
	assert_false(res->warning.set);
	assert_null(res->error);
}

static void test_debian_with_packages(void **state)
{
	static const char *const pkgs[] = {"linux-image-6.1.0-18-amd64", "libc6", "libc6"};
	const char *keys[] = {"platform", "distro_id", "reboot_required", "pending_packages",
	                      "pending_package_count"};
	sm_check_result res;

	(void)state;
	run_host("reboot-debian", &res);
	assert_int_equal(res.status, SM_WARNING);
	assert_string_equal(res.message, "Reboot required (3 pending packages)");
	assert_keys(res.metrics, keys, sizeof keys / sizeof keys[0]);
	assert_string_equal(str(&res, "distro_id"), "debian");
	assert_true(json_is_true(json_object_get(res.metrics, "reboot_required")));
	/* Lines trimmed, blank lines dropped, duplicates kept. */
	assert_packages(&res, pkgs, 3);
	assert_string_equal(res.perfdata, "pending_packages=3;;;0");
	sm_check_result_clear(&res);
}

/* Ubuntu under /var/run only, with an empty package list. */
static void test_ubuntu_var_run_empty_packages(void **state)
{
	sm_check_result res;

	(void)state;
	run_host("reboot-ubuntu", &res);
	assert_int_equal(res.status, SM_WARNING);
	assert_string_equal(res.message, "Reboot required");
	assert_string_equal(str(&res, "distro_id"), "ubuntu");
	assert_packages(&res, NULL, 0);
	sm_check_result_clear(&res);
}

/* ID_LIKE=ubuntu alone is Debian family; no .pkgs file is an empty list. */
static void test_ubuntu_derivative(void **state)
{
	sm_check_result res;

	(void)state;
	run_host("reboot-mint", &res);
	assert_int_equal(res.status, SM_WARNING);
	assert_string_equal(res.message, "Reboot required");
	assert_string_equal(str(&res, "distro_id"), "linuxmint");
	assert_packages(&res, NULL, 0);
	sm_check_result_clear(&res);
}

static void test_none_required(void **state)
{
	sm_check_result res;

	(void)state;
	run_host("reboot-none", &res); /* ID='debian', quoted */
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "No reboot required");
	assert_string_equal(str(&res, "distro_id"), "debian");
	assert_true(json_is_false(json_object_get(res.metrics, "reboot_required")));
	assert_packages(&res, NULL, 0);
	assert_string_equal(res.perfdata, "pending_packages=0;;;0");
	sm_check_result_clear(&res);
}

static void test_not_debian_is_skipped(void **state)
{
	sm_check_result res;

	(void)state;
	run_host("reboot-fedora", &res);
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "Skipped: not Debian-family (fedora)");
	assert_string_equal(str(&res, "distro_id"), "fedora");
	assert_true(json_is_false(json_object_get(res.metrics, "reboot_required")));
	assert_packages(&res, NULL, 0);
	assert_null(res.perfdata);
	sm_check_result_clear(&res);
}

static void test_unknown_distro_is_skipped(void **state)
{
	static const char *const hosts[] = {"reboot-missing", "reboot-noid"};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		sm_check_result res;
		run_host(hosts[i], &res);
		assert_int_equal(res.status, SM_OK);
		assert_string_equal(res.message, "Skipped: cannot determine distro");
		assert_string_equal(str(&res, "distro_id"), "");
		assert_packages(&res, NULL, 0);
		sm_check_result_clear(&res);
	}
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A host root whose /var/run is an absolute symlink: it must not be followed
 * to the monitoring machine's own files. A relative one inside the root is. */
static void test_symlink_out_of_root(void **state)
{
	char base[] = "/tmp/sm-reboot-XXXXXX", path[512], target[512];
	sm_check_result res;

	(void)state;
	assert_non_null(mkdtemp(base));
	snprintf(path, sizeof path, "%s/outside", base);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/outside/reboot-required", base);
	write_file(path, "");
	snprintf(path, sizeof path, "%s/root", base);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/root/etc", base);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/root/etc/os-release", base);
	write_file(path, "ID=debian\n");
	snprintf(path, sizeof path, "%s/root/var", base);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/root/var/run", base);
	snprintf(target, sizeof target, "%s/outside", base);
	assert_int_equal(symlink(target, path), 0);
	snprintf(path, sizeof path, "%s/root", base);
	setenv("SM_HOST_ROOT", path, 1);

	run_checker("reboot_debian", NULL, &res);
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "No reboot required");
	sm_check_result_clear(&res);

	/* The same link made relative stays inside the root: followed. */
	snprintf(path, sizeof path, "%s/root/var/run", base);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("../state", path), 0);
	snprintf(path, sizeof path, "%s/root/state", base);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/root/state/reboot-required", base);
	write_file(path, "");
	run_checker("reboot_debian", NULL, &res);
	assert_int_equal(res.status, SM_WARNING);
	sm_check_result_clear(&res);

	rm_rf(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_debian_with_packages),
	    cmocka_unit_test(test_ubuntu_var_run_empty_packages),
	    cmocka_unit_test(test_ubuntu_derivative),
	    cmocka_unit_test(test_none_required),
	    cmocka_unit_test(test_not_debian_is_skipped),
	    cmocka_unit_test(test_unknown_distro_is_skipped),
	    cmocka_unit_test(test_symlink_out_of_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
