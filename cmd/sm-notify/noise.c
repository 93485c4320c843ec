/* noise.c - sm-notify's noise control commands: silence add|list|expire,
 * inhibit add|list|rm, maintenance add|list|rm. Flags become the JSON
 * request of sm/noise.h; results are a table on a terminal, JSON lines on
 * a pipe or with --json. The flags are read here, not by main's getopt,
 * because inhibit add takes matcher lists after --source and --target. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sm/envelope.h"
#include "sm/json.h"
#include "sm/noise.h"
#include "sm/term.h"

int noise_command(int argc, char **argv);

/* Options, each a bit in a verb's mask of those it takes. */
enum {
	O_DURATION = 1 << 0,
	O_START = 1 << 1,
	O_END = 1 << 2,
	O_COMMENT = 1 << 3,
	O_AUTHOR = 1 << 4,
	O_ALL = 1 << 5,
	O_JSON = 1 << 6,
	O_SCHEDULE = 1 << 7,
	O_TZ = 1 << 8,
	O_EQUAL = 1 << 9,
	O_SOURCE = 1 << 10,
	O_TARGET = 1 << 11,
};

/* The request member an option's value goes to; source and target switch
 * where the following matchers go. */
static const struct option_row {
	const char *name;
	int bit;
	const char *member; /* NULL: a switch */
} options[] = {
    {"duration", O_DURATION, "duration"},
    {"start", O_START, "starts_at"},
    {"end", O_END, "ends_at"},
    {"comment", O_COMMENT, "comment"},
    {"author", O_AUTHOR, "author"},
    {"all", O_ALL, NULL},
    {"json", O_JSON, NULL},
    {"schedule", O_SCHEDULE, "schedule"},
    {"tz", O_TZ, "tz"},
    {"equal", O_EQUAL, "equal"},
    {"source", O_SOURCE, NULL},
    {"target", O_TARGET, NULL},
};

/* A parsed command line. */
struct noise_args {
	int given;        /* option bits */
	json_t *request;  /* members from options and matchers */
	const char *list; /* where operands go: "matchers", "source", "target", or NULL (ids) */
	const char *id;   /* expire, rm */
	int noperands;
};

/* Columns of a listing: header, member, and how its value prints. */
enum cell { C_TEXT, C_LIST, C_INT, C_BOOL };

struct column {
	const char *header, *member;
	enum cell kind;
};

static const struct column silence_columns[] = {
    {"id", "id", C_TEXT},           {"matchers", "matchers", C_LIST},
    {"state", "state", C_TEXT},     {"starts_at", "starts_at", C_TEXT},
    {"ends_at", "ends_at", C_TEXT}, {"held_back", "held_back", C_INT},
    {"author", "author", C_TEXT},   {"comment", "comment", C_TEXT},
    {NULL, NULL, C_TEXT},
};
static const struct column inhibit_columns[] = {
    {"id", "id", C_TEXT},       {"source", "source", C_LIST}, {"target", "target", C_LIST},
    {"equal", "equal", C_LIST}, {NULL, NULL, C_TEXT},
};
static const struct column window_columns[] = {
    {"id", "id", C_TEXT},
    {"matchers", "matchers", C_LIST},
    {"schedule", "schedule", C_TEXT},
    {"tz", "tz", C_TEXT},
    {"active", "active", C_BOOL},
    {"held_back", "held_back", C_INT},
    {"comment", "comment", C_TEXT},
    {NULL, NULL, C_TEXT},
};

/* rc, unless standard output could not be written. */
static int flushed(int rc)
{
	errno = 0;
	if (fflush(stdout) == EOF || ferror(stdout))
		return sm_err(SM_EXIT_FAILURE, "standard output: write error: %s",
		              strerror(errno ? errno : EIO));
	return rc;
}

static char *cell_text(json_t *v, enum cell kind)
{
	char buf[32];
	json_t *item;
	size_t i, len = 1;
	char *out;

	switch (kind) {
	case C_INT:
		snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
		return strdup(buf);
	case C_BOOL:
		return strdup(json_is_true(v) ? "yes" : "no");
	case C_LIST:
		json_array_foreach(v, i, item) len += strlen(json_string_value(item)) + 1;
		out = calloc(1, len);
		json_array_foreach(v, i, item)
		{
			if (out && i > 0)
				strcat(out, " ");
			if (out)
				strcat(out, json_string_value(item));
		}
		return out;
	case C_TEXT:
		break;
	}
	return strdup(json_is_string(v) ? json_string_value(v) : "");
}

/* rows as JSON lines (json) or a table. */
static int print_rows(json_t *rows, const struct column *cols, bool json)
{
	const char *headers[16];
	json_t *row;
	size_t i;
	int n = 0;
	sm_error err;
	sm_table *t;

	if (json) {
		json_array_foreach(rows, i, row)
		{
			if (sm_envelope_write(stdout, row, &err) < 0) {
				sm_error_prefix(&err, "standard output");
				return sm_err_report(SM_EXIT_FAILURE, &err);
			}
		}
		return flushed(SM_EXIT_OK);
	}
	while (cols[n].header)
		headers[n] = cols[n].header, n++;
	t = sm_table_new(n, headers);
	if (!t)
		return sm_err(SM_EXIT_FAILURE, "out of memory");
	json_array_foreach(rows, i, row)
	{
		sm_table_row(t);
		for (int c = 0; c < n; c++) {
			char *text = cell_text(json_object_get(row, cols[c].member), cols[c].kind);
			sm_table_cell(t, text ? text : "", c == 0 ? SM_COLOR_BOLD : SM_COLOR_NONE);
			free(text);
		}
	}
	sm_table_print(t, stdout, sm_term_color(stdout), sm_term_columns(stdout));
	sm_table_free(t);
	return flushed(SM_EXIT_OK);
}

/* The result of an add: its id alone on a line, or the object as JSON. */
static int print_added(json_t *row, bool json)
{
	sm_error err;

	if (json) {
		if (sm_envelope_write(stdout, row, &err) < 0) {
			sm_error_prefix(&err, "standard output");
			return sm_err_report(SM_EXIT_FAILURE, &err);
		}
	} else {
		printf("%s\n", json_string_value(json_object_get(row, "id")));
	}
	return flushed(SM_EXIT_OK);
}

/* --- the verbs ----------------------------------------------------------- */

struct verb;
typedef int run_fn(sm_store *store, const struct verb *v, struct noise_args *a, sm_error *err);

struct verb {
	const char *command, *name;
	int options;      /* bits it takes */
	const char *list; /* operands: matchers into this member ("": after --source/--target) */
	bool takes_id;    /* the one operand is an id */
	bool read_only;
	run_fn *run;
	const char *usage;
};

static bool as_json(const struct noise_args *a)
{
	return (a->given & O_JSON) || !sm_term_isatty(stdout);
}

static int add(sm_store *store, const struct verb *v, struct noise_args *a, sm_error *err)
{
	static int (*const fns[])(sm_store *, json_t *, json_t **, sm_error *) = {
	    sm_noise_silence_add, sm_noise_inhibit_add, sm_noise_maintenance_add};
	json_t *row;
	int which = v->command[0] == 's' ? 0 : v->command[0] == 'i' ? 1 : 2;
	int rc = fns[which](store, a->request, &row, err);

	if (rc != SM_EXIT_OK)
		return sm_err_report(rc, err);
	rc = print_added(row, a->given & O_JSON);
	json_decref(row);
	return rc;
}

static int list(sm_store *store, const struct verb *v, struct noise_args *a, sm_error *err)
{
	json_t *rows;
	int rc = v->command[0] == 's'   ? sm_noise_silence_list(store, a->given & O_ALL, &rows, err)
	         : v->command[0] == 'i' ? sm_noise_inhibit_list(store, &rows, err)
	                                : sm_noise_maintenance_list(store, &rows, err);

	if (rc != SM_EXIT_OK)
		return sm_err_report(rc, err);
	rc = print_rows(rows,
	                v->command[0] == 's'   ? silence_columns
	                : v->command[0] == 'i' ? inhibit_columns
	                                       : window_columns,
	                as_json(a));
	json_decref(rows);
	return rc;
}

static int expire(sm_store *store, const struct verb *v, struct noise_args *a, sm_error *err)
{
	int rc = sm_noise_silence_expire(store, a->id, NULL, err);

	(void)v;
	return rc == SM_EXIT_OK ? rc : sm_err_report(rc, err);
}

static int rm(sm_store *store, const struct verb *v, struct noise_args *a, sm_error *err)
{
	int rc = v->command[0] == 'i' ? sm_noise_inhibit_remove(store, a->id, err)
	                              : sm_noise_maintenance_remove(store, a->id, err);

	return rc == SM_EXIT_OK ? rc : sm_err_report(rc, err);
}

static const struct verb verbs[] = {
    {"silence", "add", O_DURATION | O_START | O_END | O_COMMENT | O_AUTHOR | O_JSON, "matchers",
     false, false, add,
     "silence add MATCHER... [--duration D | --start TIME --end TIME] [--comment TEXT] "
     "[--author NAME]"},
    {"silence", "list", O_ALL | O_JSON, NULL, false, true, list, "silence list [--all] [--json]"},
    {"silence", "expire", 0, NULL, true, false, expire, "silence expire ID"},
    {"inhibit", "add", O_SOURCE | O_TARGET | O_EQUAL | O_JSON, "", false, false, add,
     "inhibit add --source MATCHER... --target MATCHER... [--equal LABEL,...]"},
    {"inhibit", "list", O_JSON, NULL, false, true, list, "inhibit list [--json]"},
    {"inhibit", "rm", 0, NULL, true, false, rm, "inhibit rm ID"},
    {"maintenance", "add", O_SCHEDULE | O_TZ | O_COMMENT | O_JSON, "matchers", false, false, add,
     "maintenance add MATCHER... --schedule SPEC [--tz ZONE] [--comment TEXT]"},
    {"maintenance", "list", O_JSON, NULL, false, true, list, "maintenance list [--json]"},
    {"maintenance", "rm", 0, NULL, true, false, rm, "maintenance rm ID"},
};

/* Append text to the request's list member. */
static void append(json_t *request, const char *member, const char *text)
{
	json_t *a = json_object_get(request, member);

	if (!a) {
		a = json_array();
		json_object_set_new(request, member, a);
	}
	json_array_append_new(a, json_string(text));
}

/* --equal a,b,c as a list of names. */
static void set_equal(json_t *request, const char *text)
{
	json_t *a = json_array();
	const char *p = text;

	while (*p) {
		size_t n = strcspn(p, ",");
		json_array_append_new(a, json_stringn(p, n));
		p += n + (p[n] == ',');
	}
	json_object_set_new(request, "equal", a);
}

static int usage(const struct verb *v)
{
	return sm_err(SM_EXIT_USAGE, "usage: sm-notify %s", v->usage);
}

/* Options and operands of args (after COMMAND VERB) into a. 0, or the
 * exit status. */
static int parse(const struct verb *v, int argc, char **argv, struct noise_args *a)
{
	bool options_end = false;

	a->list = v->list && *v->list ? v->list : NULL;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *value = NULL, *eq;
		const struct option_row *o = NULL;
		size_t len;

		if (options_end || strncmp(arg, "--", 2) != 0 || !arg[2]) {
			if (!options_end && strcmp(arg, "--") == 0) {
				options_end = true;
				continue;
			}
			if (v->list && a->list)
				append(a->request, a->list, arg);
			else if (v->takes_id && !a->id)
				a->id = arg;
			else
				return usage(v);
			a->noperands++;
			continue;
		}
		eq = strchr(arg, '=');
		len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
		for (size_t k = 0; k < sizeof options / sizeof options[0]; k++)
			if (strlen(options[k].name) == len &&
			    strncmp(arg + 2, options[k].name, len) == 0)
				o = &options[k];
		if (!o || !(v->options & o->bit))
			return sm_err(SM_EXIT_USAGE,
			              "%s %s: unknown option '%.*s' (usage: sm-notify %s)",
			              v->command, v->name, (int)(len + 2), arg, v->usage);
		a->given |= o->bit;
		if (o->bit == O_SOURCE || o->bit == O_TARGET) {
			a->list = o->name;
			if (eq) {
				append(a->request, a->list, eq + 1);
				a->noperands++;
			}
			continue;
		}
		if (!o->member) {
			if (eq)
				return usage(v);
			continue;
		}
		value = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
		if (!value)
			return sm_err(SM_EXIT_USAGE, "%s %s: option '--%s' needs a value",
			              v->command, v->name, o->name);
		if (o->bit == O_EQUAL)
			set_equal(a->request, value);
		else
			json_object_set_new(a->request, o->member, json_string(value));
	}
	if (v->takes_id && !a->id)
		return usage(v);
	if (v->run == add && v->command[0] == 's' && !(a->given & O_AUTHOR)) {
		const char *user = getenv("USER");
		json_object_set_new(a->request, "author", json_string(user ? user : ""));
	}
	return 0;
}

int noise_command(int argc, char **argv)
{
	const char *command = argv[0], *name = argc > 1 ? argv[1] : "";
	struct noise_args a = {0};
	sm_store *store;
	sm_error err;

	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
		const struct verb *v = &verbs[i];
		int rc;

		if (strcmp(command, v->command) != 0 || strcmp(name, v->name) != 0)
			continue;
		a.request = json_object();
		if (!a.request)
			return sm_err(SM_EXIT_FAILURE, "out of memory");
		if ((rc = parse(v, argc - 2, argv + 2, &a)) != 0) {
			json_decref(a.request);
			return rc;
		}
		if ((v->read_only ? sm_store_open_readonly(NULL, &store, &err)
		                  : sm_store_open(NULL, &store, &err)) < 0) {
			json_decref(a.request);
			return sm_err_report(SM_EXIT_FAILURE, &err);
		}
		rc = v->run(store, v, &a, &err);
		sm_store_close(store);
		json_decref(a.request);
		return rc;
	}
	return sm_err(SM_EXIT_USAGE, "usage: sm-notify %s %s", command,
	              strcmp(command, "silence") == 0 ? "add|list|expire" : "add|list|rm");
}
