/* pipeline_status.c - sm-pipeline status: the newest check results per
 * host, open incidents, the queue and recent runs, read from the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm/host.h"
#include "sm/noise.h"
#include "sm/pipeline_status.h"
#include "sm/rfc3339.h"
#include "sm/term.h"

/* A failed run counts as a problem for this long. */
#define FAILED_RUN_WINDOW (24 * 3600)

static int store_error(sm_store *store, sm_error *err)
{
	sm_error_set(err, "%s: %s", sm_store_path(store), sqlite3_errmsg(sm_store_db(store)));
	return -1;
}

static json_t *column_text(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return s ? json_string((const char *)s) : json_null();
}

/* Step st (bound to the pair before, if any) for the next pair: 1 with a
 * row, 0 at the end, -1 on an error. */
static int step_pair(sqlite3_stmt *st, const json_t *before)
{
	int step;

	sqlite3_reset(st);
	if (before) {
		sqlite3_bind_text(st, 1, json_string_value(json_object_get(before, "checker")), -1,
		                  SQLITE_TRANSIENT);
		if (sqlite3_bind_parameter_count(st) > 1)
			sqlite3_bind_text(st, 2,
			                  json_string_value(json_object_get(before, "hostname")),
			                  -1, SQLITE_TRANSIENT);
	}
	step = sqlite3_step(st);
	return step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : -1;
}

int sm_pipeline_status_latest(sm_store *store, json_t **rows, sm_error *err)
{
	/* The distinct pairs are walked in the index (checker, hostname,
	 * executed_at) by seeking past each one: the next hostname of the same
	 * checker, else the first of the next checker. A GROUP BY would read
	 * every row of the index, and a row-value comparison on both columns
	 * seeks by the checker alone and reads all of its rows. */
	static const char *const sql[] = {
	    "SELECT checker, hostname FROM check_runs ORDER BY checker, hostname LIMIT 1",
	    "SELECT checker, hostname FROM check_runs WHERE checker = ?1 AND hostname > ?2"
	    " ORDER BY hostname LIMIT 1",
	    "SELECT checker, hostname FROM check_runs WHERE checker > ?1"
	    " ORDER BY checker, hostname LIMIT 1",
	    "SELECT id, status, message, executed_at FROM check_runs"
	    " WHERE checker = ?1 AND hostname = ?2 ORDER BY executed_at DESC, id DESC LIMIT 1",
	};
	enum { FIRST, NEXT_HOST, NEXT_CHECKER, NEWEST };
	sqlite3_stmt *st[4] = {NULL}, *cur;
	int rc = -1, found;

	*rows = json_array();
	for (int i = 0; i < 4; i++)
		if (!(st[i] = sm_store_prepare(store, sql[i], err)))
			goto done;
	cur = st[FIRST];
	found = step_pair(cur, NULL);
	while (found == 1) {
		json_t *row = json_object();
		json_object_set_new(row, "checker", column_text(cur, 0));
		json_object_set_new(row, "hostname", column_text(cur, 1));
		json_array_append_new(*rows, row);
		if (step_pair(st[NEWEST], row) != 1)
			break;
		json_object_set_new(row, "id", json_integer(sqlite3_column_int64(st[NEWEST], 0)));
		json_object_set_new(row, "status", column_text(st[NEWEST], 1));
		json_object_set_new(row, "message", column_text(st[NEWEST], 2));
		json_object_set_new(row, "executed_at", column_text(st[NEWEST], 3));
		cur = st[NEXT_HOST];
		if ((found = step_pair(cur, row)) == 0) {
			cur = st[NEXT_CHECKER];
			found = step_pair(cur, row);
		}
	}
	if (found != 0) {
		store_error(store, err);
		goto done;
	}
	rc = 0;
done:
	for (int i = 0; i < 4; i++)
		sqlite3_finalize(st[i]);
	if (rc < 0) {
		json_decref(*rows);
		*rows = NULL;
	}
	return rc;
}

/* Replace the stored time member name of o by its RFC 3339 UTC form (whole
 * seconds) and add "age_seconds" (or name_age_seconds when prefix). */
static void set_time(json_t *o, const char *name, const char *age_name, time_t now)
{
	const char *text = json_string_value(json_object_get(o, name));
	struct timespec ts;
	char buf[SM_RFC3339_LEN];

	if (!text || sm_rfc3339_parse(text, &ts) != 1) {
		json_object_set_new(o, name, json_null());
		json_object_set_new(o, age_name, json_null());
		return;
	}
	ts.tv_nsec = 0;
	sm_rfc3339_format(buf, &ts, false);
	json_object_set_new(o, name, json_string(buf));
	json_object_set_new(o, age_name, json_integer(now > ts.tv_sec ? now - ts.tv_sec : 0));
}

static enum sm_status worse(enum sm_status a, enum sm_status b)
{
	return a > b ? a : b;
}

static enum sm_status level_of(const char *status)
{
	if (!status || strcmp(status, "ok") == 0 || strcmp(status, "info") == 0)
		return SM_OK;
	return strcmp(status, "critical") == 0 ? SM_CRITICAL : SM_WARNING;
}

/* The host named name in hosts, added when missing. */
static json_t *host_entry(json_t *hosts, const char *name)
{
	json_t *h;
	size_t i;

	json_array_foreach(hosts, i, h)
	{
		if (strcmp(json_string_value(json_object_get(h, "hostname")), name) == 0)
			return h;
	}
	h = json_object();
	json_object_set_new(h, "hostname", json_string(name));
	json_object_set_new(h, "this_host", json_false());
	json_object_set_new(h, "agent", json_null());
	json_object_set_new(h, "checks", json_array());
	json_array_append_new(hosts, h);
	return h;
}

/* This host first, then by name. */
static int host_order(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int tx = json_is_true(json_object_get(x, "this_host"));
	int ty = json_is_true(json_object_get(y, "this_host"));

	if (tx != ty)
		return ty - tx;
	return strcmp(json_string_value(json_object_get(x, "hostname")),
	              json_string_value(json_object_get(y, "hostname")));
}

static json_t *sorted_hosts(json_t *hosts)
{
	size_t n = json_array_size(hosts);
	json_t **list = calloc(n ? n : 1, sizeof *list), *out = json_array();

	for (size_t i = 0; list && i < n; i++)
		list[i] = json_array_get(hosts, i);
	if (list)
		qsort(list, n, sizeof *list, host_order);
	for (size_t i = 0; list && i < n; i++)
		json_array_append(out, list[i]);
	free(list);
	json_decref(hosts);
	return out;
}

static int add_hosts(sm_store *store, json_t *status, time_t now, enum sm_status *level,
                     sm_error *err)
{
	json_t *hosts = json_array(), *rows = NULL, *row;
	sqlite3_stmt *st;
	char self[256];
	size_t i;
	int step;

	sm_host_name(self, sizeof self);
	json_object_set_new(host_entry(hosts, self), "this_host", json_true());
	if (sm_pipeline_status_latest(store, &rows, err) < 0) {
		json_decref(hosts);
		return -1;
	}
	json_array_foreach(rows, i, row)
	{
		json_t *check = json_object(),
		       *h = host_entry(hosts, json_string_value(json_object_get(row, "hostname")));
		json_object_set(check, "checker", json_object_get(row, "checker"));
		json_object_set(check, "status", json_object_get(row, "status"));
		json_object_set(check, "message", json_object_get(row, "message"));
		json_object_set(check, "executed_at", json_object_get(row, "executed_at"));
		set_time(check, "executed_at", "age_seconds", now);
		*level = worse(*level, level_of(json_string_value(json_object_get(row, "status"))));
		json_array_append_new(json_object_get(h, "checks"), check);
	}
	json_decref(rows);
	st = sm_store_prepare(store,
	                      "SELECT instance_id, hostname, last_push_at, pushes FROM agents"
	                      " ORDER BY instance_id",
	                      err);
	if (!st) {
		json_decref(hosts);
		return -1;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);
		json_t *agent = json_object();
		if (!name || !*name)
			name = (const char *)sqlite3_column_text(st, 0);
		json_object_set_new(agent, "instance_id", column_text(st, 0));
		json_object_set_new(agent, "last_push_at", column_text(st, 2));
		set_time(agent, "last_push_at", "age_seconds", now);
		json_object_set_new(agent, "pushes", json_integer(sqlite3_column_int64(st, 3)));
		json_object_set_new(host_entry(hosts, name ? name : ""), "agent", agent);
	}
	sqlite3_finalize(st);
	json_object_set_new(status, "hosts", sorted_hosts(hosts));
	return step == SQLITE_DONE ? 0 : store_error(store, err);
}

/* An open incident is one not yet resolved or closed: acknowledged ones
 * are still open problems. Both queries read the index (status, severity,
 * updated_at) alone: counting scans the open entries, listing seeks the
 * newest of each status and severity. */
static const char *const open_statuses[] = {"open", "acknowledged"};
static const char *const severities[] = {"critical", "warning", "info"};

#define OPEN_OF(sev_status)                                                                        \
	"SELECT * FROM (SELECT id, title, status, severity, updated_at FROM incidents"             \
	" WHERE status = '" sev_status "' AND severity = ?1 ORDER BY updated_at DESC, id DESC"     \
	" LIMIT ?2)"

static int count_incidents(sm_store *store, json_t *inc, enum sm_status *level, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(
	    store, "SELECT severity, count(*) FROM incidents WHERE status = ?1 GROUP BY severity",
	    err);
	long long open = 0;
	int step = SQLITE_DONE;

	if (!st)
		return -1;
	for (size_t i = 0; step == SQLITE_DONE && i < 2; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, open_statuses[i], -1, SQLITE_STATIC);
		while ((step = sqlite3_step(st)) == SQLITE_ROW) {
			const char *sev = (const char *)sqlite3_column_text(st, 0);
			long long n = sqlite3_column_int64(st, 1);
			open += n;
			if (sev && json_object_get(inc, sev))
				json_object_set_new(
				    inc, sev,
				    json_integer(json_integer_value(json_object_get(inc, sev)) +
				                 n));
			if (n > 0)
				*level = worse(*level, level_of(sev));
		}
	}
	sqlite3_finalize(st);
	json_object_set_new(inc, "open", json_integer(open));
	return step == SQLITE_DONE ? 0 : store_error(store, err);
}

static int add_incidents(sm_store *store, json_t *status, time_t now, enum sm_status *level,
                         sm_error *err)
{
	json_t *inc = json_object(), *latest = json_array();
	sqlite3_stmt *list = NULL;
	int rc = -1, step = SQLITE_DONE;

	json_object_set_new(status, "incidents", inc);
	json_object_set_new(inc, "open", json_integer(0));
	for (size_t i = 0; i < sizeof severities / sizeof severities[0]; i++)
		json_object_set_new(inc, severities[i], json_integer(0));
	json_object_set_new(inc, "latest", latest);
	if (count_incidents(store, inc, level, err) < 0)
		return -1;
	/* The most severe first, then the most recently changed. */
	list = sm_store_prepare(store,
	                        OPEN_OF("open") " UNION ALL " OPEN_OF(
	                            "acknowledged") " ORDER BY 5 DESC, 1 DESC LIMIT ?2",
	                        err);
	if (!list)
		return -1;
	for (size_t i = 0; step == SQLITE_DONE && i < sizeof severities / sizeof severities[0] &&
	                   json_array_size(latest) < SM_STATUS_INCIDENTS;
	     i++) {
		sqlite3_reset(list);
		sqlite3_bind_text(list, 1, severities[i], -1, SQLITE_STATIC);
		sqlite3_bind_int(list, 2, SM_STATUS_INCIDENTS - (int)json_array_size(latest));
		while ((step = sqlite3_step(list)) == SQLITE_ROW) {
			json_t *o = json_object();
			json_object_set_new(o, "id", json_integer(sqlite3_column_int64(list, 0)));
			json_object_set_new(o, "title", column_text(list, 1));
			json_object_set_new(o, "status", column_text(list, 2));
			json_object_set_new(o, "severity", column_text(list, 3));
			json_object_set_new(o, "updated_at", column_text(list, 4));
			set_time(o, "updated_at", "age_seconds", now);
			json_array_append_new(latest, o);
		}
	}
	rc = step == SQLITE_DONE ? 0 : store_error(store, err);
	sqlite3_finalize(list);
	return rc;
}

/* The silences and maintenance windows in force: they hold notifications
 * back but are no problem, so the level is left alone. */
static int add_noise(sm_store *store, json_t *status, time_t now, sm_error *err)
{
	json_t *noise = NULL;

	/* Their times are stored as RFC 3339 UTC in whole seconds already. */
	if (sm_noise_in_force(store, now, SM_STATUS_SILENCES, &noise, err) != SM_EXIT_OK)
		return -1;
	json_object_set(status, "silences", json_object_get(noise, "silences"));
	json_object_set(status, "maintenance", json_object_get(noise, "maintenance"));
	json_decref(noise);
	return 0;
}

static int add_queue(sm_store *store, json_t *status, enum sm_status *level, sm_error *err)
{
	static const char *const states[] = {"pending", "claimed", "failed"};
	json_t *queue = json_object();
	sqlite3_stmt *st =
	    sm_store_prepare(store, "SELECT count(*) FROM inbox WHERE state = ?1", err);

	json_object_set_new(status, "queue", queue);
	if (!st)
		return -1;
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, states[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW) {
			sqlite3_finalize(st);
			return store_error(store, err);
		}
		json_object_set_new(queue, states[i], json_integer(sqlite3_column_int64(st, 0)));
	}
	sqlite3_finalize(st);
	if (json_integer_value(json_object_get(queue, "failed")) > 0)
		*level = worse(*level, SM_WARNING);
	return 0;
}

static int add_runs(sm_store *store, json_t *status, time_t now, enum sm_status *level,
                    sm_error *err)
{
	json_t *runs = json_object(), *latest = json_array();
	sqlite3_stmt *failed = sm_store_prepare(
	    store,
	    "SELECT count(*) FROM pipeline_runs WHERE status = 'failed' AND created_at >= ?1", err);
	sqlite3_stmt *list = failed ? sm_store_prepare(store,
	                                               "SELECT run_id, definition, status, error,"
	                                               " created_at FROM pipeline_runs"
	                                               " ORDER BY id DESC LIMIT ?1",
	                                               err)
	                            : NULL;
	struct timespec since = {.tv_sec = now - FAILED_RUN_WINDOW};
	char buf[SM_RFC3339_LEN];
	int rc = -1, step;

	json_object_set_new(status, "runs", runs);
	json_object_set_new(runs, "latest", latest);
	if (!list)
		goto done;
	sm_rfc3339_format(buf, &since, false);
	sqlite3_bind_text(failed, 1, buf, -1, SQLITE_STATIC);
	if (sqlite3_step(failed) != SQLITE_ROW) {
		store_error(store, err);
		goto done;
	}
	json_object_set_new(runs, "failed_last_day", json_integer(sqlite3_column_int64(failed, 0)));
	if (sqlite3_column_int64(failed, 0) > 0)
		*level = worse(*level, SM_WARNING);
	sqlite3_bind_int(list, 1, SM_STATUS_RUNS);
	while ((step = sqlite3_step(list)) == SQLITE_ROW) {
		json_t *o = json_object();
		json_object_set_new(o, "run_id", column_text(list, 0));
		json_object_set_new(o, "definition", column_text(list, 1));
		json_object_set_new(o, "status", column_text(list, 2));
		json_object_set_new(o, "error", column_text(list, 3));
		json_object_set_new(o, "created_at", column_text(list, 4));
		set_time(o, "created_at", "age_seconds", now);
		json_array_append_new(latest, o);
	}
	if (step != SQLITE_DONE) {
		store_error(store, err);
		goto done;
	}
	rc = 0;
done:
	sqlite3_finalize(failed);
	sqlite3_finalize(list);
	return rc;
}

int sm_pipeline_status(sm_store *store, time_t now, json_t **out, enum sm_status *level,
                       sm_error *err)
{
	struct timespec ts = {.tv_sec = now};
	char buf[SM_RFC3339_LEN];
	json_t *status = json_object();

	*level = SM_OK;
	*out = NULL;
	sm_rfc3339_format(buf, &ts, false);
	json_object_set_new(status, "generated_at", json_string(buf));
	/* One read transaction: every part is of the same moment. The pages
	 * are read once each: a small page cache keeps the peak memory down
	 * (the store's 16 MiB is for batch writes). */
	if (sm_store_exec(store, "PRAGMA cache_size = -256; BEGIN", err) < 0) {
		json_decref(status);
		return -1;
	}
	if (add_hosts(store, status, now, level, err) < 0 ||
	    add_incidents(store, status, now, level, err) < 0 ||
	    add_noise(store, status, now, err) < 0 || add_queue(store, status, level, err) < 0 ||
	    add_runs(store, status, now, level, err) < 0) {
		sm_store_rollback(store);
		json_decref(status);
		*level = SM_UNKNOWN;
		return -1;
	}
	sm_store_rollback(store);
	json_object_set_new(status, "status", json_string(sm_status_name(*level)));
	json_object_set_new(status, "exit_status", json_integer(*level));
	*out = status;
	return 0;
}

void sm_pipeline_status_age(char *buf, size_t size, long long seconds)
{
	sm_term_age(buf, size, seconds);
}

static const char *str(const json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s ? s : "";
}

static long long num(const json_t *o, const char *name)
{
	return json_integer_value(json_object_get(o, name));
}

static void age_of(char *buf, size_t size, const json_t *o)
{
	if (json_is_integer(json_object_get(o, "age_seconds")))
		sm_pipeline_status_age(buf, size, num(o, "age_seconds"));
	else
		snprintf(buf, size, "never");
}

/* A status word ("critical") in capitals, coloured when asked. */
static void print_word(FILE *out, const char *word, int pad, bool color)
{
	static const struct {
		const char *word;
		enum sm_color color;
	} colors[] = {
	    {"ok", SM_COLOR_GREEN},        {"info", SM_COLOR_GREEN},   {"warning", SM_COLOR_YELLOW},
	    {"unknown", SM_COLOR_MAGENTA}, {"critical", SM_COLOR_RED}, {"failed", SM_COLOR_RED},
	};
	enum sm_color c = SM_COLOR_NONE;
	int n = 0;

	for (size_t i = 0; i < sizeof colors / sizeof colors[0]; i++)
		if (strcmp(colors[i].word, word) == 0)
			c = colors[i].color;
	if (color)
		fputs(sm_term_start(c), out);
	for (const char *p = word; *p; p++, n++)
		fputc(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p, out);
	if (color)
		fputs(sm_term_reset(), out);
	fprintf(out, "%*s", pad > n ? pad - n : 0, "");
}

/* text, cut (on a UTF-8 boundary) to what is left of width after used
 * columns, and a newline. */
static void print_rest(FILE *out, const char *text, int used, int width)
{
	size_t n = strlen(text);

	if (width > 0 && n > (size_t)(width > used + 1 ? width - used - 1 : 1)) {
		n = (size_t)(width > used + 1 ? width - used - 1 : 1);
		while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
			n--;
	}
	fprintf(out, "%.*s\n", (int)n, text);
}

static void print_hosts(const json_t *status, FILE *out, bool color, int width)
{
	const json_t *h, *c;
	size_t i, k;

	json_array_foreach(json_object_get(status, "hosts"), i, h)
	{
		const json_t *agent = json_object_get(h, "agent");
		char age[32];
		fprintf(out, "host %s", str(h, "hostname"));
		if (json_is_true(json_object_get(h, "this_host")))
			fprintf(out, " (this host)");
		if (json_is_object(agent)) {
			age_of(age, sizeof age, agent);
			fprintf(out, " (agent %s, last push %s)", str(agent, "instance_id"), age);
		}
		fputc('\n', out);
		if (json_array_size(json_object_get(h, "checks")) == 0)
			fprintf(out, "  no check results\n");
		json_array_foreach(json_object_get(h, "checks"), k, c)
		{
			age_of(age, sizeof age, c);
			fprintf(out, "  %-16s ", str(c, "checker"));
			print_word(out, str(c, "status"), 9, color);
			fprintf(out, "%-12s ", age);
			print_rest(out, str(c, "message"), 2 + 17 + 9 + 13, width);
		}
	}
}

static void print_incidents(const json_t *status, FILE *out, bool color, int width)
{
	const json_t *inc = json_object_get(status, "incidents"), *o;
	size_t i;

	fprintf(out, "incidents: %lld open (%lld critical, %lld warning, %lld info)\n",
	        num(inc, "open"), num(inc, "critical"), num(inc, "warning"), num(inc, "info"));
	json_array_foreach(json_object_get(inc, "latest"), i, o)
	{
		char id[32], age[32];
		snprintf(id, sizeof id, "#%lld", num(o, "id"));
		age_of(age, sizeof age, o);
		fprintf(out, "  %-8s ", id);
		print_word(out, str(o, "severity"), 9, color);
		fprintf(out, "%-13s %-12s ", str(o, "status"), age);
		print_rest(out, str(o, "title"), 2 + 9 + 9 + 14 + 13, width);
	}
	if (num(inc, "open") > (long long)json_array_size(json_object_get(inc, "latest")))
		fprintf(out, "  (%lld more: sm-ingest incidents)\n",
		        num(inc, "open") -
		            (long long)json_array_size(json_object_get(inc, "latest")));
}

/* "    " lead, matchers as {a="b", c=~"d"}, " by who" and ": text" when
 * not empty, cut to width. */
static void noise_line(FILE *out, const char *lead, const json_t *matchers, const char *who,
                       const char *text, int width)
{
	char *line = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&line, &len);
	const json_t *m;
	size_t i;

	if (!mem)
		return;
	fprintf(mem, "%s: {", lead);
	json_array_foreach(matchers, i, m)
	{
		fprintf(mem, "%s%s", i ? ", " : "",
		        json_string_value(m) ? json_string_value(m) : "");
	}
	fputc('}', mem);
	if (who && *who)
		fprintf(mem, " by %s", who);
	if (text && *text)
		fprintf(mem, ": %s", text);
	if (fclose(mem) == 0) {
		fputs("    ", out);
		print_rest(out, line, 4, width);
	}
	free(line);
}

static void print_noise(const json_t *status, FILE *out, int width)
{
	const json_t *sil = json_object_get(status, "silences"), *o;
	const json_t *maint = json_object_get(status, "maintenance");
	size_t i;
	long long more;

	fprintf(out, "silences: %lld active, %lld pending; maintenance windows: %lld open\n",
	        num(sil, "active"), num(sil, "pending"), num(maint, "open"));
	json_array_foreach(json_object_get(sil, "latest"), i, o)
	{
		char lead[96] = "", left[32], *ago;
		struct timespec ts;
		struct tm tm;
		if (sm_rfc3339_parse(str(o, "ends_at"), &ts) == 1 && localtime_r(&ts.tv_sec, &tm))
			strftime(lead, sizeof lead, "until %Y-%m-%d %H:%M", &tm);
		sm_term_age(left, sizeof left, num(o, "remaining_seconds"));
		if ((ago = strstr(left, " ago")) != NULL)
			snprintf(ago, sizeof left - (size_t)(ago - left), " left");
		snprintf(lead + strlen(lead), sizeof lead - strlen(lead), " (%s)", left);
		fprintf(out, "  silence %s, held back %lld\n", str(o, "id"), num(o, "held_back"));
		noise_line(out, lead, json_object_get(o, "matchers"), str(o, "author"),
		           str(o, "comment"), width);
	}
	more = num(sil, "active") - (long long)json_array_size(json_object_get(sil, "latest"));
	if (more > 0)
		fprintf(out, "  (%lld more silences: sm-notify silence list)\n", more);
	json_array_foreach(json_object_get(maint, "windows"), i, o)
	{
		char lead[256];
		snprintf(lead, sizeof lead, "%s%s%s%s", str(o, "schedule"),
		         *str(o, "tz") ? " (" : "", str(o, "tz"), *str(o, "tz") ? ")" : "");
		fprintf(out, "  window %s, held back %lld\n", str(o, "id"), num(o, "held_back"));
		noise_line(out, lead, json_object_get(o, "matchers"), NULL, str(o, "comment"),
		           width);
	}
	more = num(maint, "open") - (long long)json_array_size(json_object_get(maint, "windows"));
	if (more > 0)
		fprintf(out, "  (%lld more windows: sm-notify maintenance list)\n", more);
}

static void print_runs(const json_t *status, FILE *out, bool color, int width)
{
	const json_t *runs = json_object_get(status, "runs"), *o;
	size_t i;

	fprintf(out, "runs: %lld failed in the last day\n", num(runs, "failed_last_day"));
	json_array_foreach(json_object_get(runs, "latest"), i, o)
	{
		char age[32];
		age_of(age, sizeof age, o);
		fprintf(out, "  %-36s %-16s ", str(o, "run_id"), str(o, "definition"));
		print_word(out, str(o, "status"), 9, color);
		fprintf(out, "%-12s ", age);
		print_rest(out, str(o, "error"), 2 + 37 + 17 + 9 + 13, width);
	}
}

/* Write text to out without the spaces that padding left at line ends. */
static void put_trimmed(FILE *out, const char *text, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		size_t end = i;
		if (text[i] != '\n')
			continue;
		while (end > start && text[end - 1] == ' ')
			end--;
		fwrite(text + start, 1, end - start, out);
		fputc('\n', out);
		start = i + 1;
	}
}

void sm_pipeline_status_print(const json_t *status, FILE *out, bool color, int width)
{
	const json_t *queue = json_object_get(status, "queue");
	struct timespec ts = {0};
	char when[64] = "", *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	struct tm tm;

	if (!mem)
		return;
	if (sm_rfc3339_parse(str(status, "generated_at"), &ts) == 1 && localtime_r(&ts.tv_sec, &tm))
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %Z", &tm);
	fprintf(mem, "sm status ");
	print_word(mem, str(status, "status"), 0, color);
	fprintf(mem, " at %s\n", when);
	print_hosts(status, mem, color, width);
	print_incidents(status, mem, color, width);
	print_noise(status, mem, width);
	fprintf(mem, "queue: %lld pending, %lld claimed, %lld failed\n", num(queue, "pending"),
	        num(queue, "claimed"), num(queue, "failed"));
	print_runs(status, mem, color, width);
	if (fclose(mem) == 0)
		put_trimmed(out, text, len);
	free(text);
}
