/* webhook.h - sm-ingest's webhook handler behind a web server: the
 * /alerts/webhook/ API on the shared dispatcher (request.h), as a CGI
 * program (a process per request) or a FastCGI responder (one process that
 * keeps the store open and commits the requests that arrive together
 * once). sm-ingest(1), "Webhook handler", says what a sender sees.
 */
#ifndef SM_WEBHOOK_H
#define SM_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "sm/err.h"
#include "sm/fcgi.h"
#include "sm/inbox.h"
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

/* --- hosted by a queue worker (sm-pipeline work --webhook) ------------------ */

/* The handler inside a worker's process, answering the FastCGI requests
 * the worker serves (sm_fcgi_serve_with): the requests' items are queued
 * claimed for the worker, which takes them after each group (no hand-over
 * socket, no wake-up), on the worker's own store connection (so what the
 * commit wrote is still in its cache when the worker reads it); the wait
 * for the disk before the answers go (SM_STORE_SYNC) is left to
 * sm_webhook_host_sync, which the serving runs on the thread sending the
 * answers while the worker runs the items. */
typedef struct sm_webhook_host sm_webhook_host;

/* A host on store (kept, not closed); config_error as in
 * sm_request_fcgi_api (NULL: none). NULL when out of memory. */
sm_webhook_host *sm_webhook_host_new(sm_store *store, const char *config_error);
void sm_webhook_host_free(sm_webhook_host *h);
/* The fcgi.h handler (ctx: the host). */
void sm_webhook_host_requests(void *ctx, sm_fcgi_conn **conns, size_t n);
/* After a group: up to max of the items it queued (sm_handoff_take). */
size_t sm_webhook_host_take(sm_webhook_host *h, sm_inbox_item *items, size_t max);
/* Whether the last group's commit waits for the disk (sm_webhook_host_sync
 * has something to do). */
bool sm_webhook_host_sync_due(const sm_webhook_host *h);
/* Before a group's answers go: wait for the disk when its commit must
 * (safe beside the worker's use of the store). false when the disk could
 * not say it holds the commit: the answers must not go. */
bool sm_webhook_host_sync(sm_webhook_host *h);

#endif
