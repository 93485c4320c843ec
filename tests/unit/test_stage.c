/* test_stage.c - the envelope loop of the stream stages: one policy for bad
 * lines, unreadable input and a failed output, and the exit status. */
#include "testutil.h"
#include "sm/err.h"
#include "sm/stage.h"

#define ENV(n) "{\"v\":1,\"trace_id\":\"0000000000000000000000000000000" n "\",\"n\":" n "}\n"

/* Marks each envelope and returns the status its "status" key asks for;
 * drops those with "drop". */
static int mark(json_t *env, bool *drop, void *ctx)
{
	int *calls = ctx;

	(*calls)++;
	json_object_set_new(env, "seen", json_true());
	*drop = json_is_true(json_object_get(env, "drop"));
	return (int)json_integer_value(json_object_get(env, "status"));
}

/* Run the loop over text; out gets what was written. */
static void run_text(const char *text, char **out, int *calls, sm_stage_result *res)
{
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	size_t len = 0;
	FILE *o = open_memstream(out, &len);

	assert_non_null(in);
	assert_non_null(o);
	*calls = 0;
	sm_stage_run(in, "stdin", 0, o, mark, calls, res);
	fclose(o);
	fclose(in);
}

static void passes_every_envelope_on(void **state)
{
	sm_stage_result res;
	char *out = NULL;
	int calls;

	(void)state;
	run_text(ENV("1") "\n" ENV("2"), &out, &calls, &res);
	assert_int_equal(calls, 2);
	assert_int_equal(res.envelopes, 2);
	assert_non_null(strstr(out, "\"n\":1,\"seen\":true}\n"));
	assert_non_null(strstr(out, "\"n\":2,\"seen\":true}\n"));
	assert_int_equal(sm_stage_exit(&res), SM_EXIT_OK);
	free(out);
}

/* A line that is not an envelope is skipped; the lines after it go on. */
static void skips_bad_lines(void **state)
{
	static const char *const bad[] = {
	    "{\"v\":1,\"trace_id\":\n",   /* truncated */
	    "[1,2]\n",                    /* not an object */
	    "{\"v\":2}\n",                /* another contract */
	    "{\"v\":1,\"x\":\"\xff\"}\n", /* invalid UTF-8 */
	    "{\"v\":1,\"trace_id\":\"NOPE\"}\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[256], *out = NULL;
		sm_stage_result res;
		int calls;

		snprintf(text, sizeof text, "%s%s%s", ENV("1"), bad[i], ENV("3"));
		run_text(text, &out, &calls, &res);
		assert_int_equal(calls, 2);
		assert_int_equal(res.malformed, 1);
		assert_false(res.input_error);
		assert_non_null(strstr(out, "\"n\":3"));
		assert_int_equal(sm_stage_exit(&res), SM_EXIT_DATAERR);
		free(out);
	}
}

/* Statuses combine worst first: failure, then temporary, then bad data. */
static void exit_status_order(void **state)
{
	static const struct {
		const char *text;
		int exit;
	} rows[] = {
	    {ENV("1"), SM_EXIT_OK},
	    {"{\"v\":1,\"status\":75}\n", SM_EXIT_TEMPFAIL},
	    {"{\"v\":1,\"status\":75}\n{\"v\":1,\"status\":1}\n", SM_EXIT_FAILURE},
	    {"junk\n{\"v\":1,\"status\":75}\n", SM_EXIT_TEMPFAIL},
	    {"junk\n" ENV("2"), SM_EXIT_DATAERR},
	};

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		sm_stage_result res;
		char *out = NULL;
		int calls;

		run_text(rows[i].text, &out, &calls, &res);
		assert_int_equal(sm_stage_exit(&res), rows[i].exit);
		free(out);
	}
}

static void drop_writes_nothing(void **state)
{
	sm_stage_result res;
	char *out = NULL;
	int calls;

	(void)state;
	run_text("{\"v\":1,\"drop\":true}\n" ENV("2"), &out, &calls, &res);
	assert_int_equal(calls, 2);
	assert_null(strstr(out, "drop"));
	assert_non_null(strstr(out, "\"n\":2"));
	free(out);
}

/* Input that cannot be read (a directory) stops the loop: 65. */
static void unreadable_input(void **state)
{
	FILE *in = fopen(".", "r");
	sm_stage_result res;
	int calls = 0;

	(void)state;
	assert_non_null(in);
	sm_stage_run(in, ".", 0, stdout, mark, &calls, &res);
	fclose(in);
	assert_int_equal(calls, 0);
	assert_true(res.input_error);
	assert_int_equal(sm_stage_exit(&res), SM_EXIT_DATAERR);
}

/* A full output stops at the first envelope: 1. */
static void output_error_stops(void **state)
{
	const char *text = ENV("1") ENV("2");
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	FILE *out = fopen("/dev/full", "w");
	sm_stage_result res;
	int calls = 0;

	(void)state;
	assert_non_null(in);
	assert_non_null(out);
	sm_stage_run(in, "stdin", 0, out, mark, &calls, &res);
	fclose(in);
	fclose(out);
	assert_int_equal(calls, 1);
	assert_true(res.output_error);
	assert_int_equal(sm_stage_exit(&res), SM_EXIT_FAILURE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(passes_every_envelope_on), cmocka_unit_test(skips_bad_lines),
	    cmocka_unit_test(exit_status_order),        cmocka_unit_test(drop_writes_nothing),
	    cmocka_unit_test(unreadable_input),         cmocka_unit_test(output_error_stops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
