/* driver_cluster.c - pushes from sm agents to this hub (sm-push-hub, and
 * the original system's push_to_hub): {"source": "cluster", "instance_id",
 * "hostname", "version", "alerts": [{fingerprint, name, status, severity,
 * started_at, ended_at, description, labels, annotations, metrics}]}, one
 * alert per element, one element per checker. The table row is enabled
 * only with CLUSTER_ENABLED=1 (alert.c checks that).
 *
 * The agent's identity is the top-level instance_id: it overrides any
 * instance_id label (and hostname, when sent, the hostname label), so one
 * agent cannot file alerts under another's name by editing labels, and it
 * is handed to the hub as batch->agent, also for a push with no alerts
 * (an agent that is alive but has nothing to report).
 *
 * Quirks tolerated, and why:
 * - label values are stringified (numbers and booleans as JSON text, null
 *   as ""): agents build labels from checker output, whatever its type.
 * - the checker's metrics object is kept as compact JSON text in the
 *   metrics annotation, so it survives the store's text annotations.
 * - ended_at is read only for resolved alerts: agents send "ended_at":
 *   null (or a stale time) for firing ones.
 * - a field of the wrong type is treated as absent; an element of alerts
 *   that is not an object, or a payload without the shape, is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers.h"
#include "sm/json.h"

bool sm_driver_cluster_detect(json_t *payload)
{
	const char *source = json_string_value(json_object_get(payload, "source"));

	return source && strcmp(source, "cluster") == 0 && sm_json_str(payload, "instance_id") &&
	       json_is_array(json_object_get(payload, "alerts"));
}

static void set_time(json_t *v, struct timespec *at, bool *set)
{
	struct timespec ts;

	/* Agents send ISO 8601 with an offset; epoch numbers are accepted
	 * too (milliseconds above 1e12). */
	if (sm_alert_time(v, 1e12, &ts) == 1) {
		*at = ts;
		*set = true;
	}
}

static int parse_alert(json_t *e, const char *instance_id, const char *hostname, sm_alert *a)
{
	json_t *labels = json_object_get(e, "labels"),
	       *annotations = json_object_get(e, "annotations");
	json_t *metrics = json_object_get(e, "metrics"), *value;
	const char *key;
	char *fingerprint;

	a->raw = json_incref(e);
	sm_alert_set_name(a, sm_json_str(e, "name"));
	sm_alert_set_status(a, json_string_value(json_object_get(e, "status")));
	a->severity = sm_severity_normalize(json_string_value(json_object_get(e, "severity")));
	json_object_foreach(labels, key, value)
	{
		char *text = sm_json_text(value);
		if (!text)
			return -1;
		sm_alert_label(a, key, text);
		free(text);
	}
	sm_alert_label(a, "instance_id", instance_id);
	if (hostname)
		sm_alert_label(a, "hostname", hostname);
	/* The agents send "<checker>-<instance_id>"; without one, the generic
	 * rule over the final labels (sm_batch_finish). */
	fingerprint = sm_json_id(json_object_get(e, "fingerprint"));
	sm_alert_set_fingerprint(a, fingerprint);
	free(fingerprint);
	if (json_is_object(annotations) && json_object_update(a->annotations, annotations) < 0)
		return -1;
	if (json_is_object(metrics) && json_object_size(metrics) > 0) {
		char *text = sm_json_dump(metrics, NULL);
		if (!text)
			return -1;
		sm_alert_annotation(a, "metrics", text);
		free(text);
	}
	set_time(json_object_get(e, "started_at"), &a->started_at, &a->started_set);
	if (a->resolved)
		set_time(json_object_get(e, "ended_at"), &a->ended_at, &a->ended_set);
	sm_alert_set_description(a, json_string_value(json_object_get(e, "description")));
	return 0;
}

int sm_driver_cluster_parse(json_t *payload, sm_alert_batch *batch, sm_error *err)
{
	const char *source = json_string_value(json_object_get(payload, "source"));
	const char *instance_id = sm_json_str(payload, "instance_id");
	const char *hostname = sm_json_str(payload, "hostname");
	json_t *alerts = json_object_get(payload, "alerts"), *e;
	size_t i;

	if (!json_is_array(alerts)) {
		sm_error_set(err, "invalid cluster payload: alerts is not an array");
		return -1;
	}
	if (!source || strcmp(source, "cluster") != 0) {
		sm_error_set(err, "invalid cluster payload: source is not \"cluster\"");
		return -1;
	}
	if (!instance_id) {
		sm_error_set(err, "invalid cluster payload: instance_id is missing or empty");
		return -1;
	}
	json_array_foreach(alerts, i, e)
	{
		if (!json_is_object(e)) {
			sm_error_set(err, "invalid cluster payload: alerts[%zu] is not an object",
			             i);
			return -1;
		}
	}
	batch->agent = json_pack("{s:s,s:s}", "instance_id", instance_id, "hostname",
	                         hostname ? hostname : "");
	if (!batch->agent)
		goto oom;
	json_array_foreach(alerts, i, e)
	{
		sm_alert *a = sm_batch_add(batch);
		if (!a || parse_alert(e, instance_id, hostname, a) < 0)
			goto oom;
	}
	return 0;
oom:
	sm_error_set(err, "out of memory");
	return -1;
}
