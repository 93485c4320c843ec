/* sm-pipeline - run the stages from a stored definition, record each run
 * and stage, retry, resume (sm-pipeline(1), definitions in sm-pipeline(5)).
 * A front end: flags, terminal or pipe, one call into lib/pipeline/. */
#include <errno.h>
#include <signal.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sm/cli.h"
#include "sm/config.h"
#include "sm/envelope.h"
#include "sm/inbox.h"
#include "sm/err.h"
#include "sm/json.h"
#include "sm/log.h"
#include "sm/pipeline.h"
#include "sm/pipeline_http.h"
#include "sm/pipeline_metrics.h"
#include "sm/pipeline_prune.h"
#include "sm/pipeline_route.h"
#include "sm/pipeline_run.h"
#include "sm/pipeline_setup.h"
#include "sm/pipeline_status.h"
#include "sm/pipeline_status_html.h"
#include "sm/pipeline_work.h"
#include "sm/store.h"
#include "sm/term.h"
#include "sm/trace.h"

static const char usage_text[] =
    "usage: sm-pipeline run [--definition NAME | --config FILE]\n"
    "                       [--payload FILE | --sample] [--dry-run] [--checks-only]\n"
    "                       [--source S] [--trace-id ID]\n"
    "       sm-pipeline resume RUN_ID\n"
    "       sm-pipeline runs [--status S] [--limit N] [--json]\n"
    "       sm-pipeline show RUN_ID [--attempts] [--json]\n"
    "       sm-pipeline definition add NAME FILE|-\n"
    "       sm-pipeline definition list [--json] | show NAME | validate FILE|NAME\n"
    "       sm-pipeline definition rm NAME\n"
    "       sm-pipeline setup [--preset NAME --name NAME --channel NAME ...\n"
    "                          --checker NAME ... --provider NAME]\n"
    "       sm-pipeline work [--once] [--workers N] [--definition NAME]\n"
    "       sm-pipeline queue [--status S] [--limit N] [--json]\n"
    "       sm-pipeline queue retry ID|--failed\n"
    "       sm-pipeline route [ENVELOPE-FILE|-] [--json]\n"
    "       sm-pipeline status [--json | --html]\n"
    "       sm-pipeline prune [--older-than DURATION] [--dry-run] [--vacuum] [--json]\n"
    "       sm-pipeline --fastcgi [ADDRESS]   answer /orchestration/ (FastCGI)\n"
    "\n"
    "  -d, --definition NAME  the stored or built-in definition to run (default: full\n"
    "                         with a payload, local-monitor without)\n"
    "  --config FILE          run the definition in FILE\n"
    "  --payload FILE         the payload (or envelopes) to start with; - reads stdin\n"
    "  --sample               a built-in sample payload chosen by --source\n"
    "  --dry-run              print the plan, run nothing\n"
    "  --checks-only          run only the context nodes (the run ends checked)\n"
    "  --source S             recorded with the run (default cli)\n"
    "  --trace-id ID          the run's trace id (32 hex digits; default: a new one)\n"
    "  --status S             list only runs with this status\n"
    "  --limit N              list at most N runs, newest first (default 20, 0 = all)\n"
    "  --attempts             show every attempt of every stage\n"
    "  --json                 JSON even on a terminal\n"
    "  --html                 status: one self-contained HTML page, charts\n"
    "  --once                 work: drain the queue, then exit\n"
    "  --workers N            work: N worker processes (default 1)\n"
    "  --failed               queue retry: every failed item\n"
    "  --older-than DURATION  prune: one retention for every kind (90s, 15m, 4h, 7d)\n"
    "  --vacuum               prune: then rebuild the file so it shrinks\n"
    "  -h, --help             this text\n"
    "  --version              version\n"
    "\n"
    "Built-in definitions: local-monitor, local-smart, direct, health-checked,\n"
    "ai-analyzed, full. Environment: ORCHESTRATION_MAX_RETRIES_PER_STAGE,\n"
    "ORCHESTRATION_BACKOFF_FACTOR, ORCHESTRATION_QUEUE_STALE_SECONDS,\n"
    "ORCHESTRATION_QUEUE_MAX_RETRIES, ORCHESTRATION_QUEUE_RETRY_SECONDS,\n"
    "ORCHESTRATION_QUEUE_POLL_SECONDS, INBOX_DEPTH_WARN, SM_DEFAULT_DEFINITION,\n"
    "ORCHESTRATION_METRICS_BACKEND, STATSD_HOST, STATSD_PORT, STATSD_PREFIX,\n"
    "SM_METRICS_TEXTFILE, SM_RETENTION, SM_DB, SM_ENV_FILE, SM_LOG_LEVEL.\n";

enum {
	OPT_CONFIG = 256,
	OPT_PAYLOAD,
	OPT_SAMPLE,
	OPT_DRY_RUN,
	OPT_CHECKS_ONLY,
	OPT_SOURCE,
	OPT_TRACE_ID,
	OPT_STATUS,
	OPT_LIMIT,
	OPT_ATTEMPTS,
	OPT_JSON,
	OPT_PRESET,
	OPT_NAME,
	OPT_CHANNEL,
	OPT_CHECKER,
	OPT_PROVIDER,
	OPT_ONCE,
	OPT_WORKERS,
	OPT_FAILED,
	OPT_OLDER_THAN,
	OPT_VACUUM,
	OPT_HTML,
};

static const struct option long_options[] = {
    {"definition", required_argument, NULL, 'd'},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"payload", required_argument, NULL, OPT_PAYLOAD},
    {"sample", no_argument, NULL, OPT_SAMPLE},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"checks-only", no_argument, NULL, OPT_CHECKS_ONLY},
    {"source", required_argument, NULL, OPT_SOURCE},
    {"trace-id", required_argument, NULL, OPT_TRACE_ID},
    {"status", required_argument, NULL, OPT_STATUS},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"attempts", no_argument, NULL, OPT_ATTEMPTS},
    {"json", no_argument, NULL, OPT_JSON},
    {"preset", required_argument, NULL, OPT_PRESET},
    {"name", required_argument, NULL, OPT_NAME},
    {"channel", required_argument, NULL, OPT_CHANNEL},
    {"checker", required_argument, NULL, OPT_CHECKER},
    {"provider", required_argument, NULL, OPT_PROVIDER},
    {"once", no_argument, NULL, OPT_ONCE},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"failed", no_argument, NULL, OPT_FAILED},
    {"older-than", required_argument, NULL, OPT_OLDER_THAN},
    {"vacuum", no_argument, NULL, OPT_VACUUM},
    {"html", no_argument, NULL, OPT_HTML},
    SM_CLI_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

struct args {
	const char *definition, *config, *payload, *source, *trace_id, *status, *older_than;
	bool sample, dry_run, checks_only, attempts, json, once, failed, vacuum, html;
	long limit, workers;
	sm_pipeline_setup_opts setup;
	char **operands;
	int noperands;
};

static bool as_json(const struct args *a)
{
	return a->json || !sm_term_isatty(stdout);
}

/* One JSON object per line for each element of rows (--json, a pipe). */
static void json_lines(const json_t *rows)
{
	size_t i;
	json_t *row;

	json_array_foreach(rows, i, row)
	{
		sm_envelope_write(stdout, row, NULL); /* errors: sm_cli_finish */
	}
}

/* Print a table on stdout, fitted to the terminal, and free it. */
static void table_out(sm_table *t)
{
	sm_table_print(t, stdout, sm_term_color(stdout), sm_term_columns(stdout));
	sm_table_free(t);
}

static int open_store(sm_store **store)
{
	sm_error err;

	if (sm_store_open(NULL, store, &err) < 0)
		return sm_err_report(SM_EXIT_FAILURE, &err);
	return SM_EXIT_OK;
}

/* The whole of FILE ("-": stdin); NULL after printing why. */
static char *slurp(const char *file, size_t *len)
{
	FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	char *text = NULL;
	size_t cap = 0, n = 0, got;
	int read_errno = 0;

	if (!f) {
		sm_err(SM_EXIT_FAILURE, "%s: %s", file, strerror(errno));
		return NULL;
	}
	do {
		if (n + 65536 > cap) {
			char *p = realloc(text, cap = cap * 2 + 65536);
			if (!p) {
				free(text);
				text = NULL;
				break;
			}
			text = p;
		}
		got = fread(text + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0);
	if (text && ferror(f)) {
		read_errno = errno;
		free(text);
		text = NULL;
	}
	if (f != stdin)
		fclose(f);
	if (!text) { /* as every tool says it: "FILE: read error: Is a directory" */
		sm_err(SM_EXIT_FAILURE, "%s: read error: %s", file,
		       read_errno ? strerror(read_errno) : "out of memory");
		return NULL;
	}
	text[n] = '\0';
	*len = n;
	return text;
}

/* A definition from FILE, every problem printed; the exit status. */
static int read_definition(const char *file, json_t **def)
{
	json_t *problems = NULL, *p;
	sm_error err = {0};
	size_t len, i;
	char *text = slurp(file, &len);
	int rc;

	*def = NULL;
	if (!text)
		return SM_EXIT_FAILURE;
	rc = sm_pipeline_parse(text, len, def, &problems, &err);
	free(text);
	if (rc != SM_EXIT_OK && !problems)
		return sm_err(rc, "%s: %s", file, err.msg);
	json_array_foreach(problems, i, p)
	{
		sm_err(rc, "%s: %s", file, json_string_value(p));
	}
	json_decref(problems);
	return rc;
}

/* --- definition commands ----------------------------------------------------- */

static int definition_list(sm_store *store, const struct args *a)
{
	static const char *const headers[] = {"name", "builtin", "flow", "description"};
	json_t *rows;
	sm_error err;
	int rc = sm_pipeline_list(store, &rows, &err);

	if (rc != SM_EXIT_OK)
		return sm_err_report(rc, &err);
	if (as_json(a)) {
		json_lines(rows);
	} else {
		size_t i;
		json_t *row;
		sm_table *t = sm_table_new(4, headers);
		json_array_foreach(rows, i, row)
		{
			char flow[1024] = "";
			const json_t *id;
			size_t k;
			json_array_foreach(json_object_get(row, "flow"), k, id)
			{
				size_t n = strlen(flow);
				snprintf(flow + n, sizeof flow - n, "%s%s", k ? " -> " : "",
				         json_string_value(id));
			}
			sm_table_row(t);
			sm_table_cell(t, json_string_value(json_object_get(row, "name")),
			              SM_COLOR_BOLD);
			sm_table_cell(t,
			              json_is_true(json_object_get(row, "builtin")) ? "yes" : "no",
			              SM_COLOR_NONE);
			sm_table_cell(t, flow, SM_COLOR_NONE);
			sm_table_cell(t, json_string_value(json_object_get(row, "description")),
			              SM_COLOR_DIM);
		}
		table_out(t);
	}
	json_decref(rows);
	return SM_EXIT_OK;
}

static void print_json(const json_t *v, bool pretty)
{
	char *text = json_dumps(v, pretty ? JSON_INDENT(2) | JSON_PRESERVE_ORDER : SM_JSON_FLAGS);

	if (text)
		printf("%s\n", text);
	free(text);
}

static int definition_command(struct args *a)
{
	static const char usage[] = "usage: sm-pipeline definition add NAME FILE|- | list | show "
	                            "NAME | validate FILE|NAME | "
	                            "rm NAME";
	const char *verb = a->noperands > 1 ? a->operands[1] : "";
	const char *name = a->noperands > 2 ? a->operands[2] : NULL;
	sm_store *store = NULL;
	json_t *def = NULL;
	sm_error err = {0};
	int rc;

	if (strcmp(verb, "list") == 0 ? a->noperands != 2
	    : strcmp(verb, "add") == 0
	        ? a->noperands != 4
	        : (!strstr(" show validate rm ", verb) || !*verb || a->noperands != 3))
		return sm_err(SM_EXIT_USAGE, "%s", usage);
	/* A definition to add or a file to validate is read before the store
	 * is touched: bad input changes nothing. */
	if (strcmp(verb, "add") == 0 && (rc = read_definition(a->operands[3], &def)) != SM_EXIT_OK)
		return rc;
	if (strcmp(verb, "validate") == 0 && (strcmp(name, "-") == 0 || access(name, F_OK) == 0)) {
		if ((rc = read_definition(name, &def)) == SM_EXIT_OK)
			printf("%s: valid (%zu nodes)\n", name,
			       json_array_size(json_object_get(def, "nodes")));
		json_decref(def);
		return rc;
	}
	if ((rc = open_store(&store)) != SM_EXIT_OK) {
		json_decref(def);
		return rc;
	}
	if (strcmp(verb, "list") == 0) {
		rc = definition_list(store, a);
	} else if (strcmp(verb, "add") == 0) {
		rc = sm_pipeline_store(store, name, def, &err);
	} else if (strcmp(verb, "rm") == 0) {
		rc = sm_pipeline_remove(store, name, &err);
	} else {
		bool builtin;
		rc = sm_pipeline_load(store, name, &def, &builtin, &err);
		if (rc == SM_EXIT_OK && strcmp(verb, "show") == 0) {
			print_json(def, !as_json(a));
		} else if (rc == SM_EXIT_OK) {
			json_t *problems = sm_pipeline_validate(def), *p;
			size_t i;
			json_array_foreach(problems, i, p)
			{
				sm_err(SM_EXIT_DATAERR, "%s: %s", name, json_string_value(p));
			}
			if (json_array_size(problems))
				rc = SM_EXIT_DATAERR;
			else
				printf("%s: valid (%zu nodes)\n", name,
				       json_array_size(json_object_get(def, "nodes")));
			json_decref(problems);
		}
	}
	if (rc != SM_EXIT_OK && *err.msg)
		sm_err_report(rc, &err);
	json_decref(def);
	sm_store_close(store);
	return rc;
}

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
static json_t *read_input(const struct args *a, int *rc)
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

static int run_command(struct args *a)
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

static int resume_command(struct args *a)
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

static int runs_command(struct args *a)
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

static int show_command(struct args *a)
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

static int setup_command(struct args *a)
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

/* --- the queue ------------------------------------------------------------------- */

static void on_stop(int sig)
{
	(void)sig;
	sm_pipeline_work_stop();
}

static int work_command(struct args *a)
{
	sm_pipeline_work_opts opts = {
	    .once = a->once, .workers = (int)a->workers, .definition = a->definition};
	sm_pipeline_work_counts counts = {0};
	struct sigaction sa;
	sm_error err = {0};
	int rc;

	if (a->noperands != 1)
		return sm_err(SM_EXIT_USAGE,
		              "usage: sm-pipeline work [--once] [--workers N] [--definition NAME]");
	/* A forced definition must exist before anything is claimed. */
	if (a->definition) {
		sm_store *store = NULL;
		json_t *def = NULL;
		if ((rc = open_store(&store)) != SM_EXIT_OK)
			return rc;
		rc = sm_pipeline_load(store, a->definition, &def, NULL, &err);
		json_decref(def);
		sm_store_close(store);
		if (rc != SM_EXIT_OK)
			return sm_err_report(rc, &err);
	}
	/* No SA_RESTART: a signal must end the wait for work at once. The item
	 * in hand is finished first. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	rc = sm_pipeline_work(&opts, &counts, &err);
	if (rc != SM_EXIT_OK)
		return sm_err_report(rc, &err);
	if (a->once && opts.workers <= 1)
		printf("%ld done, %ld failed, %ld to retry later\n", counts.done, counts.failed,
		       counts.deferred);
	return SM_EXIT_OK;
}

static const char *const queue_statuses[] = {"pending", "claimed", "done", "failed"};

static int queue_list(sm_store *store, const struct args *a)
{
	static const char *const headers[] = {"id",     "status",   "attempts",   "definition",
	                                      "run_id", "trace_id", "created_at", "error"};
	json_t *rows = NULL;
	sm_error err;
	int rc = sm_inbox_list(store, a->status, a->limit, &rows, &err);

	if (rc != SM_EXIT_OK)
		return sm_err_report(rc, &err);
	if (as_json(a)) {
		json_lines(rows);
	} else {
		size_t i;
		json_t *row;
		sm_table *t = sm_table_new(8, headers);
		json_array_foreach(rows, i, row)
		{
			const char *status = json_string_value(json_object_get(row, "status"));
			char id[32], attempts[32];
			snprintf(id, sizeof id, "%lld",
			         (long long)json_integer_value(json_object_get(row, "id")));
			snprintf(attempts, sizeof attempts, "%lld",
			         (long long)json_integer_value(json_object_get(row, "attempts")));
			sm_table_row(t);
			sm_table_cell(t, id, SM_COLOR_BOLD);
			sm_table_cell(t, status,
			              strcmp(status, "failed") == 0 ? SM_COLOR_RED
			              : strcmp(status, "done") == 0 ? SM_COLOR_GREEN
			                                            : SM_COLOR_YELLOW);
			sm_table_cell(t, attempts, SM_COLOR_NONE);
			sm_table_cell(t,
			              json_string_value(json_object_get(row, "definition")) ?: "",
			              SM_COLOR_NONE);
			sm_table_cell(t, json_string_value(json_object_get(row, "run_id")) ?: "",
			              SM_COLOR_NONE);
			sm_table_cell(t, json_string_value(json_object_get(row, "trace_id")) ?: "",
			              SM_COLOR_DIM);
			sm_table_cell(t,
			              json_string_value(json_object_get(row, "created_at")) ?: "",
			              SM_COLOR_NONE);
			sm_table_cell(t, json_string_value(json_object_get(row, "error")) ?: "",
			              SM_COLOR_NONE);
		}
		table_out(t);
	}
	json_decref(rows);
	return SM_EXIT_OK;
}

static int queue_command(struct args *a)
{
	static const char usage[] = "usage: sm-pipeline queue [--status S] [--limit N] [--json] | "
	                            "queue retry ID|--failed";
	bool retry = a->noperands > 1 && strcmp(a->operands[1], "retry") == 0;
	sm_store *store = NULL;
	sm_error err = {0};
	long long id = 0, count = 0;
	int rc;

	if (retry ? a->noperands != (a->failed ? 2 : 3) : (a->noperands != 1 || a->failed))
		return sm_err(SM_EXIT_USAGE, "%s", usage);
	if (retry && !a->failed) {
		char *end;
		errno = 0;
		id = strtoll(a->operands[2], &end, 10);
		if (errno || *end || end == a->operands[2] || id < 1)
			return sm_err(SM_EXIT_USAGE, "queue retry: expected an item id, got '%s'",
			              a->operands[2]);
	}
	if (!retry && a->status) {
		bool known = false;
		for (size_t i = 0; i < sizeof queue_statuses / sizeof queue_statuses[0]; i++)
			known = known || strcmp(queue_statuses[i], a->status) == 0;
		if (!known)
			return sm_err(
			    SM_EXIT_USAGE,
			    "--status: expected pending, claimed, done or failed, got '%s'",
			    a->status);
	}
	if ((rc = open_store(&store)) != SM_EXIT_OK)
		return rc;
	if (!retry) {
		rc = queue_list(store, a);
	} else if ((rc = sm_inbox_retry(store, id, &count, &err)) != SM_EXIT_OK) {
		sm_err_report(rc, &err);
	} else {
		printf("%lld item%s back in the queue\n", count, count == 1 ? "" : "s");
	}
	sm_store_close(store);
	return rc;
}

static void print_route_text(const json_t *env, const json_t *d, bool known)
{
	const json_t *skip, *pr = json_object_get(d, "priority");
	const char *title =
	    json_string_value(json_object_get(json_object_get(env, "incident"), "title"));
	const char *source =
	    json_string_value(json_object_get(json_object_get(d, "facts"), "source"));
	size_t i;

	printf("%s%s%s -> %s", source ? source : "", title ? ": " : "", title ? title : "",
	       json_string_value(json_object_get(d, "definition")));
	if (json_is_integer(pr))
		printf(" (priority %lld)", (long long)json_integer_value(pr));
	printf(": %s%s\n", json_string_value(json_object_get(d, "reason")),
	       known ? "" : " [no such definition: the item would fail]");
	json_array_foreach(json_object_get(d, "skipped"), i, skip)
	{
		printf("  not %s (priority %lld): %s\n",
		       json_string_value(json_object_get(skip, "definition")),
		       (long long)json_integer_value(json_object_get(skip, "priority")),
		       json_string_value(json_object_get(skip, "failed")));
	}
}

static int route_command(struct args *a)
{
	sm_store *store = NULL;
	json_t *list, *env;
	sm_error err = {0};
	size_t i;
	int rc;

	if (a->noperands > 2)
		return sm_err(SM_EXIT_USAGE, "usage: sm-pipeline route [ENVELOPE-FILE|-] [--json]");
	a->payload = a->noperands == 2 ? a->operands[1] : "-";
	if (!(list = read_input(a, &rc)))
		return rc;
	if ((rc = open_store(&store)) != SM_EXIT_OK) {
		json_decref(list);
		return rc;
	}
	json_array_foreach(list, i, env)
	{
		json_t *d = NULL, *def = NULL;
		sm_error lerr;
		bool known;
		if ((rc = sm_pipeline_route(store, env, a->definition, &d, &err)) != SM_EXIT_OK) {
			sm_err_report(rc, &err);
			break;
		}
		known = sm_pipeline_load(store, json_string_value(json_object_get(d, "definition")),
		                         &def, NULL, &lerr) == SM_EXIT_OK;
		json_decref(def);
		json_object_set_new(d, "known", json_boolean(known));
		if (json_is_string(json_object_get(env, "trace_id")))
			json_object_set(d, "trace_id", json_object_get(env, "trace_id"));
		if (as_json(a))
			sm_envelope_write(stdout, d, NULL);
		else
			print_route_text(env, d, known);
		json_decref(d);
	}
	json_decref(list);
	sm_store_close(store);
	return rc;
}

/* --- the operator's view -------------------------------------------------------- */

/* The page on standard output; the exit status as status's. */
static int status_html(void)
{
	enum sm_status level = SM_UNKNOWN;
	sm_store *store = NULL;
	sm_error err = {0};
	int rc;

	rc = sm_store_open_readonly(NULL, &store, &err);
	if (rc == 0)
		rc = sm_pipeline_status_html(store, time(NULL), stdout, &level, &err);
	sm_store_close(store);
	if (rc < 0)
		return sm_err_report(SM_UNKNOWN, &err);
	return fflush(stdout) == 0 ? (int)level
	                           : sm_err(SM_UNKNOWN, "standard output: write failed");
}

/* Text even on a pipe (a monitoring plugin reads it through one); the exit
 * status is the worst open problem, 3 when the store cannot be read. */
static int status_command(struct args *a)
{
	enum sm_status level = SM_UNKNOWN;
	sm_store *store = NULL;
	json_t *status = NULL;
	sm_error err = {0};

	if (a->noperands != 1 || (a->json && a->html))
		return sm_err(SM_EXIT_USAGE, "usage: sm-pipeline status [--json | --html]");
	if (a->html)
		return status_html();
	if (sm_store_open_readonly(NULL, &store, &err) < 0 ||
	    sm_pipeline_status(store, time(NULL), &status, &level, &err) < 0) {
		sm_store_close(store);
		if (!a->json)
			printf("SM UNKNOWN - %s\n", err.msg);
		sm_err_report(SM_UNKNOWN, &err);
		return SM_UNKNOWN;
	}
	sm_store_close(store);
	if (a->json)
		sm_envelope_write(stdout, status, NULL);
	else
		sm_pipeline_status_print(status, stdout, sm_term_color(stdout),
		                         sm_term_isatty(stdout) ? sm_term_columns(stdout) : 0);
	json_decref(status);
	return (int)level;
}

static long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* The retention is settled before the store is opened: bad input removes
 * nothing. */
static int prune_command(struct args *a)
{
	sm_pipeline_retention retention;
	sm_store *store = NULL;
	json_t *report = NULL;
	sm_error err = {0};
	long long before = 0, after = 0;
	int rc;

	if (a->noperands != 1)
		return sm_err(SM_EXIT_USAGE, "usage: sm-pipeline prune [--older-than DURATION] "
		                             "[--dry-run] [--vacuum] [--json]");
	if (sm_pipeline_prune_retention(getenv("SM_RETENTION"), &retention, &err) < 0)
		return sm_err_report(sm_error_exit(&err), &err);
	if (a->older_than) {
		long long seconds;
		if (sm_pipeline_prune_duration(a->older_than, &seconds) < 0)
			return sm_err(
			    SM_EXIT_USAGE,
			    "--older-than: expected a duration such as 90s, 15m, 4h or 7d, "
			    "got '%s'",
			    a->older_than);
		for (int k = 0; k < SM_RETAIN_KINDS; k++)
			retention.seconds[k] = seconds;
	}
	if ((rc = open_store(&store)) != SM_EXIT_OK)
		return rc;
	before = file_size(sm_store_path(store));
	rc = sm_pipeline_prune(store, &retention, time(NULL), a->dry_run, &report, &err);
	if (rc == SM_EXIT_OK && a->vacuum && !a->dry_run) {
		if (sm_pipeline_prune_vacuum(store, &err) < 0)
			rc = SM_EXIT_FAILURE;
		after = file_size(sm_store_path(store));
	}
	sm_store_close(store);
	if (rc != SM_EXIT_OK) {
		json_decref(report);
		return sm_err_report(rc, &err);
	}
	if (a->vacuum && !a->dry_run) {
		json_object_set_new(report, "size_before", json_integer(before));
		json_object_set_new(report, "size_after", json_integer(after));
	}
	if (a->json) {
		sm_envelope_write(stdout, report, NULL);
	} else {
		const char *table;
		json_t *n;
		json_object_foreach(json_object_get(report, "removed"), table, n)
		{
			printf("%-24s %10lld %s\n", table, (long long)json_integer_value(n),
			       a->dry_run ? "to remove (dry run)" : "removed");
		}
		if (a->vacuum && !a->dry_run)
			printf("store file %lld -> %lld bytes\n", before, after);
	}
	json_decref(report);
	return SM_EXIT_OK;
}

/* --- flags --------------------------------------------------------------------- */

static int add_word(const char ***list, size_t *n, const char *word)
{
	const char **p = realloc(*list, (*n + 2) * sizeof *p);

	if (!p)
		return sm_err(SM_EXIT_FAILURE, "out of memory");
	p[(*n)++] = word;
	p[*n] = NULL;
	*list = p;
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	int opt;
	char *end;

	opterr = 0;
	a->limit = 20;
	while ((opt = getopt_long(argc, argv, ":hd:", long_options, NULL)) != -1) {
		switch (opt) {
		case 'd':
			a->definition = optarg;
			break;
		case OPT_CONFIG:
			a->config = optarg;
			break;
		case OPT_PAYLOAD:
			a->payload = optarg;
			break;
		case OPT_SAMPLE:
			a->sample = true;
			break;
		case OPT_DRY_RUN:
			a->dry_run = true;
			break;
		case OPT_CHECKS_ONLY:
			a->checks_only = true;
			break;
		case OPT_SOURCE:
			a->source = optarg;
			break;
		case OPT_TRACE_ID:
			a->trace_id = optarg;
			break;
		case OPT_STATUS:
			a->status = optarg;
			break;
		case OPT_LIMIT:
			errno = 0;
			a->limit = strtol(optarg, &end, 10);
			if (errno || *end || a->limit < 0 || end == optarg)
				return sm_err(SM_EXIT_USAGE,
				              "--limit: expected a whole number, got '%s'", optarg);
			break;
		case OPT_ATTEMPTS:
			a->attempts = true;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_HTML:
			a->html = true;
			break;
		case OPT_PRESET:
			a->setup.preset = optarg;
			break;
		case OPT_NAME:
			a->setup.name = optarg;
			break;
		case OPT_CHANNEL:
			if (add_word(&a->setup.channels, &a->setup.nchannels, optarg))
				return SM_EXIT_FAILURE;
			break;
		case OPT_CHECKER:
			if (add_word(&a->setup.checkers, &a->setup.ncheckers, optarg))
				return SM_EXIT_FAILURE;
			break;
		case OPT_PROVIDER:
			a->setup.provider = optarg;
			break;
		case OPT_ONCE:
			a->once = true;
			break;
		case OPT_FAILED:
			a->failed = true;
			break;
		case OPT_OLDER_THAN:
			a->older_than = optarg;
			break;
		case OPT_VACUUM:
			a->vacuum = true;
			break;
		case OPT_WORKERS:
			errno = 0;
			a->workers = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || a->workers < 1 || a->workers > 64)
				return sm_err(
				    SM_EXIT_USAGE,
				    "--workers: expected a whole number from 1 to 64, got '%s'",
				    optarg);
			break;
		default: /* -h, --version, getopt failures */
			return sm_cli_option(opt, usage_text, argv);
		}
	}
	a->operands = argv + optind;
	a->noperands = argc - optind;
	return 0;
}

static const struct {
	const char *name;
	int (*run)(struct args *a);
} commands[] = {
    {"run", run_command},       {"resume", resume_command},         {"runs", runs_command},
    {"show", show_command},     {"definition", definition_command}, {"setup", setup_command},
    {"work", work_command},     {"queue", queue_command},           {"route", route_command},
    {"status", status_command}, {"prune", prune_command},
};

int main(int argc, char **argv)
{
	struct args a = {0};
	sm_error err;
	int rc, config_rc;

	sm_err_set_progname(argv[0]);
	sm_log_init("sm-pipeline");
	if (sm_request_fcgi_wanted(argc, argv)) /* a web server's FastCGI responder */
		return sm_request_fcgi_serve("sm-pipeline", argc, argv, sm_pipeline_http);
	if (getenv("GATEWAY_INTERFACE")) /* run by a web server: answer its request */
		return sm_pipeline_http_cgi(sm_config_load(&err) < 0 ? &err : NULL);
	/* A broken env file is reported after the arguments: --help and
	 * --version still answer. */
	config_rc = sm_config_load(&err);
	rc = parse_args(argc, argv, &a);
	if (rc == 0 && config_rc < 0)
		rc = sm_err_report(SM_EXIT_FAILURE, &err);
	if (rc == 0 && a.noperands == 0)
		rc = sm_err(SM_EXIT_USAGE, "no command (see sm-pipeline --help)");
	for (size_t i = 0; rc == 0 && i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, a.operands[0]) == 0) {
			rc = commands[i].run(&a);
			goto done;
		}
	if (rc == 0)
		rc = sm_err(SM_EXIT_USAGE, "unknown command '%s' (see sm-pipeline --help)",
		            a.operands[0]);
done:
	free(a.setup.channels);
	free(a.setup.checkers);
	return sm_cli_finish(rc); /* every listing and envelope went to stdout */
}
