/* test_push.c - the agent's payload, its signatures and its spool. */
#include "testutil.h"
#include "sm/push.h"

static json_t *check(const char *checker, const char *status, const char *message)
{
	return json_pack("{s:s,s:s,s:s,s:{s:f}}", "checker", checker, "status", status, "message",
	                 message, "metrics", "value", 1.5);
}

static void payload_mapping(void **state)
{
	json_t *checks = json_array(), *p;
	static const struct {
		const char *check, *status, *severity;
	} map[] = {
	    {"ok", "resolved", "info"},
	    {"warning", "firing", "warning"},
	    {"critical", "firing", "critical"},
	    {"unknown", "firing", "warning"},
	};
	const char *key;
	json_t *v;
	size_t i = 0;
	static const char *const top[] = {"source", "instance_id", "hostname", "version", "alerts"};

	(void)state;
	for (size_t k = 0; k < 4; k++)
		json_array_append_new(checks, check("disk", map[k].check, "msg"));
	json_array_append_new(checks, json_pack("{s:s}", "status", "ok")); /* no checker: skipped */
	p = sm_push_payload(checks, "agent-7", "web");
	json_object_foreach(p, key, v)
	{
		assert_string_equal(key, top[i++]);
	}
	assert_string_equal(json_string_value(json_object_get(p, "source")), "cluster");
	assert_string_equal(json_string_value(json_object_get(p, "version")), "1.0");
	assert_int_equal(json_array_size(json_object_get(p, "alerts")), 4);
	for (size_t k = 0; k < 4; k++) {
		json_t *a = json_array_get(json_object_get(p, "alerts"), k);
		assert_string_equal(json_string_value(json_object_get(a, "status")), map[k].status);
		assert_string_equal(json_string_value(json_object_get(a, "severity")),
		                    map[k].severity);
		assert_string_equal(json_string_value(json_object_get(a, "fingerprint")),
		                    "disk-agent-7");
		assert_string_equal(json_string_value(json_object_get(a, "name")), "disk: msg");
		assert_string_equal(
		    json_string_value(json_object_get(json_object_get(a, "labels"), "hostname")),
		    "web");
		assert_string_equal(
		    json_string_value(json_object_get(json_object_get(a, "labels"), "instance_id")),
		    "agent-7");
		assert_true(json_real_value(
		                json_object_get(json_object_get(a, "metrics"), "value")) == 1.5);
		/* Only a resolve has an end. */
		assert_true(json_is_null(json_object_get(a, "ended_at")) == (k != 0));
	}
	json_decref(p);
	json_decref(checks);
}

static void signatures(void **state)
{
	char h[3][128];
	sm_error err;

	(void)state;
	assert_int_equal(sm_push_sign("s", "{}", 1795310424, h, &err), 0);
	/* HMAC-SHA256("s", "{}") and HMAC-SHA256("s", "1795310424.{}"). */
	assert_int_equal(strncmp(h[0], "X-Cluster-Signature: ", 21), 0);
	assert_int_equal(strlen(h[0]), 21 + 64);
	assert_string_equal(h[1], "X-SM-Timestamp: 1795310424");
	assert_int_equal(strncmp(h[2], "X-SM-Signature: sha256=", 23), 0);
	assert_int_equal(sm_hmac_verify("s", 1, "{}", 2, h[0] + 21, &err), 1);
	assert_int_equal(sm_hmac_verify("s", 1, "1795310424.{}", 13, h[2] + 16, &err), 1);
	assert_int_equal(sm_hmac_verify("s", 1, "1795310425.{}", 13, h[2] + 16, &err), 0);
}

#define A "http://hub-a:8080"
#define B "http://hub-b"

static void spool(void **state)
{
	char dir[] = "/tmp/sm-spool-XXXXXX", path[64];
	sm_store *store;
	sm_spooled s;
	sm_error err;
	json_t *rows;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/a.db", dir);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_int_equal(sm_spool_next(store, A, 0, &s, &err), 0);
	assert_int_equal(sm_spool_add(store, A, "one", "pending", 1, 0, "down", 3, &err), 0);
	assert_int_equal(sm_spool_add(store, B, "b-one", "pending", 0, 0, NULL, 3, &err), 0);
	assert_int_equal(sm_spool_add(store, A, "two", "refused", 1, 401, "HTTP 401", 3, &err), 0);
	assert_int_equal(sm_spool_add(store, A, "three", "pending", 1, 503, "HTTP 503", 3, &err),
	                 0);
	/* Pending ones of the hub, oldest first; refused ones are skipped. */
	assert_int_equal(sm_spool_next(store, A, 0, &s, &err), 1);
	assert_string_equal(s.body, "one");
	long long first = s.id;
	sm_spooled_clear(&s);
	assert_int_equal(sm_spool_next(store, A, first, &s, &err), 1);
	assert_string_equal(s.body, "three");
	sm_spooled_clear(&s);
	/* Each hub its own queue. */
	assert_int_equal(sm_spool_next(store, B, 0, &s, &err), 1);
	assert_string_equal(s.body, "b-one");
	assert_int_equal(s.attempts, 0);
	sm_spooled_clear(&s);
	/* Bounded per hub: a fourth entry of A drops A's oldest, not B's. */
	assert_int_equal(sm_spool_add(store, A, "four", "pending", 1, 0, NULL, 3, &err), 0);
	assert_int_equal(sm_spool_list(store, &rows, &err), 0);
	assert_int_equal(json_array_size(rows), 4);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "hub")), A);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "state")),
	                    "refused");
	assert_int_equal(
	    json_integer_value(json_object_get(json_array_get(rows, 0), "http_status")), 401);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 3), "hub")), B);
	json_decref(rows);
	assert_int_equal(sm_spool_retry_refused(store, &err), 1);
	assert_int_equal(sm_spool_next(store, A, 0, &s, &err), 1);
	assert_string_equal(s.body, "two");
	assert_int_equal(sm_spool_failed(store, s.id, true, 403, "HTTP 403", &err), 0);
	assert_int_equal(sm_spool_delete(store, s.id, &err), 0);
	sm_spooled_clear(&s);
	assert_int_equal(sm_spool_list(store, &rows, &err), 0);
	assert_int_equal(json_array_size(rows), 3);
	json_decref(rows);
	sm_store_close(store);
	rm_rf(dir);
}

/* HUB_URL: the hubs in order, each with its push URL; a bad list is a
 * usage error naming the entry (by number when it may hold a secret). */
static void hub_lists(void **state)
{
	static const struct {
		const char *list, *error;
	} bad[] = {
	    {"http://a,ftp://b", "HUB_URL: entry 2 'ftp://b': "},
	    {"http://a,,http://b", "HUB_URL: entry 2 '': empty"},
	    {"http://a/, http://a", "HUB_URL: entry 2 'http://a': given twice"},
	    {"http://a,http://u:secret@b", "HUB_URL: entry 2: "},
	    {"http://a,http://b/?token=secret", "HUB_URL: entry 2: "},
	    {"http://1,http://2,http://3,http://4,http://5,http://6,http://7,http://8,http://9",
	     "HUB_URL: 9 hubs, at most 8"},
	};
	sm_push_agent ag = {0};
	sm_error err;

	(void)state;
	assert_int_equal(sm_push_hubs(&ag, " https://hub-a:8443/sm// ,http://10.0.0.5", &err), 0);
	assert_int_equal(ag.nhubs, 2);
	assert_string_equal(ag.hubs[0].base, "https://hub-a:8443/sm");
	assert_string_equal(ag.hubs[0].url, "https://hub-a:8443/sm/alerts/webhook/cluster/");
	assert_string_equal(ag.hubs[1].url, "http://10.0.0.5/alerts/webhook/cluster/");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err.msg[0] = '\0';
		assert_int_equal(sm_push_hubs(&ag, bad[i].list, &err), -1);
		assert_int_equal(err.kind, SM_ERROR_USAGE);
		if (strncmp(err.msg, bad[i].error, strlen(bad[i].error)) != 0)
			fail_msg("%s: got '%s'", bad[i].list, err.msg);
		assert_null(strstr(err.msg, "secret"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(payload_mapping),
	    cmocka_unit_test(signatures),
	    cmocka_unit_test(spool),
	    cmocka_unit_test(hub_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
