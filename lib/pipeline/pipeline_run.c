/* pipeline_run.c - running a definition node by node, recording every run
 * and attempt, retrying with backoff, resuming, and reading runs back.
 *
 * The store is written in short statements, never in a transaction held
 * across a stage: the stages are other processes that write the same store
 * while they run. A caller that begins a transaction before the run (the
 * queue worker: its claim and the run's first records commit together)
 * has the records between two stages grouped the same way: the run commits
 * once a stage's program has its input (the commit runs beside the stage,
 * not ahead of it) and before a retry's wait, and begins again after, and
 * the caller commits what follows the last stage with its own records. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/nodes.h"
#include "sm/config.h"
#include "sm/json.h"
#include "sm/log.h"
#include "sm/pipeline.h"
#include "sm/pipeline_metrics.h"
#include "sm/pipeline_run.h"
#include "sm/rfc3339.h"
#include "sm/trace.h"

#define DEFAULT_RETRIES 3
#define DEFAULT_BACKOFF 2.0
#define DEFAULT_TIMEOUT 300.0

/* One execution of a run (a fresh run or a resume). */
struct run {
	sm_store *store;
	sqlite3_int64 row;
	const json_t *def;
	json_t *plan;     /* the node objects of def to run, in order */
	json_t *outputs;  /* node id -> envelopes it wrote */
	json_t *failed;   /* node id -> true for nodes that failed (not required) */
	json_t *previous; /* a resumed node's last failed output */
	char run_id[SM_PIPELINE_ID_LEN + 1], trace_id[40];
	bool checks_only, resumed, fresh;
	bool grouped; /* the caller held a transaction: records between stages grouped */
	double max_retries, backoff, timeout_s;
	bool incident_known;
	json_int_t incident_later; /* noted by the last node: set with the run's end */
	struct timespec t0;
	sm_pipeline_quick *tried; /* the first node's first attempt, made already */
};

/* A quick run (pipeline_run.h): a run of its own, not recorded yet, and
 * what its one stage did. */
struct sm_pipeline_quick {
	struct run r;
	const node_type *t;
	const char *node_id; /* r.def's */
	char *definition_name, *source, *start_node, *in_text, *def_text, *out_text;
	char created[SM_RFC3339_LEN], started[SM_RFC3339_LEN], finished[SM_RFC3339_LEN];
	node_outcome o; /* the stage's, its output stamped when it succeeded */
	double stage_ms, run_ms;
	json_t *stream; /* its input, stamped, until its stage ran */
	char *line;     /* the same as the stage's lines */
	size_t line_len;
	bool handed; /* its lines went to the stage with the run before it */
	struct timespec t_handed;
	char handed_at[SM_RFC3339_LEN];
};

int sm_pipeline_settings(double *max_retries, double *backoff_factor, sm_error *err)
{
	if (sm_config_double("ORCHESTRATION_MAX_RETRIES_PER_STAGE", DEFAULT_RETRIES, max_retries,
	                     err) < 0 ||
	    sm_config_double("ORCHESTRATION_BACKOFF_FACTOR", DEFAULT_BACKOFF, backoff_factor, err) <
	        0)
		return -1;
	if (*max_retries < 0 || *max_retries > 100 || *max_retries != floor(*max_retries)) {
		sm_error_set(err,
		             "ORCHESTRATION_MAX_RETRIES_PER_STAGE: expected a whole number 0-100");
		return -1;
	}
	if (*backoff_factor < 0 || *backoff_factor > 60) {
		sm_error_set(err, "ORCHESTRATION_BACKOFF_FACTOR: expected a number from 0 to 60");
		return -1;
	}
	return 0;
}

/* Every line of a run says which run: the trace id through sm_log_set_trace,
 * the run id here. */
static void note(const struct run *r, enum sm_log_level level, const char *msg, const char *node,
                 const char *detail)
{
	if (node && detail && *detail)
		sm_log_kv(level, msg, "run_id", r->run_id, "node", node, "error", detail,
		          SM_LOG_END);
	else if (node)
		sm_log_kv(level, msg, "run_id", r->run_id, "node", node, SM_LOG_END);
	else if (detail && *detail)
		sm_log_kv(level, msg, "run_id", r->run_id, "error", detail, SM_LOG_END);
	else
		sm_log_kv(level, msg, "run_id", r->run_id, SM_LOG_END);
}

int sm_pipeline_new_run_id(char out[SM_PIPELINE_ID_LEN + 1])
{
	char hex[SM_TRACE_LEN + 1];
	struct timespec now;
	unsigned long long ms;

	if (sm_trace_new(hex) < 0)
		return -1;
	/* A version 7 UUID: the time in milliseconds first, so the runs'
	 * index (and the deliveries' by run) grows at its end rather than at
	 * a random page per run (one page a commit where a batch wrote eight). */
	clock_gettime(CLOCK_REALTIME, &now);
	ms =
	    (unsigned long long)now.tv_sec * 1000ULL + (unsigned long long)now.tv_nsec / 1000000ULL;
	snprintf(hex, 13, "%012llx", ms & 0xffffffffffffULL);
	hex[12] = '7';
	hex[16] = "89ab"[(hex[16] <= '9' ? hex[16] - '0' : hex[16] - 'a' + 10) & 3]; /* variant */
	snprintf(out, SM_PIPELINE_ID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
	         hex + 16, hex + 20);
	return 0;
}

/* --- who runs a run ------------------------------------------------------------ */

/* A process running a run holds a lock on one byte, at the run's row id,
 * of the file "<store>-runs" beside the store (an open file description
 * lock, F_OFD_SETLK). The kernel lets go of it when the process ends,
 * however it ends, so a run left pending by a process that was killed is
 * told apart from one still running: its byte can be locked. */
static int runs_fd = -1;
static char runs_path[4200];

/* 1 when this process now holds run row's lock, 0 when another process
 * holds it, -1 when locking is not possible (err says why). */
static int run_lock(sm_store *store, sqlite3_int64 row, bool take, sm_error *err)
{
	char path[4200];
	struct flock fl = {.l_type = take ? F_WRLCK : F_UNLCK,
	                   .l_whence = SEEK_SET,
	                   .l_start = (off_t)row,
	                   .l_len = 1};

	snprintf(path, sizeof path, "%s-runs", sm_store_path(store));
	if (runs_fd >= 0 && strcmp(path, runs_path) != 0) {
		close(runs_fd);
		runs_fd = -1;
	}
	if (runs_fd < 0) {
		runs_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (runs_fd < 0) {
			sm_error_set(err, "%s: %s", path, strerror(errno));
			return -1;
		}
		snprintf(runs_path, sizeof runs_path, "%s", path);
	}
	if (fcntl(runs_fd, F_OFD_SETLK, &fl) == 0)
		return 1;
	if (errno == EAGAIN || errno == EACCES)
		return 0;
	sm_error_set(err, "%s: %s", path, strerror(errno));
	return -1;
}

/* --- the plan ---------------------------------------------------------------- */

int sm_pipeline_plan(sm_store *store, const json_t *def, const char *start_node, bool checks_only,
                     bool has_input, json_t **out, sm_error *err)
{
	const json_t *node;
	bool started = !start_node;
	size_t i;

	*out = json_array();
	json_array_foreach(json_object_get(def, "nodes"), i, node)
	{
		const char *id = json_string_value(json_object_get(node, "id"));
		const node_type *t =
		    node_type_find(json_string_value(json_object_get(node, "type")));
		json_t *empty = json_object(), *command = NULL;
		const json_t *config = json_object_get(node, "config");
		char path[PATH_MAX] = "";
		started = started || strcmp(id, start_node) == 0;
		if (!started || !t || (checks_only && t != &node_context)) {
			json_decref(empty);
			continue;
		}
		if (t->program && node_program_path(t->program, path, sizeof path, err) < 0) {
			json_decref(empty);
			json_decref(*out);
			*out = NULL;
			return SM_EXIT_FAILURE;
		}
		if (t->program) {
			node_ctx ctx = {.store = store,
			                .node_id = id,
			                .config = config ? config : empty,
			                .entry = json_array_size(*out) == 0 && !has_input};
			sm_error ignored = {0};
			command = json_array();
			json_array_append_new(command, json_string(path));
			if (!store || t->arguments(&ctx, command, &ignored) < 0)
				json_array_append_new(command, json_string("..."));
		}
		json_decref(empty);
		json_array_append_new(*out, json_pack("{s:s,s:s,s:o?,s:O?}", "node", id, "type",
		                                      t->name, "command", command, "next",
		                                      json_object_get(node, "next")));
	}
	if (!started) {
		json_decref(*out);
		*out = NULL;
		sm_error_set(err, "no node \"%s\" in the definition", start_node);
		return SM_EXIT_USAGE;
	}
	if (json_array_size(*out) == 0) {
		json_decref(*out);
		*out = NULL;
		sm_error_set(err, "nothing to run: %s",
		             checks_only ? "the definition has no context node" : "no node");
		return SM_EXIT_USAGE;
	}
	return SM_EXIT_OK;
}

static const json_t *node_of(const json_t *def, const char *id)
{
	const json_t *node;
	size_t i;

	json_array_foreach(json_object_get(def, "nodes"), i, node)
	{
		if (strcmp(json_string_value(json_object_get(node, "id")), id) == 0)
			return node;
	}
	return NULL;
}

/* --- the records ----------------------------------------------------------- */

static int exec_sql(struct run *r, const char *sql, const char *types, ...)
{
	sm_error err = {0};
	/* Kept: the same few statements run for every run a worker handles. */
	sqlite3_stmt *st = sm_store_prepare_kept(r->store, sql, &err);
	va_list ap;
	int rc;

	if (!st) {
		note(r, SM_LOG_ERROR, "cannot record the run", NULL, err.msg);
		return -1;
	}
	va_start(ap, types);
	for (int i = 0; types[i]; i++) {
		switch (types[i]) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (s)
				sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT);
			else
				sqlite3_bind_null(st, i + 1);
			break;
		}
		case 'i':
			sqlite3_bind_int64(st, i + 1, va_arg(ap, sqlite3_int64));
			break;
		case 'd':
			sqlite3_bind_double(st, i + 1, va_arg(ap, double));
			break;
		}
	}
	va_end(ap);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		note(r, SM_LOG_ERROR, "cannot record the run", NULL, sqlite3_errstr(rc));
		return -1;
	}
	return 0;
}

/* Before a stage runs (or a retry waits): commit the records so far, so the
 * stage's process can write the store. */
static void records_commit(struct run *r)
{
	sm_error err = {0};

	if (r->grouped && !sqlite3_get_autocommit(sm_store_db(r->store)) &&
	    sm_store_exec(r->store, "COMMIT", &err) < 0)
		note(r, SM_LOG_ERROR, "cannot record the run", NULL, err.msg);
}

static void handed_commit(void *arg)
{
	records_commit(arg);
}

/* After a stage: the records up to the next stage as one transaction. A
 * failure leaves them one statement at a time, as without grouping. */
static void records_begin(struct run *r)
{
	sm_error err = {0};

	if (r->grouped && sqlite3_get_autocommit(sm_store_db(r->store)) &&
	    sm_store_exec(r->store, "BEGIN IMMEDIATE", &err) < 0)
		note(r, SM_LOG_WARN, "cannot group the run's records", NULL, err.msg);
}

static void set_status(struct run *r, const char *status, const char *stage)
{
	exec_sql(r,
	         "UPDATE pipeline_runs SET status = coalesce(?, status), current_stage = ?"
	         " WHERE id = ?",
	         "ssi", status, stage, (sqlite3_int64)r->row);
}

/* The incident of the run: the first envelope's incident that has an id.
 * later: kept for the run's last record, which sets it. */
static void note_incident(struct run *r, const json_t *output, bool later)
{
	const json_t *env;
	size_t i;

	json_array_foreach(output, i, env)
	{
		json_t *id = json_object_get(json_object_get(env, "incident"), "id");
		if (!r->incident_known && json_is_integer(id)) {
			r->incident_known = true;
			if (later) {
				r->incident_later = json_integer_value(id);
				continue;
			}
			exec_sql(r,
			         "UPDATE pipeline_runs SET incident_id ="
			         " (SELECT id FROM incidents WHERE id = ?) WHERE id = ?",
			         "ii", (sqlite3_int64)json_integer_value(id),
			         (sqlite3_int64)r->row);
		}
	}
}

static char *dump(const json_t *v)
{
	return v ? sm_json_dump(v, NULL) : NULL;
}

/* --- one node ----------------------------------------------------------------- */

/* The envelope with the run's ids: trace_id as the run's, run_id beside it. */
static json_t *stamp(const json_t *env, const struct run *r)
{
	json_t *out = json_object(), *v;
	const char *key;

	if (!json_object_get(env, "trace_id"))
		json_object_set_new(out, "trace_id", json_string(r->trace_id));
	json_object_foreach((json_t *)env, key, v)
	{
		if (strcmp(key, "run_id") == 0)
			continue;
		if (strcmp(key, "trace_id") == 0) {
			json_object_set_new(out, "trace_id", json_string(r->trace_id));
			json_object_set_new(out, "run_id", json_string(r->run_id));
		} else {
			json_object_set(out, key, v);
		}
	}
	if (!json_object_get(out, "run_id"))
		json_object_set_new(out, "run_id", json_string(r->run_id));
	return out;
}

static json_t *stamp_all(const json_t *list, const struct run *r)
{
	json_t *out = json_array(), *env;
	size_t i;

	json_array_foreach(list, i, env)
	{
		json_array_append_new(out, stamp(env, r));
	}
	return out;
}

static bool should_skip(const struct run *r, const json_t *node, char *why, size_t size)
{
	const json_t *v;
	const char *cond = json_string_value(json_object_get(node, "skip_if_condition"));
	size_t i;

	json_array_foreach(json_object_get(node, "skip_if_errors"), i, v)
	{
		if (json_object_get(r->failed, json_string_value(v))) {
			snprintf(why, size, "%s has errors", json_string_value(v));
			return true;
		}
	}
	if (cond) {
		char id[256];
		snprintf(id, sizeof id, "%.*s", (int)(strlen(cond) - strlen(".has_errors")), cond);
		if (json_object_get(r->failed, id)) {
			snprintf(why, size, "%s", cond);
			return true;
		}
	}
	return false;
}

static sqlite3_int64 last_attempt(struct run *r, const char *node)
{
	sm_error err = {0};
	sqlite3_stmt *st = sm_store_prepare_kept(
	    r->store, "SELECT max(attempt) FROM stage_executions WHERE run = ? AND node_id = ?",
	    &err);
	sqlite3_int64 n = 0;

	if (!st)
		return 0;
	sqlite3_bind_int64(st, 1, r->row);
	sqlite3_bind_text(st, 2, node, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};

	while (s > 0 && nanosleep(&ts, &ts) < 0)
		;
}

/* Run one node with its retries. Returns 1 when it succeeded (*output
 * set), 0 when it failed (out filled from its last attempt). */
static int run_node(struct run *r, const json_t *node, const node_type *t, bool entry,
                    const json_t *input, const json_t *previous, json_t **output, node_outcome *out)
{
	/* What the last failed attempt wrote, so a retry can skip what it did. */
	json_t *last = previous ? json_incref((json_t *)previous) : NULL;
	const char *id = json_string_value(json_object_get(node, "id"));
	json_t *empty = json_object();
	const json_t *config = json_object_get(node, "config");
	node_ctx ctx = {.store = r->store,
	                .run_id = r->run_id,
	                .trace_id = r->trace_id,
	                .node_id = id,
	                .config = config ? config : empty,
	                .timeout_s = r->timeout_s,
	                .entry = entry,
	                .outputs = r->outputs};
	/* A fresh run has no attempt of any node yet. */
	sqlite3_int64 base = r->fresh ? 0 : last_attempt(r, id);
	char *in_text = dump(input);
	int tries = 1 + (int)r->max_retries, ok = 0;

	for (int k = 1; k <= tries; k++) {
		char started[SM_RFC3339_LEN], *out_text;
		struct timespec t0, t1;
		double ms;
		sqlite3_int64 row;

		/* The attempt a quick run made (the worker's batch) is the first. */
		sm_pipeline_quick *tried =
		    k == 1 && r->tried && strcmp(r->tried->node_id, id) == 0 ? r->tried : NULL;
		if (tried)
			snprintf(started, sizeof started, "%s", tried->started);
		else
			sm_rfc3339_now(started, true);
		if (exec_sql(
		        r,
		        "INSERT INTO stage_executions (run, node_id, stage, status, attempt, input,"
		        " started_at) VALUES (?, ?, ?, 'running', ?, ?, ?)",
		        "ississ", (sqlite3_int64)r->row, id, t->name, (sqlite3_int64)(base + k),
		        in_text, started) < 0) {
			memset(out, 0, sizeof *out);
			snprintf(out->error, sizeof out->error, "cannot record the stage");
			break;
		}
		row = sqlite3_last_insert_rowid(sm_store_db(r->store));
		note(r, SM_LOG_INFO, "stage started", id, NULL);
		sm_pipeline_metrics_stage(t->name, "started", 0);
		/* A stage's program gets its input before the records commit: the
		 * commit then runs beside the stage (node_ctx.handed) rather than
		 * ahead of it. Killed in between, the run and the claim were never
		 * recorded and the item is taken again: the item in flight, at
		 * most, is delivered twice. In-process nodes commit first. */
		if (tried) {
			*out = tried->o;
			memset(&tried->o, 0, sizeof tried->o);
			ms = tried->stage_ms;
			r->tried = NULL;
		} else {
			if (t->program) {
				ctx.handed = handed_commit;
				ctx.handed_arg = r;
			} else {
				records_commit(r);
			}
			clock_gettime(CLOCK_MONOTONIC, &t0);
			ctx.previous = last;
			node_run(t, &ctx, input, out);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			ms = sm_round(sm_elapsed_ms(&t0, &t1), 3);
		}
		if (!*out->error && out->output) {
			json_t *stamped =
			    t->program ? stamp_all(out->output, r) : json_incref(out->output);
			json_decref(out->output);
			out->output = stamped;
		}
		out_text = dump(out->output);
		/* The write lock from here, not while the output is worked on:
		 * other workers and stages wait for it. */
		records_begin(r);
		exec_sql(r,
		         "UPDATE stage_executions SET status = ?, output = ?, error = ?,"
		         " duration_ms = ?, exit_status = ?, temporary = ? WHERE id = ?",
		         "sssdiii", *out->error ? "failed" : "succeeded", out_text, out->error, ms,
		         (sqlite3_int64)out->exit_status, (sqlite3_int64)out->temporary,
		         (sqlite3_int64)row);
		free(out_text);
		if (!*out->error) {
			sm_pipeline_metrics_stage(t->name, "succeeded", ms);
			note(r, SM_LOG_INFO, "stage succeeded", id, NULL);
			*output = out->output;
			out->output = NULL;
			ok = 1;
			break;
		}
		sm_pipeline_metrics_stage(t->name, "failed", ms);
		if (!out->temporary || k == tries) {
			/* The run's end reports it; a refused input is reported alone. */
			note(r, SM_LOG_INFO, "stage failed", id, out->error);
			break;
		}
		note(r, SM_LOG_WARN, "stage failed, retrying", id, out->error);
		sm_pipeline_metrics_stage(t->name, "retrying", 0);
		if (out->output) {
			json_decref(last);
			last = out->output;
			out->output = NULL;
		}
		records_commit(r);
		sleep_s(pow(r->backoff, k));
		records_begin(r);
	}
	json_decref(last);
	free(in_text);
	json_decref(empty);
	return ok;
}

/* Run r->plan from index first on stream (owned); fill res. */
static void execute(struct run *r, size_t first, json_t *stream, sm_pipeline_result *res)
{
	char finished[SM_RFC3339_LEN];
	struct timespec t1;
	size_t i;
	bool temporary = false;
	const char *final = r->checks_only ? "checked" : "notified", *stage_now = NULL;

	res->error[0] = '\0';
	for (i = first; i < json_array_size(r->plan); i++) {
		const json_t *step = json_array_get(r->plan, i);
		const char *id = json_string_value(json_object_get(step, "node"));
		const json_t *node = node_of(r->def, id);
		const json_t *required = json_object_get(node, "required");
		const node_type *t =
		    node_type_find(json_string_value(json_object_get(step, "type")));
		json_t *output = NULL;
		node_outcome out;
		char why[300];

		if (should_skip(r, node, why, sizeof why)) {
			char now[SM_RFC3339_LEN], *text = dump(stream);
			sm_rfc3339_now(now, true);
			note(r, SM_LOG_INFO, "stage skipped", id, why);
			exec_sql(
			    r,
			    "INSERT INTO stage_executions (run, node_id, stage, status, attempt,"
			    " input, error, started_at) VALUES (?, ?, ?, 'skipped', ?, ?, ?, ?)",
			    "ississs", (sqlite3_int64)r->row, id, t->name,
			    (sqlite3_int64)(last_attempt(r, id) + 1), text, why, now);
			free(text);
			sm_pipeline_metrics_stage(t->name, "skipped", 0);
			continue;
		}
		if (run_node(r, node, t, i == 0 && json_array_size(stream) == 0, stream,
		             i == first ? r->previous : NULL, &output, &out)) {
			bool last = i + 1 == json_array_size(r->plan);
			json_object_set(r->outputs, id, output);
			json_decref(stream);
			stream = output;
			/* The last node's stage and incident go with the run's end,
			 * one statement fewer each. */
			note_incident(r, stream, last);
			if (last) {
				stage_now = t->name;
				continue;
			}
			/* "notified" is the end of the run, set below; a resumed run
			 * stays "retrying" until then. */
			set_status(r,
			           r->resumed || !t->run_status ||
			                   strcmp(t->run_status, "notified") == 0
			               ? NULL
			               : t->run_status,
			           t->name);
			continue;
		}
		json_decref(out.output);
		/* The first node refusing the caller's input is bad input, not a
		 * failed run: nothing is kept of it. */
		if (r->fresh && i == 0 && out.exit_status == SM_EXIT_DATAERR) {
			exec_sql(r, "DELETE FROM pipeline_runs WHERE id = ?", "i",
			         (sqlite3_int64)r->row);
			run_lock(r->store, r->row, false, &(sm_error){0});
			snprintf(res->error, sizeof res->error, "%s", out.error);
			snprintf(res->status, sizeof res->status, "rejected");
			res->exit_status = SM_EXIT_DATAERR;
			json_decref(stream);
			return;
		}
		if (json_is_false(required)) {
			note(r, SM_LOG_WARN, "node not required failed, continuing", id, out.error);
			json_object_set_new(r->failed, id, json_true());
			continue;
		}
		snprintf(res->error, sizeof res->error, "node \"%s\": %s", id, out.error);
		temporary = out.temporary;
		final = "failed";
		break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	sm_rfc3339_now(finished, true);
	exec_sql(r,
	         "UPDATE pipeline_runs SET status = ?, error = ?, finished_at = ?, temporary = ?,"
	         " duration_ms = duration_ms + ?, current_stage = coalesce(?, current_stage),"
	         " incident_id = coalesce((SELECT id FROM incidents WHERE id = ?), incident_id)"
	         " WHERE id = ?",
	         "sssidsii", final, res->error, finished, (sqlite3_int64)temporary,
	         sm_round(sm_elapsed_ms(&r->t0, &t1), 3), stage_now,
	         (sqlite3_int64)r->incident_later, (sqlite3_int64)r->row);
	sm_pipeline_metrics_run(final, sm_elapsed_ms(&r->t0, &t1));
	note(r, strcmp(final, "failed") == 0 ? SM_LOG_WARN : SM_LOG_INFO, "run finished", NULL,
	     res->error);
	snprintf(res->status, sizeof res->status, "%s", final);
	run_lock(r->store, r->row, false, &(sm_error){0});
	res->exit_status = strcmp(final, "failed") != 0 ? SM_EXIT_OK
	                   : temporary                  ? SM_EXIT_TEMPFAIL
	                                                : SM_EXIT_FAILURE;
	res->output = stream;
}

static void run_free(struct run *r)
{
	json_decref(r->plan);
	json_decref(r->outputs);
	json_decref(r->failed);
	json_decref(r->previous);
}

static int prepare(struct run *r, const json_t *def, sm_error *err)
{
	const json_t *defaults = json_object_get(def, "defaults");
	const json_t *retries = json_object_get(defaults, "max_retries");
	const json_t *timeout = json_object_get(defaults, "timeout_seconds");

	if (sm_pipeline_settings(&r->max_retries, &r->backoff, err) < 0)
		return SM_EXIT_USAGE;
	if (json_is_integer(retries))
		r->max_retries = (double)json_integer_value(retries);
	r->timeout_s = json_is_number(timeout) ? json_number_value(timeout) : DEFAULT_TIMEOUT;
	r->def = def;
	r->outputs = json_object();
	r->failed = json_object();
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	return SM_EXIT_OK;
}

int sm_pipeline_run(sm_store *store, const sm_pipeline_run_opts *opts, sm_pipeline_result *res,
                    sm_error *err)
{
	struct run r = {.store = store,
	                .checks_only = opts->checks_only,
	                .fresh = true,
	                .grouped = !sqlite3_get_autocommit(sm_store_db(store)),
	                .tried = opts->tried};
	char now[SM_RFC3339_LEN], *def_text;
	json_t *stream;
	int rc;

	memset(res, 0, sizeof *res);
	if (opts->trace_id && !sm_trace_valid(opts->trace_id)) {
		sm_error_set(err, "trace id '%s': expected 32 lower-case hex digits",
		             opts->trace_id);
		return SM_EXIT_USAGE;
	}
	if ((rc = prepare(&r, opts->definition, err)) != SM_EXIT_OK)
		return rc;
	rc = sm_pipeline_plan(store, opts->definition, opts->start_node, opts->checks_only,
	                      json_array_size(opts->input) > 0, &r.plan, err);
	if (rc != SM_EXIT_OK) {
		run_free(&r);
		return rc;
	}
	if (opts->trace_id)
		snprintf(r.trace_id, sizeof r.trace_id, "%s", opts->trace_id);
	if (opts->run_id)
		snprintf(r.run_id, sizeof r.run_id, "%s", opts->run_id);
	if ((!opts->trace_id && sm_trace_new(r.trace_id) < 0) ||
	    (!opts->run_id && sm_pipeline_new_run_id(r.run_id) < 0)) {
		run_free(&r);
		sm_error_set(err, "no randomness for the run's ids");
		return SM_EXIT_FAILURE;
	}
	sm_log_set_trace(r.trace_id);
	sm_rfc3339_now(now, true);
	def_text = sm_json_dump(opts->definition, NULL);
	rc = exec_sql(
	    &r,
	    "INSERT INTO pipeline_runs (run_id, trace_id, definition, status, current_stage,"
	    " created_at, started_at, source, definition_json, start_node, checks_only)"
	    " VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?)",
	    "ssssssssss", r.run_id, r.trace_id, opts->definition_name,
	    json_string_value(json_object_get(json_array_get(r.plan, 0), "type")), now, now,
	    opts->source ? opts->source : "cli", def_text, opts->start_node ? opts->start_node : "",
	    opts->checks_only ? "1" : "0");
	free(def_text);
	if (rc < 0) {
		run_free(&r);
		sm_error_set(err, "cannot record the run in %s", sm_store_path(store));
		return SM_EXIT_FAILURE;
	}
	r.row = sqlite3_last_insert_rowid(sm_store_db(store));
	{
		sm_error lerr = {0};
		if (run_lock(store, r.row, true, &lerr) < 0)
			note(&r, SM_LOG_WARN,
			     "cannot mark the run as this process's: a resume cannot "
			     "tell it ended if this process is killed",
			     NULL, lerr.msg);
	}
	snprintf(res->run_id, sizeof res->run_id, "%s", r.run_id);
	snprintf(res->trace_id, sizeof res->trace_id, "%s", r.trace_id);
	sm_pipeline_metrics_context(opts->source ? opts->source : "cli", r.run_id);
	note(&r, SM_LOG_INFO, "run started", NULL, NULL);
	sm_pipeline_metrics_run("started", 0);
	/* Envelopes in carry the run's ids: each stamped copy is a new object
	 * (sharing the caller's values, which no node changes in place), so
	 * the caller's input needs no copy of its own then. */
	if (json_array_size(r.plan) &&
	    strcmp(json_string_value(json_object_get(json_array_get(r.plan, 0), "type")), "ingest"))
		stream = stamp_all(opts->input ? opts->input : json_array(), &r);
	else
		stream = opts->input ? json_deep_copy(opts->input) : json_array();
	execute(&r, 0, stream, res);
	run_free(&r);
	return SM_EXIT_OK;
}

/* --- quick runs ---------------------------------------------------------------- */

/* The node a run of def from start_node begins with, and (last, unless
 * NULL) whether it is the last one. */
static const json_t *first_node(const json_t *def, const char *start_node, bool *last)
{
	const json_t *nodes = json_object_get(def, "nodes"), *n;
	size_t i;

	json_array_foreach(nodes, i, n)
	{
		const char *id = json_string_value(json_object_get(n, "id"));
		if (!start_node || (id && strcmp(id, start_node) == 0)) {
			if (last)
				*last = i + 1 == json_array_size(nodes);
			return n;
		}
	}
	return NULL;
}

bool sm_pipeline_quick_fits(const json_t *def, const char *start_node)
{
	bool last = false;
	const json_t *node = first_node(def, start_node, &last);
	const node_type *t =
	    node ? node_type_find(json_string_value(json_object_get(node, "type"))) : NULL;

	/* Not an ingest node: its input is payloads, and they are not stamped. */
	return last && t && t->program && strcmp(t->name, "ingest") != 0;
}

void sm_pipeline_quick_free(sm_pipeline_quick *q)
{
	if (!q)
		return;
	run_free(&q->r);
	free(q->definition_name);
	free(q->source);
	free(q->start_node);
	free(q->in_text);
	free(q->def_text);
	free(q->out_text);
	free(q->line);
	json_decref(q->stream);
	json_decref(q->o.output);
	free(q);
}

int sm_pipeline_quick_begin(sm_store *store, const sm_pipeline_run_opts *opts,
                            sm_pipeline_quick **out)
{
	const json_t *node = first_node(opts->definition, opts->start_node, NULL);
	sm_pipeline_quick *q;
	sm_error err = {0};

	*out = NULL;
	if (!sm_pipeline_quick_fits(opts->definition, opts->start_node) || opts->checks_only ||
	    !opts->run_id || json_array_size(opts->input) == 0 ||
	    (opts->trace_id && !sm_trace_valid(opts->trace_id)) || !(q = calloc(1, sizeof *q)))
		return 0;
	q->r = (struct run){.store = store, .fresh = true};
	q->t = node_type_find(json_string_value(json_object_get(node, "type")));
	q->node_id = json_string_value(json_object_get(node, "id"));
	snprintf(q->r.run_id, sizeof q->r.run_id, "%s", opts->run_id);
	if (opts->trace_id)
		snprintf(q->r.trace_id, sizeof q->r.trace_id, "%s", opts->trace_id);
	q->definition_name = strdup(opts->definition_name ? opts->definition_name : "");
	q->source = strdup(opts->source ? opts->source : "cli");
	q->start_node = strdup(opts->start_node ? opts->start_node : "");
	if (prepare(&q->r, opts->definition, &err) != SM_EXIT_OK || !q->definition_name ||
	    !q->source || !q->start_node || (!opts->trace_id && sm_trace_new(q->r.trace_id) < 0)) {
		sm_pipeline_quick_free(q);
		return 0;
	}
	sm_rfc3339_now(q->created, true);
	q->stream = stamp_all(opts->input, &q->r);
	q->in_text = dump(q->stream);
	if (json_array_size(q->stream) == 1 && q->in_text)
		q->line = node_filter_line_of_stream(q->in_text, &q->line_len);
	*out = q;
	return 1;
}

/* Whether b's stage is a's: the same type and configuration, so the same
 * program and arguments, the same filter. */
static bool same_stage(const sm_pipeline_quick *a, const sm_pipeline_quick *b)
{
	const json_t *na = first_node(a->r.def, *a->start_node ? a->start_node : NULL, NULL);
	const json_t *nb = first_node(b->r.def, *b->start_node ? b->start_node : NULL, NULL);
	const json_t *ca = json_object_get(na, "config"), *cb = json_object_get(nb, "config");

	return a->t == b->t && na && nb && (ca == cb || (ca && cb && json_equal(ca, cb)));
}

/* The text of a quick run's definition for its record, malloc'd. The
 * items of a batch share their definition's tree, and a worker's items
 * share it while the store's configuration version stays (its definition
 * cache), so the last one printed is kept, with a reference to it: the same
 * address is then the same definition (no other can be made there while it
 * is held), and definitions are not changed once loaded. */
static char *definition_text(const json_t *def)
{
	static json_t *kept;
	static char *text;

	if (def != kept) {
		char *t = sm_json_dump(def, NULL);
		if (!t)
			return NULL;
		json_decref(kept);
		free(text);
		kept = json_incref((json_t *)def);
		text = t;
	}
	return strdup(text);
}

int sm_pipeline_quick_go(sm_pipeline_quick *q, sm_pipeline_quick *next, double within_s)
{
	const json_t *node = first_node(q->r.def, *q->start_node ? q->start_node : NULL, NULL);
	const json_t *config = json_object_get(node, "config");
	json_t *empty = json_object();
	struct timespec t1;
	/* The run whose envelope may go ahead, or NULL. */
	sm_pipeline_quick *to = next && next != q && !next->handed && next->line && q->line &&
	                                within_s > 0 && same_stage(q, next)
	                            ? next
	                            : NULL;

	sm_log_set_trace(q->r.trace_id);
	{
		/* Nothing held while the stage runs: no hand-over to wait for. */
		node_ctx ctx = {.store = q->r.store,
		                .run_id = q->r.run_id,
		                .trace_id = q->r.trace_id,
		                .node_id = q->node_id,
		                .config = config ? config : empty,
		                .timeout_s = q->r.timeout_s,
		                .outputs = q->r.outputs,
		                .lines = q->line,
		                .lines_len = q->line_len,
		                .ahead = to ? to->line : NULL,
		                .ahead_len = to ? to->line_len : 0,
		                .ahead_within_s = to ? within_s : 0,
		                .ahead_taken = to ? &to->handed : NULL};
		if (q->handed) {
			/* The stage has had it since the run before ended. */
			memcpy(q->started, q->handed_at, sizeof q->started);
		} else {
			sm_rfc3339_now(q->started, true);
			clock_gettime(CLOCK_MONOTONIC, &q->t_handed);
		}
		node_run(q->t, &ctx, q->stream, &q->o);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (to && to->handed) {
		to->t_handed = t1;
		sm_rfc3339_now(to->handed_at, true);
	}
	sm_rfc3339_now(q->finished, true);
	json_decref(q->stream);
	q->stream = NULL;
	json_decref(empty);
	q->stage_ms = sm_round(sm_elapsed_ms(&q->t_handed, &t1), 3);
	q->run_ms = sm_round(sm_elapsed_ms(&q->r.t0, &t1), 3);
	if (*q->o.error || !q->o.output || !q->in_text)
		return 0; /* the caller's sm_pipeline_run records it as the first attempt */
	{
		json_t *stamped = stamp_all(q->o.output, &q->r);
		json_decref(q->o.output);
		q->o.output = stamped;
	}
	/* What the record needs, made now: it is written under the lock. */
	q->def_text = definition_text(q->r.def);
	q->out_text = dump(q->o.output);
	return q->def_text && q->out_text ? 1 : 0;
}

bool sm_pipeline_quick_handed(const sm_pipeline_quick *q)
{
	return q && q->handed;
}

int sm_pipeline_quick_run(sm_store *store, const sm_pipeline_run_opts *opts,
                          sm_pipeline_quick **out)
{
	return sm_pipeline_quick_begin(store, opts, out) ? sm_pipeline_quick_go(*out, NULL, 0) : 0;
}

int sm_pipeline_quick_record(sm_store *store, sm_pipeline_quick *q, sm_pipeline_result *res)
{
	struct run *r = &q->r;
	const char *final = "notified";
	int rc;

	memset(res, 0, sizeof *res);
	r->store = store;
	sm_log_set_trace(r->trace_id);
	note_incident(r, q->o.output, true);
	rc = exec_sql(r,
	              "INSERT INTO pipeline_runs (run_id, trace_id, definition, status,"
	              " current_stage, created_at, started_at, finished_at, duration_ms, source,"
	              " definition_json, start_node, incident_id) VALUES (?, ?, ?, ?, ?, ?, ?,"
	              " ?, ?, ?, ?, ?, (SELECT id FROM incidents WHERE id = ?))",
	              "ssssssssdsssi", r->run_id, r->trace_id, q->definition_name, final,
	              q->t->name, q->created, q->created, q->finished, q->run_ms, q->source,
	              q->def_text, q->start_node, (sqlite3_int64)r->incident_later);
	if (rc < 0)
		return -1;
	rc = exec_sql(r,
	              "INSERT INTO stage_executions (run, node_id, stage, status, attempt, input,"
	              " output, duration_ms, exit_status, started_at)"
	              " VALUES (?, ?, ?, 'succeeded', 1, ?, ?, ?, ?, ?)",
	              "issssdis", (sqlite3_int64)sqlite3_last_insert_rowid(sm_store_db(store)),
	              q->node_id, q->t->name, q->in_text, q->out_text, q->stage_ms,
	              (sqlite3_int64)q->o.exit_status, q->started);
	if (rc < 0)
		return -1;
	sm_pipeline_metrics_context(q->source, r->run_id);
	sm_pipeline_metrics_run("started", 0);
	sm_pipeline_metrics_stage(q->t->name, "started", 0);
	sm_pipeline_metrics_stage(q->t->name, "succeeded", q->stage_ms);
	sm_pipeline_metrics_run(final, q->run_ms);
	/* Said once recorded, in the order they happened. */
	note(r, SM_LOG_INFO, "run started", NULL, NULL);
	note(r, SM_LOG_INFO, "stage started", q->node_id, NULL);
	note(r, SM_LOG_INFO, "stage succeeded", q->node_id, NULL);
	note(r, SM_LOG_INFO, "run finished", NULL, NULL);
	snprintf(res->run_id, sizeof res->run_id, "%s", r->run_id);
	snprintf(res->trace_id, sizeof res->trace_id, "%s", r->trace_id);
	snprintf(res->status, sizeof res->status, "%s", final);
	res->exit_status = SM_EXIT_OK;
	res->output = q->o.output;
	q->o.output = NULL;
	return 0;
}

/* --- resume ------------------------------------------------------------------- */

int sm_pipeline_resume(sm_store *store, const char *run_id, sm_pipeline_result *res, sm_error *err)
{
	struct run r = {.store = store,
	                .resumed = true,
	                .grouped = !sqlite3_get_autocommit(sm_store_db(store))};
	sqlite3_stmt *st;
	json_t *def = NULL, *latest = json_object(), *stream = NULL, *row;
	char status[32] = "", start[256] = "", source[64] = "";
	size_t first = 0, i;
	int rc = SM_EXIT_OK;

	memset(res, 0, sizeof *res);
	st = sm_store_prepare(
	    store,
	    "SELECT id, trace_id, status, definition_json, start_node, checks_only,"
	    " source FROM pipeline_runs WHERE run_id = ?",
	    err);
	if (!st) {
		json_decref(latest);
		return SM_EXIT_FAILURE;
	}
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		r.row = sqlite3_column_int64(st, 0);
		snprintf(r.trace_id, sizeof r.trace_id, "%s", sqlite3_column_text(st, 1));
		snprintf(status, sizeof status, "%s", sqlite3_column_text(st, 2));
		def = json_loads((const char *)sqlite3_column_text(st, 3), 0, NULL);
		snprintf(start, sizeof start, "%s", sqlite3_column_text(st, 4));
		r.checks_only = sqlite3_column_int(st, 5) != 0;
		snprintf(source, sizeof source, "%s", sqlite3_column_text(st, 6));
	}
	sqlite3_finalize(st);
	if (!r.row) {
		json_decref(latest);
		sm_error_set(err, "unknown run '%s' (see sm-pipeline runs)", run_id);
		return SM_EXIT_USAGE;
	}
	if (strcmp(status, "failed") != 0 && strcmp(status, "notified") != 0 &&
	    !(r.checks_only && strcmp(status, "checked") == 0)) {
		/* Not ended: still running, or its process was killed. */
		int held = run_lock(store, r.row, true, err);
		if (held < 0) {
			json_decref(latest);
			json_decref(def);
			return SM_EXIT_FAILURE;
		}
		if (held == 0) {
			json_decref(latest);
			json_decref(def);
			sm_error_set(err, "run %s is %s and its process is still running it",
			             run_id, status);
			return SM_EXIT_FAILURE;
		}
		char now[SM_RFC3339_LEN];
		sm_rfc3339_now(now, true);
		snprintf(r.run_id, sizeof r.run_id, "%s", run_id);
		exec_sql(&r,
		         "UPDATE pipeline_runs SET status = 'failed', error = 'its process ended"
		         " during the run', finished_at = ? WHERE id = ?",
		         "si", now, (sqlite3_int64)r.row);
		exec_sql(&r,
		         "UPDATE stage_executions SET status = 'failed', error = 'its process ended"
		         " during the stage' WHERE run = ? AND status = 'running'",
		         "i", (sqlite3_int64)r.row);
		note(&r, SM_LOG_WARN, "run left by a process that ended: resuming it", NULL, NULL);
		snprintf(status, sizeof status, "failed");
	} else if (strcmp(status, "failed") == 0 && run_lock(store, r.row, true, err) == 0) {
		json_decref(latest);
		json_decref(def);
		sm_error_set(err, "run %s is being resumed by another process", run_id);
		return SM_EXIT_FAILURE;
	}
	if (strcmp(status, "failed") != 0) {
		json_decref(latest);
		json_decref(def);
		sm_error_set(err, "run %s is %s: only a failed run can be resumed", run_id, status);
		return SM_EXIT_FAILURE;
	}
	snprintf(r.run_id, sizeof r.run_id, "%s", run_id);
	sm_log_set_trace(r.trace_id);
	sm_pipeline_metrics_context(source, r.run_id);
	if ((rc = prepare(&r, def, err)) != SM_EXIT_OK ||
	    (rc = sm_pipeline_plan(NULL, def, *start ? start : NULL, r.checks_only, false, &r.plan,
	                           err)) != SM_EXIT_OK)
		goto out;
	/* The last attempt of each node, by node id. */
	st = sm_store_prepare(store,
	                      "SELECT node_id, status, input, output FROM stage_executions"
	                      " WHERE run = ? ORDER BY id",
	                      err);
	if (!st) {
		rc = SM_EXIT_FAILURE;
		goto out;
	}
	sqlite3_bind_int64(st, 1, r.row);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *in = (const char *)sqlite3_column_text(st, 2);
		const char *o = (const char *)sqlite3_column_text(st, 3);
		json_object_set_new(latest, (const char *)sqlite3_column_text(st, 0),
		                    json_pack("{s:s,s:o*,s:o*}", "status",
		                              sqlite3_column_text(st, 1), "input",
		                              in ? json_loads(in, 0, NULL) : NULL, "output",
		                              o ? json_loads(o, 0, NULL) : NULL));
	}
	sqlite3_finalize(st);
	/* Nodes that succeeded keep their output; the first node that did not
	 * succeed runs again on the input it had. */
	for (first = 0; first < json_array_size(r.plan); first++) {
		const char *id =
		    json_string_value(json_object_get(json_array_get(r.plan, first), "node"));
		const char *s;
		row = json_object_get(latest, id);
		s = json_string_value(json_object_get(row, "status"));
		if (s && strcmp(s, "succeeded") == 0) {
			json_object_set(r.outputs, id, json_object_get(row, "output"));
			continue;
		}
		if (s && strcmp(s, "skipped") == 0)
			continue;
		if (s && strcmp(s, "failed") == 0) {
			const json_t *node = node_of(def, id);
			if (json_is_false(json_object_get(node, "required"))) {
				json_object_set_new(r.failed, id, json_true());
				continue;
			}
		}
		stream = json_deep_copy(json_object_get(row, "input"));
		r.previous = json_incref(json_object_get(row, "output"));
		break;
	}
	if (!stream)
		stream = json_array();
	exec_sql(
	    &r,
	    "UPDATE pipeline_runs SET status = 'retrying', attempts = attempts + 1, error = '',"
	    " temporary = 0, finished_at = NULL WHERE id = ?",
	    "i", (sqlite3_int64)r.row);
	snprintf(res->run_id, sizeof res->run_id, "%s", r.run_id);
	snprintf(res->trace_id, sizeof res->trace_id, "%s", r.trace_id);
	i = first;
	note(&r, SM_LOG_INFO, "run resumed",
	     i < json_array_size(r.plan)
	         ? json_string_value(json_object_get(json_array_get(r.plan, i), "node"))
	         : NULL,
	     NULL);
	sm_pipeline_metrics_run("started", 0);
	execute(&r, first, stream, res);
out:
	if (rc != SM_EXIT_OK)
		run_lock(store, r.row, false, &(sm_error){0});
	run_free(&r);
	json_decref(latest);
	json_decref(def);
	return rc;
}

void sm_pipeline_result_clear(sm_pipeline_result *res)
{
	json_decref(res->output);
	memset(res, 0, sizeof *res);
}

/* --- reading runs back ------------------------------------------------------ */

#define RUN_COLUMNS                                                                                \
	"run_id, trace_id, definition, status, source, incident_id, current_stage, attempts,"      \
	" started_at, finished_at, duration_ms, error, id"

static json_t *text_or_null(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	return s ? json_string((const char *)s) : json_null();
}

static json_t *run_row(sqlite3_stmt *st)
{
	json_t *o = json_object();

	json_object_set_new(o, "run_id", text_or_null(st, 0));
	json_object_set_new(o, "trace_id", text_or_null(st, 1));
	json_object_set_new(o, "definition", text_or_null(st, 2));
	json_object_set_new(o, "status", text_or_null(st, 3));
	json_object_set_new(o, "source", text_or_null(st, 4));
	json_object_set_new(o, "incident_id",
	                    sqlite3_column_type(st, 5) == SQLITE_NULL
	                        ? json_null()
	                        : json_integer(sqlite3_column_int64(st, 5)));
	json_object_set_new(o, "current_stage", text_or_null(st, 6));
	json_object_set_new(o, "attempts", json_integer(sqlite3_column_int64(st, 7)));
	json_object_set_new(o, "started_at", text_or_null(st, 8));
	json_object_set_new(o, "finished_at", text_or_null(st, 9));
	json_object_set_new(o, "duration_ms", json_real(sqlite3_column_double(st, 10)));
	json_object_set_new(o, "error",
	                    *sqlite3_column_text(st, 11) ? text_or_null(st, 11) : json_null());
	return o;
}

int sm_pipeline_runs(sm_store *store, const char *status, long limit, json_t **out, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(store,
	                                    "SELECT " RUN_COLUMNS
	                                    " FROM pipeline_runs WHERE ?1 IS NULL OR status = ?1"
	                                    " ORDER BY id DESC LIMIT ?2",
	                                    err);
	int rc;

	*out = NULL;
	if (!st)
		return SM_EXIT_FAILURE;
	if (status)
		sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
	*out = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(*out, run_row(st));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(*out);
		*out = NULL;
		sm_error_set(err, "%s", sqlite3_errstr(rc));
		return SM_EXIT_FAILURE;
	}
	return SM_EXIT_OK;
}

static json_t *snapshot(sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	json_t *v = s ? json_loads(s, 0, NULL) : NULL;
	return v ? v : json_null();
}

int sm_pipeline_run_get(sm_store *store, const char *run_id, bool attempts, json_t **out,
                        sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(
	    store, "SELECT " RUN_COLUMNS " FROM pipeline_runs WHERE run_id = ?", err);
	sqlite3_int64 row = 0;
	json_t *stages, *by_node;

	*out = NULL;
	if (!st)
		return SM_EXIT_FAILURE;
	sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*out = run_row(st);
		row = sqlite3_column_int64(st, 12);
	}
	sqlite3_finalize(st);
	if (!*out) {
		sm_error_set(err, "unknown run '%s' (see sm-pipeline runs)", run_id);
		return SM_EXIT_USAGE;
	}
	st = sm_store_prepare(store,
	                      "SELECT node_id, stage, status, attempt, exit_status, started_at,"
	                      " duration_ms, error, input, output FROM stage_executions"
	                      " WHERE run = ? ORDER BY id",
	                      err);
	if (!st) {
		json_decref(*out);
		*out = NULL;
		return SM_EXIT_FAILURE;
	}
	sqlite3_bind_int64(st, 1, row);
	stages = json_array();
	by_node = json_object();
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *node = (const char *)sqlite3_column_text(st, 0);
		json_t *stage = json_object_get(by_node, node);
		json_t *attempt = json_pack(
		    "{s:i,s:o,s:o,s:o,s:f,s:o}", "attempt", (int)sqlite3_column_int64(st, 3),
		    "status", text_or_null(st, 2), "exit_status",
		    sqlite3_column_type(st, 4) == SQLITE_NULL
		        ? json_null()
		        : json_integer(sqlite3_column_int(st, 4)),
		    "started_at", text_or_null(st, 5), "duration_ms", sqlite3_column_double(st, 6),
		    "error", *sqlite3_column_text(st, 7) ? text_or_null(st, 7) : json_null());
		if (!stage) {
			stage = json_pack("{s:s,s:o,s:i}", "node", node, "type",
			                  text_or_null(st, 1), "attempts", 0);
			json_array_append_new(stages, stage);
			json_object_set(by_node, node, stage);
			if (attempts)
				json_object_set_new(stage, "history", json_array());
		}
		json_object_set_new(
		    stage, "attempts",
		    json_integer(json_integer_value(json_object_get(stage, "attempts")) + 1));
		json_object_update(stage, attempt);
		json_object_del(stage, "attempt");
		json_object_set_new(stage, "input", snapshot(st, 8));
		json_object_set_new(stage, "output", snapshot(st, 9));
		if (attempts)
			json_array_append_new(json_object_get(stage, "history"), attempt);
		else
			json_decref(attempt);
	}
	sqlite3_finalize(st);
	json_decref(by_node);
	json_object_set_new(*out, "stages", stages);
	return SM_EXIT_OK;
}
