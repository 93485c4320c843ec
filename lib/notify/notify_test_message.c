/* notify_test_message.c - one message through a driver, no decision,
 * nothing recorded: test messages (sm-notify test, channel test; a
 * made-up envelope, the seeds' test_notify) and the HTTP API's sends. */
#include <stdio.h>
#include <string.h>

#include "notify_private.h"
#include "sm/envelope.h"
#include "sm/json.h"
#include "sm/rfc3339.h"

json_t *sm_notify_test_envelope(void)
{
	char now[SM_RFC3339_LEN];
	json_t *env = sm_envelope_new("sm-notify", NULL);

	sm_rfc3339_now(now, false);
	json_object_set_new(env, "incident",
	                    json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", 0, "title",
	                              "Test notification from sm-notify", "status", "open",
	                              "severity", "info", "source", "sm-notify", "created_at", now,
	                              "updated_at", now, "change", "created"));
	json_object_set_new(env, "alerts",
	                    json_pack("[{s:s,s:s,s:s,s:s,s:{s:s},s:{},s:s,s:n,s:s}]", "name",
	                              "TestNotification", "status", "firing", "severity", "info",
	                              "description", "This is a test notification from sm-notify.",
	                              "labels", "alertname", "TestNotification", "annotations",
	                              "started_at", now, "ended_at", "change", "created"));
	return env;
}

int sm_notify_send(const char *channel, const char *driver, json_t *config, json_t *env,
                   json_t *extra, FILE *text_out, json_t **result)
{
	const notify_driver *d = notify_driver_find(driver);
	json_t *context;
	notify_job job = {.channel = channel, .config = config, .env = env, .text_out = text_out};
	notify_message msg = {0};
	notify_outcome out = {0};
	sm_error err = {0};
	int number = 0;

	if (!d) {
		*result = json_pack("{s:s,s:s,s:s,s:i,s:s}", "channel", channel, "driver", driver,
		                    "status", "failed", "attempts", 0, "error", "unknown driver");
		return SM_EXIT_USAGE;
	}
	context = sm_notify_context(env, channel);
	if (json_is_object(extra))
		json_object_update(context, extra);
	job.context = context;
	job.timeout_s = notify_cfg_num(config, "timeout_s", SM_NOTIFY_TIMEOUT_S);
	if (d->prepare(&job, &msg, &err) < 0) {
		snprintf(out.error, sizeof out.error, "%s", err.msg);
	} else {
		number = 1;
		d->send(&job, &msg, &out);
	}
	notify_message_clear(&msg);
	*result = json_pack("{s:s,s:s,s:s,s:i,s:o}", "channel", channel, "driver", d->name,
	                    "status", out.ok ? "sent" : "failed", "attempts", number, "error",
	                    out.ok ? json_null() : sm_json_string(out.error));
	json_decref(context);
	return out.ok ? SM_EXIT_OK : SM_EXIT_TEMPFAIL;
}

int sm_notify_test(const char *channel, const char *driver, json_t *config, FILE *text_out,
                   json_t **result)
{
	json_t *env = sm_notify_test_envelope();
	int rc = sm_notify_send(channel, driver, config, env, NULL, text_out, result);

	json_decref(env);
	return rc;
}
