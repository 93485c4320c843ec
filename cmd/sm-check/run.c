/* run.c - running the selected checkers (slow ones on their own threads),
 * recording them in one transaction, and building the envelope. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sm/envelope.h"
#include "sm/ingest.h"
#include "sm/log.h"
#include "sm/rfc3339.h"
#include "sm/term.h"
#include "sm-check.h"

/* --label KEY=VALUE words onto each alert of the batch (over the driver's
 * own labels of the same key). */
static int add_labels(sm_alert_batch *batch, char *const *labels, size_t nlabels)
{
	for (size_t l = 0; l < nlabels; l++) {
		const char *eq = strchr(labels[l], '=');
		char *key = strndup(labels[l], (size_t)(eq - labels[l]));
		if (!key)
			return -1;
		for (size_t i = 0; i < batch->count; i++)
			sm_alert_label(&batch->items[i], key, eq + 1);
		free(key);
	}
	return 0;
}

/* The alert each result became or resolved, from the incident envelopes
 * of the batch: ids[i] for results[i] (batch->items[i]), 0 for none (an OK
 * result with no firing alert to resolve). */
static void alert_ids(const sm_alert_batch *batch, json_t *incidents, long long *ids)
{
	size_t i, j;
	json_t *env, *alert;

	json_array_foreach(incidents, i, env)
	{
		json_array_foreach(json_object_get(env, "alerts"), j, alert)
		{
			const char *fp = json_string_value(json_object_get(alert, "fingerprint"));
			const char *status = json_string_value(json_object_get(alert, "status"));
			const char *change = json_string_value(json_object_get(alert, "change"));
			bool linked = (status && strcmp(status, "firing") == 0) ||
			              (change && strcmp(change, "resolved") == 0);
			for (size_t k = 0; fp && linked && k < batch->count; k++)
				if (strcmp(batch->items[k].fingerprint, fp) == 0)
					ids[k] = json_integer_value(json_object_get(alert, "id"));
		}
	}
}

/* Record the results (and, with --alerts, the alerts they make from the
 * check envelope env) in one transaction; the incident envelopes of the
 * alerts are appended to out. With --alerts the alerts go first, so each
 * check_runs row names its alert. */
static int record(struct check_run *run, const sm_check_result *results, size_t n,
                  const char *trace_id, json_t *env, json_t *out)
{
	sm_alert_batch batch = {0};
	long long *ids = NULL;
	sm_error err;

	if (!run->store)
		return -1; /* already reported when opening failed */
	if (sm_store_begin(run->store, &err) < 0)
		goto fail;
	if (run->alerts) {
		/* The same write path as a webhook: driver local. */
		if (!run->ingest && !(run->ingest = sm_ingest_new(run->store, &err)))
			goto rollback;
		if (sm_driver_parse(sm_driver_find("local"), env, NULL, &batch, &err) < 0)
			goto rollback;
		if (add_labels(&batch, run->labels, run->nlabels) < 0 ||
		    !(ids = calloc(n ? n : 1, sizeof *ids))) {
			sm_error_set(&err, "out of memory");
			goto rollback;
		}
		if (sm_ingest_apply(run->ingest, &batch, trace_id, out, &err) < 0)
			goto rollback;
		if (batch.count == n) /* one alert per result, in order */
			alert_ids(&batch, out, ids);
	}
	for (size_t i = 0; i < n; i++)
		if (sm_check_record(run->store, &results[i], run->hostname, trace_id,
		                    ids ? ids[i] : 0, &err) < 0)
			goto rollback;
	if (sm_store_commit(run->store, &err) < 0)
		goto rollback;
	if (run->alerts)
		sm_batch_clear(&batch);
	free(ids);
	return 0;
rollback:
	sm_store_rollback(run->store);
	json_array_clear(out);
fail:
	if (run->alerts)
		sm_batch_clear(&batch);
	free(ids);
	sm_err(SM_UNKNOWN, "cannot record check runs: %s", err.msg);
	return -1;
}

static void tally_add(struct tally *t, const sm_check_result *results, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (results[i].status) {
		case SM_OK:
			t->ok++;
			break;
		case SM_WARNING:
			t->warning++;
			break;
		case SM_CRITICAL:
			t->critical++;
			break;
		default:
			t->unknown++;
			break;
		}
	}
}

int check_exit_status(const struct check_run *run)
{
	const struct tally *t = &run->tally;

	if (t->critical)
		return SM_CRITICAL;
	if (run->fail_on_critical)
		return SM_OK;
	if (t->warning && (run->fail_on_warning || run->output == OUTPUT_NAGIOS))
		return SM_WARNING;
	if (t->unknown)
		return SM_UNKNOWN;
	return SM_OK;
}

static void add_checks(json_t *env, const sm_check_result *results, size_t n)
{
	json_t *checks = json_object_get(env, "checks");

	if (!json_is_array(checks)) {
		checks = json_array();
		json_object_set_new(env, "checks", checks);
	}
	for (size_t i = 0; i < n; i++)
		json_array_append_new(checks, sm_check_result_json(&results[i]));
}

static void clear_all(sm_check_result *results, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sm_check_result_clear(&results[i]);
	free(results);
}

/* Run the checkers for one trace; the caller owns *out (n results). */
static void run_timed(struct check_run *run, const sm_checker **selected, size_t n,
                      sm_check_result **out, char started[SM_RFC3339_LEN], double *ms)
{
	struct timespec t0, t1;
	sm_check_result *results = calloc(n ? n : 1, sizeof *results);

	*out = results;
	if (!results) {
		sm_err(SM_UNKNOWN, "out of memory");
		return;
	}
	sm_rfc3339_now(started, true);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	sm_check_run_many(selected, n, &run->opts, results);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*ms = sm_elapsed_ms(&t0, &t1);
	for (size_t i = 0; i < n; i++)
		if (results[i].status != SM_OK)
			sm_log_kv(SM_LOG_INFO, "check result", "checker", results[i].checker,
			          "status", sm_status_name(results[i].status), "message",
			          results[i].message, SM_LOG_END);
	tally_add(&run->tally, results, n);
}

int check_run_envelope(struct check_run *run, const sm_checker **selected, size_t n, json_t *env)
{
	char started[SM_RFC3339_LEN];
	const char *trace_id = sm_envelope_trace_id(env);
	sm_check_result *results = NULL;
	double ms = 0;
	int rc;

	run_timed(run, selected, n, &results, started, &ms);
	if (!results) {
		sm_envelope_add_stage(env, "check", "failed", started, 0, "out of memory");
		return SM_EXIT_FAILURE;
	}
	rc = record(run, results, n, trace_id, NULL, NULL);
	if (!json_is_string(json_object_get(env, "host")))
		json_object_set_new(env, "host", json_string(run->hostname));
	add_checks(env, results, n);
	sm_envelope_add_stage(env, "check", rc < 0 ? "failed" : "ok", started, sm_round(ms, 3),
	                      rc < 0 ? "cannot record check runs" : NULL);
	clear_all(results, n);
	return rc < 0 ? SM_EXIT_FAILURE : SM_EXIT_OK;
}

/* With --alerts: each incident envelope also carries the checks behind its
 * alerts and the check stage; the ingest stage is already in it. */
static void merge_checks(json_t *incident_env, json_t *check_env)
{
	json_t *checks = json_array(), *alert, *check, *stage;
	size_t i, j;

	json_array_foreach(json_object_get(incident_env, "alerts"), i, alert)
	{
		const char *checker =
		    json_string_value(json_object_get(json_object_get(alert, "labels"), "checker"));
		json_array_foreach(json_object_get(check_env, "checks"), j, check)
		{
			const char *name = json_string_value(json_object_get(check, "checker"));
			if (checker && name && strcmp(checker, name) == 0)
				json_array_append(checks, check);
		}
	}
	json_object_set(incident_env, "host", json_object_get(check_env, "host"));
	json_object_set_new(incident_env, "checks", checks);
	stage = json_array_get(json_object_get(check_env, "stages"), 0);
	if (stage)
		json_array_insert(json_object_get(incident_env, "stages"), 0, stage);
}

/* With --alerts, one envelope per incident touched; the check envelope
 * itself when none was. Returns status, or UNKNOWN on a write error. */
static int write_envelopes(json_t *env, json_t *incidents, int status)
{
	sm_error err;
	/* cppcheck-suppress variableScope ; both are json_array_foreach's */
	size_t i;
	/* cppcheck-suppress variableScope */
	json_t *one;

	if (json_array_size(incidents) == 0)
		json_array_append(incidents, env);
	else
		json_array_foreach(incidents, i, one)
		{
			merge_checks(one, env);
		}
	json_array_foreach(incidents, i, one)
	{
		if (sm_envelope_write(stdout, one, &err) < 0)
			return sm_err(SM_UNKNOWN, "%s", err.msg);
	}
	return status;
}

int check_run_once(struct check_run *run, const sm_checker **selected, size_t n)
{
	char started[SM_RFC3339_LEN];
	json_t *env = sm_envelope_new("local", NULL), *incidents = json_array();
	const char *trace_id = sm_envelope_trace_id(env);
	sm_check_result *results = NULL;
	double ms = 0;
	int rc, status;

	sm_log_set_trace(trace_id);
	run_timed(run, selected, n, &results, started, &ms);
	if (!results) {
		json_decref(env);
		json_decref(incidents);
		return SM_UNKNOWN;
	}
	json_object_set_new(env, "host", json_string(run->hostname));
	json_object_set_new(env, "incident", json_null());
	json_object_set_new(env, "alerts", json_array());
	add_checks(env, results, n);
	rc = record(run, results, n, trace_id, env, incidents);
	sm_envelope_add_stage(env, "check", rc < 0 ? "failed" : "ok", started, sm_round(ms, 3),
	                      rc < 0 ? "cannot record check runs" : NULL);
	status = check_exit_status(run);
	if (rc < 0 && status == SM_OK)
		status = SM_UNKNOWN; /* the run could not be recorded */
	switch (run->output) {
	case OUTPUT_TABLE:
		output_table(stdout, results, n, sm_term_color(stdout), sm_term_columns(stdout),
		             run->verbose);
		output_incidents(stdout, incidents);
		break;
	case OUTPUT_NAGIOS:
		output_nagios(stdout, results, n, status);
		break;
	default:
		status = write_envelopes(env, incidents, status);
		break;
	}
	if (fflush(stdout) == EOF)
		status = sm_err(SM_UNKNOWN, "write error on stdout");
	json_decref(env);
	json_decref(incidents);
	clear_all(results, n);
	return status;
}
