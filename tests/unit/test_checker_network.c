/* test_checker_network.c - the network checker with a fake ping
 * (tests/fixtures/bin/ping) first on PATH: host names choose its answer, so
 * nothing here ever sends a packet. */
#include <math.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "check/checkers.h"

static char saved_path[8192];

static int use_fake_ping(void **state)
{
	const char *path = getenv("PATH");
	char *fake = NULL;

	(void)state;
	snprintf(saved_path, sizeof saved_path, "%s", path ? path : "/usr/bin:/bin");
	assert_true(asprintf(&fake, "%s:%s", fixture("bin"), saved_path) > 0);
	setenv("PATH", fake, 1);
	free(fake);
	unsetenv("SM_PING_HOSTS");
	unsetenv("SM_PING_TIMEOUT");
	unsetenv("FAKE_PING_LOG");
	return 0;
}

static int restore_path(void **state)
{
	(void)state;
	setenv("PATH", saved_path, 1);
	unsetenv("SM_PING_HOSTS");
	unsetenv("SM_PING_TIMEOUT");
	unsetenv("FAKE_PING_LOG");
	return 0;
}

static void run_hosts(const char *const *hosts, size_t n, sm_check_result *res)
{
	sm_check_opts o = {0};

	opts_list(&o, "hosts", hosts, n);

	run_checker("network", &o, res);
	assert_true(res->minimum);
}

static json_t *host(const sm_check_result *res, const char *name)
{
	json_t *h = json_object_get(json_object_get(res->metrics, "hosts"), name);

	assert_non_null(h);
	return h;
}

static void assert_host(const sm_check_result *res, const char *name, bool reachable,
                        double latency)
{
	json_t *h = host(res, name), *l = json_object_get(h, "latency_ms");

	assert_int_equal(json_is_true(json_object_get(h, "reachable")), reachable);
	if (isnan(latency))
		assert_true(json_is_null(l));
	else
		assert_true(json_real_value(l) == latency);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_all_reachable(void **state)
{
	static const char *const hosts[] = {"up1.test", "127.0.0.1"};
	const char *keys[] = {"hosts", "reachable_count", "total_hosts", "reachable_percent"};
	sm_check_result res;

	(void)state;
	run_hosts(hosts, 2, &res);
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "Network: 2/2 hosts reachable (100%)");
	assert_keys(res.metrics, keys, sizeof keys / sizeof keys[0]);
	assert_host(&res, "up1.test", true, 12.345);
	assert_host(&res, "127.0.0.1", true, 12.345);
	assert_int_equal(metric_num(&res, "reachable_count"), 2);
	assert_int_equal(metric_num(&res, "total_hosts"), 2);
	assert_true(metric_num(&res, "reachable_percent") == 100.0);
	/* Minimum thresholds in plugin terms: alert below 70 and 50. */
	assert_string_equal(res.perfdata, "reachable=100%;70:;50:;0;100 'up1.test rtt'=12.345ms "
	                                  "'127.0.0.1 rtt'=12.345ms");
	sm_check_result_clear(&res);
}

static void test_half_reachable_is_warning(void **state)
{
	static const char *const hosts[] = {"up1.test", "down1.test"};
	sm_check_result res;

	(void)state;
	run_hosts(hosts, 2, &res);
	assert_int_equal(res.status, SM_WARNING);
	assert_string_equal(res.message, "Network: 1/2 hosts reachable (50%)");
	assert_host(&res, "down1.test", false, NAN);
	sm_check_result_clear(&res);
}

static void test_two_of_three(void **state)
{
	static const char *const hosts[] = {"up1.test", "bb1.test", "down1.test"};
	sm_check_result res;

	(void)state;
	run_hosts(hosts, 3, &res);
	assert_int_equal(res.status, SM_WARNING);
	assert_string_equal(res.message, "Network: 2/3 hosts reachable (67%)");
	assert_true(metric_num(&res, "reachable_percent") == 2.0 / 3.0 * 100.0);
	assert_host(&res, "bb1.test", true, 0.25); /* busybox's summary line */
	sm_check_result_clear(&res);
}

static void test_none_reachable_is_critical(void **state)
{
	static const char *const hosts[] = {"down1.test", "down2.test"};
	sm_check_result res;

	(void)state;
	run_hosts(hosts, 2, &res);
	assert_int_equal(res.status, SM_CRITICAL);
	assert_string_equal(res.message, "Network: 0/2 hosts reachable (0%)");
	assert_string_equal(res.perfdata, "reachable=0%;70:;50:;0;100");
	sm_check_result_clear(&res);
}

static void test_reachable_without_latency(void **state)
{
	static const char *const hosts[] = {"noavg.test"};
	sm_check_result res;

	(void)state;
	run_hosts(hosts, 1, &res);
	assert_int_equal(res.status, SM_OK);
	assert_host(&res, "noavg.test", true, NAN);
	sm_check_result_clear(&res);
}

/* Hosts are pinged at once: three hung pings cost one timeout, not three. */
static void test_timeout_kills_and_is_concurrent(void **state)
{
	static const char *const hosts[] = {"slow1.test", "slow2.test", "slow3.test", "up1.test"};
	sm_check_result res;
	double start, elapsed;

	(void)state;
	setenv("SM_PING_TIMEOUT", "1", 1);
	start = now();
	run_hosts(hosts, 4, &res);
	elapsed = now() - start;
	assert_true(elapsed >= 1.9);
	assert_true(elapsed < 4.0);
	assert_int_equal(res.status, SM_CRITICAL);
	assert_string_equal(res.message, "Network: 1/4 hosts reachable (25%)");
	assert_host(&res, "slow2.test", false, NAN);
	assert_host(&res, "up1.test", true, 12.345);
	sm_check_result_clear(&res);
}

static void test_argument_vector(void **state)
{
	static const char *const hosts[] = {"up1.test"};
	char log[] = "/tmp/sm-ping-log-XXXXXX", line[256] = "";
	sm_check_result res;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(log);
	assert_true(fd >= 0);
	close(fd);
	setenv("FAKE_PING_LOG", log, 1);
	setenv("SM_PING_TIMEOUT", "3", 1);
	run_hosts(hosts, 1, &res);
	sm_check_result_clear(&res);
	f = fopen(log, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof line, f));
	fclose(f);
	unlink(log);
	assert_string_equal(line, "-n -c 1 -W 3 -- up1.test\n");
}

static void test_hosts_from_environment(void **state)
{
	sm_check_result res;

	(void)state;
	setenv("SM_PING_HOSTS", " up1.test, down1.test,,", 1);
	run_hosts(NULL, 0, &res);
	assert_int_equal(res.status, SM_WARNING);
	assert_string_equal(res.message, "Network: 1/2 hosts reachable (50%)");
	assert_host(&res, "up1.test", true, 12.345);
	assert_host(&res, "down1.test", false, NAN);
	sm_check_result_clear(&res);
}

static void test_no_hosts_is_skipped(void **state)
{
	sm_check_result res;

	(void)state;
	run_hosts(NULL, 0, &res);
	assert_int_equal(res.status, SM_OK);
	assert_string_equal(res.message, "Skipped: no hosts configured");
	assert_int_equal(json_object_size(json_object_get(res.metrics, "hosts")), 0);
	assert_int_equal(metric_num(&res, "reachable_count"), 0);
	assert_int_equal(metric_num(&res, "total_hosts"), 0);
	assert_null(res.perfdata);
	sm_check_result_clear(&res);

	setenv("SM_PING_HOSTS", " , ", 1);
	run_hosts(NULL, 0, &res);
	assert_string_equal(res.message, "Skipped: no hosts configured");
	sm_check_result_clear(&res);
}

static void test_invalid_host_is_unknown(void **state)
{
	static const struct {
		const char *host, *message;
	} cases[] = {
	    {"-oops", "Check failed: invalid host '-oops'"},
	    {"a b", "Check failed: invalid host 'a?b'"},
	    {"", "Check failed: invalid host ''"},
	    {"host;reboot", "Check failed: invalid host 'host;reboot'"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *hosts[] = {"up1.test", cases[i].host};
		sm_check_result res;
		run_hosts(hosts, 2, &res);
		assert_int_equal(res.status, SM_UNKNOWN);
		assert_string_equal(res.message, cases[i].message);
		sm_check_result_clear(&res);
	}
}

static void test_bad_timeout_is_unknown(void **state)
{
	static const char *const hosts[] = {"up1.test"};
	static const char *const bad[] = {"abc", "0", "1.5", "601"};

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sm_check_result res;
		setenv("SM_PING_TIMEOUT", bad[i], 1);
		run_hosts(hosts, 1, &res);
		assert_int_equal(res.status, SM_UNKNOWN);
		assert_string_equal(res.message, "Check failed: SM_PING_TIMEOUT: expected whole "
		                                 "seconds from 1 to 600");
		sm_check_result_clear(&res);
	}
}

static void test_no_ping_binary_is_unknown(void **state)
{
	static const char *const hosts[] = {"up1.test", "up2.test"};
	sm_check_result res;

	(void)state;
	setenv("PATH", "/nonexistent", 1);
	run_hosts(hosts, 2, &res);
	assert_int_equal(res.status, SM_UNKNOWN);
	assert_string_equal(res.message,
	                    "Check failed: cannot run ping: No such file or directory");
	sm_check_result_clear(&res);
}

static void test_host_valid(void **state)
{
	static const char *const good[] = {"example.com",  "127.0.0.1",     "::1",
	                                   "fe80::1%eth0", "my_host-1.lan", "2001:db8::5"};
	static const char *const bad[] = {
	    "", "-c", "a b", "a\tb", "a;b", "$(id)", "a/b", "ex\xc3\xa4mple.com", "x\n"};
	char longest[256];

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_true(sm_check_host_valid(good[i]));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(sm_check_host_valid(bad[i]));
	assert_false(sm_check_host_valid(NULL));
	memset(longest, 'a', sizeof longest);
	longest[253] = '\0';
	assert_true(sm_check_host_valid(longest));
	longest[253] = 'a';
	longest[254] = '\0';
	assert_false(sm_check_host_valid(longest));
}

static void test_latency_parser(void **state)
{
	(void)state;
	assert_true(sm_ping_latency(
	                "PING x\nrtt min/avg/max/mdev = 0.045/0.052/0.060/0.007 ms\n") == 0.052);
	assert_true(sm_ping_latency("round-trip min/avg/max = 1.5/2.25/3.0 ms") == 2.25);
	assert_true(sm_ping_latency("RTT MIN/AVG/MAX/MDEV = 1/2/3/4 ms\n") == 2.0);
	assert_true(isnan(sm_ping_latency("")));
	assert_true(isnan(sm_ping_latency("1 packets transmitted, 1 received\n")));
	assert_true(isnan(sm_ping_latency("rtt min/avg/max/mdev = x/y/z/w ms\n")));
	assert_true(isnan(sm_ping_latency("rtt min/avg/max/mdev = 1.0 ms\n")));
	/* A line with "avg" but no '=' is passed over. */
	assert_true(sm_ping_latency("avg follows\nrtt min/avg/max/mdev = 1/7.5/9/1 ms\n") == 7.5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_all_reachable, use_fake_ping, restore_path),
	    cmocka_unit_test_setup_teardown(test_half_reachable_is_warning, use_fake_ping,
	                                    restore_path),
	    cmocka_unit_test_setup_teardown(test_two_of_three, use_fake_ping, restore_path),
	    cmocka_unit_test_setup_teardown(test_none_reachable_is_critical, use_fake_ping,
	                                    restore_path),
	    cmocka_unit_test_setup_teardown(test_reachable_without_latency, use_fake_ping,
	                                    restore_path),
	    cmocka_unit_test_setup_teardown(test_timeout_kills_and_is_concurrent, use_fake_ping,
	                                    restore_path),
	    cmocka_unit_test_setup_teardown(test_argument_vector, use_fake_ping, restore_path),
	    cmocka_unit_test_setup_teardown(test_hosts_from_environment, use_fake_ping,
	                                    restore_path),
	    cmocka_unit_test_setup_teardown(test_no_hosts_is_skipped, use_fake_ping, restore_path),
	    cmocka_unit_test_setup_teardown(test_invalid_host_is_unknown, use_fake_ping,
	                                    restore_path),
	    cmocka_unit_test_setup_teardown(test_bad_timeout_is_unknown, use_fake_ping,
	                                    restore_path),
	    cmocka_unit_test_setup_teardown(test_no_ping_binary_is_unknown, use_fake_ping,
	                                    restore_path),
	    cmocka_unit_test(test_host_valid),
	    cmocka_unit_test(test_latency_parser),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
