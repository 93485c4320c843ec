/* cgi.c - sm-ingest as a webhook handler behind a web server: a CGI/1.1
 * program (RFC 3875), one process per request, or a long-running FastCGI
 * responder (lib/ingest/fcgi.c) that keeps the store open across requests.
 * Both feed the same handler, which sees a request only through struct
 * request: its variables, its body and where the answer goes.
 *
 * The web server maps /alerts/webhook/ here; PATH_INFO names the driver
 * ("/grafana" or "/grafana/"; none = auto-detect). Checks, in order: method
 * (405), driver name (404), content type (415), length (400/413), API key
 * (401), the body within SM_READ_TIMEOUT (408), signature of a forced
 * driver (401), JSON (400), payload (400 when the URL's driver cannot read
 * it, 422 when no driver claims it), signature of a detected driver (401); the
 * key and signature rules are lib/ingest/auth.c's. Only then is anything
 * written: the alerts and the queued envelopes in one transaction, a
 * timestamped signature seen before refused there (409), and 202 after the
 * commit. Every answer is a JSON body; nothing is stored for a rejection.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "sm/agents.h"
#include "sm/auth.h"
#include "sm/config.h"
#include "sm/envelope.h"
#include "sm/fcgi.h"
#include "sm/inbox.h"
#include "sm/ingest.h"
#include "sm/json.h"
#include "sm/log.h"
#include "sm/request.h"
#include "sm/trace.h"
#include "sm-ingest.h"

/* The handler's store: opened for each request in CGI mode, kept open
 * (with the ingest writer's prepared statements) in FastCGI mode. */
struct writer {
	sm_store *store;
	sm_ingest *ingest;
	bool keep;
};

/* An error answer; the reason is logged, never anything secret. */
static int reject(const sm_request *req, int status, const char *extra_header, const char *message)
{
	char code[8];

	snprintf(code, sizeof code, "%d", status);
	sm_log_kv(SM_LOG_WARN, "request rejected", "status", code, "reason", message, SM_LOG_END);
	sm_request_respond(req, status, extra_header,
	                   json_pack("{s:s,s:s}", "status", "error", "message", message));
	return SM_EXIT_OK; /* the request was answered */
}

/* The driver named by PATH_INFO: NULL for auto-detect; *unknown when the
 * name is not one a URL may use. */
static const sm_driver *route(const sm_request *req, bool *unknown)
{
	const char *path = req->param(req->src, "PATH_INFO");
	char name[64];
	size_t len;
	const sm_driver *d;

	*unknown = false;
	if (!path || !*path || strcmp(path, "/") == 0)
		return NULL;
	if (*path == '/')
		path++;
	len = strcspn(path, "/");
	if (len == 0 || len >= sizeof name || (path[len] == '/' && path[len + 1] != '\0')) {
		*unknown = true;
		return NULL;
	}
	memcpy(name, path, len);
	name[len] = '\0';
	d = sm_driver_find(name);
	if (!d || (d->flags & SM_DRIVER_INTERNAL) || !sm_driver_enabled(d)) {
		*unknown = true;
		return NULL;
	}
	return d;
}

static bool json_content_type(const sm_request *req)
{
	const char *ct = req->param(req->src, "CONTENT_TYPE");
	char type[128];
	size_t n;

	if (!ct || !*ct)
		return true; /* many senders omit it */
	n = strcspn(ct, ";");
	while (n > 0 && isspace((unsigned char)ct[n - 1]))
		n--;
	if (n >= sizeof type)
		return false;
	memcpy(type, ct, n);
	type[n] = '\0';
	return strcasecmp(type, "application/json") == 0 || strcasecmp(type, "text/json") == 0 ||
	       strcasecmp(type, "text/plain") == 0 ||
	       (n > 5 && strcasecmp(type + n - 5, "+json") == 0);
}

static void writer_close(struct writer *w)
{
	sm_ingest_free(w->ingest);
	sm_store_close(w->store);
	w->ingest = NULL;
	w->store = NULL;
}

/* A request on its way: checked and parsed, waiting for the store. */
struct pending {
	sm_request req;
	char trace[SM_TRACE_LEN + 1];
	const sm_driver *used;
	sm_alert_batch batch;
	json_t *payload, *envs;
	sm_stamp seen;
	int status; /* 0: answered already; 202 once stored; else the error to answer */
};

/* Store the requests that passed their checks in one transaction, each in
 * a savepoint of its own so a failing one leaves the others alone, and
 * commit once: the web server's requests that are complete together share
 * one durable commit. Each gets its status for finish(). */
static void store_all(struct writer *w, struct pending *items, size_t n)
{
	sm_error err = {0};
	size_t waiting = 0, i, k;
	json_t *env;
	bool busy = false, began = false;
	int failed = 0, replay;

	for (i = 0; i < n; i++)
		waiting += items[i].status == 202;
	if (waiting == 0)
		return;
	if ((!w->store && sm_store_open(NULL, &w->store, &err) < 0) ||
	    (!w->ingest && !(w->ingest = sm_ingest_new(w->store, &err))) ||
	    sm_store_begin(w->store, &err) < 0)
		goto fail;
	began = true;
	for (i = 0; i < n; i++) {
		struct pending *p = &items[i];
		if (p->status != 202)
			continue;
		sm_log_set_trace(p->trace);
		p->envs = json_array();
		if (sm_store_exec(w->store, "SAVEPOINT request", &err) < 0)
			goto fail;
		replay = sm_auth_remember(w->store, &p->seen, (long long)time(NULL), &err);
		if (replay < 0)
			goto undo;
		if (replay == 0) {
			p->status = 409;
			if (sm_store_exec(w->store, "RELEASE request", &err) < 0)
				goto fail;
			continue;
		}
		if (sm_ingest_apply(w->ingest, &p->batch, p->trace, p->envs, &err) < 0)
			goto undo;
		json_array_foreach(p->envs, k, env)
		{
			if (sm_inbox_put(w->store, env, &err) < 0)
				goto undo;
		}
		/* A hub knows its agents from their pushes, empty ones included. */
		if (p->batch.agent &&
		    sm_agents_record(w->store, p->batch.agent,
		                     p->req.param(p->req.src, "REMOTE_ADDR"), &err) < 0)
			goto undo;
		if (sm_store_exec(w->store, "RELEASE request", &err) < 0)
			goto fail;
		continue;
	undo:
		sm_log_kv(SM_LOG_ERROR, "cannot store", "error", err.msg, SM_LOG_END);
		p->status = 500;
		if (sm_store_exec(w->store, "ROLLBACK TO request", &err) < 0 ||
		    sm_store_exec(w->store, "RELEASE request", &err) < 0)
			goto fail;
	}
	if (sm_store_commit(w->store, &err) < 0)
		goto fail;
	sm_inbox_wake(w->store); /* the workers waiting on the queue */
	goto done;
fail:
	sm_log_kv(SM_LOG_ERROR, "cannot store", "error", err.msg, SM_LOG_END);
	if (w->store) {
		int code = sqlite3_extended_errcode(sm_store_db(w->store)) & 0xff;
		busy = code == SQLITE_BUSY || code == SQLITE_LOCKED;
	}
	if (began)
		sm_store_rollback(w->store);
	failed = busy ? 503 : 500;
	for (i = 0; i < n; i++)
		if (items[i].status == 202)
			items[i].status = failed;
done:
	/* A store kept across requests is reopened after a failure that is
	 * not mere contention, in case the connection is what broke. */
	if (!w->keep || failed == 500)
		writer_close(w);
}

static void config_error(const sm_request *req, const char *message)
{
	sm_log_kv(SM_LOG_ERROR, "bad configuration", "error", message, SM_LOG_END);
	sm_request_respond(
	    req, 500, NULL,
	    json_pack("{s:s,s:s}", "status", "error", "message", "server misconfigured"));
}

/* The checks of the header comment, in that order, up to the store: a
 * rejection is answered here (p->status 0); a request to store is left
 * with p->status 202 and its parsed batch. */
static void prepare(struct pending *p)
{
	const sm_request *req = &p->req;
	const sm_auth_request auth = {req->param, req->src};
	const char *method = req->param(req->src, "REQUEST_METHOD");
	const char *length = req->param(req->src, "CONTENT_LENGTH");
	const char *why = NULL;
	char *body = NULL, *end;
	const sm_driver *forced;
	long long limit = sm_request_max_body(), want;
	json_error_t jerr;
	sm_error err;
	size_t got;
	bool unknown, timed_out = false;
	int check;

	p->status = 0;
	if (sm_trace_new(p->trace) == 0)
		sm_log_set_trace(p->trace);
	if (limit < 0) {
		reject(req, 500, NULL, "server misconfigured: SM_MAX_BODY");
		return;
	}
	if (!method || strcmp(method, "POST") != 0) {
		reject(req, 405, "Allow: POST", "method not allowed: use POST");
		return;
	}
	forced = route(req, &unknown);
	if (unknown) {
		reject(req, 404, NULL, "unknown driver in URL (see sm-ingest --list-drivers)");
		return;
	}
	if (!json_content_type(req)) {
		reject(req, 415, NULL, "Content-Type must be application/json");
		return;
	}
	if (!length || !*length) {
		reject(req, 400, NULL, "Content-Length required");
		return;
	}
	errno = 0;
	want = strtoll(length, &end, 10);
	if (errno || *end || want < 0) {
		reject(req, 400, NULL, "bad Content-Length");
		return;
	}
	if (want > limit) {
		reject(req, 413, NULL, "body larger than the limit (SM_MAX_BODY)");
		return;
	}
	check = sm_auth_api_key(&auth, &why);
	if (check <= 0) {
		reject(req, check < 0 ? 500 : 401, NULL, check < 0 ? "cannot check API keys" : why);
		return;
	}
	body = malloc((size_t)want + 1);
	if (!body) {
		reject(req, 500, NULL, "out of memory");
		return;
	}
	got = req->read_body(req->src, body, (size_t)want, &timed_out);
	if (timed_out) {
		reject(req, 408, NULL, "body not received in time (SM_READ_TIMEOUT)");
		goto out;
	}
	if (got < (size_t)want) {
		reject(req, 400, NULL, "body shorter than Content-Length");
		goto out;
	}
	body[got] = '\0';
	if (forced) {
		check = sm_auth_signature(&auth, forced, body, got, (long long)time(NULL), &p->seen,
		                          &why);
		if (check <= 0) {
			reject(req, check < 0 ? 500 : 401, NULL,
			       check < 0 ? "cannot verify signatures" : why);
			goto out;
		}
	}
	p->payload = sm_json_parse(body, got, JSON_REJECT_DUPLICATES, &jerr);
	if (!p->payload || !json_is_object(p->payload)) {
		char msg[256];
		snprintf(msg, sizeof msg, "%s",
		         p->payload ? "body must be a JSON object" : "malformed JSON: ");
		if (!p->payload)
			snprintf(msg + strlen(msg), sizeof msg - strlen(msg), "%s", jerr.text);
		reject(req, 400, NULL, msg);
		goto out;
	}
	if (sm_driver_parse(forced, p->payload, &p->used, &p->batch, &err) < 0) {
		/* The URL's driver cannot read it: a bad request for that URL;
		 * no driver claims it: well-formed but unprocessable. */
		reject(req, forced ? 400 : 422, NULL, err.msg);
		goto out;
	}
	if (!forced) {
		check = sm_auth_signature(&auth, p->used, body, got, (long long)time(NULL),
		                          &p->seen, &why);
		if (check <= 0) {
			reject(req, check < 0 ? 500 : 401, NULL,
			       check < 0 ? "cannot verify signatures" : why);
			goto out;
		}
	}
	p->status = 202;
out:
	free(body);
}

/* Answer a request that went to the store, and free what it held. */
static void finish(struct pending *p)
{
	json_t *incidents, *env;
	size_t i, alerts = 0;

	sm_log_set_trace(p->trace);
	if (p->status == 409) {
		reject(&p->req, 409, NULL, "replayed request: this signature was accepted before");
	} else if (p->status == 503) {
		reject(&p->req, 503, "Retry-After: 1", "store busy, try again");
	} else if (p->status == 500) {
		reject(&p->req, 500, NULL, "cannot store the alerts");
	} else if (p->status == 202) {
		incidents = json_array();
		json_array_foreach(p->envs, i, env)
		{
			json_t *inc = json_object_get(env, "incident");
			alerts += json_array_size(json_object_get(env, "alerts"));
			if (json_is_object(inc))
				json_array_append(incidents, json_object_get(inc, "id"));
		}
		sm_log_kv(SM_LOG_INFO, "payload accepted", "driver", p->used->name, SM_LOG_END);
		sm_request_respond(&p->req, 202, NULL,
		                   json_pack("{s:s,s:s,s:I,s:o,s:s}", "status", "accepted",
		                             "driver", p->used->name, "alerts", (json_int_t)alerts,
		                             "incidents", incidents, "trace_id", p->trace));
	}
	sm_batch_clear(&p->batch);
	json_decref(p->payload);
	json_decref(p->envs);
	p->payload = p->envs = NULL;
}

/* Answer requests that came in together: check each, store those that
 * passed in one transaction, then answer them after its commit. */
static void handle(struct pending *items, size_t n, struct writer *w)
{
	for (size_t i = 0; i < n; i++)
		prepare(&items[i]);
	store_all(w, items, n);
	for (size_t i = 0; i < n; i++)
		finish(&items[i]);
	sm_log_set_trace(NULL);
}

/* --- CGI: the environment, standard input and standard output ------------ */

static const sm_request cgi_request = {NULL, sm_request_cgi_param, sm_request_cgi_read_body,
                                       sm_request_cgi_write};

int cgi_config_error(const char *message)
{
	config_error(&cgi_request, message);
	return SM_EXIT_OK;
}

int cgi_main(void)
{
	struct writer w = {NULL, NULL, false};
	struct pending p = {.req = cgi_request};
	long long timeout_ms = sm_request_read_timeout_ms();

	sm_log_init(NULL); /* SM_LOG_LEVEL may come from the dotenv file */
	if (timeout_ms < 0) {
		config_error(&cgi_request, "SM_READ_TIMEOUT");
		return SM_EXIT_OK;
	}
	p.req.src = &timeout_ms;
	handle(&p, 1, &w);
	return SM_EXIT_OK;
}

/* --- FastCGI: one long-running process, many requests --------------------- */

/* The responder's state (sm_request_fcgi_run runs it, and stops at
 * SIGTERM, as lighttpd stops its FastCGI children, or SIGINT). */
struct fcgi_state {
	struct writer writer;
	const char *config_error; /* when the dotenv file is broken: every request 500 */
};

static const char *fcgi_param(void *src, const char *name)
{
	return sm_fcgi_param(src, name);
}

static size_t fcgi_read_body(void *src, char *buf, size_t want, bool *timed_out)
{
	(void)timed_out; /* the responder waits for whole requests (sm_fcgi_serve) */
	size_t len;
	const char *body = sm_fcgi_body(src, &len, NULL);

	if (len > want)
		len = want; /* never more than CONTENT_LENGTH, as in CGI */
	memcpy(buf, body, len);
	return len;
}

static void fcgi_write(void *src, const char *text, size_t len)
{
	sm_fcgi_write(src, text, len);
}

static void fcgi_requests(void *ctx, sm_fcgi_conn **conns, size_t n)
{
	struct fcgi_state *state = ctx;
	struct pending items[SM_FCGI_MAX_CONNS];

	for (size_t i = 0; i < n; i++) {
		items[i] =
		    (struct pending){.req = {conns[i], fcgi_param, fcgi_read_body, fcgi_write}};
		if (state->config_error)
			config_error(&items[i].req, state->config_error);
	}
	if (!state->config_error)
		handle(items, n, &state->writer);
}

int fcgi_main(int argc, char **argv)
{
	struct fcgi_state state = {{NULL, NULL, true}, NULL};
	int rc = sm_request_fcgi_run("sm-ingest", argc, argv, fcgi_requests, &state,
	                             &state.config_error);

	writer_close(&state.writer);
	return rc;
}
