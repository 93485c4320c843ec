/* test_http.c - the HTTP client against tests/fixtures/bin/receiver.py on
 * 127.0.0.1: what arrives, statuses and their transience, no redirects,
 * timeouts, refused connections, URL checks, the response cap, threads,
 * and secrets kept out of error messages. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "testutil.h"
#include "sm/http.h"

#define SECRET       "Bearer s3cr3t-t0ken-4242"
#define SECRET_QUERY "q-s3cr3t-9876"
#define ANSWER       "0123456789abcdef" /* the receiver's --body */

static struct {
	pid_t pid;
	int port;
	char log[4096], script[4096];
} rx;

/* Start receiver.py on a free port with flags (NULL-terminated, at most
 * 8), logging to log; its pid and port. -1 when it did not start. */
static int spawn_receiver(const char *log, const char *const *flags, pid_t *pid, int *port)
{
	char receiver[4096], line[64];
	const char *argv[16] = {"/usr/bin/python3", receiver, "--log", log};
	size_t n = 4;
	int fds[2];
	FILE *out;

	snprintf(receiver, sizeof receiver, "%s", fixture("bin/receiver.py"));
	for (size_t i = 0; flags[i] && n < 14; i++)
		argv[n++] = flags[i];
	argv[n++] = "0";
	argv[n] = NULL;
	if (pipe(fds) < 0)
		return -1;
	*pid = fork();
	if (*pid < 0)
		return -1;
	if (*pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv("/usr/bin/python3", (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	out = fdopen(fds[0], "r");
	if (!out)
		return -1;
	if (!fgets(line, sizeof line, out) || sscanf(line, "PORT %d", port) != 1) {
		fclose(out);
		return -1;
	}
	fclose(out);
	return 0;
}

/* The receiver of most tests, logging to and scripted from files in a
 * scratch directory; it closes every connection after its answer. */
static int start_receiver(void **state)
{
	const char *flags[] = {"--script", rx.script,          "--body", ANSWER,
	                       "--header", "Location: /moved", NULL};

	(void)state;
	scratch_make("sm-http");
	snprintf(rx.log, sizeof rx.log, "%s", at("requests.log"));
	snprintf(rx.script, sizeof rx.script, "%s", at("script"));
	return spawn_receiver(rx.log, flags, &rx.pid, &rx.port);
}

static int stop_receiver(void **state)
{
	if (rx.pid > 0) {
		kill(rx.pid, SIGTERM);
		waitpid(rx.pid, NULL, 0);
		rx.pid = 0;
	}
	return scratch_remove(state);
}

/* The receiver's URL for path. */
static const char *url(const char *path)
{
	static char buf[2][512];
	static int i;

	i = (i + 1) % 2;
	snprintf(buf[i], sizeof buf[i], "http://127.0.0.1:%d%s", rx.port, path);
	return buf[i];
}

/* The answers the receiver gives to the next requests, one line each. */
static void script(const char *lines)
{
	FILE *f = fopen(rx.script, "w");

	assert_non_null(f);
	fputs(lines, f);
	fclose(f);
}

/* The requests logged so far in log, as a JSON array (caller decrefs). */
static json_t *logged_in(const char *log)
{
	json_t *all = json_array();
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen(log, "r");

	if (!f)
		return all;
	while (getline(&line, &cap, f) > 0) {
		json_error_t error;
		json_t *one = json_loads(line, JSON_ALLOW_NUL, &error);

		if (!one)
			fail_msg("bad log line: %s", error.text);
		json_array_append_new(all, one);
	}
	free(line);
	fclose(f);
	return all;
}

static json_t *logged(void)
{
	return logged_in(rx.log);
}

static size_t logged_count(void)
{
	json_t *all = logged();
	size_t n = json_array_size(all);

	json_decref(all);
	return n;
}

static const char *header(json_t *request, const char *name)
{
	return json_string_value(json_object_get(json_object_get(request, "headers"), name));
}

static void assert_no_secret(const sm_http_response *res)
{
	assert_null(strstr(res->error, SECRET));
	assert_null(strstr(res->error, "s3cr3t"));
	assert_null(strstr(res->error, SECRET_QUERY));
	assert_null(strstr(res->error, "/hook"));
}

static void post_arrives_intact(void **state)
{
	static const char body[] = "{\"msg\":\"h\xc3\xa9llo\\nworld\"}\n\0tail";
	const char *headers[] = {"Content-Type: application/json", "Authorization: " SECRET,
	                         "X-Spaces:  a  b ", NULL};
	sm_http_request req = {.url = url("/hook/T0/B0?token=" SECRET_QUERY),
	                       .headers = headers,
	                       .body = body,
	                       .body_len = sizeof body - 1};
	sm_http_response res;
	json_t *all, *got;
	char length[32];

	(void)state;
	script("");
	assert_int_equal(sm_http_send(&req, &res), 0);
	assert_int_equal(res.status, 200);
	assert_false(res.transient);
	assert_false(res.truncated);
	assert_string_equal(res.error, "");
	assert_int_equal(res.body_len, strlen(ANSWER));
	assert_string_equal(res.body, ANSWER);
	assert_true(res.elapsed_ms > 0);
	sm_http_response_clear(&res);
	assert_null(res.body);

	all = logged();
	got = json_array_get(all, json_array_size(all) - 1);
	assert_string_equal(json_string_value(json_object_get(got, "method")), "POST");
	assert_string_equal(json_string_value(json_object_get(got, "path")),
	                    "/hook/T0/B0?token=" SECRET_QUERY);
	assert_int_equal(json_string_length(json_object_get(got, "body")), sizeof body - 1);
	assert_memory_equal(json_string_value(json_object_get(got, "body")), body, sizeof body - 1);
	assert_string_equal(header(got, "Content-Type"), "application/json");
	assert_string_equal(header(got, "Authorization"), SECRET);
	assert_string_equal(header(got, "X-Spaces"), "a  b "); /* as sent */
	assert_string_equal(header(got, "User-Agent"), "sm/" SM_VERSION);
	snprintf(length, sizeof length, "%zu", sizeof body - 1);
	assert_string_equal(header(got, "Content-Length"), length);
	assert_null(header(got, "Expect")); /* no wait for "100 Continue" */
	json_decref(all);
}

static void methods(void **state)
{
	static const struct {
		const char *method, *body, *logged;
	} cases[] = {
	    {NULL, "a=1", "POST"},    {"PUT", "{}", "PUT"}, {"PATCH", "x", "PATCH"},
	    {"DELETE", "", "DELETE"}, {"GET", NULL, "GET"}, {"HEAD", NULL, "HEAD"},
	};

	(void)state;
	script("");
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		sm_http_request req = {.method = cases[i].method,
		                       .url = url("/m"),
		                       .body = cases[i].body,
		                       .body_len = cases[i].body ? strlen(cases[i].body) : 0};
		sm_http_response res;
		json_t *all, *got;

		assert_int_equal(sm_http_send(&req, &res), 0);
		assert_int_equal(res.status, 200);
		/* HEAD gets no body, but still an empty string. */
		assert_string_equal(res.body, strcmp(cases[i].logged, "HEAD") ? ANSWER : "");
		sm_http_response_clear(&res);
		all = logged();
		got = json_array_get(all, json_array_size(all) - 1);
		assert_string_equal(json_string_value(json_object_get(got, "method")),
		                    cases[i].logged);
		assert_string_equal(json_string_value(json_object_get(got, "body")),
		                    cases[i].body ? cases[i].body : "");
		json_decref(all);
	}
}

static void statuses_and_transience(void **state)
{
	static const struct {
		long status;
		bool transient;
	} cases[] = {{200, false}, {202, false}, {204, false}, {400, false}, {404, false},
	             {408, true},  {429, true},  {500, true},  {502, true},  {503, true}};

	(void)state;
	script("200\n202\n204\n400\n404\n408\n429\n500\n502\n503\n");
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		sm_http_request req = {.url = url("/s"), .body = "{}", .body_len = 2};
		sm_http_response res;

		assert_int_equal(sm_http_send(&req, &res), 0);
		assert_int_equal(res.status, cases[i].status);
		assert_int_equal(res.transient, cases[i].transient);
		assert_string_equal(res.error, "");
		sm_http_response_clear(&res);
	}
}

/* A 301 (with "Location: /moved") is the answer; /moved is never asked. */
static void redirect_not_followed(void **state)
{
	sm_http_request req = {.url = url("/old"), .body = "{}", .body_len = 2};
	sm_http_response res;
	size_t before = logged_count();
	json_t *all;

	(void)state;
	script("301\n");
	assert_int_equal(sm_http_send(&req, &res), 0);
	assert_int_equal(res.status, 301);
	assert_false(res.transient);
	sm_http_response_clear(&res);
	assert_int_equal(logged_count(), before + 1);
	all = logged();
	assert_string_equal(json_string_value(json_object_get(json_array_get(all, before), "path")),
	                    "/old");
	json_decref(all);
}

static void timeout(void **state)
{
	const char *headers[] = {"Authorization: " SECRET, NULL};
	sm_http_request req = {.url = url("/hook?token=" SECRET_QUERY),
	                       .headers = headers,
	                       .body = SECRET,
	                       .body_len = strlen(SECRET),
	                       .timeout_s = 0.5};
	sm_http_response res;
	char where[64];

	(void)state;
	script("200 3\n");
	assert_int_equal(sm_http_send(&req, &res), -1);
	assert_true(res.transient);
	assert_int_equal(res.status, 0);
	assert_null(res.body);
	snprintf(where, sizeof where, "127.0.0.1 port %d: ", rx.port);
	assert_non_null(strstr(res.error, where));
	assert_non_null(strcasestr(res.error, "time"));
	assert_true(res.elapsed_ms >= 400 && res.elapsed_ms < 2500);
	assert_no_secret(&res);
	sm_http_response_clear(&res);
}

/* When curl's own words quote a header value, they give way to curl's
 * generic text for the error (here "timed out" is in the header). */
static void curl_words_quoting_a_header_are_dropped(void **state)
{
	const char *headers[] = {"X-Note: timed out", NULL};
	sm_http_request req = {.url = url("/"), .headers = headers, .timeout_s = 0.3};
	sm_http_response res;
	char where[64];

	(void)state;
	script("200 2\n");
	assert_int_equal(sm_http_send(&req, &res), -1);
	assert_true(res.transient);
	assert_null(strstr(res.error, "timed out"));
	snprintf(where, sizeof where, "127.0.0.1 port %d: ", rx.port);
	assert_non_null(strstr(res.error, where));
	assert_true(strlen(res.error) > strlen(where));
	sm_http_response_clear(&res);
}

static void connection_refused(void **state)
{
	const char *headers[] = {"Authorization: " SECRET, NULL};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	char where[256], expected[256];
	sm_http_response res;
	int fd;

	(void)state;
	/* A port bound but not listening refuses, and no one else can take it. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(where, sizeof where, "http://127.0.0.1:%d/hook?token=" SECRET_QUERY,
	         ntohs(sa.sin_port));
	sm_http_request req = {.url = where, .headers = headers, .body = "{}", .body_len = 2};
	assert_int_equal(sm_http_send(&req, &res), -1);
	close(fd);
	assert_true(res.transient);
	assert_int_equal(res.status, 0);
	assert_null(res.body);
	snprintf(expected, sizeof expected, "connect to 127.0.0.1 port %d: Connection refused",
	         ntohs(sa.sin_port));
	assert_string_equal(res.error, expected);
	assert_no_secret(&res);
	sm_http_response_clear(&res);
}

static void url_checks(void **state)
{
	static const char *const good[] = {
	    "http://127.0.0.1:8080/x?y=z#f", "https://example.com",
	    "HTTPS://Example.COM/",          "http://[::1]:80/",
	    "http://a-b.c_d.example/path",   "http://h:65535",
	};
	static const char *const bad[] = {
	    "",
	    "ftp://example.com/",
	    "file:///etc/passwd",
	    "http://user:pw@host/",
	    "http://:pw@host/",
	    "javascript:alert(1)",
	    "http://ho st/",
	    "http://host/a b",
	    "http://host/\n",
	    "http://host/\x7f",
	    "http://h\xc3\xa9st/",
	    "http://",
	    "http:///path",
	    "http://:80/",
	    "http://host:0/",
	    "http://host:65536/",
	    "http://host:/",
	    "http://host:8x/",
	    "http://[::1/",
	    "http://ho%73t/",
	    "http:/host",
	    "//host/",
	    "gopher://host/",
	};
	char why[128];

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		if (!sm_http_url_ok(good[i], why, sizeof why))
			fail_msg("refused %s: %s", good[i], why);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		why[0] = '\0';
		if (sm_http_url_ok(bad[i], why, sizeof why))
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(why[0] != '\0');
		assert_null(strstr(why, "pw")); /* the reason never quotes the URL */
	}
	assert_false(sm_http_url_ok(NULL, why, sizeof why));
	assert_false(sm_http_url_ok("ftp://x/", NULL, 0));
}

/* Bad requests fail before anything is sent, and not transiently. */
static void refused_before_sending(void **state)
{
	static const char *const smuggle[] = {"X-A: 1\r\nX-Injected: 2", NULL};
	static const char *const no_colon[] = {"Authorization " SECRET, NULL};
	static const char *const space_in_name[] = {"X A: 1", NULL};
	static const struct {
		const char *method, *url, *body;
		const char *const *headers;
		const char *error;
	} cases[] = {
	    {NULL, "ftp://127.0.0.1/", NULL, NULL, "bad URL: "},
	    {NULL, "file:///etc/passwd", NULL, NULL, "bad URL: "},
	    {NULL, "http://user:pw@127.0.0.1/", NULL, NULL, "bad URL: "},
	    {NULL, NULL, NULL, NULL, "bad URL: "},
	    {NULL, "", NULL, smuggle, "bad request: "},
	    {NULL, "", NULL, no_colon, "bad request: "},
	    {NULL, "", NULL, space_in_name, "bad request: "},
	    {"PO ST", "", NULL, NULL, "bad request: "},
	    {"post", "", NULL, NULL, "bad request: "},
	    {"GET", "", "x", NULL, "bad request: "},
	    {NULL, "", NULL, NULL, NULL}, /* body NULL with a length */
	};
	size_t before = logged_count();

	(void)state;
	script("");
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		sm_http_request req = {.method = cases[i].method,
		                       .url = cases[i].url && !*cases[i].url ? url("/r")
		                                                             : cases[i].url,
		                       .headers = cases[i].headers,
		                       .body = cases[i].body,
		                       .body_len = cases[i].body || !cases[i].error ? 1 : 0};
		sm_http_response res;

		assert_int_equal(sm_http_send(&req, &res), -1);
		assert_false(res.transient);
		assert_int_equal(res.status, 0);
		assert_null(res.body);
		if (cases[i].error)
			assert_non_null(strstr(res.error, cases[i].error));
		else
			assert_string_equal(res.error, "bad request: body is NULL");
		assert_no_secret(&res);
		assert_null(strstr(res.error, "pw"));
		sm_http_response_clear(&res);
	}
	assert_int_equal(logged_count(), before);
}

static void response_is_capped(void **state)
{
	sm_http_request req = {.url = url("/big"), .max_response = 5};
	sm_http_response res;
	char *line, *big;
	size_t size = 200000;

	(void)state;
	script("200\n200\n");
	assert_int_equal(sm_http_send(&req, &res), 0);
	assert_int_equal(res.status, 200);
	assert_true(res.truncated);
	assert_int_equal(res.body_len, 5);
	assert_string_equal(res.body, "01234");
	sm_http_response_clear(&res);

	req.max_response = strlen(ANSWER); /* exactly the answer: nothing cut */
	assert_int_equal(sm_http_send(&req, &res), 0);
	assert_false(res.truncated);
	assert_string_equal(res.body, ANSWER);
	sm_http_response_clear(&res);

	/* The default cap, 64 KiB, on a 200 kB answer (body on the script line). */
	line = malloc(size + 16);
	assert_non_null(line);
	memcpy(line, "200 - ", 6);
	memset(line + 6, 'x', size);
	strcpy(line + 6 + size, "\n");
	script(line);
	free(line);
	req.max_response = 0;
	assert_int_equal(sm_http_send(&req, &res), 0);
	assert_int_equal(res.status, 200);
	assert_true(res.truncated);
	assert_int_equal(res.body_len, SM_HTTP_MAX_RESPONSE);
	assert_int_equal(strlen(res.body), SM_HTTP_MAX_RESPONSE);
	big = calloc(1, SM_HTTP_MAX_RESPONSE + 1);
	assert_non_null(big);
	memset(big, 'x', SM_HTTP_MAX_RESPONSE);
	assert_string_equal(res.body, big);
	free(big);
	sm_http_response_clear(&res);
}

#define THREADS  4
#define REQUESTS 5

static void *sender(void *arg)
{
	sm_http_request req = {.url = arg, .body = "{}", .body_len = 2};
	long ok = 0;

	for (int i = 0; i < REQUESTS; i++) {
		sm_http_response res;

		if (sm_http_send(&req, &res) == 0 && res.status == 200 &&
		    strcmp(res.body, ANSWER) == 0)
			ok++;
		sm_http_response_clear(&res);
	}
	return (void *)ok;
}

/* Several threads at once, the first call of each racing curl's set-up. */
static void threads(void **state)
{
	pthread_t t[THREADS];
	size_t before = logged_count();
	char *where = strdup(url("/t"));

	(void)state;
	script("");
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, sender, where), 0);
	for (int i = 0; i < THREADS; i++) {
		void *ok;

		assert_int_equal(pthread_join(t[i], &ok), 0);
		assert_int_equal((long)ok, REQUESTS);
	}
	free(where);
	assert_int_equal(logged_count(), before + THREADS * REQUESTS);
}

/* sm_http_on_answer: what the hook saw when it was called. */
static int answered;
static size_t logged_when_answered;

static void on_answer(void *ctx)
{
	answered += *(int *)ctx;
	logged_when_answered = logged_count();
}

static void *send_elsewhere(void *arg)
{
	sm_http_request req = {.url = arg, .body = "{}", .body_len = 2};
	sm_http_response res;

	sm_http_send(&req, &res);
	sm_http_response_clear(&res);
	return NULL;
}

/* The hook runs once, when the next request of this thread has its answer
 * (the receiver has it) or has failed; not for a request refused before
 * it was sent, nor for another thread's, nor once cleared. */
static void answer_hook(void **state)
{
	int one = 1;
	size_t before = logged_count();
	sm_http_request req = {.url = url("/hook"), .body = "{}", .body_len = 2};
	sm_http_request bad = {.url = "ftp://127.0.0.1/x", .body = "{}", .body_len = 2};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	char where[64];
	sm_http_response res;
	pthread_t t;
	int fd;

	(void)state;
	script("");
	answered = 0;
	sm_http_on_answer(on_answer, &one);
	/* Another thread's request: not this thread's hook. */
	assert_int_equal(pthread_create(&t, NULL, send_elsewhere, (void *)url("/other")), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(answered, 0);
	/* Refused before sending: still armed. */
	assert_int_equal(sm_http_send(&bad, &res), -1);
	sm_http_response_clear(&res);
	assert_int_equal(answered, 0);
	assert_int_equal(sm_http_send(&req, &res), 0);
	sm_http_response_clear(&res);
	assert_int_equal(answered, 1);
	assert_int_equal(logged_when_answered, before + 2);
	/* Once. */
	assert_int_equal(sm_http_send(&req, &res), 0);
	sm_http_response_clear(&res);
	assert_int_equal(answered, 1);
	/* A failure counts as the end of the exchange: a port bound but not
	 * listening refuses. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(where, sizeof where, "http://127.0.0.1:%d/", ntohs(sa.sin_port));
	sm_http_request refused = {.url = where, .body = "{}", .body_len = 2};
	sm_http_on_answer(on_answer, &one);
	assert_int_equal(sm_http_send(&refused, &res), -1);
	sm_http_response_clear(&res);
	close(fd);
	assert_int_equal(answered, 2);
	/* Cleared: nothing. */
	sm_http_on_answer(on_answer, &one);
	sm_http_on_answer(NULL, NULL);
	assert_int_equal(sm_http_send(&req, &res), 0);
	sm_http_response_clear(&res);
	assert_int_equal(answered, 2);
}

/* The TCP connection each request logged in log came on (--keep-alive),
 * as "1 1 2". */
static void connections(const char *log, char *out, size_t size)
{
	json_t *all = logged_in(log), *one;
	size_t i, n = 0;

	out[0] = '\0';
	json_array_foreach(all, i, one)
	{
		n += (size_t)snprintf(
		    out + n, size - n, "%s%lld", i ? " " : "",
		    (long long)json_integer_value(json_object_get(one, "connection")));
		if (n >= size)
			break;
	}
	json_decref(all);
}

static int send_one(sm_http_client *client, const char *where, sm_http_response *res)
{
	sm_http_request req = {.url = where, .body = "{}", .body_len = 2};
	int rc = client ? sm_http_client_send(client, &req, res) : sm_http_send(&req, res);

	if (rc == 0)
		assert_int_equal(res->status, 200);
	return rc;
}

/* A client sends its requests to a host on one connection (keep-alive),
 * and to a host that closes each connection after its answer on a new one
 * each time; sm_http_send uses a connection per call. A server gone since
 * the last request is found out at the next: the kept connection is dead,
 * and connecting again is the usual "connection refused". */
static void client_keeps_connections(void **state)
{
	const char *flags[] = {"--keep-alive", NULL}, *closing[] = {NULL};
	char log[4096], log2[4096], where[128], where2[128], seen[64], expected[160];
	sm_http_client *client = sm_http_client_new();
	sm_http_response res;
	json_t *all;
	pid_t pid, pid2;
	int port, port2;

	(void)state;
	assert_non_null(client);
	snprintf(log, sizeof log, "%s", at("kept.log"));
	snprintf(log2, sizeof log2, "%s", at("closing.log"));
	assert_int_equal(spawn_receiver(log, flags, &pid, &port), 0);
	assert_int_equal(spawn_receiver(log2, closing, &pid2, &port2), 0);
	snprintf(where, sizeof where, "http://127.0.0.1:%d/kept", port);
	snprintf(where2, sizeof where2, "http://127.0.0.1:%d/closing", port2);

	for (int i = 0; i < 3; i++) {
		assert_int_equal(send_one(client, where, &res), 0);
		sm_http_response_clear(&res);
		/* Another host between two requests: its own connection. */
		assert_int_equal(send_one(client, where2, &res), 0);
		sm_http_response_clear(&res);
	}
	connections(log, seen, sizeof seen);
	assert_string_equal(seen, "1 1 1");
	all = logged_in(log2);
	assert_int_equal(json_array_size(all), 3);
	json_decref(all);

	/* No client: a connection of its own each time. */
	assert_int_equal(send_one(NULL, where, &res), 0);
	sm_http_response_clear(&res);
	assert_int_equal(send_one(NULL, where, &res), 0);
	sm_http_response_clear(&res);
	connections(log, seen, sizeof seen);
	assert_string_equal(seen, "1 1 1 2 3");

	/* The server goes away: the kept connection is dead, and connecting
	 * again is refused, a failure worth retrying. */
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	assert_int_equal(send_one(client, where, &res), -1);
	assert_true(res.transient);
	snprintf(expected, sizeof expected, "connect to 127.0.0.1 port %d: Connection refused",
	         port);
	assert_string_equal(res.error, expected);
	sm_http_response_clear(&res);
	/* The client still serves the other host. */
	assert_int_equal(send_one(client, where2, &res), 0);
	sm_http_response_clear(&res);

	sm_http_client_free(client);
	sm_http_client_free(NULL);
	kill(pid2, SIGTERM);
	waitpid(pid2, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(threads), /* first: curl is not set up yet */
	    cmocka_unit_test(post_arrives_intact),
	    cmocka_unit_test(methods),
	    cmocka_unit_test(statuses_and_transience),
	    cmocka_unit_test(redirect_not_followed),
	    cmocka_unit_test(timeout),
	    cmocka_unit_test(curl_words_quoting_a_header_are_dropped),
	    cmocka_unit_test(connection_refused),
	    cmocka_unit_test(url_checks),
	    cmocka_unit_test(refused_before_sending),
	    cmocka_unit_test(response_is_capped),
	    cmocka_unit_test(client_keeps_connections),
	    cmocka_unit_test(answer_hook),
	};

	/* A peer closing early must fail a write, not kill the test; a proxy
	 * from the environment must not stand between us and the receiver. */
	signal(SIGPIPE, SIG_IGN);
	setenv("no_proxy", "127.0.0.1", 1);
	setenv("NO_PROXY", "127.0.0.1", 1);
	return cmocka_run_group_tests(tests, start_receiver, stop_receiver);
}
