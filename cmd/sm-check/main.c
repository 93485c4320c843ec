/* sm-check - the CHECK stage: run health checkers on this host (or the host
 * under $SM_HOST_ROOT), record each result, and print a table, an envelope
 * or plugin output. With "-", enrich each envelope read on stdin. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sm/config.h"
#include "sm/envelope.h"
#include "sm/host.h"
#include "sm/log.h"
#include "sm/rfc3339.h"
#include "sm/term.h"
#include "sm-check.h"

static const char usage_text[] =
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
    "  --paths P,...        paths for disk and disk_inodes (default /)\n"
    "  --hosts H,...        hosts for network (default $SM_PING_HOSTS)\n"
    "  --names N,...        process names for process\n"
    "  --per-cpu            cpu: judge the busiest core\n"
    "  --samples N          samples for cpu, window of samples x interval for io_strain\n"
    "  --interval S         seconds per sample (default 1)\n"
    "  --push-interval S    agents: seconds between an agent's pushes (default 300)\n"
    "  -h, --help           this text\n"
    "  --version            version\n";

enum {
	OPT_JSON = 256,
	OPT_NAGIOS,
	OPT_FAIL_WARNING,
	OPT_FAIL_CRITICAL,
	OPT_PATHS,
	OPT_HOSTS,
	OPT_NAMES,
	OPT_PER_CPU,
	OPT_SAMPLES,
	OPT_INTERVAL,
	OPT_PUSH_INTERVAL,
	OPT_LIST,
	OPT_VERSION,
	OPT_ALERTS,
};

static const struct option long_options[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"nagios", no_argument, NULL, OPT_NAGIOS},
    {"fail-on-warning", no_argument, NULL, OPT_FAIL_WARNING},
    {"fail-on-critical", no_argument, NULL, OPT_FAIL_CRITICAL},
    {"warning", required_argument, NULL, 'w'},
    {"critical", required_argument, NULL, 'c'},
    {"paths", required_argument, NULL, OPT_PATHS},
    {"hosts", required_argument, NULL, OPT_HOSTS},
    {"names", required_argument, NULL, OPT_NAMES},
    {"per-cpu", no_argument, NULL, OPT_PER_CPU},
    {"samples", required_argument, NULL, OPT_SAMPLES},
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"push-interval", required_argument, NULL, OPT_PUSH_INTERVAL},
    {"list", no_argument, NULL, OPT_LIST},
    {"alerts", no_argument, NULL, OPT_ALERTS},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* A growable list of strings taken from comma-separated flag values. */
struct strlist {
	char **items;
	size_t count;
};

static int strlist_add_csv(struct strlist *l, const char *csv)
{
	char *copy = strdup(csv), *save = NULL;

	if (!copy)
		return -1;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char **p;
		if (!*tok)
			continue;
		p = realloc(l->items, (l->count + 1) * sizeof *p);
		if (!p)
			break;
		l->items = p;
		l->items[l->count] = strdup(tok);
		if (!l->items[l->count])
			break;
		l->count++;
	}
	free(copy);
	return 0;
}

static void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i]);
	free(l->items);
}

struct args {
	struct check_run run;
	struct strlist paths, hosts, names;
	bool list, from_stdin;
	const sm_checker **selected;
	size_t nselected;
};

static int parse_number(const char *flag, const char *s, double min, double max, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end || !(*out >= min && *out <= max))
		return sm_err(SM_EXIT_USAGE, "%s: expected a number from %g to %g, got '%s'", flag,
		              min, max, s);
	return 0;
}

static int select_checkers(struct args *a, char **names, int count)
{
	size_t n;
	const sm_checker *all = sm_checkers(&n);

	a->selected = calloc(count > 0 ? (size_t)count : n, sizeof *a->selected);
	if (!a->selected)
		return sm_err(SM_EXIT_FAILURE, "out of memory");
	if (count == 0) {
		for (size_t i = 0; i < n; i++)
			a->selected[i] = &all[i];
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
	sm_error err;
	double v;
	int opt;

	opterr = 0; /* one line of our own instead of getopt's two */
	while ((opt = getopt_long(argc, argv, ":hw:c:", long_options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(usage_text, stdout);
			exit(SM_EXIT_OK);
		case OPT_VERSION:
			printf("sm-check %s (jansson %s, sqlite %s)\n", SM_VERSION, JANSSON_VERSION,
			       sqlite3_libversion());
			exit(SM_EXIT_OK);
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
		case OPT_PATHS:
			strlist_add_csv(&a->paths, optarg);
			break;
		case OPT_HOSTS:
			strlist_add_csv(&a->hosts, optarg);
			break;
		case OPT_NAMES:
			strlist_add_csv(&a->names, optarg);
			break;
		case OPT_PER_CPU:
			a->run.opts.per_cpu = true;
			break;
		case OPT_SAMPLES:
			if (parse_number("--samples", optarg, 1, 3600, &v))
				return SM_EXIT_USAGE;
			if (v != (int)v)
				return sm_err(SM_EXIT_USAGE, "--samples: expected a whole number");
			a->run.opts.samples = (int)v;
			break;
		case OPT_INTERVAL:
			if (parse_number("--interval", optarg, 0.001, 3600, &v))
				return SM_EXIT_USAGE;
			a->run.opts.interval = v;
			break;
		case OPT_PUSH_INTERVAL:
			/* Not --interval, which is already the sample interval. */
			if (parse_number("--push-interval", optarg, 1, 86400, &v))
				return SM_EXIT_USAGE;
			if (v != (int)v)
				return sm_err(SM_EXIT_USAGE,
				              "--push-interval: expected a whole number");
			a->run.opts.expected_interval = v;
			break;
		case OPT_LIST:
			a->list = true;
			break;
		case OPT_ALERTS:
			a->run.alerts = true;
			break;
		default: /* ':' too */
			return sm_err_option(opt, argv[optind - 1]);
		}
	}
	for (size_t i = 0; i < a->paths.count; i++)
		if (a->paths.items[i][0] != '/')
			return sm_err(SM_EXIT_USAGE, "--paths: '%s' is not an absolute path",
			              a->paths.items[i]);
	for (size_t i = 0; i < a->hosts.count; i++)
		if (!sm_check_host_valid(a->hosts.items[i]))
			return sm_err(SM_EXIT_USAGE, "--hosts: '%s' is not a valid host name",
			              a->hosts.items[i]);
	a->run.opts.paths = (const char *const *)a->paths.items;
	a->run.opts.npaths = a->paths.count;
	a->run.opts.hosts = (const char *const *)a->hosts.items;
	a->run.opts.nhosts = a->hosts.count;
	a->run.opts.names = (const char *const *)a->names.items;
	a->run.opts.nnames = a->names.count;
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
	if (a->from_stdin && a->run.alerts)
		return sm_err(SM_EXIT_USAGE, "--alerts makes alerts of this host's checks; it does "
		                             "not combine with - (envelopes on stdin)");
	return select_checkers(a, argv + optind, argc - optind);
}

static int list_checkers(enum output_mode mode)
{
	size_t n;
	const sm_checker *all = sm_checkers(&n);

	for (size_t i = 0; i < n; i++) {
		if (mode == OUTPUT_JSON) {
			json_t *o = json_pack("{s:s,s:s}", "name", all[i].name, "description",
			                      all[i].description);
			if (!isnan(all[i].warning)) {
				json_object_set_new(o, "warning", json_real(all[i].warning));
				json_object_set_new(o, "critical", json_real(all[i].critical));
			}
			sm_envelope_write(stdout, o, NULL);
			json_decref(o);
		} else {
			printf("%-16s %s\n", all[i].name, all[i].description);
		}
	}
	return fflush(stdout) == EOF ? SM_EXIT_FAILURE : SM_EXIT_OK;
}

/* Enrich each envelope on stdin with a checks section; stop at the first
 * malformed line (65), having passed on everything before it. */
static int enrich_stream(struct check_run *run, const sm_checker **selected, size_t n)
{
	sm_reader *reader = sm_reader_new(stdin, "stdin", 0);
	bool failed = false;
	sm_error err;
	json_t *env;
	int rc;

	if (!reader)
		return sm_err(SM_UNKNOWN, "out of memory");

	while ((rc = sm_envelope_read(reader, &env, &err)) == 1) {
		int status = check_run_envelope(run, selected, n, env);
		json_decref(env);
		if (status == CHECK_WRITE_ERROR) {
			sm_reader_free(reader);
			return SM_UNKNOWN;
		}
		if (status == CHECK_NOT_RECORDED)
			failed = true;
	}
	sm_reader_free(reader);
	if (rc < 0)
		return sm_err_report(SM_EXIT_DATAERR, &err);
	rc = check_exit_status(run);
	return failed && rc == SM_OK ? SM_UNKNOWN : rc;
}

int main(int argc, char **argv)
{
	struct args a = {.run.output = OUTPUT_AUTO};
	sm_error err;
	int rc;

	sm_err_set_progname(argv[0]);
	sm_log_init("sm-check");
	json_object_seed(0); /* before any thread builds objects */
	if (sm_config_load(&err) < 0) {
		rc = sm_err_report(SM_UNKNOWN, &err);
		goto out;
	}
	rc = parse_args(argc, argv, &a);
	if (rc != 0)
		goto out;
	if (a.list) {
		rc = list_checkers(a.run.output);
		goto out;
	}
	if (a.run.output == OUTPUT_AUTO)
		a.run.output = sm_term_isatty(stdout) && !a.from_stdin ? OUTPUT_TABLE : OUTPUT_JSON;
	sm_host_name(a.run.hostname, sizeof a.run.hostname);
	/* Without a store the checks still run and print; the results say
	 * they were not recorded and the exit status is at least UNKNOWN. */
	if (sm_store_open(NULL, &a.run.store, &err) < 0)
		sm_err(SM_UNKNOWN, "cannot open the store: %s", err.msg);
	if (a.from_stdin)
		rc = enrich_stream(&a.run, a.selected, a.nselected);
	else
		rc = check_run_once(&a.run, a.selected, a.nselected);
out:
	if (a.run.ingest)
		sm_ingest_free(a.run.ingest);
	sm_store_close(a.run.store);
	strlist_free(&a.paths);
	strlist_free(&a.hosts);
	strlist_free(&a.names);
	free(a.selected);
	return rc;
}
