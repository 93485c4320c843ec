/* test_term.c - colour rules, width and the table printer. */
#include "testutil.h"
#include "sm/term.h"

static char *render(sm_table *t, bool color, int width)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	sm_table_print(t, f, color, width);
	fclose(f);
	return buf;
}

static void aligned_columns(void **state)
{
	static const char *const headers[] = {"CHECKER", "STATUS", "MESSAGE"};
	sm_table *t = sm_table_new(3, headers);
	char *out;

	(void)state;
	sm_table_row(t);
	sm_table_cell(t, "cpu", SM_COLOR_NONE);
	sm_table_cell(t, "OK", SM_COLOR_GREEN);
	sm_table_cell(t, "CPU usage: 3.2%", SM_COLOR_NONE);
	sm_table_row(t);
	sm_table_cell(t, "cpu_temp", SM_COLOR_NONE);
	sm_table_cell(t, "WARNING", SM_COLOR_YELLOW);
	sm_table_cell(t, "Hottest 81.0°C", SM_COLOR_NONE);
	out = render(t, false, 0);
	assert_string_equal(out, "CHECKER   STATUS   MESSAGE\n"
	                         "cpu       OK       CPU usage: 3.2%\n"
	                         "cpu_temp  WARNING  Hottest 81.0°C\n");
	free(out);
	out = render(t, false, 24);
	/* 19 columns used before MESSAGE; the rest is cut with an ellipsis. */
	assert_non_null(strstr(out, "cpu       OK       CPU …\n"));
	free(out);
	out = render(t, true, 0);
	assert_non_null(strstr(out, "\033[33mWARNING\033[0m"));
	assert_non_null(strstr(out, "\033[1mCHECKER\033[0m"));
	free(out);
	sm_table_free(t);
}

static void colour_rules(void **state)
{
	FILE *f = tmpfile();

	(void)state;
	unsetenv("NO_COLOR");
	assert_false(sm_term_color(f)); /* not a terminal */
	assert_false(sm_term_isatty(f));
	setenv("COLUMNS", "123", 1);
	assert_int_equal(sm_term_columns(f), 123);
	setenv("COLUMNS", "junk", 1);
	assert_int_equal(sm_term_columns(f), 80);
	unsetenv("COLUMNS");
	assert_int_equal(sm_term_columns(f), 80);
	fclose(f);
	assert_string_equal(sm_term_start(SM_COLOR_NONE), "");
	assert_string_equal(sm_term_start(SM_COLOR_RED), "\033[31m");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(aligned_columns),
	    cmocka_unit_test(colour_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
