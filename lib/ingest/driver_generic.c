/* driver_generic.c - the fallback for custom integrations and scripts: an
 * object that is one alert, or {"alerts": [alert objects]}. An alert
 * object may carry name (or alert_name, title, alertname, labels.alertname),
 * status or state, severity (or priority, level), description (or message,
 * summary, text), fingerprint, labels, annotations, started_at (or
 * startsAt, timestamp, time) and ended_at (or endsAt, resolved_at).
 *
 * Auto-detection gives generic an object with an alerts array or a name
 * under one of the keys above; any other object reaches it only when the
 * driver is forced (where it becomes one "Unknown Alert"). The alerts'
 * source is the payload's top-level "source" when that is a usable name
 * (see set_source), else "generic".
 *
 * Quirks tolerated, and why:
 * - "ok", "normal" and "resolved" resolve, whether sent as status or as
 *   state: scripts copy their monitor's word for "recovered" into either
 *   key. An explicit status "firing" wins over the state.
 * - without a known severity word, priority (high/critical/p1 → critical,
 *   low/p3/p4 → info) or level (error/critical → critical, info/debug →
 *   info) decide; a numeric severity is such an unknown word.
 * - label values are stringified (numbers and booleans as JSON text, null
 *   as ""), because scripts send whatever type their data has.
 * - epoch times above 1e12 are milliseconds (JavaScript's Date.now()).
 * - a field of the wrong type is treated as absent; an element of alerts
 *   that is not an object is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drivers.h"

/* Words for "the problem is gone", in status or state. */
static const char *const resolved_words[] = {"resolved", "ok", "normal"};

/* When severity is not critical/warning/info: the first row whose field
 * holds the word decides (critical rows first); none → warning. */
static const struct {
	const char *field, *word;
	enum sm_severity severity;
} severity_hints[] = {
    {"priority", "critical", SM_SEVERITY_CRITICAL}, {"priority", "high", SM_SEVERITY_CRITICAL},
    {"priority", "p1", SM_SEVERITY_CRITICAL},       {"level", "critical", SM_SEVERITY_CRITICAL},
    {"level", "error", SM_SEVERITY_CRITICAL},       {"priority", "info", SM_SEVERITY_INFO},
    {"priority", "low", SM_SEVERITY_INFO},          {"priority", "p3", SM_SEVERITY_INFO},
    {"priority", "p4", SM_SEVERITY_INFO},           {"level", "info", SM_SEVERITY_INFO},
    {"level", "debug", SM_SEVERITY_INFO},
};

static const char *const started_keys[] = {"started_at", "startsAt", "timestamp", "time"};
static const char *const ended_keys[] = {"ended_at", "endsAt", "resolved_at"};

bool sm_driver_generic_detect(json_t *payload)
{
	static const char *const names[] = {"name", "alert_name", "title", "alertname"};
	json_t *labels = json_object_get(payload, "labels");
	const char *source = json_string_value(json_object_get(payload, "source"));

	/* An agent's push is the cluster driver's, even where that is off:
	 * filing it under generic would bypass the hub's secret. */
	if (source && strcmp(source, "cluster") == 0 &&
	    json_is_array(json_object_get(payload, "alerts")))
		return false;
	if (json_is_array(json_object_get(payload, "alerts")))
		return true;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		json_t *v = json_object_get(payload, names[i]);
		if (v && !json_is_null(v))
			return true;
	}
	return json_object_get(labels, "alertname") != NULL &&
	       !json_is_null(json_object_get(labels, "alertname"));
}

static bool is_word(const char *text, const char *const *words, size_t n)
{
	for (size_t i = 0; text && i < n; i++)
		if (strcasecmp(text, words[i]) == 0)
			return true;
	return false;
}

static bool resolved(json_t *e)
{
	const char *status = sm_json_str(e, "status"), *state = sm_json_str(e, "state");
	size_t n = sizeof resolved_words / sizeof resolved_words[0];

	if (is_word(status, resolved_words, n))
		return true;
	if (status && strcasecmp(status, "firing") == 0)
		return false;
	return is_word(state, resolved_words, n);
}

static enum sm_severity severity_of(json_t *e)
{
	char *severity = sm_json_text(json_object_get(e, "severity"));
	int known = -1;

	for (int s = SM_SEVERITY_INFO; severity && s <= SM_SEVERITY_CRITICAL; s++)
		if (strcasecmp(severity, sm_severity_name((enum sm_severity)s)) == 0)
			known = s;
	free(severity);
	if (known > 0)
		return (enum sm_severity)known;
	for (size_t i = 0; i < sizeof severity_hints / sizeof severity_hints[0]; i++) {
		const char *hint = json_string_value(json_object_get(e, severity_hints[i].field));
		if (hint && strcasecmp(hint, severity_hints[i].word) == 0)
			return severity_hints[i].severity;
	}
	return SM_SEVERITY_WARNING;
}

static void set_time(json_t *e, const char *const *keys, size_t n, struct timespec *at, bool *set)
{
	struct timespec ts;

	for (size_t i = 0; i < n; i++)
		if (sm_alert_time(json_object_get(e, keys[i]), 1e12, &ts) == 1) {
			*at = ts;
			*set = true;
			return;
		}
}

static int parse_alert(json_t *e, sm_alert *a)
{
	json_t *labels = json_object_get(e, "labels"),
	       *annotations = json_object_get(e, "annotations");
	json_t *value;
	const char *name =
	    sm_json_first_str(e, "name", "alert_name", "title", "alertname", SM_KEYS_END);
	const char *key;
	char *fingerprint;

	a->raw = json_incref(e);
	sm_alert_set_name(a, name ? name : sm_json_str(labels, "alertname"));
	a->resolved = resolved(e);
	a->severity = severity_of(e);
	json_object_foreach(labels, key, value)
	{
		char *text = sm_json_text(value);
		if (!text)
			return -1;
		sm_alert_label(a, key, text);
		free(text);
	}
	fingerprint = sm_json_id(json_object_get(e, "fingerprint"));
	sm_alert_set_fingerprint(a, fingerprint);
	free(fingerprint);
	if (json_is_object(annotations) && json_object_update(a->annotations, annotations) < 0)
		return -1;
	set_time(e, started_keys, sizeof started_keys / sizeof started_keys[0], &a->started_at,
	         &a->started_set);
	if (a->resolved)
		set_time(e, ended_keys, sizeof ended_keys / sizeof ended_keys[0], &a->ended_at,
		         &a->ended_set);
	sm_alert_set_description(
	    a, sm_json_first_str(e, "description", "message", "summary", "text", SM_KEYS_END));
	return 0;
}

/* The payload's "source" as an alert source: [A-Za-z0-9_.-] only, at most
 * 63 characters. Empty, or another driver's name (a generic payload must
 * not pose as a vendor whose route may demand a signature), is "generic". */
static void set_source(json_t *payload, sm_alert_batch *batch)
{
	const char *source = json_string_value(json_object_get(payload, "source"));
	size_t n = 0;

	for (; source && *source && n < sizeof batch->source - 1; source++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
		           *source))
			batch->source[n++] = *source;
	batch->source[n] = '\0';
	if (n == 0 || sm_driver_find(batch->source))
		snprintf(batch->source, sizeof batch->source, "generic");
}

int sm_driver_generic_parse(json_t *payload, sm_alert_batch *batch, sm_error *err)
{
	json_t *alerts = json_object_get(payload, "alerts"), *e;
	size_t i;

	set_source(payload, batch);
	if (!json_is_array(alerts)) {
		sm_alert *a = sm_batch_add(batch);
		if (!a || parse_alert(payload, a) < 0)
			goto oom;
		return 0;
	}
	json_array_foreach(alerts, i, e)
	{
		if (!json_is_object(e)) {
			sm_error_set(err, "invalid generic payload: alerts[%zu] is not an object",
			             i);
			return -1;
		}
	}
	json_array_foreach(alerts, i, e)
	{
		sm_alert *a = sm_batch_add(batch);
		if (!a || parse_alert(e, a) < 0)
			goto oom;
	}
	return 0;
oom:
	sm_error_set(err, "out of memory");
	return -1;
}
