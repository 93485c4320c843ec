/* store.h - the SQLite store shared by every tool.
 *
 * Location: $SM_DB; else /var/lib/sm/sm.db for root; else
 * $XDG_STATE_HOME/sm/sm.db (default ~/.local/state/sm/sm.db). Created on
 * first use with mode 0600 (directories 0700); WAL journal, a busy timeout
 * for concurrent writers, foreign keys on; the schema version is PRAGMA
 * user_version and opening migrates forward.
 */
#ifndef SM_STORE_H
#define SM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sqlite3.h>
#include "sm/err.h"

typedef struct sm_store sm_store;

/* The schema version this libsm writes. */
int sm_store_schema_latest(void);
/* Where the store lives by the rules above. */
int sm_store_default_path(char *buf, size_t size, sm_error *err);
/* Open (creating and migrating as needed); path NULL means the default. */
int sm_store_open(const char *path, sm_store **out, sm_error *err);
/* Open for reading only (listings): a read-only file can be read, and
 * nothing is written. A missing store is created and an older one
 * migrated, as by sm_store_open; a newer one is refused. */
int sm_store_open_readonly(const char *path, sm_store **out, sm_error *err);
void sm_store_close(sm_store *store);
/* From now on the stores this process opens get a shared mapping of their
 * files, and while on, reads are copied out of it rather than a read(2) a
 * page: for a process that runs long beside other writers (the queue's
 * workers), whose page cache each of their commits empties. A page read
 * for the first time costs a page fault instead, so it pays where pages
 * are read again and again (a backlog), not for a lone read. The pages
 * read count in its resident size until sm_store_map_idle. */
void sm_store_map_reads(bool on);
/* The process is idle: the mapped pages it read are let go (the kernel
 * keeps them in its page cache), so that it counts its own memory only.
 * The next reads fault them in again, which costs more than the reads
 * the mapping saves: not for a process between two requests. */
void sm_store_map_idle(void);

/* The process runs long and handles one item after another beside other
 * writers (a queue's worker, a FastCGI responder): before its first store
 * is opened, SQLite's page cache gets an arena of its own, and malloc keeps
 * what is freed rather than give it back to the kernel. Each commit of
 * another process empties the page cache; refilled a malloc a page, with
 * the heap given back and faulted in again, the first read after it cost
 * several times more. */
void sm_store_long_running(void);

sqlite3 *sm_store_db(sm_store *store);
const char *sm_store_path(const sm_store *store);
/* Whether a commit waits for the disk: true unless the process runs with
 * SM_STORE_SYNC=normal (sm-ingest(1)). */
bool sm_store_waits_for_disk(const sm_store *store);
/* From now on this handle's commits do not wait for the disk (as with
 * SM_STORE_SYNC=normal): a crash of the machine may lose the last ones,
 * never the store. For writes that are repeated anyway (sm-check's runs). */
int sm_store_no_disk_wait(sm_store *store, sm_error *err);
int sm_store_schema_version(sm_store *store);
/* The configuration's version: a number that every change to the tables a
 * long-running process decides by (pipeline_definitions,
 * notification_channels, intelligence_providers, silences, inhibit_rules,
 * maintenance_windows) moves on, whoever makes it (a trigger of the
 * store's). While it stays, what was read from those tables holds; two
 * stores start at random numbers. Read from the store, except within a
 * transaction where the store did not change since it was last read; -1
 * when it cannot be read. */
sqlite3_int64 sm_store_config_version(sm_store *store);

/* One transaction per unit of work; begin takes the write lock at once
 * (BEGIN IMMEDIATE) so concurrent writers queue on the busy timeout
 * instead of failing mid-transaction. */
int sm_store_begin(sm_store *store, sm_error *err);
int sm_store_commit(sm_store *store, sm_error *err);
void sm_store_rollback(sm_store *store);

/* The number a check_runs row is charted by (the status page): cpu's
 * cpu_percent, memory's memory_percent, disk's worst_percent, load's
 * load1_per_cpu; NULL for other checkers or metrics that are not JSON.
 * The index check_runs_checker holds it after (checker, hostname,
 * executed_at), so a chart reads the index alone; a query must spell the
 * expression exactly so for SQLite to use it. (No IN list: it would make
 * every insert build a temporary table.) */
#define SM_STORE_CHART_VALUE                                                                       \
	"(CASE WHEN json_valid(metrics) THEN json_extract(metrics, CASE checker"                   \
	" WHEN 'cpu' THEN '$.cpu_percent' WHEN 'memory' THEN '$.memory_percent'"                   \
	" WHEN 'disk' THEN '$.worst_percent' WHEN 'load' THEN '$.load1_per_cpu' END) END)"

/* Prepare a statement, filling err with SQLite's message on failure. */
sqlite3_stmt *sm_store_prepare(sm_store *store, const char *sql, sm_error *err);
/* The same, kept by the handle for the next call with the same SQL (a
 * statement run once per row of a transaction is parsed once): returned
 * reset, its bindings cleared; never finalized by the caller (closing the
 * store does). sql must outlive the handle (a string constant). */
sqlite3_stmt *sm_store_prepare_kept(sm_store *store, const char *sql, sm_error *err);
/* Run SQL without results (one or more statements). */
int sm_store_exec(sm_store *store, const char *sql, sm_error *err);

#endif
