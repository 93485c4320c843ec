/* pipeline_http.c - the /orchestration/ endpoints (see pipeline_http.h):
 * a route table for sm_request_dispatch (request.h), which checks what
 * every API checks before an endpoint opens the store. Every answer is a
 * JSON body; a rejected request stores nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm/alert.h"
#include "sm/err.h"
#include "sm/inbox.h"
#include "sm/ingest.h"
#include "sm/json.h"
#include "sm/log.h"
#include "sm/pipeline.h"
#include "sm/pipeline_http.h"
#include "sm/pipeline_route.h"
#include "sm/pipeline_run.h"
#include "sm/pipeline_status_html.h"
#include "sm/store.h"
#include "sm/trace.h"

/* The answers of this file: an error, logged and answered as JSON. */
static int reject(const sm_request *req, int status, const char *extra_header, const char *message)
{
	sm_request_error(req, status, extra_header, message, NULL);
	return 0;
}

/* An error answer whose message is prefix then arg (a name, a reason). */
static void rejectf(sm_request_call *c, int status, const char *prefix, const char *arg)
{
	sm_request_errorf(c->req, status, NULL, "%s%s", prefix, arg);
}

/* --- runs --------------------------------------------------------------------- */

/* The run as answered: its detail with the envelopes the last node wrote. */
static void respond_run(sm_request_call *c, int status, const char *run_id, json_t *output)
{
	json_t *run = NULL;
	sm_error err = {0};

	if (sm_pipeline_run_get(c->store, run_id, false, &run, &err) != SM_EXIT_OK) {
		sm_log_kv(SM_LOG_ERROR, "cannot read the run", "error", err.msg, SM_LOG_END);
		reject(c->req, 500, NULL, "cannot read the run");
		return;
	}
	json_object_set(run, "output", output ? output : json_null());
	sm_request_respond(c->req, status, NULL, run);
}

static void runs_list(sm_request_call *c)
{
	char status[64], source[128], limit_text[32], *end;
	json_t *runs = NULL, *out, *r;
	sm_error err = {0};
	long long limit = 50;
	int has_status, has_source, has_limit;
	size_t i;

	has_status = sm_request_query(c->req, "status", status, sizeof status);
	has_source = sm_request_query(c->req, "source", source, sizeof source);
	has_limit = sm_request_query(c->req, "limit", limit_text, sizeof limit_text);
	if (has_status < 0 || has_source < 0 || has_limit < 0) {
		reject(c->req, 400, NULL, "malformed query string");
		return;
	}
	if (has_limit) {
		errno = 0;
		limit = strtoll(limit_text, &end, 10);
		if (errno || end == limit_text || *end || limit < 0 || limit > 1000000) {
			rejectf(c, 400,
			        "limit: expected a whole number from 0 to 1000000: ", limit_text);
			return;
		}
	}
	if (!sm_request_store(c))
		return;
	if (sm_pipeline_runs(c->store, has_status ? status : NULL, 0, &runs, &err) != SM_EXIT_OK) {
		sm_log_kv(SM_LOG_ERROR, "cannot list runs", "error", err.msg, SM_LOG_END);
		reject(c->req, 500, NULL, "cannot list runs");
		return;
	}
	out = json_array();
	json_array_foreach(runs, i, r)
	{
		const char *s = json_string_value(json_object_get(r, "source"));
		if ((long long)json_array_size(out) >= limit && limit > 0)
			break;
		if (has_source && (!s || strcmp(s, source) != 0))
			continue;
		json_array_append(out, r);
	}
	json_decref(runs);
	sm_request_respond(
	    c->req, 200, NULL,
	    json_pack("{s:I,s:o}", "count", (json_int_t)json_array_size(out), "runs", out));
}

static void run_detail(sm_request_call *c)
{
	json_t *run = NULL;
	sm_error err = {0};
	int rc;

	if (!sm_request_store(c))
		return;
	rc = sm_pipeline_run_get(c->store, c->seg[1], false, &run, &err);
	if (rc == SM_EXIT_USAGE) {
		rejectf(c, 404, "pipeline run not found: ", c->seg[1]);
		return;
	}
	if (rc != SM_EXIT_OK) {
		sm_log_kv(SM_LOG_ERROR, "cannot read the run", "error", err.msg, SM_LOG_END);
		reject(c->req, 500, NULL, "cannot read the run");
		return;
	}
	sm_request_respond(c->req, 200, NULL, run);
}

static void run_resume(sm_request_call *c)
{
	sm_pipeline_result res = {0};
	sm_error err = {0};
	int rc;

	if (!sm_request_store(c))
		return;
	rc = sm_pipeline_resume(c->store, c->seg[1], &res, &err);
	if (rc == SM_EXIT_USAGE)
		rejectf(c, 404, "pipeline run not found: ", c->seg[1]);
	else if (rc == SM_EXIT_FAILURE)
		reject(c->req, 400, NULL, err.msg);
	else if (rc != SM_EXIT_OK)
		reject(c->req, 500, NULL, "cannot resume the run");
	else
		respond_run(c, 200, res.run_id, res.output);
	sm_pipeline_result_clear(&res);
}

/* --- definitions ------------------------------------------------------------- */

static void defs_list(sm_request_call *c)
{
	json_t *defs = NULL;
	sm_error err = {0};

	if (!sm_request_store(c))
		return;
	if (sm_pipeline_list(c->store, &defs, &err) != SM_EXIT_OK) {
		sm_log_kv(SM_LOG_ERROR, "cannot list definitions", "error", err.msg, SM_LOG_END);
		reject(c->req, 500, NULL, "cannot list definitions");
		return;
	}
	sm_request_respond(c->req, 200, NULL,
	                   json_pack("{s:I,s:o}", "count", (json_int_t)json_array_size(defs),
	                             "definitions", defs));
}

/* The definition named name into *def: false after answering 404. */
static bool load_def(sm_request_call *c, const char *name, json_t **def, bool *builtin)
{
	sm_error err = {0};

	if (sm_pipeline_load(c->store, name, def, builtin, &err) == SM_EXIT_OK)
		return true;
	rejectf(c, 404, "pipeline definition not found: ", name);
	return false;
}

static void def_detail(sm_request_call *c)
{
	json_t *def = NULL;
	bool builtin = false;

	if (!sm_request_store(c) || !load_def(c, c->seg[1], &def, &builtin))
		return;
	sm_request_respond(
	    c->req, 200, NULL,
	    json_pack("{s:s,s:b,s:o}", "name", c->seg[1], "builtin", builtin, "definition", def));
}

static void def_validate(sm_request_call *c)
{
	json_t *def = NULL, *problems;

	if (!sm_request_store(c) || !load_def(c, c->seg[1], &def, NULL))
		return;
	problems = sm_pipeline_validate(def);
	json_decref(def);
	sm_request_respond(c->req, 200, NULL,
	                   json_pack("{s:s,s:b,s:o}", "name", c->seg[1], "valid",
	                             json_array_size(problems) == 0, "errors", problems));
}

/* --- triggers ------------------------------------------------------------------ */

/* The trigger body's fields: false after answering 400. */
static bool trigger_fields(sm_request_call *c, json_t **payload, const char **source,
                           const char **trace, const char **definition)
{
	json_t *p = json_object_get(c->body, "payload"), *s = json_object_get(c->body, "source"),
	       *t = json_object_get(c->body, "trace_id"),
	       *d = json_object_get(c->body, "definition");

	if (p && !json_is_object(p))
		return reject(c->req, 400, NULL, "payload must be a JSON object"), false;
	if ((s && !json_is_string(s)) || (d && !json_is_string(d)) || (t && !json_is_string(t)))
		return reject(c->req, 400, NULL, "source, trace_id and definition must be strings"),
		       false;
	if (t && !sm_trace_valid(json_string_value(t)))
		return reject(c->req, 400, NULL, "trace_id is not a valid trace id"), false;
	*payload = p;
	*source = s ? json_string_value(s) : NULL;
	*trace = t ? json_string_value(t) : NULL;
	*definition = d ? json_string_value(d) : NULL;
	return true;
}

/* Run def at once from its first node on the body's payload; 200 with the
 * run, whatever its outcome. */
static void run_now(sm_request_call *c, const char *name, const json_t *def, json_t *payload,
                    const char *source, const char *trace)
{
	sm_pipeline_result res = {0};
	sm_error err = {0};
	json_t *input =
	    payload && json_object_size(payload) ? json_pack("[O]", payload) : json_array();
	sm_pipeline_run_opts opts = {.definition_name = name,
	                             .definition = def,
	                             .input = input,
	                             .source = source ? source : "api",
	                             .trace_id = trace};
	int rc;

	rc = sm_pipeline_run(c->store, &opts, &res, &err);
	if (rc == SM_EXIT_OK && strcmp(res.status, "rejected") == 0)
		rejectf(c, 400, "input refused: ", res.error);
	else if (rc == SM_EXIT_USAGE || rc == SM_EXIT_DATAERR)
		reject(c->req, 400, NULL, err.msg);
	else if (rc != SM_EXIT_OK)
		reject(c->req, 500, NULL, "cannot run the definition");
	else
		respond_run(c, 200, res.run_id, res.output);
	sm_pipeline_result_clear(&res);
	json_decref(input);
}

static void def_execute(sm_request_call *c)
{
	json_t *def = NULL, *payload;
	const char *source, *trace, *ignored;

	if (!trigger_fields(c, &payload, &source, &trace, &ignored) || !sm_request_store(c) ||
	    !load_def(c, c->seg[1], &def, NULL))
		return;
	run_now(c, c->seg[1], def, payload, source, trace);
	json_decref(def);
}

/* The trigger's definition: the one it names, else the routed one for the
 * body taken as an envelope. NULL after answering. */
static char *trigger_definition(sm_request_call *c, const char *named, json_t **def)
{
	json_t *route = NULL;
	sm_error err = {0};
	char *name;

	if (named)
		return load_def(c, named, def, NULL) ? strdup(named) : NULL;
	if (sm_pipeline_route(c->store, c->body, NULL, &route, &err) != SM_EXIT_OK) {
		sm_log_kv(SM_LOG_ERROR, "cannot route", "error", err.msg, SM_LOG_END);
		reject(c->req, 500, NULL, "cannot route the request");
		return NULL;
	}
	name = strdup(json_string_value(json_object_get(route, "definition")));
	json_decref(route);
	if (sm_pipeline_load(c->store, name, def, NULL, &err) != SM_EXIT_OK) {
		sm_log_kv(SM_LOG_ERROR, "routed to an unknown definition", "definition", name,
		          SM_LOG_END);
		reject(c->req, 500, NULL, "server misconfigured: routed to an unknown definition");
		free(name);
		return NULL;
	}
	return name;
}

static void trigger_sync(sm_request_call *c)
{
	json_t *def = NULL, *payload;
	const char *source, *trace, *named;
	char *name;

	if (!trigger_fields(c, &payload, &source, &trace, &named) || !sm_request_store(c))
		return;
	if (!(name = trigger_definition(c, named, &def)))
		return;
	run_now(c, name, def, payload, source ? source : "webhook", trace);
	json_decref(def);
	free(name);
}

/* Ingest the payload now, as the webhook handler does, and queue one
 * envelope per incident touched, each with the id of the run a worker
 * will record for it: 202 with the ids after the commit. */
static void trigger_async(sm_request_call *c)
{
	json_t *def = NULL, *payload, *envs = NULL, *ids = NULL, *env;
	const char *source, *trace, *named;
	char trace_buf[SM_TRACE_LEN + 1];
	const sm_driver *used = NULL;
	sm_alert_batch batch = {0};
	sm_ingest *ingest = NULL;
	sm_error err = {0};
	size_t i;
	bool began = false, busy;

	if (!trigger_fields(c, &payload, &source, &trace, &named))
		return;
	if (!payload || json_object_size(payload) == 0) {
		reject(c->req, 400, NULL, "payload: an alert to queue is required");
		return;
	}
	if (sm_driver_parse(NULL, payload, &used, &batch, &err) < 0) {
		reject(c->req, 422, NULL, err.msg);
		goto out;
	}
	if (!sm_request_store(c))
		goto out;
	if (named && !load_def(c, named, &def, NULL))
		goto out;
	if (!trace) {
		if (sm_trace_new(trace_buf) < 0) {
			reject(c->req, 500, NULL, "no randomness for a trace id");
			goto out;
		}
		trace = trace_buf;
	}
	envs = json_array();
	ids = json_array();
	if (!(ingest = sm_ingest_new(c->store, &err)) || sm_store_begin(c->store, &err) < 0)
		goto fail;
	began = true;
	if (sm_ingest_apply(ingest, &batch, trace, envs, &err) < 0)
		goto fail;
	json_array_foreach(envs, i, env)
	{
		char run_id[SM_PIPELINE_ID_LEN + 1];
		if (source)
			json_object_set_new(env, "source", json_string(source));
		if (sm_pipeline_new_run_id(run_id) < 0) {
			sm_error_set(&err, "no randomness for a run id");
			goto fail;
		}
		if (sm_inbox_put_run(c->store, env, run_id, named, &err) < 0)
			goto fail;
		json_array_append_new(ids, json_string(run_id));
	}
	if (sm_store_commit(c->store, &err) < 0)
		goto fail;
	sm_inbox_wake(c->store);
	sm_log_kv(SM_LOG_INFO, "trigger queued", "driver", used->name, SM_LOG_END);
	sm_request_respond(c->req, 202, NULL,
	                   json_pack("{s:s,s:O,s:O,s:s,s:s}", "status", "accepted", "run_id",
	                             json_array_size(ids) ? json_array_get(ids, 0) : json_null(),
	                             "run_ids", ids, "trace_id", trace, "message",
	                             "queued for sm-pipeline work"));
	goto out;
fail:
	sm_log_kv(SM_LOG_ERROR, "cannot queue", "error", err.msg, SM_LOG_END);
	busy = (sqlite3_extended_errcode(sm_store_db(c->store)) & 0xff) == SQLITE_BUSY ||
	       (sqlite3_extended_errcode(sm_store_db(c->store)) & 0xff) == SQLITE_LOCKED;
	if (began)
		sm_store_rollback(c->store);
	/* Contention passes: the client may try again, as with a webhook. */
	if (busy)
		reject(c->req, 503, "Retry-After: 1", "store busy, try again");
	else
		reject(c->req, 500, NULL, "cannot queue the trigger");
out:
	sm_ingest_free(ingest);
	sm_batch_clear(&batch);
	json_decref(envs);
	json_decref(ids);
	json_decref(def);
}

/* --- dispatch ------------------------------------------------------------------ */

/* The endpoints; "*" is a run id or a definition name (pipeline/sync, a
 * literal, is never a run). */
static const sm_request_route routes[] = {
    {"POST", {"pipeline", NULL}, trigger_async, false},
    {"POST", {"pipeline", "sync", NULL}, trigger_sync, false},
    {"GET", {"pipelines", NULL}, runs_list, false},
    {"GET", {"pipeline", "*", NULL}, run_detail, false},
    {"POST", {"pipeline", "*", "resume", NULL}, run_resume, false},
    {"GET", {"definitions", NULL}, defs_list, false},
    {"GET", {"definitions", "*", NULL}, def_detail, false},
    {"POST", {"definitions", "*", "validate", NULL}, def_validate, false},
    {"POST", {"definitions", "*", "execute", NULL}, def_execute, false},
    {NULL, {NULL}, NULL, false},
};

static const sm_request_route *const route_tables[] = {routes, NULL};

/* The web server maps two prefixes to this program: /status (the page)
 * and /orchestration (the API); SCRIPT_NAME says which was asked for. */
static bool status_page(const char *script_name)
{
	const char *last = script_name ? strrchr(script_name, '/') : NULL;

	return last && strcmp(last, "/status") == 0;
}

int sm_pipeline_http(const sm_request *req)
{
	if (status_page(req->param(req->src, "SCRIPT_NAME")))
		return sm_pipeline_status_http(req);
	return sm_request_dispatch(req, "/orchestration/", route_tables, NULL);
}

int sm_pipeline_http_cgi(const sm_error *config_err)
{
	return sm_request_cgi_serve(sm_pipeline_http, config_err);
}
