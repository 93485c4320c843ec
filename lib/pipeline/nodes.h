/* nodes.h - private to libsm: sm-pipeline's node types as rows of one table.
 *
 * Each type is one file (node_<name>.c) defining one row; the table is in
 * nodes.c. A type either names a sibling program (sm-ingest, sm-check,
 * sm-analyze, sm-notify) that nodes.c runs with the envelopes on its stdin,
 * giving only its arguments, or runs in-process (transform). Each row
 * checks its own config for sm_pipeline_validate.
 */
#ifndef SM_PIPELINE_NODES_H
#define SM_PIPELINE_NODES_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "sm/err.h"
#include "sm/store.h"

/* What one attempt of a node sees. */
typedef struct node_ctx {
	sm_store *store;
	const char *run_id;   /* added to the stage's log lines; may be NULL */
	const char *trace_id; /* the run's; may be NULL */
	const char *node_id;
	const json_t *config; /* never NULL ({} when the node has none) */
	double timeout_s;
	bool entry;             /* nothing ran before it: no envelopes in */
	const json_t *outputs;  /* node id -> the envelopes it wrote, for earlier nodes */
	const json_t *previous; /* what the node's last failed attempt on this input
	                           wrote, when it is tried again (NULL the first time) */
	/* Called (maybe more than once) when the stage's program has its input
	 * or is about to start: the run's open records commit then, while the
	 * stage works, instead of before the hand-over. NULL: nothing to do. */
	void (*handed)(void *arg);
	void *handed_arg;
	/* The input as a filter's lines, made already (a quick run's); NULL:
	 * made from the input. */
	const char *lines;
	size_t lines_len;
	/* The next run's lines for the same stage (a batch of quick runs):
	 * handed to the filter as soon as this attempt's envelopes are done and
	 * went well, if that is within ahead_within_s of the attempt's start, so
	 * that the stage works on them while this attempt is judged and
	 * recorded. *ahead_taken says whether they were. NULL: none. */
	const char *ahead;
	size_t ahead_len;
	double ahead_within_s;
	bool *ahead_taken;
} node_ctx;

static inline void node_handed(const node_ctx *ctx)
{
	if (ctx->handed)
		ctx->handed(ctx->handed_arg);
}

/* What one attempt gave. */
typedef struct node_outcome {
	json_t *output;   /* array of envelopes (owned); NULL when nothing usable came */
	bool temporary;   /* may pass when tried again: exit 75, a timeout, a crash */
	int exit_status;  /* the program's exit status, -1 when it did not exit */
	char error[1024]; /* "" on success */
} node_outcome;

typedef struct node_type {
	const char *name;
	const char *program;    /* sibling program; NULL: runs in-process */
	const char *run_status; /* the run's status once the node succeeded; NULL: unchanged */
	int ok_max;             /* highest exit status meaning success (sm-check's 0-3) */
	bool filter;            /* its exit status is its envelope loop's (stage.h), so a
	                           worker may keep it running as a filter */
	const char *summary;    /* what it does, for --dry-run and the man page */
	/* Append a string per problem of config to problems, each naming node. */
	void (*validate)(const json_t *def, const char *node, const json_t *config,
	                 json_t *problems);
	/* Spawned types: the program's arguments (strings) appended to args. */
	int (*arguments)(const node_ctx *ctx, json_t *args, sm_error *err);
	/* Run over input (an array of envelopes): the in-process types, and a
	 * spawned type that decides how to run its program (NULL: node_spawn). */
	void (*run)(const node_ctx *ctx, const json_t *input, node_outcome *out);
} node_type;

extern const node_type node_ingest, node_context, node_intelligence, node_notify, node_transform;

/* The i-th type (from 0), NULL past the last. */
const node_type *node_type_at(size_t i);
const node_type *node_type_find(const char *name);
/* "ingest, context, ..." for messages. */
const char *node_type_names(void);

/* Run one attempt of node type t over input. */
void node_run(const node_type *t, const node_ctx *ctx, const json_t *input, node_outcome *out);
/* Run t's program over input with arguments (NULL: the type's own for
 * ctx), judging its end by its exit status. */
void node_spawn(const node_type *t, const node_ctx *ctx, const json_t *input,
                const json_t *arguments, node_outcome *out);
/* Judge one attempt of t's program: its exit status (-1 when it did not
 * exit), the signal that ended it, whether it timed out, its stdout and
 * stderr. Fills out (output, error, temporary) and relays stderr. */
void node_judge(const node_type *t, const node_ctx *ctx, int exit_status, int signal,
                bool timed_out, const char *text, size_t len, const char *errtext, size_t errlen,
                node_outcome *out);
/* The same for a stage run in this process: its envelopes (output, taken)
 * and what it logged (errtext) rather than a program's streams. */
void node_judge_output(const node_type *t, const node_ctx *ctx, int exit_status, json_t *output,
                       const char *errtext, size_t errlen, node_outcome *out);
/* Which of two envelopes' statuses stands for a stream of them, in
 * sm_stage_exit's order (failure, then tempfail, then dataerr). */
int node_worse_status(int a, int b);

/* Long-lived filters (node_filter.c), for `sm-pipeline work`: once enabled
 * in a process, a type with .filter runs its program (argv, argv[0] a
 * path) as a filter kept across runs, one per distinct argv, handing it
 * one envelope at a time and reading that envelope's status on
 * SM_STAGE_STATUS_FD (stage.h). The outcome is judged as node_spawn judges
 * a process's: the worst status of the envelopes stands for the exit
 * status. A filter that dies or times out fails the attempt as a crash or
 * timeout would, and a new one starts on the next use. Returns false, out
 * untouched, when filters are not enabled. */
bool node_filter_run(const node_type *t, const node_ctx *ctx, const char *const *argv,
                     const json_t *input, node_outcome *out);
/* An envelope as a filter's line: its JSON and a newline (malloc'd; NULL
 * when out of memory). */
char *node_filter_line(const json_t *env, size_t *len);
/* The same line for the one envelope of a stream whose compact text
 * (sm_json_dump's) is stream_text: "[envelope]" without its brackets, not
 * printed again. NULL when that is not such a text, or out of memory. */
char *node_filter_line_of_stream(const char *stream_text, size_t *len);

/* Hand no lines ahead from now on (a stop request; async-signal-safe). */
void node_filters_hold(void);
/* Let this process keep filters (sm-pipeline work); SIGPIPE is ignored. */
void node_filters_enable(void);
/* Stop the filters when the configuration they started with changed: the
 * environment file (SM_ENV_FILE), the notification channels or the
 * intelligence providers in store. Cheap; called before each queue item. */
void node_filters_refresh(sm_store *store);
/* Stop every filter: stdin closed, each given a moment to exit, then killed;
 * and drop the notifiers run in this process (node_local_run). */
void node_filters_stop(void);
/* Whether node_filters_enable was called in this process. */
bool node_filters_enabled(void);

/* The notify stage in this process rather than as a filter
 * (node_local.c), when filters are enabled and its program is the
 * sm-notify beside this one: the outcome judged as a filter's. false, out
 * untouched, when it does not run here (argv as node_filter_run's). */
bool node_local_run(const node_type *t, const node_ctx *ctx, const char *const *argv,
                    const json_t *input, node_outcome *out);
/* Drop the notifiers node_local_run keeps. */
void node_local_stop(void);
/* Whether node_local_run may run the stage here (SM_NOTIFY_IN_WORKER; the
 * default is yes). */
void node_local_allow(bool allow);

/* Where program lives: next to the running executable, else on PATH.
 * 0 with buf filled, -1 with err saying why not. */
int node_program_path(const char *program, char *buf, size_t size, sm_error *err);

/* Helpers for the validators: append "node \"id\": message". */
void node_problem(json_t *problems, const char *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Check that config's key, when present, is a string (or, with list, an
 * array of strings), appending a problem otherwise; returns whether it is. */
bool node_check_string(const json_t *config, const char *key, const char *node, json_t *problems);
bool node_check_strings(const json_t *config, const char *key, const char *node, json_t *problems);
/* Dotted-path lookup through objects ("a.b.c"; "" is v itself); NULL when missing. */
json_t *node_path_get(const json_t *v, const char *path);

#endif
