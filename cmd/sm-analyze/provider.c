/* provider.c - `sm-analyze provider add|list|show|activate|rm|test`: the
 * stored AI providers. Keys are masked in every listing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm/analyze.h"
#include "sm/envelope.h"
#include "sm/err.h"
#include "sm/json.h"
#include "sm/term.h"
#include "sm-analyze.h"

static const char *text_or_dash(json_t *v)
{
	const char *s = json_string_value(v);

	return s && *s ? s : "-";
}

static int list(sm_store *store, char **words, bool json)
{
	(void)words;
	static const char *const headers[] = {"NAME", "PROVIDER", "ACTIVE", "MODEL", "BASE URL"};
	json_t *rows, *row;
	sm_error err;
	size_t i;
	int rc = sm_analyze_provider_list(store, &rows, &err);

	if (rc != 0)
		return sm_err_report(rc, &err);
	if (json || !sm_term_isatty(stdout)) {
		json_array_foreach(rows, i, row)
		{
			sm_envelope_write(stdout, row, NULL);
		}
	} else if (json_array_size(rows) == 0) {
		printf("no providers stored: the local rules answer "
		       "(sm-analyze provider add NAME PROVIDER ...)\n");
	} else {
		sm_table *t = sm_table_new(5, headers);
		bool color = sm_term_color(stdout);
		json_array_foreach(rows, i, row)
		{
			bool active = json_is_true(json_object_get(row, "active"));
			sm_table_row(t);
			sm_table_cell(t, json_string_value(json_object_get(row, "name")),
			              SM_COLOR_NONE);
			sm_table_cell(t, json_string_value(json_object_get(row, "provider")),
			              SM_COLOR_NONE);
			sm_table_cell(t, active ? "yes" : "no",
			              active ? SM_COLOR_GREEN : SM_COLOR_NONE);
			sm_table_cell(t, text_or_dash(json_object_get(row, "model")),
			              SM_COLOR_NONE);
			sm_table_cell(t, text_or_dash(json_object_get(row, "base_url")),
			              SM_COLOR_NONE);
		}
		sm_table_print(t, stdout, color, sm_term_columns(stdout));
		sm_table_free(t);
	}
	json_decref(rows);
	return SM_EXIT_OK;
}

static int show(sm_store *store, char **words, bool json)
{
	const char *name = words[1];
	json_t *row;
	sm_error err;
	int rc = sm_analyze_provider_show(store, name, &row, &err);

	if (rc != 0)
		return sm_err_report(rc, &err);
	if (json || !sm_term_isatty(stdout)) {
		sm_envelope_write(stdout, row, NULL);
	} else {
		printf("name:      %s\n", json_string_value(json_object_get(row, "name")));
		printf("provider:  %s\n", json_string_value(json_object_get(row, "provider")));
		printf("active:    %s\n",
		       json_is_true(json_object_get(row, "active")) ? "yes" : "no");
		printf("model:     %s\n", text_or_dash(json_object_get(row, "model")));
		printf("base_url:  %s\n", text_or_dash(json_object_get(row, "base_url")));
		const char *key;
		json_t *v;
		json_object_foreach(json_object_get(row, "config"), key, v)
		{
			char *dump = sm_json_dumps(v, JSON_ENCODE_ANY | SM_JSON_FLAGS);
			printf("config:    %s=%s\n", key,
			       json_is_string(v) ? json_string_value(v)
			       : dump            ? dump
			                         : "");
			free(dump);
		}
	}
	json_decref(row);
	return SM_EXIT_OK;
}

static int add(sm_store *store, char **words, int n)
{
	json_t *config;
	bool replaced = false;
	sm_error err;
	int rc;

	if (n < 3)
		return sm_err(SM_EXIT_USAGE, "usage: sm-analyze provider add NAME PROVIDER "
		                             "[KEY=VALUE ...] (see --help)");
	rc = sm_analyze_config_parse(words[2], words + 3, n - 3, &config, &err);
	if (rc != 0)
		return sm_err_report(rc, &err);
	rc = sm_analyze_provider_add(store, words[1], words[2], config, &replaced, &err);
	json_decref(config);
	if (rc != 0)
		return sm_err_report(rc, &err);
	fprintf(stderr,
	        "%s: provider %s %s (%s); activate it with: sm-analyze provider activate %s\n",
	        sm_err_progname(), words[1], replaced ? "updated" : "added", words[2], words[1]);
	return SM_EXIT_OK;
}

static int test(sm_store *store, char **words, bool json)
{
	const char *name = words[1];
	sm_analyzer *a;
	char model[256];
	double ms;
	sm_error err;
	int rc = sm_analyzer_open(store, name, &a, &err);

	(void)json;
	if (rc != 0)
		return sm_err_report(rc, &err);
	rc = sm_analyzer_test(a, model, sizeof model, &ms, &err);
	if (rc == 0)
		printf("%s: ok (%s, %s, %.0f ms)\n", sm_analyzer_name(a), sm_analyzer_provider(a),
		       model, ms);
	else
		sm_err(rc, "%s: test failed: %s", sm_analyzer_name(a), err.msg);
	sm_analyzer_free(a);
	return rc;
}

/* A change to the row words[1], said on stderr. */
static int changed(int rc, const sm_error *err, const char *name, const char *what)
{
	if (rc != 0)
		return sm_err_report(rc, err);
	fprintf(stderr, "%s: provider %s %s\n", sm_err_progname(), name, what);
	return SM_EXIT_OK;
}

static int activate(sm_store *store, char **words, bool json)
{
	sm_error err;

	(void)json;
	return changed(sm_analyze_provider_activate(store, words[1], &err), &err, words[1],
	               "is active");
}

static int rm(sm_store *store, char **words, bool json)
{
	sm_error err;

	(void)json;
	return changed(sm_analyze_provider_rm(store, words[1], &err), &err, words[1], "removed");
}

int provider_command(sm_store *store, char **words, int n, bool json)
{
	static const struct {
		const char *name;
		int args; /* words after the subcommand */
		int (*run)(sm_store *store, char **words, bool json);
	} commands[] = {{"list", 0, list},
	                {"show", 1, show},
	                {"activate", 1, activate},
	                {"rm", 1, rm},
	                {"test", 1, test}};

	if (n == 0)
		return sm_err(SM_EXIT_USAGE,
		              "provider: add, list, show, activate, rm or test (see --help)");
	if (strcmp(words[0], "add") == 0) /* the one with KEY=VALUE words */
		return add(store, words, n);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(words[0], commands[i].name) != 0)
			continue;
		if (n - 1 != commands[i].args)
			return sm_err(SM_EXIT_USAGE, "usage: sm-analyze provider %s%s",
			              commands[i].name, commands[i].args ? " NAME" : "");
		return commands[i].run(store, words, json);
	}
	return sm_err(SM_EXIT_USAGE,
	              "unknown provider command '%s' (add, list, show, activate, "
	              "rm, test)",
	              words[0]);
}
