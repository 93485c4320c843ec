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

/* A writer over an open store (statements prepared once, reused). */
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

/* Incident management: ack (open → acknowledged), resolve (open or
 * acknowledged → resolved), close (any → closed). Returns 1 when changed,
 * 0 when the incident was already in (or past) that state, -1 with err when
 * it does not exist or the store fails. */
int sm_incident_set_status(sm_store *store, long long id, const char *action, sm_error *err);
/* The incident as an envelope's "incident" object; NULL when absent. */
json_t *sm_incident_json(sm_store *store, long long id);

/* Rows for listings, newest first (limit 0 = all, status NULL = any). */
int sm_ingest_list(sm_store *store, const char *what, const char *status, long long limit,
                   json_t **rows, sm_error *err);

#endif
