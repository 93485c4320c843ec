/* request.c - the request and answer shared by the CGI and FastCGI
 * handlers (see request.h). */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sm/config.h"
#include "sm/json.h"
#include "sm/log.h"
#include "sm/request.h"

extern char **environ;

static const struct {
	int status;
	const char *reason;
} reasons[] = {
    {200, "OK"},
    {202, "Accepted"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {413, "Content Too Large"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Content"},
    {500, "Internal Server Error"},
    {503, "Service Unavailable"},
};

long long sm_request_max_body(void)
{
	double v;
	sm_error err;

	if (sm_config_double("SM_MAX_BODY", SM_REQUEST_MAX_BODY, &v, &err) < 0 || v < 1 ||
	    v > 1e10) {
		sm_log(SM_LOG_ERROR, "SM_MAX_BODY must be a number of bytes from 1 to 1e10");
		return -1;
	}
	return (long long)v;
}

long long sm_request_read_timeout_ms(void)
{
	double v;
	sm_error err;

	if (sm_config_seconds("SM_READ_TIMEOUT", SM_REQUEST_READ_TIMEOUT, &v, &err) < 0 || v <= 0 ||
	    v > 86400) {
		sm_log(SM_LOG_ERROR, "SM_READ_TIMEOUT must be a number of seconds above 0, "
		                     "at most 86400");
		return -1;
	}
	return (long long)(v * 1000 + 0.5);
}

void sm_request_respond(const sm_request *req, int status, const char *extra_header, json_t *body)
{
	char *text = NULL, *answer = NULL;
	const char *reason = "";
	int n;

	for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		if (reasons[i].status == status)
			reason = reasons[i].reason;
	if (body)
		text = sm_json_dump(body, NULL); /* not json_dumps: see sm_json_arena_install */
	n = asprintf(&answer, "Status: %d %s\r\n%s%s%s\r\n%s%s", status, reason,
	             body ? "Content-Type: application/json\r\n" : "",
	             extra_header ? extra_header : "", extra_header ? "\r\n" : "",
	             body ? (text ? text : "{}") : "", body ? "\n" : "");
	if (n > 0)
		req->write(req->src, answer, (size_t)n);
	free(answer);
	free(text);
	json_decref(body);
}

const char *sm_request_cgi_param(void *src, const char *name)
{
	(void)src;
	return getenv(name);
}

/* Exactly CONTENT_LENGTH bytes, never waiting for end of file, nor longer
 * than the read timeout (src) for all of them: a client that sends a short
 * body and keeps the connection open costs a process that long at most. */
size_t sm_request_cgi_read_body(void *src, char *buf, size_t want, bool *timed_out)
{
	const long long *timeout_ms = src;
	struct timespec start, now;
	size_t got = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (got < want) {
		struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
		long long left;
		ssize_t n;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = *timeout_ms - ((long long)(now.tv_sec - start.tv_sec) * 1000 +
		                      (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0) {
			*timed_out = true;
			break;
		}
		n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n == 0 || (n < 0 && errno == EINTR))
			continue;
		if (n < 0)
			break;
		n = read(STDIN_FILENO, buf + got, want - got);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

void sm_request_cgi_write(void *src, const char *text, size_t len)
{
	(void)src;
	fwrite(text, 1, len, stdout);
	fflush(stdout);
}

/* The meta-variables of RFC 3875 section 4.1 and the web servers' usual
 * additions; every HTTP_* header variable goes too. */
static const char *const cgi_vars[] = {
    "AUTH_TYPE",       "CONTENT_LENGTH",  "CONTENT_TYPE",   "GATEWAY_INTERFACE", "PATH_INFO",
    "PATH_TRANSLATED", "QUERY_STRING",    "REMOTE_ADDR",    "REMOTE_HOST",       "REMOTE_IDENT",
    "REMOTE_USER",     "REMOTE_PORT",     "REQUEST_METHOD", "REQUEST_URI",       "REQUEST_SCHEME",
    "SCRIPT_NAME",     "SCRIPT_FILENAME", "SERVER_NAME",    "SERVER_PORT",       "SERVER_PROTOCOL",
    "SERVER_SOFTWARE", "SERVER_ADDR",     "DOCUMENT_ROOT",  "REDIRECT_STATUS",   "REDIRECT_URI",
    "HTTPS",
};

void sm_request_cgi_scrub_env(void)
{
	char name[256];

	for (size_t i = 0; i < sizeof cgi_vars / sizeof cgi_vars[0]; i++)
		unsetenv(cgi_vars[i]);
	/* unsetenv changes environ: start over after each removal. */
	for (bool again = true; again;) {
		again = false;
		for (char **e = environ; e && *e; e++) {
			size_t n = strcspn(*e, "=");
			if (strncmp(*e, "HTTP_", 5) != 0 || n >= sizeof name)
				continue;
			memcpy(name, *e, n);
			name[n] = '\0';
			unsetenv(name);
			again = true;
			break;
		}
	}
}
