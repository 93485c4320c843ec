/* notify_channel_names.c - the channels' names, drivers and whether they
 * are enabled, for a program that picks channels and sends nothing
 * (sm-pipeline's notify node and setup wizard). A file of its own: the
 * linker loads a whole object for one function, and notify_channels.c
 * reaches the driver table (to mask configs), which reaches libcurl, so
 * sm-pipeline would need libcurl at start for every command. */
#include <sqlite3.h>

#include "sm/notify.h"
#include "sm/store.h"
#include "sm/json.h"

int sm_notify_channel_names(sm_store *store, json_t **out, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(
	    store, "SELECT name, driver, enabled FROM notification_channels ORDER BY name", err);
	int rc;

	*out = NULL;
	if (!st)
		return SM_EXIT_FAILURE;
	*out = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(*out,
		                      json_pack("{s:s,s:s,s:b}", "name",
		                                (const char *)sqlite3_column_text(st, 0), "driver",
		                                (const char *)sqlite3_column_text(st, 1), "enabled",
		                                sqlite3_column_int(st, 2)));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(*out);
		*out = NULL;
		sm_error_set(err, "cannot read channels: %s", sqlite3_errmsg(sm_store_db(store)));
		return SM_EXIT_FAILURE;
	}
	return SM_EXIT_OK;
}
