/* test_check_stored.c - what a check_runs row keeps of a result's metrics:
 * long lists cut to their largest ten with counts and totals, the
 * checker's own counts kept, lists of numbers and short lists whole, and
 * a row of a result with hundreds of items a few KB through
 * sm_check_record. */
#include "testutil.h"
#include "sm/store.h"

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, 0, &jerr);

	assert_non_null(v);
	return v;
}

static char *text_of(const json_t *v)
{
	return json_dumps(v, SM_JSON_FLAGS);
}

/* n items {"path":"/p<i>","size_mb":<i % 37>}, in an order that is not
 * by size. */
static json_t *items(int n)
{
	json_t *list = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(
		    list, json_pack("{s:s,s:f}", "path", "/p", "size_mb", (double)((i * 7) % 37)));
	return list;
}

static void long_lists_keep_the_largest_ten_with_count_and_total(void **state)
{
	json_t *m = json_object(), *s, *list, *it;
	double total = 0;
	size_t i;

	(void)state;
	json_object_set_new(m, "space_hogs", items(200));
	json_object_set_new(m, "large_files", items(3));
	json_object_set_new(m, "total_recoverable_mb", json_real(1.5));
	json_array_foreach(json_object_get(m, "space_hogs"), i, it)
	{
		total += json_number_value(json_object_get(it, "size_mb"));
	}
	s = sm_check_stored_metrics(m);
	list = json_object_get(s, "space_hogs");
	assert_int_equal(json_array_size(list), SM_CHECK_STORED_ITEMS);
	/* The largest first: sizes 36 (six of them), then 35 ... */
	assert_true(json_number_value(json_object_get(json_array_get(list, 0), "size_mb")) == 36);
	assert_true(json_number_value(json_object_get(json_array_get(list, 9), "size_mb")) == 35);
	assert_int_equal(json_integer_value(json_object_get(s, "space_hogs_count")), 200);
	assert_true(fabs(json_number_value(json_object_get(s, "space_hogs_total_mb")) - total) <
	            0.05);
	/* A short list whole, without a count added; the rest as it was. */
	assert_int_equal(json_array_size(json_object_get(s, "large_files")), 3);
	assert_null(json_object_get(s, "large_files_count"));
	assert_true(json_number_value(json_object_get(s, "total_recoverable_mb")) == 1.5);
	/* The result itself is not changed. */
	assert_int_equal(json_array_size(json_object_get(m, "space_hogs")), 200);
	json_decref(s);
	json_decref(m);
}

static void the_checkers_own_count_wins_lists_without_sizes_keep_their_order(void **state)
{
	json_t *m = parse("{\"disks\":{\"/\":{\"percent\":10}},\"listening_count\":2}"), *s;
	json_t *listening = json_array(), *cores = json_array(), *unknown = json_array();
	char *text;

	(void)state;
	for (int i = 0; i < 30; i++) {
		json_array_append_new(listening, json_pack("{s:i}", "port", 1000 + i));
		json_array_append_new(cores, json_real(i));
	}
	json_array_append_new(unknown, json_pack("{s:f}", "size_mb", 5.0));
	for (int i = 0; i < 11; i++)
		json_array_append_new(unknown, json_string("no size"));
	json_object_set_new(m, "listening", listening);
	json_object_set_new(m, "per_cpu_percent", cores);
	json_object_set_new(json_object_get(m, "disks"), "mixed", unknown);
	s = sm_check_stored_metrics(m);
	/* The checker said 2 (say, after a filter): its word stays. */
	assert_int_equal(json_integer_value(json_object_get(s, "listening_count")), 2);
	assert_int_equal(json_array_size(json_object_get(s, "listening")), 10);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_array_get(json_object_get(s, "listening"), 9), "port")),
	                 1009);
	/* Numbers (one per CPU) stay whole. */
	assert_int_equal(json_array_size(json_object_get(s, "per_cpu_percent")), 30);
	/* Nested objects are walked; a list not all sized keeps its order
	 * and gets a count but no total. */
	text = text_of(json_object_get(s, "disks"));
	assert_string_equal(text,
	                    "{\"/\":{\"percent\":10},\"mixed\":[{\"size_mb\":5.0},\"no "
	                    "size\",\"no size\",\"no size\",\"no size\",\"no size\",\"no "
	                    "size\",\"no size\",\"no size\",\"no size\"],\"mixed_count\":12}");
	free(text);
	json_decref(s);
	json_decref(m);
	/* Nothing to cut: the metrics themselves, not a copy. */
	m = parse("{\"disks\":{\"/\":{\"percent\":10}},\"per_cpu_percent\":[1,2,3,4,5,6,7,8,9,10,"
	          "11,12],\"large_files\":[{\"size_mb\":1.0}]}");
	s = sm_check_stored_metrics(m);
	assert_ptr_equal(s, m);
	json_decref(s);
	json_decref(m);
	/* Not an object: an empty one. */
	s = sm_check_stored_metrics(NULL);
	text = text_of(s);
	assert_string_equal(text, "{}");
	free(text);
	json_decref(s);
}

static void a_row_stays_a_few_kb(void **state)
{
	char dir[] = "/tmp/sm-stored-XXXXXX", path[128];
	sm_check_result res = {.checker = "disk_linux", .status = SM_WARNING};
	sqlite3_stmt *st;
	sm_store *store;
	sm_error err;
	json_t *hogs = json_array();

	(void)state;
	/* 300 package archives with long names: about 30 KB of metrics. */
	for (int i = 0; i < 300; i++) {
		char p[160];
		snprintf(p, sizeof p,
		         "/var/cache/apt/archives/"
		         "package-with-a-long-name-%03d_1.2.3-4+deb12u1_amd64.deb",
		         i);
		json_array_append_new(hogs, json_pack("{s:s,s:f}", "path", p, "size_mb", i / 10.0));
	}
	res.message = strdup("Disk analysis: 4485.0 MB recoverable");
	res.metrics = json_pack("{s:o,s:i}", "space_hogs", hogs, "space_hogs_count", 300);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/sm.db", dir);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_int_equal(sm_check_record(store, &res, "db-01", "", 0, &err), 0);
	st = sm_store_prepare(store,
	                      "SELECT length(metrics), json_array_length(metrics, '$.space_hogs'),"
	                      " json_extract(metrics, '$.space_hogs[0].size_mb'),"
	                      " json_extract(metrics, '$.space_hogs_total_mb') FROM check_runs",
	                      &err);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_in_range(sqlite3_column_int(st, 0), 500, 2048);
	assert_int_equal(sqlite3_column_int(st, 1), 10);
	assert_true(sqlite3_column_double(st, 2) == 29.9);
	assert_true(sqlite3_column_double(st, 3) == 4485.0);
	sqlite3_finalize(st);
	sm_store_close(store);
	/* The result keeps everything: only the row is cut. */
	assert_int_equal(json_array_size(json_object_get(res.metrics, "space_hogs")), 300);
	sm_check_result_clear(&res);
	rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(long_lists_keep_the_largest_ten_with_count_and_total),
	    cmocka_unit_test(the_checkers_own_count_wins_lists_without_sizes_keep_their_order),
	    cmocka_unit_test(a_row_stays_a_few_kb),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
