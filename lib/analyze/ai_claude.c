/* ai_claude.c - Anthropic's Messages API: POST <base_url>/v1/messages with
 * x-api-key and anthropic-version; the system prompt is a top-level member
 * and the answer is the text of the content blocks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai_protocols.h"

#define ANTHROPIC_VERSION "2023-06-01"

static int build(const sm_ai_provider *p, const sm_ai_config *cfg, const char *api_key,
                 const char *system, const char *prompt, sm_ai_request *req, sm_error *err)
{
	char base[2048];
	json_t *body;

	(void)p;
	sm_ai_base_url(cfg, base, sizeof base);
	if (snprintf(req->url, sizeof req->url, "%s/v1/messages", base) >= (int)sizeof req->url) {
		sm_error_set(err, "base_url is too long");
		return -1;
	}
	body = json_pack("{s:s,s:I,s:s,s:[{s:s,s:s}]}", "model", sm_ai_model(cfg), "max_tokens",
	                 (json_int_t)(cfg->max_tokens > 0 ? cfg->max_tokens : SM_AI_MAX_TOKENS),
	                 "system", system, "messages", "role", "user", "content", prompt);
	sm_ai_request_header(req, "x-api-key", api_key ? api_key : "");
	sm_ai_request_header(req, "anthropic-version", ANTHROPIC_VERSION);
	return sm_ai_request_body(req, body, err);
}

static int read_answer(json_t *answer, char **text, sm_ai_usage *usage, sm_error *err)
{
	json_t *content = json_object_get(answer, "content");
	json_t *used = json_object_get(answer, "usage");

	if (!json_is_array(content)) {
		sm_error_set(err, "no content in the answer");
		return -1;
	}
	*text = sm_ai_join_text(content);
	if (!*text) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	usage->prompt_tokens = sm_ai_count(json_object_get(used, "input_tokens"));
	usage->completion_tokens = sm_ai_count(json_object_get(used, "output_tokens"));
	sm_ai_answer_model(json_object_get(answer, "model"), usage);
	return 0;
}

const sm_ai_protocol sm_ai_protocol_claude = {
    .name = "claude",
    .build = build,
    .read = read_answer,
};
