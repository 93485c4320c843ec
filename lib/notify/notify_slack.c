/* notify_slack.c - Slack incoming webhooks (and Slack-compatible servers
 * such as Mattermost): a Block Kit body with a text fallback, POSTed as
 * JSON to the channel's webhook_url, whose path is the secret. */
#include <stdlib.h>
#include <string.h>

#include "notify_drivers.h"
#include "sm/json.h"

#define SLACK_MAX_ITEMS 10  /* alerts, checks, recommendations listed */
#define SLACK_MAX_TEXT  500 /* bytes of one value; a section holds 3000 */

static const notify_key slack_keys[] = {
    {"webhook_url", NOTIFY_KEY_URL, true, true, SM_TEMPLATE_TEXT},
    {NULL, NOTIFY_KEY_STRING, false, false, SM_TEMPLATE_TEXT},
};

/* s with Slack's control characters escaped (&, <, >: so a label cannot
 * mention @channel or make a link) and cut to SLACK_MAX_TEXT bytes on a
 * character boundary. */
static json_t *slack_string(const char *s)
{
	size_t n = strlen(s), j = 0;
	char *out = malloc(n * 5 + 4);
	json_t *v;

	if (!out)
		return json_string("");
	for (size_t i = 0; i < n; i++) {
		if (i >= SLACK_MAX_TEXT && ((unsigned char)s[i] & 0xC0) != 0x80) {
			memcpy(out + j, "\xe2\x80\xa6", 3); /* … */
			j += 3;
			break;
		}
		if (s[i] == '&') {
			memcpy(out + j, "&amp;", 5);
			j += 5;
		} else if (s[i] == '<') {
			memcpy(out + j, "&lt;", 4);
			j += 4;
		} else if (s[i] == '>') {
			memcpy(out + j, "&gt;", 4);
			j += 4;
		} else {
			out[j++] = s[i];
		}
	}
	out[j] = '\0';
	v = sm_json_string(out);
	free(out);
	return v;
}

/* A copy of v made safe for mrkdwn, lists cut to SLACK_MAX_ITEMS. */
static json_t *slack_safe(json_t *v)
{
	json_t *out, *item;

	if (json_is_string(v))
		return slack_string(json_string_value(v));
	if (json_is_object(v)) {
		const char *key;
		out = json_object();
		json_object_foreach(v, key, item)
		{
			json_object_set_new(out, key, slack_safe(item));
		}
		return out;
	}
	if (json_is_array(v)) {
		size_t i;
		out = json_array();
		json_array_foreach(v, i, item)
		{
			if (i >= SLACK_MAX_ITEMS) {
				json_object_set_new(json_array_get(out, i - 1), "last",
				                    json_true());
				break;
			}
			json_array_append_new(out, slack_safe(item));
		}
		return out;
	}
	return json_incref(v);
}

static int slack_prepare(const notify_job *job, notify_message *msg, sm_error *err)
{
	json_t *context = slack_safe(job->context);
	json_t *body =
	    notify_render_json(job, "template_file", notify_template_slack, context, err);

	json_decref(context);
	if (!body)
		return -1;
	return notify_message_json(msg, body, job->config, "webhook_url", "", err);
}

const notify_driver notify_driver_slack = {
    .name = "slack",
    .description = "Slack incoming webhook (Block Kit)",
    .keys = slack_keys,
    .template_mode = SM_TEMPLATE_JSON,
    .prepare = slack_prepare,
    .send = notify_http_send,
};
