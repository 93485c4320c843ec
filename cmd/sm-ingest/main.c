/* sm-ingest - the INGEST stage: webhook payloads in, alerts and incidents
 * stored, one envelope out per incident touched (the batch engine is
 * lib/ingest/stream.c). Also the webhook handler as a CGI program or a
 * FastCGI responder (lib/ingest/webhook.c) and the listing/management
 * commands for what it stored. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>
#include <unistd.h>

#include "sm/cli.h"
#include "sm/config.h"
#include "sm/envelope.h"
#include "sm/ingest.h"
#include "sm/json.h"
#include "sm/json_arena.h"
#include "sm/listing.h"
#include "sm/log.h"
#include "sm/request.h"
#include "sm/stream.h"
#include "sm/term.h"
#include "sm/webhook.h"
#include "sm-ingest.h"

static const char usage_text[] =
    "usage: sm-ingest [-d DRIVER] [--dry-run] [--queue] [FILE]\n"
    "       sm-ingest --list-drivers [--json]\n"
    "       sm-ingest --fastcgi [ADDRESS]\n"
    "       sm-ingest alerts|incidents [--status S] [--severity S] [--source NAME]\n"
    "                 [--since DURATION] [--limit N] [--json]\n"
    "       sm-ingest incident show ID [--json]\n"
    "       sm-ingest incident ack|resolve|close ID\n"
    "\n"
    "Ingests the webhook payloads on stdin (or in FILE), or serves them as a\n"
    "FastCGI responder; lists and manages the alerts and incidents stored.\n"
    "\n"
    "  -d, --driver NAME    parse with this driver instead of auto-detecting\n"
    "  --dry-run            parse and print one envelope per payload; store nothing\n"
    "  --queue              also queue each envelope for `sm-pipeline work`\n"
    "  --status S           list only rows with this status\n"
    "  --severity S         list only this severity or worse (info, warning,\n"
    "                       critical)\n"
    "  --source NAME        list only alerts or incidents from this driver\n"
    "  --since DURATION     list only rows changed in the last DURATION (90s, 15m,\n"
    "                       4h, 7d)\n"
    "  --limit N            list at most N rows, newest first (default 100, 0 = all)\n"
    "  --json               JSON lines even on a terminal\n"
    "  -h, --help           this text\n"
    "  --version            version\n";

enum {
	OPT_DRY_RUN = 256,
	OPT_QUEUE,
	OPT_LIST_DRIVERS,
	OPT_STATUS,
	OPT_LIMIT,
	OPT_JSON,
	OPT_SEVERITY,
	OPT_SOURCE,
	OPT_SINCE,
};

static const struct option long_options[] = {
    {"driver", required_argument, NULL, 'd'},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"queue", no_argument, NULL, OPT_QUEUE},
    {"list-drivers", no_argument, NULL, OPT_LIST_DRIVERS},
    {"status", required_argument, NULL, OPT_STATUS},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"json", no_argument, NULL, OPT_JSON},
    {"severity", required_argument, NULL, OPT_SEVERITY},
    {"source", required_argument, NULL, OPT_SOURCE},
    {"since", required_argument, NULL, OPT_SINCE},
    SM_CLI_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

struct args {
	const sm_driver *driver;
	bool dry_run, queue, list_drivers, json;
	sm_listing_filter filter;
	char **operands;
	int noperands;
};

/* --- commands ------------------------------------------------------------ */

/* Standard output flushed: SM_EXIT_OK, or the write error (a full disk, a
 * closed descriptor) and 1: a listing that was not written did not succeed. */
static int output_done(void)
{
	int failed = ferror(stdout);

	if (fflush(stdout) == EOF || failed)
		return sm_err(SM_EXIT_FAILURE, "write error: %s", strerror(errno));
	return SM_EXIT_OK;
}

static int list_drivers(bool json)
{
	size_t n;
	const sm_driver *all = sm_drivers(&n);

	for (size_t i = 0; i < n; i++) {
		if (all[i].flags & SM_DRIVER_INTERNAL)
			continue;
		if (json) {
			json_t *o = json_pack("{s:s,s:s,s:s,s:b}", "name", all[i].name,
			                      "description", all[i].description, "signature_header",
			                      all[i].signature_header, "enabled",
			                      sm_driver_enabled(&all[i]));
			sm_envelope_write(stdout, o, NULL);
			json_decref(o);
		} else {
			printf("%-13s %s%s\n", all[i].name, all[i].description,
			       sm_driver_enabled(&all[i]) ? "" : " [disabled]");
		}
	}
	return output_done();
}

static int list_rows(sm_store *store, const char *what, struct args *a)
{
	json_t *rows;
	long long total;
	sm_error err;

	a->filter.now = time(NULL);
	if (sm_listing_rows(store, what, &a->filter, &rows, &total, &err) < 0)
		return sm_err_report(SM_EXIT_FAILURE, &err);
	listing_print(what, rows, total, a->json || !sm_term_isatty(stdout));
	json_decref(rows);
	return output_done();
}

/* `incident show ID`: everything stored about one incident. */
static int incident_show(sm_store *store, long long id, struct args *a)
{
	json_t *all;
	sm_error err;

	if (sm_listing_incident(store, id, &all, &err) < 0)
		return sm_err_report(SM_EXIT_FAILURE, &err);
	if (!all)
		return sm_err(SM_EXIT_USAGE, "no incident %lld", id);
	incident_print(all, a->json || !sm_term_isatty(stdout));
	json_decref(all);
	return output_done();
}

static int incident_command(sm_store *store, struct args *a)
{
	static const char *const actions[] = {"ack", "resolve", "close", "show"};
	const char *action, *id_text;
	long long id;
	char *end;
	sm_error err = {0};
	json_t *inc;
	int rc;
	bool known = false;

	if (a->noperands != 3)
		return sm_err(SM_EXIT_USAGE, "usage: sm-ingest incident show|ack|resolve|close ID");
	action = a->operands[1];
	id_text = a->operands[2];
	for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
		known = known || strcmp(action, actions[i]) == 0;
	if (!known)
		return sm_err(SM_EXIT_USAGE,
		              "unknown incident action '%s' (show, ack, resolve, close)", action);
	errno = 0;
	id = strtoll(id_text, &end, 10);
	if (errno || *end || id <= 0)
		return sm_err(SM_EXIT_USAGE, "incident id must be a positive number, got '%s'",
		              id_text);
	if (strcmp(action, "show") == 0)
		return incident_show(store, id, a);
	rc = sm_incident_set_status(store, id, action, &err);
	if (rc < 0)
		return sm_err_report(strncmp(err.msg, "no incident", 11) == 0 ? SM_EXIT_USAGE
		                                                              : SM_EXIT_FAILURE,
		                     &err);
	inc = sm_incident_json(store, id);
	if (inc) {
		json_object_set_new(inc, "change", json_string(rc ? action : "unchanged"));
		sm_envelope_write(stdout, inc, NULL);
		json_decref(inc);
	}
	return output_done();
}

static int parse_args(int argc, char **argv, struct args *a)
{
	char *end;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":hd:", long_options, NULL)) != -1) {
		switch (opt) {
		case 'd':
			a->driver = sm_driver_find(optarg);
			if (!a->driver) {
				char names[512];
				sm_driver_names(names, sizeof names);
				return sm_err(SM_EXIT_USAGE, "unknown driver '%s' (available: %s)",
				              optarg, names);
			}
			if (!sm_driver_enabled(a->driver))
				return sm_err(SM_EXIT_USAGE,
				              "driver %s is disabled (CLUSTER_ENABLED=1 "
				              "turns it on)",
				              a->driver->name);
			break;
		case OPT_DRY_RUN:
			a->dry_run = true;
			break;
		case OPT_QUEUE:
			a->queue = true;
			break;
		case OPT_LIST_DRIVERS:
			a->list_drivers = true;
			break;
		case OPT_STATUS:
			a->filter.status = optarg;
			break;
		case OPT_SEVERITY:
			if (sm_severity_parse(optarg) < 0)
				return sm_err(
				    SM_EXIT_USAGE,
				    "--severity: expected info, warning or critical, got '%s'",
				    optarg);
			a->filter.severity = optarg;
			break;
		case OPT_SOURCE:
			a->filter.source = optarg;
			break;
		case OPT_SINCE:
			if (sm_config_duration(optarg, &a->filter.since_s) < 0)
				return sm_err(
				    SM_EXIT_USAGE,
				    "--since: expected a duration such as 90s, 15m, 4h, 7d, "
				    "got '%s'",
				    optarg);
			break;
		case OPT_LIMIT:
			errno = 0;
			a->filter.limit = strtoll(optarg, &end, 10);
			if (errno || *end || end == optarg || a->filter.limit < 0)
				return sm_err(SM_EXIT_USAGE,
				              "--limit: expected a whole number >= 0");
			break;
		case OPT_JSON:
			a->json = true;
			break;
		default: /* -h, --version, getopt failures */
			return sm_cli_option(opt, usage_text, argv);
		}
	}
	a->operands = argv + optind;
	a->noperands = argc - optind;
	return 0;
}

static int run_command(struct args *a)
{
	const char *cmd = a->noperands > 0 ? a->operands[0] : NULL;
	sm_store *store = NULL;
	sm_error err;
	int rc;
	bool listing = cmd && (strcmp(cmd, "alerts") == 0 || strcmp(cmd, "incidents") == 0);
	bool reads;

	if (listing && a->noperands != 1)
		return sm_err(SM_EXIT_USAGE, "usage: sm-ingest %s [--status S] [--limit N]", cmd);
	if (listing && a->filter.status) { /* Each listing has its own statuses. */
		static const char *const alerts[] = {"firing", "resolved", NULL};
		static const char *const incidents[] = {"open", "acknowledged", "resolved",
		                                        "closed", NULL};
		const char *const *ok = strcmp(cmd, "alerts") == 0 ? alerts : incidents;
		bool valid = false;
		for (size_t i = 0; ok[i]; i++)
			valid = valid || strcmp(a->filter.status, ok[i]) == 0;
		if (!valid)
			return sm_err(SM_EXIT_USAGE, "--status: %s have no status '%s'", cmd,
			              a->filter.status);
	}
	/* A listing only reads: it works on a store it may not write. */
	reads = listing || (a->noperands > 1 && strcmp(a->operands[1], "show") == 0);
	rc = reads ? sm_store_open_readonly(NULL, &store, &err) : sm_store_open(NULL, &store, &err);
	if (rc < 0)
		return sm_err_report(SM_EXIT_FAILURE, &err);
	if (listing)
		rc = list_rows(store, cmd, a);
	else
		rc = incident_command(store, a);
	sm_store_close(store);
	return rc;
}

/* Each refused payload, and what stopped the run, on standard error. */
static void report(void *ctx, int code, const char *message)
{
	(void)ctx;
	sm_err(code, "%s", message);
}

static int ingest(struct args *a)
{
	sm_stream_opts opts = {.driver = a->driver,
	                       .dry_run = a->dry_run,
	                       .queue = a->queue,
	                       .max_body = sm_request_max_body(),
	                       .out = stdout,
	                       .report = report};
	const char *name = "stdin";
	sm_store *store = NULL;
	sm_error err;
	int fd = STDIN_FILENO, rc;

	if (a->noperands > 1)
		return sm_err(SM_EXIT_USAGE, "one FILE at most (see sm-ingest --help)");
	if (opts.max_body < 0)
		return SM_EXIT_USAGE;
	if (a->noperands == 1 && strcmp(a->operands[0], "-") != 0) {
		name = a->operands[0];
		fd = open(name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return sm_err(SM_EXIT_FAILURE, "%s: %s", name, strerror(errno));
	}
	if (!a->dry_run && sm_store_open(NULL, &store, &err) < 0)
		rc = sm_err_report(SM_EXIT_FAILURE, &err);
	else
		rc = sm_stream_ingest(store, fd, name, &opts);
	if (fd != STDIN_FILENO)
		close(fd);
	sm_store_close(store);
	return rc;
}

/* A standard descriptor the caller closed (`<&-`, `>&-`) is given /dev/null
 * opened the wrong way round, so reading stdin or writing stdout fails as
 * it should (a read or write error) instead of reaching a file opened
 * later in that slot, such as the store. */
static void guard_standard_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int other;
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		other = open("/dev/null", fd == STDIN_FILENO ? O_WRONLY : O_RDONLY);
		if (other >= 0 && other != fd) {
			dup2(other, fd);
			close(other);
		}
	}
}

/* A seed for jansson's hash tables from the kernel's random bytes given at
 * exec (AT_RANDOM), where json_object_seed(0) would open and read
 * /dev/urandom: a CGI request is a process each. Never 0, which would make
 * jansson read it after all. */
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
	struct args a = {.filter.limit = 100};
	sm_error err;
	int rc, config_rc;

	guard_standard_fds();
	sm_json_arena_install(); /* before any tree is made */
	json_object_seed(hash_seed());
	sm_err_set_progname(argv[0]);
	sm_log_init("sm-ingest");
	if (sm_request_fcgi_wanted(argc, argv)) /* loads its own config */
		return sm_webhook_fcgi(argc, argv);
	config_rc = sm_config_load(&err);
	if (getenv("GATEWAY_INTERFACE"))
		return sm_webhook_cgi(config_rc < 0 ? &err : NULL);
	/* A broken env file is reported after the arguments: --help and
	 * --version still answer. */
	rc = parse_args(argc, argv, &a);
	if (rc != 0)
		return rc;
	if (config_rc < 0)
		return sm_err_report(SM_EXIT_FAILURE, &err);
	if (a.list_drivers)
		return list_drivers(a.json);
	if (a.noperands > 0 &&
	    (strcmp(a.operands[0], "alerts") == 0 || strcmp(a.operands[0], "incidents") == 0 ||
	     strcmp(a.operands[0], "incident") == 0))
		return run_command(&a);
	if (a.noperands == 0 && sm_term_isatty(stdin))
		return sm_err(SM_EXIT_USAGE,
		              "no payload: give a FILE or pipe one in (see sm-ingest --help)");
	return ingest(&a);
}
