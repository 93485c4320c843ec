/* notify_message.c - prepared messages (what a driver's prepare makes and
 * its send sends): building a JSON POST, adding headers, freeing; and the
 * one HTTP attempt that the slack, pagerduty and generic drivers share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify_private.h"
#include "sm/http.h"
#include "sm/json.h"

int notify_message_json(notify_message *msg, json_t *body, json_t *config, const char *url_key,
                        const char *url_default, sm_error *err)
{
	char *text = body ? sm_json_dump(body, NULL) : NULL;

	json_decref(body);
	return notify_message_json_text(msg, text, config, url_key, url_default, err);
}

int notify_message_json_text(notify_message *msg, char *body, json_t *config, const char *url_key,
                             const char *url_default, sm_error *err)
{
	msg->body = body;
	msg->body_len = body ? strlen(body) : 0;
	msg->url = strdup(notify_cfg_str(config, url_key, url_default));
	if (!msg->body || !msg->url ||
	    notify_message_header(msg, "Content-Type", "application/json") < 0) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	return 0;
}

void notify_message_clear(notify_message *msg)
{
	free(msg->url);
	free(msg->method);
	for (size_t i = 0; msg->headers[i]; i++)
		free(msg->headers[i]);
	free(msg->body);
	free(msg->subject);
	free(msg->text);
	free(msg->html);
	for (size_t i = 0; msg->argv && msg->argv[i]; i++)
		free(msg->argv[i]);
	free(msg->argv);
	for (size_t i = 0; msg->envv && msg->envv[i]; i++)
		free(msg->envv[i]);
	free(msg->envv);
	for (size_t i = 0; i < msg->ntargets; i++)
		free(msg->targets[i].url);
	free(msg->targets);
	memset(msg, 0, sizeof *msg);
}

int notify_message_header(notify_message *msg, const char *name, const char *value)
{
	size_t n = 0;

	while (msg->headers[n])
		n++;
	if (n >= NOTIFY_MAX_HEADERS || asprintf(&msg->headers[n], "%s: %s", name, value) < 0) {
		msg->headers[n] = NULL;
		return -1;
	}
	return 0;
}

/* Printable text of at most n bytes of s for a message. */
static void snippet(char *out, size_t size, const char *s, size_t len)
{
	size_t j = 0;

	for (size_t i = 0; s && i < len && j + 1 < size && j < 200; i++)
		out[j++] = (unsigned char)s[i] < ' ' ? ' ' : s[i];
	out[j] = '\0';
}

void notify_http_send(const notify_job *job, const notify_message *msg, notify_outcome *out)
{
	sm_http_request req = {
	    .method = msg->method,
	    .url = msg->url,
	    .headers = (const char *const *)msg->headers,
	    .body = msg->body,
	    .body_len = msg->body_len,
	    .timeout_s = job->timeout_s,
	};
	sm_http_response res = {0};
	char text[256];

	memset(out, 0, sizeof *out);
	if (sm_http_client_send(job->http, &req, &res) < 0) {
		out->transient = res.transient;
		snprintf(out->error, sizeof out->error, "%s", res.error);
	} else {
		out->http_status = res.status;
		out->ok = res.status >= 200 && res.status < 300;
		out->transient = res.transient;
		if (!out->ok) {
			snippet(text, sizeof text, res.body, res.body_len);
			snprintf(out->error, sizeof out->error, "HTTP %ld%s%s", res.status,
			         *text ? ": " : "", text);
		}
	}
	sm_http_response_clear(&res);
}
