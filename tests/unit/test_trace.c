/* test_trace.c - trace ids. */
#include "testutil.h"
#include "sm/trace.h"

static void new_ids_are_valid_and_distinct(void **state)
{
	char a[SM_TRACE_LEN + 1], b[SM_TRACE_LEN + 1];

	(void)state;
	assert_int_equal(sm_trace_new(a), 0);
	assert_int_equal(sm_trace_new(b), 0);
	assert_int_equal(strlen(a), 32);
	assert_true(sm_trace_valid(a));
	assert_true(sm_trace_valid(b));
	assert_string_not_equal(a, b);
}

static void validation(void **state)
{
	(void)state;
	assert_true(sm_trace_valid("0123456789abcdef0123456789abcdef"));
	assert_false(sm_trace_valid("0123456789ABCDEF0123456789abcdef"));
	assert_false(sm_trace_valid("0123456789abcdef0123456789abcde"));
	assert_false(sm_trace_valid("0123456789abcdef0123456789abcdef0"));
	assert_false(sm_trace_valid("0123456789abcdeg0123456789abcdef"));
	assert_false(sm_trace_valid(""));
	assert_false(sm_trace_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(new_ids_are_valid_and_distinct),
	    cmocka_unit_test(validation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
