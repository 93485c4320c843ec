/* pipeline_http.c - the /orchestration/ endpoints (see pipeline_http.h).
 *
 * Checks, in order, as the webhook handler's: the endpoint (404) and its
 * method (405), the length (400/413), the API key (401), the body within
 * SM_READ_TIMEOUT (408), JSON (400). Only then is the store opened. Every
 * answer is a JSON body; a rejected request stores nothing.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm/alert.h"
#include "sm/auth.h"
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

#define MAX_SEGMENTS 4
#define MAX_NAME     128 /* a run id or definition name in a path */

struct call {
	const sm_request *req;
	char *seg[MAX_SEGMENTS]; /* the path's segments after /orchestration/ */
	char buf[512];           /* holds them */
	int nseg;
	long long length; /* a POST's Content-Length (0 when absent) */
	json_t *body;     /* a POST's JSON object ({} when empty) */
	sm_store *store;
};

typedef void endpoint_fn(struct call *c);

static int reject(const sm_request *req, int status, const char *extra_header, const char *message)
{
	char code[8];

	snprintf(code, sizeof code, "%d", status);
	sm_log_kv(SM_LOG_WARN, "request rejected", "status", code, "reason", message, SM_LOG_END);
	sm_request_respond(req, status, extra_header,
	                   json_pack("{s:s,s:s}", "status", "error", "message", message));
	return 0;
}

/* An error answer whose message is prefix then arg (a name, a reason). */
static void rejectf(struct call *c, int status, const char *prefix, const char *arg)
{
	char msg[1400];

	snprintf(msg, sizeof msg, "%s%s", prefix, arg);
	reject(c->req, status, NULL, msg);
}

static bool open_store(struct call *c)
{
	sm_error err = {0};

	if (sm_store_open(NULL, &c->store, &err) == 0)
		return true;
	sm_log_kv(SM_LOG_ERROR, "cannot open the store", "error", err.msg, SM_LOG_END);
	reject(c->req, 500, NULL, "cannot open the store");
	return false;
}

/* One query-string parameter, percent-decoded into out: 1 found, 0 absent,
 * -1 malformed. */
static int query_param(const sm_request *req, const char *name, char *out, size_t size)
{
	const char *q = req->param(req->src, "QUERY_STRING");
	size_t nlen = strlen(name);

	while (q && *q) {
		size_t len = strcspn(q, "&");
		if (len > nlen && strncmp(q, name, nlen) == 0 && q[nlen] == '=') {
			size_t n = 0;
			for (size_t i = nlen + 1; i < len; i++) {
				unsigned v;
				char ch = q[i];
				if (ch == '+') {
					ch = ' ';
				} else if (ch == '%') {
					if (i + 2 >= len || !isxdigit((unsigned char)q[i + 1]) ||
					    !isxdigit((unsigned char)q[i + 2]) ||
					    sscanf(q + i + 1, "%2x", &v) != 1 || v == 0)
						return -1;
					ch = (char)v;
					i += 2;
				}
				if (n + 1 >= size)
					return -1;
				out[n++] = ch;
			}
			out[n] = '\0';
			return 1;
		}
		q += len;
		if (*q == '&')
			q++;
	}
	return 0;
}

/* --- runs --------------------------------------------------------------------- */

/* The run as answered: its detail with the envelopes the last node wrote. */
static void respond_run(struct call *c, int status, const char *run_id, json_t *output)
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

static void runs_list(struct call *c)
{
	char status[64], source[128], limit_text[32], *end;
	json_t *runs = NULL, *out, *r;
	sm_error err = {0};
	long long limit = 50;
	int has_status, has_source, has_limit;
	size_t i;

	has_status = query_param(c->req, "status", status, sizeof status);
	has_source = query_param(c->req, "source", source, sizeof source);
	has_limit = query_param(c->req, "limit", limit_text, sizeof limit_text);
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
	if (!open_store(c))
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

static void run_detail(struct call *c)
{
	json_t *run = NULL;
	sm_error err = {0};
	int rc;

	if (!open_store(c))
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

static void run_resume(struct call *c)
{
	sm_pipeline_result res = {0};
	sm_error err = {0};
	int rc;

	if (!open_store(c))
		return;
	sm_request_cgi_scrub_env();
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

static void defs_list(struct call *c)
{
	json_t *defs = NULL;
	sm_error err = {0};

	if (!open_store(c))
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
static bool load_def(struct call *c, const char *name, json_t **def, bool *builtin)
{
	sm_error err = {0};

	if (sm_pipeline_load(c->store, name, def, builtin, &err) == SM_EXIT_OK)
		return true;
	rejectf(c, 404, "pipeline definition not found: ", name);
	return false;
}

static void def_detail(struct call *c)
{
	json_t *def = NULL;
	bool builtin = false;

	if (!open_store(c) || !load_def(c, c->seg[1], &def, &builtin))
		return;
	sm_request_respond(
	    c->req, 200, NULL,
	    json_pack("{s:s,s:b,s:o}", "name", c->seg[1], "builtin", builtin, "definition", def));
}

static void def_validate(struct call *c)
{
	json_t *def = NULL, *problems;

	if (!open_store(c) || !load_def(c, c->seg[1], &def, NULL))
		return;
	problems = sm_pipeline_validate(def);
	json_decref(def);
	sm_request_respond(c->req, 200, NULL,
	                   json_pack("{s:s,s:b,s:o}", "name", c->seg[1], "valid",
	                             json_array_size(problems) == 0, "errors", problems));
}

/* --- triggers ------------------------------------------------------------------ */

/* The trigger body's fields: false after answering 400. */
static bool trigger_fields(struct call *c, json_t **payload, const char **source,
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
static void run_now(struct call *c, const char *name, const json_t *def, json_t *payload,
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

	sm_request_cgi_scrub_env();
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

static void def_execute(struct call *c)
{
	json_t *def = NULL, *payload;
	const char *source, *trace, *ignored;

	if (!trigger_fields(c, &payload, &source, &trace, &ignored) || !open_store(c) ||
	    !load_def(c, c->seg[1], &def, NULL))
		return;
	run_now(c, c->seg[1], def, payload, source, trace);
	json_decref(def);
}

/* The trigger's definition: the one it names, else the routed one for the
 * body taken as an envelope. NULL after answering. */
static char *trigger_definition(struct call *c, const char *named, json_t **def)
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

static void trigger_sync(struct call *c)
{
	json_t *def = NULL, *payload;
	const char *source, *trace, *named;
	char *name;

	if (!trigger_fields(c, &payload, &source, &trace, &named) || !open_store(c))
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
static void trigger_async(struct call *c)
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
	if (!open_store(c))
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

/* The endpoints: a pattern of path segments ("*" is a run id or a
 * definition name) and its method. A path that matches with another
 * method is a 405. pipeline/sync comes before pipeline/<run_id>. */
static const struct {
	const char *method;
	const char *pattern[3];
	int nseg;
	endpoint_fn *fn;
} endpoints[] = {
    {"POST", {"pipeline"}, 1, trigger_async},
    {"POST", {"pipeline", "sync"}, 2, trigger_sync},
    {"GET", {"pipelines"}, 1, runs_list},
    {"GET", {"pipeline", "*"}, 2, run_detail},
    {"POST", {"pipeline", "*", "resume"}, 3, run_resume},
    {"GET", {"definitions"}, 1, defs_list},
    {"GET", {"definitions", "*"}, 2, def_detail},
    {"POST", {"definitions", "*", "validate"}, 3, def_validate},
    {"POST", {"definitions", "*", "execute"}, 3, def_execute},
};

/* Split PATH_INFO into segments: false when it has too many or one is
 * empty, too long or "." / "..". */
static bool split_path(struct call *c, const char *path)
{
	char *p, *save = NULL, *s;

	if (!path || strlen(path) >= sizeof c->buf)
		return false;
	snprintf(c->buf, sizeof c->buf, "%s", path);
	p = c->buf;
	while ((s = strtok_r(p, "/", &save))) {
		p = NULL;
		if (c->nseg >= MAX_SEGMENTS || strlen(s) >= MAX_NAME || strcmp(s, ".") == 0 ||
		    strcmp(s, "..") == 0)
			return false;
		c->seg[c->nseg++] = s;
	}
	return true;
}

/* The endpoint for the path and method: its index; -1 after answering
 * 404 or 405. An exact segment wins over "*": pipeline/sync is never a run. */
static int find_endpoint(struct call *c, const char *method)
{
	char allow[64] = "";
	int best = -1;

	for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++) {
		bool match = endpoints[i].nseg == c->nseg;
		for (int k = 0; match && k < c->nseg; k++)
			match = strcmp(endpoints[i].pattern[k], "*") == 0
			            ? !(k == 1 && strcmp(c->seg[0], "pipeline") == 0 &&
			                strcmp(c->seg[1], "sync") == 0)
			            : strcmp(endpoints[i].pattern[k], c->seg[k]) == 0;
		if (!match)
			continue;
		if (strcmp(endpoints[i].method, method) == 0)
			return (int)i;
		snprintf(allow, sizeof allow, "Allow: %s", endpoints[i].method);
		best = -2;
	}
	if (best == -2)
		reject(c->req, 405, allow, "method not allowed");
	else
		reject(c->req, 404, NULL, "no such endpoint under /orchestration/");
	return -1;
}

/* A POST's Content-Length into c->length: false after answering 400 or
 * 413 (the length is checked before the key, as the webhook handler does). */
static bool content_length(struct call *c, long long limit)
{
	const char *length = c->req->param(c->req->src, "CONTENT_LENGTH");
	char *end;

	c->length = 0;
	if (length && *length) {
		errno = 0;
		c->length = strtoll(length, &end, 10);
		if (errno || *end || c->length < 0)
			return reject(c->req, 400, NULL, "bad Content-Length"), false;
	}
	if (c->length > limit)
		return reject(c->req, 413, NULL, "body larger than the limit (SM_MAX_BODY)"), false;
	return true;
}

/* Read and parse a POST's body into c->body: false after answering. */
static bool read_json(struct call *c)
{
	long long want = c->length;
	json_error_t jerr;
	char *body;
	size_t got;
	bool timed_out = false;

	if (!(body = malloc((size_t)want + 1)))
		return reject(c->req, 500, NULL, "out of memory"), false;
	got = want ? c->req->read_body(c->req->src, body, (size_t)want, &timed_out) : 0;
	if (timed_out) {
		free(body);
		return reject(c->req, 408, NULL, "body not received in time (SM_READ_TIMEOUT)"),
		       false;
	}
	if (got < (size_t)want) {
		free(body);
		return reject(c->req, 400, NULL, "body shorter than Content-Length"), false;
	}
	body[got] = '\0';
	/* An empty body is an empty object. */
	c->body = strspn(body, " \t\r\n") == got
	              ? json_object()
	              : sm_json_parse(body, got, JSON_REJECT_DUPLICATES, &jerr);
	free(body);
	if (!json_is_object(c->body)) {
		char msg[256];
		if (c->body)
			snprintf(msg, sizeof msg, "body must be a JSON object");
		else
			snprintf(msg, sizeof msg, "malformed JSON: %s", jerr.text);
		return reject(c->req, 400, NULL, msg), false;
	}
	return true;
}

int sm_pipeline_http(const sm_request *req)
{
	const sm_auth_request auth = {req->param, req->src};
	const char *method = req->param(req->src, "REQUEST_METHOD");
	const char *why = NULL;
	struct call c = {.req = req};
	long long limit = sm_request_max_body();
	char trace[SM_TRACE_LEN + 1];
	int e, check;

	if (sm_trace_new(trace) == 0)
		sm_log_set_trace(trace);
	if (limit < 0)
		return reject(req, 500, NULL, "server misconfigured: SM_MAX_BODY");
	if (!split_path(&c, req->param(req->src, "PATH_INFO")) || c.nseg == 0)
		return reject(req, 404, NULL, "no such endpoint under /orchestration/");
	if ((e = find_endpoint(&c, method ? method : "")) < 0)
		return 0;
	if (strcmp(endpoints[e].method, "POST") == 0 && !content_length(&c, limit))
		return 0;
	check = sm_auth_api_key(&auth, &why);
	if (check <= 0)
		return reject(req, check < 0 ? 500 : 401, NULL,
		              check < 0 ? "cannot check API keys" : why);
	if (strcmp(endpoints[e].method, "POST") == 0 && !read_json(&c))
		goto out;
	endpoints[e].fn(&c);
out:
	json_decref(c.body);
	sm_store_close(c.store);
	sm_log_set_trace(NULL);
	return 0;
}

/* The web server maps two prefixes to this program: /status (the page)
 * and /orchestration (the API); SCRIPT_NAME says which was asked for. */
static bool status_page(const char *script_name)
{
	const char *last = script_name ? strrchr(script_name, '/') : NULL;

	return last && strcmp(last, "/status") == 0;
}

int sm_pipeline_http_cgi(const sm_error *config_err)
{
	long long timeout_ms;
	sm_request req = {&timeout_ms, sm_request_cgi_param, sm_request_cgi_read_body,
	                  sm_request_cgi_write};

	sm_log_init(NULL); /* SM_LOG_LEVEL may come from the dotenv file */
	if (config_err) {
		sm_log_kv(SM_LOG_ERROR, "bad configuration", "error", config_err->msg, SM_LOG_END);
		reject(&req, 500, NULL, "server misconfigured");
		return SM_EXIT_OK;
	}
	timeout_ms = sm_request_read_timeout_ms();
	if (timeout_ms < 0) {
		reject(&req, 500, NULL, "server misconfigured: SM_READ_TIMEOUT");
		return SM_EXIT_OK;
	}
	if (status_page(getenv("SCRIPT_NAME")))
		sm_pipeline_status_http(&req);
	else
		sm_pipeline_http(&req);
	return SM_EXIT_OK;
}
