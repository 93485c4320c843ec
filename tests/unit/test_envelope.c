/* test_envelope.c - reading and writing the NDJSON envelope stream. */
#include "testutil.h"
#include "sm/envelope.h"
#include "sm/trace.h"

static FILE *input(const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");

	assert_non_null(f);
	return f;
}

static void reads_objects_and_skips_blank_lines(void **state)
{
	FILE *f = input("{\"v\":1,\"a\":1}\n\n   \n{\"v\":1,\"a\":2}\n{\"v\":1,\"a\":3}");
	sm_reader *r = sm_reader_new(f, "stdin", 0);
	sm_error err;
	json_t *o;

	(void)state;
	for (int want = 1; want <= 3; want++) {
		assert_int_equal(sm_envelope_read(r, &o, &err), 1);
		assert_int_equal(json_integer_value(json_object_get(o, "a")), want);
		assert_true(sm_trace_valid(json_string_value(json_object_get(o, "trace_id"))));
		json_decref(o);
	}
	assert_int_equal(sm_reader_line(r), 5);
	assert_int_equal(sm_envelope_read(r, &o, &err), 0);
	sm_reader_free(r);
	fclose(f);
}

static void expect_error(const char *text, const char *needle, size_t max)
{
	FILE *f = input(text);
	sm_reader *r = sm_reader_new(f, "in.ndjson", max);
	sm_error err = {0};
	json_t *o = NULL;
	int rc;

	while ((rc = sm_envelope_read(r, &o, &err)) == 1)
		json_decref(o);
	assert_int_equal(rc, -1);
	assert_null(o);
	if (!strstr(err.msg, needle))
		fail_msg("'%s' not in '%s'", needle, err.msg);
	sm_reader_free(r);
	fclose(f);
}

static void errors_name_the_line(void **state)
{
	(void)state;
	expect_error("{\"v\":1}\n{\"v\":1,\"x\":\n", "in.ndjson:2: malformed JSON", 0);
	expect_error("{\"v\":1}\n[1,2]\n", "in.ndjson:2: expected a JSON object", 0);
	expect_error("{\"v\":1,\"s\":\"\xff\"}\n", "in.ndjson:1: invalid UTF-8", 0);
	expect_error("{\"x\":1}\n", "in.ndjson:1: not an sm envelope", 0);
	expect_error("{\"v\":2}\n", "not an sm envelope", 0);
	expect_error("{\"v\":1,\"trace_id\":\"XYZ\"}\n", "\"trace_id\" must be", 0);
	expect_error("{\"v\":1,\"run_id\":5}\n", "in.ndjson:1: \"run_id\" must be a string", 0);
	expect_error("{\"v\":1,\"run_id\":\"\"}\n", "\"run_id\" must be a string", 0);
	expect_error("{\"v\":1,\"run_id\":\"0123456789012345678901234567890123456789"
	             "01234567890123456789012345\"}\n",
	             "\"run_id\" must be a string of 1 to 64 characters", 0);
	expect_error("{\"v\":1,\"a\":1,\"a\":2}\n", "malformed JSON", 0);
	expect_error("{\"v\":1}\n{\"v\":1,\"pad\":\"0123456789012345678901234567890\"}\n",
	             "in.ndjson:2: line longer than 32 bytes", 32);
	expect_error("tru", "in.ndjson:1: malformed JSON", 0);
}

static void oversize_line_does_not_poison_the_next(void **state)
{
	FILE *f = input("{\"v\":1,\"pad\":\"0123456789012345678901234567890123456789\"}\n"
	                "{\"v\":1}\n");
	sm_reader *r = sm_reader_new(f, "x", 16);
	sm_error err;
	json_t *o;

	(void)state;
	assert_int_equal(sm_envelope_read(r, &o, &err), -1);
	assert_int_equal(sm_envelope_read(r, &o, &err), 1);
	assert_int_equal(sm_reader_line(r), 2);
	json_decref(o);
	sm_reader_free(r);
	fclose(f);
}

static void deep_nesting_is_refused_not_crashing(void **state)
{
	size_t depth = 200000;
	char *text = malloc(depth * 2 + 16);
	size_t n = 0;
	FILE *f;
	sm_reader *r;
	sm_error err;
	json_t *o;

	(void)state;
	memcpy(text, "{\"v\":1,\"x\":", 11);
	n = 11;
	for (size_t i = 0; i < depth; i++)
		text[n++] = '[';
	for (size_t i = 0; i < depth; i++)
		text[n++] = ']';
	text[n++] = '}';
	text[n] = '\0';
	f = input(text);
	r = sm_reader_new(f, "deep", 0);
	assert_int_equal(sm_envelope_read(r, &o, &err), -1);
	assert_non_null(strstr(err.msg, "deep:1: malformed JSON"));
	sm_reader_free(r);
	fclose(f);
	free(text);
}

static void new_envelope_and_stages(void **state)
{
	json_t *env = sm_envelope_new("local", NULL), *again, *stage;
	const char *id = sm_envelope_trace_id(env);

	(void)state;
	assert_true(sm_trace_valid(id));
	assert_int_equal(json_integer_value(json_object_get(env, "v")), 1);
	assert_string_equal(json_string_value(json_object_get(env, "source")), "local");
	again = sm_envelope_new("x", id);
	assert_string_equal(sm_envelope_trace_id(again), id);
	json_decref(again);
	sm_envelope_add_stage(env, "check", "ok", "2026-11-22T00:00:00Z", 1.5, NULL);
	sm_envelope_add_stage(env, "notify", "failed", "2026-11-22T00:00:01Z", 1.0943321, "boom");
	assert_int_equal(json_array_size(json_object_get(env, "stages")), 2);
	stage = json_array_get(json_object_get(env, "stages"), 1);
	assert_string_equal(json_string_value(json_object_get(stage, "error")), "boom");
	/* Durations print to the microsecond, whichever stage measured them. */
	assert_true(json_real_value(json_object_get(stage, "duration_ms")) == 1.094);
	assert_true(json_is_null(
	    json_object_get(json_array_get(json_object_get(env, "stages"), 0), "error")));
	json_decref(env);
}

static void writes_one_compact_line(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_t *env = json_pack("{s:i,s:s,s:f,s:{s:s}}", "v", 1, "trace_id",
	                        "0123456789abcdef0123456789abcdef", "x", 45.2, "o", "k", "v");
	sm_error err;

	(void)state;
	assert_int_equal(sm_envelope_write(f, env, &err), 0);
	fclose(f);
	assert_string_equal(buf, "{\"v\":1,\"trace_id\":\"0123456789abcdef0123456789abcdef\","
	                         "\"x\":45.2,\"o\":{\"k\":\"v\"}}\n");
	free(buf);
	json_decref(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reads_objects_and_skips_blank_lines),
	    cmocka_unit_test(errors_name_the_line),
	    cmocka_unit_test(oversize_line_does_not_poison_the_next),
	    cmocka_unit_test(deep_nesting_is_refused_not_crashing),
	    cmocka_unit_test(new_envelope_and_stages),
	    cmocka_unit_test(writes_one_compact_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
