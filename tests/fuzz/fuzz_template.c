/* fuzz_template.c - libFuzzer harness for sm-notify's templates. The input
 * is a mode byte (text, HTML or JSON), a template, a NUL byte, and a JSON
 * context (seeds in tests/fuzz/corpus/template). The template is compiled
 * and, when it compiles, rendered against the context: the output must be
 * valid UTF-8 within SM_TEMPLATE_MAX_OUTPUT. The context is also taken as
 * an envelope, turned into the notification context, and rendered with
 * every built-in template, as sm-notify does with what arrives on a pipe. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify_drivers.h"
#include "sm/json.h"
#include "sm/notify.h"
#include "sm/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void render(const sm_template *t, json_t *context)
{
	sm_error err;
	size_t len = 0;
	char *out = sm_template_render(t, context, &len, &err);

	if (out &&
	    (len > SM_TEMPLATE_MAX_OUTPUT || strlen(out) != len || !sm_json_utf8_valid(out, len)))
		abort();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		const char *text;
		enum sm_template_mode mode;
	} builtins[] = {
	    {notify_template_text, SM_TEMPLATE_TEXT},
	    {notify_template_subject, SM_TEMPLATE_TEXT},
	    {notify_template_html, SM_TEMPLATE_HTML},
	    {notify_template_slack, SM_TEMPLATE_JSON},
	    {notify_template_pagerduty, SM_TEMPLATE_JSON},
	    {notify_template_generic, SM_TEMPLATE_JSON},
	};
	const char *text = (const char *)data + 1;
	const char *nul;
	size_t text_len;
	enum sm_template_mode mode;
	json_t *context = NULL;
	sm_template *t;
	sm_error err;

	if (size == 0)
		return 0;
	mode = (enum sm_template_mode)(data[0] % 3);
	nul = memchr(text, '\0', size - 1);
	text_len = nul ? (size_t)(nul - text) : size - 1;
	if (nul)
		context = json_loadb(nul + 1, size - 1 - text_len - 1, JSON_DECODE_ANY, NULL);
	t = sm_template_parse(text, text_len, mode, &err);
	if (t) {
		if (sm_template_mode_of(t) != mode)
			abort();
		render(t, context);
		sm_template_free(t);
	}
	if (json_is_object(context)) {
		json_t *ctx = sm_notify_context(context, "fuzz");
		for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
			t = sm_template_parse(builtins[i].text, strlen(builtins[i].text),
			                      builtins[i].mode, &err);
			if (!t)
				abort(); /* a built-in template always compiles */
			render(t, ctx);
			sm_template_free(t);
		}
		json_decref(ctx);
	}
	json_decref(context);
	return 0;
}
