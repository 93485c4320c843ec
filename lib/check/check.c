/* check.c - the checker table (from the one list in checkers.h), the
 * options checkers share and their values, the result model and helpers
 * shared by the checker implementations (checker_*.c). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkers.h"
#include "sm/config.h"
#include "sm/json.h"
#include "sm/rfc3339.h"

#define ROW(name) &sm_checker_##name,
static const sm_checker *const registry[] = {SM_CHECKER_LIST(ROW)};
#undef ROW
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool absolute(const char *path)
{
	return path[0] == '/';
}

const sm_check_option sm_check_option_paths = {
    .name = "paths",
    .kind = SM_CHECK_LIST,
    .arg = "P,...",
    .help = "paths to check (default /)",
    .valid = absolute,
    .invalid = "an absolute path",
};

const sm_check_option sm_check_option_samples = {
    .name = "samples",
    .kind = SM_CHECK_NUMBER,
    .arg = "N",
    .help = "samples (io_strain: a window of samples x interval)",
    .min = 1,
    .max = 3600,
    .whole = true,
};

const sm_check_option sm_check_option_interval = {
    .name = "interval",
    .kind = SM_CHECK_NUMBER,
    .arg = "S",
    .help = "seconds per sample (default 1; or 2s, 1m)",
    .min = 0.001,
    .max = 3600,
    .seconds = true,
};

const sm_checker *const *sm_checkers(size_t *count)
{
	*count = COUNT(registry);
	return registry;
}

const sm_checker *sm_checker_find(const char *name)
{
	for (size_t i = 0; name && i < COUNT(registry); i++)
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	return NULL;
}

void sm_checker_names(char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < COUNT(registry) && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
		                         registry[i]->name);
}

/* --- checker options --- */

static const sm_check_option *all_options[SM_CHECK_MAX_VALUES + 1];
static size_t noptions;

/* Each option once, in the order of the first checker taking it. */
static void collect_options(void)
{
	for (size_t i = 0; i < COUNT(registry); i++) {
		for (const sm_check_option *const *o = registry[i]->options; o && *o; o++) {
			size_t k = 0;
			while (k < noptions && all_options[k] != *o)
				k++;
			if (k == noptions && noptions < SM_CHECK_MAX_VALUES)
				all_options[noptions++] = *o;
		}
	}
}

const sm_check_option *const *sm_check_options(size_t *count)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, collect_options);
	*count = noptions;
	return all_options;
}

const sm_check_option *sm_check_option_find(const char *name)
{
	size_t n;
	const sm_check_option *const *all = sm_check_options(&n);

	for (size_t i = 0; name && i < n; i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

void sm_check_option_users(const sm_check_option *option, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < COUNT(registry) && used < size; i++)
		for (const sm_check_option *const *o = registry[i]->options; o && *o; o++)
			if (*o == option && used < size)
				used += (size_t)snprintf(buf + used, size - used, "%s%s",
				                         used ? ", " : "", registry[i]->name);
}

/* The value slot of name in opts: the existing one, a new one, or NULL
 * when opts is full. */
static struct sm_check_value *slot(sm_check_opts *opts, const char *name)
{
	for (size_t i = 0; i < opts->nvalues; i++)
		if (strcmp(opts->values[i].name, name) == 0)
			return &opts->values[i];
	if (opts->nvalues == SM_CHECK_MAX_VALUES)
		return NULL;
	opts->values[opts->nvalues] = (struct sm_check_value){.name = name};
	return &opts->values[opts->nvalues++];
}

static const struct sm_check_value *find_value(const sm_check_opts *opts, const char *name)
{
	for (size_t i = 0; opts && i < opts->nvalues; i++)
		if (strcmp(opts->values[i].name, name) == 0)
			return &opts->values[i];
	return NULL;
}

/* Add the items of a comma list (empty items skipped), each checked. */
static int add_items(struct sm_check_value *v, const sm_check_option *o, const char *text,
                     sm_error *err)
{
	char *copy = strdup(text), *save = NULL;
	int rc = 0;

	if (!copy) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	for (char *tok = strtok_r(copy, ",", &save); tok && rc == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		char **items;
		if (o->valid && !o->valid(tok)) {
			sm_error_set(err, "--%s: '%s' is not %s", o->name, tok, o->invalid);
			rc = -1;
		} else if (!(items = realloc(v->items, (v->count + 1) * sizeof *items)) ||
		           !((v->items = items)[v->count] = strdup(tok))) {
			sm_error_set(err, "out of memory");
			rc = -1;
		} else {
			v->count++;
		}
	}
	free(copy);
	return rc;
}

int sm_check_opts_set(sm_check_opts *opts, const sm_check_option *option, const char *text,
                      sm_error *err)
{
	struct sm_check_value *v = slot(opts, option->name);
	char *end;
	double d;

	if (!v) {
		sm_error_set(err, "--%s: too many options", option->name);
		return -1;
	}
	switch (option->kind) {
	case SM_CHECK_SWITCH:
		v->number = 1;
		return 0;
	case SM_CHECK_LIST:
		return add_items(v, option, text, err);
	case SM_CHECK_NUMBER:
		errno = 0;
		if (option->seconds && sm_config_duration(text, &d) < 0)
			d = NAN; /* refused below, with the range */
		else if (!option->seconds && (d = strtod(text, &end), errno || end == text || *end))
			d = NAN;
		if (!(d >= option->min && d <= option->max)) {
			sm_error_set(err, "--%s: expected a number from %g to %g, got '%s'",
			             option->name, option->min, option->max, text);
			return -1;
		}
		if (option->whole && d != floor(d)) {
			sm_error_set(err, "--%s: expected a whole number", option->name);
			return -1;
		}
		v->number = d;
		return 0;
	}
	return -1;
}

void sm_check_opts_clear(sm_check_opts *opts)
{
	for (size_t i = 0; i < opts->nvalues; i++) {
		for (size_t k = 0; k < opts->values[i].count; k++)
			free(opts->values[i].items[k]);
		free(opts->values[i].items);
	}
	memset(opts, 0, sizeof *opts);
}

const char *const *sm_check_opts_list(const sm_check_opts *opts, const char *name, size_t *count)
{
	const struct sm_check_value *v = find_value(opts, name);

	*count = v ? v->count : 0;
	return v && v->count ? (const char *const *)v->items : NULL;
}

double sm_check_opts_number(const sm_check_opts *opts, const char *name, double fallback)
{
	const struct sm_check_value *v = find_value(opts, name);

	return v ? v->number : fallback;
}

bool sm_check_opts_switch(const sm_check_opts *opts, const char *name)
{
	return find_value(opts, name) != NULL;
}

static const char *const status_names[] = {"ok", "warning", "critical", "unknown"};

const char *sm_status_name(enum sm_status status)
{
	return (unsigned)status <= SM_UNKNOWN ? status_names[status] : "unknown";
}

int sm_status_parse(const char *name)
{
	for (int i = 0; i <= SM_UNKNOWN; i++)
		if (strcmp(name, status_names[i]) == 0)
			return i;
	return -1;
}

double sm_check_interval(const sm_check_opts *opts)
{
	return sm_check_opts_number(opts, sm_check_option_interval.name, 1.0);
}

int sm_check_samples(const sm_check_opts *opts)
{
	return (int)sm_check_opts_number(opts, sm_check_option_samples.name, 1);
}

const char *sm_check_strerror(int errnum, char *buf, size_t size)
{
	/* GNU strerror_r may return a static string instead of filling buf. */
	return strerror_r(errnum, buf, size);
}

void sm_check_run(const sm_checker *checker, const sm_check_opts *opts, sm_check_result *res)
{
	static const sm_check_opts none;
	struct timespec start, end;

	if (!opts)
		opts = &none;
	memset(res, 0, sizeof *res);
	res->checker = checker->name;
	res->status = SM_UNKNOWN;
	res->metrics = json_object();
	res->minimum = checker->minimum;
	res->no_perfdata = opts->no_perfdata;
	if (!isnan(checker->warning)) {
		res->warning = opts->warning.set ? opts->warning : sm_range_value(checker->warning);
		res->critical =
		    opts->critical.set ? opts->critical : sm_range_value(checker->critical);
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	checker->run(checker, opts, res);
	clock_gettime(CLOCK_MONOTONIC, &end);
	res->duration_ms = sm_elapsed_ms(&start, &end);
	if (!res->message)
		sm_result_fail(res, "checker returned no result");
}

struct job {
	const sm_checker *checker;
	const sm_check_opts *opts;
	sm_check_result *res;
	pthread_t thread;
	bool threaded;
};

static void *job_main(void *arg)
{
	struct job *job = arg;

	sm_check_run(job->checker, job->opts, job->res);
	return NULL;
}

/* Samplers and walkers run concurrently, so a full run costs about one
 * sample interval instead of the sum of them. */
void sm_check_run_many(const sm_checker *const *selected, size_t n, const sm_check_opts *opts,
                       sm_check_result *results)
{
	struct job *jobs = calloc(n, sizeof *jobs);

	for (size_t i = 0; i < n; i++) {
		if (!jobs) {
			sm_check_run(selected[i], opts, &results[i]);
			continue;
		}
		jobs[i] = (struct job){selected[i], opts, &results[i], 0, false};
		if (selected[i]->slow && n > 1)
			jobs[i].threaded =
			    pthread_create(&jobs[i].thread, NULL, job_main, &jobs[i]) == 0;
	}
	for (size_t i = 0; jobs && i < n; i++)
		if (!jobs[i].threaded)
			sm_check_run(selected[i], opts, &results[i]);
	for (size_t i = 0; jobs && i < n; i++)
		if (jobs[i].threaded)
			pthread_join(jobs[i].thread, NULL);
	free(jobs);
}

void sm_check_result_clear(sm_check_result *res)
{
	free(res->message);
	free(res->error);
	free(res->perfdata);
	json_decref(res->metrics);
	memset(res, 0, sizeof *res);
}

json_t *sm_check_result_json(const sm_check_result *res)
{
	json_t *o = json_object();

	json_object_set_new(o, "checker", json_string(res->checker));
	json_object_set_new(o, "status", json_string(sm_status_name(res->status)));
	json_object_set_new(o, "message", sm_json_string(res->message ? res->message : ""));
	json_object_set(o, "metrics", res->metrics ? res->metrics : json_object());
	json_object_set_new(o, "error", sm_json_string(res->error));
	if (res->warning.set) {
		json_t *th = json_object();
		json_object_set_new(th, "warning", json_string(res->warning.text));
		json_object_set_new(th, "critical", json_string(res->critical.text));
		json_object_set_new(o, "thresholds", th);
	}
	json_object_set_new(o, "duration_ms", json_real(sm_round(res->duration_ms, 3)));
	return o;
}

int sm_check_record(sm_store *store, const sm_check_result *res, const char *hostname,
                    const char *trace_id, long long alert_id, sm_error *err)
{
	static const char sql[] =
	    "INSERT INTO check_runs (checker, hostname, status, message, metrics, error,"
	    " warning_threshold, critical_threshold, duration_ms, executed_at, trace_id, alert_id)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	char now[SM_RFC3339_LEN];
	json_t *stored = sm_check_stored_metrics(res->metrics);
	char *metrics = stored ? sm_json_dump(stored, NULL) : NULL;
	/* Kept: a run records one row per checker in one transaction. */
	sqlite3_stmt *st = sm_store_prepare_kept(store, sql, err);
	int rc = -1;

	if (!st || !metrics)
		goto done;
	sm_rfc3339_now(now, true);
	sqlite3_bind_text(st, 1, res->checker, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hostname, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sm_status_name(res->status), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, res->message ? res->message : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, metrics, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, res->error ? res->error : "", -1, SQLITE_STATIC);
	if (res->warning.set) {
		sqlite3_bind_text(st, 7, res->warning.text, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, res->critical.text, -1, SQLITE_STATIC);
	}
	sqlite3_bind_double(st, 9, res->duration_ms);
	sqlite3_bind_text(st, 10, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, trace_id ? trace_id : "", -1, SQLITE_STATIC);
	if (alert_id > 0)
		sqlite3_bind_int64(st, 12, alert_id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sm_error_set(err, "%s: %s", sm_store_path(store),
		             sqlite3_errmsg(sm_store_db(store)));
		goto done;
	}
	rc = 0;
done:
	if (st) { /* kept by the store: let go of this row's values */
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	free(metrics);
	json_decref(stored);
	return rc;
}

__attribute__((format(printf, 1, 0))) static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

void sm_result_set(sm_check_result *res, enum sm_status status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(res->message);
	res->message = vformat(fmt, ap);
	va_end(ap);
	res->status = status;
}

void sm_result_skip(sm_check_result *res, const char *fmt, ...)
{
	char *why;
	va_list ap;

	va_start(ap, fmt);
	why = vformat(fmt, ap);
	va_end(ap);
	sm_result_set(res, SM_OK, "Skipped: %s", why ? why : "");
	free(why);
}

void sm_result_fail(sm_check_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(res->error);
	res->error = vformat(fmt, ap);
	va_end(ap);
	sm_result_set(res, SM_UNKNOWN, "Check failed: %s", res->error ? res->error : "");
}

enum sm_status sm_result_level(const sm_check_result *res, double v)
{
	if (sm_range_trips(&res->critical, v, res->minimum))
		return SM_CRITICAL;
	if (sm_range_trips(&res->warning, v, res->minimum))
		return SM_WARNING;
	return SM_OK;
}

/* A plain threshold in plugin terms: "N" alerts above N, "N:" below N. */
static void perf_range(char *buf, size_t size, const sm_range *r, bool minimum)
{
	if (!r->set)
		snprintf(buf, size, "%s", "");
	else if (r->is_range)
		snprintf(buf, size, "%s", r->text);
	else
		snprintf(buf, size, minimum ? "%g:" : "%g", r->value);
}

void sm_result_perf(sm_check_result *res, const char *label, double value, const char *uom,
                    bool with_thresholds, double min, double max)
{
	char warn[48] = "", crit[48] = "", lo[32] = "", hi[32] = "", item[512], quoted[300];
	char *joined = NULL;

	if (res->no_perfdata)
		return; /* nothing will print it; its formatting was 2 % of a run */

	/* Labels with spaces or quotes must be single-quoted (quotes doubled). */
	if (strpbrk(label, " '=")) {
		size_t n = 0;
		quoted[n++] = '\'';
		for (const char *p = label; *p && n < sizeof quoted - 3; p++) {
			if (*p == '\'')
				quoted[n++] = '\'';
			quoted[n++] = *p;
		}
		quoted[n++] = '\'';
		quoted[n] = '\0';
	} else {
		snprintf(quoted, sizeof quoted, "%s", label);
	}
	if (with_thresholds) {
		perf_range(warn, sizeof warn, &res->warning, res->minimum);
		perf_range(crit, sizeof crit, &res->critical, res->minimum);
	}
	if (!isnan(min))
		snprintf(lo, sizeof lo, "%g", min);
	if (!isnan(max))
		snprintf(hi, sizeof hi, "%g", max);
	snprintf(item, sizeof item, "%s=%.6g%s;%s;%s;%s;%s", quoted, value, uom ? uom : "", warn,
	         crit, lo, hi);
	/* Trailing empty fields are optional; drop them. */
	for (size_t n = strlen(item); n > 0 && item[n - 1] == ';'; n--)
		item[n - 1] = '\0';
	if (asprintf(&joined, "%s%s%s", res->perfdata ? res->perfdata : "",
	             res->perfdata ? " " : "", item) < 0)
		return;
	free(res->perfdata);
	res->perfdata = joined;
}

void sm_metric_real(json_t *obj, const char *key, double v)
{
	json_object_set_new(obj, key, isfinite(v) ? json_real(v) : json_null());
}

void sm_metric_int(json_t *obj, const char *key, long long v)
{
	json_object_set_new(obj, key, json_integer(v));
}

void sm_metric_str(json_t *obj, const char *key, const char *s)
{
	json_object_set_new(obj, key, sm_json_string(s));
}

void sm_metric_bool(json_t *obj, const char *key, bool b)
{
	json_object_set_new(obj, key, json_boolean(b));
}
