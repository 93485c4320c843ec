/* webhook.h - sm-ingest's webhook handler behind a web server: the
 * /alerts/webhook/ API on the shared dispatcher (request.h), as a CGI
 * program (a process per request) or a FastCGI responder (one process that
 * keeps the store open and commits the requests that arrive together
 * once). sm-ingest(1), "Webhook handler", says what a sender sees.
 */
#ifndef SM_WEBHOOK_H
#define SM_WEBHOOK_H

#include "sm/err.h"
#include "sm/request.h"

/* Answer this process's CGI request (after the dotenv file was read;
 * config_err, when not NULL, is why it could not be: a 500). The exit
 * status (0: the answer was the outcome). */
int sm_webhook_cgi(const sm_error *config_err);

/* Answer req as one request on its own (the store opened and closed for
 * it), as a CGI request is. 0. */
int sm_webhook_http(const sm_request *req);

/* Run the FastCGI responder ("--fastcgi [ADDRESS]", or a listening socket
 * on standard input) until SIGTERM or SIGINT. The exit status. */
int sm_webhook_fcgi(int argc, char **argv);

#endif
