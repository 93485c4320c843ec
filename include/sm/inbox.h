/* inbox.h - the queue between the webhook handler and `sm-pipeline work`.
 *
 * sm-ingest --queue and the CGI handler put each envelope in the inbox table
 * in the same transaction as the alerts it describes, so an acknowledged
 * webhook is never lost, and poke the wake-up file after the commit.
 * A worker claims the items due, up to a few at once, each by a single
 * UPDATE … RETURNING under SQLite's write lock, so several workers never
 * get the same item. A
 * claim older than the stale limit (a worker that died) may be taken again;
 * a worker alive keeps its claim fresh with heartbeats.
 *
 * Item states: pending (waiting, perhaps until next_attempt_at), claimed,
 * done (with the run that handled it), failed (a dead letter, kept with
 * its error until `sm-pipeline queue retry`).
 *
 * The wake-up file is "<store>-wake" beside the store. A worker creates it
 * and watches it with inotify; a writer touches it (utimensat, no data)
 * after committing queued items, so every worker waiting learns of new
 * items at once, however many there are. A writer ignores a missing file
 * (no worker has run) and any error: the workers' slow poll is the
 * fallback. The FastCGI responder hands its items to a waiting worker
 * instead, claimed in its own commit (handoff.h).
 */
#ifndef SM_INBOX_H
#define SM_INBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "sm/store.h"

/* A claimed item. The claim is (worker, claimed_at): finishing an item
 * whose claim was taken again by another worker changes nothing. */
typedef struct sm_inbox_item {
	long long id;
	json_t *envelope;    /* owned: sm_inbox_item_clear */
	long long attempts;  /* claims so far, this one included */
	char run_id[40];     /* the run of an earlier attempt, or the id the queuing
	                        request promised (sm_inbox_put_run); "" for none */
	char definition[80]; /* the definition named when queued or routed; "" for none */
	char worker[128];
	char claimed_at[40];
	bool handed; /* claimed by the handler that queued it and handed over its
	                socket (handoff.h): the worker wrote nothing for it yet */
} sm_inbox_item;

/* Queue env (inside the caller's transaction). */
int sm_inbox_put(sm_store *store, json_t *env, sm_error *err);
/* The same for an envelope already printed (len bytes of compact JSON) with
 * its trace id. */
int sm_inbox_put_text(sm_store *store, const char *text, size_t len, const char *trace_id,
                      sm_error *err);

/* The same, claimed already by claimed_by at claimed_at (its first
 * attempt), with the id its run is to have: an item a handler hands
 * straight to a waiting worker (handoff.h). */
int sm_inbox_put_claimed(sm_store *store, const char *text, size_t len, const char *trace_id,
                         const char *claimed_by, const char *claimed_at, const char *run_id,
                         sm_error *err);

/* Queue env with the id its run is to have and, when not NULL, the
 * definition it is to run instead of the routed one (an HTTP trigger
 * answers with the run id before a worker takes the item). */
int sm_inbox_put_run(sm_store *store, json_t *env, const char *run_id, const char *definition,
                     sm_error *err);

/* Claim the oldest pending item that is due, or a claim older than stale_s
 * seconds: 1 with *item set, 0 when there is none, -1 with err. An item
 * whose envelope is not JSON is failed on the spot and the next one tried. */
int sm_inbox_claim(sm_store *store, const char *worker, double stale_s, sm_inbox_item *item,
                   sm_error *err);
/* The same for up to max items in one statement, oldest first, into
 * items[0 .. *n - 1]: 1 when *n > 0, 0 when there is none, -1 with err. */
int sm_inbox_claim_many(sm_store *store, const char *worker, double stale_s, sm_inbox_item *items,
                        size_t max, size_t *n, sm_error *err);
void sm_inbox_item_clear(sm_inbox_item *item);
/* Record the run handling the claimed item (NULL: none) and the definition
 * it took. */
int sm_inbox_set_run(sm_store *store, const sm_inbox_item *item, const char *run_id,
                     const char *definition, sm_error *err);
/* A sign of life of the claim's worker: a claim is stale when neither it
 * nor its last heartbeat is younger than the stale limit. 1, 0 when the
 * claim is no longer this one, -1 with err. */
int sm_inbox_heartbeat(sm_store *store, const sm_inbox_item *item, sm_error *err);
/* End the claim: done (error NULL), failed with error (a dead letter), or
 * back to pending with error, due delay_s seconds from now (defer). 1 when
 * done, 0 when the claim was no longer this worker's, -1 with err. */
int sm_inbox_done(sm_store *store, const sm_inbox_item *item, sm_error *err);
int sm_inbox_fail(sm_store *store, const sm_inbox_item *item, const char *error, sm_error *err);
int sm_inbox_defer(sm_store *store, const sm_inbox_item *item, double delay_s, const char *error,
                   sm_error *err);

/* Give back a claim not started (its run not begun): pending again with
 * the attempt it counted undone. 1, 0 when the claim was no longer this
 * one, -1 with err. */
int sm_inbox_release(sm_store *store, const sm_inbox_item *item, sm_error *err);

/* Put failed items back as new: item id, or every failed one with id 0.
 * *count is how many. SM_EXIT_OK; SM_EXIT_USAGE for an unknown id,
 * SM_EXIT_FAILURE with err for an item that is not failed. */
int sm_inbox_retry(sm_store *store, long long id, long long *count, sm_error *err);
/* Items newest first, status NULL for all, limit 0 for no limit, as
 * {"id","status","trace_id","run_id","definition","attempts","error",
 * "created_at","claimed_by","claimed_at","next_attempt_at"}. */
int sm_inbox_list(sm_store *store, const char *status, long limit, json_t **out, sm_error *err);

/* How many items wait (pending or claimed). */
long long sm_inbox_depth(sm_store *store);
/* Seconds until the earliest pending item is due: 0 when one is due now,
 * -1 when none is pending. */
double sm_inbox_next_due(sm_store *store);

/* The wake-up file's path ("<store>-wake"). */
void sm_inbox_wake_path(const sm_store *store, char *buf, size_t size);
/* Tell waiting workers that items were committed (see above). */
void sm_inbox_wake(const sm_store *store);

#endif
