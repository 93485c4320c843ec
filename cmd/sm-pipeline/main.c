/* sm-pipeline - run the stages from a stored definition, record each run
 * and stage, retry, resume (sm-pipeline(1), definitions in sm-pipeline(5)).
 * A front end: flags, terminal or pipe, one call into lib/pipeline/. */
#include "sm-pipeline.h"

static const char usage_text[] =
    "usage: sm-pipeline run [--definition NAME | --config FILE]\n"
    "                       [--payload FILE | --sample] [--dry-run] [--checks-only]\n"
    "                       [--source S] [--trace-id ID]\n"
    "       sm-pipeline resume RUN_ID\n"
    "       sm-pipeline runs [--status S] [--limit N] [--json]\n"
    "       sm-pipeline show RUN_ID [--attempts] [--json]\n"
    "       sm-pipeline definition add NAME FILE|-\n"
    "       sm-pipeline definition list [--json] | show NAME | validate FILE|NAME\n"
    "       sm-pipeline definition rm NAME\n"
    "       sm-pipeline setup [--preset NAME --name NAME --channel NAME ...\n"
    "                          --checker NAME ... --provider NAME]\n"
    "       sm-pipeline work [--once | --webhook ADDRESS] [--workers N]\n"
    "                        [--definition NAME]\n"
    "       sm-pipeline queue [--status S] [--limit N] [--json]\n"
    "       sm-pipeline queue retry ID|--failed\n"
    "       sm-pipeline route [ENVELOPE-FILE|-] [--json]\n"
    "       sm-pipeline status [--json | --html]\n"
    "       sm-pipeline prune [--older-than DURATION] [--dry-run] [--vacuum] [--json]\n"
    "       sm-pipeline --fastcgi [ADDRESS]   answer /orchestration/ (FastCGI)\n"
    "\n"
    "  -d, --definition NAME  the stored or built-in definition to run (default: full\n"
    "                         with a payload, local-monitor without)\n"
    "  --config FILE          run the definition in FILE\n"
    "  --payload FILE         the payload (or envelopes) to start with; - reads stdin\n"
    "  --sample               a built-in sample payload chosen by --source\n"
    "  --dry-run              print the plan, run nothing\n"
    "  --checks-only          run only the context nodes (the run ends checked)\n"
    "  --source S             recorded with the run (default cli)\n"
    "  --trace-id ID          the run's trace id (32 hex digits; default: a new one)\n"
    "  --status S             list only runs with this status\n"
    "  --limit N              list at most N runs, newest first (default 20, 0 = all)\n"
    "  --attempts             show every attempt of every stage\n"
    "  --json                 JSON even on a terminal\n"
    "  --html                 status: one self-contained HTML page, charts\n"
    "  --once                 work: drain the queue, then exit\n"
    "  --workers N            work: N worker processes (default 1)\n"
    "  --webhook ADDRESS      work: also answer /alerts/webhook/ (FastCGI) on ADDRESS\n"
    "                         (a socket path, HOST:PORT, or - for standard input)\n"
    "  --failed               queue retry: every failed item\n"
    "  --older-than DURATION  prune: one retention for every kind (90s, 15m, 4h, 7d)\n"
    "  --vacuum               prune: then rebuild the file so it shrinks\n"
    "  -h, --help             this text\n"
    "  --version              version\n"
    "\n"
    "Built-in definitions: local-monitor, local-smart, direct, health-checked,\n"
    "ai-analyzed, full. Environment: ORCHESTRATION_MAX_RETRIES_PER_STAGE,\n"
    "ORCHESTRATION_BACKOFF_FACTOR, ORCHESTRATION_QUEUE_STALE_SECONDS,\n"
    "ORCHESTRATION_QUEUE_MAX_RETRIES, ORCHESTRATION_QUEUE_RETRY_SECONDS,\n"
    "ORCHESTRATION_QUEUE_POLL_SECONDS, INBOX_DEPTH_WARN, SM_DEFAULT_DEFINITION,\n"
    "ORCHESTRATION_METRICS_BACKEND, STATSD_HOST, STATSD_PORT, STATSD_PREFIX,\n"
    "SM_METRICS_TEXTFILE, SM_RETENTION, SM_DB, SM_ENV_FILE, SM_LOG_LEVEL.\n";

enum {
	OPT_CONFIG = 256,
	OPT_PAYLOAD,
	OPT_SAMPLE,
	OPT_DRY_RUN,
	OPT_CHECKS_ONLY,
	OPT_SOURCE,
	OPT_TRACE_ID,
	OPT_STATUS,
	OPT_LIMIT,
	OPT_ATTEMPTS,
	OPT_JSON,
	OPT_PRESET,
	OPT_NAME,
	OPT_CHANNEL,
	OPT_CHECKER,
	OPT_PROVIDER,
	OPT_ONCE,
	OPT_WORKERS,
	OPT_WEBHOOK,
	OPT_FAILED,
	OPT_OLDER_THAN,
	OPT_VACUUM,
	OPT_HTML,
};

static const struct option long_options[] = {
    {"definition", required_argument, NULL, 'd'},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"payload", required_argument, NULL, OPT_PAYLOAD},
    {"sample", no_argument, NULL, OPT_SAMPLE},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"checks-only", no_argument, NULL, OPT_CHECKS_ONLY},
    {"source", required_argument, NULL, OPT_SOURCE},
    {"trace-id", required_argument, NULL, OPT_TRACE_ID},
    {"status", required_argument, NULL, OPT_STATUS},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"attempts", no_argument, NULL, OPT_ATTEMPTS},
    {"json", no_argument, NULL, OPT_JSON},
    {"preset", required_argument, NULL, OPT_PRESET},
    {"name", required_argument, NULL, OPT_NAME},
    {"channel", required_argument, NULL, OPT_CHANNEL},
    {"checker", required_argument, NULL, OPT_CHECKER},
    {"provider", required_argument, NULL, OPT_PROVIDER},
    {"once", no_argument, NULL, OPT_ONCE},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"webhook", required_argument, NULL, OPT_WEBHOOK},
    {"failed", no_argument, NULL, OPT_FAILED},
    {"older-than", required_argument, NULL, OPT_OLDER_THAN},
    {"vacuum", no_argument, NULL, OPT_VACUUM},
    {"html", no_argument, NULL, OPT_HTML},
    SM_CLI_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

bool as_json(const struct args *a)
{
	return a->json || !sm_term_isatty(stdout);
}

/* One JSON object per line for each element of rows (--json, a pipe). */
void json_lines(const json_t *rows)
{
	size_t i;
	json_t *row;

	json_array_foreach(rows, i, row)
	{
		sm_envelope_write(stdout, row, NULL); /* errors: sm_cli_finish */
	}
}

/* Print a table on stdout, fitted to the terminal, and free it. */
void table_out(sm_table *t)
{
	sm_table_print(t, stdout, sm_term_color(stdout), sm_term_columns(stdout));
	sm_table_free(t);
}

int open_store(sm_store **store)
{
	sm_error err;

	if (sm_store_open(NULL, store, &err) < 0)
		return sm_err_report(SM_EXIT_FAILURE, &err);
	return SM_EXIT_OK;
}

/* The whole of FILE ("-": stdin); NULL after printing why. */
char *slurp(const char *file, size_t *len)
{
	FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	char *text = NULL;
	size_t cap = 0, n = 0, got;
	int read_errno = 0;

	if (!f) {
		sm_err(SM_EXIT_FAILURE, "%s: %s", file, strerror(errno));
		return NULL;
	}
	do {
		if (n + 65536 > cap) {
			char *p = realloc(text, cap = cap * 2 + 65536);
			if (!p) {
				free(text);
				text = NULL;
				break;
			}
			text = p;
		}
		got = fread(text + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0);
	if (text && ferror(f)) {
		read_errno = errno;
		free(text);
		text = NULL;
	}
	if (f != stdin)
		fclose(f);
	if (!text) { /* as every tool says it: "FILE: read error: Is a directory" */
		sm_err(SM_EXIT_FAILURE, "%s: read error: %s", file,
		       read_errno ? strerror(read_errno) : "out of memory");
		return NULL;
	}
	text[n] = '\0';
	*len = n;
	return text;
}

void print_json(const json_t *v, bool pretty)
{
	char *text =
	    sm_json_dumps(v, pretty ? JSON_INDENT(2) | JSON_PRESERVE_ORDER : SM_JSON_FLAGS);

	if (text)
		printf("%s\n", text);
	free(text);
}

/* --- flags --------------------------------------------------------------------- */

static int add_word(const char ***list, size_t *n, const char *word)
{
	const char **p = realloc(*list, (*n + 2) * sizeof *p);

	if (!p)
		return sm_err(SM_EXIT_FAILURE, "out of memory");
	p[(*n)++] = word;
	p[*n] = NULL;
	*list = p;
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	int opt;
	char *end;

	opterr = 0;
	a->limit = 20;
	while ((opt = getopt_long(argc, argv, ":hd:", long_options, NULL)) != -1) {
		switch (opt) {
		case 'd':
			a->definition = optarg;
			break;
		case OPT_CONFIG:
			a->config = optarg;
			break;
		case OPT_PAYLOAD:
			a->payload = optarg;
			break;
		case OPT_SAMPLE:
			a->sample = true;
			break;
		case OPT_DRY_RUN:
			a->dry_run = true;
			break;
		case OPT_CHECKS_ONLY:
			a->checks_only = true;
			break;
		case OPT_SOURCE:
			a->source = optarg;
			break;
		case OPT_TRACE_ID:
			a->trace_id = optarg;
			break;
		case OPT_STATUS:
			a->status = optarg;
			break;
		case OPT_LIMIT:
			errno = 0;
			a->limit = strtol(optarg, &end, 10);
			if (errno || *end || a->limit < 0 || end == optarg)
				return sm_err(SM_EXIT_USAGE,
				              "--limit: expected a whole number, got '%s'", optarg);
			break;
		case OPT_ATTEMPTS:
			a->attempts = true;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_HTML:
			a->html = true;
			break;
		case OPT_PRESET:
			a->setup.preset = optarg;
			break;
		case OPT_NAME:
			a->setup.name = optarg;
			break;
		case OPT_CHANNEL:
			if (add_word(&a->setup.channels, &a->setup.nchannels, optarg))
				return SM_EXIT_FAILURE;
			break;
		case OPT_CHECKER:
			if (add_word(&a->setup.checkers, &a->setup.ncheckers, optarg))
				return SM_EXIT_FAILURE;
			break;
		case OPT_PROVIDER:
			a->setup.provider = optarg;
			break;
		case OPT_ONCE:
			a->once = true;
			break;
		case OPT_WEBHOOK:
			if (!*optarg)
				return sm_err(SM_EXIT_USAGE, "--webhook: empty address");
			a->webhook = optarg;
			break;
		case OPT_FAILED:
			a->failed = true;
			break;
		case OPT_OLDER_THAN:
			a->older_than = optarg;
			break;
		case OPT_VACUUM:
			a->vacuum = true;
			break;
		case OPT_WORKERS:
			errno = 0;
			a->workers = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || a->workers < 1 || a->workers > 64)
				return sm_err(
				    SM_EXIT_USAGE,
				    "--workers: expected a whole number from 1 to 64, got '%s'",
				    optarg);
			break;
		default: /* -h, --version, getopt failures */
			return sm_cli_option(opt, usage_text, argv);
		}
	}
	a->operands = argv + optind;
	a->noperands = argc - optind;
	return 0;
}

static const struct {
	const char *name;
	int (*run)(struct args *a);
} commands[] = {
    {"run", run_command},       {"resume", resume_command},         {"runs", runs_command},
    {"show", show_command},     {"definition", definition_command}, {"setup", setup_command},
    {"work", work_command},     {"queue", queue_command},           {"route", route_command},
    {"status", status_command}, {"prune", prune_command},
};

int main(int argc, char **argv)
{
	struct args a = {0};
	sm_error err;
	int rc, config_rc;

	/* Before any tree: an item's envelope is parsed, copied, stamped and
	 * printed several times over (json_arena.c). */
	sm_json_arena_install();
	sm_err_set_progname(argv[0]);
	sm_log_init("sm-pipeline");
	if (sm_request_fcgi_wanted(argc, argv)) /* a web server's FastCGI responder */
		return sm_request_fcgi_serve("sm-pipeline", argc, argv, sm_pipeline_http);
	if (getenv("GATEWAY_INTERFACE")) /* run by a web server: answer its request */
		return sm_pipeline_http_cgi(sm_config_load(&err) < 0 ? &err : NULL);
	/* A broken env file is reported after the arguments: --help and
	 * --version still answer. */
	config_rc = sm_config_load(&err);
	rc = parse_args(argc, argv, &a);
	if (rc == 0 && config_rc < 0)
		rc = sm_err_report(SM_EXIT_FAILURE, &err);
	if (rc == 0 && a.noperands == 0)
		rc = sm_err(SM_EXIT_USAGE, "no command (see sm-pipeline --help)");
	for (size_t i = 0; rc == 0 && i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, a.operands[0]) == 0) {
			rc = commands[i].run(&a);
			goto done;
		}
	if (rc == 0)
		rc = sm_err(SM_EXIT_USAGE, "unknown command '%s' (see sm-pipeline --help)",
		            a.operands[0]);
done:
	free(a.setup.channels);
	free(a.setup.checkers);
	return sm_cli_finish(rc); /* every listing and envelope went to stdout */
}
