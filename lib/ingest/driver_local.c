/* driver_local.c - sm-check results as alerts (sm-check --alerts, or
 * `sm-check --json | sm-ingest -d local`).
 *
 * The payload is a check envelope: "host" and "checks" [{checker, status,
 * message, metrics}]. Each result is one alert with the fingerprint
 * "<checker>-<host>" and labels checker and hostname, so one host's checker
 * is one incident. A non-OK result fires (critical → critical, warning and
 * unknown → warning); an OK result resolves that fingerprint's alert, and
 * creates nothing when there is none (batch->no_create_resolved). Internal:
 * never auto-detected, never reachable by URL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers.h"
#include "sm/json.h"

bool sm_driver_local_detect(json_t *payload)
{
	(void)payload;
	return false;
}

int sm_driver_local_parse(json_t *payload, sm_alert_batch *batch, sm_error *err)
{
	json_t *checks = json_object_get(payload, "checks"), *check;
	const char *host = sm_json_str(payload, "host");
	size_t i;

	if (!json_is_array(checks) || !host) {
		sm_error_set(err, "invalid local payload: expected an sm-check envelope with "
		                  "\"host\" and \"checks\"");
		return -1;
	}
	batch->no_create_resolved = true;
	json_array_foreach(checks, i, check)
	{
		const char *checker = sm_json_str(check, "checker");
		const char *status = sm_json_str(check, "status");
		const char *message = sm_json_str(check, "message");
		json_t *metrics = json_object_get(check, "metrics");
		char *fingerprint = NULL;
		sm_alert *a;

		if (!checker || !status) {
			sm_error_set(
			    err, "invalid local payload: checks[%zu] lacks checker or status", i);
			return -1;
		}
		a = sm_batch_add(batch);
		if (!a || asprintf(&fingerprint, "%s-%s", checker, host) < 0) {
			sm_error_set(err, "out of memory");
			return -1;
		}
		sm_alert_set_fingerprint(a, fingerprint);
		free(fingerprint);
		sm_alert_set_name(a, checker);
		sm_alert_set_description(a, message ? message : "");
		a->resolved = strcmp(status, "ok") == 0;
		a->severity =
		    strcmp(status, "critical") == 0 ? SM_SEVERITY_CRITICAL : SM_SEVERITY_WARNING;
		sm_alert_label(a, "checker", checker);
		sm_alert_label(a, "hostname", host);
		if (json_is_object(metrics) && json_object_size(metrics) > 0) {
			char *text = sm_json_dump(metrics, NULL);
			sm_alert_annotation(a, "metrics", text);
			free(text);
		}
		a->raw = json_incref(check);
	}
	return 0;
}
