/* err.h - the suite's exit statuses and its one way to fail.
 *
 * Every tool returns one of these (sm-check uses the monitoring-plugin
 * statuses of check.h instead). Error helpers print "prog: message" on
 * stderr; stdout only ever carries data.
 */
#ifndef SM_ERR_H
#define SM_ERR_H

#include <stddef.h>

enum sm_exit {
	SM_EXIT_OK = 0,        /* success */
	SM_EXIT_FAILURE = 1,   /* the work could not be done */
	SM_EXIT_USAGE = 64,    /* bad flag, unknown driver/checker/channel */
	SM_EXIT_DATAERR = 65,  /* bad input data */
	SM_EXIT_TEMPFAIL = 75, /* temporary failure, kept for later */
};

/* An error message filled in by a library function for its caller to print. */
typedef struct sm_error {
	char msg[512];
} sm_error;

void sm_error_set(sm_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix the message already in err with more context: "ctx: old". */
void sm_error_prefix(sm_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The short name of the running tool (basename of argv[0]). */
void sm_err_set_progname(const char *argv0);
const char *sm_err_progname(void);

/* Print "prog: message" to stderr and return code, so callers write
 * `return sm_err(SM_EXIT_USAGE, "unknown checker: %s", name);`. */
int sm_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A getopt_long failure (it returned c, ':' for a missing value): one line
 * naming the option arg and pointing at --help; returns SM_EXIT_USAGE. */
int sm_err_option(int c, const char *arg);
/* Print "prog: message" with the text of an sm_error. */
int sm_err_report(int code, const sm_error *err);

/* The symbolic name of an exit status ("usage", "dataerr", ...). */
const char *sm_exit_name(int code);

#endif
