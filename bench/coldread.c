/* bench/coldread.c - the first read of a connection after another process
 * committed, as a queue's worker makes it after its handler's commit.
 *
 * A writer process commits a small transaction and signals the reader,
 * which times its next one-row read (the "cold" read: SQLite empties the
 * connection's page cache when the WAL changed) and a second one right
 * after it (warm), then commits ROWS rows of its own (an indexed table:
 * the pages they touch are what its cache holds at the next cold read, as
 * a worker's records of an item) and signals back. Prints the two medians
 * in microseconds.
 *
 *   coldread DB N ROWS ARENA IDLE_US
 *     ARENA    0: SQLite's page cache one malloc a page (sm's short-lived
 *              tools); N > 0: an arena of N pages per connection
 *              (sm_store_long_running)
 *     IDLE_US  the writer sleeps this long before each commit, as between
 *              two alerts (the reader's CPU caches go cold meanwhile)
 * Run it with GLIBC_TUNABLES=glibc.malloc.trim_threshold=... to see what
 * malloc giving memory back costs (bench/coldread.sh runs the variants).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "coldread: %s: %s\n", sql, msg);
		exit(1);
	}
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static sqlite3 *open_db(const char *path)
{
	sqlite3 *db;

	if (sqlite3_open(path, &db) != SQLITE_OK) {
		fprintf(stderr, "coldread: cannot open %s\n", path);
		exit(1);
	}
	exec(db, "PRAGMA synchronous = NORMAL");
	return db;
}

int main(int argc, char **argv)
{
	int to_reader[2], to_writer[2], n, rows, arena, idle_us;
	double *cold, *warm;
	sqlite3 *db;
	sqlite3_stmt *one, *row;
	char c;

	if (argc != 6) {
		fprintf(stderr, "usage: coldread DB N ROWS ARENA IDLE_US\n");
		return 64;
	}
	n = atoi(argv[2]);
	rows = atoi(argv[3]);
	arena = atoi(argv[4]);
	idle_us = atoi(argv[5]);
	if (arena > 0) {
		int header = 0;
		sqlite3_config(SQLITE_CONFIG_PCACHE_HDRSZ, &header);
		sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 4096 + header, arena);
	} else {
		sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
	}
	db = open_db(argv[1]);
	exec(db, "PRAGMA journal_mode = WAL; DROP TABLE IF EXISTS v; DROP TABLE IF EXISTS a;"
	         " DROP TABLE IF EXISTS b; CREATE TABLE v (id INTEGER PRIMARY KEY, n);"
	         " INSERT INTO v VALUES (1, 0); CREATE TABLE a (t); CREATE TABLE b (t);"
	         " CREATE INDEX b_t ON b (t)");
	sqlite3_close(db);
	if (pipe(to_reader) < 0 || pipe(to_writer) < 0)
		return 1;
	if (fork() == 0) {
		db = open_db(argv[1]);
		for (int i = 0; i < n; i++) {
			if (idle_us > 0)
				usleep((useconds_t)idle_us);
			exec(
			    db,
			    "BEGIN IMMEDIATE; INSERT INTO a VALUES (hex(randomblob(300))); COMMIT");
			if (write(to_reader[1], "x", 1) != 1 || read(to_writer[0], &c, 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	db = open_db(argv[1]);
	sqlite3_prepare_v2(db, "SELECT n FROM v WHERE id = 1", -1, &one, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO b VALUES (hex(randomblob(200)))", -1, &row, NULL);
	cold = calloc((size_t)n, sizeof *cold);
	warm = calloc((size_t)n, sizeof *warm);
	if (!cold || !warm)
		return 1;
	for (int i = 0; i < n; i++) {
		double t0, t1, t2;
		if (read(to_reader[0], &c, 1) != 1)
			return 1;
		t0 = now_us();
		sqlite3_step(one);
		sqlite3_reset(one);
		t1 = now_us();
		sqlite3_step(one);
		sqlite3_reset(one);
		t2 = now_us();
		cold[i] = t1 - t0;
		warm[i] = t2 - t1;
		exec(db, "BEGIN IMMEDIATE");
		for (int k = 0; k < rows; k++) {
			sqlite3_step(row);
			sqlite3_reset(row);
		}
		exec(db, "COMMIT");
		if (write(to_writer[1], "x", 1) != 1)
			return 1;
	}
	wait(NULL);
	qsort(cold, (size_t)n, sizeof *cold, by_value);
	qsort(warm, (size_t)n, sizeof *warm, by_value);
	printf("%.1f %.1f\n", cold[n / 2], warm[n / 2]);
	sqlite3_finalize(one);
	sqlite3_finalize(row);
	sqlite3_close(db);
	free(cold);
	free(warm);
	return 0;
}
