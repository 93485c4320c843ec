/* node_transform.c - the transform node, in-process: reshapes envelopes.
 *
 * Config: "source_node" (required key: the node whose output envelopes this
 * node takes; "" takes its own input), "extract" (a dotted path in each
 * envelope), "filter_priority" (keep only the list items whose "severity"
 * or "priority" matches, case-insensitively: in the list at "extract", else
 * in "alerts" and "analysis.recommendations"), "mapping" (target key ->
 * dotted path in the source envelope, copied into the envelope).
 *
 * Filtering is asking to filter: an envelope whose filtered list (its
 * "alerts" when no "extract" is given) is left empty is dropped from the stream, so no later node
 * notifies anyone of it. "extract" without a filter copies the value to the envelope's
 * "transformed" key. */
#include <string.h>
#include <strings.h>

#include "pipeline/nodes.h"

static void validate(const json_t *def, const char *node, const json_t *config, json_t *problems)
{
	const json_t *source = json_object_get(config, "source_node"), *mapping, *n, *v;
	const char *key;
	bool found = false;
	size_t i;

	if (!source) {
		node_problem(problems, node, "config \"source_node\" is required");
	} else if (!json_is_string(source)) {
		node_problem(problems, node, "config \"source_node\" must be a string");
	} else if (*json_string_value(source)) {
		json_array_foreach(json_object_get(def, "nodes"), i, n)
		{
			const char *id = json_string_value(json_object_get(n, "id"));
			found = found || (id && strcmp(id, json_string_value(source)) == 0);
		}
		if (!found)
			node_problem(problems, node, "source_node \"%s\" names no node",
			             json_string_value(source));
		else if (strcmp(json_string_value(source), node) == 0)
			node_problem(problems, node, "source_node names the node itself");
	}
	node_check_string(config, "extract", node, problems);
	node_check_string(config, "filter_priority", node, problems);
	mapping = json_object_get(config, "mapping");
	if (mapping && !json_is_object(mapping)) {
		node_problem(problems, node, "config \"mapping\" must be an object");
		return;
	}
	json_object_foreach((json_t *)mapping, key, v)
	{
		if (!json_is_string(v))
			node_problem(problems, node,
			             "mapping \"%s\" must be a dotted path (a string)", key);
	}
}

static bool matches(const json_t *item, const char *wanted)
{
	const char *s = json_string_value(json_object_get(item, "severity"));
	const char *p = json_string_value(json_object_get(item, "priority"));

	return (s && strcasecmp(s, wanted) == 0) || (p && strcasecmp(p, wanted) == 0);
}

/* Filter the list at path in env in place; whether it was left empty. */
static bool filter_list(json_t *env, const char *path, const char *wanted)
{
	json_t *list = node_path_get(env, path);
	size_t i = 0;

	if (!json_is_array(list))
		return false;
	while (i < json_array_size(list)) {
		if (matches(json_array_get(list, i), wanted))
			i++;
		else
			json_array_remove(list, i);
	}
	return json_array_size(list) == 0;
}

static void run(const node_ctx *ctx, const json_t *input, node_outcome *out)
{
	const char *source = json_string_value(json_object_get(ctx->config, "source_node"));
	const char *extract = json_string_value(json_object_get(ctx->config, "extract"));
	const char *wanted = json_string_value(json_object_get(ctx->config, "filter_priority"));
	const json_t *mapping = json_object_get(ctx->config, "mapping"), *stream = input, *env;
	size_t i;

	if (source && *source) {
		stream = json_object_get(ctx->outputs, source);
		if (!stream) {
			snprintf(out->error, sizeof out->error, "source_node \"%s\" has no output",
			         source);
			return;
		}
	}
	out->output = json_array();
	json_array_foreach(stream, i, env)
	{
		json_t *copy = json_deep_copy(env), *v;
		const char *key;
		bool emptied = false;

		if (extract && *extract && wanted)
			emptied = filter_list(copy, extract, wanted);
		else if (wanted) {
			/* Only the alerts decide whether anyone hears of it. */
			emptied = filter_list(copy, "alerts", wanted);
			filter_list(copy, "analysis.recommendations", wanted);
		} else if (extract && *extract) {
			json_t *value = node_path_get(env, extract);
			json_object_set_new(copy, "transformed",
			                    value ? json_deep_copy(value) : json_null());
		}
		json_object_foreach((json_t *)mapping, key, v)
		{
			json_t *value = node_path_get(env, json_string_value(v));
			json_object_set_new(copy, key, value ? json_deep_copy(value) : json_null());
		}
		if (emptied)
			json_decref(copy);
		else
			json_array_append_new(out->output, copy);
	}
	out->exit_status = 0;
}

const node_type node_transform = {
    .name = "transform",
    .run_status = NULL,
    .summary = "reshape or filter the envelopes (in-process)",
    .validate = validate,
    .run = run,
};
