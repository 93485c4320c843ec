/* test_term.c - colour rules, width and the table printer. */
#include "testutil.h"
#include <time.h>
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

/* A table wider than the terminal leaves out its optional columns, highest
 * rank first, and never cuts a column other than the last. */
static void narrow_terminal_drops_columns(void **state)
{
	static const char *const headers[] = {"ID", "SOURCE", "STATUS", "UPDATED", "TITLE"};
	sm_table *t = sm_table_new(5, headers);
	char *out;

	(void)state;
	sm_table_optional(t, 1, 2); /* SOURCE goes first */
	sm_table_optional(t, 2, 1);
	sm_table_optional(t, 4, 9); /* the last column is never dropped: ignored */
	sm_table_row(t);
	sm_table_cell(t, "7", SM_COLOR_NONE);
	sm_table_cell(t, "alertmanager", SM_COLOR_NONE);
	sm_table_cell(t, "acknowledged", SM_COLOR_NONE);
	sm_table_cell(t, "2026-12-06 10:04:05", SM_COLOR_NONE);
	sm_table_cell(t, "DiskFull on db-01 with a long title", SM_COLOR_NONE);
	out = render(t, false, 0);
	assert_non_null(
	    strstr(out, "7   alertmanager  acknowledged  2026-12-06 10:04:05  DiskFull"));
	free(out);
	/* 4+14+14+21 = 53 columns before TITLE: at 70 SOURCE goes. */
	out = render(t, false, 70);
	assert_string_equal(
	    out, "ID  STATUS        UPDATED              TITLE\n"
	         "7   acknowledged  2026-12-06 10:04:05  DiskFull on db-01 with a long …\n");
	free(out);
	/* At 50 STATUS goes too; the time stays whole. */
	out = render(t, false, 50);
	assert_string_equal(out, "ID  UPDATED              TITLE\n"
	                         "7   2026-12-06 10:04:05  DiskFull on db-01 with a…\n");
	free(out);
	/* Nothing more to drop: the last column is cut, the time still whole. */
	out = render(t, false, 30);
	assert_non_null(strstr(out, "7   2026-12-06 10:04:05  Disk…\n"));
	free(out);
	sm_table_free(t);
}

static void times_ages_and_counts(void **state)
{
	static const struct {
		long long n;
		const char *text;
	} counts[] = {{0, "0"},        {999, "999"},        {1000, "1,000"},
	              {2345, "2,345"}, {100000, "100,000"}, {1234567, "1,234,567"},
	              {-5, "0"}};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		sm_term_count(buf, sizeof buf, counts[i].n);
		assert_string_equal(buf, counts[i].text);
	}
	sm_term_count(buf, 4, 1234567); /* cut, still terminated */
	assert_int_equal(strlen(buf), 3);
	sm_term_age(buf, sizeof buf, 59);
	assert_string_equal(buf, "59 s ago");
	sm_term_age(buf, sizeof buf, 300);
	assert_string_equal(buf, "5 min ago");
	sm_term_age(buf, sizeof buf, 3 * 86400);
	assert_string_equal(buf, "3 d ago");
	/* Local time: a POSIX TZ needs no zone files. */
	setenv("TZ", "XST-9", 1);
	tzset();
	sm_term_local_time(buf, sizeof buf, "2026-12-06T10:04:05.123Z");
	assert_string_equal(buf, "2026-12-06 19:04:05");
	sm_term_local_time(buf, sizeof buf, "2026-12-06T23:30:00Z");
	assert_string_equal(buf, "2026-12-07 08:30:00");
	unsetenv("TZ");
	tzset();
	sm_term_local_time(buf, sizeof buf, "not a time");
	assert_string_equal(buf, "not a time");
	sm_term_local_time(buf, sizeof buf, NULL);
	assert_string_equal(buf, "-");
	sm_term_local_time(buf, sizeof buf, "");
	assert_string_equal(buf, "-");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(aligned_columns),
	    cmocka_unit_test(colour_rules),
	    cmocka_unit_test(narrow_terminal_drops_columns),
	    cmocka_unit_test(times_ages_and_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
