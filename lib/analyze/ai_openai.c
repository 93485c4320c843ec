/* ai_openai.c - the OpenAI-compatible chat-completions protocol, spoken by
 * the openai, mistral, grok and copilot rows of the provider table:
 * POST <base_url>/chat/completions with Authorization: Bearer <key>; the
 * answer is choices[0].message.content. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai_protocols.h"

static int build(const sm_ai_provider *p, const sm_ai_config *cfg, const char *api_key,
                 const char *system, const char *prompt, sm_ai_request *req, sm_error *err)
{
	char base[2048];
	json_t *body;

	sm_ai_base_url(cfg, base, sizeof base);
	if (snprintf(req->url, sizeof req->url, "%s/chat/completions", base) >=
	    (int)sizeof req->url) {
		sm_error_set(err, "base_url is too long");
		return -1;
	}
	body = json_pack("{s:s,s:[{s:s,s:s},{s:s,s:s}],s:I,s:f}", "model", sm_ai_model(cfg),
	                 "messages", "role", "system", "content", system, "role", "user", "content",
	                 prompt, "max_tokens",
	                 (json_int_t)(cfg->max_tokens > 0 ? cfg->max_tokens : SM_AI_MAX_TOKENS),
	                 "temperature", SM_AI_TEMPERATURE);
	if (body && p->stream_false)
		json_object_set_new(body, "stream", json_false());
	if (api_key && *api_key) {
		char auth[1024];
		snprintf(auth, sizeof auth, "Bearer %s", api_key);
		sm_ai_request_header(req, "Authorization", auth);
	}
	return sm_ai_request_body(req, body, err);
}

static int read_answer(json_t *answer, char **text, sm_ai_usage *usage, sm_error *err)
{
	json_t *message =
	    json_object_get(json_array_get(json_object_get(answer, "choices"), 0), "message");
	json_t *content = json_object_get(message, "content");
	json_t *used = json_object_get(answer, "usage");

	if (!json_is_object(message)) {
		sm_error_set(err, "no choices[0].message in the answer");
		return -1;
	}
	/* A refusal or a tool call leaves content null: no text. */
	*text = strdup(json_is_string(content) ? json_string_value(content) : "");
	if (!*text) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	usage->prompt_tokens = sm_ai_count(json_object_get(used, "prompt_tokens"));
	usage->completion_tokens = sm_ai_count(json_object_get(used, "completion_tokens"));
	sm_ai_answer_model(json_object_get(answer, "model"), usage);
	return 0;
}

const sm_ai_protocol sm_ai_protocol_openai = {
    .name = "openai",
    .build = build,
    .read = read_answer,
};
