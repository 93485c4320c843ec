/* pipeline_setup.c - the setup wizard: a preset made concrete (checkers,
 * provider, channels) and stored as a definition. On a terminal it asks,
 * showing first what an earlier run set up; otherwise the options say.
 *
 * A new channel is added by the sibling `sm-notify channel add`, which
 * knows the drivers: linking their table here would link libcurl into
 * sm-pipeline, and every command of it (status above all) would map
 * libcurl and its thirty libraries at start for nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "pipeline/nodes.h"
#include "sm/check.h"
#include "sm/json.h"
#include "sm/notify.h"
#include "sm/pipeline.h"
#include "sm/pipeline_setup.h"
#include "sm/spawn.h"

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
	if (o->nchannels && sm_notify_channel_names(store, &channels, err) != SM_EXIT_OK)
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
	text = sm_json_dumps(def, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fprintf(out, "%s\nstored as %s: run it with sm-pipeline run --definition %s\n",
	        text ? text : "", name, name);
	free(text);
	return SM_EXIT_OK;
}

/* --- the dialogue -------------------------------------------------------- */

#define SETUP_TAG "Setup wizard: "

/* Read one answer into buf (its line break dropped); def when it is empty.
 * A secret is read with the terminal's echo off. -1 at the end of input. */
static int ask(FILE *in, FILE *out, const char *prompt, const char *def, bool secret, char *buf,
               size_t size)
{
	struct termios saved, quiet;
	bool muted = false;
	char *got;

	/* Echo goes off before the prompt shows, so no answer typed at once
	 * can be echoed. */
	if (secret && tcgetattr(fileno(in), &saved) == 0) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		muted = tcsetattr(fileno(in), TCSANOW, &quiet) == 0;
	}
	if (def && *def)
		fprintf(out, "%s [%s]: ", prompt, def);
	else
		fprintf(out, "%s: ", prompt);
	fflush(out);
	got = fgets(buf, (int)size, in);
	if (muted) {
		tcsetattr(fileno(in), TCSANOW, &saved);
		fputc('\n', out);
	}
	if (!got)
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!*buf && def)
		snprintf(buf, size, "%s", def);
	return 0;
}

static bool yes(const char *answer, bool def)
{
	if (!*answer)
		return def;
	return strcmp(answer, "y") == 0 || strcmp(answer, "Y") == 0 || strcmp(answer, "yes") == 0;
}

/* Split an answer at each of seps into words (pointers into buf). */
static size_t split(char *buf, const char *seps, const char **words, size_t max)
{
	size_t n = 0;

	for (char *w = strtok(buf, seps); w && n < max; w = strtok(NULL, seps))
		words[n++] = w;
	return n;
}

static bool has_type(const json_t *def, const char *type)
{
	const json_t *node;
	size_t i;

	json_array_foreach(json_object_get(def, "nodes"), i, node)
	{
		if (strcmp(json_string_value(json_object_get(node, "type")), type) == 0)
			return true;
	}
	return false;
}

/* What earlier runs of the wizard stored; whether there was any. */
static bool show_existing(sm_store *store, FILE *out, char *name, size_t size)
{
	json_t *list = NULL, *row;
	sm_error err;
	size_t i;
	bool any = false;

	if (sm_pipeline_list(store, &list, &err) != SM_EXIT_OK)
		return false;
	json_array_foreach(list, i, row)
	{
		const char *desc = json_string_value(json_object_get(row, "description"));
		json_t *def = NULL, *node;
		size_t k;
		char flow[512];
		if (strncmp(desc, SETUP_TAG, strlen(SETUP_TAG)) != 0 ||
		    sm_pipeline_load(store, json_string_value(json_object_get(row, "name")), &def,
		                     NULL, &err) != SM_EXIT_OK)
			continue;
		if (!any)
			fprintf(out, "Set up already:\n");
		any = true;
		snprintf(name, size, "%s", json_string_value(json_object_get(row, "name")));
		sm_pipeline_flow(def, flow, sizeof flow);
		fprintf(out, "  %s (%s): %s\n", name, desc + strlen(SETUP_TAG), flow);
		json_array_foreach(json_object_get(def, "nodes"), k, node)
		{
			json_t *config = json_object_get(node, "config");
			const char *key;
			json_t *v;
			json_object_foreach(config, key, v)
			{
				char *text = sm_json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
				fprintf(out, "    %s %s: %s\n",
				        json_string_value(json_object_get(node, "id")), key,
				        text ? text : "");
				free(text);
			}
		}
		json_decref(def);
	}
	json_decref(list);
	return any;
}

/* Run `sm-notify channel add name driver -` with the settings on its
 * stdin, one a line: they are secrets, kept out of the process list. The
 * exit status of sm-notify, with err from its message. */
static int notify_channel_add(const char *name, const char *driver, const char *const *words,
                              size_t n, sm_error *err)
{
	char program[4096], input[4096 + 64];
	const char *argv[] = {program, "channel", "add", name, driver, "-", NULL};
	sm_spawn_opts opts = {.argv = argv, .input = input};
	sm_spawn_result res = {0};
	size_t len = 0;
	int rc;

	if (node_program_path("sm-notify", program, sizeof program, err) < 0)
		return SM_EXIT_FAILURE;
	for (size_t i = 0; i < n && len < sizeof input; i++)
		len += (size_t)snprintf(input + len, sizeof input - len, "%s\n", words[i]);
	if (len >= sizeof input) {
		explicit_bzero(input, sizeof input);
		sm_error_set(err, "setup: the settings are too long");
		return SM_EXIT_USAGE;
	}
	opts.input_len = len;
	rc = sm_spawn_run(&opts, &res);
	explicit_bzero(input, sizeof input); /* secrets: not left on the stack */
	if (rc < 0) {
		sm_error_set(err, "%s", res.error);
		sm_spawn_result_clear(&res);
		return SM_EXIT_FAILURE;
	}
	rc = res.exit_status == 0               ? SM_EXIT_OK
	     : res.exit_status == SM_EXIT_USAGE ? SM_EXIT_USAGE
	                                        : SM_EXIT_FAILURE;
	if (rc != SM_EXIT_OK) {
		/* Its one-line error, without its "sm-notify: " (ours is put
		 * before it). */
		char *msg = res.errout;
		size_t end = res.errout_len;
		while (end > 0 && (msg[end - 1] == '\n' || msg[end - 1] == '\r'))
			msg[--end] = '\0';
		if (strrchr(msg, '\n'))
			msg = strrchr(msg, '\n') + 1;
		if (strncmp(msg, "sm-notify: ", 11) == 0)
			msg += 11;
		if (*msg)
			sm_error_set(err, "%s", msg);
		else
			sm_error_set(err, "sm-notify channel add: exit status %d", res.exit_status);
	}
	sm_spawn_result_clear(&res);
	return rc;
}

/* A new channel from the answers: SM_EXIT_OK (nothing added when the
 * driver is left empty), else the exit status with err. */
static int add_channel(FILE *in, FILE *out, char *name, size_t size, sm_error *err)
{
	char driver[64], settings[4096], prompt[128], def_name[96];
	const char *words[64];
	size_t n;
	int rc;

	if (ask(in, out,
	        "New channel's driver (slack, generic, pagerduty, email, ...; empty: none)", "",
	        false, driver, sizeof driver) < 0)
		goto eof;
	if (!*driver)
		return SM_EXIT_OK;
	snprintf(prompt, sizeof prompt, "%s settings as KEY=VALUE words (not echoed)", driver);
	if (ask(in, out, prompt, "", true, settings, sizeof settings) < 0)
		goto eof;
	/* Blanks only: a value may be a comma-separated list (to_addresses). */
	n = split(settings, " \t", words, 64);
	snprintf(def_name, sizeof def_name, "ops-%s", driver);
	if (ask(in, out, "Channel name", def_name, false, name, size) < 0)
		goto eof;
	rc = notify_channel_add(name, driver, words, n, err);
	explicit_bzero(settings, sizeof settings); /* secrets: not left on the stack */
	if (rc != SM_EXIT_OK) {
		*name = '\0';
		return rc;
	}
	fprintf(out, "channel %s (%s) added\n", name, driver);
	return SM_EXIT_OK;
eof:
	explicit_bzero(settings, sizeof settings);
	sm_error_set(err, "setup: input ended before the questions did");
	return SM_EXIT_USAGE;
}

static int interview(sm_store *store, FILE *in, FILE *out, sm_error *err)
{
	char preset[64], checkers[1024], provider[128], channels[1024], name[128] = DEFAULT_NAME;
	char answer[64], added[96] = "";
	const char *checker_words[64], *channel_words[65];
	sm_pipeline_setup_opts o = {0};
	json_t *def = NULL, *preset_def = NULL;
	int rc = SM_EXIT_OK;

	if (show_existing(store, out, name, sizeof name)) {
		if (ask(in, out, "Change it? [y/N]", "", false, answer, sizeof answer) < 0 ||
		    !yes(answer, false)) {
			fprintf(out, "Nothing changed.\n");
			return SM_EXIT_OK;
		}
	}
	fprintf(out, "Presets:\n");
	for (size_t i = 0; i < sm_pipeline_preset_count(); i++) {
		json_t *p = sm_pipeline_preset(sm_pipeline_preset_name(i));
		fprintf(out, "  %zu) %-15s %s\n", i + 1, sm_pipeline_preset_name(i),
		        json_string_value(json_object_get(p, "description")));
		json_decref(p);
	}
	for (;;) {
		char *end;
		long pick;
		if (ask(in, out, "Preset (number or name)", "1", false, preset, sizeof preset) < 0)
			goto eof;
		pick = strtol(preset, &end, 10);
		if (!*end && pick >= 1 && (size_t)pick <= sm_pipeline_preset_count())
			snprintf(preset, sizeof preset, "%s",
			         sm_pipeline_preset_name((size_t)pick - 1));
		if ((preset_def = sm_pipeline_preset(preset)) != NULL)
			break;
		fprintf(out, "  No preset '%s'.\n", preset);
	}
	o.preset = preset;
	if (has_type(preset_def, "context")) {
		if (ask(in, out, "Checkers (comma-separated; empty: all)", "", false, checkers,
		        sizeof checkers) < 0)
			goto eof;
		o.ncheckers = split(checkers, ", \t", checker_words, 64);
		o.checkers = checker_words;
	}
	if (has_type(preset_def, "intelligence")) {
		if (ask(in, out, "AI provider (local, or a provider stored with sm-analyze)",
		        "local", false, provider, sizeof provider) < 0)
			goto eof;
		o.provider = provider;
	}
	if (has_type(preset_def, "notify")) {
		json_t *list = NULL, *c;
		size_t i;
		if (sm_notify_channel_names(store, &list, err) != SM_EXIT_OK) {
			json_decref(preset_def);
			return SM_EXIT_FAILURE;
		}
		if (json_array_size(list))
			fprintf(out, "Channels:\n");
		json_array_foreach(list, i, c)
		{
			fprintf(out, "  %s (%s)%s\n", json_string_value(json_object_get(c, "name")),
			        json_string_value(json_object_get(c, "driver")),
			        json_is_true(json_object_get(c, "enabled")) ? "" : " disabled");
		}
		json_decref(list);
		if ((rc = add_channel(in, out, added, sizeof added, err)) != SM_EXIT_OK) {
			json_decref(preset_def);
			return rc;
		}
		if (ask(in, out, "Channels to use (comma-separated; empty: every enabled one)",
		        added, false, channels, sizeof channels) < 0)
			goto eof;
		o.nchannels = split(channels, ", \t", channel_words, 64);
		o.channels = channel_words;
	}
	json_decref(preset_def);
	preset_def = NULL;
	{
		char def_name[sizeof name];
		snprintf(def_name, sizeof def_name, "%s", name);
		if (ask(in, out, "Store it as", def_name, false, name, sizeof name) < 0)
			goto eof;
	}
	if (!(def = build(store, &o, err)))
		return SM_EXIT_USAGE;
	{
		char *text = sm_json_dumps(def, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fprintf(out, "%s\n", text ? text : "");
		free(text);
	}
	if (ask(in, out, "Store it? [Y/n]", "", false, answer, sizeof answer) < 0)
		goto eof;
	if (!yes(answer, true)) {
		fprintf(out, "Nothing stored.\n");
	} else if ((rc = sm_pipeline_store(store, name, def, err)) == SM_EXIT_OK) {
		fprintf(out, "stored as %s: run it with sm-pipeline run --definition %s\n", name,
		        name);
	}
	json_decref(def);
	return rc;
eof:
	json_decref(preset_def);
	sm_error_set(err, "setup: input ended before the questions did");
	return SM_EXIT_USAGE;
}

int sm_pipeline_setup(sm_store *store, const sm_pipeline_setup_opts *opts, FILE *in, FILE *out,
                      sm_error *err)
{
	json_t *def;
	int rc;

	if (opts->interactive)
		return interview(store, in, out, err);
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
