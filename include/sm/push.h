/* push.h - the agent side of the hub: the cluster payload, its signatures,
 * and the spool of pushes the hub has not taken yet.
 *
 * The payload is the seed's: {"source":"cluster","instance_id","hostname",
 * "version":"1.0","alerts":[…]} with one alert per check result
 * (fingerprint "<checker>-<instance_id>", so two agents sharing a host name
 * never collide). Pushes that could not be delivered wait in the hub_spool
 * table of the agent's store, one queue per hub: "pending" ones go first,
 * oldest first, on the next run; "refused" ones (the hub said no) wait until
 * --retry-refused.
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

/* The spool is one queue per hub, keyed by the hub's base URL. */

/* Keep body for hub (state "pending" or "refused", attempts as given); at
 * most max entries for that hub: its oldest go first, with a warning. */
int sm_spool_add(sm_store *store, const char *hub, const char *body, const char *state,
                 int attempts, long long http_status, const char *error, long long max,
                 sm_error *err);
/* hub's oldest pending entry after id after: 1 with *out filled, 0 none,
 * -1 error. */
int sm_spool_next(sm_store *store, const char *hub, long long after, sm_spooled *out,
                  sm_error *err);
void sm_spooled_clear(sm_spooled *s);
int sm_spool_delete(sm_store *store, long long id, sm_error *err);
/* Note a failed attempt; refused moves the entry aside. */
int sm_spool_failed(sm_store *store, long long id, bool refused, long long http_status,
                    const char *error, sm_error *err);
/* Move every refused entry back to pending; the number moved. */
long long sm_spool_retry_refused(sm_store *store, sm_error *err);
/* Every entry, by hub then oldest first, without bodies: {id,hub,state,
 * attempts,http_status,last_error,created_at,updated_at,bytes}. */
int sm_spool_list(sm_store *store, json_t **rows, sm_error *err);

/* Pushing to the hubs of HUB_URL: each hub has its own spool and its own
 * thread, so a hub that is down or slow neither loses nor holds up the
 * copies of the others. */

#define SM_PUSH_HUBS_MAX 8

enum sm_push_outcome {
	SM_PUSH_DELIVERED,
	SM_PUSH_TEMPORARY, /* not taken now (down, 5xx, 408, 429, timeout): kept pending */
	SM_PUSH_REFUSED,   /* the hub said no (another status): set aside as refused */
	SM_PUSH_BROKEN,    /* could not be signed or sent (TLS trust): kept pending */
	SM_PUSH_WAITING,   /* not tried: waits behind the spool of a hub that is down */
};

/* One HTTP exchange, for the caller's output line. */
typedef struct sm_push_attempt {
	const char *url; /* the push URL: free of credentials, query and fragment */
	const char *body;
	enum sm_push_outcome outcome;
	long status; /* HTTP status, 0 when no answer came */
	const char *why;
	double elapsed_ms;
} sm_push_attempt;

typedef struct sm_push_hub {
	char base[2048]; /* the HUB_URL entry without trailing slashes: its spool's key */
	char url[2100];  /* base + /alerts/webhook/cluster/ */
	/* What the last sm_push_run did for this hub: */
	enum sm_push_outcome outcome; /* of the new push; of the last one sent when none */
	long status;                  /* the HTTP status behind outcome */
	char why[512];                /* why the hub's run stopped, or outcome's reason */
	long refused_status;          /* a spooled push the hub refused: its status, else 0 */
	bool store_failed;            /* the spool could not be read or written: see err */
	sm_error err;
} sm_push_hub;

typedef struct sm_push_agent {
	sm_push_hub hubs[SM_PUSH_HUBS_MAX];
	size_t nhubs;
	const char *secret;         /* WEBHOOK_SECRET_CLUSTER, or NULL: unsigned */
	const char *api_key_header; /* "X-API-Key: ...", or NULL */
	long long spool_max;        /* entries per hub */
	double timeout_s;           /* one exchange */
	sm_store *store;
	/* Called for each exchange, from the hub's thread; may be NULL. */
	void (*report)(const sm_push_attempt *attempt, void *ctx);
	void *report_ctx;
} sm_push_agent;

/* The hubs of a HUB_URL list (comma-separated base URLs, as
 * sm_http_url_list takes them; at most SM_PUSH_HUBS_MAX); 0, or -1 with a
 * usage error naming the entry. */
int sm_push_hubs(sm_push_agent *ag, const char *list, sm_error *err);

/* Keep body (NULL: none) in every hub's spool, in one transaction, then
 * send each hub its pending entries, oldest first, the new one last, one
 * thread per hub; a hub's run stops at its first temporary failure. Fills
 * each hub's outcome. 0, or -1 with err when body could not be kept (then
 * nothing was sent). */
int sm_push_run(sm_push_agent *ag, const char *body, sm_error *err);

#endif
