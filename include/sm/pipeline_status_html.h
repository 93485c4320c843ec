/* pipeline_status_html.h - the status page (sm-pipeline status --html and
 * GET /status/): the summary of sm_pipeline_status as one self-contained
 * HTML file, with inline SVG charts of each host's cpu, memory, disk and
 * load over the last day and week, an incident timeline, the agents, the
 * runs and the queue. No external assets; readable without JavaScript (a
 * small inline script only reloads the page over HTTP and shows times in
 * the reader's zone). Every stored string is escaped.
 *
 * Each chart is downsampled in SQL to a fixed number of points (one GROUP
 * BY over an index range), so the page costs the same on a store of a
 * thousand results or of millions.
 */
#ifndef SM_PIPELINE_STATUS_HTML_H
#define SM_PIPELINE_STATUS_HTML_H

#include <stdio.h>
#include <time.h>
#include "sm/check.h" /* enum sm_status */
#include "sm/request.h"
#include "sm/store.h"

/* Points per chart: a quarter of an hour over the last day, an hour over
 * the last week. */
#define SM_STATUS_HTML_DAY_POINTS  96
#define SM_STATUS_HTML_WEEK_POINTS 168
/* Incidents drawn on the timeline: the newest changed open ones and the
 * newest ended ones of the week, this many of each. */
#define SM_STATUS_HTML_TIMELINE 20
/* Runs listed: the newest, and the newest failed. */
#define SM_STATUS_HTML_RUNS 10

/* Write the page of the store at time now to out; *level as
 * sm_pipeline_status sets it. 0, or -1 with err (nothing useful written). */
int sm_pipeline_status_html(sm_store *store, time_t now, FILE *out, enum sm_status *level,
                            sm_error *err);

/* Answer GET /status/ (the request of a CGI program whose SCRIPT_NAME ends
 * in /status): the page, with the API keys of the other endpoints (also as
 * the password of HTTP Basic authentication, so a browser can ask for it).
 * Returns 0. */
int sm_pipeline_status_http(const sm_request *req);

#endif
