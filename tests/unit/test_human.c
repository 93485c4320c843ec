/* test_human.c - sizes for people: the unit that keeps the value under
 * 1024 as printed, one decimal, the sign kept. */
#include "testutil.h"
#include "sm/human.h"

static void sizes(void **state)
{
	static const struct {
		double bytes;
		const char *text;
	} cases[] = {
	    {0, "0 B"},
	    {1, "1 B"},
	    {1023, "1023 B"},
	    {1023.4, "1023 B"},
	    {1023.6, "1.0 KB"}, /* would print as 1024 B */
	    {1024, "1.0 KB"},
	    {1536, "1.5 KB"},
	    {1024.0 * 1023.9, "1023.9 KB"},
	    {1024.0 * 1023.96, "1.0 MB"}, /* would print as 1024.0 KB */
	    {1.8 * 1024 * 1024 * 1024, "1.8 GB"},
	    {77.72 * 1024 * 1024 * 1024, "77.7 GB"},
	    {3.0 * 1024 * 1024 * 1024 * 1024, "3.0 TB"},
	    {5.0 * 1024 * 1024 * 1024 * 1024 * 1024 * 1024, "5120.0 PB"}, /* no unit above PB */
	    {-2048, "-2.0 KB"},
	};
	char buf[SM_HUMAN_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_string_equal(sm_human_size(cases[i].bytes, buf), cases[i].text);
	assert_string_equal(sm_human_size(NAN, buf), "?");
	assert_string_equal(sm_human_size(INFINITY, buf), "?");
}

static void from_metric_units(void **state)
{
	char buf[SM_HUMAN_LEN];

	(void)state;
	assert_string_equal(sm_human_mb(1843.2, buf), "1.8 GB");
	assert_string_equal(sm_human_mb(674.2, buf), "674.2 MB");
	assert_string_equal(sm_human_mb(0.5, buf), "512.0 KB");
	assert_string_equal(sm_human_mb(0, buf), "0 B");
	assert_string_equal(sm_human_gb(251.97, buf), "252.0 GB");
	assert_string_equal(sm_human_gb(2048, buf), "2.0 TB");
}

/* Control characters from the host never reach the terminal as such. */
static void text_without_controls(void **state)
{
	char buf[64] = "";
	FILE *f = fmemopen(buf, sizeof buf, "w");

	(void)state;
	assert_non_null(f);
	sm_human_puts("a\x1b[31mb\tc\x7f\xc3\xa9\n", f);
	sm_human_puts(NULL, f);
	fclose(f);
	/* UTF-8 (é) stays: only C0 and DEL are replaced. */
	assert_string_equal(buf, "a?[31mb?c?\xc3\xa9?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sizes),
	    cmocka_unit_test(from_metric_units),
	    cmocka_unit_test(text_without_controls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
