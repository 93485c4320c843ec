/* sm-push-hub - an agent: push this host's check results to its hubs
 * (sm-ingest behind a web server with CLUSTER_ENABLED=1), signed, with a
 * spool per hub so a push a hub could not take is sent first next time.
 * The pushing is libsm's (push.h); this is the front end. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sm/cli.h"
#include "sm/alert.h"
#include "sm/check.h"
#include "sm/config.h"
#include "sm/envelope.h"
#include "sm/host.h"
#include "sm/http.h"
#include "sm/json.h"
#include "sm/log.h"
#include "sm/push.h"
#include "sm/term.h"

static const char usage_text[] =
    "usage: sm-check --json | sm-push-hub [options]   push check envelopes to the hub\n"
    "       sm-push-hub [--checkers NAME,...] [options] run the checkers, then push\n"
    "       sm-push-hub --spool                       list each hub's spool\n"
    "       sm-push-hub --retry-refused               resend what the hubs refused\n"
    "\n"
    "  --checkers N,...   checkers to run when nothing comes on stdin (default: all)\n"
    "  --dry-run          print the payload, send nothing\n"
    "  --json             print the payload (or the spool) as JSON\n"
    "  --spool            list the pushes waiting in the spool, and exit\n"
    "  --retry-refused    send the pushes the hub refused again, and exit\n"
    "  -q, --quiet        print only failures (for cron)\n"
    "  -h, --help         this text\n"
    "  --version          version\n"
    "\n"
    "Environment: HUB_URL (required; several hubs comma-separated),\n"
    "INSTANCE_ID (default: host name), WEBHOOK_SECRET_CLUSTER, HUB_API_KEY,\n"
    "SM_SPOOL_MAX (default 1000), SM_DB, SM_ENV_FILE.\n";

enum {
	OPT_CHECKERS = 256,
	OPT_DRY_RUN,
	OPT_JSON,
	OPT_SPOOL,
	OPT_RETRY,
};

static const struct option long_options[] = {
    {"checkers", required_argument, NULL, OPT_CHECKERS},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"json", no_argument, NULL, OPT_JSON},
    {"spool", no_argument, NULL, OPT_SPOOL},
    {"retry-refused", no_argument, NULL, OPT_RETRY},
    {"quiet", no_argument, NULL, 'q'},
    SM_CLI_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

struct agent {
	const char *checkers;
	bool dry_run, json, spool, retry, quiet;
	char instance_id[256], hostname[256];
	char api_key_header[512]; /* "X-API-Key: …" when HUB_API_KEY is set */
	sm_push_agent push;
	sm_store *store;
};

static int configure(struct agent *ag)
{
	const char *url = sm_config_get("HUB_URL", NULL), *id = sm_config_get("INSTANCE_ID", NULL);
	const char *key;
	double max;
	sm_error err;

	sm_host_name(ag->hostname, sizeof ag->hostname);
	snprintf(ag->instance_id, sizeof ag->instance_id, "%s", id ? id : ag->hostname);
	ag->push.secret = sm_config_get("WEBHOOK_SECRET_CLUSTER", NULL);
	ag->push.timeout_s = 30;
	key = sm_config_get("HUB_API_KEY", NULL);
	if (key) {
		/* A header line cannot hold a line break; nor can a key. */
		if (strpbrk(key, "\r\n") || strlen(key) > sizeof ag->api_key_header - 12)
			return sm_err(SM_EXIT_USAGE, "HUB_API_KEY: one line of at most %zu bytes",
			              sizeof ag->api_key_header - 12);
		snprintf(ag->api_key_header, sizeof ag->api_key_header, "X-API-Key: %s", key);
		ag->push.api_key_header = ag->api_key_header;
	}
	if (sm_config_double("SM_SPOOL_MAX", 1000, &max, &err) < 0 || max < 1 ||
	    max != (double)(long long)max)
		return sm_err(SM_EXIT_USAGE, "SM_SPOOL_MAX must be a whole number of entries >= 1");
	ag->push.spool_max = (long long)max;
	if (!url && (ag->dry_run || ag->spool))
		return 0;
	if (!url)
		return sm_err(SM_EXIT_USAGE, "HUB_URL is not set (the hub's address, "
		                             "e.g. https://hub.example.org:8080)");
	if (sm_push_hubs(&ag->push, url, &err) < 0)
		return sm_err_report(SM_EXIT_USAGE, &err);
	return 0;
}

/* The checks to push: every envelope on stdin, or the checkers' results. */
static int collect_checks(struct agent *ag, json_t *checks)
{
	const sm_checker *selected[64];
	size_t n = 0, all_n;
	const sm_checker *const *all = sm_checkers(&all_n);
	sm_check_result *results;
	sm_error err;
	json_t *env;
	int rc;

	if (ag->checkers) {
		char *copy = strdup(ag->checkers), *save = NULL;
		for (char *tok = strtok_r(copy, ",", &save); tok && n < 64;
		     tok = strtok_r(NULL, ",", &save)) {
			const sm_checker *c = sm_checker_find(tok);
			if (!c) {
				char names[1024];
				sm_checker_names(names, sizeof names);
				rc = sm_err(SM_EXIT_USAGE, "unknown checker '%s' (available: %s)",
				            tok, names);
				free(copy);
				return rc;
			}
			selected[n++] = c;
		}
		free(copy);
	}
	if (!sm_term_isatty(stdin)) {
		sm_reader *reader = sm_reader_new(stdin, "stdin", 0);
		while ((rc = sm_envelope_read(reader, &env, &err)) == 1) {
			json_array_extend(checks, json_object_get(env, "checks"));
			json_decref(env);
		}
		sm_reader_free(reader);
		if (rc < 0)
			return sm_err_report(SM_EXIT_DATAERR, &err);
		if (json_array_size(checks) > 0)
			return 0;
	}
	/* Nothing on stdin (cron gives /dev/null): run the checkers. */
	if (n == 0)
		for (size_t i = 0; i < all_n && n < 64; i++)
			selected[n++] = all[i];
	results = calloc(n, sizeof *results);
	if (!results)
		return sm_err(SM_EXIT_FAILURE, "out of memory");
	sm_check_run_many(selected, n, NULL, results);
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(checks, sm_check_result_json(&results[i]));
		sm_check_result_clear(&results[i]);
	}
	free(results);
	return 0;
}

/* "ok=3 warning=1 critical=0 alerts=4" for the summary line. */
static void counts_of(const char *body, char *out, size_t size)
{
	json_t *payload = json_loads(body, 0, NULL), *alert;
	int ok = 0, warning = 0, critical = 0;
	size_t i;

	json_array_foreach(json_object_get(payload, "alerts"), i, alert)
	{
		const char *status = json_string_value(json_object_get(alert, "status"));
		const char *severity = json_string_value(json_object_get(alert, "severity"));
		if (status && strcmp(status, "resolved") == 0)
			ok++;
		else if (severity && strcmp(severity, "critical") == 0)
			critical++;
		else
			warning++;
	}
	snprintf(out, size, "ok=%d warning=%d critical=%d alerts=%zu", ok, warning, critical,
	         json_array_size(json_object_get(payload, "alerts")));
	json_decref(payload);
}

/* The line of each exchange, from the hub's thread (one fprintf: whole);
 * with --quiet only the failed ones. */
static void report_attempt(const sm_push_attempt *a, void *ctx)
{
	const struct agent *ag = ctx;
	char counts[128];

	if (ag->quiet && a->outcome == SM_PUSH_DELIVERED)
		return;
	counts_of(a->body, counts, sizeof counts);
	fprintf(stderr, "sm-push-hub: push %s hub=%s %s %s (%.0fms)\n",
	        a->outcome == SM_PUSH_DELIVERED ? "OK" : "FAILED", a->url, counts, a->why,
	        a->elapsed_ms);
}

/* Standard output flushed: SM_EXIT_OK, or the write error and 1. */
static int output_done(void)
{
	int failed = ferror(stdout);

	if (fflush(stdout) == EOF || failed)
		return sm_err(SM_EXIT_FAILURE, "write error: %s", strerror(errno));
	return SM_EXIT_OK;
}

/* The spool on a terminal: each hub's queue under its name. */
static void print_spool_text(struct agent *ag, json_t *rows)
{
	const char *shown = NULL;
	json_t *row;
	size_t i;

	for (size_t h = 0; h < ag->push.nhubs; h++) {
		bool any = false;
		json_array_foreach(rows, i, row)
		{
			const char *hub = json_string_value(json_object_get(row, "hub"));
			any = any || strcmp(hub, ag->push.hubs[h].base) == 0 || (h == 0 && !*hub);
		}
		if (!any)
			printf("%s: empty\n", ag->push.hubs[h].base);
	}
	json_array_foreach(rows, i, row)
	{
		const char *hub = json_string_value(json_object_get(row, "hub"));
		char *error = sm_json_text(json_object_get(row, "last_error"));
		bool listed = false;

		/* Kept before the spool had hubs: the first hub's. */
		if (!*hub)
			hub = ag->push.nhubs ? ag->push.hubs[0].base : "(the first hub of HUB_URL)";
		for (size_t h = 0; h < ag->push.nhubs; h++)
			listed = listed || strcmp(hub, ag->push.hubs[h].base) == 0;
		if (!shown || strcmp(shown, hub) != 0)
			printf("%s:%s\n", hub,
			       listed || !ag->push.nhubs ? "" : " (not in HUB_URL)");
		shown = hub;
		printf("  %lld %-8s attempts=%lld %s %s\n",
		       (long long)json_integer_value(json_object_get(row, "id")),
		       json_string_value(json_object_get(row, "state")),
		       (long long)json_integer_value(json_object_get(row, "attempts")),
		       json_string_value(json_object_get(row, "created_at")), error);
		free(error);
	}
	if (json_array_size(rows) == 0 && ag->push.nhubs == 0)
		printf("the spool is empty\n");
}

static int print_spool(struct agent *ag)
{
	json_t *rows;
	sm_error err;

	if (sm_spool_list(ag->store, &rows, &err) < 0)
		return sm_err_report(SM_EXIT_FAILURE, &err);
	if (ag->json || !sm_term_isatty(stdout)) {
		json_t *row;
		size_t i;
		json_array_foreach(rows, i, row)
		{
			sm_envelope_write(stdout, row, NULL);
		}
	} else {
		print_spool_text(ag, rows);
	}
	json_decref(rows);
	return output_done();
}

/* What to check after the hub refused a push with status: a 401 or 403 is
 * about the credentials this agent sends (named, never shown). "" for other
 * statuses. */
static const char *refusal_hint(const struct agent *ag, long status)
{
	if (status != 401 && status != 403)
		return "";
	if (ag->api_key_header[0] && ag->push.secret)
		return "; check HUB_API_KEY and WEBHOOK_SECRET_CLUSTER against the hub's";
	if (ag->api_key_header[0])
		return "; check HUB_API_KEY against the hub's API keys";
	if (ag->push.secret)
		return "; check WEBHOOK_SECRET_CLUSTER against the hub's";
	return "; the hub wants credentials: set HUB_API_KEY or WEBHOOK_SECRET_CLUSTER";
}

/* One hub's part of the exit status, its message printed: 0; 75 a copy
 * waits in the spool for the next run; 1 a push was refused and set
 * aside, could not be sent for a reason that will not pass, or the spool
 * failed. With several hubs each message names its hub. */
static int hub_status(const struct agent *ag, const sm_push_hub *h, bool retry)
{
	char who[2100] = "";

	if (ag->push.nhubs > 1)
		snprintf(who, sizeof who, "hub %s: ", h->base);
	if (h->store_failed)
		return sm_err(SM_EXIT_FAILURE, "%s%s", who, h->err.msg);
	switch (h->outcome) {
	case SM_PUSH_DELIVERED:
		break;
	case SM_PUSH_WAITING:
		return sm_err(
		    SM_EXIT_TEMPFAIL,
		    "%sthe hub did not take the spooled pushes (%s): push kept in the spool", who,
		    h->why);
	case SM_PUSH_TEMPORARY:
		return sm_err(SM_EXIT_TEMPFAIL, "%s%s: %s kept in the spool", who, h->why,
		              retry ? "pushes" : "push");
	case SM_PUSH_REFUSED:
		if (retry)
			break;
		return sm_err(
		    SM_EXIT_FAILURE,
		    "%sthe hub refused the push: HTTP %ld%s (set aside: see --spool, then "
		    "--retry-refused once fixed)",
		    who, h->status, refusal_hint(ag, h->status));
	case SM_PUSH_BROKEN:
		/* Not the hub's fault (TLS trust, no libcurl): kept all the same,
		 * nothing is lost; it goes out once the cause is fixed. */
		return retry ? sm_err(SM_EXIT_TEMPFAIL, "%s%s: kept in the spool", who, h->why)
		             : sm_err(SM_EXIT_FAILURE, "%scannot push: %s (kept in the spool)", who,
		                      h->why);
	}
	if (h->refused_status)
		return sm_err(
		    SM_EXIT_FAILURE,
		    retry ? "%sthe hub refused again: HTTP %ld%s"
		          : "%sthe hub refused a spooled push: HTTP %ld%s (see --spool, then "
		            "--retry-refused)",
		    who, h->refused_status, refusal_hint(ag, h->refused_status));
	return SM_EXIT_OK;
}

/* Send body (NULL: the spool only) to every hub. The exit status: 1 when
 * any hub's part is 1 (someone must act), else 75 when any copy waits in
 * a spool, else 0. */
static int push_all(struct agent *ag, const char *body)
{
	sm_error err;
	int rc = SM_EXIT_OK;

	ag->push.store = ag->store;
	ag->push.report = report_attempt;
	ag->push.report_ctx = ag;
	if (sm_push_run(&ag->push, body, &err) < 0)
		return sm_err_report(SM_EXIT_FAILURE, &err);
	for (size_t i = 0; i < ag->push.nhubs; i++) {
		int one = hub_status(ag, &ag->push.hubs[i], body == NULL);
		if (one == SM_EXIT_FAILURE || (one == SM_EXIT_TEMPFAIL && rc == SM_EXIT_OK))
			rc = one;
	}
	return rc;
}

static int push(struct agent *ag)
{
	json_t *checks = json_array(), *payload = NULL;
	char *body = NULL;
	int rc;

	rc = collect_checks(ag, checks);
	if (rc != 0)
		goto out;
	payload = sm_push_payload(checks, ag->instance_id, ag->hostname);
	body = sm_json_dumps(payload, SM_JSON_FLAGS);
	if (!body) {
		rc = sm_err(SM_EXIT_FAILURE, "out of memory");
		goto out;
	}
	if (ag->dry_run || ag->json) {
		char *shown = ag->json ? NULL : sm_json_dumps(payload, JSON_INDENT(2));
		if (!ag->json) {
			printf("Dry run: payload for %s", ag->push.nhubs ? "" : "HUB_URL");
			for (size_t i = 0; i < ag->push.nhubs; i++)
				printf("%s%s", i ? ", " : "", ag->push.hubs[i].url);
			printf("\n");
		}
		puts(shown ? shown : body);
		free(shown);
		/* Printed is acknowledged: a payload that was not written is no
		 * success, and it is not sent either. */
		rc = output_done();
		if (rc != SM_EXIT_OK || ag->dry_run)
			goto out;
	}
	rc = push_all(ag, body);
out:
	free(body);
	json_decref(payload);
	json_decref(checks);
	return rc;
}

int main(int argc, char **argv)
{
	struct agent ag = {0};
	sm_error err;
	int opt, rc, config_rc;

	sm_err_set_progname(argv[0]);
	sm_log_init("sm-push-hub");
	json_object_seed(0);
	/* A broken env file is reported after the arguments: --help and
	 * --version still answer. */
	config_rc = sm_config_load(&err);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":hq", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_CHECKERS:
			ag.checkers = optarg;
			break;
		case OPT_DRY_RUN:
			ag.dry_run = true;
			break;
		case OPT_JSON:
			ag.json = true;
			break;
		case OPT_SPOOL:
			ag.spool = true;
			break;
		case OPT_RETRY:
			ag.retry = true;
			break;
		case 'q':
			ag.quiet = true;
			break;
		default: /* -h, --version, getopt failures */
			return sm_cli_option(opt, usage_text, argv);
		}
	}
	if (config_rc < 0)
		return sm_err_report(SM_EXIT_FAILURE, &err);
	if (optind < argc)
		return sm_err(SM_EXIT_USAGE, "unexpected argument '%s' (see --help)", argv[optind]);
	if ((ag.spool || ag.retry) && (ag.dry_run || (ag.spool && ag.retry)))
		return sm_err(SM_EXIT_USAGE, "--spool, --retry-refused and --dry-run go alone");
	rc = configure(&ag);
	if (rc != 0)
		return rc;
	if (!ag.dry_run && sm_store_open(NULL, &ag.store, &err) < 0)
		return sm_err_report(SM_EXIT_FAILURE, &err);
	if (ag.spool) {
		rc = print_spool(&ag);
	} else if (ag.retry) {
		long long moved = sm_spool_retry_refused(ag.store, &err);
		rc = moved < 0 ? sm_err_report(SM_EXIT_FAILURE, &err) : push_all(&ag, NULL);
	} else {
		rc = push(&ag);
	}
	sm_store_close(ag.store);
	return rc;
}
