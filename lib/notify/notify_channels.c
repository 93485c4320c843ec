/* notify_channels.c - channels in the store (notification_channels): add,
 * get, list, enable, disable, remove. A channel row carries its driver's
 * name and its configuration as JSON text; listings mask the secrets in
 * it (notify_config.c), deliveries read it as it is. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "notify_private.h"
#include "sm/json.h"
#include "sm/rfc3339.h"

#define CHANNEL_COLUMNS "id, name, driver, config, enabled, created_at, updated_at"

static bool name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
			return false;
	return true;
}

static int bad_name(const char *name, sm_error *err)
{
	sm_error_set(err, "bad channel name '%.64s' (1-64 letters, digits, '.', '_' or '-')",
	             name ? name : "");
	return SM_EXIT_USAGE;
}

int sm_notify_channel_add(sm_store *store, const char *name, const char *driver, json_t *config,
                          sm_error *err)
{
	sqlite3_stmt *st;
	char now[SM_RFC3339_LEN], *text;
	int rc;

	if (!name_ok(name))
		return bad_name(name, err);
	if (!sm_notify_driver_known(driver)) {
		sm_error_set(err, "unknown driver '%s'", driver);
		return SM_EXIT_USAGE;
	}
	st = sm_store_prepare(store,
	                      "INSERT INTO notification_channels"
	                      " (name, driver, config, enabled, created_at, updated_at)"
	                      " VALUES (?, ?, ?, 1, ?, ?)",
	                      err);
	if (!st)
		return SM_EXIT_FAILURE;
	text = sm_json_dumps(config, SM_JSON_FLAGS);
	sm_rfc3339_now(now, true);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, driver, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, text ? text : "{}", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	free(text);
	if (rc == SQLITE_DONE) {
		sqlite3_finalize(st);
		return SM_EXIT_OK;
	}
	if (sqlite3_extended_errcode(sm_store_db(store)) == SQLITE_CONSTRAINT_UNIQUE) {
		sqlite3_finalize(st);
		sm_error_set(err, "channel '%s' exists already (rm it first)", name);
		return SM_EXIT_USAGE;
	}
	sm_error_set(err, "cannot add channel: %s", sqlite3_errmsg(sm_store_db(store)));
	sqlite3_finalize(st);
	return SM_EXIT_FAILURE;
}

static json_t *channel_row(sqlite3_stmt *st, bool mask)
{
	const char *driver = (const char *)sqlite3_column_text(st, 2);
	json_t *config = json_loads((const char *)sqlite3_column_text(st, 3), 0, NULL);

	if (!json_is_object(config)) {
		json_decref(config);
		config = json_object();
	}
	if (mask) {
		json_t *m = sm_notify_config_masked(driver, config);
		json_decref(config);
		config = m;
	}
	return json_pack("{s:I,s:s,s:s,s:b,s:o,s:s,s:s}", "id",
	                 (json_int_t)sqlite3_column_int64(st, 0), "name",
	                 (const char *)sqlite3_column_text(st, 1), "driver", driver, "enabled",
	                 sqlite3_column_int(st, 4), "config", config, "created_at",
	                 (const char *)sqlite3_column_text(st, 5), "updated_at",
	                 (const char *)sqlite3_column_text(st, 6));
}

int sm_notify_channel_get(sm_store *store, const char *name, json_t **out, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(
	    store, "SELECT " CHANNEL_COLUMNS " FROM notification_channels WHERE name = ?", err);
	int rc;

	*out = NULL;
	if (!st)
		return SM_EXIT_FAILURE;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = channel_row(st, false);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return SM_EXIT_OK;
	if (rc == SQLITE_DONE) {
		sm_error_set(err, "no channel '%.64s' (see sm-notify channel list)", name);
		return SM_EXIT_USAGE;
	}
	sm_error_set(err, "cannot read channels: %s", sqlite3_errmsg(sm_store_db(store)));
	return SM_EXIT_FAILURE;
}

/* Every channel by name, masked or not. */
static int channel_rows(sm_store *store, bool mask, json_t **out, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(
	    store, "SELECT " CHANNEL_COLUMNS " FROM notification_channels ORDER BY name", err);
	int rc;

	*out = NULL;
	if (!st)
		return SM_EXIT_FAILURE;
	*out = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(*out, channel_row(st, mask));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(*out);
		*out = NULL;
		sm_error_set(err, "cannot read channels: %s", sqlite3_errmsg(sm_store_db(store)));
		return SM_EXIT_FAILURE;
	}
	return SM_EXIT_OK;
}

int sm_notify_channel_list(sm_store *store, json_t **out, sm_error *err)
{
	return channel_rows(store, true, out, err);
}

int notify_channels_stored(sm_store *store, json_t **rows, sm_error *err)
{
	return channel_rows(store, false, rows, err);
}

static int change_channel(sm_store *store, const char *sql, const char *name, int value,
                          sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(store, sql, err);
	char now[SM_RFC3339_LEN];
	int rc;

	if (!st)
		return SM_EXIT_FAILURE;
	sm_rfc3339_now(now, true);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (value >= 0) {
		sqlite3_bind_int(st, 2, value);
		sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		sm_error_set(err, "cannot change channel: %s", sqlite3_errmsg(sm_store_db(store)));
		return SM_EXIT_FAILURE;
	}
	if (sqlite3_changes(sm_store_db(store)) == 0) {
		sm_error_set(err, "no channel '%.64s' (see sm-notify channel list)", name);
		return SM_EXIT_USAGE;
	}
	return SM_EXIT_OK;
}

int sm_notify_channel_set_enabled(sm_store *store, const char *name, bool enabled, sm_error *err)
{
	return change_channel(store,
	                      "UPDATE notification_channels SET enabled = ?2, updated_at = ?3"
	                      " WHERE name = ?1",
	                      name, enabled ? 1 : 0, err);
}

int sm_notify_channel_remove(sm_store *store, const char *name, sm_error *err)
{
	return change_channel(store, "DELETE FROM notification_channels WHERE name = ?1", name, -1,
	                      err);
}
