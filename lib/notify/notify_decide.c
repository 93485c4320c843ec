/* notify_decide.c - when to notify: for one channel and one envelope,
 * send or skip, and why. A pure function of the envelope, the channel's
 * configuration, the age of the channel's last sent message about the
 * same incident and noise control's findings: no store, no clock, so a
 * table of cases tests it whole.
 *
 * The decision is an ordered list of rules (the rules[] table). A rule may
 * skip the envelope (final, with its reason) or mark it due (the reason it
 * is sent); the first skip wins. Noise control (silences, inhibition,
 * maintenance windows, flapping, acknowledgement) sits between the change
 * rule and the still-wrong rule, in that order, each a skip with its
 * reason; the store facts it needs come in a struct notify_noise. */
#include <string.h>

#include "notify_private.h"

static const char *const severity_names[] = {"info", "warning", "critical"};

int notify_severity_rank(const char *s)
{
	for (int i = 0; s && i < 3; i++)
		if (strcmp(s, severity_names[i]) == 0)
			return i;
	return -1;
}

int notify_check_rank(const char *status)
{
	if (!status || strcmp(status, "ok") == 0)
		return -1;
	if (strcmp(status, "critical") == 0)
		return 2;
	return 1;
}

bool notify_str_is(json_t *obj, const char *key, const char *value)
{
	const char *v = json_string_value(json_object_get(obj, key));
	return v && strcmp(v, value) == 0;
}

const char *sm_notify_severity(json_t *env)
{
	json_t *incident = json_object_get(env, "incident"), *v;
	int worst = -1;
	size_t i;

	if (json_is_object(incident)) {
		int r =
		    notify_severity_rank(json_string_value(json_object_get(incident, "severity")));
		if (r >= 0)
			return severity_names[r];
	}
	json_array_foreach(json_object_get(env, "alerts"), i, v)
	{
		int r = notify_severity_rank(json_string_value(json_object_get(v, "severity")));
		worst = r > worst ? r : worst;
	}
	if (worst < 0) {
		json_array_foreach(json_object_get(env, "checks"), i, v)
		{
			int r = notify_check_rank(json_string_value(json_object_get(v, "status")));
			worst = r > worst ? r : worst;
		}
	}
	return severity_names[worst < 0 ? 0 : worst];
}

const char *sm_notify_event(json_t *env)
{
	static const struct {
		const char *change, *event;
	} incident_events[] =
	    {
	        {"created", "incident created"},
	        {"reopened", "incident reopened"},
	        {"resolved", "incident resolved"},
	        {"escalated", "severity rose"},
	    },
	  alert_events[] = {
	      {"created", "alert created"},
	      {"refired", "alert refired"},
	      {"resolved", "alert resolved"},
	  };
	json_t *incident = json_object_get(env, "incident"), *a;
	size_t i;

	/* An alert starting or stopping to flap says more than the refire or
	 * resolution (and the incident's reopening) that tipped it. */
	json_array_foreach(json_object_get(env, "alerts"), i, a)
	{
		if (notify_str_is(a, "flapping_change", "started"))
			return "flapping started";
		if (notify_str_is(a, "flapping_change", "stopped"))
			return "flapping stopped";
	}
	if (json_is_object(incident)) {
		for (size_t k = 0; k < sizeof incident_events / sizeof incident_events[0]; k++)
			if (notify_str_is(incident, "change", incident_events[k].change))
				return incident_events[k].event;
		if (json_is_string(json_object_get(incident, "previous_severity")))
			return "severity rose";
	}
	for (size_t k = 0; k < sizeof alert_events / sizeof alert_events[0]; k++) {
		json_array_foreach(json_object_get(env, "alerts"), i, a)
		{
			if (notify_str_is(a, "change", alert_events[k].change))
				return alert_events[k].event;
		}
	}
	return NULL;
}

/* What a rule sees. */
struct facts {
	json_t *env;
	json_t *config;
	double last_sent_age_s;           /* < 0: never sent */
	const struct notify_noise *noise; /* never NULL */
};

/* A rule returns the reason to skip, or NULL to go on; it may set *due
 * to the reason the envelope is sent. */
typedef const char *rule_fn(const struct facts *f, const char **due);

static const char *min_severity(const struct facts *f, const char **due)
{
	const char *min = notify_cfg_str(f->config, "min_severity", "info");

	(void)due;
	if (notify_severity_rank(sm_notify_severity(f->env)) < notify_severity_rank(min))
		return "below min_severity";
	return NULL;
}

/* Something changed that is worth a message: due whatever comes after,
 * but for the noise control rules. */
static const char *change(const struct facts *f, const char **due)
{
	const char *event = sm_notify_event(f->env);

	if (event)
		*due = event;
	return NULL;
}

/* Noise control: skips even news. What applies was found beforehand
 * (notify_noise.c); each rule names the first thing it found. */
static const char *silenced(const struct facts *f, const char **due)
{
	(void)due;
	return *f->noise->silenced ? f->noise->silenced : NULL;
}

static const char *inhibited(const struct facts *f, const char **due)
{
	(void)due;
	return *f->noise->inhibited ? f->noise->inhibited : NULL;
}

static const char *in_maintenance(const struct facts *f, const char **due)
{
	(void)due;
	return *f->noise->maintenance ? f->noise->maintenance : NULL;
}

/* Whether the alert is news: created, refired or resolved, or started or
 * stopped flapping. */
static bool alert_is_news(json_t *a)
{
	static const char *const changes[] = {"created", "refired", "resolved"};

	if (json_is_string(json_object_get(a, "flapping_change")))
		return true;
	for (size_t k = 0; k < sizeof changes / sizeof changes[0]; k++)
		if (notify_str_is(a, "change", changes[k]))
			return true;
	return false;
}

/* While the alerts the envelope is about flap, nothing is said about them
 * but that they started or stopped flapping. The alerts it is about are
 * those that are news, or all of them when none is (a reminder): a
 * sender's group repeats its steady alerts beside the flapping one. */
static const char *flapping(const struct facts *f, const char **due)
{
	json_t *alerts = json_object_get(f->env, "alerts"), *a;
	size_t i, news = 0, concerned = 0;

	(void)due;
	json_array_foreach(alerts, i, a)
	{
		news += alert_is_news(a);
	}
	json_array_foreach(alerts, i, a)
	{
		if (news && !alert_is_news(a))
			continue;
		if (!json_is_true(json_object_get(a, "flapping")) ||
		    json_is_string(json_object_get(a, "flapping_change")))
			return NULL;
		concerned++;
	}
	return concerned ? "flapping" : NULL;
}

/* Someone is on an acknowledged incident: only a rise of its severity is
 * worth a message (its resolution or reopening ends the acknowledgement,
 * and so does the rise, in the store). */
static const char *acknowledged(const struct facts *f, const char **due)
{
	json_t *incident = json_object_get(f->env, "incident");

	(void)due;
	if (!json_is_object(incident) || !notify_str_is(incident, "status", "acknowledged"))
		return NULL;
	if (notify_str_is(incident, "change", "escalated") ||
	    json_is_string(json_object_get(incident, "previous_severity")))
		return NULL;
	return "acknowledged";
}

/* Without news, only something still wrong is worth a reminder. */
static const char *still_wrong(const struct facts *f, const char **due)
{
	json_t *incident = json_object_get(f->env, "incident"), *v;
	json_t *alerts = json_object_get(f->env, "alerts"),
	       *checks = json_object_get(f->env, "checks");
	size_t i;

	if (*due)
		return NULL;
	if (json_is_object(incident))
		return notify_str_is(incident, "status", "open") ? NULL : "incident not open";
	if (json_array_size(alerts) > 0) {
		json_array_foreach(alerts, i, v)
		{
			if (notify_str_is(v, "status", "firing"))
				return NULL;
		}
		return "no alert firing";
	}
	json_array_foreach(checks, i, v)
	{
		if (notify_check_rank(json_string_value(json_object_get(v, "status"))) >= 0)
			return NULL;
	}
	return json_array_size(checks) ? "all checks ok" : "nothing to report";
}

static const char *repeat_interval(const struct facts *f, const char **due)
{
	double repeat = notify_cfg_num(f->config, "repeat_interval", SM_NOTIFY_REPEAT_INTERVAL);

	if (*due)
		return NULL;
	if (repeat <= 0)
		*due = "repeat_interval 0";
	else if (f->last_sent_age_s < 0)
		*due = "not sent before";
	else if (f->last_sent_age_s >= repeat)
		*due = "reminder";
	else
		return "unchanged within repeat_interval";
	return NULL;
}

/* In order; the first skip wins. */
static rule_fn *const rules[] = {
    min_severity, change,       silenced,    inhibited,       in_maintenance,
    flapping,     acknowledged, still_wrong, repeat_interval,
};

sm_notify_decision sm_notify_decide(json_t *env, json_t *config, double last_sent_age_s)
{
	return notify_decide(env, config, last_sent_age_s, NULL);
}

sm_notify_decision notify_decide(json_t *env, json_t *config, double last_sent_age_s,
                                 const struct notify_noise *noise)
{
	static const struct notify_noise quiet;
	const struct facts f = {env, config, last_sent_age_s, noise ? noise : &quiet};
	const char *due = NULL;

	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		const char *skip = rules[i](&f, &due);
		if (skip)
			return (sm_notify_decision){false, skip};
	}
	/* The last rule marks anything it lets through as due. */
	return (sm_notify_decision){due != NULL, due ? due : "nothing to report"};
}
