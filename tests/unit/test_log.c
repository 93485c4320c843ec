/* test_log.c - logfmt lines, levels and quoting. */
#include "testutil.h"
#include "capture.h"
#include "sm/log.h"

static void levels_and_format(void **state)
{
	struct capture c;
	const char *out;

	(void)state;
	setenv("SM_LOG_LEVEL", "info", 1);
	sm_log_init("sm-test");
	sm_log_set_trace("0123456789abcdef0123456789abcdef");
	capture_start(&c, 2);
	sm_log(SM_LOG_DEBUG, "hidden");
	sm_log(SM_LOG_INFO, "stored %d alerts", 3);
	sm_log_kv(SM_LOG_WARN, "slow", "driver", "grafana", "note",
	          "has \"quotes\" and =", SM_LOG_END);
	out = capture_end(&c, 2);
	assert_null(strstr(out, "hidden"));
	assert_non_null(
	    strstr(out, " level=info tool=sm-test "
	                "trace_id=0123456789abcdef0123456789abcdef msg=\"stored 3 alerts\"\n"));
	assert_non_null(strstr(out, "level=warn"));
	assert_non_null(strstr(out, "msg=slow driver=grafana note=\"has \\\"quotes\\\" and =\"\n"));
	assert_int_equal(strncmp(out, "ts=", 3), 0);
	sm_log_set_trace(NULL);
}

static void off_and_bad_levels(void **state)
{
	struct capture c;

	(void)state;
	setenv("SM_LOG_LEVEL", "off", 1);
	sm_log_init("sm-test");
	capture_start(&c, 2);
	sm_log(SM_LOG_ERROR, "nothing");
	assert_string_equal(capture_end(&c, 2), "");
	setenv("SM_LOG_LEVEL", "loud", 1);
	sm_log_init("sm-test");
	assert_int_equal(sm_log_level(), SM_LOG_WARN);
	assert_int_equal(sm_log_level_parse("ERROR"), SM_LOG_ERROR);
	assert_int_equal(sm_log_level_parse("warning"), SM_LOG_WARN);
	assert_int_equal(sm_log_level_parse("x"), -1);
}

/* Lines diverted into a buffer under another tool's name, none written;
 * then written again. */
static void diverted(void **state)
{
	struct capture c;
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	setenv("SM_LOG_LEVEL", "info", 1);
	sm_log_init("sm-test");
	capture_start(&c, 2);
	sm_log_divert(&buf, &len, "sm-other");
	sm_log_kv(SM_LOG_INFO, "one", "k", "v", SM_LOG_END);
	sm_log(SM_LOG_WARN, "two");
	sm_log(SM_LOG_DEBUG, "below the level");
	sm_log_divert(NULL, NULL, NULL);
	sm_log(SM_LOG_INFO, "three");
	assert_non_null(buf);
	assert_int_equal(strlen(buf), len);
	assert_non_null(strstr(buf, " level=info tool=sm-other msg=one k=v\n"));
	assert_non_null(strstr(buf, " level=warn tool=sm-other msg=two\n"));
	assert_null(strstr(buf, "below"));
	assert_null(strstr(buf, "three"));
	assert_string_equal(strchr(capture_end(&c, 2), ' '),
	                    " level=info tool=sm-test msg=three\n");
	free(buf);
}

static void quoting(void **state)
{
	char buf[64];

	(void)state;
	buf[0] = '\0';
	sm_log_quote(buf, sizeof buf, "bare");
	assert_string_equal(buf, "bare");
	buf[0] = '\0';
	sm_log_quote(buf, sizeof buf, "");
	assert_string_equal(buf, "\"\"");
	buf[0] = '\0';
	sm_log_quote(buf, sizeof buf, "two\nlines\\");
	assert_string_equal(buf, "\"two\\nlines\\\\\"");
	buf[0] = '\0';
	sm_log_quote(buf, sizeof buf, "tab\there");
	assert_string_equal(buf, "\"tab?here\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(levels_and_format),
	    cmocka_unit_test(off_and_bad_levels),
	    cmocka_unit_test(quoting),
	    cmocka_unit_test(diverted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
