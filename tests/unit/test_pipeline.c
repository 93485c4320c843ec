/* test_pipeline.c - pipeline definitions: validation messages, the presets,
 * and the stored definitions. */
#include "testutil.h"
#include "sm/pipeline.h"

static const char *dir, *path;

static int setup(void **state)
{
	(void)state;
	dir = scratch_make("sm-pipeline");
	path = scratch_db();
	return 0;
}

static int teardown(void **state)
{
	return scratch_remove(state);
}

/* The problems of a definition text, joined by " | ". */
static char *problems_of(const char *text)
{
	static char buf[4096];
	json_t *def = json_loads(text, 0, NULL), *list, *p;
	size_t i;

	assert_non_null(def);
	list = sm_pipeline_validate(def);
	buf[0] = '\0';
	json_array_foreach(list, i, p)
	{
		size_t n = strlen(buf);
		snprintf(buf + n, sizeof buf - n, "%s%s", i ? " | " : "", json_string_value(p));
	}
	json_decref(list);
	json_decref(def);
	return buf;
}

static void valid_definitions_have_no_problems(void **state)
{
	(void)state;
	assert_string_equal(
	    problems_of("{\"version\":1,\"nodes\":[{\"id\":\"a\",\"type\":\"ingest\"}]}"), "");
	assert_string_equal(
	    problems_of(
	        "{\"version\":\"1\",\"defaults\":{\"max_retries\":0,\"timeout_seconds\":0.5},"
	        "\"nodes\":[{\"id\":\"a\",\"type\":\"context\",\"config\":{\"checker_names\":"
	        "[\"cpu\",\"memory\"],\"alerts\":false},\"next\":\"b\"},"
	        "{\"id\":\"b\",\"type\":\"transform\",\"config\":{\"source_node\":\"a\","
	        "\"extract\":\"alerts\",\"filter_priority\":\"critical\",\"mapping\":{\"x\":"
	        "\"a.b\"}},\"skip_if_condition\":\"a.has_errors\",\"skip_if_errors\":[\"a\"],"
	        "\"required\":false},"
	        "{\"id\":\"c\",\"type\":\"notify\",\"config\":{\"drivers\":[\"slack\"],"
	        "\"channel\":\"x\"}},{\"id\":\"d\",\"type\":\"intelligence\",\"config\":"
	        "{\"provider\":\"openai\"}}]}"),
	    "");
}

static void every_problem_is_reported_naming_its_node(void **state)
{
	(void)state;
	assert_string_equal(problems_of("{}"),
	                    "missing \"version\" | no nodes: \"nodes\" must be a "
	                    "non-empty list");
	assert_string_equal(problems_of("{\"version\":1,\"nodes\":[]}"),
	                    "no nodes: \"nodes\" must be a non-empty list");
	assert_string_equal(problems_of("[]"), "a definition must be a JSON object");
	assert_string_equal(
	    problems_of(
	        "{\"version\":1,\"defaults\":{\"max_retries\":-1,\"timeout_seconds\":\"x\"},"
	        "\"nodes\":[1,{\"type\":\"notify\"},{\"id\":\"a\"},{\"id\":\"a\",\"type\":"
	        "\"condition\"}]}"),
	    "\"defaults.max_retries\" must be a whole number from 0 to 100 | "
	    "\"defaults.timeout_seconds\" must be a number above 0 | node \"#1\": not an object | "
	    "node \"#2\": missing \"id\" | node \"a\": missing \"type\" | node \"a\": duplicate id "
	    "| "
	    "node \"a\": unknown type \"condition\" (available: ingest, context, intelligence, "
	    "notify, transform)");
	/* Config of the wrong type, per node type. */
	assert_string_equal(
	    problems_of(
	        "{\"version\":1,\"nodes\":[{\"id\":\"i\",\"type\":\"ingest\",\"config\":"
	        "{\"driver\":3}},{\"id\":\"c\",\"type\":\"context\",\"config\":"
	        "{\"checker_names\":[\"cpu\",\"nope\"],\"alerts\":1}},{\"id\":\"n\",\"type\":"
	        "\"notify\",\"config\":{\"channels\":\"x\",\"driver\":[]}},{\"id\":\"a\","
	        "\"type\":\"intelligence\",\"config\":{\"provider\":\"\"}},{\"id\":\"t\","
	        "\"type\":\"transform\",\"config\":{\"source_node\":\"zz\",\"mapping\":[]}}]}"),
	    "node \"i\": config \"driver\" must be a string | node \"c\": unknown checker \"nope\" "
	    "| "
	    "node \"c\": config \"alerts\" must be true or false | node \"n\": config \"channels\" "
	    "must be a list of strings | node \"n\": config \"driver\" must be a string | node "
	    "\"a\": config \"provider\" is empty | node \"t\": source_node \"zz\" names no node | "
	    "node \"t\": config \"mapping\" must be an object");
}

static void next_must_name_a_node_and_not_loop(void **state)
{
	(void)state;
	assert_string_equal(
	    problems_of("{\"version\":1,\"nodes\":[{\"id\":\"a\",\"type\":\"ingest\","
	                "\"next\":\"zz\"}]}"),
	    "node \"a\": next names no node: zz");
	assert_string_equal(
	    problems_of("{\"version\":1,\"nodes\":[{\"id\":\"a\",\"type\":\"ingest\","
	                "\"next\":\"a\"}]}"),
	    "node \"a\": \"next\" leads back to this node (a cycle)");
	/* A chain that ends is fine, whatever the list order. */
	assert_string_equal(
	    problems_of("{\"version\":1,\"nodes\":[{\"id\":\"a\",\"type\":\"ingest\","
	                "\"next\":\"c\"},{\"id\":\"b\",\"type\":\"notify\"},{\"id\":"
	                "\"c\",\"type\":\"notify\",\"next\":\"b\"}]}"),
	    "");
}

static void parse_separates_bad_json_from_bad_definitions(void **state)
{
	json_t *def, *problems;
	sm_error err = {0};
	const char *ok = "{\"version\":1,\"nodes\":[{\"id\":\"a\",\"type\":\"ingest\"}]}";

	(void)state;
	assert_int_equal(sm_pipeline_parse("{\"version\":", 11, &def, &problems, &err),
	                 SM_EXIT_DATAERR);
	assert_null(problems);
	assert_non_null(strstr(err.msg, "line 1"));
	assert_int_equal(sm_pipeline_parse("{\"a\":1,\"a\":2}", 13, &def, &problems, &err),
	                 SM_EXIT_DATAERR); /* duplicate keys are refused, not half-read */
	assert_int_equal(sm_pipeline_parse("{\"nodes\":[]}", 12, &def, &problems, &err),
	                 SM_EXIT_DATAERR);
	assert_int_equal(json_array_size(problems), 2);
	json_decref(problems);
	assert_int_equal(sm_pipeline_parse(ok, strlen(ok), &def, &problems, &err), SM_EXIT_OK);
	assert_non_null(def);
	json_decref(def);
}

static void presets_are_valid_and_shaped_as_documented(void **state)
{
	static const struct {
		const char *name, *flow;
	} want[] = {
	    {"local-monitor", "check -> notify"},
	    {"local-smart", "check -> analyze -> notify"},
	    {"direct", "ingest -> notify"},
	    {"health-checked", "ingest -> check -> notify"},
	    {"ai-analyzed", "ingest -> analyze -> notify"},
	    {"full", "ingest -> check -> analyze -> notify"},
	};
	char flow[256];

	(void)state;
	assert_int_equal(sm_pipeline_preset_count(), 6);
	for (size_t i = 0; i < 6; i++) {
		json_t *def = sm_pipeline_preset(want[i].name), *problems;
		assert_string_equal(sm_pipeline_preset_name(i), want[i].name);
		assert_non_null(def);
		problems = sm_pipeline_validate(def);
		assert_int_equal(json_array_size(problems), 0);
		sm_pipeline_flow(def, flow, sizeof flow);
		assert_string_equal(flow, want[i].flow);
		json_decref(problems);
		json_decref(def);
	}
	assert_null(sm_pipeline_preset("nope"));
	assert_null(sm_pipeline_preset_name(6));
}

static void stored_definitions(void **state)
{
	sm_store *store;
	sm_error err = {0};
	json_t *def = sm_pipeline_preset("direct"), *got, *list;
	bool builtin = false;

	(void)state;
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	json_object_set_new(def, "description", json_string("mine"));
	assert_int_equal(sm_pipeline_store(store, "mine", def, &err), SM_EXIT_OK);
	assert_int_equal(sm_pipeline_load(store, "mine", &got, &builtin, &err), SM_EXIT_OK);
	assert_false(builtin);
	assert_true(json_equal(got, def));
	json_decref(got);
	assert_int_equal(sm_pipeline_load(store, "full", &got, &builtin, &err), SM_EXIT_OK);
	assert_true(builtin);
	json_decref(got);
	assert_int_equal(sm_pipeline_load(store, "other", &got, &builtin, &err), SM_EXIT_USAGE);
	assert_null(got);
	assert_int_equal(sm_pipeline_store(store, "full", def, &err), SM_EXIT_USAGE);
	assert_int_equal(sm_pipeline_store(store, "bad name", def, &err), SM_EXIT_USAGE);
	assert_int_equal(sm_pipeline_store(store, "", def, &err), SM_EXIT_USAGE);
	assert_int_equal(sm_pipeline_list(store, &list, &err), SM_EXIT_OK);
	assert_int_equal(json_array_size(list), 7);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 6), "name")),
	                    "mine");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(list, 6), "description")), "mine");
	assert_true(json_is_false(json_object_get(json_array_get(list, 6), "builtin")));
	assert_true(json_is_true(json_object_get(json_array_get(list, 0), "builtin")));
	json_decref(list);
	assert_int_equal(sm_pipeline_remove(store, "full", &err), SM_EXIT_USAGE);
	assert_int_equal(sm_pipeline_remove(store, "mine", &err), SM_EXIT_OK);
	assert_int_equal(sm_pipeline_remove(store, "mine", &err), SM_EXIT_USAGE);
	json_decref(def);
	sm_store_close(store);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(valid_definitions_have_no_problems),
	    cmocka_unit_test(every_problem_is_reported_naming_its_node),
	    cmocka_unit_test(next_must_name_a_node_and_not_loop),
	    cmocka_unit_test(parse_separates_bad_json_from_bad_definitions),
	    cmocka_unit_test(presets_are_valid_and_shaped_as_documented),
	    cmocka_unit_test(stored_definitions),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
