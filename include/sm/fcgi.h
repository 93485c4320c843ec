/* fcgi.h - the FastCGI protocol (version 1), responder role, for a
 * long-running webhook handler behind a web server.
 *
 * The bytes come from the web server and are not trusted: every length is
 * checked against what was received and against the limits given. One
 * request at a time per connection: a second BEGIN_REQUEST while one is
 * open is refused with FCGI_CANT_MPX_CONN. FCGI_GET_VALUES is answered
 * (FCGI_MAX_CONNS and FCGI_MAX_REQS SM_FCGI_MAX_CONNS, FCGI_MPXS_CONNS 0),
 * other management records get FCGI_UNKNOWN_TYPE, roles other than the
 * responder FCGI_UNKNOWN_ROLE. A connection is kept after its request only
 * when the web server asked for it (FCGI_KEEP_CONN).
 *
 * The parser (sm_fcgi_conn) is a state machine fed with bytes, so it can be
 * tested and fuzzed without sockets; sm_fcgi_serve runs it over the
 * accepted connections of one process.
 */
#ifndef SM_FCGI_H
#define SM_FCGI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include "sm/err.h"

/* Record types and the values of the specification. */
enum sm_fcgi_type {
	SM_FCGI_BEGIN_REQUEST = 1,
	SM_FCGI_ABORT_REQUEST = 2,
	SM_FCGI_END_REQUEST = 3,
	SM_FCGI_PARAMS = 4,
	SM_FCGI_STDIN = 5,
	SM_FCGI_STDOUT = 6,
	SM_FCGI_STDERR = 7,
	SM_FCGI_DATA = 8,
	SM_FCGI_GET_VALUES = 9,
	SM_FCGI_GET_VALUES_RESULT = 10,
	SM_FCGI_UNKNOWN_TYPE = 11,
};

enum {
	SM_FCGI_HEADER_LEN = 8,
	SM_FCGI_MAX_CONTENT = 65535,
	SM_FCGI_RESPONDER = 1,
	SM_FCGI_KEEP_CONN = 1,
	SM_FCGI_REQUEST_COMPLETE = 0,
	SM_FCGI_CANT_MPX_CONN = 1,
	SM_FCGI_OVERLOADED = 2,
	SM_FCGI_UNKNOWN_ROLE = 3,
};

/* A record header. */
typedef struct sm_fcgi_header {
	unsigned version, type, request_id, content_length, padding_length;
} sm_fcgi_header;

/* Decode the 8 header bytes at buf. */
void sm_fcgi_header_decode(const unsigned char *buf, sm_fcgi_header *h);
/* Encode a version-1 header into out[8]; content_length ≤ 65535. */
void sm_fcgi_header_encode(unsigned char *out, unsigned type, unsigned request_id,
                           unsigned content_length, unsigned padding_length);

/* The next name-value pair of buf[0..len) from *pos: 1 with the pair (not
 * NUL-terminated, pointing into buf) and *pos advanced, 0 at the end, -1
 * when the pair is cut short or its lengths run past len. */
int sm_fcgi_pair_next(const unsigned char *buf, size_t len, size_t *pos, const unsigned char **name,
                      size_t *name_len, const unsigned char **value, size_t *value_len);
/* Encode a pair into out (size bytes): the bytes written, or the bytes it
 * would need when that is more than size (as snprintf). Lengths above
 * 0x7fffffff are not representable: 0. */
size_t sm_fcgi_pair_encode(unsigned char *out, size_t size, const char *name, size_t name_len,
                           const char *value, size_t value_len);

typedef struct sm_fcgi_limits {
	size_t max_params; /* bytes of PARAMS content per request; more = protocol error */
	size_t max_body;   /* bytes of STDIN kept; more are counted and dropped */
	/* Milliseconds a connection has to send a whole request, from its
	 * accept or its previous answer; then it is closed (0: 30 s). */
	long long read_timeout_ms;
} sm_fcgi_limits;

typedef struct sm_fcgi_conn sm_fcgi_conn;

enum sm_fcgi_status {
	SM_FCGI_ERROR = -1, /* a protocol error: close the connection (sm_fcgi_conn_error) */
	SM_FCGI_MORE = 0,   /* every byte taken, no complete request yet */
	SM_FCGI_READY = 1,  /* a request is complete: answer it before feeding more */
	SM_FCGI_CLOSE = 2,  /* the web server ended its request and wants the connection closed */
};

sm_fcgi_conn *sm_fcgi_conn_new(const sm_fcgi_limits *limits);
void sm_fcgi_conn_free(sm_fcgi_conn *c);
/* Take bytes from the web server. *used says how many were taken: after
 * SM_FCGI_READY the rest must be fed again once the request is answered. */
int sm_fcgi_conn_feed(sm_fcgi_conn *c, const void *data, size_t len, size_t *used);
/* Why the last feed failed. */
const char *sm_fcgi_conn_error(const sm_fcgi_conn *c);

/* The complete request (after SM_FCGI_READY). A parameter's value, NULL
 * when absent. */
const char *sm_fcgi_param(const sm_fcgi_conn *c, const char *name);
/* The body kept (at most max_body bytes) and, in *total, how many bytes
 * the web server sent. */
const char *sm_fcgi_body(const sm_fcgi_conn *c, size_t *len, size_t *total);

/* Answer the request: STDOUT bytes (may be called several times), then
 * the end (an empty STDOUT and END_REQUEST, REQUEST_COMPLETE). 0, or -1
 * when out of memory. sm_fcgi_end returns whether the web server wants the
 * connection kept (1) or closed (0). */
int sm_fcgi_write(sm_fcgi_conn *c, const void *data, size_t len);
int sm_fcgi_end(sm_fcgi_conn *c, unsigned app_status);

/* Bytes waiting to go to the web server (answers, refusals, management
 * replies); sm_fcgi_conn_sent drops the first n of them. */
const unsigned char *sm_fcgi_conn_output(const sm_fcgi_conn *c, size_t *len);
void sm_fcgi_conn_sent(sm_fcgi_conn *c, size_t n);

/* Whether fd is a listening socket, as a web server that spawns FastCGI
 * programs leaves on descriptor 0 (FCGI_LISTENSOCK_FILENO). */
bool sm_fcgi_is_listener(int fd);
/* Listen on address: a unix socket path (with a '/'; created mode 0660, a
 * stale socket there is replaced, any other file is not) or HOST:PORT
 * ([ADDR]:PORT for IPv6). The descriptor, or -1 with err. */
int sm_fcgi_listen(const char *address, sm_error *err);

/* Connections served at once by one process. */
#define SM_FCGI_MAX_CONNS 32

/* Called with the requests that became complete together (1 to
 * SM_FCGI_MAX_CONNS of them, each on its own connection), so that they can
 * share one transaction; answers each with sm_fcgi_write. The end of each
 * request is sent when it returns. */
typedef void sm_fcgi_handler(void *ctx, sm_fcgi_conn **requests, size_t n);

/* Accept connections on listen_fd (made non-blocking) and serve their
 * requests until *stop is set by a signal handler, which must be
 * installed without SA_RESTART so a blocking poll returns. Up to
 * SM_FCGI_MAX_CONNS connections are open at once, several web server
 * requests thus waiting together for one commit; requests on one
 * connection come one after the other. A protocol error, a stalled or
 * vanished web server closes that connection only. Returns 0 when
 * stopped, -1 with err when the listening socket fails. */
int sm_fcgi_serve(int listen_fd, const sm_fcgi_limits *limits, sm_fcgi_handler *handler, void *ctx,
                  volatile sig_atomic_t *stop, sm_error *err);

/* What a program does beside answering requests (sm_fcgi_serve_with). */
#define SM_FCGI_MAX_HOOK_FDS 4
typedef struct sm_fcgi_hooks {
	/* Polled for input beside the connections (a negative one is left
	 * out): one becoming readable ends the wait, and idle runs. */
	int fds[SM_FCGI_MAX_HOOK_FDS];
	size_t nfds;
	/* Before every wait: the program's own work. How long the wait may
	 * last at most, in milliseconds (-1: as long as the serving likes,
	 * a second at most). NULL: none. */
	long long (*idle)(void *ctx);
	/* For each group of requests answered: before_send on a thread of its
	 * own, then the group's answers sent from there (or, when it says
	 * false, their connections closed unanswered), while after runs on
	 * the serving thread; the next group waits for both. Neither may
	 * touch the other's data, nor the requests. Both or neither. */
	bool (*before_send)(void *ctx);
	void (*after)(void *ctx);
	void *ctx;
} sm_fcgi_hooks;

/* sm_fcgi_serve, with the program's own work beside (hooks may be NULL). */
int sm_fcgi_serve_with(int listen_fd, const sm_fcgi_limits *limits, sm_fcgi_handler *handler,
                       void *ctx, const sm_fcgi_hooks *hooks, volatile sig_atomic_t *stop,
                       sm_error *err);

#endif
