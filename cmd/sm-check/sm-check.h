/* sm-check.h - the parts of sm-check shared by its files. */
#ifndef SM_CHECK_TOOL_H
#define SM_CHECK_TOOL_H

#include <stdbool.h>
#include <stdio.h>

#include "sm/check.h"
#include "sm/ingest.h"
#include "sm/store.h"

enum output_mode {
	OUTPUT_AUTO,
	OUTPUT_TABLE,
	OUTPUT_JSON,
	OUTPUT_NAGIOS,
};

struct tally {
	int ok, warning, critical, unknown;
};

struct check_run {
	sm_check_opts opts;
	enum output_mode output;
	bool fail_on_warning, fail_on_critical;
	bool verbose;  /* -v: details of every result, full lists */
	bool alerts;   /* --alerts: results become local alerts and incidents */
	char **labels; /* --label KEY=VALUE words, added to each alert */
	size_t nlabels;
	sm_store *store;
	sm_ingest *ingest;  /* made when first needed */
	char hostname[256]; /* this host's name, or --hostname */
	struct tally tally; /* over every result of this invocation */
};

/* Run, record and print once; returns the exit status. */
int check_run_once(struct check_run *run, const sm_checker **selected, size_t n);
/* Run, record, add the checks (and "host" when absent) to env: 0, or
 * SM_EXIT_FAILURE when the results could not be recorded, which the
 * envelope's stages record says (it still goes on, DESIGN.md §3). */
int check_run_envelope(struct check_run *run, const sm_checker **selected, size_t n, json_t *env);
/* The exit status for what the tally holds. */
int check_exit_status(const struct check_run *run);

/* The table, then the details of each result that is not OK (with
 * verbose: of every result, every item of its lists). */
void output_table(FILE *out, const sm_check_result *results, size_t n, bool color, int width,
                  bool verbose);
/* One line per incident an --alerts run touched. */
void output_incidents(FILE *out, json_t *incidents);
void output_nagios(FILE *out, const sm_check_result *results, size_t n, int status);

#endif
