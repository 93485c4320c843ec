/* driver_opsgenie.c - Opsgenie's outgoing webhook integration: one alert
 * per callback, {"action": "Create"|"Acknowledge"|"Close"|…, "alert":
 * {alertId, tinyId, alias, message, priority P1-P5, tags[], createdAt in
 * ms, …}, "integrationId", "integrationName", "source": {…}}.
 *
 * Quirks tolerated, and why:
 * - Acknowledge, AddNote and the other callbacks stay firing: only Close
 *   and Delete (and "resolve", which the original also took) mean the
 *   problem is gone; an acknowledged alert is still a problem.
 * - "alert" may be null or missing: the payload is still Opsgenie's when
 *   it names the integration (integrationId and integrationName).
 * - tags are free text; the common "key:value" tags become labels (split
 *   at the first colon), any other tag a "tag_<tag>" label set to "true".
 * - the priority is compared case-insensitively ("p2" is P2).
 * - a field of the wrong type is treated as absent, never as an error.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drivers.h"

/* Opsgenie priorities; anything else (and the default P3) is warning. */
static const struct {
	const char *priority;
	enum sm_severity severity;
} priorities[] = {
    {"P1", SM_SEVERITY_CRITICAL}, {"P2", SM_SEVERITY_CRITICAL}, {"P3", SM_SEVERITY_WARNING},
    {"P4", SM_SEVERITY_INFO},     {"P5", SM_SEVERITY_INFO},
};

/* Actions after which the alert no longer exists in Opsgenie. */
static const char *const resolving_actions[] = {"close", "delete", "resolve"};

/* Copied to labels when non-empty, after the tags so they win. */
static const char *const alert_fields[] = {"entity", "alias", "team", "source"};

bool sm_driver_opsgenie_detect(json_t *payload)
{
	json_t *alert = json_object_get(payload, "alert");

	if (sm_json_has(payload, "action") &&
	    (sm_json_has(alert, "alertId") || sm_json_has(alert, "tinyId")))
		return true;
	return sm_json_has(payload, "integrationId") && sm_json_has(payload, "integrationName");
}

static void tag_labels(sm_alert *a, json_t *tags)
{
	size_t i;
	json_t *tag;

	json_array_foreach(tags, i, tag)
	{
		const char *text = json_string_value(tag), *colon;
		char *key;
		if (!text || !*text)
			continue;
		colon = strchr(text, ':');
		if (colon && colon > text) {
			key = strndup(text, (size_t)(colon - text));
			if (key)
				sm_alert_label(a, key, colon + 1);
		} else if (asprintf(&key, "tag_%s", text) >= 0) {
			sm_alert_label(a, key, "true");
		} else {
			key = NULL;
		}
		free(key);
	}
}

int sm_driver_opsgenie_parse(json_t *payload, sm_alert_batch *batch, sm_error *err)
{
	json_t *alert = json_object_get(payload, "alert");
	const char *action = json_string_value(json_object_get(payload, "action"));
	const char *priority = sm_json_str(alert, "priority");
	char act[64] = "", prio[16] = "P3", *fingerprint;
	struct timespec ts;
	sm_alert *a;

	if (!sm_driver_opsgenie_detect(payload)) {
		sm_error_set(err,
		             "invalid Opsgenie payload: expected an action with an alert "
		             "carrying alertId or tinyId, or integrationId and integrationName");
		return -1;
	}
	a = sm_batch_add(batch);
	if (!a) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	a->raw = json_incref(payload);
	for (size_t i = 0; action && action[i] && i < sizeof act - 1; i++)
		act[i] = (char)tolower((unsigned char)action[i]);
	for (size_t i = 0; priority && priority[i] && i < sizeof prio - 1; i++) {
		prio[i] = (char)toupper((unsigned char)priority[i]);
		prio[i + 1] = '\0';
	}

	sm_alert_set_name(a, sm_json_str(alert, "message"));
	if (!a->name)
		sm_alert_set_name(a, "Opsgenie Alert");
	for (size_t i = 0; i < sizeof resolving_actions / sizeof resolving_actions[0]; i++)
		if (strcmp(act, resolving_actions[i]) == 0)
			a->resolved = true;
	for (size_t i = 0; i < sizeof priorities / sizeof priorities[0]; i++)
		if (strcmp(prio, priorities[i].priority) == 0)
			a->severity = priorities[i].severity;

	tag_labels(a, json_object_get(alert, "tags"));
	/* After the tags: an "alertname:x" tag must not rename the alert. */
	sm_alert_label(a, "alertname", a->name);
	sm_alert_label_json(a, "alert_id", json_object_get(alert, "alertId"));
	sm_alert_label_json(a, "tiny_id", json_object_get(alert, "tinyId"));
	sm_alert_label(a, "priority", prio);
	for (size_t i = 0; i < sizeof alert_fields / sizeof alert_fields[0]; i++) {
		const char *value = sm_json_str(alert, alert_fields[i]);
		if (value)
			sm_alert_label(a, alert_fields[i], value);
	}

	/* createdAt is epoch milliseconds; seconds are accepted too. */
	if (sm_alert_time(json_object_get(alert, "createdAt"), 1e10, &ts) == 1) {
		a->started_at = ts;
		a->started_set = true;
	}
	/* alertId is Opsgenie's own id; alias is the sender's dedup key. */
	fingerprint = sm_json_id(json_object_get(alert, "alertId"));
	if (!fingerprint)
		fingerprint = sm_json_id(json_object_get(alert, "alias"));
	sm_alert_set_fingerprint(a, fingerprint);
	free(fingerprint);
	sm_alert_set_description(a, json_string_value(json_object_get(alert, "description")));
	sm_alert_annotation(a, "action", act);
	sm_alert_annotation(a, "username", json_string_value(json_object_get(alert, "username")));
	return 0;
}
