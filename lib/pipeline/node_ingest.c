/* node_ingest.c - the ingest node: sm-ingest reads the payloads and prints
 * one envelope per incident touched. Config: "driver" (default: detected). */
#include "pipeline/nodes.h"
#include "sm/alert.h"

static void validate(const json_t *def, const char *node, const json_t *config, json_t *problems)
{
	const char *driver = json_string_value(json_object_get(config, "driver"));

	(void)def;
	if (node_check_string(config, "driver", node, problems) && driver &&
	    !sm_driver_find(driver))
		node_problem(problems, node, "unknown driver \"%s\"", driver);
}

static int arguments(const node_ctx *ctx, json_t *args, sm_error *err)
{
	const char *driver = json_string_value(json_object_get(ctx->config, "driver"));

	(void)err;
	if (driver) {
		json_array_append_new(args, json_string("-d"));
		json_array_append_new(args, json_string(driver));
	}
	return 0;
}

const node_type node_ingest = {
    .name = "ingest",
    .program = "sm-ingest",
    .run_status = "ingested",
    .ok_max = 0,
    .summary = "parse the payload, store alerts and incidents",
    .validate = validate,
    .arguments = arguments,
};
