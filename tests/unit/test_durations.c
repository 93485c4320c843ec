/* test_durations.c - every setting, flag and key of seconds takes the one
 * duration syntax of sm_config_duration ("90s", "15m", "4h", "7d"). */
#include <signal.h> /* pipeline_work.h uses sig_atomic_t */

#include "testutil.h"
#include "check/diskanalysis.h"
#include "sm/analyze.h"
#include "sm/config.h"
#include "sm/notify.h"
#include "sm/pipeline_work.h"
#include "sm/request.h"

static void settings_of_seconds(void **state)
{
	sm_pipeline_work_settings s;
	sm_error err;
	double budget;

	(void)state;
	setenv("ORCHESTRATION_QUEUE_STALE_SECONDS", "15m", 1);
	setenv("ORCHESTRATION_QUEUE_RETRY_SECONDS", "1h", 1);
	setenv("ORCHESTRATION_QUEUE_POLL_SECONDS", "0.5s", 1);
	assert_int_equal(sm_pipeline_work_settings_get(&s, &err), 0);
	assert_true(s.stale_s == 900 && s.retry_s == 3600 && s.poll_s == 0.5);
	/* A count is not a duration. */
	setenv("ORCHESTRATION_QUEUE_MAX_RETRIES", "3m", 1);
	assert_int_equal(sm_pipeline_work_settings_get(&s, &err), -1);
	unsetenv("ORCHESTRATION_QUEUE_MAX_RETRIES");
	setenv("ORCHESTRATION_QUEUE_POLL_SECONDS", "5 min", 1);
	assert_int_equal(sm_pipeline_work_settings_get(&s, &err), -1);
	assert_non_null(strstr(err.msg, "ORCHESTRATION_QUEUE_POLL_SECONDS"));
	unsetenv("ORCHESTRATION_QUEUE_STALE_SECONDS");
	unsetenv("ORCHESTRATION_QUEUE_RETRY_SECONDS");
	unsetenv("ORCHESTRATION_QUEUE_POLL_SECONDS");

	setenv("SM_READ_TIMEOUT", "2m", 1);
	assert_int_equal(sm_request_read_timeout_ms(), 120000);
	setenv("SM_READ_TIMEOUT", "2x", 1);
	assert_int_equal(sm_request_read_timeout_ms(), -1);
	unsetenv("SM_READ_TIMEOUT");

	setenv("SM_WALK_TIMEOUT", "1m", 1);
	assert_int_equal(sm_diskanalysis_budget(&budget), 0);
	assert_true(budget == 60);
	setenv("SM_WALK_TIMEOUT", "0s", 1);
	assert_int_equal(sm_diskanalysis_budget(&budget), -1);
	unsetenv("SM_WALK_TIMEOUT");
}

static void flags_and_keys_of_seconds(void **state)
{
	char *notify_words[] = {"webhook_url=http://127.0.0.1:9/hook", "timeout_s=2m",
	                        "repeat_interval=4h"};
	char *bad_words[] = {"webhook_url=http://127.0.0.1:9/hook", "timeout_s=2 minutes"};
	char *ai_words[] = {"api_key=k", "timeout_s=1.5m"};
	const sm_check_option *interval = sm_check_option_find("interval");
	sm_check_opts opts = {0};
	json_t *config;
	sm_error err;

	(void)state;
	assert_int_equal(sm_notify_config_build("generic", notify_words, 3, &config, &err),
	                 SM_EXIT_OK);
	assert_int_equal(json_integer_value(json_object_get(config, "timeout_s")), 120);
	assert_int_equal(json_integer_value(json_object_get(config, "repeat_interval")), 14400);
	json_decref(config);
	assert_int_equal(sm_notify_config_build("generic", bad_words, 2, &config, &err),
	                 SM_EXIT_USAGE);
	assert_non_null(strstr(err.msg, "timeout_s"));

	assert_int_equal(sm_analyze_config_parse("openai", ai_words, 2, &config, &err), 0);
	assert_true(json_number_value(json_object_get(config, "timeout_s")) == 90);
	json_decref(config);

	assert_non_null(interval);
	assert_int_equal(sm_check_opts_set(&opts, interval, "2s", &err), 0);
	assert_true(sm_check_opts_number(&opts, "interval", 0) == 2);
	assert_int_equal(sm_check_opts_set(&opts, interval, "2h", &err), -1); /* above 3600 */
	assert_int_equal(sm_check_opts_set(&opts, interval, "2 s", &err), -1);
	assert_non_null(strstr(err.msg, "--interval"));
	sm_check_opts_clear(&opts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(settings_of_seconds),
	    cmocka_unit_test(flags_and_keys_of_seconds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
