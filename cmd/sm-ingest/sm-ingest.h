/* sm-ingest.h - the parts of sm-ingest shared by its files. */
#ifndef SM_INGEST_TOOL_H
#define SM_INGEST_TOOL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include "sm/alert.h"

/* A listing (listing.c): JSON lines when json, else a table fitted to the
 * terminal and, when the limit left rows out, "100 of 2,345 shown". */
int listing_print(const char *what, const json_t *rows, long long total, bool json);
/* sm_listing_incident's answer: one JSON line when json, else for people. */
int incident_print(const json_t *all, bool json);

#endif
