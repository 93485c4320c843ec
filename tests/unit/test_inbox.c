/* test_inbox.c - the webhook queue: put, claim, finish, stale claims, and
 * several workers never getting the same item. */
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"
#include "sm/inbox.h"

static const char *dir, *path;

static int setup(void **state)
{
	(void)state;
	dir = scratch_make("sm-inbox");
	path = scratch_db();
	return 0;
}

static int teardown(void **state)
{
	return scratch_remove(state);
}

static void put_claim_finish(void **state)
{
	sm_store *store;
	sm_error err;
	json_t *env;
	sm_inbox_item a, b, c;

	(void)state;
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_int_equal(sm_inbox_claim(store, "w1", 600, &a, &err), 0); /* empty */
	env = json_pack("{s:i,s:s,s:i}", "v", 1, "trace_id", "0123456789abcdef0123456789abcdef",
	                "n", 1);
	assert_int_equal(sm_inbox_put(store, env, &err), 0);
	json_object_set_new(env, "n", json_integer(2));
	assert_int_equal(sm_inbox_put(store, env, &err), 0);
	json_decref(env);
	assert_int_equal(sm_inbox_depth(store), 2);
	assert_int_equal(sm_inbox_claim(store, "w1", 600, &a, &err), 1);
	assert_int_equal(json_integer_value(json_object_get(a.envelope, "n")),
	                 1); /* oldest first */
	assert_int_equal(a.attempts, 1);
	assert_int_equal(sm_inbox_claim(store, "w2", 600, &b, &err), 1);
	assert_int_equal(json_integer_value(json_object_get(b.envelope, "n")), 2);
	assert_int_equal(sm_inbox_claim(store, "w3", 600, &c, &err), 0); /* all claimed */
	assert_int_equal(sm_inbox_set_run(store, &a, "run-1", "direct", &err), 0);
	assert_int_equal(sm_inbox_done(store, &a, &err), 1);
	assert_int_equal(sm_inbox_done(store, &a, &err), 0); /* not claimed now */
	assert_int_equal(sm_inbox_depth(store), 1);
	/* A claim older than the stale limit is taken again (its worker died),
	 * and the dead worker's late finish changes nothing. */
	assert_int_equal(sm_store_exec(store,
	                               "UPDATE inbox SET claimed_at = '2000-01-01T00:00:00.000Z'"
	                               " WHERE state = 'claimed'",
	                               &err),
	                 0);
	assert_int_equal(sm_inbox_claim(store, "w4", 600, &c, &err), 1);
	assert_int_equal(json_integer_value(json_object_get(c.envelope, "n")), 2);
	assert_int_equal(c.attempts, 2);
	assert_int_equal(sm_inbox_done(store, &b, &err), 0);
	/* Deferred: pending but not due, so not claimed; then failed for good. */
	assert_int_equal(sm_inbox_defer(store, &c, 3600, "later", &err), 1);
	assert_int_equal(sm_inbox_depth(store), 1);
	assert_true(sm_inbox_next_due(store) > 3500);
	sm_inbox_item_clear(&c);
	assert_int_equal(sm_inbox_claim(store, "w5", 600, &c, &err), 0);
	assert_int_equal(sm_store_exec(store, "UPDATE inbox SET next_attempt_at = NULL", &err), 0);
	assert_true(sm_inbox_next_due(store) == 0);
	assert_int_equal(sm_inbox_claim(store, "w5", 600, &c, &err), 1);
	assert_int_equal(sm_inbox_fail(store, &c, "boom", &err), 1);
	assert_int_equal(sm_inbox_depth(store), 0);
	assert_true(sm_inbox_next_due(store) < 0);
	{
		json_t *rows;
		long long n;
		assert_int_equal(sm_inbox_list(store, "failed", 0, &rows, &err), SM_EXIT_OK);
		assert_int_equal(json_array_size(rows), 1);
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(rows, 0), "error")), "boom");
		json_decref(rows);
		assert_int_equal(sm_inbox_list(store, NULL, 0, &rows, &err), SM_EXIT_OK);
		assert_int_equal(json_array_size(rows), 2);
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(rows, 1), "run_id")), "run-1");
		json_decref(rows);
		/* retry: an unknown item is 64, one not failed is 1, a failed one is back. */
		assert_int_equal(sm_inbox_retry(store, 999, &n, &err), SM_EXIT_USAGE);
		assert_int_equal(sm_inbox_retry(store, a.id, &n, &err), SM_EXIT_FAILURE);
		assert_int_equal(sm_inbox_retry(store, c.id, &n, &err), SM_EXIT_OK);
		assert_int_equal(n, 1);
		assert_int_equal(sm_inbox_depth(store), 1);
		assert_int_equal(sm_inbox_retry(store, 0, &n, &err), SM_EXIT_OK);
		assert_int_equal(n, 0);
	}
	sm_inbox_item_clear(&a);
	sm_inbox_item_clear(&b);
	sm_inbox_item_clear(&c);
	/* An envelope that is not JSON is failed on the spot, not handed out. */
	assert_int_equal(sm_inbox_put_text(store, "{oops", 5, "", &err), 0);
	assert_int_equal(sm_inbox_claim(store, "w6", 600, &a, &err), 1);
	assert_int_equal(json_integer_value(json_object_get(a.envelope, "n")), 2); /* the retried */
	sm_inbox_item_clear(&a);
	assert_int_equal(sm_inbox_claim(store, "w6", 600, &a, &err), 0);
	{
		sqlite3_stmt *st = sm_store_prepare(
		    store, "SELECT state, error FROM inbox WHERE envelope = '{oops'", NULL);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), "failed");
		assert_non_null(strstr((const char *)sqlite3_column_text(st, 1), "unreadable"));
		sqlite3_finalize(st);
	}
	sm_store_close(store);
}

static void heartbeats_keep_a_claim(void **state)
{
	sm_store *store;
	sm_error err;
	sm_inbox_item a, b;
	json_t *env = json_pack("{s:i}", "v", 1);

	(void)state;
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_int_equal(sm_store_exec(store, "DELETE FROM inbox", &err), 0);
	assert_int_equal(sm_inbox_put(store, env, &err), 0);
	json_decref(env);
	assert_int_equal(sm_inbox_claim(store, "w1", 60, &a, &err), 1);
	/* The claim is old, but its worker said it is alive: not taken. */
	assert_int_equal(
	    sm_store_exec(store, "UPDATE inbox SET claimed_at = '2000-01-01T00:00:00.000Z'", &err),
	    0);
	snprintf(a.claimed_at, sizeof a.claimed_at, "2000-01-01T00:00:00.000Z");
	assert_int_equal(sm_inbox_heartbeat(store, &a, &err), 1);
	assert_int_equal(sm_inbox_claim(store, "w2", 60, &b, &err), 0);
	/* Its heartbeats stop: taken once they are old too; the first worker's
	 * heartbeat and finish then change nothing. */
	assert_int_equal(sm_store_exec(store,
	                               "UPDATE inbox SET heartbeat_at = '2000-01-01T00:00:00.000Z'",
	                               &err),
	                 0);
	assert_int_equal(sm_inbox_claim(store, "w2", 60, &b, &err), 1);
	assert_int_equal(sm_inbox_heartbeat(store, &a, &err), 0);
	assert_int_equal(sm_inbox_done(store, &a, &err), 0);
	assert_int_equal(sm_inbox_heartbeat(store, &b, &err), 1);
	assert_int_equal(sm_inbox_done(store, &b, &err), 1);
	sm_inbox_item_clear(&a);
	sm_inbox_item_clear(&b);
	sm_store_close(store);
}

/* A claim given back unstarted is pending again, its attempt undone, and
 * the next claim takes it at once; a claim no longer this one is left. */
static void release_gives_a_claim_back(void **state)
{
	sm_store *store;
	sm_error err;
	sm_inbox_item a, b, c;
	json_t *env = json_pack("{s:i}", "v", 1);

	(void)state;
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_int_equal(sm_store_exec(store, "DELETE FROM inbox", &err), 0);
	assert_int_equal(sm_inbox_put(store, env, &err), 0);
	json_decref(env);
	assert_int_equal(sm_inbox_claim(store, "w1", 600, &a, &err), 1);
	assert_int_equal(sm_inbox_release(store, &a, &err), 1);
	assert_int_equal(sm_inbox_depth(store), 1);
	assert_int_equal(sm_inbox_release(store, &a, &err), 0); /* no longer claimed */
	assert_int_equal(sm_inbox_claim(store, "w2", 600, &b, &err), 1);
	assert_int_equal(b.id, a.id);
	assert_int_equal(b.attempts, 1); /* the released claim did not count */
	assert_int_equal(sm_inbox_release(store, &a, &err), 0); /* w2's now */
	assert_int_equal(sm_inbox_claim(store, "w3", 600, &c, &err), 0);
	assert_int_equal(sm_inbox_done(store, &b, &err), 1);
	sm_inbox_item_clear(&a);
	sm_inbox_item_clear(&b);
	sm_store_close(store);
}

/* Several due items in one claim, oldest first, as many as asked; an
 * envelope that is not JSON among them is failed and left out. */
static void claim_many_takes_the_oldest(void **state)
{
	sm_store *store;
	sm_error err;
	sm_inbox_item items[8];
	size_t n = 0;

	(void)state;
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_int_equal(sm_store_exec(store, "DELETE FROM inbox", &err), 0);
	for (int i = 1; i <= 4; i++) {
		json_t *env = json_pack("{s:i,s:i}", "v", 1, "n", i);
		assert_int_equal(sm_inbox_put(store, env, &err), 0);
		json_decref(env);
	}
	assert_int_equal(sm_store_exec(store,
	                               "UPDATE inbox SET envelope = '{oops' WHERE id ="
	                               " (SELECT min(id) + 1 FROM inbox)",
	                               &err),
	                 0);
	assert_int_equal(sm_inbox_claim_many(store, "w1", 600, items, 2, &n, &err), 1);
	assert_int_equal(n, 1); /* the second was the broken one: failed */
	assert_int_equal(json_integer_value(json_object_get(items[0].envelope, "n")), 1);
	sm_inbox_item_clear(&items[0]);
	assert_int_equal(sm_inbox_claim_many(store, "w1", 600, items, 8, &n, &err), 1);
	assert_int_equal(n, 2);
	assert_int_equal(json_integer_value(json_object_get(items[0].envelope, "n")), 3);
	assert_int_equal(json_integer_value(json_object_get(items[1].envelope, "n")), 4);
	assert_int_equal(items[1].attempts, 1);
	assert_string_equal(items[1].worker, "w1");
	sm_inbox_item_clear(&items[0]);
	sm_inbox_item_clear(&items[1]);
	assert_int_equal(sm_inbox_claim_many(store, "w2", 600, items, 8, &n, &err), 0);
	assert_int_equal(n, 0);
	{
		sqlite3_stmt *st = sm_store_prepare(
		    store,
		    "SELECT group_concat(state, ' ') FROM (SELECT state FROM inbox ORDER BY id)",
		    &err);
		assert_non_null(st);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0),
		                    "claimed failed claimed claimed");
		sqlite3_finalize(st);
	}
	sm_store_close(store);
}

static void concurrent_workers_claim_each_item_once(void **state)
{
	enum { ITEMS = 200, WORKERS = 4 };
	sm_store *store;
	sm_error err;
	int status;
	pid_t pids[WORKERS];

	(void)state;
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_int_equal(sm_store_exec(store, "DELETE FROM inbox", &err), 0);
	assert_int_equal(sm_store_begin(store, &err), 0);
	for (int i = 0; i < ITEMS; i++) {
		json_t *env = json_pack("{s:i,s:i}", "v", 1, "n", i);
		assert_int_equal(sm_inbox_put(store, env, &err), 0);
		json_decref(env);
	}
	assert_int_equal(sm_store_commit(store, &err), 0);
	sm_store_close(store);
	for (int w = 0; w < WORKERS; w++) {
		pids[w] = fork();
		assert_true(pids[w] >= 0);
		if (pids[w] == 0) {
			char name[16];
			sm_store *s;
			sm_inbox_item it;
			int rc;
			snprintf(name, sizeof name, "w%d", w);
			if (sm_store_open(path, &s, &err) < 0)
				_exit(1);
			while ((rc = sm_inbox_claim(s, name, 600, &it, &err)) == 1) {
				int done = sm_inbox_done(s, &it, &err);
				sm_inbox_item_clear(&it);
				if (done != 1)
					_exit(2);
			}
			_exit(rc == 0 ? 0 : 3);
		}
	}
	for (int w = 0; w < WORKERS; w++) {
		waitpid(pids[w], &status, 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	{
		sqlite3_stmt *st = sm_store_prepare(
		    store,
		    "SELECT count(*), sum(attempts), count(DISTINCT claimed_by) FROM inbox"
		    " WHERE state = 'done'",
		    NULL);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), ITEMS);
		assert_int_equal(sqlite3_column_int(st, 1), ITEMS); /* each claimed exactly once */
		sqlite3_finalize(st);
	}
	sm_store_close(store);
}

/* An item queued with a promised run id and a definition is claimed with
 * both; one without has neither. */
static void put_run_promises_the_run(void **state)
{
	sm_store *store;
	sm_error err;
	json_t *env = json_pack("{s:i}", "v", 1);
	sm_inbox_item a, b;

	(void)state;
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_int_equal(sm_store_exec(store, "DELETE FROM inbox", &err), 0);
	assert_int_equal(
	    sm_inbox_put_run(store, env, "11111111-2222-4333-8444-555555555555", "direct", &err),
	    0);
	assert_int_equal(
	    sm_inbox_put_run(store, env, "11111111-2222-4333-8444-666666666666", NULL, &err), 0);
	json_decref(env);
	assert_int_equal(sm_inbox_claim(store, "w1", 600, &a, &err), 1);
	assert_string_equal(a.run_id, "11111111-2222-4333-8444-555555555555");
	assert_string_equal(a.definition, "direct");
	assert_int_equal(sm_inbox_claim(store, "w1", 600, &b, &err), 1);
	assert_string_equal(b.run_id, "11111111-2222-4333-8444-666666666666");
	assert_string_equal(b.definition, "");
	sm_inbox_item_clear(&a);
	sm_inbox_item_clear(&b);
	sm_store_close(store);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(put_claim_finish),
	    cmocka_unit_test(heartbeats_keep_a_claim),
	    cmocka_unit_test(release_gives_a_claim_back),
	    cmocka_unit_test(claim_many_takes_the_oldest),
	    cmocka_unit_test(concurrent_workers_claim_each_item_once),
	    cmocka_unit_test(put_run_promises_the_run),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
