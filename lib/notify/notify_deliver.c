/* notify_deliver.c - the NOTIFY stage proper: for each envelope and each
 * channel, decide (notify_decide.c), render (the driver's prepare), send
 * with retries and backoff on transient failures, and record every attempt
 * in notification_deliveries, one transaction per envelope; the envelope
 * gets its notifications[] entries and a stages[] record. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notify_private.h"
#include "sm/config.h"
#include "sm/envelope.h"
#include "sm/hash.h"
#include "sm/json.h"
#include "sm/log.h"
#include "sm/rfc3339.h"
#include "sm/stage.h"

struct channel {
	long long id; /* 0: not stored (the stdout stand-in) */
	char *name;
	const notify_driver *driver;
	json_t *config;
};

struct sm_notifier {
	sm_store *store;
	struct channel *channels;
	size_t n;
	FILE *text_out;
	double retries, backoff_s;
	/* Kept for the process: a channel's next message goes out on the
	 * connection its last one opened (a filter of `sm-pipeline work`
	 * delivers envelope after envelope). */
	sm_http_client *http;
	struct notify_noise_cache *noise; /* the rules as last read */
	notify_templates *templates;      /* the channels' templates, parsed */
	bool reading;                     /* a read transaction open for an envelope's decisions */
	/* The envelope in hand when it belongs to a run: its run id and the
	 * digest of its text (both "" otherwise). */
	const char *run_id;
	char envelope_key[17];
};

/* One attempt to record. */
struct attempt {
	struct channel *ch;
	const char *status;
	int number;
	long http_status;
	const char *reason; /* the decision's: why sent or skipped */
	char error[512];
	char at[SM_RFC3339_LEN];
};

void sm_notifier_free(sm_notifier *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		free(n->channels[i].name);
		json_decref(n->channels[i].config);
	}
	free(n->channels);
	sm_http_client_free(n->http);
	notify_noise_cache_free(n->noise);
	notify_templates_free(n->templates);
	free(n);
}

static int add_channel(sm_notifier *n, json_t *row)
{
	struct channel *c = realloc(n->channels, (n->n + 1) * sizeof *c);

	if (!c)
		return -1;
	n->channels = c;
	c = &n->channels[n->n];
	c->id = json_integer_value(json_object_get(row, "id"));
	c->name = strdup(json_string_value(json_object_get(row, "name")));
	c->driver = notify_driver_find(json_string_value(json_object_get(row, "driver")));
	c->config = json_is_object(json_object_get(row, "config"))
	                ? json_deep_copy(json_object_get(row, "config"))
	                : json_object();
	if (c->driver && c->config && c->driver->repeat_default_s > 0) {
		/* The driver's own default and key stand in for repeat_interval's:
		 * its key when set, else repeat_interval when set, else its default. */
		json_t *own = c->driver->repeat_key
		                  ? json_object_get(c->config, c->driver->repeat_key)
		                  : NULL;
		if (json_is_number(own))
			json_object_set(c->config, "repeat_interval", own);
		else if (!json_is_number(json_object_get(c->config, "repeat_interval")))
			json_object_set_new(c->config, "repeat_interval",
			                    json_real(c->driver->repeat_default_s));
	}
	if (!c->name || !c->driver || !c->config) {
		free(c->name);
		json_decref(c->config);
		return -1;
	}
	n->n++;
	return 0;
}

static int load_enabled(sm_notifier *n, sm_error *err)
{
	json_t *rows, *row;
	size_t i;
	int rc = notify_channels_stored(n->store, &rows, err);

	if (rc != SM_EXIT_OK)
		return rc;
	json_array_foreach(rows, i, row)
	{
		if (json_is_true(json_object_get(row, "enabled")) && add_channel(n, row) < 0)
			sm_log_kv(SM_LOG_WARN, "channel skipped: unknown driver", "channel",
			          json_string_value(json_object_get(row, "name")), SM_LOG_END);
	}
	if (json_array_size(rows) == 0) { /* Nothing configured: show the operator something. */
		row = json_pack("{s:I,s:s,s:s,s:{}}", "id", (json_int_t)0, "name", "stdout",
		                "driver", "stdout", "config");
		rc = add_channel(n, row);
		json_decref(row);
		if (rc < 0) {
			json_decref(rows);
			sm_error_set(err, "out of memory");
			return SM_EXIT_FAILURE;
		}
	}
	json_decref(rows);
	return SM_EXIT_OK;
}

int sm_notifier_new(sm_store *store, const sm_notify_opts *opts, sm_notifier **out, sm_error *err)
{
	sm_notifier *n = calloc(1, sizeof *n);
	int rc = SM_EXIT_OK;

	*out = NULL;
	if (!n) {
		sm_error_set(err, "out of memory");
		return SM_EXIT_FAILURE;
	}
	n->store = store;
	n->text_out = opts && opts->text_out ? opts->text_out : stderr;
	if (!(n->http = sm_http_client_new()) || !(n->noise = notify_noise_cache_new()) ||
	    !(n->templates = notify_templates_new())) {
		sm_error_set(err, "out of memory");
		rc = SM_EXIT_FAILURE;
		goto fail;
	}
	if (sm_config_double("SM_NOTIFY_RETRIES", SM_NOTIFY_RETRIES, &n->retries, err) < 0 ||
	    n->retries < 0 || n->retries > 10 || n->retries != floor(n->retries)) {
		sm_error_set(err, "SM_NOTIFY_RETRIES must be a whole number from 0 to 10");
		rc = SM_EXIT_USAGE;
		goto fail;
	}
	if (sm_config_seconds("SM_NOTIFY_BACKOFF_S", SM_NOTIFY_BACKOFF_S, &n->backoff_s, err) < 0 ||
	    n->backoff_s < 0 || n->backoff_s > 60) {
		sm_error_set(err, "SM_NOTIFY_BACKOFF_S must be a number of seconds from 0 to 60");
		rc = SM_EXIT_USAGE;
		goto fail;
	}
	if (opts && opts->channels && opts->channels[0]) {
		for (size_t i = 0; opts->channels[i]; i++) {
			json_t *row;
			bool dup = false;
			for (size_t j = 0; j < n->n; j++)
				dup = dup || strcmp(n->channels[j].name, opts->channels[i]) == 0;
			if (dup)
				continue;
			rc = sm_notify_channel_get(store, opts->channels[i], &row, err);
			if (rc != SM_EXIT_OK)
				goto fail;
			if (!json_is_true(json_object_get(row, "enabled"))) {
				sm_error_set(
				    err, "channel '%s' is disabled (sm-notify channel enable %s)",
				    opts->channels[i], opts->channels[i]);
				json_decref(row);
				rc = SM_EXIT_USAGE;
				goto fail;
			}
			if (add_channel(n, row) < 0) {
				sm_error_set(err, "channel '%s': unknown driver '%s'",
				             opts->channels[i],
				             json_string_value(json_object_get(row, "driver")));
				json_decref(row);
				rc = SM_EXIT_USAGE;
				goto fail;
			}
			json_decref(row);
		}
	} else if ((rc = load_enabled(n, err)) != SM_EXIT_OK) {
		goto fail;
	}
	*out = n;
	return SM_EXIT_OK;
fail:
	sm_notifier_free(n);
	return rc;
}

/* Seconds since ch's last sent message about env's incident; -1: never. */
static double last_sent_age(sm_notifier *n, const struct channel *ch, json_t *env)
{
	json_t *id = json_object_get(json_object_get(env, "incident"), "id");
	sqlite3_stmt *st =
	    sm_store_prepare_kept(n->store,
	                          "SELECT created_at FROM notification_deliveries"
	                          " WHERE channel = ? AND status = 'sent'"
	                          " AND incident_id IS (SELECT id FROM incidents WHERE id = ?)"
	                          " ORDER BY id DESC LIMIT 1",
	                          NULL);
	struct timespec then, now;
	double age = -1;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, ch->name, -1, SQLITE_STATIC);
	if (json_is_integer(id))
		sqlite3_bind_int64(st, 2, json_integer_value(id));
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sm_rfc3339_parse((const char *)sqlite3_column_text(st, 0), &then) == 1) {
		clock_gettime(CLOCK_REALTIME, &now);
		age = (double)(now.tv_sec - then.tv_sec) + (now.tv_nsec - then.tv_nsec) / 1e9;
		if (age < 0)
			age = 0;
	}
	sqlite3_reset(st); /* a statement left on its row would hold a read snapshot */
	return age;
}

/* An envelope of a run goes to a channel once per run. A run tried again
 * without its last attempt's output (its worker was killed while this
 * stage delivered, and another worker resumed it) hands the same envelope
 * over again: the channels that took it then are skipped now. The envelope
 * is told from the run's others by a digest of its text as it came in. */
static void note_run(sm_notifier *n, const json_t *env)
{
	const char *run_id = json_string_value(json_object_get(env, "run_id"));
	uint64_t h;
	size_t len = 0;
	char *text;

	n->run_id = NULL;
	n->envelope_key[0] = '\0';
	if (!run_id || !*run_id || !(text = sm_json_dump(env, &len)))
		return;
	h = sm_fnv1a(SM_FNV1A_INIT, text, len);
	free(text);
	n->run_id = run_id;
	snprintf(n->envelope_key, sizeof n->envelope_key, "%016llx", (unsigned long long)h);
}

static bool delivered_in_run(sm_notifier *n, const struct channel *ch)
{
	sqlite3_stmt *st;
	bool found;

	if (!n->run_id)
		return false;
	st = sm_store_prepare_kept(n->store,
	                           "SELECT 1 FROM notification_deliveries WHERE run_id = ?"
	                           " AND run_id <> '' AND channel = ? AND envelope_key = ?"
	                           " AND status = 'sent' LIMIT 1",
	                           NULL);
	if (!st)
		return false; /* the store cannot say: deliver rather than lose it */
	sqlite3_bind_text(st, 1, n->run_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ch->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, n->envelope_key, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return found;
}

/* An envelope's decisions (noise control, each channel's last message)
 * read one snapshot rather than one per statement; it ends before anything
 * is sent, so no read lock is held across a delivery. */
static void begin_reading(sm_notifier *n)
{
	n->reading = sqlite3_get_autocommit(sm_store_db(n->store)) &&
	             sm_store_exec(n->store, "BEGIN", NULL) == 0;
}

static void end_reading(sm_notifier *n)
{
	if (n->reading && sm_store_exec(n->store, "COMMIT", NULL) < 0)
		sm_store_exec(n->store, "ROLLBACK", NULL);
	n->reading = false;
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Deliver through one channel: its entry, attempts appended to *log. */
static json_t *deliver(sm_notifier *n, struct channel *ch, json_t *env, json_t *context,
                       const struct notify_noise *noise, struct attempt **log, size_t *nlog,
                       bool *failed)
{
	sm_notify_decision d =
	    delivered_in_run(n, ch)
	        ? (sm_notify_decision){.deliver = false, .reason = "already delivered in this run"}
	        : notify_decide(env, ch->config, last_sent_age(n, ch, env), noise);
	notify_job job;
	int retries = (int)notify_cfg_num(ch->config, "retries", n->retries);
	double backoff = notify_cfg_num(ch->config, "backoff_s", n->backoff_s);
	notify_message msg = {0};
	notify_outcome out = {0};
	sm_error err = {0};
	int number = 0;
	struct attempt *a;

	end_reading(n);
	job = (notify_job){
	    .channel = ch->name,
	    .config = ch->config,
	    .env = env,
	    .context = context,
	    .timeout_s = notify_cfg_num(ch->config, "timeout_s", SM_NOTIFY_TIMEOUT_S),
	    .text_out = n->text_out,
	    .http = n->http,
	    .templates = n->templates,
	};

	json_object_set_new(context, "channel", sm_json_string(ch->name));
	/* What made this message due for this channel: the envelope's event,
	 * or, for a reminder, why the decision sent it again. */
	json_object_set_new(context, "event", json_string(d.deliver ? d.reason : ""));
	if (d.deliver) {
		if (ch->driver->prepare(&job, &msg, &err) < 0) {
			number = 1;
			snprintf(out.error, sizeof out.error, "%s", err.msg);
		} else {
			for (number = 1; number <= retries + 1; number++) {
				if (number > 1)
					sleep_s(backoff * pow(2, number - 2));
				ch->driver->send(&job, &msg, &out);
				if (out.ok || !out.transient || number == retries + 1)
					break;
				/* Each failed try is a row of its own. */
				a = realloc(*log, (*nlog + 1) * sizeof **log);
				if (a) {
					*log = a;
					a = &a[(*nlog)++];
					*a = (struct attempt){
					    ch,       "failed", number, out.http_status,
					    d.reason, "",       ""};
					snprintf(a->error, sizeof a->error, "%s", out.error);
					sm_rfc3339_now(a->at, true);
				}
				sm_log_kv(SM_LOG_WARN, "delivery failed, retrying", "channel",
				          ch->name, "error", out.error, SM_LOG_END);
			}
		}
		notify_message_clear(&msg);
	}
	a = realloc(*log, (*nlog + 1) * sizeof **log);
	if (a) {
		*log = a;
		a = &a[(*nlog)++];
		*a = (struct attempt){ch,       !d.deliver ? "skipped" : out.ok ? "sent" : "failed",
		                      number,   out.http_status,
		                      d.reason, "",
		                      ""};
		snprintf(a->error, sizeof a->error, "%s", d.deliver ? out.error : "");
		sm_rfc3339_now(a->at, true);
	}
	if (d.deliver && !out.ok) {
		*failed = true;
		sm_log_kv(SM_LOG_ERROR, "delivery failed", "channel", ch->name, "driver",
		          ch->driver->name, "error", out.error, SM_LOG_END);
	} else if (d.deliver && *out.error) {
		/* Delivered, but not everywhere (alertmanager: some replicas). */
		sm_log_kv(SM_LOG_WARN, "delivered in part", "channel", ch->name, "driver",
		          ch->driver->name, "error", out.error, SM_LOG_END);
	} else if (d.deliver) {
		sm_log_kv(SM_LOG_INFO, "delivered", "channel", ch->name, "driver", ch->driver->name,
		          SM_LOG_END);
	}
	return json_pack("{s:s,s:s,s:s,s:i,s:o,s:s}", "channel", ch->name, "driver",
	                 ch->driver->name, "status",
	                 !d.deliver ? "skipped"
	                 : out.ok   ? "sent"
	                            : "failed",
	                 "attempts", number, "error",
	                 d.deliver && *out.error ? sm_json_string(out.error) : json_null(),
	                 "reason", d.reason ? d.reason : "");
}

static int record(sm_notifier *n, json_t *env, const struct attempt *log, size_t nlog,
                  sm_error *err)
{
	json_t *id = json_object_get(json_object_get(env, "incident"), "id");
	sqlite3_stmt *st;

	if (nlog == 0) /* no channel: nothing to write */
		return 0;
	if (sm_store_begin(n->store, err) < 0)
		return -1;
	st = sm_store_prepare_kept(
	    n->store,
	    "INSERT INTO notification_deliveries (channel_id, channel, incident_id,"
	    " status, attempt, http_status, error, created_at, trace_id, reason, run_id,"
	    " envelope_key) VALUES (?, ?, (SELECT id FROM incidents WHERE id = ?), ?, ?, ?,"
	    " ?, ?, ?, ?, ?, ?)",
	    err);
	if (!st)
		goto fail;
	for (size_t i = 0; i < nlog; i++) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (log[i].ch->id > 0)
			sqlite3_bind_int64(st, 1, log[i].ch->id);
		sqlite3_bind_text(st, 2, log[i].ch->name, -1, SQLITE_STATIC);
		if (json_is_integer(id))
			sqlite3_bind_int64(st, 3, json_integer_value(id));
		sqlite3_bind_text(st, 4, log[i].status, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 5, log[i].number);
		if (log[i].http_status)
			sqlite3_bind_int64(st, 6, log[i].http_status);
		sqlite3_bind_text(st, 7, log[i].error, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, log[i].at, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 9, sm_envelope_trace_id(env), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, log[i].reason ? log[i].reason : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 11, n->run_id ? n->run_id : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 12, n->envelope_key, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sm_error_set(err, "cannot record deliveries: %s",
			             sqlite3_errmsg(sm_store_db(n->store)));
			sqlite3_reset(st);
			goto fail;
		}
	}
	sqlite3_reset(st);
	if (sm_store_commit(n->store, err) < 0)
		goto fail;
	return 0;
fail:
	sm_store_rollback(n->store);
	return -1;
}

int sm_notifier_process(sm_notifier *n, json_t *env, sm_error *err)
{
	struct timespec t0, t1, now;
	char started[SM_RFC3339_LEN], why[128] = "";
	json_t *context = sm_notify_context(env, NULL),
	       *entries = json_object_get(env, "notifications");
	struct attempt *log = NULL;
	struct notify_noise noise;
	size_t nlog = 0, nfailed = 0;
	bool failed = false, stored;
	sm_error noise_err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	sm_rfc3339_now(started, true);
	note_run(n, env); /* before this stage adds to the envelope */
	if (!json_is_array(entries)) {
		entries = json_array();
		json_object_set_new(env, "notifications", entries);
	}
	/* A store that cannot say what is silenced must not silence the
	 * alert: notify, and say why on stderr. */
	memset(&noise, 0, sizeof noise);
	/* The clock silences are stamped with: time() reads a coarser one,
	 * up to a tick behind, so a silence added this second could start
	 * "later" and one expired this second still hold. */
	clock_gettime(CLOCK_REALTIME, &now);
	if (n->n > 0) {
		begin_reading(n);
		if (notify_noise_find(n->store, n->noise, env, now.tv_sec, &noise, &noise_err) < 0)
			sm_log_kv(SM_LOG_WARN, "noise control skipped", "error", noise_err.msg,
			          SM_LOG_END);
	}
	for (size_t i = 0; i < n->n; i++) {
		bool f = false;
		json_array_append_new(
		    entries, deliver(n, &n->channels[i], env, context, &noise, &log, &nlog, &f));
		nfailed += f;
		failed = failed || f;
	}
	end_reading(n);
	json_decref(context);
	stored = record(n, env, log, nlog, err) == 0;
	free(log);
	n->run_id = NULL; /* env's: not kept past it */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!stored)
		snprintf(why, sizeof why, "cannot record deliveries");
	else if (failed)
		snprintf(why, sizeof why, "%zu of %zu deliveries failed", nfailed, n->n);
	sm_envelope_add_stage(env, "notify", *why ? "failed" : "ok", started,
	                      sm_elapsed_ms(&t0, &t1), *why ? why : NULL);
	if (!stored)
		return SM_EXIT_FAILURE;
	return failed ? SM_EXIT_TEMPFAIL : SM_EXIT_OK;
}

double sm_notifier_longest(const sm_notifier *n)
{
	double total = 0;

	for (size_t i = 0; i < n->n; i++) {
		json_t *config = n->channels[i].config;
		int retries = (int)notify_cfg_num(config, "retries", n->retries);
		double backoff = notify_cfg_num(config, "backoff_s", n->backoff_s),
		       each = notify_cfg_num(config, "timeout_s", SM_NOTIFY_TIMEOUT_S);
		size_t urls = json_array_size(json_object_get(config, "urls"));

		/* The alertmanager driver tries its replicas one after another,
		 * each within its own "timeout". */
		if (urls > 0)
			each = notify_cfg_num(config, "timeout", each) * (double)urls;
		for (int k = 0; k <= retries; k++)
			total += each + (k > 0 ? backoff * pow(2, k - 1) : 0);
	}
	return total;
}

/* One envelope of sm_notifier_run's stream (sm_stage_fn). A store that
 * failed for one envelope may take the next: say so and go on. */
static int notify_one(json_t *env, bool *drop, void *ctx)
{
	sm_error e;
	int rc = sm_notifier_process(ctx, env, &e);

	(void)drop;
	if (rc == SM_EXIT_FAILURE)
		sm_err_report(rc, &e);
	return rc;
}

int sm_notifier_run(sm_notifier *n, FILE *in, const char *name, FILE *out)
{
	sm_stage_result res;

	sm_stage_run(in, name, SM_ENVELOPE_MAX_LINE, out, notify_one, n, &res);
	return sm_stage_exit(&res);
}
