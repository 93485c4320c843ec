/* runs.c - sm-pipeline run, resume, runs, show and setup: the runs of a
 * definition and how they print. */
#include "sm-pipeline.h"

/* --- runs -------------------------------------------------------------------- */

static const struct {
	const char *source, *payload;
} samples[] = {
    {"alertmanager",
     "{\"version\":\"4\",\"receiver\":\"webhook\",\"status\":\"firing\",\"alerts\":[{\"status\":"
     "\"firing\",\"labels\":{\"alertname\":\"HighCPUUsage\",\"severity\":\"warning\","
     "\"instance\":\"localhost:9090\",\"job\":\"node\"},\"annotations\":{\"summary\":\"High CPU "
     "usage detected\",\"description\":\"CPU usage is above 80% for 5 minutes\"},\"startsAt\":"
     "\"2024-01-10T10:00:00Z\",\"fingerprint\":\"sample-cpu-alert-001\"}]}"},
    {"grafana",
     "{\"receiver\":\"webhook\",\"status\":\"firing\",\"state\":\"alerting\",\"title\":\"Test "
     "Alert from Grafana\",\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":"
     "\"HighMemoryUsage\",\"severity\":\"critical\"},\"annotations\":{\"summary\":\"Memory "
     "usage critical\"},\"startsAt\":\"2024-01-10T10:00:00Z\"}]}"},
    {"generic",
     "{\"name\":\"Test Alert\",\"status\":\"firing\",\"severity\":\"warning\",\"description\":"
     "\"This is a test alert from the CLI\",\"labels\":{\"source\":\"cli-test\","
     "\"environment\":\"development\"}}"},
};

/* The payloads (or envelopes) to start with: an array, or NULL after
 * printing why (exit status in *rc). */
json_t *read_input(const struct args *a, int *rc)
{
	json_t *list = json_array();
	size_t len, pos = 0, line = 1;
	char *text;

	*rc = SM_EXIT_OK;
	if (a->sample) {
		size_t pick = sizeof samples / sizeof samples[0] - 1;
		for (size_t i = 0; a->source && i < sizeof samples / sizeof samples[0]; i++)
			if (strcmp(samples[i].source, a->source) == 0)
				pick = i;
		json_array_append_new(list, json_loads(samples[pick].payload, 0, NULL));
		return list;
	}
	if (!a->payload)
		return list;
	if (!(text = slurp(a->payload, &len))) {
		json_decref(list);
		*rc = SM_EXIT_FAILURE;
		return NULL;
	}
	/* A stream of objects: one payload, or many as NDJSON. */
	while (pos < len) {
		json_error_t e;
		json_t *v;
		if (strchr(" \t\r\n", text[pos])) {
			line += text[pos++] == '\n';
			continue;
		}
		v = json_loadb(text + pos, len - pos, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &e);
		if (!json_is_object(v)) {
			*rc = sm_err(SM_EXIT_DATAERR, "%s:%zu: %s", a->payload,
			             line + (v ? 0 : e.line - 1),
			             v ? "expected a JSON object" : e.text);
			json_decref(v);
			json_decref(list);
			free(text);
			return NULL;
		}
		for (size_t k = pos; k < pos + e.position; k++)
			line += text[k] == '\n';
		json_array_append_new(list, v);
		pos += e.position;
	}
	free(text);
	if (json_array_size(list) == 0) {
		json_decref(list);
		*rc = sm_err(SM_EXIT_DATAERR, "%s: no payload in it", a->payload);
		return NULL;
	}
	return list;
}

static void print_plan(const char *name, const json_t *plan, bool json)
{
	const json_t *step, *word;
	size_t i, k;

	if (json) {
		json_array_foreach(plan, i, step)
		{
			sm_envelope_write(stdout, (json_t *)step, NULL);
		}
		return;
	}
	printf("definition %s: %zu node%s (dry run: nothing is run)\n", name, json_array_size(plan),
	       json_array_size(plan) == 1 ? "" : "s");
	json_array_foreach(plan, i, step)
	{
		printf("  %zu. %-14s %-13s", i + 1,
		       json_string_value(json_object_get(step, "node")),
		       json_string_value(json_object_get(step, "type")));
		json_array_foreach(json_object_get(step, "command"), k, word)
		{
			printf(" %s", json_string_value(word));
		}
		if (!json_object_get(step, "command"))
			printf(" (in-process)");
		printf("\n");
	}
}

static void print_stages(const json_t *run, bool attempts, FILE *out)
{
	static const char *const headers[] = {"node",     "type",        "status",
	                                      "attempts", "duration_ms", "error"};
	sm_table *t = sm_table_new(6, headers);
	const json_t *stage, *h;
	size_t i, k;

	json_array_foreach(json_object_get(run, "stages"), i, stage)
	{
		json_t *history = json_object_get(stage, "history");
		size_t n = attempts && history ? json_array_size(history) : 1;
		for (k = 0; k < n; k++) {
			const json_t *row =
			    attempts && history ? json_array_get(history, k) : stage;
			const char *status = json_string_value(json_object_get(row, "status"));
			char count[32], ms[32];
			h = json_object_get(row, "error");
			if (attempts && history)
				snprintf(count, sizeof count, "#%d",
				         (int)json_integer_value(json_object_get(row, "attempt")));
			else
				snprintf(
				    count, sizeof count, "%d",
				    (int)json_integer_value(json_object_get(stage, "attempts")));
			snprintf(ms, sizeof ms, "%.1f",
			         json_number_value(json_object_get(row, "duration_ms")));
			sm_table_row(t);
			sm_table_cell(t, json_string_value(json_object_get(stage, "node")),
			              SM_COLOR_BOLD);
			sm_table_cell(t, json_string_value(json_object_get(stage, "type")),
			              SM_COLOR_NONE);
			sm_table_cell(t, status,
			              strcmp(status, "succeeded") == 0 ? SM_COLOR_GREEN
			              : strcmp(status, "failed") == 0  ? SM_COLOR_RED
			                                               : SM_COLOR_DIM);
			sm_table_cell(t, count, SM_COLOR_NONE);
			sm_table_cell(t, ms, SM_COLOR_NONE);
			sm_table_cell(t, json_is_string(h) ? json_string_value(h) : "",
			              SM_COLOR_NONE);
		}
	}
	sm_table_print(t, out, sm_term_color(out), sm_term_columns(out));
	sm_table_free(t);
}

static void print_run_text(const json_t *run, bool attempts)
{
	const json_t *incident = json_object_get(run, "incident_id");
	const json_t *error = json_object_get(run, "error");

	printf("run %s: %s\n", json_string_value(json_object_get(run, "run_id")),
	       json_string_value(json_object_get(run, "status")));
	printf("  definition %s, trace %s, source %s, attempts %d\n",
	       json_string_value(json_object_get(run, "definition")),
	       json_string_value(json_object_get(run, "trace_id")),
	       json_string_value(json_object_get(run, "source")),
	       (int)json_integer_value(json_object_get(run, "attempts")));
	if (json_is_integer(incident))
		printf("  incident %lld\n", (long long)json_integer_value(incident));
	printf("  started %s, finished %s, %.1f ms\n",
	       json_string_value(json_object_get(run, "started_at")) ?: "-",
	       json_string_value(json_object_get(run, "finished_at")) ?: "-",
	       json_number_value(json_object_get(run, "duration_ms")));
	if (json_is_string(error))
		printf("  error: %s\n", json_string_value(error));
	print_stages(run, attempts, stdout);
}

/* What a finished run prints: the envelopes on a pipe, the run on a terminal. */
static int report_run(sm_store *store, const struct args *a, sm_pipeline_result *res)
{
	sm_error err;

	if (res->exit_status == SM_EXIT_DATAERR && strcmp(res->status, "rejected") == 0)
		return sm_err(SM_EXIT_DATAERR, "input refused: %s", res->error);
	if (as_json(a)) {
		const json_t *env;
		size_t i;
		json_array_foreach(res->output, i, env)
		{
			sm_envelope_write(stdout, (json_t *)env, NULL);
		}
	} else {
		json_t *run = NULL;
		if (sm_pipeline_run_get(store, res->run_id, false, &run, &err) == SM_EXIT_OK)
			print_run_text(run, false);
		json_decref(run);
	}
	if (res->exit_status != SM_EXIT_OK)
		sm_err(res->exit_status, "run %s failed: %s", res->run_id, res->error);
	if (sm_pipeline_metrics_flush(store, &err) < 0)
		sm_err_report(SM_EXIT_FAILURE, &err);
	return res->exit_status;
}

int run_command(struct args *a)
{
	const char *name = a->definition;
	json_t *def = NULL, *input = NULL, *plan = NULL;
	sm_store *store = NULL;
	sm_pipeline_result res = {0};
	sm_error err = {0};
	char label[4200];
	bool builtin;
	int rc;

	if (a->noperands != 1)
		return sm_err(SM_EXIT_USAGE, "run takes no operands (see sm-pipeline --help)");
	if (a->definition && a->config)
		return sm_err(SM_EXIT_USAGE, "--definition and --config go alone");
	if (a->payload && a->sample)
		return sm_err(SM_EXIT_USAGE, "--payload and --sample go alone");
	if (a->checks_only && (a->payload || a->sample))
		return sm_err(SM_EXIT_USAGE, "--checks-only runs the checks alone: no payload");
	if (a->trace_id && !sm_trace_valid(a->trace_id))
		return sm_err(SM_EXIT_USAGE, "--trace-id: expected 32 lower-case hex digits");
	if (sm_pipeline_metrics_init(&err) < 0)
		return sm_err_report(SM_EXIT_USAGE, &err);
	if (a->config && (rc = read_definition(a->config, &def)) != SM_EXIT_OK)
		return rc;
	if (!(input = read_input(a, &rc))) {
		json_decref(def);
		return rc;
	}
	if (!name)
		name = json_array_size(input) && !a->checks_only ? "full" : "local-monitor";
	if ((rc = open_store(&store)) != SM_EXIT_OK)
		goto out;
	if (a->config) {
		char *abs = realpath(a->config, NULL);
		snprintf(label, sizeof label, "%s", abs ? abs : a->config);
		free(abs);
	} else {
		snprintf(label, sizeof label, "%s", name);
		if ((rc = sm_pipeline_load(store, name, &def, &builtin, &err)) != SM_EXIT_OK) {
			sm_err_report(rc, &err);
			goto out;
		}
	}
	rc = sm_pipeline_plan(store, def, NULL, a->checks_only, json_array_size(input) > 0, &plan,
	                      &err);
	if (rc != SM_EXIT_OK) {
		sm_err_report(rc, &err);
		goto out;
	}
	if (strcmp(json_string_value(json_object_get(json_array_get(plan, 0), "type")), "ingest") ==
	        0 &&
	    json_array_size(input) == 0) {
		rc =
		    sm_err(SM_EXIT_USAGE,
		           "%s starts with an ingest node: give --payload FILE or --sample", label);
		goto out;
	}
	if (a->dry_run) {
		print_plan(label, plan, a->json);
		goto out;
	}
	{
		sm_pipeline_run_opts opts = {.definition_name = label,
		                             .definition = def,
		                             .input = input,
		                             .source = a->source,
		                             .trace_id = a->trace_id,
		                             .checks_only = a->checks_only};
		rc = sm_pipeline_run(store, &opts, &res, &err);
	}
	if (rc != SM_EXIT_OK)
		sm_err_report(rc, &err);
	else
		rc = report_run(store, a, &res);
out:
	sm_pipeline_result_clear(&res);
	json_decref(plan);
	json_decref(def);
	json_decref(input);
	sm_store_close(store);
	return rc;
}

int resume_command(struct args *a)
{
	sm_store *store = NULL;
	sm_pipeline_result res = {0};
	sm_error err = {0};
	int rc;

	if (a->noperands != 2)
		return sm_err(SM_EXIT_USAGE, "usage: sm-pipeline resume RUN_ID");
	if (sm_pipeline_metrics_init(&err) < 0)
		return sm_err_report(SM_EXIT_USAGE, &err);
	if ((rc = open_store(&store)) != SM_EXIT_OK)
		return rc;
	rc = sm_pipeline_resume(store, a->operands[1], &res, &err);
	if (rc != SM_EXIT_OK)
		sm_err_report(rc, &err);
	else
		rc = report_run(store, a, &res);
	sm_pipeline_result_clear(&res);
	sm_store_close(store);
	return rc;
}

int runs_command(struct args *a)
{
	static const char *const headers[] = {"run_id",     "definition",  "status",
	                                      "started_at", "duration_ms", "error"};
	sm_store *store = NULL;
	json_t *rows = NULL;
	sm_error err;
	int rc;

	if (a->noperands != 1)
		return sm_err(SM_EXIT_USAGE,
		              "usage: sm-pipeline runs [--status S] [--limit N] [--json]");
	if ((rc = open_store(&store)) != SM_EXIT_OK)
		return rc;
	rc = sm_pipeline_runs(store, a->status, a->limit, &rows, &err);
	sm_store_close(store);
	if (rc != SM_EXIT_OK)
		return sm_err_report(rc, &err);
	if (as_json(a)) {
		json_lines(rows);
	} else {
		size_t i;
		json_t *row;
		sm_table *t = sm_table_new(6, headers);
		json_array_foreach(rows, i, row)
		{
			const char *status = json_string_value(json_object_get(row, "status"));
			const json_t *e = json_object_get(row, "error");
			char ms[32];
			snprintf(ms, sizeof ms, "%.1f",
			         json_number_value(json_object_get(row, "duration_ms")));
			sm_table_row(t);
			sm_table_cell(t, json_string_value(json_object_get(row, "run_id")),
			              SM_COLOR_BOLD);
			sm_table_cell(t, json_string_value(json_object_get(row, "definition")),
			              SM_COLOR_NONE);
			sm_table_cell(t, status,
			              strcmp(status, "failed") == 0     ? SM_COLOR_RED
			              : strcmp(status, "notified") == 0 ? SM_COLOR_GREEN
			                                                : SM_COLOR_YELLOW);
			sm_table_cell(t,
			              json_string_value(json_object_get(row, "started_at")) ?: "",
			              SM_COLOR_NONE);
			sm_table_cell(t, ms, SM_COLOR_NONE);
			sm_table_cell(t, json_is_string(e) ? json_string_value(e) : "",
			              SM_COLOR_NONE);
		}
		table_out(t);
	}
	json_decref(rows);
	return SM_EXIT_OK;
}

int show_command(struct args *a)
{
	sm_store *store = NULL;
	json_t *run = NULL;
	sm_error err;
	int rc;

	if (a->noperands != 2)
		return sm_err(SM_EXIT_USAGE,
		              "usage: sm-pipeline show RUN_ID [--attempts] [--json]");
	if ((rc = open_store(&store)) != SM_EXIT_OK)
		return rc;
	rc = sm_pipeline_run_get(store, a->operands[1], a->attempts, &run, &err);
	sm_store_close(store);
	if (rc != SM_EXIT_OK)
		return sm_err_report(rc, &err);
	if (as_json(a))
		sm_envelope_write(stdout, run, NULL);
	else
		print_run_text(run, a->attempts);
	json_decref(run);
	return SM_EXIT_OK;
}

int setup_command(struct args *a)
{
	sm_store *store = NULL;
	sm_error err = {0};
	int rc;

	if (a->noperands != 1)
		return sm_err(SM_EXIT_USAGE, "setup takes no operands (see sm-pipeline --help)");
	if ((rc = open_store(&store)) != SM_EXIT_OK)
		return rc;
	a->setup.interactive = sm_term_isatty(stdin) && !a->setup.preset;
	rc = sm_pipeline_setup(store, &a->setup, stdin, stdout, &err);
	if (rc != SM_EXIT_OK)
		sm_err_report(rc, &err);
	sm_store_close(store);
	return rc;
}
