/* listing.c - sm-ingest's listings and `incident show`: JSON lines for
 * programs, tables fitted to the terminal for people (local times, the
 * newest rows and how many more exist). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sm/envelope.h"
#include "sm/listing.h"
#include "sm/rfc3339.h"
#include "sm/term.h"
#include "sm-ingest.h"

/* A table column: its header, the row member it shows, how it is written,
 * and its rank among the columns left out on a narrow terminal (0: kept). */
enum cell_kind { CELL_TEXT, CELL_TIME, CELL_WORD };
struct column {
	const char *header, *member;
	enum cell_kind kind;
	int drop_rank;
};

static const struct column incident_columns[] = {
    {"ID", "id", CELL_TEXT, 0},
    {"SEVERITY", "severity", CELL_WORD, 0},
    {"STATUS", "status", CELL_TEXT, 1},
    {"SOURCE", "source", CELL_TEXT, 2},
    {"UPDATED", "updated_at", CELL_TIME, 0},
    {"TITLE", "title", CELL_TEXT, 0},
    {NULL, NULL, CELL_TEXT, 0},
};
static const struct column alert_columns[] = {
    {"ID", "id", CELL_TEXT, 0},
    {"SEVERITY", "severity", CELL_WORD, 0},
    {"STATUS", "status", CELL_WORD, 1},
    {"SOURCE", "source", CELL_TEXT, 3},
    {"INCIDENT", "incident_id", CELL_TEXT, 2},
    {"UPDATED", "updated_at", CELL_TIME, 0},
    {"NAME", "name", CELL_TEXT, 0},
    {NULL, NULL, CELL_TEXT, 0},
};
static const struct column history_columns[] = {
    {"AT", "at", CELL_TIME, 0},
    {"ALERT", "alert_id", CELL_TEXT, 2},
    {"CHANGE", "change", CELL_TEXT, 0},
    {"STATUS", "new_status", CELL_WORD, 0},
    {"SEVERITY", "new_severity", CELL_WORD, 1},
    {"NAME", "alert", CELL_TEXT, 0},
    {NULL, NULL, CELL_TEXT, 0},
};
static const struct column delivery_columns[] = {
    {"AT", "created_at", CELL_TIME, 0},   {"STATUS", "status", CELL_WORD, 0},
    {"ATTEMPT", "attempt", CELL_TEXT, 2}, {"HTTP", "http_status", CELL_TEXT, 1},
    {"CHANNEL", "channel", CELL_TEXT, 0}, {"ERROR", "error", CELL_TEXT, 0},
    {NULL, NULL, CELL_TEXT, 0},
};
static const struct column analysis_columns[] = {
    {"AT", "created_at", CELL_TIME, 0},     {"STATUS", "status", CELL_WORD, 0},
    {"PROVIDER", "provider", CELL_TEXT, 0}, {"MODEL", "model", CELL_TEXT, 1},
    {"ERROR", "error", CELL_TEXT, 0},       {NULL, NULL, CELL_TEXT, 0},
};

static enum sm_color word_color(const char *word)
{
	static const struct {
		const char *word;
		enum sm_color color;
	} colors[] = {
	    {"critical", SM_COLOR_RED},  {"failed", SM_COLOR_RED},  {"warning", SM_COLOR_YELLOW},
	    {"firing", SM_COLOR_YELLOW}, {"sent", SM_COLOR_GREEN},  {"resolved", SM_COLOR_GREEN},
	    {"ok", SM_COLOR_GREEN},      {"skipped", SM_COLOR_DIM},
	};

	for (size_t i = 0; word && i < sizeof colors / sizeof colors[0]; i++)
		if (strcmp(colors[i].word, word) == 0)
			return colors[i].color;
	return SM_COLOR_NONE;
}

/* rows as a table of columns, fitted to the terminal. */
static void print_table(const json_t *rows, const struct column *columns)
{
	const char *headers[16] = {NULL};
	int ncols = 0;
	sm_table *t;
	const json_t *row;
	size_t i;

	while (ncols < 16 && columns[ncols].header) {
		headers[ncols] = columns[ncols].header;
		ncols++;
	}
	t = sm_table_new(ncols, headers);
	if (!t)
		return;
	for (int c = 0; c < ncols; c++)
		sm_table_optional(t, c, columns[c].drop_rank);
	json_array_foreach(rows, i, row)
	{
		sm_table_row(t);
		for (int c = 0; c < ncols; c++) {
			json_t *v = json_object_get(row, columns[c].member);
			char *text = json_is_null(v) || !v ? strdup("") : sm_json_text(v);
			if (columns[c].kind == CELL_TIME) {
				char when[64];
				sm_term_local_time(when, sizeof when, text);
				sm_table_cell(t, when, SM_COLOR_NONE);
			} else {
				sm_table_cell(t, text,
				              columns[c].kind == CELL_WORD ? word_color(text)
				                                           : SM_COLOR_NONE);
			}
			free(text);
		}
	}
	sm_table_print(t, stdout, sm_term_color(stdout), sm_term_columns(stdout));
	sm_table_free(t);
}

int listing_print(const char *what, const json_t *rows, long long total, bool json)
{
	size_t shown = json_array_size(rows);

	if (json) {
		size_t i;
		const json_t *row;
		json_array_foreach(rows, i, row)
		{
			sm_envelope_write(stdout, (json_t *)row, NULL);
		}
		return 0;
	}
	if (shown == 0) {
		printf("no %s\n", what);
		return 0;
	}
	print_table(rows, strcmp(what, "alerts") == 0 ? alert_columns : incident_columns);
	if ((long long)shown < total) {
		char a[32], b[32];
		sm_term_count(a, sizeof a, (long long)shown);
		sm_term_count(b, sizeof b, total);
		printf("%s of %s shown (--limit 0 for all)\n", a, b);
	}
	return 0;
}

static const char *str(const json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s ? s : "";
}

/* "  created   2026-12-06 10:04:05 (5 min ago)" for a time that is set. */
static void print_time(const char *label, const json_t *o, const char *name, time_t now)
{
	const char *text = json_string_value(json_object_get(o, name));
	struct timespec ts;
	char when[64], age[32] = "";

	if (!text || !*text)
		return;
	sm_term_local_time(when, sizeof when, text);
	if (sm_rfc3339_parse(text, &ts) == 1)
		sm_term_age(age, sizeof age, (long long)(now - ts.tv_sec));
	printf("  %-13s %s%s%s%s\n", label, when, *age ? " (" : "", age, *age ? ")" : "");
}

/* One section: its title and count, then its table (nothing when empty). */
static void print_section(const json_t *all, const char *name, const struct column *columns)
{
	const json_t *rows = json_object_get(all, name);

	printf("\n%s: %zu\n", name, json_array_size(rows));
	if (json_array_size(rows))
		print_table(rows, columns);
}

/* Each analysis's recommendations, by title and priority. */
static void print_recommendations(const json_t *all)
{
	const json_t *run, *rec;
	size_t i, k;

	json_array_foreach(json_object_get(all, "analysis"), i, run)
	{
		json_array_foreach(json_object_get(run, "recommendations"), k, rec)
		{
			printf("  - %s", str(rec, "title"));
			if (*str(rec, "priority"))
				printf(" [%s]", str(rec, "priority"));
			putchar('\n');
		}
	}
}

int incident_print(const json_t *all, bool json)
{
	const json_t *inc = json_object_get(all, "incident");
	bool color = sm_term_color(stdout);
	const char *severity = str(inc, "severity");
	time_t now = time(NULL);

	if (json) {
		sm_envelope_write(stdout, (json_t *)all, NULL);
		return 0;
	}
	printf("incident %lld: %s\n", (long long)json_integer_value(json_object_get(inc, "id")),
	       str(inc, "title"));
	printf("  %-13s %s%s%s\n", "severity", color ? sm_term_start(word_color(severity)) : "",
	       severity, color ? sm_term_reset() : "");
	printf("  %-13s %s\n", "status", str(inc, "status"));
	printf("  %-13s %s\n", "source", str(inc, "source"));
	print_time("created", inc, "created_at", now);
	print_time("updated", inc, "updated_at", now);
	print_time("acknowledged", inc, "acknowledged_at", now);
	print_time("resolved", inc, "resolved_at", now);
	print_time("closed", inc, "closed_at", now);
	print_section(all, "alerts", alert_columns);
	print_section(all, "history", history_columns);
	print_section(all, "deliveries", delivery_columns);
	print_section(all, "analysis", analysis_columns);
	print_recommendations(all);
	return 0;
}
