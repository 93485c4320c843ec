/* stream.c - the batch ingest of stream.h: a scanner that cuts a stream of
 * payloads into values, the reader that parses each with its driver, and
 * the storing thread that writes them in transactions and prints their
 * envelopes after each commit. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sm/agents.h"
#include "sm/envelope.h"
#include "sm/inbox.h"
#include "sm/ingest.h"
#include "sm/json.h"
#include "sm/log.h"
#include "sm/stream.h"
#include "sm/trace.h"

struct run;
static int report(struct run *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* --- reading a stream of payloads --------------------------------------
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
	size_t line;    /* line of the current position, for messages */
	int read_errno; /* why reading stopped early, 0 at the end of input */
};

static int fill(struct stream *s)
{
	ssize_t n;

	if (s->pos < s->len)
		return 1;
	if (s->eof)
		return 0;
	for (;;) {
		struct pollfd p = {.fd = s->fd, .events = POLLIN};
		n = read(s->fd, s->buf, sizeof s->buf);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		/* A non-blocking descriptor with nothing yet: wait for it. */
		if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
		    (poll(&p, 1, -1) >= 0 || errno == EINTR))
			continue;
		break;
	}
	if (n <= 0) {
		/* A read error is no end of input: what was read is stored, and
		 * the run says it did not see everything. */
		s->read_errno = n < 0 ? errno : 0;
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
	const sm_stream_opts *opts;
	sm_store *store;
	sm_ingest *ingest;
	sm_text pending; /* envelopes of the open transaction, NDJSON */
	size_t in_txn;   /* payloads in the open transaction */
	size_t last;     /* the number of the last payload in it */
	const char *name;
	int status;
};

static int commit(struct run *r)
{
	sm_error err;
	size_t len = r->pending.len, count = r->in_txn;

	if (r->in_txn == 0)
		return 0;
	r->in_txn = 0;
	r->pending.len = 0;
	if (sm_store_commit(r->store, &err) < 0) {
		sm_store_rollback(r->store);
		return report(r, -1,
		              "%s: payload %zu: cannot store: %s (%zu payload(s) since the last "
		              "commit not stored)",
		              r->name, r->last, err.msg, count);
	}
	if (r->opts->queue)
		sm_inbox_wake(r->store); /* the workers waiting on the queue */
	/* Acknowledge (print) only what is committed: the transaction's
	 * envelopes in one write, flushed for the next stage. */
	if (len > 0 &&
	    (fwrite(r->pending.p, 1, len, r->opts->out) != len || fflush(r->opts->out) == EOF))
		return report(r, -1, "write error: %s", strerror(errno));
	return 0;
}

/* Store one parsed batch in the open transaction. A failure here is the
 * store's (disk full, I/O error, a lock held past the busy timeout), not the
 * payload's, and ends the run: the transaction is rolled back, so nothing
 * since the last commit is stored or acknowledged, and running the same
 * input again stores it. No savepoint per payload: each one copied every
 * page the transaction had already changed, which cost a batch a third of
 * its time. */
static int store_batch(struct run *r, sm_alert_batch *batch, const char *trace_id, size_t number)
{
	size_t mark = r->pending.len;
	sm_error err;

	/* Counted first: a payload whose transaction cannot begin is one of
	 * those not stored. */
	if (r->in_txn++ == 0 && sm_store_begin(r->store, &err) < 0)
		goto fail;
	r->last = number;
	/* The envelopes go straight into the transaction's text, written at
	 * the commit. */
	if (sm_ingest_apply_text(r->ingest, batch, trace_id, &r->pending, &err) < 0)
		goto fail;
	if (batch->agent && sm_agents_record(r->store, batch->agent, NULL, &err) < 0)
		goto fail;
	for (size_t at = mark; r->opts->queue && at < r->pending.len;) {
		const char *line = r->pending.p + at, *end = strchr(line, '\n');
		if (sm_inbox_put_text(r->store, line, (size_t)(end - line), trace_id, &err) < 0)
			goto fail;
		at = (size_t)(end - r->pending.p) + 1;
	}
	return 0;
fail:
	r->pending.len = mark;
	return report(
	    r, -1,
	    "%s: payload %zu: cannot store: %s (%zu payload(s) since the last commit not stored)",
	    r->name, number, err.msg, r->in_txn);
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
		return report(h->run, -1, "out of memory");
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
				rc = store_batch(r, &it->batch, it->trace, it->number);
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
                       size_t line, const char *name)
{
	struct item *it = calloc(1, sizeof *it);
	const sm_driver *used = NULL;
	const char *trace;
	sm_error err;
	int rc = 0;

	if (!it) {
		json_decref(payload);
		return report(r, -1, "out of memory");
	}
	it->kind = ITEM_PAYLOAD;
	it->payload = payload;
	it->number = number;
	if (sm_driver_parse(r->opts->driver, payload, &used, &it->batch, &err) < 0) {
		report(r, SM_EXIT_DATAERR, "%s: payload %zu (line %zu): %s", name, number, line,
		       err.msg);
		r->status = SM_EXIT_DATAERR;
		goto done;
	}
	it->driver = used->name;
	/* An sm envelope keeps its trace (sm-check --json | sm-ingest -d local). */
	trace = json_string_value(json_object_get(payload, "trace_id"));
	if (sm_trace_valid(trace))
		memcpy(it->trace, trace, SM_TRACE_LEN + 1);
	else if (sm_trace_new(it->trace) < 0) {
		rc = report(r, -1, "no randomness for a trace id");
		goto done;
	}
	sm_log_set_trace(it->trace);
	if (r->opts->dry_run) {
		json_t *env = sm_ingest_dry_run(&it->batch, used->name, it->trace);
		rc = sm_envelope_write(r->opts->out, env, &err) < 0 ? report(r, -1, "%s", err.msg)
		                                                    : 0;
		json_decref(env);
		goto done;
	}
	if (sm_batch_print(&it->batch) < 0) {
		rc = report(r, -1, "out of memory");
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
	                    .run = r};
	pthread_t thread;
	bool threaded = false;
	int rc = SM_EXIT_FAILURE;
	size_t number = 0;
	long long limit = r->opts->max_body;

	if (!s)
		return report(r, SM_EXIT_FAILURE, "out of memory");
	s->fd = fd;
	s->name = name;
	r->name = name;
	s->line = 1;
	s->limit = limit;
	if (!r->opts->dry_run) {
		if (pthread_create(&thread, NULL, storer, &h) != 0) {
			free(s);
			return report(r, SM_EXIT_FAILURE, "cannot start the storing thread");
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
			report(r, SM_EXIT_FAILURE, "out of memory");
			goto out;
		}
		if (got == 0) {
			report(r, SM_EXIT_DATAERR,
			       "%s: payload %zu (line %zu): larger than %lld bytes (SM_MAX_BODY)",
			       name, number, line, limit);
			r->status = SM_EXIT_DATAERR;
			continue;
		}
		payload = sm_json_parse(s->value, s->used, JSON_REJECT_DUPLICATES, &jerr);
		if (!payload) {
			report(r, SM_EXIT_DATAERR, "%s: payload %zu (line %zu): malformed JSON: %s",
			       name, number, line, jerr.text);
			r->status = SM_EXIT_DATAERR;
			break; /* the stream cannot be resynchronised */
		}
		if (!json_is_object(payload)) {
			report(r, SM_EXIT_DATAERR, "%s: payload %zu (line %zu): not a JSON object",
			       name, number, line);
			r->status = SM_EXIT_DATAERR;
			json_decref(payload);
		} else if (one_payload(r, &h, payload, number, line, name) < 0) {
			goto out;
		}
		/* A pause in the input: the storer commits what it has. */
		if (threaded && !input_waiting(s) && gather_kind(&h, ITEM_PAUSE) < 0)
			goto out;
	}
	if (s->read_errno) {
		if (number > 0)
			report(r, SM_EXIT_DATAERR, "%s: read error after payload %zu: %s", name,
			       number, strerror(s->read_errno));
		else
			report(r, SM_EXIT_DATAERR, "%s: read error: %s", name,
			       strerror(s->read_errno));
		r->status = SM_EXIT_DATAERR;
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

/* A message for opts->report; returns code. */
static int report(struct run *r, int code, const char *fmt, ...)
{
	char message[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	if (r->opts->report)
		r->opts->report(r->opts->ctx, code, message);
	return code;
}

int sm_stream_ingest(sm_store *store, int fd, const char *name, const sm_stream_opts *opts)
{
	struct run r = {.opts = opts, .store = store};
	sm_error err;
	int rc;

	if (store && !(r.ingest = sm_ingest_new(store, &err)))
		return report(&r, sm_error_exit(&err), "%s", err.msg);
	/* Room for a batch transaction's pages (up to 16 MiB, used only as
	 * pages are read): 2 MiB made the second 50 k batch re-read and
	 * re-write evicted index pages. Only a batch: see bench/README.md. */
	if (store && sm_store_exec(store, "PRAGMA cache_size = -16384", &err) < 0) {
		sm_ingest_free(r.ingest);
		return report(&r, SM_EXIT_FAILURE, "%s", err.msg);
	}
	rc = ingest_stream(&r, fd, name);
	sm_ingest_free(r.ingest);
	free(r.pending.p);
	return rc;
}
