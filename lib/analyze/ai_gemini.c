/* ai_gemini.c - Google's generateContent: POST
 * <base_url>/v1beta/models/<model>:generateContent with the key in the
 * x-goog-api-key header (never in the URL, where logs and proxies keep it);
 * the answer is the text of the first candidate's parts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai_protocols.h"

/* The model goes into the URL path. */
#define MODEL_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

static int build(const sm_ai_provider *p, const sm_ai_config *cfg, const char *api_key,
                 const char *system, const char *prompt, sm_ai_request *req, sm_error *err)
{
	const char *model = sm_ai_model(cfg);
	char base[2048];
	json_t *body;

	/* The model is part of the path: nothing that could change it. */
	if (sm_ai_model_check(p, model, err) < 0)
		return -1;
	sm_ai_base_url(cfg, base, sizeof base);
	if (snprintf(req->url, sizeof req->url, "%s/v1beta/models/%s:generateContent", base,
	             model) >= (int)sizeof req->url) {
		sm_error_set(err, "base_url is too long");
		return -1;
	}
	body = json_pack("{s:[{s:s,s:[{s:s}]}],s:{s:[{s:s}]},s:{s:I}}", "contents", "role", "user",
	                 "parts", "text", prompt, "systemInstruction", "parts", "text", system,
	                 "generationConfig", "maxOutputTokens",
	                 (json_int_t)(cfg->max_tokens > 0 ? cfg->max_tokens : SM_AI_MAX_TOKENS));
	sm_ai_request_header(req, "x-goog-api-key", api_key ? api_key : "");
	return sm_ai_request_body(req, body, err);
}

static int read_answer(json_t *answer, char **text, sm_ai_usage *usage, sm_error *err)
{
	json_t *candidate = json_array_get(json_object_get(answer, "candidates"), 0);
	json_t *parts = json_object_get(json_object_get(candidate, "content"), "parts");
	json_t *used = json_object_get(answer, "usageMetadata");

	if (!json_is_object(candidate)) {
		sm_error_set(err, "no candidates[0] in the answer");
		return -1;
	}
	*text = sm_ai_join_text(parts);
	if (!*text) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	usage->prompt_tokens = sm_ai_count(json_object_get(used, "promptTokenCount"));
	usage->completion_tokens = sm_ai_count(json_object_get(used, "candidatesTokenCount"));
	sm_ai_answer_model(json_object_get(answer, "modelVersion"), usage);
	return 0;
}

const sm_ai_protocol sm_ai_protocol_gemini = {
    .name = "gemini",
    .build = build,
    .read = read_answer,
    .model_chars = MODEL_CHARS,
};
