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

/* The message a getopt failure of argv gives ("" for none). */
static const char *failure_of(int argc, char **argv)
{
	static const struct option options[] = {
	    {"json", no_argument, NULL, 300},
	    {"driver", required_argument, NULL, 'd'},
	    {"limit", required_argument, NULL, 301},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	optind = 0; /* glibc: start afresh, clusters too */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":hd:v", options, NULL)) != -1)
		if (opt == '?' || opt == ':') {
			assert_int_equal(sm_cli_option(opt, "", argv), SM_EXIT_USAGE);
			return sm_err_last();
		}
	return "";
}

/* The error names the option as written: never the program, never the
 * cluster or the value around it. */
static void failures_name_the_option(void **state)
{
	static const struct {
		const char *args[4];
		const char *msg;
	} cases[] = {
	    {{"-x"}, "unknown option '-x' (see sm-test --help)"},
	    {{"-vx"}, "unknown option '-x' (see sm-test --help)"},
	    {{"-xv"}, "unknown option '-x' (see sm-test --help)"},
	    {{"--json", "-vx"}, "unknown option '-x' (see sm-test --help)"},
	    {{"--json", "-xv", "a"}, "unknown option '-x' (see sm-test --help)"},
	    {{"--bogus"}, "unknown option '--bogus' (see sm-test --help)"},
	    {{"--bogus=1"}, "unknown option '--bogus' (see sm-test --help)"},
	    {{"--json=3"}, "option '--json' takes no value (see sm-test --help)"},
	    {{"--limit"}, "option '--limit' needs a value (see sm-test --help)"},
	    {{"--driver"}, "option '--driver' needs a value (see sm-test --help)"},
	    {{"-d"}, "option '-d' needs a value (see sm-test --help)"},
	    {{"-vd"}, "option '-d' needs a value (see sm-test --help)"},
	    {{"--json", "a"}, ""},
	};

	(void)state;
	sm_err_set_progname("sm-test");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *argv[6] = {"sm-test"};
		int argc = 1;
		for (int k = 0; k < 4 && cases[i].args[k]; k++)
			argv[argc++] = (char *)cases[i].args[k];
		const char *got = failure_of(argc, argv);
		if (strcmp(got, cases[i].msg) != 0)
			fail_msg("case %zu: '%s', want '%s'", i, got, cases[i].msg);
	}
}

/* Text built at run time wraps at SM_CLI_WIDTH under its indent. */
static void wrapped_help(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	sm_cli_wrap(f, "  --flag X  ", 12,
	            "one two three four five six seven eight nine ten eleven twelve thirteen "
	            "fourteen fifteen");
	sm_cli_wrap(f, "Short: ", 2, "a  b");
	fclose(f);
	assert_string_equal(
	    buf, "  --flag X  one two three four five six seven eight nine ten eleven twelve\n"
	         "            thirteen fourteen fifteen\n"
	         "Short: a b\n");
	free(buf);
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
	    cmocka_unit_test(failures_name_the_option),
	    cmocka_unit_test(wrapped_help),
	    cmocka_unit_test(finish_checks_stdout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
