/* pipeline_status.h - the state of everything at a glance, from the store
 * alone (sm-pipeline status): per host the newest result of each checker,
 * the open incidents, the queue depth and the recent pipeline runs, with
 * an overall status that orders problems like a monitoring plugin.
 *
 * Nothing is run and nothing is written: the store may be opened read-only.
 * Every query is answered from an index, so the time does not grow with the
 * number of stored check results.
 */
#ifndef SM_PIPELINE_STATUS_H
#define SM_PIPELINE_STATUS_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <jansson.h>
#include "sm/check.h" /* enum sm_status */
#include "sm/store.h"

/* How many open incidents and recent runs the summary lists. */
#define SM_STATUS_INCIDENTS 10
#define SM_STATUS_RUNS      5
/* How many active silences and open maintenance windows it lists. */
#define SM_STATUS_SILENCES 10

/* Each (hostname, checker)'s newest check_runs row, ordered by checker
 * then hostname, as {"id","checker","hostname","status","message",
 * "executed_at"} (executed_at as stored). One index seek per pair. */
int sm_pipeline_status_latest(sm_store *store, json_t **rows, sm_error *err);

/* The summary at time now as one JSON object (times RFC 3339 UTC, ages in
 * seconds; sm-pipeline(1) lists the members). *level is the worst open
 * problem, as a monitoring plugin's status: SM_WARNING for a warning or
 * unknown check result, a warning incident, failed queue items or a run
 * failed in the last day; SM_CRITICAL for a critical check result or
 * incident; SM_OK for none. On an error, SM_UNKNOWN. */
int sm_pipeline_status(sm_store *store, time_t now, json_t **out, enum sm_status *level,
                       sm_error *err);

/* The summary for a person: local time, "5 min ago", colour when asked,
 * messages cut to width columns (0: no limit). */
void sm_pipeline_status_print(const json_t *status, FILE *out, bool color, int width);

/* sm_term_age: "5 s ago", "12 min ago", "3 h ago", "9 d ago". */
void sm_pipeline_status_age(char *buf, size_t size, long long seconds);

#endif
