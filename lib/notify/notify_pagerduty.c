/* notify_pagerduty.c - PagerDuty Events API v2: a trigger while the
 * incident fires, a resolve when it resolved, both with one dedup_key
 * derived from the incident so PagerDuty folds them into one incident.
 *
 * dedup_key: "sm-incident-<id>" for an envelope with an incident; else
 * "sm-alert-<source>-<fingerprint>" of its first alert; else
 * "sm-checks-<host>" for a round of checks. */
#include <stdlib.h>
#include <string.h>

#include "notify_drivers.h"
#include "sm/json.h"

#define PAGERDUTY_URL         "https://events.pagerduty.com/v2/enqueue"
#define PAGERDUTY_MAX_SUMMARY 1024 /* the API refuses longer summaries */

static const notify_key pagerduty_keys[] = {
    {"integration_key", NOTIFY_KEY_STRING, true, true, SM_TEMPLATE_TEXT},
    {"api_url", NOTIFY_KEY_URL, false, false, SM_TEMPLATE_TEXT},
    {NULL, NOTIFY_KEY_STRING, false, false, SM_TEMPLATE_TEXT},
};

/* PagerDuty's severities are critical, error, warning and info; ours map
 * to the same names. Anything else a template makes is info. */
static const char *pd_severity(const char *s)
{
	static const char *const known[] = {"critical", "error", "warning", "info"};

	for (size_t i = 0; s && i < 4; i++)
		if (strcmp(s, known[i]) == 0)
			return known[i];
	return "info";
}

char *notify_pagerduty_dedup_key(json_t *env)
{
	json_t *incident = json_object_get(env, "incident");
	json_t *alert = json_array_get(json_object_get(env, "alerts"), 0);
	const char *host = json_string_value(json_object_get(env, "host"));
	const char *source = json_string_value(json_object_get(env, "source"));
	char *key = NULL;
	int n;

	if (json_is_integer(json_object_get(incident, "id")))
		n = asprintf(&key, "sm-incident-%lld",
		             (long long)json_integer_value(json_object_get(incident, "id")));
	else if (json_is_string(json_object_get(alert, "fingerprint")))
		n = asprintf(&key, "sm-alert-%s-%s", source ? source : "",
		             json_string_value(json_object_get(alert, "fingerprint")));
	else
		n = asprintf(&key, "sm-checks-%s", host ? host : "local");
	return n < 0 ? NULL : key;
}

/* Cut s to max bytes on a UTF-8 character boundary. */
static void cut(json_t *obj, const char *key, size_t max)
{
	const char *s = json_string_value(json_object_get(obj, key));
	size_t n;

	if (!s || strlen(s) <= max)
		return;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	json_object_set_new(obj, key, json_stringn(s, n));
}

static int pagerduty_prepare(const notify_job *job, notify_message *msg, sm_error *err)
{
	const char *status = json_string_value(json_object_get(job->context, "status"));
	bool resolve = status && strcmp(status, "resolved") == 0;
	char *dedup = notify_pagerduty_dedup_key(job->env);
	json_t *body, *payload = NULL;

	if (!dedup) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	if (!resolve) {
		payload = notify_render_json(job, "template_file", notify_template_pagerduty,
		                             job->context, err);
		if (!payload) {
			free(dedup);
			return -1;
		}
		if (!json_is_string(json_object_get(payload, "summary")) ||
		    json_string_length(json_object_get(payload, "summary")) == 0) {
			sm_error_set(err, "the PagerDuty payload has no summary");
			json_decref(payload);
			free(dedup);
			return -1;
		}
		cut(payload, "summary", PAGERDUTY_MAX_SUMMARY);
		json_object_set_new(payload, "severity",
		                    json_string(pd_severity(
		                        json_string_value(json_object_get(payload, "severity")))));
		if (!json_is_string(json_object_get(payload, "source")) ||
		    json_string_length(json_object_get(payload, "source")) == 0)
			json_object_set_new(payload, "source", json_string("sm"));
	}
	body = json_pack("{s:s,s:s,s:s}", "routing_key",
	                 notify_cfg_str(job->config, "integration_key", ""), "event_action",
	                 resolve ? "resolve" : "trigger", "dedup_key", dedup);
	free(dedup);
	if (payload) {
		json_object_set_new(body, "payload", payload);
		json_object_set_new(body, "client", json_string("sm"));
	}
	return notify_message_json(msg, body, job->config, "api_url", PAGERDUTY_URL, err);
}

const notify_driver notify_driver_pagerduty = {
    .name = "pagerduty",
    .description = "PagerDuty Events API v2 (trigger, resolve)",
    .keys = pagerduty_keys,
    .template_mode = SM_TEMPLATE_JSON,
    .prepare = pagerduty_prepare,
    .send = notify_http_send,
};
