/* notify_noise.c - what noise control says about one envelope, read from
 * the store before the decision (notify_decide.c) so the decision stays a
 * pure function. Each alert concerned is looked up on its own: the first
 * active silence whose matchers hold, the first inhibit rule with a firing
 * alert of the store that inhibits it (Alertmanager's inhibit_rules), the
 * first maintenance window open now. The envelope is then held back only
 * when every alert concerned is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify_private.h"
#include "sm/json.h"
#include "sm/matcher.h"
#include "sm/noise.h"
#include "sm/rfc3339.h"

/* A stored row's id and matchers, parsed (a row whose matchers no longer
 * parse matches nothing), with the row's text it was parsed from. */
struct selector {
	char *id;
	char *text; /* the row's columns, joined: parsed again only when it changes */
	sm_matchers matchers;
	sm_matchers target;         /* inhibit rules: source in matchers */
	json_t *equal;              /* inhibit rules: label names */
	sm_noise_schedule schedule; /* windows */
	char *zone;                 /* windows */
	char *starts, *ends;        /* silences: when they hold (RFC 3339, UTC) */
	bool parsed;                /* every part parsed */
	bool usable;                /* parsed, and (silences, windows) holding now */
};

struct selectors {
	struct selector **items;
	size_t count;
};

/* What a notifier keeps between envelopes: the rows of each kind as last
 * read and parsed, and the store's configuration version they were read
 * at (sm_store_config_version; -1: not read yet). While it stays, the
 * rows are not read again: whether each holds at the envelope's time is
 * judged then. */
struct notify_noise_cache {
	struct selectors kinds[3];
	sqlite3_int64 version;
};

static void selector_free(struct selector *s)
{
	if (!s)
		return;
	free(s->id);
	free(s->text);
	sm_matchers_clear(&s->matchers);
	sm_matchers_clear(&s->target);
	json_decref(s->equal);
	free(s->zone);
	free(s->starts);
	free(s->ends);
	free(s);
}

static void selectors_clear(struct selectors *s)
{
	for (size_t i = 0; i < s->count; i++)
		selector_free(s->items[i]);
	free(s->items);
	s->items = NULL;
	s->count = 0;
}

struct notify_noise_cache *notify_noise_cache_new(void)
{
	struct notify_noise_cache *c = calloc(1, sizeof *c);

	if (c)
		c->version = -1;
	return c;
}

void notify_noise_cache_free(struct notify_noise_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < sizeof c->kinds / sizeof c->kinds[0]; i++)
		selectors_clear(&c->kinds[i]);
	free(c);
}

static bool parse_json_matchers(const unsigned char *text, sm_matchers *out)
{
	json_t *a = json_loads(text ? (const char *)text : "", 0, NULL);
	sm_error err;
	bool ok = a && sm_matchers_from_json(out, a, &err) == 0;

	json_decref(a);
	return ok;
}

/* Each row of sql (now bound as ?1 when it asks): column 0 the id, 1 the
 * matchers; inhibit rules add 2 the target and 3 equal; windows add 2 the
 * schedule and 3 the zone; silences add 2 and 3 when they start and end,
 * every silence not ended by now (one not started yet holds once it
 * starts, without a change to the store). */
enum kind { SILENCES, INHIBIT_RULES, WINDOWS };

static const char *const kind_sql[] = {
    [SILENCES] = "SELECT id, matchers, starts_at, ends_at FROM silences WHERE ends_at > ?1"
                 " ORDER BY created_at, rowid",
    [INHIBIT_RULES] = "SELECT id, source_matchers, target_matchers, equal FROM inhibit_rules"
                      " ORDER BY created_at, rowid",
    [WINDOWS] = "SELECT id, matchers, schedule, tz FROM maintenance_windows"
                " ORDER BY created_at, rowid",
};

static const char *column(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return v ? (const char *)v : "";
}

/* A new selector parsed from the current row of st (text is the row's
 * columns joined, taken). NULL when out of memory. */
static struct selector *parse_row(enum kind kind, sqlite3_stmt *st, char *text)
{
	struct selector *s = calloc(1, sizeof *s);

	if (!s || !(s->id = strdup(column(st, 0)))) {
		free(s);
		free(text);
		return NULL;
	}
	s->text = text;
	s->parsed = parse_json_matchers(sqlite3_column_text(st, 1), &s->matchers);
	if (kind == INHIBIT_RULES) {
		s->parsed =
		    s->parsed && parse_json_matchers(sqlite3_column_text(st, 2), &s->target);
		s->equal = json_loads(column(st, 3), 0, NULL);
	} else if (kind == WINDOWS) {
		sm_error e;
		s->zone = strdup(column(st, 3));
		s->parsed = s->parsed && s->zone &&
		            sm_noise_schedule_parse(column(st, 2), &s->schedule, &e) == 0;
	} else {
		s->starts = strdup(column(st, 2));
		s->ends = strdup(column(st, 3));
		s->parsed = s->parsed && s->starts && s->ends;
	}
	return s;
}

/* The rows of kind as of now into *rows, each parsed anew only when its
 * text is not one of *rows' already (those are reused, the others freed). */
static int load(sm_store *store, enum kind kind, time_t now, struct selectors *rows, sm_error *err)
{
	char at[SM_RFC3339_LEN];
	struct timespec ts = {now, 0};
	sqlite3_stmt *st = sm_store_prepare_kept(store, kind_sql[kind], err);
	struct selectors fresh = {0};
	int step;

	if (!st)
		return -1;
	sm_rfc3339_format(at, &ts, false);
	if (sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_text(st, 1, at, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct selector **items = realloc(fresh.items, (fresh.count + 1) * sizeof *items),
		                *s = NULL;
		char *text = NULL;

		if (items)
			fresh.items = items;
		if (!items || asprintf(&text, "%s\x1f%s\x1f%s\x1f%s", column(st, 0), column(st, 1),
		                       column(st, 2), column(st, 3)) < 0)
			goto oom;
		for (size_t i = 0; i < rows->count && !s; i++)
			if (rows->items[i] && strcmp(rows->items[i]->text, text) == 0) {
				s = rows->items[i];
				rows->items[i] = NULL;
			}
		if (s)
			free(text);
		else if (!(s = parse_row(kind, st, text)))
			goto oom;
		fresh.items[fresh.count++] = s;
	}
	sqlite3_reset(st);
	if (step != SQLITE_DONE) {
		sm_error_set(err, "cannot read noise control: %s",
		             sqlite3_errmsg(sm_store_db(store)));
		selectors_clear(&fresh);
		return -1;
	}
	selectors_clear(rows);
	*rows = fresh;
	return 0;
oom:
	sqlite3_reset(st);
	selectors_clear(&fresh);
	sm_error_set(err, "out of memory");
	return -1;
}

/* The firing alerts of the store, shaped like an envelope's alerts
 * (name, severity, labels) plus their source and fingerprint. */
static int firing_alerts(sm_store *store, json_t **out, sm_error *err)
{
	sqlite3_stmt *st =
	    sm_store_prepare_kept(store,
	                          "SELECT source, fingerprint, name, severity, labels "
	                          "FROM alerts WHERE status = 'firing'",
	                          err);
	json_t *list = json_array();
	int step;

	if (!st || !list) {
		json_decref(list);
		return -1;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *text = column(st, 4);
		json_t *labels = sm_json_parse(text, strlen(text), 0, NULL);
		json_array_append_new(
		    list,
		    json_pack("{s:s,s:s,s:s,s:s,s:o}", "source", sqlite3_column_text(st, 0),
		              "fingerprint", sqlite3_column_text(st, 1), "name",
		              sqlite3_column_text(st, 2), "severity", sqlite3_column_text(st, 3),
		              "labels", json_is_object(labels) ? labels : json_object()));
		if (!json_is_object(labels))
			json_decref(labels);
	}
	sqlite3_reset(st);
	if (step != SQLITE_DONE) {
		sm_error_set(err, "cannot read the alerts: %s", sqlite3_errmsg(sm_store_db(store)));
		json_decref(list);
		return -1;
	}
	*out = list;
	return 0;
}

static bool same_alert(json_t *a, const char *source, json_t *b)
{
	const char *fa = json_string_value(json_object_get(a, "fingerprint")),
	           *fb = json_string_value(json_object_get(b, "fingerprint")),
	           *sb = json_string_value(json_object_get(b, "source"));

	return fa && fb && sb && source && strcmp(fa, fb) == 0 && strcmp(source, sb) == 0;
}

/* The firing alert that inhibits alert through rule r, or NULL. As in
 * Alertmanager: the target matchers hold for alert; a source alert
 * matches the source matchers and has alert's values of the equal labels
 * (a missing label is ""); when alert matches the source matchers too,
 * source alerts that match the target matchers are passed over, so two
 * alerts matching both sides do not silence each other. */
static json_t *inhibitor(const struct selector *r, json_t *alert, const char *source,
                         json_t *firing)
{
	json_t *f, *name;
	size_t i, k;
	bool two_sided;

	if (!r->usable || !sm_matchers_match(&r->target, alert))
		return NULL;
	two_sided = sm_matchers_match(&r->matchers, alert);
	json_array_foreach(firing, i, f)
	{
		bool equal = true;
		if (same_alert(alert, source, f) || !sm_matchers_match(&r->matchers, f))
			continue;
		json_array_foreach(r->equal, k, name)
		{
			const char *label = json_string_value(name);
			equal =
			    equal && label &&
			    strcmp(sm_matcher_value(alert, label), sm_matcher_value(f, label)) == 0;
		}
		if (equal && !(two_sided && sm_matchers_match(&r->target, f)))
			return f;
	}
	return NULL;
}

static const struct selector *first_match(const struct selectors *s, json_t *alert)
{
	for (size_t i = 0; i < s->count; i++)
		if (s->items[i]->usable && sm_matchers_match(&s->items[i]->matchers, alert))
			return s->items[i];
	return NULL;
}

/* Which rows of c hold at now: a silence between its start and its end, a
 * window open then, any rule whose every part parsed. */
static void holding_at(struct notify_noise_cache *c, time_t now)
{
	char at[SM_RFC3339_LEN];
	struct timespec ts = {now, 0};

	sm_rfc3339_format(at, &ts, false);
	for (size_t k = 0; k < sizeof c->kinds / sizeof c->kinds[0]; k++)
		for (size_t i = 0; i < c->kinds[k].count; i++) {
			struct selector *s = c->kinds[k].items[i];
			s->usable = s->parsed;
			if (s->usable && k == SILENCES)
				s->usable = strcmp(s->starts, at) <= 0 && strcmp(s->ends, at) > 0;
			else if (s->usable && k == WINDOWS)
				s->usable = sm_noise_schedule_active_at(&s->schedule, s->zone, now);
		}
}

int notify_noise_find(sm_store *store, struct notify_noise_cache *cache, json_t *env, time_t now,
                      struct notify_noise *noise, sm_error *err)
{
	struct notify_noise_cache own = {0}, *c = cache ? cache : &own;
	struct selectors *silences = &c->kinds[SILENCES], *rules = &c->kinds[INHIBIT_RULES],
	                 *windows = &c->kinds[WINDOWS];
	json_t *alerts = json_object_get(env, "alerts"), *a, *firing = NULL;
	const char *source = json_string_value(json_object_get(env, "source"));
	bool any_firing = false, all_s = true, all_si = true, all_sim = true;
	sqlite3_int64 version;
	size_t i;
	int rc = -1;

	memset(noise, 0, sizeof *noise);
	if (json_array_size(alerts) == 0)
		return 0;
	json_array_foreach(alerts, i, a)
	{
		any_firing = any_firing || notify_str_is(a, "status", "firing");
	}
	/* Read again once the configuration moved on (a silence added while a
	 * filter runs holds back its next envelope), or every time when its
	 * version cannot be read or nothing is kept. */
	version = cache ? sm_store_config_version(store) : -1;
	if (version < 0 || version != c->version) {
		c->version = -1;
		if (load(store, SILENCES, now, silences, err) < 0 ||
		    load(store, INHIBIT_RULES, now, rules, err) < 0 ||
		    load(store, WINDOWS, now, windows, err) < 0)
			goto done;
		c->version = version;
	}
	holding_at(c, now);
	if (rules->count > 0 && firing_alerts(store, &firing, err) < 0)
		goto done;
	json_array_foreach(alerts, i, a)
	{
		const struct selector *s, *w = NULL;
		json_t *by = NULL;

		if (any_firing && !notify_str_is(a, "status", "firing"))
			continue;
		s = first_match(silences, a);
		for (size_t r = 0; !by && r < rules->count; r++)
			by = inhibitor(rules->items[r], a, source, firing);
		w = first_match(windows, a);
		all_s = all_s && s;
		all_si = all_si && (s || by);
		all_sim = all_sim && (s || by || w);
		if (s && !*noise->silenced)
			snprintf(noise->silenced, sizeof noise->silenced, "silenced by %s", s->id);
		if (by && !*noise->inhibited) {
			const char *instance = sm_matcher_value(by, "instance");
			snprintf(noise->inhibited, sizeof noise->inhibited,
			         "inhibited by %.128s%s%.128s", sm_matcher_value(by, "alertname"),
			         *instance ? " on " : "", instance);
		}
		if (w && !*noise->maintenance)
			snprintf(noise->maintenance, sizeof noise->maintenance, "maintenance %s",
			         w->id);
	}
	/* Each finding stands only when it, or one before it, holds back every
	 * alert concerned. */
	if (!all_s)
		*noise->silenced = '\0';
	if (!all_si)
		*noise->inhibited = '\0';
	if (!all_sim)
		*noise->maintenance = '\0';
	rc = 0;
done:
	if (rc < 0)
		memset(noise, 0, sizeof *noise);
	json_decref(firing);
	for (size_t k = 0; k < sizeof own.kinds / sizeof own.kinds[0]; k++)
		selectors_clear(&own.kinds[k]);
	return rc;
}
