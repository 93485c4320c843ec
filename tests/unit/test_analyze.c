/* test_analyze.c - the ANALYZE stage's library: stored providers (keys
 * checked, masked, one active), the envelope's analysis section and stage
 * record, the analysis_runs rows, and the fallback to the local rules when
 * an AI provider fails (here: a refused connection on 127.0.0.1). */
#include "testutil.h"
#include "sm/analyze.h"
#include "sm/log.h"

#define KEY "sk-test-0123456789abcdefghij"

static sm_store *store;

static int open_store(void **state)
{
	sm_error err;

	(void)state;
	scratch_make("sm-analyze");
	if (sm_store_open(at("sm.db"), &store, &err) < 0)
		return -1;
	unsetenv("OPENAI_API_KEY");
	use_host("rec-mem"); /* 85 % of memory used: one memory recommendation */
	return 0;
}

static int close_store(void **state)
{
	sm_store_close(store);
	store = NULL;
	return scratch_remove(state);
}

static int exec_sql(const char *sql)
{
	sm_error err;

	return sm_store_exec(store, sql, &err);
}

/* The first column of the first row of sql as text ("" for NULL). */
static const char *query(const char *sql)
{
	static char out[8192];
	sm_error err;
	sqlite3_stmt *st = sm_store_prepare(store, sql, &err);

	assert_non_null(st);
	out[0] = '\0';
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, sizeof out, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return out;
}

static void add(const char *name, const char *provider, char **pairs, int n)
{
	json_t *config;
	sm_error err = {0};

	if (sm_analyze_config_parse(provider, pairs, n, &config, &err) != 0)
		fail_msg("%s", err.msg);
	if (sm_analyze_provider_add(store, name, provider, config, NULL, &err) != 0)
		fail_msg("%s", err.msg);
	json_decref(config);
}

static void assert_config_error(const char *provider, char **pairs, int n, const char *error)
{
	json_t *config = (json_t *)1;
	sm_error err = {0};

	assert_int_equal(sm_analyze_config_parse(provider, pairs, n, &config, &err), SM_EXIT_USAGE);
	assert_null(config);
	assert_string_equal(err.msg, error);
	assert_null(strstr(err.msg, "s3cr3t"));
}

static void test_config_keys(void **state)
{
	char *unknown[] = {"api_key=s3cr3t", "colour=blue"};
	char *bare[] = {"model"};
	char *tokens[] = {"max_tokens=0"};
	char *url[] = {"base_url=ftp://s3cr3t@host/"};
	char *query_url[] = {"base_url=http://h/v1?key=s3cr3t"};
	char *newline[] = {"api_key=s3cr3t\nX-Evil: 1"};
	char *local_ai_key[] = {"model=x"};
	char *gemini_model[] = {"model=../x"};

	(void)state;
	assert_config_error("openai", unknown, 2,
	                    "unknown key 'colour' for openai (keys: api_key, model, base_url, "
	                    "max_tokens, timeout_s)");
	assert_config_error("nope", NULL, 0,
	                    "unknown provider 'nope' (available: local, openai, claude, gemini, "
	                    "copilot, grok, ollama, mistral)");
	assert_config_error("openai", bare, 1, "model: expected KEY=VALUE");
	assert_config_error("openai", tokens, 1,
	                    "max_tokens: must be a whole number from 1 to 1000000");
	assert_config_error("openai", url, 1, "base_url: URL scheme must be http:// or https://");
	assert_config_error("openai", query_url, 1,
	                    "base_url: no query or fragment (the API path is appended)");
	assert_config_error("openai", newline, 1,
	                    "api_key: must be one line of printable text (at most 900 bytes)");
	assert_config_error("local", local_ai_key, 1,
	                    "unknown key 'model' for local (keys: top_n_processes, "
	                    "large_file_threshold_mb, old_file_days)");
	assert_config_error("gemini", gemini_model, 1,
	                    "model: letters, digits, '.', '_' and '-' only for gemini");
	{
		char *missing[] = {"api_key=@/nonexistent/key"};
		json_t *config;
		sm_error err = {0};
		assert_int_equal(sm_analyze_config_parse("openai", missing, 1, &config, &err),
		                 SM_EXIT_USAGE);
		assert_string_equal(err.msg,
		                    "api_key: /nonexistent/key: No such file or directory");
	}
}

static void test_config_from_file(void **state)
{
	char arg[4200], *pairs[] = {arg, "max_tokens=50", "timeout_s=2.5"};
	json_t *config, *masked;
	sm_error err = {0};
	FILE *f = fopen(at("key"), "w");

	(void)state;
	assert_non_null(f);
	fputs(KEY "\n", f);
	fclose(f);
	snprintf(arg, sizeof arg, "api_key=@%s", at("key"));
	assert_int_equal(sm_analyze_config_parse("openai", pairs, 3, &config, &err), 0);
	assert_string_equal(json_string_value(json_object_get(config, "api_key")), KEY);
	assert_int_equal(json_integer_value(json_object_get(config, "max_tokens")), 50);
	masked = sm_analyze_mask(config);
	assert_string_equal(json_string_value(json_object_get(masked, "api_key")), "********");
	assert_int_equal(json_integer_value(json_object_get(masked, "max_tokens")), 50);
	json_decref(masked);
	json_decref(config);
}

static void test_provider_rows(void **state)
{
	char *o1[] = {("api_key=" KEY), "model=gpt-4o"};
	char *o2[] = {"base_url=http://127.0.0.1:11434/"};
	json_t *rows, *row;
	sm_error err = {0};
	bool replaced = false;
	char *dump;

	(void)state;
	add("work", "openai", o1, 2);
	add("home", "ollama", o2, 1);
	assert_string_equal(query("SELECT count(*) FROM intelligence_providers WHERE is_active"),
	                    "0");
	assert_int_equal(sm_analyze_provider_activate(store, "work", &err), 0);
	assert_int_equal(sm_analyze_provider_activate(store, "home", &err), 0);
	/* One active at a time. */
	assert_string_equal(query("SELECT group_concat(name) FROM intelligence_providers WHERE "
	                          "is_active"),
	                    "home");
	assert_int_equal(sm_analyze_provider_list(store, &rows, &err), 0);
	dump = json_dumps(rows, SM_JSON_FLAGS);
	assert_string_equal(
	    dump,
	    "[{\"name\":\"home\",\"provider\":\"ollama\",\"active\":true,\"model\":\"llama3.1\","
	    "\"base_url\":\"http://127.0.0.1:11434\",\"config\":{\"base_url\":"
	    "\"http://127.0.0.1:11434/\"}},{\"name\":\"work\",\"provider\":\"openai\","
	    "\"active\":false,\"model\":\"gpt-4o\",\"base_url\":\"https://api.openai.com/v1\","
	    "\"config\":{\"api_key\":\"********\",\"model\":\"gpt-4o\"}}]");
	free(dump);
	json_decref(rows);
	/* Adding again replaces the config and keeps the row. */
	{
		json_t *config = json_pack("{s:s}", "model", "gpt-4.1");
		assert_int_equal(
		    sm_analyze_provider_add(store, "home", "openai", config, &replaced, &err), 0);
		json_decref(config);
	}
	assert_true(replaced);
	assert_int_equal(sm_analyze_provider_add(store, "third", "local", NULL, &replaced, &err),
	                 0);
	assert_false(replaced);
	assert_int_equal(sm_analyze_provider_rm(store, "third", &err), 0);
	assert_int_equal(sm_analyze_provider_show(store, "home", &row, &err), 0);
	assert_string_equal(json_string_value(json_object_get(row, "provider")), "openai");
	assert_true(json_is_true(json_object_get(row, "active")));
	json_decref(row);
	/* Unknown names. */
	assert_int_equal(sm_analyze_provider_show(store, "nope", &row, &err), SM_EXIT_USAGE);
	assert_string_equal(err.msg, "unknown provider 'nope' (see: sm-analyze provider list)");
	assert_int_equal(sm_analyze_provider_activate(store, "nope", &err), SM_EXIT_USAGE);
	assert_string_equal(query("SELECT group_concat(name) FROM intelligence_providers WHERE "
	                          "is_active"),
	                    "home"); /* a failed activate changes nothing */
	assert_int_equal(sm_analyze_provider_rm(store, "nope", &err), SM_EXIT_USAGE);
	assert_int_equal(sm_analyze_provider_add(store, "-x", "openai", NULL, NULL, &err),
	                 SM_EXIT_USAGE);
	/* "local" deactivates every row. */
	assert_int_equal(sm_analyze_provider_activate(store, "local", &err), 0);
	assert_string_equal(query("SELECT count(*) FROM intelligence_providers WHERE is_active"),
	                    "0");
	assert_int_equal(sm_analyze_provider_rm(store, "home", &err), 0);
	assert_int_equal(sm_analyze_provider_rm(store, "work", &err), 0);
	assert_string_equal(query("SELECT count(*) FROM intelligence_providers"), "0");
}

static json_t *envelope(void)
{
	json_t *env = json_loads("{\"v\":1,\"trace_id\":\"0123456789abcdef0123456789abcdef\","
	                         "\"incident\":{\"id\":42,\"title\":\"HighMemoryUsage on web-1\","
	                         "\"status\":\"open\",\"severity\":\"critical\"},"
	                         "\"alerts\":[{\"name\":\"HighMemoryUsage\",\"status\":\"firing\","
	                         "\"labels\":{\"password\":\"hunter2\"}}],"
	                         "\"extra\":{\"kept\":true}}",
	                         0, NULL);

	assert_non_null(env);
	return env;
}

static json_t *analysis(json_t *env)
{
	json_t *a = json_object_get(env, "analysis");
	static const char *const keys[] = {"provider", "model",           "status", "fallback",
	                                   "summary",  "recommendations", "error"};

	assert_non_null(a);
	assert_keys(a, keys, 7);
	return a;
}

static const char *s(json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));

	return v ? v : "(null)";
}

static void test_local_envelope(void **state)
{
	sm_analyzer *a;
	json_t *env = envelope(), *an, *stage;
	sm_error err = {0};

	(void)state;
	assert_int_equal(sm_analyzer_open(store, NULL, &a, &err), 0);
	assert_string_equal(sm_analyzer_provider(a), "local");
	assert_int_equal(sm_analyzer_envelope(a, env, &err), 0);
	an = analysis(env);
	assert_string_equal(s(an, "provider"), "local");
	assert_true(json_is_null(json_object_get(an, "model")));
	assert_string_equal(s(an, "status"), "ok");
	assert_true(json_is_false(json_object_get(an, "fallback")));
	assert_string_equal(s(an, "summary"), "High Memory Usage Detected");
	assert_int_equal(json_array_size(json_object_get(an, "recommendations")), 1);
	assert_true(json_is_null(json_object_get(an, "error")));
	stage = json_array_get(json_object_get(env, "stages"), 0);
	assert_string_equal(s(stage, "stage"), "analyze");
	assert_string_equal(s(stage, "status"), "ok");
	/* Unknown members pass through. */
	assert_true(json_is_true(json_object_get(json_object_get(env, "extra"), "kept")));
	/* The row: the incident is not in this store, so it is not linked. */
	assert_string_equal(query("SELECT provider || '|' || model || '|' || status || '|' || "
	                          "fallback || '|' || ifnull(incident_id, 'null') || '|' || "
	                          "trace_id || '|' || error FROM analysis_runs"),
	                    "local||ok|0|null|0123456789abcdef0123456789abcdef|");
	assert_string_equal(query("SELECT json_extract(recommendations, '$[0].title') FROM "
	                          "analysis_runs"),
	                    "High Memory Usage Detected");
	sm_analyzer_free(a);
	json_decref(env);
}

/* The general scan on a host without /proc/mounts: an ok analysis whose
 * error and stage record say the disk part was left out. */
static void test_local_envelope_without_mounts(void **state)
{
	sm_analyzer *a;
	json_t *env = json_loads("{\"v\":1,\"trace_id\":\"0123456789abcdef0123456789abcdef\"}", 0,
	                         NULL),
	       *an, *stage;
	sm_error err = {0};

	(void)state;
	use_host("rec-mem-75");
	assert_int_equal(sm_analyzer_open(store, NULL, &a, &err), 0);
	assert_int_equal(sm_analyzer_envelope(a, env, &err), 0);
	an = analysis(env);
	assert_string_equal(s(an, "status"), "ok");
	assert_int_equal(json_array_size(json_object_get(an, "recommendations")), 1);
	assert_non_null(strstr(s(an, "error"), "general scan: disk part left out: "));
	stage = json_array_get(json_object_get(env, "stages"), 0);
	assert_string_equal(s(stage, "status"), "ok");
	assert_string_equal(s(stage, "error"), s(an, "error"));
	sm_analyzer_free(a);
	json_decref(env);
	use_host("rec-mem");
}

static void test_incident_linked(void **state)
{
	sm_analyzer *a;
	json_t *env = envelope();
	sm_error err = {0};

	(void)state;
	assert_int_equal(exec_sql("DELETE FROM analysis_runs;"
	                          "INSERT INTO incidents (id, title, severity, group_key, "
	                          "created_at, updated_at) VALUES (42, 't', 'critical', 'k', "
	                          "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"),
	                 0);
	assert_int_equal(sm_analyzer_open(store, "local", &a, &err), 0);
	assert_int_equal(sm_analyzer_envelope(a, env, &err), 0);
	assert_string_equal(query("SELECT incident_id FROM analysis_runs"), "42");
	sm_analyzer_free(a);
	json_decref(env);
}

/* An openai row whose server refuses connections. */
static void add_dead_openai(void)
{
	char *pairs[] = {("api_key=" KEY), "base_url=http://127.0.0.1:1/v1", "timeout_s=2"};

	add("dead", "openai", pairs, 3);
}

static void test_fallback(void **state)
{
	sm_analyzer *a;
	json_t *env = envelope(), *an, *stage;
	sm_error err = {0};
	char *dump;

	(void)state;
	assert_int_equal(exec_sql("DELETE FROM analysis_runs"), 0);
	add_dead_openai();
	assert_int_equal(sm_analyzer_open(store, "dead", &a, &err), 0);
	assert_string_equal(sm_analyzer_name(a), "dead");
	assert_int_equal(sm_analyzer_envelope(a, env, &err), 0);
	an = analysis(env);
	assert_string_equal(s(an, "provider"), "openai");
	assert_string_equal(s(an, "model"), "gpt-4o-mini");
	assert_string_equal(s(an, "status"), "fallback");
	assert_true(json_is_true(json_object_get(an, "fallback")));
	assert_string_equal(s(an, "summary"), "AI analysis unavailable");
	/* The local rules answered. */
	assert_string_equal(s(json_array_get(json_object_get(an, "recommendations"), 0), "title"),
	                    "High Memory Usage Detected");
	assert_true(strncmp(s(an, "error"), "openai: ", 8) == 0);
	assert_non_null(strstr(s(an, "error"), "127.0.0.1"));
	stage = json_array_get(json_object_get(env, "stages"), 0);
	assert_string_equal(s(stage, "status"), "ok");
	assert_string_equal(s(stage, "error"), s(an, "error"));
	assert_string_equal(query("SELECT provider || '|' || model || '|' || status || '|' || "
	                          "fallback FROM analysis_runs"),
	                    "openai|gpt-4o-mini|fallback|1");
	assert_string_equal(query("SELECT error FROM analysis_runs"), s(an, "error"));
	/* The key is nowhere. */
	dump = json_dumps(env, 0);
	assert_null(strstr(dump, KEY));
	free(dump);
	assert_string_equal(query("SELECT count(*) FROM analysis_runs WHERE error LIKE '%sk-test%' "
	                          "OR recommendations LIKE '%sk-test%'"),
	                    "0");
	sm_analyzer_free(a);
	json_decref(env);
}

static void test_fallback_disabled(void **state)
{
	sm_analyzer *a;
	json_t *env = envelope(), *an;
	sm_error err = {0};

	(void)state;
	assert_int_equal(exec_sql("DELETE FROM analysis_runs"), 0);
	add_dead_openai();
	assert_int_equal(sm_analyzer_open(store, "dead", &a, &err), 0);
	sm_analyzer_set_fallback(a, false);
	assert_int_equal(sm_analyzer_envelope(a, env, &err), SM_EXIT_FAILURE);
	an = analysis(env);
	assert_string_equal(s(an, "status"), "failed");
	assert_true(json_is_false(json_object_get(an, "fallback")));
	assert_int_equal(json_array_size(json_object_get(an, "recommendations")), 0);
	assert_string_equal(s(json_array_get(json_object_get(env, "stages"), 0), "status"),
	                    "failed");
	assert_string_equal(query("SELECT status || '|' || fallback FROM analysis_runs"),
	                    "failed|0");
	sm_analyzer_free(a);
	json_decref(env);
}

static void test_nothing_to_ask(void **state)
{
	sm_analyzer *a;
	json_t *env =
	    json_loads("{\"v\":1,\"checks\":[{\"checker\":\"cpu\",\"status\":\"ok\"}]}", 0, NULL);
	sm_error err = {0};

	(void)state;
	add_dead_openai();
	assert_int_equal(sm_analyzer_open(store, "dead", &a, &err), 0);
	/* No incident, alert or failing check: no request; the local rules. */
	assert_int_equal(sm_analyzer_envelope(a, env, &err), 0);
	assert_string_equal(s(analysis(env), "provider"), "local");
	assert_string_equal(s(analysis(env), "status"), "ok");
	sm_analyzer_free(a);
	json_decref(env);
}

static void test_unknown_provider(void **state)
{
	sm_analyzer *a = (sm_analyzer *)1;
	sm_error err = {0};

	(void)state;
	assert_int_equal(sm_analyzer_open(store, "nope", &a, &err), SM_EXIT_USAGE);
	assert_null(a);
	/* A stored row that names no known provider is refused too. */
	assert_int_equal(exec_sql("INSERT INTO intelligence_providers (name, provider, created_at, "
	                          "updated_at) VALUES ('odd', 'gpt5000', 'x', 'x')"),
	                 0);
	assert_int_equal(sm_analyzer_open(store, "odd", &a, &err), SM_EXIT_USAGE);
	assert_string_equal(err.msg, "provider 'odd' names an unknown provider 'gpt5000'");
	assert_int_equal(exec_sql("DELETE FROM intelligence_providers WHERE name = 'odd'"), 0);
}

static void test_local_row_settings(void **state)
{
	char *pairs[] = {"top_n_processes=2"};
	sm_analyzer *a;
	json_t *env = envelope(), *top;
	sm_error err = {0};

	(void)state;
	add("rules", "local", pairs, 1);
	assert_int_equal(sm_analyze_provider_activate(store, "rules", &err), 0);
	assert_int_equal(sm_analyzer_open(store, NULL, &a, &err), 0);
	assert_string_equal(sm_analyzer_name(a), "rules");
	assert_int_equal(sm_analyzer_envelope(a, env, &err), 0);
	top = json_object_get(
	    json_object_get(json_array_get(json_object_get(analysis(env), "recommendations"), 0),
	                    "details"),
	    "top_processes");
	assert_int_equal(json_array_size(top), 2);
	sm_analyzer_free(a);
	json_decref(env);
	assert_int_equal(sm_analyze_provider_rm(store, "rules", &err), 0);
}

static void test_standalone(void **state)
{
	json_t *recs;
	sm_error err = {0}, note;
	sm_recommend_opts o;

	(void)state;
	sm_recommend_opts_init(&o);
	assert_int_equal(exec_sql("DELETE FROM analysis_runs"), 0);
	assert_int_equal(sm_analyze_local(store, SM_ANALYZE_MEMORY, NULL, &o, &recs, &note, &err),
	                 0);
	assert_int_equal(json_array_size(recs), 1);
	assert_string_equal(note.msg, "");
	json_decref(recs);
	/* A path that is no directory: a failed run, recorded. */
	assert_int_equal(
	    sm_analyze_local(store, SM_ANALYZE_DISK, "/no/such/dir", &o, &recs, &note, &err),
	    SM_EXIT_FAILURE);
	assert_string_equal(err.msg, "/no/such/dir: No such file or directory");
	json_decref(recs);
	assert_string_equal(
	    query("SELECT group_concat(status || ':' || length(trace_id), ' ') FROM "
	          "analysis_runs"),
	    "ok:32 failed:32");
	assert_string_equal(query("SELECT error FROM analysis_runs WHERE status = 'failed'"),
	                    "/no/such/dir: No such file or directory");
	/* The general scan without /proc/mounts: ok, the disk part left out,
	 * and the row says so. */
	use_host("rec-mem-75");
	assert_int_equal(sm_analyze_local(store, SM_ANALYZE_GENERAL, NULL, &o, &recs, &note, &err),
	                 0);
	assert_int_equal(json_array_size(recs), 1);
	assert_non_null(strstr(note.msg, "general scan: disk part left out: "));
	assert_non_null(strstr(note.msg, "/proc/mounts: No such file or directory"));
	json_decref(recs);
	assert_string_equal(
	    query("SELECT status || ' ' || substr(error, 1, 32) FROM analysis_runs ORDER BY id DESC"
	          " LIMIT 1"),
	    "ok general scan: disk part left out");
	use_host("rec-mem");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_keys),
	    cmocka_unit_test(test_config_from_file),
	    cmocka_unit_test(test_provider_rows),
	    cmocka_unit_test(test_local_envelope),
	    cmocka_unit_test(test_local_envelope_without_mounts),
	    cmocka_unit_test(test_incident_linked),
	    cmocka_unit_test(test_fallback),
	    cmocka_unit_test(test_fallback_disabled),
	    cmocka_unit_test(test_nothing_to_ask),
	    cmocka_unit_test(test_unknown_provider),
	    cmocka_unit_test(test_local_row_settings),
	    cmocka_unit_test(test_standalone),
	};

	sm_log_init("test_analyze"); /* SM_LOG_LEVEL=error (ctest) hides the fallback warnings */
	return cmocka_run_group_tests(tests, open_store, close_store);
}
