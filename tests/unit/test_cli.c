/* test_cli.c - the options every tool shares. */
#include <getopt.h>
#include "testutil.h"
#include "sm/cli.h"
#include "sm/err.h"

/* Run sm_cli_common for opt with stdout and stderr captured. */
static int run(int opt, char *const *argv, char *out, size_t osize, char *errout, size_t esize)
{
	FILE *o = tmpfile(), *e = tmpfile();
	int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO), rc;
	size_t n;

	assert_non_null(o);
	assert_non_null(e);
	fflush(stdout);
	fflush(stderr);
	dup2(fileno(o), STDOUT_FILENO);
	dup2(fileno(e), STDERR_FILENO);
	rc = sm_cli_common(opt, "usage: sm-test [options]\n", argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved_out);
	close(saved_err);
	rewind(o);
	rewind(e);
	n = fread(out, 1, osize - 1, o);
	out[n] = '\0';
	n = fread(errout, 1, esize - 1, e);
	errout[n] = '\0';
	fclose(o);
	fclose(e);
	return rc;
}

static void help_version_and_failures(void **state)
{
	char *const argv[] = {"sm-test", "--bogus", NULL};
	char out[256], errout[256];

	(void)state;
	sm_err_set_progname("sm-test");
	optind = 2;
	assert_int_equal(run('h', argv, out, sizeof out, errout, sizeof errout), SM_CLI_DONE);
	assert_string_equal(out, "usage: sm-test [options]\n");
	assert_string_equal(errout, "");
	assert_int_equal(run(SM_OPT_VERSION, argv, out, sizeof out, errout, sizeof errout),
	                 SM_CLI_DONE);
	assert_true(strncmp(out, "sm-test " SM_VERSION " (jansson ", 17) == 0);
	assert_int_equal(run('?', argv, out, sizeof out, errout, sizeof errout), SM_EXIT_USAGE);
	assert_string_equal(out, "");
	assert_string_equal(errout, "sm-test: unknown option '--bogus' (see sm-test --help)\n");
	assert_int_equal(run(':', argv, out, sizeof out, errout, sizeof errout), SM_EXIT_USAGE);
	assert_string_equal(errout,
	                    "sm-test: option '--bogus' needs a value (see sm-test --help)\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(help_version_and_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
