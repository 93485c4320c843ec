/* push.h - the agent side of the hub: the cluster payload, its signatures,
 * and the spool of pushes the hub has not taken yet.
 *
 * The payload is the seed's: {"source":"cluster","instance_id","hostname",
 * "version":"1.0","alerts":[…]} with one alert per check result
 * (fingerprint "<checker>-<instance_id>", so two agents sharing a host name
 * never collide). Pushes that could not be delivered wait in the hub_spool
 * table of the agent's store: "pending" ones go first, oldest first, on the
 * next run; "refused" ones (the hub said no) wait until --retry-refused.
 */
#ifndef SM_PUSH_H
#define SM_PUSH_H

#include <stdbool.h>
#include <jansson.h>
#include "sm/hmac.h"
#include "sm/store.h"

/* The payload for an array of check objects (sm-envelope(5)). */
json_t *sm_push_payload(json_t *checks, const char *instance_id, const char *hostname);

/* The signature headers for body, sent at unix time now: X-Cluster-Signature
 * (hex HMAC of the body, the seed's), X-SM-Timestamp and X-SM-Signature
 * (HMAC of "<now>.<body>", replay-proof). Fills headers[0..2] (each up to
 * 128 bytes); 0, or -1 with err. */
int sm_push_sign(const char *secret, const char *body, long long now, char headers[3][128],
                 sm_error *err);

typedef struct sm_spooled {
	long long id;
	char *body;
	char state[16];
	int attempts;
} sm_spooled;

/* Keep body for later (state "pending" or "refused"); at most max entries:
 * the oldest go first, with a warning. */
int sm_spool_add(sm_store *store, const char *body, const char *state, long long http_status,
                 const char *error, long long max, sm_error *err);
/* The oldest pending entry: 1 with *out filled, 0 none, -1 error. */
int sm_spool_next(sm_store *store, long long after, sm_spooled *out, sm_error *err);
void sm_spooled_clear(sm_spooled *s);
int sm_spool_delete(sm_store *store, long long id, sm_error *err);
/* Note a failed attempt; refused moves the entry aside. */
int sm_spool_failed(sm_store *store, long long id, bool refused, long long http_status,
                    const char *error, sm_error *err);
/* Move every refused entry back to pending; the number moved. */
long long sm_spool_retry_refused(sm_store *store, sm_error *err);
/* Every entry, oldest first, without bodies: {id,state,attempts,http_status,
 * last_error,created_at,updated_at,bytes}. */
int sm_spool_list(sm_store *store, json_t **rows, sm_error *err);

#endif
