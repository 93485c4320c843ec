/* pipeline_work.c - the queue worker of `sm-pipeline work` (see
 * pipeline_work.h): claim, route, run or resume, finish; waiting on the
 * wake-up file with inotify; a pool of worker processes. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/nodes.h"
#include "sm/config.h"
#include "sm/handoff.h"
#include "sm/http.h"
#include "sm/inbox.h"
#include "sm/log.h"
#include "sm/pipeline.h"
#include "sm/pipeline_metrics.h"
#include "sm/pipeline_route.h"
#include "sm/pipeline_run.h"
#include "sm/pipeline_work.h"
#include "sm/rfc3339.h"
#include "sm/store.h"
#include "sm/trace.h"
#include "sm/webhook.h"

#define DEPTH_EVERY_S 60.0    /* how often a deep queue is said again */
#define MAX_DELAY_S   86400.0 /* the longest wait before a retry */
/* Items claimed at once when that many are due (sm-pipeline(1)); only
 * what is due now, so a lone alert is claimed alone and never waits for a
 * batch to fill. A worker killed -9 leaves them claimed until stale. */
#define CLAIM_BATCH 8
/* A quick batch records the runs that ended at least this often. */
#define QUICK_RECORD_S 1.0
/* --webhook: how long the disk's sync (and so the answers) may wait for the
 * group's first delivery to have its answer (serve_sync). */
#define SYNC_WAIT_MS 2

/* A stop request: the flag, and a pipe the wait polls so that a signal
 * arriving just before the wait still ends it (the self-pipe trick). */
static volatile sig_atomic_t stopping;
static int stop_pipe[2] = {-1, -1};
/* --webhook: the listening socket every worker of the pool serves. */
static int webhook_fd = -1;

void sm_pipeline_work_stop(void)
{
	int saved = errno;

	stopping = 1;
	node_filters_hold();
	if (stop_pipe[1] >= 0)
		(void)!write(stop_pipe[1], "", 1);
	errno = saved;
}

/* One setting: its variable, default, the range allowed, and whether it
 * is a duration (sm_config_seconds: 90s, 15m) or a plain number. */
static const struct {
	const char *name;
	double def, min, max;
	bool seconds;
	size_t offset;
} settings[] = {
    {"ORCHESTRATION_QUEUE_STALE_SECONDS", 900, 0.001, 1e9, true,
     offsetof(sm_pipeline_work_settings, stale_s)},
    {"ORCHESTRATION_QUEUE_MAX_RETRIES", 3, 0, 1000, false,
     offsetof(sm_pipeline_work_settings, max_retries)},
    {"ORCHESTRATION_QUEUE_RETRY_SECONDS", 30, 0, 1e7, true,
     offsetof(sm_pipeline_work_settings, retry_s)},
    {"ORCHESTRATION_QUEUE_POLL_SECONDS", 5, 0.01, 86400, true,
     offsetof(sm_pipeline_work_settings, poll_s)},
    {"INBOX_DEPTH_WARN", 500, 0, 1e12, false, offsetof(sm_pipeline_work_settings, depth_warn)},
};

int sm_pipeline_work_settings_get(sm_pipeline_work_settings *s, sm_error *err)
{
	double stage_retries;
	int in_worker;

	for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
		double v;
		int rc = settings[i].seconds
		             ? sm_config_seconds(settings[i].name, settings[i].def, &v, err)
		             : sm_config_double(settings[i].name, settings[i].def, &v, err);
		if (rc < 0)
			return -1;
		if (v < settings[i].min || v > settings[i].max) {
			sm_error_set(err, "%s: expected a number from %g to %g", settings[i].name,
			             settings[i].min, settings[i].max);
			return -1;
		}
		memcpy((char *)s + settings[i].offset, &v, sizeof v);
	}
	s->max_retries = floor(s->max_retries);
	in_worker = sm_config_bool("SM_NOTIFY_IN_WORKER", 1);
	if (in_worker < 0) {
		sm_error_set(err, "SM_NOTIFY_IN_WORKER: expected yes or no");
		return -1;
	}
	s->notify_in_worker = in_worker == 1;
	return sm_pipeline_settings(&stage_retries, &s->backoff, err);
}

/* --- the heartbeat ------------------------------------------------------------ */

/* While a worker has an item in hand, a thread of its own (with its own
 * connection to the store) renews the claim every third of the stale
 * limit, so a long run (stage timeouts and retries add up) is not taken
 * over by another worker while this one still runs it. */
struct beat {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop, active, started;
	sm_inbox_item item; /* id and claim only; no envelope */
	double every;
	char path[4200];
	pthread_t thread;
};

static void *beat_main(void *arg)
{
	struct beat *b = arg;
	sm_store *store = NULL;

	pthread_mutex_lock(&b->mu);
	while (!b->stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		sm_timespec_add(&until, b->every);
		if (pthread_cond_timedwait(&b->cv, &b->mu, &until) != ETIMEDOUT || b->stop ||
		    !b->active)
			continue;
		{
			sm_inbox_item claim = b->item;
			sm_error err = {0};
			pthread_mutex_unlock(&b->mu);
			if ((store || sm_store_open(b->path, &store, &err) == 0) &&
			    sm_inbox_heartbeat(store, &claim, &err) < 0)
				sm_log_kv(SM_LOG_WARN, "cannot renew the claim", "error", err.msg,
				          SM_LOG_END);
			pthread_mutex_lock(&b->mu);
		}
	}
	pthread_mutex_unlock(&b->mu);
	sm_store_close(store);
	return NULL;
}

static void beat_start(struct beat *b, const char *path, double stale_s)
{
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	snprintf(b->path, sizeof b->path, "%s", path);
	b->every = fmax(stale_s / 3, 0.05);
	b->started = pthread_create(&b->thread, NULL, beat_main, b) == 0;
	if (!b->started)
		sm_log_kv(SM_LOG_WARN, "no heartbeat thread: long runs may be taken over",
		          SM_LOG_END);
}

/* The item in hand (NULL: none). */
static void beat_item(struct beat *b, const sm_inbox_item *item)
{
	if (!b->started)
		return;
	pthread_mutex_lock(&b->mu);
	b->active = item != NULL;
	if (item) {
		b->item = *item;
		b->item.envelope = NULL;
	}
	pthread_mutex_unlock(&b->mu);
}

static void beat_stop(struct beat *b)
{
	if (b->started) {
		pthread_mutex_lock(&b->mu);
		b->stop = true;
		pthread_cond_signal(&b->cv);
		pthread_mutex_unlock(&b->mu);
		pthread_join(b->thread, NULL);
	}
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
}

/* --- one item ---------------------------------------------------------------- */

struct worker {
	sm_store *store;
	const sm_pipeline_work_opts *opts;
	sm_pipeline_work_settings set;
	sm_pipeline_work_counts *counts;
	char id[128];
	char wake_name[256]; /* the wake-up file's name in its directory */
	int inotify;         /* -1: poll only */
	int handoff;         /* the hand-over socket (handoff.h), -1: none */
	int busy;            /* with it, the wake-up file: locked while busy, -1: none */
	struct timespec depth_checked;
	bool depth_said;
	bool ran; /* a run ended: the metrics to flush */
	struct beat beat;
	json_t *defs;             /* the definitions loaded, by name, */
	sqlite3_int64 defs_at;    /* at this configuration version (-1: none) */
	sm_webhook_host *host;    /* --webhook: the handler it hosts */
	struct timespec claim_at; /* --webhook: when to claim from the queue next */
	/* --webhook: the groups of requests answered, and the last one whose
	 * first delivery has its answer (serve_sync waits for it), under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned long group, delivered;
};

static void item_log(enum sm_log_level level, const char *msg, const sm_inbox_item *item,
                     const char *run_id, const char *detail)
{
	char id[32];

	snprintf(id, sizeof id, "%lld", item->id);
	if (detail && *detail)
		sm_log_kv(level, msg, "item", id, "run_id", run_id ? run_id : "", "error", detail,
		          SM_LOG_END);
	else
		sm_log_kv(level, msg, "item", id, "run_id", run_id ? run_id : "", SM_LOG_END);
}

static void finish_fail(struct worker *w, const sm_inbox_item *item, const char *run_id,
                        const char *error)
{
	sm_error err = {0};

	if (sm_inbox_fail(w->store, item, error, &err) < 0)
		sm_log_kv(SM_LOG_ERROR, "cannot record the queue item", "error", err.msg,
		          SM_LOG_END);
	item_log(SM_LOG_WARN, "queue item failed", item, run_id, error);
	w->counts->failed++;
}

static void finish_done(struct worker *w, const sm_inbox_item *item, const char *run_id)
{
	sm_error err = {0};

	if (sm_inbox_done(w->store, item, &err) < 0)
		sm_log_kv(SM_LOG_ERROR, "cannot record the queue item", "error", err.msg,
		          SM_LOG_END);
	item_log(SM_LOG_INFO, "queue item done", item, run_id, NULL);
	w->counts->done++;
}

/* After a failed run: back in the queue with backoff while retries are
 * left and the failure may pass, else a dead letter. */
static void finish_failed_run(struct worker *w, const sm_inbox_item *item,
                              const sm_pipeline_result *res)
{
	sm_error err = {0};
	char msg[1400];

	if (res->exit_status == SM_EXIT_TEMPFAIL && (double)item->attempts <= w->set.max_retries) {
		double delay =
		    fmin(w->set.retry_s * pow(w->set.backoff, (double)(item->attempts - 1)),
		         MAX_DELAY_S);
		char due[32];
		if (sm_inbox_defer(w->store, item, delay, res->error, &err) < 0)
			sm_log_kv(SM_LOG_ERROR, "cannot record the queue item", "error", err.msg,
			          SM_LOG_END);
		snprintf(due, sizeof due, "%.3f", delay);
		sm_log_kv(SM_LOG_WARN, "queue item to be retried", "run_id", res->run_id, "error",
		          res->error, "retry_in_s", due, SM_LOG_END);
		w->counts->deferred++;
		return;
	}
	if (res->exit_status == SM_EXIT_TEMPFAIL)
		snprintf(msg, sizeof msg, "%s (gave up after %lld attempts)", res->error,
		         item->attempts);
	else
		snprintf(msg, sizeof msg, "%s", res->error);
	finish_fail(w, item, res->run_id, msg);
}

static void finish_run(struct worker *w, const sm_inbox_item *item, sm_pipeline_result *res)
{
	char msg[1300];

	if (res->exit_status == SM_EXIT_OK) {
		finish_done(w, item, res->run_id);
	} else if (strcmp(res->status, "rejected") == 0) {
		snprintf(msg, sizeof msg, "input refused: %s", res->error);
		finish_fail(w, item, NULL, msg);
	} else {
		finish_failed_run(w, item, res);
	}
	w->ran = true;
}

/* The status of run run_id, "" when there is no such run. */
static void run_status(struct worker *w, const char *run_id, char *buf, size_t size)
{
	sqlite3_stmt *st =
	    sm_store_prepare(w->store, "SELECT status FROM pipeline_runs WHERE run_id = ?", NULL);

	buf[0] = '\0';
	if (!st)
		return;
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(buf, size, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* An item with a run id and no run: its id was promised (by the request
 * that queued it, or with a batch's claims), and a claimed item's worker
 * stopped before its run was recorded (a batch's runs are recorded when
 * they end). It runs under that id. */
static void no_run_yet(const sm_inbox_item *item)
{
	if (item->attempts > 1)
		item_log(SM_LOG_WARN, "queue item taken over from a stopped worker", item,
		         item->run_id, NULL);
}

/* Continue the run of an earlier attempt: 1 when it was (the item is
 * finished), 0 when there is no run to continue. */
static int continue_run(struct worker *w, const sm_inbox_item *item)
{
	sm_pipeline_result res = {0};
	sm_error err = {0};
	char status[32];

	run_status(w, item->run_id, status, sizeof status);
	if (!*status) {
		no_run_yet(item);
		return 0;
	}
	if (strcmp(status, "notified") == 0) {
		finish_done(w, item, item->run_id); /* it died after the run ended */
		return 1;
	}
	/* Its worker died mid-run: the resume ends the run failed and goes on
	 * from the node it was in, so nodes that succeeded are not run again. */
	if (strcmp(status, "failed") != 0)
		item_log(SM_LOG_WARN, "queue item taken over from a stopped worker", item,
		         item->run_id, NULL);
	if (sm_pipeline_resume(w->store, item->run_id, &res, &err) != SM_EXIT_OK)
		finish_fail(w, item, item->run_id, err.msg);
	else
		finish_run(w, item, &res);
	sm_pipeline_result_clear(&res);
	return 1;
}

/* The node to start from: the one after the first ingest node; NULL (all
 * of them) when there is no ingest node. *nothing when ingest is last. */
static const char *start_node(const json_t *def, bool *nothing)
{
	const json_t *nodes = json_object_get(def, "nodes"), *n;
	size_t i;

	*nothing = false;
	json_array_foreach(nodes, i, n)
	{
		if (strcmp(json_string_value(json_object_get(n, "type")), "ingest") != 0)
			continue;
		if (i + 1 >= json_array_size(nodes)) {
			*nothing = true;
			return NULL;
		}
		return json_string_value(json_object_get(json_array_get(nodes, i + 1), "id"));
	}
	return NULL;
}

/* An item's definition: routed (or forced), loaded, and the node its run
 * starts from. 0, or -1 with msg saying why. */
struct routed {
	json_t *route, *def;
	const char *name, *start;
	bool nothing; /* the definition has nothing after its ingest node */
};

/* The definition called name: loaded, or the one loaded for an item
 * before while the configuration's version stays (a definition is not
 * changed once loaded). */
static int definition(struct worker *w, const char *name, json_t **def, sm_error *err)
{
	sqlite3_int64 version = sm_store_config_version(w->store);
	json_t *kept;
	int rc;

	if (version != w->defs_at) {
		json_object_clear(w->defs);
		w->defs_at = version;
	}
	if (version >= 0 && (kept = json_object_get(w->defs, name))) {
		*def = json_incref(kept);
		return SM_EXIT_OK;
	}
	rc = sm_pipeline_load(w->store, name, def, NULL, err);
	if (rc == SM_EXIT_OK && version >= 0)
		json_object_set(w->defs, name, *def);
	return rc;
}

/* same: the items routed before in the same transaction, whose
 * definitions are taken again rather than read again (NULL: none). */
static int route_item(struct worker *w, const sm_inbox_item *item, struct routed *rt,
                      const struct routed *same, size_t nsame, char *msg, size_t size)
{
	sm_error err = {0};
	const char *forced = w->opts->definition ? w->opts->definition
	                     : *item->definition ? item->definition
	                                         : NULL;

	memset(rt, 0, sizeof *rt);
	if (sm_pipeline_route(w->store, item->envelope, forced, &rt->route, &err) != SM_EXIT_OK) {
		snprintf(msg, size, "%s", err.msg);
		return -1;
	}
	rt->name = json_string_value(json_object_get(rt->route, "definition"));
	sm_log_kv(SM_LOG_INFO, "queue item routed", "definition", rt->name, "by",
	          json_string_value(json_object_get(rt->route, "by")), SM_LOG_END);
	for (size_t i = 0; i < nsame && !rt->def; i++)
		if (same[i].def && strcmp(same[i].name, rt->name) == 0)
			rt->def = json_incref(same[i].def);
	if (!rt->def && definition(w, rt->name, &rt->def, &err) != SM_EXIT_OK) {
		snprintf(msg, size, "routed to %s: %s", rt->name, err.msg);
		return -1;
	}
	rt->start = start_node(rt->def, &rt->nothing);
	return 0;
}

static void routed_clear(struct routed *rt)
{
	json_decref(rt->def);
	json_decref(rt->route);
	memset(rt, 0, sizeof *rt);
}

/* The options of an item's run: routed by rt, on the item's envelope
 * (input: [envelope]). */
static sm_pipeline_run_opts item_opts(const sm_inbox_item *item, const struct routed *rt,
                                      const json_t *input, const char *run_id)
{
	const char *trace = json_string_value(json_object_get(item->envelope, "trace_id"));
	const char *source = json_string_value(json_object_get(item->envelope, "source"));

	return (sm_pipeline_run_opts){.definition_name = rt->name,
	                              .definition = rt->def,
	                              .input = input,
	                              .start_node = rt->start,
	                              .source = source ? source : "queue",
	                              .trace_id = trace && sm_trace_valid(trace) ? trace : NULL,
	                              .run_id = run_id};
}

/* Run an item routed by rt, recording its run. tried: the run's first
 * attempt, made by a quick run (or NULL). */
static void run_routed(struct worker *w, const sm_inbox_item *item, const struct routed *rt,
                       sm_pipeline_quick *tried)
{
	json_t *input = NULL;
	sm_pipeline_result res = {0};
	sm_error err = {0};
	char run_id[SM_PIPELINE_ID_LEN + 1];

	if (rt->nothing) {
		/* The definition does nothing after ingesting: the handler did that. */
		item_log(SM_LOG_INFO, "definition has nothing after its ingest node", item, NULL,
		         rt->name);
		if (sm_inbox_set_run(w->store, item, NULL, rt->name, &err) < 0)
			sm_log_kv(SM_LOG_ERROR, "cannot record the queue item", "error", err.msg,
			          SM_LOG_END);
		finish_done(w, item, NULL);
		return;
	}
	/* An id promised when the item was queued (or recorded by a worker
	 * that died before its run was) is the run's. */
	if (*item->run_id)
		snprintf(run_id, sizeof run_id, "%.36s", item->run_id);
	else if (sm_pipeline_new_run_id(run_id) < 0) {
		finish_fail(w, item, NULL, "no randomness for a run id");
		return;
	}
	/* The run id is on the item before the run starts, so a worker taking
	 * the item over after a crash finds the run to resume. */
	if (sm_inbox_set_run(w->store, item, run_id, rt->name, &err) < 0) {
		finish_fail(w, item, NULL, err.msg);
		return;
	}
	input = json_pack("[O]", item->envelope);
	{
		sm_pipeline_run_opts ro = item_opts(item, rt, input, run_id);
		int rc;
		sm_error serr = {0};
		ro.tried = tried;
		rc = sm_pipeline_run(w->store, &ro, &res, &err);
		/* No run was kept: the item must not point at one. */
		if ((rc != SM_EXIT_OK || strcmp(res.status, "rejected") == 0) &&
		    sm_inbox_set_run(w->store, item, NULL, rt->name, &serr) < 0)
			sm_log_kv(SM_LOG_ERROR, "cannot record the queue item", "error", serr.msg,
			          SM_LOG_END);
		if (rc != SM_EXIT_OK) {
			char msg[1200];
			snprintf(msg, sizeof msg, "definition %s: %s", rt->name, err.msg);
			finish_fail(w, item, NULL, msg);
		} else {
			finish_run(w, item, &res);
		}
	}
	sm_pipeline_result_clear(&res);
	json_decref(input);
}

static void fresh_run(struct worker *w, const sm_inbox_item *item)
{
	struct routed rt;
	char msg[1200];

	if (route_item(w, item, &rt, NULL, 0, msg, sizeof msg) < 0)
		finish_fail(w, item, NULL, msg);
	else
		run_routed(w, item, &rt, NULL);
	routed_clear(&rt);
}

static void handle(struct worker *w, sm_inbox_item *item)
{
	const char *trace = json_string_value(json_object_get(item->envelope, "trace_id"));

	sm_log_set_trace(trace && sm_trace_valid(trace) ? trace : NULL);
	item_log(SM_LOG_INFO, "queue item claimed", item, item->run_id, NULL);
	if (!*item->run_id || !continue_run(w, item))
		fresh_run(w, item);
	sm_log_set_trace(NULL);
}

/* --- waiting ------------------------------------------------------------------ */

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return sm_elapsed_ms(t0, &now) / 1000.0;
}

/* Watch the store's directory for the wake-up file; the file is made here
 * so the writers have something to touch. Failing that, poll. */
static void wake_setup(struct worker *w)
{
	char path[4200], dir[4200];
	int fd, saved = 0;

	sm_inbox_wake_path(w->store, path, sizeof path);
	snprintf(dir, sizeof dir, "%s", path);
	snprintf(w->wake_name, sizeof w->wake_name, "%s", basename(path));
	/* The watch first, then the file: a writer that finds the file has
	 * its touch seen. */
	w->inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->inotify >= 0 &&
	    inotify_add_watch(w->inotify, dirname(dir),
	                      IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO) < 0) {
		saved = errno;
		close(w->inotify);
		w->inotify = -1;
	} else if (w->inotify < 0) {
		saved = errno;
	}
	sm_inbox_wake_path(w->store, path, sizeof path);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	else
		saved = errno;
	if (w->inotify < 0 || fd < 0)
		sm_log_kv(SM_LOG_WARN, "no wake-up from the writers: polling only", "error",
		          strerror(saved), SM_LOG_END);
	/* A worker that drains and exits takes no hand-overs: one handed to it
	 * as it exits would wait for its claim to go stale. */
	if (!w->opts->once) {
		char why[300];
		w->handoff = sm_handoff_bind(w->store, why, sizeof why);
		if (w->handoff < 0 && *why)
			sm_log_kv(SM_LOG_WARN, "no hand-over socket: items come by the queue only",
			          "error", why, SM_LOG_END);
		/* Busy until it waits: the handlers hand nothing to a busy worker. */
		if (w->handoff >= 0 && (w->busy = sm_handoff_busy_open(w->store)) >= 0)
			sm_handoff_busy(w->busy, true);
	}
}

/* Read the pending events: whether one was about the wake-up file. */
static bool woken(struct worker *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool hit = false;
	ssize_t n;

	while ((n = read(w->inotify, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(void *)p;
			if (ev->len && strcmp(ev->name, w->wake_name) == 0)
				hit = true;
			p += sizeof *ev + ev->len;
		}
	}
	return hit;
}

/* Wait up to seconds for a wake-up or a stop request, not busy meanwhile
 * (wait_for_work). */
static bool wait_idle(struct worker *w, double seconds)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stopping) {
		struct pollfd p[3] = {{.fd = stop_pipe[0], .events = POLLIN},
		                      {.fd = w->handoff, .events = POLLIN},
		                      {.fd = w->inotify, .events = POLLIN}};
		double left = seconds - since(&t0);
		if (left <= 0)
			return false;
		/* A negative fd is left out by poll: no inotify, only the timeout. */
		if (poll(p, 3, (int)ceil(left * 1000)) > 0 &&
		    (p[0].revents || p[1].revents || woken(w)))
			return true;
	}
	return true;
}

/* Wait up to seconds for a wake-up or a stop request: the handlers see
 * this worker waiting meanwhile, and busy from its return. A worker that
 * waited a whole poll period for nothing lets go of the store's pages it
 * read (store.h): not at each wait, where the next item's reads would
 * fault them in again (0.2-0.4 ms more an alert, bench/README.md). */
static void wait_for_work(struct worker *w, double seconds)
{
	sm_handoff_busy(w->busy, false);
	if (!wait_idle(w, seconds) && seconds >= w->set.poll_s)
		sm_store_map_idle();
	sm_handoff_busy(w->busy, true);
}

static void check_depth(struct worker *w)
{
	long long depth;
	char n[32], limit[32];

	if (w->depth_said && since(&w->depth_checked) < DEPTH_EVERY_S)
		return;
	depth = sm_inbox_depth(w->store);
	clock_gettime(CLOCK_MONOTONIC, &w->depth_checked);
	w->depth_said = true;
	if ((double)depth <= w->set.depth_warn)
		return;
	snprintf(n, sizeof n, "%lld", depth);
	snprintf(limit, sizeof limit, "%.0f", w->set.depth_warn);
	sm_log_kv(SM_LOG_WARN, "queue is deep: the workers do not keep up", "depth", n,
	          "INBOX_DEPTH_WARN", limit, SM_LOG_END);
}

/* End the transaction the claim began (the run may have committed it and
 * begun another), then flush the metrics of a run that ended. */
static void commit(struct worker *w)
{
	sm_error err = {0};

	if (!sqlite3_get_autocommit(sm_store_db(w->store)) &&
	    sm_store_exec(w->store, "COMMIT", &err) < 0) {
		sm_log_kv(SM_LOG_ERROR, "cannot record the queue item", "error", err.msg,
		          SM_LOG_END);
		/* Rolled back: the item stays claimed and is taken again once
		 * stale, which a run that was recorded allows for. */
		if (!sqlite3_get_autocommit(sm_store_db(w->store)))
			sm_store_exec(w->store, "ROLLBACK", &err);
	}
	if (w->ran && sm_pipeline_metrics_flush(w->store, &err) < 0)
		sm_log_kv(SM_LOG_WARN, "cannot flush the metrics", "error", err.msg, SM_LOG_END);
	w->ran = false;
}

/* Release the claims of a batch not started (a stop request): back to
 * pending as they were, for another worker or the next start. */
static void release(struct worker *w, sm_inbox_item *items, size_t from, size_t n)
{
	sm_error err = {0};

	for (size_t i = from; i < n; i++)
		if (sm_inbox_release(w->store, &items[i], &err) < 0)
			sm_log_kv(SM_LOG_ERROR, "cannot record the queue item", "error", err.msg,
			          SM_LOG_END);
}

/* The claim of an item claimed with others is still this worker's: the
 * heartbeat renews only the item in hand, so after a long item (retries,
 * timeouts) the next one's claim may have gone stale and been taken. */
static bool still_mine(struct worker *w, const sm_inbox_item *item, const struct timespec *claimed)
{
	sm_error err = {0};

	if (since(claimed) < w->set.stale_s / 2)
		return true;
	if (sm_inbox_heartbeat(w->store, item, &err) != 0)
		return true; /* renewed, or the store could not say: as before */
	item_log(SM_LOG_WARN, "queue item claimed with others was taken over meanwhile", item,
	         item->run_id, NULL);
	return false;
}

/* --- a batch of quick runs ------------------------------------------------------ */

/* Begin the quick run of one item of a batch (*q, NULL when it cannot be
 * quick: it then runs as any item's). */
static void quick_begin(struct worker *w, const sm_inbox_item *item, const struct routed *rt,
                        sm_pipeline_quick **q)
{
	json_t *input = json_pack("[O]", item->envelope);
	sm_pipeline_run_opts ro = item_opts(item, rt, input, item->run_id);

	if (!input || !sm_pipeline_quick_begin(w->store, &ro, q))
		*q = NULL;
	json_decref(input);
}

/* One item of a quick batch: its run tried without records (*q kept when
 * it went through, to record with the batch), else recorded as any
 * item's, in a transaction of its own, on the same route. next: the
 * batch's next item's quick run, handed to the stage as soon as this one's
 * envelope is done, while the worker was still within half the stale
 * limit of the claim (so that its claim still holds). */
static void quick_one(struct worker *w, sm_inbox_item *item, const struct routed *rt,
                      sm_pipeline_quick **q, sm_pipeline_quick *next,
                      const struct timespec *claimed)
{
	sm_error err = {0};
	const char *trace = json_string_value(json_object_get(item->envelope, "trace_id"));

	sm_log_set_trace(trace && sm_trace_valid(trace) ? trace : NULL);
	item_log(SM_LOG_INFO, "queue item claimed", item, item->run_id, NULL);
	if (!*q || !sm_pipeline_quick_go(*q, next, w->set.stale_s / 2 - since(claimed))) {
		/* Recorded now as any run, its attempt the first, its retries (if
		 * any) after, in a transaction of its own. */
		sm_pipeline_quick *tried = *q;
		*q = NULL;
		if (sm_store_exec(w->store, "BEGIN IMMEDIATE", &err) < 0)
			sm_log_kv(SM_LOG_WARN, "cannot group the run's records", "error", err.msg,
			          SM_LOG_END);
		run_routed(w, item, rt, tried);
		commit(w);
		sm_pipeline_quick_free(tried);
	}
	sm_log_set_trace(NULL);
}

/* Record the quick runs of items[0 .. n - 1] that went through and are not
 * recorded yet, and finish their items, in a transaction left open. */
static void record_quick(struct worker *w, sm_inbox_item *items, sm_pipeline_quick **q, size_t n)
{
	sm_error err = {0};

	for (size_t i = 0; i < n; i++) {
		sm_pipeline_result res = {0};
		if (!q[i])
			continue;
		if (sqlite3_get_autocommit(sm_store_db(w->store)) &&
		    sm_store_exec(w->store, "BEGIN IMMEDIATE", &err) < 0)
			sm_log_kv(SM_LOG_WARN, "cannot group the run's records", "error", err.msg,
			          SM_LOG_END);
		/* A handed item's run id was promised by its handler; its route
		 * is recorded with its run. */
		if (items[i].handed && sm_inbox_set_run(w->store, &items[i], items[i].run_id,
		                                        items[i].definition, &err) < 0)
			sm_log_kv(SM_LOG_ERROR, "cannot record the queue item", "error", err.msg,
			          SM_LOG_END);
		if (sm_pipeline_quick_record(w->store, q[i], &res) == 0)
			finish_run(w, &items[i], &res);
		else
			item_log(SM_LOG_ERROR,
			         "cannot record the run: the item is taken again once stale",
			         &items[i], items[i].run_id, NULL);
		sm_log_set_trace(NULL);
		sm_pipeline_result_clear(&res);
		sm_pipeline_quick_free(q[i]);
		q[i] = NULL;
	}
}

/* A batch of due items that each run one stage program after their ingest
 * node (the direct definition: sm-notify alone). One commit an item capped
 * the drain; here the claims and the run ids promised to the items commit
 * together, each run is tried without writing the store, and the runs that
 * went through are recorded together, committed with the next batch's
 * claims: the worker commits once a batch.
 * A worker killed mid-batch leaves items with a run id and no run: the one
 * taking them over runs them under that id, and sm-notify skips the
 * channels that took an envelope already (sm-notify(1), DELIVERY). false:
 * not such a batch, nothing done (the claim's transaction still open). */
static bool quick_batch(struct worker *w, sm_inbox_item *items, size_t n,
                        const struct timespec *claimed)
{
	struct timespec recorded;
	struct routed rt[CLAIM_BATCH];
	sm_pipeline_quick *q[CLAIM_BATCH] = {0};
	sm_error err = {0};
	char msg[1200], status[32];
	size_t i, routed = 0;
	bool fits = true;
	/* Items handed over, claimed by their handler: what routing them
	 * reads is read in one transaction, which the stage filters' look at
	 * the configuration shares. */
	bool reading = sqlite3_get_autocommit(sm_store_db(w->store)) &&
	               sm_store_exec(w->store, "BEGIN", NULL) == 0;

	for (i = 0; i < n && fits; i++) {
		const char *trace =
		    json_string_value(json_object_get(items[i].envelope, "trace_id"));
		sm_log_set_trace(trace && sm_trace_valid(trace) ? trace : NULL);
		fits = route_item(w, &items[i], &rt[i], rt, i, msg, sizeof msg) == 0 &&
		       !rt[i].nothing && sm_pipeline_quick_fits(rt[i].def, rt[i].start);
		routed++;
		/* An item with a run id and a run (an earlier attempt's) resumes;
		 * a handed item's id is new. */
		if (fits && *items[i].run_id && !items[i].handed) {
			run_status(w, items[i].run_id, status, sizeof status);
			fits = !*status;
			if (fits)
				no_run_yet(&items[i]);
		}
	}
	sm_log_set_trace(NULL);
	for (i = 0; i < n && fits; i++) {
		if (items[i].handed) { /* its claim and run id committed by its handler */
			snprintf(items[i].definition, sizeof items[i].definition, "%s", rt[i].name);
			continue;
		}
		fits =
		    (*items[i].run_id || sm_pipeline_new_run_id(items[i].run_id) == 0) &&
		    sm_inbox_set_run(w->store, &items[i], items[i].run_id, rt[i].name, &err) == 0;
	}
	if (!fits) {
		if (*err.msg)
			sm_log_kv(SM_LOG_ERROR, "cannot record the queue item", "error", err.msg,
			          SM_LOG_END);
		for (i = 0; i < routed; i++)
			routed_clear(&rt[i]);
		if (reading)
			commit(w); /* each item then runs in a transaction of its own */
		return false;
	}
	if (reading)
		node_filters_refresh(w->store);
	commit(w); /* the claims and the promised ids: sm-notify may write now */
	clock_gettime(CLOCK_MONOTONIC, &recorded);
	if (!reading)
		node_filters_refresh(w->store); /* once a batch (and after a second) */
	for (i = 0; i < n; i++) {
		/* Handed to the stage with the item before: in flight, so done. */
		bool handed = sm_pipeline_quick_handed(q[i]);
		if (i > 0 && stopping && !handed) {
			release(w, items, i, n);
			for (; i < n; i++) {
				sm_pipeline_quick_free(q[i]);
				q[i] = NULL;
			}
			break;
		}
		if (i > 0 && !handed && !still_mine(w, &items[i], claimed)) {
			sm_pipeline_quick_free(q[i]);
			q[i] = NULL;
			continue;
		}
		/* Runs that ended are not kept from the store long behind a slow
		 * one (a channel timing out). */
		if (since(&recorded) > QUICK_RECORD_S) {
			record_quick(w, items, q, i);
			commit(w);
			clock_gettime(CLOCK_MONOTONIC, &recorded);
			node_filters_refresh(w->store);
		}
		if (!q[i]) /* the first, or after one that was not ours any more */
			quick_begin(w, &items[i], &rt[i], &q[i]);
		/* The next item's run begun while the stage works on this one's
		 * (handed with the one before), so it is ready to hand over. */
		if (i + 1 < n && !stopping)
			quick_begin(w, &items[i + 1], &rt[i + 1], &q[i + 1]);
		beat_item(&w->beat, &items[i]);
		quick_one(w, &items[i], &rt[i], &q[i], i + 1 < n ? q[i + 1] : NULL, claimed);
		beat_item(&w->beat, NULL);
	}
	record_quick(w, items, q, n);
	for (i = 0; i < n; i++)
		routed_clear(&rt[i]);
	return true;
}

/* Read the items handed over, up to max: how many. One that is not an
 * item is said and skipped (its claim, if any, goes stale). */
static size_t read_handed(struct worker *w, sm_inbox_item *items, size_t max)
{
	size_t n = 0;
	char why[200];
	int rc;

	while (w->handoff >= 0 && n < max && !stopping &&
	       (rc = sm_handoff_recv(w->handoff, &items[n], why, sizeof why)) != 0) {
		if (rc < 0)
			sm_log_kv(SM_LOG_ERROR, "bad hand-over skipped", "error", why, SM_LOG_END);
		else
			n++;
	}
	return n;
}

/* Stopping: no more hand-overs, and what was handed over and not taken
 * goes back to the queue. */
static void hand_back(struct worker *w)
{
	sm_inbox_item it;
	char why[200];
	size_t n = 0;
	int rc;

	if (w->handoff < 0)
		return;
	sm_handoff_unbind(w->store);
	/* A handler sending from now on is refused, and gives its item back. */
	shutdown(w->handoff, SHUT_RD);
	while ((rc = sm_handoff_recv(w->handoff, &it, why, sizeof why)) != 0) {
		if (rc > 0) {
			item_log(SM_LOG_INFO, "hand-over given back to the queue", &it, it.run_id,
			         NULL);
			release(w, &it, 0, 1);
			sm_inbox_item_clear(&it);
			n++;
		}
	}
	close(w->handoff);
	w->handoff = -1;
	if (w->busy >= 0)
		close(w->busy);
	w->busy = -1;
	if (n > 0)
		sm_inbox_wake(w->store);
}

/* Run the n items in hand, claimed at *claimed (handed over, or claimed
 * in the transaction still open): whether more may be due at once (full:
 * the claim took a whole batch), in which case a quick batch's records
 * are left open for the next claims to commit with. */
static bool run_items(struct worker *w, sm_inbox_item *items, size_t n, bool full,
                      const struct timespec *claimed)
{
	size_t i;

	/* Through a backlog, the pages read again after each commit of
	 * the others come from the mapping; a lone alert's reads (pages
	 * its handler just wrote, new to the mapping) are a pread each,
	 * cheaper than a page fault each (store.h). */
	sm_store_map_reads(n > 1);
	/* A backlog, or what was handed over: the runs recorded after
	 * their stage had them, together, when they can be. */
	bool quick = (n > 1 || (n == 1 && items[0].handed)) && quick_batch(w, items, n, claimed);
	for (i = quick ? n : 0; i < n; i++) {
		sm_error err = {0};
		if (i > 0 && stopping) {
			release(w, items, i, n);
			break;
		}
		if (items[i].handed && sqlite3_get_autocommit(sm_store_db(w->store)) &&
		    sm_store_exec(w->store, "BEGIN IMMEDIATE", &err) < 0)
			sm_log_kv(SM_LOG_WARN, "cannot group the run's records", "error", err.msg,
			          SM_LOG_END);
		if (i == 0 || still_mine(w, &items[i], claimed)) {
			node_filters_refresh(w->store);
			beat_item(&w->beat, &items[i]);
			handle(w, &items[i]);
			beat_item(&w->beat, NULL);
		}
	}
	/* A full batch: more may be due at once, so claim again, and a
	 * quick batch's records go with those claims, one commit a batch.
	 * A batch that was not full took every item due when it was
	 * claimed: what came since woke the worker (its writer touches
	 * the wake file after its commit) or is pending (next_due), so
	 * no claim that would find nothing. */
	bool again = full && !stopping;
	if (!quick || !again)
		commit(w);
	for (i = 0; i < n; i++)
		sm_inbox_item_clear(&items[i]);
	return again;
}

/* One round: the items handed over, else (when claim) those due now, run.
 * 1 when more may be due at once, 0 when none is, -1 when the claim
 * failed (err). */
static int work_round(struct worker *w, bool claim, sm_error *err)
{
	sm_inbox_item items[CLAIM_BATCH];
	struct timespec claimed;
	size_t n = 0;
	int rc;

	check_depth(w);
	/* The claims, then each item's route and its run's first records
	 * (the run, its first stage) in one transaction: the run commits
	 * it once its stage has the envelope (pipeline_run.h); the records after
	 * the last stage go with the next item's first ones, and the
	 * batch's last with its end (run_items). So each item costs the
	 * worker one commit, and a worker killed at any point has committed
	 * the end of every item it handed to a stage but the one in flight.
	 * A quick batch's records are still open here: the next claims
	 * commit with them (quick_batch). */
	/* Items handed over by their handler first: claimed already. */
	n = read_handed(w, items, CLAIM_BATCH);
	if (n > 0)
		rc = 1;
	else if (!claim)
		return 0;
	else if (sqlite3_get_autocommit(sm_store_db(w->store)) &&
	         sm_store_exec(w->store, "BEGIN IMMEDIATE", err) < 0)
		rc = -1;
	else
		rc = sm_inbox_claim_many(w->store, w->id, w->set.stale_s, items, CLAIM_BATCH, &n,
		                         err);
	clock_gettime(CLOCK_MONOTONIC, &claimed);
	if (run_items(w, items, n, rc == 1 && n == CLAIM_BATCH, &claimed))
		return 1;
	return rc < 0 ? -1 : 0;
}

static int work_loop(struct worker *w, sm_error *err)
{
	while (!stopping) {
		double due;
		int rc = work_round(w, true, err);

		if (rc > 0)
			continue;
		if (rc < 0) {
			/* The store busy past its timeout, or worse: say so and try
			 * again later rather than die and be restarted in a loop. */
			sm_log_kv(SM_LOG_ERROR, "cannot claim from the queue", "error", err->msg,
			          SM_LOG_END);
			if (w->opts->once)
				return SM_EXIT_TEMPFAIL;
			wait_for_work(w, w->set.poll_s);
			continue;
		}
		due = sm_inbox_next_due(w->store);
		if (w->opts->once && due < 0)
			break; /* drained */
		wait_for_work(w, due < 0 ? w->set.poll_s : fmin(fmax(due, 0.001), w->set.poll_s));
	}
	return SM_EXIT_OK;
}

/* --- answering the webhook (--webhook) ----------------------------------------- */

/* Before each wait of the FastCGI serving: what was handed over, and the
 * queue's due items when woken or when they are due (not at every
 * request: a claim that would find nothing is a write transaction). How
 * long the wait may be, in ms. Busy meanwhile, waiting after (handoff.h). */
static long long serve_idle(void *ctx)
{
	struct worker *w = ctx;
	struct timespec now;
	sm_error err = {0};
	double due;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &now);
	bool claim = (w->inotify >= 0 && woken(w)) || sm_elapsed_ms(&w->claim_at, &now) >= 0;
	sm_handoff_busy(w->busy, true);
	while ((rc = work_round(w, claim, &err)) > 0 && !stopping)
		;
	if (rc < 0)
		sm_log_kv(SM_LOG_ERROR, "cannot claim from the queue", "error", err.msg,
		          SM_LOG_END);
	if (claim) {
		due = rc < 0 ? -1 : sm_inbox_next_due(w->store);
		due = due < 0 ? w->set.poll_s : fmin(fmax(due, 0.001), w->set.poll_s);
		clock_gettime(CLOCK_MONOTONIC, &w->claim_at);
		sm_timespec_add(&w->claim_at, due);
	}
	sm_handoff_busy(w->busy, false);
	clock_gettime(CLOCK_MONOTONIC, &now);
	due = sm_elapsed_ms(&now, &w->claim_at);
	return due < 0 ? 0 : (long long)ceil(due);
}

/* The group's first delivery has its answer, or the group's runs ended:
 * the sync may begin. */
static void delivered(void *ctx)
{
	struct worker *w = ctx;

	pthread_mutex_lock(&w->mu);
	w->delivered = w->group;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* The FastCGI handler: a group of requests stored, counted. */
static void serve_requests(void *ctx, sm_fcgi_conn **conns, size_t n)
{
	struct worker *w = ctx;

	pthread_mutex_lock(&w->mu);
	w->group++;
	pthread_mutex_unlock(&w->mu);
	sm_webhook_host_requests(w->host, conns, n);
}

/* After a group of webhook requests was stored (its answers going out on
 * the sender's thread once the disk has the commit): run the items it
 * queued, claimed for this worker, on the connection that wrote them. */
static void serve_after(void *ctx)
{
	struct worker *w = ctx;
	sm_inbox_item items[CLAIM_BATCH];
	size_t n;

	sm_handoff_busy(w->busy, true);
	sm_http_on_answer(delivered, w);
	while ((n = sm_webhook_host_take(w->host, items, CLAIM_BATCH)) > 0) {
		struct timespec claimed;
		clock_gettime(CLOCK_MONOTONIC, &claimed);
		if (stopping) { /* given back, for another worker or the next start */
			release(w, items, 0, n);
			for (size_t i = 0; i < n; i++)
				sm_inbox_item_clear(&items[i]);
			sm_inbox_wake(w->store);
			continue;
		}
		run_items(w, items, n, false, &claimed);
	}
	sm_http_on_answer(NULL, NULL);
	delivered(w);
}

/* On the sender's thread, before the group's answers go: the disk's sync.
 * It waits for the group's first delivery to have its answer, SYNC_WAIT_MS
 * at most: the sync of a virtual disk slows the whole machine while it
 * lasts (the receiver's answer came 0.05 ms later, the notification 0.12 ms
 * later, bench/README.md), and a sender waits for the 202 less than an
 * operator for the notification. */
static bool serve_sync(void *ctx)
{
	struct worker *w = ctx;
	struct timespec until;

	if (!sm_webhook_host_sync_due(w->host))
		return true;
	clock_gettime(CLOCK_MONOTONIC, &until);
	sm_timespec_add(&until, SYNC_WAIT_MS / 1000.0);
	pthread_mutex_lock(&w->mu);
	while (w->delivered != w->group && pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0)
		;
	pthread_mutex_unlock(&w->mu);
	return sm_webhook_host_sync(w->host);
}

/* Serve the webhook on webhook_fd, working the queue between requests. */
static int serve_loop(struct worker *w, sm_error *err)
{
	const char *config_error = NULL;
	sm_fcgi_limits limits;
	sm_fcgi_hooks hooks = {.fds = {stop_pipe[0], w->handoff, w->inotify},
	                       .nfds = 3,
	                       .idle = serve_idle,
	                       .before_send = serve_sync,
	                       .after = serve_after,
	                       .ctx = w};
	pthread_condattr_t attr;
	int rc;

	sm_request_fcgi_limits(&limits, &config_error);
	if (pthread_condattr_init(&attr) != 0) {
		sm_error_set(err, "cannot make the sender's condition");
		return SM_EXIT_FAILURE;
	}
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&w->cv, &attr);
	pthread_condattr_destroy(&attr);
	if (rc != 0 || pthread_mutex_init(&w->mu, NULL) != 0) {
		if (rc == 0)
			pthread_cond_destroy(&w->cv);
		sm_error_set(err, "cannot make the sender's condition");
		return SM_EXIT_FAILURE;
	}
	if (!(w->host = sm_webhook_host_new(w->store, config_error))) {
		sm_error_set(err, "out of memory");
		rc = -1;
	} else {
		rc = sm_fcgi_serve_with(webhook_fd, &limits, serve_requests, w, &hooks, &stopping,
		                        err);
	}
	sm_webhook_host_free(w->host);
	w->host = NULL;
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	return rc < 0 ? SM_EXIT_FAILURE : SM_EXIT_OK;
}

static int work_one(const sm_pipeline_work_opts *opts, sm_pipeline_work_counts *counts,
                    sm_error *err)
{
	struct worker w = {.opts = opts,
	                   .counts = counts,
	                   .inotify = -1,
	                   .handoff = -1,
	                   .busy = -1,
	                   .defs_at = -1};
	char host[64] = "";
	int rc;

	if (sm_pipeline_work_settings_get(&w.set, err) < 0)
		return SM_EXIT_USAGE;
	if (sm_pipeline_metrics_init(err) < 0)
		return SM_EXIT_USAGE;
	/* The handler and the other workers commit between this worker's
	 * reads, each commit emptying its page cache: the pages read again
	 * come from a mapping, not a system call each, and are let go once
	 * it waited a poll period for nothing (wait_for_work). */
	sm_store_map_reads(true);
	if (!(w.defs = json_object()) || sm_store_open(NULL, &w.store, err) < 0) {
		json_decref(w.defs);
		if (!w.defs)
			sm_error_set(err, "out of memory");
		return SM_EXIT_FAILURE;
	}
	/* The worker's own records (claims, runs, stages) are committed
	 * without waiting for the disk: in WAL mode that survives the worker
	 * being killed, and a power loss can only undo its latest records, so
	 * an item is handled again, never lost. What was accepted is the
	 * handler's commit, which does wait (synchronous FULL). */
	if (sqlite3_exec(sm_store_db(w.store), "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) !=
	    SQLITE_OK)
		sm_log_kv(SM_LOG_WARN, "cannot relax the worker's syncs", SM_LOG_END);
	if (pipe2(stop_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		stop_pipe[0] = stop_pipe[1] = -1;
	gethostname(host, sizeof host - 1);
	snprintf(w.id, sizeof w.id, "%s:%ld", host, (long)getpid());
	wake_setup(&w);
	beat_start(&w.beat, sm_store_path(w.store), w.set.stale_s);
	node_filters_enable();
	node_local_allow(w.set.notify_in_worker);
	sm_log_kv(SM_LOG_INFO, "worker started", "worker", w.id, SM_LOG_END);
	rc = webhook_fd >= 0 ? serve_loop(&w, err) : work_loop(&w, err);
	hand_back(&w);
	node_filters_stop();
	beat_stop(&w.beat);
	sm_log_kv(SM_LOG_INFO, "worker stopped", "worker", w.id, SM_LOG_END);
	if (w.inotify >= 0)
		close(w.inotify);
	if (stop_pipe[0] >= 0) {
		int fds[2] = {stop_pipe[0], stop_pipe[1]};
		stop_pipe[0] = stop_pipe[1] = -1;
		close(fds[0]);
		close(fds[1]);
	}
	sm_store_close(w.store);
	json_decref(w.defs);
	return rc;
}

/* --- the pool ------------------------------------------------------------------- */

/* A worker process: its pid, or -1. */
static pid_t start_worker(const sm_pipeline_work_opts *opts, sm_pipeline_work_counts *counts)
{
	pid_t pid = fork();

	if (pid == 0) {
		sm_error cerr = {0};
		int crc = work_one(opts, counts, &cerr);
		if (crc != SM_EXIT_OK)
			sm_log_kv(SM_LOG_ERROR, "worker failed", "error", cerr.msg, SM_LOG_END);
		_exit(crc);
	}
	return pid;
}

static void sleep_interruptible(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};

	nanosleep(&ts, NULL); /* a stop request ends it early */
}

static int pool(const sm_pipeline_work_opts *opts, int n, sm_pipeline_work_counts *counts,
                sm_error *err);

int sm_pipeline_work(const sm_pipeline_work_opts *opts, sm_pipeline_work_counts *counts,
                     sm_error *err)
{
	sm_pipeline_work_counts mine = {0};
	int n = opts->workers > 1 ? opts->workers : 1;

	if (!counts)
		counts = &mine;
	sm_store_long_running(); /* before the first store is opened */
	if (opts->webhook) {
		if (opts->once) {
			sm_error_set(err,
			             "--webhook: a worker that answers the webhook does not stop "
			             "when the queue is empty (no --once)");
			return SM_EXIT_USAGE;
		}
		if (strcmp(opts->webhook, "-") == 0 && !sm_fcgi_is_listener(STDIN_FILENO)) {
			sm_error_set(err, "--webhook -: standard input is not a listening socket");
			return SM_EXIT_USAGE;
		}
		webhook_fd = strcmp(opts->webhook, "-") == 0 ? STDIN_FILENO
		                                             : sm_fcgi_listen(opts->webhook, err);
		if (webhook_fd < 0)
			return SM_EXIT_FAILURE;
		int rc = pool(opts, n, counts, err);
		if (webhook_fd != STDIN_FILENO) {
			if (strchr(opts->webhook, '/'))
				unlink(opts->webhook);
			close(webhook_fd);
		}
		webhook_fd = -1;
		return rc;
	}
	return pool(opts, n, counts, err);
}

/* Run n workers: in this process when one, else a process each. */
static int pool(const sm_pipeline_work_opts *opts, int n, sm_pipeline_work_counts *counts,
                sm_error *err)
{
	sm_pipeline_work_settings check;
	pid_t *pids;
	int rc = SM_EXIT_OK, alive = 0;
	bool passed_on = false;
	sm_store *store;

	if (n == 1)
		return work_one(opts, counts, err);
	/* Settings and the store checked (and migrated) once, before forking. */
	if (sm_pipeline_work_settings_get(&check, err) < 0)
		return SM_EXIT_USAGE;
	if (sm_store_open(NULL, &store, err) < 0)
		return SM_EXIT_FAILURE;
	sm_store_close(store);
	pids = calloc((size_t)n, sizeof *pids);
	if (!pids) {
		sm_error_set(err, "out of memory");
		return SM_EXIT_FAILURE;
	}
	for (int i = 0; i < n; i++) {
		if ((pids[i] = start_worker(opts, counts)) < 0) {
			sm_error_set(err, "fork: %s", strerror(errno));
			rc = SM_EXIT_FAILURE;
			stopping = 1;
			break;
		}
		alive++;
	}
	/* Wait for the workers; a stop request is passed on to them, each
	 * finishing the item in hand. */
	while (alive > 0) {
		int status;
		pid_t pid;
		if (stopping && !passed_on) {
			for (int i = 0; i < n; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGTERM);
			passed_on = true;
		}
		pid = waitpid(-1, &status, 0);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		for (int i = 0; i < n; i++) {
			if (pids[i] != pid)
				continue;
			pids[i] = 0;
			alive--;
			/* A worker killed by a signal (the OOM killer, an operator's
			 * kill -9) is replaced; its item is taken over once stale. */
			if (WIFSIGNALED(status) && !stopping && !opts->once) {
				char sig[16];
				snprintf(sig, sizeof sig, "%d", WTERMSIG(status));
				sm_log_kv(SM_LOG_WARN, "worker killed, starting another", "signal",
				          sig, SM_LOG_END);
				sleep_interruptible(1.0);
				if (!stopping && (pids[i] = start_worker(opts, counts)) > 0) {
					alive++;
					continue;
				}
				pids[i] = 0;
			}
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				rc = WIFEXITED(status) ? WEXITSTATUS(status) : SM_EXIT_FAILURE;
		}
	}
	free(pids);
	if (rc != SM_EXIT_OK)
		sm_error_set(err, "a worker ended with exit status %d", rc);
	return rc;
}
