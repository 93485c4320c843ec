/* ai_ollama.c - Ollama's chat API: POST <base_url>/api/chat with
 * "stream": false so the answer is one JSON object; message.content is the
 * text. Ollama needs no key; one that is set goes as a Bearer token, for
 * an Ollama behind an authenticating proxy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai_protocols.h"

static int build(const sm_ai_provider *p, const sm_ai_config *cfg, const char *api_key,
                 const char *system, const char *prompt, sm_ai_request *req, sm_error *err)
{
	char base[2048];
	json_t *body;

	(void)p;
	sm_ai_base_url(cfg, base, sizeof base);
	if (snprintf(req->url, sizeof req->url, "%s/api/chat", base) >= (int)sizeof req->url) {
		sm_error_set(err, "base_url is too long");
		return -1;
	}
	body = json_pack("{s:s,s:[{s:s,s:s},{s:s,s:s}],s:b,s:{s:I,s:f}}", "model", sm_ai_model(cfg),
	                 "messages", "role", "system", "content", system, "role", "user", "content",
	                 prompt, "stream", 0, "options", "num_predict",
	                 (json_int_t)(cfg->max_tokens > 0 ? cfg->max_tokens : SM_AI_MAX_TOKENS),
	                 "temperature", SM_AI_TEMPERATURE);
	if (api_key && *api_key) {
		char auth[1024];
		snprintf(auth, sizeof auth, "Bearer %s", api_key);
		sm_ai_request_header(req, "Authorization", auth);
	}
	return sm_ai_request_body(req, body, err);
}

static int read_answer(json_t *answer, char **text, sm_ai_usage *usage, sm_error *err)
{
	json_t *content = json_object_get(json_object_get(answer, "message"), "content");

	if (!json_is_string(content)) {
		sm_error_set(err, "no message.content in the answer");
		return -1;
	}
	*text = strdup(json_string_value(content));
	if (!*text) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	usage->prompt_tokens = sm_ai_count(json_object_get(answer, "prompt_eval_count"));
	usage->completion_tokens = sm_ai_count(json_object_get(answer, "eval_count"));
	sm_ai_answer_model(json_object_get(answer, "model"), usage);
	return 0;
}

const sm_ai_protocol sm_ai_protocol_ollama = {
    .name = "ollama",
    .build = build,
    .read = read_answer,
};
