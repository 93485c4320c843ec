/* driver_pagerduty.c - PagerDuty webhooks: V3 subscriptions ({"event":
 * {event_type, resource_type, occurred_at, data: the incident}}, one alert
 * per payload) and the legacy V1/V2 extensions ({"messages": [...]}, one
 * alert per message).
 *
 * The incident id is the fingerprint, so every event about one incident
 * updates one alert. Severity comes from the urgency (high: critical, else
 * warning), then, in V3, from the incident's priority when it names one
 * (P1 or "critical": critical; P3-P5 or "low": info).
 *
 * Tolerated quirks:
 * - Only a resolve resolves: incident.acknowledged (V3) and
 *   incident.acknowledge (V2) mean someone is working on it, not that it is
 *   over, so the alert stays firing.
 * - V3 priorities are references whose label is "summary" (the REST API's
 *   priority object says "name"): both are read.
 * - occurred_at is when the event happened, not when the incident started:
 *   the incident's created_at is the start, and a resolve's occurred_at
 *   its end.
 * - Legacy messages come in two shapes: V2 ({event, incident, created_on})
 *   and V1 ({type, data: {incident}, created_on}, incident times in
 *   created_on and the name in trigger_summary_data.subject). Both are read.
 * - A message that is not an object is skipped, and a field of the wrong
 *   type counts as absent.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drivers.h"

#define DEFAULT_NAME "PagerDuty Incident"

static bool string_time(json_t *value, struct timespec *out)
{
	return json_is_string(value) && sm_alert_time(value, 0, out) == 1;
}

/* A label holding the text of a scalar ("" when absent or null). */
static int text_label(sm_alert *a, const char *key, json_t *value)
{
	char *text = sm_json_text(value);

	if (!text)
		return -1;
	sm_alert_label(a, key, text);
	free(text);
	return 0;
}

/* Whether text contains needle, ignoring case. */
static bool has(const char *text, const char *needle)
{
	return text && strcasestr(text, needle) != NULL;
}

static bool is_v3(json_t *payload)
{
	json_t *event = json_object_get(payload, "event");

	return json_is_string(json_object_get(event, "event_type")) &&
	       json_is_string(json_object_get(event, "resource_type"));
}

static bool is_legacy(json_t *payload)
{
	json_t *first = json_array_get(json_object_get(payload, "messages"), 0);

	return json_is_object(json_object_get(first, "incident")) ||
	       json_is_string(json_object_get(first, "type"));
}

bool sm_driver_pagerduty_detect(json_t *payload)
{
	return is_v3(payload) || is_legacy(payload);
}

static enum sm_severity priority_severity(json_t *priority, enum sm_severity by_urgency)
{
	const char *name = sm_json_first_str(priority, "name", "summary", (const char *)NULL);

	if (has(name, "p1") || has(name, "critical"))
		return SM_SEVERITY_CRITICAL;
	if (has(name, "p3") || has(name, "p4") || has(name, "p5") || has(name, "low"))
		return SM_SEVERITY_INFO;
	return by_urgency;
}

static int v3_alert(sm_alert *a, json_t *event)
{
	json_t *incident = json_object_get(event, "data");
	json_t *service = json_object_get(incident, "service");
	json_t *occurred = json_object_get(event, "occurred_at");
	const char *type = json_string_value(json_object_get(event, "event_type"));
	const char *name = sm_json_str(incident, "title");
	const char *urgency = sm_json_str(incident, "urgency");
	const char *verb = strrchr(type, '.');

	/* "incident.resolved"; never "incident.acknowledged". */
	a->resolved = strcasecmp(verb ? verb + 1 : type, "resolved") == 0;
	sm_alert_set_name(a, name ? name : DEFAULT_NAME);
	if (!urgency)
		urgency = "high";
	a->severity = strcasecmp(urgency, "high") == 0 ? SM_SEVERITY_CRITICAL : SM_SEVERITY_WARNING;
	a->severity = priority_severity(json_object_get(incident, "priority"), a->severity);
	sm_alert_label(a, "alertname", a->name);
	if (text_label(a, "incident_id", json_object_get(incident, "id")) < 0 ||
	    text_label(a, "incident_number", json_object_get(incident, "number")) < 0)
		return -1;
	sm_alert_label(a, "service_id", sm_json_str(service, "id"));
	sm_alert_label(a, "service_name", sm_json_str(service, "summary"));
	sm_alert_label(a, "urgency", urgency);
	a->started_set = string_time(json_object_get(incident, "created_at"), &a->started_at) ||
	                 string_time(occurred, &a->started_at);
	a->ended_set = a->resolved && string_time(occurred, &a->ended_at);
	a->fingerprint = sm_json_id(json_object_get(incident, "id"));
	sm_alert_set_description(a, sm_json_str(incident, "description"));
	sm_alert_annotation(a, "html_url", sm_json_str(incident, "html_url"));
	a->raw = json_incref(event);
	return 0;
}

static int legacy_alert(sm_alert *a, json_t *message)
{
	const char *type = sm_json_first_str(message, "event", "type", (const char *)NULL);
	json_t *incident = json_object_get(message, "incident");
	json_t *created = json_object_get(message, "created_on");
	const char *name, *urgency;

	if (!json_is_object(incident))
		incident = json_object_get(json_object_get(message, "data"), "incident");
	name = sm_json_str(json_object_get(incident, "trigger_summary_data"), "subject");
	if (!name)
		name = sm_json_str(incident, "title");
	urgency = sm_json_str(incident, "urgency");
	a->resolved = has(type, "resolve");
	sm_alert_set_name(a, name ? name : DEFAULT_NAME);
	a->severity = !urgency || strcasecmp(urgency, "high") == 0 ? SM_SEVERITY_CRITICAL
	                                                           : SM_SEVERITY_WARNING;
	sm_alert_label(a, "alertname", a->name);
	if (text_label(a, "incident_id", json_object_get(incident, "id")) < 0 ||
	    text_label(a, "incident_number", json_object_get(incident, "incident_number")) < 0)
		return -1;
	sm_alert_label(a, "service_name",
	               sm_json_str(json_object_get(incident, "service"), "name"));
	a->started_set = string_time(json_object_get(incident, "created_at"), &a->started_at) ||
	                 string_time(json_object_get(incident, "created_on"), &a->started_at) ||
	                 string_time(created, &a->started_at);
	a->ended_set = a->resolved && string_time(created, &a->ended_at);
	a->fingerprint = sm_json_id(json_object_get(incident, "id"));
	sm_alert_set_description(a, sm_json_str(incident, "description"));
	a->raw = json_incref(message);
	return 0;
}

int sm_driver_pagerduty_parse(json_t *payload, sm_alert_batch *batch, sm_error *err)
{
	json_t *messages = json_object_get(payload, "messages"), *message;
	sm_alert *a;
	size_t i;

	if (is_v3(payload)) {
		if (!(a = sm_batch_add(batch)) ||
		    v3_alert(a, json_object_get(payload, "event")) < 0)
			goto oom;
		return 0;
	}
	if (!is_legacy(payload)) {
		sm_error_set(err, "invalid PagerDuty payload: no event with event_type and "
		                  "resource_type, nor messages with an incident or type");
		return -1;
	}
	json_array_foreach(messages, i, message)
	{
		if (!json_is_object(message))
			continue;
		if (!(a = sm_batch_add(batch)) || legacy_alert(a, message) < 0)
			goto oom;
	}
	return 0;
oom:
	sm_error_set(err, "out of memory");
	return -1;
}
