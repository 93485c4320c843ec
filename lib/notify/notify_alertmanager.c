/* notify_alertmanager.c - Prometheus Alertmanager's API v2: the envelope's
 * alerts as one JSON array POSTed to <url>/api/v2/alerts of every replica
 * of a cluster, which deduplicates them. A firing alert goes without
 * endsAt, so Alertmanager ends it after its resolve_timeout unless it is
 * sent again (the channel's resend_interval, the driver's repeat_interval
 * default); a resolved one goes with endsAt, which ends it at once.
 *
 * The delivery succeeds when at least one replica took it (2xx); the
 * others are named in the outcome's error. A replica that refused it for
 * good (a 4xx other than 408 and 429) is not tried again; when none took
 * it, the others are retried as any driver's transient failure is. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify_drivers.h"
#include "sm/http.h"
#include "sm/json.h"
#include "sm/rfc3339.h"

#define AM_API_PATH "/api/v2/alerts"

static const notify_key alertmanager_keys[] = {
    {"urls", NOTIFY_KEY_URL_LIST, true, false, SM_TEMPLATE_TEXT},
    {"api_key", NOTIFY_KEY_STRING, false, true, SM_TEMPLATE_TEXT},
    {"timeout", NOTIFY_KEY_SECONDS, false, false, SM_TEMPLATE_TEXT},
    {"resend_interval", NOTIFY_KEY_SECONDS, false, false, SM_TEMPLATE_TEXT},
    {NULL, NOTIFY_KEY_STRING, false, false, SM_TEMPLATE_TEXT},
};

/* A label name Alertmanager takes: [a-zA-Z_][a-zA-Z0-9_]*, other bytes
 * made '_'. malloc'd. */
static char *label_name(const char *name)
{
	char *s = strdup(name);

	for (size_t i = 0; s && s[i]; i++)
		if (!(isalpha((unsigned char)s[i]) || s[i] == '_' ||
		      (i > 0 && isdigit((unsigned char)s[i]))))
			s[i] = '_';
	return s;
}

/* Set obj's key to value unless it has a non-empty string there already. */
static void set_default(json_t *obj, const char *key, const char *value)
{
	const char *have = json_string_value(json_object_get(obj, key));

	if ((!have || !*have) && value && *value)
		json_object_set_new(obj, key, sm_json_string(value));
}

/* obj's string members with non-empty values, names made label names. */
static json_t *string_members(json_t *obj, bool names)
{
	json_t *out = json_object(), *v;
	const char *k;

	json_object_foreach(obj, k, v)
	{
		char *name = names ? label_name(k) : strdup(k);
		if (name && *name && json_is_string(v) && json_string_length(v) > 0)
			json_object_set(out, name, v);
		free(name);
	}
	return out;
}

/* One alert of the envelope in Alertmanager's form. */
static json_t *am_alert(const notify_job *job, json_t *alert, const char *now)
{
	json_t *env = job->env, *incident = json_object_get(env, "incident");
	json_t *labels = string_members(json_object_get(alert, "labels"), true);
	json_t *notes = string_members(json_object_get(alert, "annotations"), false);
	json_t *out = json_object();
	const char *source = json_string_value(json_object_get(env, "source"));
	const char *v;
	char why[128];

	/* The cluster knows an alert by its labels: alertname must not change
	 * while the alert lives. An agent's alert is named "<checker>: <its
	 * message>", which does, so its checker names it. */
	set_default(labels, "alertname", json_string_value(json_object_get(labels, "checker")));
	set_default(labels, "alertname", json_string_value(json_object_get(alert, "name")));
	set_default(labels, "alertname", "sm");
	set_default(labels, "severity", json_string_value(json_object_get(alert, "severity")));
	set_default(labels, "instance", json_string_value(json_object_get(labels, "hostname")));
	set_default(labels, "instance", json_string_value(json_object_get(env, "host")));
	/* Ours: where sm got the alert from, whatever the labels said. */
	json_object_set_new(labels, "sm_source", sm_json_string(source && *source ? source : "sm"));

	set_default(notes, "summary", json_string_value(json_object_get(job->context, "title")));
	set_default(notes, "description", json_string_value(json_object_get(alert, "description")));
	if (json_is_integer(json_object_get(incident, "id"))) {
		char id[32];
		snprintf(id, sizeof id, "%lld",
		         (long long)json_integer_value(json_object_get(incident, "id")));
		json_object_set_new(notes, "sm_incident_id", json_string(id));
		set_default(notes, "sm_incident_title",
		            json_string_value(json_object_get(incident, "title")));
	}
	if (json_is_object(json_object_get(env, "analysis")))
		set_default(notes, "sm_analysis",
		            json_string_value(json_object_get(job->context, "summary")));

	json_object_set_new(out, "labels", labels);
	json_object_set_new(out, "annotations", notes);
	v = json_string_value(json_object_get(alert, "started_at"));
	if (v && *v)
		json_object_set_new(out, "startsAt", sm_json_string(v));
	if (json_is_string(json_object_get(alert, "status")) &&
	    strcmp(json_string_value(json_object_get(alert, "status")), "resolved") == 0) {
		v = json_string_value(json_object_get(alert, "ended_at"));
		json_object_set_new(out, "endsAt", sm_json_string(v && *v ? v : now));
	}
	v = json_string_value(json_object_get(alert, "generator_url"));
	if (v && sm_http_url_ok(v, why, sizeof why))
		json_object_set_new(out, "generatorURL", sm_json_string(v));
	return out;
}

static int alertmanager_prepare(const notify_job *job, notify_message *msg, sm_error *err)
{
	json_t *body = json_array(), *urls = json_object_get(job->config, "urls"), *v;
	const char *key = notify_cfg_str(job->config, "api_key", NULL);
	char now[SM_RFC3339_LEN];
	size_t i;

	sm_rfc3339_now(now, true);
	json_array_foreach(json_object_get(job->env, "alerts"), i, v)
	{
		if (json_is_object(v))
			json_array_append_new(body, am_alert(job, v, now));
	}
	msg->body = sm_json_dump(body, &msg->body_len);
	json_decref(body);
	msg->targets =
	    calloc(json_array_size(urls) ? json_array_size(urls) : 1, sizeof *msg->targets);
	if (!msg->body || !msg->targets ||
	    notify_message_header(msg, "Content-Type", "application/json") < 0)
		goto oom;
	if (key && *key) {
		char *auth = NULL;
		int rc;
		if (asprintf(&auth, "Bearer %s", key) < 0)
			goto oom;
		rc = notify_message_header(msg, "Authorization", auth);
		free(auth);
		if (rc < 0)
			goto oom;
	}
	json_array_foreach(urls, i, v)
	{
		const char *base = json_string_value(v);
		size_t n = base ? strlen(base) : 0;
		if (!base)
			continue;
		while (n > 0 && base[n - 1] == '/')
			n--;
		if (asprintf(&msg->targets[msg->ntargets].url, "%.*s%s", (int)n, base,
		             AM_API_PATH) < 0)
			goto oom;
		msg->ntargets++;
	}
	if (msg->ntargets == 0) {
		sm_error_set(err, "no Alertmanager URL configured (urls)");
		return -1;
	}
	return 0;
oom:
	sm_error_set(err, "out of memory");
	return -1;
}

/* Post msg to each replica not yet settled; ok when one took it so far. */
static void alertmanager_send(const notify_job *job, const notify_message *msg, notify_outcome *out)
{
	double timeout = notify_cfg_num(job->config, "timeout", job->timeout_s);
	size_t took = 0, failed = 0, used = 0;

	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < msg->ntargets; i++) {
		notify_target *t = &msg->targets[i];
		sm_http_request req = {
		    .url = t->url,
		    .headers = (const char *const *)msg->headers,
		    .body = msg->body,
		    .body_len = msg->body_len,
		    .timeout_s = timeout,
		};
		sm_http_response res = {0};

		if (t->state != NOTIFY_TARGET_PENDING)
			continue;
		if (sm_http_client_send(job->http, &req, &res) < 0) {
			snprintf(t->error, sizeof t->error, "%s", res.error);
			t->state = res.transient ? NOTIFY_TARGET_PENDING : NOTIFY_TARGET_REFUSED;
		} else if (res.status >= 200 && res.status < 300) {
			t->state = NOTIFY_TARGET_TOOK;
			t->error[0] = '\0';
		} else {
			char text[101];
			size_t j = 0;
			/* The start of the answer, printable: Alertmanager says why. */
			for (size_t k = 0; res.body && k < res.body_len && j + 1 < sizeof text; k++)
				text[j++] = (unsigned char)res.body[k] < ' ' ? ' ' : res.body[k];
			text[j] = '\0';
			snprintf(t->error, sizeof t->error, "HTTP %ld%s%s", res.status,
			         j ? ": " : "", text);
			t->state = res.transient ? NOTIFY_TARGET_PENDING : NOTIFY_TARGET_REFUSED;
		}
		if (res.status)
			out->http_status = res.status;
		sm_http_response_clear(&res);
	}
	for (size_t i = 0; i < msg->ntargets; i++) {
		const notify_target *t = &msg->targets[i];
		if (t->state == NOTIFY_TARGET_TOOK) {
			took++;
			continue;
		}
		failed++;
		out->transient = out->transient || t->state == NOTIFY_TARGET_PENDING;
	}
	out->ok = took > 0;
	if (out->ok)
		out->transient = false;
	if (failed == 0)
		return;
	used = (size_t)snprintf(out->error, sizeof out->error,
	                        "%zu of %zu replicas did not take it", failed, msg->ntargets);
	for (size_t i = 0; i < msg->ntargets && used < sizeof out->error; i++) {
		const notify_target *t = &msg->targets[i];
		int n;
		if (t->state == NOTIFY_TARGET_TOOK)
			continue;
		n = snprintf(out->error + used, sizeof out->error - used, "; %s: %s", t->url,
		             t->error);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

const notify_driver notify_driver_alertmanager = {
    .name = "alertmanager",
    .description = "Prometheus Alertmanager API v2, to every replica of a cluster",
    .keys = alertmanager_keys,
    .template_mode = SM_TEMPLATE_JSON,
    .prepare = alertmanager_prepare,
    .send = alertmanager_send,
    .repeat_default_s = 60,
    .repeat_key = "resend_interval",
    .keep_alive = true,
};
