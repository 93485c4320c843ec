/* node_notify.c - the notify node: sm-notify delivers each envelope and adds
 * its "notifications". Config: "channels" (names) or "channel" (one name),
 * and/or "drivers" (driver names) or "driver" (one): every enabled channel
 * of those drivers. None of them: every enabled channel, as sm-notify does
 * without --channel. */
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
	if (sm_notify_channel_list(ctx->store, &channels, err) != SM_EXIT_OK)
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

const node_type node_notify = {
    .name = "notify",
    .program = "sm-notify",
    .run_status = "notified",
    .ok_max = 0,
    .summary = "deliver to the notification channels",
    .validate = validate,
    .arguments = arguments,
};
