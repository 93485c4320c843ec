/* test_pipeline_run.c - running definitions through libsm with stand-in
 * stage programs on PATH: how an attempt's end is judged (success, for
 * good, may pass), retries and their rows, resume, starting at a node, the
 * transform node, and the prometheus textfile. */
#include <time.h>

#include "testutil.h"
#include "pipeline/nodes.h"
#include "sm/pipeline.h"
#include "sm/pipeline_metrics.h"
#include "sm/pipeline_run.h"

static const char *dir, *path;

static int setup(void **state)
{
	char bin[128], newpath[8192];

	(void)state;
	dir = scratch_make("sm-pipeline-run");
	path = scratch_db();
	snprintf(bin, sizeof bin, "%s/bin", dir);
	if (mkdir(bin, 0700) < 0)
		return -1;
	snprintf(newpath, sizeof newpath, "%s:/usr/bin:/bin", bin);
	setenv("PATH", newpath, 1);
	setenv("ORCHESTRATION_BACKOFF_FACTOR", "0.001", 1);
	setenv("ORCHESTRATION_MAX_RETRIES_PER_STAGE", "2", 1);
	return 0;
}

static int teardown(void **state)
{
	return scratch_remove(state);
}

/* A stand-in for program: a shell script. */
static void stage_program(const char *program, const char *body)
{
	char file[256];
	FILE *f;

	snprintf(file, sizeof file, "%s/bin/%s", dir, program);
	f = fopen(file, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	assert_int_equal(chmod(file, 0700), 0);
}

static json_t *envelopes(const char *text)
{
	json_t *v = json_loads(text, 0, NULL);
	assert_non_null(v);
	return v;
}

/* One attempt of a node of type, run over input. */
static void attempt(const node_type *t, const char *config, const char *input, bool entry,
                    double timeout_s, node_outcome *out)
{
	json_t *cfg = envelopes(config), *in = envelopes(input), *outputs = json_object();
	node_ctx ctx = {.node_id = "n",
	                .config = cfg,
	                .timeout_s = timeout_s,
	                .entry = entry,
	                .outputs = outputs};

	node_run(t, &ctx, in, out);
	json_decref(cfg);
	json_decref(in);
	json_decref(outputs);
}

static void how_an_attempt_ends(void **state)
{
	node_outcome out;

	(void)state;
	/* The envelopes go in on stdin and come back one per line. */
	stage_program("sm-analyze", "[ \"$1 $2\" = '--provider local' ] || exit 9; cat");
	attempt(&node_intelligence, "{}", "[{\"v\":1,\"n\":1},{\"v\":1,\"n\":2}]", false, 10, &out);
	assert_string_equal(out.error, "");
	assert_int_equal(json_array_size(out.output), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(out.output, 1), "n")),
	                 2);
	json_decref(out.output);
	/* 75 may pass; 1 and 65 do not; the last line of stderr says why. */
	stage_program("sm-analyze", "echo 'sm-analyze: busy' >&2; exit 75");
	attempt(&node_intelligence, "{}", "[]", false, 10, &out);
	assert_true(out.temporary);
	assert_string_equal(out.error, "sm-analyze exited 75: sm-analyze: busy");
	json_decref(out.output);
	stage_program("sm-analyze", "exit 65");
	attempt(&node_intelligence, "{}", "[]", false, 10, &out);
	assert_false(out.temporary);
	assert_int_equal(out.exit_status, 65);
	json_decref(out.output);
	/* A crash and a timeout may pass. */
	stage_program("sm-analyze", "kill -KILL $$");
	attempt(&node_intelligence, "{}", "[]", false, 10, &out);
	assert_true(out.temporary);
	assert_string_equal(out.error, "sm-analyze was killed by signal 9 (Killed)");
	json_decref(out.output);
	stage_program("sm-analyze", "exec sleep 20");
	attempt(&node_intelligence, "{}", "[]", false, 0.2, &out);
	assert_true(out.temporary);
	assert_string_equal(out.error, "sm-analyze timed out after 0.2s");
	json_decref(out.output);
	/* Output that is not envelopes fails for good. */
	stage_program("sm-analyze", "echo '[1]'");
	attempt(&node_intelligence, "{}", "[]", false, 10, &out);
	assert_false(out.temporary);
	assert_string_equal(out.error, "sm-analyze: output line 1 is not a JSON object");
	json_decref(out.output);
	/* sm-check's statuses 1-3 are results, not failures; its arguments
	 * depend on whether it starts the stream. */
	stage_program("sm-check", "echo \"{\\\"args\\\":\\\"$*\\\"}\"; exit 2");
	attempt(&node_context, "{\"checker_names\":[\"cpu\",\"disk\"]}", "[]", true, 10, &out);
	assert_string_equal(out.error, "");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(out.output, 0), "args")),
	    "--alerts cpu disk");
	json_decref(out.output);
	attempt(&node_context, "{\"alerts\":false}", "[{\"v\":1}]", false, 10, &out);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(out.output, 0), "args")), "-");
	json_decref(out.output);
	stage_program("sm-check", "exit 64");
	attempt(&node_context, "{}", "[]", true, 10, &out);
	assert_false(out.temporary);
	assert_string_equal(out.error, "sm-check exited 64");
	json_decref(out.output);
}

static void transform_filters_extracts_and_maps(void **state)
{
	node_outcome out;
	const char *stream =
	    "[{\"v\":1,\"alerts\":[{\"name\":\"a\",\"severity\":\"Critical\"},"
	    "{\"name\":\"b\",\"severity\":\"warning\"}],\"analysis\":{"
	    "\"recommendations\":[{\"priority\":\"low\"},{\"priority\":\"critical\"}]}},"
	    "{\"v\":1,\"alerts\":[{\"name\":\"c\",\"severity\":\"info\"}]}]";

	(void)state;
	attempt(&node_transform, "{\"source_node\":\"\",\"filter_priority\":\"CRITICAL\"}", stream,
	        false, 10, &out);
	assert_string_equal(out.error, "");
	/* The second envelope kept no alert: dropped, so nobody hears of it. */
	assert_int_equal(json_array_size(out.output), 1);
	assert_int_equal(json_array_size(json_object_get(json_array_get(out.output, 0), "alerts")),
	                 1);
	assert_int_equal(json_array_size(node_path_get(json_array_get(out.output, 0),
	                                               "analysis.recommendations")),
	                 1);
	json_decref(out.output);
	attempt(&node_transform,
	        "{\"source_node\":\"\",\"extract\":\"analysis.recommendations\",\"mapping\":"
	        "{\"first\":\"alerts\",\"gone\":\"x.y\"}}",
	        stream, false, 10, &out);
	assert_int_equal(json_array_size(out.output), 2);
	assert_int_equal(
	    json_array_size(json_object_get(json_array_get(out.output, 0), "transformed")), 2);
	assert_true(json_is_null(json_object_get(json_array_get(out.output, 1), "transformed")));
	assert_true(json_is_null(json_object_get(json_array_get(out.output, 0), "gone")));
	assert_int_equal(json_array_size(json_object_get(json_array_get(out.output, 0), "first")),
	                 2);
	json_decref(out.output);
	attempt(&node_transform, "{\"source_node\":\"elsewhere\"}", stream, false, 10, &out);
	assert_string_equal(out.error, "source_node \"elsewhere\" has no output");
	json_decref(out.output);
	{
		json_t *v = envelopes("{\"a\":[1],\"b\":{\"c\":2}}");
		assert_null(node_path_get(v, "a.b"));
		assert_int_equal(json_integer_value(node_path_get(v, "b.c")), 2);
		assert_ptr_equal(node_path_get(v, ""), v);
		json_decref(v);
	}
}

static json_t *definition(const char *text)
{
	json_t *def = envelopes(text), *problems = sm_pipeline_validate(def);
	assert_int_equal(json_array_size(problems), 0);
	json_decref(problems);
	return def;
}

static long long count(sm_store *store, const char *sql)
{
	sqlite3_stmt *st = sm_store_prepare(store, sql, NULL);
	long long n = -1;

	assert_non_null(st);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void retries_resume_and_start_node(void **state)
{
	char flag[128], body[512];
	sm_store *store;
	sm_error err = {0};
	sm_pipeline_result res;
	json_t *def = definition(
	    "{\"version\":1,\"nodes\":[{\"id\":\"in\",\"type\":\"ingest\",\"next\":\"out\"},"
	    "{\"id\":\"out\",\"type\":\"notify\",\"config\":{\"channels\":[\"a\"]}}]}");
	json_t *payloads = envelopes("[{\"alert\":1}]"), *run;
	sm_pipeline_run_opts opts = {.definition_name = "t", .definition = def, .input = payloads};

	(void)state;
	snprintf(flag, sizeof flag, "%s/up", dir);
	stage_program("sm-ingest", "read x; [ ${#SM_TRACE_ID} = 32 ] && [ ${#SM_RUN_ID} = 36 ] || "
	                           "exit 1; echo '{\"v\":1,\"trace_id\":\"x\",\"n\":1}'");
	snprintf(body, sizeof body,
	         "[ \"$*\" = '--channel a' ] || exit 1; [ -e %s ] || exit 75;"
	         " sed 's/\"n\":1/\"n\":2/'",
	         flag);
	stage_program("sm-notify", body);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_int_equal(sm_pipeline_run(store, &opts, &res, &err), SM_EXIT_OK);
	assert_int_equal(res.exit_status, SM_EXIT_TEMPFAIL);
	assert_string_equal(res.status, "failed");
	assert_string_equal(res.error, "node \"out\": sm-notify exited 75");
	assert_int_equal(
	    count(store, "SELECT count(*) FROM stage_executions WHERE node_id = 'out'"), 3);
	sm_pipeline_result_clear(&res);

	/* The cause fixed, the resume runs only the failed node. */
	fclose(fopen(flag, "w"));
	assert_int_equal(sm_pipeline_resume(store, "nope", &res, &err), SM_EXIT_USAGE);
	{
		char id[SM_PIPELINE_ID_LEN + 1];
		json_t *runs;
		assert_int_equal(sm_pipeline_runs(store, NULL, 0, &runs, &err), SM_EXIT_OK);
		snprintf(id, sizeof id, "%s",
		         json_string_value(json_object_get(json_array_get(runs, 0), "run_id")));
		json_decref(runs);
		assert_int_equal(sm_pipeline_resume(store, id, &res, &err), SM_EXIT_OK);
		assert_int_equal(res.exit_status, SM_EXIT_OK);
		assert_string_equal(res.status, "notified");
		/* The envelope carries the run's ids, run_id beside trace_id. */
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(res.output, 0), "run_id")),
		    id);
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(res.output, 0), "trace_id")),
		    res.trace_id);
		assert_int_equal(
		    json_integer_value(json_object_get(json_array_get(res.output, 0), "n")), 2);
		sm_pipeline_result_clear(&res);
		assert_int_equal(
		    count(store, "SELECT count(*) FROM stage_executions WHERE node_id = 'in'"), 1);
		assert_int_equal(
		    count(store, "SELECT max(attempt) FROM stage_executions WHERE node_id = 'out'"),
		    4);
		assert_int_equal(count(store, "SELECT attempts FROM pipeline_runs"), 2);
		assert_int_equal(sm_pipeline_resume(store, id, &res, &err), SM_EXIT_FAILURE);
		assert_int_equal(sm_pipeline_run_get(store, id, true, &run, &err), SM_EXIT_OK);
		assert_int_equal(json_array_size(json_object_get(
		                     json_array_get(json_object_get(run, "stages"), 1), "history")),
		                 4);
		json_decref(run);
	}

	/* A run may start at a node, on envelopes: what `work` does. */
	json_decref(payloads);
	payloads =
	    envelopes("[{\"v\":1,\"trace_id\":\"0123456789abcdef0123456789abcdef\",\"n\":1}]");
	opts.input = payloads;
	opts.start_node = "out";
	opts.trace_id = "0123456789abcdef0123456789abcdef";
	assert_int_equal(sm_pipeline_run(store, &opts, &res, &err), SM_EXIT_OK);
	assert_int_equal(res.exit_status, SM_EXIT_OK);
	assert_int_equal(json_array_size(res.output), 1);
	sm_pipeline_result_clear(&res);
	opts.start_node = "nowhere";
	assert_int_equal(sm_pipeline_run(store, &opts, &res, &err), SM_EXIT_USAGE);
	assert_string_equal(err.msg, "no node \"nowhere\" in the definition");

	/* Retries from the definition win over the environment. */
	json_object_set_new(def, "defaults", json_pack("{s:i}", "max_retries", 0));
	unlink(flag);
	opts.start_node = NULL;
	opts.trace_id = NULL;
	json_decref(payloads);
	payloads = envelopes("[{\"alert\":1}]");
	opts.input = payloads;
	assert_int_equal(sm_pipeline_run(store, &opts, &res, &err), SM_EXIT_OK);
	assert_int_equal(res.exit_status, SM_EXIT_TEMPFAIL);
	assert_int_equal(count(store, "SELECT count(*) FROM stage_executions s JOIN pipeline_runs r"
	                              " ON s.run = r.id WHERE r.run_id = (SELECT run_id FROM"
	                              " pipeline_runs ORDER BY id DESC LIMIT 1)"),
	                 2);
	sm_pipeline_result_clear(&res);

	/* The first node refusing the input records nothing. */
	stage_program("sm-ingest", "exit 65");
	{
		long long before = count(store, "SELECT count(*) FROM pipeline_runs");
		assert_int_equal(sm_pipeline_run(store, &opts, &res, &err), SM_EXIT_OK);
		assert_int_equal(res.exit_status, SM_EXIT_DATAERR);
		assert_int_equal(count(store, "SELECT count(*) FROM pipeline_runs"), before);
		sm_pipeline_result_clear(&res);
	}

	/* The textfile counts what the store holds. */
	{
		char prom[128], line[256];
		bool found = false;
		FILE *f;
		snprintf(prom, sizeof prom, "%s/m.prom", dir);
		setenv("ORCHESTRATION_METRICS_BACKEND", "prometheus", 1);
		setenv("SM_METRICS_TEXTFILE", prom, 1);
		assert_int_equal(sm_pipeline_metrics_init(&err), 0);
		assert_int_equal(sm_pipeline_metrics_flush(store, &err), 0);
		f = fopen(prom, "r");
		assert_non_null(f);
		while (fgets(line, sizeof line, f))
			found =
			    found ||
			    strcmp(line, "sm_pipeline_runs_total{status=\"notified\"} 2\n") == 0;
		fclose(f);
		assert_true(found);
		setenv("ORCHESTRATION_METRICS_BACKEND", "nope", 1);
		assert_int_equal(sm_pipeline_metrics_init(&err), -1);
		unsetenv("ORCHESTRATION_METRICS_BACKEND");
	}
	json_decref(payloads);
	json_decref(def);
	sm_store_close(store);
}

static void settings_from_the_environment(void **state)
{
	double retries, backoff;
	sm_error err = {0};

	(void)state;
	setenv("ORCHESTRATION_MAX_RETRIES_PER_STAGE", "1.5", 1);
	assert_int_equal(sm_pipeline_settings(&retries, &backoff, &err), -1);
	setenv("ORCHESTRATION_MAX_RETRIES_PER_STAGE", "5", 1);
	setenv("ORCHESTRATION_BACKOFF_FACTOR", "x", 1);
	assert_int_equal(sm_pipeline_settings(&retries, &backoff, &err), -1);
	unsetenv("ORCHESTRATION_BACKOFF_FACTOR");
	assert_int_equal(sm_pipeline_settings(&retries, &backoff, &err), 0);
	assert_true(retries == 5 && backoff == 2.0);
	setenv("ORCHESTRATION_MAX_RETRIES_PER_STAGE", "2", 1);
	setenv("ORCHESTRATION_BACKOFF_FACTOR", "0.001", 1);
}

/* Called inside a transaction (the queue worker's claim), a run commits it
 * before each stage, so the stage's process can write the store at once,
 * and returns with the records after its last stage in a transaction of
 * the caller's. */
static void a_run_in_a_transaction_groups_its_records(void **state)
{
	char body[1024];
	sm_store *store;
	sm_error err = {0};
	sm_pipeline_result res;
	json_t *def = definition(
	    "{\"version\":1,\"nodes\":[{\"id\":\"in\",\"type\":\"ingest\",\"next\":\"out\"},"
	    "{\"id\":\"out\",\"type\":\"notify\"}]}");
	json_t *payloads = envelopes("[{\"alert\":1}]");
	sm_pipeline_run_opts opts = {.definition_name = "g", .definition = def, .input = payloads};

	(void)state;
	/* Each stage writes the store without waiting for the write lock: it
	 * fails if the run still holds it. */
	snprintf(
	    body, sizeof body,
	    "/usr/bin/python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1], timeout=0);"
	    " c.execute(\"CREATE TABLE IF NOT EXISTS probe (x)\");"
	    " c.execute(\"INSERT INTO probe VALUES (1)\"); c.commit()' '%s' || exit 1;"
	    " read x; echo '{\"v\":1,\"trace_id\":\"x\"}'",
	    path);
	stage_program("sm-ingest", body);
	stage_program("sm-notify", body);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_int_equal(sm_store_exec(store, "BEGIN IMMEDIATE", &err), 0);
	assert_int_equal(sm_pipeline_run(store, &opts, &res, &err), SM_EXIT_OK);
	assert_string_equal(res.error, "");
	assert_string_equal(res.status, "notified");
	/* The caller's transaction again, holding what followed the last stage. */
	assert_int_equal(sqlite3_get_autocommit(sm_store_db(store)), 0);
	assert_int_equal(count(store, "SELECT count(*) FROM probe"), 2);
	assert_int_equal(sm_store_exec(store, "ROLLBACK", &err), 0);
	/* Rolled back: the run, both stages started and the first one's end
	 * stay; the last stage's end and the run's do not. */
	assert_int_equal(count(store, "SELECT count(*) FROM pipeline_runs WHERE definition = 'g'"
	                              " AND status <> 'notified' AND finished_at IS NULL"),
	                 1);
	assert_int_equal(count(store, "SELECT count(*) FROM stage_executions s JOIN pipeline_runs r"
	                              " ON s.run = r.id WHERE r.definition = 'g' AND"
	                              " s.status = 'succeeded'"),
	                 1);
	assert_int_equal(count(store, "SELECT count(*) FROM stage_executions s JOIN pipeline_runs r"
	                              " ON s.run = r.id WHERE r.definition = 'g' AND"
	                              " s.status = 'running'"),
	                 1);
	sm_pipeline_result_clear(&res);

	/* Outside a transaction, every record is committed as it is made. */
	assert_int_equal(sm_pipeline_run(store, &opts, &res, &err), SM_EXIT_OK);
	assert_string_equal(res.status, "notified");
	assert_int_not_equal(sqlite3_get_autocommit(sm_store_db(store)), 0);
	sm_pipeline_result_clear(&res);
	sm_store_close(store);
	json_decref(payloads);
	json_decref(def);
}

/* Run ids are version 7 UUIDs: 8-4-4-4-12 lower-case hex, version 7, the
 * RFC 4122 variant, the time first, so later ids sort after earlier ones. */
static void run_ids_are_time_ordered_uuids(void **state)
{
	char a[SM_PIPELINE_ID_LEN + 1], b[SM_PIPELINE_ID_LEN + 1];
	struct timespec pause = {0, 2000000}; /* 2 ms: a later millisecond */

	(void)state;
	assert_int_equal(sm_pipeline_new_run_id(a), 0);
	nanosleep(&pause, NULL);
	assert_int_equal(sm_pipeline_new_run_id(b), 0);
	assert_int_equal(strlen(a), SM_PIPELINE_ID_LEN);
	for (size_t i = 0; i < SM_PIPELINE_ID_LEN; i++)
		assert_true(i == 8 || i == 13 || i == 18 || i == 23
		                ? a[i] == '-'
		                : (a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'));
	assert_int_equal(a[14], '7');
	assert_non_null(strchr("89ab", a[19]));
	assert_true(strcmp(a, b) < 0);
	{
		/* The first 48 bits are the time in milliseconds. */
		struct timespec now;
		unsigned long long ms = strtoull(a, NULL, 16) << 16 | strtoull(a + 9, NULL, 16);
		clock_gettime(CLOCK_REALTIME, &now);
		assert_true(ms <= (unsigned long long)now.tv_sec * 1000ULL + 1000ULL);
		assert_true(ms + 60000ULL >= (unsigned long long)now.tv_sec * 1000ULL);
	}
}

/* A quick run's line for a filter, cut out of its stream's text, is the
 * line node_filter_line prints; a text that is not a one-envelope stream
 * gives none. */
static void a_line_cut_from_a_stream_is_the_filters_line(void **state)
{
	json_t *env = json_pack("{s:s,s:[i,{s:n}],s:s}", "trace_id", "t\"1", "a", 1, "b", "u",
	                        "\u00e9t\u00e9");
	json_t *stream = json_pack("[O]", env);
	char *text = sm_json_dump(stream, NULL), *want, *got;
	size_t want_len = 0, got_len = 0;

	(void)state;
	want = node_filter_line(env, &want_len);
	got = node_filter_line_of_stream(text, &got_len);
	assert_non_null(got);
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
	assert_int_equal(got[got_len], '\0');
	assert_null(node_filter_line_of_stream("{}", &got_len));
	assert_null(node_filter_line_of_stream("", &got_len));
	free(got);
	free(want);
	free(text);
	json_decref(stream);
	json_decref(env);
}

/* A quick run writes nothing until recorded; one that failed becomes the
 * first attempt of the run recorded after it, its retries following. */
static void quick_runs(void **state)
{
	char body[2048];
	sm_store *store;
	sm_error err = {0};
	sm_pipeline_result res;
	sm_pipeline_quick *q;
	json_t *def = definition(
	    "{\"version\":1,\"nodes\":[{\"id\":\"in\",\"type\":\"ingest\",\"next\":\"out\"},"
	    "{\"id\":\"out\",\"type\":\"notify\"}]}");
	json_t *once = definition(
	    "{\"version\":1,\"defaults\":{\"max_retries\":0},\"nodes\":[{\"id\":\"in\","
	    "\"type\":\"ingest\",\"next\":\"out\"},{\"id\":\"out\",\"type\":\"notify\"}]}");
	json_t *two = definition(
	    "{\"version\":1,\"nodes\":[{\"id\":\"a\",\"type\":\"notify\",\"next\":\"b\"},"
	    "{\"id\":\"b\",\"type\":\"notify\"}]}");
	json_t *input = envelopes("[{\"v\":1,\"host\":\"h\"}]");
	sm_pipeline_run_opts opts = {.definition_name = "q",
	                             .definition = def,
	                             .input = input,
	                             .start_node = "out",
	                             .source = "queue",
	                             .run_id = "quick-1"};
	char calls[256];

	(void)state;
	snprintf(calls, sizeof calls, "%.200s/calls", dir);
	assert_true(sm_pipeline_quick_fits(def, "out"));
	assert_false(sm_pipeline_quick_fits(def, NULL)); /* two nodes, the first an ingest */
	assert_false(sm_pipeline_quick_fits(two, "a"));
	assert_true(sm_pipeline_quick_fits(two, "b"));
	snprintf(body, sizeof body, "echo >>'%s'; read x; echo \"$x\"", calls);
	stage_program("sm-notify", body);
	assert_int_equal(sm_store_open(path, &store, &err), 0);

	assert_int_equal(sm_pipeline_quick_run(store, &opts, &q), 1);
	assert_int_equal(
	    count(store, "SELECT count(*) FROM pipeline_runs WHERE run_id = 'quick-1'"), 0);
	assert_int_equal(sm_store_exec(store, "BEGIN IMMEDIATE", &err), 0);
	assert_int_equal(sm_pipeline_quick_record(store, q, &res), 0);
	assert_int_equal(sm_store_exec(store, "COMMIT", &err), 0);
	sm_pipeline_quick_free(q);
	assert_string_equal(res.status, "notified");
	assert_int_equal(res.exit_status, SM_EXIT_OK);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(res.output, 0), "run_id")), "quick-1");
	sm_pipeline_result_clear(&res);
	assert_int_equal(count(store, "SELECT count(*) FROM pipeline_runs WHERE run_id = 'quick-1'"
	                              " AND status = 'notified' AND source = 'queue'"
	                              " AND current_stage = 'notify' AND finished_at IS NOT NULL"),
	                 1);
	assert_int_equal(count(store,
	                       "SELECT count(*) FROM stage_executions s JOIN pipeline_runs r"
	                       " ON s.run = r.id WHERE r.run_id = 'quick-1' AND s.attempt = 1"
	                       " AND s.status = 'succeeded' AND s.node_id = 'out'"
	                       " AND s.output LIKE '%quick-1%'"),
	                 1);

	/* It fails (may pass): nothing written; the run recorded after it has
	 * it as attempt 1 and retries. */
	snprintf(
	    body, sizeof body,
	    "echo >>'%s'; read x; [ -e '%s.ok' ] && echo \"$x\" && exit 0; : >'%s.ok'; exit 75",
	    calls, calls, calls);
	stage_program("sm-notify", body);
	opts.run_id = "quick-2";
	assert_int_equal(sm_pipeline_quick_run(store, &opts, &q), 0);
	assert_non_null(q);
	assert_int_equal(
	    count(store, "SELECT count(*) FROM pipeline_runs WHERE run_id = 'quick-2'"), 0);
	opts.tried = q;
	assert_int_equal(sm_pipeline_run(store, &opts, &res, &err), SM_EXIT_OK);
	sm_pipeline_quick_free(q);
	assert_string_equal(res.status, "notified");
	sm_pipeline_result_clear(&res);
	assert_int_equal(count(store,
	                       "SELECT count(*) FROM stage_executions s JOIN pipeline_runs r"
	                       " ON s.run = r.id WHERE r.run_id = 'quick-2' AND ((s.attempt = 1"
	                       " AND s.status = 'failed' AND s.temporary = 1) OR (s.attempt = 2"
	                       " AND s.status = 'succeeded'))"),
	                 2);

	/* With no retries, the failed attempt ends the run: the stage is not
	 * run again (three calls before, one now). */
	unlink(strcat(strcpy(body, calls), ".ok"));
	opts.definition = once;
	opts.run_id = "quick-3";
	opts.tried = NULL;
	assert_int_equal(sm_pipeline_quick_run(store, &opts, &q), 0);
	opts.tried = q;
	assert_int_equal(sm_pipeline_run(store, &opts, &res, &err), SM_EXIT_OK);
	sm_pipeline_quick_free(q);
	assert_string_equal(res.status, "failed");
	assert_int_equal(res.exit_status, SM_EXIT_TEMPFAIL);
	sm_pipeline_result_clear(&res);
	{
		FILE *f = fopen(calls, "r");
		int lines = 0;
		assert_non_null(f);
		while (fgets(body, sizeof body, f))
			lines++;
		fclose(f);
		assert_int_equal(lines, 4);
	}
	sm_store_close(store);
	json_decref(input);
	json_decref(two);
	json_decref(once);
	json_decref(def);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(how_an_attempt_ends),
	    cmocka_unit_test(transform_filters_extracts_and_maps),
	    cmocka_unit_test(retries_resume_and_start_node),
	    cmocka_unit_test(settings_from_the_environment),
	    cmocka_unit_test(a_run_in_a_transaction_groups_its_records),
	    cmocka_unit_test(a_line_cut_from_a_stream_is_the_filters_line),
	    cmocka_unit_test(quick_runs),
	    cmocka_unit_test(run_ids_are_time_ordered_uuids),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
