/* auth.h - whether the webhook handler may take a request: its API key,
 * its driver's signature, and the memory of timestamped signatures that
 * refuses a second delivery. The request is seen through its variables,
 * named as CGI names them (HTTP_X_API_KEY, HTTP_X_SM_TIMESTAMP, …), so
 * the CGI and FastCGI front ends share every rule (sm-ingest(1), "API
 * keys" and "Signatures").
 */
#ifndef SM_AUTH_H
#define SM_AUTH_H

#include <stddef.h>
#include "sm/alert.h"
#include "sm/hmac.h"
#include "sm/store.h"

/* How far X-SM-Timestamp may be from the receiving host's clock, seconds. */
#define SM_AUTH_WINDOW 300

typedef struct sm_auth_request {
	/* A request variable, NULL when absent. */
	const char *(*param)(void *src, const char *name);
	void *src;
} sm_auth_request;

/* A timestamped signature that passed, to be remembered with the request. */
typedef struct sm_stamp {
	char hmac[SM_SHA256_HEX]; /* of "<timestamp>.<body>"; empty when none */
	long long until;          /* when the timestamp leaves the window */
} sm_stamp;

/* A request header by its HTTP name ("X-API-Key"), NULL when absent. */
const char *sm_auth_header(const sm_auth_request *req, const char *name);

/* When SM_API_KEYS_FILE is set, the key in X-API-Key or Authorization:
 * Bearer must be one of the file's (sm_config_api_key_check). 1 ok, 0
 * refused with *why, -1 when the file cannot be read (logged). */
int sm_auth_api_key(const sm_auth_request *req, const char **why);

/* The signature rules for a body parsed by driver d at unix time now: with
 * WEBHOOK_SECRET_<DRIVER> set, X-SM-Timestamp and X-SM-Signature over
 * "<timestamp>.<body>" within SM_AUTH_WINDOW, or the driver's own header
 * over the body; a cluster push must be timestamped (and the hub must
 * have a secret) unless CLUSTER_ACCEPT_UNSTAMPED=1. A timestamped
 * signature that passes is left in *seen. 1 ok, 0 refused with *why, -1
 * when a digest cannot be computed. */
int sm_auth_signature(const sm_auth_request *req, const sm_driver *d, const char *body, size_t len,
                      long long now, sm_stamp *seen, const char **why);

/* Remember *seen in the caller's transaction and forget the signatures
 * whose window closed before now: 1 new (or nothing to remember), 0 seen
 * before (a replay), -1 with err. */
int sm_auth_remember(sm_store *store, const sm_stamp *seen, long long now, sm_error *err);

#endif
