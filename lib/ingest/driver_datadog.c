/* driver_datadog.c - Datadog's webhook integration, one alert per payload.
 *
 * Datadog posts whatever JSON template the user wrote, with $VARIABLES
 * filled in; this driver reads the keys of the default template (title,
 * body, last_updated, id, org) and the lower-cased variable names
 * (alert_id, alert_title, alert_status, alert_transition, alert_type,
 * alert_metric, priority or alert_priority, hostname, tags, event_msg,
 * url). A payload is Datadog's when it has the default template's org
 * object or any alert_id, alert_status, alert_type or alert_transition.
 *
 * Status: resolved when alert_transition is Recovered (or "resolved") or
 * alert_status is "ok"/"recovered". Severity: critical for alert_type
 * "error" or priority P1/high/critical, info for priority P3-P5/low/info,
 * else warning. The monitor id (alert_id, else the event id) is kept as the
 * fingerprint.
 *
 * Tolerated quirks:
 * - Template variables are substituted inside the user's quotes, so ids and
 *   times arrive as strings: last_updated "1406662672000" is an epoch in
 *   milliseconds (seconds too), as well as an ISO 8601 time.
 * - $TAGS is one comma-separated string ("env:prod,role:db"); a list of
 *   tags is read the same way. A tag without ":" becomes the label
 *   tag="true"; empty pieces (a trailing comma) are skipped. The alertname,
 *   hostname, metric and alert_id labels win over tags of the same name.
 * - A field of the wrong type counts as absent.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drivers.h"

#define DEFAULT_NAME "Datadog Alert"

/* Whether text is one of the words (NULL-terminated), ignoring case. */
static bool one_of(const char *text, const char *const *words)
{
	for (; text && *words; words++)
		if (strcasecmp(text, *words) == 0)
			return true;
	return false;
}

bool sm_driver_datadog_detect(json_t *payload)
{
	json_t *alert_id = json_object_get(payload, "alert_id");

	return json_is_object(json_object_get(payload, "org")) || json_is_string(alert_id) ||
	       json_is_number(alert_id) ||
	       json_is_string(json_object_get(payload, "alert_status")) ||
	       json_is_string(json_object_get(payload, "alert_type")) ||
	       json_is_string(json_object_get(payload, "alert_transition"));
}

/* One tag: "key:value" (split at the first ':') or a bare "key". */
static int tag_label(sm_alert *a, const char *tag, size_t len)
{
	const char *colon;
	char *key;

	while (len && (*tag == ' ' || *tag == '\t')) {
		tag++;
		len--;
	}
	while (len && (tag[len - 1] == ' ' || tag[len - 1] == '\t'))
		len--;
	colon = memchr(tag, ':', len);
	if (!len || colon == tag)
		return 0;
	key = strndup(tag, colon ? (size_t)(colon - tag) : len);
	if (!key)
		return -1;
	if (colon) {
		char *value = strndup(colon + 1, len - (size_t)(colon - tag) - 1);
		if (value)
			sm_alert_label(a, key, value);
		free(value);
		free(key);
		return value ? 0 : -1;
	}
	sm_alert_label(a, key, "true");
	free(key);
	return 0;
}

static int tag_labels(sm_alert *a, json_t *tags)
{
	const char *s = json_string_value(tags);
	size_t i;
	json_t *tag;

	if (s) {
		for (const char *comma; (comma = strchr(s, ',')) != NULL; s = comma + 1)
			if (tag_label(a, s, (size_t)(comma - s)) < 0)
				return -1;
		return tag_label(a, s, strlen(s));
	}
	json_array_foreach(tags, i, tag)
	{
		if (json_is_string(tag) &&
		    tag_label(a, json_string_value(tag), json_string_length(tag)) < 0)
			return -1;
	}
	return 0;
}

/* last_updated: an epoch (milliseconds above 1e10, seconds below), as a
 * number or as the digits a template variable leaves in quotes, or ISO 8601. */
static bool updated_time(json_t *value, struct timespec *out)
{
	const char *s = json_string_value(value);

	if (s && *s && s[strspn(s, "0123456789")] == '\0') {
		json_t *number = json_integer(strtoll(s, NULL, 10));
		int rc = sm_alert_time(number, 1e10, out);
		json_decref(number);
		return rc == 1;
	}
	return sm_alert_time(value, 1e10, out) == 1;
}

int sm_driver_datadog_parse(json_t *payload, sm_alert_batch *batch, sm_error *err)
{
	static const char *const recovered[] = {"recovered", "resolved", NULL};
	static const char *const ok[] = {"ok", "recovered", NULL};
	static const char *const high[] = {"p1", "high", "critical", NULL};
	static const char *const low[] = {"p3", "p4", "p5", "low", "info", NULL};
	const char *name = sm_json_first_str(payload, "alert_title", "title", (const char *)NULL);
	const char *priority =
	    sm_json_first_str(payload, "priority", "alert_priority", (const char *)NULL);
	const char *type = sm_json_str(payload, "alert_type");
	json_t *alert_id = json_object_get(payload, "alert_id");
	char *id_text;
	sm_alert *a;

	if (!sm_driver_datadog_detect(payload)) {
		sm_error_set(err, "invalid Datadog payload: no org object, nor any of alert_id, "
		                  "alert_status, alert_type, alert_transition");
		return -1;
	}
	if (!(a = sm_batch_add(batch)))
		goto oom;
	sm_alert_set_name(a, name ? name : DEFAULT_NAME);
	a->resolved = one_of(sm_json_str(payload, "alert_transition"), recovered) ||
	              one_of(sm_json_str(payload, "alert_status"), ok);
	if ((type && strcasecmp(type, "error") == 0) || one_of(priority, high))
		a->severity = SM_SEVERITY_CRITICAL;
	else if (one_of(priority, low))
		a->severity = SM_SEVERITY_INFO;
	if (tag_labels(a, json_object_get(payload, "tags")) < 0)
		goto oom;
	sm_alert_label(a, "alertname", a->name);
	if (sm_json_str(payload, "hostname"))
		sm_alert_label(a, "hostname", sm_json_str(payload, "hostname"));
	if (sm_json_str(payload, "alert_metric"))
		sm_alert_label(a, "metric", sm_json_str(payload, "alert_metric"));
	if ((id_text = sm_json_id(alert_id)) != NULL)
		sm_alert_label(a, "alert_id", id_text);
	a->fingerprint = id_text ? id_text : sm_json_id(json_object_get(payload, "id"));
	a->started_set = updated_time(json_object_get(payload, "last_updated"), &a->started_at);
	sm_alert_set_description(
	    a, sm_json_first_str(payload, "event_msg", "body", (const char *)NULL));
	sm_alert_annotation(a, "url", sm_json_str(payload, "url"));
	a->raw = json_incref(payload);
	return 0;
oom:
	sm_error_set(err, "out of memory");
	return -1;
}
