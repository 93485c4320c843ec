/* sm-ingest.h - the parts of sm-ingest shared by its files. */
#ifndef SM_INGEST_TOOL_H
#define SM_INGEST_TOOL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include "sm/alert.h"

/* Answer a CGI request with a JSON 500 when the configuration is broken
 * (the details go to the log, never to the client). */
int cgi_config_error(const char *message);
/* Serve one CGI request (RFC 3875) and return the exit status. */
int cgi_main(void);
/* FastCGI mode: `--fastcgi [ADDRESS]` as the first argument, or a
 * listening socket on standard input (a web server's spawner). */
int fcgi_main(int argc, char **argv);

/* A listing (listing.c): JSON lines when json, else a table fitted to the
 * terminal and, when the limit left rows out, "100 of 2,345 shown". */
int listing_print(const char *what, const json_t *rows, long long total, bool json);
/* sm_listing_incident's answer: one JSON line when json, else for people. */
int incident_print(const json_t *all, bool json);

#endif
