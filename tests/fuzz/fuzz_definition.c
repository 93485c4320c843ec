/* fuzz_definition.c - libFuzzer harness for sm-pipeline definitions: any
 * bytes through sm_pipeline_parse (JSON, then every rule of sm-pipeline(5):
 * ids, types, next and its cycles, each node type's config, routing). A
 * valid definition must also give a flow line; an invalid one a non-empty
 * list of problems or an error. */
#include <stdint.h>
#include <stdlib.h>

#include "sm/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *def = NULL, *problems = NULL;
	sm_error err;

	err.msg[0] = '\0';
	if (sm_pipeline_parse((const char *)data, size, &def, &problems, &err) == SM_EXIT_OK) {
		char flow[512];
		if (!def)
			abort();
		sm_pipeline_flow(def, flow, sizeof flow);
	} else if (!(problems && json_array_size(problems) > 0) && !err.msg[0]) {
		abort();
	}
	json_decref(def);
	json_decref(problems);
	return 0;
}
