/* agents.c - the hub's record of its agents (see agents.h). */
#include <string.h>

#include "sm/agents.h"
#include "sm/json.h"
#include "sm/rfc3339.h"

int sm_agents_record(sm_store *store, json_t *agent, const char *address, sm_error *err)
{
	const char *id = json_string_value(json_object_get(agent, "instance_id"));
	const char *host = json_string_value(json_object_get(agent, "hostname"));
	char now[SM_RFC3339_LEN];
	sqlite3_stmt *st;
	int rc = -1;

	if (!id || !*id) {
		sm_error_set(err, "a cluster push without an instance_id");
		return -1;
	}
	st = sm_store_prepare(
	    store,
	    "INSERT INTO agents (instance_id, hostname, first_push_at, last_push_at,"
	    " last_address, pushes) VALUES (?1, ?2, ?3, ?3, ?4, 1)"
	    " ON CONFLICT (instance_id) DO UPDATE SET hostname = excluded.hostname,"
	    " last_push_at = excluded.last_push_at,"
	    " last_address = excluded.last_address, pushes = pushes + 1",
	    err);
	if (!st)
		return -1;
	sm_rfc3339_now(now, true);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, host ? host : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, address ? address : "", -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		sm_error_set(err, "%s: %s", sm_store_path(store),
		             sqlite3_errmsg(sm_store_db(store)));
	else
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

int sm_agents_list(sm_store *store, json_t **agents, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(
	    store,
	    "SELECT instance_id, hostname, first_push_at, last_push_at, last_address, pushes"
	    " FROM agents ORDER BY instance_id",
	    err);

	*agents = NULL;
	if (!st)
		return -1;
	*agents = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *a = json_object();
		for (int i = 0; i < 5; i++)
			json_object_set_new(
			    a, sqlite3_column_name(st, i),
			    sm_json_string((const char *)sqlite3_column_text(st, i)));
		json_object_set_new(a, "pushes", json_integer(sqlite3_column_int64(st, 5)));
		json_array_append_new(*agents, a);
	}
	sqlite3_finalize(st);
	return 0;
}
