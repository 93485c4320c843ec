/* ai.c - what the AI providers share (ai.h): their table, the prompt,
 * redaction and the parsing of answers.
 *
 * Answer parsing skips odd elements rather than giving up on the answer,
 * and text that holds no JSON is an error, so the caller falls back to the
 * local rules instead of forwarding prose as advice.
 */
#include <ctype.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ai_protocols.h"
#include "sm/http.h"
#include "sm/json.h"
#include "sm/recommend.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The provider family, in listing order. */
static const sm_ai_provider providers[] = {
    {"openai", "OpenAI chat completions", "https://api.openai.com/v1", "gpt-4o-mini",
     "OPENAI_API_KEY", true, &sm_ai_protocol_openai, false},
    {"claude", "Anthropic Messages API", "https://api.anthropic.com", "claude-sonnet-4-20250514",
     "ANTHROPIC_API_KEY", true, &sm_ai_protocol_claude, false},
    {"gemini", "Google Gemini generateContent", "https://generativelanguage.googleapis.com",
     "gemini-2.0-flash", "GEMINI_API_KEY", true, &sm_ai_protocol_gemini, false},
    {"copilot", "GitHub Copilot (OpenAI-compatible)", "https://api.githubcopilot.com", "gpt-4o",
     "GITHUB_TOKEN", true, &sm_ai_protocol_openai, false},
    {"grok", "xAI Grok (OpenAI-compatible)", "https://api.x.ai/v1", "grok-3-mini", "XAI_API_KEY",
     true, &sm_ai_protocol_openai, false},
    {"ollama", "Ollama chat API (self-hosted, no key)", "http://localhost:11434", "llama3.1", NULL,
     false, &sm_ai_protocol_ollama, false},
    {"mistral", "Mistral chat completions (OpenAI-compatible)", "https://api.mistral.ai/v1",
     "mistral-small-latest", "MISTRAL_API_KEY", true, &sm_ai_protocol_openai, true},
};

const sm_ai_provider *sm_ai_providers(size_t *n)
{
	*n = COUNT(providers);
	return providers;
}

const sm_ai_provider *sm_ai_provider_find(const char *name)
{
	for (size_t i = 0; name && i < COUNT(providers); i++)
		if (strcmp(providers[i].name, name) == 0)
			return &providers[i];
	return NULL;
}

int sm_ai_model_check(const sm_ai_provider *p, const char *model, sm_error *err)
{
	const char *chars = p->protocol->model_chars;

	if (chars && (!*model || strspn(model, chars) != strlen(model))) {
		sm_error_set(err, "model: letters, digits, '.', '_' and '-' only for %s", p->name);
		return -1;
	}
	return 0;
}

const char *sm_ai_model(const sm_ai_config *cfg)
{
	return cfg->model && *cfg->model ? cfg->model : cfg->provider->model;
}

void sm_ai_base_url(const sm_ai_config *cfg, char *buf, size_t size)
{
	const char *base =
	    cfg->base_url && *cfg->base_url ? cfg->base_url : cfg->provider->base_url;
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	snprintf(buf, size, "%.*s", (int)n, base);
}

static const char system_prompt[] =
    "You are an expert system administrator and incident response specialist.\n"
    "Analyze the provided incident information and generate actionable recommendations.\n"
    "\n"
    "For each recommendation, provide:\n"
    "1. A type (one of: memory, disk, cpu, process, network, general)\n"
    "2. A priority (one of: low, medium, high, critical)\n"
    "3. A clear, concise title\n"
    "4. A detailed description of the issue and recommendation\n"
    "5. Specific actions to resolve the issue\n"
    "\n"
    "Respond ONLY with a JSON array of recommendations. Each recommendation should have this "
    "structure:\n"
    "{\n"
    "    \"type\": \"memory|disk|cpu|process|network|general\",\n"
    "    \"priority\": \"low|medium|high|critical\",\n"
    "    \"title\": \"Short title\",\n"
    "    \"description\": \"Detailed description\",\n"
    "    \"actions\": [\"Action 1\", \"Action 2\"]\n"
    "}\n"
    "\n"
    "Be specific and actionable. Focus on root cause analysis and practical remediation steps.";

const char *sm_ai_system_prompt(void)
{
	return system_prompt;
}

/* --- a growing string --- */

struct buf {
	char *s;
	size_t len, cap;
	bool failed;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->s, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[512], *big = NULL;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n < sizeof small) {
		buf_add(b, small, (size_t)n);
		return;
	}
	big = malloc((size_t)n + 1);
	if (!big) {
		b->failed = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf_add(b, big, (size_t)n);
	free(big);
}

/* The string b holds (never NULL on success), or NULL after a failure. */
static char *buf_take(struct buf *b)
{
	if (!b->failed && !b->s)
		buf_add(b, "", 0);
	if (b->failed) {
		free(b->s);
		return NULL;
	}
	return b->s;
}

/* --- redaction --- */

/* A credential shape: the regex, and the number of the group kept before
 * the replacement (0: none), e.g. the "Bearer " in front of a token. */
static const struct {
	const char *re;
	int icase;
	int keep;
	bool name_rule;     /* name=value: leave values that are already redacted */
	const char *suffix; /* written after the replacement */
} shapes[] = {
    /* user:password@ in any URL: keep the scheme and the '@'. */
    {"([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@:[:space:]]*:[^/?#@[:space:]]+@", 0, 1, false, "@"},
    {"((Bearer|Basic)[[:space:]]+)[A-Za-z0-9._~+/=-]{6,}", 1, 1, false, NULL},
    {"(^|[^A-Za-z0-9_-])sk-[A-Za-z0-9_-]{16,}", 0, 1, false, NULL},
    {"(^|[^A-Za-z0-9])(AKIA|ASIA)[0-9A-Z]{16,}", 0, 1, false, NULL},
    {"(^|[^A-Za-z0-9_])(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})", 0, 1, false,
     NULL},
    {"(^|[^A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{8,}", 0, 1, false, NULL},
    {"(^|[^A-Za-z0-9])AIza[0-9A-Za-z_-]{30,}", 0, 1, false, NULL},
    {"(^|[^A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}", 0, 1, false,
     NULL},
    /* password=…, "api_key": "…", token: … in free text (and in the JSON
     * the prompt quotes, where the keys were redacted already). */
    {"([A-Za-z0-9_.-]*(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?"
     "key|credential|cookie|session|authorization)[A-Za-z0-9_.-]*[\"']?[[:space:]]*[=:][[:space:]"
     "]*[\"']?)[^[:space:]\"',;&]+",
     1, 1, true, NULL},
    /* Command-line flags: --password x, --auth user:pass, -token=x. */
    {"((^|[[:space:]])--?[A-Za-z0-9_-]*(password|passwd|pass|pwd|secret|token|auth|key|credential)"
     "[A-Za-z0-9_-]*(=|[[:space:]]+))[^-[:space:]][^[:space:]]*",
     1, 1, true, NULL},
    /* A long hex or base64 string after '=' is a secret whatever its name. */
    {"(=[[:space:]]*)[A-Za-z0-9+/_-]{32,}={0,2}", 0, 1, false, NULL},
};

static regex_t shape_re[COUNT(shapes)], key_begin, key_end;
static bool regex_ready;

static void compile_shapes(void)
{
	for (size_t i = 0; i < COUNT(shapes); i++)
		if (regcomp(&shape_re[i], shapes[i].re,
		            REG_EXTENDED | (shapes[i].icase ? REG_ICASE : 0)) != 0)
			return;
	if (regcomp(&key_begin, "-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----", REG_EXTENDED) !=
	        0 ||
	    regcomp(&key_end, "-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----", REG_EXTENDED) != 0)
		return;
	regex_ready = true;
}

static bool already_redacted(const char *value, size_t n)
{
	static const char *const keep[] = {SM_AI_REDACTED, "Bearer", "Basic"};

	for (size_t i = 0; i < COUNT(keep); i++) {
		size_t k = strlen(keep[i]);
		if (n >= k && strncasecmp(value, keep[i], k) == 0)
			return true;
	}
	return false;
}

/* in with every match of re replaced (keeping group keep). malloc'd. */
static char *substitute(const char *in, const regex_t *re, int keep, bool name_rule,
                        const char *suffix)
{
	struct buf out = {0};
	regmatch_t m[4];
	const char *p = in;

	while (*p && regexec(re, p, COUNT(m), m, p == in ? 0 : REG_NOTBOL) == 0) {
		regoff_t so = m[0].rm_so, eo = m[0].rm_eo, kept = so;
		if (keep > 0 && keep < (int)COUNT(m) && m[keep].rm_so >= 0)
			kept = m[keep].rm_eo;
		buf_add(&out, p, (size_t)so);
		if (eo == so) { /* an empty match: move on one byte */
			buf_add(&out, p + so, 1);
			p += so + 1;
			continue;
		}
		if (name_rule && already_redacted(p + kept, (size_t)(eo - kept))) {
			buf_add(&out, p + so, (size_t)(eo - so));
		} else {
			buf_add(&out, p + so, (size_t)(kept - so));
			buf_str(&out, SM_AI_REDACTED);
			buf_str(&out, suffix ? suffix : "");
		}
		p += eo;
	}
	buf_str(&out, p);
	return buf_take(&out);
}

/* Private key blocks, BEGIN to END (or to the end of a cut-off text). */
static char *cut_key_blocks(const char *in)
{
	struct buf out = {0};
	regmatch_t m[1];
	const char *p = in;

	while (*p && regexec(&key_begin, p, 1, m, 0) == 0) {
		const char *rest = p + m[0].rm_eo;
		regmatch_t e[1];
		buf_add(&out, p, (size_t)m[0].rm_so);
		buf_str(&out, SM_AI_REDACTED);
		if (regexec(&key_end, rest, 1, e, REG_NOTBOL) != 0) {
			p = rest + strlen(rest);
			break;
		}
		p = rest + e[0].rm_eo;
	}
	buf_str(&out, p);
	return buf_take(&out);
}

/* One pass: key blocks, then every shape in turn. malloc'd. */
static char *redact_pass(const char *in)
{
	char *cur = cut_key_blocks(in);

	for (size_t i = 0; cur && i < COUNT(shapes); i++) {
		char *next = substitute(cur, &shape_re[i], shapes[i].keep, shapes[i].name_rule,
		                        shapes[i].suffix);
		free(cur);
		cur = next;
	}
	return cur;
}

char *sm_ai_redact_text(const char *text)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	char *cur;

	pthread_once(&once, compile_shapes);
	if (!text)
		text = "";
	if (!regex_ready) /* cannot check: say nothing rather than leak */
		return strdup(SM_AI_REDACTED);
	/* Until a pass changes nothing: one replacement can expose a shape
	 * another rule missed (a value cut at a quote leaves
	 * "user:…[REDACTED]…@"), so a single pass is not always final (found
	 * by fuzz_ai). The result is then a fixed point, so redacting it again
	 * gives it back. A text that has not settled after SM_AI_REDACT_PASSES
	 * passes is built to defeat the rules: all of it is withheld. */
	cur = strdup(text);
	for (int pass = 0; cur; pass++) {
		char *next;
		bool same;

		if (pass == SM_AI_REDACT_PASSES) {
			free(cur);
			return strdup(SM_AI_REDACTED);
		}
		next = redact_pass(cur);
		same = next && strcmp(next, cur) == 0;
		free(cur);
		cur = next;
		if (same)
			break;
	}
	return cur;
}

/* Whether one lower-cased word of a key names a secret. */
static bool secret_word(const char *w)
{
	static const char *const inside[] = {
	    "password",  "passwd",    "passphrase", "secret",       "credential",
	    "cookie",    "authoriz",  "apikey",     "privatekey",   "accesskey",
	    "secretkey", "sessionid", "signingkey", "clientsecret",
	};
	static const char *const whole[] = {"key",  "keys",    "auth",      "pwd",
	                                    "pass", "session", "signature", "dsn",
	                                    "jwt",  "bearer",  "otp"};

	for (size_t i = 0; i < COUNT(inside); i++)
		if (strstr(w, inside[i]))
			return true;
	for (size_t i = 0; i < COUNT(whole); i++)
		if (strcmp(w, whole[i]) == 0)
			return true;
	/* "token", "auth_token", "accesstoken" but not "tokens" (a count, as
	 * in max_tokens). */
	return strstr(w, "token") && strcmp(w, "tokens") != 0;
}

bool sm_ai_secret_key(const char *key)
{
	char word[128];
	size_t n = 0;

	if (!key)
		return false;
	for (const char *p = key;; p++) {
		unsigned char c = (unsigned char)*p;
		/* A word ends at a separator or where camelCase starts a new one. */
		bool split =
		    !isalnum(c) || (isupper(c) && p > key && islower((unsigned char)p[-1]));
		if (split && n > 0) {
			word[n] = '\0';
			if (secret_word(word))
				return true;
			n = 0;
		}
		if (!c)
			break;
		if (isalnum(c) && n + 1 < sizeof word)
			word[n++] = (char)tolower(c);
	}
	return false;
}

json_t *sm_ai_redact_json(json_t *value)
{
	json_t *copy = NULL;

	if (json_is_object(value)) {
		const char *key;
		json_t *v;
		copy = json_object();
		/* cppcheck-suppress variableScope */
		json_object_foreach(value, key, v)
		{
			json_t *r;
			if (sm_ai_secret_key(key) && !json_is_null(v))
				r = json_string(SM_AI_REDACTED);
			else
				r = sm_ai_redact_json(v);
			if (!copy || !r || json_object_set_new(copy, key, r) < 0) {
				json_decref(copy);
				return NULL;
			}
		}
		return copy;
	}
	if (json_is_array(value)) {
		size_t i;
		json_t *v;
		copy = json_array();
		/* cppcheck-suppress variableScope */
		json_array_foreach(value, i, v)
		{
			json_t *r = sm_ai_redact_json(v);
			if (!copy || !r || json_array_append_new(copy, r) < 0) {
				json_decref(copy);
				return NULL;
			}
		}
		return copy;
	}
	if (json_is_string(value)) {
		char *r = sm_ai_redact_text(json_string_value(value));
		copy = r ? sm_json_string(r) : NULL;
		free(r);
		return copy;
	}
	return value ? json_deep_copy(value) : json_null();
}

/* --- the prompt --- */

static const char *str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

/* " <label>: <compact JSON>" of a non-empty object or array, after
 * redaction, cut to max bytes (0: no limit). */
static void add_json_line(struct buf *b, const char *label, json_t *value, size_t max)
{
	json_t *clean;
	char *text;

	if (!(json_is_object(value) && json_object_size(value) > 0) &&
	    !(json_is_array(value) && json_array_size(value) > 0))
		return;
	clean = sm_ai_redact_json(value);
	text = clean ? sm_json_dumps(clean, SM_JSON_FLAGS | JSON_SORT_KEYS) : NULL;
	if (text && max > 0 && strlen(text) > max)
		buf_printf(b, "  %s: %.*s...\n", label, (int)max, text);
	else if (text)
		buf_printf(b, "  %s: %s\n", label, text);
	else
		b->failed = true;
	free(text);
	json_decref(clean);
}

char *sm_ai_prompt(json_t *env)
{
	json_t *incident = json_object_get(env, "incident"),
	       *alerts = json_object_get(env, "alerts");
	json_t *checks = json_object_get(env, "checks"), *v;
	struct buf b = {0};
	char *raw, *clean;
	size_t i;

	if (json_is_object(incident)) {
		const char *description = str(incident, "description");
		/* The envelope's incident has no description: its first alert's. */
		if (!*description)
			description = str(json_array_get(alerts, 0), "description");
		buf_printf(&b, "Incident Title: %s\n", str(incident, "title"));
		buf_printf(&b, "Incident Description: %s\n", description);
		buf_printf(&b, "Severity: %s\n", str(incident, "severity"));
		buf_printf(&b, "Status: %s\n", str(incident, "status"));
	} else {
		buf_printf(&b, "Incident Title: (no incident: results of a local check round)\n");
	}
	if (json_string_value(json_object_get(env, "host")))
		buf_printf(&b, "Host: %s\n", str(env, "host"));
	if (json_array_size(alerts) > 0) {
		size_t shown = 0;
		buf_str(&b, "\nAssociated Alerts:\n");
		json_array_foreach(alerts, i, v)
		{
			if (shown++ >= SM_AI_PROMPT_ALERTS)
				break;
			buf_printf(&b, "- %s", str(v, "name"));
			if (*str(v, "description"))
				buf_printf(&b, ": %s", str(v, "description"));
			if (*str(v, "status"))
				buf_printf(&b, " (%s, %s)", str(v, "status"), str(v, "severity"));
			buf_str(&b, "\n");
			add_json_line(&b, "Labels", json_object_get(v, "labels"), 0);
			add_json_line(&b, "Annotations", json_object_get(v, "annotations"), 0);
		}
	}
	if (json_array_size(checks) > 0) {
		buf_str(&b, "\nCheck Results:\n");
		json_array_foreach(checks, i, v)
		{
			buf_printf(&b, "- %s: %s - %s\n", str(v, "checker"), str(v, "status"),
			           str(v, "message"));
			add_json_line(&b, "Metrics", json_object_get(v, "metrics"),
			              SM_AI_PROMPT_METRICS);
		}
	}
	raw = buf_take(&b);
	if (!raw)
		return NULL;
	/* Free text (titles, descriptions, messages) may hold credentials too. */
	clean = sm_ai_redact_text(raw);
	free(raw);
	return clean;
}

/* --- the answer --- */

/* Strip a Markdown code fence: the first line when the text starts with
 * ```, and the last when it is ``` alone. In place; returns the start. */
static char *strip_fence(char *text)
{
	char *end, *first, *last;

	while (isspace((unsigned char)*text))
		text++;
	end = text + strlen(text);
	while (end > text && isspace((unsigned char)end[-1]))
		*--end = '\0';
	if (strncmp(text, "```", 3) != 0)
		return text;
	first = strchr(text, '\n');
	last = strrchr(text, '\n');
	if (!first)
		return text + strlen(text); /* "```json" alone: nothing */
	if (strcmp(last + 1, "```") == 0) {
		if (last == first)
			return last + 1 + 3; /* an empty block */
		*last = '\0';
	}
	return first + 1;
}

/* The JSON in text: all of it, or from the first '[' or '{' to the last
 * ']' or '}' when the model wrapped it in words. */
static json_t *find_json(const char *text)
{
	const char *start, *end;
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);

	if (v)
		return v;
	start = strpbrk(text, "[{");
	if (!start)
		return NULL;
	end = strrchr(text, *start == '[' ? ']' : '}');
	if (!end || end < start)
		return NULL;
	return json_loadb(start, (size_t)(end - start + 1), JSON_DECODE_ANY, NULL);
}

static json_t *recommendation_of(json_t *e)
{
	json_t *actions = json_array(), *a = json_object_get(e, "actions");
	const char *title = json_string_value(json_object_get(e, "title"));
	const char *description = json_string_value(json_object_get(e, "description"));
	int type, priority;
	char lower[32];

	if (!description || !*description) {
		json_decref(actions);
		return NULL;
	}
	snprintf(lower, sizeof lower, "%s", str(e, "type"));
	for (char *p = lower; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	type = sm_recommend_type_parse(lower);
	snprintf(lower, sizeof lower, "%s", str(e, "priority"));
	for (char *p = lower; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	priority = sm_recommend_priority_parse(lower);
	if (json_is_string(a)) {
		json_array_append(actions, a);
	} else {
		size_t i;
		json_t *x;
		json_array_foreach(a, i, x)
		{
			if (json_is_string(x))
				json_array_append(actions, x);
		}
	}
	return sm_recommend_new(
	    type < 0 ? SM_RECOMMEND_GENERAL : (enum sm_recommend_type)type,
	    priority < 0 ? SM_RECOMMEND_MEDIUM : (enum sm_recommend_priority)priority,
	    title && *title ? title : "AI Recommendation", description, actions, NULL);
}

int sm_ai_parse_answer(const char *text, json_t **out, char **summary, sm_error *err)
{
	char *copy = strdup(text ? text : ""), *body;
	json_t *v = NULL, *list, *e;
	size_t i;

	*out = NULL;
	if (summary)
		*summary = NULL;
	if (!copy) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	body = strip_fence(copy);
	if (!*body) {
		sm_error_set(err, "the answer is empty");
		goto fail;
	}
	v = find_json(body);
	if (!v) {
		sm_error_set(err, "the answer is not JSON");
		goto fail;
	}
	list = v;
	if (json_is_object(v) && json_is_array(json_object_get(v, "recommendations"))) {
		if (summary && json_string_value(json_object_get(v, "summary")))
			*summary = strdup(json_string_value(json_object_get(v, "summary")));
		list = json_object_get(v, "recommendations");
	}
	*out = json_array();
	if (json_is_object(list)) {
		json_t *rec = recommendation_of(list);
		if (!rec) {
			sm_error_set(err, "the answer's recommendation has no description");
			goto fail;
		}
		json_array_append_new(*out, rec);
	} else if (json_is_array(list)) {
		json_array_foreach(list, i, e)
		{
			json_t *rec = json_is_object(e) ? recommendation_of(e) : NULL;
			if (rec)
				json_array_append_new(*out, rec);
		}
		if (json_array_size(list) > 0 && json_array_size(*out) == 0) {
			sm_error_set(err, "no usable recommendation in the answer (%zu elements)",
			             json_array_size(list));
			goto fail;
		}
	} else {
		sm_error_set(err, "the answer is a JSON %s, not recommendations",
		             json_is_string(v)   ? "string"
		             : json_is_number(v) ? "number"
		                                 : "scalar");
		goto fail;
	}
	json_decref(v);
	free(copy);
	return 0;
fail:
	json_decref(*out);
	*out = NULL;
	if (summary) {
		free(*summary);
		*summary = NULL;
	}
	json_decref(v);
	free(copy);
	return -1;
}

/* --- one exchange --- */

int sm_ai_request_body(sm_ai_request *req, json_t *body, sm_error *err)
{
	req->body = body ? sm_json_dumps(body, SM_JSON_FLAGS) : NULL;
	json_decref(body);
	if (!req->body) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	return 0;
}

void sm_ai_request_header(sm_ai_request *req, const char *name, const char *value)
{
	for (size_t i = 0; i < COUNT(req->headers); i++)
		if (!req->headers[i][0]) {
			snprintf(req->headers[i], sizeof req->headers[i], "%s: %s", name, value);
			return;
		}
}

char *sm_ai_join_text(json_t *parts)
{
	char *text = calloc(1, 1);
	size_t len = 0, i;
	json_t *part;

	/* cppcheck-suppress variableScope */
	json_array_foreach(parts, i, part)
	{
		const char *s = json_string_value(json_object_get(part, "text"));
		size_t n = s ? strlen(s) : 0;
		char *grown;
		if (!text || n == 0)
			continue;
		grown = realloc(text, len + n + 1);
		if (!grown) {
			free(text);
			return NULL;
		}
		text = grown;
		memcpy(text + len, s, n + 1);
		len += n;
	}
	return text;
}

long sm_ai_count(json_t *value)
{
	return json_is_integer(value) && json_integer_value(value) >= 0
	           ? (long)json_integer_value(value)
	           : -1;
}

void sm_ai_answer_model(json_t *value, sm_ai_usage *usage)
{
	const char *s = json_string_value(value);
	size_t n = s ? strlen(s) : 0;

	usage->model[0] = '\0';
	if (n == 0 || n >= sizeof usage->model)
		return;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return;
	memcpy(usage->model, s, n + 1);
}

/* The vendor's own words about an error (error.message, error), redacted
 * and with the key removed, for the error message; "" if none. */
static void vendor_reason(const char *body, const char *key, char *out, size_t size)
{
	json_t *v = body ? json_loads(body, 0, NULL) : NULL, *e = json_object_get(v, "error");
	const char *msg = json_is_string(e) ? json_string_value(e)
	                                    : json_string_value(json_object_get(e, "message"));
	char *clean;

	out[0] = '\0';
	if (!msg && json_is_array(v)) /* Gemini may wrap its error in an array */
		msg = json_string_value(
		    json_object_get(json_object_get(json_array_get(v, 0), "error"), "message"));
	clean = msg ? sm_ai_redact_text(msg) : NULL;
	if (clean && key && strlen(key) >= 4) {
		char *hit;
		while ((hit = strstr(clean, key)) != NULL)
			memset(hit, '*', strlen(key));
	}
	if (clean && *clean)
		snprintf(out, size, ": %.200s", clean);
	free(clean);
	json_decref(v);
}

int sm_ai_complete(const sm_ai_config *cfg, const char *system, const char *prompt, char **text,
                   sm_ai_usage *usage, sm_error *err)
{
	const sm_ai_provider *p = cfg->provider;
	const char *key = cfg->api_key && *cfg->api_key ? cfg->api_key : NULL;
	const char *headers[COUNT(((sm_ai_request *)0)->headers) + 2];
	sm_ai_request req;
	sm_http_response res = {0};
	char why[256], reason[256];
	json_t *answer = NULL;
	size_t nh = 0;
	int rc = -1;

	*text = NULL;
	usage->prompt_tokens = usage->completion_tokens = -1;
	usage->model[0] = '\0';
	memset(&req, 0, sizeof req);
	if (!key && p->key_env)
		key = getenv(p->key_env);
	if (p->needs_key && (!key || !*key)) {
		sm_error_set(err, "%s: no API key (set api_key, or %s)", p->name, p->key_env);
		return -1;
	}
	if (p->protocol->build(p, cfg, key, system, prompt, &req, err) < 0)
		goto out;
	if (!sm_http_url_ok(req.url, why, sizeof why)) {
		sm_error_set(err, "%s: base_url: %s", p->name, why);
		goto out;
	}
	headers[nh++] = "Content-Type: application/json";
	for (size_t i = 0; i < COUNT(req.headers); i++)
		if (req.headers[i][0])
			headers[nh++] = req.headers[i];
	headers[nh] = NULL;
	{
		sm_http_request hr = {.method = "POST",
		                      .url = req.url,
		                      .headers = headers,
		                      .body = req.body,
		                      .body_len = strlen(req.body),
		                      .timeout_s =
		                          cfg->timeout_s > 0 ? cfg->timeout_s : SM_AI_TIMEOUT_S,
		                      .max_response = SM_AI_MAX_RESPONSE};
		if (sm_http_send(&hr, &res) < 0) {
			sm_error_set(err, "%s: %s", p->name, res.error);
			goto out;
		}
	}
	if (res.status < 200 || res.status > 299) {
		vendor_reason(res.body, key, reason, sizeof reason);
		sm_error_set(err, "%s: HTTP %ld%s", p->name, res.status, reason);
		goto out;
	}
	if (res.truncated) {
		sm_error_set(err, "%s: the answer is larger than %u bytes", p->name,
		             SM_AI_MAX_RESPONSE);
		goto out;
	}
	answer = res.body ? json_loads(res.body, 0, NULL) : NULL;
	if (!json_is_object(answer)) {
		sm_error_set(err, "%s: the answer is not a JSON object", p->name);
		goto out;
	}
	if (p->protocol->read(answer, text, usage, err) < 0) {
		sm_error_prefix(err, "%s", p->name);
		goto out;
	}
	rc = 0;
out:
	json_decref(answer);
	sm_http_response_clear(&res);
	/* The request held the key in a header: wipe it before it is freed. */
	memset(req.headers, 0, sizeof req.headers);
	free(req.body);
	return rc;
}
