/* fuzz_envelope.c - libFuzzer harness: any bytes as an NDJSON envelope
 * stream, with a small line limit so the oversize path is reached too. */
#include <stdint.h>
#include <stdio.h>

#include "sm/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *in;
	sm_reader *reader;
	sm_error err;
	json_t *env;

	if (size == 0)
		return 0;
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
