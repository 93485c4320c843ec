/* node_intelligence.c - the intelligence node: sm-analyze adds an
 * "analysis" section. Config: "provider", a stored provider's name or
 * "local" (the default: the local rules, which need no key). */
#include <string.h>

#include "pipeline/nodes.h"

static void validate(const json_t *def, const char *node, const json_t *config, json_t *problems)
{
	const char *provider = json_string_value(json_object_get(config, "provider"));

	(void)def;
	if (node_check_string(config, "provider", node, problems) && provider && !*provider)
		node_problem(problems, node, "config \"provider\" is empty");
}

static int arguments(const node_ctx *ctx, json_t *args, sm_error *err)
{
	const char *provider = json_string_value(json_object_get(ctx->config, "provider"));

	(void)err;
	json_array_append_new(args, json_string("--provider"));
	json_array_append_new(args, json_string(provider ? provider : "local"));
	return 0;
}

const node_type node_intelligence = {
    .name = "intelligence",
    .program = "sm-analyze",
    .run_status = "analyzed",
    .ok_max = 0,
    .filter = true,
    .summary = "analyze and recommend",
    .validate = validate,
    .arguments = arguments,
};
