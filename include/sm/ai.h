/* ai.h - the AI providers of sm-analyze: one table of wire protocols, and
 * the logic they share (the prompt, redaction, parsing the answer).
 *
 * Each provider is a row {name, default base URL, default model, key
 * variable, wire protocol} of the one table in ai.c; a protocol is a row
 * {request builder, answer reader} in its own ai_<protocol>.c, and four
 * providers (openai, mistral, grok, copilot) share the OpenAI-compatible
 * chat-completions protocol. Nothing here touches the store: analyze.h
 * decides what a failure means.
 *
 * Secrets: the prompt is redacted (sm_ai_redact_*) before it leaves the
 * host, and no error message carries the API key, a URL path or an
 * unredacted vendor text.
 */
#ifndef SM_AI_H
#define SM_AI_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "sm/err.h"

#define SM_AI_REDACTED       "[REDACTED]"
#define SM_AI_REDACT_PASSES  32
#define SM_AI_MAX_TOKENS     1024
#define SM_AI_TIMEOUT_S      30.0
#define SM_AI_MAX_RESPONSE   (1u << 20) /* bytes of a vendor answer kept */
#define SM_AI_PROMPT_ALERTS  10         /* alerts listed in a prompt */
#define SM_AI_PROMPT_METRICS 1000       /* bytes of one check's metrics in a prompt */
#define SM_AI_TEMPERATURE    0.3

struct sm_ai_provider;

/* What one exchange sends. */
typedef struct sm_ai_config {
	const struct sm_ai_provider *provider;
	const char *api_key;  /* "" or NULL: the provider's environment variable */
	const char *model;    /* NULL: the provider's default */
	const char *base_url; /* NULL: the provider's default */
	long max_tokens;      /* <= 0: SM_AI_MAX_TOKENS */
	double timeout_s;     /* <= 0: SM_AI_TIMEOUT_S */
} sm_ai_config;

/* A request ready to send: the URL, the body and the headers. */
typedef struct sm_ai_request {
	char url[2048];
	char *body;
	char headers[4][1024]; /* "Name: value"; unused ones are "" */
} sm_ai_request;

/* What an answer said besides its text; -1 (or "") when the vendor did not
 * say. */
typedef struct sm_ai_usage {
	long prompt_tokens;
	long completion_tokens;
	char model[128]; /* the model that answered, as the vendor names it */
} sm_ai_usage;

/* A wire protocol: how a request is built and an answer read. One row
 * each, in lib/analyze/ai_<protocol>.c, listed in lib/analyze/ai_protocols.h. */
typedef struct sm_ai_protocol {
	const char *name; /* "openai", "claude", ... */
	/* Fill req (body malloc'd) for system+prompt; -1 with err. */
	int (*build)(const struct sm_ai_provider *p, const struct sm_ai_config *cfg,
	             const char *api_key, const char *system, const char *prompt,
	             sm_ai_request *req, sm_error *err);
	/* The answer text (malloc'd) and usage from the vendor's JSON; -1 with
	 * err when the JSON has no answer where the protocol puts it. */
	int (*read)(json_t *answer, char **text, sm_ai_usage *usage, sm_error *err);
	/* The characters a model name may hold, when the protocol puts it in
	 * the URL path; NULL: any one line of text. */
	const char *model_chars;
} sm_ai_protocol;

typedef struct sm_ai_provider {
	const char *name;        /* the family's key: "openai", ... */
	const char *description; /* one line */
	const char *base_url;    /* the vendor's API root */
	const char *model;       /* the default model */
	const char *key_env;     /* the environment variable of the key; NULL: none */
	bool needs_key;          /* refuse to call without a key */
	const sm_ai_protocol *protocol;
	bool stream_false; /* OpenAI-compatible: also send "stream": false */
} sm_ai_provider;

/* The providers, in listing order: openai, claude, gemini, copilot, grok,
 * ollama, mistral. */
const sm_ai_provider *sm_ai_providers(size_t *n);
/* The provider named name, or NULL. */
const sm_ai_provider *sm_ai_provider_find(const char *name);
/* Whether model may be sent to p (its protocol's model_chars); 0, or -1
 * with err saying what is allowed. */
int sm_ai_model_check(const sm_ai_provider *p, const char *model, sm_error *err);

/* The system prompt every provider sends: the types and priorities a
 * recommendation may have and the JSON array to answer with. */
const char *sm_ai_system_prompt(void);

/* The user prompt for an envelope: its incident, up to SM_AI_PROMPT_ALERTS
 * alerts with their labels and annotations, and its check results, all
 * redacted. malloc'd; NULL when out of memory. */
char *sm_ai_prompt(json_t *env);

/* A copy of text with credential shapes replaced by SM_AI_REDACTED:
 * Bearer/Basic credentials, sk-…, AKIA…, ghp_…/github_pat_…, xox…-,
 * AIza…, JWTs, private key blocks, user:password@ in URLs, and the value
 * of name=value / name: value pairs whose name looks secret or whose value
 * is a long hex or base64 string. Passes repeat until one changes nothing,
 * so redacting the result again gives it back; a text still changing after
 * SM_AI_REDACT_PASSES passes comes back as SM_AI_REDACTED alone.
 * malloc'd; NULL when out of memory. */
char *sm_ai_redact_text(const char *text);
/* Whether an object key names a secret (password, token, api_key,
 * Authorization, …), by its words: "max_tokens" does not. */
bool sm_ai_secret_key(const char *key);
/* A deep copy of value with the values of secret keys replaced by
 * SM_AI_REDACTED at any depth and every string passed through
 * sm_ai_redact_text. NULL when out of memory. */
json_t *sm_ai_redact_json(json_t *value);

/* Parse a model's answer into recommendations: Markdown code fences are
 * stripped; a JSON array, a single
 * object, or an object with a "recommendations" array (and an optional
 * "summary", copied to *summary when summary is not NULL); unknown or
 * non-string type/priority become general/medium, a missing or null title
 * "AI Recommendation", actions a list of strings (a single string is
 * wrapped); elements that are not objects or lack a description are
 * skipped. An empty array is 0 recommendations. Text that is not JSON, a
 * scalar, or a non-empty array of which nothing is usable is -1 with err.
 * *out is a new array. */
int sm_ai_parse_answer(const char *text, json_t **out, char **summary, sm_error *err);

/* One exchange: build the request, send it, read the answer's text. The
 * model used goes to model (size bytes). -1 with err (never holding the
 * key) on a transport error, an HTTP status other than 2xx, or an answer
 * that is not the vendor's JSON. */
int sm_ai_complete(const sm_ai_config *cfg, const char *system, const char *prompt, char **text,
                   sm_ai_usage *usage, sm_error *err);

/* The model cfg uses: its own or the provider's default. */
const char *sm_ai_model(const sm_ai_config *cfg);
/* The base URL cfg uses, without trailing slashes, into buf. */
void sm_ai_base_url(const sm_ai_config *cfg, char *buf, size_t size);

/* For the protocol files: body as compact JSON into req->body (steals
 * body); "Name: value" into the first free header slot. */
int sm_ai_request_body(sm_ai_request *req, json_t *body, sm_error *err);
void sm_ai_request_header(sm_ai_request *req, const char *name, const char *value);
/* A usage count from a JSON integer, -1 when absent. */
long sm_ai_count(json_t *value);
/* The answer's model name (a JSON string of printable ASCII) into
 * usage->model; "" otherwise. */
void sm_ai_answer_model(json_t *value, sm_ai_usage *usage);
/* The "text" members of an array of content parts (Claude's content,
 * Gemini's parts) joined into one malloc'd string ("" when none). NULL
 * when out of memory. */
char *sm_ai_join_text(json_t *parts);

#endif
