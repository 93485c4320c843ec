/* checker_agents.c - on a hub, the agents that stopped pushing.
 *
 * sm-ingest records every accepted cluster push in the agents table of the
 * store (agents.h); this checker judges each agent's silence, the seconds
 * since its last push, against thresholds in seconds. Unless overridden they
 * are 3 and 6 times the expected push interval (--push-interval,
 * default 300 s). A store without agents is not a hub: skipped, so a full
 * run on an ordinary host stays quiet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkers.h"
#include "sm/agents.h"
#include "sm/rfc3339.h"

#define DEFAULT_INTERVAL 300.0 /* seconds between pushes (sm-push-hub from cron) */
#define WARNING_FACTOR   3.0
#define CRITICAL_FACTOR  6.0
#define LISTED_MAX       5 /* silent agents named in the message */

struct agent {
	const char *id, *host, *last_push_at;
	long long silence; /* seconds; -1 when last_push_at cannot be read */
	enum sm_status status;
	size_t index; /* position in the table, for a stable sort */
};

/* How bad an agent is, worst highest: critical, warning, unreadable (its
 * last_push_at cannot be parsed), ok. The worst agent is the result. */
static int severity(enum sm_status s)
{
	switch (s) {
	case SM_CRITICAL:
		return 3;
	case SM_WARNING:
		return 2;
	case SM_UNKNOWN:
		return 1;
	default:
		return 0;
	}
}

static int worst_first(const void *pa, const void *pb)
{
	const struct agent *a = pa, *b = pb;

	if (severity(a->status) != severity(b->status))
		return severity(b->status) - severity(a->status);
	if (a->silence != b->silence)
		return a->silence < b->silence ? 1 : -1;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* "42 s", "31 min", "2 h 5 min", "3 d 4 h". */
static void human_duration(long long s, char *buf, size_t size)
{
	if (s < 60)
		snprintf(buf, size, "%lld s", s);
	else if (s < 3600)
		snprintf(buf, size, "%lld min", s / 60);
	else if (s < 86400 && s % 3600 / 60)
		snprintf(buf, size, "%lld h %lld min", s / 3600, s % 3600 / 60);
	else if (s < 86400)
		snprintf(buf, size, "%lld h", s / 3600);
	else if (s % 86400 / 3600)
		snprintf(buf, size, "%lld d %lld h", s / 86400, s % 86400 / 3600);
	else
		snprintf(buf, size, "%lld d", s / 86400);
}

/* The host name, with the instance id when it differs: "web-02 [i-0abc]". */
static void agent_label(const struct agent *a, char *buf, size_t size)
{
	if (!*a->host || strcmp(a->host, a->id) == 0)
		snprintf(buf, size, "%s", a->id);
	else
		snprintf(buf, size, "%s [%s]", a->host, a->id);
}

static void metrics(json_t *m, size_t count, size_t silent, long long oldest, double interval)
{
	sm_metric_int(m, "agent_count", (long long)count);
	sm_metric_int(m, "silent_count", (long long)silent);
	if (oldest >= 0)
		sm_metric_int(m, "oldest_silence_s", oldest);
	else
		json_object_set_new(m, "oldest_silence_s", json_null());
	sm_metric_real(m, "expected_interval_s", interval);
}

/* "2 of 3 agents silent: web-02 (31 min), db-01 (2 h 5 min)". */
static char *silent_message(const struct agent *sorted, size_t count, size_t silent)
{
	char *msg = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&msg, &len);

	if (!f)
		return NULL;
	fprintf(f, "%zu of %zu agents silent: ", silent, count);
	for (size_t i = 0; i < silent && i < LISTED_MAX; i++) {
		char label[600];
		agent_label(&sorted[i], label, sizeof label);
		if (sorted[i].silence < 0) {
			fprintf(f, "%s%s (last push unreadable)", i ? ", " : "", label);
		} else {
			char ago[48];
			human_duration(sorted[i].silence, ago, sizeof ago);
			fprintf(f, "%s%s (%s)", i ? ", " : "", label, ago);
		}
	}
	if (silent > LISTED_MAX)
		fprintf(f, ", and %zu more", silent - LISTED_MAX);
	if (fclose(f) != 0) {
		free(msg);
		return NULL;
	}
	return msg;
}

static void report(sm_check_result *res, json_t *list, double interval)
{
	size_t count = json_array_size(list), silent = 0, i;
	struct agent *agents = calloc(count ? count : 1, sizeof *agents);
	enum sm_status status = SM_OK;
	long long oldest = -1;
	struct timespec now;
	json_t *rows = json_array(), *row;
	char *msg;

	if (!agents || !rows) {
		sm_result_fail(res, "out of memory");
		goto done;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	json_array_foreach(list, i, row)
	{
		struct agent *a = &agents[i];
		struct timespec last;
		json_t *o = json_object();
		a->id = json_string_value(json_object_get(row, "instance_id"));
		a->host = json_string_value(json_object_get(row, "hostname"));
		a->last_push_at = json_string_value(json_object_get(row, "last_push_at"));
		a->id = a->id ? a->id : "";
		a->host = a->host ? a->host : "";
		a->index = i;
		if (a->last_push_at && sm_rfc3339_parse(a->last_push_at, &last) == 1) {
			double s = (double)(now.tv_sec - last.tv_sec) +
			           (double)(now.tv_nsec - last.tv_nsec) / 1e9;
			a->silence = s > 0 ? (long long)s : 0; /* a clock ahead of ours: 0 */
			a->status = sm_result_level(res, (double)a->silence);
			if (a->silence > oldest)
				oldest = a->silence;
		} else {
			a->silence = -1;
			a->status = SM_UNKNOWN;
		}
		if (a->status != SM_OK)
			silent++;
		if (severity(a->status) > severity(status))
			status = a->status;
		sm_metric_str(o, "instance_id", a->id);
		sm_metric_str(o, "hostname", a->host);
		sm_metric_str(o, "last_push_at", a->last_push_at);
		if (a->silence >= 0)
			sm_metric_int(o, "silence_s", a->silence);
		else
			json_object_set_new(o, "silence_s", json_null());
		sm_metric_str(o, "status", sm_status_name(a->status));
		json_array_append_new(rows, o);
	}
	metrics(res->metrics, count, silent, oldest, interval);
	json_object_set(res->metrics, "agents", rows);
	if (count == 0) {
		sm_result_skip(res, "no agents have pushed to this hub");
		goto done;
	}
	if (silent == 0) {
		char ago[48];
		human_duration(oldest, ago, sizeof ago);
		sm_result_set(res, SM_OK, "%zu agent%s pushing (last silence %s)", count,
		              count == 1 ? "" : "s", ago);
	} else {
		qsort(agents, count, sizeof *agents, worst_first);
		msg = silent_message(agents, count, silent);
		if (!msg) {
			sm_result_fail(res, "out of memory");
			goto done;
		}
		sm_result_set(res, status, "%s", msg);
		free(msg);
	}
	sm_result_perf(res, "silent", (double)silent, NULL, false, 0, NAN);
	if (oldest >= 0)
		sm_result_perf(res, "oldest_silence", (double)oldest, "s", true, 0, NAN);
done:
	json_decref(rows);
	free(agents);
}

/* Not --interval, which is already the sample interval. */
static const sm_check_option push_interval = {
    .name = "push-interval",
    .kind = SM_CHECK_NUMBER,
    .arg = "S",
    .help = "seconds between an agent's pushes (default 300; or 5m, 1h)",
    .min = 1,
    .max = 86400,
    .whole = true,
    .seconds = true,
};

SM_CHECKER_RUN(run)
{
	double interval = sm_check_opts_number(opts, push_interval.name, DEFAULT_INTERVAL);
	sm_store *store = NULL;
	json_t *list = NULL;
	sm_error err;

	(void)self;
	/* The registry's defaults are those of the default interval; scale them
	 * with the interval unless the user gave thresholds. */
	if (!opts->warning.set)
		res->warning = sm_range_value(WARNING_FACTOR * interval);
	if (!opts->critical.set)
		res->critical = sm_range_value(CRITICAL_FACTOR * interval);
	if (sm_store_open(NULL, &store, &err) < 0) {
		sm_result_fail(res, "cannot open the store: %s", err.msg);
		goto done;
	}
	if (sm_agents_list(store, &list, &err) < 0) {
		sm_result_fail(res, "%s", err.msg);
		goto done;
	}
	report(res, list, interval);
done:
	json_decref(list);
	sm_store_close(store);
}

const sm_checker sm_checker_agents = {
    .name = "agents",
    .description = "Agents that stopped pushing to this hub (hub only).",
    .run = run,
    .warning = 900,
    .critical = 1800,
    .options = SM_CHECK_OPTIONS(&push_interval),
    .advice = "on the silent agent: run sm-push-hub by hand and check its cron entry and the "
              "network to the hub",
};
