/* notify_http.h - sm-notify's HTTP API under /notify/, answered as a CGI
 * program or a FastCGI responder (sm-notify(1), HTTP API): a message sent
 * now through a stored channel or a driver with a configuration from the
 * request, a batch of them, and the drivers' descriptions. Same API keys
 * (SM_API_KEYS_FILE), body limit (SM_MAX_BODY), read timeout
 * (SM_READ_TIMEOUT), statuses and JSON error bodies as sm-ingest's webhook
 * handler (request.h).
 */
#ifndef SM_NOTIFY_HTTP_H
#define SM_NOTIFY_HTTP_H

#include "sm/err.h"
#include "sm/request.h"

/* The endpoints of send, batch and drivers, ended by a NULL row. Other
 * /notify/ endpoints (silences) are tables of their own, joined to this
 * one in the list of tables of notify_http.c. */
extern const sm_request_route sm_notify_http_routes[];
/* The silences (noise_http.c): GET and POST silences/, GET and DELETE
 * silences/ID/, POST silences/ID/expire/. */
extern const sm_request_route sm_notify_silence_routes[];

/* Answer one request under /notify/ (errors too, as JSON). Returns 0. */
int sm_notify_http(const sm_request *req);

/* Serve the CGI request of this process (sm_request_cgi_serve). */
int sm_notify_http_cgi(const sm_error *config_err);

#endif
