/* node_notify.c - the notify node: sm-notify delivers each envelope and adds
 * its "notifications". Config: "channels" (names) or "channel" (one name),
 * and/or "drivers" (driver names) or "driver" (one): every enabled channel
 * of those drivers. None of them: every enabled channel, as sm-notify does
 * without --channel.
 *
 * Tried again (a retry, or a resume), the node delivers each envelope only
 * to the channels whose delivery failed last time, so a channel that took
 * the message does not get it twice. */
#include <string.h>

#include "pipeline/nodes.h"
#include "sm/notify.h"

static void validate(const json_t *def, const char *node, const json_t *config, json_t *problems)
{
	(void)def;
	node_check_strings(config, "channels", node, problems);
	node_check_string(config, "channel", node, problems);
	node_check_strings(config, "drivers", node, problems);
	node_check_string(config, "driver", node, problems);
}

static void add_channel(json_t *args, const char *name)
{
	json_array_append_new(args, json_string("--channel"));
	json_array_append_new(args, json_string(name));
}

static bool listed(const json_t *config, const char *list_key, const char *one_key,
                   const char *value)
{
	const json_t *v;
	size_t i;
	const char *one = json_string_value(json_object_get(config, one_key));

	if (one && value && strcmp(one, value) == 0)
		return true;
	json_array_foreach(json_object_get(config, list_key), i, v)
	{
		if (value && json_string_value(v) && strcmp(json_string_value(v), value) == 0)
			return true;
	}
	return false;
}

static int arguments(const node_ctx *ctx, json_t *args, sm_error *err)
{
	const json_t *config = ctx->config, *v;
	const char *one = json_string_value(json_object_get(config, "channel"));
	bool by_driver = json_object_get(config, "drivers") || json_object_get(config, "driver");
	size_t i, before;
	json_t *channels = NULL;

	json_array_foreach(json_object_get(config, "channels"), i, v)
	{
		add_channel(args, json_string_value(v));
	}
	if (one)
		add_channel(args, one);
	if (!by_driver)
		return 0;
	if (sm_notify_channel_names(ctx->store, &channels, err) != SM_EXIT_OK)
		return -1;
	before = json_array_size(args);
	json_array_foreach(channels, i, v)
	{
		const char *driver = json_string_value(json_object_get(v, "driver"));
		if (json_is_true(json_object_get(v, "enabled")) &&
		    listed(config, "drivers", "driver", driver))
			add_channel(args, json_string_value(json_object_get(v, "name")));
	}
	json_decref(channels);
	if (json_array_size(args) == before) {
		sm_error_set(err, "no enabled channel of the node's drivers");
		return -1;
	}
	return 0;
}

/* The channels env's last attempt failed to deliver to, as --channel
 * arguments; an empty array when none failed. */
static json_t *failed_channels(const json_t *env)
{
	json_t *args = json_array();
	const json_t *n;
	size_t i;

	json_array_foreach(json_object_get(env, "notifications"), i, n)
	{
		const char *status = json_string_value(json_object_get(n, "status"));
		const char *channel = json_string_value(json_object_get(n, "channel"));
		if (status && channel && strcmp(status, "failed") == 0)
			add_channel(args, channel);
	}
	return args;
}

/* The new attempt's envelope with the deliveries that did not fail before
 * kept ahead of its own. */
static json_t *merged(const json_t *before, const json_t *now)
{
	json_t *env = json_deep_copy(now), *list = json_array();
	const json_t *n;
	size_t i;

	json_array_foreach(json_object_get(before, "notifications"), i, n)
	{
		const char *status = json_string_value(json_object_get(n, "status"));
		if (!status || strcmp(status, "failed") != 0)
			json_array_append(list, (json_t *)n);
	}
	json_array_extend(list, json_object_get(now, "notifications"));
	json_object_set_new(env, "notifications", list);
	return env;
}

static void run(const node_ctx *ctx, const json_t *input, node_outcome *out)
{
	const json_t *previous = ctx->previous;
	size_t i;

	/* Without a usable earlier output (a first attempt, a crash), everything
	 * goes to every channel. */
	if (!previous || json_array_size(previous) != json_array_size(input)) {
		node_spawn(&node_notify, ctx, input, NULL, out);
		return;
	}
	out->output = json_array();
	out->exit_status = 0;
	for (i = 0; i < json_array_size(input); i++) {
		const json_t *before = json_array_get(previous, i);
		json_t *args = failed_channels(before), *one = json_array();
		node_outcome again;
		if (json_array_size(args) == 0) {
			json_array_append_new(out->output, json_deep_copy(before));
			json_decref(args);
			json_decref(one);
			continue;
		}
		json_array_append(one, json_array_get(input, i));
		node_spawn(&node_notify, ctx, one, args, &again);
		if (json_array_size(again.output) == 1)
			json_array_append_new(out->output,
			                      merged(before, json_array_get(again.output, 0)));
		else
			json_array_append_new(out->output, json_deep_copy(before));
		if (*again.error && !*out->error) {
			memcpy(out->error, again.error, sizeof out->error);
			out->temporary = again.temporary;
			out->exit_status = again.exit_status;
		}
		json_decref(again.output);
		json_decref(args);
		json_decref(one);
	}
}

const node_type node_notify = {
    .name = "notify",
    .program = "sm-notify",
    .run_status = "notified",
    .ok_max = 0,
    .filter = true,
    .summary = "deliver to the notification channels",
    .validate = validate,
    .arguments = arguments,
    .run = run,
};
