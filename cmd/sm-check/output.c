/* output.c - the human table and the monitoring-plugin output. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sm/json.h"
#include "sm/term.h"
#include "sm-check.h"

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

/* One metric value as text: numbers as printed in JSON, strings bare,
 * objects and arrays compact. */
static void print_value(FILE *out, json_t *v)
{
	char *s;

	if (json_is_string(v)) {
		fputs(json_string_value(v), out);
		return;
	}
	if (json_is_real(v)) {
		fprintf(out, "%.1f", json_real_value(v));
		return;
	}
	s = sm_json_dump(v, NULL);
	if (s)
		fputs(s, out);
	free(s);
}

/* Details of a non-OK result: scalar metrics, then one line per entry of
 * nested objects (disks by path, hosts, processes). Lists stay in JSON. */
static void print_details(FILE *out, const sm_check_result *r, bool color)
{
	const char *key;
	json_t *v;

	fprintf(out, "\n%s%s%s %s\n", color ? sm_term_start(status_color(r->status)) : "",
	        label(r->status), color ? sm_term_reset() : "", r->checker);
	fprintf(out, "    %s\n", r->message);
	if (r->error)
		fprintf(out, "    error: %s\n", r->error);
	json_object_foreach(r->metrics, key, v)
	{
		if (json_is_array(v) || strcmp(key, "platform") == 0)
			continue;
		if (json_is_object(v)) {
			const char *sub;
			json_t *sv;
			if (json_object_size(v) == 0)
				continue;
			fprintf(out, "    %s:\n", key);
			json_object_foreach(v, sub, sv)
			{
				fprintf(out, "      %s: ", sub);
				print_value(out, sv);
				fputc('\n', out);
			}
			continue;
		}
		fprintf(out, "    %s: ", key);
		print_value(out, v);
		fputc('\n', out);
	}
}

void output_table(FILE *out, const sm_check_result *results, size_t n, bool color, int width)
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
		if (results[i].status != SM_OK)
			print_details(out, &results[i], color);
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
