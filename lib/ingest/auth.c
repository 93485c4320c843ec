/* auth.c - the webhook handler's request authentication (auth.h): API
 * keys, signatures, and the replay memory of timestamped signatures. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sm/auth.h"
#include "sm/config.h"
#include "sm/log.h"

/* As CGI passes it: "X-Grafana-Signature" → HTTP_X_GRAFANA_SIGNATURE. */
const char *sm_auth_header(const sm_auth_request *req, const char *name)
{
	char var[128] = "HTTP_";
	size_t n = strlen(var);

	for (const char *p = name; *p && n < sizeof var - 1; p++)
		var[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	var[n] = '\0';
	return req->param(req->src, var);
}

/* The API key check, when SM_API_KEYS_FILE is set (its form is
 * sm_config_api_key_check's); the key comes in X-API-Key or Authorization:
 * Bearer. 1 ok, 0 refused, -1 error. The file is read at each request, in
 * FastCGI mode too, so a key is revoked without a restart. */
int sm_auth_api_key(const sm_auth_request *req, const char **why)
{
	const char *file = sm_config_get("SM_API_KEYS_FILE", NULL), *key, *auth;
	sm_error err;
	int ok;

	if (!file)
		return 1;
	key = sm_auth_header(req, "X-API-Key");
	auth = req->param(req->src, "HTTP_AUTHORIZATION");
	if ((!key || !*key) && auth && strncmp(auth, "Bearer ", 7) == 0)
		key = auth + 7;
	if (!key || !*key) {
		*why = "API key required (X-API-Key or Authorization: Bearer)";
		return 0;
	}
	ok = sm_config_api_key_check(file, key, &err);
	if (ok < 0)
		sm_log(SM_LOG_ERROR, "SM_API_KEYS_FILE %s", err.msg);
	if (ok == 0)
		*why = "invalid API key";
	return ok;
}

/* A request that carries X-SM-Timestamp signs "<timestamp>.<body>" in
 * X-SM-Signature, so a captured request cannot be replayed once the
 * timestamp is more than SM_AUTH_WINDOW seconds away from the hub's clock
 * (and, within the window, the store remembers the signature). */
static int timestamped_ok(const sm_auth_request *req, const char *secret, const char *stamp,
                          const char *body, size_t len, long long now, sm_stamp *seen,
                          const char **why)
{
	char *end;
	long long ts, skew;
	int ok;

	errno = 0;
	ts = strtoll(stamp, &end, 10);
	if (errno || *end || end == stamp || ts <= 0) {
		*why = "bad X-SM-Timestamp";
		return 0;
	}
	skew = now - ts;
	if (skew < -SM_AUTH_WINDOW || skew > SM_AUTH_WINDOW) {
		*why = "X-SM-Timestamp outside the allowed window (replayed or clock skew)";
		return 0;
	}
	/* By length: the body may hold NUL bytes, all of them signed. */
	ok = sm_hmac_verify_stamped(secret, strlen(secret), ts, body, len,
	                            sm_auth_header(req, "X-SM-Signature"), NULL);
	if (ok == 1 &&
	    sm_hmac_stamped_hex(secret, strlen(secret), ts, body, len, seen->hmac, NULL) < 0)
		ok = -1;
	seen->until = ts + SM_AUTH_WINDOW;
	if (ok == 0)
		*why = "invalid signature";
	return ok;
}

/* When WEBHOOK_SECRET_<DRIVER> is set, the request must be signed: with
 * X-SM-Timestamp and X-SM-Signature over "<timestamp>.<body>", or with the
 * driver's own header over the body. A cluster push (an agent's) must be
 * timestamped, and so signed, unless CLUSTER_ACCEPT_UNSTAMPED=1 lets
 * agents of the original form in: the body signature alone, or none when
 * the hub has no secret. 1 ok, 0 refused (*why), -1 error. */
int sm_auth_signature(const sm_auth_request *req, const sm_driver *d, const char *body, size_t len,
                      long long now, sm_stamp *seen, const char **why)
{
	char var[96];
	const char *secret, *sig, *stamp = sm_auth_header(req, "X-SM-Timestamp");
	bool cluster = d->flags & SM_DRIVER_CLUSTER;
	bool unstamped = cluster && sm_config_bool("CLUSTER_ACCEPT_UNSTAMPED", 0) == 1;
	size_t n;
	int ok;

	n = (size_t)snprintf(var, sizeof var, "WEBHOOK_SECRET_%s", d->name);
	for (size_t i = 15; i < n && i < sizeof var; i++)
		var[i] = (char)toupper((unsigned char)var[i]);

	secret = sm_config_get(var, NULL);
	if (!secret && cluster && !unstamped) {
		sm_log(SM_LOG_ERROR,
		       "cluster push refused: %s is not set (or set "
		       "CLUSTER_ACCEPT_UNSTAMPED=1 to take unsigned pushes)",
		       var);
		*why = "signed pushes only (X-SM-Timestamp and X-SM-Signature)";
		return 0;
	}
	if (!secret)
		return 1;
	if (stamp && *stamp)
		return timestamped_ok(req, secret, stamp, body, len, now, seen, why);
	if (cluster && !unstamped) {
		*why =
		    "X-SM-Timestamp required (CLUSTER_ACCEPT_UNSTAMPED=1 takes the unstamped form)";
		return 0;
	}
	sig = sm_auth_header(req, d->signature_header);
	if ((!sig || !*sig) && d->signature_header_alt)
		sig = sm_auth_header(req, d->signature_header_alt);
	ok = sm_hmac_verify(secret, strlen(secret), body, len, sig, NULL);
	if (ok == 0)
		*why = "invalid signature";
	return ok;
}

/* Remember a timestamped signature in the request's transaction, and
 * forget those whose window has passed: 1 new, 0 seen before (a replay),
 * -1 with err. */
int sm_auth_remember(sm_store *store, const sm_stamp *seen, long long now, sm_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (!seen->hmac[0])
		return 1;
	st = sm_store_prepare(store, "DELETE FROM seen_signatures WHERE expires_at < ?1", err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto fail;
	st = sm_store_prepare(store,
	                      "INSERT OR IGNORE INTO seen_signatures (signature, expires_at)"
	                      " VALUES (?1, ?2)",
	                      err);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, seen->hmac, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, seen->until);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto fail;
	return sqlite3_changes(sm_store_db(store)) > 0;
fail:
	sm_error_set(err, "%s: %s", sm_store_path(store), sqlite3_errmsg(sm_store_db(store)));
	return -1;
}
