/* analyze.c - stored providers, one envelope's analysis and its record
 * (analyze.h).
 *
 * An AI provider's failure is a fact the envelope and the store record,
 * never a pseudo-recommendation: the local rules answer instead (status
 * "fallback") or, with the fallback off, the analysis fails.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sm/ai.h"
#include "sm/analyze.h"
#include "sm/config.h"
#include "sm/envelope.h"
#include "sm/http.h"
#include "sm/ingest.h"
#include "sm/json.h"
#include "sm/log.h"
#include "sm/rfc3339.h"
#include "sm/trace.h"

#define COUNT(a)          (sizeof(a) / sizeof((a)[0]))
#define TEST_PROMPT       "This is a connection test. Reply with an empty JSON array: []"
#define LOCAL_DESCRIPTION "Local rules over /proc and a bounded disk walk (no network)"

/* --- config keys --- */

enum kind { TEXT, MODEL, SECRET, URL, COUNT_KEY, SECONDS, MEGABYTES };

struct key {
	const char *name;
	enum kind kind;
	double max;
};

static const struct key ai_keys[] = {
    {"api_key", SECRET, 0},         {"model", MODEL, 0},          {"base_url", URL, 0},
    {"max_tokens", COUNT_KEY, 1e6}, {"timeout_s", SECONDS, 3600},
};

static const struct key local_keys[] = {
    {"top_n_processes", COUNT_KEY, 1000},
    {"large_file_threshold_mb", MEGABYTES, 1e9},
    {"old_file_days", COUNT_KEY, 36500},
};

static bool is_local(const char *provider)
{
	return provider && strcmp(provider, "local") == 0;
}

void sm_analyze_provider_names(char *buf, size_t size)
{
	size_t n;
	const sm_ai_provider *all = sm_ai_providers(&n);

	snprintf(buf, size, "local");
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(buf);
		snprintf(buf + len, size - len, ", %s", all[i].name);
	}
}

json_t *sm_analyze_providers_json(void)
{
	size_t n;
	const sm_ai_provider *all = sm_ai_providers(&n);
	json_t *rows = json_array();

	json_array_append_new(rows,
	                      json_pack("{s:s,s:s,s:n,s:n,s:n}", "name", "local", "description",
	                                LOCAL_DESCRIPTION, "base_url", "model", "key_env"));
	for (size_t i = 0; i < n; i++)
		json_array_append_new(
		    rows, json_pack("{s:s,s:s,s:s,s:s,s:o}", "name", all[i].name, "description",
		                    all[i].description, "base_url", all[i].base_url, "model",
		                    all[i].model, "key_env",
		                    all[i].key_env ? json_string(all[i].key_env) : json_null()));
	return rows;
}

static void key_names(const struct key *keys, size_t n, char *buf, size_t size)
{
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(buf);
		snprintf(buf + len, size - len, "%s%s", i ? ", " : "", keys[i].name);
	}
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* The JSON value of one key's text, or NULL with err (never quoting it). */
static json_t *key_value(const struct key *k, const sm_ai_provider *ai, const char *text,
                         sm_error *err)
{
	char why[256], *end;
	double d;

	if (!*text) {
		sm_error_set(err, "%s: empty value", k->name);
		return NULL;
	}
	switch (k->kind) {
	case SECRET:
		/* It goes into a header: a line break would forge another. */
		if (!printable(text) || strlen(text) > 900) {
			sm_error_set(err,
			             "%s: must be one line of printable text (at most 900 bytes)",
			             k->name);
			return NULL;
		}
		return json_string(text);
	case TEXT:
	case MODEL: /* text its provider's protocol can carry */
		if (!printable(text) || strlen(text) > 200 ||
		    !sm_json_utf8_valid(text, strlen(text))) {
			sm_error_set(err, "%s: must be one line of text (at most 200 bytes)",
			             k->name);
			return NULL;
		}
		if (k->kind == MODEL && ai && sm_ai_model_check(ai, text, err) < 0)
			return NULL;
		return json_string(text);
	case URL:
		if (!sm_http_url_ok(text, why, sizeof why)) {
			sm_error_set(err, "%s: %s", k->name, why);
			return NULL;
		}
		if (strpbrk(text, "?#")) {
			sm_error_set(err, "%s: no query or fragment (the API path is appended)",
			             k->name);
			return NULL;
		}
		return json_string(text);
	case COUNT_KEY:
		errno = 0;
		d = strtod(text, &end);
		if (errno || *end || d < 1 || d > k->max || d != floor(d)) {
			sm_error_set(err, "%s: must be a whole number from 1 to %.0f", k->name,
			             k->max);
			return NULL;
		}
		return json_integer((json_int_t)d);
	case SECONDS:
	case MEGABYTES:
		errno = 0;
		if (k->kind == SECONDS && sm_config_duration(text, &d) < 0)
			d = 0; /* refused below */
		else if (k->kind == MEGABYTES)
			d = strtod(text, &end);
		if ((k->kind == MEGABYTES && (errno || *end)) || !(d > 0) || d > k->max) {
			sm_error_set(err, "%s: must be a number above 0, at most %g", k->name,
			             k->max);
			return NULL;
		}
		return json_real(d);
	}
	return NULL;
}

void sm_analyze_config_keys(const char *provider, char *buf, size_t size)
{
	if (is_local(provider))
		key_names(local_keys, COUNT(local_keys), buf, size);
	else
		key_names(ai_keys, COUNT(ai_keys), buf, size);
}

int sm_analyze_config_parse(const char *provider, char *const *pairs, int n, json_t **config,
                            sm_error *err)
{
	const struct key *keys = is_local(provider) ? local_keys : ai_keys;
	size_t nkeys = is_local(provider) ? COUNT(local_keys) : COUNT(ai_keys);
	char names[512];

	*config = NULL;
	if (!is_local(provider) && !sm_ai_provider_find(provider)) {
		sm_analyze_provider_names(names, sizeof names);
		sm_error_set(err, "unknown provider '%s' (available: %s)", provider, names);
		return SM_EXIT_USAGE;
	}
	*config = json_object();
	for (int i = 0; i < n; i++) {
		const char *eq = strchr(pairs[i], '=');
		const struct key *k = NULL;
		char name[64], *file_value = NULL;
		const char *text;
		json_t *v;
		size_t len = eq ? (size_t)(eq - pairs[i]) : strlen(pairs[i]);

		snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), pairs[i]);
		for (size_t j = 0; j < nkeys; j++)
			if (strlen(keys[j].name) == len &&
			    strncmp(keys[j].name, pairs[i], len) == 0)
				k = &keys[j];
		if (!k) {
			key_names(keys, nkeys, names, sizeof names);
			sm_error_set(err, "unknown key '%s' for %s (keys: %s)", name, provider,
			             names);
			goto usage;
		}
		if (!eq) {
			sm_error_set(err, "%s: expected KEY=VALUE", name);
			goto usage;
		}
		text = eq + 1;
		if (text[0] == '@') {
			file_value = sm_config_value_file(name, text + 1, err);
			if (!file_value)
				goto usage;
			text = file_value;
		}
		v = key_value(k, sm_ai_provider_find(provider), text, err);
		if (file_value) {
			memset(file_value, 0, strlen(file_value));
			free(file_value);
		}
		if (!v)
			goto usage;
		json_object_set_new(*config, k->name, v);
	}
	return 0;
usage:
	json_decref(*config);
	*config = NULL;
	return SM_EXIT_USAGE;
}

json_t *sm_analyze_mask(json_t *config)
{
	json_t *copy = json_deep_copy(config), *v;
	const char *key;

	/* cppcheck-suppress variableScope */
	json_object_foreach(copy, key, v)
	{
		if (sm_ai_secret_key(key))
			json_object_set_new(copy, key, json_string(SM_ANALYZE_MASK));
	}
	return copy;
}

/* --- provider rows --- */

static bool good_name(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= 64 && name[0] != '-' &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
	           n;
}

static bool row_exists(sm_store *store, const char *name)
{
	sqlite3_stmt *st =
	    sm_store_prepare(store, "SELECT 1 FROM intelligence_providers WHERE name = ?1", NULL);
	bool found;

	if (!st)
		return false;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

int sm_analyze_provider_add(sm_store *store, const char *name, const char *provider, json_t *config,
                            bool *replaced, sm_error *err)
{
	char now[SM_RFC3339_LEN], *text;
	sqlite3_stmt *st;
	int rc;

	if (!good_name(name)) {
		sm_error_set(err, "provider name must be 1-64 letters, digits, '.', '_' or '-'");
		return SM_EXIT_USAGE;
	}
	if (!is_local(provider) && !sm_ai_provider_find(provider)) {
		char names[512];
		sm_analyze_provider_names(names, sizeof names);
		sm_error_set(err, "unknown provider '%s' (available: %s)", provider, names);
		return SM_EXIT_USAGE;
	}
	text = config ? sm_json_dumps(config, SM_JSON_FLAGS) : strdup("{}");
	if (!text) {
		sm_error_set(err, "out of memory");
		return SM_EXIT_FAILURE;
	}
	sm_rfc3339_now(now, false);
	st = sm_store_prepare(store,
	                      "INSERT INTO intelligence_providers"
	                      " (name, provider, config, is_active, created_at, updated_at)"
	                      " VALUES (?1, ?2, ?3, 0, ?4, ?4)"
	                      " ON CONFLICT (name) DO UPDATE SET provider = ?2, config = ?3,"
	                      " updated_at = ?4",
	                      err);
	if (!st) {
		free(text);
		return SM_EXIT_FAILURE;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, provider, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	if (replaced) /* only for the message: no need to hold a lock for it */
		*replaced = row_exists(store, name);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	free(text);
	if (rc != SQLITE_DONE) {
		sm_error_set(err, "%s: %s", sm_store_path(store),
		             sqlite3_errmsg(sm_store_db(store)));
		return SM_EXIT_FAILURE;
	}
	return 0;
}

/* The listing form of a row. */
static json_t *row_json(const char *name, const char *provider, const char *config_text,
                        bool active)
{
	json_t *config = json_loads(config_text ? config_text : "{}", 0, NULL);
	const sm_ai_provider *ai = sm_ai_provider_find(provider);
	json_t *row;

	if (!json_is_object(config)) {
		json_decref(config);
		config = json_object();
	}
	row = json_pack("{s:s,s:s,s:b}", "name", name, "provider", provider, "active", active);
	if (ai) {
		sm_ai_config cfg = {.provider = ai,
		                    .model = json_string_value(json_object_get(config, "model")),
		                    .base_url =
		                        json_string_value(json_object_get(config, "base_url"))};
		char base[2048];
		sm_ai_base_url(&cfg, base, sizeof base);
		json_object_set_new(row, "model", json_string(sm_ai_model(&cfg)));
		json_object_set_new(row, "base_url", json_string(base));
	} else {
		json_object_set_new(row, "model", json_null());
		json_object_set_new(row, "base_url", json_null());
	}
	json_object_set_new(row, "config", sm_analyze_mask(config));
	json_decref(config);
	return row;
}

static int query_rows(sm_store *store, const char *name, json_t **rows, sm_error *err)
{
	sqlite3_stmt *st =
	    sm_store_prepare(store,
	                     "SELECT name, provider, config, is_active FROM intelligence_providers"
	                     " WHERE ?1 IS NULL OR name = ?1 ORDER BY name",
	                     err);
	int rc;

	*rows = NULL;
	if (!st)
		return SM_EXIT_FAILURE;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	*rows = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(*rows, row_json((const char *)sqlite3_column_text(st, 0),
		                                      (const char *)sqlite3_column_text(st, 1),
		                                      (const char *)sqlite3_column_text(st, 2),
		                                      sqlite3_column_int(st, 3) != 0));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(*rows);
		*rows = NULL;
		sm_error_set(err, "%s: %s", sm_store_path(store),
		             sqlite3_errmsg(sm_store_db(store)));
		return SM_EXIT_FAILURE;
	}
	return 0;
}

int sm_analyze_provider_list(sm_store *store, json_t **rows, sm_error *err)
{
	return query_rows(store, NULL, rows, err);
}

int sm_analyze_provider_show(sm_store *store, const char *name, json_t **row, sm_error *err)
{
	json_t *rows;
	int rc = query_rows(store, name, &rows, err);

	*row = NULL;
	if (rc != 0)
		return rc;
	if (json_array_size(rows) == 0) {
		json_decref(rows);
		sm_error_set(err, "unknown provider '%s' (see: sm-analyze provider list)", name);
		return SM_EXIT_USAGE;
	}
	*row = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	return 0;
}

/* Run one statement binding name; the number of rows changed, or -1. */
static int change(sm_store *store, const char *sql, const char *name, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(store, sql, err);
	int rc;

	if (!st)
		return -1;
	if (name)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		sm_error_set(err, "%s: %s", sm_store_path(store),
		             sqlite3_errmsg(sm_store_db(store)));
		return -1;
	}
	return sqlite3_changes(sm_store_db(store));
}

int sm_analyze_provider_activate(sm_store *store, const char *name, sm_error *err)
{
	int n;

	/* One transaction: never two active rows, never none by accident. */
	if (sm_store_begin(store, err) < 0)
		return SM_EXIT_FAILURE;
	if (change(store, "UPDATE intelligence_providers SET is_active = 0 WHERE is_active <> 0",
	           NULL, err) < 0)
		goto fail;
	n = change(store,
	           "UPDATE intelligence_providers SET is_active = 1,"
	           " updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE name = ?1",
	           name, err);
	if (n < 0)
		goto fail;
	if (n == 0 && !is_local(name)) {
		sm_store_rollback(store);
		sm_error_set(err, "unknown provider '%s' (see: sm-analyze provider list)", name);
		return SM_EXIT_USAGE;
	}
	if (sm_store_commit(store, err) < 0)
		goto fail;
	return 0;
fail:
	sm_store_rollback(store);
	return SM_EXIT_FAILURE;
}

int sm_analyze_provider_rm(sm_store *store, const char *name, sm_error *err)
{
	int n = change(store, "DELETE FROM intelligence_providers WHERE name = ?1", name, err);

	if (n < 0)
		return SM_EXIT_FAILURE;
	if (n == 0) {
		sm_error_set(err, "unknown provider '%s' (see: sm-analyze provider list)", name);
		return SM_EXIT_USAGE;
	}
	return 0;
}

/* --- the analyzer --- */

struct sm_analyzer {
	sm_store *store;
	char name[80];
	const sm_ai_provider *ai; /* NULL: the local rules */
	json_t *config;           /* the row's config (cfg points into it) */
	sm_ai_config cfg;
	bool fallback;
	sm_recommend_opts opts;
};

/* A local row's config over the rule settings. */
static void apply_local_config(sm_analyzer *a)
{
	json_t *v;

	if (a->ai || !a->config)
		return;
	if ((v = json_object_get(a->config, "top_n_processes")) && json_is_integer(v))
		a->opts.top_n = (int)json_integer_value(v);
	if ((v = json_object_get(a->config, "large_file_threshold_mb")) && json_is_number(v))
		a->opts.large_file_mb = json_number_value(v);
	if ((v = json_object_get(a->config, "old_file_days")) && json_is_integer(v))
		a->opts.old_file_days = (int)json_integer_value(v);
}

int sm_analyzer_open(sm_store *store, const char *name, sm_analyzer **out, sm_error *err)
{
	sm_analyzer *a = calloc(1, sizeof *a);
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	if (!a) {
		sm_error_set(err, "out of memory");
		return SM_EXIT_FAILURE;
	}
	a->store = store;
	a->fallback = true;
	sm_recommend_opts_init(&a->opts);
	snprintf(a->name, sizeof a->name, "local");
	st = sm_store_prepare(store,
	                      name ? "SELECT name, provider, config FROM intelligence_providers"
	                             " WHERE name = ?1"
	                           : "SELECT name, provider, config FROM intelligence_providers"
	                             " WHERE is_active <> 0 ORDER BY updated_at DESC LIMIT 1",
	                      err);
	if (!st) {
		free(a);
		return SM_EXIT_FAILURE;
	}
	if (name)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *provider = (const char *)sqlite3_column_text(st, 1);
		snprintf(a->name, sizeof a->name, "%s", (const char *)sqlite3_column_text(st, 0));
		a->config = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
		if (!json_is_object(a->config)) {
			json_decref(a->config);
			a->config = json_object();
		}
		a->ai = sm_ai_provider_find(provider);
		if (!a->ai && !is_local(provider)) {
			sm_error_set(err, "provider '%s' names an unknown provider '%s'", a->name,
			             provider);
			rc = SM_EXIT_USAGE;
			goto fail;
		}
	} else if (rc != SQLITE_DONE) {
		sm_error_set(err, "%s: %s", sm_store_path(store),
		             sqlite3_errmsg(sm_store_db(store)));
		rc = SM_EXIT_FAILURE;
		goto fail;
	} else if (name && !is_local(name)) {
		sm_error_set(err, "unknown provider '%s' (see: sm-analyze provider list)", name);
		rc = SM_EXIT_USAGE;
		goto fail;
	}
	sqlite3_finalize(st);
	if (a->ai) {
		a->cfg.provider = a->ai;
		a->cfg.api_key = json_string_value(json_object_get(a->config, "api_key"));
		a->cfg.model = json_string_value(json_object_get(a->config, "model"));
		a->cfg.base_url = json_string_value(json_object_get(a->config, "base_url"));
		a->cfg.max_tokens =
		    (long)json_integer_value(json_object_get(a->config, "max_tokens"));
		a->cfg.timeout_s = json_number_value(json_object_get(a->config, "timeout_s"));
	}
	apply_local_config(a);
	*out = a;
	return 0;
fail:
	sqlite3_finalize(st);
	sm_analyzer_free(a);
	return rc;
}

void sm_analyzer_free(sm_analyzer *a)
{
	if (!a)
		return;
	json_decref(a->config);
	free(a);
}

void sm_analyzer_set_fallback(sm_analyzer *a, bool enabled)
{
	a->fallback = enabled;
}

void sm_analyzer_set_opts(sm_analyzer *a, const sm_recommend_opts *opts)
{
	a->opts = *opts;
	apply_local_config(a);
}

const char *sm_analyzer_provider(const sm_analyzer *a)
{
	return a->ai ? a->ai->name : "local";
}

const char *sm_analyzer_name(const sm_analyzer *a)
{
	return a->name;
}

/* --- records --- */

struct outcome {
	const char *provider, *model, *status;
	bool fallback;
	json_t *recs; /* borrowed */
	const char *summary;
	const char *error; /* NULL: none */
	sm_ai_usage usage;
	double duration_ms;
};

static void bind_count(sqlite3_stmt *st, int i, long v)
{
	if (v >= 0)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static int record(sm_store *store, const struct outcome *o, json_t *incident_id,
                  const char *trace_id, sm_error *err)
{
	char now[SM_RFC3339_LEN], *recs = sm_json_dumps(o->recs, SM_JSON_FLAGS);
	sqlite3_stmt *st;
	int rc;

	if (!recs) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	sm_rfc3339_now(now, true);
	/* The incident may live in another store (a hub's envelope): link it
	 * only when it is ours. */
	st = sm_store_prepare(store,
	                      "INSERT INTO analysis_runs (incident_id, provider, model, status,"
	                      " fallback, duration_ms, prompt_tokens, completion_tokens,"
	                      " recommendations, error, created_at, trace_id)"
	                      " VALUES ((SELECT id FROM incidents WHERE id = ?1), ?2, ?3, ?4, ?5,"
	                      " ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	                      err);
	if (!st) {
		free(recs);
		return -1;
	}
	if (json_is_integer(incident_id))
		sqlite3_bind_int64(st, 1, json_integer_value(incident_id));
	sqlite3_bind_text(st, 2, o->provider, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, o->model ? o->model : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, o->status, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, o->fallback);
	sqlite3_bind_double(st, 6, o->duration_ms);
	bind_count(st, 7, o->usage.prompt_tokens);
	bind_count(st, 8, o->usage.completion_tokens);
	sqlite3_bind_text(st, 9, recs, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, o->error ? o->error : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, trace_id ? trace_id : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	free(recs);
	if (rc != SQLITE_DONE) {
		sm_error_set(err, "%s: %s", sm_store_path(store),
		             sqlite3_errmsg(sm_store_db(store)));
		return -1;
	}
	return 0;
}

static json_t *analysis_json(const struct outcome *o)
{
	json_t *a = json_object();

	json_object_set_new(a, "provider", json_string(o->provider));
	json_object_set_new(a, "model",
	                    o->model && *o->model ? json_string(o->model) : json_null());
	json_object_set_new(a, "status", json_string(o->status));
	json_object_set_new(a, "fallback", json_boolean(o->fallback));
	json_object_set_new(a, "summary", sm_json_string(o->summary));
	json_object_set_new(a, "recommendations", json_incref(o->recs));
	json_object_set_new(a, "error", o->error ? sm_json_string(o->error) : json_null());
	return a;
}

static const char *first_title(json_t *recs)
{
	const char *t = json_string_value(json_object_get(json_array_get(recs, 0), "title"));

	return t ? t : "No recommendations at this time.";
}

/* Host data (command lines, paths) and AI text may hold credentials:
 * recommendations are redacted before they are shown or stored. */
static int redact_in_place(json_t **recs)
{
	json_t *clean = sm_ai_redact_json(*recs);

	if (!clean)
		return -1;
	json_decref(*recs);
	*recs = clean;
	return 0;
}

/* Whether an envelope gives an AI something to look at. */
static bool worth_asking(json_t *env)
{
	json_t *v;
	size_t i;

	if (json_is_object(json_object_get(env, "incident")))
		return true;
	json_array_foreach(json_object_get(env, "alerts"), i, v)
	{
		const char *s = json_string_value(json_object_get(v, "status"));
		if (!s || strcmp(s, "resolved") != 0)
			return true;
	}
	json_array_foreach(json_object_get(env, "checks"), i, v)
	{
		const char *s = json_string_value(json_object_get(v, "status"));
		if (!s || strcmp(s, "ok") != 0)
			return true;
	}
	return false;
}

static int ask_ai(sm_analyzer *a, json_t *env, json_t **recs, char **summary, sm_ai_usage *usage,
                  sm_error *err)
{
	char *prompt = sm_ai_prompt(env), *text = NULL;
	int rc = -1;

	*recs = NULL;
	*summary = NULL;
	if (!prompt) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	if (sm_ai_complete(&a->cfg, sm_ai_system_prompt(), prompt, &text, usage, err) < 0)
		goto out;
	if (sm_ai_parse_answer(text, recs, summary, err) < 0) {
		sm_error_prefix(err, "%s", a->ai->name);
		goto out;
	}
	rc = 0;
out:
	free(text);
	free(prompt);
	return rc;
}

/* Append text to the error buffer, after "; " when it holds something. */
static void add_error(char *error, size_t size, const char *text)
{
	size_t n = strlen(error);

	snprintf(error + n, size - n, "%s%s", n ? "; " : "", text);
}

int sm_analyzer_envelope(sm_analyzer *a, json_t *env, sm_error *err)
{
	struct timespec t0, t1;
	char started[SM_RFC3339_LEN], error[1024] = "";
	struct outcome o = {.provider = "local", .status = "ok", .usage = {-1, -1, ""}};
	json_t *recs = NULL;
	char *summary = NULL;
	sm_error e = {0}, note = {0};
	bool local = true;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	sm_rfc3339_now(started, true);
	sm_log_set_trace(sm_envelope_trace_id(env));
	if (a->ai && worth_asking(env)) {
		o.provider = a->ai->name;
		o.model = sm_ai_model(&a->cfg);
		local = false;
		if (ask_ai(a, env, &recs, &summary, &o.usage, &e) < 0) {
			snprintf(error, sizeof error, "%s", e.msg);
			sm_log_kv(SM_LOG_WARN,
			          a->fallback ? "AI analysis failed: using the local rules"
			                      : "AI analysis failed (fallback disabled)",
			          "provider", a->name, "error", e.msg, SM_LOG_END);
			if (a->fallback) {
				o.status = "fallback";
				o.fallback = true;
				local = true;
			} else {
				recs = json_array();
				o.status = "failed";
			}
		} else if (o.usage.model[0]) {
			o.model =
			    o.usage.model; /* the model that answered, as the vendor names it */
		}
	}
	if (local) {
		recs = json_array();
		if (sm_recommend_for_envelope(env, &a->opts, recs, &note, &e) < 0) {
			char why[600];
			snprintf(why, sizeof why, "local rules: %s", e.msg);
			add_error(error, sizeof error, why);
			o.status = "failed";
		} else if (note.msg[0]) {
			add_error(error, sizeof error, note.msg);
		}
	}
	if (redact_in_place(&recs) < 0) {
		sm_error_set(err, "out of memory");
		rc = -1;
		goto out;
	}
	if (summary && *summary) { /* the model's own words: redacted too */
		char *clean = sm_ai_redact_text(summary);
		free(summary);
		summary = clean;
	}
	if (strcmp(o.status, "failed") == 0) {
		o.summary = "Analysis failed";
		rc = SM_EXIT_FAILURE;
	} else if (o.fallback) {
		o.summary = "AI analysis unavailable";
	} else {
		o.summary = summary && *summary ? summary : first_title(recs);
	}
	o.recs = recs;
	o.error = *error ? error : NULL;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	o.duration_ms = sm_round(sm_elapsed_ms(&t0, &t1), 3);
	if (record(a->store, &o, json_object_get(json_object_get(env, "incident"), "id"),
	           sm_envelope_trace_id(env), err) < 0) {
		rc = -1;
		goto out;
	}
	json_object_set_new(env, "analysis", analysis_json(&o));
	sm_envelope_add_stage(env, "analyze", rc ? "failed" : "ok", started, o.duration_ms,
	                      o.error);
out:
	json_decref(recs);
	free(summary);
	return rc;
}

/* Append to arr the JSON object each row's column col holds (SQLite's
 * json_object text); the first row's column host_col (-1: none) into
 * host. */
static int json_rows(sm_store *store, const char *sql, long long id, json_t *arr, int col,
                     int host_col, json_t **host, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(store, sql, err);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_loads((const char *)sqlite3_column_text(st, col), 0, NULL);
		if (o)
			json_array_append_new(arr, o);
		if (host_col >= 0 && !*host && sqlite3_column_text(st, host_col))
			*host = json_string((const char *)sqlite3_column_text(st, host_col));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		sm_error_set(err, "%s: %s", sm_store_path(store),
		             sqlite3_errmsg(sm_store_db(store)));
		return -1;
	}
	return 0;
}

int sm_analyze_incident_envelope(sm_store *store, long long id, json_t **env, sm_error *err)
{
	static const char alerts_sql[] =
	    "SELECT json_object('id', id, 'fingerprint', fingerprint, 'name', name, 'status',"
	    " status, 'severity', severity, 'description', description, 'labels', json(labels),"
	    " 'annotations', json(annotations), 'started_at', started_at, 'ended_at', ended_at),"
	    " coalesce(json_extract(labels, '$.hostname'), json_extract(labels, '$.instance'))"
	    " FROM alerts WHERE incident_id = ?1 ORDER BY id";
	/* The latest run of each checker behind the incident's alerts. */
	static const char checks_sql[] =
	    "SELECT json_object('checker', checker, 'status', status, 'message', message,"
	    " 'metrics', json(metrics), 'error', nullif(error, ''), 'duration_ms', duration_ms),"
	    " hostname FROM check_runs WHERE id IN (SELECT max(id) FROM check_runs WHERE alert_id"
	    " IN (SELECT id FROM alerts WHERE incident_id = ?1) GROUP BY alert_id) ORDER BY id";
	json_t *incident = sm_incident_json(store, id), *alerts = json_array(),
	       *checks = json_array(), *host = NULL;

	*env = NULL;
	if (!incident) {
		json_decref(alerts);
		json_decref(checks);
		sm_error_set(err, "no incident %lld", id);
		return SM_EXIT_USAGE;
	}
	if (json_rows(store, checks_sql, id, checks, 0, 1, &host, err) < 0 ||
	    json_rows(store, alerts_sql, id, alerts, 0, 1, &host, err) < 0) {
		json_decref(incident);
		json_decref(alerts);
		json_decref(checks);
		json_decref(host);
		return SM_EXIT_FAILURE;
	}
	*env = sm_envelope_new(json_string_value(json_object_get(incident, "source")), NULL);
	json_object_set_new(*env, "incident", incident);
	json_object_set_new(*env, "alerts", alerts);
	if (host)
		json_object_set_new(*env, "host", host);
	json_object_set_new(*env, "checks", checks);
	return 0;
}

int sm_analyzer_test(sm_analyzer *a, char *model, size_t size, double *elapsed_ms, sm_error *err)
{
	struct timespec t0, t1;
	sm_ai_usage usage;
	char *text = NULL;
	int rc;

	*elapsed_ms = 0;
	if (!a->ai) {
		snprintf(model, size, "local rules");
		return 0;
	}
	snprintf(model, size, "%s", sm_ai_model(&a->cfg));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = sm_ai_complete(&a->cfg, sm_ai_system_prompt(), TEST_PROMPT, &text, &usage, err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc == 0 && usage.model[0])
		snprintf(model, size, "%s", usage.model);
	*elapsed_ms = sm_elapsed_ms(&t0, &t1);
	free(text);
	return rc < 0 ? SM_EXIT_FAILURE : 0;
}

int sm_analyze_local(sm_store *store, enum sm_analyze_mode mode, const char *path,
                     const sm_recommend_opts *opts, json_t **recs, sm_error *note, sm_error *err)
{
	struct timespec t0, t1;
	struct outcome o = {.provider = "local", .status = "ok", .usage = {-1, -1, ""}};
	char trace[SM_TRACE_LEN + 1] = "", error[600] = "";
	sm_error e = {0}, serr;
	int rc;

	note->msg[0] = '\0';
	*recs = json_array();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (sm_trace_new(trace) == 0)
		sm_log_set_trace(trace);
	switch (mode) {
	case SM_ANALYZE_MEMORY:
		rc = sm_recommend_memory(opts, *recs, &e);
		break;
	case SM_ANALYZE_DISK:
		rc = sm_recommend_disk(path, opts, *recs, &e);
		break;
	case SM_ANALYZE_CPU:
		rc = sm_recommend_cpu(opts, *recs, &e);
		break;
	default:
		rc = sm_recommend_general(opts, *recs, note, &e);
		break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (redact_in_place(recs) < 0) {
		sm_error_set(err, "out of memory");
		return SM_EXIT_FAILURE;
	}
	if (rc < 0) {
		snprintf(error, sizeof error, "%s", e.msg);
		o.status = "failed";
		o.error = error;
	} else if (note->msg[0]) {
		o.error = note->msg; /* what the run left out */
	}
	o.recs = *recs;
	o.summary = first_title(*recs);
	o.duration_ms = sm_round(sm_elapsed_ms(&t0, &t1), 3);
	if (record(store, &o, NULL, trace, &serr) < 0) {
		*err = serr;
		return SM_EXIT_FAILURE;
	}
	if (rc < 0) {
		*err = e;
		return SM_EXIT_FAILURE;
	}
	return 0;
}
