/* analyze_http.h - sm-analyze's HTTP API under /intelligence/, answered as
 * a CGI program or a FastCGI responder (sm-analyze(1), HTTP API): health,
 * the providers, recommendations for a stored incident or the general
 * scan, and this host's memory and disk analyses by the local rules. Same
 * API keys (SM_API_KEYS_FILE; health needs none), body limit, read timeout,
 * statuses and JSON error bodies as sm-ingest's webhook handler
 * (request.h). Every analysis is recorded (analysis_runs); a rejected
 * request records nothing.
 */
#ifndef SM_ANALYZE_HTTP_H
#define SM_ANALYZE_HTTP_H

#include "sm/err.h"
#include "sm/request.h"

/* Answer one request under /intelligence/ (errors too, as JSON). 0. */
int sm_analyze_http(const sm_request *req);

/* Serve the CGI request of this process (sm_request_cgi_serve). */
int sm_analyze_http_cgi(const sm_error *config_err);

#endif
