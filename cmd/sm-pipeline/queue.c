/* queue.c - sm-pipeline work, queue and route: the worker draining the
 * webhook queue, the queue listing and retries, routing an envelope. */
#include "sm-pipeline.h"

/* --- the queue ------------------------------------------------------------------- */

static const char *const queue_statuses[] = {"pending", "claimed", "done", "failed"};

static void on_stop(int sig)
{
	(void)sig;
	sm_pipeline_work_stop();
}

int work_command(struct args *a)
{
	sm_pipeline_work_opts opts = {.once = a->once,
	                              .workers = (int)a->workers,
	                              .definition = a->definition,
	                              .webhook = a->webhook};
	sm_pipeline_work_counts counts = {0};
	struct sigaction sa;
	sm_error err = {0};
	int rc;

	if (a->noperands != 1)
		return sm_err(SM_EXIT_USAGE,
		              "usage: sm-pipeline work [--once | --webhook ADDRESS] [--workers N] "
		              "[--definition NAME]");
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

int queue_command(struct args *a)
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

int route_command(struct args *a)
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
