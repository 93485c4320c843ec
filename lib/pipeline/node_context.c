/* node_context.c - the context node: sm-check adds a "checks" section to
 * each envelope (`sm-check - CHECKER...`). As the first node it starts the
 * stream itself (`sm-check --alerts`), so a failing check becomes an alert
 * and an incident as in `sm-check --alerts | sm-notify`; "alerts": false
 * makes it a plain check round. Config: "checker_names" (default: all).
 * Checker statuses (sm-check's exit 1-3) are results, not failures. */
#include "pipeline/nodes.h"
#include "sm/check.h"

static void validate(const json_t *def, const char *node, const json_t *config, json_t *problems)
{
	const json_t *alerts = json_object_get(config, "alerts");

	(void)def;
	if (node_check_strings(config, "checker_names", node, problems)) {
		const json_t *name;
		size_t i;
		json_array_foreach(json_object_get(config, "checker_names"), i, name)
		{
			if (!sm_checker_find(json_string_value(name)))
				node_problem(problems, node, "unknown checker \"%s\"",
				             json_string_value(name));
		}
	}
	if (alerts && !json_is_boolean(alerts))
		node_problem(problems, node, "config \"alerts\" must be true or false");
}

static int arguments(const node_ctx *ctx, json_t *args, sm_error *err)
{
	const json_t *name, *alerts = json_object_get(ctx->config, "alerts");
	size_t i;

	(void)err;
	if (!ctx->entry)
		json_array_append_new(args, json_string("-"));
	else if (!alerts || json_is_true(alerts))
		json_array_append_new(args, json_string("--alerts"));
	json_array_foreach(json_object_get(ctx->config, "checker_names"), i, name)
	{
		json_array_append(args, (json_t *)name);
	}
	return 0;
}

const node_type node_context = {
    .name = "context",
    .program = "sm-check",
    .run_status = "checked",
    .ok_max = 3,
    .summary = "run this host's checkers",
    .validate = validate,
    .arguments = arguments,
};
