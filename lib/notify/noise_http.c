/* noise_http.c - silences over HTTP under /notify/silences/ (sm-notify(1),
 * HTTP API): list, create, show, expire. The endpoints are thin: the
 * commands of noise.h do the work and the refusals, so the command line
 * and a dashboard get the same checks and the same messages. */
#include <string.h>

#include "notify_private.h"
#include "sm/noise.h"
#include "sm/notify_http.h"

/* The status of an sm_noise_* result that is not SM_EXIT_OK: a request the
 * command refused is the client's (400), anything else the server's. */
static int status_of(int rc)
{
	return rc == SM_EXIT_USAGE || rc == SM_EXIT_DATAERR ? 400 : 500;
}

static void answer(sm_request_call *c, int rc, int ok_status, const char *key, json_t *v,
                   const sm_error *err)
{
	if (rc != SM_EXIT_OK) {
		sm_request_error(c->req, status_of(rc), NULL, err->msg, NULL);
		return;
	}
	sm_request_respond(c->req, ok_status, NULL, json_pack("{s:s,s:o}", "status", "ok", key, v));
}

/* GET /notify/silences/[?all=1]: the silences not yet expired, or all. */
static void silences_list(sm_request_call *c)
{
	char all[8] = "";
	json_t *list = NULL;
	sm_error err = {0};
	int has_all = sm_request_query(c->req, "all", all, sizeof all), rc;

	if (has_all < 0 || (has_all && strcmp(all, "1") != 0 && strcmp(all, "0") != 0 &&
	                    strcmp(all, "true") != 0 && strcmp(all, "false") != 0)) {
		sm_request_error(c->req, 400, NULL, "all: expected 1 or 0", NULL);
		return;
	}
	if (!sm_request_store(c))
		return;
	rc = sm_noise_silence_list(c->store, has_all && (all[0] == '1' || all[0] == 't'), &list,
	                           &err);
	answer(c, rc, 200, "silences", list, &err);
}

/* POST /notify/silences/ {"matchers":[…], "duration"|"ends_at", …}: 201
 * with the new silence (its id first of all). */
static void silences_create(sm_request_call *c)
{
	json_t *silence = NULL;
	sm_error err = {0};
	int rc;

	if (!sm_request_store(c))
		return;
	rc = sm_noise_silence_add(c->store, c->body, &silence, &err);
	answer(c, rc, 201, "silence", silence, &err);
}

/* The silence named by the path into *out: false after answering 404. */
static bool find(sm_request_call *c, json_t **out)
{
	sm_error err = {0};
	int rc;

	if (!sm_request_store(c))
		return false;
	rc = sm_noise_silence_get(c->store, c->seg[1], out, &err);
	if (rc == SM_EXIT_USAGE) {
		sm_request_errorf(c->req, 404, NULL, "Unknown silence: %.64s", c->seg[1]);
		return false;
	}
	if (rc != SM_EXIT_OK) {
		sm_request_error(c->req, 500, NULL, err.msg, NULL);
		return false;
	}
	return true;
}

static void silence_show(sm_request_call *c)
{
	json_t *silence;

	if (find(c, &silence))
		answer(c, SM_EXIT_OK, 200, "silence", silence, NULL);
}

/* DELETE /notify/silences/ID/ (as Alertmanager's API) or POST
 * /notify/silences/ID/expire/: the silence ends now. Expiring an expired
 * one is a 400, as on the command line. */
static void silence_expire(sm_request_call *c)
{
	json_t *silence = NULL;
	sm_error err = {0};
	int rc;

	if (!find(c, &silence))
		return;
	json_decref(silence);
	silence = NULL;
	rc = sm_noise_silence_expire(c->store, c->seg[1], &silence, &err);
	answer(c, rc, 200, "silence", silence, &err);
}

const sm_request_route sm_notify_silence_routes[] = {
    {"GET", {"silences", NULL}, silences_list, false},
    {"POST", {"silences", NULL}, silences_create, false},
    {"GET", {"silences", "*", NULL}, silence_show, false},
    {"DELETE", {"silences", "*", NULL}, silence_expire, false},
    {"POST", {"silences", "*", "expire", NULL}, silence_expire, false},
    {NULL, {NULL}, NULL, false},
};
