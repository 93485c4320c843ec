/* driver_zabbix.c - Zabbix's webhook media type. Zabbix has no fixed
 * payload: the media type's parameters decide the keys. This driver reads
 * the conventional names, each filled from the Zabbix macro of the same
 * name: event_source {EVENT.SOURCE}, event_value {EVENT.VALUE} (1 problem,
 * 0 recovery), event_id, event_name, event_status, event_severity,
 * event_date/event_time, trigger_id, trigger_name, trigger_severity,
 * trigger_status, host_name, host_ip, host_group, item_name, item_value,
 * alert_message, zabbix_url. One alert per payload.
 *
 * Quirks tolerated, and why:
 * - Zabbix's parameters are strings, but a custom webhook script may
 *   send numbers: event_value 0, ids and severity 0-5 as JSON numbers
 *   mean the same as their strings.
 * - severities come as names ("High", "Not classified") or as
 *   {EVENT.NSEVERITY} digits, depending on the macro used.
 * - {EVENT.DATE} is "YYYY.MM.DD" and {EVENT.TIME} "HH:MM:SS", in the
 *   server's local time with no zone; they are taken as UTC, the only
 *   reading that needs no guess. DD.MM.YYYY and ISO forms are accepted.
 * - {EVENT.ID} of a recovery message is the problem's event id, so it is
 *   the fingerprint that lets the recovery resolve the problem.
 * - a field of the wrong type is treated as absent, never as an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drivers.h"

/* Zabbix severity names and numbers ({EVENT.NSEVERITY}); others: warning. */
static const struct {
	const char *word;
	enum sm_severity severity;
} severities[] = {
    {"disaster", SM_SEVERITY_CRITICAL},
    {"high", SM_SEVERITY_CRITICAL},
    {"average", SM_SEVERITY_WARNING},
    {"warning", SM_SEVERITY_WARNING},
    {"information", SM_SEVERITY_INFO},
    {"not classified", SM_SEVERITY_INFO},
    {"5", SM_SEVERITY_CRITICAL},
    {"4", SM_SEVERITY_CRITICAL},
    {"3", SM_SEVERITY_WARNING},
    {"2", SM_SEVERITY_WARNING},
    {"1", SM_SEVERITY_INFO},
    {"0", SM_SEVERITY_INFO},
};

bool sm_driver_zabbix_detect(json_t *payload)
{
	static const char *const keys[] = {"event_id", "trigger_id", "trigger_name",
	                                   "trigger_severity", "host_name"};
	int found = 0;

	if (sm_json_has(payload, "event_source") && sm_json_has(payload, "event_value"))
		return true;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		found += sm_json_has(payload, keys[i]);
	return found >= 2;
}

/* A value as text when it carries one: a non-empty string or any number
 * (0 included: it is a value, a severity, not a missing id). */
static char *value_text(json_t *v)
{
	if (json_is_number(v))
		return sm_json_text(v);
	if (json_is_string(v) && *json_string_value(v))
		return strdup(json_string_value(v));
	return NULL;
}

static bool text_is(json_t *v, const char *word)
{
	char *text = value_text(v);
	bool same = text && strcasecmp(text, word) == 0;

	free(text);
	return same;
}

static bool recovered(json_t *p)
{
	json_t *event_status = json_object_get(p, "event_status");

	return text_is(json_object_get(p, "event_value"), "0") ||
	       text_is(json_object_get(p, "trigger_status"), "OK") ||
	       text_is(event_status, "RESOLVED") || text_is(event_status, "OK");
}

static enum sm_severity severity_of(json_t *p)
{
	char *text = value_text(json_object_get(p, "trigger_severity"));
	enum sm_severity severity = SM_SEVERITY_WARNING;

	if (!text)
		text = value_text(json_object_get(p, "event_severity"));
	for (size_t i = 0; text && i < sizeof severities / sizeof severities[0]; i++)
		if (strcasecmp(text, severities[i].word) == 0) {
			severity = severities[i].severity;
			break;
		}
	free(text);
	return severity;
}

/* "YYYY.MM.DD[ HH:MM:SS]" and "DD.MM.YYYY[ HH:MM:SS]" rewritten as ISO;
 * other text is left for sm_alert_time as it is. */
static int zabbix_time(const char *text, struct timespec *out)
{
	char iso[64];
	const char *rest = "";
	int y, m, d, n = 0;
	json_t *v;
	int rc;

	while (*text == ' ')
		text++;
	if (sscanf(text, "%4d.%2d.%2d%n", &y, &m, &d, &n) == 3 && n == 10)
		rest = text + n;
	else if (sscanf(text, "%2d.%2d.%4d%n", &d, &m, &y, &n) == 3 && n == 10)
		rest = text + n;
	else
		n = 0;
	if (n)
		snprintf(iso, sizeof iso, "%04d-%02d-%02d%.40s", y, m, d, rest);
	else
		snprintf(iso, sizeof iso, "%.63s", text);
	/* trailing blanks, as when event_time is empty */
	for (size_t len = strlen(iso); len > 0 && iso[len - 1] == ' '; len--)
		iso[len - 1] = '\0';
	v = json_string(iso);
	rc = v ? sm_alert_time(v, 0, out) : 0;
	json_decref(v);
	return rc;
}

static void set_started(sm_alert *a, json_t *p)
{
	const char *date = sm_json_str(p, "event_date");
	const char *time_of_day = json_string_value(json_object_get(p, "event_time"));
	json_t *stamp = json_object_get(p, "event_timestamp");
	struct timespec ts;
	int rc;

	if (date) {
		char *text = NULL;
		if (asprintf(&text, "%s %s", date, time_of_day ? time_of_day : "") < 0)
			return;
		rc = zabbix_time(text, &ts);
		free(text);
	} else if (json_is_string(stamp)) {
		rc = zabbix_time(json_string_value(stamp), &ts);
	} else {
		rc = sm_alert_time(stamp, 0, &ts); /* {EVENT.TIMESTAMP}: seconds */
	}
	if (rc == 1) {
		a->started_at = ts;
		a->started_set = true;
	}
}

static void set_description(sm_alert *a, json_t *p)
{
	const char *text = sm_json_first_str(p, "alert_message", "event_message", SM_KEYS_END);
	const char *item = sm_json_str(p, "item_name");
	char *value = value_text(json_object_get(p, "item_value")), *line = NULL;

	if (text)
		sm_alert_set_description(a, text);
	else if (item && value && asprintf(&line, "%s: %s", item, value) >= 0)
		sm_alert_set_description(a, line);
	free(line);
	free(value);
}

int sm_driver_zabbix_parse(json_t *payload, sm_alert_batch *batch, sm_error *err)
{
	const char *name = sm_json_first_str(payload, "trigger_name", "event_name", SM_KEYS_END);
	static const char *const optional[] = {"item_name", "host_group"};
	char *fingerprint, *item_value;
	sm_alert *a;

	if (!sm_driver_zabbix_detect(payload)) {
		sm_error_set(err, "invalid Zabbix payload: expected event_source and event_value, "
		                  "or two of event_id, trigger_id, trigger_name, trigger_severity, "
		                  "host_name");
		return -1;
	}
	a = sm_batch_add(batch);
	if (!a) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	a->raw = json_incref(payload);
	sm_alert_set_name(a, name ? name : "Zabbix Alert");
	a->resolved = recovered(payload);
	a->severity = severity_of(payload);
	sm_alert_label(a, "alertname", a->name);
	sm_alert_label(a, "host_name", json_string_value(json_object_get(payload, "host_name")));
	sm_alert_label(a, "host_ip", json_string_value(json_object_get(payload, "host_ip")));
	sm_alert_label_json(a, "trigger_id", json_object_get(payload, "trigger_id"));
	sm_alert_label_json(a, "event_id", json_object_get(payload, "event_id"));
	for (size_t i = 0; i < sizeof optional / sizeof optional[0]; i++)
		if (sm_json_str(payload, optional[i]))
			sm_alert_label(a, optional[i], sm_json_str(payload, optional[i]));
	set_started(a, payload);
	fingerprint = sm_json_id(json_object_get(payload, "event_id"));
	if (!fingerprint)
		fingerprint = sm_json_id(json_object_get(payload, "trigger_id"));
	sm_alert_set_fingerprint(a, fingerprint);
	free(fingerprint);
	set_description(a, payload);
	item_value = sm_json_text(json_object_get(payload, "item_value"));
	sm_alert_annotation(a, "item_value", item_value);
	free(item_value);
	sm_alert_annotation(a, "zabbix_url",
	                    json_string_value(json_object_get(payload, "zabbix_url")));
	return 0;
}
