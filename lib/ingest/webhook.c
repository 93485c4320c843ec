/* webhook.c - sm-ingest's webhook handler (webhook.h): the /alerts/webhook/
 * API on the shared dispatcher (request.c), for CGI and FastCGI alike.
 *
 * The web server maps /alerts/webhook/ here; the path names the driver
 * ("/grafana" or "/grafana/"; none = auto-detect). The dispatcher checks,
 * in order: the path (404 past one segment) and method (405), the content
 * type (415), the length (400 without one, 413), the API key (401) and the
 * body within SM_READ_TIMEOUT (408). Then here: the driver name (404), the
 * signature of a forced driver (401), JSON (400), the payload (400 when
 * the URL's driver cannot read it, 422 when no driver claims it), the
 * signature of a detected driver (401); the key and signature rules are
 * auth.c's. Only then is anything written: the alerts and the queued
 * envelopes in one transaction, a timestamped signature seen before
 * refused there (409), the queue's wake-up after the commit (or, from a
 * FastCGI responder, the items handed to a waiting worker: handoff.h), and
 * 202 once the commit is on disk. The requests a FastCGI responder has
 * ready together share that transaction (each in a savepoint of its own,
 * none for a request alone) and its one commit. Every answer is a JSON
 * body; nothing is stored for a rejection. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sm/agents.h"
#include "sm/auth.h"
#include "sm/handoff.h"
#include "sm/inbox.h"
#include "sm/ingest.h"
#include "sm/json.h"
#include "sm/log.h"
#include "sm/webhook.h"

#define API "/alerts/webhook/"

/* The handler's store: opened for each request in CGI mode, kept open
 * (with the ingest writer's prepared statements) in FastCGI mode. */
struct writer {
	sm_store *store;
	sm_ingest *ingest;
	bool keep;
	/* Hosted by a worker (sm_webhook_host): the store is the worker's, the
	 * items are claimed for it, and the commit's wait for the disk is
	 * sm_webhook_host_sync's, on the thread that sends the answers. */
	bool hosted;
	bool sync_due;       /* hosted: the last commit waits for the disk */
	int wal_fd;          /* hosted: the store's WAL, for that sync (-1: not open) */
	sm_handoff *handoff; /* kept with the store; NULL: nothing handed over */
	bool handing;        /* this transaction's items go to a waiting worker */
	bool queued;         /* an envelope of it was queued as pending: wake the workers */
};

/* A request that passed every check, waiting for the store. */
struct pending {
	const sm_driver *used;
	sm_alert_batch batch;
	json_t *payload, *envs;
	sm_stamp seen;
	int status; /* 202 once stored, else the error to answer */
};

static void writer_close(struct writer *w)
{
	sm_handoff_free(w->handoff);
	w->handoff = NULL;
	sm_ingest_free(w->ingest);
	w->ingest = NULL;
	if (!w->hosted) { /* a host's store is the host's */
		sm_store_close(w->store);
		w->store = NULL;
	}
}

/* The driver the URL names (NULL: auto-detect); false after answering 404
 * when it names none a URL may use. */
static bool url_driver(sm_request_call *c, const sm_driver **out)
{
	const sm_driver *d;

	*out = NULL;
	if (c->nseg == 0)
		return true;
	d = sm_driver_find(c->seg[0]);
	if (!d || (d->flags & SM_DRIVER_INTERNAL) || !sm_driver_enabled(d)) {
		sm_request_error(c->req, 404, NULL,
		                 "unknown driver in URL (see sm-ingest --list-drivers)", NULL);
		return false;
	}
	*out = d;
	return true;
}

/* 1 when the signature rules pass for d, else 0 after answering. */
static int signed_ok(sm_request_call *c, const sm_driver *d, sm_stamp *seen)
{
	const sm_auth_request auth = {c->req->param, c->req->src};
	const char *why = NULL;
	int check =
	    sm_auth_signature(&auth, d, c->raw, c->raw_len, (long long)time(NULL), seen, &why);

	if (check <= 0)
		sm_request_error(c->req, check < 0 ? 500 : 401, NULL,
		                 check < 0 ? "cannot verify signatures" : why, NULL);
	return check > 0;
}

/* The endpoint: the checks of the header comment after the dispatcher's.
 * A request that passes is parsed and deferred to store_group. */
static void accept_payload(sm_request_call *c)
{
	const sm_driver *forced;
	struct pending *p;
	json_error_t jerr;
	sm_error err;

	if (!url_driver(c, &forced))
		return;
	if (!(p = calloc(1, sizeof *p))) {
		sm_request_error(c->req, 500, NULL, "out of memory", NULL);
		return;
	}
	if (forced && !signed_ok(c, forced, &p->seen))
		goto rejected;
	p->payload = sm_json_parse(c->raw, c->raw_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!p->payload) {
		sm_request_errorf(c->req, 400, NULL, "malformed JSON: %s", jerr.text);
		goto rejected;
	}
	if (!json_is_object(p->payload)) {
		sm_request_error(c->req, 400, NULL, "body must be a JSON object", NULL);
		goto rejected;
	}
	if (sm_driver_parse(forced, p->payload, &p->used, &p->batch, &err) < 0) {
		/* The URL's driver cannot read it: a bad request for that URL;
		 * no driver claims it: well-formed but unprocessable. */
		sm_request_error(c->req, forced ? 400 : 422, NULL, err.msg, NULL);
		goto rejected;
	}
	if (!forced && !signed_ok(c, p->used, &p->seen))
		goto rejected;
	p->status = 202;
	c->state = p;
	c->deferred = true;
	return;
rejected:
	sm_batch_clear(&p->batch);
	json_decref(p->payload);
	free(p);
}

/* Queue one envelope: handed to a waiting worker when the transaction
 * may (handoff.h), else pending. */
static int put(struct writer *w, json_t *env, sm_error *err)
{
	const char *trace = json_string_value(json_object_get(env, "trace_id"));
	size_t len = 0;
	char *text;
	int rc;

	if (!w->handing) {
		w->queued = true;
		return sm_inbox_put(w->store, env, err);
	}
	if (!(text = sm_json_dump(env, &len))) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	rc = sm_handoff_put(w->handoff, w->store, text, len, trace, err);
	if (rc == 0) { /* too large to hand over */
		w->queued = true;
		rc = sm_inbox_put_text(w->store, text, len, trace, err);
	}
	free(text);
	return rc < 0 ? -1 : 0;
}

/* Store one request inside the open transaction, in a savepoint of its
 * own so that a failing one leaves the others alone: 0, or -1 when the
 * transaction itself failed. alone: the transaction is this request's
 * only, so no savepoint (SQLite copies each page a savepoint's statements
 * change, a tenth of a lone alert's instructions): a failure is the
 * transaction's, rolled back by the caller. */
static int store_one(struct writer *w, sm_request_call *c, struct pending *p, bool alone,
                     sm_error *err)
{
	size_t k, mark = sm_handoff_count(w->handoff);
	json_t *env;
	int replay;

	sm_log_set_trace(c->trace);
	p->envs = json_array();
	if (!alone && sm_store_exec(w->store, "SAVEPOINT request", err) < 0)
		return -1;
	replay = sm_auth_remember(w->store, &p->seen, (long long)time(NULL), err);
	if (replay < 0)
		goto undo;
	if (replay == 0) {
		p->status = 409;
		return alone ? 0 : sm_store_exec(w->store, "RELEASE request", err);
	}
	if (sm_ingest_apply(w->ingest, &p->batch, c->trace, p->envs, err) < 0)
		goto undo;
	json_array_foreach(p->envs, k, env)
	{
		if (put(w, env, err) < 0)
			goto undo;
	}
	/* A hub knows its agents from their pushes, empty ones included. */
	if (p->batch.agent && sm_agents_record(w->store, p->batch.agent,
	                                       c->req->param(c->req->src, "REMOTE_ADDR"), err) < 0)
		goto undo;
	return alone ? 0 : sm_store_exec(w->store, "RELEASE request", err);
undo:
	if (alone)
		return -1; /* said by the caller, which rolls back and answers */
	sm_log_kv(SM_LOG_ERROR, "cannot store", "error", err->msg, SM_LOG_END);
	p->status = 500;
	sm_handoff_forget(w->handoff, mark);
	if (sm_store_exec(w->store, "ROLLBACK TO request", err) < 0 ||
	    sm_store_exec(w->store, "RELEASE request", err) < 0)
		return -1;
	return 0;
}

/* The writer's store, opened once (CGI: per request). Its commits are
 * written with synchronous NORMAL and synced by commit_synced after the
 * write lock is released: with FULL the lock was held through the disk's
 * sync, and concurrent CGI processes queued behind it (bench/README.md,
 * issue 11: twice the requests per second where the disk's sync is what
 * they wait on). */
static int writer_open(struct writer *w, sm_error *err)
{
	if (!w->store && (sm_store_open(NULL, &w->store, err) < 0 ||
	                  sm_store_exec(w->store, "PRAGMA synchronous = NORMAL", err) < 0))
		return -1;
	if (!w->ingest && !(w->ingest = sm_ingest_new(w->store, err)))
		return -1;
	return 0;
}

/* Commit, then sync the WAL once the write lock is released: a synced
 * WAL holds every commit written to it before ours (the lock orders
 * them), so ours is on disk when this returns, and only then is anything
 * acknowledged. SQLite's sync also syncs the directory the first time
 * when the WAL was opened to be created.
 *
 * The queue's workers are woken between the two: a worker reads the
 * committed items and delivers while this process waits for the disk.
 * Should the machine stop before the sync, the sender got no 202 and
 * sends again; at worst a notification goes out twice, never not at all
 * (sm-ingest(1)). */
static int commit_synced(struct writer *w, sm_error *err)
{
	sqlite3 *db = sm_store_db(w->store);
	sqlite3_file *wal = NULL;

	if (sm_store_commit(w->store, err) < 0)
		return -1;
	if (w->hosted) { /* the items are the host's; the sync the sender's */
		if (w->queued)
			sm_inbox_wake(w->store);
		w->sync_due = sm_store_waits_for_disk(w->store);
		return 0;
	}
	/* The items handed over go to their worker; those that could not go,
	 * and any queued as pending, to the workers waiting on the queue. */
	if (sm_handoff_send(w->handoff, w->store) > 0 || w->queued)
		sm_inbox_wake(w->store);
	if (!sm_store_waits_for_disk(w->store))
		return 0; /* SM_STORE_SYNC=normal: the operator's choice (sm-ingest(1)) */
	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) != SQLITE_OK ||
	    !wal || !wal->pMethods || wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL) != SQLITE_OK) {
		sm_error_set(err, "%s: cannot sync the write-ahead log", sm_store_path(w->store));
		return -1;
	}
	return 0;
}

/* Store the deferred requests in one transaction and commit once: the
 * requests that came in together share one durable commit. Each gets its
 * status for answer(). */
static void store_all(struct writer *w, sm_request_call *const *calls, size_t n)
{
	sm_error err = {0};
	bool busy = false, began = false;
	int failed = 0;

	if (writer_open(w, &err) < 0)
		goto fail;
	/* Only a FastCGI responder hands items over: what it handed before
	 * and a worker has not read yet tells it that worker is busy, which a
	 * CGI process, there for one request, cannot know (handoff.h). */
	if (w->keep && !w->handoff)
		w->handoff = sm_handoff_new();
	if (w->hosted && w->handoff)
		sm_handoff_begin_local(w->handoff);
	w->handing = w->hosted ? w->handoff != NULL : sm_handoff_begin(w->handoff, w->store);
	w->queued = false;
	if (sm_store_begin(w->store, &err) < 0)
		goto fail;
	began = true;
	for (size_t i = 0; i < n; i++)
		if (store_one(w, calls[i], calls[i]->state, n == 1, &err) < 0)
			goto fail;
	if (commit_synced(w, &err) < 0)
		goto fail;
	goto done;
fail:
	sm_log_kv(SM_LOG_ERROR, "cannot store", "error", err.msg, SM_LOG_END);
	if (w->store) {
		int code = sqlite3_extended_errcode(sm_store_db(w->store)) & 0xff;
		busy = code == SQLITE_BUSY || code == SQLITE_LOCKED;
	}
	if (began)
		sm_store_rollback(w->store);
	sm_handoff_forget(w->handoff, 0); /* nothing of it was queued */
	failed = busy ? 503 : 500;
	for (size_t i = 0; i < n; i++) {
		struct pending *p = calls[i]->state;
		if (p->status == 202)
			p->status = failed;
	}
done:
	/* A store kept across requests is reopened after a failure that is
	 * not mere contention, in case the connection is what broke. */
	if (!w->keep || failed == 500)
		writer_close(w);
}

/* Answer a request that went to the store, and free what it held. */
static void answer(sm_request_call *c, struct pending *p)
{
	json_t *incidents, *env;
	size_t i, alerts = 0;

	sm_log_set_trace(c->trace);
	if (p->status == 409) {
		sm_request_error(c->req, 409, NULL,
		                 "replayed request: this signature was accepted before", NULL);
	} else if (p->status == 503) {
		sm_request_error(c->req, 503, "Retry-After: 1", "store busy, try again", NULL);
	} else if (p->status == 500) {
		sm_request_error(c->req, 500, NULL, "cannot store the alerts", NULL);
	} else {
		incidents = json_array();
		json_array_foreach(p->envs, i, env)
		{
			json_t *inc = json_object_get(env, "incident");
			alerts += json_array_size(json_object_get(env, "alerts"));
			if (json_is_object(inc))
				json_array_append(incidents, json_object_get(inc, "id"));
		}
		sm_log_kv(SM_LOG_INFO, "payload accepted", "driver", p->used->name, SM_LOG_END);
		sm_request_respond(c->req, 202, NULL,
		                   json_pack("{s:s,s:s,s:I,s:o,s:s}", "status", "accepted",
		                             "driver", p->used->name, "alerts", (json_int_t)alerts,
		                             "incidents", incidents, "trace_id", c->trace));
	}
	sm_batch_clear(&p->batch);
	json_decref(p->payload);
	json_decref(p->envs);
	free(p);
	c->state = NULL;
}

/* The group endpoint: store every deferred request, then answer each. */
static void store_group(sm_request_call *const *calls, size_t n, void *ctx)
{
	store_all(ctx, calls, n);
	for (size_t i = 0; i < n; i++)
		answer(calls[i], calls[i]->state);
	sm_log_set_trace(NULL);
}

#define WEBHOOK_FLAGS (SM_REQUEST_LENGTH_REQUIRED | SM_REQUEST_JSON_TYPE | SM_REQUEST_RAW_BODY)

static const sm_request_route routes[] = {
    {"POST", {NULL}, accept_payload, WEBHOOK_FLAGS},
    {"POST", {"*", NULL}, accept_payload, WEBHOOK_FLAGS},
    {NULL, {NULL}, NULL, 0},
};
static const sm_request_route *const route_tables[] = {routes, NULL};

int sm_webhook_http(const sm_request *req)
{
	struct writer w = {.keep = false};

	return sm_request_dispatch_group(req, 1, API, route_tables, store_group, &w);
}

int sm_webhook_cgi(const sm_error *config_err)
{
	return sm_request_cgi_serve(sm_webhook_http, config_err);
}

/* --- hosted by a worker ------------------------------------------------------ */

struct sm_webhook_host {
	struct writer w;
	sm_request_fcgi_api api;
};

sm_webhook_host *sm_webhook_host_new(sm_store *store, const char *config_error)
{
	sm_webhook_host *h = calloc(1, sizeof *h);

	if (!h)
		return NULL;
	h->w = (struct writer){.store = store, .keep = true, .hosted = true, .wal_fd = -1};
	h->api = (sm_request_fcgi_api){.api = API,
	                               .tables = route_tables,
	                               .group = store_group,
	                               .ctx = &h->w,
	                               .config_error = config_error};
	return h;
}

void sm_webhook_host_free(sm_webhook_host *h)
{
	if (!h)
		return;
	writer_close(&h->w);
	if (h->w.wal_fd >= 0)
		close(h->w.wal_fd);
	free(h);
}

void sm_webhook_host_requests(void *ctx, sm_fcgi_conn **conns, size_t n)
{
	sm_webhook_host *h = ctx;

	sm_request_fcgi_requests(&h->api, conns, n);
}

size_t sm_webhook_host_take(sm_webhook_host *h, sm_inbox_item *items, size_t max)
{
	return sm_handoff_take(h->w.handoff, items, max);
}

/* The WAL synced through a descriptor of its own, opened again when the
 * file was replaced (and then its directory synced too, for a new file's
 * name): the worker writes through the connection's meanwhile. */
static int wal_sync(struct writer *w)
{
	char path[4200];
	struct stat now, open_one;

	snprintf(path, sizeof path, "%s-wal", sm_store_path(w->store));
	if (w->wal_fd >= 0 && (stat(path, &now) < 0 || fstat(w->wal_fd, &open_one) < 0 ||
	                       now.st_ino != open_one.st_ino || now.st_dev != open_one.st_dev)) {
		close(w->wal_fd);
		w->wal_fd = -1;
	}
	if (w->wal_fd < 0) {
		char *slash;
		int dir;
		if ((w->wal_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return -1;
		if ((slash = strrchr(path, '/')))
			*(slash == path ? slash + 1 : slash) = '\0';
		dir = open(slash ? path : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dir < 0 || fsync(dir) < 0) {
			if (dir >= 0)
				close(dir);
			return -1;
		}
		close(dir);
	}
	return fdatasync(w->wal_fd);
}

bool sm_webhook_host_sync_due(const sm_webhook_host *h)
{
	return h->w.sync_due;
}

bool sm_webhook_host_sync(sm_webhook_host *h)
{
	if (!h->w.sync_due)
		return true;
	h->w.sync_due = false;
	if (wal_sync(&h->w) == 0)
		return true;
	sm_log_kv(SM_LOG_ERROR, "cannot sync the write-ahead log: the answers not sent", "error",
	          strerror(errno), SM_LOG_END);
	return false;
}

int sm_webhook_fcgi(int argc, char **argv)
{
	struct writer w = {.keep = true};
	int rc =
	    sm_request_fcgi_serve_api("sm-ingest", argc, argv, API, route_tables, store_group, &w);

	writer_close(&w);
	return rc;
}
