/* test_notify.c - sm-notify's core: when to notify, the template context,
 * channel configurations (typed, validated, masked), channels in the
 * store, and each driver's rendered request, built without sending. */
#include "notify/notify_drivers.h"
#include "sm/hmac.h"
#include "sm/notify.h"
#include "testutil.h"

static json_t *load(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, 0, &jerr);

	if (!v)
		fail_msg("bad test JSON: %s: %s", jerr.text, text);
	return v;
}

/* An incident envelope: incident change/status/severity, one alert with a
 * change. */
static json_t *incident_env(const char *change, const char *status, const char *severity,
                            const char *alert_change)
{
	return json_pack("{s:i,s:s,s:s,s:{s:i,s:s,s:s,s:s,s:s,s:s},s:[{s:s,s:s,s:s,s:s,s:s,s:{s:s,"
	                 "s:s},s:{},s:s}]}",
	                 "v", 1, "trace_id", "0123456789abcdef0123456789abcdef", "source",
	                 "alertmanager", "incident", "id", 42, "title", "DiskFull on db-01",
	                 "status", status, "severity", severity, "source", "alertmanager", "change",
	                 change, "alerts", "fingerprint", "fp1", "name", "DiskFull", "status",
	                 strcmp(status, "resolved") == 0 ? "resolved" : "firing", "severity",
	                 severity, "description", "disk / is 91% full", "labels", "alertname",
	                 "DiskFull", "instance", "db-01", "annotations", "change", alert_change);
}

static json_t *checks_env(const char *s1, const char *s2)
{
	return json_pack("{s:i,s:s,s:s,s:n,s:[],s:[{s:s,s:s,s:s},{s:s,s:s,s:s}]}", "v", 1, "source",
	                 "local", "host", "web-1", "incident", "alerts", "checks", "checker",
	                 "disk", "status", s1, "message", "/ at 50%", "checker", "memory", "status",
	                 s2, "message", "memory at 95%");
}

/* An incident envelope as JSON text: incident change, status and
 * severity, and one alert's change and status. */
#define INCIDENT(change, status, severity, alert_change, alert_status)                             \
	"{\"v\":1,\"incident\":{\"id\":42,\"title\":\"DiskFull on db-01\",\"status\":\"" status    \
	"\",\"severity\":\"" severity "\",\"change\":\"" change "\"},\"alerts\":[{\"name\":"       \
	"\"DiskFull\",\"status\":\"" alert_status "\",\"severity\":\"" severity                    \
	"\",\"change\":\"" alert_change "\"}]}"
#define CHECKS(s1, s2)                                                                             \
	"{\"v\":1,\"host\":\"web-1\",\"incident\":null,\"alerts\":[],\"checks\":[{\"checker\":"    \
	"\"disk\",\"status\":\"" s1 "\"},{\"checker\":\"memory\",\"status\":\"" s2 "\"}]}"
#define NEVER (-1.0)
/* An incident envelope whose alert has flapping members (flap: JSON text). */
#define FLAP(change, status, alert_change, alert_status, flap)                                     \
	"{\"v\":1,\"incident\":{\"id\":42,\"title\":\"A\",\"status\":\"" status                    \
	"\",\"severity\":\"warning\",\"change\":\"" change "\"},\"alerts\":[{\"name\":\"A\","      \
	"\"status\":\"" alert_status "\",\"severity\":\"warning\",\"change\":\"" alert_change      \
	"\"," flap "}]}"
#define FLAPPING     "\"flapping\":true"
#define NOT_FLAPPING "\"flapping\":false"
#define FLAP_STARTED "\"flapping\":true,\"flapping_change\":\"started\""
#define FLAP_STOPPED "\"flapping\":false,\"flapping_change\":\"stopped\""

/* When to notify, case by case: envelope, channel config, seconds since
 * the channel's last sent message about it (NEVER: none), the decision. */
static const struct decide_case {
	const char *what, *env, *config;
	double age;
	bool deliver;
	const char *reason;
} decide_cases[] = {
    /* News is sent, whatever the repeat history. */
    {"incident created", INCIDENT("created", "open", "warning", "created", "firing"), "{}", 10,
     true, "incident created"},
    {"incident resolved", INCIDENT("resolved", "resolved", "warning", "resolved", "resolved"), "{}",
     10, true, "incident resolved"},
    {"incident reopened", INCIDENT("reopened", "open", "warning", "refired", "firing"), "{}", 10,
     true, "incident reopened"},
    {"escalated", INCIDENT("escalated", "open", "critical", "updated", "firing"), "{}", 10, true,
     "severity rose"},
    {"previous_severity alone",
     "{\"incident\":{\"status\":\"open\",\"severity\":\"critical\",\"change\":\"updated\","
     "\"previous_severity\":\"warning\"}}",
     "{}", 10, true, "severity rose"},
    {"an alert joined", INCIDENT("updated", "open", "warning", "created", "firing"), "{}", 10, true,
     "alert created"},
    {"an alert refired", INCIDENT("updated", "open", "warning", "refired", "firing"), "{}", 10,
     true, "alert refired"},
    {"news with repeat_interval 0", INCIDENT("created", "open", "warning", "created", "firing"),
     "{\"repeat_interval\":0}", 0, true, "incident created"},
    /* No news: reminders of what is still wrong. */
    {"updated in place", INCIDENT("updated", "open", "warning", "updated", "firing"), "{}", 10,
     false, "unchanged within repeat_interval"},
    {"unchanged, 100 s", INCIDENT("unchanged", "open", "warning", "unchanged", "firing"), "{}", 100,
     false, "unchanged within repeat_interval"},
    {"unchanged, just inside", INCIDENT("unchanged", "open", "warning", "unchanged", "firing"),
     "{}", 14399, false, "unchanged within repeat_interval"},
    {"unchanged, 4 h", INCIDENT("unchanged", "open", "warning", "unchanged", "firing"), "{}", 14400,
     true, "reminder"},
    {"unchanged, never sent", INCIDENT("unchanged", "open", "warning", "unchanged", "firing"), "{}",
     NEVER, true, "not sent before"},
    {"own repeat_interval, inside", INCIDENT("unchanged", "open", "warning", "unchanged", "firing"),
     "{\"repeat_interval\":60}", 59.5, false, "unchanged within repeat_interval"},
    {"own repeat_interval, passed", INCIDENT("unchanged", "open", "warning", "unchanged", "firing"),
     "{\"repeat_interval\":60}", 60, true, "reminder"},
    {"repeat_interval 0", INCIDENT("unchanged", "open", "warning", "unchanged", "firing"),
     "{\"repeat_interval\":0}", 0, true, "repeat_interval 0"},
    {"resolved: no reminder", INCIDENT("unchanged", "resolved", "warning", "unchanged", "firing"),
     "{\"repeat_interval\":0}", NEVER, false, "incident not open"},
    /* Flapping: one message when it starts, none while it flaps (news or
     * reminder), one when it stops. */
    {"flapping started", FLAP("reopened", "open", "refired", "firing", FLAP_STARTED), "{}", 10,
     true, "flapping started"},
    {"flapping stopped, firing", FLAP("unchanged", "open", "unchanged", "firing", FLAP_STOPPED),
     "{}", 10, true, "flapping stopped"},
    {"flapping stopped, resolved",
     FLAP("unchanged", "resolved", "unchanged", "resolved", FLAP_STOPPED), "{}", 10, true,
     "flapping stopped"},
    {"flapping: a refire", FLAP("reopened", "open", "refired", "firing", FLAPPING), "{}", 10, false,
     "flapping"},
    {"flapping: a resolution", FLAP("resolved", "resolved", "resolved", "resolved", FLAPPING), "{}",
     NEVER, false, "flapping"},
    {"flapping: a reminder", FLAP("unchanged", "open", "unchanged", "firing", FLAPPING), "{}",
     14400, false, "flapping"},
    {"flapping: repeat_interval 0", FLAP("unchanged", "open", "unchanged", "firing", FLAPPING),
     "{\"repeat_interval\":0}", 0, false, "flapping"},
    {"not flapping", FLAP("reopened", "open", "refired", "firing", NOT_FLAPPING), "{}", 10, true,
     "incident reopened"},
    {"flapping below min_severity", FLAP("reopened", "open", "refired", "firing", FLAPPING),
     "{\"min_severity\":\"critical\"}", 10, false, "below min_severity"},
    /* A sender's group repeats its steady alerts beside the flapping one:
     * the news is the flapping one's. */
    {"one alert flaps, another repeats",
     "{\"incident\":{\"status\":\"open\",\"severity\":\"warning\",\"change\":\"updated\"},"
     "\"alerts\":[{\"name\":\"A\",\"status\":\"firing\",\"change\":\"unchanged\",\"flapping\":"
     "false},{\"name\":\"A\",\"status\":\"firing\",\"change\":\"refired\",\"flapping\":true}]}",
     "{}", 10, false, "flapping"},
    {"one alert flaps, another is still wrong",
     "{\"incident\":{\"status\":\"open\",\"severity\":\"warning\",\"change\":\"unchanged\"},"
     "\"alerts\":[{\"name\":\"A\",\"status\":\"firing\",\"change\":\"unchanged\",\"flapping\":"
     "false},{\"name\":\"A\",\"status\":\"firing\",\"change\":\"unchanged\",\"flapping\":true}]}",
     "{}", 14400, true, "reminder"},
    {"two flap, one starts",
     "{\"incident\":{\"status\":\"open\",\"severity\":\"warning\",\"change\":\"updated\"},"
     "\"alerts\":[{\"name\":\"A\",\"status\":\"firing\",\"change\":\"refired\",\"flapping\":"
     "true},{\"name\":\"A\",\"status\":\"firing\",\"change\":\"refired\",\"flapping\":true,"
     "\"flapping_change\":\"started\"}]}",
     "{}", 10, true, "flapping started"},
    {"one alert flaps, another joins",
     "{\"incident\":{\"status\":\"open\",\"severity\":\"warning\",\"change\":\"updated\"},"
     "\"alerts\":[{\"name\":\"A\",\"status\":\"firing\",\"change\":\"refired\",\"flapping\":"
     "true},{\"name\":\"A\",\"status\":\"firing\",\"change\":\"created\",\"flapping\":false}]}",
     "{}", 10, true, "alert created"},
    /* Acknowledged: nothing until the severity rises or it resolves
     * (a resolved or reopened incident is no longer acknowledged). */
    {"acknowledged: no reminder",
     INCIDENT("unchanged", "acknowledged", "warning", "unchanged", "firing"), "{}", NEVER, false,
     "acknowledged"},
    {"acknowledged: repeat_interval 0",
     INCIDENT("unchanged", "acknowledged", "warning", "unchanged", "firing"),
     "{\"repeat_interval\":0}", 0, false, "acknowledged"},
    {"acknowledged: an alert joins",
     INCIDENT("updated", "acknowledged", "warning", "created", "firing"), "{}", NEVER, false,
     "acknowledged"},
    {"acknowledged: an alert resolves",
     INCIDENT("updated", "acknowledged", "warning", "resolved", "resolved"), "{}", NEVER, false,
     "acknowledged"},
    {"acknowledged: severity rose",
     INCIDENT("escalated", "acknowledged", "critical", "updated", "firing"), "{}", 10, true,
     "severity rose"},
    {"acknowledged: previous_severity",
     "{\"incident\":{\"status\":\"acknowledged\",\"severity\":\"critical\",\"change\":"
     "\"updated\",\"previous_severity\":\"warning\"}}",
     "{}", 10, true, "severity rose"},
    {"acknowledged, then resolved",
     INCIDENT("resolved", "resolved", "warning", "resolved", "resolved"), "{}", 10, true,
     "incident resolved"},
    {"acknowledged: flapping starts",
     FLAP("updated", "acknowledged", "refired", "firing", FLAP_STARTED), "{}", 10, false,
     "acknowledged"},
    {"acknowledged and flapping", FLAP("updated", "acknowledged", "refired", "firing", FLAPPING),
     "{}", 10, false, "flapping"},
    /* min_severity comes first. */
    {"below min_severity", INCIDENT("created", "open", "warning", "created", "firing"),
     "{\"min_severity\":\"critical\"}", NEVER, false, "below min_severity"},
    {"at min_severity", INCIDENT("created", "open", "warning", "created", "firing"),
     "{\"min_severity\":\"warning\"}", NEVER, true, "incident created"},
    {"above min_severity", INCIDENT("created", "open", "warning", "created", "firing"),
     "{\"min_severity\":\"info\"}", NEVER, true, "incident created"},
    /* Checks without an incident. */
    {"all checks ok", CHECKS("ok", "ok"), "{}", NEVER, false, "all checks ok"},
    {"a check not ok, never sent", CHECKS("ok", "critical"), "{}", NEVER, true, "not sent before"},
    {"a check not ok, sent lately", CHECKS("ok", "critical"), "{}", 10, false,
     "unchanged within repeat_interval"},
    {"a critical check for a critical channel", CHECKS("ok", "critical"),
     "{\"min_severity\":\"critical\"}", NEVER, true, "not sent before"},
    {"unknown is a warning", CHECKS("unknown", "ok"), "{\"min_severity\":\"critical\"}", NEVER,
     false, "below min_severity"},
    /* Alerts without an incident. */
    {"a resolve never seen firing",
     "{\"incident\":null,\"alerts\":[{\"name\":\"A\",\"status\":\"resolved\",\"severity\":"
     "\"warning\",\"change\":\"created\"}]}",
     "{}", 10, true, "alert created"},
    {"no alert firing",
     "{\"incident\":null,\"alerts\":[{\"name\":\"A\",\"status\":\"resolved\",\"severity\":"
     "\"warning\",\"change\":\"unchanged\"}]}",
     "{}", NEVER, false, "no alert firing"},
    {"an empty envelope", "{\"v\":1}", "{}", NEVER, false, "nothing to report"},
};

static void decide_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof decide_cases / sizeof decide_cases[0]; i++) {
		const struct decide_case *c = &decide_cases[i];
		json_t *e = load(c->env), *config = load(c->config);
		sm_notify_decision d = sm_notify_decide(e, config, c->age);

		if (d.deliver != c->deliver || !d.reason || strcmp(d.reason, c->reason) != 0)
			fail_msg("%s: decided %d '%s', want %d '%s'", c->what, d.deliver,
			         d.reason ? d.reason : "(null)", c->deliver, c->reason);
		json_decref(config);
		json_decref(e);
	}
}

static void severity_and_event(void **state)
{
	json_t *e = load(CHECKS("ok", "critical"));

	(void)state;
	assert_string_equal(sm_notify_severity(e), "critical");
	assert_null(sm_notify_event(e));
	json_decref(e);
	e = load(CHECKS("unknown", "ok"));
	assert_string_equal(sm_notify_severity(e), "warning");
	json_decref(e);
	e = load("{\"v\":1}");
	assert_string_equal(sm_notify_severity(e), "info");
	assert_null(sm_notify_event(e));
	json_decref(e);
	e = load(INCIDENT("updated", "open", "critical", "resolved", "resolved"));
	assert_string_equal(sm_notify_event(e), "alert resolved");
	json_decref(e);
	/* Flapping news says more than the refire that tipped it. */
	e = load(FLAP("reopened", "open", "refired", "firing", FLAP_STARTED));
	assert_string_equal(sm_notify_event(e), "flapping started");
	json_decref(e);
	e = load(FLAP("resolved", "resolved", "resolved", "resolved", FLAP_STOPPED));
	assert_string_equal(sm_notify_event(e), "flapping stopped");
	json_decref(e);
}

/* --- the context ------------------------------------------------------------
 */

static const char *ctx_str(json_t *ctx, const char *key)
{
	const char *v = json_string_value(json_object_get(ctx, key));

	if (!v)
		fail_msg("context has no string '%s'", key);
	return v;
}

static void context_of_an_incident(void **state)
{
	json_t *e = incident_env("created", "open", "critical", "created"), *ctx, *a, *l;
	char *before, *after;

	(void)state;
	json_array_append_new(json_object_get(e, "alerts"),
	                      load("{\"name\":\"Other\",\"status\":\"resolved\",\"severity\":"
	                           "\"warning\",\"labels\":{},\"change\":\"resolved\"}"));
	json_object_set_new(e, "analysis",
	                    load("{\"summary\":\"disk filling\",\"recommendations\":["
	                         "{\"title\":\"Clean /var\",\"priority\":\"high\"},\"plain\"]}"));
	json_object_set_new(e, "checks", load("[{\"checker\":\"disk\",\"status\":\"critical\"}]"));
	json_object_set_new(e, "notifications", load("[{\"channel\":\"earlier\"}]"));
	before = sm_json_dump(e, NULL);
	ctx = sm_notify_context(e, "ops");
	/* What the stage adds to the envelope later is not in the context. */
	json_array_append_new(json_object_get(e, "notifications"), load("{\"channel\":\"ops\"}"));
	assert_int_equal(json_array_size(json_object_get(ctx, "notifications")), 1);
	json_array_remove(json_object_get(e, "notifications"), 1);
	assert_string_equal(ctx_str(ctx, "title"), "DiskFull on db-01");
	assert_string_equal(ctx_str(ctx, "severity"), "critical");
	assert_string_equal(ctx_str(ctx, "SEVERITY"), "CRITICAL");
	assert_string_equal(ctx_str(ctx, "status"), "firing");
	assert_string_equal(ctx_str(ctx, "STATUS"), "FIRING");
	assert_string_equal(ctx_str(ctx, "event"), "incident created");
	assert_string_equal(ctx_str(ctx, "channel"), "ops");
	assert_string_equal(ctx_str(ctx, "instance"), "db-01");
	assert_string_equal(ctx_str(ctx, "message"), "2 alerts: 1 firing, 1 resolved");
	assert_string_equal(ctx_str(ctx, "summary"), "disk filling");
	assert_string_equal(ctx_str(ctx, "color"), "#dc3545");
	assert_int_equal(json_integer_value(json_object_get(ctx, "incident_id")), 42);
	assert_int_equal(json_integer_value(json_object_get(ctx, "alert_count")), 2);
	assert_int_equal(json_integer_value(json_object_get(ctx, "firing_count")), 1);
	assert_int_equal(json_integer_value(json_object_get(ctx, "resolved_count")), 1);
	assert_true(json_is_true(json_object_get(ctx, "is_firing")));
	/* first/last on each list, its own on the sub-lists. */
	a = json_object_get(ctx, "alerts");
	assert_true(json_is_true(json_object_get(json_array_get(a, 0), "first")));
	assert_true(json_is_false(json_object_get(json_array_get(a, 0), "last")));
	assert_true(json_is_true(json_object_get(json_array_get(a, 1), "last")));
	assert_true(json_is_true(
	    json_object_get(json_array_get(json_object_get(ctx, "alerts_firing"), 0), "last")));
	l = json_object_get(json_array_get(a, 0), "labels_list");
	assert_int_equal(json_array_size(l), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 1), "name")),
	                    "instance");
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 1), "value")),
	                    "db-01");
	/* A recommendation given as a plain string becomes {title}. */
	l = json_object_get(ctx, "recommendations");
	assert_int_equal(json_array_size(l), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 1), "title")),
	                    "plain");
	/* The envelope itself is untouched (the context shares its values). */
	assert_null(json_object_get(json_array_get(json_object_get(e, "alerts"), 0), "first"));
	after = sm_json_dump(e, NULL);
	assert_string_equal(after, before);
	free(before);
	free(after);
	json_decref(ctx);
	json_decref(e);
}

/* A title made from an alert names the instance once. */
static void titles_name_the_instance_once(void **state)
{
	static const struct {
		const char *name, *instance, *title;
	} cases[] = {
	    {"DiskFull", "db-01", "DiskFull on db-01"},
	    {"Disk full on db-01", "db-01", "Disk full on db-01"},
	    {"db-01: disk full", "db-01", "db-01: disk full"},
	    {"Disk full (db-01)", "db-01", "Disk full (db-01)"},
	    {"Disk full on db-01.", "db-01", "Disk full on db-01."},
	    {"Backup of db-01-old failed", "db-01", "Backup of db-01-old failed on db-01"},
	    {"Disk full on db-011", "db-01", "Disk full on db-011 on db-01"},
	    {"Disk full on db-01.example.org", "db-01", "Disk full on db-01.example.org on db-01"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *e =
		    json_pack("{s:i,s:n,s:[{s:s,s:s,s:s,s:{s:s}}]}", "v", 1, "incident", "alerts",
		              "name", cases[i].name, "status", "firing", "severity", "warning",
		              "labels", "instance", cases[i].instance);
		json_t *ctx = sm_notify_context(e, NULL);

		if (strcmp(ctx_str(ctx, "title"), cases[i].title) != 0)
			fail_msg("%s: title '%s', want '%s'", cases[i].name, ctx_str(ctx, "title"),
			         cases[i].title);
		json_decref(ctx);
		json_decref(e);
	}
}

static void context_of_checks(void **state)
{
	json_t *e = checks_env("ok", "warning"), *ctx;

	(void)state;
	ctx = sm_notify_context(e, NULL);
	assert_string_equal(ctx_str(ctx, "title"), "1 check not ok on web-1");
	assert_string_equal(ctx_str(ctx, "message"), "1 of 2 checks not ok");
	assert_string_equal(ctx_str(ctx, "severity"), "warning");
	assert_string_equal(ctx_str(ctx, "instance"), "web-1");
	assert_true(json_is_null(json_object_get(ctx, "incident_id")));
	assert_int_equal(json_integer_value(json_object_get(ctx, "checks_failed")), 1);
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_array_get(json_object_get(ctx, "checks_failing"), 0), "checker")),
	    "memory");
	json_decref(ctx);
	json_decref(e);
	/* A resolved incident: status word and colour. */
	e = incident_env("resolved", "resolved", "critical", "resolved");
	ctx = sm_notify_context(e, NULL);
	assert_string_equal(ctx_str(ctx, "status"), "resolved");
	assert_string_equal(ctx_str(ctx, "color"), "#28a745");
	assert_true(json_is_true(json_object_get(ctx, "is_resolved")));
	json_decref(ctx);
	json_decref(e);
}

/* --- configurations
 * ------------------------------------------------------------ */

/* Build a config from space-separated words: the exit status, and the
 * error or the config's JSON in out. */
static int build(const char *driver, const char *words, char *out, size_t size)
{
	char *copy = strdup(words), *argv[16], *save = NULL;
	int n = 0, rc;
	json_t *config = NULL;
	sm_error err = {0};

	for (char *w = strtok_r(copy, " ", &save); w && n < 16; w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	rc = sm_notify_config_build(driver, argv, n, &config, &err);
	if (rc == SM_EXIT_OK) {
		char *dump = json_dumps(config, SM_JSON_FLAGS);
		snprintf(out, size, "%s", dump);
		free(dump);
	} else {
		assert_null(config);
		snprintf(out, size, "%s", err.msg);
	}
	json_decref(config);
	free(copy);
	return rc;
}

static void assert_build(const char *driver, const char *words, int rc, const char *want)
{
	char out[1024];
	int got = build(driver, words, out, sizeof out);

	if (got != rc || strcmp(out, want) != 0)
		fail_msg("%s %s: %d '%s', want %d '%s'", driver, words, got, out, rc, want);
}

static void configs_are_typed_and_checked(void **state)
{
	(void)state;
	assert_build("slack", "webhook_url=https://hooks.slack.com/services/T/B/x", 0,
	             "{\"webhook_url\":\"https://hooks.slack.com/services/T/B/x\"}");
	assert_build("nope", "", 64,
	             "unknown driver 'nope' (available: alertmanager, email, exec, generic, "
	             "pagerduty, slack, "
	             "stdout)");
	assert_build("slack", "webhook_url=https://h/x colour=red", 64,
	             "unknown key 'colour' for driver slack (keys: webhook_url, "
	             "repeat_interval, "
	             "min_severity, template_file, timeout_s, retries, backoff_s)");
	assert_build("slack", "", 64, "driver slack needs webhook_url");
	assert_build("pagerduty", "api_url=https://x/", 64,
	             "driver pagerduty needs integration_key");
	assert_build("slack", "webhook_url=hooks.slack.com/x", 64,
	             "webhook_url: not an http(s) URL: URL scheme must be http:// or "
	             "https://");
	assert_build("slack", "webhook_url=https://h/x webhook_url=https://h/y", 64,
	             "webhook_url given twice");
	assert_build("slack", "webhook_url", 64, "expected KEY=VALUE, got 'webhook_url'");
	assert_build("slack", "webhook_url=https://h/x repeat_interval=soon", 64,
	             "repeat_interval: expected seconds from 0 to 1e7 or a duration such as 90s, "
	             "15m, 4h, got 'soon'");
	assert_build("slack", "webhook_url=https://h/x retries=11", 64,
	             "retries: expected a whole number from 0 to 10, got '11'");
	assert_build("slack", "webhook_url=https://h/x min_severity=high", 64,
	             "min_severity: expected critical, warning or info, got 'high'");
	assert_build("slack",
	             "webhook_url=https://h/x repeat_interval=0 min_severity=warning "
	             "timeout_s=2.5 "
	             "retries=1",
	             0,
	             "{\"webhook_url\":\"https://h/x\",\"repeat_interval\":0,\"min_severity\":"
	             "\"warning\",\"timeout_s\":2.5,\"retries\":1}");
	assert_build("email",
	             "smtp_host=mx from_address=a@b.example "
	             "to_addresses=c@d.example,,e@f.example "
	             "use_tls=no smtp_port=2525",
	             0,
	             "{\"smtp_host\":\"mx\",\"from_address\":\"a@b.example\",\"to_addresses\":"
	             "["
	             "\"c@d.example\",\"e@f.example\"],\"use_tls\":false,\"smtp_port\":2525}");
	assert_build("email", "smtp_host=mx from_address=nobody to_addresses=c@d.example", 64,
	             "from_address: not an e-mail address: 'nobody'");
	assert_build("email", "smtp_host=mx from_address=a@b.example to_addresses=c@d,x y@z", 64,
	             "to_addresses: not an e-mail address: 'x'");
	assert_build("email", "smtp_host=mx from_address=a@b.example to_addresses=c@d use_ssl=2",
	             64, "use_ssl: expected 1 or 0 (true/false, yes/no, on/off), got '2'");
	assert_build("email", "smtp_host=mx from_address=a@b.example to_addresses=c@d smtp_port=0",
	             64, "smtp_port: expected a whole number from 1 to 65535, got '0'");
	assert_build("email", "smtp_host=mx from_address=a@b.example", 64,
	             "driver email needs to_addresses");
	assert_build("generic", "webhook_url=http://h/x method=patch", 0,
	             "{\"webhook_url\":\"http://h/x\",\"method\":\"PATCH\"}");
	assert_build("generic", "webhook_url=http://h/x method=GET", 64,
	             "method: expected POST, PUT or PATCH, got 'GET'");
	assert_build("generic", "webhook_url=http://h/x headers={\"X-Token\":\"t\"}", 0,
	             "{\"webhook_url\":\"http://h/x\",\"headers\":{\"X-Token\":\"t\"}}");
	assert_build("generic", "webhook_url=http://h/x headers=X-Token:t", 0,
	             "{\"webhook_url\":\"http://h/x\",\"headers\":{\"X-Token\":\"t\"}}");
	assert_build("generic", "webhook_url=http://h/x headers=no-colon", 64,
	             "headers: expected 'Name: value' lines or a JSON object");
	assert_build("generic", "webhook_url=http://h/x headers={\"Bad/Name\":\"t\"}", 64,
	             "headers: a header name or value is not valid");
	assert_build("exec", "command=[\"/bin/echo\",\"a\",\"b\"]", 0,
	             "{\"command\":[\"/bin/echo\",\"a\",\"b\"]}");
	assert_build("exec", "command=/bin/echo", 0, "{\"command\":[\"/bin/echo\"]}");
	assert_build("exec", "command=[]", 64, "command: no program given");
	assert_build("exec", "command=[1]", 64, "command: not a JSON array of strings");
	assert_build("exec", "command=/nonexistent/prog", 64,
	             "command: /nonexistent/prog: No such file or directory");
	assert_build("exec", "", 64, "driver exec needs command");
}

/* Template files are names in SM_TEMPLATE_DIR, never paths. */
static void templates_by_name_only(void **state)
{
	char dir[4096], want[4400];

	(void)state;
	snprintf(dir, sizeof dir, "%s", fixture("notify"));
	setenv("SM_TEMPLATE_DIR", dir, 1);
	assert_build("stdout", "template_file=custom-text.tpl", 0,
	             "{\"template_file\":\"custom-text.tpl\"}");
	assert_build("email",
	             "smtp_host=mx from_address=a@b.example to_addresses=c@d "
	             "subject_template_file=custom-text.tpl",
	             0,
	             "{\"smtp_host\":\"mx\",\"from_address\":\"a@b.example\",\"to_addresses\":"
	             "[\"c@d\"],\"subject_template_file\":\"custom-text.tpl\"}");
	static const char *const refused[] = {
	    "/etc/shadow", "../notify/custom-text.tpl", "sub/x.tpl", "..", ".hidden", "",
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		char word[128];
		snprintf(word, sizeof word, "template_file=%s", refused[i]);
		snprintf(want, sizeof want,
		         "template_file: '%s' is not a template name (a file name in %s, without a "
		         "path, not starting with '.')",
		         refused[i], dir);
		assert_build("stdout", word, 64, want);
	}
	snprintf(want, sizeof want,
	         "html_template_file: '/etc/passwd' is not a template name (a file name in %s, "
	         "without a path, not starting with '.')",
	         dir);
	assert_build("email",
	             "smtp_host=mx from_address=a@b.example to_addresses=c@d "
	             "html_template_file=/etc/passwd",
	             64, want);
	snprintf(want, sizeof want, "template_file: %s/missing.tpl: ", dir);
	{
		char out[1024];
		assert_int_equal(build("stdout", "template_file=missing.tpl", out, sizeof out), 64);
		assert_true(strncmp(out, want, strlen(want)) == 0);
	}
	unsetenv("SM_TEMPLATE_DIR");
	/* The default directory. */
	assert_build("stdout", "template_file=/x", 64,
	             "template_file: '/x' is not a template name (a file name in "
	             "/etc/sm/templates, without a path, not starting with '.')");
}

/* The exec driver's own environment: NAME=value lines or a JSON object. */
static void exec_env_key(void **state)
{
	(void)state;
	assert_build("exec", "command=/bin/echo env={\"TOKEN\":\"t\",\"_X1\":\"\"}", 0,
	             "{\"command\":[\"/bin/echo\"],\"env\":{\"TOKEN\":\"t\",\"_X1\":\"\"}}");
	assert_build("exec", "command=/bin/echo env=TOKEN=a=b", 0,
	             "{\"command\":[\"/bin/echo\"],\"env\":{\"TOKEN\":\"a=b\"}}");
	assert_build("exec", "command=/bin/echo env=SM_EVENT=x", 64,
	             "env: bad variable 'SM_EVENT' (a letter or '_', then letters, digits or '_'; "
	             "not SM_*; a string value)");
	assert_build("exec", "command=/bin/echo env=1A=x", 64,
	             "env: bad variable '1A' (a letter or '_', then letters, digits or '_'; not "
	             "SM_*; a string value)");
	assert_build("exec", "command=/bin/echo env={\"A\":1}", 64,
	             "env: bad variable 'A' (a letter or '_', then letters, digits or '_'; not "
	             "SM_*; a string value)");
	assert_build("exec", "command=/bin/echo env=novalue", 64,
	             "env: expected NAME=value lines or a JSON object, got 'novalue'");
	assert_build("slack", "webhook_url=https://h/x env=A=1", 64,
	             "unknown key 'env' for driver slack (keys: webhook_url, repeat_interval, "
	             "min_severity, template_file, timeout_s, retries, backoff_s)");
}

static void values_from_files(void **state)
{
	char path[64] = "/tmp/sm-notify-test-XXXXXX", word[128], out[1024], tpl[96];
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "https://hooks.slack.com/services/S\n", 35), 35);
	close(fd);
	snprintf(word, sizeof word, "webhook_url=@%s", path);
	assert_int_equal(build("slack", word, out, sizeof out), 0);
	assert_string_equal(out, "{\"webhook_url\":\"https://hooks.slack.com/services/S\"}");
	snprintf(word, sizeof word, "webhook_url=@%s.missing", path);
	assert_int_equal(build("slack", word, out, sizeof out), 64);
	assert_non_null(strstr(out, "No such file or directory"));
	/* A template file must compile for the driver's output. */
	snprintf(tpl, sizeof tpl, "%s.tpl", path);
	f = fopen(tpl, "w");
	fputs("{{#open}}never closed", f);
	fclose(f);
	setenv("SM_TEMPLATE_DIR", "/tmp", 1);
	snprintf(word, sizeof word, "template_file=%s", tpl + strlen("/tmp/"));
	assert_int_equal(build("stdout", word, out, sizeof out), 64);
	assert_non_null(strstr(out, "template_file: "));
	assert_non_null(strstr(out, tpl));
	unsetenv("SM_TEMPLATE_DIR");
	unlink(tpl);
	unlink(path);
}

static void secrets_are_masked(void **state)
{
	json_t *c = load("{\"webhook_url\":\"https://hooks.slack.com/services/T/B/SECRET\","
	                 "\"repeat_interval\":60}"),
	       *m;
	char *dump;

	(void)state;
	m = sm_notify_config_masked("slack", c);
	dump = json_dumps(m, SM_JSON_FLAGS);
	assert_string_equal(dump, "{\"webhook_url\":\"https://hooks.slack.com/********\","
	                          "\"repeat_interval\":60}");
	free(dump);
	json_decref(m);
	json_decref(c);
	c = load("{\"webhook_url\":\"http://127.0.0.1:8080/"
	         "hook?token=SECRET\",\"secret\":\"SECRET\","
	         "\"headers\":{\"Authorization\":\"Bearer SECRET\"},\"method\":\"PUT\"}");
	m = sm_notify_config_masked("generic", c);
	dump = json_dumps(m, SM_JSON_FLAGS);
	assert_string_equal(dump, "{\"webhook_url\":\"http://127.0.0.1:8080/********\",\"secret\":"
	                          "\"********\",\"headers\":{\"Authorization\":\"********\"},"
	                          "\"method\":\"PUT\"}");
	free(dump);
	json_decref(m);
	json_decref(c);
	c = load("{\"integration_key\":\"SECRET\",\"api_url\":\"https://"
	         "events.eu.pagerduty.com/"
	         "v2/enqueue\"}");
	m = sm_notify_config_masked("pagerduty", c);
	dump = json_dumps(m, SM_JSON_FLAGS);
	assert_string_equal(dump, "{\"integration_key\":\"********\",\"api_url\":\"https://"
	                          "events.eu.pagerduty.com/v2/enqueue\"}");
	free(dump);
	json_decref(m);
	json_decref(c);
	c = load("{\"smtp_host\":\"mx\",\"username\":\"u\",\"password\":\"SECRET\","
	         "\"odd\":\"SECRET\"}");
	m = sm_notify_config_masked("email", c);
	dump = json_dumps(m, SM_JSON_FLAGS);
	/* A key no driver knows is masked too: it may be anything. */
	assert_string_equal(dump, "{\"smtp_host\":\"mx\",\"username\":\"u\",\"password\":"
	                          "\"********\",\"odd\":\"********\"}");
	free(dump);
	json_decref(m);
	json_decref(c);
}

/* --- channels in the store
 * ------------------------------------------------------ */

static void channels_in_the_store(void **state)
{
	sm_store *store;
	sm_error err;
	json_t *c = load("{\"webhook_url\":\"https://hooks.slack.com/services/SECRET\"}"), *row,
	       *rows;
	char *dump;

	(void)state;
	scratch_make("sm-notify");
	assert_int_equal(sm_store_open(at("sm.db"), &store, &err), 0);
	assert_int_equal(sm_notify_channel_add(store, "ops", "slack", c, &err), SM_EXIT_OK);
	assert_int_equal(sm_notify_channel_add(store, "ops", "slack", c, &err), SM_EXIT_USAGE);
	assert_string_equal(err.msg, "channel 'ops' exists already (rm it first)");
	assert_int_equal(sm_notify_channel_add(store, "bad name", "slack", c, &err), SM_EXIT_USAGE);
	assert_int_equal(sm_notify_channel_add(store, "x", "fax", c, &err), SM_EXIT_USAGE);
	assert_int_equal(sm_notify_channel_get(store, "ops", &row, &err), SM_EXIT_OK);
	assert_true(json_is_true(json_object_get(row, "enabled"))); /* new channels are on */
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(row, "config"), "webhook_url")),
	    "https://hooks.slack.com/services/SECRET");
	json_decref(row);
	assert_int_equal(sm_notify_channel_list(store, &rows, &err), SM_EXIT_OK);
	dump = json_dumps(rows, SM_JSON_FLAGS);
	assert_null(strstr(dump, "SECRET"));
	assert_non_null(strstr(dump, "\"name\":\"ops\""));
	free(dump);
	json_decref(rows);
	assert_int_equal(sm_notify_channel_set_enabled(store, "ops", false, &err), SM_EXIT_OK);
	assert_int_equal(sm_notify_channel_get(store, "ops", &row, &err), SM_EXIT_OK);
	assert_true(json_is_false(json_object_get(row, "enabled")));
	json_decref(row);
	assert_int_equal(sm_notify_channel_set_enabled(store, "nope", true, &err), SM_EXIT_USAGE);
	assert_string_equal(err.msg, "no channel 'nope' (see sm-notify channel list)");
	assert_int_equal(sm_notify_channel_remove(store, "ops", &err), SM_EXIT_OK);
	assert_int_equal(sm_notify_channel_remove(store, "ops", &err), SM_EXIT_USAGE);
	assert_int_equal(sm_notify_channel_get(store, "ops", &row, &err), SM_EXIT_USAGE);
	assert_null(row);
	sm_store_close(store);
	json_decref(c);
}

/* --- drivers: the rendered requests
 * --------------------------------------------- */

/* prepare driver's message for env with config; the caller clears msg. */
static int prepare(const char *driver, json_t *env, const char *config, notify_message *msg,
                   sm_error *err)
{
	const notify_driver *d = notify_driver_find(driver);
	json_t *c = load(config), *ctx = sm_notify_context(env, "chan");
	notify_job job = {
	    .channel = "chan", .config = c, .env = env, .context = ctx, .timeout_s = 1};
	int rc;

	assert_non_null(d);
	memset(msg, 0, sizeof *msg);
	rc = d->prepare(&job, msg, err);
	json_decref(ctx);
	json_decref(c);
	return rc;
}

static const char *get_str(json_t *v, const char *path)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = strtok_r(buf, ".", &save); p; p = strtok_r(NULL, ".", &save))
		v = json_is_array(v) ? json_array_get(v, (size_t)atoi(p)) : json_object_get(v, p);
	if (!json_is_string(v))
		fail_msg("no string at %s", path);
	return json_string_value(v);
}

static bool has_header(const notify_message *msg, const char *header)
{
	for (size_t i = 0; msg->headers[i]; i++)
		if (strcmp(msg->headers[i], header) == 0)
			return true;
	return false;
}

/* An envelope whose alert label and description try to break out. */
static json_t *hostile_env(void)
{
	json_t *e = incident_env("created", "open", "critical", "created");
	json_t *a = json_array_get(json_object_get(e, "alerts"), 0);

	json_object_set_new(a, "name", json_string("Evil\"},{\"x\":\"</script><b>{{title}}"));
	json_object_set_new(a, "description",
	                    json_stringn_nocheck("line1\nline2 \xff<!channel>", 23));
	json_object_set_new(json_object_get(a, "labels"), "job",
	                    json_string("\"],\"admin\":true,\"<script>alert(1)</script>{{x}}"));
	return e;
}

static void slack_body(void **state)
{
	json_t *e = hostile_env(), *body;
	notify_message msg;
	sm_error err;

	(void)state;
	assert_int_equal(
	    prepare("slack", e, "{\"webhook_url\":\"https://hooks.example/S\"}", &msg, &err), 0);
	assert_string_equal(msg.url, "https://hooks.example/S");
	assert_true(has_header(&msg, "Content-Type: application/json"));
	body = load(msg.body);
	assert_string_equal(get_str(body, "text"), "[CRITICAL] DiskFull on db-01 (firing)");
	assert_int_equal(json_array_size(json_object_get(body, "blocks")), 3);
	assert_string_equal(get_str(body, "blocks.0.type"), "section");
	assert_string_equal(get_str(body, "blocks.0.text.type"), "mrkdwn");
	assert_non_null(strstr(get_str(body, "blocks.0.text.text"), "*DiskFull on db-01*"));
	assert_non_null(strstr(get_str(body, "blocks.0.text.text"), "`CRITICAL`"));
	/* The hostile name stays one string, Slack's &, <, > escaped, {{ inert. */
	assert_non_null(strstr(get_str(body, "blocks.1.text.text"),
	                       "*Evil\"},{\"x\":\"&lt;/script&gt;&lt;b&gt;{{title}}*"));
	assert_non_null(strstr(get_str(body, "blocks.1.text.text"),
	                       "line1\nline2 \xef\xbf\xbd&lt;!channel&gt;"));
	assert_string_equal(get_str(body, "blocks.2.type"), "context");
	json_decref(body);
	notify_message_clear(&msg);
	/* Recommendations add a block. */
	json_object_set_new(e, "analysis",
	                    load("{\"recommendations\":[{\"title\":\"Clean\","
	                         "\"description\":\"rm\"}]}"));
	assert_int_equal(prepare("slack", e, "{\"webhook_url\":\"https://h/S\"}", &msg, &err), 0);
	body = load(msg.body);
	assert_int_equal(json_array_size(json_object_get(body, "blocks")), 4);
	assert_string_equal(get_str(body, "blocks.2.text.text"),
	                    "*Top recommendations:*\n\xe2\x80\xa2 *Clean*: rm");
	json_decref(body);
	notify_message_clear(&msg);
	json_decref(e);
}

static void pagerduty_trigger_and_resolve(void **state)
{
	json_t *e = hostile_env(), *body;
	notify_message msg;
	sm_error err;

	(void)state;
	assert_int_equal(prepare("pagerduty", e, "{\"integration_key\":\"KEY\"}", &msg, &err), 0);
	assert_string_equal(msg.url, "https://events.pagerduty.com/v2/enqueue");
	body = load(msg.body);
	assert_string_equal(get_str(body, "routing_key"), "KEY");
	assert_string_equal(get_str(body, "event_action"), "trigger");
	assert_string_equal(get_str(body, "dedup_key"), "sm-incident-42");
	assert_string_equal(get_str(body, "payload.summary"), "[CRITICAL] DiskFull on db-01");
	assert_string_equal(get_str(body, "payload.severity"), "critical");
	assert_string_equal(get_str(body, "payload.source"), "db-01");
	assert_string_equal(get_str(body, "payload.custom_details.alerts.0.labels.job"),
	                    "\"],\"admin\":true,\"<script>alert(1)</script>{{x}}");
	assert_string_equal(get_str(body, "payload.custom_details.alerts.0.name"),
	                    "Evil\"},{\"x\":\"</script><b>{{title}}");
	assert_int_equal(json_integer_value(json_object_get(
	                     json_object_get(json_object_get(body, "payload"), "custom_details"),
	                     "incident_id")),
	                 42);
	json_decref(body);
	notify_message_clear(&msg);
	json_decref(e);
	e = incident_env("resolved", "resolved", "critical", "resolved");
	assert_int_equal(
	    prepare("pagerduty", e,
	            "{\"integration_key\":\"KEY\",\"api_url\":\"http://127.0.0.1:9/e\"}", &msg,
	            &err),
	    0);
	assert_string_equal(msg.url, "http://127.0.0.1:9/e");
	body = load(msg.body);
	assert_string_equal(get_str(body, "event_action"), "resolve");
	assert_string_equal(get_str(body, "dedup_key"), "sm-incident-42");
	assert_null(json_object_get(body, "payload"));
	json_decref(body);
	notify_message_clear(&msg);
	json_decref(e);
	/* Without an incident the key comes from the alert, then the host. */
	e = load("{\"v\":1,\"source\":\"grafana\",\"alerts\":[{\"fingerprint\":"
	         "\"abc\"}]}");
	body = NULL;
	{
		char *k = notify_pagerduty_dedup_key(e);
		assert_string_equal(k, "sm-alert-grafana-abc");
		free(k);
	}
	json_decref(e);
	e = checks_env("critical", "ok");
	{
		char *k = notify_pagerduty_dedup_key(e);
		assert_string_equal(k, "sm-checks-web-1");
		free(k);
	}
	json_decref(e);
}

static void generic_body_signed(void **state)
{
	json_t *e = hostile_env(), *body;
	notify_message msg;
	sm_error err;
	const char *sig = NULL;

	(void)state;
	assert_int_equal(prepare("generic", e,
	                         "{\"webhook_url\":\"http://127.0.0.1:9/h\",\"method\":\"PUT\","
	                         "\"secret\":\"s3cret\",\"headers\":{\"X-Token\":\"t\"}}",
	                         &msg, &err),
	                 0);
	assert_string_equal(msg.method, "PUT");
	assert_true(has_header(&msg, "X-Token: t"));
	for (size_t i = 0; msg.headers[i]; i++)
		if (strncmp(msg.headers[i], "X-Webhook-Signature: sha256=", 28) == 0)
			sig = msg.headers[i] + 21;
	assert_non_null(sig);
	assert_int_equal(sm_hmac_verify("s3cret", 6, msg.body, msg.body_len, sig, &err), 1);
	assert_int_equal(sm_hmac_verify("other", 5, msg.body, msg.body_len, sig, &err), 0);
	body = load(msg.body);
	assert_string_equal(get_str(body, "title"), "DiskFull on db-01");
	assert_string_equal(get_str(body, "channel"), "chan");
	assert_string_equal(get_str(body, "alerts.0.labels.job"),
	                    "\"],\"admin\":true,\"<script>alert(1)</script>{{x}}");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(body, "incident"), "id")), 42);
	assert_true(json_is_null(
	    json_object_get(json_array_get(json_object_get(body, "alerts"), 0), "ended_at")));
	assert_null(json_object_get(body, "admin"));
	json_decref(body);
	notify_message_clear(&msg);
	json_decref(e);
}

/* prepare a generic channel whose template_file is name in dir, holding
 * text. */
static int prepare_templated(const char *dir, const char *name, const char *text, json_t *e,
                             notify_message *msg, sm_error *err)
{
	char path[128], config[200];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	snprintf(config, sizeof config,
	         "{\"webhook_url\":\"http://127.0.0.1:9/h\",\"template_file\":\"%s\"}", name);
	return prepare("generic", e, config, msg, err);
}

/* The generic body is the template's text as rendered, checked to be a
 * JSON object and sent as it is, not printed again from its value: the
 * bytes signed are the template's. */
static void generic_body_as_rendered(void **state)
{
	char dir[] = "/tmp/sm-generic-XXXXXX", cmd[96];
	json_t *e = hostile_env();
	notify_message msg;
	sm_error err;

	(void)state;
	assert_non_null(mkdtemp(dir));
	setenv("SM_TEMPLATE_DIR", dir, 1);
	assert_int_equal(prepare_templated(dir, "spaced.json",
	                                   "{\"v\":  1,\n  \"title\": \"{{title}}\"}\n", e, &msg,
	                                   &err),
	                 0);
	assert_string_equal(msg.body, "{\"v\":  1,\n  \"title\": \"DiskFull on db-01\"}\n");
	assert_int_equal(msg.body_len, strlen(msg.body));
	notify_message_clear(&msg);
	/* Still checked: a key twice is refused, nothing prepared. */
	assert_int_equal(
	    prepare_templated(dir, "twice.json", "{\"v\": 1, \"v\": 2}", e, &msg, &err), -1);
	assert_non_null(strstr(err.msg, "twice.json: the template made invalid JSON"));
	assert_non_null(strstr(err.msg, "duplicate object key"));
	notify_message_clear(&msg);
	json_decref(e);
	unsetenv("SM_TEMPLATE_DIR");
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void email_parts(void **state)
{
	json_t *e = hostile_env();
	notify_message msg;
	sm_error err;

	(void)state;
	assert_int_equal(prepare("email", e,
	                         "{\"smtp_host\":\"mx\",\"from_address\":\"a@b\","
	                         "\"to_addresses\":[\"c@d\"]}",
	                         &msg, &err),
	                 0);
	assert_string_equal(msg.subject, "[CRITICAL] DiskFull on db-01");
	assert_non_null(
	    strstr(msg.text, "- Evil\"},{\"x\":\"</script><b>{{title}} [firing, critical]"));
	assert_non_null(strstr(msg.html, "&lt;/script&gt;&lt;b&gt;{{title}}"));
	assert_null(strstr(msg.html, "<script>"));
	assert_null(strstr(msg.html, "</script>"));
	assert_non_null(strstr(msg.html,
	                       "<h2 style=\"color: #dc3545; margin: 0 0 8px 0\">DiskFull on "
	                       "db-01</h2>"));
	notify_message_clear(&msg);
	json_decref(e);
	e = incident_env("resolved", "resolved", "warning", "resolved");
	assert_int_equal(prepare("email", e, "{}", &msg, &err), 0);
	assert_string_equal(msg.subject, "[WARNING] RESOLVED: DiskFull on db-01");
	notify_message_clear(&msg);
	json_decref(e);
}

static void exec_argv_and_variables(void **state)
{
	json_t *e = incident_env("created", "open", "warning", "created");
	notify_message msg;
	sm_error err;
	bool seen[4] = {false};

	(void)state;
	assert_int_equal(prepare("exec", e, "{\"command\":[\"/bin/cat\",\"-\"]}", &msg, &err), 0);
	assert_string_equal(msg.argv[0], "/bin/cat");
	assert_string_equal(msg.argv[1], "-");
	assert_null(msg.argv[2]);
	for (size_t i = 0; msg.envv[i]; i++) {
		seen[0] = seen[0] || strcmp(msg.envv[i], "SM_INCIDENT_ID=42") == 0;
		seen[1] = seen[1] || strcmp(msg.envv[i], "SM_SEVERITY=warning") == 0;
		seen[2] = seen[2] || strcmp(msg.envv[i], "SM_CHANNEL=chan") == 0;
		seen[3] = seen[3] || strncmp(msg.envv[i], "SM_MESSAGE=[WARNING] DiskFull", 29) == 0;
	}
	assert_true(seen[0] && seen[1] && seen[2] && seen[3]);
	assert_non_null(strstr(msg.body, "\"trace_id\":\"0123456789abcdef0123456789abcdef\""));
	notify_message_clear(&msg);
	json_decref(e);
}

/* The program's environment: PATH, HOME, LANG, the channel's env, the SM_*
 * variables, which win over a channel variable of the same name (one an
 * older version may have stored); nothing else of ours. */
static void exec_environment(void **state)
{
	char out[] = "/tmp/sm-notify-exec-XXXXXX", config[512], got[512] = "";
	int fd = mkstemp(out);
	json_t *e = incident_env("created", "open", "warning", "created");
	const notify_driver *d = notify_driver_find("exec");
	notify_message msg;
	notify_outcome res;
	sm_error err;
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	snprintf(
	    config, sizeof config,
	    "{\"command\":[\"/bin/sh\",\"-c\",\"printf '%%s|%%s|%%s|%%s|%%s' \\\"$TOKEN\\\" "
	    "\\\"$SM_EVENT\\\" \\\"${DB_PASSWORD-unset}\\\" \\\"$HOME\\\" \\\"$PATH\\\" >%s\"],"
	    "\"env\":{\"TOKEN\":\"t 1\",\"SM_EVENT\":\"forged\",\"HOME\":\"/srv/ops\"}}",
	    out);
	setenv("DB_PASSWORD", "from-the-dotenv-file", 1);
	assert_int_equal(prepare("exec", e, config, &msg, &err), 0);
	{
		json_t *c = load(config), *ctx = sm_notify_context(e, "chan");
		notify_job job = {
		    .channel = "chan", .config = c, .env = e, .context = ctx, .timeout_s = 10};
		d->send(&job, &msg, &res);
		json_decref(ctx);
		json_decref(c);
	}
	unsetenv("DB_PASSWORD");
	assert_true(res.ok);
	f = fopen(out, "r");
	assert_non_null(f);
	assert_non_null(fgets(got, sizeof got, f));
	fclose(f);
	unlink(out);
	snprintf(config, sizeof config, "t 1|incident created|unset|/srv/ops|%s", getenv("PATH"));
	assert_string_equal(got, config);
	notify_message_clear(&msg);
	json_decref(e);
}

static void stdout_text(void **state)
{
	json_t *e = checks_env("ok", "critical");
	notify_message msg;
	sm_error err;

	(void)state;
	assert_int_equal(prepare("stdout", e, "{}", &msg, &err), 0);
	assert_non_null(strstr(msg.body, "[CRITICAL] 1 check not ok on web-1 (firing)\n"));
	assert_non_null(strstr(msg.body, "Checks not ok:\n- memory: critical: memory at 95%\n"));
	assert_null(strstr(msg.body, "disk"));
	notify_message_clear(&msg);
	json_decref(e);
}

/* The status and reason of an envelope's first notification, processed
 * by the stdout stand-in with run_id set. */
static void process_as(sm_store *store, FILE *out, const char *run_id, const char *host,
                       const char *status, const char *reason)
{
	json_t *e = checks_env("ok", "critical"), *n;
	sm_notifier *notifier;
	sm_notify_opts opts = {.text_out = out};
	sm_error err;

	json_object_set_new(e, "host", json_string(host));
	if (run_id)
		json_object_set_new(e, "run_id", json_string(run_id));
	assert_int_equal(sm_notifier_new(store, &opts, &notifier, &err), SM_EXIT_OK);
	assert_int_equal(sm_notifier_process(notifier, e, &err), SM_EXIT_OK);
	n = json_array_get(json_object_get(e, "notifications"), 0);
	assert_string_equal(json_string_value(json_object_get(n, "status")), status);
	assert_string_equal(json_string_value(json_object_get(n, "reason")), reason);
	sm_notifier_free(notifier);
	json_decref(e);
}

static void once_per_run(void **state)
{
	sm_store *store;
	sm_error err;
	FILE *out = tmpfile();
	json_t *config;

	(void)state;
	scratch_make("sm-notify-run");
	assert_non_null(out);
	assert_int_equal(sm_store_open(at("sm.db"), &store, &err), 0);
	config = load("{\"repeat_interval\":0}");
	assert_int_equal(sm_notify_channel_add(store, "out", "stdout", config, &err), SM_EXIT_OK);
	json_decref(config);
	process_as(store, out, "run-1", "web-1", "sent", "repeat_interval 0");
	process_as(store, out, "run-1", "web-1", "skipped", "already delivered in this run");
	process_as(store, out, "run-2", "web-1", "sent", "repeat_interval 0");
	process_as(store, out, "run-1", "web-2", "sent", "repeat_interval 0");
	process_as(store, out, NULL, "web-1", "sent", "repeat_interval 0");
	process_as(store, out, NULL, "web-1", "sent", "repeat_interval 0");
	sm_store_close(store);
	fclose(out);
}

/* The longest a notifier's deliveries can take: each channel's tries, each
 * within its timeout, and the waits between them; an alertmanager channel
 * tries its replicas one after another. */
static void longest_delivery(void **state)
{
	const char *const one[] = {"hook", NULL}, *const both[] = {"hook", "am", NULL};
	sm_notify_opts opts = {.channels = one};
	sm_notifier *n;
	sm_store *store;
	sm_error err;
	json_t *config;

	(void)state;
	scratch_make("sm-notify-longest");
	assert_int_equal(sm_store_open(at("sm.db"), &store, &err), 0);
	/* 3 tries of 4 s, waits of 1 and 2 s between them. */
	config = load("{\"webhook_url\":\"http://127.0.0.1:9/x\",\"retries\":2,"
	              "\"backoff_s\":1,\"timeout_s\":4}");
	assert_int_equal(sm_notify_channel_add(store, "hook", "generic", config, &err), SM_EXIT_OK);
	json_decref(config);
	/* 1 try of two replicas, 3 s each. */
	config = load("{\"urls\":[\"http://127.0.0.1:9\",\"http://127.0.0.1:10\"],"
	              "\"retries\":0,\"timeout\":3}");
	assert_int_equal(sm_notify_channel_add(store, "am", "alertmanager", config, &err),
	                 SM_EXIT_OK);
	json_decref(config);
	assert_int_equal(sm_notifier_new(store, &opts, &n, &err), SM_EXIT_OK);
	assert_float_equal(sm_notifier_longest(n), 3 * 4 + 1 + 2, 1e-9);
	sm_notifier_free(n);
	opts.channels = both;
	assert_int_equal(sm_notifier_new(store, &opts, &n, &err), SM_EXIT_OK);
	assert_float_equal(sm_notifier_longest(n), 15 + 2 * 3, 1e-9);
	sm_notifier_free(n);
	sm_store_close(store);
}

static void bad_templates_fail_the_delivery(void **state)
{
	char path[] = "/tmp/sm-notify-tpl-XXXXXX", config[128];
	int fd = mkstemp(path);
	json_t *e = incident_env("created", "open", "warning", "created");
	notify_message msg;
	sm_error err = {0};

	(void)state;
	assert_true(fd >= 0);
	/* Valid template, invalid JSON output. */
	assert_true(write(fd, "{\"text\": {{title}}}", 19) == 19);
	close(fd);
	setenv("SM_TEMPLATE_DIR", "/tmp", 1);
	snprintf(config, sizeof config,
	         "{\"webhook_url\":\"https://h/S\",\"template_file\":\"%s\"}",
	         path + strlen("/tmp/"));
	assert_int_equal(prepare("slack", e, config, &msg, &err), -1);
	assert_non_null(strstr(err.msg, "the template made invalid JSON"));
	notify_message_clear(&msg);
	/* A file gone since the channel was added. */
	unlink(path);
	assert_int_equal(prepare("generic", e, config, &msg, &err), -1);
	assert_non_null(strstr(err.msg, path));
	notify_message_clear(&msg);
	/* A path stored by an older version is refused at delivery too. */
	assert_int_equal(prepare("stdout", e, "{\"template_file\":\"/etc/passwd\"}", &msg, &err),
	                 -1);
	assert_string_equal(err.msg, "template_file: '/etc/passwd' is not a template name (a file "
	                             "name in /tmp, without a path, not starting with '.')");
	notify_message_clear(&msg);
	unsetenv("SM_TEMPLATE_DIR");
	json_decref(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(decide_table),
	    cmocka_unit_test(severity_and_event),
	    cmocka_unit_test(context_of_an_incident),
	    cmocka_unit_test(context_of_checks),
	    cmocka_unit_test(titles_name_the_instance_once),
	    cmocka_unit_test(configs_are_typed_and_checked),
	    cmocka_unit_test(templates_by_name_only),
	    cmocka_unit_test(exec_env_key),
	    cmocka_unit_test(values_from_files),
	    cmocka_unit_test(secrets_are_masked),
	    cmocka_unit_test_teardown(channels_in_the_store, scratch_remove),
	    cmocka_unit_test(slack_body),
	    cmocka_unit_test(pagerduty_trigger_and_resolve),
	    cmocka_unit_test(generic_body_signed),
	    cmocka_unit_test(generic_body_as_rendered),
	    cmocka_unit_test(email_parts),
	    cmocka_unit_test(exec_argv_and_variables),
	    cmocka_unit_test(exec_environment),
	    cmocka_unit_test(stdout_text),
	    cmocka_unit_test(once_per_run),
	    cmocka_unit_test(longest_delivery),
	    cmocka_unit_test(bad_templates_fail_the_delivery),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
