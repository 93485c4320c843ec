/* pipeline_run.h - running a pipeline definition and recording the run
 * (tables pipeline_runs and stage_executions), resuming a failed run, and
 * reading runs back.
 *
 * A run passes a stream of envelopes from node to node in list order: each
 * node reads the envelopes the one before it wrote (an ingest node reads the
 * payloads and writes one envelope per incident touched). Every attempt of a
 * node is a stage_executions row with its input and output snapshots (JSON
 * arrays of the envelopes in and out). A node that fails for a reason that
 * may pass (the program's exit 75, a timeout, a crash) is tried again up to
 * max_retries more times, sleeping backoff_factor ** attempt seconds in
 * between; one that fails for good (any other exit) is not.
 *
 * Run statuses: pending, then ingested / checked / analyzed as nodes of
 * those types succeed, notified at the end (checked with checks_only), or
 * failed; retrying while a resumed run runs. Stage statuses: running,
 * succeeded, failed, skipped.
 */
#ifndef SM_PIPELINE_RUN_H
#define SM_PIPELINE_RUN_H

#include <stdbool.h>
#include <jansson.h>
#include "sm/err.h"
#include "sm/store.h"

#define SM_PIPELINE_ID_LEN 36 /* a run id: a UUID, 8-4-4-4-12 hex digits */

/* A quick run: see sm_pipeline_quick_run below. */
typedef struct sm_pipeline_quick sm_pipeline_quick;

typedef struct sm_pipeline_run_opts {
	const char *definition_name; /* recorded with the run */
	const json_t *definition;    /* valid (sm_pipeline_validate) */
	const json_t *input;         /* array: payloads when the first node is an ingest
	                                node, envelopes otherwise; NULL or [] for none */
	const char *start_node;      /* run from this node; NULL: the first */
	const char *source;          /* recorded; NULL: "cli" */
	const char *trace_id;        /* NULL: a new one */
	const char *run_id;          /* NULL: a new one (sm_pipeline_new_run_id) */
	bool checks_only;            /* only the context nodes; the run ends "checked" */
	/* The first node's first attempt, made already by a quick run that did
	 * not succeed (sm_pipeline_quick_run): recorded as that attempt, its
	 * outcome taken; the retries, if any, follow as for any attempt. */
	struct sm_pipeline_quick *tried;
} sm_pipeline_run_opts;

typedef struct sm_pipeline_result {
	char run_id[SM_PIPELINE_ID_LEN + 1];
	char trace_id[40];
	char status[16];
	json_t *output;  /* the envelopes of the last node run (owned) */
	int exit_status; /* 0 notified/checked, 1 failed, 75 failed for a reason that may
	                    pass, 65 the first node refused the input (nothing recorded) */
	char error[1200];
} sm_pipeline_result;

/* Settings from the environment: ORCHESTRATION_MAX_RETRIES_PER_STAGE
 * (default 3; a definition's defaults.max_retries wins) and
 * ORCHESTRATION_BACKOFF_FACTOR (default 2.0). -1 with err when malformed. */
int sm_pipeline_settings(double *max_retries, double *backoff_factor, sm_error *err);

/* The nodes a run would run, as [{"node","type","command","next"}] where
 * command is the program and its arguments (absent for in-process types;
 * store NULL leaves the arguments out); has_input says whether the run has
 * payloads or envelopes to start with. SM_EXIT_USAGE with err for an
 * unknown start node or no node left to run, SM_EXIT_FAILURE for a program
 * that is missing or not executable. */
int sm_pipeline_plan(sm_store *store, const json_t *def, const char *start_node, bool checks_only,
                     bool has_input, json_t **out, sm_error *err);

/* A new run id into out: 0, or -1 when there is no randomness. */
int sm_pipeline_new_run_id(char out[SM_PIPELINE_ID_LEN + 1]);

/* Run opts->definition, recording it. Returns SM_EXIT_OK when the run was
 * made (its outcome in res, which the caller clears), else the exit status
 * with err set and nothing recorded.
 *
 * Called inside a transaction (sm_pipeline_resume too), the run groups its
 * records: it commits that transaction as soon as a stage's program has
 * its input (or is about to start; before an in-process node), and before
 * a retry's wait, begins another after, and returns with the records after
 * its last stage uncommitted, for the caller to commit with its own. */
int sm_pipeline_run(sm_store *store, const sm_pipeline_run_opts *opts, sm_pipeline_result *res,
                    sm_error *err);
/* A quick run: a run whose plan is one stage program, tried without
 * writing the store and recorded once it succeeded, in a transaction the
 * caller shares among several runs (the queue worker's batches, where one
 * commit a run was the cost that capped the drain). Nothing of a run that
 * did not succeed is written yet: the caller records it with
 * sm_pipeline_run (opts->tried), which goes on with its retries. */

/* Whether a run of def from start_node can be quick: its plan is one node,
 * and that node's type runs a program. */
bool sm_pipeline_quick_fits(const json_t *def, const char *start_node);
/* Try the run (opts->run_id set), writing nothing: 1 with *out when its
 * stage succeeded, for sm_pipeline_quick_record; 0 when it did not, with
 * *out holding the attempt for sm_pipeline_run (opts->tried) to record as
 * the run's first, or NULL when it could not be tried at all. */
int sm_pipeline_quick_run(sm_store *store, const sm_pipeline_run_opts *opts,
                          sm_pipeline_quick **out);
/* sm_pipeline_quick_run in two steps, so that a batch keeps its stage busy.
 * Begin: the run's ids and its input stamped, nothing run; 1 with *out, 0
 * (*out NULL) when it cannot be quick. Go: run its stage, as
 * sm_pipeline_quick_run does; next (or NULL) is the quick run to go after
 * it: when its stage is the same and q's envelope went well within
 * within_s seconds of the call, next's envelope is handed to the stage at
 * once, so it works on it while q is judged and next begun
 * (sm_pipeline_quick_handed then says so, and next's go waits for it
 * rather than handing it again). */
int sm_pipeline_quick_begin(sm_store *store, const sm_pipeline_run_opts *opts,
                            sm_pipeline_quick **out);
int sm_pipeline_quick_go(sm_pipeline_quick *q, sm_pipeline_quick *next, double within_s);
bool sm_pipeline_quick_handed(const sm_pipeline_quick *q);
/* Record a quick run as it ended, the run and its stage (inside the
 * caller's transaction), and fill res as sm_pipeline_run would have. 0, or
 * -1 (logged) when the store refused it. */
int sm_pipeline_quick_record(sm_store *store, sm_pipeline_quick *q, sm_pipeline_result *res);
void sm_pipeline_quick_free(sm_pipeline_quick *q);

/* Continue the failed run run_id from its first failed node, on that
 * node's stored input; nodes that succeeded are not run again. Same run id
 * and trace id. SM_EXIT_USAGE for an unknown run, SM_EXIT_FAILURE for a run
 * that is not failed. */
int sm_pipeline_resume(sm_store *store, const char *run_id, sm_pipeline_result *res, sm_error *err);
void sm_pipeline_result_clear(sm_pipeline_result *res);

/* Runs newest first, status NULL for all, limit 0 for no limit. Each
 * {"run_id","trace_id","definition","status","source","incident_id",
 * "current_stage","attempts","started_at","finished_at","duration_ms","error"}. */
int sm_pipeline_runs(sm_store *store, const char *status, long limit, json_t **out, sm_error *err);
/* One run with "stages": per node in the order they ran, its last attempt
 * {"node","type","status","attempts","exit_status","started_at",
 * "duration_ms","error","input","output"}, and with attempts every attempt
 * under "history". SM_EXIT_USAGE when there is no such run. */
int sm_pipeline_run_get(sm_store *store, const char *run_id, bool attempts, json_t **out,
                        sm_error *err);

#endif
