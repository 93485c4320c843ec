/* checker_raid.c - Linux software RAID health from /proc/mdstat.
 *
 * State based, no thresholds: a degraded array that is not rebuilding is
 * CRITICAL, an array rebuilding (recovery, resync, reshape) is WARNING, and a
 * scrub (check, repair) neither raises nor masks anything. The parser is line
 * oriented and tolerant: mdstat's layout grew over kernel versions, so a line
 * it does not know closes the current array instead of failing the check.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkers.h"
#include "procfs.h"
#include "sm/json.h"

static bool is_word(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static bool is_device_char(char c)
{
	return is_word(c) || c == '-';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

static void copy_span(char *dst, size_t size, const char *src, size_t len)
{
	snprintf(dst, size, "%.*s", (int)(len < size ? len : size - 1), src);
}

/* "<md name> : <state> <rest>"; returns rest, or NULL when not a header. */
static const char *parse_header(const char *line, sm_raid_array *a)
{
	const char *p = line + 2, *state;

	if (strncmp(line, "md", 2) != 0 || !is_word(*p))
		return NULL;
	while (is_word(*p))
		p++;
	copy_span(a->name, sizeof a->name, line, (size_t)(p - line));
	while (is_space(*p))
		p++;
	if (*p++ != ':')
		return NULL;
	while (is_space(*p))
		p++;
	state = p;
	while (*p && !is_space(*p))
		p++;
	if (p == state || !*p)
		return NULL; /* the state must be followed by a space */
	copy_span(a->state, sizeof a->state, state, (size_t)(p - state));
	while (is_space(*p))
		p++;
	return p;
}

static bool is_level(const char *token, size_t len)
{
	static const char *const levels[] = {"linear", "multipath", "faulty"};

	if (len >= 4 && strncmp(token, "raid", 4) == 0)
		return true;
	for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
		if (strlen(levels[i]) == len && strncmp(token, levels[i], len) == 0)
			return true;
	return false;
}

static int add_failed(sm_raid_array *a, const char *name, size_t len)
{
	char **list = realloc(a->failed, (a->nfailed + 1) * sizeof *list);

	if (!list)
		return -1;
	a->failed = list;
	list[a->nfailed] = strndup(name, len);
	if (!list[a->nfailed])
		return -1;
	a->nfailed++;
	return 0;
}

/* Level and failed devices ("sdd1[3](F)") from the header's remainder. */
static int parse_members(const char *rest, sm_raid_array *a)
{
	size_t len = strcspn(rest, " \t");

	if (is_level(rest, len))
		copy_span(a->level, sizeof a->level, rest, len);
	for (const char *p = rest; (p = strchr(p, '[')) != NULL;) {
		const char *name = p, *q = p + 1;
		while (name > rest && is_device_char(name[-1]))
			name--;
		while (isdigit((unsigned char)*q))
			q++;
		if (name < p && q > p + 1 && strncmp(q, "](F)", 4) == 0) {
			if (add_failed(a, name, (size_t)(p - name)) < 0)
				return -1;
			p = q + 4;
		} else {
			p++;
		}
	}
	return 0;
}

/* Digits at p into *v (clamped), returning the end, or NULL without any. */
static const char *digits(const char *p, int *v)
{
	long n = 0;

	if (!isdigit((unsigned char)*p))
		return NULL;
	for (; isdigit((unsigned char)*p); p++)
		if (n < 1000000)
			n = n * 10 + (*p - '0');
	*v = (int)n;
	return p;
}

/* The first "[total/active]" of a line. */
static void parse_counts(const char *line, sm_raid_array *a)
{
	for (const char *p = line; (p = strchr(p, '[')) != NULL; p++) {
		int total, active;
		const char *q = digits(p + 1, &total);
		if (!q || *q != '/')
			continue;
		q = digits(q + 1, &active);
		if (!q || *q != ']')
			continue;
		a->total_devices = total;
		a->active_devices = active;
		return;
	}
}

/* "<op> = <number>%" at p; the percentage, or NAN. */
static double op_percent(const char *p)
{
	char *end;
	double v;

	while (is_space(*p))
		p++;
	if (*p++ != '=')
		return NAN;
	while (is_space(*p))
		p++;
	if (!isdigit((unsigned char)*p))
		return NAN;
	v = strtod(p, &end);
	/* Only digits with an optional fraction, as the kernel prints it. */
	for (const char *c = p; c < end; c++)
		if (!isdigit((unsigned char)*c) && *c != '.')
			return NAN;
	return *end == '%' ? v : NAN;
}

/* The first resync-like operation of a line with a percentage. */
static void parse_progress(const char *line, sm_raid_array *a)
{
	static const struct {
		const char *op;
		bool rebuilding;
	} ops[] = {
	    {"recovery", true}, {"resync", true},  {"reshape", true},
	    {"check", false},   {"repair", false},
	};

	for (const char *p = line; *p; p++) {
		for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
			size_t n = strlen(ops[i].op);
			double v;
			if (strncmp(p, ops[i].op, n) != 0 || isnan(v = op_percent(p + n)))
				continue;
			a->resync_percent = v;
			if (ops[i].rebuilding)
				a->rebuilding = true;
			else
				a->scrubbing = true;
			return;
		}
	}
}

static void array_free(sm_raid_array *a)
{
	for (size_t i = 0; i < a->nfailed; i++)
		free(a->failed[i]);
	free(a->failed);
}

void sm_raid_free(sm_raid_array *arrays, size_t count)
{
	for (size_t i = 0; i < count; i++)
		array_free(&arrays[i]);
	free(arrays);
}

int sm_raid_parse(const char *mdstat, sm_raid_array **arrays, size_t *count)
{
	sm_raid_array *list = NULL, *open = NULL;
	size_t n = 0;
	char *copy = strdup(mdstat), *line, *next;

	*arrays = NULL;
	*count = 0;
	if (!copy)
		return -1;
	for (line = copy; line; line = next) {
		sm_raid_array a = {
		    .active_devices = -1, .total_devices = -1, .resync_percent = NAN};
		const char *rest;
		size_t len;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\r')
			line[len - 1] = '\0';
		if (open && is_space(line[0])) {
			parse_counts(line, open);
			parse_progress(line, open);
			continue;
		}
		open = NULL;
		rest = parse_header(line, &a);
		if (!rest)
			continue;
		sm_raid_array *grown = realloc(list, (n + 1) * sizeof *list);
		if (!grown || parse_members(rest, &a) < 0) {
			array_free(&a);
			sm_raid_free(grown ? grown : list, n);
			free(copy);
			return -1;
		}
		list = grown;
		list[n] = a;
		open = &list[n++];
	}
	free(copy);
	*arrays = list;
	*count = n;
	return 0;
}

bool sm_raid_degraded(const sm_raid_array *a)
{
	return strcmp(a->state, "active") != 0 || a->nfailed > 0 ||
	       (a->active_devices >= 0 && a->total_devices >= 0 &&
	        a->active_devices < a->total_devices);
}

static json_t *array_json(const sm_raid_array *a)
{
	json_t *o = json_object(), *failed = json_array();

	sm_metric_str(o, "name", a->name);
	sm_metric_str(o, "level", a->level[0] ? a->level : NULL);
	sm_metric_str(o, "state", a->state);
	if (a->active_devices >= 0)
		sm_metric_int(o, "active_devices", a->active_devices);
	else
		json_object_set_new(o, "active_devices", json_null());
	if (a->total_devices >= 0)
		sm_metric_int(o, "total_devices", a->total_devices);
	else
		json_object_set_new(o, "total_devices", json_null());
	for (size_t i = 0; i < a->nfailed; i++)
		json_array_append_new(failed, sm_json_string(a->failed[i]));
	json_object_set_new(o, "failed", failed);
	sm_metric_bool(o, "rebuilding", a->rebuilding);
	sm_metric_bool(o, "scrubbing", a->scrubbing);
	sm_metric_real(o, "resync_percent", a->resync_percent); /* NAN → null */
	return o;
}

/* Names joined by ", " for the message; the caller frees it. */
static char *join_names(const json_t *names)
{
	size_t size = 1, count = json_array_size(names);
	char *s;

	for (size_t i = 0; i < count; i++)
		size += strlen(json_string_value(json_array_get(names, i))) + 2;
	s = calloc(1, size);
	if (!s)
		return NULL;
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			strcat(s, ", ");
		strcat(s, json_string_value(json_array_get(names, i)));
	}
	return s;
}

static void set_metrics(sm_check_result *res, json_t *arrays, json_t *degraded, json_t *rebuilding,
                        json_t *scrubbing)
{
	sm_metric_str(res->metrics, "platform", "linux");
	sm_metric_int(res->metrics, "array_count", (long long)json_array_size(arrays));
	json_object_set_new(res->metrics, "arrays", arrays);
	json_object_set_new(res->metrics, "degraded_arrays", degraded);
	json_object_set_new(res->metrics, "rebuilding_arrays", rebuilding);
	json_object_set_new(res->metrics, "scrubbing_arrays", scrubbing);
}

SM_CHECKER_RUN(run)
{
	char *text = NULL, *names = NULL;
	int errnum;
	sm_raid_array *arrays = NULL;
	size_t count = 0;
	json_t *list = json_array(), *degraded = json_array(), *rebuilding = json_array(),
	       *scrubbing = json_array();

	(void)self;
	(void)opts;
	if (sm_procfs_read("/proc/mdstat", 1 << 20, &text, NULL, &errnum) < 0) {
		set_metrics(res, list, degraded, rebuilding, scrubbing);
		sm_result_skip(res, "mdstat unavailable");
		return;
	}
	if (sm_raid_parse(text, &arrays, &count) < 0) {
		free(text);
		set_metrics(res, list, degraded, rebuilding, scrubbing);
		sm_result_fail(res, "/proc/mdstat: out of memory");
		return;
	}
	free(text);
	for (size_t i = 0; i < count; i++) {
		json_array_append_new(list, array_json(&arrays[i]));
		if (sm_raid_degraded(&arrays[i]) && !arrays[i].rebuilding)
			json_array_append_new(degraded, sm_json_string(arrays[i].name));
		if (arrays[i].rebuilding)
			json_array_append_new(rebuilding, sm_json_string(arrays[i].name));
		if (arrays[i].scrubbing)
			json_array_append_new(scrubbing, sm_json_string(arrays[i].name));
	}
	sm_raid_free(arrays, count);
	set_metrics(res, list, degraded, rebuilding, scrubbing);
	sm_result_perf(res, "degraded", (double)json_array_size(degraded), "", false, 0, NAN);
	if (json_array_size(degraded) > 0) {
		names = join_names(degraded);
		sm_result_set(res, SM_CRITICAL, "Degraded RAID array(s): %s", names ? names : "");
	} else if (json_array_size(rebuilding) > 0) {
		names = join_names(rebuilding);
		sm_result_set(res, SM_WARNING, "RAID array(s) rebuilding: %s", names ? names : "");
	} else if (count > 0) {
		sm_result_set(res, SM_OK, "All %zu RAID array(s) healthy", count);
	} else {
		sm_result_set(res, SM_OK, "No software RAID arrays");
	}
	free(names);
}

const sm_checker sm_checker_raid = {
    .name = "raid",
    .description = "Software RAID health from /proc/mdstat.",
    .run = run,
    .warning = NAN,
    .critical = NAN,
    .advice =
        "see the array and replace failed devices: cat /proc/mdstat; sudo mdadm --detail /dev/MD",
};
