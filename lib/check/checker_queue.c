/* checker_queue.c - on a hub, the depth of the webhook queue.
 *
 * The webhook handler queues each accepted envelope in the inbox table of
 * the store and `sm-pipeline work` drains it (inbox.h); a queue that keeps
 * growing means the workers are stopped or do not keep up. This checker
 * counts the items waiting (pending or claimed) against thresholds in
 * items; the warning threshold defaults to INBOX_DEPTH_WARN, the setting
 * the worker warns by in its log. A host without a store, or whose store
 * never queued anything, has no queue: skipped, at the cost of a stat(2).
 * The store is opened read-only and never created or migrated here.
 */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>

#include "checkers.h"
#include "sm/config.h"
#include "sm/store.h"

#define CRITICAL_FACTOR 10.0 /* the default critical threshold, times the warning one */

SM_CHECKER_RUN(run)
{
	char path[4096];
	struct stat sb;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	sm_error err;
	double warn;
	long long waiting, failed, total;
	enum sm_status level;
	char dead[96] = "";

	if (sm_store_default_path(path, sizeof path, &err) < 0 || stat(path, &sb) < 0) {
		sm_result_skip(res, "no store, so no webhook queue");
		return;
	}
	if (sm_config_double("INBOX_DEPTH_WARN", self->warning, &warn, &err) < 0 || warn < 0) {
		sm_result_fail(res, "INBOX_DEPTH_WARN: expected a number from 0");
		return;
	}
	if (!opts->warning.set)
		res->warning = sm_range_value(warn);
	if (!opts->critical.set)
		res->critical = sm_range_value(CRITICAL_FACTOR * warn);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sm_result_fail(res, "cannot open the store: %s", sqlite3_errmsg(db));
		goto done;
	}
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db,
	                       "SELECT count(*) FILTER (WHERE state IN ('pending', 'claimed')),"
	                       " count(*) FILTER (WHERE state = 'failed'), count(*) FROM inbox",
	                       -1, &st, NULL) != SQLITE_OK) {
		/* A store from before the queue existed has none. */
		sm_result_skip(res, "no webhook queue in the store");
		goto done;
	}
	if (sqlite3_step(st) != SQLITE_ROW) {
		sm_result_fail(res, "cannot read the queue: %s", sqlite3_errmsg(db));
		goto done;
	}
	waiting = sqlite3_column_int64(st, 0);
	failed = sqlite3_column_int64(st, 1);
	total = sqlite3_column_int64(st, 2);
	sm_metric_int(res->metrics, "depth", waiting);
	sm_metric_int(res->metrics, "failed", failed);
	if (total == 0) {
		sm_result_skip(res, "nothing was ever queued in this store");
		goto done;
	}
	level = sm_result_level(res, (double)waiting);
	if (failed)
		snprintf(dead, sizeof dead, "; %lld failed (sm-pipeline queue --status failed)",
		         failed);
	sm_result_set(res, level, "%lld item%s waiting in the webhook queue%s%s", waiting,
	              waiting == 1 ? "" : "s",
	              level != SM_OK ? ": the workers do not keep up (sm-pipeline work)" : "",
	              dead);
	sm_result_perf(res, "depth", (double)waiting, NULL, true, 0, NAN);
done:
	sqlite3_finalize(st);
	sqlite3_close(db);
}

const sm_checker sm_checker_queue = {
    .name = "queue",
    .description = "Items waiting in the webhook queue (hub only).",
    .run = run,
    .warning = 500,
    .critical = 5000,
};
