/* notify_http.c - the /notify/ endpoints (see notify_http.h): a route
 * table for sm_request_dispatch (request.h), which checks what every API
 * checks before an endpoint runs.
 *
 * A message goes to a destination named by the URL's last segment, else
 * the body's "driver", else its "channel": a stored channel of that name
 * (its driver and configuration, as sm-notify channel add made them), else
 * a driver with the body's "config", checked as sm-notify test checks
 * KEY=VALUE words. A configuration from a request may not read files (no
 * KEY=@FILE, no file keys) and may not use a local-only driver (exec,
 * stdout): those take a stored channel. One attempt, nothing recorded.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify_private.h"
#include "sm/alert.h"
#include "sm/envelope.h"
#include "sm/json.h"
#include "sm/log.h"
#include "sm/notify_http.h"
#include "sm/rfc3339.h"

#define MAX_BATCH  100 /* notifications in one batch request */
#define MAX_CONFIG 64  /* keys in a request's configuration */

/* The drivers a request may configure, as a JSON array of names. */
static json_t *inline_drivers(void)
{
	json_t *names = json_array();
	const notify_driver *d;

	for (size_t i = 0; (d = notify_driver_at(i)); i++)
		if (!d->local_only)
			json_array_append_new(names, json_string(d->name));
	return names;
}

/* {"available_drivers": [...]}, for error answers. */
static json_t *available(void)
{
	return json_pack("{s:o}", "available_drivers", inline_drivers());
}

/* A destination: what a message goes through. */
struct dest {
	char label[80]; /* the channel's name, else the driver's */
	const notify_driver *driver;
	json_t *config; /* owned */
	bool stored;    /* a stored channel, not a driver configured by the request */
};

/* One configuration value as the text sm_notify_config_build parses:
 * strings as they are, numbers and booleans spelled out, lists joined by
 * commas (a command as its JSON array), objects as JSON. NULL when the
 * value may not come from a request. */
static char *config_text(const notify_key *k, json_t *v, char *why, size_t size)
{
	char *text = NULL;

	if (k->type == NOTIFY_KEY_FILE || k->type == NOTIFY_KEY_COMMAND ||
	    k->type == NOTIFY_KEY_ENV) {
		snprintf(why, size, "%s: not accepted in a request (store a channel)", k->name);
		return NULL;
	}
	if (json_is_string(v)) {
		if (json_string_value(v)[0] == '@') {
			snprintf(why, size, "%s: @FILE is not read for a request", k->name);
			return NULL;
		}
		return strdup(json_string_value(v));
	}
	if (json_is_array(v) && k->type != NOTIFY_KEY_HEADERS) {
		size_t i, len = 0;
		json_t *e;
		text = calloc(1, 1);
		json_array_foreach(v, i, e)
		{
			const char *s = json_string_value(e);
			char *t;
			if (!s || !text || !(t = realloc(text, len + strlen(s) + 2))) {
				free(text);
				snprintf(why, size, "%s: expected a list of strings", k->name);
				return NULL;
			}
			text = t;
			len += (size_t)sprintf(text + len, "%s%s", i ? "," : "", s);
		}
		return text;
	}
	if (json_is_true(v) || json_is_false(v))
		return strdup(json_is_true(v) ? "true" : "false");
	if (json_is_number(v) || json_is_object(v))
		return sm_json_text(v);
	snprintf(why, size, "%s: expected a string, number, boolean, list or object", k->name);
	return NULL;
}

/* The typed configuration of d from a request's object: 0, or -1 with why. */
static int config_from_json(const notify_driver *d, json_t *obj, json_t **config, char *why,
                            size_t size)
{
	char *words[MAX_CONFIG];
	const char *key;
	json_t *v;
	sm_error err = {0};
	int n = 0, rc = -1;

	if (json_object_size(obj) > MAX_CONFIG) {
		snprintf(why, size, "more than %d keys", MAX_CONFIG);
		return -1;
	}
	json_object_foreach(obj, key, v)
	{
		const notify_key *k = notify_key_find(d, key);
		char *text;
		if (!k) {
			/* sm_notify_config_build says which keys there are. */
			if (asprintf(&words[n], "%s=", key) < 0)
				goto out;
			n++;
			continue;
		}
		if (!(text = config_text(k, v, why, size)))
			goto out;
		if (asprintf(&words[n], "%s=%s", key, text) < 0) {
			free(text);
			goto out;
		}
		free(text);
		n++;
	}
	if (sm_notify_config_build(d->name, words, n, config, &err) == SM_EXIT_OK)
		rc = 0;
	else
		snprintf(why, size, "%s", err.msg);
out:
	while (n > 0)
		free(words[--n]);
	return rc;
}

/* Find where a message named name goes, with the request's config (may be
 * NULL): 0 with *dest, else the status to answer with why (and *extra). */
static int resolve(sm_request_call *c, const char *name, json_t *config, struct dest *dest,
                   char *why, size_t size)
{
	json_t *row = NULL;
	sm_error err = {0};
	int rc;

	if (!name || !*name) {
		snprintf(why, size, "a driver or channel is required");
		return 400;
	}
	if (!sm_request_store(c))
		return -1; /* answered */
	rc = sm_notify_channel_get(c->store, name, &row, &err);
	if (rc == SM_EXIT_OK) {
		const char *driver = json_string_value(json_object_get(row, "driver"));
		if (!json_is_true(json_object_get(row, "enabled"))) {
			json_decref(row);
			snprintf(why, size, "channel %s is disabled", name);
			return 409;
		}
		if (config) {
			json_decref(row);
			snprintf(why, size, "channel %s is stored: config goes with a driver",
			         name);
			return 400;
		}
		snprintf(dest->label, sizeof dest->label, "%s", name);
		dest->stored = true;
		dest->driver = notify_driver_find(driver);
		dest->config = json_incref(json_object_get(row, "config"));
		json_decref(row);
		if (!dest->driver) {
			snprintf(why, size, "channel %s has an unknown driver", name);
			return 500;
		}
		return 0;
	}
	if (rc != SM_EXIT_USAGE) {
		sm_log_kv(SM_LOG_ERROR, "cannot read channels", "error", err.msg, SM_LOG_END);
		snprintf(why, size, "cannot read channels");
		return 500;
	}
	if (!(dest->driver = notify_driver_find(name))) {
		snprintf(why, size, "Unknown driver/provider: %.64s", name);
		return 404;
	}
	if (dest->driver->local_only) {
		snprintf(why, size, "driver %s takes a stored channel only (sm-notify channel add)",
		         name);
		return 400;
	}
	snprintf(dest->label, sizeof dest->label, "%s", name);
	if (config && !json_is_object(config)) {
		snprintf(why, size, "config must be an object");
		return 400;
	}
	if (config_from_json(dest->driver, config ? config : json_object(), &dest->config, why,
	                     size) < 0) {
		char reason[512];
		snprintf(reason, sizeof reason, "%s", why);
		snprintf(why, size, "Invalid configuration for %s driver: %s", name, reason);
		return 400;
	}
	return 0;
}

/* Check the fields of one message (a send body or a batch item): NULL,
 * or what is wrong (a 400). */
static const char *message_fields(json_t *m, const char **title, const char **text,
                                  const char **severity)
{
	json_t *sev = json_object_get(m, "severity"), *t = json_object_get(m, "tags"),
	       *x = json_object_get(m, "context");

	*title = json_string_value(json_object_get(m, "title"));
	*text = json_string_value(json_object_get(m, "message"));
	*severity = sev ? json_string_value(sev) : "info";
	if (!*title || !**title || !*text || !**text)
		return "Missing required fields: title, message";
	if (!*severity || notify_severity_rank(*severity) < 0)
		return "severity: expected critical, warning or info";
	if ((t && !json_is_object(t)) || (x && !json_is_object(x)))
		return "tags and context must be objects";
	return NULL;
}

/* The label of a message to a driver the request configured: its
 * "channel" when it gives one. */
static void request_label(struct dest *dest, json_t *m)
{
	const char *label = json_string_value(json_object_get(m, "channel"));

	if (!dest->stored && label && *label)
		snprintf(dest->label, sizeof dest->label, "%.64s", label);
}

/* The envelope a message is rendered from: an incident titled as the
 * message, one firing alert carrying its text and its tags as labels. The
 * template context's message is the request's (see message_extra). */
static json_t *message_envelope(json_t *m, const char *title, const char *text,
                                const char *severity)
{
	char now[SM_RFC3339_LEN];
	json_t *env = sm_envelope_new("api", NULL), *tags = json_object_get(m, "tags");

	sm_rfc3339_now(now, false);
	json_object_set_new(env, "incident",
	                    json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", 0, "title", title,
	                              "status", "open", "severity", severity, "source", "api",
	                              "created_at", now, "updated_at", now, "change", "created"));
	json_object_set_new(
	    env, "alerts",
	    json_pack("[{s:s,s:s,s:s,s:s,s:o,s:{},s:s,s:n,s:s}]", "name", title, "status", "firing",
	              "severity", severity, "description", text, "labels",
	              json_is_object(tags) ? json_incref(tags) : json_object(), "annotations",
	              "started_at", now, "ended_at", "change", "created"));
	return env;
}

/* What replaces the template context's members for a request's message:
 * its text as message, its context object as context. */
static json_t *message_extra(json_t *m, const char *text)
{
	json_t *context = json_object_get(m, "context");

	return json_pack("{s:s,s:o}", "message", text, "context",
	                 json_is_object(context) ? json_incref(context) : json_object());
}

/* --- endpoints ------------------------------------------------------------ */

static void send_ready(sm_request_call *c)
{
	sm_request_respond(c->req, 200, NULL,
	                   json_pack("{s:s,s:s,s:o}", "status", "ok", "message",
	                             "Notify endpoint is ready", "available_drivers",
	                             inline_drivers()));
}

static void send_ready_one(sm_request_call *c)
{
	const notify_driver *d = notify_driver_find(c->seg[1]);
	json_t *row = NULL;
	sm_error err = {0};

	if (d) {
		sm_request_respond(c->req, 200, NULL,
		                   json_pack("{s:s,s:s,s:s++}", "status", "ok", "driver", d->name,
		                             "message", "Notify endpoint ready for ", d->name,
		                             " driver"));
		return;
	}
	if (!sm_request_store(c))
		return;
	if (sm_notify_channel_get(c->store, c->seg[1], &row, &err) == SM_EXIT_OK) {
		sm_request_respond(c->req, 200, NULL,
		                   json_pack("{s:s,s:s,s:O,s:O,s:s+}", "status", "ok", "channel",
		                             c->seg[1], "driver", json_object_get(row, "driver"),
		                             "enabled", json_object_get(row, "enabled"), "message",
		                             "Notify endpoint ready for channel ", c->seg[1]));
		json_decref(row);
		return;
	}
	sm_request_errorf(c->req, 404, available(), "Unknown driver: %.64s", c->seg[1]);
}

static void send_message(sm_request_call *c)
{
	const char *title, *text, *severity, *bad, *name = c->nseg > 1 ? c->seg[1] : NULL;
	json_t *env, *extra, *result = NULL;
	struct dest dest = {0};
	char why[640];
	int status;

	if (!name)
		name = json_string_value(json_object_get(c->body, "driver"));
	if (!name)
		name = json_string_value(json_object_get(c->body, "channel"));
	if ((bad = message_fields(c->body, &title, &text, &severity))) {
		sm_request_error(c->req, 400, NULL, bad, NULL);
		return;
	}
	status = resolve(c, name, json_object_get(c->body, "config"), &dest, why, sizeof why);
	if (status < 0)
		return;
	if (status) {
		sm_request_error(c->req, status, NULL, why, status == 404 ? available() : NULL);
		json_decref(dest.config);
		return;
	}
	request_label(&dest, c->body);
	env = message_envelope(c->body, title, text, severity);
	extra = message_extra(c->body, text);
	/* The stdout driver's text goes to the server's log, not the answer. */
	if (sm_notify_send(dest.label, dest.driver->name, dest.config, env, extra, stderr,
	                   &result) == SM_EXIT_OK) {
		sm_log_kv(SM_LOG_INFO, "sent", "channel", dest.label, "driver", dest.driver->name,
		          SM_LOG_END);
		sm_request_respond(c->req, 200, NULL,
		                   json_pack("{s:s,s:s,s:s,s:O}", "status", "success", "driver",
		                             dest.driver->name, "channel", dest.label, "attempts",
		                             json_object_get(result, "attempts")));
	} else {
		const char *error = json_string_value(json_object_get(result, "error"));
		sm_log_kv(SM_LOG_ERROR, "delivery failed", "channel", dest.label, "driver",
		          dest.driver->name, "error", error, SM_LOG_END);
		sm_request_respond(c->req, 502, NULL,
		                   json_pack("{s:s,s:s,s:s,s:s}", "status", "error", "driver",
		                             dest.driver->name, "channel", dest.label, "message",
		                             error ? error : "Unknown error"));
	}
	json_decref(result);
	json_decref(extra);
	json_decref(env);
	json_decref(dest.config);
}

static void batch_ready(sm_request_call *c)
{
	sm_request_respond(c->req, 200, NULL,
	                   json_pack("{s:s,s:s,s:o}", "status", "ok", "message",
	                             "Batch notify endpoint is ready", "available_drivers",
	                             inline_drivers()));
}

/* One item of a batch: its result. */
static json_t *batch_item(sm_request_call *c, size_t i, json_t *m)
{
	const char *title, *text, *severity, *bad, *name;
	json_t *env, *extra, *result = NULL, *out;
	struct dest dest = {0};
	char why[640];
	int status;

	if (!json_is_object(m))
		return json_pack("{s:I,s:b,s:s}", "index", (json_int_t)i, "success", 0, "error",
		                 "a notification must be an object");
	name = json_string_value(json_object_get(m, "driver"));
	if (!name)
		name = json_string_value(json_object_get(m, "channel"));
	if ((bad = message_fields(m, &title, &text, &severity)))
		return json_pack("{s:I,s:b,s:s}", "index", (json_int_t)i, "success", 0, "error",
		                 bad);
	status = resolve(c, name, json_object_get(m, "config"), &dest, why, sizeof why);
	if (status < 0)
		return NULL; /* the store failed: answered */
	if (status) {
		json_decref(dest.config);
		return json_pack("{s:I,s:b,s:s}", "index", (json_int_t)i, "success", 0, "error",
		                 why);
	}
	request_label(&dest, m);
	env = message_envelope(m, title, text, severity);
	extra = message_extra(m, text);
	if (sm_notify_send(dest.label, dest.driver->name, dest.config, env, extra, stderr,
	                   &result) == SM_EXIT_OK)
		out = json_pack("{s:I,s:b,s:s,s:s}", "index", (json_int_t)i, "success", 1, "driver",
		                dest.driver->name, "channel", dest.label);
	else
		out = json_pack("{s:I,s:b,s:s,s:s,s:O}", "index", (json_int_t)i, "success", 0,
		                "driver", dest.driver->name, "channel", dest.label, "error",
		                json_object_get(result, "error"));
	json_decref(result);
	json_decref(extra);
	json_decref(env);
	json_decref(dest.config);
	return out;
}

static void batch_send(sm_request_call *c)
{
	json_t *list = json_object_get(c->body, "notifications"), *m, *results;
	size_t i, ok = 0, n = json_array_size(list);

	if (!json_is_array(list) || n == 0) {
		sm_request_error(c->req, 400, NULL, "No notifications provided", NULL);
		return;
	}
	if (n > MAX_BATCH) {
		sm_request_errorf(c->req, 400, NULL, "at most %d notifications in one batch",
		                  MAX_BATCH);
		return;
	}
	results = json_array();
	json_array_foreach(list, i, m)
	{
		json_t *r = batch_item(c, i, m);
		if (!r) {
			json_decref(results);
			return;
		}
		ok += json_is_true(json_object_get(r, "success"));
		json_array_append_new(results, r);
	}
	sm_request_respond(c->req, 200, NULL,
	                   json_pack("{s:s,s:I,s:I,s:I,s:o}", "status",
	                             ok == n   ? "success"
	                             : ok == 0 ? "error"
	                                       : "partial",
	                             "total", (json_int_t)n, "success_count", (json_int_t)ok,
	                             "error_count", (json_int_t)(n - ok), "results", results));
}

/* A driver as the drivers endpoints describe it. */
static json_t *driver_info(const notify_driver *d)
{
	json_t *required = json_array(), *optional = json_array();
	const notify_key *sets[2] = {d->keys, notify_common_keys};

	for (int s = 0; s < 2; s++)
		for (const notify_key *k = sets[s]; k && k->name; k++)
			json_array_append_new(k->required ? required : optional,
			                      json_string(k->name));
	return json_pack("{s:s,s:s,s:o,s:o,s:b}", "name", d->name, "description", d->description,
	                 "required_config", required, "optional_config", optional,
	                 "stored_channel_only", d->local_only);
}

static void drivers_list(sm_request_call *c)
{
	json_t *list = json_array();
	const notify_driver *d;

	for (size_t i = 0; (d = notify_driver_at(i)); i++)
		json_array_append_new(list, driver_info(d));
	sm_request_respond(c->req, 200, NULL,
	                   json_pack("{s:s,s:o}", "status", "ok", "drivers", list));
}

static void driver_detail(sm_request_call *c)
{
	const notify_driver *d = notify_driver_find(c->seg[1]);

	if (!d) {
		sm_request_errorf(c->req, 404, available(), "Unknown driver: %.64s", c->seg[1]);
		return;
	}
	sm_request_respond(c->req, 200, NULL,
	                   json_pack("{s:s,s:o}", "status", "ok", "driver", driver_info(d)));
}

/* --- dispatch --------------------------------------------------------------- */

const sm_request_route sm_notify_http_routes[] = {
    {"GET", {"send", NULL}, send_ready, false},
    {"POST", {"send", NULL}, send_message, false},
    {"GET", {"send", "*", NULL}, send_ready_one, false},
    {"POST", {"send", "*", NULL}, send_message, false},
    {"GET", {"batch", NULL}, batch_ready, false},
    {"POST", {"batch", NULL}, batch_send, false},
    {"GET", {"drivers", NULL}, drivers_list, false},
    {"GET", {"drivers", "*", NULL}, driver_detail, false},
    {NULL, {NULL}, NULL, false},
};

/* Every /notify/ table: a module with endpoints of its own adds its table
 * here. */
static const sm_request_route *const route_tables[] = {sm_notify_http_routes,
                                                       sm_notify_silence_routes, NULL};

int sm_notify_http(const sm_request *req)
{
	return sm_request_dispatch(req, "/notify/", route_tables, NULL);
}

int sm_notify_http_cgi(const sm_error *config_err)
{
	return sm_request_cgi_serve(sm_notify_http, config_err);
}
