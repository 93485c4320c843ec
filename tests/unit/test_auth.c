/* test_auth.c - the webhook handler's request authentication: API keys,
 * signatures with and without timestamps, the cluster defaults, and the
 * replay memory. */
#include <unistd.h>
#include "testutil.h"
#include "sm/auth.h"
#include "sm/hmac.h"

/* A request: NAME=VALUE strings, NULL-terminated. */
static const char *param(void *src, const char *name)
{
	size_t n = strlen(name);

	for (const char *const *p = src; *p; p++)
		if (strncmp(*p, name, n) == 0 && (*p)[n] == '=')
			return *p + n + 1;
	return NULL;
}

static char keys[64];

static void api_keys(void **state)
{
	const char *none[] = {NULL};
	const char *good[] = {"HTTP_X_API_KEY=good", NULL};
	const char *bearer[] = {"HTTP_AUTHORIZATION=Bearer good", NULL};
	const char *bad[] = {"HTTP_X_API_KEY=bad", NULL};
	sm_auth_request req = {param, none};
	const char *why = NULL;
	char digest[SM_SHA256_HEX];
	FILE *f;
	int fd;

	(void)state;
	unsetenv("SM_API_KEYS_FILE");
	assert_int_equal(sm_auth_api_key(&req, &why), 1); /* no file: no keys */
	snprintf(keys, sizeof keys, "/tmp/sm-keys-XXXXXX");
	fd = mkstemp(keys);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_int_equal(sm_sha256_hex("good", 4, digest, NULL), 0);
	fprintf(f, "# one key\nops %s\n", digest);
	fclose(f);
	setenv("SM_API_KEYS_FILE", keys, 1);
	assert_int_equal(sm_auth_api_key(&req, &why), 0);
	assert_string_equal(why, "API key required (X-API-Key or Authorization: Bearer)");
	req.src = good;
	assert_int_equal(sm_auth_api_key(&req, &why), 1);
	req.src = bearer;
	assert_int_equal(sm_auth_api_key(&req, &why), 1);
	req.src = bad;
	assert_int_equal(sm_auth_api_key(&req, &why), 0);
	assert_string_equal(why, "invalid API key");
	unlink(keys);
	assert_int_equal(sm_auth_api_key(&req, &why), -1);
	unsetenv("SM_API_KEYS_FILE");
}

/* "sha256=<hex>" of text under "s3cret" into out. */
static void sign(const char *text, size_t len, char out[80])
{
	char hex[SM_SHA256_HEX];

	assert_int_equal(sm_hmac_sha256_hex("s3cret", 6, text, len, hex, NULL), 0);
	snprintf(out, 80, "sha256=%s", hex);
}

static void cluster_defaults(void **state)
{
	const sm_driver *cluster = sm_driver_find("cluster"), *generic = sm_driver_find("generic");
	const char body[] = "{\"a\":1}";
	char body_sig[80], stamped_sig[80], text[64], stamp_var[64], sig_var[128], cluster_var[128];
	const char *unsigned_req[] = {NULL};
	const char *body_only[] = {cluster_var, NULL};
	const char *stamped[] = {stamp_var, sig_var, NULL};
	sm_auth_request req = {param, unsigned_req};
	sm_stamp seen = {"", 0};
	const char *why = NULL;
	long long now = 1800000000;
	int n;

	(void)state;
	unsetenv("WEBHOOK_SECRET_CLUSTER");
	unsetenv("WEBHOOK_SECRET_GENERIC");
	unsetenv("CLUSTER_ACCEPT_UNSTAMPED");
	sign(body, strlen(body), body_sig);
	snprintf(cluster_var, sizeof cluster_var, "HTTP_X_CLUSTER_SIGNATURE=%s", body_sig);
	n = snprintf(text, sizeof text, "%lld.%s", now - 10, body);
	sign(text, (size_t)n, stamped_sig);
	snprintf(stamp_var, sizeof stamp_var, "HTTP_X_SM_TIMESTAMP=%lld", now - 10);
	snprintf(sig_var, sizeof sig_var, "HTTP_X_SM_SIGNATURE=%s", stamped_sig);

	/* Another driver without a secret: nothing checked. */
	assert_int_equal(sm_auth_signature(&req, generic, body, strlen(body), now, &seen, &why), 1);
	/* A hub without a cluster secret refuses pushes ... */
	assert_int_equal(sm_auth_signature(&req, cluster, body, strlen(body), now, &seen, &why), 0);
	/* ... unless told to take unsigned ones. */
	setenv("CLUSTER_ACCEPT_UNSTAMPED", "1", 1);
	assert_int_equal(sm_auth_signature(&req, cluster, body, strlen(body), now, &seen, &why), 1);
	unsetenv("CLUSTER_ACCEPT_UNSTAMPED");

	setenv("WEBHOOK_SECRET_CLUSTER", "s3cret", 1);
	/* The body signature alone: refused by default, taken when accepted. */
	req.src = body_only;
	assert_int_equal(sm_auth_signature(&req, cluster, body, strlen(body), now, &seen, &why), 0);
	assert_non_null(strstr(why, "X-SM-Timestamp required"));
	setenv("CLUSTER_ACCEPT_UNSTAMPED", "yes", 1);
	assert_int_equal(sm_auth_signature(&req, cluster, body, strlen(body), now, &seen, &why), 1);
	assert_string_equal(seen.hmac, ""); /* nothing to remember */
	unsetenv("CLUSTER_ACCEPT_UNSTAMPED");
	/* Timestamped: taken within the window, and remembered. */
	req.src = stamped;
	assert_int_equal(sm_auth_signature(&req, cluster, body, strlen(body), now, &seen, &why), 1);
	assert_int_equal(strlen(seen.hmac), 64);
	assert_int_equal(seen.until, now - 10 + SM_AUTH_WINDOW);
	assert_int_equal(
	    sm_auth_signature(&req, cluster, body, strlen(body), now + 400, &seen, &why), 0);
	assert_non_null(strstr(why, "outside the allowed window"));
	assert_int_equal(sm_auth_signature(&req, cluster, "{\"a\":2}", 7, now, &seen, &why), 0);
	assert_string_equal(why, "invalid signature");
	unsetenv("WEBHOOK_SECRET_CLUSTER");
}

/* Every byte of the body is signed, those after a NUL too. */
static void stamped_body_with_nul(void **state)
{
	const sm_driver *generic = sm_driver_find("generic");
	const char body[] = "{\"a\":1}\0tail", other[] = "{\"a\":1}\0TAIL";
	char text[64], sig[80], stamp_var[64], sig_var[128];
	const char *stamped[] = {stamp_var, sig_var, NULL};
	sm_auth_request req = {param, stamped};
	sm_stamp seen = {"", 0};
	const char *why = NULL;
	long long now = 1800000000;
	int n;

	(void)state;
	setenv("WEBHOOK_SECRET_GENERIC", "s3cret", 1);
	n = snprintf(text, sizeof text, "%lld.", now);
	memcpy(text + n, body, sizeof body - 1);
	sign(text, (size_t)n + sizeof body - 1, sig);
	snprintf(stamp_var, sizeof stamp_var, "HTTP_X_SM_TIMESTAMP=%lld", now);
	snprintf(sig_var, sizeof sig_var, "HTTP_X_SM_SIGNATURE=%s", sig);
	assert_int_equal(sm_auth_signature(&req, generic, body, sizeof body - 1, now, &seen, &why),
	                 1);
	assert_int_equal(
	    sm_auth_signature(&req, generic, other, sizeof other - 1, now, &seen, &why), 0);
	unsetenv("WEBHOOK_SECRET_GENERIC");
}

static void replay_memory(void **state)
{
	char dir[64], path[128];
	sm_store *store;
	sm_stamp seen = {"", 1000}, other;
	sm_error err;

	(void)state;
	snprintf(dir, sizeof dir, "/tmp/sm-auth-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/sm.db", dir);
	assert_int_equal(sm_store_open(path, &store, &err), 0);
	assert_int_equal(sm_auth_remember(store, &seen, 700, &err), 1); /* nothing to remember */
	memset(seen.hmac, 'a', 64);
	seen.hmac[64] = '\0';
	other = seen;
	other.hmac[0] = 'b';
	assert_int_equal(sm_auth_remember(store, &seen, 700, &err), 1);
	assert_int_equal(sm_auth_remember(store, &seen, 800, &err), 0); /* a replay */
	assert_int_equal(sm_auth_remember(store, &other, 800, &err), 1);
	/* Once the window has closed the signature is forgotten (and a replay
	 * is then refused by its timestamp). */
	assert_int_equal(sm_auth_remember(store, &other, 1000, &err), 0); /* its last second */
	assert_int_equal(sm_auth_remember(store, &seen, 1001, &err), 1);
	sm_store_close(store);
	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(api_keys),
	    cmocka_unit_test(cluster_defaults),
	    cmocka_unit_test(stamped_body_with_nul),
	    cmocka_unit_test(replay_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
