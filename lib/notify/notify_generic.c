/* notify_generic.c - a JSON body to any HTTP endpoint, with the channel's
 * method and headers, signed when a secret is set:
 * X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>. */
#include <stdlib.h>
#include <string.h>

#include "notify_drivers.h"
#include "sm/hmac.h"
#include "sm/json.h"

static const notify_key generic_keys[] = {
    {"webhook_url", NOTIFY_KEY_URL, true, true, SM_TEMPLATE_TEXT},
    {"method", NOTIFY_KEY_METHOD, false, false, SM_TEMPLATE_TEXT},
    {"headers", NOTIFY_KEY_HEADERS, false, true, SM_TEMPLATE_TEXT},
    {"secret", NOTIFY_KEY_STRING, false, true, SM_TEMPLATE_TEXT},
    {NULL, NOTIFY_KEY_STRING, false, false, SM_TEMPLATE_TEXT},
};

static int generic_prepare(const notify_job *job, notify_message *msg, sm_error *err)
{
	/* Sent as the template made it (checked to be a JSON object): the
	 * bytes signed and sent are the template's. */
	char *body = notify_render_json_text(job, "template_file", notify_template_generic,
	                                     job->context, err);
	const char *secret = notify_cfg_str(job->config, "secret", NULL), *name;
	json_t *value;

	if (!body)
		return -1;
	if (notify_message_json_text(msg, body, job->config, "webhook_url", "", err) < 0)
		return -1;
	msg->method = strdup(notify_cfg_str(job->config, "method", "POST"));
	if (!msg->method)
		goto oom;
	/* cppcheck-suppress variableScope */
	json_object_foreach(json_object_get(job->config, "headers"), name, value)
	{
		if (json_is_string(value) &&
		    notify_message_header(msg, name, json_string_value(value)) < 0) {
			sm_error_set(err, "too many headers");
			return -1;
		}
	}
	if (secret) {
		char hex[SM_SHA256_HEX], sig[SM_SHA256_HEX + 8];
		if (sm_hmac_sha256_hex(secret, strlen(secret), msg->body, msg->body_len, hex, err) <
		    0)
			return -1;
		snprintf(sig, sizeof sig, "sha256=%s", hex);
		if (notify_message_header(msg, "X-Webhook-Signature", sig) < 0)
			goto oom;
	}
	return 0;
oom:
	sm_error_set(err, "out of memory");
	return -1;
}

const notify_driver notify_driver_generic = {
    .name = "generic",
    .description = "JSON to any HTTP endpoint, optionally HMAC-signed",
    .keys = generic_keys,
    .template_mode = SM_TEMPLATE_JSON,
    .prepare = generic_prepare,
    .send = notify_http_send,
};
