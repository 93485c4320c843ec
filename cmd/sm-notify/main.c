/* sm-notify - the NOTIFY stage: envelopes in, a message to each channel
 * that should hear about them, the envelopes out with notifications[].
 * Also the channel management commands (the seeds' admin) and one-off
 * test messages. The work is in libsm (notify.h); this is the front end:
 * flags, a table or JSON depending on the terminal, one call per command,
 * the exit status. Every write to standard output is checked: a listing
 * that could not be written is a failure, not an empty success. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "sm/alert.h"
#include "sm/cli.h"
#include "sm/config.h"
#include "sm/envelope.h"
#include "sm/json.h"
#include "sm/json_arena.h"
#include "sm/log.h"
#include "sm/notify.h"
#include "sm/notify_http.h"
#include "sm/term.h"

static const char usage_text[] =
    "usage: sm-notify [--channel NAME ...] [FILE]\n"
    "       sm-notify channel add NAME DRIVER [KEY=VALUE ... | -]\n"
    "       sm-notify channel list|show NAME|enable NAME|disable NAME|rm NAME\n"
    "       sm-notify channel test NAME\n"
    "       sm-notify test DRIVER [KEY=VALUE ...]\n"
    "       sm-notify resend [--channel NAME ...]\n"
    "       sm-notify silence add MATCHER... [--duration D | --start T --end T]\n"
    "                 [--comment TEXT] [--author NAME]\n"
    "       sm-notify silence list [--all] | silence expire ID\n"
    "       sm-notify inhibit add --source MATCHER... --target MATCHER...\n"
    "                 [--equal LABEL,...]\n"
    "       sm-notify inhibit list | inhibit rm ID\n"
    "       sm-notify maintenance add MATCHER... --schedule SPEC [--tz ZONE]\n"
    "                 [--comment TEXT]\n"
    "       sm-notify maintenance list | maintenance rm ID\n"
    "       sm-notify --fastcgi [ADDRESS]\n"
    "\n"
    "Delivers the envelopes on stdin (or in FILE) to the notification channels;\n"
    "manages the channels (KEY=@FILE reads a value from a file; - alone reads the\n"
    "settings from stdin, one KEY=VALUE a line); `test` sends one test message\n"
    "through a driver, with no stored channel; `resend` sends the firing alerts\n"
    "again to the alertmanager channels; silences, inhibit rules and maintenance\n"
    "windows hold notifications back; --fastcgi answers /notify/.\n"
    "\n"
    "  -c, --channel NAME  deliver to this channel only (repeatable; default: every\n"
    "                      enabled one)\n"
    "  --json              JSON even on a terminal\n"
    "  -h, --help          this text\n"
    "  --version           version\n"
    "\n"
    "Environment: SM_DB, SM_LOG_LEVEL, SM_NOTIFY_RETRIES, SM_NOTIFY_BACKOFF_S,\n"
    "SM_TEMPLATE_DIR, SM_ENV_FILE.\n"
    "\n";

enum {
	OPT_JSON = 256,
};

static const struct option long_options[] = {
    {"channel", required_argument, NULL, 'c'},
    {"json", no_argument, NULL, OPT_JSON},
    SM_CLI_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

struct args {
	const char **channels; /* NULL-terminated */
	size_t nchannels;
	bool json;
	char **operands;
	int noperands;
};

/* The stdout driver's stream: stdout on a terminal, where a person reads
 * it; stderr on a pipe, where stdout carries envelopes. */
static FILE *text_stream(void)
{
	return sm_term_isatty(stdout) ? stdout : stderr;
}

static bool as_json(const struct args *a)
{
	return a->json || !sm_term_isatty(stdout);
}

/* rc, unless standard output could not be written: then 1 with a message. */
static int flushed(int rc)
{
	errno = 0;
	if (fflush(stdout) == EOF || ferror(stdout))
		return sm_err(SM_EXIT_FAILURE, "standard output: write error: %s",
		              strerror(errno ? errno : EIO));
	return rc;
}

/* One JSON line of row on stdout: 0, or the exit status of the failure. */
static int print_row(json_t *row)
{
	sm_error err;

	if (sm_envelope_write(stdout, row, &err) < 0) {
		sm_error_prefix(&err, "standard output");
		return sm_err_report(SM_EXIT_FAILURE, &err);
	}
	return 0;
}

/* --- channel commands -------------------------------------------------- */

static void print_config_lines(json_t *config)
{
	const char *key;
	json_t *v;

	json_object_foreach(config, key, v)
	{
		char *text = sm_json_text(v);
		printf("  %s = %s\n", key, text ? text : "");
		free(text);
	}
}

/* A channel command's input. */
struct cmd {
	const struct args *args;
	const char *name; /* the channel's, NULL for list */
	json_t *config;   /* add: the configuration built before the store is opened */
};

static int channel_list(sm_store *store, const struct cmd *c)
{
	static const char *const headers[] = {"name", "driver", "enabled", "config"};
	json_t *rows, *row;
	sm_error err;
	size_t i;
	int rc = sm_notify_channel_list(store, &rows, &err);

	if (rc != SM_EXIT_OK)
		return sm_err_report(rc, &err);
	if (as_json(c->args)) {
		json_array_foreach(rows, i, row)
		{
			if ((rc = print_row(row)) != 0)
				break;
		}
		json_decref(rows);
		return rc ? rc : flushed(SM_EXIT_OK);
	} else {
		sm_table *t = sm_table_new(4, headers);
		json_array_foreach(rows, i, row)
		{
			bool on = json_is_true(json_object_get(row, "enabled"));
			char *config = sm_json_dumps(json_object_get(row, "config"), SM_JSON_FLAGS);
			sm_table_row(t);
			sm_table_cell(t, json_string_value(json_object_get(row, "name")),
			              SM_COLOR_BOLD);
			sm_table_cell(t, json_string_value(json_object_get(row, "driver")),
			              SM_COLOR_NONE);
			sm_table_cell(t, on ? "yes" : "no", on ? SM_COLOR_GREEN : SM_COLOR_DIM);
			sm_table_cell(t, config ? config : "{}", SM_COLOR_NONE);
			free(config);
		}
		sm_table_print(t, stdout, sm_term_color(stdout), sm_term_columns(stdout));
		sm_table_free(t);
	}
	json_decref(rows);
	return flushed(SM_EXIT_OK);
}

static int channel_show(sm_store *store, const struct cmd *c)
{
	json_t *row, *masked;
	sm_error err;
	int rc = sm_notify_channel_get(store, c->name, &row, &err);

	if (rc != SM_EXIT_OK)
		return sm_err_report(rc, &err);
	masked = sm_notify_config_masked(json_string_value(json_object_get(row, "driver")),
	                                 json_object_get(row, "config"));
	json_object_set_new(row, "config", masked);
	if (as_json(c->args)) {
		rc = print_row(row);
		json_decref(row);
		return rc ? rc : flushed(SM_EXIT_OK);
	} else {
		printf("name:       %s\n", json_string_value(json_object_get(row, "name")));
		printf("driver:     %s\n", json_string_value(json_object_get(row, "driver")));
		printf("enabled:    %s\n",
		       json_is_true(json_object_get(row, "enabled")) ? "yes" : "no");
		printf("created_at: %s\n", json_string_value(json_object_get(row, "created_at")));
		printf("updated_at: %s\n", json_string_value(json_object_get(row, "updated_at")));
		printf("config:\n");
		print_config_lines(masked);
	}
	json_decref(row);
	return flushed(SM_EXIT_OK);
}

static int print_test_result(json_t *result, int rc, const struct args *a)
{
	if (as_json(a)) {
		int failed = print_row(result);
		json_decref(result);
		return failed ? failed : flushed(rc);
	} else {
		const char *error = json_string_value(json_object_get(result, "error"));
		printf("test via %s (%s): %s%s%s\n",
		       json_string_value(json_object_get(result, "channel")),
		       json_string_value(json_object_get(result, "driver")),
		       json_string_value(json_object_get(result, "status")), error ? ": " : "",
		       error ? error : "");
	}
	json_decref(result);
	return flushed(rc);
}

static int channel_test(sm_store *store, const struct cmd *c)
{
	json_t *row, *result;
	sm_error err;
	int rc = sm_notify_channel_get(store, c->name, &row, &err);

	if (rc != SM_EXIT_OK)
		return sm_err_report(rc, &err);
	rc = sm_notify_test(c->name, json_string_value(json_object_get(row, "driver")),
	                    json_object_get(row, "config"), text_stream(), &result);
	json_decref(row);
	return print_test_result(result, rc, c->args);
}

static int channel_add(sm_store *store, const struct cmd *c)
{
	sm_error err;
	int rc = sm_notify_channel_add(store, c->name, c->args->operands[3], c->config, &err);

	return rc == SM_EXIT_OK ? rc : sm_err_report(rc, &err);
}

static int channel_switch(sm_store *store, const char *name, bool on)
{
	sm_error err;
	int rc = sm_notify_channel_set_enabled(store, name, on, &err);

	return rc == SM_EXIT_OK ? rc : sm_err_report(rc, &err);
}

static int channel_enable(sm_store *store, const struct cmd *c)
{
	return channel_switch(store, c->name, true);
}

static int channel_disable(sm_store *store, const struct cmd *c)
{
	return channel_switch(store, c->name, false);
}

static int channel_rm(sm_store *store, const struct cmd *c)
{
	sm_error err;
	int rc = sm_notify_channel_remove(store, c->name, &err);

	return rc == SM_EXIT_OK ? rc : sm_err_report(rc, &err);
}

#define SETTINGS_MAX (1024 * 1024)

/* "channel add NAME DRIVER -": the settings from standard input, one
 * KEY=VALUE a line (blank lines skipped), so that no secret shows in the
 * process list (sm-pipeline setup adds its channel so). *text holds the
 * words; 0, or -1 with err. */
static int stdin_settings(char **text, char ***words, int *n, sm_error *err)
{
	size_t len = 0, got;
	char *buf = malloc(SETTINGS_MAX + 1);

	*words = NULL;
	*n = 0;
	*text = buf;
	if (!buf) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	while ((got = fread(buf + len, 1, SETTINGS_MAX + 1 - len, stdin)) > 0 &&
	       len + got <= SETTINGS_MAX)
		len += got;
	if (got > 0 || ferror(stdin)) {
		sm_error_set(err, "standard input: %s",
		             got > 0 ? "settings longer than 1 MiB" : strerror(errno));
		return -1;
	}
	buf[len] = '\0';
	*words = calloc(len / 2 + 1, sizeof **words);
	if (!*words) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	for (char *line = buf, *end; line && *line; line = end) {
		end = strchr(line, '\n');
		if (end)
			*end++ = '\0';
		line[strcspn(line, "\r")] = '\0';
		if (*line)
			(*words)[(*n)++] = line;
	}
	return 0;
}

/* The channel verbs: the operands each takes after "channel VERB" (-1: no
 * most), and whether it takes DRIVER KEY=VALUE... as a configuration,
 * checked before the store is opened. */
static const struct verb {
	const char *name;
	int min_args, max_args;
	bool config;
	bool read_only; /* a listing: a store the user may only read will do */
	int (*run)(sm_store *store, const struct cmd *c);
} verbs[] = {
    {"add", 2, -1, true, false, channel_add},
    {"list", 0, 0, false, true, channel_list},
    {"show", 1, 1, false, true, channel_show},
    {"enable", 1, 1, false, false, channel_enable},
    {"disable", 1, 1, false, false, channel_disable},
    {"rm", 1, 1, false, false, channel_rm},
    {"test", 1, 1, false, false, channel_test},
};

static int channel_command(const struct args *a)
{
	static const char usage[] = "usage: sm-notify channel add NAME DRIVER [KEY=VALUE ...] | "
	                            "list | show|enable|disable|rm|test NAME";
	const char *verb = a->noperands > 1 ? a->operands[1] : "";
	int nargs = a->noperands - 2;
	sm_store *store;
	sm_error err;

	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
		const struct verb *v = &verbs[i];
		struct cmd c = {a, nargs > 0 ? a->operands[2] : NULL, NULL};
		int rc;

		if (strcmp(verb, v->name) != 0)
			continue;
		if (nargs < v->min_args || (v->max_args >= 0 && nargs > v->max_args))
			break;
		if (v->config) {
			char *text = NULL, **words = NULL;
			int n = 0;
			rc = SM_EXIT_USAGE;
			if (a->noperands == 5 && strcmp(a->operands[4], "-") == 0) {
				if (stdin_settings(&text, &words, &n, &err) == 0)
					rc = sm_notify_config_build(a->operands[3], words, n,
					                            &c.config, &err);
			} else {
				rc = sm_notify_config_build(a->operands[3], a->operands + 4,
				                            a->noperands - 4, &c.config, &err);
			}
			free(words);
			free(text);
			if (rc != SM_EXIT_OK)
				return sm_err_report(rc, &err);
		}
		if ((v->read_only ? sm_store_open_readonly(NULL, &store, &err)
		                  : sm_store_open(NULL, &store, &err)) < 0) {
			json_decref(c.config);
			return sm_err_report(SM_EXIT_FAILURE, &err);
		}
		rc = v->run(store, &c);
		sm_store_close(store);
		json_decref(c.config);
		return rc;
	}
	return sm_err(SM_EXIT_USAGE, "%s", usage);
}

static int test_command(const struct args *a)
{
	json_t *config, *result;
	sm_error err;
	int rc;

	if (a->noperands < 2)
		return sm_err(SM_EXIT_USAGE, "usage: sm-notify test DRIVER [KEY=VALUE ...]");
	rc = sm_notify_config_build(a->operands[1], a->operands + 2, a->noperands - 2, &config,
	                            &err);
	if (rc != SM_EXIT_OK)
		return sm_err_report(rc, &err);
	rc = sm_notify_test("test", a->operands[1], config, text_stream(), &result);
	json_decref(config);
	return print_test_result(result, rc, a);
}

/* The silence, inhibit and maintenance commands (noise.c): argv[0] is the
 * command; they read their own flags. */
int noise_command(int argc, char **argv);

static bool noise_command_name(const char *s)
{
	return s && (strcmp(s, "silence") == 0 || strcmp(s, "inhibit") == 0 ||
	             strcmp(s, "maintenance") == 0);
}

/* --- delivering -------------------------------------------------------- */

static int deliver(const struct args *a)
{
	const char *name = "stdin";
	sm_notify_opts opts = {.channels = a->channels, .text_out = text_stream()};
	sm_notifier *notifier = NULL;
	sm_store *store = NULL;
	FILE *in = stdin;
	sm_error err;
	int rc;

	if (a->noperands > 1)
		return sm_err(SM_EXIT_USAGE, "one FILE at most (see sm-notify --help)");
	if (a->noperands == 0 && sm_term_isatty(stdin))
		return sm_err(SM_EXIT_USAGE,
		              "no envelopes: give a FILE or pipe them in (see sm-notify --help)");
	if (sm_store_open(NULL, &store, &err) < 0)
		return sm_err_report(SM_EXIT_FAILURE, &err);
	rc = sm_notifier_new(store, &opts, &notifier, &err);
	if (rc == SM_EXIT_OK && a->noperands == 1 && strcmp(a->operands[0], "-") != 0) {
		name = a->operands[0];
		in = fopen(name, "r");
		if (!in) {
			sm_error_set(&err, "%s: %s", name, strerror(errno));
			rc = SM_EXIT_FAILURE;
		}
	}
	if (rc == SM_EXIT_OK)
		rc = sm_notifier_run(notifier, in, name, stdout);
	else
		sm_err_report(rc, &err);
	if (in && in != stdin)
		fclose(in);
	sm_notifier_free(notifier);
	sm_store_close(store);
	return rc;
}

/* sm-notify resend [--channel NAME ...]: the store's firing alerts, again,
 * to the channels that end an alert not sent again. */
static int resend(const struct args *a)
{
	sm_notify_opts opts = {.channels = a->channels, .text_out = text_stream()};
	sm_store *store = NULL;
	sm_error err;
	int rc;

	if (a->noperands > 1)
		return sm_err(SM_EXIT_USAGE, "usage: sm-notify resend [--channel NAME ...]");
	if (sm_store_open(NULL, &store, &err) < 0)
		return sm_err_report(SM_EXIT_FAILURE, &err);
	rc = sm_notify_resend(store, &opts, stdout);
	sm_store_close(store);
	return rc == SM_EXIT_FAILURE ? rc : flushed(rc);
}

static int help(void)
{
	char *drivers = sm_notify_drivers_help();

	fputs(usage_text, stdout);
	fputs(drivers ? drivers : "", stdout);
	free(drivers);
	return flushed(drivers ? SM_EXIT_OK : sm_err(SM_EXIT_FAILURE, "out of memory"));
}

/* 0 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct args *a)
{
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":hc:", long_options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			return help();
		case 'c': {
			const char **p = realloc(a->channels, (a->nchannels + 2) * sizeof *p);
			if (!p)
				return sm_err(SM_EXIT_FAILURE, "out of memory");
			a->channels = p;
			p[a->nchannels++] = optarg;
			p[a->nchannels] = NULL;
			break;
		}
		case OPT_JSON:
			a->json = true;
			break;
		default: /* --version, getopt failures */
			return sm_cli_option(opt, "", argv);
		}
	}
	a->operands = argv + optind;
	a->noperands = argc - optind;
	return -1;
}

int main(int argc, char **argv)
{
	struct args a = {0};
	sm_error err;
	int rc, config_rc;

	/* Before any tree: each envelope's trees are built and freed whole
	 * (json_arena.c). */
	sm_json_arena_install();
	sm_err_set_progname(argv[0]);
	sm_log_init("sm-notify");
	if (sm_request_fcgi_wanted(argc, argv)) /* a web server's FastCGI responder */
		return sm_request_fcgi_serve("sm-notify", argc, argv, sm_notify_http);
	/* A broken env file is reported after the arguments: --help and
	 * --version still answer. */
	config_rc = sm_config_load(&err);
	if (getenv("GATEWAY_INTERFACE")) /* run by a web server: answer its request */
		return sm_notify_http_cgi(config_rc < 0 ? &err : NULL);
	if (argc > 1 && noise_command_name(argv[1])) {
		if (config_rc < 0)
			return sm_err_report(SM_EXIT_FAILURE, &err);
		return noise_command(argc - 1, argv + 1);
	}
	rc = parse_args(argc, argv, &a);
	if (rc < 0 && config_rc < 0)
		rc = sm_err_report(SM_EXIT_FAILURE, &err);
	if (rc < 0) {
		const char *cmd = a.noperands > 0 ? a.operands[0] : "";
		if (strcmp(cmd, "channel") == 0)
			rc = channel_command(&a);
		else if (strcmp(cmd, "test") == 0)
			rc = test_command(&a);
		else if (strcmp(cmd, "resend") == 0)
			rc = resend(&a);
		else
			rc = deliver(&a);
	}
	free(a.channels);
	return rc;
}
