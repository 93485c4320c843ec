/* sm-check - the CHECK stage: run health checkers on this host (or the host
 * under $SM_HOST_ROOT), record each result, and print a table, an envelope
 * or plugin output. With "-", enrich each envelope read on stdin. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>

#include "sm/cli.h"
#include "sm/config.h"
#include "sm/envelope.h"
#include "sm/host.h"
#include "sm/log.h"
#include "sm/rfc3339.h"
#include "sm/stage.h"
#include "sm/term.h"
#include "sm-check.h"

static const char usage_head[] =
    "usage: sm-check [options] [CHECKER ...]   run all (or the named) checkers\n"
    "       sm-check [options] - [CHECKER ...] enrich envelopes read on stdin\n"
    "       sm-check --list                    list the checkers\n"
    "\n"
    "  --json               one envelope (NDJSON) even on a terminal\n"
    "  --nagios             plugin output and exit status (0/1/2/3)\n"
    "  --fail-on-warning    exit 1 when any checker is WARNING\n"
    "  --fail-on-critical   fail only on CRITICAL\n"
    "  -w, --warning X      warning threshold (number or [@][start:][end])\n"
    "  -c, --critical X     critical threshold\n"
    "  --alerts             results become alerts and incidents in the store\n"
    "  --hostname NAME      the host's name in results and alerts (default: this\n"
    "                       host's)\n"
    "  --label KEY=VALUE    with --alerts: a label on each alert (repeatable)\n"
    "  -v, --verbose        on a terminal: details of every result, full lists\n"
    "  -h, --help           this text\n"
    "  --version            version\n"
    "\n"
    "checker options:\n";

enum {
	OPT_JSON = 256,
	OPT_NAGIOS,
	OPT_FAIL_WARNING,
	OPT_FAIL_CRITICAL,
	OPT_LIST,
	OPT_ALERTS,
	OPT_HOSTNAME,
	OPT_LABEL,
	OPT_CHECKER, /* + the index of a checker option (sm_check_options) */
};

static const struct option tool_options[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"nagios", no_argument, NULL, OPT_NAGIOS},
    {"fail-on-warning", no_argument, NULL, OPT_FAIL_WARNING},
    {"fail-on-critical", no_argument, NULL, OPT_FAIL_CRITICAL},
    {"warning", required_argument, NULL, 'w'},
    {"critical", required_argument, NULL, 'c'},
    {"list", no_argument, NULL, OPT_LIST},
    {"alerts", no_argument, NULL, OPT_ALERTS},
    {"hostname", required_argument, NULL, OPT_HOSTNAME},
    {"label", required_argument, NULL, OPT_LABEL},
    {"verbose", no_argument, NULL, 'v'},
    SM_CLI_LONG_OPTIONS,
};

#define NTOOL (sizeof tool_options / sizeof tool_options[0])

/* The tool's options, then the options the checkers declare. */
static void build_options(struct option *out)
{
	size_t n;
	const sm_check_option *const *all = sm_check_options(&n);

	memcpy(out, tool_options, sizeof tool_options);
	for (size_t i = 0; i < n; i++)
		out[NTOOL + i] = (struct option){
		    all[i]->name, all[i]->kind == SM_CHECK_SWITCH ? no_argument : required_argument,
		    NULL, OPT_CHECKER + (int)i};
	out[NTOOL + n] = (struct option){NULL, 0, NULL, 0};
}

/* --help: the tool's options, then one line per checker option saying
 * which checkers take it. */
static void usage(void)
{
	size_t n;
	const sm_check_option *const *all = sm_check_options(&n);

	fputs(usage_head, stdout);
	for (size_t i = 0; i < n; i++) {
		char flag[64], users[256], lead[80], text[512];
		snprintf(flag, sizeof flag, "--%s%s%s", all[i]->name, all[i]->arg ? " " : "",
		         all[i]->arg ? all[i]->arg : "");
		sm_check_option_users(all[i], users, sizeof users);
		snprintf(lead, sizeof lead, "  %-20s ", flag);
		snprintf(text, sizeof text, "%s: %s", users, all[i]->help);
		sm_cli_wrap(stdout, lead, 23, text);
	}
}

struct args {
	struct check_run run;
	const char *hostname; /* --hostname */
	char **labels;        /* --label words (argv's) */
	size_t nlabels;
	bool list, from_stdin;
	const sm_checker **selected;
	size_t nselected;
};

/* One --label KEY=VALUE (split at the first '='; the value may hold more). */
static int add_label(struct args *a, char *word)
{
	const char *eq = strchr(word, '=');
	char **p;

	if (!eq || eq == word)
		return sm_err(SM_EXIT_USAGE, "--label: '%s' is not KEY=VALUE", word);
	if (!sm_json_utf8_valid(word, strlen(word)))
		return sm_err(SM_EXIT_USAGE, "--label: not UTF-8 text");
	p = realloc(a->labels, (a->nlabels + 1) * sizeof *p);
	if (!p)
		return sm_err(SM_EXIT_FAILURE, "out of memory");
	a->labels = p;
	a->labels[a->nlabels++] = word;
	return 0;
}

static int select_checkers(struct args *a, char **names, int count)
{
	size_t n;
	const sm_checker *const *all = sm_checkers(&n);

	a->selected = calloc(count > 0 ? (size_t)count : n, sizeof *a->selected);
	if (!a->selected)
		return sm_err(SM_EXIT_FAILURE, "out of memory");
	if (count == 0) {
		for (size_t i = 0; i < n; i++)
			a->selected[i] = all[i];
		a->nselected = n;
		return 0;
	}
	for (int i = 0; i < count; i++) {
		const sm_checker *c = sm_checker_find(names[i]);
		if (!c) {
			char avail[1024];
			sm_checker_names(avail, sizeof avail);
			return sm_err(SM_EXIT_USAGE, "unknown checker '%s' (available: %s)",
			              names[i], avail);
		}
		a->selected[a->nselected++] = c;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	struct option long_options[NTOOL + SM_CHECK_MAX_VALUES + 1];
	size_t nchecker;
	const sm_check_option *const *checker_options = sm_check_options(&nchecker);
	sm_error err;
	int opt, rc;

	build_options(long_options);
	opterr = 0; /* one line of our own instead of getopt's two */
	while ((opt = getopt_long(argc, argv, ":hvw:c:", long_options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage();
			exit(sm_cli_finish(SM_EXIT_OK));
		case 'v':
			a->run.verbose = true;
			break;
		case OPT_JSON:
			a->run.output = OUTPUT_JSON;
			break;
		case OPT_NAGIOS:
			a->run.output = OUTPUT_NAGIOS;
			break;
		case OPT_FAIL_WARNING:
			a->run.fail_on_warning = true;
			break;
		case OPT_FAIL_CRITICAL:
			a->run.fail_on_critical = true;
			break;
		case 'w':
		case 'c':
			if (sm_range_parse(
			        optarg, opt == 'w' ? &a->run.opts.warning : &a->run.opts.critical,
			        &err) < 0)
				return sm_err_report(SM_EXIT_USAGE, &err);
			break;
		case OPT_LIST:
			a->list = true;
			break;
		case OPT_ALERTS:
			a->run.alerts = true;
			break;
		case OPT_HOSTNAME:
			if (!sm_check_host_valid(optarg))
				return sm_err(SM_EXIT_USAGE,
				              "--hostname: '%s' is not a valid host name", optarg);
			a->hostname = optarg;
			break;
		case OPT_LABEL:
			if ((rc = add_label(a, optarg)) != 0)
				return rc;
			break;
		default: /* --version, getopt failures */
			if (opt >= OPT_CHECKER && (size_t)(opt - OPT_CHECKER) < nchecker) {
				if (sm_check_opts_set(&a->run.opts,
				                      checker_options[opt - OPT_CHECKER],
				                      optarg ? optarg : "", &err) < 0)
					return sm_err_report(SM_EXIT_USAGE, &err);
				break;
			}
			return sm_cli_option(opt, "", argv);
		}
	}
	if (a->run.output == OUTPUT_NAGIOS && (a->run.fail_on_warning || a->run.fail_on_critical))
		return sm_err(SM_EXIT_USAGE,
		              "--nagios has its own exit statuses; drop --fail-on-*");
	/* "-" (read envelopes) may stand anywhere among the checker names. */
	{
		int kept = optind;
		for (int i = optind; i < argc; i++) {
			if (strcmp(argv[i], "-") == 0)
				a->from_stdin = true;
			else
				argv[kept++] = argv[i];
		}
		argc = kept;
	}
	if (a->nlabels > 0 && !a->run.alerts)
		return sm_err(SM_EXIT_USAGE, "--label: labels go on the alerts of --alerts");
	a->run.labels = a->labels;
	a->run.nlabels = a->nlabels;
	if (a->from_stdin && a->run.alerts)
		return sm_err(SM_EXIT_USAGE, "--alerts makes alerts of this host's checks; it does "
		                             "not combine with - (envelopes on stdin)");
	return select_checkers(a, argv + optind, argc - optind);
}

static int list_checkers(enum output_mode mode)
{
	size_t n;
	const sm_checker *const *all = sm_checkers(&n);

	for (size_t i = 0; i < n; i++) {
		if (mode == OUTPUT_JSON) {
			json_t *o = json_pack("{s:s,s:s}", "name", all[i]->name, "description",
			                      all[i]->description);
			json_t *options = json_array();
			if (!isnan(all[i]->warning)) {
				json_object_set_new(o, "warning", json_real(all[i]->warning));
				json_object_set_new(o, "critical", json_real(all[i]->critical));
			}
			for (const sm_check_option *const *k = all[i]->options; k && *k; k++)
				json_array_append_new(options, json_string((*k)->name));
			json_object_set_new(o, "options", options);
			sm_envelope_write(stdout, o, NULL);
			json_decref(o);
		} else {
			printf("%-16s %s\n", all[i]->name, all[i]->description);
		}
	}
	return fflush(stdout) == EOF ? SM_EXIT_FAILURE : SM_EXIT_OK;
}

struct enrich {
	struct check_run *run;
	const sm_checker **selected;
	size_t n;
};

static int enrich_one(json_t *env, bool *drop, void *ctx)
{
	struct enrich *e = ctx;

	(void)drop;
	return check_run_envelope(e->run, e->selected, e->n, env);
}

/* Enrich each envelope on stdin with a checks section, by sm-envelope(5)'s
 * loop: a line that is not an envelope is skipped and makes the exit 65; a
 * failed output, or results that could not be recorded, UNKNOWN; otherwise
 * the plugin status of every result. */
static int enrich_stream(struct check_run *run, const sm_checker **selected, size_t n)
{
	struct enrich e = {run, selected, n};
	sm_stage_result res;
	int rc;

	sm_stage_run(stdin, "stdin", 0, stdout, enrich_one, &e, &res);
	if (res.output_error)
		return SM_UNKNOWN;
	if (res.malformed || res.input_error)
		return SM_EXIT_DATAERR;
	rc = check_exit_status(run);
	return res.failed && rc == SM_OK ? SM_UNKNOWN : rc;
}

/* --nagios among the arguments (before "--"), looked for before they are
 * parsed: a usage error that comes first is a plugin answer too. */
static bool nagios_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--nagios") == 0)
			return true;
	return false;
}

/* With --nagios, a usage or configuration error keeps the plugin contract:
 * UNKNOWN (3) and one line on stdout saying why. */
static int plugin_error(void)
{
	printf("SM UNKNOWN - %s\n", sm_err_last());
	fflush(stdout);
	return SM_UNKNOWN;
}

/* A seed for jansson's hash tables from AT_RANDOM (never 0, which would
 * make jansson read /dev/urandom itself). */
static size_t hash_seed(void)
{
	const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
	size_t seed = 0;

	if (r)
		memcpy(&seed, r, sizeof seed);
	return seed ? seed : 1;
}

int main(int argc, char **argv)
{
	struct args a = {.run.output = OUTPUT_AUTO};
	bool nagios = nagios_wanted(argc, argv);
	sm_error err;
	int rc, config_rc;

	sm_err_set_progname(argv[0]);
	sm_log_init("sm-check");
	/* Before any thread builds objects; from the kernel's random bytes
	 * given at exec, where json_object_seed(0) would open and read
	 * /dev/urandom. */
	json_object_seed(hash_seed());
	/* A broken env file is reported after the arguments are read, so that
	 * --help and --version still answer. */
	config_rc = sm_config_load(&err);
	rc = parse_args(argc, argv, &a);
	if (rc == 0 && config_rc < 0)
		rc = sm_err_report(SM_UNKNOWN, &err);
	if (rc != 0) {
		if (nagios)
			rc = plugin_error();
		goto out;
	}
	if (a.list) {
		rc = list_checkers(a.run.output);
		goto out;
	}
	if (a.run.output == OUTPUT_AUTO)
		a.run.output = sm_term_isatty(stdout) && !a.from_stdin ? OUTPUT_TABLE : OUTPUT_JSON;
	/* Perfdata is plugin output only. */
	a.run.opts.no_perfdata = a.run.output != OUTPUT_NAGIOS;
	if (a.hostname)
		snprintf(a.run.hostname, sizeof a.run.hostname, "%s", a.hostname);
	else
		sm_host_name(a.run.hostname, sizeof a.run.hostname);
	/* Without a store the checks still run and print; the results say
	 * they were not recorded and the exit status is at least UNKNOWN. */
	if (sm_store_open(NULL, &a.run.store, &err) < 0)
		sm_err(SM_UNKNOWN, "cannot open the store: %s", err.msg);
	/* Without --alerts a run records observations that the next run
	 * repeats: its commit does not wait for the disk (sm-check(1),
	 * FILES). With --alerts it opens and resolves incidents whose
	 * envelopes go on to be notified, so those wait. Should the setting
	 * fail, commits wait for the disk as before, which is only slower. */
	else if (!a.run.alerts)
		(void)sm_store_no_disk_wait(a.run.store, &err);
	if (a.from_stdin)
		rc = enrich_stream(&a.run, a.selected, a.nselected);
	else
		rc = check_run_once(&a.run, a.selected, a.nselected);
out:
	if (a.run.ingest)
		sm_ingest_free(a.run.ingest);
	sm_store_close(a.run.store);
	sm_check_opts_clear(&a.run.opts);
	free(a.selected);
	free(a.labels);
	return rc;
}
