/* driver_alertmanager.c - Prometheus Alertmanager's webhook_config payload
 * (version "4"): {receiver, status, alerts[], groupLabels, commonLabels,
 * commonAnnotations, externalURL, groupKey, truncatedAlerts}, one alert per
 * element of alerts[].
 *
 * Labels and annotations are kept as sent. The name is labels.alertname, the
 * severity labels.severity, the description annotations.description, else
 * annotations.summary. Without a fingerprint in the payload, sm_batch_finish
 * computes Alertmanager's own, so ours matches the one its UI shows.
 *
 * Tolerated quirks:
 * - endsAt is "0001-01-01T00:00:00Z" (Go's zero time) on firing alerts, and
 *   some senders put a far-future placeholder there: both mean "not ended".
 * - The top-level status only summarises the group (it is "firing" while any
 *   alert fires); each alert's own status is what counts.
 * - An element of alerts[] that is not an object is skipped, and a field of
 *   the wrong type counts as absent, so one malformed alert does not cost
 *   the others.
 */
#include <stdlib.h>
#include <string.h>

#include "drivers.h"

static void alert_from(sm_alert *a, json_t *element)
{
	json_t *labels = json_object_get(element, "labels");
	json_t *annotations = json_object_get(element, "annotations");
	json_t *status = json_object_get(element, "status");
	json_t *starts = json_object_get(element, "startsAt");

	if (json_is_object(labels))
		json_object_update(a->labels, labels);
	if (json_is_object(annotations))
		json_object_update(a->annotations, annotations);
	sm_alert_set_name(a, sm_json_str(a->labels, "alertname"));
	a->severity = sm_severity_normalize(sm_json_str(a->labels, "severity"));
	sm_alert_set_status(a, json_string_value(status));
	a->fingerprint = sm_json_id(json_object_get(element, "fingerprint"));
	if (json_is_string(starts) && sm_alert_time(starts, 0, &a->started_at) == 1)
		a->started_set = true;
	a->ended_set = sm_alert_end_time(json_object_get(element, "endsAt"), &a->ended_at);
	sm_alert_set_description(
	    a, sm_json_first_str(a->annotations, "description", "summary", (const char *)NULL));
	a->raw = json_incref(element);
}

/* NULL when the payload has Alertmanager's shape, else why not. */
static const char *shape_error(json_t *payload)
{
	if (!json_is_array(json_object_get(payload, "alerts")))
		return "no alerts array";
	if (!json_is_string(json_object_get(payload, "status")))
		return "no status";
	if (!json_is_string(json_object_get(payload, "groupKey")) &&
	    !json_is_string(json_object_get(payload, "receiver")) &&
	    !json_is_object(json_object_get(payload, "groupLabels")) &&
	    !json_is_object(json_object_get(payload, "commonLabels")))
		return "none of groupKey, receiver, groupLabels, commonLabels";
	return NULL;
}

bool sm_driver_alertmanager_detect(json_t *payload)
{
	return shape_error(payload) == NULL;
}

int sm_driver_alertmanager_parse(json_t *payload, sm_alert_batch *batch, sm_error *err)
{
	const char *why = shape_error(payload);
	json_t *alerts = json_object_get(payload, "alerts"), *element;
	size_t i;

	if (why) {
		sm_error_set(err, "invalid Alertmanager payload: %s", why);
		return -1;
	}
	json_array_foreach(alerts, i, element)
	{
		sm_alert *a;
		if (!json_is_object(element))
			continue;
		a = sm_batch_add(batch);
		if (!a) {
			sm_error_set(err, "out of memory");
			return -1;
		}
		alert_from(a, element);
	}
	return 0;
}
