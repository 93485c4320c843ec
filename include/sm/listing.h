/* listing.h - what sm-ingest lists: alerts and incidents filtered by
 * status, severity, source and age, with the number that matched; and one
 * incident with everything stored about it.
 */
#ifndef SM_LISTING_H
#define SM_LISTING_H

#include <time.h>
#include <jansson.h>
#include "sm/store.h"

/* A filter; NULL or 0 members do not filter. */
typedef struct sm_listing_filter {
	const char *status;   /* exactly this status */
	const char *severity; /* this severity or worse: "warning" keeps critical too */
	const char *source;   /* exactly this source (driver name) */
	double since_s;       /* updated within this many seconds before now */
	time_t now;
	long long limit; /* newest first, at most this many (0: all) */
} sm_listing_filter;

/* The rows of what ("alerts" or "incidents") that pass filter, newest
 * first, and in *total how many passed before the limit. Times are as
 * stored: RFC 3339 UTC. */
int sm_listing_rows(sm_store *store, const char *what, const sm_listing_filter *filter,
                    json_t **rows, long long *total, sm_error *err);

/* Incident id as {"incident", "alerts", "history", "deliveries",
 * "analysis"}, each list oldest first. 0 with *out NULL when there is no
 * such incident; -1 with err when the store fails. */
int sm_listing_incident(sm_store *store, long long id, json_t **out, sm_error *err);

#endif
