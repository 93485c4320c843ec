/* test_err.c - exit codes and the error helpers. */
#include <errno.h>
#include <unistd.h>
#include "testutil.h"
#include "sm/err.h"

static void exit_table(void **state)
{
	(void)state;
	assert_int_equal(SM_EXIT_OK, 0);
	assert_int_equal(SM_EXIT_FAILURE, 1);
	assert_int_equal(SM_EXIT_USAGE, 64);
	assert_int_equal(SM_EXIT_DATAERR, 65);
	assert_int_equal(SM_EXIT_TEMPFAIL, 75);
	assert_string_equal(sm_exit_name(64), "usage");
	assert_string_equal(sm_exit_name(75), "tempfail");
	assert_string_equal(sm_exit_name(99), "unknown");
}

static void messages(void **state)
{
	sm_error err;

	(void)state;
	sm_error_set(&err, "bad %s", "thing");
	assert_string_equal(err.msg, "bad thing");
	sm_error_prefix(&err, "stdin:%d", 3);
	assert_string_equal(err.msg, "stdin:3: bad thing");
	sm_error_set(NULL, "ignored");
}

/* Each kind maps to its exit status; sm_error_set resets the kind. */
static void kinds(void **state)
{
	static const struct {
		enum sm_error_kind kind;
		int exit;
	} rows[] = {
	    {SM_ERROR_FAILURE, SM_EXIT_FAILURE},    {SM_ERROR_USAGE, SM_EXIT_USAGE},
	    {SM_ERROR_DATA, SM_EXIT_DATAERR},       {SM_ERROR_IO, SM_EXIT_FAILURE},
	    {SM_ERROR_TEMPORARY, SM_EXIT_TEMPFAIL},
	};
	sm_error err;

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		sm_error_set_kind(&err, rows[i].kind, "row %zu", i);
		assert_int_equal(err.kind, rows[i].kind);
		assert_int_equal(sm_error_exit(&err), rows[i].exit);
		sm_error_prefix(&err, "ctx");
		assert_int_equal(err.kind, rows[i].kind); /* context keeps the kind */
	}
	sm_error_set(&err, "plain");
	assert_int_equal(err.kind, SM_ERROR_FAILURE);
	sm_error_set_kind(NULL, SM_ERROR_DATA, "ignored");
}

/* The errno variant appends the system's reason for errno as it was on entry. */
static void errno_variant(void **state)
{
	char want[128];
	sm_error err;

	(void)state;
	snprintf(want, sizeof want, "open %s: %s", "/x", strerror(ENOENT));
	errno = ENOENT;
	sm_error_errno(&err, SM_ERROR_IO, "open %s", "/x");
	assert_string_equal(err.msg, want);
	assert_int_equal(err.kind, SM_ERROR_IO);
}

/* What fn printed on stderr into buf. */
static void capture_stderr(char *buf, size_t size, void (*fn)(void))
{
	int fds[2], saved;
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	saved = dup(STDERR_FILENO);
	dup2(fds[1], STDERR_FILENO);
	fn();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fds[1]);
	n = read(fds[0], buf, size - 1);
	close(fds[0]);
	assert_true(n > 0);
	buf[n] = '\0';
}

static void unknown_checker(void)
{
	sm_err_set_progname("/usr/bin/sm-test");
	assert_int_equal(sm_err(SM_EXIT_USAGE, "unknown checker '%s'", "x"), 64);
}

static void err_prints_progname(void **state)
{
	char buf[256];

	(void)state;
	capture_stderr(buf, sizeof buf, unknown_checker);
	assert_string_equal(buf, "sm-test: unknown checker 'x'\n");
	assert_string_equal(sm_err_progname(), "sm-test");
}

static void errno_message(void)
{
	sm_err_set_progname("sm-test");
	errno = EACCES;
	assert_int_equal(sm_err_errno(SM_EXIT_FAILURE, "cannot open %s", "f"), SM_EXIT_FAILURE);
}

static void err_errno_prints_reason(void **state)
{
	char buf[256], want[256];

	(void)state;
	snprintf(want, sizeof want, "sm-test: cannot open f: %s\n", strerror(EACCES));
	capture_stderr(buf, sizeof buf, errno_message);
	assert_string_equal(buf, want);
}

static void option_errors(void)
{
	sm_err_set_progname("sm-test");
	assert_int_equal(sm_err_option(':', "--limit"), SM_EXIT_USAGE);
	assert_int_equal(sm_err_option('?', "--bogus"), SM_EXIT_USAGE);
}

static void option_messages(void **state)
{
	char buf[256];

	(void)state;
	capture_stderr(buf, sizeof buf, option_errors);
	assert_string_equal(buf, "sm-test: option '--limit' needs a value (see sm-test --help)\n"
	                         "sm-test: unknown option '--bogus' (see sm-test --help)\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(exit_table),
	    cmocka_unit_test(messages),
	    cmocka_unit_test(kinds),
	    cmocka_unit_test(errno_variant),
	    cmocka_unit_test(err_errno_prints_reason),
	    cmocka_unit_test(err_prints_progname),
	    cmocka_unit_test(option_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
