/* store.c - opening, creating and migrating the SQLite store. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/store_vfs.h"
#include "sm/store.h"

/* sm_store_exec keeps short one-statement SQL (BEGIN, COMMIT, SAVEPOINT,
 * RELEASE: a batch ingest runs four per payload) prepared, where
 * sqlite3_exec would parse it again each time. */
#define EXEC_CACHE   8
#define EXEC_SQL_MAX 48
/* Statements sm_store_prepare_kept keeps for the life of the handle. */
#define KEPT_MAX 32
/* How long a writer waits for the write lock before giving up. */
#define BUSY_TIMEOUT_MS 10000

struct sm_store {
	sqlite3 *db;
	int wal_frames;             /* in the WAL after this connection's last commit */
	int ckpt_frames;            /* in the WAL at this connection's last checkpoint */
	bool no_disk_wait;          /* SM_STORE_SYNC=normal: commits do not wait for the disk */
	struct timespec busy_since; /* when the current wait for the lock began */
	int busy_limit_ms;          /* the wait's limit; 0: BUSY_TIMEOUT_MS */
	char path[4096];
	struct {
		char sql[EXEC_SQL_MAX + 1];
		sqlite3_stmt *st;
	} cache[EXEC_CACHE];
	struct {
		const char *sql; /* the caller's, static */
		sqlite3_stmt *st;
	} kept[KEPT_MAX];
	/* The configuration's version last read, and the store's data version
	 * then (sm_store_config_version). */
	sqlite3_int64 config_version;
	unsigned int config_data;
	bool config_known;
};

/* Migration 14's triggers on table t: its every insert, update and delete
 * moves the configuration's version on. */
#define CONFIG_TRIGGER(t, event)                                                                   \
	"CREATE TRIGGER config_version_" #t "_" event " AFTER " event " ON " #t                    \
	" BEGIN UPDATE config_version SET version = version + 1 WHERE id = 1; END;"
#define CONFIG_TRIGGERS(t)                                                                         \
	CONFIG_TRIGGER(t, "INSERT") CONFIG_TRIGGER(t, "UPDATE") CONFIG_TRIGGER(t, "DELETE")

/* Each entry moves the schema from version i to i+1. Never edit a shipped
 * entry: add a new one (entry 1 last changed before 0.1.0 was released).
 * Table meanings are DESIGN.md §4.
 *
 * CHECK constraints list their values with OR, not IN: SQLite evaluates an
 * IN list of three or more values through a temporary b-tree built on every
 * insert and update (measured: a fifth of sm-ingest's instructions). */
static const char *const migrations[] = {
    /* 1: every table of the design, so later tools only fill them. */
    "CREATE TABLE incidents ("
    " id INTEGER PRIMARY KEY,"
    " title TEXT NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'open'"
    "  CHECK (status = 'open' OR status = 'acknowledged' OR status = 'resolved' OR status = "
    "'closed'),"
    " severity TEXT NOT NULL CHECK (severity = 'critical' OR severity = 'warning' OR severity = "
    "'info'),"
    " group_key TEXT NOT NULL,"
    " source TEXT NOT NULL DEFAULT '',"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL,"
    " acknowledged_at TEXT,"
    " resolved_at TEXT,"
    " closed_at TEXT,"
    " trace_id TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX incidents_group ON incidents (group_key, status);"
    "CREATE INDEX incidents_status ON incidents (status, updated_at);"
    "CREATE TABLE alerts ("
    " id INTEGER PRIMARY KEY,"
    " source TEXT NOT NULL,"
    " fingerprint TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('firing','resolved')),"
    " severity TEXT NOT NULL CHECK (severity = 'critical' OR severity = 'warning' OR severity = "
    "'info'),"
    " description TEXT NOT NULL DEFAULT '',"
    " labels TEXT NOT NULL DEFAULT '{}',"
    " annotations TEXT NOT NULL DEFAULT '{}',"
    " raw TEXT,"
    " started_at TEXT,"
    " ended_at TEXT,"
    " incident_id INTEGER REFERENCES incidents (id) ON DELETE SET NULL,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL,"
    " UNIQUE (source, fingerprint));"
    "CREATE INDEX alerts_incident ON alerts (incident_id, status);"
    "CREATE TABLE alert_history ("
    " id INTEGER PRIMARY KEY,"
    " alert_id INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,"
    " change TEXT NOT NULL,"
    " old_status TEXT,"
    " new_status TEXT NOT NULL,"
    " old_severity TEXT,"
    " new_severity TEXT NOT NULL,"
    " at TEXT NOT NULL,"
    " trace_id TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX alert_history_alert ON alert_history (alert_id, at);"
    "CREATE TABLE check_runs ("
    " id INTEGER PRIMARY KEY,"
    " checker TEXT NOT NULL,"
    " hostname TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status = 'ok' OR status = 'warning' OR status = 'critical' OR "
    "status = 'unknown'),"
    " message TEXT NOT NULL,"
    " metrics TEXT NOT NULL DEFAULT '{}',"
    " error TEXT NOT NULL DEFAULT '',"
    " warning_threshold TEXT,"
    " critical_threshold TEXT,"
    " duration_ms REAL NOT NULL DEFAULT 0,"
    " executed_at TEXT NOT NULL,"
    " trace_id TEXT NOT NULL DEFAULT '',"
    " alert_id INTEGER REFERENCES alerts (id) ON DELETE SET NULL);"
    "CREATE INDEX check_runs_checker ON check_runs (checker, hostname, executed_at);"
    "CREATE INDEX check_runs_trace ON check_runs (trace_id);"
    "CREATE TABLE analysis_runs ("
    " id INTEGER PRIMARY KEY,"
    " incident_id INTEGER REFERENCES incidents (id) ON DELETE SET NULL,"
    " provider TEXT NOT NULL,"
    " model TEXT NOT NULL DEFAULT '',"
    " status TEXT NOT NULL,"
    " fallback INTEGER NOT NULL DEFAULT 0,"
    " duration_ms REAL NOT NULL DEFAULT 0,"
    " prompt_tokens INTEGER,"
    " completion_tokens INTEGER,"
    " recommendations TEXT NOT NULL DEFAULT '[]',"
    " error TEXT NOT NULL DEFAULT '',"
    " created_at TEXT NOT NULL,"
    " trace_id TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE intelligence_providers ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " provider TEXT NOT NULL,"
    " config TEXT NOT NULL DEFAULT '{}',"
    " is_active INTEGER NOT NULL DEFAULT 0,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);"
    "CREATE TABLE notification_channels ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " driver TEXT NOT NULL,"
    " config TEXT NOT NULL DEFAULT '{}',"
    " enabled INTEGER NOT NULL DEFAULT 1,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);"
    "CREATE TABLE notification_deliveries ("
    " id INTEGER PRIMARY KEY,"
    " channel_id INTEGER REFERENCES notification_channels (id) ON DELETE SET NULL,"
    " channel TEXT NOT NULL,"
    " incident_id INTEGER REFERENCES incidents (id) ON DELETE SET NULL,"
    " status TEXT NOT NULL CHECK (status = 'sent' OR status = 'failed' OR status = 'skipped'),"
    " attempt INTEGER NOT NULL DEFAULT 1,"
    " http_status INTEGER,"
    " error TEXT NOT NULL DEFAULT '',"
    " created_at TEXT NOT NULL,"
    " trace_id TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX notification_deliveries_channel"
    " ON notification_deliveries (channel, incident_id, created_at);"
    "CREATE TABLE pipeline_definitions ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " description TEXT NOT NULL DEFAULT '',"
    " definition TEXT NOT NULL,"
    " is_active INTEGER NOT NULL DEFAULT 1,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);"
    "CREATE TABLE pipeline_runs ("
    " id INTEGER PRIMARY KEY,"
    " run_id TEXT NOT NULL UNIQUE,"
    " trace_id TEXT NOT NULL,"
    " definition TEXT NOT NULL DEFAULT '',"
    " status TEXT NOT NULL,"
    " current_stage TEXT NOT NULL DEFAULT '',"
    " incident_id INTEGER REFERENCES incidents (id) ON DELETE SET NULL,"
    " error TEXT NOT NULL DEFAULT '',"
    " created_at TEXT NOT NULL,"
    " started_at TEXT,"
    " finished_at TEXT);"
    "CREATE INDEX pipeline_runs_status ON pipeline_runs (status, created_at);"
    "CREATE TABLE stage_executions ("
    " id INTEGER PRIMARY KEY,"
    " run INTEGER NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,"
    " node_id TEXT NOT NULL,"
    " stage TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " attempt INTEGER NOT NULL DEFAULT 1,"
    " input TEXT,"
    " output TEXT,"
    " error TEXT NOT NULL DEFAULT '',"
    " started_at TEXT NOT NULL,"
    " duration_ms REAL NOT NULL DEFAULT 0);"
    "CREATE INDEX stage_executions_run ON stage_executions (run, started_at);"
    "CREATE TABLE inbox ("
    " id INTEGER PRIMARY KEY,"
    " envelope TEXT NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'pending'"
    "  CHECK (state = 'pending' OR state = 'claimed' OR state = 'done' OR state = 'failed'),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " claimed_by TEXT,"
    " claimed_at TEXT,"
    " error TEXT NOT NULL DEFAULT '',"
    " created_at TEXT NOT NULL,"
    " trace_id TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX inbox_state ON inbox (state, id);"
    "CREATE TABLE hub_spool ("
    " id INTEGER PRIMARY KEY,"
    " body TEXT NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','refused')),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " http_status INTEGER,"
    " last_error TEXT NOT NULL DEFAULT '',"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);"
    "CREATE INDEX hub_spool_state ON hub_spool (state, id);",
    /* 2: the agents a hub has heard from (sm-push-hub, the agents checker). */
    "CREATE TABLE agents ("
    " instance_id TEXT PRIMARY KEY,"
    " hostname TEXT NOT NULL DEFAULT '',"
    " first_push_at TEXT NOT NULL,"
    " last_push_at TEXT NOT NULL,"
    " last_address TEXT NOT NULL DEFAULT '',"
    " pushes INTEGER NOT NULL DEFAULT 0);",
    /* 3: finding a key's newest open incident walks (group_key, id) backwards
     * instead of sorting every match in a temporary b-tree. */
    ("DROP INDEX incidents_group;"
     "CREATE INDEX incidents_group ON incidents (group_key, id);"),
    /* 4: the timestamped signatures a hub accepted, kept until their
     * timestamp leaves the window, so a second delivery is refused. */
    ("CREATE TABLE seen_signatures ("
     " signature TEXT PRIMARY KEY,"
     " expires_at INTEGER NOT NULL) WITHOUT ROWID;"
     "CREATE INDEX seen_signatures_expiry ON seen_signatures (expires_at);"),
    /* 5: sm-pipeline: what resuming and reporting a run needs (its
     * definition as it ran, where it started, how it failed). */
    ("ALTER TABLE pipeline_runs ADD COLUMN source TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE pipeline_runs ADD COLUMN definition_json TEXT NOT NULL DEFAULT '{}';"
     "ALTER TABLE pipeline_runs ADD COLUMN start_node TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE pipeline_runs ADD COLUMN checks_only INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE pipeline_runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;"
     "ALTER TABLE pipeline_runs ADD COLUMN duration_ms REAL NOT NULL DEFAULT 0;"
     "ALTER TABLE pipeline_runs ADD COLUMN temporary INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE stage_executions ADD COLUMN exit_status INTEGER;"
     "ALTER TABLE stage_executions ADD COLUMN temporary INTEGER NOT NULL DEFAULT 0;"),
    /* 6: sm-pipeline work: the run that handled a queued item, the
     * definition it was routed to, when a retried item is due, and the
     * last sign of life of the worker holding a claim. */
    ("ALTER TABLE inbox ADD COLUMN run_id TEXT;"
     "ALTER TABLE inbox ADD COLUMN definition TEXT;"
     "ALTER TABLE inbox ADD COLUMN next_attempt_at TEXT;"
     "ALTER TABLE inbox ADD COLUMN heartbeat_at TEXT;"),
    /* 7: sm-pipeline status: open incidents counted by severity from the
     * index alone, and the newest of each severity found by a seek. */
    "CREATE INDEX incidents_open ON incidents (status, severity, updated_at);",
    /* 8: flap detection (ingest.h): each alert's last results, oldest
     * first, as F (firing) and R (resolved), whether it flaps, and when
     * (Unix seconds) the window last moved. */
    ("ALTER TABLE alerts ADD COLUMN flap_states TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE alerts ADD COLUMN flapping INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE alerts ADD COLUMN flap_at INTEGER;"),
    /* 9: why a delivery was sent or skipped (sm-notify's decision). */
    "ALTER TABLE notification_deliveries ADD COLUMN reason TEXT NOT NULL DEFAULT '';",
    /* 10: sm-push-hub: one spool per hub (HUB_URL may list several); ''
     * marks an entry spooled before, which goes to the first hub listed. */
    ("ALTER TABLE hub_spool ADD COLUMN hub TEXT NOT NULL DEFAULT '';"
     "CREATE INDEX hub_spool_hub ON hub_spool (hub, state, id);"),
    /* 11: noise control (sm-notify silence|inhibit|maintenance): matchers
     * are JSON lists of matcher texts, ids UUIDs; each delivery row says
     * why it was sent or skipped, so a silence can count what it held back. */
    ("CREATE TABLE silences ("
     " id TEXT PRIMARY KEY,"
     " matchers TEXT NOT NULL,"
     " starts_at TEXT NOT NULL,"
     " ends_at TEXT NOT NULL,"
     " comment TEXT NOT NULL DEFAULT '',"
     " author TEXT NOT NULL DEFAULT '',"
     " created_at TEXT NOT NULL,"
     " updated_at TEXT NOT NULL);"
     "CREATE INDEX silences_ends ON silences (ends_at);"
     "CREATE TABLE inhibit_rules ("
     " id TEXT PRIMARY KEY,"
     " source_matchers TEXT NOT NULL,"
     " target_matchers TEXT NOT NULL,"
     " equal TEXT NOT NULL DEFAULT '[]',"
     " created_at TEXT NOT NULL);"
     "CREATE TABLE maintenance_windows ("
     " id TEXT PRIMARY KEY,"
     " matchers TEXT NOT NULL,"
     " schedule TEXT NOT NULL,"
     " tz TEXT NOT NULL DEFAULT '',"
     " comment TEXT NOT NULL DEFAULT '',"
     " created_at TEXT NOT NULL);"
     "CREATE INDEX notification_deliveries_skipped ON notification_deliveries (reason)"
     " WHERE status = 'skipped';"),
    /* 12: the status page's charts read the charted number from the index
     * instead of parsing each row's metrics (SM_STORE_CHART_VALUE). */
    ("DROP INDEX check_runs_checker;"
     "CREATE INDEX check_runs_checker ON check_runs (checker, hostname, "
     "executed_at, " SM_STORE_CHART_VALUE ");"),
    /* 13: a delivery's run and envelope, so a run tried again after its
     * worker was killed mid-delivery skips the channels that already took
     * the envelope (sm-notify(1), DELIVERY). */
    ("ALTER TABLE notification_deliveries ADD COLUMN run_id TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE notification_deliveries ADD COLUMN envelope_key TEXT NOT NULL DEFAULT '';"
     "CREATE INDEX notification_deliveries_run ON notification_deliveries (run_id, channel)"
     " WHERE run_id <> '';"),
    /* 14: the configuration's version (sm_store_config_version): moved on
     * by every change to a table a long-running process decides by, so it
     * may keep what it read from them while the version stays. It starts
     * at a random number: two stores are not taken for one. */
    ("CREATE TABLE config_version ("
     " id INTEGER PRIMARY KEY CHECK (id = 1),"
     " version INTEGER NOT NULL);"
     "INSERT INTO config_version VALUES (1, abs(random() / 4));" CONFIG_TRIGGERS(
         pipeline_definitions) CONFIG_TRIGGERS(notification_channels)
         CONFIG_TRIGGERS(intelligence_providers) CONFIG_TRIGGERS(silences)
             CONFIG_TRIGGERS(inhibit_rules) CONFIG_TRIGGERS(maintenance_windows)),
};

#define LATEST ((int)(sizeof migrations / sizeof migrations[0]))

int sm_store_schema_latest(void)
{
	return LATEST;
}

int sm_store_default_path(char *buf, size_t size, sm_error *err)
{
	const char *env = getenv("SM_DB"), *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	int n;

	if (env && *env)
		n = snprintf(buf, size, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(buf, size, "/var/lib/sm/sm.db");
	else if (state && *state == '/')
		n = snprintf(buf, size, "%s/sm/sm.db", state);
	else if (home && *home == '/')
		n = snprintf(buf, size, "%s/.local/state/sm/sm.db", home);
	else {
		sm_error_set(err, "no place for the store: set SM_DB or HOME");
		return -1;
	}
	if (n < 0 || (size_t)n >= size) {
		sm_error_set(err, "store path too long");
		return -1;
	}
	return 0;
}

/* mkdir -p for the directories above path, mode 0700. */
static int make_parents(const char *path, sm_error *err)
{
	char dir[4096];
	char *p;

	snprintf(dir, sizeof dir, "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			sm_error_set(err, "%s: %s", dir, strerror(errno));
			return -1;
		}
		*p = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		sm_error_set(err, "%s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* The prepared statement of sql from the cache, prepared on its second
 * use (a short run such as sm-check's executes BEGIN and COMMIT once and
 * should not keep them); NULL to let sqlite3_exec run it. */
static sqlite3_stmt *exec_cached(sm_store *store, const char *sql)
{
	size_t n = strlen(sql);
	const char *tail = NULL;
	sqlite3_stmt *st = NULL;
	int slot = -1;

	if (n > EXEC_SQL_MAX)
		return NULL;
	for (int i = 0; i < EXEC_CACHE && slot < 0; i++) {
		if (store->cache[i].sql[0] == '\0') {
			memcpy(store->cache[i].sql, sql, n + 1); /* seen once */
			return NULL;
		}
		if (strcmp(store->cache[i].sql, sql) == 0)
			slot = i;
	}
	if (slot < 0)
		return NULL; /* the cache is full */
	if (store->cache[slot].st)
		return store->cache[slot].st;
	if (sqlite3_prepare_v2(store->db, sql, (int)n + 1, &st, &tail) != SQLITE_OK)
		return NULL;
	while (*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == ';')
		tail++;
	if (!st || *tail) {
		sqlite3_finalize(st); /* several statements: sqlite3_exec's job */
		return NULL;
	}
	store->cache[slot].st = st;
	return st;
}

int sm_store_exec(sm_store *store, const char *sql, sm_error *err)
{
	char *msg = NULL;
	sqlite3_stmt *st = exec_cached(store, sql);

	if (st) {
		int rc;
		do
			rc = sqlite3_step(st);
		while (rc == SQLITE_ROW);
		if (rc != SQLITE_DONE)
			sm_error_set(err, "%s: %s", store->path, sqlite3_errmsg(store->db));
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? 0 : -1;
	}

	if (sqlite3_exec(store->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		sm_error_set(err, "%s: %s", store->path, msg ? msg : sqlite3_errmsg(store->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

sqlite3_stmt *sm_store_prepare(sm_store *store, const char *sql, sm_error *err)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(store->db, sql, -1, &st, NULL) != SQLITE_OK) {
		sm_error_set(err, "%s: %s", store->path, sqlite3_errmsg(store->db));
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

sqlite3_stmt *sm_store_prepare_kept(sm_store *store, const char *sql, sm_error *err)
{
	int i;

	for (i = 0; i < KEPT_MAX && store->kept[i].sql; i++)
		if (strcmp(store->kept[i].sql, sql) == 0) {
			sqlite3_reset(store->kept[i].st);
			sqlite3_clear_bindings(store->kept[i].st);
			return store->kept[i].st;
		}
	if (i == KEPT_MAX) {
		sm_error_set(err, "%s: too many kept statements", store->path);
		return NULL;
	}
	if (sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &store->kept[i].st,
	                       NULL) != SQLITE_OK) {
		sm_error_set(err, "%s: %s", store->path, sqlite3_errmsg(store->db));
		sqlite3_finalize(store->kept[i].st);
		store->kept[i].st = NULL;
		return NULL;
	}
	store->kept[i].sql = sql;
	return store->kept[i].st;
}

sqlite3_int64 sm_store_config_version(sm_store *store)
{
	sqlite3 *db = store->db;
	unsigned int data = 0;
	bool data_known =
	    sqlite3_file_control(db, "main", SQLITE_FCNTL_DATA_VERSION, &data) == SQLITE_OK;
	sqlite3_stmt *st;
	sqlite3_int64 v = -1;

	/* Within a transaction that has begun to read (its snapshot taken: a
	 * BEGIN alone takes none) and writes nothing (the data version moves
	 * with a write's commit, not before), a store that did not change
	 * since the version was read holds it still. */
	if (data_known && sqlite3_txn_state(db, "main") == SQLITE_TXN_READ && store->config_known &&
	    data == store->config_data)
		return store->config_version;
	st = sm_store_prepare_kept(store, "SELECT version FROM config_version WHERE id = 1", NULL);
	if (st && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	if (st)
		sqlite3_reset(st);
	/* The data version as of the read (in autocommit, that of the
	 * transaction the statement ran in). */
	store->config_known = v >= 0 && sqlite3_file_control(db, "main", SQLITE_FCNTL_DATA_VERSION,
	                                                     &data) == SQLITE_OK;
	store->config_data = data;
	store->config_version = v;
	return v;
}

int sm_store_schema_version(sm_store *store)
{
	sqlite3_stmt *st = sm_store_prepare(store, "PRAGMA user_version", NULL);
	int v = -1;

	if (st && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int migrate(sm_store *store, sm_error *err)
{
	char sql[64];
	int version = sm_store_schema_version(store);

	/* The common case, a current store, takes no lock: concurrent CGI
	 * processes must not queue on the write lock just to open it. */
	if (version == LATEST)
		return 0;
	if (sm_store_begin(store, err) < 0)
		return -1;
	/* Read the version inside the write lock: two processes opening a new
	 * store at once must not both run migration 1. */
	version = sm_store_schema_version(store);
	if (version < 0) {
		sm_error_set(err, "%s: cannot read the schema version", store->path);
		goto fail;
	}
	if (version > LATEST) {
		sm_error_set(err, "%s: schema version %d is newer than this sm (%d)", store->path,
		             version, LATEST);
		goto fail;
	}
	for (int v = version; v < LATEST; v++) {
		if (sm_store_exec(store, migrations[v], err) < 0)
			goto fail;
	}
	if (version < LATEST) {
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", LATEST);
		if (sm_store_exec(store, sql, err) < 0)
			goto fail;
	}
	return sm_store_commit(store, err);
fail:
	sm_store_rollback(store);
	return -1;
}

/* Switch a new store to WAL (a setting kept in the file). Changing the
 * journal mode needs an exclusive lock and SQLite does not wait for it
 * through the busy handler, so several processes creating the store at once
 * retry here, for as long as the busy timeout would have waited. */
static int use_wal(sm_store *store, sm_error *err)
{
	for (int waited_ms = 0;; waited_ms += 10) {
		sqlite3_stmt *st = sm_store_prepare(store, "PRAGMA journal_mode = WAL", err);
		int step;
		bool wal = false;

		if (!st)
			return -1;
		step = sqlite3_step(st);
		if (step == SQLITE_ROW)
			wal = strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
		sqlite3_finalize(st);
		if (wal)
			return 0;
		if ((step != SQLITE_BUSY && step != SQLITE_LOCKED && step != SQLITE_ROW) ||
		    waited_ms >= 10000) {
			sm_error_set(err, "%s: cannot switch to WAL: %s", store->path,
			             sqlite3_errmsg(store->db));
			return -1;
		}
		usleep(10000);
	}
}

static bool vfs_ready;    /* the store's VFS (store_vfs.c) is there */
static bool long_running; /* sm_store_long_running */

/* A long-running process's connection gets an arena for this many pages
 * (a worker's item touches a few dozen). */
#define LONG_RUNNING_PAGES 256
/* The store's page size (SQLite's default, which sm keeps); a larger page
 * of another store would take its memory from malloc as before. */
#define STORE_PAGE_SIZE 4096

void sm_store_long_running(void)
{
	long_running = true;
	/* Freed memory stays the process's: given back to the kernel at the
	 * end of an item, it came back the next as page faults. */
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_TOP_PAD, 1024 * 1024);
}

/* Process-wide SQLite settings, before its first use: a short-lived tool
 * needs neither the bulk page-cache preallocation nor the large lookaside
 * arena; without them sm-check stays within its memory budget
 * (bench/README.md). A long-running one takes its page cache from an
 * arena of its own: each commit of another process empties that cache,
 * and pages freed and allocated again one malloc each made the first read
 * after it several times dearer (bench/README.md, session 17). */
static void configure_sqlite(void)
{
	int header = 0;

	if (long_running && sqlite3_config(SQLITE_CONFIG_PCACHE_HDRSZ, &header) == SQLITE_OK)
		sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, STORE_PAGE_SIZE + header,
		               LONG_RUNNING_PAGES);
	else
		sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
	sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 128, 32);
	/* No allocation statistics: keeping them takes a global mutex on every
	 * allocation (measured: 3 % of a batch ingest). */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	/* After the settings: registering initializes SQLite. */
	vfs_ready = sm_store_vfs_register() == 0;
}

/* The WAL outlives each process (persistent, no checkpoint on close): the
 * process that closes the store last, which for a CGI handler or sm-check is
 * every process, would otherwise checkpoint, sync and remove it on each run
 * (4 of a CGI request's 5 fdatasync calls).
 *
 * SQLite's auto-checkpoint alone would then let the WAL grow without end:
 * a process that opens the store rebuilds the WAL index from the file and
 * counts every frame in it as not yet checkpointed, so the log is never
 * started over and each process re-reads (and re-copies) all of it. So a
 * process whose commits left WAL_TRUNCATE_FRAMES frames or more empties the
 * WAL when it closes the store (a truncating checkpoint), and the next
 * process reads at most that many. While a process runs, it tries a
 * passive checkpoint per WAL_AUTOCHECKPOINT frames (on_wal_commit): with a
 * reader on an older snapshot it copies what it can, and a later writer
 * tries again.
 *
 * Passive tries alone rarely leave the log free to start over while the
 * queue workers and their stages read and write without a pause (a
 * 20,000-item drain grew the WAL to 490 MiB, each new frame a new page of
 * the file for the kernel to allocate and zero). Past WAL_RESTART_FRAMES
 * the try is a restarting one: it waits up to WAL_RESTART_WAIT_MS for the
 * readers of older snapshots (blocking writers meanwhile), so the next
 * writer starts the log over and the file stays at about that size. A
 * reader that takes longer is not waited for: a later try. Figures:
 * bench/README.md. */
#define WAL_TRUNCATE_FRAMES 128
#define WAL_AUTOCHECKPOINT  1000
#define WAL_RESTART_FRAMES  4000
#define WAL_RESTART_WAIT_MS 10

static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
	sm_store *store = arg;

	/* Past the limit, SQLite's own hook tries on every commit: with other
	 * processes reading, a try copies the few frames they let it and
	 * syncs the WAL and the store twice (two queue workers and their
	 * stages: a sync every two items). A try per WAL_AUTOCHECKPOINT
	 * frames this connection saw added instead (a sync every 25 items). */
	if (frames < store->wal_frames)
		store->ckpt_frames = 0; /* the WAL started over */
	store->wal_frames = frames;
	if (frames >= WAL_AUTOCHECKPOINT && frames >= store->ckpt_frames + WAL_AUTOCHECKPOINT) {
		store->ckpt_frames = frames;
		if (frames < WAL_RESTART_FRAMES) {
			sqlite3_wal_checkpoint(db, name);
		} else {
			store->busy_limit_ms = WAL_RESTART_WAIT_MS;
			sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
			store->busy_limit_ms = 0;
		}
	}
	return SQLITE_OK;
}

static int keep_wal(sm_store *store, sm_error *err)
{
	int on = 1;

	if (sqlite3_db_config(store->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL) != SQLITE_OK ||
	    sqlite3_file_control(store->db, "main", SQLITE_FCNTL_PERSIST_WAL, &on) != SQLITE_OK) {
		sm_error_set(err, "%s: cannot keep the WAL: %s", store->path,
		             sqlite3_errmsg(store->db));
		return -1;
	}
	sqlite3_wal_hook(store->db, on_wal_commit, store);
	return 0;
}

/* A store handle for path (NULL or "": the default path), not open yet. */
static sm_store *store_new(const char *path, sm_error *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	sm_store *store;

	pthread_once(&once, configure_sqlite);
	store = calloc(1, sizeof *store);
	if (!store) {
		sm_error_set(err, "out of memory");
		return NULL;
	}
	if (path && *path) {
		snprintf(store->path, sizeof store->path, "%s", path);
	} else if (sm_store_default_path(store->path, sizeof store->path, err) < 0) {
		free(store);
		return NULL;
	}
	return store;
}

/* Waiting for the write lock: SQLite's own handler sleeps 1, 2, 5, 10 ms
 * and longer between tries, where another writer holds the lock for tens
 * of microseconds (a queue worker's claim, a delivery record) or for a
 * commit's sync (the webhook handler's, about a millisecond): two workers
 * draining side by side spent most of their time asleep, and a worker
 * woken for a new alert could start up to a sleep late. Tries 10 us apart
 * for the first 2 ms (a try is a lock attempt, a few microseconds), then
 * sleeps doubling up to 1.28 ms, for BUSY_TIMEOUT_MS in all. Naps of 50 us
 * drained a backlog 7-11 % slower with two workers, for the same CPU
 * (bench/README.md, session 10). A nap of 10 us lasts 10 us plus the
 * thread's timer slack, 50 us by default (77 us in all on a VM): the first
 * wait sets the slack of its thread to BUSY_SLACK_NS, for good, and of
 * the processes it starts after (28 us; a two-worker drain 7-10 % faster:
 * bench/README.md, session 12). */
#define BUSY_NAP_NS     10000L
#define BUSY_FINE_TRIES 200
#define BUSY_SLACK_NS   1000UL
static int busy_wait(void *arg, int tries)
{
	static _Thread_local bool slack_set;
	int k = tries < BUSY_FINE_TRIES ? 0 : tries - BUSY_FINE_TRIES + 1;
	sm_store *store = arg;
	struct timespec *t0 = &store->busy_since, now, nap = {0, BUSY_NAP_NS << (k < 7 ? k : 7)};

	if (!slack_set) {
		slack_set = true;
		prctl(PR_SET_TIMERSLACK, BUSY_SLACK_NS);
	}

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (tries == 0)
		*t0 = now;
	else if ((double)(now.tv_sec - t0->tv_sec) * 1e3 +
	             (double)(now.tv_nsec - t0->tv_nsec) / 1e6 >=
	         (store->busy_limit_ms ? store->busy_limit_ms : BUSY_TIMEOUT_MS))
		return 0;
	nanosleep(&nap, NULL);
	return 1;
}

int sm_store_open(const char *path, sm_store **out, sm_error *err)
{
	sm_store *store;
	int fd;

	*out = NULL;
	store = store_new(path, err);
	if (!store)
		return -1;
	if (make_parents(store->path, err) < 0)
		goto fail;
	/* Create the file ourselves so it is 0600 from the first byte. One
	 * that is there is not opened here: closing a descriptor of a file
	 * lets go of all the process's POSIX locks on it, those of SQLite's
	 * connections to it included. */
	fd = open(store->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	else if (errno != EEXIST || faccessat(AT_FDCWD, store->path, R_OK | W_OK, AT_EACCESS) < 0) {
		sm_error_set(err, "%s: %s", store->path, strerror(errno));
		goto fail;
	}
	if (sqlite3_open_v2(store->path, &store->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	                    vfs_ready ? SM_STORE_VFS : NULL) != SQLITE_OK) {
		sm_error_set(err, "%s: %s", store->path,
		             store->db ? sqlite3_errmsg(store->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_handler(store->db, busy_wait, store);
	if (sm_store_exec(store,
	                  "PRAGMA foreign_keys = ON;"
	                  /* FULL: a commit is on disk before anything is acknowledged. */
	                  " PRAGMA synchronous = FULL;"
	                  /* Statement and savepoint journals in memory, not in
	                   * temporary files: per-payload savepoints once made a
	                   * batch write 776 k times to one. */
	                  " PRAGMA temp_store = MEMORY;"
	                  /* 1 MiB of page cache: a process that handles one
	                   * envelope after another (sm-notify on a stream, the
	                   * worker, the FastCGI responder) would otherwise grow
	                   * with the store, up to the cache's size. A batch
	                   * ingest sets its own (ingest/stream.c). */
	                  " PRAGMA cache_size = -1024;",
	                  err) < 0)
		goto fail;
	/* A stage that `sm-pipeline work` keeps as a filter commits as the
	 * worker does, without waiting for the disk (sm-pipeline(1), work):
	 * what the worker was handed is the handler's, committed in full. */
	store->no_disk_wait =
	    getenv("SM_STORE_SYNC") && strcmp(getenv("SM_STORE_SYNC"), "normal") == 0;
	if (store->no_disk_wait && sm_store_exec(store, "PRAGMA synchronous = NORMAL", err) < 0)
		goto fail;
	if (use_wal(store, err) < 0 || keep_wal(store, err) < 0)
		goto fail;
	if (migrate(store, err) < 0)
		goto fail;
	*out = store;
	return 0;
fail:
	sm_store_close(store);
	return -1;
}

/* A store in WAL mode is read through its shared-memory file, made beside
 * it by the first reader. Where that cannot be made (a read-only directory
 * or file system) and no write-ahead log holds changes, the file alone is
 * the whole store and is read as it is, without locks: no writer can work
 * there either. */
static int reopen_immutable(sm_store *store)
{
	char wal[4200], uri[3 * sizeof store->path + 32], *u = uri;
	struct stat st;

	snprintf(wal, sizeof wal, "%s-wal", store->path);
	if (stat(wal, &st) == 0 && st.st_size > 0)
		return -1;
	u += sprintf(u, "file:");
	for (const unsigned char *p = (const unsigned char *)store->path; *p; p++) {
		if (isalnum(*p) || strchr("/-._~", *p))
			*u++ = (char)*p;
		else
			u += sprintf(u, "%%%02X", *p);
	}
	strcpy(u, "?immutable=1");
	sqlite3_close(store->db);
	store->db = NULL;
	if (sqlite3_open_v2(uri, &store->db,
	                    SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI,
	                    NULL) != SQLITE_OK)
		return -1;
	return 0;
}

int sm_store_open_readonly(const char *path, sm_store **out, sm_error *err)
{
	sm_store *store;
	struct stat st;
	int version;

	*out = NULL;
	store = store_new(path, err);
	if (!store)
		return -1;
	/* No store yet: it is made as by any other tool (DESIGN.md §4). */
	if (stat(store->path, &st) < 0 && errno == ENOENT) {
		sm_store_close(store);
		return sm_store_open(path, out, err);
	}
	if (sqlite3_open_v2(store->path, &store->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		sm_error_set(err, "%s: %s", store->path,
		             store->db ? sqlite3_errmsg(store->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(store->db, 10000);
	version = sm_store_schema_version(store);
	if (version < 0 &&
	    ((sqlite3_errcode(store->db) & 0xff) == SQLITE_CANTOPEN ||
	     (sqlite3_errcode(store->db) & 0xff) == SQLITE_READONLY) &&
	    reopen_immutable(store) == 0)
		version = sm_store_schema_version(store);
	if (version < 0) {
		sm_error_set(err, "%s: %s", store->path, sqlite3_errmsg(store->db));
		goto fail;
	}
	if (version > LATEST) {
		sm_error_set(err, "%s: schema version %d is newer than this sm (%d)", store->path,
		             version, LATEST);
		goto fail;
	}
	if (version < LATEST) {
		/* An older store is migrated first, which needs the write lock. */
		sm_store_close(store);
		return sm_store_open(path, out, err);
	}
	*out = store;
	return 0;
fail:
	sm_store_close(store);
	return -1;
}

void sm_store_map_reads(bool on)
{
	sm_store_vfs_map_reads(on);
}

void sm_store_map_idle(void)
{
	sm_store_vfs_map_idle();
}

void sm_store_close(sm_store *store)
{
	if (!store)
		return;
	for (int i = 0; i < EXEC_CACHE; i++)
		sqlite3_finalize(store->cache[i].st);
	for (int i = 0; i < KEPT_MAX; i++)
		sqlite3_finalize(store->kept[i].st);
	if (store->wal_frames >= WAL_TRUNCATE_FRAMES) {
		sqlite3_busy_timeout(store->db, 0);
		sqlite3_wal_checkpoint_v2(store->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	}
	sqlite3_close(store->db);
	free(store);
}

sqlite3 *sm_store_db(sm_store *store)
{
	return store->db;
}

bool sm_store_waits_for_disk(const sm_store *store)
{
	return !store->no_disk_wait;
}

int sm_store_no_disk_wait(sm_store *store, sm_error *err)
{
	if (store->no_disk_wait)
		return 0;
	if (sm_store_exec(store, "PRAGMA synchronous = NORMAL", err) < 0)
		return -1;
	store->no_disk_wait = true;
	return 0;
}

const char *sm_store_path(const sm_store *store)
{
	return store->path;
}

int sm_store_begin(sm_store *store, sm_error *err)
{
	return sm_store_exec(store, "BEGIN IMMEDIATE", err);
}

int sm_store_commit(sm_store *store, sm_error *err)
{
	return sm_store_exec(store, "COMMIT", err);
}

void sm_store_rollback(sm_store *store)
{
	if (!sqlite3_get_autocommit(store->db))
		sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
}
