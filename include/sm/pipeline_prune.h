/* pipeline_prune.h - retention (sm-pipeline prune): deleting what the
 * store no longer needs, by age, per kind of row.
 *
 * Kinds and what each removes once older than its retention:
 *   check_runs  check results, except the newest of each (hostname, checker)
 *   check_detail  check results thinned to the first of each hour per
 *               (hostname, checker): an OK result that made or resolved
 *               no alert goes unless it is its hour's first (or the
 *               newest of its pair)
 *   runs        finished pipeline runs (notified, checked or failed) and
 *               their stage_executions, unless a queue item still waiting or
 *               failed names the run
 *   history     alert_history of alerts whose incident is resolved or closed
 *               (and last changed before the cutoff)
 *   deliveries  notification_deliveries, except those of open incidents
 *   queue       done inbox items
 * Open incidents and pending, claimed or failed queue items are never
 * removed. Everything is removed in one transaction.
 */
#ifndef SM_PIPELINE_PRUNE_H
#define SM_PIPELINE_PRUNE_H

#include <stdbool.h>
#include <time.h>
#include <jansson.h>
#include "sm/store.h"

enum sm_pipeline_retention_kind {
	SM_RETAIN_CHECK_RUNS,
	SM_RETAIN_CHECK_DETAIL,
	SM_RETAIN_RUNS,
	SM_RETAIN_HISTORY,
	SM_RETAIN_DELIVERIES,
	SM_RETAIN_QUEUE,
	SM_RETAIN_KINDS,
};

/* How long each kind is kept, in seconds. */
typedef struct sm_pipeline_retention {
	long long seconds[SM_RETAIN_KINDS];
} sm_pipeline_retention;

/* The defaults, as SM_RETENTION would spell them. */
#define SM_RETENTION_DEFAULT                                                                       \
	"check_runs=30d,check_detail=7d,runs=30d,history=180d,deliveries=90d,queue=7d"

/* A duration as sm_config_duration reads it, in whole seconds. 0, or -1
 * when malformed. */
int sm_pipeline_prune_duration(const char *text, long long *seconds);

/* The defaults overridden by spec ("kind=DURATION,..."; NULL or empty: the
 * defaults alone). A malformed spec is a usage error and r is untouched. */
int sm_pipeline_prune_retention(const char *spec, sm_pipeline_retention *r, sm_error *err);

/* Remove (or with dry_run only count) what r lets go at time now, in one
 * transaction. *report: {"dry_run","removed":{table: count, ...},
 * "before":{kind: RFC 3339 cutoff, ...}}. Returns an exit status. */
int sm_pipeline_prune(sm_store *store, const sm_pipeline_retention *r, time_t now, bool dry_run,
                      json_t **report, sm_error *err);

/* Rebuild the store file so the space freed is given back (VACUUM, then
 * the write-ahead log emptied). Needs room for a copy of the store. */
int sm_pipeline_prune_vacuum(sm_store *store, sm_error *err);

/* The name of a kind in SM_RETENTION ("check_runs", "runs", ...). */
const char *sm_pipeline_prune_kind(enum sm_pipeline_retention_kind kind);

#endif
