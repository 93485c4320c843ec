/* http.h - outbound HTTP requests (libcurl) for notify channels, providers
 * and pushes.
 *
 * The rules of DESIGN.md §8 are not options: only http and https; no
 * redirect is followed (a POST must not silently turn into a GET on
 * another host; a 3xx is the answer); TLS peers and host names are
 * verified; the connect and total timeouts are always set; the response
 * body is capped. Proxies from the environment (http_proxy, https_proxy,
 * no_proxy) are respected.
 *
 * Webhook URLs and headers carry secrets, so error messages name the host
 * and port only: never the path, the query, a header value or the body.
 *
 * sm_http_send is thread-safe: each call uses its own handle and its own
 * connection, closed when the call returns. A client (sm_http_client)
 * keeps its handle and its open connections between requests (HTTP
 * keep-alive): a request to a host it is still connected to goes out on
 * that connection, without a new TCP (and TLS) handshake. A client serves
 * one thread at a time.
 */
#ifndef SM_HTTP_H
#define SM_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "sm/err.h"

#define SM_HTTP_TIMEOUT_S    10.0        /* when timeout_s is 0 */
#define SM_HTTP_MAX_RESPONSE (64 * 1024) /* when max_response is 0 */

typedef struct sm_http_request {
	const char *method;         /* "POST" when NULL; GET and HEAD send no body */
	const char *url;            /* http:// or https:// (sm_http_url_ok) */
	const char *const *headers; /* "Name: value" each, NULL-terminated; may be NULL */
	const char *body;           /* may be NULL (empty) */
	size_t body_len;            /* bytes of body */
	double timeout_s;           /* whole exchange, connect included; 0: 10 s */
	const char *ca_file;        /* PEM bundle to verify the peer; NULL: system */
	size_t max_response;        /* bytes of answer body kept; 0: 64 KiB */
} sm_http_request;

typedef struct sm_http_response {
	long status;       /* HTTP status; 0 when no answer came */
	char *body;        /* the answer's body, NUL-terminated; NULL when no answer */
	size_t body_len;   /* bytes in body, at most max_response */
	bool truncated;    /* the answer was longer than max_response (and cut) */
	double elapsed_ms; /* from the call to the end of the exchange */
	bool transient;    /* may pass later: no connection, timeout, 408, 429, 5xx */
	char error[256];   /* why no answer came; "" on success */
} sm_http_response;

/* Send req and fill res (overwritten; clear it afterwards). Returns 0 when
 * an HTTP answer came, whatever its status (check res->status and
 * res->transient). Returns -1 when none came: res->error says why and
 * res->transient is true for failures that may pass (DNS, connect,
 * timeout, a connection cut) and false for those that will not (a TLS
 * certificate refused, libcurl failing to start). A request refused before sending (a
 * bad URL per sm_http_url_ok, a header without a colon or with a line
 * break, a bad method) is -1 with transient false. */
int sm_http_send(const sm_http_request *req, sm_http_response *res);

/* A client that keeps connections open between its requests; NULL when
 * out of memory. libcurl drops a connection the server closed, or one
 * idle for about two minutes, and connects again. */
typedef struct sm_http_client sm_http_client;
sm_http_client *sm_http_client_new(void);
/* Close its connections and free it; NULL is fine. */
void sm_http_client_free(sm_http_client *client);
/* sm_http_send through client, on a connection it keeps open when it has
 * one to that host (client NULL: a connection of its own, as
 * sm_http_send). */
int sm_http_client_send(sm_http_client *client, const sm_http_request *req, sm_http_response *res);

/* Once: fn(ctx) when the next request this thread sends (sm_http_send or
 * sm_http_client_send) has its answer or has failed, before the call
 * returns. Replaces the one set before; NULL clears it. */
void sm_http_on_answer(void (*fn)(void *ctx), void *ctx);

/* Free res->body and reset res. */
void sm_http_response_clear(sm_http_response *res);

/* Is url one sm_http_send will try: http:// or https:// (any case), a
 * host (name, IPv4 or [IPv6]), an optional port 1-65535, no user:password@,
 * only printable ASCII (no spaces or control characters)? When not, a
 * reason that never quotes the URL goes to why (size bytes; may be NULL). */
bool sm_http_url_ok(const char *url, char *why, size_t size);

/* A comma-separated list of base URLs (a cluster's replicas, an agent's
 * hubs) as a JSON array of strings, blanks around each entry trimmed. An
 * empty or bad entry (sm_http_url_ok, or a query or fragment), or one
 * given twice (trailing slashes aside), is refused with a usage error
 * "NAME: entry N 'URL': why", the URL left out when it may hold a secret
 * (user:password@, a query). */
json_t *sm_http_url_list(const char *text, const char *name, sm_error *err);

#endif
