/* pipeline_setup.c - the setup wizard: a preset made concrete (checkers,
 * provider, channels) and stored as a definition. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm/check.h"
#include "sm/json.h"
#include "sm/notify.h"
#include "sm/pipeline.h"
#include "sm/pipeline_setup.h"

#define DEFAULT_NAME "main"

/* The config object of def's first node of type, created when missing. */
static json_t *config_of(json_t *def, const char *type)
{
	json_t *node;
	size_t i;

	json_array_foreach(json_object_get(def, "nodes"), i, node)
	{
		if (strcmp(json_string_value(json_object_get(node, "type")), type) == 0) {
			if (!json_is_object(json_object_get(node, "config")))
				json_object_set_new(node, "config", json_object());
			return json_object_get(node, "config");
		}
	}
	return NULL;
}

static json_t *word_list(const char *const *words, size_t n)
{
	json_t *list = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_string(words[i]));
	return list;
}

/* The definition the answers make; NULL with err. */
static json_t *build(sm_store *store, const sm_pipeline_setup_opts *o, sm_error *err)
{
	json_t *def = sm_pipeline_preset(o->preset), *config;
	json_t *channels = NULL;

	if (!def) {
		sm_error_set(err, "unknown preset '%s' (see sm-pipeline definition list)",
		             o->preset ? o->preset : "");
		return NULL;
	}
	json_object_set_new(def, "description", json_sprintf("Setup wizard: %s", o->preset));
	for (size_t i = 0; i < o->ncheckers; i++)
		if (!sm_checker_find(o->checkers[i])) {
			sm_error_set(err, "unknown checker '%s' (see sm-check --list)",
			             o->checkers[i]);
			goto fail;
		}
	if (o->nchannels && sm_notify_channel_list(store, &channels, err) != SM_EXIT_OK)
		goto fail;
	for (size_t i = 0; i < o->nchannels; i++) {
		json_t *c;
		size_t k;
		bool found = false;
		json_array_foreach(channels, k, c)
		{
			found = found || strcmp(json_string_value(json_object_get(c, "name")),
			                        o->channels[i]) == 0;
		}
		if (!found) {
			sm_error_set(err, "unknown channel '%s' (see sm-notify channel list)",
			             o->channels[i]);
			goto fail;
		}
	}
	json_decref(channels);
	channels = NULL;
	if (o->ncheckers && (config = config_of(def, "context")))
		json_object_set_new(config, "checker_names", word_list(o->checkers, o->ncheckers));
	if (o->provider && (config = config_of(def, "intelligence")))
		json_object_set_new(config, "provider", json_string(o->provider));
	if (o->nchannels && (config = config_of(def, "notify")))
		json_object_set_new(config, "channels", word_list(o->channels, o->nchannels));
	return def;
fail:
	json_decref(channels);
	json_decref(def);
	return NULL;
}

static int store_and_show(sm_store *store, const char *name, json_t *def, FILE *out, sm_error *err)
{
	json_t *problems = sm_pipeline_validate(def);
	char *text;
	int rc;

	if (json_array_size(problems)) {
		sm_error_set(err, "%s", json_string_value(json_array_get(problems, 0)));
		json_decref(problems);
		return SM_EXIT_USAGE;
	}
	json_decref(problems);
	if ((rc = sm_pipeline_store(store, name, def, err)) != SM_EXIT_OK)
		return rc;
	text = json_dumps(def, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fprintf(out, "%s\nstored as %s: run it with sm-pipeline run --definition %s\n",
	        text ? text : "", name, name);
	free(text);
	return SM_EXIT_OK;
}

int sm_pipeline_setup(sm_store *store, const sm_pipeline_setup_opts *opts, FILE *in, FILE *out,
                      sm_error *err)
{
	json_t *def;
	int rc;

	(void)in;
	if (!opts->preset) {
		sm_error_set(err, "setup: give --preset NAME, or run it on a terminal to be asked");
		return SM_EXIT_USAGE;
	}
	if (!(def = build(store, opts, err)))
		return SM_EXIT_USAGE;
	rc = store_and_show(store, opts->name ? opts->name : DEFAULT_NAME, def, out, err);
	json_decref(def);
	return rc;
}
