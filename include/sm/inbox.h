/* inbox.h - the queue between the webhook handler and `sm-pipeline work`.
 *
 * sm-ingest --queue and the CGI handler put each envelope in the inbox table
 * in the same transaction as the alerts it describes, so an acknowledged
 * webhook is never lost. Workers claim items one at a time; a claim is a
 * single UPDATE … RETURNING under SQLite's write lock, so several workers
 * never get the same item. A claim older than the stale limit (a worker
 * that died) may be taken again.
 */
#ifndef SM_INBOX_H
#define SM_INBOX_H

#include <stdbool.h>
#include <jansson.h>
#include "sm/store.h"

/* Queue env (inside the caller's transaction). */
int sm_inbox_put(sm_store *store, json_t *env, sm_error *err);
/* The same for an envelope already printed (len bytes of compact JSON) with
 * its trace id. */
int sm_inbox_put_text(sm_store *store, const char *text, size_t len, const char *trace_id,
                      sm_error *err);
/* Claim the oldest pending item: 1 with *id and *env set (the caller owns
 * env), 0 when there is none, -1 with err. */
int sm_inbox_claim(sm_store *store, const char *worker, double stale_s, long long *id, json_t **env,
                   sm_error *err);
/* Mark a claimed item done, or failed with a message (kept for a look). */
int sm_inbox_finish(sm_store *store, long long id, bool ok, const char *error, sm_error *err);
/* How many items wait (pending or claimed). */
long long sm_inbox_depth(sm_store *store);

#endif
