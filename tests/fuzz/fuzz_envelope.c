/* fuzz_envelope.c - libFuzzer harness: any bytes as an NDJSON envelope
 * stream, with a small line limit so the oversize path is reached too; and
 * the same bytes through sm_json_parse and jansson, which must agree (the
 * value, or the refusal), and through sm_json_dump and json_dumps. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm/envelope.h"
#include "sm/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *in;
	sm_reader *reader;
	sm_error err;
	json_t *env;

	if (size == 0)
		return 0;
	{
		json_t *ours = sm_json_parse((const char *)data, size, JSON_DECODE_ANY, NULL);
		json_t *theirs = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
		/* A NUL byte is never valid JSON. jansson (2.14) skips one that
		 * follows a number or a literal; we refuse it. */
		if (memchr(data, 0, size)) {
			if (ours)
				abort();
		} else if (!ours != !theirs || (ours && !json_equal(ours, theirs))) {
			abort();
		}
		if (ours) {
			char *a = sm_json_dump(ours, NULL);
			char *b = json_dumps(ours, SM_JSON_FLAGS | JSON_ENCODE_ANY);
			if (!a || !b || strcmp(a, b) != 0)
				abort();
			free(a);
			free(b);
		}
		json_decref(ours);
		json_decref(theirs);
	}
	in = fmemopen((void *)data, size, "r");
	if (!in)
		return 0;
	reader = sm_reader_new(in, "fuzz", 4096);
	while (reader) {
		int rc = sm_envelope_read(reader, &env, &err);
		if (rc == 0)
			break;
		if (rc == 1) {
			sm_envelope_add_stage(env, "fuzz", "ok", "2026-11-22T00:00:00Z", 1, NULL);
			json_decref(env);
		}
	}
	sm_reader_free(reader);
	fclose(in);
	return 0;
}
