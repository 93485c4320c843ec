/* notify_render.c - a channel's templates: found by name in the templates
 * directory, or the driver's built-in one, rendered against the context.
 *
 * A channel names its template files; it never gives a path. Channels are
 * added by whoever may run sm-notify, and a template's output is sent
 * away: a path would let a channel mail any file sm-notify can read. So a
 * name is a plain file name in $SM_TEMPLATE_DIR (default
 * SM_NOTIFY_TEMPLATE_DIR), checked when the channel is added and again at
 * each delivery, since a row may have been written by another version.
 *
 * A notifier keeps the templates it parsed (notify_templates): the
 * built-in ones for good, a file for as long as it is the same file,
 * unchanged (device, inode, size, modification and change times, by
 * stat(2) at each delivery), so an edited template takes effect at the
 * next message without a restart. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "notify_private.h"
#include "sm/config.h"
#include "sm/json.h"

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

/* One parsed template: a built-in one (builtin) or a file (path, and
 * what stat said of it when it was read). */
struct kept_template {
	const char *builtin;
	char *path;
	struct stat st;
	enum sm_template_mode mode;
	sm_template *t;
};

struct notify_templates {
	struct kept_template *items;
	size_t count;
};

notify_templates *notify_templates_new(void)
{
	return calloc(1, sizeof(notify_templates));
}

void notify_templates_free(notify_templates *templates)
{
	if (!templates)
		return;
	for (size_t i = 0; i < templates->count; i++) {
		free(templates->items[i].path);
		sm_template_free(templates->items[i].t);
	}
	free(templates->items);
	free(templates);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The kept entry for builtin or path in mode, or NULL. */
static struct kept_template *kept(notify_templates *c, const char *builtin, const char *path,
                                  enum sm_template_mode mode)
{
	for (size_t i = 0; i < c->count; i++) {
		struct kept_template *k = &c->items[i];
		if (k->mode == mode &&
		    (path ? k->path && strcmp(k->path, path) == 0 : k->builtin == builtin))
			return k;
	}
	return NULL;
}

/* Keep t (taken) for builtin or path in the cache c, as stat said st;
 * the entry it replaces is freed. A template that cannot be kept is
 * still used: t is returned either way, and whether c owns it goes to
 * *owned. */
static sm_template *keep(notify_templates *c, struct kept_template *old, const char *builtin,
                         const char *path, const struct stat *st, enum sm_template_mode mode,
                         sm_template *t, bool *owned)
{
	struct kept_template *k = old;
	char *copy = path ? strdup(path) : NULL;

	*owned = false;
	if (path && !copy)
		return t;
	if (!k) {
		struct kept_template *grown = realloc(c->items, (c->count + 1) * sizeof *grown);
		if (!grown) {
			free(copy);
			return t;
		}
		c->items = grown;
		k = &grown[c->count++];
	} else {
		free(k->path);
		sm_template_free(k->t);
	}
	*k = (struct kept_template){.builtin = builtin, .path = copy, .mode = mode, .t = t};
	if (st)
		k->st = *st;
	*owned = true;
	return t;
}

/* The compiled template for builtin, or for the file at path when path
 * is set: a kept one when it still holds, else parsed (and kept when the
 * job has a cache). NULL with err. *owned: the cache frees it. */
static sm_template *compiled(const notify_job *job, const char *builtin, const char *path,
                             enum sm_template_mode mode, bool *owned, sm_error *err)
{
	notify_templates *c = job->templates;
	struct kept_template *k = c ? kept(c, builtin, path, mode) : NULL;
	struct stat st;
	bool have_st = false;
	sm_template *t;

	*owned = false;
	if (path) {
		have_st = stat(path, &st) == 0;
		if (k && have_st && same_file(&k->st, &st)) {
			*owned = true;
			return k->t;
		}
		t = sm_template_load(path, mode, err);
	} else {
		if (k) {
			*owned = true;
			return k->t;
		}
		t = sm_template_parse(builtin, strlen(builtin), mode, err);
	}
	/* A file stat could not see is read each time (sm_template_load says why
	 * when it cannot be). */
	if (!t || !c || (path && !have_st))
		return t;
	return keep(c, k, path ? NULL : builtin, path, have_st ? &st : NULL, mode, t, owned);
}

char *notify_render(const notify_job *job, const char *key, const char *builtin,
                    enum sm_template_mode mode, json_t *context, sm_error *err)
{
	const char *name = key ? notify_cfg_str(job->config, key, NULL) : NULL;
	char path[PATH_MAX];
	sm_template *t;
	bool owned;
	char *out;

	if (name && notify_template_path(name, path, sizeof path, err) < 0) {
		sm_error_prefix(err, "%s", key);
		return NULL;
	}
	t = compiled(job, builtin, name ? path : NULL, mode, &owned, err);
	if (!t) {
		if (!name)
			sm_error_prefix(err, "built-in template");
		return NULL;
	}
	out = sm_template_render(t, context, NULL, err);
	if (!out)
		sm_error_prefix(err, "%s", name ? path : "built-in template");
	if (!owned)
		sm_template_free(t);
	return out;
}

/* Render a JSON template and parse its output back: the value (an
 * object), with the text in *text when asked for (else freed). */
static json_t *render_checked(const notify_job *job, const char *key, const char *builtin,
                              json_t *context, char **text, sm_error *err)
{
	char *out = notify_render(job, key, builtin, SM_TEMPLATE_JSON, context, err);
	const char *name = key ? notify_cfg_str(job->config, key, NULL) : NULL;
	char path[PATH_MAX] = "built-in template";
	json_error_t jerr;
	json_t *v;

	if (!out)
		return NULL;
	if (name && notify_template_path(name, path, sizeof path, err) < 0)
		snprintf(path, sizeof path, "%s", name);
	v = sm_json_parse(out, strlen(out), JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(v)) {
		if (v)
			sm_error_set(err, "%s: the template made JSON that is not an object", path);
		else
			sm_error_set(err, "%s: the template made invalid JSON: line %d: %s", path,
			             jerr.line, jerr.text);
		json_decref(v);
		free(out);
		return NULL;
	}
	if (text)
		*text = out;
	else
		free(out);
	return v;
}

json_t *notify_render_json(const notify_job *job, const char *key, const char *builtin,
                           json_t *context, sm_error *err)
{
	return render_checked(job, key, builtin, context, NULL, err);
}

char *notify_render_json_text(const notify_job *job, const char *key, const char *builtin,
                              json_t *context, sm_error *err)
{
	char *text = NULL;
	json_t *v = render_checked(job, key, builtin, context, &text, err);

	json_decref(v);
	return v ? text : NULL;
}
