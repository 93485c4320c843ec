/* sm-analyze - the ANALYZE stage: add an analysis (recommendations from the
 * local rules or an AI provider) to each envelope; or analyze this host
 * standalone (--memory, --disk, --cpu, the general scan); and manage the
 * stored providers (`provider ...`, provider.c). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sm/analyze.h"
#include "sm/analyze_http.h"
#include "sm/cli.h"
#include "sm/config.h"
#include "sm/envelope.h"
#include "sm/json.h"
#include "sm/log.h"
#include "sm/rfc3339.h"
#include "sm/stage.h"
#include "sm/term.h"
#include "sm-analyze.h"

static const char usage_text[] =
    "usage: sm-analyze [--provider NAME] [FILE]    analyze envelopes (stdin or FILE)\n"
    "       sm-analyze --memory|--disk [PATH]|--cpu [--json]  this host (local rules)\n"
    "       sm-analyze --incident-id N [--provider NAME] [--json]   a stored incident\n"
    "       sm-analyze --list-providers [--json]     the provider family and defaults\n"
    "       sm-analyze [--json]                      on a terminal: the general scan\n"
    "       sm-analyze provider add NAME PROVIDER [KEY=VALUE ...]\n"
    "       sm-analyze provider list|show NAME|activate NAME|rm NAME|test NAME\n"
    "       sm-analyze --fastcgi [ADDRESS]           answer /intelligence/ (FastCGI)\n"
    "\n"
    "  --provider NAME     use this stored provider instead of the active one\n"
    "                      (\"local\": the local rules)\n"
    "  --memory            the top processes by memory\n"
    "  --disk [PATH]       large and old files under PATH (default /)\n"
    "  --cpu               the top processes by CPU over a short sample\n"
    "  --incident-id N     analyze incident N of the store (its alerts and checks)\n"
    "  --list-providers    the providers with their default base URL and model\n"
    "  --top-n N           processes listed (default 10)\n"
    "  --threshold-mb MB   size of a large file or directory (default 100)\n"
    "  --old-days D        age of an old file in days (default 30)\n"
    "  --json              JSON even on a terminal\n"
    "  -h, --help          this text\n"
    "  --version           version\n"
    "\n";

static const char usage_tail[] =
    "Environment: ORCHESTRATION_INTELLIGENCE_FALLBACK_ENABLED (default 1), SM_DB,\n"
    "SM_ENV_FILE, SM_HOST_ROOT, SM_LOG_LEVEL, OPENAI_API_KEY and the like.\n";

/* --help: the providers and their keys come from their lists. */
static void usage(void)
{
	char names[512], ai_keys[256], local_keys[256], text[1024];

	sm_analyze_provider_names(names, sizeof names);
	sm_analyze_config_keys("openai", ai_keys, sizeof ai_keys);
	sm_analyze_config_keys("local", local_keys, sizeof local_keys);
	fputs(usage_text, stdout);
	snprintf(text, sizeof text, "%s.", names);
	sm_cli_wrap(stdout, "Providers: ", 2, text);
	snprintf(text, sizeof text, "%s (KEY=@FILE reads the value from FILE); local: %s.", ai_keys,
	         local_keys);
	sm_cli_wrap(stdout, "Keys: ", 2, text);
	fputs(usage_tail, stdout);
}

enum {
	OPT_PROVIDER = 256,
	OPT_MEMORY,
	OPT_DISK,
	OPT_CPU,
	OPT_TOP_N,
	OPT_THRESHOLD,
	OPT_OLD_DAYS,
	OPT_JSON,
	OPT_INCIDENT,
	OPT_LIST_PROVIDERS,
};

static const struct option long_options[] = {
    {"provider", required_argument, NULL, OPT_PROVIDER},
    {"memory", no_argument, NULL, OPT_MEMORY},
    {"disk", no_argument, NULL, OPT_DISK},
    {"cpu", no_argument, NULL, OPT_CPU},
    {"top-n", required_argument, NULL, OPT_TOP_N},
    {"threshold-mb", required_argument, NULL, OPT_THRESHOLD},
    {"old-days", required_argument, NULL, OPT_OLD_DAYS},
    {"json", no_argument, NULL, OPT_JSON},
    {"incident-id", required_argument, NULL, OPT_INCIDENT},
    {"list-providers", no_argument, NULL, OPT_LIST_PROVIDERS},
    SM_CLI_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

struct args {
	const char *provider;
	int modes; /* how many of --memory, --disk, --cpu */
	enum sm_analyze_mode mode;
	bool json, list_providers;
	long long incident; /* --incident-id; 0: none */
	sm_recommend_opts opts;
	char **operands;
	int noperands;
};

/* A whole number from 1 to max for an option. */
static int number(const char *opt, const char *text, double max, bool whole, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(text, &end);
	if (errno || *end || end == text || !(*out > 0) || *out > max ||
	    (whole && *out != floor(*out)))
		return sm_err(SM_EXIT_USAGE, "%s: must be a %s above 0, at most %g", opt,
		              whole ? "whole number" : "number", max);
	return 0;
}

static int parse(int argc, char **argv, struct args *a)
{
	double v;
	int opt;

	sm_recommend_opts_init(&a->opts);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage();
			return -1;
		case OPT_PROVIDER:
			a->provider = optarg;
			break;
		case OPT_MEMORY:
		case OPT_DISK:
		case OPT_CPU:
			a->modes++;
			a->mode = opt == OPT_MEMORY ? SM_ANALYZE_MEMORY
			          : opt == OPT_DISK ? SM_ANALYZE_DISK
			                            : SM_ANALYZE_CPU;
			break;
		case OPT_TOP_N:
			if (number("--top-n", optarg, 1000, true, &v))
				return SM_EXIT_USAGE;
			a->opts.top_n = (int)v;
			break;
		case OPT_THRESHOLD:
			if (number("--threshold-mb", optarg, 1e9, false, &v))
				return SM_EXIT_USAGE;
			a->opts.large_file_mb = v;
			break;
		case OPT_OLD_DAYS:
			if (number("--old-days", optarg, 36500, true, &v))
				return SM_EXIT_USAGE;
			a->opts.old_file_days = (int)v;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_INCIDENT:
			if (number("--incident-id", optarg, 9007199254740991.0, true, &v))
				return SM_EXIT_USAGE;
			a->incident = (long long)v;
			break;
		case OPT_LIST_PROVIDERS:
			a->list_providers = true;
			break;
		default: /* --version, getopt failures */
			return sm_cli_option(opt, "", argv);
		}
	}
	a->operands = argv + optind;
	a->noperands = argc - optind;
	if (a->modes + (a->incident > 0) + a->list_providers > 1)
		return sm_err(
		    SM_EXIT_USAGE,
		    "--memory, --disk, --cpu, --incident-id and --list-providers go alone");
	if ((a->incident > 0 || a->list_providers) && a->noperands > 0)
		return sm_err(SM_EXIT_USAGE, "unexpected argument '%s' (see --help)",
		              a->operands[0]);
	return 0;
}

/* Recommendations of a standalone run: JSON on a pipe, a listing for people. */
static int print_standalone(json_t *recs, bool json)
{
	if (json || !sm_term_isatty(stdout)) {
		json_t *o = json_pack("{s:s,s:O,s:I}", "provider", "local", "recommendations", recs,
		                      "count", (json_int_t)json_array_size(recs));
		sm_error err;
		int rc = sm_envelope_write(stdout, o, &err);
		json_decref(o);
		return rc < 0 ? sm_err_report(SM_EXIT_FAILURE, &err) : SM_EXIT_OK;
	}
	print_recommendations(stdout, recs);
	return SM_EXIT_OK;
}

static int standalone(sm_store *store, struct args *a)
{
	const char *path = NULL;
	json_t *recs;
	sm_error err, note;
	int rc;

	if (a->provider && strcmp(a->provider, "local") != 0)
		return sm_err(SM_EXIT_USAGE, "--memory, --disk, --cpu and the general scan use the "
		                             "local rules, not --provider");
	if (a->noperands > (a->mode == SM_ANALYZE_DISK ? 1 : 0))
		return sm_err(SM_EXIT_USAGE, "unexpected argument '%s' (see --help)",
		              a->operands[a->mode == SM_ANALYZE_DISK ? 1 : 0]);
	if (a->noperands == 1)
		path = a->operands[0];
	/* Progress is for people watching: never in JSON, never in a log. */
	if (!a->json && sm_term_isatty(stderr) && sm_term_isatty(stdout))
		a->opts.progress = show_progress;
	rc = sm_analyze_local(store, a->mode, path, &a->opts, &recs, &note, &err);
	end_progress();
	if (rc == 0 && note.msg[0])
		fprintf(stderr, "%s: warning: %s\n", sm_err_progname(), note.msg);
	if (rc == 0)
		rc = print_standalone(recs, a->json);
	else
		rc = sm_err_report(rc, &err);
	json_decref(recs);
	return rc;
}

/* --list-providers: JSON lines on a pipe, a table for people. */
static int list_providers(bool json)
{
	static const char *const headers[] = {"PROVIDER", "DEFAULT BASE URL", "DEFAULT MODEL",
	                                      "KEY VARIABLE"};
	static const char *const keys[] = {"name", "base_url", "model", "key_env"};
	json_t *rows = sm_analyze_providers_json(), *row;
	size_t i;

	if (!rows)
		return sm_err(SM_EXIT_FAILURE, "out of memory");
	if (json || !sm_term_isatty(stdout)) {
		json_array_foreach(rows, i, row)
		{
			sm_envelope_write(stdout, row, NULL);
		}
	} else {
		sm_table *t = sm_table_new(4, headers);
		json_array_foreach(rows, i, row)
		{
			sm_table_row(t);
			for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
				const char *v = json_string_value(json_object_get(row, keys[k]));
				sm_table_cell(t, v ? v : "-", SM_COLOR_NONE);
			}
		}
		sm_table_print(t, stdout, sm_term_color(stdout), sm_term_columns(stdout));
		sm_table_free(t);
	}
	json_decref(rows);
	return fflush(stdout) == EOF ? sm_err(SM_EXIT_FAILURE, "write error on stdout") : 0;
}

/* --incident-id N: the stored incident's envelope, analyzed; the envelope
 * on a pipe, the recommendations for people. */
static int incident(sm_store *store, struct args *a, bool fallback)
{
	sm_analyzer *an = NULL;
	json_t *env = NULL, *analysis;
	sm_error err;
	int rc;

	rc = sm_analyze_incident_envelope(store, a->incident, &env, &err);
	if (rc == 0)
		rc = sm_analyzer_open(store, a->provider, &an, &err);
	if (rc != 0) {
		json_decref(env);
		return sm_err_report(rc, &err);
	}
	sm_analyzer_set_fallback(an, fallback);
	sm_analyzer_set_opts(an, &a->opts);
	rc = sm_analyzer_envelope(an, env, &err);
	if (rc < 0) {
		sm_analyzer_free(an);
		json_decref(env);
		return sm_err(SM_EXIT_FAILURE, "cannot record the analysis: %s", err.msg);
	}
	analysis = json_object_get(env, "analysis");
	if (rc != 0) /* failed: the envelope still says how */
		sm_err(rc, "incident %lld: %s", a->incident,
		       json_string_value(json_object_get(analysis, "error")));
	if (a->json || !sm_term_isatty(stdout)) {
		if (sm_envelope_write(stdout, env, &err) < 0)
			rc = sm_err_report(SM_EXIT_FAILURE, &err);
	} else {
		printf(
		    "Incident %lld: %s (%s)\n", a->incident,
		    json_string_value(json_object_get(json_object_get(env, "incident"), "title")),
		    sm_analyzer_provider(an));
		print_recommendations(stdout, json_object_get(analysis, "recommendations"));
	}
	sm_analyzer_free(an);
	json_decref(env);
	return rc;
}

/* Analyze one envelope of the stream (sm_stage_fn). */
static int analyze_one(json_t *env, bool *drop, void *ctx)
{
	sm_error err;
	int rc = sm_analyzer_envelope(ctx, env, &err);

	(void)drop;
	if (rc < 0) {
		/* Not recorded: say so in the envelope, which still goes on. */
		char started[SM_RFC3339_LEN];
		sm_rfc3339_now(started, true);
		sm_err(SM_EXIT_FAILURE, "cannot record the analysis: %s", err.msg);
		sm_envelope_add_stage(env, "analyze", "failed", started, 0, err.msg);
	}
	return rc != 0 ? SM_EXIT_FAILURE : SM_EXIT_OK;
}

/* The envelopes of in: each analyzed and written on (sm-envelope(5)'s loop). */
static int stream(sm_store *store, struct args *a, FILE *in, const char *name, bool fallback)
{
	sm_stage_result res;
	sm_analyzer *an;
	sm_error err;
	int rc;

	rc = sm_analyzer_open(store, a->provider, &an, &err);
	if (rc != 0)
		return sm_err_report(rc, &err);
	sm_analyzer_set_fallback(an, fallback);
	sm_analyzer_set_opts(an, &a->opts);
	sm_stage_run(in, name, 0, stdout, analyze_one, an, &res);
	sm_analyzer_free(an);
	return sm_stage_exit(&res);
}

int main(int argc, char **argv)
{
	struct args a = {0};
	sm_store *store = NULL;
	sm_error err;
	int rc, fallback, config_rc;

	sm_err_set_progname(argv[0]);
	sm_log_init("sm-analyze");
	json_object_seed(0);
	if (sm_request_fcgi_wanted(argc, argv)) /* a web server's FastCGI responder */
		return sm_request_fcgi_serve("sm-analyze", argc, argv, sm_analyze_http);
	/* A broken env file is reported after the arguments: --help and
	 * --version still answer. */
	config_rc = sm_config_load(&err);
	if (getenv("GATEWAY_INTERFACE")) /* run by a web server: answer its request */
		return sm_analyze_http_cgi(config_rc < 0 ? &err : NULL);
	rc = parse(argc, argv, &a);
	if (rc != 0)
		return rc < 0 ? sm_cli_finish(SM_EXIT_OK) : rc;
	if (config_rc < 0)
		return sm_err_report(SM_EXIT_FAILURE, &err);
	fallback = sm_config_bool("ORCHESTRATION_INTELLIGENCE_FALLBACK_ENABLED", 1);
	if (fallback < 0)
		return sm_err(SM_EXIT_USAGE,
		              "ORCHESTRATION_INTELLIGENCE_FALLBACK_ENABLED must be 1 "
		              "or 0");
	if (a.list_providers) {
		rc = list_providers(a.json);
	} else if (a.incident > 0) {
		if (sm_store_open(NULL, &store, &err) < 0)
			return sm_err_report(SM_EXIT_FAILURE, &err);
		rc = incident(store, &a, fallback != 0);
	} else if (a.noperands > 0 && strcmp(a.operands[0], "provider") == 0 && a.modes == 0) {
		if (a.provider)
			return sm_err(SM_EXIT_USAGE, "--provider does not go with 'provider'");
		if (sm_store_open(NULL, &store, &err) < 0)
			return sm_err_report(SM_EXIT_FAILURE, &err);
		rc = provider_command(store, a.operands + 1, a.noperands - 1, a.json);
	} else if (a.modes > 0 || (a.noperands == 0 && sm_term_isatty(stdin))) {
		if (a.modes == 0)
			a.mode = SM_ANALYZE_GENERAL;
		if (sm_store_open(NULL, &store, &err) < 0)
			return sm_err_report(SM_EXIT_FAILURE, &err);
		rc = standalone(store, &a);
	} else if (a.noperands > 1) {
		return sm_err(SM_EXIT_USAGE, "unexpected argument '%s' (see --help)",
		              a.operands[1]);
	} else {
		const char *file = a.noperands ? a.operands[0] : "-";
		FILE *in = strcmp(file, "-") == 0 ? stdin : fopen(file, "re");
		if (!in)
			return sm_err(SM_EXIT_FAILURE, "%s: %s", file, strerror(errno));
		if (sm_store_open(NULL, &store, &err) < 0) {
			if (in != stdin)
				fclose(in);
			return sm_err_report(SM_EXIT_FAILURE, &err);
		}
		rc = stream(store, &a, in, in == stdin ? "stdin" : file, fallback != 0);
		if (in != stdin)
			fclose(in);
	}
	sm_store_close(store);
	return sm_cli_finish(rc);
}
