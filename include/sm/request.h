/* request.h - an HTTP request as a CGI/1.1 program (RFC 3875) or a FastCGI
 * responder sees it, and the JSON answer: shared by the tools that answer
 * requests behind a web server (sm-ingest's webhook handler, sm-pipeline's
 * /orchestration/ API), so they have the same limits, statuses and bodies.
 */
#ifndef SM_REQUEST_H
#define SM_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "sm/err.h"
#include "sm/fcgi.h"
#include "sm/store.h"
#include "sm/trace.h"

#define SM_REQUEST_MAX_BODY     (1u << 20) /* SM_MAX_BODY default: 1 MiB */
#define SM_REQUEST_READ_TIMEOUT 30         /* SM_READ_TIMEOUT default, seconds */

/* One request, whichever way it came: CGI's environment and standard
 * input, or a FastCGI connection's parameters and buffered body. */
typedef struct sm_request {
	void *src;
	/* A request variable (REQUEST_METHOD, HTTP_X_API_KEY, …), NULL when absent. */
	const char *(*param)(void *src, const char *name);
	/* Up to want body bytes into buf: how many there were; *timed_out
	 * when the client stalled past SM_READ_TIMEOUT. */
	size_t (*read_body)(void *src, char *buf, size_t want, bool *timed_out);
	/* The answer, CGI-style: header lines, a blank line, the body. */
	void (*write)(void *src, const char *text, size_t len);
} sm_request;

/* The body limit from SM_MAX_BODY (bytes); -1 after a log line when bad. */
long long sm_request_max_body(void);
/* How long a request's body may take to arrive, from SM_READ_TIMEOUT
 * (seconds, fractions allowed), in milliseconds; -1 after a log line when bad. */
long long sm_request_read_timeout_ms(void);

/* Answer with status, an extra header line (NULL for none) and body (a
 * JSON value, taken; NULL for none), and free body. */
void sm_request_respond(const sm_request *req, int status, const char *extra_header, json_t *body);

/* CGI: the environment, standard input (src points at the read timeout in
 * milliseconds, a long long) and standard output. */
const char *sm_request_cgi_param(void *src, const char *name);
size_t sm_request_cgi_read_body(void *src, char *buf, size_t want, bool *timed_out);
void sm_request_cgi_write(void *src, const char *text, size_t len);

/* Remove the CGI request variables (GATEWAY_INTERFACE, REQUEST_METHOD,
 * HTTP_*, …) from the environment, so a program started while answering
 * the request does not take itself for a CGI program, nor see its headers
 * (an API key among them). */
void sm_request_cgi_scrub_env(void);

/* --- the APIs' endpoints ----------------------------------------------- */

#define SM_REQUEST_MAX_SEGMENTS 4   /* path segments after the API's prefix */
#define SM_REQUEST_MAX_SEGMENT  128 /* bytes of one (a name, an id) */

/* One request on its way to an endpoint. */
typedef struct sm_request_call {
	const sm_request *req;
	const char *api;                    /* the prefix, "/notify/", for messages */
	char *seg[SM_REQUEST_MAX_SEGMENTS]; /* the path's segments after the prefix */
	int nseg;
	long long length; /* a POST's Content-Length (0 when absent) */
	json_t *body;     /* a POST's JSON object ({} when empty); NULL for a GET */
	/* A POST's bytes, NUL-terminated, for a SM_REQUEST_RAW_BODY route
	 * (whose body stays NULL); freed after the endpoint. */
	char *raw;
	size_t raw_len;
	sm_store *store; /* opened by sm_request_store, closed after the endpoint */
	void *ctx;       /* the caller's of sm_request_dispatch */
	/* Set by an endpoint that leaves its answer to the group endpoint
	 * (sm_request_dispatch_group), with what it needs in state. */
	bool deferred;
	void *state;
	char trace[SM_TRACE_LEN + 1]; /* the request's trace id ("" when none) */
	char buf[512];                /* holds the segments */
} sm_request_call;

typedef void sm_request_endpoint(sm_request_call *c);
/* Answers the deferred requests of one group together: calls[0..n). */
typedef void sm_request_group_endpoint(sm_request_call *const *calls, size_t n, void *ctx);

/* A route's flags: what it asks beyond the checks every API makes. */
enum {
	SM_REQUEST_NO_KEY = 1 << 0,          /* answered without an API key (a health check) */
	SM_REQUEST_LENGTH_REQUIRED = 1 << 1, /* a POST without Content-Length: 400 */
	/* 415 unless the Content-Type, when given, is JSON: application/json,
	 * text/json, a +json type, or text/plain (what some senders label it). */
	SM_REQUEST_JSON_TYPE = 1 << 2,
	/* The endpoint takes the body as bytes (c->raw) and parses it itself:
	 * a signature covers the bytes, and is checked before the parse. */
	SM_REQUEST_RAW_BODY = 1 << 3,
};

/* An endpoint: its method, its path as segments ("*" matches any one
 * segment, NULL ends them; a pattern of none is the prefix itself), the
 * function answering it, and its flags (SM_REQUEST_*; true is
 * SM_REQUEST_NO_KEY). A table ends with a row whose method is NULL. */
typedef struct sm_request_route {
	const char *method;
	const char *pattern[SM_REQUEST_MAX_SEGMENTS + 1];
	sm_request_endpoint *fn;
	unsigned flags;
} sm_request_route;

/* Answer req as an API under prefix api whose endpoints are the rows of
 * tables (a NULL-terminated list of tables, so several modules can add
 * theirs). In order: the path (404) and method (405, with Allow), where a
 * literal segment wins over "*"; for a POST the content type when the route
 * asks (415), the length (400, 413 past SM_MAX_BODY); the API key (401,
 * SM_API_KEYS_FILE); the body within SM_READ_TIMEOUT (408) and, unless the
 * route takes it raw, as a JSON object (400). Then the endpoint, which
 * answers. Every answer is JSON; a rejected request opens no store.
 * Returns 0. */
int sm_request_dispatch(const sm_request *req, const char *api,
                        const sm_request_route *const *tables, void *ctx);
/* The same for n requests that came in together (a FastCGI responder's
 * ready connections, or one CGI request): each is checked and goes to its
 * endpoint in turn; an endpoint may defer its answer (c->deferred), and
 * once all went through, group (when not NULL) answers the deferred ones
 * in one call, so they can share one commit. ctx goes to both. */
int sm_request_dispatch_group(const sm_request *reqs, size_t n, const char *api,
                              const sm_request_route *const *tables,
                              sm_request_group_endpoint *group, void *ctx);

/* An error answer {"status":"error","message":…} plus the members of
 * extra (an object, taken; may be NULL), logged at warn with the status. */
void sm_request_error(const sm_request *req, int status, const char *extra_header,
                      const char *message, json_t *extra);
/* The same with a formatted message and no extra header. */
void sm_request_errorf(const sm_request *req, int status, json_t *extra, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Open the store (read and write) into c->store: false after answering
 * 500. */
bool sm_request_store(sm_request_call *c);

/* One query-string parameter, percent-decoded into out: 1 found, 0 absent,
 * -1 malformed (a bad %XX, a NUL, longer than size). */
int sm_request_query(const sm_request *req, const char *name, char *out, size_t size);

/* A number from a query parameter or a JSON body member: text (a query
 * value) or v (a JSON number or a numeric string) within min..max, whole
 * when asked. 0 with *out, or -1 after answering 400 naming the field. */
int sm_request_number(const sm_request *req, const char *field, const char *text, json_t *v,
                      double min, double max, bool whole, double *out);

/* --- CGI and FastCGI ----------------------------------------------------- */

/* Serve the CGI request of this process with fn (after the dotenv file
 * was read; config_err, when not NULL, is why it could not be: a 500).
 * The request's variables are copied, then removed from the environment
 * (sm_request_cgi_scrub_env) before fn runs, so no program fn starts sees
 * them. The exit status (0: the answer was the outcome). */
int sm_request_cgi_serve(int (*fn)(const sm_request *req), const sm_error *config_err);

/* Whether this process was started as a FastCGI responder: "--fastcgi
 * [ADDRESS]" as its arguments, or alone with a listening socket on its
 * standard input (as a web server spawns one) and no CGI request. */
bool sm_request_fcgi_wanted(int argc, char **argv);
/* The FastCGI responder's life, for any handler of fcgi.h: the ADDRESS
 * argument (else a listening socket on standard input), the dotenv file and
 * the request limits read once (a problem is left in *config_error, which
 * ctx's handler answers with a 500), SIGTERM and SIGINT to stop, the
 * socket file removed at the end. tool names it in usage messages. The
 * exit status. */
int sm_request_fcgi_run(const char *tool, int argc, char **argv, sm_fcgi_handler *handler,
                        void *ctx, const char **config_error);
/* The request limits of a FastCGI responder from the settings
 * (SM_MAX_BODY, SM_READ_TIMEOUT); a bad one is left in
 * *config_error (already set: the limits are the defaults). */
void sm_request_fcgi_limits(sm_fcgi_limits *limits, const char **config_error);
/* What answers a FastCGI responder's requests: fn, one request at a time,
 * or the routes of the API under prefix api, each group of requests ready
 * together at once (sm_request_dispatch_group with tables, group and ctx);
 * with config_error set, every request is a 500. */
typedef struct sm_request_fcgi_api {
	int (*fn)(const sm_request *req);
	const char *api;
	const sm_request_route *const *tables;
	sm_request_group_endpoint *group;
	void *ctx;
	const char *config_error;
} sm_request_fcgi_api;
/* The fcgi.h handler for it (ctx: an sm_request_fcgi_api). */
void sm_request_fcgi_requests(void *ctx, sm_fcgi_conn **conns, size_t n);
/* Run the FastCGI responder (fcgi.h) for the API under prefix api: the
 * requests ready together go to sm_request_dispatch_group with tables,
 * group and ctx. As sm_request_fcgi_serve otherwise. */
int sm_request_fcgi_serve_api(const char *tool, int argc, char **argv, const char *api,
                              const sm_request_route *const *tables,
                              sm_request_group_endpoint *group, void *ctx);
/* Run the FastCGI responder (fcgi.h) answering each request with fn until
 * SIGTERM or SIGINT: reads the dotenv file once (a broken one answers
 * every request 500). tool names it in usage messages. The exit status. */
int sm_request_fcgi_serve(const char *tool, int argc, char **argv,
                          int (*fn)(const sm_request *req));

#endif
