/* pipeline_metrics.h - the signals of sm-pipeline's runs and stages
 * (pipeline.started, pipeline.completed, pipeline.duration,
 * pipeline.stage.started|succeeded|failed|retrying|skipped,
 * pipeline.stage.duration) through ORCHESTRATION_METRICS_BACKEND:
 *
 *   logging     one logfmt line per signal at level info (the default)
 *   statsd      UDP datagrams to STATSD_HOST:STATSD_PORT (default
 *               localhost:8125), named STATSD_PREFIX.SIGNAL.STAGE.SOURCE
 *               (prefix default "sm": sm.pipeline.stage.duration.ingest.cli); counters as "|c",
 * durations as timers "|ms" prometheus  a node_exporter textfile at SM_METRICS_TEXTFILE, written
 *               atomically (a temporary file renamed over it) by
 *               sm_pipeline_metrics_flush from the store's records, so its
 *               counters count every run the store holds
 *   none        nothing
 */
#ifndef SM_PIPELINE_METRICS_H
#define SM_PIPELINE_METRICS_H

#include "sm/err.h"
#include "sm/store.h"

/* Read the settings; -1 with err for an unknown backend or a missing
 * SM_METRICS_TEXTFILE with prometheus. Without a call, nothing is sent. */
int sm_pipeline_metrics_init(sm_error *err);
/* The run the following signals belong to: its source ("cli", a driver),
 * which statsd names carry, and its id, which log lines carry. */
void sm_pipeline_metrics_context(const char *source, const char *run_id);
/* A run event: "started", or its end status ("notified", "checked",
 * "failed") with its duration. */
void sm_pipeline_metrics_run(const char *event, double duration_ms);
/* A stage attempt event ("started", "succeeded", "failed", "retrying",
 * "skipped") of a node type, with a duration for succeeded and failed. */
void sm_pipeline_metrics_stage(const char *stage, const char *event, double duration_ms);
/* Write what the backend keeps (the prometheus textfile); 0 or -1 with err. */
int sm_pipeline_metrics_flush(sm_store *store, sm_error *err);

#endif
