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
#include "sm/store.h"

/* How many open incidents and recent runs the summary lists. */
#define SM_STATUS_INCIDENTS 10
#define SM_STATUS_RUNS      5

/* The overall status: the worst open problem. */
enum sm_status_level {
	SM_STATUS_OK = 0,       /* nothing open */
	SM_STATUS_WARNING = 1,  /* a warning or unknown check, a warning incident,
	                         * failed queue items, a run failed in the last day */
	SM_STATUS_CRITICAL = 2, /* a critical check or incident */
	SM_STATUS_UNKNOWN = 3,  /* the store cannot be read */
};

/* Each (hostname, checker)'s newest check_runs row, ordered by checker
 * then hostname, as {"id","checker","hostname","status","message",
 * "executed_at"} (executed_at as stored). One index seek per pair. */
int sm_pipeline_status_latest(sm_store *store, json_t **rows, sm_error *err);

/* The summary at time now as one JSON object (times RFC 3339 UTC, ages in
 * seconds; sm-pipeline(1) lists the members); *level is its status. */
int sm_pipeline_status(sm_store *store, time_t now, json_t **out, enum sm_status_level *level,
                       sm_error *err);

/* The summary for a person: local time, "5 min ago", colour when asked,
 * messages cut to width columns (0: no limit). */
void sm_pipeline_status_print(const json_t *status, FILE *out, bool color, int width);

/* "OK", "WARNING", "CRITICAL", "UNKNOWN". */
const char *sm_pipeline_status_name(enum sm_status_level level);
/* "5 s ago", "12 min ago", "3 h ago", "9 d ago" (hours up to two days). */
void sm_pipeline_status_age(char *buf, size_t size, long long seconds);

#endif
