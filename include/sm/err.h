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

/* What kind of failure an error is, so a caller decides by the kind (retry,
 * exit status) and never by matching message text. */
enum sm_error_kind {
	SM_ERROR_FAILURE = 0, /* the work could not be done (the default) */
	SM_ERROR_USAGE,       /* a bad flag, an unknown name, a bad option value */
	SM_ERROR_DATA,        /* bad input data: malformed, wrong type, too large */
	SM_ERROR_IO,          /* a read or write of a file, pipe or socket failed */
	SM_ERROR_TEMPORARY,   /* may pass if tried again later */
};

/* An error message filled in by a library function for its caller to print. */
typedef struct sm_error {
	char msg[512];
	enum sm_error_kind kind;
} sm_error;

/* Set the message; the kind becomes SM_ERROR_FAILURE. */
void sm_error_set(sm_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Set the message and its kind. */
void sm_error_set_kind(sm_error *err, enum sm_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Set "message: <the system's reason for errno>" with the kind, errno read
 * on entry (so formatting cannot change it). */
void sm_error_errno(sm_error *err, enum sm_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The suite's exit status for an error's kind: usage 64, data 65,
 * temporary 75, failure and I/O 1. */
int sm_error_exit(const sm_error *err);
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
/* The same with ": <the system's reason for errno>" appended. */
int sm_err_errno(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The message the last sm_err/sm_err_errno/sm_err_report printed, without
 * the program's name ("" before any): a plugin repeats it on stdout. */
const char *sm_err_last(void);
/* Print "prog: message" with the text of an sm_error. */
int sm_err_report(int code, const sm_error *err);

/* The symbolic name of an exit status ("usage", "dataerr", ...). */
const char *sm_exit_name(int code);

#endif
