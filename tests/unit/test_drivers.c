/* test_drivers.c - every payload fixture against what it must produce.
 *
 * tests/fixtures/payloads/<driver>/<case>.json is a vendor payload; next to
 * it, <case>.expected.json holds {"detected": the driver auto-detection
 * picks (null when none may), "source": …, "alerts": [the normalized
 * alerts, as sm-ingest --dry-run prints them]} for a parse forced to
 * <driver>, or <case>.error.txt holds the start of the error a forced parse
 * must give. A started_at/ended_at of null means the payload had none. */
#include <dirent.h>
#include "testutil.h"
#include "sm/alert.h"
#include "sm/json.h"

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	int c;

	if (!f)
		return NULL;
	out = open_memstream(&buf, &len);
	while ((c = getc(f)) != EOF)
		putc(c, out);
	fclose(out);
	fclose(f);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	return buf;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int check_case(const char *driver_name, const char *dir, const char *file)
{
	char path[8192], base[6144];
	const sm_driver *driver = sm_driver_find(driver_name), *used = NULL;
	sm_alert_batch batch = {0};
	json_error_t jerr;
	json_t *payload, *expected, *got;
	sm_error err = {0};
	char *error_text, *a = NULL, *b = NULL;
	int failures = 0, rc;

	snprintf(base, sizeof base, "%s/%.*s", dir, (int)(strlen(file) - 5), file);
	snprintf(path, sizeof path, "%s/%s", dir, file);
	payload = json_load_file(path, JSON_DECODE_ANY, &jerr);
	if (!driver || !payload) {
		print_error("%s: cannot load (%s)\n", path, jerr.text);
		json_decref(payload);
		return 1;
	}
	snprintf(path, sizeof path, "%s.error.txt", base);
	error_text = read_text(path);
	rc = sm_driver_parse(driver, payload, NULL, &batch, &err);
	if (error_text) {
		if (rc != -1 || strncmp(err.msg, error_text, strlen(error_text)) != 0) {
			print_error("%s: expected error '%s', got rc %d '%s'\n", base, error_text,
			            rc, err.msg);
			failures++;
		}
		goto done;
	}
	snprintf(path, sizeof path, "%s.expected.json", base);
	expected = json_load_file(path, 0, &jerr);
	if (!expected) {
		print_error("%s: no expected file (%s)\n", path, jerr.text);
		failures++;
		goto done;
	}
	if (rc != 0) {
		print_error("%s: forced parse failed: %s\n", base, err.msg);
		failures++;
	} else {
		got =
		    json_pack("{s:s,s:o}", "source", batch.source, "alerts", sm_batch_json(&batch));
		json_object_set(got, "detected", json_object_get(expected, "detected"));
		if (!json_equal(got, expected)) {
			a = json_dumps(expected, JSON_SORT_KEYS | JSON_INDENT(1));
			b = json_dumps(got, JSON_SORT_KEYS | JSON_INDENT(1));
			print_error("%s: mismatch\nexpected: %s\ngot:      %s\n", base, a, b);
			failures++;
		}
		json_decref(got);
	}
	sm_batch_clear(&batch);
	/* What auto-detection picks for this payload. */
	rc = sm_driver_parse(NULL, payload, &used, &batch, &err);
	{
		json_t *want = json_object_get(expected, "detected");
		const char *picked = rc == 0 ? used->name : NULL;
		if ((json_is_null(want) && picked) ||
		    (json_is_string(want) &&
		     (!picked || strcmp(picked, json_string_value(want))))) {
			print_error("%s: auto-detect picked %s, expected %s\n", base,
			            picked ? picked : "nothing",
			            json_is_string(want) ? json_string_value(want) : "nothing");
			failures++;
		}
	}
	json_decref(expected);
done:
	free(a);
	free(b);
	free(error_text);
	sm_batch_clear(&batch);
	json_decref(payload);
	return failures;
}

static void every_fixture(void **state)
{
	const char *root = fixture("payloads");
	char rootdir[2048];
	DIR *top;
	struct dirent *d;
	int failures = 0, cases = 0;

	(void)state;
	setenv("CLUSTER_ENABLED", "1", 1);
	snprintf(rootdir, sizeof rootdir, "%.2000s", root);
	top = opendir(rootdir);
	assert_non_null(top);
	while ((d = readdir(top)) != NULL) {
		char dir[4096];
		DIR *sub;
		struct dirent *f;
		if (d->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof dir, "%s/%s", rootdir, d->d_name);
		sub = opendir(dir);
		if (!sub)
			continue;
		while ((f = readdir(sub)) != NULL) {
			if (!ends_with(f->d_name, ".json") ||
			    ends_with(f->d_name, ".expected.json"))
				continue;
			failures += check_case(d->d_name, dir, f->d_name);
			cases++;
		}
		closedir(sub);
	}
	closedir(top);
	print_message("%d payload fixtures checked\n", cases);
	assert_true(cases > 0);
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_fixture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
