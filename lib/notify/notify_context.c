/* notify_context.c - the context templates render against: the envelope's
 * members plus what a message needs and an envelope does not say outright
 * (a title, the severity and status as words, counts, the alerts split by
 * status, the failing checks, lists marked first/last for separators).
 * The names are listed in sm-envelope(5), TEMPLATES. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify_private.h"
#include "sm/alert.h"
#include "sm/json.h"

/* Mark each element of an array with first/last, for separators. */
static void mark_ends(json_t *list)
{
	size_t i, n = json_array_size(list);
	json_t *v;

	json_array_foreach(list, i, v)
	{
		if (!json_is_object(v))
			continue;
		json_object_set_new(v, "first", json_boolean(i == 0));
		json_object_set_new(v, "last", json_boolean(i + 1 == n));
	}
}

/* An object's members as [{name, value}] (sections cannot walk objects). */
static json_t *pairs(json_t *obj)
{
	json_t *list = json_array(), *v;
	const char *k;

	json_object_foreach(obj, k, v)
	{
		json_array_append_new(list, json_pack("{s:s,s:O}", "name", k, "value", v));
	}
	mark_ends(list);
	return list;
}

/* A new array of list's elements, each object a shallow copy (json_copy:
 * its members shared), so the copy can take members of its own (first,
 * last, labels_list) without touching list's. */
static json_t *copy_objects(json_t *list)
{
	json_t *out = json_array(), *v;
	size_t i;

	json_array_foreach(list, i, v)
	{
		json_array_append_new(out, json_is_object(v) ? json_copy(v) : json_incref(v));
	}
	return out;
}

static const char *label(json_t *alert, const char *name)
{
	return json_string_value(json_object_get(json_object_get(alert, "labels"), name));
}

/* The incident's title; else the first alert's name, with " on <instance>"
 * unless the name says where already; else a count of failing checks. */
static char *make_title(json_t *env, json_t *incident, json_t *alerts, size_t failing)
{
	const char *t = json_string_value(json_object_get(incident, "title"));
	const char *host = json_string_value(json_object_get(env, "host"));
	json_t *first = json_array_get(alerts, 0);
	char *s = NULL;

	if (t && *t)
		return strdup(t);
	if (first) {
		const char *name = json_string_value(json_object_get(first, "name"));
		const char *inst = label(first, "instance");
		size_t n = json_array_size(alerts);
		if (!inst)
			inst = label(first, "hostname");
		if (inst && name && sm_alert_mentions(name, inst))
			inst = NULL;
		if (asprintf(&s, "%s%s%s%s", name ? name : "alert", inst ? " on " : "",
		             inst ? inst : "", n > 1 ? " and more" : "") < 0)
			s = NULL;
		return s;
	}
	if (asprintf(&s, "%zu check%s not ok on %s", failing, failing == 1 ? "" : "s",
	             host ? host : "this host") < 0)
		s = NULL;
	return s;
}

static void upper(char *s)
{
	for (; *s; s++)
		*s = (char)toupper((unsigned char)*s);
}

/* The context shares the envelope's values but for what it changes: the
 * alert and check objects (copies get the marks and lists) and the
 * notifications list (sm-notify appends to the envelope's as it goes). A
 * deep copy of the envelope was a fifth of an envelope's instructions. */
json_t *sm_notify_context(json_t *env, const char *channel)
{
	json_t *ctx = json_is_object(env) ? json_copy(env) : json_object();
	static const char *const copied[] = {"alerts", "checks", "notifications"};
	json_t *incident, *alerts, *checks, *analysis;
	json_t *firing = json_array(), *resolved = json_array(), *failing = json_array();
	json_t *recs = json_array(), *v;
	const char *severity = sm_notify_severity(env), *event = sm_notify_event(env);
	const char *instance = NULL, *status;
	char *title, *message = NULL, word[16];
	size_t i;

	for (i = 0; i < sizeof copied / sizeof copied[0]; i++)
		if (json_is_array(json_object_get(ctx, copied[i])))
			json_object_set_new(ctx, copied[i],
			                    copy_objects(json_object_get(ctx, copied[i])));
	incident = json_object_get(ctx, "incident");
	alerts = json_object_get(ctx, "alerts");
	checks = json_object_get(ctx, "checks");
	analysis = json_object_get(ctx, "analysis");
	if (!json_is_object(incident))
		incident = NULL;
	json_array_foreach(alerts, i, v)
	{
		if (!json_is_object(v))
			continue;
		json_object_set_new(v, "labels_list", pairs(json_object_get(v, "labels")));
		json_object_set_new(v, "annotations_list",
		                    pairs(json_object_get(v, "annotations")));
		if (!instance)
			instance =
			    label(v, "instance") ? label(v, "instance") : label(v, "hostname");
	}
	mark_ends(alerts);
	mark_ends(checks);
	/* Copies, so that first/last of the sub-lists are their own. */
	json_array_foreach(alerts, i, v)
	{
		if (json_is_object(v))
			json_array_append_new(notify_str_is(v, "status", "resolved") ? resolved
			                                                             : firing,
			                      json_copy(v));
	}
	json_array_foreach(checks, i, v)
	{
		if (json_is_object(v) &&
		    notify_check_rank(json_string_value(json_object_get(v, "status"))) >= 0)
			json_array_append_new(failing, json_copy(v));
	}
	json_array_foreach(json_object_get(analysis, "recommendations"), i, v)
	{
		if (json_is_object(v))
			json_array_append_new(recs, json_copy(v));
		else if (json_is_string(v))
			json_array_append_new(recs, json_pack("{s:O}", "title", v));
	}
	mark_ends(firing);
	mark_ends(resolved);
	mark_ends(failing);
	mark_ends(recs);

	if (incident)
		status = notify_str_is(incident, "status", "resolved") ||
		                 notify_str_is(incident, "status", "closed")
		             ? "resolved"
		             : "firing";
	else if (json_array_size(alerts))
		status = json_array_size(firing) ? "firing" : "resolved";
	else
		status = json_array_size(failing) ? "firing" : "ok";
	if (!instance)
		instance = json_string_value(json_object_get(ctx, "host"));

	title = make_title(ctx, incident, alerts, json_array_size(failing));
	if (json_array_size(alerts)) {
		if (asprintf(&message, "%zu alert%s: %zu firing, %zu resolved",
		             json_array_size(alerts), json_array_size(alerts) == 1 ? "" : "s",
		             json_array_size(firing), json_array_size(resolved)) < 0)
			message = NULL;
	} else if (json_array_size(checks)) {
		if (asprintf(&message, "%zu of %zu checks not ok", json_array_size(failing),
		             json_array_size(checks)) < 0)
			message = NULL;
	}

	json_object_set_new(ctx, "channel", channel ? sm_json_string(channel) : json_null());
	json_object_set_new(ctx, "title", sm_json_string(title ? title : "sm notification"));
	json_object_set_new(ctx, "message", sm_json_string(message ? message : ""));
	json_object_set_new(ctx, "severity", json_string(severity));
	snprintf(word, sizeof word, "%s", severity);
	upper(word);
	json_object_set_new(ctx, "SEVERITY", json_string(word));
	json_object_set_new(ctx, "status", json_string(status));
	snprintf(word, sizeof word, "%s", status);
	upper(word);
	json_object_set_new(ctx, "STATUS", json_string(word));
	json_object_set_new(ctx, "is_resolved", json_boolean(strcmp(status, "resolved") == 0));
	json_object_set_new(ctx, "is_firing", json_boolean(strcmp(status, "firing") == 0));
	json_object_set_new(ctx, "event", json_string(event ? event : ""));
	json_object_set_new(ctx, "incident_id",
	                    incident && json_is_integer(json_object_get(incident, "id"))
	                        ? json_incref(json_object_get(incident, "id"))
	                        : json_null());
	json_object_set_new(ctx, "instance", sm_json_string(instance ? instance : ""));
	json_object_set_new(ctx, "color",
	                    json_string(strcmp(status, "resolved") == 0     ? "#28a745"
	                                : strcmp(severity, "critical") == 0 ? "#dc3545"
	                                : strcmp(severity, "warning") == 0  ? "#ffc107"
	                                                                    : "#17a2b8"));
	json_object_set_new(ctx, "alert_count", json_integer((json_int_t)json_array_size(alerts)));
	json_object_set_new(ctx, "firing_count", json_integer((json_int_t)json_array_size(firing)));
	json_object_set_new(ctx, "resolved_count",
	                    json_integer((json_int_t)json_array_size(resolved)));
	json_object_set_new(ctx, "check_count", json_integer((json_int_t)json_array_size(checks)));
	json_object_set_new(ctx, "checks_failed",
	                    json_integer((json_int_t)json_array_size(failing)));
	json_object_set_new(ctx, "alerts_firing", firing);
	json_object_set_new(ctx, "alerts_resolved", resolved);
	json_object_set_new(ctx, "checks_failing", failing);
	json_object_set_new(ctx, "recommendations", recs);
	json_object_set(ctx, "summary",
	                json_is_string(json_object_get(analysis, "summary"))
	                    ? json_object_get(analysis, "summary")
	                    : json_null());
	free(title);
	free(message);
	return ctx;
}
