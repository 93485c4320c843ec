/* test_request.c - the request and answer shared by the HTTP handlers: the
 * status line and headers of an answer, the limits from the environment,
 * the CGI variables removed before a stage starts, the APIs' dispatch by
 * route tables and their numbers. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
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

/* A request from a list of "NAME=value" variables and a body. */
struct fake {
	const char *const *vars;
	const char *body;
	struct sink out;
};

static const char *fake_param(void *src, const char *name)
{
	const struct fake *f = src;
	size_t n = strlen(name);

	for (const char *const *v = f->vars; *v; v++)
		if (strncmp(*v, name, n) == 0 && (*v)[n] == '=')
			return *v + n + 1;
	return NULL;
}

static size_t fake_read(void *src, char *buf, size_t want, bool *timed_out)
{
	const struct fake *f = src;
	size_t n = strlen(f->body) < want ? strlen(f->body) : want;

	(void)timed_out;
	memcpy(buf, f->body, n);
	return n;
}

static void fake_write(void *src, const char *text, size_t len)
{
	sink_write(&((struct fake *)src)->out, text, len);
}

static char called[64];

static void ep_literal(sm_request_call *c)
{
	snprintf(called, sizeof called, "literal");
	sm_request_respond(c->req, 200, NULL, json_object());
}

static void ep_star(sm_request_call *c)
{
	snprintf(called, sizeof called, "star %s", c->seg[1]);
	sm_request_respond(c->req, 200, NULL, json_object());
}

static void ep_post(sm_request_call *c)
{
	snprintf(called, sizeof called, "post %s",
	         json_string_value(json_object_get(c->body, "a")));
	sm_request_respond(c->req, 200, NULL, json_object());
}

static const sm_request_route table_a[] = {
    {"POST", {"x", "sync", NULL}, ep_post, false},
    {"GET", {"x", "*", NULL}, ep_star, false},
    {NULL, {NULL}, NULL, false},
};
static const sm_request_route table_b[] = {
    {"GET", {"health", NULL}, ep_literal, true},
    {"DELETE", {"x", "*", NULL}, ep_star, false},
    {NULL, {NULL}, NULL, false},
};
static const sm_request_route *const tables[] = {table_a, table_b, NULL};

/* Dispatch a request of vars and body: the status line's code. */
static int dispatch(const char *const *vars, const char *body, struct fake *f)
{
	sm_request req = {f, fake_param, fake_read, fake_write};

	memset(f, 0, sizeof *f);
	f->vars = vars;
	f->body = body ? body : "";
	called[0] = '\0';
	sm_request_dispatch(&req, "/t/", tables, NULL);
	return atoi(f->out.text + strlen("Status: "));
}

static void routes(void **state)
{
	struct fake f = {0};
	char keys[] = "/tmp/sm-test-keys.XXXXXX";
	FILE *k;
	int fd;

	(void)state;
	unsetenv("SM_API_KEYS_FILE");
	unsetenv("SM_MAX_BODY");
	/* A literal segment wins over "*": x/sync is never x/<name>. */
	assert_int_equal(
	    dispatch((const char *const[]){"REQUEST_METHOD=GET", "PATH_INFO=/x/abc/", NULL}, NULL,
	             &f),
	    200);
	assert_string_equal(called, "star abc");
	assert_int_equal(
	    dispatch((const char *const[]){"REQUEST_METHOD=GET", "PATH_INFO=/x/sync", NULL}, NULL,
	             &f),
	    405);
	assert_non_null(strstr(f.out.text, "Allow: POST\r\n"));
	assert_string_equal(called, "");
	/* Another table's row for the same path adds its method. */
	assert_int_equal(
	    dispatch((const char *const[]){"REQUEST_METHOD=PUT", "PATH_INFO=/x/abc", NULL}, NULL,
	             &f),
	    405);
	assert_non_null(strstr(f.out.text, "Allow: GET, DELETE\r\n"));
	assert_int_equal(
	    dispatch((const char *const[]){"REQUEST_METHOD=DELETE", "PATH_INFO=/x/abc", NULL}, NULL,
	             &f),
	    200);
	assert_int_equal(
	    dispatch((const char *const[]){"REQUEST_METHOD=GET", "PATH_INFO=/nope/", NULL}, NULL,
	             &f),
	    404);
	assert_non_null(strstr(f.out.text, "\"message\":\"no such endpoint under /t/\""));
	assert_int_equal(
	    dispatch((const char *const[]){"REQUEST_METHOD=GET", "PATH_INFO=/x/../health", NULL},
	             NULL, &f),
	    404);
	/* A POST: its JSON body; malformed 400, oversize 413. */
	assert_int_equal(dispatch((const char *const[]){"REQUEST_METHOD=POST", "PATH_INFO=/x/sync",
	                                                "CONTENT_LENGTH=9", NULL},
	                          "{\"a\":\"b\"}", &f),
	                 200);
	assert_string_equal(called, "post b");
	assert_int_equal(dispatch((const char *const[]){"REQUEST_METHOD=POST", "PATH_INFO=/x/sync",
	                                                "CONTENT_LENGTH=3", NULL},
	                          "{x}", &f),
	                 400);
	assert_string_equal(called, "");
	setenv("SM_MAX_BODY", "8", 1);
	assert_int_equal(dispatch((const char *const[]){"REQUEST_METHOD=POST", "PATH_INFO=/x/sync",
	                                                "CONTENT_LENGTH=9", NULL},
	                          "{\"a\":\"b\"}", &f),
	                 413);
	unsetenv("SM_MAX_BODY");
	/* With API keys: 401 without one, except for a no_key route. */
	fd = mkstemp(keys);
	assert_true(fd >= 0);
	fchmod(fd, 0600);
	k = fdopen(fd, "w");
	fprintf(k, "ops\t%s\n", "0000000000000000000000000000000000000000000000000000000000000000");
	fclose(k);
	setenv("SM_API_KEYS_FILE", keys, 1);
	assert_int_equal(
	    dispatch((const char *const[]){"REQUEST_METHOD=GET", "PATH_INFO=/x/abc/", NULL}, NULL,
	             &f),
	    401);
	assert_string_equal(called, "");
	assert_int_equal(
	    dispatch((const char *const[]){"REQUEST_METHOD=GET", "PATH_INFO=/health", NULL}, NULL,
	             &f),
	    200);
	unsetenv("SM_API_KEYS_FILE");
	unlink(keys);
}

/* A route with flags, the prefix itself as a route, and endpoints that
 * defer their answers to one group endpoint. */
static char group_seen[128];

static void ep_raw(sm_request_call *c)
{
	assert_null(c->body);
	if (strcmp(c->raw, "no") == 0) {
		sm_request_respond(c->req, 400, NULL, json_object());
		return;
	}
	c->state = c->raw;
	c->deferred = true;
}

static void ep_group(sm_request_call *const *calls, size_t n, void *ctx)
{
	snprintf(group_seen, sizeof group_seen, "%s %zu:", (const char *)ctx, n);
	for (size_t i = 0; i < n; i++) {
		snprintf(group_seen + strlen(group_seen), sizeof group_seen - strlen(group_seen),
		         " %s", (const char *)calls[i]->state);
		sm_request_respond(calls[i]->req, 202, NULL, json_object());
	}
}

static const sm_request_route table_raw[] = {
    {"POST",
     {NULL},
     ep_raw,
     SM_REQUEST_LENGTH_REQUIRED | SM_REQUEST_JSON_TYPE | SM_REQUEST_RAW_BODY},
    {NULL, {NULL}, NULL, 0},
};
static const sm_request_route *const raw_tables[] = {table_raw, NULL};

static int status_of(const struct fake *f)
{
	return atoi(f->out.text + strlen("Status: "));
}

static void route_flags(void **state)
{
	struct fake f[3] = {0};
	sm_request reqs[3];
	const char *const post[] = {"REQUEST_METHOD=POST", "CONTENT_LENGTH=2", NULL};
	const char *const no_path[] = {"REQUEST_METHOD=POST", "PATH_INFO=", "CONTENT_LENGTH=3",
	                               "CONTENT_TYPE=application/x-www-form-urlencoded", NULL};
	const char *const no_length[] = {"REQUEST_METHOD=POST", "PATH_INFO=/",
	                                 "CONTENT_TYPE=application/vnd.x+json; charset=utf-8",
	                                 NULL};
	const char *const get[] = {"REQUEST_METHOD=GET", NULL};

	(void)state;
	unsetenv("SM_API_KEYS_FILE");
	unsetenv("SM_MAX_BODY");
	for (int i = 0; i < 3; i++)
		reqs[i] = (sm_request){&f[i], fake_param, fake_read, fake_write};
	/* Three together: two deferred, answered by one group call with the
	 * raw bytes (no parse: "{x" is not JSON); one the endpoint answers. */
	f[0].vars = post;
	f[0].body = "{x";
	f[1].vars = post;
	f[1].body = "no";
	f[2].vars = post;
	f[2].body = "ok";
	group_seen[0] = '\0';
	sm_request_dispatch_group(reqs, 3, "/t/", raw_tables, ep_group, "ctx");
	assert_string_equal(group_seen, "ctx 2: {x ok");
	assert_int_equal(status_of(&f[0]), 202);
	assert_int_equal(status_of(&f[1]), 400);
	assert_int_equal(status_of(&f[2]), 202);
	/* A content type that is not JSON: 415; none at all is fine. */
	memset(f, 0, sizeof f);
	f[0].vars = no_path;
	f[0].body = "abc";
	group_seen[0] = '\0';
	sm_request_dispatch_group(reqs, 1, "/t/", raw_tables, ep_group, "ctx");
	assert_int_equal(status_of(&f[0]), 415);
	assert_string_equal(group_seen, "");
	/* A +json type passes; a missing Content-Length is then a 400. */
	memset(f, 0, sizeof f);
	f[0].vars = no_length;
	f[0].body = "";
	sm_request_dispatch_group(reqs, 1, "/t/", raw_tables, ep_group, "ctx");
	assert_int_equal(status_of(&f[0]), 400);
	assert_non_null(strstr(f[0].out.text, "Content-Length required"));
	/* The prefix itself has only a POST route: 405 with Allow. */
	memset(f, 0, sizeof f);
	f[0].vars = get;
	f[0].body = "";
	sm_request_dispatch_group(reqs, 1, "/t/", raw_tables, ep_group, "ctx");
	assert_int_equal(status_of(&f[0]), 405);
	assert_non_null(strstr(f[0].out.text, "Allow: POST\r\n"));
	assert_string_equal(group_seen, "");
}

static void numbers(void **state)
{
	struct fake f = {0};
	sm_request req = {&f, fake_param, fake_read, fake_write};
	json_t *v;
	double d;

	(void)state;
	assert_int_equal(sm_request_number(&req, "n", "12", NULL, 1, 100, true, &d), 0);
	assert_true(d == 12);
	assert_int_equal(sm_request_number(&req, "n", "1.5", NULL, 0, 100, false, &d), 0);
	assert_true(d == 1.5);
	v = json_integer(7);
	assert_int_equal(sm_request_number(&req, "n", NULL, v, 1, 100, true, &d), 0);
	json_decref(v);
	assert_true(d == 7);
	assert_int_equal(f.out.len, 0);
	/* Each of these is a 400 naming the field. */
	const char *bad[] = {"", "x", "1.5", "0", "101", " 5", "5 ", "nan", "inf", "1e400"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&f.out, 0, sizeof f.out);
		assert_int_equal(sm_request_number(&req, "top_n", bad[i], NULL, 1, 100, true, &d),
		                 -1);
		assert_non_null(strstr(f.out.text, "Status: 400 "));
		assert_non_null(strstr(f.out.text, "top_n: expected a whole number from 1 to 100"));
	}
	v = json_true();
	assert_int_equal(sm_request_number(&req, "n", NULL, v, 1, 100, true, &d), -1);
	json_decref(v);
}

/* The CGI serve: the request's variables are gone from the environment
 * when the handler runs (a program it starts does not see them), and the
 * handler still reads them. */
static int cgi_handler(const sm_request *req)
{
	assert_null(getenv("GATEWAY_INTERFACE"));
	assert_null(getenv("REQUEST_METHOD"));
	assert_null(getenv("CONTENT_LENGTH"));
	assert_null(getenv("HTTP_X_API_KEY"));
	assert_string_equal(getenv("SM_DB"), "/tmp/x.db");
	assert_string_equal(req->param(req->src, "REQUEST_METHOD"), "GET");
	assert_string_equal(req->param(req->src, "PATH_INFO"), "/health");
	assert_string_equal(req->param(req->src, "HTTP_X_API_KEY"), "secret");
	assert_null(req->param(req->src, "SM_DB"));
	snprintf(called, sizeof called, "cgi");
	return 0;
}

static void cgi_serve(void **state)
{
	(void)state;
	setenv("GATEWAY_INTERFACE", "CGI/1.1", 1);
	setenv("REQUEST_METHOD", "GET", 1);
	setenv("CONTENT_LENGTH", "0", 1);
	setenv("PATH_INFO", "/health", 1);
	setenv("HTTP_X_API_KEY", "secret", 1);
	setenv("SM_DB", "/tmp/x.db", 1);
	called[0] = '\0';
	assert_int_equal(sm_request_cgi_serve(cgi_handler, NULL), 0);
	assert_string_equal(called, "cgi");
	assert_null(getenv("PATH_INFO"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(answers),   cmocka_unit_test(limits),      cmocka_unit_test(scrub),
	    cmocka_unit_test(routes),    cmocka_unit_test(route_flags), cmocka_unit_test(numbers),
	    cmocka_unit_test(cgi_serve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
