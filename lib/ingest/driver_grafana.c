/* driver_grafana.c - Grafana alerting's webhook contact point, in both its
 * forms:
 * - unified alerting (Grafana 8+): Alertmanager's payload plus orgId, title,
 *   state and message; one alert per element of alerts[], read as
 *   Alertmanager reads it (name from labels.alertname, else the alert's
 *   alertname; description from annotations.description, else summary, else
 *   the alert's message);
 * - legacy dashboard alerting: one alert per payload, from ruleName, state,
 *   message, ruleUrl and the rule/dashboard/panel/org ids.
 *
 * Without a fingerprint in the payload (always, for legacy), sm_batch_finish
 * computes Alertmanager's label fingerprint, which is what Grafana's own
 * alerting shows.
 *
 * Tolerated quirks:
 * - A unified payload looks like Alertmanager's, so detection requires what
 *   only Grafana sends (orgId, or title with groupKey); "title" or "state"
 *   alone belong to Datadog, New Relic and generic senders just as well.
 * - endsAt is Go's zero time "0001-01-01T00:00:00Z" on firing alerts, or a
 *   far-future placeholder: both mean "not ended".
 * - A legacy payload in state "ok" carries an empty evalMatches: the key's
 *   presence, not its content, marks the format.
 * - A legacy payload carries no time: the alert starts "now", and a resolve
 *   ends when it is stored.
 * - An element of alerts[] that is not an object is skipped, and a field of
 *   the wrong type counts as absent.
 */
#include <stdlib.h>
#include <string.h>

#include "drivers.h"

static bool is_id(json_t *value)
{
	return json_is_number(value) || (json_is_string(value) && json_string_length(value));
}

static bool is_unified(json_t *payload)
{
	if (!json_is_array(json_object_get(payload, "alerts")))
		return false;
	return is_id(json_object_get(payload, "orgId")) ||
	       (json_is_string(json_object_get(payload, "title")) &&
	        json_is_string(json_object_get(payload, "groupKey")));
}

static bool is_legacy(json_t *payload)
{
	if (json_is_array(json_object_get(payload, "evalMatches")))
		return true;
	return (is_id(json_object_get(payload, "ruleId")) || sm_json_str(payload, "ruleName")) &&
	       (is_id(json_object_get(payload, "dashboardId")) || sm_json_str(payload, "state")) &&
	       json_is_string(json_object_get(payload, "ruleUrl"));
}

bool sm_driver_grafana_detect(json_t *payload)
{
	return is_unified(payload) || is_legacy(payload);
}

static void unified_alert(sm_alert *a, json_t *element)
{
	json_t *labels = json_object_get(element, "labels");
	json_t *annotations = json_object_get(element, "annotations");
	json_t *starts = json_object_get(element, "startsAt");
	const char *name, *description;

	if (json_is_object(labels))
		json_object_update(a->labels, labels);
	if (json_is_object(annotations))
		json_object_update(a->annotations, annotations);
	name = sm_json_str(a->labels, "alertname");
	sm_alert_set_name(a, name ? name : sm_json_str(element, "alertname"));
	a->severity = sm_severity_normalize(sm_json_str(a->labels, "severity"));
	sm_alert_set_status(a, json_string_value(json_object_get(element, "status")));
	a->fingerprint = sm_json_id(json_object_get(element, "fingerprint"));
	if (json_is_string(starts) && sm_alert_time(starts, 0, &a->started_at) == 1)
		a->started_set = true;
	a->ended_set = sm_alert_end_time(json_object_get(element, "endsAt"), &a->ended_at);
	description =
	    sm_json_first_str(a->annotations, "description", "summary", (const char *)NULL);
	sm_alert_set_description(a, description ? description : sm_json_str(element, "message"));
	a->raw = json_incref(element);
}

/* The rule and dashboard ids become labels as text ("" when absent), so a
 * rule's alerts keep one fingerprint whatever type Grafana used. */
static int legacy_alert(sm_alert *a, json_t *payload)
{
	static const char *const ids[] = {"ruleId", "dashboardId", "panelId", "orgId"};
	const char *name = sm_json_first_str(payload, "ruleName", "title", (const char *)NULL);
	const char *state = sm_json_str(payload, "state");

	sm_alert_set_name(a, name ? name : "Unknown Alert");
	sm_alert_label(a, "alertname", a->name);
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		char *text = sm_json_text(json_object_get(payload, ids[i]));
		if (!text)
			return -1;
		sm_alert_label(a, ids[i], text);
		free(text);
	}
	if (!state)
		state = "alerting";
	a->resolved = strcmp(state, "ok") == 0;
	a->severity = strcmp(state, "alerting") == 0 || strcmp(state, "critical") == 0
	                  ? SM_SEVERITY_CRITICAL
	                  : SM_SEVERITY_WARNING;
	sm_alert_set_description(a, sm_json_str(payload, "message"));
	sm_alert_annotation(a, "ruleUrl", sm_json_str(payload, "ruleUrl"));
	a->raw = json_incref(payload);
	return 0;
}

int sm_driver_grafana_parse(json_t *payload, sm_alert_batch *batch, sm_error *err)
{
	json_t *alerts = json_object_get(payload, "alerts"), *element;
	sm_alert *a;
	size_t i;

	if (is_unified(payload)) {
		json_array_foreach(alerts, i, element)
		{
			if (!json_is_object(element))
				continue;
			if (!(a = sm_batch_add(batch)))
				goto oom;
			unified_alert(a, element);
		}
		return 0;
	}
	if (!is_legacy(payload)) {
		sm_error_set(err, "invalid Grafana payload: neither unified (alerts with orgId) "
		                  "nor legacy (evalMatches, or ruleId/ruleName with ruleUrl)");
		return -1;
	}
	if (!(a = sm_batch_add(batch)) || legacy_alert(a, payload) < 0)
		goto oom;
	return 0;
oom:
	sm_error_set(err, "out of memory");
	return -1;
}
