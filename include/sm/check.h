/* check.h - health checkers: the result model and the registry.
 *
 * Checkers are rows of one table ({name, description, run, thresholds}); a
 * checker fills an sm_check_result from host files read under the host root
 * (host.h). Statuses follow the monitoring-plugin contract.
 */
#ifndef SM_CHECK_H
#define SM_CHECK_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
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

/* Options from the command line (or a pipeline node). Zero means default. */
typedef struct sm_check_opts {
	const char *const *paths; /* disk, disk_inodes */
	size_t npaths;
	const char *const *hosts; /* network */
	size_t nhosts;
	const char *const *names; /* process */
	size_t nnames;
	bool per_cpu;     /* cpu */
	int samples;      /* cpu (0: 1 sample) */
	double interval;  /* seconds per sample for cpu, io_strain (0: 1 s) */
	sm_range warning; /* overrides, when set */
	sm_range critical;
	double expected_interval; /* agents: seconds between pushes */
} sm_check_opts;

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
	bool minimum; /* thresholds are minimums (network, process) */
} sm_check_result;

struct sm_checker;
typedef void (*sm_checker_fn)(const struct sm_checker *self, const sm_check_opts *opts,
                              sm_check_result *res);

typedef struct sm_checker {
	const char *name;
	const char *description;
	sm_checker_fn run;
	double warning; /* default thresholds; NAN for state-based checkers */
	double critical;
	bool minimum; /* thresholds are minimum percentages */
	bool slow;    /* samples or walks: worth its own thread */
} sm_checker;

/* The registry, in run order. */
const sm_checker *sm_checkers(size_t *count);
const sm_checker *sm_checker_find(const char *name);
/* "cpu, cpu_temp, …": every checker's name, for usage messages. */
void sm_checker_names(char *buf, size_t size);

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
 * alert_id is the alert the result became or resolved (0: none). */
int sm_check_record(sm_store *store, const sm_check_result *res, const char *hostname,
                    const char *trace_id, long long alert_id, sm_error *err);

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
