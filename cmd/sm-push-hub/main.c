/* sm-push-hub - an agent: push this host's check results to a hub (sm-ingest
 * behind a web server with CLUSTER_ENABLED=1), signed, with a spool so a
 * push the hub could not take is sent first next time. */
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
    "       sm-push-hub --spool                       list what waits in the spool\n"
    "       sm-push-hub --retry-refused               send again what the hub refused\n"
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
    "Environment: HUB_URL (required), INSTANCE_ID (default: host name),\n"
    "WEBHOOK_SECRET_CLUSTER, HUB_API_KEY, SM_SPOOL_MAX (default 1000), SM_DB,\n"
    "SM_ENV_FILE.\n";

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
	/* The push URL; it also names the hub in messages, being free of
	 * credentials, query and fragment (configure refuses those). */
	char url[2048];
	char instance_id[256], hostname[256];
	const char *secret;
	char api_key_header[512]; /* "X-API-Key: …" when HUB_API_KEY is set */
	long long spool_max;
	sm_store *store;
	int refused_status; /* the last refusal's HTTP status, for the exit message */
	char stopped[512];  /* why the last drain stopped early */
};

static int configure(struct agent *ag)
{
	const char *url = sm_config_get("HUB_URL", NULL), *id = sm_config_get("INSTANCE_ID", NULL);
	const char *key;
	char why[256];
	double max;
	sm_error err;
	size_t n;

	sm_host_name(ag->hostname, sizeof ag->hostname);
	snprintf(ag->instance_id, sizeof ag->instance_id, "%s", id ? id : ag->hostname);
	ag->secret = sm_config_get("WEBHOOK_SECRET_CLUSTER", NULL);
	key = sm_config_get("HUB_API_KEY", NULL);
	if (key) {
		/* A header line cannot hold a line break; nor can a key. */
		if (strpbrk(key, "\r\n") || strlen(key) > sizeof ag->api_key_header - 12)
			return sm_err(SM_EXIT_USAGE, "HUB_API_KEY: one line of at most %zu bytes",
			              sizeof ag->api_key_header - 12);
		snprintf(ag->api_key_header, sizeof ag->api_key_header, "X-API-Key: %s", key);
	}
	if (sm_config_double("SM_SPOOL_MAX", 1000, &max, &err) < 0 || max < 1 ||
	    max != (double)(long long)max)
		return sm_err(SM_EXIT_USAGE, "SM_SPOOL_MAX must be a whole number of entries >= 1");
	ag->spool_max = (long long)max;
	if (!url && (ag->dry_run || ag->spool))
		return 0;
	if (!url)
		return sm_err(SM_EXIT_USAGE, "HUB_URL is not set (the hub's address, "
		                             "e.g. https://hub.example.org:8080)");
	if (!sm_http_url_ok(url, why, sizeof why))
		return sm_err(SM_EXIT_USAGE, "HUB_URL: %s", why);
	if (strpbrk(url, "?#"))
		return sm_err(SM_EXIT_USAGE, "HUB_URL: no query or fragment (the push goes to "
		                             "HUB_URL/alerts/webhook/cluster/)");
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	snprintf(ag->url, sizeof ag->url, "%.*s/alerts/webhook/cluster/", (int)n, url);
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

enum outcome {
	DELIVERED,
	TEMPORARY, /* keep it and try again later */
	REFUSED,   /* the hub said no: set it aside */
	BROKEN,    /* could not even sign or send */
};

static enum outcome send_push(struct agent *ag, const char *body, long *status, char *why,
                              size_t size)
{
	char sig[3][128];
	const char *headers[6] = {"Content-Type: application/json", NULL, NULL, NULL, NULL, NULL};
	size_t nh = 1;
	sm_http_request req = {.method = "POST",
	                       .url = ag->url,
	                       .headers = headers,
	                       .body = body,
	                       .body_len = strlen(body),
	                       .timeout_s = 30};
	sm_http_response res = {0};
	enum outcome out;
	sm_error err;

	*status = 0;
	if (ag->secret) {
		/* Signed at sending time: a spooled push gets a fresh timestamp. */
		if (sm_push_sign(ag->secret, body, (long long)time(NULL), sig, &err) < 0) {
			snprintf(why, size, "%s", err.msg);
			return BROKEN;
		}
		headers[nh++] = sig[0];
		headers[nh++] = sig[1];
		headers[nh++] = sig[2];
	}
	if (ag->api_key_header[0])
		headers[nh++] = ag->api_key_header;
	if (sm_http_send(&req, &res) < 0) {
		snprintf(why, size, "unreachable: %s", res.error);
		out = res.transient ? TEMPORARY : BROKEN;
	} else {
		*status = res.status;
		snprintf(why, size, "HTTP %ld", res.status);
		if (res.status >= 200 && res.status < 300)
			out = DELIVERED;
		else
			out = res.transient ? TEMPORARY : REFUSED;
	}
	{
		char counts[128];
		counts_of(body, counts, sizeof counts);
		if (out != DELIVERED || !ag->quiet)
			fprintf(stderr, "sm-push-hub: push %s hub=%s %s %s (%.0fms)\n",
			        out == DELIVERED ? "OK" : "FAILED", ag->url, counts, why,
			        res.elapsed_ms);
	}
	sm_http_response_clear(&res);
	return out;
}

/* What to check after the hub refused a push with status: a 401 or 403 is
 * about the credentials this agent sends. "" for other statuses. */
static const char *refusal_hint(const struct agent *ag, long status)
{
	if (status != 401 && status != 403)
		return "";
	if (ag->api_key_header[0] && ag->secret)
		return "; check HUB_API_KEY and WEBHOOK_SECRET_CLUSTER against the hub's";
	if (ag->api_key_header[0])
		return "; check HUB_API_KEY against the hub's API keys";
	if (ag->secret)
		return "; check WEBHOOK_SECRET_CLUSTER against the hub's";
	return "; the hub wants credentials: set HUB_API_KEY or WEBHOOK_SECRET_CLUSTER";
}

/* Send what waits, oldest first. Stops at the first temporary failure (the
 * hub is down: the rest would fail too). Returns 1 when the hub is down. */
static int drain_spool(struct agent *ag)
{
	long long after = 0;
	sm_spooled s;
	sm_error err;
	int rc;

	while ((rc = sm_spool_next(ag->store, after, &s, &err)) == 1) {
		char why[512];
		long status;
		enum outcome out = send_push(ag, s.body, &status, why, sizeof why);
		after = s.id;
		if (out == DELIVERED)
			rc = sm_spool_delete(ag->store, s.id, &err);
		else
			rc = sm_spool_failed(ag->store, s.id, out == REFUSED, status, why, &err);
		if (out == REFUSED)
			ag->refused_status = (int)status;
		sm_spooled_clear(&s);
		if (rc < 0)
			return sm_err(-1, "%s", err.msg);
		if (out == TEMPORARY || out == BROKEN) {
			snprintf(ag->stopped, sizeof ag->stopped, "%s", why);
			return 1;
		}
	}
	return rc < 0 ? sm_err(-1, "%s", err.msg) : 0;
}

/* Standard output flushed: SM_EXIT_OK, or the write error and 1. */
static int output_done(void)
{
	int failed = ferror(stdout);

	if (fflush(stdout) == EOF || failed)
		return sm_err(SM_EXIT_FAILURE, "write error: %s", strerror(errno));
	return SM_EXIT_OK;
}

static int print_spool(struct agent *ag)
{
	json_t *rows, *row;
	sm_error err;
	size_t i;

	if (sm_spool_list(ag->store, &rows, &err) < 0)
		return sm_err_report(SM_EXIT_FAILURE, &err);
	json_array_foreach(rows, i, row)
	{
		if (ag->json || !sm_term_isatty(stdout)) {
			sm_envelope_write(stdout, row, NULL);
		} else {
			char *error = sm_json_text(json_object_get(row, "last_error"));
			printf("%lld %-8s attempts=%lld %s %s\n",
			       (long long)json_integer_value(json_object_get(row, "id")),
			       json_string_value(json_object_get(row, "state")),
			       (long long)json_integer_value(json_object_get(row, "attempts")),
			       json_string_value(json_object_get(row, "created_at")), error);
			free(error);
		}
	}
	if (json_array_size(rows) == 0 && sm_term_isatty(stdout) && !ag->json)
		printf("the spool is empty\n");
	json_decref(rows);
	return output_done();
}

static int push(struct agent *ag)
{
	json_t *checks = json_array(), *payload = NULL;
	char *body = NULL, why[512];
	int rc, down;
	long status;
	sm_error err;

	rc = collect_checks(ag, checks);
	if (rc != 0)
		goto out;
	payload = sm_push_payload(checks, ag->instance_id, ag->hostname);
	body = json_dumps(payload, SM_JSON_FLAGS);
	if (!body) {
		rc = sm_err(SM_EXIT_FAILURE, "out of memory");
		goto out;
	}
	if (ag->dry_run || ag->json) {
		char *shown = ag->json ? NULL : json_dumps(payload, JSON_INDENT(2));
		if (!ag->json)
			printf("Dry run: payload for %s\n", ag->url[0] ? ag->url : "HUB_URL");
		puts(shown ? shown : body);
		free(shown);
		/* Printed is acknowledged: a payload that was not written is no
		 * success, and it is not sent either. */
		rc = output_done();
		if (rc != SM_EXIT_OK || ag->dry_run)
			goto out;
	}
	down = drain_spool(ag);
	if (down < 0) {
		rc = SM_EXIT_FAILURE;
		goto out;
	}
	if (down) {
		/* The hub is down: the new push waits behind the spooled ones. */
		if (sm_spool_add(ag->store, body, "pending", 0, "queued behind the spool",
		                 ag->spool_max, &err) < 0) {
			rc = sm_err_report(SM_EXIT_FAILURE, &err);
			goto out;
		}
		rc = sm_err(SM_EXIT_TEMPFAIL,
		            "the hub did not take the spooled pushes (%s): push kept in the spool",
		            ag->stopped);
		goto out;
	}
	switch (send_push(ag, body, &status, why, sizeof why)) {
	case DELIVERED:
		rc = ag->refused_status
		         ? sm_err(SM_EXIT_FAILURE,
		                  "the hub refused a spooled push: HTTP %d%s "
		                  "(see --spool, then --retry-refused)",
		                  ag->refused_status, refusal_hint(ag, ag->refused_status))
		         : SM_EXIT_OK;
		break;
	case REFUSED:
		if (sm_spool_add(ag->store, body, "refused", status, why, ag->spool_max, &err) < 0)
			sm_err_report(SM_EXIT_FAILURE, &err);
		rc = sm_err(SM_EXIT_FAILURE,
		            "the hub refused the push: HTTP %ld%s (set aside: see --spool, then "
		            "--retry-refused once fixed)",
		            status, refusal_hint(ag, status));
		break;
	case TEMPORARY:
		if (sm_spool_add(ag->store, body, "pending", status, why, ag->spool_max, &err) <
		    0) {
			rc = sm_err_report(SM_EXIT_FAILURE, &err);
			break;
		}
		rc = sm_err(SM_EXIT_TEMPFAIL, "%s: push kept in the spool", why);
		break;
	default:
		/* Not the hub's fault (TLS trust, no libcurl): keep it all the same,
		 * nothing is lost; it goes out once the cause is fixed. */
		if (sm_spool_add(ag->store, body, "pending", 0, why, ag->spool_max, &err) < 0)
			sm_err_report(SM_EXIT_FAILURE, &err);
		rc = sm_err(SM_EXIT_FAILURE, "cannot push: %s (kept in the spool)", why);
		break;
	}
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
		if (moved < 0) {
			rc = sm_err_report(SM_EXIT_FAILURE, &err);
		} else {
			int down = drain_spool(&ag);
			rc = down < 0 ? SM_EXIT_FAILURE
			     : down > 0
			         ? sm_err(SM_EXIT_TEMPFAIL, "%s: kept in the spool", ag.stopped)
			     : ag.refused_status
			         ? sm_err(SM_EXIT_FAILURE, "the hub refused again: HTTP %d%s",
			                  ag.refused_status, refusal_hint(&ag, ag.refused_status))
			         : SM_EXIT_OK;
		}
	} else {
		rc = push(&ag);
	}
	sm_store_close(ag.store);
	return rc;
}
