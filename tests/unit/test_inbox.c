/* test_inbox.c - the webhook queue: put, claim, finish, stale claims, and
 * several workers never getting the same item. */
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"
#include "sm/inbox.h"

static char dir[64], path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/sm-inbox-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/sm.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void put_claim_finish(void **state)
{
	sm_store *store;
	sm_error err;
	json_t *env, *got;
	long long id, id2;

	(void)state;
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_int_equal(sm_inbox_claim(store, "w1", 600, &id, &got, &err), 0); /* empty */
	env = json_pack("{s:i,s:s,s:i}", "v", 1, "trace_id", "0123456789abcdef0123456789abcdef",
	                "n", 1);
	assert_int_equal(sm_inbox_put(store, env, &err), 0);
	json_object_set_new(env, "n", json_integer(2));
	assert_int_equal(sm_inbox_put(store, env, &err), 0);
	json_decref(env);
	assert_int_equal(sm_inbox_depth(store), 2);
	assert_int_equal(sm_inbox_claim(store, "w1", 600, &id, &got, &err), 1);
	assert_int_equal(json_integer_value(json_object_get(got, "n")), 1); /* oldest first */
	json_decref(got);
	assert_int_equal(sm_inbox_claim(store, "w2", 600, &id2, &got, &err), 1);
	assert_int_equal(json_integer_value(json_object_get(got, "n")), 2);
	json_decref(got);
	assert_int_equal(sm_inbox_claim(store, "w3", 600, &id2, &got, &err), 0); /* all claimed */
	assert_int_equal(sm_inbox_finish(store, id, true, NULL, &err), 0);
	assert_int_equal(sm_inbox_finish(store, id, true, NULL, &err), -1); /* not claimed now */
	assert_int_equal(sm_inbox_depth(store), 1);
	/* A claim older than the stale limit is taken again (its worker died). */
	assert_int_equal(sm_store_exec(store,
	                               "UPDATE inbox SET claimed_at = '2000-01-01T00:00:00.000Z'"
	                               " WHERE state = 'claimed'",
	                               &err),
	                 0);
	assert_int_equal(sm_inbox_claim(store, "w4", 600, &id, &got, &err), 1);
	assert_int_equal(json_integer_value(json_object_get(got, "n")), 2);
	json_decref(got);
	assert_int_equal(sm_inbox_finish(store, id, false, "boom", &err), 0);
	assert_int_equal(sm_inbox_depth(store), 0);
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
			long long id;
			json_t *got;
			int rc;
			snprintf(name, sizeof name, "w%d", w);
			if (sm_store_open(path, &s, &err) < 0)
				_exit(1);
			while ((rc = sm_inbox_claim(s, name, 600, &id, &got, &err)) == 1) {
				json_decref(got);
				if (sm_inbox_finish(s, id, true, NULL, &err) < 0)
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(put_claim_finish),
	    cmocka_unit_test(concurrent_workers_claim_each_item_once),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
