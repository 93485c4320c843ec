/* notify_render.c - a channel's templates: found by name in the templates
 * directory, or the driver's built-in one, rendered against the context.
 *
 * A channel names its template files; it never gives a path. Channels are
 * added by whoever may run sm-notify, and a template's output is sent
 * away: a path would let a channel mail any file sm-notify can read. So a
 * name is a plain file name in $SM_TEMPLATE_DIR (default
 * SM_NOTIFY_TEMPLATE_DIR), checked when the channel is added and again at
 * each delivery, since a row may have been written by another version. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify_private.h"
#include "sm/config.h"

int notify_template_path(const char *name, char *path, size_t size, sm_error *err)
{
	const char *dir = sm_config_get("SM_TEMPLATE_DIR", SM_NOTIFY_TEMPLATE_DIR);
	bool plain = name && *name && name[0] != '.' && !strchr(name, '/');

	for (const char *p = name; plain && *p; p++)
		plain = (unsigned char)*p >= ' ' && *p != 0x7f;
	if (!plain) {
		sm_error_set(err,
		             "'%.64s' is not a template name (a file name in %s, without a path, "
		             "not starting with '.')",
		             name ? name : "", dir);
		return -1;
	}
	if ((size_t)snprintf(path, size, "%s/%s", dir, name) >= size) {
		sm_error_set(err, "'%.64s': the template's path is too long", name);
		return -1;
	}
	return 0;
}

char *notify_render(json_t *config, const char *key, const char *builtin,
                    enum sm_template_mode mode, json_t *context, sm_error *err)
{
	const char *name = key ? notify_cfg_str(config, key, NULL) : NULL;
	char path[PATH_MAX];
	sm_template *t;
	char *out;

	if (name) {
		if (notify_template_path(name, path, sizeof path, err) < 0) {
			sm_error_prefix(err, "%s", key);
			return NULL;
		}
		t = sm_template_load(path, mode, err);
	} else {
		t = sm_template_parse(builtin, strlen(builtin), mode, err);
	}
	if (!t) {
		if (!name)
			sm_error_prefix(err, "built-in template");
		return NULL;
	}
	out = sm_template_render(t, context, NULL, err);
	if (!out)
		sm_error_prefix(err, "%s", name ? path : "built-in template");
	sm_template_free(t);
	return out;
}

json_t *notify_render_json(json_t *config, const char *key, const char *builtin, json_t *context,
                           sm_error *err)
{
	char *text = notify_render(config, key, builtin, SM_TEMPLATE_JSON, context, err);
	const char *name = key ? notify_cfg_str(config, key, NULL) : NULL;
	char path[PATH_MAX] = "built-in template";
	json_error_t jerr;
	json_t *v;

	if (!text)
		return NULL;
	if (name && notify_template_path(name, path, sizeof path, err) < 0)
		snprintf(path, sizeof path, "%s", name);
	v = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!json_is_object(v)) {
		if (v)
			sm_error_set(err, "%s: the template made JSON that is not an object", path);
		else
			sm_error_set(err, "%s: the template made invalid JSON: line %d: %s", path,
			             jerr.line, jerr.text);
		json_decref(v);
		return NULL;
	}
	return v;
}
