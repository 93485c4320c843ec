/* test_cli.c - the options every tool shares: help and version print and
 * exit 0 (1 when stdout is full), getopt failures one line and 64. */
#include <getopt.h>
#include <sys/wait.h>
#include "testutil.h"
#include "sm/cli.h"
#include "sm/err.h"

/* Run sm_cli_option(opt) in a child with stdout going to out_path (or
 * /dev/full) and stderr to err_path; its exit status. */
static int run(int opt, const char *out_path, const char *err_path)
{
	char *const argv[] = {"sm-test", "--bogus", NULL};
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		assert_non_null(freopen(out_path, "w", stdout));
		assert_non_null(freopen(err_path, "w", stderr));
		sm_err_set_progname("sm-test");
		optind = 2;
		int rc = sm_cli_option(opt, "usage: sm-test [options]\n", argv);
		fflush(NULL); /* _exit does not */
		_exit(rc);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static char *read_all(const char *path)
{
	static char buf[512];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void shared_options(void **state)
{
	char out[] = "/tmp/sm-test-cli-out.XXXXXX", errp[] = "/tmp/sm-test-cli-err.XXXXXX";
	int fd1 = mkstemp(out), fd2 = mkstemp(errp);

	(void)state;
	assert_true(fd1 >= 0 && fd2 >= 0);
	close(fd1);
	close(fd2);
	assert_int_equal(run('h', out, errp), 0);
	assert_string_equal(read_all(out), "usage: sm-test [options]\n");
	assert_string_equal(read_all(errp), "");
	assert_int_equal(run(SM_OPT_VERSION, out, errp), 0);
	assert_true(strncmp(read_all(out), "sm-test " SM_VERSION " (jansson ", 17) == 0);
	assert_int_equal(run('?', out, errp), SM_EXIT_USAGE);
	assert_string_equal(read_all(out), "");
	assert_string_equal(read_all(errp),
	                    "sm-test: unknown option '--bogus' (see sm-test --help)\n");
	assert_int_equal(run(':', out, errp), SM_EXIT_USAGE);
	assert_string_equal(read_all(errp),
	                    "sm-test: option '--bogus' needs a value (see sm-test --help)\n");
	/* A full standard output: 1 and a message, not 0. */
	assert_int_equal(run('h', "/dev/full", errp), SM_EXIT_FAILURE);
	assert_true(strncmp(read_all(errp), "sm-test: standard output: write error: ", 39) == 0);
	unlink(out);
	unlink(errp);
}

/* A command whose output did not reach stdout fails, whatever it returned. */
static void finish_checks_stdout(void **state)
{
	char errp[] = "/tmp/sm-test-cli-err.XXXXXX";
	int fd = mkstemp(errp), status;
	pid_t pid;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc;
		assert_non_null(freopen("/dev/full", "w", stdout));
		assert_non_null(freopen(errp, "w", stderr));
		sm_err_set_progname("sm-test");
		fputs("a listing\n", stdout);
		rc = sm_cli_finish(SM_EXIT_OK);
		fflush(NULL);
		_exit(rc);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), SM_EXIT_FAILURE);
	assert_true(strncmp(read_all(errp), "sm-test: standard output: write error: ", 39) == 0);
	assert_int_equal(sm_cli_finish(SM_EXIT_TEMPFAIL), SM_EXIT_TEMPFAIL);
	unlink(errp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(shared_options),
	    cmocka_unit_test(finish_checks_stdout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
