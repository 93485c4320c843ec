/* notify_resend.c - sm-notify resend: the firing alerts of the store sent
 * again to the channels whose receiver would otherwise end them (an
 * Alertmanager cluster ends an alert resolve_timeout after it was last
 * sent). An incident's envelope is made from the store, so a source that
 * never sends an alert again (a webhook that fires once) keeps it alive
 * all the same; when an envelope is due is the channel's repeat_interval,
 * decided as for any envelope. */
#include <stdlib.h>
#include <string.h>

#include "notify_drivers.h"
#include "sm/analyze.h"
#include "sm/envelope.h"
#include "sm/err.h"
#include "sm/log.h"
#include "sm/notify.h"

/* The enabled channels of keep-alive drivers, NULL-terminated (names point
 * into *list). */
static const char **keep_alive_channels(sm_store *store, json_t **list, sm_error *err)
{
	const char **names;
	json_t *c;
	size_t i, n = 0;

	if (sm_notify_channel_list(store, list, err) < 0)
		return NULL;
	names = calloc(json_array_size(*list) + 1, sizeof *names);
	if (!names) {
		sm_error_set(err, "out of memory");
		return NULL;
	}
	json_array_foreach(*list, i, c)
	{
		const notify_driver *d =
		    notify_driver_find(json_string_value(json_object_get(c, "driver")));
		if (d && d->keep_alive && json_is_true(json_object_get(c, "enabled")))
			names[n++] = json_string_value(json_object_get(c, "name"));
	}
	return names;
}

/* The open incidents with a firing alert, oldest first: their ids only,
 * so the envelopes are made and sent one at a time. */
static int firing_incidents(sm_store *store, long long **ids, size_t *n, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(
	    store,
	    "SELECT id FROM incidents i WHERE (status = 'open' OR status = 'acknowledged')"
	    " AND EXISTS (SELECT 1 FROM alerts a WHERE a.incident_id = i.id"
	    " AND a.status = 'firing') ORDER BY id",
	    err);
	size_t cap = 0;
	int rc;

	*ids = NULL;
	*n = 0;
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			long long *more = realloc(*ids, (cap = cap ? cap * 2 : 64) * sizeof *more);
			if (!more) {
				sqlite3_finalize(st);
				sm_error_set(err, "out of memory");
				return -1;
			}
			*ids = more;
		}
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		sm_error_set(err, "%s: %s", sm_store_path(store),
		             sqlite3_errmsg(sm_store_db(store)));
		return -1;
	}
	return 0;
}

int sm_notify_resend(sm_store *store, const sm_notify_opts *opts, FILE *out)
{
	sm_notify_opts own = *opts;
	sm_notifier *notifier = NULL;
	const char **names = NULL;
	json_t *list = NULL;
	long long *ids = NULL;
	size_t n = 0;
	sm_error err;
	int rc = SM_EXIT_OK;

	if (!own.channels) {
		names = keep_alive_channels(store, &list, &err);
		if (!names) {
			rc = sm_err_report(SM_EXIT_FAILURE, &err);
			goto out;
		}
		if (!names[0]) /* no channel to keep alive: nothing to do */
			goto out;
		own.channels = names;
	}
	rc = sm_notifier_new(store, &own, &notifier, &err);
	if (rc != SM_EXIT_OK) {
		sm_err_report(rc, &err);
		goto out;
	}
	if (firing_incidents(store, &ids, &n, &err) < 0) {
		rc = sm_err_report(SM_EXIT_FAILURE, &err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *env = NULL;
		int one = sm_analyze_incident_envelope(store, ids[i], &env, &err);

		if (one == SM_EXIT_USAGE) /* gone since the query: pruned, not an error */
			continue;
		if (one == SM_EXIT_OK)
			one = sm_notifier_process(notifier, env, &err);
		if (one == SM_EXIT_FAILURE) {
			rc = sm_err_report(SM_EXIT_FAILURE, &err);
			json_decref(env);
			break;
		}
		if (one == SM_EXIT_TEMPFAIL)
			rc = SM_EXIT_TEMPFAIL;
		if (sm_envelope_write(out, env, &err) < 0) {
			rc = sm_err_report(SM_EXIT_FAILURE, &err);
			json_decref(env);
			break;
		}
		json_decref(env);
	}
out:
	free(ids);
	free(names);
	json_decref(list);
	sm_notifier_free(notifier);
	return rc;
}
