/* test_store.c - creating, migrating and sharing the SQLite store. */
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"
#include "core/store_vfs.h"
#include "sm/store.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/sm-store-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void creates_file_0600_with_parents(void **state)
{
	char path[256];
	struct stat st;
	sm_store *store;
	sm_error err;

	(void)state;
	snprintf(path, sizeof path, "%s/a/b/sm.db", dir);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof path, "%s/a/b", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(sm_store_schema_version(store), sm_store_schema_latest());
	sm_store_close(store);
}

static int count_rows(sm_store *store, const char *sql)
{
	sqlite3_stmt *st = sm_store_prepare(store, sql, NULL);
	int n = -1;

	if (st && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* A handle waits for the disk (synchronous FULL) until told not to. */
static void no_disk_wait_sets_synchronous_normal(void **state)
{
	char path[256];
	sm_store *store;
	sm_error err;

	(void)state;
	snprintf(path, sizeof path, "%s/t.db", dir);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_true(sm_store_waits_for_disk(store));
	assert_int_equal(count_rows(store, "PRAGMA synchronous"), 2); /* FULL */
	assert_int_equal(sm_store_no_disk_wait(store, &err), 0);
	assert_false(sm_store_waits_for_disk(store));
	assert_int_equal(count_rows(store, "PRAGMA synchronous"), 1); /* NORMAL */
	sm_store_close(store);
}

static void has_every_table_and_pragmas(void **state)
{
	static const char *const tables[] = {"alerts",
	                                     "incidents",
	                                     "alert_history",
	                                     "check_runs",
	                                     "analysis_runs",
	                                     "intelligence_providers",
	                                     "notification_channels",
	                                     "notification_deliveries",
	                                     "pipeline_definitions",
	                                     "pipeline_runs",
	                                     "stage_executions",
	                                     "inbox",
	                                     "hub_spool",
	                                     "seen_signatures",
	                                     "config_version"};
	char path[256], sql[256];
	sm_store *store;
	sm_error err;

	(void)state;
	snprintf(path, sizeof path, "%s/t.db", dir);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		snprintf(sql, sizeof sql,
		         "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='%s'",
		         tables[i]);
		assert_int_equal(count_rows(store, sql), 1);
	}
	assert_int_equal(count_rows(store, "PRAGMA foreign_keys"), 1);
	{
		sqlite3_stmt *st = sm_store_prepare(store, "PRAGMA journal_mode", NULL);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
		sqlite3_finalize(st);
	}
	/* Foreign keys are enforced. */
	assert_int_equal(sm_store_exec(store,
	                               "INSERT INTO alert_history (alert_id, change, new_status,"
	                               " new_severity, at) VALUES (999, 'created', 'firing',"
	                               " 'warning', 'now')",
	                               &err),
	                 -1);
	assert_non_null(strstr(err.msg, "FOREIGN KEY"));
	sm_store_close(store);
}

static void reopen_keeps_data_and_version(void **state)
{
	char path[256];
	sm_store *store;
	sm_error err;

	(void)state;
	snprintf(path, sizeof path, "%s/r.db", dir);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_int_equal(sm_store_begin(store, &err), 0);
	assert_int_equal(sm_store_exec(store,
	                               "INSERT INTO check_runs (checker, hostname, status, message,"
	                               " executed_at) VALUES ('cpu', 'h', 'ok', 'fine', 'now')",
	                               &err),
	                 0);
	assert_int_equal(sm_store_commit(store, &err), 0);
	sm_store_close(store);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_int_equal(count_rows(store, "SELECT count(*) FROM check_runs"), 1);
	/* A rolled back transaction leaves nothing. */
	assert_int_equal(sm_store_begin(store, &err), 0);
	assert_int_equal(sm_store_exec(store, "DELETE FROM check_runs", &err), 0);
	sm_store_rollback(store);
	assert_int_equal(count_rows(store, "SELECT count(*) FROM check_runs"), 1);
	sm_store_close(store);
}

static void newer_schema_is_refused(void **state)
{
	char path[256];
	sm_store *store;
	sm_error err;

	(void)state;
	snprintf(path, sizeof path, "%s/n.db", dir);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_int_equal(sm_store_exec(store, "PRAGMA user_version = 999", &err), 0);
	sm_store_close(store);
	assert_int_equal(sm_store_open(path, &store, &err), -1);
	assert_null(store);
	assert_non_null(strstr(err.msg, "newer than this sm"));
}

/* Listings: a read-only open reads a current store, refuses a newer one,
 * writes nothing, and makes a missing one as any open does. */
static void readonly_open(void **state)
{
	char path[256];
	sm_store *store;
	sm_error err;

	(void)state;
	snprintf(path, sizeof path, "%s/r/r.db", dir);
	assert_int_equal(sm_store_open_readonly(path, &store, &err), 0); /* made */
	assert_int_equal(sm_store_schema_version(store), sm_store_schema_latest());
	sm_store_close(store);
	assert_int_equal(sm_store_open_readonly(path, &store, &err), 0);
	assert_int_equal(count_rows(store, "SELECT count(*) FROM seen_signatures"), 0);
	assert_int_equal(sm_store_exec(store, "DELETE FROM incidents", &err), -1);
	assert_non_null(strstr(err.msg, "readonly"));
	sm_store_close(store);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_int_equal(sm_store_exec(store, "PRAGMA user_version = 999", &err), 0);
	sm_store_close(store);
	assert_int_equal(sm_store_open_readonly(path, &store, &err), -1);
	assert_null(store);
	assert_non_null(strstr(err.msg, "newer than this sm"));
}

static void default_path_rules(void **state)
{
	char buf[512];
	sm_error err;

	(void)state;
	setenv("SM_DB", "/x/y.db", 1);
	assert_int_equal(sm_store_default_path(buf, sizeof buf, &err), 0);
	assert_string_equal(buf, "/x/y.db");
	unsetenv("SM_DB");
	setenv("XDG_STATE_HOME", "/state", 1);
	setenv("HOME", "/home/u", 1);
	assert_int_equal(sm_store_default_path(buf, sizeof buf, &err), 0);
	assert_string_equal(buf, geteuid() == 0 ? "/var/lib/sm/sm.db" : "/state/sm/sm.db");
	unsetenv("XDG_STATE_HOME");
	assert_int_equal(sm_store_default_path(buf, sizeof buf, &err), 0);
	assert_string_equal(buf,
	                    geteuid() == 0 ? "/var/lib/sm/sm.db" : "/home/u/.local/state/sm/sm.db");
}

static void unwritable_place_fails_cleanly(void **state)
{
	sm_store *store;
	sm_error err;

	(void)state;
	assert_int_equal(sm_store_open("/proc/sm-cannot/x.db", &store, &err), -1);
	assert_null(store);
	assert_non_null(strstr(err.msg, "/proc/sm-cannot"));
}

static void concurrent_openers_migrate_once(void **state)
{
	char path[256];
	pid_t pids[4];
	int status, ok = 0;

	(void)state;
	snprintf(path, sizeof path, "%s/c.db", dir);
	for (int i = 0; i < 4; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			sm_store *store;
			sm_error err;
			_exit(sm_store_open(path, &store, &err) == 0 ? 0 : 1);
		}
	}
	for (int i = 0; i < 4; i++) {
		waitpid(pids[i], &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
	}
	assert_int_equal(ok, 4);
}

/* The hot inserts build no temporary b-tree (an IN list in a CHECK would),
 * and a key's newest open incident is found without sorting. */
static void hot_paths_need_no_temporary_btrees(void **state)
{
	static const char *const inserts[] = {
	    "INSERT INTO alerts (source, fingerprint, name, status, severity, created_at,"
	    " updated_at) VALUES ('s', 'f', 'n', 'firing', 'warning', 'x', 'x')",
	    "INSERT INTO incidents (title, severity, group_key, created_at, updated_at)"
	    " VALUES ('t', 'info', 'k', 'x', 'x')",
	    "INSERT INTO check_runs (checker, hostname, status, message, executed_at)"
	    " VALUES ('c', 'h', 'ok', 'm', 'x')",
	    "UPDATE incidents SET status = 'resolved' WHERE id = 1",
	};
	char path[256];
	sm_store *store;
	sm_error err;

	(void)state;
	snprintf(path, sizeof path, "%s/plan.db", dir);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	for (size_t i = 0; i < sizeof inserts / sizeof inserts[0]; i++) {
		char sql[512];
		sqlite3_stmt *st;
		snprintf(sql, sizeof sql, "EXPLAIN %s", inserts[i]);
		st = sm_store_prepare(store, sql, &err);
		assert_non_null(st);
		while (sqlite3_step(st) == SQLITE_ROW)
			if (strcmp((const char *)sqlite3_column_text(st, 1), "OpenEphemeral") == 0)
				fail_msg("temporary b-tree in: %s", inserts[i]);
		sqlite3_finalize(st);
	}
	{
		/* The query of lib/ingest.c's FIND_INCIDENT. */
		sqlite3_stmt *st = sm_store_prepare(
		    store,
		    "EXPLAIN QUERY PLAN SELECT id, severity FROM incidents WHERE group_key = 'k'"
		    " AND status != 'resolved' AND status != 'closed' ORDER BY id DESC LIMIT 1",
		    &err);
		assert_non_null(st);
		while (sqlite3_step(st) == SQLITE_ROW)
			assert_null(
			    strstr((const char *)sqlite3_column_text(st, 3), "TEMP B-TREE"));
		sqlite3_finalize(st);
	}
	sm_store_close(store);
}

/* sm_store_exec prepares a short statement on its second use and keeps it:
 * repeats work, errors are still reported each time, the store closes. */
/* How many of this process's file descriptors name a file under prefix. */
static int open_files_under(const char *prefix)
{
	char fd_path[64], target[512];
	int n = 0;

	for (int fd = 0; fd < 1024; fd++) {
		ssize_t len;

		snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%d", fd);
		len = readlink(fd_path, target, sizeof target - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strncmp(target, prefix, strlen(prefix)) == 0)
			n++;
	}
	return n;
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void exec_reuses_short_statements(void **state)
{
	char path[256];
	sm_store *store;
	sm_error err;

	(void)state;
	snprintf(path, sizeof path, "%s/exec.db", dir);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(sm_store_begin(store, &err), 0);
		assert_int_equal(sm_store_exec(store, "SAVEPOINT p", &err), 0);
		assert_int_equal(sm_store_exec(store,
		                               "INSERT INTO inbox (envelope, trace_id, created_at)"
		                               " VALUES ('{}', '', 'now')",
		                               &err),
		                 0);
		assert_int_equal(sm_store_exec(store, "RELEASE p", &err), 0);
		assert_int_equal(sm_store_commit(store, &err), 0);
		err.msg[0] = '\0';
		assert_int_equal(sm_store_exec(store, "RELEASE absent", &err), -1);
		assert_non_null(strstr(err.msg, "no such savepoint"));
	}
	{
		sqlite3_stmt *st = sm_store_prepare(store, "SELECT count(*) FROM inbox", &err);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 5);
		sqlite3_finalize(st);
	}
	sm_store_close(store);
	/* Closed for real (no statement left open keeps the connection):
	 * no file of the store is open any more. */
	assert_int_equal(open_files_under(dir), 0);
}

/* A kept statement is parsed once: the same one comes back, reset and
 * with its bindings cleared; closing the store finalizes it. */
static void kept_statements_are_reused(void **state)
{
	static const char insert[] = "INSERT INTO inbox (envelope, trace_id, created_at)"
	                             " VALUES (?, '', 'now')";
	static const char count[] = "SELECT count(*), count(envelope) FROM inbox";
	char path[256];
	sm_store *store;
	sm_error err;
	sqlite3_stmt *first, *st;

	(void)state;
	snprintf(path, sizeof path, "%s/kept.db", dir);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	first = sm_store_prepare_kept(store, insert, &err);
	assert_non_null(first);
	sqlite3_bind_text(first, 1, "{}", -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(first), SQLITE_DONE);
	/* Not reset by the caller: the store does it. */
	st = sm_store_prepare_kept(store, insert, &err);
	assert_ptr_equal(st, first);
	/* Bindings cleared: envelope NULL, which the table refuses. */
	assert_int_equal(sqlite3_step(st) & 0xff, SQLITE_CONSTRAINT);
	st = sm_store_prepare_kept(store, count, &err);
	assert_non_null(st);
	assert_ptr_not_equal(st, first);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	/* A statement that does not parse is an error naming the store. */
	assert_null(sm_store_prepare_kept(store, "SELECT FROM nothing", &err));
	assert_non_null(strstr(err.msg, path));
	sm_store_close(store);
	assert_int_equal(open_files_under(dir), 0);
}

/* One write per process, as a CGI handler or sm-check makes: closing does
 * not checkpoint, so the WAL (and what it holds) stays for the next
 * process, and a reader sees every commit; the process whose commit took
 * the WAL past 128 frames empties it when it closes, so it never grows past
 * that, however many processes come and go. */
static void wal_kept_and_bounded_across_processes(void **state)
{
	char path[256], wal[300];
	long biggest = 0;
	int kept = 0;
	sm_store *store;
	sm_error err;
	sqlite3_stmt *st;

	(void)state;
	snprintf(path, sizeof path, "%s/wal.db", dir);
	snprintf(wal, sizeof wal, "%s-wal", path);
	for (int i = 0; i < 400; i++) {
		pid_t pid = fork();
		int status;

		assert_true(pid >= 0);
		if (pid == 0) {
			int rc = sm_store_open(path, &store, &err) < 0 ||
			         sm_store_begin(store, &err) < 0 ||
			         sm_store_exec(store,
			                       "INSERT INTO inbox (envelope, trace_id, created_at)"
			                       " VALUES (printf('%.2000c', 'x'), '', 'now')",
			                       &err) < 0 ||
			         sm_store_commit(store, &err) < 0;
			sm_store_close(store);
			_exit(rc);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		if (file_size(wal) > 0) /* kept after the process closed, with its commit */
			kept++;
		if (file_size(wal) > biggest)
			biggest = file_size(wal);
	}
	/* 128 frames of 4096 bytes and a 24-byte header each, the file header,
	 * and one commit's frames past the mark. */
	assert_true(biggest <= 32 + 136L * (4096 + 24));
	assert_true(biggest >= 32 + 64L * (4096 + 24)); /* it did fill, and was emptied */
	assert_true(kept >= 300);                       /* emptied only now and then */
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	st = sm_store_prepare(store, "SELECT count(*) FROM inbox", &err);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 400);
	sqlite3_finalize(st);
	sm_store_close(store);
}

/* A reader (another process) on an old snapshot while the WAL passes 4000
 * frames, letting go of it 3 ms after: the writer's checkpoint at that mark
 * waits for it, copies every frame, and the log starts over, so the
 * commits after it do not grow the file. (A passive try would have found
 * the reader there and left the log growing until the next try, 1000
 * frames on.) */
static void wal_starts_over_past_the_restart_mark(void **state)
{
	char path[256], wal[300], byte = 0;
	int ready[2], go[2];
	sm_store *store;
	sm_error err;
	pid_t reader;
	long frames = 0, after;
	int status;

	(void)state;
	snprintf(path, sizeof path, "%s/restart.db", dir);
	snprintf(wal, sizeof wal, "%s-wal", path);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	reader = fork();
	assert_true(reader >= 0);
	if (reader == 0) {
		sm_store *r;
		struct timespec hold = {0, 3000000};
		/* A read transaction: its snapshot taken by the first read. */
		int rc = sm_store_open(path, &r, &err) < 0 || sm_store_exec(r, "BEGIN", &err) < 0 ||
		         sm_store_exec(r, "SELECT count(*) FROM inbox", &err) < 0;
		rc = rc || write(ready[1], "r", 1) != 1 || read(go[0], &byte, 1) != 1;
		nanosleep(&hold, NULL);
		rc = rc || sm_store_commit(r, &err) < 0;
		sm_store_close(r);
		_exit(rc);
	}
	assert_int_equal(read(ready[0], &byte, 1), 1);
	/* Up to just short of the mark, the reader holding its snapshot. */
	while (frames < 3990) {
		assert_int_equal(sm_store_exec(store,
		                               "INSERT INTO inbox (envelope, trace_id, created_at)"
		                               " VALUES (printf('%.3000c', 'x'), '', 'now')",
		                               &err),
		                 0);
		frames = (file_size(wal) - 32) / (4096 + 24);
	}
	assert_int_equal(write(go[1], "g", 1), 1);
	for (int i = 0; i < 100; i++)
		assert_int_equal(sm_store_exec(store,
		                               "INSERT INTO inbox (envelope, trace_id, created_at)"
		                               " VALUES (printf('%.3000c', 'x'), '', 'now')",
		                               &err),
		                 0);
	after = (file_size(wal) - 32) / (4096 + 24);
	assert_int_equal(waitpid(reader, &status, 0), reader);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The mark's commit and the few after it before the try; not a
	 * hundred commits more. */
	assert_true(after < frames + 50);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	sm_store_close(store);
}

static void exec_ok(sm_store *store, const char *sql)
{
	sm_error err = {0};

	if (sm_store_exec(store, sql, &err) < 0)
		fail_msg("%s: %s", sql, err.msg);
}

/* The store's VFS keeps a commit's WAL frames in memory until its commit
 * frame: a transaction that spilled pages to the WAL (too big for its
 * cache) and was rolled back must not leave them to be written later over
 * the frames another connection committed meanwhile. (Either of the VFS's
 * two guards suffices here: the read that SQLite's rollback makes writes
 * them out, and so does the release of the write lock. Without both, the
 * counts below are wrong.) */
static void wal_frames_of_a_rollback_never_land_on_later_commits(void **state)
{
	char path[256];
	sm_store *a, *b, *check;
	sm_error err;
	sqlite3_stmt *st;

	(void)state;
	snprintf(path, sizeof path, "%s/spill.db", dir);
	assert_int_equal(sm_store_open(path, &a, &err), 0);
	assert_int_equal(sm_store_open(path, &b, &err), 0);
	exec_ok(a, "PRAGMA cache_size = 4");
	exec_ok(a, "BEGIN IMMEDIATE");
	for (int i = 0; i < 100; i++)
		exec_ok(a, "INSERT INTO inbox (envelope, trace_id, created_at)"
		           " VALUES (printf('%.3000c', 'a'), '', 'now')");
	exec_ok(a, "ROLLBACK");
	for (int i = 0; i < 200; i++)
		exec_ok(b, "INSERT INTO inbox (envelope, trace_id, created_at)"
		           " VALUES (printf('%.3000c', 'b'), '', 'now')");
	for (int i = 0; i < 10; i++)
		exec_ok(a, "INSERT INTO inbox (envelope, trace_id, created_at)"
		           " VALUES (printf('%.3000c', 'c'), '', 'now')");
	sm_store_close(a);
	sm_store_close(b);
	assert_int_equal(sm_store_open(path, &check, &err), 0);
	st = sm_store_prepare(check, "PRAGMA integrity_check", &err);
	assert_non_null(st);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	assert_int_equal(count_rows(check, "SELECT count(*) FROM inbox WHERE envelope LIKE 'a%'"),
	                 0);
	assert_int_equal(count_rows(check, "SELECT count(*) FROM inbox WHERE envelope LIKE 'b%'"),
	                 200);
	assert_int_equal(count_rows(check, "SELECT count(*) FROM inbox WHERE envelope LIKE 'c%'"),
	                 10);
	sm_store_close(check);
}

/* A WAL on a file system that asks for commits padded to a sector
 * (psow=0; synchronous FULL): SQLite writes copies of the commit frame up
 * to the sector's end, the last one split by its sync, so part of a frame
 * is still pending when the commit is published. The VFS writes it out
 * then (the barrier), or at the latest when the write lock is let go:
 * without both, the reader below reads a torn page. */
static void wal_padded_commits_are_whole_when_published(void **state)
{
	char path[256], uri[300];
	sqlite3 *w, *r;
	sm_store *store;
	sm_error err;

	(void)state;
	snprintf(path, sizeof path, "%s/padded.db", dir);
	assert_int_equal(sm_store_open(path, &store, &err), 0); /* the VFS registered */
	sm_store_close(store);
	snprintf(uri, sizeof uri, "file:%s?psow=0", path);
	assert_int_equal(
	    sqlite3_open_v2(uri, &w, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, SM_STORE_VFS),
	    SQLITE_OK);
	assert_int_equal(sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(w,
	                              "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
	                              " CREATE TABLE t (n INTEGER, pad TEXT);"
	                              " INSERT INTO t VALUES (0, printf('%.900c', 'p'))",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	for (int i = 1; i <= 60; i++) {
		char sql[200];
		sqlite3_stmt *st;
		snprintf(sql, sizeof sql, "UPDATE t SET n = %d, pad = printf('%%.%dc', 'q')", i,
		         900 + i * 37);
		assert_int_equal(sqlite3_exec(w, sql, NULL, NULL, NULL), SQLITE_OK);
		assert_int_equal(
		    sqlite3_prepare_v2(r, "SELECT n, length(pad) FROM t", -1, &st, NULL),
		    SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), i);
		assert_int_equal(sqlite3_column_int(st, 1), 900 + i * 37);
		sqlite3_finalize(st);
	}
	sqlite3_close(r);
	sqlite3_close(w);
}

/* Open the store at path, not waiting for the disk, empty its WAL, insert
 * a small row into table big and then a zeroblob of n bytes, with the
 * files limited to one byte short of 32 frames more when short_by_one is
 * set; the number of frames the second insert added to the WAL, -1 when
 * it failed, -2 when a step before it did. (Without a sync at each
 * commit, and not the first commit in the WAL, whose size SQLite then
 * looks at: either would write out what is pending before the barrier
 * anyway.) No cmocka assertion here: a child process runs it too. */
static long big_insert(const char *path, long n, bool short_by_one)
{
	char wal[300], sql[128];
	sm_store *store;
	sm_error err;
	struct stat st;
	long frames = -2;
	off_t base;

	snprintf(wal, sizeof wal, "%s-wal", path);
	if (sm_store_open(path, &store, &err) < 0)
		return -2;
	if (sm_store_no_disk_wait(store, &err) < 0 ||
	    sm_store_exec(store, "PRAGMA wal_checkpoint(TRUNCATE)", &err) < 0 ||
	    sm_store_exec(store, "INSERT INTO big VALUES (1)", &err) < 0 || stat(wal, &st) < 0)
		goto out;
	base = st.st_size;
	if (short_by_one) {
		struct rlimit r;
		r.rlim_cur = r.rlim_max = (rlim_t)base + 32 * (24 + 4096) - 1;
		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &r) < 0)
			goto out;
	}
	snprintf(sql, sizeof sql, "INSERT INTO big VALUES (zeroblob(%ld))", n);
	frames = -1;
	if (sm_store_exec(store, sql, &err) == 0 && stat(wal, &st) == 0)
		frames = (long)(st.st_size - base) / (24 + 4096);
out:
	sm_store_close(store);
	return frames;
}

static void big_table(const char *path)
{
	char wal[300];
	sm_store *store;
	sm_error err;

	snprintf(wal, sizeof wal, "%s-wal", path);
	unlink(path);
	unlink(wal);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	exec_ok(store, "CREATE TABLE big (b BLOB)");
	sm_store_close(store);
}

/* A commit larger than what the VFS gathers (128 KiB) goes out in pieces;
 * the piece with the commit frame's page is written within SQLite's write
 * of that page, so a failure there (a full disk: here the file size
 * limit, one byte short) fails the commit and leaves nothing, rather than
 * being met at SQLite's barrier, where it is lost. A commit of 32 frames
 * puts the commit frame's page alone after a full buffer: the case that
 * lost it. */
static void wal_commit_larger_than_the_gather_fails_whole(void **state)
{
	char path[256];
	sm_store *store;
	sm_error err;
	sqlite3_stmt *st;
	long n = 20 * 4092, frames = 0;
	pid_t pid;
	int status;

	(void)state;
	snprintf(path, sizeof path, "%s/big.db", dir);
	for (;; n += 1024) {
		big_table(path);
		frames = big_insert(path, n, false);
		assert_true(frames >= 0);
		if (frames >= 32 || n >= 60 * 4092)
			break;
	}
	assert_int_equal(frames, 32);
	big_table(path);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) /* exits 0 when the insert (and only it) failed */
		_exit(big_insert(path, n, true) == -1 ? 0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_int_equal(count_rows(store, "SELECT count(*) FROM big"), 1); /* the small row */
	st = sm_store_prepare(store, "PRAGMA integrity_check", &err);
	assert_non_null(st);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	exec_ok(store, "INSERT INTO big VALUES (zeroblob(10))");
	assert_int_equal(count_rows(store, "SELECT count(*) FROM big"), 2);
	sm_store_close(store);
}

struct slack_probe {
	const char *path;
	int before, after; /* the thread's timer slack, ns */
	int rc;
	_Atomic bool asking; /* the thread is about to ask for the lock */
};

static void *wait_for_the_lock(void *arg)
{
	struct slack_probe *p = arg;
	sm_store *store;
	sm_error err;

	p->before = prctl(PR_GET_TIMERSLACK);
	if (sm_store_open(p->path, &store, &err) < 0) {
		p->asking = true;
		return NULL;
	}
	p->asking = true;
	p->rc = sm_store_exec(store, "BEGIN IMMEDIATE", &err);
	p->after = prctl(PR_GET_TIMERSLACK);
	sm_store_exec(store, "ROLLBACK", &err);
	sm_store_close(store);
	return NULL;
}

/* The store's busy naps are 10 us: a thread that waits for the write lock
 * gets a timer slack of 1 us, or each nap would last the default 50 us
 * more. */
static void a_wait_for_the_lock_makes_naps_precise(void **state)
{
	char path[256];
	struct slack_probe p = {.path = path, .rc = -2};
	struct timespec hold = {0, 30 * 1000 * 1000};
	sm_store *store;
	sm_error err;
	pthread_t t;

	(void)state;
	snprintf(path, sizeof path, "%s/slack.db", dir);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	exec_ok(store, "BEGIN IMMEDIATE");
	assert_int_equal(prctl(PR_SET_TIMERSLACK, 0UL), 0); /* this thread's default */
	assert_int_equal(pthread_create(&t, NULL, wait_for_the_lock, &p), 0);
	/* Held until 30 ms after the thread asks: it waits, however slow its
	 * start. */
	while (!p.asking)
		sched_yield();
	nanosleep(&hold, NULL);
	exec_ok(store, "COMMIT");
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(p.rc, 0);
	assert_int_not_equal(p.before, 1000);
	assert_int_equal(p.after, 1000);
	sm_store_close(store);
}

/* --- reads through a mapping (store_vfs.c) ---------------------------------------- */

static void fill(sm_store *store, int from, int to)
{
	char sql[200];

	snprintf(sql, sizeof sql,
	         "WITH RECURSIVE i(n) AS (SELECT %d UNION ALL SELECT n + 1 FROM i WHERE n < %d)"
	         " INSERT INTO m SELECT n, printf('%%.*c', 200 + n %% 700, 'x') FROM i",
	         from, to);
	exec_ok(store, sql);
}

/* A store at dir/name read through mappings: *r a reader, *w a writer
 * that made table m with rows 1-2000. */
static void mapped_pair(const char *name, sm_store **r, sm_store **w)
{
	char path[256];
	sm_error err;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	sm_store_map_reads(true);
	assert_int_equal(sm_store_open(path, r, &err), 0);
	assert_int_equal(sm_store_open(path, w, &err), 0);
	exec_ok(*w, "CREATE TABLE m (n INTEGER, pad TEXT)");
	fill(*w, 1, 2000);
}

/* A reader whose pages come from the mapping sees each commit of another
 * connection: frames added to the WAL, the WAL emptied by a truncating
 * checkpoint and written again from its start, the database file grown
 * and shrunk (VACUUM). */
static void mapped_reads_see_what_others_commit(void **state)
{
	sm_store *r, *w;
	unsigned long long before = sm_store_vfs_mapped_reads();

	(void)state;
	mapped_pair("mapped.db", &r, &w);
	assert_int_equal(count_rows(r, "SELECT sum(n) FROM m"), 2000 * 2001 / 2);
	assert_true(sm_store_vfs_mapped_reads() > before);
	exec_ok(w, "PRAGMA wal_checkpoint(TRUNCATE)");
	fill(w, 2001, 2100);
	exec_ok(w, "UPDATE m SET pad = 'y' WHERE n % 10 = 0");
	assert_int_equal(count_rows(r, "SELECT sum(n) FROM m"), 2100 * 2101 / 2);
	assert_int_equal(count_rows(r, "SELECT count(*) FROM m WHERE pad = 'y'"), 210);
	exec_ok(w, "DELETE FROM m WHERE n > 100");
	exec_ok(w, "VACUUM");
	exec_ok(w, "PRAGMA wal_checkpoint(TRUNCATE)");
	fill(w, 101, 150);
	assert_int_equal(count_rows(r, "SELECT sum(n) FROM m"), 150 * 151 / 2);
	assert_int_equal(count_rows(r, "SELECT sum(length(pad)) FROM m"),
	                 count_rows(w, "SELECT sum(length(pad)) FROM m"));
	sm_store_close(w);
	sm_store_close(r);
	sm_store_map_reads(false);
}

/* The resident size of the process's mappings of the file at path, KiB
 * (/proc/self/smaps). */
static long mapped_kib(const char *path)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool ours = false;
	unsigned long from, to;
	long kib = 0, n;

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "%lx-%lx ", &from, &to) == 2) {
			/* A mapping's first line, ending in its file's name. */
			size_t len = strcspn(line, "\n"), k = strlen(path);
			ours = len >= k && strncmp(line + len - k, path, k) == 0;
		} else if (ours && sscanf(line, "Rss: %ld kB", &n) == 1) {
			kib += n;
		}
	}
	fclose(f);
	return kib;
}

/* Pages read through the mapping count in the process's resident size
 * until it waits for work (sm_store_map_idle); their content is still the
 * file's after. */
static void mapped_pages_are_let_go_when_idle(void **state)
{
	char path[256];
	sm_store *r, *w;

	(void)state;
	snprintf(path, sizeof path, "%s/idle.db", dir);
	mapped_pair("idle.db", &r, &w);
	exec_ok(w, "PRAGMA wal_checkpoint(TRUNCATE)");
	exec_ok(w, "INSERT INTO m VALUES (0, '')"); /* r's cache emptied */
	assert_int_equal(count_rows(r, "SELECT sum(n) FROM m"), 2000 * 2001 / 2);
	assert_true(mapped_kib(path) > 100);
	sm_store_map_idle();
	assert_int_equal(mapped_kib(path), 0);
	exec_ok(w, "UPDATE m SET n = n + 1 WHERE n = 0");
	assert_int_equal(count_rows(r, "SELECT sum(n) FROM m"), 2000 * 2001 / 2 + 1);
	sm_store_close(w);
	sm_store_close(r);
	sm_store_map_reads(false);
}

/* In a child: a mapped reader of a store whose file was cut short under it
 * (by something other than SQLite); exits 0 once its query has failed. */
static int cut_short_child(const char *path)
{
	sm_store *r, *w;
	sm_error err;
	struct stat st;
	int n;

	sm_store_map_reads(true);
	if (sm_store_open(path, &r, &err) < 0 || sm_store_open(path, &w, &err) < 0)
		return 2;
	if (sm_store_exec(w, "CREATE TABLE m (n INTEGER, pad TEXT)", &err) < 0)
		return 2;
	fill(w, 1, 3000);
	if (sm_store_exec(w, "PRAGMA wal_checkpoint(TRUNCATE)", &err) < 0 ||
	    count_rows(r, "SELECT sum(n) FROM m") != 3000 * 3001 / 2 || stat(path, &st) < 0)
		return 2;
	/* Half the file gone, and a commit that empties r's page cache: r
	 * reads pages that are past the end now. */
	if (truncate(path, st.st_size / 2) < 0 ||
	    sm_store_exec(w, "CREATE TABLE other (x)", &err) < 0)
		return 2;
	n = count_rows(r, "SELECT sum(n) FROM m");
	sm_store_close(w);
	sm_store_close(r);
	return n == 3000 * 3001 / 2 ? 3 : 0;
}

/* A mapped read never touches the mapping past the file's end (SIGBUS):
 * a file cut short since the reader last looked is read with read(2),
 * and the query fails as a short read makes it fail. */
static void a_file_cut_short_under_a_mapped_reader_is_an_error(void **state)
{
	char path[256];
	pid_t pid;
	int status;

	(void)state;
	snprintf(path, sizeof path, "%s/cut.db", dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGBUS, SIG_DFL); /* not cmocka's: a crash is the child's end */
		_exit(cut_short_child(path));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_false(WIFSIGNALED(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Whether another process holds a lock on the bytes SQLite's shared locks
 * use in the database file at path (asked from a child: F_GETLK does not
 * report the asking process's own locks). */
static bool shared_lock_held(const char *path)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct flock fl = {
		    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0x40000002, .l_len = 510};
		int fd = open(path, O_RDWR);
		_exit(fd >= 0 && fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK ? 0 : 1);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

/* Two handles on one store in a process, the second in a transaction:
 * the locks SQLite holds on the file stay while the first is closed. A
 * store opened is not opened again to be created, and a mapping's
 * descriptor is closed with the process's last connection to the file
 * only: closing any descriptor of a file lets go of all the process's
 * POSIX locks on it. */
static void locks_kept(bool mapped)
{
	char path[256];
	sm_store *a, *b;
	sm_error err;

	snprintf(path, sizeof path, "%s/locks-%d.db", dir, mapped);
	sm_store_map_reads(mapped);
	assert_int_equal(sm_store_open(path, &a, &err), 0);
	assert_int_equal(sm_store_open(path, &b, &err), 0);
	exec_ok(b, "BEGIN");
	assert_int_equal(count_rows(b, "SELECT count(*) FROM inbox"), 0);
	assert_true(shared_lock_held(path));
	sm_store_close(a);
	assert_true(shared_lock_held(path));
	exec_ok(b, "COMMIT");
	sm_store_close(b);
	assert_false(shared_lock_held(path));
	sm_store_map_reads(false);
}

static void closing_a_store_keeps_the_other_handles_locks(void **state)
{
	(void)state;
	locks_kept(false);
	locks_kept(true);
}

/* --- the configuration's version ---------------------------------------------- */

static sqlite3_int64 version_of(sm_store *store)
{
	sqlite3_int64 v = sm_store_config_version(store);

	assert_true(v >= 0);
	return v;
}

/* Every insert, update and delete of a table a long-running process
 * decides by moves the version on, made by any connection; other tables
 * leave it; two stores start apart. */
static void config_version_moves_with_the_configuration(void **state)
{
	static const char *const changes[] = {
	    "INSERT INTO pipeline_definitions (name, definition, created_at, updated_at)"
	    " VALUES ('d', '{}', 'now', 'now')",
	    "UPDATE pipeline_definitions SET definition = '{\"a\": 1}'",
	    "DELETE FROM pipeline_definitions",
	    "INSERT INTO notification_channels (name, driver, created_at, updated_at)"
	    " VALUES ('c', 'generic', 'now', 'now')",
	    "UPDATE notification_channels SET enabled = 0",
	    "DELETE FROM notification_channels",
	    "INSERT INTO intelligence_providers (name, provider, created_at, updated_at)"
	    " VALUES ('p', 'local', 'now', 'now')",
	    "UPDATE intelligence_providers SET is_active = 1",
	    "DELETE FROM intelligence_providers",
	    "INSERT INTO silences (id, matchers, starts_at, ends_at, created_at, updated_at)"
	    " VALUES ('s', '[]', 'a', 'b', 'now', 'now')",
	    "UPDATE silences SET ends_at = 'c'",
	    "DELETE FROM silences",
	    "INSERT INTO inhibit_rules (id, source_matchers, target_matchers, created_at)"
	    " VALUES ('i', '[]', '[]', 'now')",
	    "UPDATE inhibit_rules SET equal = '[\"x\"]'",
	    "DELETE FROM inhibit_rules",
	    "INSERT INTO maintenance_windows (id, matchers, schedule, created_at)"
	    " VALUES ('m', '[]', 'x', 'now')",
	    "UPDATE maintenance_windows SET tz = 'UTC'",
	    "DELETE FROM maintenance_windows",
	};
	char path[256], other[256];
	sm_store *a, *b, *c;
	sm_error err;
	sqlite3_int64 v;

	(void)state;
	snprintf(path, sizeof path, "%s/cv.db", dir);
	snprintf(other, sizeof other, "%s/cv2.db", dir);
	assert_int_equal(sm_store_open(path, &a, &err), 0);
	assert_int_equal(sm_store_open(path, &b, &err), 0);
	v = version_of(a);
	for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
		exec_ok(b, changes[i]);
		if (version_of(a) != v + (sqlite3_int64)i + 1)
			fail_msg("%s: the version did not move on", changes[i]);
	}
	v = version_of(a);
	exec_ok(b, "INSERT INTO seen_signatures VALUES ('x', 1)");
	exec_ok(b, "UPDATE notification_channels SET enabled = 1"); /* no row: no change */
	assert_true(version_of(a) == v);
	assert_int_equal(sm_store_open(other, &c, &err), 0);
	assert_true(version_of(c) != v);
	/* Its row gone (by hand), the version cannot be read: whoever keeps
	 * what it read by the version reads it every time. */
	exec_ok(c, "DELETE FROM config_version");
	assert_true(sm_store_config_version(c) == -1);
	sm_store_close(c);
	sm_store_close(b);
	sm_store_close(a);
}

/* Read within a transaction, the version is the snapshot's; a BEGIN alone
 * takes no snapshot, so a change committed after it is seen. */
static void config_version_within_a_transaction(void **state)
{
	static const char *const add =
	    "INSERT INTO notification_channels (name, driver, created_at, updated_at)"
	    " VALUES (hex(randomblob(8)), 'generic', 'now', 'now')";
	char path[256];
	sm_store *a, *b;
	sm_error err;
	sqlite3_int64 v;

	(void)state;
	snprintf(path, sizeof path, "%s/cvt.db", dir);
	assert_int_equal(sm_store_open(path, &a, &err), 0);
	assert_int_equal(sm_store_open(path, &b, &err), 0);
	v = version_of(a);
	exec_ok(a, "BEGIN");
	exec_ok(b, add);
	assert_true(version_of(a) == v + 1);
	exec_ok(b, add);
	assert_true(version_of(a) == v + 1); /* the snapshot holds */
	exec_ok(a, "COMMIT");
	assert_true(version_of(a) == v + 2);
	/* The handle's own change within its transaction. */
	exec_ok(a, "BEGIN IMMEDIATE");
	assert_true(version_of(a) == v + 2);
	exec_ok(a, add);
	assert_true(version_of(a) == v + 3);
	exec_ok(a, "COMMIT");
	sm_store_close(b);
	sm_store_close(a);
}

/* A store of the version before is given the version on its next open. */
static void an_older_store_gets_the_config_version(void **state)
{
	char path[256];
	sm_store *store;
	sm_error err;
	sqlite3_stmt *st;
	sqlite3_int64 v;

	(void)state;
	snprintf(path, sizeof path, "%s/old.db", dir);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	st = sm_store_prepare(store,
	                      "SELECT 'DROP TRIGGER ' || name FROM sqlite_schema"
	                      " WHERE type = 'trigger' AND name LIKE 'config_version_%'",
	                      &err);
	assert_non_null(st);
	exec_ok(store, "BEGIN");
	{
		int dropped = 0;
		char sql[128][128];
		while (sqlite3_step(st) == SQLITE_ROW && dropped < 128)
			snprintf(sql[dropped++], sizeof sql[0], "%s", sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		assert_int_equal(dropped, 18);
		for (int i = 0; i < dropped; i++)
			exec_ok(store, sql[i]);
	}
	exec_ok(store, "DROP TABLE config_version; PRAGMA user_version = 13; COMMIT");
	sm_store_close(store);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_int_equal(sm_store_schema_version(store), sm_store_schema_latest());
	v = version_of(store);
	exec_ok(store, "INSERT INTO pipeline_definitions (name, definition, created_at, updated_at)"
	               " VALUES ('d', '{}', 'now', 'now')");
	assert_true(version_of(store) == v + 1);
	sm_store_close(store);
}

/* --- a long-running process -------------------------------------------------- */

/* Run as "test_store long-running yes|no" in a process of its own (SQLite
 * is set up once a process): 0 when a store's connection has a page-cache
 * arena exactly when sm_store_long_running was called. */
static int long_running_child(bool on)
{
	char path[256];
	sm_store *store;
	sm_error err;
	bool arena;
	int rc;

	if (!getenv("SM_TEST_DIR"))
		return 2;
	if (on)
		sm_store_long_running();
	snprintf(path, sizeof path, "%s/lr%d.db", getenv("SM_TEST_DIR"), on);
	if (sm_store_open(path, &store, &err) < 0)
		return 2;
	rc = sm_store_exec(store,
	                   "CREATE TABLE t (v); INSERT INTO t SELECT hex(randomblob(900)) FROM"
	                   " (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
	                   " WHERE i < 200) SELECT i FROM n); SELECT count(*) FROM t",
	                   &err);
	/* The arena: one block of the page cache's size, mapped by malloc. */
	arena = mallinfo2().hblkhd >= 256 * 4096;
	sm_store_close(store);
	if (rc < 0)
		return 3;
	return arena == on ? 0 : 1;
}

static void long_running_pages_come_from_an_arena(void **state)
{
	(void)state;
#ifdef __SANITIZE_ADDRESS__
	skip(); /* its allocator is not malloc's: no arena to see */
#endif
	for (int on = 0; on < 2; on++) {
		int status;
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			setenv("SM_TEST_DIR", dir, 1);
			execl("/proc/self/exe", "test_store", "long-running", on ? "yes" : "no",
			      (char *)NULL);
			_exit(127);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		if (WEXITSTATUS(status) != 0)
			fail_msg("long-running %s: exit %d", on ? "yes" : "no",
			         WEXITSTATUS(status));
	}
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "long-running") == 0)
		return long_running_child(strcmp(argv[2], "yes") == 0);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(creates_file_0600_with_parents),
	    cmocka_unit_test(has_every_table_and_pragmas),
	    cmocka_unit_test(no_disk_wait_sets_synchronous_normal),
	    cmocka_unit_test(reopen_keeps_data_and_version),
	    cmocka_unit_test(newer_schema_is_refused),
	    cmocka_unit_test(readonly_open),
	    cmocka_unit_test(default_path_rules),
	    cmocka_unit_test(unwritable_place_fails_cleanly),
	    cmocka_unit_test(concurrent_openers_migrate_once),
	    cmocka_unit_test(hot_paths_need_no_temporary_btrees),
	    cmocka_unit_test(exec_reuses_short_statements),
	    cmocka_unit_test(kept_statements_are_reused),
	    cmocka_unit_test(wal_kept_and_bounded_across_processes),
	    cmocka_unit_test(wal_starts_over_past_the_restart_mark),
	    cmocka_unit_test(wal_frames_of_a_rollback_never_land_on_later_commits),
	    cmocka_unit_test(wal_padded_commits_are_whole_when_published),
	    cmocka_unit_test(wal_commit_larger_than_the_gather_fails_whole),
	    cmocka_unit_test(a_wait_for_the_lock_makes_naps_precise),
	    cmocka_unit_test(mapped_reads_see_what_others_commit),
	    cmocka_unit_test(mapped_pages_are_let_go_when_idle),
	    cmocka_unit_test(a_file_cut_short_under_a_mapped_reader_is_an_error),
	    cmocka_unit_test(closing_a_store_keeps_the_other_handles_locks),
	    cmocka_unit_test(config_version_moves_with_the_configuration),
	    cmocka_unit_test(config_version_within_a_transaction),
	    cmocka_unit_test(an_older_store_gets_the_config_version),
	    cmocka_unit_test(long_running_pages_come_from_an_arena),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
