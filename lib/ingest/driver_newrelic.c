/* driver_newrelic.c - New Relic alert notifications, in both formats:
 *
 * - classic: the notification channel webhook (account_id, current_state,
 *   condition_name, incident_id, severity, targets[], timestamp in ms);
 * - workflow: a workflow destination's payload template (issueUrl with
 *   issueId, id or accumulations; title, state, priority, createdAt in ms).
 *
 * One alert per payload. A workflow payload also carries title/state, which
 * is why it must be claimed here and not by a title/state-shaped driver.
 * Quirks tolerated, and why:
 * - "acknowledged" (either format) stays firing: someone is working on the
 *   problem, it has not gone away.
 * - ids arrive as numbers (classic account_id, condition_id, incident_id)
 *   or strings (workflow issueId); both are kept as their text.
 * - New Relic's default workflow template names the issue id "id", not
 *   "issueId"; "id" is read when "issueId" is absent.
 * - an empty accumulations.conditionName array means no condition name.
 * - a field of the wrong type (a number for a name, null for a state) is
 *   treated as absent, never as an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drivers.h"

struct severity_word {
	const char *word;
	enum sm_severity severity;
};

/* Classic "severity" ($SEVERITY: CRITICAL, WARNING, INFO; custom payloads
 * also use high/medium/low). Anything else is warning. */
static const struct severity_word classic_severities[] = {
    {"critical", SM_SEVERITY_CRITICAL}, {"high", SM_SEVERITY_CRITICAL},
    {"warning", SM_SEVERITY_WARNING},   {"medium", SM_SEVERITY_WARNING},
    {"low", SM_SEVERITY_INFO},          {"info", SM_SEVERITY_INFO},
};

/* Workflow "priority" (CRITICAL, HIGH, MEDIUM, LOW): LOW, and a priority
 * that is missing or unknown, is info. */
static const struct severity_word workflow_priorities[] = {
    {"critical", SM_SEVERITY_CRITICAL},
    {"high", SM_SEVERITY_CRITICAL},
    {"medium", SM_SEVERITY_WARNING},
};

static enum sm_severity severity_of(const char *text, const struct severity_word *table, size_t n,
                                    enum sm_severity otherwise)
{
	for (size_t i = 0; text && i < n; i++)
		if (strcasecmp(text, table[i].word) == 0)
			return table[i].severity;
	return otherwise;
}

static bool is_workflow(json_t *p)
{
	return sm_json_has(p, "issueUrl") && (sm_json_has(p, "accumulations") ||
	                                      sm_json_has(p, "issueId") || sm_json_has(p, "id"));
}

static bool is_classic(json_t *p)
{
	static const char *const keys[] = {"condition_id", "incident_id", "policy_name",
	                                   "condition_name"};
	int found = 0;

	if (sm_json_has(p, "account_id") && sm_json_has(p, "current_state"))
		return true;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		found += sm_json_has(p, keys[i]);
	return found >= 2;
}

bool sm_driver_newrelic_detect(json_t *payload)
{
	return is_workflow(payload) || is_classic(payload);
}

static void set_started(sm_alert *a, json_t *v)
{
	struct timespec ts;

	/* Both formats send epoch milliseconds; a custom template may send
	 * seconds or an ISO string. */
	if (sm_alert_time(v, 1e10, &ts) == 1) {
		a->started_at = ts;
		a->started_set = true;
	}
}

static bool state_closed(json_t *p, const char *key)
{
	const char *state = json_string_value(json_object_get(p, key));

	return state && strcasecmp(state, "closed") == 0;
}

static void parse_classic(json_t *p, sm_alert *a)
{
	const char *name = sm_json_first_str(p, "condition_name", "policy_name", SM_KEYS_END);
	json_t *targets = json_object_get(p, "targets");
	char *fingerprint = sm_json_id(json_object_get(p, "incident_id"));

	sm_alert_set_name(a, name ? name : "New Relic Alert");
	a->resolved = state_closed(p, "current_state");
	a->severity = severity_of(
	    json_string_value(json_object_get(p, "severity")), classic_severities,
	    sizeof classic_severities / sizeof classic_severities[0], SM_SEVERITY_WARNING);
	sm_alert_label(a, "alertname", a->name);
	sm_alert_label_json(a, "account_id", json_object_get(p, "account_id"));
	sm_alert_label(a, "account_name", json_string_value(json_object_get(p, "account_name")));
	sm_alert_label_json(a, "condition_id", json_object_get(p, "condition_id"));
	sm_alert_label(a, "policy_name", json_string_value(json_object_get(p, "policy_name")));
	sm_alert_label_json(a, "incident_id", json_object_get(p, "incident_id"));
	/* The first three targets name what the incident is about; an element
	 * that is not an object still takes its index, so target_<i> keeps
	 * pointing at targets[i]. */
	for (size_t i = 0; i < 3 && i < json_array_size(targets); i++) {
		json_t *t = json_array_get(targets, i);
		char key[32];
		if (!json_is_object(t))
			continue;
		snprintf(key, sizeof key, "target_%zu_name", i);
		sm_alert_label(a, key, json_string_value(json_object_get(t, "name")));
		snprintf(key, sizeof key, "target_%zu_type", i);
		sm_alert_label(a, key, json_string_value(json_object_get(t, "type")));
	}
	set_started(a, json_object_get(p, "timestamp"));
	sm_alert_set_fingerprint(a, fingerprint);
	free(fingerprint);
	sm_alert_set_description(a, json_string_value(json_object_get(p, "details")));
	sm_alert_annotation(a, "incident_url",
	                    json_string_value(json_object_get(p, "incident_url")));
	sm_alert_annotation(a, "runbook_url", json_string_value(json_object_get(p, "runbook_url")));
}

static void parse_workflow(json_t *p, sm_alert *a)
{
	json_t *conditions = json_object_get(json_object_get(p, "accumulations"), "conditionName");
	const char *name = sm_json_str(p, "title");
	json_t *issue = json_object_get(p, "issueId");
	char *issue_id;

	if (!name)
		name = json_string_value(json_array_get(conditions, 0));
	sm_alert_set_name(a, name && *name ? name : "New Relic Alert");
	a->resolved = state_closed(p, "state");
	a->severity = severity_of(
	    json_string_value(json_object_get(p, "priority")), workflow_priorities,
	    sizeof workflow_priorities / sizeof workflow_priorities[0], SM_SEVERITY_INFO);
	if (!issue || json_is_null(issue))
		issue = json_object_get(p, "id");
	issue_id = sm_json_id(issue);
	sm_alert_label(a, "alertname", a->name);
	sm_alert_label(a, "issue_id", issue_id);
	set_started(a, json_object_get(p, "createdAt"));
	sm_alert_set_fingerprint(a, issue_id);
	free(issue_id);
	sm_alert_set_description(a, json_string_value(json_object_get(p, "description")));
	sm_alert_annotation(a, "issue_url", json_string_value(json_object_get(p, "issueUrl")));
}

int sm_driver_newrelic_parse(json_t *payload, sm_alert_batch *batch, sm_error *err)
{
	sm_alert *a;

	if (!sm_driver_newrelic_detect(payload)) {
		sm_error_set(err,
		             "invalid New Relic payload: expected issueUrl with issueId, id or "
		             "accumulations (workflow), or account_id and current_state or two "
		             "of condition_id, incident_id, policy_name, condition_name (classic)");
		return -1;
	}
	a = sm_batch_add(batch);
	if (!a) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	a->raw = json_incref(payload);
	if (is_workflow(payload))
		parse_workflow(payload, a);
	else
		parse_classic(payload, a);
	return 0;
}
