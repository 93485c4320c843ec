/* ingest.h - the one alert write path: store rules and the envelopes they
 * produce (sm-ingest, its CGI mode, and sm-check --alerts).
 *
 * Rules (SPEC.md §2): alerts deduplicate by (source, fingerprint); an
 * incident groups the firing alerts with the same name and instance key
 * (first of labels instance_id, instance, hostname) — for cluster alerts
 * the key is (labels checker, instance_id); an incident's severity only
 * rises; when its last firing alert resolves it resolves; a firing alert
 * after resolution is "refired" and reopens its resolved incident (a closed
 * incident stays closed: the alert starts a new one); a resolved alert never
 * seen is stored resolved without an incident; a resolved repeat writes
 * nothing; every state change writes an alert_history row.
 */
#ifndef SM_INGEST_H
#define SM_INGEST_H

#include <jansson.h>
#include "sm/alert.h"
#include "sm/json.h"
#include "sm/store.h"

typedef struct sm_ingest sm_ingest;

/* A writer over an open store (each statement prepared on its first use,
 * then reused). */
sm_ingest *sm_ingest_new(sm_store *store, sm_error *err);
void sm_ingest_free(sm_ingest *ingest);

/* Apply one batch inside the caller's transaction (or savepoint), printing
 * its alerts' texts first where sm_batch_print has not. Appends to
 * envelopes (an array) one envelope per incident touched, in first-touched
 * order, plus one with "incident": null for alerts that touched none; each
 * carries trace_id, source and an ingest stages record. */
int sm_ingest_apply(sm_ingest *ingest, sm_alert_batch *batch, const char *trace_id,
                    json_t *envelopes, sm_error *err);
/* The same, appending the envelopes as NDJSON text to out (the batch's hot
 * path: no trees). On failure out is as it was. */
int sm_ingest_apply_text(sm_ingest *ingest, sm_alert_batch *batch, const char *trace_id,
                         sm_text *out, sm_error *err);

/* The envelope --dry-run prints for a batch: nothing stored, no ids. */
json_t *sm_ingest_dry_run(const sm_alert_batch *batch, const char *driver, const char *trace_id);

/* --- the change decision ------------------------------------------------
 * What the write path does with one reported alert, decided from what the
 * store holds for it, with no SQL: the store code acts on the answer. */

/* What the store holds and what was reported. */
typedef struct sm_change_in {
	bool known;           /* an alert with its (source, fingerprint) is stored */
	bool was_firing;      /* the stored one's status */
	bool same;            /* same description, labels, annotations and severity */
	bool has_incident;    /* the stored one belongs to an incident */
	bool resolved;        /* the report resolves it */
	bool create_resolved; /* a resolved alert never seen is stored (not skipped) */
} sm_change_in;

/* The alert's "change" in envelopes and history; SKIPPED stores nothing. */
enum sm_change {
	SM_CHANGE_SKIPPED,
	SM_CHANGE_CREATED,
	SM_CHANGE_UPDATED,
	SM_CHANGE_UNCHANGED,
	SM_CHANGE_RESOLVED,
	SM_CHANGE_REFIRED,
};

/* What happens to the alert's incident. */
enum sm_incident_step {
	SM_INCIDENT_NONE,    /* none is touched */
	SM_INCIDENT_KEEP,    /* the alert stays with its incident, whose severity may rise */
	SM_INCIDENT_ATTACH,  /* it joins the open incident of its key, or a new one */
	SM_INCIDENT_REOPEN,  /* its own incident reopens, unless an open one of its key
	                      * takes it or its own was closed: then as ATTACH */
	SM_INCIDENT_RESOLVE, /* its incident resolves when no alert of it fires any more */
};

typedef struct sm_change_out {
	enum sm_change change;
	enum sm_incident_step incident;
	bool write;            /* the alert row and a history row are written */
	bool keep_severity;    /* the stored severity stays: a problem ends as it was */
	bool incident_updated; /* the incident kept counts as updated in its envelope */
} sm_change_out;

sm_change_out sm_ingest_decide(const sm_change_in *in);
/* The name of a change, as envelopes and alert_history show it. */
const char *sm_change_name(enum sm_change change);
/* The incident's severity after an alert of severity alert takes the step:
 * KEEP and ATTACH raise it, never lower it; REOPEN starts a new episode at
 * the alert's severity; NONE and RESOLVE leave it. */
enum sm_severity sm_ingest_incident_severity(enum sm_incident_step step, enum sm_severity incident,
                                             enum sm_severity alert);

/* --- flapping -------------------------------------------------------------
 * An alert flaps when its state changes too often: over its last
 * SM_FLAP_WINDOW results (every firing or resolved state received for it,
 * repeats included), the percentage of results that changed the state,
 * each change weighted from 0.8 (the oldest) to 1.2 (the newest), so that
 * 100% means every result changed it. It starts flapping when that rises
 * above the start threshold and stops when it falls below the stop
 * threshold. Webhook results come when something happens, not on a
 * schedule: after a quiet spell without results the window starts over. */
#define SM_FLAP_WINDOW   21
#define SM_FLAP_START    20.0   /* percent */
#define SM_FLAP_STOP     5.0    /* percent */
#define SM_FLAP_QUIET_S  3600.0 /* seconds; 0: never start over */
#define SM_FLAP_FIRING   'F'
#define SM_FLAP_RESOLVED 'R'

typedef struct sm_flap_settings {
	double start, stop, quiet_s;
} sm_flap_settings;

/* states (oldest first): at most SM_FLAP_WINDOW of SM_FLAP_FIRING and
 * SM_FLAP_RESOLVED; fewer mean the older results changed nothing. */
double sm_ingest_flap_percent(const char *states);
/* Append state to states (room for SM_FLAP_WINDOW + 1 chars), dropping the
 * oldest when the window is full. */
void sm_ingest_flap_push(char *states, char state);
/* Whether an alert flaps after a result of percent, given whether it did
 * before: the two thresholds make a hysteresis. */
bool sm_ingest_flapping(bool was_flapping, double percent, double start, double stop);
/* The settings from $SM_FLAP_START, $SM_FLAP_STOP and $SM_FLAP_QUIET_S
 * (defaults above); -1 with err (a usage error) unless 0 <= stop <= start
 * <= 100 and quiet_s >= 0. */
int sm_ingest_flap_settings(sm_flap_settings *s, sm_error *err);

/* Incident management: ack (open → acknowledged), resolve (open or
 * acknowledged → resolved), close (any → closed). Returns 1 when changed,
 * 0 when the incident was already in (or past) that state, -1 with err when
 * it does not exist or the store fails. */
int sm_incident_set_status(sm_store *store, long long id, const char *action, sm_error *err);
/* The incident as an envelope's "incident" object; NULL when absent. */
json_t *sm_incident_json(sm_store *store, long long id);

/* The current row of st as an object, the one printer of rows for
 * envelopes and listings: columns named *_json hold JSON text and appear
 * parsed under the name without the suffix. NULL when out of memory. */
json_t *sm_ingest_row_json(sqlite3_stmt *st);
/* "SELECT <an incident's columns> FROM incidents", to add a WHERE to. */
const char *sm_ingest_incident_columns(void);

#endif
