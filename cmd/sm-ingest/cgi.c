/* cgi.c - sm-ingest as a CGI/1.1 program (RFC 3875) behind a web server.
 *
 * The web server maps /alerts/webhook/ here; PATH_INFO names the driver
 * ("/grafana" or "/grafana/"; none = auto-detect). Checks, in order: method
 * (405), driver name (404), content type (415), length (400/413), API key
 * (401), JSON (400), signature of a forced driver (401), payload (400 when
 * the URL's driver cannot read it, 422 when no driver claims it), signature
 * of a detected driver (401). Only then is anything written: the
 * alerts and the queued envelopes in one transaction, and 202 after the
 * commit. Every answer is a JSON body; nothing is stored for a rejection.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "sm/agents.h"
#include "sm/config.h"
#include "sm/envelope.h"
#include "sm/hmac.h"
#include "sm/inbox.h"
#include "sm/ingest.h"
#include "sm/json.h"
#include "sm/log.h"
#include "sm/trace.h"
#include "sm-ingest.h"

static const char *const reasons[][2] = {
    {"202", "Accepted"},
    {"400", "Bad Request"},
    {"401", "Unauthorized"},
    {"404", "Not Found"},
    {"405", "Method Not Allowed"},
    {"413", "Content Too Large"},
    {"415", "Unsupported Media Type"},
    {"422", "Unprocessable Content"},
    {"500", "Internal Server Error"},
    {"503", "Service Unavailable"},
};

static void respond(int status, const char *extra_header, json_t *body)
{
	char code[8], *text;
	const char *reason = "";

	snprintf(code, sizeof code, "%d", status);
	for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		if (strcmp(reasons[i][0], code) == 0)
			reason = reasons[i][1];
	text = json_dumps(body, SM_JSON_FLAGS);
	printf("Status: %d %s\r\nContent-Type: application/json\r\n%s%s\r\n%s\n", status, reason,
	       extra_header ? extra_header : "", extra_header ? "\r\n" : "", text ? text : "{}");
	fflush(stdout);
	free(text);
	json_decref(body);
}

/* An error answer; the reason is logged, never anything secret. */
static int reject(int status, const char *extra_header, const char *message)
{
	char code[8];

	snprintf(code, sizeof code, "%d", status);
	sm_log_kv(SM_LOG_WARN, "request rejected", "status", code, "reason", message, SM_LOG_END);
	respond(status, extra_header,
	        json_pack("{s:s,s:s}", "status", "error", "message", message));
	return SM_EXIT_OK; /* the request was answered */
}

/* A request header as CGI passes it: "X-Grafana-Signature" → HTTP_X_GRAFANA_SIGNATURE. */
static const char *header(const char *name)
{
	char var[128] = "HTTP_";
	size_t n = strlen(var);

	for (const char *p = name; *p && n < sizeof var - 1; p++)
		var[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	var[n] = '\0';
	return getenv(var);
}

/* The driver named by PATH_INFO: NULL for auto-detect; *unknown when the
 * name is not one a URL may use. */
static const sm_driver *route(bool *unknown)
{
	const char *path = getenv("PATH_INFO");
	char name[64];
	size_t len;
	const sm_driver *d;

	*unknown = false;
	if (!path || !*path || strcmp(path, "/") == 0)
		return NULL;
	if (*path == '/')
		path++;
	len = strcspn(path, "/");
	if (len == 0 || len >= sizeof name || (path[len] == '/' && path[len + 1] != '\0')) {
		*unknown = true;
		return NULL;
	}
	memcpy(name, path, len);
	name[len] = '\0';
	d = sm_driver_find(name);
	if (!d || (d->flags & SM_DRIVER_INTERNAL) || !sm_driver_enabled(d)) {
		*unknown = true;
		return NULL;
	}
	return d;
}

static bool json_content_type(void)
{
	const char *ct = getenv("CONTENT_TYPE");
	char type[128];
	size_t n;

	if (!ct || !*ct)
		return true; /* many senders omit it */
	n = strcspn(ct, ";");
	while (n > 0 && isspace((unsigned char)ct[n - 1]))
		n--;
	if (n >= sizeof type)
		return false;
	memcpy(type, ct, n);
	type[n] = '\0';
	return strcasecmp(type, "application/json") == 0 || strcasecmp(type, "text/json") == 0 ||
	       strcasecmp(type, "text/plain") == 0 ||
	       (n > 5 && strcasecmp(type + n - 5, "+json") == 0);
}

/* The API key check, when SM_API_KEYS_FILE is set: the file holds one
 * "NAME SHA256HEX" per line (the keys themselves are never stored); the key
 * comes in X-API-Key or Authorization: Bearer. 1 ok, 0 refused, -1 error. */
static int api_key_ok(const char **why)
{
	const char *file = sm_config_get("SM_API_KEYS_FILE", NULL), *key, *auth;
	char digest[SM_SHA256_HEX], line[512];
	int ok = 0;
	FILE *f;

	if (!file)
		return 1;
	key = header("X-API-Key");
	auth = getenv("HTTP_AUTHORIZATION");
	if ((!key || !*key) && auth && strncmp(auth, "Bearer ", 7) == 0)
		key = auth + 7;
	if (!key || !*key) {
		*why = "API key required (X-API-Key or Authorization: Bearer)";
		return 0;
	}
	if (sm_sha256_hex(key, strlen(key), digest, NULL) < 0)
		return -1;
	f = fopen(file, "re");
	if (!f) {
		sm_log(SM_LOG_ERROR, "SM_API_KEYS_FILE %s: %s", file, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		char *save = NULL, *hex = NULL;
		/* "NAME DIGEST" (any blanks between), or a digest alone. */
		for (char *tok = strtok_r(line, " \t\r\n", &save); tok;
		     tok = strtok_r(NULL, " \t\r\n", &save))
			hex = tok;
		if (!hex)
			continue;
		/* Every line is compared, so timing says nothing about which matched. */
		if (strlen(hex) == 64 && strncasecmp(hex, digest, 64) == 0)
			ok = 1;
	}
	fclose(f);
	if (!ok)
		*why = "invalid API key";
	return ok;
}

/* A request that carries X-SM-Timestamp signs "<timestamp>.<body>" in
 * X-SM-Signature, so a captured request cannot be replayed once the
 * timestamp is more than 300 seconds away from the hub's clock. */
static int timestamped_ok(const char *secret, const char *stamp, const char *body, size_t len,
                          const char **why)
{
	char *end, *text = NULL;
	long long ts, skew;
	int ok;

	errno = 0;
	ts = strtoll(stamp, &end, 10);
	if (errno || *end || end == stamp || ts <= 0) {
		*why = "bad X-SM-Timestamp";
		return 0;
	}
	skew = (long long)time(NULL) - ts;
	if (skew < -300 || skew > 300) {
		*why = "X-SM-Timestamp outside the allowed window (replayed or clock skew)";
		return 0;
	}
	if (asprintf(&text, "%lld.%.*s", ts, (int)len, body) < 0)
		return -1;
	ok = sm_hmac_verify(secret, strlen(secret), text, strlen(text), header("X-SM-Signature"),
	                    NULL);
	free(text);
	if (ok == 0)
		*why = "invalid signature";
	return ok;
}

/* When WEBHOOK_SECRET_<DRIVER> is set, the request must be signed: with
 * X-SM-Timestamp and X-SM-Signature over "<timestamp>.<body>", or with the
 * driver's own header over the body (refused for cluster pushes when
 * CLUSTER_REQUIRE_TIMESTAMP=1). 1 ok, 0 refused (*why), -1 error. */
static int signature_ok(const sm_driver *d, const char *body, size_t len, const char **why)
{
	char var[96];
	const char *secret, *sig, *stamp = header("X-SM-Timestamp");
	size_t n;
	int ok;

	n = (size_t)snprintf(var, sizeof var, "WEBHOOK_SECRET_%s", d->name);
	for (size_t i = 15; i < n && i < sizeof var; i++)
		var[i] = (char)toupper((unsigned char)var[i]);

	secret = sm_config_get(var, NULL);
	if (!secret)
		return 1;
	if (stamp && *stamp)
		return timestamped_ok(secret, stamp, body, len, why);
	if ((d->flags & SM_DRIVER_CLUSTER) && sm_config_bool("CLUSTER_REQUIRE_TIMESTAMP", 0) == 1) {
		*why = "X-SM-Timestamp required (CLUSTER_REQUIRE_TIMESTAMP=1)";
		return 0;
	}
	sig = header(d->signature_header);
	if ((!sig || !*sig) && d->signature_header_alt)
		sig = header(d->signature_header_alt);
	ok = sm_hmac_verify(secret, strlen(secret), body, len, sig, NULL);
	if (ok == 0)
		*why = "invalid signature";
	return ok;
}

static int store(const sm_alert_batch *batch, const char *trace, json_t **envs, sm_error *err,
                 bool *busy)
{
	sm_store *st = NULL;
	sm_ingest *in = NULL;
	size_t i;
	json_t *env;
	int rc = -1;

	*busy = false;
	*envs = json_array();
	if (sm_store_open(NULL, &st, err) < 0 || !(in = sm_ingest_new(st, err)))
		goto done;
	if (sm_store_begin(st, err) < 0)
		goto done;
	if (sm_ingest_apply(in, batch, trace, *envs, err) < 0)
		goto rollback;
	json_array_foreach(*envs, i, env)
	{
		if (sm_inbox_put(st, env, err) < 0)
			goto rollback;
	}
	/* A hub knows its agents from their pushes, empty ones included. */
	if (batch->agent && sm_agents_record(st, batch->agent, getenv("REMOTE_ADDR"), err) < 0)
		goto rollback;
	if (sm_store_commit(st, err) < 0)
		goto rollback;
	rc = 0;
	goto done;
rollback:
	sm_store_rollback(st);
done:
	if (rc < 0 && st) {
		int code = sqlite3_extended_errcode(sm_store_db(st)) & 0xff;
		*busy = code == SQLITE_BUSY || code == SQLITE_LOCKED;
	}
	sm_ingest_free(in);
	sm_store_close(st);
	return rc;
}

int cgi_config_error(const char *message)
{
	sm_log_kv(SM_LOG_ERROR, "bad configuration", "error", message, SM_LOG_END);
	respond(500, NULL,
	        json_pack("{s:s,s:s}", "status", "error", "message", "server misconfigured"));
	return SM_EXIT_OK;
}

int cgi_main(void)
{
	const char *method = getenv("REQUEST_METHOD"), *length = getenv("CONTENT_LENGTH");
	const char *why = NULL;
	char trace[SM_TRACE_LEN + 1], *body = NULL, *end;
	const sm_driver *forced, *used = NULL;
	long long limit = max_body(), want;
	sm_alert_batch batch = {0};
	json_t *payload = NULL, *envs = NULL, *incidents, *env;
	json_error_t jerr;
	sm_error err;
	size_t got = 0, i, alerts = 0;
	bool unknown, busy;
	int rc = SM_EXIT_OK, check;

	if (sm_trace_new(trace) == 0)
		sm_log_set_trace(trace);
	if (limit < 0)
		return reject(500, NULL, "server misconfigured: SM_MAX_BODY");
	if (!method || strcmp(method, "POST") != 0)
		return reject(405, "Allow: POST", "method not allowed: use POST");
	forced = route(&unknown);
	if (unknown)
		return reject(404, NULL, "unknown driver in URL (see sm-ingest --list-drivers)");
	if (!json_content_type())
		return reject(415, NULL, "Content-Type must be application/json");
	if (!length || !*length)
		return reject(400, NULL, "Content-Length required");
	errno = 0;
	want = strtoll(length, &end, 10);
	if (errno || *end || want < 0)
		return reject(400, NULL, "bad Content-Length");
	if (want > limit)
		return reject(413, NULL, "body larger than the limit (SM_MAX_BODY)");
	check = api_key_ok(&why);
	if (check < 0)
		return reject(500, NULL, "cannot check API keys");
	if (check == 0)
		return reject(401, NULL, why);
	body = malloc((size_t)want + 1);
	if (!body)
		return reject(500, NULL, "out of memory");
	/* Exactly CONTENT_LENGTH bytes, never waiting for end of file. */
	while (got < (size_t)want) {
		ssize_t n = read(STDIN_FILENO, body + got, (size_t)want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < (size_t)want) {
		rc = reject(400, NULL, "body shorter than Content-Length");
		goto out;
	}
	body[got] = '\0';
	if (forced) {
		check = signature_ok(forced, body, got, &why);
		if (check <= 0) {
			rc = reject(check < 0 ? 500 : 401, NULL,
			            check < 0 ? "cannot verify signatures" : why);
			goto out;
		}
	}
	payload = json_loadb(body, got, JSON_REJECT_DUPLICATES, &jerr);
	if (!payload || !json_is_object(payload)) {
		char msg[256];
		snprintf(msg, sizeof msg, "%s",
		         payload ? "body must be a JSON object" : "malformed JSON: ");
		if (!payload)
			snprintf(msg + strlen(msg), sizeof msg - strlen(msg), "%s", jerr.text);
		rc = reject(400, NULL, msg);
		goto out;
	}
	if (sm_driver_parse(forced, payload, &used, &batch, &err) < 0) {
		/* The URL's driver cannot read it: a bad request for that URL;
		 * no driver claims it: well-formed but unprocessable. */
		rc = reject(forced ? 400 : 422, NULL, err.msg);
		goto out;
	}
	if (!forced) {
		check = signature_ok(used, body, got, &why);
		if (check <= 0) {
			rc = reject(check < 0 ? 500 : 401, NULL,
			            check < 0 ? "cannot verify signatures" : why);
			goto out;
		}
	}
	if (store(&batch, trace, &envs, &err, &busy) < 0) {
		sm_log_kv(SM_LOG_ERROR, "cannot store", "error", err.msg, SM_LOG_END);
		rc = busy ? reject(503, "Retry-After: 1", "store busy, try again")
		          : reject(500, NULL, "cannot store the alerts");
		goto out;
	}
	incidents = json_array();
	json_array_foreach(envs, i, env)
	{
		json_t *inc = json_object_get(env, "incident");
		alerts += json_array_size(json_object_get(env, "alerts"));
		if (json_is_object(inc))
			json_array_append(incidents, json_object_get(inc, "id"));
	}
	sm_log_kv(SM_LOG_INFO, "payload accepted", "driver", used->name, SM_LOG_END);
	respond(202, NULL,
	        json_pack("{s:s,s:s,s:I,s:o,s:s}", "status", "accepted", "driver", used->name,
	                  "alerts", (json_int_t)alerts, "incidents", incidents, "trace_id", trace));
out:
	sm_batch_clear(&batch);
	json_decref(payload);
	json_decref(envs);
	free(body);
	return rc;
}
