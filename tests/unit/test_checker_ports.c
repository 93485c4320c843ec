/* test_checker_ports.c - the listening_ports checker on fixture hosts
 * (hosts/ports-*): /proc/net/tcp{,6} written as a little-endian kernel
 * prints them, /proc/<pid>/fd links to "socket:[inode]", /etc/passwd. */
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static json_t *listener(const sm_check_result *res, size_t i)
{
	json_t *l = json_array_get(json_object_get(res->metrics, "listening"), i);

	assert_non_null(l);
	return l;
}

static const char *str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static long long integer(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void assert_ints(const sm_check_result *res, const char *key, const char *joined)
{
	json_t *list = json_object_get(res->metrics, key);
	char buf[256] = "";

	assert_true(json_is_array(list));
	for (size_t i = 0; i < json_array_size(list); i++) {
		char item[32];
		snprintf(item, sizeof item, "%s%lld", i ? "," : "",
		         json_integer_value(json_array_get(list, i)));
		strcat(buf, item);
	}
	assert_string_equal(buf, joined);
}

static void run_host(const char *host, const char *allowlist, sm_check_result *res)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	skip(); /* the fixtures hold a little-endian kernel's address words */
#endif
	use_host(host);
	if (allowlist)
		setenv("LISTENING_PORTS_ALLOWLIST", allowlist, 1);
	else
		unsetenv("LISTENING_PORTS_ALLOWLIST");
	run_checker("listening_ports", NULL, res);
	unsetenv("LISTENING_PORTS_ALLOWLIST");
	assert_false(res->warning.set);
}

static void test_exposed_without_allowlist(void **state)
{
	const char *keys[] = {"platform", "listening_count", "allowlist", "unexpected_ports",
	                      "listening"};
	const char *entry_keys[] = {"port",    "address", "family",  "pid",
	                            "exposed", "process", "username"};
	sm_check_result res;
	json_t *l;

	(void)state;
	run_host("ports-mixed", NULL, &res);
	assert_int_equal(res.status, SM_WARNING);
	assert_string_equal(res.message,
	                    "2 unexpected listening port(s): 22(0.0.0.0) [sshd], 22(::) [sshd]");
	assert_keys(res.metrics, keys, sizeof keys / sizeof keys[0]);
	assert_string_equal(str(res.metrics, "platform"), "linux");
	/* Six LISTEN sockets; the established and time-wait ones are not. */
	assert_int_equal(metric_num(&res, "listening_count"), 6);
	assert_ints(&res, "allowlist", "");
	assert_ints(&res, "unexpected_ports", "22,22");
	l = listener(&res, 0);
	assert_keys(l, entry_keys, sizeof entry_keys / sizeof entry_keys[0]);
	assert_int_equal(integer(l, "port"), 22);
	assert_string_equal(str(l, "address"), "0.0.0.0");
	assert_string_equal(str(l, "family"), "ipv4");
	assert_int_equal(integer(l, "pid"), 100);
	assert_true(json_is_true(json_object_get(l, "exposed")));
	assert_string_equal(str(l, "process"), "sshd");
	assert_string_equal(str(l, "username"), "root");
	assert_string_equal(res.perfdata, "unexpected=2;;;0");
	sm_check_result_clear(&res);
}

static void test_listener_details(void **state)
{
	static const struct {
		unsigned port;
		const char *address, *family;
		long long pid; /* -1: null */
		bool exposed;
		const char *process, *username;
	} want[] = {
	    {22, "0.0.0.0", "ipv4", 100, true, "sshd", "root"},
	    {5432, "127.0.0.1", "ipv4", 200, false, "postgres", "postgres"},
	    {53, "127.0.0.53", "ipv4", -1, false, NULL, NULL},
	    {22, "::", "ipv6", 100, true, "sshd", "root"},
	    {631, "::1", "ipv6", 300, false, "cupsd", "4242"}, /* lowest pid; no passwd entry */
	    {8080, "::ffff:127.0.0.1", "ipv6", 300, false, "cupsd", "4242"},
	};
	sm_check_result res;

	(void)state;
	run_host("ports-mixed", NULL, &res);
	assert_int_equal(json_array_size(json_object_get(res.metrics, "listening")), 6);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		json_t *l = listener(&res, i);
		assert_int_equal(integer(l, "port"), want[i].port);
		assert_string_equal(str(l, "address"), want[i].address);
		assert_string_equal(str(l, "family"), want[i].family);
		if (want[i].pid < 0)
			assert_true(json_is_null(json_object_get(l, "pid")));
		else
			assert_int_equal(integer(l, "pid"), want[i].pid);
		assert_int_equal(json_is_true(json_object_get(l, "exposed")), want[i].exposed);
		if (want[i].process)
			assert_string_equal(str(l, "process"), want[i].process);
		else
			assert_true(json_is_null(json_object_get(l, "process")));
		if (want[i].username)
			assert_string_equal(str(l, "username"), want[i].username);
		else
			assert_true(json_is_null(json_object_get(l, "username")));
	}
	sm_check_result_clear(&res);
}

/* With an allowlist, every other port is flagged, loopback included. */
static void test_allowlist_flags_the_rest(void **state)
{
	sm_check_result res;

	(void)state;
	run_host("ports-mixed", " 22,,5432 ,22", &res);
	assert_int_equal(res.status, SM_WARNING);
	assert_string_equal(res.message, "3 unexpected listening port(s): 53(127.0.0.53) [?], "
	                                 "631(::1) [cupsd], 8080(::ffff:127.0.0.1) [cupsd]");
	assert_ints(&res, "allowlist", "22,5432");
	assert_ints(&res, "unexpected_ports", "53,631,8080");
	sm_check_result_clear(&res);
}

static void test_allowlist_covers_all(void **state)
{
	sm_check_result res;

	(void)state;
	run_host("ports-mixed", "8080,631,53,5432,22", &res);
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "6 listening port(s), none unexpected");
	assert_ints(&res, "allowlist", "22,53,631,5432,8080");
	assert_ints(&res, "unexpected_ports", "");
	sm_check_result_clear(&res);
}

static void test_loopback_only(void **state)
{
	sm_check_result res;

	(void)state;
	run_host("ports-loopback", "", &res);
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "2 listening port(s), none unexpected");
	assert_string_equal(str(listener(&res, 1), "address"), "::1");
	assert_true(json_is_null(json_object_get(listener(&res, 0), "pid")));
	assert_string_equal(res.perfdata, "unexpected=0;;;0");
	sm_check_result_clear(&res);
}

static void test_no_tcp6(void **state)
{
	sm_check_result res;

	(void)state;
	run_host("ports-nov6", NULL, &res);
	assert_int_equal(res.status, SM_WARNING);
	assert_string_equal(res.message, "1 unexpected listening port(s): 80(0.0.0.0) [?]");
	sm_check_result_clear(&res);
}

static void test_bad_allowlist(void **state)
{
	static const char *const bad[] = {"22,ssh", "0", "65536", "-22", "22 80", "+22"};

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sm_check_result res;
		char expected[128];
		run_host("ports-mixed", bad[i], &res);
		assert_int_equal(res.status, SM_UNKNOWN);
		snprintf(expected, sizeof expected,
		         "Check failed: LISTENING_PORTS_ALLOWLIST: bad port '%s'",
		         i == 0 ? "ssh" : bad[i]);
		assert_string_equal(res.message, expected);
		assert_string_equal(res.error, expected + strlen("Check failed: "));
		sm_check_result_clear(&res);
	}
}

static void test_unreadable_tables(void **state)
{
	static const struct {
		const char *host, *message;
	} cases[] = {
	    {"ports-missing", "Check failed: /proc/net/tcp: No such file or directory"},
	    {"ports-dir", "Check failed: /proc/net/tcp: Is a directory"},
	    {"ports-junk", "Check failed: /proc/net/tcp: malformed line 3"},
	    {"ports-short", "Check failed: /proc/net/tcp: malformed line 2"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sm_check_result res;
		run_host(cases[i].host, NULL, &res);
		assert_int_equal(res.status, SM_UNKNOWN);
		assert_string_equal(res.message, cases[i].message);
		sm_check_result_clear(&res);
	}
}

/* Permission denied is skipped, as the original does. Root reads anything,
 * so this can only be shown without privileges. */
static void test_permission_denied_is_skipped(void **state)
{
	char base[] = "/tmp/sm-ports-XXXXXX", path[512];
	sm_check_result res;
	FILE *f;

	(void)state;
	if (geteuid() == 0)
		skip();
	assert_non_null(mkdtemp(base));
	snprintf(path, sizeof path, "%s/proc", base);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/proc/net", base);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/proc/net/tcp", base);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(chmod(path, 0), 0);
	setenv("SM_HOST_ROOT", base, 1);
	run_checker("listening_ports", NULL, &res);
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "Skipped: cannot read listening ports");
	assert_int_equal(metric_num(&res, "listening_count"), 0);
	sm_check_result_clear(&res);
	rm_rf(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exposed_without_allowlist),
	    cmocka_unit_test(test_listener_details),
	    cmocka_unit_test(test_allowlist_flags_the_rest),
	    cmocka_unit_test(test_allowlist_covers_all),
	    cmocka_unit_test(test_loopback_only),
	    cmocka_unit_test(test_no_tcp6),
	    cmocka_unit_test(test_bad_allowlist),
	    cmocka_unit_test(test_unreadable_tables),
	    cmocka_unit_test(test_permission_denied_is_skipped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
