/* pipeline_work.h - `sm-pipeline work`: draining the webhook queue
 * (inbox.h) through the routed definitions (pipeline_route.h).
 *
 * A worker claims one queued envelope at a time and runs the definition it
 * is routed to from the node after its ingest node (the webhook handler
 * ingested it already), recording the run as `sm-pipeline run` does. A run
 * that notified marks the item done. A run that failed for a reason that
 * may pass (exit 75: a channel down, a timeout) puts the item back, due
 * after ORCHESTRATION_QUEUE_RETRY_SECONDS × ORCHESTRATION_BACKOFF_FACTOR **
 * (attempt − 1), and the next attempt resumes that run; past
 * ORCHESTRATION_QUEUE_MAX_RETRIES, or a failure for good, the item is
 * failed with its error (a dead letter). The claim of a worker that died is
 * taken again after ORCHESTRATION_QUEUE_STALE_SECONDS (a live worker
 * renews its claim every third of that); the run it left behind is marked
 * failed and resumed.
 *
 * Waiting for work: inotify on the directory of the store, for the
 * wake-up file the writers touch after a commit (inbox.h), with a poll
 * every ORCHESTRATION_QUEUE_POLL_SECONDS as the fallback.
 */
#ifndef SM_PIPELINE_WORK_H
#define SM_PIPELINE_WORK_H

#include <stdbool.h>
#include "sm/err.h"

typedef struct sm_pipeline_work_opts {
	bool once;              /* drain what is pending (waiting out retries), then return */
	int workers;            /* processes; 1 (or 0) runs in the caller */
	const char *definition; /* run every item with this definition; NULL: routing */
	/* Also answer the webhook (sm-ingest's /alerts/webhook/) as a FastCGI
	 * responder on this address (sm_fcgi_listen's; "-": the listening
	 * socket on standard input), each worker running the items of the
	 * requests it answered itself (webhook.h, sm_webhook_host); NULL:
	 * not. */
	const char *webhook;
	volatile sig_atomic_t *stop; /* set (by a signal handler) to stop after the item in
	                                hand; never NULL */
} sm_pipeline_work_opts;

typedef struct sm_pipeline_work_counts {
	long done, failed, deferred;
} sm_pipeline_work_counts;

/* Settings from the environment (defaults in brackets):
 * ORCHESTRATION_QUEUE_STALE_SECONDS [900], ORCHESTRATION_QUEUE_MAX_RETRIES
 * [3], ORCHESTRATION_QUEUE_RETRY_SECONDS [30], ORCHESTRATION_QUEUE_POLL_SECONDS
 * [5], INBOX_DEPTH_WARN [500]. -1 with err when one is malformed. */
typedef struct sm_pipeline_work_settings {
	double stale_s, max_retries, retry_s, backoff, poll_s, depth_warn;
	bool notify_in_worker; /* SM_NOTIFY_IN_WORKER: the notify stage in the worker */
} sm_pipeline_work_settings;
int sm_pipeline_work_settings_get(sm_pipeline_work_settings *s, sm_error *err);

/* Ask the workers of this process to stop after the item in hand; safe in
 * a signal handler. A pool passes it on to its workers as SIGTERM. */
void sm_pipeline_work_stop(void);

/* Work the queue of the default store until sm_pipeline_work_stop (or, with
 * once, until nothing is pending). counts (may be NULL) adds up the items
 * handled in this process. SM_EXIT_OK, or the exit status with err set
 * (bad settings, a store that cannot be opened). */
int sm_pipeline_work(const sm_pipeline_work_opts *opts, sm_pipeline_work_counts *counts,
                     sm_error *err);

#endif
