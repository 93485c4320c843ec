/* pipeline_route.c - routing a queued envelope to a definition by its
 * "match" and "priority" (see pipeline_route.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm/config.h"
#include "sm/json.h"
#include "sm/pipeline_route.h"

#define DEFAULT_DEFINITION "ai-analyzed"

/* The fields a condition may test: the fact of that name. label:KEY is
 * the one with a parameter and is handled apart. */
static const char *const fields[] = {"source", "severity", "status", "instance"};

/* The operators: whether the value is a list, and whether the operator
 * holds when the fact is (in) or equals the value. */
static const struct {
	const char *name;
	bool list, positive;
} ops[] = {
    {"is", false, true},
    {"is-not", false, false},
    {"in", true, true},
    {"not-in", true, false},
};

#define NFIELDS (sizeof fields / sizeof fields[0])
#define NOPS    (sizeof ops / sizeof ops[0])

static const char *fact(const json_t *facts, const char *field)
{
	const char *s;

	if (strncmp(field, "label:", 6) == 0)
		s = json_string_value(json_object_get(json_object_get(facts, "labels"), field + 6));
	else
		s = json_string_value(json_object_get(facts, field));
	return s ? s : "";
}

static bool field_ok(const char *field)
{
	if (!field)
		return false;
	if (strncmp(field, "label:", 6) == 0)
		return field[6] != '\0';
	for (size_t i = 0; i < NFIELDS; i++)
		if (strcmp(fields[i], field) == 0)
			return true;
	return false;
}

static int op_find(const char *name)
{
	for (size_t i = 0; name && i < NOPS; i++)
		if (strcmp(ops[i].name, name) == 0)
			return (int)i;
	return -1;
}

static bool strings_ok(const json_t *list)
{
	const json_t *v;
	size_t i;

	if (!json_is_array(list) || json_array_size(list) == 0)
		return false;
	json_array_foreach(list, i, v)
	{
		if (!json_is_string(v))
			return false;
	}
	return true;
}

/* --- facts ----------------------------------------------------------------- */

static int severity_rank(const char *s)
{
	static const char *const order[] = {"info", "warning", "critical"};

	for (int i = 0; s && i < 3; i++)
		if (strcmp(order[i], s) == 0)
			return i;
	return -1;
}

json_t *sm_pipeline_route_facts(const json_t *env)
{
	const json_t *incident = json_object_get(env, "incident");
	const json_t *alerts = json_object_get(env, "alerts"), *alert;
	const char *source = json_string_value(json_object_get(env, "source"));
	const char *severity = json_string_value(json_object_get(incident, "severity"));
	const char *worst = NULL, *status = "", *instance = "";
	static const char *const instance_keys[] = {"instance_id", "instance", "hostname"};
	json_t *labels = json_object();
	size_t i;

	if (!source)
		source = json_string_value(json_object_get(incident, "source"));
	json_array_foreach(alerts, i, alert)
	{
		const char *sev = json_string_value(json_object_get(alert, "severity"));
		const char *st = json_string_value(json_object_get(alert, "status"));
		const char *key;
		json_t *v;
		if (severity_rank(sev) > severity_rank(worst))
			worst = sev;
		if (st && strcmp(st, "firing") == 0)
			status = "firing";
		else if (st && !*status)
			status = "resolved";
		json_object_foreach(json_object_get(alert, "labels"), key, v)
		{
			if (json_is_string(v) && !json_object_get(labels, key))
				json_object_set(labels, key, v);
		}
	}
	for (i = 0; i < sizeof instance_keys / sizeof instance_keys[0] && !*instance; i++) {
		const char *s = json_string_value(json_object_get(labels, instance_keys[i]));
		if (s)
			instance = s;
	}
	return json_pack("{s:s,s:s,s:s,s:s,s:o}", "source", source ? source : "", "severity",
	                 severity ? severity
	                 : worst  ? worst
	                          : "",
	                 "status", status, "instance", instance, "labels", labels);
}

/* --- validation ------------------------------------------------------------ */

void sm_pipeline_route_validate(const json_t *def, json_t *problems)
{
	const json_t *match = json_object_get(def, "match"), *cond;
	const json_t *priority = json_object_get(def, "priority");
	char msg[300];
	size_t i;

	if (priority && (!json_is_integer(priority) || json_integer_value(priority) < -1000000 ||
	                 json_integer_value(priority) > 1000000))
		json_array_append_new(
		    problems,
		    json_string("\"priority\" must be a whole number from -1000000 to 1000000"));
	if (priority && !match)
		json_array_append_new(
		    problems, json_string("\"priority\" without \"match\": it would never "
		                          "be used (add \"match\": [] to match everything)"));
	if (!match)
		return;
	if (!json_is_array(match)) {
		json_array_append_new(problems,
		                      json_string("\"match\" must be a list of conditions"));
		return;
	}
	json_array_foreach(match, i, cond)
	{
		const json_t *field = json_object_get(cond, "field"),
		             *op = json_object_get(cond, "op");
		const json_t *value = json_object_get(cond, "value");
		int k = op ? op_find(json_string_value(op)) : 0;
		const char *problem = NULL;
		if (!json_is_object(cond))
			problem = "not an object {\"field\", \"op\", \"value\"}";
		else if (!field_ok(json_string_value(field)))
			problem =
			    "\"field\" must be source, severity, status, instance or label:KEY";
		else if (k < 0)
			problem = "\"op\" must be is, is-not, in or not-in";
		else if (ops[k].list && !strings_ok(value))
			problem = "\"value\" must be a non-empty list of strings for in and not-in";
		else if (!ops[k].list && !json_is_string(value))
			problem = "\"value\" must be a string for is and is-not";
		if (problem) {
			snprintf(msg, sizeof msg, "match #%zu: %s", i + 1, problem);
			json_array_append_new(problems, json_string(msg));
		}
	}
}

/* --- matching ---------------------------------------------------------------- */

static void describe(const json_t *value, char *buf, size_t size)
{
	const json_t *v;
	size_t i;

	if (json_is_string(value)) {
		snprintf(buf, size, "%s", json_string_value(value));
		return;
	}
	snprintf(buf, size, "[");
	json_array_foreach(value, i, v)
	{
		size_t n = strlen(buf);
		snprintf(buf + n, size - n, "%s%s", i ? ", " : "", json_string_value(v));
	}
	snprintf(buf + strlen(buf), size - strlen(buf), "]");
}

bool sm_pipeline_route_match(const json_t *match, const json_t *facts, char *why, size_t size)
{
	const json_t *cond;
	size_t i;

	if (why && size)
		why[0] = '\0';
	if (!json_is_array(match))
		return false;
	json_array_foreach(match, i, cond)
	{
		const char *field = json_string_value(json_object_get(cond, "field"));
		const json_t *op = json_object_get(cond, "op"),
		             *value = json_object_get(cond, "value");
		int k = op ? op_find(json_string_value(op)) : 0;
		bool hit = false, valid;
		const char *have;
		valid = json_is_object(cond) && field_ok(field) && k >= 0 &&
		        (ops[k].list ? strings_ok(value) : json_is_string(value));
		if (!valid) {
			/* Fail closed: a condition that cannot be read never holds. */
			if (why && size)
				snprintf(why, size, "condition #%zu is not valid", i + 1);
			return false;
		}
		have = fact(facts, field);
		if (ops[k].list) {
			const json_t *v;
			size_t j;
			json_array_foreach(value, j, v)
			{
				hit = hit || strcmp(json_string_value(v), have) == 0;
			}
		} else {
			hit = strcmp(json_string_value(value), have) == 0;
		}
		if (hit != ops[k].positive) {
			if (why && size) {
				char want[200];
				describe(value, want, sizeof want);
				snprintf(why, size, "%s %s %s (it is \"%s\")", field, ops[k].name,
				         want, have);
			}
			return false;
		}
	}
	return true;
}

/* --- the decision ---------------------------------------------------------- */

/* The conditions that held, for the reason: "source is x, label:team in [a, b]". */
static void conditions(const json_t *match, char *buf, size_t size)
{
	const json_t *cond;
	size_t i;

	buf[0] = '\0';
	json_array_foreach(match, i, cond)
	{
		const json_t *op = json_object_get(cond, "op");
		char want[200];
		size_t n = strlen(buf);
		describe(json_object_get(cond, "value"), want, sizeof want);
		snprintf(buf + n, size - n, "%s%s %s %s", i ? ", " : "",
		         json_string_value(json_object_get(cond, "field")),
		         op ? json_string_value(op) : "is", want);
	}
	if (!*buf)
		snprintf(buf, size, "an empty match (everything)");
}

static json_int_t priority_of(const json_t *def)
{
	const json_t *p = json_object_get(def, "priority");

	return json_is_integer(p) ? json_integer_value(p) : SM_ROUTE_PRIORITY;
}

static int by_priority(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	json_int_t px = json_integer_value(json_object_get(x, "priority"));
	json_int_t py = json_integer_value(json_object_get(y, "priority"));

	if (px != py)
		return px < py ? -1 : 1;
	return strcmp(json_string_value(json_object_get(x, "name")),
	              json_string_value(json_object_get(y, "name")));
}

/* The stored definitions that carry a match, as [{"name","priority","match"}]
 * in routing order, read from the store. */
static json_t *lanes_read(sm_store *store, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare_kept(
	    store, "SELECT name, definition FROM pipeline_definitions ORDER BY name", err);
	json_t *list, **rows;
	size_t n;
	int step;

	if (!st)
		return NULL;
	list = json_array();
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *def = sm_json_parse((const char *)sqlite3_column_text(st, 1),
		                            (size_t)sqlite3_column_bytes(st, 1), 0, NULL);
		const json_t *match = json_object_get(def, "match");
		if (match)
			json_array_append_new(
			    list, json_pack("{s:s,s:I,s:O}", "name",
			                    (const char *)sqlite3_column_text(st, 0), "priority",
			                    (json_int_t)priority_of(def), "match", match));
		json_decref(def);
	}
	sqlite3_reset(st);
	if (step != SQLITE_DONE) {
		sm_error_set(err, "%s: %s", sm_store_path(store), sqlite3_errstr(step));
		json_decref(list);
		return NULL;
	}
	n = json_array_size(list);
	rows = malloc((n ? n : 1) * sizeof *rows);
	if (!rows) {
		json_decref(list);
		sm_error_set(err, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		rows[i] = json_incref(json_array_get(list, i));
	qsort(rows, n, sizeof *rows, by_priority);
	json_array_clear(list);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, rows[i]);
	free(rows);
	return list;
}

/* The same, kept for the configuration's version it was read at (a worker
 * routes every item): read again once the version moved on, or when it
 * cannot be read. The list is shared: not to be changed. */
static json_t *lanes(sm_store *store, sm_error *err)
{
	static json_t *kept;
	static sqlite3_int64 kept_at = -1;
	sqlite3_int64 version = sm_store_config_version(store);
	json_t *list;

	if (version >= 0 && version == kept_at)
		return json_incref(kept);
	if (!(list = lanes_read(store, err)))
		return NULL;
	json_decref(kept);
	kept = version >= 0 ? json_incref(list) : NULL;
	kept_at = version;
	return list;
}

int sm_pipeline_route(sm_store *store, const json_t *env, const char *forced, json_t **out,
                      sm_error *err)
{
	json_t *facts = sm_pipeline_route_facts(env), *list, *skipped, *lane;
	const char *fallback = sm_config_get("SM_DEFAULT_DEFINITION", DEFAULT_DEFINITION);
	char reason[1200], why[600];
	size_t i;

	*out = NULL;
	if (forced) {
		*out = json_pack("{s:s,s:s,s:n,s:s,s:[],s:o}", "definition", forced, "by", "forced",
		                 "priority", "reason", "--definition given", "skipped", "facts",
		                 facts);
		return SM_EXIT_OK;
	}
	if (!(list = lanes(store, err))) {
		json_decref(facts);
		return SM_EXIT_FAILURE;
	}
	skipped = json_array();
	json_array_foreach(list, i, lane)
	{
		const json_t *match = json_object_get(lane, "match");
		if (sm_pipeline_route_match(match, facts, why, sizeof why)) {
			char held[800];
			conditions(match, held, sizeof held);
			snprintf(reason, sizeof reason, "matched %s", held);
			*out = json_pack("{s:O,s:s,s:O,s:s,s:o,s:o}", "definition",
			                 json_object_get(lane, "name"), "by", "match", "priority",
			                 json_object_get(lane, "priority"), "reason", reason,
			                 "skipped", skipped, "facts", facts);
			json_decref(list);
			return SM_EXIT_OK;
		}
		json_array_append_new(skipped,
		                      json_pack("{s:O,s:O,s:s}", "definition",
		                                json_object_get(lane, "name"), "priority",
		                                json_object_get(lane, "priority"), "failed", why));
	}
	snprintf(reason, sizeof reason,
	         json_array_size(list) ? "no definition matched: SM_DEFAULT_DEFINITION"
	                               : "no definition has a match: SM_DEFAULT_DEFINITION");
	json_decref(list);
	*out = json_pack("{s:s,s:s,s:n,s:s,s:o,s:o}", "definition",
	                 *fallback ? fallback : DEFAULT_DEFINITION, "by", "default", "priority",
	                 "reason", reason, "skipped", skipped, "facts", facts);
	return SM_EXIT_OK;
}
