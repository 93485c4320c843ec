/* output.c - the human table and the monitoring-plugin output. */
#include <stdlib.h>
#include <string.h>

#include "sm/human.h"
#include "sm/json.h"
#include "sm/term.h"
#include "sm-check.h"

/* Items listed per list in a result's details; -v lists them all. */
#define DETAIL_ITEMS 5

static const char *const status_labels[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

static enum sm_color status_color(enum sm_status s)
{
	static const enum sm_color colors[] = {SM_COLOR_GREEN, SM_COLOR_YELLOW, SM_COLOR_RED,
	                                       SM_COLOR_MAGENTA};

	return (unsigned)s <= SM_UNKNOWN ? colors[s] : SM_COLOR_MAGENTA;
}

static const char *label(enum sm_status s)
{
	return (unsigned)s <= SM_UNKNOWN ? status_labels[s] : "UNKNOWN";
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && strcmp(s + n - t, tail) == 0;
}

static void print_value(FILE *out, const char *key, json_t *v);

/* An object on one line: "path /var, size 1.8 GB". */
static void print_inline(FILE *out, json_t *obj)
{
	const char *key, *sep = "";
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		fprintf(out, "%s%s ", sep, key);
		print_value(out, key, v);
		sep = ", ";
	}
}

/* One metric value for people: sizes in binary units by the key's unit
 * (_mb, _gb, _bytes), percentages with '%', strings bare, null as '-',
 * objects as "key value" pairs; deeper nesting stays JSON. */
static void print_value(FILE *out, const char *key, json_t *v)
{
	char buf[SM_HUMAN_LEN], *s;

	switch (json_typeof(v)) {
	case JSON_STRING:
		sm_human_puts(json_string_value(v), out);
		return;
	case JSON_NULL:
		fputc('-', out);
		return;
	case JSON_INTEGER:
	case JSON_REAL:
		if (ends_with(key, "_gb"))
			fputs(sm_human_gb(json_number_value(v), buf), out);
		else if (ends_with(key, "_mb"))
			fputs(sm_human_mb(json_number_value(v), buf), out);
		else if (ends_with(key, "_bytes"))
			fputs(sm_human_size(json_number_value(v), buf), out);
		else if (ends_with(key, "percent"))
			fprintf(out, "%.1f%%", json_number_value(v));
		else if (json_is_real(v) && json_real_value(v) > -1e15 &&
		         json_real_value(v) < 1e15 &&
		         json_real_value(v) == (double)(long long)json_real_value(v))
			fprintf(out, "%.1f", json_real_value(v)); /* 3.0, not 3 */
		else if (json_is_real(v))
			fprintf(out, "%.10g", json_real_value(v));
		else
			fprintf(out, "%lld", (long long)json_integer_value(v));
		return;
	case JSON_OBJECT:
		print_inline(out, v);
		return;
	default:
		break;
	}
	s = sm_json_dump(v, NULL);
	if (s)
		fputs(s, out);
	free(s);
}

/* A list or a map of entries, one line each, at most limit (0: all). */
static void print_entries(FILE *out, const char *key, json_t *v, size_t limit)
{
	size_t n = json_is_array(v) ? json_array_size(v) : json_object_size(v), shown = 0;
	bool scalars = true;
	json_t *e;
	size_t i;

	if (n == 0)
		return;
	json_array_foreach(v, i, e)
	{
		if (json_is_object(e) || json_is_array(e))
			scalars = false;
	}
	if (json_is_array(v) && scalars) { /* one line: "unexpected_ports: 22, 8080" */
		fprintf(out, "    %s: ", key);
		json_array_foreach(v, i, e)
		{
			if (limit && i == limit)
				break;
			fputs(i ? ", " : "", out);
			print_value(out, key, e);
		}
		if (limit && n > limit)
			fprintf(out, ", ... %zu more (-v)", n - limit);
		fputc('\n', out);
		return;
	}
	fprintf(out, "    %s:\n", key);
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
		{
			if (limit && shown == limit)
				break;
			fputs("      ", out);
			print_value(out, key, e);
			fputc('\n', out);
			shown++;
		}
	} else {
		const char *sub;

		json_object_foreach(v, sub, e)
		{
			if (limit && shown == limit)
				break;
			fputs("      ", out);
			sm_human_puts(sub, out);
			fputs(": ", out);
			print_value(out, sub, e);
			fputc('\n', out);
			shown++;
		}
	}
	if (shown < n)
		fprintf(out, "      ... %zu more (-v)\n", n - shown);
}

/* The metrics of a checker without its own details: scalars, then lists
 * and maps one entry a line. */
static void print_metrics(FILE *out, const sm_check_result *r, size_t limit)
{
	const char *key;
	json_t *v;

	json_object_foreach(r->metrics, key, v)
	{
		if (strcmp(key, "platform") == 0 || json_is_array(v) || json_is_object(v))
			continue;
		fprintf(out, "    %s: ", key);
		print_value(out, key, v);
		fputc('\n', out);
	}
	json_object_foreach(r->metrics, key, v)
	{
		if (json_is_array(v) || json_is_object(v))
			print_entries(out, key, v, limit);
	}
}

/* The checker's advice, its word PATH replaced by the path the result is
 * about (the checker's path_metric) when there is one. */
static void print_advice(FILE *out, const sm_checker *c, const sm_check_result *r)
{
	const char *path =
	    c->path_metric ? json_string_value(json_object_get(r->metrics, c->path_metric)) : NULL;
	const char *at = path && *path ? strstr(c->advice, "PATH") : NULL;

	if (at) {
		fprintf(out, "    what to do: %.*s", (int)(at - c->advice), c->advice);
		sm_human_puts(path, out);
		fprintf(out, "%s\n", at + 4);
	} else
		fprintf(out, "    what to do: %s\n", c->advice);
}

/* A result for people: status and checker, the message, the checker's
 * details (or its metrics), and what to do when it is not OK. */
static void print_details(FILE *out, const sm_check_result *r, bool color, size_t limit)
{
	const sm_checker *c = sm_checker_find(r->checker);

	fprintf(out, "\n%s%s%s %s\n", color ? sm_term_start(status_color(r->status)) : "",
	        label(r->status), color ? sm_term_reset() : "", r->checker);
	fputs("    ", out);
	sm_human_puts(r->message, out);
	fputc('\n', out);
	if (r->error && strcmp(r->error, r->message) != 0) {
		fputs("    error: ", out);
		sm_human_puts(r->error, out);
		fputc('\n', out);
	}
	if (c && c->details)
		c->details(r, out, limit);
	else
		print_metrics(out, r, limit);
	if (r->status != SM_OK && c && c->advice)
		print_advice(out, c, r);
}

void output_table(FILE *out, const sm_check_result *results, size_t n, bool color, int width,
                  bool verbose)
{
	static const char *const headers[] = {"CHECKER", "STATUS", "MESSAGE"};
	int counts[4] = {0};
	sm_table *t = sm_table_new(3, headers);

	for (size_t i = 0; t && i < n; i++) {
		sm_table_row(t);
		sm_table_cell(t, results[i].checker, SM_COLOR_NONE);
		sm_table_cell(t, label(results[i].status), status_color(results[i].status));
		sm_table_cell(t, results[i].message, SM_COLOR_NONE);
	}
	if (t)
		sm_table_print(t, out, color, width);
	sm_table_free(t);
	for (size_t i = 0; i < n; i++) {
		counts[results[i].status <= SM_UNKNOWN ? results[i].status : SM_UNKNOWN]++;
		if (verbose || results[i].status != SM_OK)
			print_details(out, &results[i], color, verbose ? 0 : DETAIL_ITEMS);
	}
	fprintf(out, "\n%zu checks: %d ok, %d warning, %d critical, %d unknown\n", n, counts[0],
	        counts[1], counts[2], counts[3]);
}

void output_nagios(FILE *out, const sm_check_result *results, size_t n, int status)
{
	size_t bad = 0;
	bool perf = false;

	for (size_t i = 0; i < n; i++)
		if (results[i].status != SM_OK)
			bad++;
	fprintf(out, "SM %s - ", label((enum sm_status)status));
	if (bad == 0) {
		fprintf(out, "%zu checks OK", n);
	} else {
		const char *sep = "";
		fprintf(out, "%zu of %zu checks not OK: ", bad, n);
		for (size_t i = 0; i < n; i++) {
			if (results[i].status == SM_OK)
				continue;
			/* '|' would start perfdata early; keep the summary one field. */
			fprintf(out, "%s%s: ", sep, results[i].checker);
			for (const char *p = results[i].message; *p; p++)
				fputc(*p == '|' ? '/' : *p, out);
			sep = "; ";
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!results[i].perfdata)
			continue;
		fprintf(out, "%s%s", perf ? " " : " | ", results[i].perfdata);
		perf = true;
	}
	fputc('\n', out);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "[%s] %s: ", label(results[i].status), results[i].checker);
		for (const char *p = results[i].message; *p; p++)
			fputc(*p == '|' ? '/' : *p, out);
		fputc('\n', out);
	}
}

void output_incidents(FILE *out, json_t *incidents)
{
	size_t i;
	json_t *env;

	json_array_foreach(incidents, i, env)
	{
		json_t *inc = json_object_get(env, "incident"), *alert;
		size_t j;
		if (!json_is_object(inc))
			continue;
		fprintf(out, "incident %lld (%s): %s, %s\n",
		        (long long)json_integer_value(json_object_get(inc, "id")),
		        json_string_value(json_object_get(inc, "title")),
		        json_string_value(json_object_get(inc, "status")),
		        json_string_value(json_object_get(inc, "change")));
		json_array_foreach(json_object_get(env, "alerts"), j, alert)
		{
			fprintf(out, "  alert %s: %s\n",
			        json_string_value(json_object_get(alert, "fingerprint")),
			        json_string_value(json_object_get(alert, "change")));
		}
	}
}
