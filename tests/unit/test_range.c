/* test_range.c - thresholds: plain numbers and plugin range expressions. */
#include "testutil.h"
#include "sm/range.h"

static sm_range parse_ok(const char *s)
{
	sm_range r;
	sm_error err;

	assert_int_equal(sm_range_parse(s, &r, &err), 0);
	assert_true(r.set);
	return r;
}

static void plain_number_keeps_direction(void **state)
{
	sm_range r = parse_ok("80");

	(void)state;
	assert_false(r.is_range);
	assert_true(sm_range_trips(&r, 80.0, false)); /* inclusive */
	assert_true(sm_range_trips(&r, 95.0, false));
	assert_false(sm_range_trips(&r, 79.9, false));
	/* minimum checkers (network, process): below trips */
	assert_true(sm_range_trips(&r, 79.9, true));
	assert_false(sm_range_trips(&r, 80.0, true));
}

static void plugin_ranges(void **state)
{
	sm_range r;

	(void)state;
	r = parse_ok("10:"); /* < 10 */
	assert_true(r.is_range);
	assert_true(sm_range_trips(&r, 9.9, false));
	assert_false(sm_range_trips(&r, 10, false));
	assert_false(sm_range_trips(&r, 1e9, false));
	r = parse_ok("~:10"); /* > 10 */
	assert_true(sm_range_trips(&r, 10.5, false));
	assert_false(sm_range_trips(&r, -1e9, false));
	r = parse_ok("10:20"); /* outside */
	assert_true(sm_range_trips(&r, 9, false));
	assert_true(sm_range_trips(&r, 21, false));
	assert_false(sm_range_trips(&r, 15, false));
	r = parse_ok("@10:20"); /* inside */
	assert_true(sm_range_trips(&r, 15, false));
	assert_true(sm_range_trips(&r, 10, false));
	assert_false(sm_range_trips(&r, 21, false));
	/* The minimum flag never changes a range's meaning. */
	assert_false(sm_range_trips(&r, 21, true));
	r = parse_ok("-5:-1");
	assert_true(sm_range_trips(&r, 0, false));
	assert_false(sm_range_trips(&r, -3, false));
}

static void bad_thresholds(void **state)
{
	static const char *const bad[] = {"",      "abc", "1:x", "20:10", "@",  ":",
	                                  "1e999", "nan", "5%",  "~",     "@~", "1:2:3"};
	sm_range r;
	sm_error err;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err.msg[0] = '\0';
		assert_int_equal(sm_range_parse(bad[i], &r, &err), -1);
		assert_non_null(strstr(err.msg, "bad threshold"));
	}
}

static void value_helper(void **state)
{
	sm_range r = sm_range_value(1.5);

	(void)state;
	assert_string_equal(r.text, "1.5");
	assert_true(sm_range_trips(&r, 1.5, false));
	r.set = false;
	assert_false(sm_range_trips(&r, 100, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(plain_number_keeps_direction),
	    cmocka_unit_test(plugin_ranges),
	    cmocka_unit_test(bad_thresholds),
	    cmocka_unit_test(value_helper),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
