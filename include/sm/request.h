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

#endif
