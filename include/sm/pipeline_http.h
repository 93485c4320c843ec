/* pipeline_http.h - sm-pipeline's HTTP API under /orchestration/, answered
 * as a CGI program or a FastCGI responder (sm-pipeline(1), HTTP API):
 * triggers (queued or run at once), runs, resume, definitions. Same API keys (SM_API_KEYS_FILE),
 * body limit (SM_MAX_BODY), read timeout (SM_READ_TIMEOUT), statuses and JSON error bodies
 * ({"status":"error","message":…}) as sm-ingest's webhook handler (request.h, auth.h).
 */
#ifndef SM_PIPELINE_HTTP_H
#define SM_PIPELINE_HTTP_H

#include "sm/err.h"
#include "sm/request.h"

/* Answer one request; errors are answered too (JSON bodies). A
 * SCRIPT_NAME ending in /status is the status page (pipeline_status_html.h),
 * any other the API. The CGI
 * variables are removed from the environment before any stage starts.
 * Returns 0. */
int sm_pipeline_http(const sm_request *req);

/* Serve the CGI request of this process (GATEWAY_INTERFACE is set), after
 * the dotenv file was read; config_err (not NULL) is why it could not be,
 * answered with a 500 (the details only in the log). The exit status.
 * (sm_request_fcgi_serve with sm_pipeline_http answers under FastCGI.) */
int sm_pipeline_http_cgi(const sm_error *config_err);

#endif
