/* sm-pipeline.h - the parts of sm-pipeline shared by its files: the
 * parsed arguments, the output helpers, and one function per subcommand
 * (main.c dispatches; definitions.c, runs.c, queue.c, status.c). */
#ifndef SM_PIPELINE_TOOL_H
#define SM_PIPELINE_TOOL_H

#include <errno.h>
#include <signal.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sm/cli.h"
#include "sm/config.h"
#include "sm/envelope.h"
#include "sm/inbox.h"
#include "sm/err.h"
#include "sm/json.h"
#include "sm/json_arena.h"
#include "sm/log.h"
#include "sm/pipeline.h"
#include "sm/pipeline_http.h"
#include "sm/pipeline_metrics.h"
#include "sm/pipeline_prune.h"
#include "sm/pipeline_route.h"
#include "sm/pipeline_run.h"
#include "sm/pipeline_setup.h"
#include "sm/pipeline_status.h"
#include "sm/pipeline_status_html.h"
#include "sm/pipeline_work.h"
#include "sm/store.h"
#include "sm/term.h"
#include "sm/trace.h"

struct args {
	const char *definition, *config, *payload, *source, *trace_id, *status, *older_than,
	    *webhook;
	bool sample, dry_run, checks_only, attempts, json, once, failed, vacuum, html;
	long limit, workers;
	sm_pipeline_setup_opts setup;
	char **operands;
	int noperands;
};

/* --json, or not a terminal. */
bool as_json(const struct args *a);
/* One JSON object per line for each element of rows (--json, a pipe). */
void json_lines(const json_t *rows);
/* Print a table on stdout, fitted to the terminal, and free it. */
void table_out(sm_table *t);
/* Open the store (read and write): the exit status, after the message. */
int open_store(sm_store **store);
/* The whole of FILE ("-": stdin); NULL after printing why. */
char *slurp(const char *file, size_t *len);
/* A JSON value on stdout, indented when pretty. */
void print_json(const json_t *v, bool pretty);
/* A definition from FILE, every problem printed; the exit status. */
int read_definition(const char *file, json_t **def);
/* The payloads (or envelopes) to start with: an array, or NULL after
 * printing why (exit status in *rc). */
json_t *read_input(const struct args *a, int *rc);

/* The subcommands: each takes the parsed arguments and returns the exit
 * status. */
int definition_command(struct args *a);
int run_command(struct args *a);
int resume_command(struct args *a);
int runs_command(struct args *a);
int show_command(struct args *a);
int setup_command(struct args *a);
int work_command(struct args *a);
int queue_command(struct args *a);
int route_command(struct args *a);
int status_command(struct args *a);
int prune_command(struct args *a);

#endif
