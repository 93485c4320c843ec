/* pipeline.c - pipeline definitions: validation, the built-in presets and
 * the stored definitions (table pipeline_definitions). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/nodes.h"
#include "sm/json.h"
#include "sm/pipeline.h"
#include "sm/pipeline_route.h"
#include "sm/rfc3339.h"

/* The six use cases of sm(7). Empty configs take the defaults: every
 * checker, the local rules, every enabled channel. */
static const struct {
	const char *name, *text;
} presets[] = {
    {"local-monitor",
     "{\"version\":\"1\",\"description\":\"Check this host and notify on a change\","
     "\"nodes\":[{\"id\":\"check\",\"type\":\"context\",\"next\":\"notify\"},"
     "{\"id\":\"notify\",\"type\":\"notify\"}]}"},
    {"local-smart",
     "{\"version\":\"1\",\"description\":\"Check this host, analyze, notify on a change\","
     "\"nodes\":[{\"id\":\"check\",\"type\":\"context\",\"next\":\"analyze\"},"
     "{\"id\":\"analyze\",\"type\":\"intelligence\",\"next\":\"notify\"},"
     "{\"id\":\"notify\",\"type\":\"notify\"}]}"},
    {"direct", "{\"version\":\"1\",\"description\":\"Ingest a webhook and notify\","
               "\"nodes\":[{\"id\":\"ingest\",\"type\":\"ingest\",\"next\":\"notify\"},"
               "{\"id\":\"notify\",\"type\":\"notify\"}]}"},
    {"health-checked",
     "{\"version\":\"1\",\"description\":\"Ingest a webhook, check this host, notify\","
     "\"nodes\":[{\"id\":\"ingest\",\"type\":\"ingest\",\"next\":\"check\"},"
     "{\"id\":\"check\",\"type\":\"context\",\"next\":\"notify\"},"
     "{\"id\":\"notify\",\"type\":\"notify\"}]}"},
    {"ai-analyzed", "{\"version\":\"1\",\"description\":\"Ingest a webhook, analyze, notify\","
                    "\"nodes\":[{\"id\":\"ingest\",\"type\":\"ingest\",\"next\":\"analyze\"},"
                    "{\"id\":\"analyze\",\"type\":\"intelligence\",\"next\":\"notify\"},"
                    "{\"id\":\"notify\",\"type\":\"notify\"}]}"},
    {"full",
     "{\"version\":\"1\",\"description\":\"Ingest a webhook, check this host, analyze, notify\","
     "\"nodes\":[{\"id\":\"ingest\",\"type\":\"ingest\",\"next\":\"check\"},"
     "{\"id\":\"check\",\"type\":\"context\",\"next\":\"analyze\"},"
     "{\"id\":\"analyze\",\"type\":\"intelligence\",\"next\":\"notify\"},"
     "{\"id\":\"notify\",\"type\":\"notify\"}]}"},
};

#define NPRESETS (sizeof presets / sizeof presets[0])

size_t sm_pipeline_preset_count(void)
{
	return NPRESETS;
}

const char *sm_pipeline_preset_name(size_t i)
{
	return i < NPRESETS ? presets[i].name : NULL;
}

json_t *sm_pipeline_preset(const char *name)
{
	for (size_t i = 0; name && i < NPRESETS; i++)
		if (strcmp(presets[i].name, name) == 0)
			return sm_json_parse(presets[i].text, strlen(presets[i].text), 0, NULL);
	return NULL;
}

/* --- validation ------------------------------------------------------------ */

static void problem(json_t *problems, const char *msg)
{
	json_array_append_new(problems, json_string(msg));
}

static const json_t *find_node(const json_t *nodes, const char *id)
{
	const json_t *n;
	size_t i;

	json_array_foreach(nodes, i, n)
	{
		const char *nid = json_string_value(json_object_get(n, "id"));
		if (id && nid && strcmp(nid, id) == 0)
			return n;
	}
	return NULL;
}

static void validate_defaults(const json_t *defaults, json_t *problems)
{
	const json_t *retries = json_object_get(defaults, "max_retries");
	const json_t *timeout = json_object_get(defaults, "timeout_seconds");

	if (!defaults)
		return;
	if (!json_is_object(defaults)) {
		problem(problems, "\"defaults\" must be an object");
		return;
	}
	if (retries && (!json_is_integer(retries) || json_integer_value(retries) < 0 ||
	                json_integer_value(retries) > 100))
		problem(problems, "\"defaults.max_retries\" must be a whole number from 0 to 100");
	if (timeout && (!json_is_number(timeout) || json_number_value(timeout) <= 0))
		problem(problems, "\"defaults.timeout_seconds\" must be a number above 0");
}

static void validate_skips(const json_t *nodes, const json_t *node, const char *label,
                           json_t *problems)
{
	const json_t *list = json_object_get(node, "skip_if_errors"), *v;
	const json_t *cond = json_object_get(node, "skip_if_condition");
	size_t i;

	if (list && !json_is_array(list))
		node_problem(problems, label, "\"skip_if_errors\" must be a list of node ids");
	json_array_foreach(list, i, v)
	{
		if (!json_is_string(v) || !find_node(nodes, json_string_value(v)))
			node_problem(problems, label, "skip_if_errors names no node: %s",
			             json_is_string(v) ? json_string_value(v) : "(not a string)");
	}
	if (cond) {
		const char *s = json_string_value(cond);
		size_t n = s ? strlen(s) : 0, suffix = strlen(".has_errors");
		char id[256];
		/* The one condition there is: NODE.has_errors, never an expression. */
		if (!s || n <= suffix || strcmp(s + n - suffix, ".has_errors") != 0 ||
		    n - suffix >= sizeof id) {
			node_problem(problems, label,
			             "\"skip_if_condition\" must be \"NODE.has_errors\"");
			return;
		}
		snprintf(id, sizeof id, "%.*s", (int)(n - suffix), s);
		if (!find_node(nodes, id))
			node_problem(problems, label, "skip_if_condition names no node: %s", id);
	}
}

static void validate_node(const json_t *def, const json_t *nodes, size_t index, json_t *seen,
                          json_t *problems)
{
	const json_t *node = json_array_get(nodes, index);
	const json_t *id = json_object_get(node, "id"), *type = json_object_get(node, "type");
	const json_t *config = json_object_get(node, "config"),
	             *next = json_object_get(node, "next");
	const json_t *required = json_object_get(node, "required");
	const node_type *t;
	char label[300];

	snprintf(label, sizeof label, "#%zu", index + 1);
	if (!json_is_object(node)) {
		node_problem(problems, label, "not an object");
		return;
	}
	if (!json_is_string(id) || !*json_string_value(id)) {
		node_problem(problems, label, "missing \"id\"");
	} else {
		snprintf(label, sizeof label, "%s", json_string_value(id));
		if (json_object_get(seen, label))
			node_problem(problems, label, "duplicate id");
		json_object_set_new(seen, label, json_true());
	}
	t = node_type_find(json_string_value(type));
	if (!json_is_string(type))
		node_problem(problems, label, "missing \"type\"");
	else if (!t)
		node_problem(problems, label, "unknown type \"%s\" (available: %s)",
		             json_string_value(type), node_type_names());
	if (config && !json_is_object(config))
		node_problem(problems, label, "\"config\" must be an object");
	else if (t) {
		json_t *empty = json_object();
		t->validate(def, label, config ? config : empty, problems);
		json_decref(empty);
	}
	if (next && (!json_is_string(next) || !find_node(nodes, json_string_value(next))))
		node_problem(problems, label, "next names no node: %s",
		             json_is_string(next) ? json_string_value(next) : "(not a string)");
	if (required && !json_is_boolean(required))
		node_problem(problems, label, "\"required\" must be true or false");
	validate_skips(nodes, node, label, problems);
}

/* Following "next" from each node must end: a cycle would be a loop. */
static void validate_cycles(const json_t *nodes, json_t *problems)
{
	size_t n = json_array_size(nodes);

	for (size_t i = 0; i < n; i++) {
		const json_t *node = json_array_get(nodes, i);
		const char *start = json_string_value(json_object_get(node, "id"));
		size_t steps = 0;
		if (!start)
			continue;
		while (node && steps <= n) {
			node = find_node(nodes, json_string_value(json_object_get(node, "next")));
			steps++;
			if (node &&
			    strcmp(json_string_value(json_object_get(node, "id")), start) == 0) {
				node_problem(problems, start,
				             "\"next\" leads back to this node (a cycle)");
				break;
			}
		}
	}
}

json_t *sm_pipeline_validate(const json_t *def)
{
	json_t *problems = json_array(), *seen = json_object();
	const json_t *nodes = json_object_get(def, "nodes");
	const json_t *desc = json_object_get(def, "description");

	if (!json_is_object(def)) {
		problem(problems, "a definition must be a JSON object");
		goto out;
	}
	if (!json_object_get(def, "version"))
		problem(problems, "missing \"version\"");
	if (desc && !json_is_string(desc))
		problem(problems, "\"description\" must be a string");
	validate_defaults(json_object_get(def, "defaults"), problems);
	sm_pipeline_route_validate(def, problems);
	if (!json_is_array(nodes) || json_array_size(nodes) == 0) {
		problem(problems, "no nodes: \"nodes\" must be a non-empty list");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(nodes); i++)
		validate_node(def, nodes, i, seen, problems);
	validate_cycles(nodes, problems);
out:
	json_decref(seen);
	return problems;
}

int sm_pipeline_parse(const char *text, size_t len, json_t **out, json_t **problems, sm_error *err)
{
	json_error_t e;
	json_t *def = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e), *list;

	*out = NULL;
	*problems = NULL;
	if (!def) {
		sm_error_set(err, "line %d: %s", e.line, e.text);
		return SM_EXIT_DATAERR;
	}
	list = sm_pipeline_validate(def);
	if (json_array_size(list) > 0) {
		json_decref(def);
		*problems = list;
		return SM_EXIT_DATAERR;
	}
	json_decref(list);
	*out = def;
	return SM_EXIT_OK;
}

void sm_pipeline_flow(const json_t *def, char *buf, size_t size)
{
	const json_t *n;
	size_t i;

	buf[0] = '\0';
	json_array_foreach(json_object_get(def, "nodes"), i, n)
	{
		size_t used = strlen(buf);
		snprintf(buf + used, size - used, "%s%s", i ? " -> " : "",
		         json_string_value(json_object_get(n, "id")));
	}
}

/* --- the store ------------------------------------------------------------- */

static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= 64 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
	           n;
}

int sm_pipeline_load(sm_store *store, const char *name, json_t **out, bool *builtin, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare_kept(
	    store, "SELECT definition FROM pipeline_definitions WHERE name = ?", err);
	int rc;

	*out = NULL;
	if (!st)
		return SM_EXIT_FAILURE;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sm_json_parse((const char *)sqlite3_column_text(st, 0),
		                     (size_t)sqlite3_column_bytes(st, 0), 0, NULL);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sm_error_set(err, "%s", sqlite3_errstr(rc));
		return SM_EXIT_FAILURE;
	}
	if (builtin)
		*builtin = !*out;
	if (!*out)
		*out = sm_pipeline_preset(name);
	if (!*out) {
		sm_error_set(err, "unknown definition '%s' (see sm-pipeline definition list)",
		             name);
		return SM_EXIT_USAGE;
	}
	return SM_EXIT_OK;
}

int sm_pipeline_store(sm_store *store, const char *name, const json_t *def, sm_error *err)
{
	char now[SM_RFC3339_LEN];
	char *text;
	json_t *preset;
	sqlite3_stmt *st;
	int rc;

	if (!name_ok(name)) {
		sm_error_set(err, "bad definition name '%s': 1-64 letters, digits, '.', '_' or '-'",
		             name);
		return SM_EXIT_USAGE;
	}
	if ((preset = sm_pipeline_preset(name)) != NULL) {
		json_decref(preset);
		sm_error_set(err, "'%s' is a built-in definition: choose another name", name);
		return SM_EXIT_USAGE;
	}
	text = sm_json_dump(def, NULL);
	st = sm_store_prepare(store,
	                      "INSERT INTO pipeline_definitions"
	                      " (name, description, definition, created_at, updated_at)"
	                      " VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (name) DO UPDATE SET"
	                      " description = ?2, definition = ?3, updated_at = ?4",
	                      err);
	if (!text || !st) {
		free(text);
		sqlite3_finalize(st);
		return SM_EXIT_FAILURE;
	}
	sm_rfc3339_now(now, false);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, json_string_value(json_object_get(def, "description")) ?: "", -1,
	                  SQLITE_STATIC);
	sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	free(text);
	if (rc != SQLITE_DONE) {
		sm_error_set(err, "%s", sqlite3_errstr(rc));
		return SM_EXIT_FAILURE;
	}
	return SM_EXIT_OK;
}

int sm_pipeline_remove(sm_store *store, const char *name, sm_error *err)
{
	json_t *p = sm_pipeline_preset(name);
	sqlite3_stmt *st;
	int rc, changed;

	if (p) {
		json_decref(p);
		sm_error_set(err, "'%s' is a built-in definition and cannot be removed", name);
		return SM_EXIT_USAGE;
	}
	st = sm_store_prepare(store, "DELETE FROM pipeline_definitions WHERE name = ?", err);
	if (!st)
		return SM_EXIT_FAILURE;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	changed = sqlite3_changes(sm_store_db(store));
	if (rc != SQLITE_DONE) {
		sm_error_set(err, "%s", sqlite3_errstr(rc));
		return SM_EXIT_FAILURE;
	}
	if (changed == 0) {
		sm_error_set(err, "unknown definition '%s' (see sm-pipeline definition list)",
		             name);
		return SM_EXIT_USAGE;
	}
	return SM_EXIT_OK;
}

static json_t *listing(const char *name, const json_t *def, bool builtin, const char *updated)
{
	json_t *flow = json_array(), *n;
	size_t i;

	json_array_foreach(json_object_get(def, "nodes"), i, n)
	{
		json_array_append(flow, json_object_get(n, "id"));
	}
	return json_pack("{s:s,s:s,s:b,s:o,s:s?}", "name", name, "description",
	                 json_string_value(json_object_get(def, "description")) ?: "", "builtin",
	                 builtin, "flow", flow, "updated_at", updated);
}

int sm_pipeline_list(sm_store *store, json_t **out, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(
	    store, "SELECT name, definition, updated_at FROM pipeline_definitions ORDER BY name",
	    err);
	int rc;

	*out = NULL;
	if (!st)
		return SM_EXIT_FAILURE;
	*out = json_array();
	for (size_t i = 0; i < NPRESETS; i++) {
		json_t *def = sm_pipeline_preset(presets[i].name);
		json_array_append_new(*out, listing(presets[i].name, def, true, NULL));
		json_decref(def);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *def = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
		json_array_append_new(*out,
		                      listing((const char *)sqlite3_column_text(st, 0), def, false,
		                              (const char *)sqlite3_column_text(st, 2)));
		json_decref(def);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(*out);
		*out = NULL;
		sm_error_set(err, "%s", sqlite3_errstr(rc));
		return SM_EXIT_FAILURE;
	}
	return SM_EXIT_OK;
}
