/* test_json.c - UTF-8 validation and lossy strings. */
#include "testutil.h"
#include "sm/json.h"

static void utf8_validation(void **state)
{
	(void)state;
	assert_true(sm_json_utf8_valid("plain", 5));
	assert_true(sm_json_utf8_valid("\xc2\xb0"
	                               "C",
	                               3));                      /* °C */
	assert_true(sm_json_utf8_valid("\xf0\x9f\x94\xa5", 4));  /* emoji */
	assert_false(sm_json_utf8_valid("\xff", 1));             /* never valid */
	assert_false(sm_json_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
	assert_false(sm_json_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(sm_json_utf8_valid("\xe2\x82", 2));         /* truncated */
	assert_false(sm_json_utf8_valid("a\0b", 3));             /* NUL */
	assert_false(sm_json_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
}

static void lossy_strings(void **state)
{
	json_t *s;

	(void)state;
	s = sm_json_string("ok");
	assert_string_equal(json_string_value(s), "ok");
	json_decref(s);
	s = sm_json_string("bad\xff"
	                   "name");
	assert_non_null(s);
	assert_string_equal(json_string_value(s), "bad\xef\xbf\xbdname");
	json_decref(s);
	s = sm_json_string(NULL);
	assert_true(json_is_null(s));
	json_decref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(utf8_validation),
	    cmocka_unit_test(lossy_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
