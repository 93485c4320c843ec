/* test_request.c - the request and answer shared by the HTTP handlers: the
 * status line and headers of an answer, the limits from the environment,
 * and the CGI variables removed before a stage starts. */
#include <stdlib.h>
#include "testutil.h"
#include "sm/request.h"

struct sink {
	char text[1024];
	size_t len;
};

static void sink_write(void *src, const char *text, size_t len)
{
	struct sink *s = src;

	assert_true(s->len + len < sizeof s->text);
	memcpy(s->text + s->len, text, len);
	s->len += len;
	s->text[s->len] = '\0';
}

static void answers(void **state)
{
	struct sink s = {0};
	sm_request req = {&s, NULL, NULL, sink_write};

	(void)state;
	sm_request_respond(&req, 405, "Allow: GET", json_pack("{s:s}", "status", "error"));
	assert_string_equal(s.text,
	                    "Status: 405 Method Not Allowed\r\nContent-Type: "
	                    "application/json\r\nAllow: GET\r\n\r\n{\"status\":\"error\"}\n");
	s.len = 0;
	sm_request_respond(&req, 200, NULL, json_object());
	assert_string_equal(s.text, "Status: 200 OK\r\nContent-Type: application/json\r\n\r\n{}\n");
	s.len = 0;
	sm_request_respond(&req, 204, NULL, NULL); /* no body, no content type */
	assert_string_equal(s.text, "Status: 204 \r\n\r\n");
}

static void limits(void **state)
{
	(void)state;
	unsetenv("SM_MAX_BODY");
	unsetenv("SM_READ_TIMEOUT");
	assert_int_equal(sm_request_max_body(), SM_REQUEST_MAX_BODY);
	assert_int_equal(sm_request_read_timeout_ms(), SM_REQUEST_READ_TIMEOUT * 1000);
	setenv("SM_MAX_BODY", "64", 1);
	setenv("SM_READ_TIMEOUT", "0.25", 1);
	assert_int_equal(sm_request_max_body(), 64);
	assert_int_equal(sm_request_read_timeout_ms(), 250);
	setenv("SM_MAX_BODY", "0", 1);
	setenv("SM_READ_TIMEOUT", "x", 1);
	assert_int_equal(sm_request_max_body(), -1);
	assert_int_equal(sm_request_read_timeout_ms(), -1);
	unsetenv("SM_MAX_BODY");
	unsetenv("SM_READ_TIMEOUT");
}

static void scrub(void **state)
{
	(void)state;
	setenv("GATEWAY_INTERFACE", "CGI/1.1", 1);
	setenv("REQUEST_METHOD", "POST", 1);
	setenv("CONTENT_LENGTH", "12", 1);
	setenv("PATH_INFO", "/pipeline/", 1);
	setenv("HTTP_X_API_KEY", "secret", 1);
	setenv("HTTP_AUTHORIZATION", "Bearer secret", 1);
	setenv("SM_DB", "/tmp/x.db", 1);
	setenv("HTTPS_PROXY_NOT_A_HEADER", "kept", 1);
	sm_request_cgi_scrub_env();
	assert_null(getenv("GATEWAY_INTERFACE"));
	assert_null(getenv("REQUEST_METHOD"));
	assert_null(getenv("CONTENT_LENGTH"));
	assert_null(getenv("PATH_INFO"));
	assert_null(getenv("HTTP_X_API_KEY"));
	assert_null(getenv("HTTP_AUTHORIZATION"));
	assert_string_equal(getenv("SM_DB"), "/tmp/x.db");
	assert_string_equal(getenv("HTTPS_PROXY_NOT_A_HEADER"), "kept");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(answers),
	    cmocka_unit_test(limits),
	    cmocka_unit_test(scrub),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
