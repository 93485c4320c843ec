/* fuzz_ai.c - libFuzzer harness: any bytes as a model's answer (parsed
 * into recommendations) and as text to redact; the redacted text must not
 * grow without bound and must redact again to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sm/ai.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *summary = NULL, *once, *twice;
	json_t *recs = NULL;
	sm_error err;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (sm_ai_parse_answer(text, &recs, &summary, &err) == 0 && !json_is_array(recs))
		abort();
	json_decref(recs);
	free(summary);
	once = sm_ai_redact_text(text);
	twice = once ? sm_ai_redact_text(once) : NULL;
	if (once && (!twice || strcmp(once, twice) != 0))
		abort(); /* redaction is idempotent: nothing new appears to redact */
	free(once);
	free(twice);
	free(text);
	return 0;
}
