/* request.c - the request and answer shared by the CGI and FastCGI
 * handlers, and the APIs' dispatch by route tables (see request.h). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "sm/auth.h"
#include "sm/config.h"
#include "sm/fcgi.h"
#include "sm/json.h"
#include "sm/log.h"
#include "sm/request.h"
#include "sm/store.h"
#include "sm/trace.h"

extern char **environ;

static const struct {
	int status;
	const char *reason;
} reasons[] = {
    {200, "OK"},
    {201, "Created"},
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
    {502, "Bad Gateway"},
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

/* Straight to the descriptor: the whole answer is one call, and stdio's
 * buffer for stdout was a malloc that consolidated the heap (57 k of a CGI
 * request's 2.4 M instructions, callgrind). */
void sm_request_cgi_write(void *src, const char *text, size_t len)
{
	(void)src;
	fflush(stdout); /* anything written through stdio before goes first */
	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, text, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* the web server went away: nobody to tell */
		text += n;
		len -= (size_t)n;
	}
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

static bool is_cgi_var(const char *entry)
{
	size_t n = strcspn(entry, "=");

	if (strncmp(entry, "HTTP_", 5) == 0)
		return true;
	for (size_t i = 0; i < sizeof cgi_vars / sizeof cgi_vars[0]; i++)
		if (strlen(cgi_vars[i]) == n && strncmp(entry, cgi_vars[i], n) == 0)
			return true;
	return false;
}

void sm_request_cgi_scrub_env(void)
{
	char **kept = environ;

	/* One pass that keeps the other entries in place (unsetenv for each
	 * variable scanned the environment once per name). */
	for (char **e = environ; e && *e; e++)
		if (!is_cgi_var(*e))
			*kept++ = *e;
	if (kept)
		*kept = NULL;
}

/* --- errors -------------------------------------------------------------- */

void sm_request_error(const sm_request *req, int status, const char *extra_header,
                      const char *message, json_t *extra)
{
	char code[8];
	json_t *body = json_pack("{s:s,s:s}", "status", "error", "message", message);

	snprintf(code, sizeof code, "%d", status);
	sm_log_kv(SM_LOG_WARN, "request rejected", "status", code, "reason", message, SM_LOG_END);
	if (extra)
		json_object_update(body, extra);
	json_decref(extra);
	sm_request_respond(req, status, extra_header, body);
}

void sm_request_errorf(const sm_request *req, int status, json_t *extra, const char *fmt, ...)
{
	char msg[1400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	sm_request_error(req, status, NULL, msg, extra);
}

bool sm_request_store(sm_request_call *c)
{
	sm_error err = {0};

	if (c->store || sm_store_open(NULL, &c->store, &err) == 0)
		return true;
	sm_log_kv(SM_LOG_ERROR, "cannot open the store", "error", err.msg, SM_LOG_END);
	sm_request_error(c->req, 500, NULL, "cannot open the store", NULL);
	return false;
}

int sm_request_query(const sm_request *req, const char *name, char *out, size_t size)
{
	const char *q = req->param(req->src, "QUERY_STRING");
	size_t nlen = strlen(name);

	while (q && *q) {
		size_t len = strcspn(q, "&");
		if (len > nlen && strncmp(q, name, nlen) == 0 && q[nlen] == '=') {
			size_t n = 0;
			for (size_t i = nlen + 1; i < len; i++) {
				unsigned v;
				char ch = q[i];
				if (ch == '+') {
					ch = ' ';
				} else if (ch == '%') {
					if (i + 2 >= len || !isxdigit((unsigned char)q[i + 1]) ||
					    !isxdigit((unsigned char)q[i + 2]) ||
					    sscanf(q + i + 1, "%2x", &v) != 1 || v == 0)
						return -1;
					ch = (char)v;
					i += 2;
				}
				if (n + 1 >= size)
					return -1;
				out[n++] = ch;
			}
			out[n] = '\0';
			return 1;
		}
		q += len;
		if (*q == '&')
			q++;
	}
	return 0;
}

int sm_request_number(const sm_request *req, const char *field, const char *text, json_t *v,
                      double min, double max, bool whole, double *out)
{
	char *end = NULL;
	double d = NAN;

	if (v && json_is_number(v)) {
		d = json_number_value(v);
	} else {
		if (v)
			text = json_string_value(v);
		if (text && *text && !isspace((unsigned char)*text)) {
			errno = 0;
			d = strtod(text, &end);
			if (errno || *end)
				d = NAN;
		}
	}
	if (!(d >= min && d <= max) || (whole && d != floor(d))) {
		sm_request_errorf(req, 400, NULL, "%s: expected a %s from %g to %g", field,
		                  whole ? "whole number" : "number", min, max);
		return -1;
	}
	*out = d;
	return 0;
}

/* --- dispatch ------------------------------------------------------------- */

/* Split PATH_INFO into c's segments: false when it has too many or one is
 * too long or "." / "..". Empty segments (a doubled or trailing slash) are
 * skipped; no PATH_INFO is the prefix itself (no segment). */
static bool split_path(sm_request_call *c, const char *path)
{
	char *p, *save = NULL, *s;

	if (!path)
		path = "";
	if (strlen(path) >= sizeof c->buf)
		return false;
	snprintf(c->buf, sizeof c->buf, "%s", path);
	p = c->buf;
	while ((s = strtok_r(p, "/", &save))) {
		p = NULL;
		if (c->nseg >= SM_REQUEST_MAX_SEGMENTS || strlen(s) >= SM_REQUEST_MAX_SEGMENT ||
		    strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
			return false;
		c->seg[c->nseg++] = s;
	}
	return true;
}

/* How many literal segments route r has when its pattern matches c's
 * path; -1 when it does not. */
static int route_match(const sm_request_route *r, const sm_request_call *c)
{
	int literal = 0, k;

	for (k = 0; k < c->nseg; k++) {
		if (!r->pattern[k])
			return -1;
		if (strcmp(r->pattern[k], "*") == 0)
			continue;
		if (strcmp(r->pattern[k], c->seg[k]) != 0)
			return -1;
		literal++;
	}
	return r->pattern[k] ? -1 : literal;
}

/* The route for c's path and method; NULL after answering 404 or 405.
 * Among the routes whose pattern matches, those with the most literal
 * segments win (pipeline/sync is never pipeline/<run_id>). */
static const sm_request_route *find_route(sm_request_call *c, const sm_request_route *const *tables,
                                          const char *method)
{
	char allow[64] = "Allow: ";
	int best = -1;

	for (int pass = 0; pass < 2; pass++)
		for (const sm_request_route *const *t = tables; *t; t++)
			for (const sm_request_route *r = *t; r->method; r++) {
				int m = route_match(r, c);
				if (pass == 0) {
					best = m > best ? m : best;
					continue;
				}
				if (m < 0 || m != best)
					continue;
				if (strcmp(r->method, method) == 0)
					return r;
				if (!strstr(allow + 7, r->method) &&
				    strlen(allow) + strlen(r->method) + 3 < sizeof allow)
					snprintf(allow + strlen(allow),
					         sizeof allow - strlen(allow), "%s%s",
					         allow[7] ? ", " : "", r->method);
			}
	if (best >= 0)
		sm_request_error(c->req, 405, allow, "method not allowed", NULL);
	else
		sm_request_errorf(c->req, 404, NULL, "no such endpoint under %s", c->api);
	return NULL;
}

/* Whether the request's Content-Type, when it has one, is JSON. */
static bool json_content_type(const sm_request *req)
{
	const char *ct = req->param(req->src, "CONTENT_TYPE");
	char type[128];
	size_t n;

	if (!ct || !*ct)
		return true; /* many senders omit it */
	n = strcspn(ct, ";");
	while (n > 0 && isspace((unsigned char)ct[n - 1]))
		n--;
	if (n >= sizeof type)
		return false;
	memcpy(type, ct, n);
	type[n] = '\0';
	return strcasecmp(type, "application/json") == 0 || strcasecmp(type, "text/json") == 0 ||
	       strcasecmp(type, "text/plain") == 0 ||
	       (n > 5 && strcasecmp(type + n - 5, "+json") == 0);
}

/* A POST's Content-Length into c->length: false after answering 400 or
 * 413 (the length is checked before the key). required: 400 without one. */
static bool content_length(sm_request_call *c, long long limit, bool required)
{
	const char *length = c->req->param(c->req->src, "CONTENT_LENGTH");
	char *end;

	c->length = 0;
	if (required && (!length || !*length))
		return sm_request_error(c->req, 400, NULL, "Content-Length required", NULL), false;
	if (length && *length) {
		errno = 0;
		c->length = strtoll(length, &end, 10);
		if (errno || *end || c->length < 0)
			return sm_request_error(c->req, 400, NULL, "bad Content-Length", NULL),
			       false;
	}
	if (c->length > limit)
		return sm_request_error(c->req, 413, NULL,
		                        "body larger than the limit (SM_MAX_BODY)", NULL),
		       false;
	return true;
}

/* Read a POST's body, then parse it into c->body, or keep the bytes in
 * c->raw when raw: false after answering. */
static bool read_body(sm_request_call *c, bool raw)
{
	long long want = c->length;
	json_error_t jerr;
	char *body, msg[256];
	size_t got;
	bool timed_out = false;

	if (!(body = malloc((size_t)want + 1)))
		return sm_request_error(c->req, 500, NULL, "out of memory", NULL), false;
	got = want ? c->req->read_body(c->req->src, body, (size_t)want, &timed_out) : 0;
	if (timed_out || got < (size_t)want) {
		free(body);
		if (timed_out)
			sm_request_error(c->req, 408, NULL,
			                 "body not received in time (SM_READ_TIMEOUT)", NULL);
		else
			sm_request_error(c->req, 400, NULL, "body shorter than Content-Length",
			                 NULL);
		return false;
	}
	body[got] = '\0';
	if (raw) {
		c->raw = body;
		c->raw_len = got;
		return true;
	}
	/* An empty body is an empty object. */
	c->body = strspn(body, " \t\r\n") == got
	              ? json_object()
	              : sm_json_parse(body, got, JSON_REJECT_DUPLICATES, &jerr);
	free(body);
	if (json_is_object(c->body))
		return true;
	if (c->body)
		snprintf(msg, sizeof msg, "body must be a JSON object");
	else
		snprintf(msg, sizeof msg, "malformed JSON: %s", jerr.text);
	return sm_request_error(c->req, 400, NULL, msg, NULL), false;
}

/* Every check before the endpoint, in the order of request.h: the route,
 * or NULL after answering. */
static const sm_request_route *check(sm_request_call *c, const sm_request_route *const *tables,
                                     long long limit)
{
	const sm_request *req = c->req;
	const sm_auth_request auth = {req->param, req->src};
	const char *method = req->param(req->src, "REQUEST_METHOD");
	const char *why = NULL;
	const sm_request_route *r;
	bool post;

	if (limit < 0) {
		sm_request_error(req, 500, NULL, "server misconfigured: SM_MAX_BODY", NULL);
		return NULL;
	}
	if (!split_path(c, req->param(req->src, "PATH_INFO"))) {
		sm_request_errorf(req, 404, NULL, "no such endpoint under %s", c->api);
		return NULL;
	}
	if (!(r = find_route(c, tables, method ? method : "")))
		return NULL;
	post = strcmp(r->method, "GET") != 0;
	if (post && (r->flags & SM_REQUEST_JSON_TYPE) && !json_content_type(req)) {
		sm_request_error(req, 415, NULL, "Content-Type must be application/json", NULL);
		return NULL;
	}
	if (post && !content_length(c, limit, r->flags & SM_REQUEST_LENGTH_REQUIRED))
		return NULL;
	if (!(r->flags & SM_REQUEST_NO_KEY)) {
		int key = sm_auth_api_key(&auth, &why);
		if (key <= 0) {
			sm_request_error(req, key < 0 ? 500 : 401, NULL,
			                 key < 0 ? "cannot check API keys" : why, NULL);
			return NULL;
		}
	}
	if (post && !read_body(c, r->flags & SM_REQUEST_RAW_BODY))
		return NULL;
	return r;
}

static void call_free(sm_request_call *c)
{
	json_decref(c->body);
	free(c->raw);
	sm_store_close(c->store);
	c->body = NULL;
	c->raw = NULL;
	c->store = NULL;
}

int sm_request_dispatch_group(const sm_request *reqs, size_t n, const char *api,
                              const sm_request_route *const *tables,
                              sm_request_group_endpoint *group, void *ctx)
{
	sm_request_call *calls = calloc(n ? n : 1, sizeof *calls);
	sm_request_call **deferred = calloc(n ? n : 1, sizeof *deferred);
	long long limit = sm_request_max_body();
	size_t ndeferred = 0;

	if (!calls || !deferred) {
		for (size_t i = 0; i < n; i++)
			sm_request_error(&reqs[i], 500, NULL, "out of memory", NULL);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		sm_request_call *c = &calls[i];
		const sm_request_route *r;

		*c = (sm_request_call){.req = &reqs[i], .api = api, .ctx = ctx};
		if (sm_trace_new(c->trace) == 0)
			sm_log_set_trace(c->trace);
		if ((r = check(c, tables, limit)))
			r->fn(c);
		if (c->deferred && group)
			deferred[ndeferred++] = c; /* its body and store stay for group */
		else
			call_free(c);
		sm_log_set_trace(NULL);
	}
	if (ndeferred > 0)
		group(deferred, ndeferred, ctx);
	for (size_t i = 0; i < ndeferred; i++)
		call_free(deferred[i]);
	sm_log_set_trace(NULL);
out:
	free(deferred);
	free(calls);
	return 0;
}

int sm_request_dispatch(const sm_request *req, const char *api,
                        const sm_request_route *const *tables, void *ctx)
{
	return sm_request_dispatch_group(req, 1, api, tables, NULL, ctx);
}

/* --- CGI ----------------------------------------------------------------- */

/* A CGI request whose variables were copied out of the environment. */
struct cgi_src {
	long long timeout_ms;
	char **vars; /* "NAME=value" */
	size_t n;
};

static const char *cgi_copy_param(void *src, const char *name)
{
	const struct cgi_src *s = src;
	size_t n = strlen(name);

	for (size_t i = 0; i < s->n; i++)
		if (strncmp(s->vars[i], name, n) == 0 && s->vars[i][n] == '=')
			return s->vars[i] + n + 1;
	return NULL;
}

static size_t cgi_copy_read_body(void *src, char *buf, size_t want, bool *timed_out)
{
	return sm_request_cgi_read_body(&((struct cgi_src *)src)->timeout_ms, buf, want, timed_out);
}

int sm_request_cgi_serve(int (*fn)(const sm_request *req), const sm_error *config_err)
{
	struct cgi_src src = {0};
	sm_request req = {&src, cgi_copy_param, cgi_copy_read_body, sm_request_cgi_write};

	for (char **e = environ; e && *e; e++) {
		char **v;
		if (!is_cgi_var(*e) || !(v = realloc(src.vars, (src.n + 1) * sizeof *v)))
			continue;
		src.vars = v;
		if ((v[src.n] = strdup(*e)))
			src.n++;
	}
	sm_request_cgi_scrub_env();
	sm_log_init(NULL); /* SM_LOG_LEVEL may come from the dotenv file */
	if (config_err) {
		sm_log_kv(SM_LOG_ERROR, "bad configuration", "error", config_err->msg, SM_LOG_END);
		sm_request_error(&req, 500, NULL, "server misconfigured", NULL);
	} else if ((src.timeout_ms = sm_request_read_timeout_ms()) < 0) {
		sm_request_error(&req, 500, NULL, "server misconfigured: SM_READ_TIMEOUT", NULL);
	} else {
		fn(&req);
	}
	for (size_t i = 0; i < src.n; i++)
		free(src.vars[i]);
	free(src.vars);
	return SM_EXIT_OK;
}

/* --- FastCGI ------------------------------------------------------------- */

/* Set by SIGTERM (lighttpd stops its FastCGI children so) and SIGINT. */
static volatile sig_atomic_t fcgi_stopping;

static void fcgi_on_stop(int sig)
{
	(void)sig;
	fcgi_stopping = 1;
}

static const char *fcgi_param(void *src, const char *name)
{
	return sm_fcgi_param(src, name);
}

static size_t fcgi_read_body(void *src, char *buf, size_t want, bool *timed_out)
{
	size_t len;
	const char *body = sm_fcgi_body(src, &len, NULL);

	(void)timed_out; /* the responder waits for whole requests (sm_fcgi_serve) */
	if (len > want)
		len = want; /* never more than CONTENT_LENGTH, as in CGI */
	memcpy(buf, body, len);
	return len;
}

static void fcgi_write(void *src, const char *text, size_t len)
{
	sm_fcgi_write(src, text, len);
}

void sm_request_fcgi_requests(void *ctx, sm_fcgi_conn **conns, size_t n)
{
	const sm_request_fcgi_api *api = ctx;
	sm_request reqs[SM_FCGI_MAX_CONNS];

	for (size_t i = 0; i < n && i < SM_FCGI_MAX_CONNS; i++) {
		reqs[i] = (sm_request){conns[i], fcgi_param, fcgi_read_body, fcgi_write};
		if (api->config_error)
			sm_request_error(&reqs[i], 500, NULL, "server misconfigured", NULL);
		else if (api->fn)
			api->fn(&reqs[i]);
	}
	if (!api->config_error && !api->fn)
		sm_request_dispatch_group(reqs, n < SM_FCGI_MAX_CONNS ? n : SM_FCGI_MAX_CONNS,
		                          api->api, api->tables, api->group, api->ctx);
}

bool sm_request_fcgi_wanted(int argc, char **argv)
{
	if (argc > 1 &&
	    (strcmp(argv[1], "--fastcgi") == 0 || strncmp(argv[1], "--fastcgi=", 10) == 0))
		return true;
	return argc == 1 && !getenv("GATEWAY_INTERFACE") && sm_fcgi_is_listener(STDIN_FILENO);
}

void sm_request_fcgi_limits(sm_fcgi_limits *limits, const char **config_error)
{
	long long limit = *config_error ? 0 : sm_request_max_body();

	*limits = (sm_fcgi_limits){.max_params = 128 * 1024};
	limits->max_body = limit > 0 ? (size_t)limit : 0;
	limits->read_timeout_ms = *config_error ? 0 : sm_request_read_timeout_ms();
	if (limits->read_timeout_ms < 0) {
		*config_error = "SM_READ_TIMEOUT";
		limits->read_timeout_ms = 0;
	}
}

int sm_request_fcgi_run(const char *tool, int argc, char **argv, sm_fcgi_handler *handler,
                        void *ctx, const char **config_error)
{
	struct sigaction stop = {.sa_handler = fcgi_on_stop}; /* no SA_RESTART */
	sm_fcgi_limits limits;
	const char *address = NULL;
	sm_error err, config_err;
	int fd = STDIN_FILENO, rc;

	if (argc > 1 && strncmp(argv[1], "--fastcgi=", 10) == 0)
		address = argv[1] + 10;
	else if (argc > 2)
		address = argv[2];
	if (argc > 3 || (argc > 2 && argv[1][9] == '='))
		return sm_err(SM_EXIT_USAGE, "usage: %s --fastcgi [ADDRESS]", tool);
	if (address && !*address)
		return sm_err(SM_EXIT_USAGE, "--fastcgi: empty address");
	/* A responder answers one request after another beside other writers. */
	sm_store_long_running();
	/* Read once: a change to the dotenv file needs a restart. */
	if (sm_config_load(&config_err) < 0)
		*config_error = config_err.msg;
	sm_log_init(NULL);
	sm_request_fcgi_limits(&limits, config_error);
	if (address) {
		fd = sm_fcgi_listen(address, &err);
		if (fd < 0)
			return sm_err(SM_EXIT_FAILURE, "--fastcgi: %s", err.msg);
	} else if (!sm_fcgi_is_listener(STDIN_FILENO)) {
		return sm_err(SM_EXIT_USAGE, "--fastcgi: no ADDRESS and standard input is not a "
		                             "listening socket");
	}
	sigemptyset(&stop.sa_mask);
	sigaction(SIGTERM, &stop, NULL);
	sigaction(SIGINT, &stop, NULL);
	signal(SIGPIPE, SIG_IGN); /* a vanished web server is an error, not a death */
	if (*config_error)
		sm_log_kv(SM_LOG_ERROR, "bad configuration", "error", *config_error, SM_LOG_END);
	sm_log_kv(SM_LOG_INFO, "FastCGI responder ready", "address", address ? address : "stdin",
	          SM_LOG_END);
	rc = sm_fcgi_serve(fd, &limits, handler, ctx, &fcgi_stopping, &err);
	if (address) {
		if (strchr(address, '/'))
			unlink(address);
		close(fd);
	}
	if (rc < 0)
		return sm_err(SM_EXIT_FAILURE, "--fastcgi: %s", err.msg);
	sm_log(SM_LOG_INFO, "FastCGI responder stopped");
	return SM_EXIT_OK;
}

int sm_request_fcgi_serve(const char *tool, int argc, char **argv, int (*fn)(const sm_request *req))
{
	sm_request_fcgi_api api = {.fn = fn};

	return sm_request_fcgi_run(tool, argc, argv, sm_request_fcgi_requests, &api,
	                           &api.config_error);
}

int sm_request_fcgi_serve_api(const char *tool, int argc, char **argv, const char *prefix,
                              const sm_request_route *const *tables,
                              sm_request_group_endpoint *group, void *ctx)
{
	sm_request_fcgi_api api = {.api = prefix, .tables = tables, .group = group, .ctx = ctx};

	return sm_request_fcgi_run(tool, argc, argv, sm_request_fcgi_requests, &api,
	                           &api.config_error);
}
