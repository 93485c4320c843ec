/* ingest.c - the alert write path: dedup, incidents, history, envelopes.
 * The rules are in ingest.h; statements are prepared once per writer. */
#include <stdlib.h>
#include <string.h>

#include "sm/envelope.h"
#include "sm/ingest.h"
#include "sm/json.h"
#include "sm/rfc3339.h"
#include "sm/trace.h"

enum stmt {
	FIND_ALERT,
	INSERT_ALERT,
	UPDATE_ALERT,
	HISTORY,
	FIND_INCIDENT,
	INSERT_INCIDENT,
	INCIDENT_OF,
	ESCALATE,
	COUNT_FIRING,
	RESOLVE_INCIDENT,
	REOPEN_INCIDENT,
	INCIDENT_ROW,
	FLAP,
	NSTMT,
};

/* An incident as envelopes and listings show it. */
#define INCIDENT_COLUMNS                                                                           \
	"SELECT id, title, status, severity, source, created_at, updated_at, acknowledged_at,"     \
	" resolved_at, closed_at FROM incidents"

static const char *const sql[NSTMT] = {
    [FIND_ALERT] = "SELECT id, status, severity, incident_id, description, labels, annotations,"
                   " started_at, ended_at, flap_states, flapping, flap_at FROM alerts"
                   " WHERE source = ?1 AND fingerprint = ?2",
    [INSERT_ALERT] = "INSERT INTO alerts (source, fingerprint, name, status, severity,"
                     " description, labels, annotations, raw, started_at, ended_at,"
                     " incident_id, created_at, updated_at, flap_states, flapping, flap_at)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13,"
                     " ?14, ?15, ?16)",
    [UPDATE_ALERT] = "UPDATE alerts SET name = ?2, status = ?3, severity = ?4, description = ?5,"
                     " labels = ?6, annotations = ?7, raw = ?8, ended_at = ?9,"
                     " incident_id = ?10, updated_at = ?11, flap_states = ?12, flapping = ?13,"
                     " flap_at = ?14"
                     " WHERE id = ?1",
    [HISTORY] = "INSERT INTO alert_history (alert_id, change, old_status, new_status,"
                " old_severity, new_severity, at, trace_id)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [FIND_INCIDENT] = "SELECT id, severity FROM incidents WHERE group_key = ?1"
                      /* the open ones: no IN list, it would cost an ephemeral table per call */
                      " AND status != 'resolved' AND status != 'closed' ORDER BY id DESC LIMIT 1",
    [INSERT_INCIDENT] = "INSERT INTO incidents (title, status, severity, group_key, source,"
                        " created_at, updated_at, trace_id)"
                        " VALUES (?1, 'open', ?2, ?3, ?4, ?5, ?5, ?6)",
    [INCIDENT_OF] = "SELECT status, severity FROM incidents WHERE id = ?1",
    /* An acknowledgement covers the severity it was given at: a rise makes
     * the incident open again, so its reminders resume until acked anew. */
    [ESCALATE] = "UPDATE incidents SET severity = ?2, updated_at = ?3,"
                 " acknowledged_at = CASE status WHEN 'acknowledged' THEN NULL"
                 " ELSE acknowledged_at END,"
                 " status = CASE status WHEN 'acknowledged' THEN 'open' ELSE status END"
                 " WHERE id = ?1",
    [COUNT_FIRING] = "SELECT count(*) FROM alerts WHERE incident_id = ?1 AND status = 'firing'",
    [RESOLVE_INCIDENT] = "UPDATE incidents SET status = 'resolved', resolved_at = ?2,"
                         " updated_at = ?2 WHERE id = ?1"
                         " AND status != 'resolved' AND status != 'closed'",
    /* A reopened incident is a new episode: it takes the refiring alert's
     * severity instead of keeping the old episode's. */
    [REOPEN_INCIDENT] = "UPDATE incidents SET status = 'open', resolved_at = NULL,"
                        " acknowledged_at = NULL, severity = ?3, updated_at = ?2 WHERE id = ?1",
    [INCIDENT_ROW] = INCIDENT_COLUMNS " WHERE id = ?1",
    /* A result that changes neither the alert nor its incident still
     * moves the alert's flap window. */
    [FLAP] = "UPDATE alerts SET flap_states = ?2, flapping = ?3, flap_at = ?4 WHERE id = ?1",
};

struct sm_ingest {
	sm_store *store;
	sqlite3_stmt *st[NSTMT];
	sm_flap_settings flap;
	long long now_s; /* the batch's time, for the flap window's quiet spell */
};

sm_ingest *sm_ingest_new(sm_store *store, sm_error *err)
{
	sm_ingest *in = calloc(1, sizeof *in);

	if (!in) {
		sm_error_set(err, "out of memory");
		return NULL;
	}
	in->store = store;
	if (sm_ingest_flap_settings(&in->flap, err) < 0) {
		free(in);
		return NULL;
	}
	return in;
}

void sm_ingest_free(sm_ingest *in)
{
	if (!in)
		return;
	for (int i = 0; i < NSTMT; i++)
		sqlite3_finalize(in->st[i]);
	free(in);
}

/* A statement, prepared on its first use (a CGI request, which makes one
 * writer for one payload, parses only the statements that payload needs:
 * each parse is about 1 % of its CPU time), else reset for reuse. One that
 * cannot be prepared is NULL: SQLite answers every call on a NULL
 * statement with SQLITE_MISUSE, so its step fails and failed() reports the
 * store's message, the prepare's. */
static sqlite3_stmt *use(sm_ingest *in, enum stmt s)
{
	if (!in->st[s])
		return in->st[s] = sm_store_prepare(in->store, sql[s], NULL);
	sqlite3_reset(in->st[s]);
	sqlite3_clear_bindings(in->st[s]);
	return in->st[s];
}

static int failed(sm_ingest *in, sm_error *err)
{
	sm_error_set(err, "%s: %s", sm_store_path(in->store),
	             sqlite3_errmsg(sm_store_db(in->store)));
	return -1;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	/* SQLITE_STATIC: every statement is stepped before its strings are
	 * freed, and use() rebinds before the next step. */
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void bind_id(sqlite3_stmt *st, int i, long long id)
{
	if (id > 0)
		sqlite3_bind_int64(st, i, id);
	else
		sqlite3_bind_null(st, i);
}

/* a, b and c joined, malloc'd (asprintf's formatting cost a payload more
 * than its incident lookup). */
static char *join3(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = malloc(la + lb + lc + 1);

	if (s) {
		memcpy(s, a, la);
		memcpy(s + la, b, lb);
		memcpy(s + la + lb, c, lc + 1);
	}
	return s;
}

/* The incident key: name and instance, or (checker, instance_id) for cluster
 * alerts, whose names carry the agent's live message. */
static char *group_key(const char *source, const sm_alert *a)
{
	const char *instance =
	    sm_json_first_str(a->labels, "instance_id", "instance", "hostname", (const char *)NULL);

	if (strcmp(source, "cluster") == 0) {
		const char *checker = sm_json_str(a->labels, "checker");
		char *rest = join3(checker ? checker : a->name, "\x1f", instance ? instance : ""),
		     *key;
		if (!rest)
			return NULL;
		key = join3("cluster", "\x1f", rest);
		free(rest);
		return key;
	}
	return join3(a->name, "\x1f", instance ? instance : "");
}

static void time_text(char buf[SM_RFC3339_LEN], const struct timespec *ts, bool set,
                      const char *now)
{
	if (set)
		sm_rfc3339_format(buf, ts, ts->tv_nsec != 0);
	else
		memcpy(buf, now, SM_RFC3339_LEN);
}

/* What happened to one incident during this batch, strongest last. */
enum incident_change {
	INC_UNCHANGED,
	INC_UPDATED,
	INC_ESCALATED,
	INC_RESOLVED,
	INC_REOPENED,
	INC_CREATED
};
static const char *const incident_changes[] = {"unchanged", "updated",  "escalated",
                                               "resolved",  "reopened", "created"};

struct touched {
	long long incident; /* 0: the envelope for alerts without one */
	enum incident_change change;
	char *previous_severity;
	sm_text alerts; /* the envelope's alert objects, comma-separated */
	size_t nalerts;
};

struct result {
	struct touched *items;
	size_t count, cap;
};

static struct touched *touch(struct result *r, long long incident)
{
	for (size_t i = 0; i < r->count; i++)
		if (r->items[i].incident == incident)
			return &r->items[i];
	if (r->count == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 4;
		struct touched *p = realloc(r->items, ncap * sizeof *p);
		if (!p)
			return NULL;
		r->items = p;
		r->cap = ncap;
	}
	r->items[r->count] = (struct touched){incident, INC_UNCHANGED, NULL, {0}, 0};
	return &r->items[r->count++];
}

static void note_change(struct touched *t, enum incident_change c)
{
	if (t && c > t->change)
		t->change = c;
}

static int history(sm_ingest *in, long long alert, const char *change, const char *old_status,
                   const char *new_status, const char *old_sev, const char *new_sev,
                   const char *now, const char *trace_id, sm_error *err)
{
	sqlite3_stmt *st = use(in, HISTORY);

	sqlite3_bind_int64(st, 1, alert);
	bind_text(st, 2, change);
	bind_text(st, 3, old_status);
	bind_text(st, 4, new_status);
	bind_text(st, 5, old_sev);
	bind_text(st, 6, new_sev);
	bind_text(st, 7, now);
	bind_text(st, 8, trace_id);
	return sqlite3_step(st) == SQLITE_DONE ? 0 : failed(in, err);
}

/* Raise the incident's severity to the alert's when higher (never lower). */
static int escalate(sm_ingest *in, struct result *r, long long id, enum sm_severity severity,
                    const char *now, sm_error *err)
{
	sqlite3_stmt *st = use(in, INCIDENT_OF);
	struct touched *t = touch(r, id);
	int old;

	if (!t) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW)
		return failed(in, err);
	old = sm_severity_parse((const char *)sqlite3_column_text(st, 1));
	if (old < 0)
		return failed(in, err);
	severity = sm_ingest_incident_severity(SM_INCIDENT_KEEP, (enum sm_severity)old, severity);
	if ((int)severity == old)
		return 0;
	if (!t->previous_severity)
		t->previous_severity = strdup(sm_severity_name((enum sm_severity)old));
	st = use(in, ESCALATE);
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, sm_severity_name(severity));
	bind_text(st, 3, now);
	if (sqlite3_step(st) != SQLITE_DONE)
		return failed(in, err);
	note_change(t, INC_ESCALATED);
	return 0;
}

/* The open (or acknowledged) incident with the alert's key: its id, 0 when
 * there is none, -1 on error. */
static long long find_open(sm_ingest *in, const char *source, const sm_alert *a, sm_error *err)
{
	char *key = group_key(source, a);
	sqlite3_stmt *st;
	long long id = 0;
	int step;

	if (!key) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	st = use(in, FIND_INCIDENT);
	bind_text(st, 1, key);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else if (step != SQLITE_DONE)
		id = failed(in, err);
	free(key);
	return id;
}

/* Attach to the open incident with this key, raising its severity, or
 * create one. Returns the incident id (0 on error). */
static long long attach(sm_ingest *in, struct result *r, const char *source, const sm_alert *a,
                        const char *now, const char *trace_id, sm_error *err)
{
	char *key = group_key(source, a);
	sqlite3_stmt *st;
	long long id = 0;

	if (!key) {
		sm_error_set(err, "out of memory");
		return 0;
	}
	st = use(in, FIND_INCIDENT);
	bind_text(st, 1, key);
	if (sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		note_change(touch(r, id), INC_UPDATED); /* an alert joined it */
		if (escalate(in, r, id, a->severity, now, err) < 0)
			id = 0;
	} else {
		const char *instance = sm_json_first_str(a->labels, "instance_id", "instance",
		                                         "hostname", (const char *)NULL);
		char *title = NULL;
		/* "DiskSpaceLow on db-01": the name alone would not say where,
		 * unless it already names the instance. */
		if (instance && !sm_alert_mentions(a->name, instance))
			title = join3(a->name, " on ", instance);
		st = use(in, INSERT_INCIDENT);
		bind_text(st, 1, title ? title : a->name);
		bind_text(st, 2, sm_severity_name(a->severity));
		bind_text(st, 3, key);
		bind_text(st, 4, source);
		bind_text(st, 5, now);
		bind_text(st, 6, trace_id);
		if (sqlite3_step(st) != SQLITE_DONE) {
			failed(in, err);
		} else {
			struct touched *t;
			id = sqlite3_last_insert_rowid(sm_store_db(in->store));
			t = touch(r, id);
			if (t)
				note_change(t, INC_CREATED);
		}
		free(title);
	}
	free(key);
	return id;
}

/* Resolve the incident when no alert of it fires any more. */
static int maybe_resolve(sm_ingest *in, struct result *r, long long incident, const char *now,
                         sm_error *err)
{
	sqlite3_stmt *st = use(in, COUNT_FIRING);
	struct touched *t;

	sqlite3_bind_int64(st, 1, incident);
	if (sqlite3_step(st) != SQLITE_ROW)
		return failed(in, err);
	if (sqlite3_column_int64(st, 0) > 0)
		return 0;
	st = use(in, RESOLVE_INCIDENT);
	sqlite3_bind_int64(st, 1, incident);
	bind_text(st, 2, now);
	if (sqlite3_step(st) != SQLITE_DONE)
		return failed(in, err);
	t = touch(r, incident);
	if (t && sqlite3_changes(sm_store_db(in->store)) > 0)
		note_change(t, INC_RESOLVED);
	return 0;
}

/* A refiring alert: an open incident of its key takes it; else its own
 * incident (own, 0 for none) reopens at the alert's severity, unless an
 * operator closed it: then it starts a new one. The incident id, 0 on
 * error. */
static long long reopen(sm_ingest *in, struct result *r, const char *source, const sm_alert *a,
                        long long own, const char *now, const char *trace_id, sm_error *err)
{
	long long open = find_open(in, source, a, err);
	sqlite3_stmt *st;

	if (open < 0)
		return 0;
	if (open > 0)
		own = 0;
	if (own > 0) {
		st = use(in, INCIDENT_OF);
		sqlite3_bind_int64(st, 1, own);
		/* A closed incident stays closed: the alert starts anew. */
		if (sqlite3_step(st) != SQLITE_ROW ||
		    strcmp((const char *)sqlite3_column_text(st, 0), "closed") == 0)
			own = 0;
	}
	if (own == 0)
		return attach(in, r, source, a, now, trace_id, err);
	st = use(in, REOPEN_INCIDENT);
	sqlite3_bind_int64(st, 1, own);
	bind_text(st, 2, now);
	/* A new episode: the incident's old severity is not carried over. */
	bind_text(st, 3,
	          sm_severity_name(
	              sm_ingest_incident_severity(SM_INCIDENT_REOPEN, a->severity, a->severity)));
	if (sqlite3_step(st) != SQLITE_DONE) {
		failed(in, err);
		return 0;
	}
	note_change(touch(r, own), INC_REOPENED);
	return own;
}

/* What the store holds for an alert after the write. */
struct stored {
	const char *status, *severity, *started, *ended;
	bool flapping;
	const char *flapping_change; /* "started", "stopped" or NULL */
};

/* Append a string literal's bytes. */
#define RAW(t, literal) sm_text_raw((t), literal, sizeof literal - 1)

/* The alert as the envelope shows it after the write, printed straight
 * into the envelope's text: labels and annotations as they were printed for
 * the store, not printed again. */
static void alert_text(sm_text *t, const sm_alert *a, long long id, const char *change,
                       const struct stored *now, const char *labels, const char *annotations)
{
	RAW(t, "{\"id\":");
	sm_text_int(t, id);
	RAW(t, ",\"fingerprint\":");
	sm_text_str(t, a->fingerprint);
	RAW(t, ",\"name\":");
	sm_text_str(t, a->name);
	RAW(t, ",\"status\":");
	sm_text_str(t, now->status);
	RAW(t, ",\"severity\":");
	sm_text_str(t, now->severity);
	RAW(t, ",\"description\":");
	sm_text_str(t, a->description);
	RAW(t, ",\"labels\":");
	sm_text_raw(t, labels, strlen(labels));
	RAW(t, ",\"annotations\":");
	sm_text_raw(t, annotations, strlen(annotations));
	RAW(t, ",\"started_at\":");
	sm_text_str(t, now->started);
	RAW(t, ",\"ended_at\":");
	sm_text_str(t, now->ended);
	RAW(t, ",\"change\":");
	sm_text_str(t, change);
	if (now->flapping)
		RAW(t, ",\"flapping\":true");
	else
		RAW(t, ",\"flapping\":false");
	if (now->flapping_change) {
		RAW(t, ",\"flapping_change\":");
		sm_text_str(t, now->flapping_change);
	}
	RAW(t, "}");
}

static int apply_one(sm_ingest *in, struct result *r, const char *source, const sm_alert *a,
                     bool create_resolved, const char *now, const char *trace_id, sm_error *err)
{
	const char *status = a->resolved ? "resolved" : "firing",
	           *sev = sm_severity_name(a->severity);
	char started[SM_RFC3339_LEN], ended[SM_RFC3339_LEN];
	/* Printed by sm_batch_print, on a batch's reading thread or just before. */
	const char *labels = a->labels_text, *annotations = a->annotations_text, *raw = a->raw_text;
	char *old_status = NULL, *old_sev = NULL, *old_started = NULL, *old_ended = NULL;
	struct stored out;
	const char *change = NULL;
	sm_change_in prior = {.resolved = a->resolved, .create_resolved = create_resolved};
	sm_change_out decision;
	long long id = 0, incident = 0;
	sqlite3_stmt *st;
	int rc = -1;
	char states[SM_FLAP_WINDOW + 1] = "", states_before[SM_FLAP_WINDOW + 1];
	bool was_flapping = false, flapping;
	long long flap_at = 0;

	time_text(started, &a->started_at, a->started_set, now);
	time_text(ended, &a->ended_at, a->ended_set, now); /* a resolve without a time: now */
	st = use(in, FIND_ALERT);
	bind_text(st, 1, source);
	bind_text(st, 2, a->fingerprint);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *desc = (const char *)sqlite3_column_text(st, 4);
		const char *old_labels = (const char *)sqlite3_column_text(st, 5);
		const char *old_ann = (const char *)sqlite3_column_text(st, 6);
		bool same = desc && strcmp(desc, a->description) == 0 && old_labels &&
		            strcmp(old_labels, labels) == 0 && old_ann &&
		            strcmp(old_ann, annotations) == 0;
		id = sqlite3_column_int64(st, 0);
		old_status = strdup((const char *)sqlite3_column_text(st, 1));
		old_sev = strdup((const char *)sqlite3_column_text(st, 2));
		incident = sqlite3_column_int64(st, 3);
		old_started = strdup((const char *)sqlite3_column_text(st, 7));
		if (sqlite3_column_type(st, 8) != SQLITE_NULL)
			old_ended = strdup((const char *)sqlite3_column_text(st, 8));
		if (sqlite3_column_type(st, 9) == SQLITE_TEXT)
			snprintf(states, sizeof states, "%s",
			         (const char *)sqlite3_column_text(st, 9));
		was_flapping = sqlite3_column_int(st, 10) != 0;
		flap_at = sqlite3_column_int64(st, 11);
		if (!old_status || !old_sev || !old_started) {
			sm_error_set(err, "out of memory");
			goto done;
		}
		prior.known = true;
		prior.was_firing = strcmp(old_status, "firing") == 0;
		prior.same = same && strcmp(old_sev, sev) == 0;
		prior.has_incident = incident > 0;
	}
	decision = sm_ingest_decide(&prior);
	if (decision.change == SM_CHANGE_SKIPPED) {
		rc = 0; /* nothing to resolve, nothing stored */
		goto done;
	}
	change = sm_change_name(decision.change);
	/* Every result counts, a repeat too: an alert that keeps firing (or
	 * stays resolved) is what brings the percentage down. */
	memcpy(states_before, states, sizeof states);
	if (in->flap.quiet_s > 0 && flap_at > 0 && (double)(in->now_s - flap_at) > in->flap.quiet_s)
		states[0] = '\0';
	sm_ingest_flap_push(states, a->resolved ? SM_FLAP_RESOLVED : SM_FLAP_FIRING);
	flapping = sm_ingest_flapping(was_flapping, sm_ingest_flap_percent(states), in->flap.start,
	                              in->flap.stop);
	if (decision.keep_severity)
		sev = old_sev;
	switch (decision.incident) {
	case SM_INCIDENT_KEEP:
		if (decision.incident_updated)
			note_change(touch(r, incident), INC_UPDATED);
		if (escalate(in, r, incident, a->severity, now, err) < 0)
			goto done;
		break;
	case SM_INCIDENT_ATTACH:
		if ((incident = attach(in, r, source, a, now, trace_id, err)) == 0)
			goto done;
		break;
	case SM_INCIDENT_REOPEN:
		if ((incident = reopen(in, r, source, a, incident, now, trace_id, err)) == 0)
			goto done;
		break;
	default:
		break;
	}
	if (decision.write && prior.known) {
		st = use(in, UPDATE_ALERT);
		sqlite3_bind_int64(st, 1, id);
		bind_text(st, 2, a->name);
		bind_text(st, 3, status);
		bind_text(st, 4, sev);
		bind_text(st, 5, a->description);
		bind_text(st, 6, labels);
		bind_text(st, 7, annotations);
		bind_text(st, 8, raw);
		bind_text(st, 9, a->resolved ? ended : NULL);
		bind_id(st, 10, incident);
		bind_text(st, 11, now);
		bind_text(st, 12, states);
		sqlite3_bind_int(st, 13, flapping);
		sqlite3_bind_int64(st, 14, in->now_s);
		if (sqlite3_step(st) != SQLITE_DONE) {
			failed(in, err);
			goto done;
		}
	} else if (decision.write) {
		st = use(in, INSERT_ALERT);
		bind_text(st, 1, source);
		bind_text(st, 2, a->fingerprint);
		bind_text(st, 3, a->name);
		bind_text(st, 4, status);
		bind_text(st, 5, sev);
		bind_text(st, 6, a->description);
		bind_text(st, 7, labels);
		bind_text(st, 8, annotations);
		bind_text(st, 9, raw);
		bind_text(st, 10, started);
		bind_text(st, 11, a->resolved ? ended : NULL);
		bind_id(st, 12, incident);
		bind_text(st, 13, now);
		bind_text(st, 14, states);
		sqlite3_bind_int(st, 15, flapping);
		sqlite3_bind_int64(st, 16, in->now_s);
		if (sqlite3_step(st) != SQLITE_DONE) {
			failed(in, err);
			goto done;
		}
		id = sqlite3_last_insert_rowid(sm_store_db(in->store));
	}
	if (decision.write &&
	    history(in, id, change, old_status, status, old_sev, sev, now, trace_id, err) < 0)
		goto done;
	/* A steady full window stays as it is: a steady repeat writes nothing. */
	if (prior.known && !decision.write && strcmp(states, states_before) != 0) {
		st = use(in, FLAP);
		sqlite3_bind_int64(st, 1, id);
		bind_text(st, 2, states);
		sqlite3_bind_int(st, 3, flapping);
		sqlite3_bind_int64(st, 4, in->now_s);
		if (sqlite3_step(st) != SQLITE_DONE) {
			failed(in, err);
			goto done;
		}
	}
	if (decision.incident == SM_INCIDENT_RESOLVE &&
	    maybe_resolve(in, r, incident, now, err) < 0)
		goto done;
	if (prior.known && !decision.write)
		out = (struct stored){old_status, old_sev, old_started, old_ended, flapping, NULL};
	else
		out = (struct stored){
		    status,   sev, old_started ? old_started : started, a->resolved ? ended : NULL,
		    flapping, NULL};
	if (flapping != was_flapping) {
		out.flapping_change = flapping ? "started" : "stopped";
		if (history(in, id, flapping ? "flapping-started" : "flapping-stopped", out.status,
		            out.status, out.severity, out.severity, now, trace_id, err) < 0)
			goto done;
	}
	{
		struct touched *t = touch(r, incident);
		if (!t) {
			sm_error_set(err, "out of memory");
			goto done;
		}
		if (t->nalerts++ > 0)
			RAW(&t->alerts, ",");
		alert_text(&t->alerts, a, id, change, &out, labels, annotations);
	}
	rc = 0;
done:
	free(old_status);
	free(old_sev);
	free(old_started);
	free(old_ended);
	return rc;
}

static void row_text(sm_text *t, sqlite3_stmt *st);

/* The incident's row as an envelope's "incident" object, with what this
 * batch did to it. */
static void incident_text(sm_ingest *in, sm_text *t, const struct touched *tt)
{
	sqlite3_stmt *st = use(in, INCIDENT_ROW);

	sqlite3_bind_int64(st, 1, tt->incident);
	if (sqlite3_step(st) != SQLITE_ROW) {
		RAW(t, "null");
		return;
	}
	RAW(t, "{");
	row_text(t, st);
	RAW(t, ",\"change\":");
	sm_text_str(t, incident_changes[tt->change]);
	if (tt->previous_severity) {
		RAW(t, ",\"previous_severity\":");
		sm_text_str(t, tt->previous_severity);
	}
	RAW(t, "}");
}

/* The envelopes are printed as text, not built as trees and then printed:
 * that was a fifth of a batch ingest. The head and the stage record come
 * from sm_envelope_text_head and _stage, the writer sm_envelope_new and
 * sm_envelope_add_stage use too. */
int sm_ingest_apply_text(sm_ingest *in, sm_alert_batch *batch, const char *trace_id, sm_text *out,
                         sm_error *err)
{
	char now[SM_RFC3339_LEN], trace[SM_TRACE_LEN + 1] = "";
	struct result r = {0};
	struct timespec t0, t1;
	size_t mark = out->len;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	sm_rfc3339_now(now, true);
	{
		struct timespec wall;
		clock_gettime(CLOCK_REALTIME, &wall);
		in->now_s = (long long)wall.tv_sec;
	}
	if (sm_batch_print(batch) < 0) { /* a no-op when the caller did it */
		sm_error_set(err, "out of memory");
		rc = -1;
	}
	for (size_t i = 0; i < batch->count && rc == 0; i++)
		rc = apply_one(in, &r, batch->source, &batch->items[i], !batch->no_create_resolved,
		               now, trace_id, err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* Callers pass a valid trace id; else one new id for all envelopes. */
	if (sm_trace_valid(trace_id))
		memcpy(trace, trace_id, sizeof trace);
	else if (sm_trace_new(trace) < 0)
		trace[0] = '\0';
	for (size_t i = 0; i < r.count; i++) {
		struct touched *t = &r.items[i];
		if (rc == 0 && t->nalerts > 0) {
			sm_envelope_text_head(out, batch->source, trace);
			RAW(out, ",\"incident\":");
			if (t->incident > 0)
				incident_text(in, out, t);
			else
				RAW(out, "null");
			RAW(out, ",\"alerts\":[");
			sm_text_raw(out, t->alerts.p, t->alerts.len);
			RAW(out, "]");
			if (batch->agent) {
				RAW(out, ",\"agent\":");
				if (sm_json_dump_append(out, batch->agent, '\0') < 0)
					out->failed = 1;
			}
			RAW(out, ",\"stages\":[");
			sm_envelope_text_stage(out, "ingest", "ok", now, sm_elapsed_ms(&t0, &t1),
			                       NULL);
			RAW(out, "]}\n");
			if (t->alerts.failed)
				out->failed = 1;
		}
		free(t->alerts.p);
		free(t->previous_severity);
	}
	free(r.items);
	/* A statement left on a row keeps its read snapshot open; on a
	 * connection that stays open between commits (a batch, FastCGI) the
	 * next BEGIN IMMEDIATE would then fail at once with SQLITE_BUSY when
	 * another process has written in between. */
	for (int i = 0; i < NSTMT; i++)
		sqlite3_reset(in->st[i]);
	if (rc == 0 && out->failed) {
		sm_error_set(err, "out of memory");
		rc = -1;
	}
	if (rc < 0) {
		out->failed = 0;
		out->len = mark;
		if (out->p)
			out->p[mark] = '\0';
	}
	return rc;
}

int sm_ingest_apply(sm_ingest *in, sm_alert_batch *batch, const char *trace_id, json_t *envelopes,
                    sm_error *err)
{
	sm_text text = {0};
	int rc = sm_ingest_apply_text(in, batch, trace_id, &text, err);

	for (size_t at = 0; rc == 0 && at < text.len;) {
		const char *end = memchr(text.p + at, '\n', text.len - at);
		json_t *env = sm_json_parse(text.p + at, (size_t)(end - (text.p + at)), 0, NULL);
		if (!env) {
			sm_error_set(err, "out of memory");
			rc = -1;
			break;
		}
		json_array_append_new(envelopes, env);
		at = (size_t)(end - text.p) + 1;
	}
	free(text.p);
	return rc;
}

json_t *sm_ingest_dry_run(const sm_alert_batch *batch, const char *driver, const char *trace_id)
{
	json_t *env = sm_envelope_new(batch->source, trace_id);
	char now[SM_RFC3339_LEN];

	sm_rfc3339_now(now, true);
	json_object_set_new_nocheck(env, "driver", json_string(driver));
	json_object_set_new_nocheck(env, "incident", json_null());
	json_object_set_new_nocheck(env, "alerts", sm_batch_json(batch));
	if (batch->agent)
		json_object_set(env, "agent", batch->agent);
	sm_envelope_add_stage(env, "ingest", "ok", now, 0, NULL);
	return env;
}

/* --- incidents and listings --- */

/* A row's members, "name":value,… (no braces): columns named *_json hold
 * JSON text and print as that JSON under the name without the suffix (null
 * when it does not parse). The one printer of rows, for envelopes and
 * listings alike. */
static void row_text(sm_text *t, sqlite3_stmt *st)
{
	for (int i = 0; i < sqlite3_column_count(st); i++) {
		/* The type first: reading a value as text may change it. */
		int type = sqlite3_column_type(st, i);
		const char *name = sqlite3_column_name(st, i);
		size_t n = strlen(name);

		if (i)
			RAW(t, ",");
		if (n > 5 && strcmp(name + n - 5, "_json") == 0) {
			const char *text = (const char *)sqlite3_column_text(st, i);
			json_t *v =
			    text ? sm_json_parse(text, strlen(text), JSON_DECODE_ANY, NULL) : NULL;
			RAW(t, "\"");
			sm_text_raw(t, name, n - 5); /* our own column names: plain ASCII */
			RAW(t, "\":");
			if (!v || sm_json_dump_append(t, v, '\0') < 0)
				RAW(t, "null");
			json_decref(v);
			continue;
		}
		sm_text_str(t, name);
		RAW(t, ":");
		switch (type) {
		case SQLITE_INTEGER:
			sm_text_int(t, sqlite3_column_int64(st, i));
			break;
		case SQLITE_FLOAT:
			sm_text_real(t, sqlite3_column_double(st, i));
			break;
		case SQLITE_NULL:
			RAW(t, "null");
			break;
		default:
			sm_text_str(t, (const char *)sqlite3_column_text(st, i));
		}
	}
}

/* A row as an object (see row_text); NULL when out of memory. */
static json_t *row_json(sqlite3_stmt *st)
{
	sm_text t = {0};
	json_t *o;

	RAW(&t, "{");
	row_text(&t, st);
	RAW(&t, "}");
	o = t.failed ? NULL : sm_json_parse(t.p, t.len, 0, NULL);
	free(t.p);
	return o;
}

static json_t *incident_by_id(sm_store *store, long long id)
{
	char q[256];
	sqlite3_stmt *st;
	json_t *o = NULL;

	snprintf(q, sizeof q, "%s WHERE id = ?1", INCIDENT_COLUMNS);
	st = sm_store_prepare(store, q, NULL);
	if (!st)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		o = row_json(st);
	sqlite3_finalize(st);
	return o;
}

json_t *sm_incident_json(sm_store *store, long long id)
{
	return incident_by_id(store, id);
}

int sm_incident_set_status(sm_store *store, long long id, const char *action, sm_error *err)
{
	static const struct {
		const char *action, *sql;
	} actions[] = {
	    {"ack", "UPDATE incidents SET status = 'acknowledged', acknowledged_at = ?2,"
	            " updated_at = ?2 WHERE id = ?1 AND status = 'open'"},
	    {"resolve", "UPDATE incidents SET status = 'resolved', resolved_at = ?2,"
	                " updated_at = ?2 WHERE id = ?1"
	                " AND status != 'resolved' AND status != 'closed'"},
	    {"close", "UPDATE incidents SET status = 'closed', closed_at = ?2, updated_at = ?2"
	              " WHERE id = ?1 AND status != 'closed'"},
	};
	char now[SM_RFC3339_LEN];
	sqlite3_stmt *st = NULL, *exists;
	int rc = -1, changed;

	for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
		if (strcmp(actions[i].action, action) == 0)
			st = sm_store_prepare(store, actions[i].sql, err);
	if (!st) {
		if (err && !err->msg[0])
			sm_error_set(err, "unknown incident action '%s'", action);
		return -1;
	}
	/* A write transaction from the start: a read that is still open when
	 * the UPDATE asks for the write lock cannot wait for another writer
	 * (SQLite answers "database is locked" at once, busy timeout or not). */
	if (sm_store_begin(store, err) < 0) {
		sqlite3_finalize(st);
		return -1;
	}
	exists = sm_store_prepare(store, "SELECT 1 FROM incidents WHERE id = ?1", err);
	if (!exists)
		goto done;
	sqlite3_bind_int64(exists, 1, id);
	if (sqlite3_step(exists) != SQLITE_ROW) {
		sm_error_set(err, "no incident %lld", id);
		goto done;
	}
	sqlite3_reset(exists);
	sm_rfc3339_now(now, true);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sm_error_set(err, "%s: %s", sm_store_path(store),
		             sqlite3_errmsg(sm_store_db(store)));
		goto done;
	}
	changed = sqlite3_changes(sm_store_db(store));
	sqlite3_reset(st);
	if (sm_store_commit(store, err) == 0)
		rc = changed > 0 ? 1 : 0;
done:
	sqlite3_finalize(exists);
	sqlite3_finalize(st);
	if (rc < 0)
		sm_store_rollback(store);
	return rc;
}

json_t *sm_ingest_row_json(sqlite3_stmt *st)
{
	return row_json(st);
}

const char *sm_ingest_incident_columns(void)
{
	return INCIDENT_COLUMNS;
}
