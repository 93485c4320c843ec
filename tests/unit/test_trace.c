/* test_trace.c - trace ids. */
#include "testutil.h"
#include "sm/trace.h"

#include <sys/wait.h>
#include <unistd.h>

static void new_ids_are_valid_and_distinct(void **state)
{
	char a[SM_TRACE_LEN + 1], b[SM_TRACE_LEN + 1];

	(void)state;
	assert_int_equal(sm_trace_new(a), 0);
	assert_int_equal(sm_trace_new(b), 0);
	assert_int_equal(strlen(a), 32);
	assert_true(sm_trace_valid(a));
	assert_true(sm_trace_valid(b));
	assert_string_not_equal(a, b);
}

/* Ids come from a pool of random bytes refilled 4 KiB at a time: across
 * refills, none repeats. */
static void ids_across_pool_refills_are_distinct(void **state)
{
	enum { N = 1000 }; /* 16 000 random bytes: four refills */
	char(*ids)[SM_TRACE_LEN + 1] = calloc(N, sizeof *ids);

	(void)state;
	assert_non_null(ids);
	for (int i = 0; i < N; i++)
		assert_int_equal(sm_trace_new(ids[i]), 0);
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			assert_string_not_equal(ids[i], ids[j]);
	free(ids);
}

/* A forked child does not hand out the ids its parent's pool holds. */
static void a_forked_child_does_not_repeat_its_parent(void **state)
{
	char parent[SM_TRACE_LEN + 1], child[SM_TRACE_LEN + 1] = "";
	int fds[2], status;
	pid_t pid;

	(void)state;
	assert_int_equal(sm_trace_new(parent), 0); /* the pool is filled */
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char id[SM_TRACE_LEN + 1];
		_exit(sm_trace_new(id) == 0 && write(fds[1], id, SM_TRACE_LEN) == SM_TRACE_LEN ? 0
		                                                                               : 1);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], child, SM_TRACE_LEN), SM_TRACE_LEN);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);
	assert_int_equal(sm_trace_new(parent), 0);
	assert_true(sm_trace_valid(child));
	assert_string_not_equal(parent, child);
}

static void validation(void **state)
{
	(void)state;
	assert_true(sm_trace_valid("0123456789abcdef0123456789abcdef"));
	assert_false(sm_trace_valid("0123456789ABCDEF0123456789abcdef"));
	assert_false(sm_trace_valid("0123456789abcdef0123456789abcde"));
	assert_false(sm_trace_valid("0123456789abcdef0123456789abcdef0"));
	assert_false(sm_trace_valid("0123456789abcdeg0123456789abcdef"));
	assert_false(sm_trace_valid(""));
	assert_false(sm_trace_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(new_ids_are_valid_and_distinct),
	    cmocka_unit_test(ids_across_pool_refills_are_distinct),
	    cmocka_unit_test(a_forked_child_does_not_repeat_its_parent),
	    cmocka_unit_test(validation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
