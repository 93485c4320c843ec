/* sm-ingest - the INGEST stage: webhook payloads in, alerts and incidents
 * stored, one envelope out per incident touched. Also a CGI program (see
 * cgi.c) and the listing/management commands for what it stored. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sm/agents.h"
#include "sm/config.h"
#include "sm/envelope.h"
#include "sm/inbox.h"
#include "sm/ingest.h"
#include "sm/json.h"
#include "sm/log.h"
#include "sm/term.h"
#include "sm/trace.h"
#include "sm-ingest.h"

static const char usage_text[] =
    "usage: sm-ingest [-d DRIVER] [--dry-run] [--queue] [FILE]   ingest payloads (stdin or FILE)\n"
    "       sm-ingest --list-drivers\n"
    "       sm-ingest --fastcgi [ADDRESS]   serve webhooks as a FastCGI responder\n"
    "       sm-ingest alerts|incidents [--status S] [--limit N] [--json]\n"
    "       sm-ingest incident ack|resolve|close ID\n"
    "\n"
    "  -d, --driver NAME   parse with this driver instead of auto-detecting\n"
    "  --dry-run           parse and print one envelope per payload; store nothing\n"
    "  --queue             also queue each envelope for `sm-pipeline work`\n"
    "  --status S          list only rows with this status\n"
    "  --limit N           list at most N rows, newest first (default 100, 0 = all)\n"
    "  --json              JSON lines even on a terminal\n"
    "  -h, --help          this text\n"
    "  --version           version\n";

enum {
	OPT_DRY_RUN = 256,
	OPT_QUEUE,
	OPT_LIST_DRIVERS,
	OPT_STATUS,
	OPT_LIMIT,
	OPT_JSON,
	OPT_VERSION,
};

static const struct option long_options[] = {
    {"driver", required_argument, NULL, 'd'},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"queue", no_argument, NULL, OPT_QUEUE},
    {"list-drivers", no_argument, NULL, OPT_LIST_DRIVERS},
    {"status", required_argument, NULL, OPT_STATUS},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

struct args {
	const sm_driver *driver;
	bool dry_run, queue, list_drivers, json;
	const char *status;
	long long limit;
	char **operands;
	int noperands;
};

long long max_body(void)
{
	double v;
	sm_error err;

	if (sm_config_double("SM_MAX_BODY", DEFAULT_MAX_BODY, &v, &err) < 0 || v < 1 || v > 1e10) {
		sm_log(SM_LOG_ERROR, "SM_MAX_BODY must be a number of bytes from 1 to 1e10");
		return -1;
	}
	return (long long)v;
}

/* --- reading a stream of payloads ---------------------------------------
 * Payloads may be one object, NDJSON, or objects simply concatenated. A small
 * scanner finds where each value ends (braces outside strings), so each is
 * parsed on its own, memory stays bounded by the largest
 * payload (SM_MAX_BODY), and we know when no more input is waiting (then the
 * open transaction is committed). */

struct stream {
	int fd;
	const char *name;
	char buf[65536];
	size_t pos, len;
	bool eof;
	char *value; /* the current payload's bytes */
	size_t used, cap;
	long long limit;
	size_t line; /* line of the current position, for messages */
};

static int fill(struct stream *s)
{
	ssize_t n;

	if (s->pos < s->len)
		return 1;
	if (s->eof)
		return 0;
	do
		n = read(s->fd, s->buf, sizeof s->buf);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		s->eof = true;
		return 0;
	}
	s->pos = 0;
	s->len = (size_t)n;
	return 1;
}

/* Append n bytes to s->value; -1 when out of memory. */
static int keep(struct stream *s, const char *p, size_t n)
{
	if (s->used + n + 1 > s->cap) {
		size_t ncap = s->cap ? s->cap : 4096;
		char *v;
		while (ncap < s->used + n + 1)
			ncap *= 2;
		v = realloc(s->value, ncap);
		if (!v)
			return -1;
		s->value = v;
		s->cap = ncap;
	}
	memcpy(s->value + s->used, p, n);
	s->used += n;
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Collect the next value's bytes into s->value: 1 done, 0 larger than the
 * limit (the rest of it is skipped up to the end of the line), -1 no memory.
 * The buffer is scanned a run at a time and copied in one piece: this loop
 * sees every byte of the input. */
static int next_value(struct stream *s)
{
	int depth = 0;
	bool in_string = false, escaped = false, structured = false;

	s->used = 0;
	while (fill(s)) {
		const char *p = s->buf + s->pos, *q = p, *end = s->buf + s->len, *stop;
		size_t room = (size_t)(s->limit - (long long)s->used);
		bool done = false;

		stop = (size_t)(end - p) > room ? p + room : end;
		while (q < stop) {
			char c;
			if (in_string && !escaped) /* most bytes are inside strings */
				while (q < stop && *q != '"' && *q != '\\' && *q != '\n')
					q++;
			if (q == stop)
				break;
			c = *q;
			if (!structured && depth == 0 && (s->used > 0 || q > p) &&
			    (is_space(c) || c == '{' || c == '['))
				break; /* the end of a bare scalar, left for the next value */
			q++;
			if (c == '\n')
				s->line++;
			if (in_string) {
				if (escaped)
					escaped = false;
				else if (c == '\\')
					escaped = true;
				else if (c == '"')
					in_string = false;
			} else if (c == '"') {
				in_string = true;
			} else if (c == '{' || c == '[') {
				structured = true;
				depth++;
			} else if ((c == '}' || c == ']') && --depth <= 0) {
				done = true;
				break;
			}
		}
		if (keep(s, p, (size_t)(q - p)) < 0)
			return -1;
		s->pos += (size_t)(q - p);
		if (done || (q < stop && q < end))
			return 1;
		if (q == stop && stop < end) {
			/* Too large: skip to the end of the line so a stream can go on. */
			char c = s->buf[s->pos++];
			if (c == '\n')
				s->line++;
			while (c != '\n' && fill(s)) {
				c = s->buf[s->pos++];
				if (c == '\n')
					s->line++;
			}
			return 0;
		}
	}
	return 1; /* end of input: whatever we have (the parser says if it is cut short) */
}

/* Skip whitespace; false at the end of the input. */
static bool more(struct stream *s)
{
	while (fill(s)) {
		char c = s->buf[s->pos];
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			return true;
		if (c == '\n')
			s->line++;
		s->pos++;
	}
	return false;
}

/* Whether another payload can be read without waiting. */
static bool input_waiting(struct stream *s)
{
	struct pollfd p = {.fd = s->fd, .events = POLLIN};

	/* The newline after an NDJSON line is no payload: a producer that
	 * writes one line now and then must see it stored without waiting for
	 * the next. */
	while (s->pos < s->len && is_space(s->buf[s->pos])) {
		if (s->buf[s->pos] == '\n')
			s->line++;
		s->pos++;
	}
	if (s->pos < s->len)
		return true;
	return !s->eof && poll(&p, 1, 0) == 1;
}

/* --- ingesting ----------------------------------------------------------- */

struct run {
	struct args *args;
	sm_store *store;
	sm_ingest *ingest;
	sm_text pending; /* envelopes of the open transaction, NDJSON */
	size_t in_txn;   /* payloads in the open transaction */
	int status;
};

static int commit(struct run *r)
{
	sm_error err;
	size_t len = r->pending.len;

	if (r->in_txn == 0)
		return 0;
	r->in_txn = 0;
	r->pending.len = 0;
	if (sm_store_commit(r->store, &err) < 0) {
		sm_store_rollback(r->store);
		return sm_err(-1, "%s", err.msg);
	}
	if (r->args->queue)
		sm_inbox_wake(r->store); /* the workers waiting on the queue */
	/* Acknowledge (print) only what is committed: the transaction's
	 * envelopes in one write, flushed for the next stage. */
	if (len > 0 && (fwrite(r->pending.p, 1, len, stdout) != len || fflush(stdout) == EOF))
		return sm_err(-1, "write error: %s", strerror(errno));
	return 0;
}

/* Store one parsed batch in the open transaction. A failure here is the
 * store's (disk full, I/O error, a lock held past the busy timeout), not the
 * payload's, and ends the run: the transaction is rolled back, so nothing
 * since the last commit is stored or acknowledged, and running the same
 * input again stores it. No savepoint per payload: each one copied every
 * page the transaction had already changed, which cost a batch a third of
 * its time. */
static int store_batch(struct run *r, sm_alert_batch *batch, const char *trace_id, size_t number,
                       const char *name)
{
	size_t mark = r->pending.len;
	sm_error err;

	if (r->in_txn == 0 && sm_store_begin(r->store, &err) < 0)
		goto fail;
	r->in_txn++;
	/* The envelopes go straight into the transaction's text, written at
	 * the commit. */
	if (sm_ingest_apply_text(r->ingest, batch, trace_id, &r->pending, &err) < 0)
		goto fail;
	if (batch->agent && sm_agents_record(r->store, batch->agent, NULL, &err) < 0)
		goto fail;
	for (size_t at = mark; r->args->queue && at < r->pending.len;) {
		const char *line = r->pending.p + at, *end = strchr(line, '\n');
		if (sm_inbox_put_text(r->store, line, (size_t)(end - line), trace_id, &err) < 0)
			goto fail;
		at = (size_t)(end - r->pending.p) + 1;
	}
	return 0;
fail:
	r->pending.len = mark;
	return sm_err(
	    -1,
	    "%s: payload %zu: cannot store: %s (%zu payload(s) since the last commit not stored)",
	    name, number, err.msg, r->in_txn);
}

/* --- the storing thread --------------------------------------------------
 * A batch is read and parsed on the main thread and stored on a second one:
 * parsing a payload (and printing its labels for the store) and storing it
 * are each about half of the work, so two cores share it. The reader hands
 * parsed payloads over through a short queue; the storer commits when the
 * reader says the input paused, after TXN_MAX payloads, and at the end, and
 * prints the envelopes of each commit after it. A payload the reader
 * refuses is reported by the reader and never reaches the storer. */

/* Payloads per transaction at most. Each commit rewrites every index page
 * the transaction touched, and alert fingerprints spread over the whole
 * (source, fingerprint) index: 8192 wrote a populated store 1.3-1.5× faster
 * than 1024 (bench/README.md), for some 6 MiB more of pending envelopes. */
#define TXN_MAX   8192
#define QUEUE_MAX 256 /* parsed payloads waiting for the storer */

enum item_kind { ITEM_PAYLOAD, ITEM_PAUSE, ITEM_END };

struct item {
	struct item *next;
	enum item_kind kind;
	json_t *payload; /* the batch refers into it */
	sm_alert_batch batch;
	const char *driver;
	char trace[SM_TRACE_LEN + 1];
	size_t number;
};

struct handoff {
	pthread_mutex_t lock;
	pthread_cond_t filled, drained;
	struct item *head, *tail;
	size_t count;
	bool failed;                           /* the storer has stopped: the reader stops too */
	struct item end;                       /* the last item: always at hand, never freed */
	struct item *gathered, *gathered_tail; /* the reader's, not yet handed over */
	/* Stored items go back to the reader to be freed: freeing walks every
	 * node of a payload's tree, and on the storing core each was a cache
	 * miss (that cost more CPU than the second thread saved). */
	struct item *done;
	size_t ngathered;
	struct run *run;
	const char *name;
};

static void free_item(struct item *it)
{
	sm_batch_clear(&it->batch);
	json_decref(it->payload);
	free(it);
}

static void free_items(struct item *it)
{
	while (it) {
		struct item *next = it->next;
		free_item(it);
		it = next;
	}
}

/* Hand the reader's gathered items to the storer (a few dozen at a time:
 * a wake-up per payload cost more than it saved). -1, the items freed, once
 * the storer has failed. */
static int hand_over(struct handoff *h)
{
	struct item *first = h->gathered, *last = h->gathered_tail, *done;
	size_t n = h->ngathered;

	if (!first)
		return 0;
	h->gathered = h->gathered_tail = NULL;
	h->ngathered = 0;
	pthread_mutex_lock(&h->lock);
	while (h->count >= QUEUE_MAX && !h->failed)
		pthread_cond_wait(&h->drained, &h->lock);
	if (h->failed && last->kind != ITEM_END) {
		pthread_mutex_unlock(&h->lock);
		free_items(first);
		return -1;
	}
	if (h->tail)
		h->tail->next = first;
	else
		h->head = first;
	h->tail = last;
	h->count += n;
	done = h->done;
	h->done = NULL;
	pthread_cond_signal(&h->filled);
	pthread_mutex_unlock(&h->lock);
	free_items(done);
	return 0;
}

/* Gather an item; hand the gathered ones over at a pause, at the end, and
 * every HAND_OVER items. */
#define HAND_OVER 32
static int gather(struct handoff *h, struct item *it)
{
	it->next = NULL;
	if (h->gathered_tail)
		h->gathered_tail->next = it;
	else
		h->gathered = it;
	h->gathered_tail = it;
	h->ngathered++;
	if (it->kind != ITEM_PAYLOAD || h->ngathered >= HAND_OVER)
		return hand_over(h);
	return 0;
}

static int gather_kind(struct handoff *h, enum item_kind kind)
{
	struct item *it = calloc(1, sizeof *it);

	if (!it)
		return sm_err(-1, "out of memory");
	it->kind = kind;
	return gather(h, it);
}

/* Everything queued, oldest first. */
static struct item *take(struct handoff *h)
{
	struct item *all;

	pthread_mutex_lock(&h->lock);
	while (!h->head)
		pthread_cond_wait(&h->filled, &h->lock);
	all = h->head;
	h->head = h->tail = NULL;
	h->count = 0;
	pthread_cond_signal(&h->drained);
	pthread_mutex_unlock(&h->lock);
	return all;
}

/* Give stored items back to the reader. */
static void give_back(struct handoff *h, struct item *first, struct item *last)
{
	if (!first)
		return;
	pthread_mutex_lock(&h->lock);
	last->next = h->done;
	h->done = first;
	pthread_mutex_unlock(&h->lock);
}

static void *storer(void *arg)
{
	struct handoff *h = arg;
	struct run *r = h->run;
	bool failed = false, ended = false;

	while (!ended) {
		struct item *it = take(h), *next, *back = NULL, *back_tail = NULL;

		for (; it; it = next) {
			enum item_kind kind = it->kind;
			int rc = 0;

			next = it->next;
			if (!failed && kind == ITEM_PAYLOAD) {
				sm_log_set_trace(it->trace);
				rc = store_batch(r, &it->batch, it->trace, it->number, h->name);
				if (rc == 0)
					sm_log_kv(SM_LOG_INFO, "payload stored", "driver",
					          it->driver, SM_LOG_END);
				if (rc == 0 && r->in_txn >= TXN_MAX)
					rc = commit(r);
			} else if (!failed) {
				rc = commit(r); /* the input paused, or ended */
			}
			if (kind == ITEM_END) {
				ended = true;
			} else {
				it->next = back;
				back = it;
				if (!back_tail)
					back_tail = it;
			}
			if (rc < 0 && !failed) {
				failed = true;
				if (r->in_txn > 0) {
					sm_store_rollback(r->store);
					r->in_txn = 0;
				}
				pthread_mutex_lock(&h->lock);
				h->failed = true;
				pthread_cond_broadcast(&h->drained);
				pthread_mutex_unlock(&h->lock);
			}
		}
		give_back(h, back, back_tail);
	}
	return NULL;
}

/* Parse one payload with its driver and hand it to the storer (or print it,
 * with --dry-run). Takes the payload. 0, or -1 when the run must stop. */
static int one_payload(struct run *r, struct handoff *h, json_t *payload, size_t number,
                       const char *name)
{
	struct item *it = calloc(1, sizeof *it);
	const sm_driver *used = NULL;
	const char *trace;
	sm_error err;
	int rc = 0;

	if (!it) {
		json_decref(payload);
		return sm_err(-1, "out of memory");
	}
	it->kind = ITEM_PAYLOAD;
	it->payload = payload;
	it->number = number;
	if (sm_driver_parse(r->args->driver, payload, &used, &it->batch, &err) < 0) {
		sm_err(SM_EXIT_DATAERR, "%s: payload %zu: %s", name, number, err.msg);
		r->status = SM_EXIT_DATAERR;
		goto done;
	}
	it->driver = used->name;
	/* An sm envelope keeps its trace (sm-check --json | sm-ingest -d local). */
	trace = json_string_value(json_object_get(payload, "trace_id"));
	if (sm_trace_valid(trace))
		memcpy(it->trace, trace, SM_TRACE_LEN + 1);
	else if (sm_trace_new(it->trace) < 0) {
		rc = sm_err(-1, "no randomness for a trace id");
		goto done;
	}
	sm_log_set_trace(it->trace);
	if (r->args->dry_run) {
		json_t *env = sm_ingest_dry_run(&it->batch, used->name, it->trace);
		rc = sm_envelope_write(stdout, env, &err) < 0 ? sm_err(-1, "%s", err.msg) : 0;
		json_decref(env);
		goto done;
	}
	if (sm_batch_print(&it->batch) < 0) {
		rc = sm_err(-1, "out of memory");
		goto done;
	}
	return gather(h, it); /* -1: the storer has failed and said why */
done:
	free_item(it);
	return rc;
}

static int ingest_stream(struct run *r, int fd, const char *name)
{
	struct stream *s = calloc(1, sizeof *s);
	struct handoff h = {.lock = PTHREAD_MUTEX_INITIALIZER,
	                    .filled = PTHREAD_COND_INITIALIZER,
	                    .drained = PTHREAD_COND_INITIALIZER,
	                    .run = r,
	                    .name = name};
	pthread_t thread;
	bool threaded = false;
	int rc = SM_EXIT_FAILURE;
	size_t number = 0;
	long long limit = max_body();

	if (!s)
		return sm_err(SM_EXIT_FAILURE, "out of memory");
	if (limit < 0) {
		free(s);
		return SM_EXIT_USAGE;
	}
	s->fd = fd;
	s->name = name;
	s->line = 1;
	s->limit = limit;
	if (!r->args->dry_run) {
		if (pthread_create(&thread, NULL, storer, &h) != 0) {
			free(s);
			return sm_err(SM_EXIT_FAILURE, "cannot start the storing thread");
		}
		threaded = true;
	}
	while (more(s)) {
		json_error_t jerr;
		size_t line = s->line;
		json_t *payload;
		int got = next_value(s);

		number++;
		if (got < 0) {
			sm_err(SM_EXIT_FAILURE, "out of memory");
			goto out;
		}
		if (got == 0) {
			sm_err(SM_EXIT_DATAERR,
			       "%s: payload %zu (line %zu): larger than %lld bytes (SM_MAX_BODY)",
			       name, number, line, limit);
			r->status = SM_EXIT_DATAERR;
			continue;
		}
		payload = sm_json_parse(s->value, s->used, JSON_REJECT_DUPLICATES, &jerr);
		if (!payload) {
			sm_err(SM_EXIT_DATAERR, "%s: payload %zu (line %zu): malformed JSON: %s",
			       name, number, line, jerr.text);
			r->status = SM_EXIT_DATAERR;
			break; /* the stream cannot be resynchronised */
		}
		if (!json_is_object(payload)) {
			sm_err(SM_EXIT_DATAERR, "%s: payload %zu (line %zu): not a JSON object",
			       name, number, line);
			r->status = SM_EXIT_DATAERR;
			json_decref(payload);
		} else if (one_payload(r, &h, payload, number, name) < 0) {
			goto out;
		}
		/* A pause in the input: the storer commits what it has. */
		if (threaded && !input_waiting(s) && gather_kind(&h, ITEM_PAUSE) < 0)
			goto out;
	}
	rc = r->status;
out:
	if (threaded) {
		/* The end: the storer commits, or rolls back after a failure. */
		h.end.kind = ITEM_END;
		gather(&h, &h.end);
		pthread_join(thread, NULL);
		free_items(h.done);
		if (h.failed)
			rc = SM_EXIT_FAILURE;
	}
	free(s->value);
	free(s);
	return rc;
}

/* --- commands ------------------------------------------------------------ */

static int list_drivers(bool json)
{
	size_t n;
	const sm_driver *all = sm_drivers(&n);

	for (size_t i = 0; i < n; i++) {
		if (all[i].flags & SM_DRIVER_INTERNAL)
			continue;
		if (json) {
			json_t *o = json_pack("{s:s,s:s,s:s,s:b}", "name", all[i].name,
			                      "description", all[i].description, "signature_header",
			                      all[i].signature_header, "enabled",
			                      sm_driver_enabled(&all[i]));
			sm_envelope_write(stdout, o, NULL);
			json_decref(o);
		} else {
			printf("%-13s %s%s\n", all[i].name, all[i].description,
			       sm_driver_enabled(&all[i]) ? "" : " [disabled]");
		}
	}
	return SM_EXIT_OK;
}

static int list_rows(sm_store *store, const char *what, struct args *a)
{
	static const char *const alert_cols[] = {"id",   "status",      "severity",  "source",
	                                         "name", "incident_id", "updated_at"};
	static const char *const incident_cols[] = {"id", "status", "severity", "title",
	                                            "updated_at"};
	bool alerts = strcmp(what, "alerts") == 0;
	const char *const *cols = alerts ? alert_cols : incident_cols;
	int ncols = alerts ? 7 : 5;
	json_t *rows, *row;
	sm_error err;
	size_t i;

	if (sm_ingest_list(store, what, a->status, a->limit, &rows, &err) < 0)
		return sm_err_report(SM_EXIT_FAILURE, &err);
	if (a->json || !sm_term_isatty(stdout)) {
		json_array_foreach(rows, i, row)
		{
			sm_envelope_write(stdout, row, NULL);
		}
	} else {
		const char *headers[7];
		sm_table *t;
		for (int c = 0; c < ncols; c++)
			headers[c] = cols[c];
		t = sm_table_new(ncols, headers);
		json_array_foreach(rows, i, row)
		{
			sm_table_row(t);
			for (int c = 0; c < ncols; c++) {
				char *text = sm_json_text(json_object_get(row, cols[c]));
				sm_table_cell(t, text, SM_COLOR_NONE);
				free(text);
			}
		}
		sm_table_print(t, stdout, sm_term_color(stdout), sm_term_columns(stdout));
		sm_table_free(t);
	}
	json_decref(rows);
	return SM_EXIT_OK;
}

static int incident_command(sm_store *store, struct args *a)
{
	static const char *const actions[] = {"ack", "resolve", "close"};
	const char *action, *id_text;
	long long id;
	char *end;
	sm_error err = {""};
	json_t *inc;
	int rc;
	bool known = false;

	if (a->noperands != 3)
		return sm_err(SM_EXIT_USAGE, "usage: sm-ingest incident ack|resolve|close ID");
	action = a->operands[1];
	id_text = a->operands[2];
	for (size_t i = 0; i < 3; i++)
		known = known || strcmp(action, actions[i]) == 0;
	if (!known)
		return sm_err(SM_EXIT_USAGE, "unknown incident action '%s' (ack, resolve, close)",
		              action);
	errno = 0;
	id = strtoll(id_text, &end, 10);
	if (errno || *end || id <= 0)
		return sm_err(SM_EXIT_USAGE, "incident id must be a positive number, got '%s'",
		              id_text);
	rc = sm_incident_set_status(store, id, action, &err);
	if (rc < 0)
		return sm_err_report(strncmp(err.msg, "no incident", 11) == 0 ? SM_EXIT_USAGE
		                                                              : SM_EXIT_FAILURE,
		                     &err);
	inc = sm_incident_json(store, id);
	if (inc) {
		json_object_set_new(inc, "change", json_string(rc ? action : "unchanged"));
		sm_envelope_write(stdout, inc, NULL);
		json_decref(inc);
	}
	return SM_EXIT_OK;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	char *end;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":hd:", long_options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(usage_text, stdout);
			exit(SM_EXIT_OK);
		case OPT_VERSION:
			printf("sm-ingest %s\n", SM_VERSION);
			exit(SM_EXIT_OK);
		case 'd':
			a->driver = sm_driver_find(optarg);
			if (!a->driver) {
				char names[512];
				sm_driver_names(names, sizeof names);
				return sm_err(SM_EXIT_USAGE, "unknown driver '%s' (available: %s)",
				              optarg, names);
			}
			if (!sm_driver_enabled(a->driver))
				return sm_err(SM_EXIT_USAGE,
				              "driver %s is disabled (CLUSTER_ENABLED=1 "
				              "turns it on)",
				              a->driver->name);
			break;
		case OPT_DRY_RUN:
			a->dry_run = true;
			break;
		case OPT_QUEUE:
			a->queue = true;
			break;
		case OPT_LIST_DRIVERS:
			a->list_drivers = true;
			break;
		case OPT_STATUS:
			a->status = optarg;
			break;
		case OPT_LIMIT:
			errno = 0;
			a->limit = strtoll(optarg, &end, 10);
			if (errno || *end || a->limit < 0)
				return sm_err(SM_EXIT_USAGE,
				              "--limit: expected a whole number >= 0");
			break;
		case OPT_JSON:
			a->json = true;
			break;
		default: /* ':' too */
			return sm_err_option(opt, argv[optind - 1]);
		}
	}
	a->operands = argv + optind;
	a->noperands = argc - optind;
	return 0;
}

static int run_command(struct args *a)
{
	const char *cmd = a->noperands > 0 ? a->operands[0] : NULL;
	sm_store *store = NULL;
	sm_error err;
	int rc;
	bool listing = cmd && (strcmp(cmd, "alerts") == 0 || strcmp(cmd, "incidents") == 0);

	if (listing && a->noperands != 1)
		return sm_err(SM_EXIT_USAGE, "usage: sm-ingest %s [--status S] [--limit N]", cmd);
	if (listing && a->status) { /* Each listing has its own statuses. */
		static const char *const alerts[] = {"firing", "resolved", NULL};
		static const char *const incidents[] = {"open", "acknowledged", "resolved",
		                                        "closed", NULL};
		const char *const *ok = strcmp(cmd, "alerts") == 0 ? alerts : incidents;
		bool valid = false;
		for (size_t i = 0; ok[i]; i++)
			valid = valid || strcmp(a->status, ok[i]) == 0;
		if (!valid)
			return sm_err(SM_EXIT_USAGE, "--status: %s have no status '%s'", cmd,
			              a->status);
	}
	if (sm_store_open(NULL, &store, &err) < 0)
		return sm_err_report(SM_EXIT_FAILURE, &err);
	if (listing)
		rc = list_rows(store, cmd, a);
	else
		rc = incident_command(store, a);
	sm_store_close(store);
	return rc;
}

static int ingest(struct args *a)
{
	struct run r = {.args = a};
	const char *name = "stdin";
	sm_error err;
	int fd = STDIN_FILENO, rc;

	if (a->noperands > 1)
		return sm_err(SM_EXIT_USAGE, "one FILE at most (see sm-ingest --help)");
	if (a->noperands == 1 && strcmp(a->operands[0], "-") != 0) {
		name = a->operands[0];
		fd = open(name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return sm_err(SM_EXIT_FAILURE, "%s: %s", name, strerror(errno));
	}
	if (!a->dry_run) {
		if (sm_store_open(NULL, &r.store, &err) < 0 ||
		    !(r.ingest = sm_ingest_new(r.store, &err))) {
			rc = sm_err_report(SM_EXIT_FAILURE, &err);
			goto out;
		}
	}
	rc = ingest_stream(&r, fd, name);
out:
	if (fd != STDIN_FILENO)
		close(fd);
	sm_ingest_free(r.ingest);
	sm_store_close(r.store);
	free(r.pending.p);
	return rc;
}

int main(int argc, char **argv)
{
	struct args a = {.limit = 100};
	sm_error err;
	int rc;

	sm_json_arena_install(); /* before any tree is made */
	sm_err_set_progname(argv[0]);
	sm_log_init("sm-ingest");
	if (fcgi_wanted(argc, argv)) /* FastCGI responder (cgi.c): loads its own config */
		return fcgi_main(argc, argv);
	if (sm_config_load(&err) < 0) {
		if (getenv("GATEWAY_INTERFACE"))
			return cgi_config_error(err.msg);
		return sm_err_report(SM_EXIT_FAILURE, &err);
	}
	if (getenv("GATEWAY_INTERFACE"))
		return cgi_main();
	rc = parse_args(argc, argv, &a);
	if (rc != 0)
		return rc;
	if (a.list_drivers)
		return list_drivers(a.json);
	if (a.noperands > 0 &&
	    (strcmp(a.operands[0], "alerts") == 0 || strcmp(a.operands[0], "incidents") == 0 ||
	     strcmp(a.operands[0], "incident") == 0))
		return run_command(&a);
	if (a.noperands == 0 && sm_term_isatty(stdin))
		return sm_err(SM_EXIT_USAGE,
		              "no payload: give a FILE or pipe one in (see sm-ingest --help)");
	return ingest(&a);
}
