/* test_spawn.c - running programs: status, signals, stdin, environment,
 * captured output, deadlines and the descriptors a child inherits. */
#include <errno.h>
#include <signal.h>
#include <time.h>

#include "testutil.h"
#include "sm/spawn.h"

/* Run argv (with input when not NULL and a timeout); asserts it started. */
static void run(const char *const *argv, const char *input, double timeout_s, sm_spawn_result *res)
{
	sm_spawn_opts opts = {.argv = argv, .input = input, .timeout_s = timeout_s};

	opts.input_len = input ? strlen(input) : 0;
	if (sm_spawn_run(&opts, res) != 0)
		fail_msg("sm_spawn_run: %s", res->error);
	assert_string_equal(res->error, "");
	assert_non_null(res->out);
	assert_non_null(res->errout);
}

static void exit_status(void **state)
{
	const char *const argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
	sm_spawn_result res;

	(void)state;
	run(argv, NULL, 5, &res);
	assert_int_equal(res.exit_status, 3);
	assert_int_equal(res.signal, 0);
	assert_false(res.timed_out);
	assert_string_equal(res.out, "out\n");
	assert_int_equal(res.out_len, 4);
	assert_string_equal(res.errout, "err\n");
	sm_spawn_result_clear(&res);
	assert_null(res.out);
}

static void killed_by_signal(void **state)
{
	const char *const argv[] = {"sh", "-c", "kill -USR1 $$", NULL};
	sm_spawn_result res;

	(void)state;
	run(argv, NULL, 5, &res);
	assert_int_equal(res.exit_status, -1);
	assert_int_equal(res.signal, SIGUSR1);
	assert_false(res.timed_out);
	sm_spawn_result_clear(&res);
}

static void stdin_delivered(void **state)
{
	const char *const cat[] = {"cat", NULL};
	size_t big = 1 << 20;
	char *input = malloc(big + 1);
	sm_spawn_opts opts = {.argv = cat, .max_output = 2 * big};
	sm_spawn_result res;

	(void)state;
	run(cat, "line one\nline two\n", 5, &res);
	assert_int_equal(res.exit_status, 0);
	assert_string_equal(res.out, "line one\nline two\n");
	sm_spawn_result_clear(&res);

	/* More than a pipe holds: the writes and the reads must interleave. */
	assert_non_null(input);
	for (size_t i = 0; i < big; i++)
		input[i] = (char)('a' + i % 26);
	input[big] = '\0';
	opts.input = input;
	opts.input_len = big;
	assert_int_equal(sm_spawn_run(&opts, &res), 0);
	assert_int_equal(res.exit_status, 0);
	assert_int_equal(res.out_len, big);
	assert_memory_equal(res.out, input, big);
	sm_spawn_result_clear(&res);
	free(input);
}

static void stdin_null_when_no_input(void **state)
{
	const char *const cat[] = {"cat", NULL};
	sm_spawn_result res;

	(void)state;
	run(cat, NULL, 5, &res);
	assert_int_equal(res.exit_status, 0);
	assert_int_equal(res.out_len, 0);
	assert_string_equal(res.out, "");
	sm_spawn_result_clear(&res);
}

static void env_added(void **state)
{
	const char *const argv[] = {"sh", "-c",
	                            "printf '%s|%s|%s' \"$SM_T_NEW\" \"$SM_T_OLD\" "
	                            "\"$SM_T_KEPT\"",
	                            NULL};
	const char *const env[] = {"SM_T_NEW=new value", "SM_T_OLD=replaced", NULL};
	sm_spawn_opts opts = {.argv = argv, .env_add = env};
	sm_spawn_result res;

	(void)state;
	setenv("SM_T_OLD", "original", 1);
	setenv("SM_T_KEPT", "kept", 1);
	assert_int_equal(sm_spawn_run(&opts, &res), 0);
	assert_string_equal(res.out, "new value|replaced|kept");
	sm_spawn_result_clear(&res);
	/* The caller's own environment is untouched. */
	assert_string_equal(getenv("SM_T_OLD"), "original");
	assert_null(getenv("SM_T_NEW"));
}

/* With env_pass, the child gets only the variables named, then env_add. */
static void env_passed_only(void **state)
{
	const char *const argv[] = {
	    "sh", "-c",
	    "printf '%s|%s|%s|%s' \"$SM_T_PASSED\" \"${SM_T_SECRET-unset}\" "
	    "\"$SM_T_ADDED\" \"$(env | wc -l | tr -d ' ')\"",
	    NULL};
	const char *const pass[] = {"SM_T_PASSED", "SM_T_ABSENT", NULL};
	const char *const env[] = {"SM_T_ADDED=added", NULL};
	sm_spawn_opts opts = {.argv = argv, .env_pass = pass, .env_add = env};
	sm_spawn_result res;

	(void)state;
	setenv("SM_T_PASSED", "passed", 1);
	setenv("SM_T_SECRET", "secret", 1);
	assert_int_equal(sm_spawn_run(&opts, &res), 0);
	/* Two variables, and whatever sh sets itself (PWD, SHLVL, _). */
	assert_true(strncmp(res.out, "passed|unset|added|", 19) == 0);
	assert_true(atoi(res.out + 19) <= 5);
	sm_spawn_result_clear(&res);
	unsetenv("SM_T_PASSED");
	unsetenv("SM_T_SECRET");
}

static void bad_env_entry(void **state)
{
	const char *const argv[] = {"true", NULL};
	const char *const env[] = {"NO_EQUALS_SIGN", NULL};
	sm_spawn_opts opts = {.argv = argv, .env_add = env};
	sm_spawn_result res;

	(void)state;
	assert_int_equal(sm_spawn_run(&opts, &res), -1);
	assert_non_null(strstr(res.error, "NAME=value"));
	sm_spawn_result_clear(&res);
}

static void output_capped(void **state)
{
	const char *const argv[] = {
	    "sh", "-c", "head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2; exit 4", NULL};
	sm_spawn_opts opts = {.argv = argv, .max_output = 1000, .timeout_s = 10};
	sm_spawn_result res;

	(void)state;
	assert_int_equal(sm_spawn_run(&opts, &res), 0);
	/* The rest was drained, so the program ran to its end. */
	assert_int_equal(res.exit_status, 4);
	assert_int_equal(res.out_len, 1000);
	assert_int_equal(res.errout_len, 1000);
	assert_int_equal(res.out[1000], '\0');
	sm_spawn_result_clear(&res);

	/* The default cap. */
	opts.max_output = 0;
	assert_int_equal(sm_spawn_run(&opts, &res), 0);
	assert_int_equal(res.out_len, SM_SPAWN_MAX_OUTPUT);
	sm_spawn_result_clear(&res);
}

static bool sigpipe_pending(void)
{
	sigset_t pending;

	sigpending(&pending);
	return sigismember(&pending, SIGPIPE);
}

static void input_ignored(void **state)
{
	const char *const argv[] = {"sh", "-c", "exec 0<&-; echo done", NULL};
	size_t big = 1 << 20;
	char *input = calloc(1, big);
	sm_spawn_opts opts = {.argv = argv, .input = input, .input_len = big, .timeout_s = 10};
	struct sigaction before, after;
	sm_spawn_result res;

	(void)state;
	assert_non_null(input);
	sigaction(SIGPIPE, NULL, &before);
	/* SIGPIPE left at its default would kill this test if it leaked. */
	assert_true(before.sa_handler == SIG_DFL);
	assert_int_equal(sm_spawn_run(&opts, &res), 0);
	assert_int_equal(res.exit_status, 0);
	assert_string_equal(res.out, "done\n");
	sm_spawn_result_clear(&res);

	const char *const t[] = {"true", NULL};
	opts.argv = t;
	assert_int_equal(sm_spawn_run(&opts, &res), 0);
	assert_int_equal(res.exit_status, 0);
	sm_spawn_result_clear(&res);
	assert_false(sigpipe_pending());
	sigaction(SIGPIPE, NULL, &after);
	assert_true(after.sa_handler == SIG_DFL);
	free(input);
}

static void not_found(void **state)
{
	const char *const by_path[] = {"/nonexistent/sm-no-such-program", NULL};
	const char *const by_name[] = {"sm-no-such-program-on-path", NULL};
	const char *const none[] = {NULL};
	sm_spawn_opts opts = {.argv = by_path};
	sm_spawn_result res;

	(void)state;
	assert_int_equal(sm_spawn_run(&opts, &res), -1);
	assert_string_equal(
	    res.error, "cannot run /nonexistent/sm-no-such-program: No such file or directory");
	sm_spawn_result_clear(&res);
	opts.argv = by_name;
	assert_int_equal(sm_spawn_run(&opts, &res), -1);
	assert_string_equal(res.error,
	                    "cannot run sm-no-such-program-on-path: No such file or directory");
	sm_spawn_result_clear(&res);
	/* A directory is no program. */
	const char *const dir[] = {"/", NULL};
	opts.argv = dir;
	assert_int_equal(sm_spawn_run(&opts, &res), -1);
	assert_string_equal(res.error, "cannot run /: Permission denied");
	sm_spawn_result_clear(&res);
	opts.argv = none;
	assert_int_equal(sm_spawn_run(&opts, &res), -1);
	assert_string_equal(res.error, "no program to run");
	sm_spawn_result_clear(&res);
}

/* Write text to dir/name with mode. */
static void write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[4096];
	FILE *f;

	assert_true(snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void path_search(void **state)
{
	const char *dir = scratch_make("sm-spawn");
	const char *const found[] = {"sm-test-prog", "arg", NULL};
	const char *const no_exec[] = {"sm-test-noexec", NULL};
	const char *const no_shebang[] = {"sm-test-noshebang", NULL};
	char *old_path = strdup(getenv("PATH")), path[8192];
	sm_spawn_opts opts = {.argv = found};
	sm_spawn_result res;

	(void)state;
	write_file(dir, "sm-test-prog", "#!/bin/sh\necho \"$0 $1\"\n", 0755);
	write_file(dir, "sm-test-noexec", "#!/bin/sh\necho no\n", 0644);
	/* Executable but no "#!": execvp would run it with /bin/sh. */
	write_file(dir, "sm-test-noshebang", "echo ran by a shell\n", 0755);
	snprintf(path, sizeof path, "/nonexistent:%s:%s", dir, old_path);
	setenv("PATH", path, 1);
	assert_int_equal(sm_spawn_run(&opts, &res), 0);
	snprintf(path, sizeof path, "%s/sm-test-prog arg\n", dir);
	assert_string_equal(res.out, path);
	sm_spawn_result_clear(&res);
	opts.argv = no_exec;
	assert_int_equal(sm_spawn_run(&opts, &res), -1);
	assert_string_equal(res.error, "cannot run sm-test-noexec: Permission denied");
	sm_spawn_result_clear(&res);
	opts.argv = no_shebang;
	assert_int_equal(sm_spawn_run(&opts, &res), -1);
	assert_string_equal(res.error, "cannot run sm-test-noshebang: Exec format error");
	sm_spawn_result_clear(&res);
	setenv("PATH", old_path, 1);
	free(old_path);
}

/* Is pid gone (or a zombie waiting for init), within a second? */
static bool gone(long pid)
{
	char path[64], stat[256];

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	for (int i = 0; i < 100; i++) {
		FILE *f = fopen(path, "r");
		char *close_paren;

		if (!f)
			return true;
		stat[0] = '\0';
		if (!fgets(stat, sizeof stat, f))
			stat[0] = '\0';
		fclose(f);
		close_paren = strrchr(stat, ')');
		if (close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z')
			return true;
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	}
	return false;
}

static void deadline(void **state)
{
	const char *const sleeper[] = {"sleep", "30", NULL};
	/* Ignores SIGTERM, so only the SIGKILL after the grace ends it. */
	const char *const stubborn[] = {"sh", "-c", "trap '' TERM; echo ready; sleep 30; :", NULL};
	sm_spawn_result res;

	(void)state;
	run(sleeper, NULL, 0.2, &res);
	assert_true(res.timed_out);
	assert_int_equal(res.signal, SIGTERM);
	assert_int_equal(res.exit_status, -1);
	assert_true(res.elapsed_ms >= 190 && res.elapsed_ms < 1500);
	sm_spawn_result_clear(&res);

	run(stubborn, NULL, 0.3, &res);
	assert_true(res.timed_out);
	assert_int_equal(res.signal, SIGKILL);
	assert_string_equal(res.out, "ready\n");
	assert_true(res.elapsed_ms >= 700 && res.elapsed_ms < 2500);
	sm_spawn_result_clear(&res);
}

static void grandchildren(void **state)
{
	/* The child waits on a grandchild that holds the pipes: the whole
	 * group dies at the deadline. */
	const char *const waiting[] = {"sh", "-c", "sleep 30 & echo $!; wait", NULL};
	/* The child leaves at once, the grandchild keeps stdout open. */
	const char *const leaving[] = {"sh", "-c", "sleep 30 & echo $!", NULL};
	sm_spawn_result res;
	long pid;

	(void)state;
	run(waiting, NULL, 0.3, &res);
	assert_true(res.timed_out);
	assert_true(res.elapsed_ms < 1500);
	pid = strtol(res.out, NULL, 10);
	assert_true(pid > 1);
	assert_true(gone(pid));
	sm_spawn_result_clear(&res);

	run(leaving, NULL, 0, &res);
	assert_false(res.timed_out);
	assert_int_equal(res.exit_status, 0);
	assert_true(res.elapsed_ms < 1500);
	pid = strtol(res.out, NULL, 10);
	assert_true(pid > 1);
	/* Not killed: it did not outlive a deadline. */
	assert_int_equal(kill((pid_t)pid, 0), 0);
	kill((pid_t)pid, SIGKILL);
	sm_spawn_result_clear(&res);
}

static void no_descriptor_leaks(void **state)
{
	const char *const argv[] = {"sh", "-c", "ls /proc/$$/fd; :", NULL};
	int leaky = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
	sm_spawn_result res;

	(void)state;
	assert_true(leaky > 2);
	run(argv, "input", 5, &res);
	/* ls lists the descriptors of the shell: only stdin, stdout and
	 * stderr, not leaky nor any pipe of the caller's. */
	assert_string_equal(res.out, "0\n1\n2\n");
	sm_spawn_result_clear(&res);
	close(leaky);
}

static void own_process_group(void **state)
{
	const char *const argv[] = {"sh", "-c", "ps -o pgid= -p $$; echo $$", NULL};
	sm_spawn_result res;
	long pgid, pid;
	char *end;

	(void)state;
	run(argv, NULL, 5, &res);
	pgid = strtol(res.out, &end, 10);
	pid = strtol(end, NULL, 10);
	assert_true(pid > 1);
	assert_int_equal(pgid, pid);
	assert_int_not_equal(pgid, getpgrp());
	sm_spawn_result_clear(&res);
}

static void sigchld_ignored(void **state)
{
	const char *const argv[] = {"sh", "-c", "echo hi; exit 2", NULL};
	sm_spawn_result res;

	(void)state;
	/* The kernel reaps the child itself: no status, but no hang either. */
	signal(SIGCHLD, SIG_IGN);
	run(argv, NULL, 5, &res);
	signal(SIGCHLD, SIG_DFL);
	assert_false(res.timed_out);
	assert_int_equal(res.exit_status, -1);
	assert_int_equal(res.signal, 0);
	assert_string_equal(res.out, "hi\n");
	assert_true(res.elapsed_ms < 2000);
	sm_spawn_result_clear(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(exit_status),
	    cmocka_unit_test(killed_by_signal),
	    cmocka_unit_test(stdin_delivered),
	    cmocka_unit_test(stdin_null_when_no_input),
	    cmocka_unit_test(env_added),
	    cmocka_unit_test(env_passed_only),
	    cmocka_unit_test(bad_env_entry),
	    cmocka_unit_test(output_capped),
	    cmocka_unit_test(input_ignored),
	    cmocka_unit_test(not_found),
	    cmocka_unit_test_teardown(path_search, scratch_remove),
	    cmocka_unit_test(deadline),
	    cmocka_unit_test(grandchildren),
	    cmocka_unit_test(no_descriptor_leaks),
	    cmocka_unit_test(own_process_group),
	    cmocka_unit_test(sigchld_ignored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
