/* output.c - sm-analyze's output for people: recommendations as a numbered
 * listing and progress messages on the terminal. */
#include <stdio.h>
#include <string.h>

#include "sm/term.h"
#include "sm-analyze.h"

#define RULE_WIDTH 70
#define LISTED     5 /* items of a detail list shown */

static void rule(FILE *out, char c)
{
	for (int i = 0; i < RULE_WIDTH; i++)
		putc(c, out);
	putc('\n', out);
}

static enum sm_color priority_color(const char *priority)
{
	static const struct {
		const char *name;
		enum sm_color color;
	} colors[] = {
	    {"critical", SM_COLOR_RED},
	    {"high", SM_COLOR_YELLOW},
	    {"medium", SM_COLOR_MAGENTA},
	    {"low", SM_COLOR_GREEN},
	};

	for (size_t i = 0; priority && i < sizeof colors / sizeof colors[0]; i++)
		if (strcmp(priority, colors[i].name) == 0)
			return colors[i].color;
	return SM_COLOR_NONE;
}

static const char *text(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

static double num(json_t *obj, const char *key)
{
	return json_number_value(json_object_get(obj, key));
}

/* The detail lists a recommendation may carry. */
static void print_details(FILE *out, json_t *details)
{
	json_t *list, *e;
	size_t i;

	list = json_object_get(details, "top_processes");
	if (json_array_size(list) > 0) {
		bool cpu = json_object_get(json_array_get(list, 0), "cpu_percent") != NULL;
		fprintf(out, "\n   Top %s Processes:\n", cpu ? "CPU" : "Memory");
		json_array_foreach(list, i, e)
		{
			if (i >= LISTED)
				break;
			if (cpu)
				fprintf(out, "     - %s (PID: %lld) - %.1f%%\n", text(e, "name"),
				        json_integer_value(json_object_get(e, "pid")),
				        num(e, "cpu_percent"));
			else
				fprintf(out, "     - %s (PID: %lld) - %.1f%% (%.1f MB)\n",
				        text(e, "name"),
				        json_integer_value(json_object_get(e, "pid")),
				        num(e, "memory_percent"), num(e, "memory_mb"));
		}
	}
	list = json_object_get(details, "large_items");
	if (json_array_size(list) > 0) {
		fprintf(out, "\n   Large Files/Directories:\n");
		json_array_foreach(list, i, e)
		{
			if (i >= LISTED)
				break;
			fprintf(out, "     - [%s] %s - %.1f MB\n",
			        json_is_true(json_object_get(e, "is_directory")) ? "DIR" : "FILE",
			        text(e, "path"), num(e, "size_mb"));
		}
	}
	list = json_object_get(details, "old_files");
	if (json_array_size(list) > 0) {
		fprintf(out, "\n   Old Files:\n");
		json_array_foreach(list, i, e)
		{
			if (i >= LISTED)
				break;
			fprintf(out, "     - %s - %.1f MB (%lld days old)\n", text(e, "path"),
			        num(e, "size_mb"),
			        json_integer_value(json_object_get(e, "days_old")));
		}
	}
}

void print_recommendations(FILE *out, json_t *recs)
{
	bool color = sm_term_color(out);
	json_t *rec, *action;
	size_t i, k;

	if (json_array_size(recs) == 0) {
		fprintf(out, "No recommendations at this time.\n");
		return;
	}
	fprintf(out, "\nFound %zu recommendation(s):\n", json_array_size(recs));
	rule(out, '=');
	json_array_foreach(recs, i, rec)
	{
		char priority[16];
		const char *p = text(rec, "priority");
		enum sm_color c = color ? priority_color(p) : SM_COLOR_NONE;
		size_t j;

		for (j = 0; p[j] && j + 1 < sizeof priority; j++)
			priority[j] = (char)(p[j] >= 'a' && p[j] <= 'z' ? p[j] - 32 : p[j]);
		priority[j] = '\0';
		fprintf(out, "\n%zu. %s[%s]%s %s\n", i + 1, sm_term_start(c), priority,
		        c == SM_COLOR_NONE ? "" : sm_term_reset(), text(rec, "title"));
		fprintf(out, "   Type: %s\n", text(rec, "type"));
		fprintf(out, "   %s\n", text(rec, "description"));
		print_details(out, json_object_get(rec, "details"));
		if (json_array_size(json_object_get(rec, "actions")) > 0) {
			fprintf(out, "\n   Suggested Actions:\n");
			json_array_foreach(json_object_get(rec, "actions"), k, action)
			{
				fprintf(out, "     \u2192 %s\n", json_string_value(action));
			}
		}
		rule(out, '-');
	}
	fputc('\n', out);
}

static bool pending_line;

void show_progress(const char *message, void *ctx)
{
	static const char *const frames[] = {"\u280b", "\u2819", "\u2839", "\u2838", "\u283c",
	                                     "\u2834", "\u2826", "\u2827", "\u2807", "\u280f"};
	static unsigned frame;

	(void)ctx;
	if (strstr(message, "Found:")) {
		end_progress();
		fprintf(stderr, "  %s\n", message);
	} else if (strncmp(message, "->", 2) == 0) {
		end_progress();
		fprintf(stderr, "\u2713 %s\n", message + 3);
	} else {
		fprintf(stderr, "\r\033[K%s %s", frames[frame++ % 10], message);
		pending_line = true;
	}
	fflush(stderr);
}

void end_progress(void)
{
	if (pending_line)
		fputs("\r\033[K", stderr);
	pending_line = false;
}
