/* check.h - health checkers: the result model and the family.
 *
 * Each checker is one row {name, description, run, thresholds, options}
 * defined in its own lib/check/checker_<name>.c and listed once in
 * lib/check/checkers.h; a checker fills an sm_check_result from host files
 * read under the host root (host.h). Statuses follow the monitoring-plugin
 * contract.
 */
#ifndef SM_CHECK_H
#define SM_CHECK_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <jansson.h>
#include "sm/err.h"
#include "sm/json.h" /* sm_round */
#include "sm/range.h"
#include "sm/store.h"

enum sm_status {
	SM_OK = 0,
	SM_WARNING = 1,
	SM_CRITICAL = 2,
	SM_UNKNOWN = 3,
};

const char *sm_status_name(enum sm_status status); /* "ok", "warning", … */
int sm_status_parse(const char *name);             /* -1 when unknown */

/* A checker option: a row of its checker (sm_checker.options), so the
 * checker declares it and sm-check's flags, --help and parser follow. */
enum sm_check_option_kind {
	SM_CHECK_SWITCH, /* --name */
	SM_CHECK_LIST,   /* --name A,B (repeatable: the lists add up) */
	SM_CHECK_NUMBER, /* --name N (the last one counts) */
};

typedef struct sm_check_option {
	const char *name; /* the flag without "--" */
	enum sm_check_option_kind kind;
	const char *arg;                 /* the argument in --help ("P,..."); NULL for a switch */
	const char *help;                /* what it sets, for --help */
	double min, max;                 /* NUMBER: the accepted range */
	bool whole;                      /* NUMBER: whole numbers only */
	bool seconds;                    /* NUMBER: a duration (sm_config_duration: 90s, 15m) */
	bool (*valid)(const char *item); /* LIST: each item; NULL accepts any */
	const char *invalid;             /* LIST: what an item valid refuses is not */
} sm_check_option;

#define SM_CHECK_MAX_VALUES 16

/* Options for one run: threshold overrides and the values of checker
 * options by name. Zeroed means every default. */
typedef struct sm_check_opts {
	sm_range warning; /* overrides, when set */
	sm_range critical;
	struct sm_check_value {
		const char *name; /* the option's */
		char **items;     /* LIST */
		size_t count;
		double number; /* NUMBER */
	} values[SM_CHECK_MAX_VALUES];
	size_t nvalues;
	/* Set by a caller that prints no plugin output: results carry no
	 * perfdata (sm_result_perf does nothing). */
	bool no_perfdata;
} sm_check_opts;

/* Set option from its text (a comma list, a number, "" for a switch),
 * checked as the option says; -1 with err ("--samples: expected ...")
 * otherwise. Free the values with sm_check_opts_clear. */
int sm_check_opts_set(sm_check_opts *opts, const sm_check_option *option, const char *text,
                      sm_error *err);
void sm_check_opts_clear(sm_check_opts *opts);
/* An option's value in opts: a list (NULL and 0 when unset), a number
 * (fallback when unset), whether a switch is on. */
const char *const *sm_check_opts_list(const sm_check_opts *opts, const char *name, size_t *count);
double sm_check_opts_number(const sm_check_opts *opts, const char *name, double fallback);
bool sm_check_opts_switch(const sm_check_opts *opts, const char *name);

typedef struct sm_check_result {
	const char *checker; /* the row's name */
	enum sm_status status;
	char *message;   /* one line */
	json_t *metrics; /* object, keys in a stable order */
	char *error;     /* internal failure text, NULL otherwise */
	char *perfdata;  /* plugin perfdata ("label=value;warn;crit;min;max ..."), may be NULL */
	double duration_ms;
	sm_range warning; /* the thresholds used (unset for state-based checkers) */
	sm_range critical;
	bool minimum;     /* thresholds are minimums (network, process) */
	bool no_perfdata; /* from the run's options */
} sm_check_result;

struct sm_checker;
typedef void (*sm_checker_fn)(const struct sm_checker *self, const sm_check_opts *opts,
                              sm_check_result *res);

typedef struct sm_checker {
	const char *name;
	const char *description; /* what --list prints */
	sm_checker_fn run;
	double warning; /* default thresholds; NAN for state-based checkers */
	double critical;
	bool minimum; /* thresholds are minimum percentages */
	bool slow;    /* samples or walks: worth its own thread */
	/* The options it takes, NULL-terminated (NULL: none); two checkers
	 * taking the same option share one row. */
	const sm_check_option *const *options;
	/* The metric naming the filesystem path a non-OK result is about (the
	 * analysis looks there); NULL: none. */
	const char *path_metric;
	/* What to do when it is not OK, one line for people (sm-check's
	 * terminal details); NULL: the details say it. */
	const char *advice;
	/* The result for people, under its status line on a terminal: what
	 * the metrics say, largest items first, at most limit items per list
	 * (0: all), each line indented four spaces. NULL: sm-check prints the
	 * metrics themselves. */
	void (*details)(const sm_check_result *res, FILE *out, size_t limit);
} sm_checker;

/* The family, in run order (declared once, in lib/check/checkers.h). */
const sm_checker *const *sm_checkers(size_t *count);
const sm_checker *sm_checker_find(const char *name);
/* "cpu, cpu_temp, …": every checker's name, for usage messages. */
void sm_checker_names(char *buf, size_t size);
/* Every checker option once, in the order of the checkers that take
 * them; NULL-terminated. */
const sm_check_option *const *sm_check_options(size_t *count);
const sm_check_option *sm_check_option_find(const char *name);
/* "disk, disk_inodes": the checkers taking option, into buf. */
void sm_check_option_users(const sm_check_option *option, char *buf, size_t size);

/* Run one checker: resolves thresholds (overrides over defaults), times
 * run(), and never leaves status/message unset. Free with
 * sm_check_result_clear. */
void sm_check_run(const sm_checker *checker, const sm_check_opts *opts, sm_check_result *res);
/* Run several checkers into results[0..n-1]; the slow ones (samplers,
 * walkers) on their own threads, so a run costs about one sample interval
 * rather than the sum of them. */
void sm_check_run_many(const sm_checker *const *selected, size_t n, const sm_check_opts *opts,
                       sm_check_result *results);
void sm_check_result_clear(sm_check_result *res);
/* The result as the envelope's check object. */
json_t *sm_check_result_json(const sm_check_result *res);

/* Insert the check_runs row for res (inside the caller's transaction);
 * alert_id is the alert the result became or resolved (0: none). The
 * metrics are stored as sm_check_stored_metrics makes them. */
int sm_check_record(sm_store *store, const sm_check_result *res, const char *hostname,
                    const char *trace_id, long long alert_id, sm_error *err);

/* How many items of a list in the metrics are stored. */
#define SM_CHECK_STORED_ITEMS 10

/* The metrics as stored: every list (array) of more than
 * SM_CHECK_STORED_ITEMS items that are not all numbers keeps only that
 * many, the largest by "size_mb" when every item has one (else the first),
 * with <name>_count and, for sized items, <name>_total_mb beside it unless
 * the checker set them. Lists of numbers (one per CPU) stay whole; objects
 * are walked. A new reference, to a copy when a list was cut and to metrics
 * itself otherwise (so not to be changed); {} when metrics is not an
 * object. */
json_t *sm_check_stored_metrics(const json_t *metrics);

/* Whether s is an acceptable ping target: a host name or an IPv4/IPv6
 * address, never empty, never starting with '-', no spaces or controls. */
bool sm_check_host_valid(const char *s);

/* --- helpers for checker implementations --- */

/* Set status and a printf message. */
void sm_result_set(sm_check_result *res, enum sm_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* OK with "Skipped: <reason>". */
void sm_result_skip(sm_check_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* UNKNOWN with "Check failed: <why>" and error = why. */
void sm_result_fail(sm_check_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The threshold rule on v: CRITICAL, else WARNING, else OK. */
enum sm_status sm_result_level(const sm_check_result *res, double v);
/* Append one perfdata item; thresholds come from res when with_thresholds. */
void sm_result_perf(sm_check_result *res, const char *label, double value, const char *uom,
                    bool with_thresholds, double min, double max);
/* Metric setters that keep insertion order. */
void sm_metric_real(json_t *obj, const char *key, double v);
void sm_metric_int(json_t *obj, const char *key, long long v);
void sm_metric_str(json_t *obj, const char *key, const char *s); /* NULL → null */
void sm_metric_bool(json_t *obj, const char *key, bool b);

#endif
