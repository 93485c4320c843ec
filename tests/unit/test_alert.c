/* test_alert.c - the alert model's helpers: severities, fingerprints,
 * timestamps, text, and auto-detection over the driver table. */
#include "testutil.h"
#include "sm/alert.h"
#include "sm/hmac.h"
#include "sm/rfc3339.h"

static void severities(void **state)
{
	(void)state;
	assert_int_equal(sm_severity_normalize("CRITICAL"), SM_SEVERITY_CRITICAL);
	assert_int_equal(sm_severity_normalize("Info"), SM_SEVERITY_INFO);
	assert_int_equal(sm_severity_normalize("high"), SM_SEVERITY_WARNING);
	assert_int_equal(sm_severity_normalize(""), SM_SEVERITY_WARNING);
	assert_int_equal(sm_severity_normalize(NULL), SM_SEVERITY_WARNING);
	assert_string_equal(sm_severity_name(SM_SEVERITY_CRITICAL), "critical");
	assert_int_equal(sm_severity_parse("info"), SM_SEVERITY_INFO);
	assert_int_equal(sm_severity_parse("Info"), -1);
}

static void alertmanager_fingerprint_matches_alertmanager(void **state)
{
	/* Captured from Prometheus Alertmanager 0.25 (reference/anchors.md §5). */
	json_t *labels = json_pack("{s:s,s:s,s:s,s:s}", "alertname", "Load49", "instance",
	                           "host499", "job", "bench", "severity", "warning");
	char *fp = sm_fingerprint_labels(labels);

	(void)state;
	assert_string_equal(fp, "87a2d000881bf73e");
	free(fp);
	json_decref(labels);
	/* The empty label set is FNV-1a's offset basis. */
	labels = json_object();
	fp = sm_fingerprint_labels(labels);
	assert_string_equal(fp, "cbf29ce484222325");
	free(fp);
	json_decref(labels);
}

static void generic_fingerprint_rule(void **state)
{
	json_t *a = json_pack("{s:s,s:i}", "instance", "db-01", "port", 5432);
	json_t *b = json_pack("{s:i,s:s}", "port", 5432, "instance", "db-01");
	char *fa = sm_fingerprint_generic("DiskFull", a),
	     *fb = sm_fingerprint_generic("DiskFull", b);
	char hex[SM_SHA256_HEX];
	const char preimage[] = "DiskFull\ninstance=db-01\nport=5432\n";

	(void)state;
	assert_int_equal(strlen(fa), 16);
	assert_string_equal(fa, fb); /* label order does not matter */
	assert_int_equal(sm_sha256_hex(preimage, strlen(preimage), hex, NULL), 0);
	assert_memory_equal(fa, hex, 16);
	free(fb);
	fb = sm_fingerprint_generic("DiskFul", a);
	assert_string_not_equal(fa, fb);
	free(fa);
	free(fb);
	json_decref(a);
	json_decref(b);
}

static void hmac_and_sha(void **state)
{
	char hex[SM_SHA256_HEX];
	sm_error err;

	(void)state;
	assert_int_equal(sm_sha256_hex("abc", 3, hex, &err), 0);
	assert_string_equal(hex,
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* RFC 4231 test case 2. */
	assert_int_equal(
	    sm_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, hex, &err), 0);
	assert_string_equal(hex,
	                    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	assert_int_equal(sm_hmac_verify("Jefe", 4, "what do ya want for nothing?", 28, hex, &err),
	                 1);
	assert_int_equal(
	    sm_hmac_verify(
	        "Jefe", 4, "what do ya want for nothing?", 28,
	        "sha256=5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843", &err),
	    1);
	hex[0] = hex[0] == '5' ? '6' : '5';
	assert_int_equal(sm_hmac_verify("Jefe", 4, "what do ya want for nothing?", 28, hex, &err),
	                 0);
	assert_int_equal(sm_hmac_verify("Jefe", 4, "x", 1, "short", &err), 0);
	assert_int_equal(sm_hmac_verify("Jefe", 4, "x", 1, NULL, &err), 0);
	assert_int_equal(sm_hmac_verify("Jefe", 4, "x", 1, "sha1=00", &err), 0);
	/* PagerDuty's form, and several signatures during a secret rotation. */
	assert_int_equal(sm_hmac_sha256_hex("Jefe", 4, "body", 4, hex, &err), 0);
	{
		char header[300];
		snprintf(header, sizeof header, "v1=%s", hex);
		assert_int_equal(sm_hmac_verify("Jefe", 4, "body", 4, header, &err), 1);
		snprintf(header, sizeof header, "v1=%064d,v1=%s", 0, hex);
		assert_int_equal(sm_hmac_verify("Jefe", 4, "body", 4, header, &err), 1);
		snprintf(header, sizeof header, "v1=%064d, sha256=%064d", 0, 1);
		assert_int_equal(sm_hmac_verify("Jefe", 4, "body", 4, header, &err), 0);
		assert_int_equal(sm_hmac_verify("Jefe", 4, "body", 4, ",,, ", &err), 0);
	}
}

/* sm_alert_time of v (released after; may be NULL) returns found; the time. */
static struct timespec alert_time(json_t *v, double ms_above, int found)
{
	struct timespec ts = {0};

	assert_int_equal(sm_alert_time(v, ms_above, &ts), found);
	json_decref(v);
	return ts;
}

static void timestamps(void **state)
{
	static const struct {
		const char *text;
		long long sec;
	} found[] = {
	    {"2026-11-22T01:20:24Z", 1795310424},
	    {"2026-11-22 01:20:24", 1795310424},
	    {"2026-11-22T03:20:24.291027405+02:00", 1795310424},
	    {"2026-11-22T03:20:24+0200", 1795310424},
	    {"2026-11-22", 1795305600},
	};
	/* Absent, null, zero, junk and Go's zero time all mean "use now". */
	static const char *const unset[] = {"", "0001-01-01T00:00:00Z", "yesterday", "2026-13-01"};
	struct timespec ts;

	(void)state;
	for (size_t i = 0; i < sizeof found / sizeof found[0]; i++)
		assert_int_equal(alert_time(json_string(found[i].text), 0, 1).tv_sec, found[i].sec);
	assert_int_equal(alert_time(json_integer(1795310424), 1e10, 1).tv_sec, 1795310424);
	ts = alert_time(json_integer(1795310424123LL), 1e10, 1);
	assert_int_equal(ts.tv_sec, 1795310424);
	assert_int_equal(ts.tv_nsec / 1000000, 123);
	for (size_t i = 0; i < sizeof unset / sizeof unset[0]; i++)
		alert_time(json_string(unset[i]), 0, 0);
	alert_time(NULL, 0, 0);
	alert_time(json_integer(0), 0, 0);
	alert_time(json_true(), 0, 0);
}

static void text_helpers(void **state)
{
	static const char *const texts[][2] = {
	    {"n", "8080"}, {"t", "true"}, {"z", ""}, {"arr", "[1]"}};
	json_t *o = json_pack("{s:s,s:s,s:i,s:b,s:n,s:[i]}", "a", "", "b", "x", "n", 8080, "t", 1,
	                      "z", "arr", 1);

	(void)state;
	assert_null(sm_json_str(o, "a"));
	assert_string_equal(sm_json_str(o, "b"), "x");
	assert_null(sm_json_str(o, "n"));
	assert_string_equal(sm_json_first_str(o, "a", "missing", "b", (const char *)NULL), "x");
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		char *t = sm_json_text(json_object_get(o, texts[i][0]));

		assert_string_equal(t, texts[i][1]);
		free(t);
	}
	json_decref(o);
}

static void batch_defaults(void **state)
{
	sm_alert_batch b = {0};
	sm_alert *a;
	sm_error err;
	json_t *j;

	(void)state;
	a = sm_batch_add(&b);
	assert_non_null(a);
	assert_false(a->resolved);
	assert_int_equal(a->severity, SM_SEVERITY_WARNING);
	sm_alert_set_status(a, "RESOLVED");
	assert_true(a->resolved);
	sm_alert_set_status(a, "ok");
	assert_false(a->resolved);
	sm_alert_label(a, "instance", "db-01");
	assert_int_equal(sm_batch_finish(&b, false, &err), 0);
	assert_string_equal(a->name, "Unknown Alert");
	assert_int_equal(strlen(a->fingerprint), 16);
	j = sm_alert_json(a);
	assert_true(json_is_null(json_object_get(j, "started_at")));
	assert_string_equal(json_string_value(json_object_get(j, "status")), "firing");
	json_decref(j);
	sm_batch_clear(&b);
}

static void unknown_shapes_are_refused(void **state)
{
	sm_alert_batch b = {0};
	sm_error err;
	json_t *p = json_pack("[i]", 1);

	(void)state;
	assert_int_equal(sm_driver_parse(NULL, p, NULL, &b, &err), -1);
	assert_string_equal(err.msg, "payload must be a JSON object");
	json_decref(p);
	assert_null(sm_driver_find("nope"));
	assert_non_null(sm_driver_find("generic"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(severities),
	    cmocka_unit_test(alertmanager_fingerprint_matches_alertmanager),
	    cmocka_unit_test(generic_fingerprint_rule),
	    cmocka_unit_test(hmac_and_sha),
	    cmocka_unit_test(timestamps),
	    cmocka_unit_test(text_helpers),
	    cmocka_unit_test(batch_defaults),
	    cmocka_unit_test(unknown_shapes_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
