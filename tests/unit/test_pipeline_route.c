/* test_pipeline_route.c - routing an envelope to a definition: the facts of
 * an envelope, every operator on every field (a table), validation of
 * "match" and "priority", and the order of stored definitions with the
 * default for no match. */
#include "testutil.h"
#include "sm/pipeline.h"
#include "sm/pipeline_route.h"

static const char *dir, *path;

static int setup(void **state)
{
	(void)state;
	dir = scratch_make("sm-route");
	path = scratch_db();
	return 0;
}

static int teardown(void **state)
{
	return scratch_remove(state);
}

/* Two alerts: one resolved, one firing; the incident is critical. */
static const char envelope[] =
    "{\"v\":1,\"trace_id\":\"0123456789abcdef0123456789abcdef\",\"source\":\"alertmanager\","
    "\"incident\":{\"id\":1,\"title\":\"x\",\"severity\":\"critical\"},"
    "\"alerts\":[{\"status\":\"resolved\",\"severity\":\"warning\",\"labels\":{\"team\":\"ops\","
    "\"instance\":\"web1:9100\",\"env\":\"prod\"}},{\"status\":\"firing\",\"severity\":"
    "\"critical\",\"labels\":{\"team\":\"db\",\"hostname\":\"web1\",\"zone\":\"a\"}}]}";

static void facts_of_an_envelope(void **state)
{
	json_t *env = json_loads(envelope, 0, NULL), *facts;

	(void)state;
	facts = sm_pipeline_route_facts(env);
	assert_string_equal(json_string_value(json_object_get(facts, "source")), "alertmanager");
	assert_string_equal(json_string_value(json_object_get(facts, "severity")), "critical");
	assert_string_equal(json_string_value(json_object_get(facts, "status")), "firing");
	assert_string_equal(json_string_value(json_object_get(facts, "instance")), "web1:9100");
	/* The first alert's label wins; the others' fill in. */
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(facts, "labels"), "team")), "ops");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(facts, "labels"), "zone")), "a");
	json_decref(facts);
	/* No incident: the worst alert's severity; only resolved alerts: resolved. */
	json_object_del(env, "incident");
	json_object_set_new(json_array_get(json_object_get(env, "alerts"), 1), "status",
	                    json_string("resolved"));
	facts = sm_pipeline_route_facts(env);
	assert_string_equal(json_string_value(json_object_get(facts, "severity")), "critical");
	assert_string_equal(json_string_value(json_object_get(facts, "status")), "resolved");
	json_decref(facts);
	json_decref(env);
	/* Nothing known: every fact empty. */
	env = json_object();
	facts = sm_pipeline_route_facts(env);
	assert_string_equal(json_string_value(json_object_get(facts, "source")), "");
	assert_string_equal(json_string_value(json_object_get(facts, "status")), "");
	assert_string_equal(json_string_value(json_object_get(facts, "instance")), "");
	json_decref(facts);
	json_decref(env);
}

static void every_operator_on_every_field(void **state)
{
	static const struct {
		const char *match;
		bool holds;
		const char *why; /* when it does not */
	} cases[] = {
	    {"[]", true, NULL},
	    {"[{\"field\":\"source\",\"value\":\"alertmanager\"}]", true, NULL}, /* op is */
	    {"[{\"field\":\"source\",\"op\":\"is\",\"value\":\"grafana\"}]", false,
	     "source is grafana (it is \"alertmanager\")"},
	    {"[{\"field\":\"severity\",\"op\":\"is-not\",\"value\":\"info\"}]", true, NULL},
	    {"[{\"field\":\"severity\",\"op\":\"is-not\",\"value\":\"critical\"}]", false,
	     "severity is-not critical (it is \"critical\")"},
	    {"[{\"field\":\"status\",\"op\":\"in\",\"value\":[\"firing\",\"resolved\"]}]", true,
	     NULL},
	    {"[{\"field\":\"status\",\"op\":\"in\",\"value\":[\"resolved\"]}]", false,
	     "status in [resolved] (it is \"firing\")"},
	    {"[{\"field\":\"instance\",\"op\":\"not-in\",\"value\":[\"db1\",\"db2\"]}]", true,
	     NULL},
	    {"[{\"field\":\"instance\",\"op\":\"not-in\",\"value\":[\"web1:9100\"]}]", false,
	     "instance not-in [web1:9100] (it is \"web1:9100\")"},
	    {"[{\"field\":\"label:team\",\"value\":\"ops\"}]", true, NULL},
	    {"[{\"field\":\"label:missing\",\"op\":\"is-not\",\"value\":\"x\"}]", true, NULL},
	    {"[{\"field\":\"label:missing\",\"value\":\"x\"}]", false,
	     "label:missing is x (it is \"\")"},
	    /* All conditions must hold: the first that does not is named. */
	    {"[{\"field\":\"source\",\"value\":\"alertmanager\"},{\"field\":\"label:env\","
	     "\"op\":\"in\",\"value\":[\"dev\",\"test\"]}]",
	     false, "label:env in [dev, test] (it is \"prod\")"},
	    /* Fail closed: what is not a valid condition never holds. */
	    {"[{\"field\":\"source\",\"op\":\"like\",\"value\":\"a\"}]", false,
	     "condition #1 is not valid"},
	    {"[{\"field\":\"status\",\"op\":\"in\",\"value\":\"firing\"}]", false,
	     "condition #1 is not valid"},
	    {"[{\"field\":\"colour\",\"value\":\"red\"}]", false, "condition #1 is not valid"},
	    {"[42]", false, "condition #1 is not valid"},
	    {"{}", false, ""},
	};
	json_t *env = json_loads(envelope, 0, NULL), *facts = sm_pipeline_route_facts(env);

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *match = json_loads(cases[i].match, 0, NULL);
		char why[300];
		bool got = sm_pipeline_route_match(match, facts, why, sizeof why);
		if (got != cases[i].holds)
			fail_msg("case %zu (%s): expected %d", i, cases[i].match, cases[i].holds);
		if (!got && strcmp(why, cases[i].why) != 0)
			fail_msg("case %zu: why \"%s\", expected \"%s\"", i, why, cases[i].why);
		json_decref(match);
	}
	json_decref(facts);
	json_decref(env);
}

/* The problems of a definition text, joined by " | ". */
static const char *problems_of(const char *text)
{
	static char buf[2048];
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

#define NODES "\"version\":\"1\",\"nodes\":[{\"id\":\"n\",\"type\":\"notify\"}]"

static void match_and_priority_are_validated(void **state)
{
	(void)state;
	assert_string_equal(problems_of("{" NODES ",\"match\":[],\"priority\":5}"), "");
	assert_string_equal(problems_of("{" NODES
	                                ",\"match\":[{\"field\":\"label:x\",\"op\":\"not-in\","
	                                "\"value\":[\"a\"]}]}"),
	                    "");
	assert_string_equal(problems_of("{" NODES ",\"match\":{}}"),
	                    "\"match\" must be a list of conditions");
	assert_string_equal(
	    problems_of("{" NODES ",\"match\":[1,{\"field\":\"label:\",\"value\":\"a\"},"
	                "{\"field\":\"source\",\"op\":\"matches\",\"value\":\"a\"},"
	                "{\"field\":\"source\",\"op\":\"in\",\"value\":[]},"
	                "{\"field\":\"source\",\"value\":[\"a\"]}]}"),
	    "match #1: not an object {\"field\", \"op\", \"value\"} | "
	    "match #2: \"field\" must be source, severity, status, instance or label:KEY | "
	    "match #3: \"op\" must be is, is-not, in or not-in | "
	    "match #4: \"value\" must be a non-empty list of strings for in and not-in | "
	    "match #5: \"value\" must be a string for is and is-not");
	assert_string_equal(problems_of("{" NODES ",\"match\":[],\"priority\":\"high\"}"),
	                    "\"priority\" must be a whole number from -1000000 to 1000000");
	assert_string_equal(problems_of("{" NODES ",\"priority\":1}"),
	                    "\"priority\" without \"match\": it would never be used (add "
	                    "\"match\": [] to match everything)");
}

static void store_def(sm_store *store, const char *name, const char *extra)
{
	char text[1024];
	json_t *def;
	sm_error err;

	snprintf(text, sizeof text, "{" NODES "%s}", extra);
	def = json_loads(text, 0, NULL);
	assert_non_null(def);
	assert_int_equal(sm_pipeline_store(store, name, def, &err), SM_EXIT_OK);
	json_decref(def);
}

static const char *routed(sm_store *store, const json_t *env, const char *forced, const char **by)
{
	static char name[80], how[16];
	json_t *d;
	sm_error err;

	assert_int_equal(sm_pipeline_route(store, env, forced, &d, &err), SM_EXIT_OK);
	snprintf(name, sizeof name, "%s", json_string_value(json_object_get(d, "definition")));
	snprintf(how, sizeof how, "%s", json_string_value(json_object_get(d, "by")));
	json_decref(d);
	*by = how;
	return name;
}

static void first_match_by_priority_then_default(void **state)
{
	json_t *env = json_loads(envelope, 0, NULL);
	sm_store *store;
	sm_error err;
	const char *by;

	(void)state;
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	unsetenv("SM_DEFAULT_DEFINITION");
	/* Nothing stored: the default. */
	assert_string_equal(routed(store, env, NULL, &by), "ai-analyzed");
	assert_string_equal(by, "default");
	setenv("SM_DEFAULT_DEFINITION", "direct", 1);
	assert_string_equal(routed(store, env, NULL, &by), "direct");
	/* A definition without match is never routed to. */
	store_def(store, "plain", "");
	/* Lower priority first; the same priority by name; no priority is 100. */
	store_def(store, "zz-critical",
	          ",\"priority\":10,\"match\":[{\"field\":\"severity\",\"value\":\"critical\"}]");
	store_def(store, "aa-critical",
	          ",\"priority\":10,\"match\":[{\"field\":\"severity\",\"value\":\"critical\"}]");
	store_def(store, "catch-all", ",\"match\":[]");
	store_def(store, "db-team",
	          ",\"priority\":5,\"match\":[{\"field\":\"label:team\",\"value\":\"db\"}]");
	assert_string_equal(routed(store, env, NULL, &by), "aa-critical");
	assert_string_equal(by, "match");
	{
		json_t *d;
		assert_int_equal(sm_pipeline_route(store, env, NULL, &d, &err), SM_EXIT_OK);
		/* db-team was tried first and said why not. */
		assert_string_equal(
		    json_string_value(json_object_get(
		        json_array_get(json_object_get(d, "skipped"), 0), "definition")),
		    "db-team");
		assert_int_equal(json_integer_value(json_object_get(d, "priority")), 10);
		assert_string_equal(json_string_value(json_object_get(d, "reason")),
		                    "matched severity is critical");
		json_decref(d);
	}
	json_object_set_new(json_object_get(env, "incident"), "severity", json_string("info"));
	json_array_clear(json_object_get(env, "alerts"));
	assert_string_equal(routed(store, env, NULL, &by), "catch-all");
	/* --definition wins over everything. */
	assert_string_equal(routed(store, env, "full", &by), "full");
	assert_string_equal(by, "forced");
	assert_int_equal(sm_pipeline_remove(store, "catch-all", &err), SM_EXIT_OK);
	assert_string_equal(routed(store, env, NULL, &by), "direct");
	assert_string_equal(by, "default");
	unsetenv("SM_DEFAULT_DEFINITION");
	sm_store_close(store);
	json_decref(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(facts_of_an_envelope),
	    cmocka_unit_test(every_operator_on_every_field),
	    cmocka_unit_test(match_and_priority_are_validated),
	    cmocka_unit_test(first_match_by_priority_then_default),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
