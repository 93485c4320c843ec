/* pipeline_status_html.c - the status page (see pipeline_status_html.h):
 * sm_pipeline_status's summary as HTML, with SVG charts and a timeline
 * drawn from queries that return a fixed number of rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sm/auth.h"
#include "sm/config.h"
#include "sm/log.h"
#include "sm/pipeline_status.h"
#include "sm/pipeline_status_html.h"
#include "sm/rfc3339.h"

#define DAY  86400
#define WEEK (7 * DAY)

/* The charts of each host: the number SM_STORE_CHART_VALUE takes from a
 * checker's metrics. */
static const struct chart {
	const char *title, *checker, *unit;
	double max; /* the top of the scale; 0: the largest value (at least 1) */
} charts[] = {
    {"cpu", "cpu", "%", 100},
    {"memory", "memory", "%", 100},
    {"disk (fullest)", "disk", "%", 100},
    {"load per CPU (1 min)", "load", "", 0},
};

static const struct window {
	const char *name, *start_label;
	int seconds, points;
} windows[] = {
    {"24 hours", "-24 h", DAY, SM_STATUS_HTML_DAY_POINTS},
    {"7 days", "-7 d", WEEK, SM_STATUS_HTML_WEEK_POINTS},
};

/* The chart's geometry, in the SVG's user units. */
#define CW 320 /* width */
#define CH 96  /* height */
#define PT 12  /* plot top */
#define PB 84  /* plot bottom */

static int store_error(sm_store *store, sm_error *err)
{
	sm_error_set(err, "%s: %s", sm_store_path(store), sqlite3_errmsg(sm_store_db(store)));
	return -1;
}

/* s as HTML text or attribute value: the five characters that mean
 * something in either are written as references. */
static void esc(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		default:
			fputc(*s, out);
		}
	}
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

/* A status word as a badge; the class is one of a fixed set, never the
 * stored text. */
static void badge(FILE *out, const char *word)
{
	static const char *const known[] = {"ok",      "info",         "warning",  "critical",
	                                    "unknown", "failed",       "notified", "checked",
	                                    "open",    "acknowledged", "resolved", "closed"};
	const char *cls = "other";

	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcmp(word, known[i]) == 0)
			cls = known[i];
	fprintf(out, "<span class=\"b %s\">", cls);
	esc(out, word);
	fputs("</span>", out);
}

/* A time of the summary (RFC 3339 UTC) with its age: readable as UTC, the
 * script rewrites it in the reader's zone. */
static void when(FILE *out, const json_t *o, const char *name)
{
	const char *t = str(o, name);
	char age[32];

	if (!*t) {
		fputs("never", out);
		return;
	}
	sm_pipeline_status_age(age, sizeof age, num(o, "age_seconds"));
	fputs("<time datetime=\"", out);
	esc(out, t);
	fputs("\">", out);
	fprintf(out, "%.10s %.8s UTC", t, strlen(t) >= 19 ? t + 11 : "");
	fprintf(out, "</time> <span class=\"age\">(%s)</span>", age);
}

static const char style[] =
    "<style>\n"
    ":root{color-scheme:light dark;--fg:#1d2330;--mute:#687083;--bg:#fff;--card:#f5f6f8;"
    "--line:#d8dbe2;--ok:#1f8a4c;--warn:#b7791f;--crit:#c53030;--unk:#805ad5;--plot:#2b6cb0}\n"
    "@media (prefers-color-scheme:dark){:root{--fg:#e2e6ee;--mute:#9aa3b5;--bg:#14171d;"
    "--card:#1d222b;--line:#333a47;--plot:#63b3ed}}\n"
    "body{font:14px/1.4 system-ui,sans-serif;color:var(--fg);background:var(--bg);margin:0 "
    "auto;padding:1em;max-width:1200px}\n"
    "h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;margin:1.4em 0 .4em;border-bottom:1px "
    "solid var(--line)}h3{font-size:1em;margin:.8em 0 .3em}\n"
    "table{border-collapse:collapse;width:100%;margin:.3em 0}td,th{text-align:left;padding:2px "
    "8px 2px 0;vertical-align:top;border-bottom:1px solid var(--line)}th{color:var(--mute);"
    "font-weight:600}\n"
    ".age,.mute,figcaption{color:var(--mute)}.host{background:var(--card);border-radius:6px;"
    "padding:.3em 1em .8em;margin:.8em 0}\n"
    ".b{display:inline-block;min-width:5em;font-weight:600;text-transform:uppercase;"
    "font-size:.85em}\n"
    ".b.ok,.b.info,.b.notified,.b.checked,.b.resolved,.b.closed{color:var(--ok)}"
    ".b.warning,.b.acknowledged{color:var(--warn)}.b.critical,.b.failed,.b.open{color:var("
    "--crit)}.b.unknown,.b.other{color:var(--unk)}\n"
    ".charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:.6em}"
    "figure{margin:0}figcaption{font-size:.85em}\n"
    "svg{display:block;width:100%;height:auto}svg text{font-size:9px;fill:var(--mute)}"
    ".grid{stroke:var(--line);stroke-width:.5}.area{fill:var(--plot);opacity:.18}"
    ".line{fill:none;stroke:var(--plot);stroke-width:1.4}.dot{fill:var(--plot)}\n"
    ".bar.critical{fill:var(--crit)}.bar.warning{fill:var(--warn)}.bar.info{fill:var(--ok)}"
    ".bar.ended{opacity:.45}\n"
    "</style>\n";

/* Reload over HTTP every minute while the page is shown, show times in
 * the reader's zone, and a tooltip with the figures of the point under
 * the pointer (from data-points). Nothing else depends on it. */
static const char script[] =
    "<div id=\"tip\" hidden style=\"position:fixed;pointer-events:none;background:var(--card);"
    "border:1px solid var(--line);border-radius:4px;padding:2px 6px;font-size:12px\"></div>\n"
    "<script>\n"
    "document.querySelectorAll('time[datetime]').forEach(function(t){"
    "var d=new Date(t.getAttribute('datetime'));"
    "if(!isNaN(d))t.textContent=d.toLocaleString();});\n"
    "var tip=document.getElementById('tip');\n"
    "document.querySelectorAll('svg.chart[data-points]').forEach(function(s){"
    "var p=s.getAttribute('data-points').split(';'),start=+s.getAttribute('data-start'),"
    "step=+s.getAttribute('data-step'),u=s.getAttribute('data-unit');"
    "s.addEventListener('mousemove',function(e){"
    "var r=s.getBoundingClientRect(),i=Math.floor((e.clientX-r.left)/r.width*p.length);"
    "if(!p[i]){tip.hidden=true;return;}var v=p[i].split(',');"
    "tip.textContent=new Date((start+i*step)*1000).toLocaleString()+': '+v[0]+u+' ('+v[1]+"
    "' to '+v[2]+')';tip.style.left=(e.clientX+12)+'px';tip.style.top=(e.clientY+12)+'px';"
    "tip.hidden=false;});"
    "s.addEventListener('mouseleave',function(){tip.hidden=true;});});\n"
    "if(location.protocol.indexOf('http')===0)setInterval(function(){"
    "if(!document.hidden)location.reload();},60000);\n"
    "</script>\n";

/* --- charts ----------------------------------------------------------------- */

/* The points of one chart: per bucket of the window, the average, lowest
 * and highest value, NaN where there was no result. */
struct series {
	int n;
	double avg[SM_STATUS_HTML_WEEK_POINTS], lo[SM_STATUS_HTML_WEEK_POINTS],
	    hi[SM_STATUS_HTML_WEEK_POINTS];
};

/* One GROUP BY over the range of the index (checker, hostname,
 * executed_at): at most w->points rows come back, however many results
 * the window holds. */
static int load_series(sqlite3_stmt *st, const char *host, const struct chart *c,
                       const struct window *w, time_t now, struct series *s)
{
	/* Up to the end of the second now: a result stored during it counts. */
	struct timespec from = {.tv_sec = now - w->seconds}, to = {.tv_sec = now + 1};
	char start[SM_RFC3339_LEN], end[SM_RFC3339_LEN];
	int step;

	s->n = w->points;
	for (int i = 0; i < s->n; i++)
		s->avg[i] = s->lo[i] = s->hi[i] = NAN;
	sm_rfc3339_format(start, &from, true);
	sm_rfc3339_format(end, &to, true);
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, c->checker, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, start, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, end, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(st, 5, (double)w->points / w->seconds * DAY);
	sqlite3_bind_int(st, 6, w->points - 1);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int b = sqlite3_column_int(st, 0);
		if (b < 0 || b >= s->n || sqlite3_column_type(st, 1) == SQLITE_NULL)
			continue;
		s->avg[b] = sqlite3_column_double(st, 1);
		s->lo[b] = sqlite3_column_double(st, 2);
		s->hi[b] = sqlite3_column_double(st, 3);
	}
	return step == SQLITE_DONE ? 0 : -1;
}

static double x_of(const struct series *s, int i)
{
	return (i + 0.5) * CW / s->n;
}

static double y_of(double v, double max)
{
	if (v < 0)
		v = 0;
	if (v > max)
		v = max;
	return PB - v / max * (PB - PT);
}

/* The band from lowest to highest and the line of averages, one piece per
 * run of buckets with results, so a gap stays a gap. */
static void draw_series(FILE *out, const struct series *s, double max)
{
	for (int i = 0; i < s->n;) {
		int j = i;
		if (isnan(s->avg[i])) {
			i++;
			continue;
		}
		while (j + 1 < s->n && !isnan(s->avg[j + 1]))
			j++;
		fputs("<path class=\"area\" d=\"", out);
		for (int k = i; k <= j; k++)
			fprintf(out, "%c%.1f %.1f", k == i ? 'M' : 'L', x_of(s, k),
			        y_of(s->hi[k], max));
		for (int k = j; k >= i; k--)
			fprintf(out, "L%.1f %.1f", x_of(s, k), y_of(s->lo[k], max));
		fputs("Z\"/><path class=\"line\" d=\"", out);
		for (int k = i; k <= j; k++)
			fprintf(out, "%c%.1f %.1f", k == i ? 'M' : 'L', x_of(s, k),
			        y_of(s->avg[k], max));
		fputs("\"/>", out);
		if (i == j) /* a lone point still shows */
			fprintf(out, "<circle class=\"dot\" cx=\"%.1f\" cy=\"%.1f\" r=\"1.8\"/>",
			        x_of(s, i), y_of(s->avg[i], max));
		i = j + 1;
	}
}

/* The chart's tooltip without the script: the window's average, lowest
 * and highest. */
static void summary(FILE *out, const struct chart *c, const struct window *w,
                    const struct series *s)
{
	double sum = 0, lo = NAN, hi = NAN;
	int n = 0;

	for (int i = 0; i < s->n; i++) {
		if (isnan(s->avg[i]))
			continue;
		sum += s->avg[i];
		n++;
		lo = isnan(lo) || s->lo[i] < lo ? s->lo[i] : lo;
		hi = isnan(hi) || s->hi[i] > hi ? s->hi[i] : hi;
	}
	fprintf(out, "<title>%s, %s: ", c->title, w->name);
	if (n)
		fprintf(out, "average %.2f%s, lowest %.2f%s, highest %.2f%s", sum / n, c->unit, lo,
		        c->unit, hi, c->unit);
	else
		fputs("no results", out);
	fputs("</title>", out);
}

static void draw_chart(FILE *out, const struct chart *c, const struct window *w,
                       const struct series *s, time_t now)
{
	double max = c->max, last = NAN;
	int bucket = w->seconds / s->n;

	for (int i = 0; i < s->n; i++) {
		if (!c->max && !isnan(s->hi[i]) && s->hi[i] > max)
			max = s->hi[i];
		if (!isnan(s->avg[i]))
			last = s->avg[i];
	}
	if (max < 1)
		max = 1;
	fprintf(out, "<figure><figcaption>%s, %s", c->title, w->name);
	if (!isnan(last))
		fprintf(out, ": <b>%.*f%s</b> now", c->max ? 1 : 2, last, c->unit);
	/* The points in data-points ("average,lowest,highest" per interval,
	 * empty without results), for the script's tooltips: a hover target
	 * per point would put thousands of elements in the page. */
	fprintf(out,
	        "</figcaption><svg class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\""
	        " role=\"img\" aria-label=\"%s, %s\" data-start=\"%lld\" data-step=\"%d\""
	        " data-unit=\"%s\" data-points=\"",
	        CW, CH, CW, CH, c->title, w->name, (long long)(now - w->seconds), bucket, c->unit);
	for (int i = 0; i < s->n; i++) {
		if (!isnan(s->avg[i]))
			fprintf(out, "%.2f,%.2f,%.2f", s->avg[i], s->lo[i], s->hi[i]);
		if (i + 1 < s->n)
			fputc(';', out);
	}
	fputs("\">", out);
	summary(out, c, w, s);
	fprintf(out,
	        "<line class=\"grid\" x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
	        "<line class=\"grid\" x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
	        "<line class=\"grid\" x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>",
	        PT, CW, PT, (PT + PB) / 2, CW, (PT + PB) / 2, PB, CW, PB);
	draw_series(out, s, max);
	fprintf(out,
	        "<text x=\"2\" y=\"%d\">%g%s</text><text x=\"2\" y=\"%d\">0</text>"
	        "<text x=\"0\" y=\"%d\">%s</text><text x=\"%d\" y=\"%d\" "
	        "text-anchor=\"end\">now</text></svg></figure>\n",
	        PT - 2, max, c->unit, PB - 2, CH - 2, w->start_label, CW, CH - 2);
}

static bool has_checker(const json_t *host, const char *checker)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(host, "checks"), i, c)
	{
		if (strcmp(str(c, "checker"), checker) == 0)
			return true;
	}
	return false;
}

static int write_charts(sm_store *store, FILE *out, const json_t *host, time_t now,
                        sqlite3_stmt *st, sm_error *err)
{
	struct series *s = malloc(sizeof *s);
	bool any = false;

	if (!s) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	for (size_t wi = 0; wi < sizeof windows / sizeof windows[0]; wi++) {
		for (size_t ci = 0; ci < sizeof charts / sizeof charts[0]; ci++) {
			if (!has_checker(host, charts[ci].checker))
				continue;
			if (!any)
				fputs("<div class=\"charts\">\n", out);
			any = true;
			if (load_series(st, str(host, "hostname"), &charts[ci], &windows[wi], now,
			                s) < 0) {
				free(s);
				return store_error(store, err);
			}
			draw_chart(out, &charts[ci], &windows[wi], s, now);
		}
	}
	if (any)
		fputs("</div>\n", out);
	free(s);
	return 0;
}

/* --- sections ----------------------------------------------------------------- */

static int write_hosts(sm_store *store, FILE *out, const json_t *status, time_t now, sm_error *err)
{
	/* Bucket b of the window [?3, ?4) at ?5 buckets a day (the last, ?6,
	 * takes the rest of the current second); the charted number comes
	 * from the index check_runs_checker, no row's metrics are parsed.
	 * MATERIALIZED takes it from the index before GROUP BY sorts: a
	 * flattened query would carry the metrics into the sort and parse
	 * them there (4 times the CPU). */
	sqlite3_stmt *st = sm_store_prepare(
	    store,
	    "WITH r AS MATERIALIZED (SELECT min(CAST((julianday(executed_at) - julianday(?3))"
	    " * ?5 AS INTEGER), ?6) AS b, " SM_STORE_CHART_VALUE " AS v FROM check_runs"
	    " WHERE checker = ?1 AND hostname = ?2 AND executed_at >= ?3 AND executed_at < ?4)"
	    " SELECT b, avg(v), min(v), max(v) FROM r WHERE typeof(v) IN ('integer', 'real')"
	    " GROUP BY b",
	    err);
	const json_t *h, *c;
	size_t i, k;
	int rc = 0;

	if (!st)
		return -1;
	fputs("<h2 id=\"hosts\">Hosts</h2>\n", out);
	json_array_foreach(json_object_get(status, "hosts"), i, h)
	{
		const json_t *agent = json_object_get(h, "agent");
		fputs("<section class=\"host\"><h3>", out);
		esc(out, str(h, "hostname"));
		if (json_is_true(json_object_get(h, "this_host")))
			fputs(" <span class=\"mute\">(this host)</span>", out);
		fputs("</h3>\n", out);
		if (json_is_object(agent)) {
			fputs("<p>agent <b>", out);
			esc(out, str(agent, "instance_id"));
			fputs("</b>, last push ", out);
			when(out, agent, "last_push_at");
			fprintf(out, ", %lld pushes</p>\n", num(agent, "pushes"));
		}
		if (json_array_size(json_object_get(h, "checks")) == 0) {
			fputs("<p class=\"mute\">no check results</p></section>\n", out);
			continue;
		}
		fputs("<table><tr><th>checker</th><th>status</th><th>when</th><th>message</th></"
		      "tr>\n",
		      out);
		json_array_foreach(json_object_get(h, "checks"), k, c)
		{
			fputs("<tr><td>", out);
			esc(out, str(c, "checker"));
			fputs("</td><td>", out);
			badge(out, str(c, "status"));
			fputs("</td><td>", out);
			when(out, c, "executed_at");
			fputs("</td><td>", out);
			esc(out, str(c, "message"));
			fputs("</td></tr>\n", out);
		}
		fputs("</table>\n", out);
		if ((rc = write_charts(store, out, h, now, st, err)) < 0)
			break;
		fputs("</section>\n", out);
	}
	sqlite3_finalize(st);
	return rc;
}

/* An incident on the timeline: from its creation (or the window's start)
 * to its end (resolved or closed) or now. */
struct bar {
	long long id;
	char *title, *severity, *status;
	time_t from, to;
	bool ended;
};

static time_t parse_time(const unsigned char *text, time_t fallback)
{
	struct timespec ts;

	return text && sm_rfc3339_parse((const char *)text, &ts) == 1 ? ts.tv_sec : fallback;
}

static char *dup_column(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return strdup(s ? (const char *)s : "");
}

/* The newest changed open incidents, then the newest ended in the window,
 * each a seek in the index (status, updated_at). */
static int load_bars(sm_store *store, time_t now, struct bar *bars, int *nbars,
                     long long *ended_total, sm_error *err)
{
	static const char *const sql[] = {
	    ("SELECT * FROM (SELECT id, title, severity, status, created_at, NULL FROM incidents"
	     " WHERE status = 'open' ORDER BY updated_at DESC LIMIT ?2) UNION ALL SELECT * FROM"
	     " (SELECT id, title, severity, status, created_at, NULL FROM incidents"
	     " WHERE status = 'acknowledged' ORDER BY updated_at DESC LIMIT ?2)"
	     " ORDER BY 1 DESC LIMIT ?2"),
	    ("SELECT * FROM (SELECT id, title, severity, status, created_at, coalesce(resolved_at,"
	     " closed_at, updated_at) FROM incidents WHERE status = 'resolved' AND updated_at >= ?1"
	     " ORDER BY updated_at DESC LIMIT ?2) UNION ALL SELECT * FROM (SELECT id, title,"
	     " severity, status, created_at, coalesce(resolved_at, closed_at, updated_at) FROM"
	     " incidents WHERE status = 'closed' AND updated_at >= ?1 ORDER BY updated_at DESC"
	     " LIMIT ?2) ORDER BY 1 DESC LIMIT ?2"),
	    ("SELECT count(*) FROM incidents WHERE status IN ('resolved', 'closed')"
	     " AND updated_at >= ?1"),
	};
	struct timespec since = {.tv_sec = now - WEEK};
	char start[SM_RFC3339_LEN];
	int rc = 0;

	sm_rfc3339_format(start, &since, true);
	for (size_t q = 0; rc == 0 && q < 3; q++) {
		sqlite3_stmt *st = sm_store_prepare(store, sql[q], err);
		int step;
		if (!st)
			return -1;
		sqlite3_bind_text(st, 1, start, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, SM_STATUS_HTML_TIMELINE);
		while ((step = sqlite3_step(st)) == SQLITE_ROW) {
			struct bar *b = &bars[*nbars];
			if (q == 2) {
				*ended_total = sqlite3_column_int64(st, 0);
				continue;
			}
			b->id = sqlite3_column_int64(st, 0);
			b->title = dup_column(st, 1);
			b->severity = dup_column(st, 2);
			b->status = dup_column(st, 3);
			b->from = parse_time(sqlite3_column_text(st, 4), now);
			b->ended = q == 1;
			b->to = b->ended ? parse_time(sqlite3_column_text(st, 5), now) : now;
			(*nbars)++;
		}
		if (step != SQLITE_DONE)
			rc = store_error(store, err);
		sqlite3_finalize(st);
	}
	return rc;
}

#define TL_W     900 /* the timeline's width */
#define TL_LABEL 300 /* of which the labels take */
#define TL_ROW   16

static void draw_timeline(FILE *out, const struct bar *bars, int n, time_t now)
{
	const double span = TL_W - TL_LABEL;
	int height = (n + 1) * TL_ROW + 8;

	fprintf(out,
	        "<svg class=\"timeline\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\""
	        " role=\"img\" aria-label=\"incidents of the last 7 days\">",
	        TL_W, height, TL_W, height);
	for (int d = 0; d <= 7; d++) {
		double x = TL_LABEL + span * d / 7;
		fprintf(out,
		        "<line class=\"grid\" x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"%d\"/>"
		        "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\">%s%d d</text>",
		        x, x, n * TL_ROW, x, height - 4, d == 7 ? "end" : "middle",
		        d == 7 ? "" : "-", 7 - d);
	}
	for (int i = 0; i < n; i++) {
		const struct bar *b = &bars[i];
		time_t from = b->from < now - WEEK ? now - WEEK : b->from;
		time_t to = b->to < from ? from : b->to > now ? now : b->to;
		double x = TL_LABEL + span * (double)(from - (now - WEEK)) / WEEK;
		double w = span * (double)(to - from) / WEEK;
		struct timespec f = {.tv_sec = b->from}, t = {.tv_sec = b->to};
		char ft[SM_RFC3339_LEN], tt[SM_RFC3339_LEN];
		sm_rfc3339_format(ft, &f, false);
		sm_rfc3339_format(tt, &t, false);
		fprintf(out, "<text x=\"0\" y=\"%d\">#%lld ", i * TL_ROW + 12, b->id);
		/* Long titles are cut by the label's width (clipped by the SVG
		 * text's length on a whole character). */
		if (strlen(b->title) > 44) {
			size_t cut = 44;
			while (cut > 0 && ((unsigned char)b->title[cut] & 0xc0) == 0x80)
				cut--;
			char *short_title = strndup(b->title, cut);
			esc(out, short_title);
			fputs("…", out);
			free(short_title);
		} else {
			esc(out, b->title);
		}
		fprintf(out,
		        "</text><rect class=\"bar %s%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\""
		        " height=\"%d\"><title>#%lld ",
		        strcmp(b->severity, "critical") == 0  ? "critical"
		        : strcmp(b->severity, "warning") == 0 ? "warning"
		                                              : "info",
		        b->ended ? " ended" : "", x, i * TL_ROW + 3, w < 2 ? 2 : w, TL_ROW - 5,
		        b->id);
		esc(out, b->title);
		fputs(" (", out);
		esc(out, b->severity);
		fputs(", ", out);
		esc(out, b->status);
		fprintf(out, ") %.10s %.8s UTC", ft, ft + 11);
		if (b->ended)
			fprintf(out, " to %.10s %.8s UTC", tt, tt + 11);
		fputs("</title></rect>\n", out);
	}
	fputs("</svg>\n", out);
}

static int write_incidents(sm_store *store, FILE *out, const json_t *status, time_t now,
                           sm_error *err)
{
	const json_t *inc = json_object_get(status, "incidents");
	struct bar bars[2 * SM_STATUS_HTML_TIMELINE] = {{0}};
	long long ended = 0;
	int n = 0, rc;

	fprintf(out,
	        "<h2 id=\"incidents\">Incidents</h2>\n<p>%lld open: %lld critical, %lld warning, "
	        "%lld info.</p>\n",
	        num(inc, "open"), num(inc, "critical"), num(inc, "warning"), num(inc, "info"));
	if (json_array_size(json_object_get(inc, "latest")) > 0) {
		const json_t *o;
		size_t i;
		fputs("<table><tr><th>id</th><th>severity</th><th>status</th><th>changed</th>"
		      "<th>title</th></tr>\n",
		      out);
		json_array_foreach(json_object_get(inc, "latest"), i, o)
		{
			fprintf(out, "<tr><td>#%lld</td><td>", num(o, "id"));
			badge(out, str(o, "severity"));
			fputs("</td><td>", out);
			badge(out, str(o, "status"));
			fputs("</td><td>", out);
			when(out, o, "updated_at");
			fputs("</td><td>", out);
			esc(out, str(o, "title"));
			fputs("</td></tr>\n", out);
		}
		fputs("</table>\n", out);
		if (num(inc, "open") > (long long)json_array_size(json_object_get(inc, "latest")))
			fprintf(out,
			        "<p class=\"mute\">%lld more open: <code>sm-ingest "
			        "incidents</code></p>\n",
			        num(inc, "open") -
			            (long long)json_array_size(json_object_get(inc, "latest")));
	}
	rc = load_bars(store, now, bars, &n, &ended, err);
	if (rc == 0) {
		fprintf(out,
		        "<h3>Timeline, last 7 days</h3>\n<p class=\"mute\">The %d most recently "
		        "changed "
		        "open incidents and the %d most recently ended of %lld that ended in the "
		        "week.</p>\n",
		        SM_STATUS_HTML_TIMELINE, SM_STATUS_HTML_TIMELINE, ended);
		if (n > 0)
			draw_timeline(out, bars, n, now);
		else
			fputs("<p class=\"mute\">no incidents in the last 7 days</p>\n", out);
	}
	for (int k = 0; k < n; k++) {
		free(bars[k].title);
		free(bars[k].severity);
		free(bars[k].status);
	}
	return rc;
}

/* A list of matchers, each as code. */
static void matchers(FILE *out, const json_t *list)
{
	const json_t *m;
	size_t i;

	json_array_foreach(list, i, m)
	{
		fputs(i ? ", <code>" : "<code>", out);
		esc(out, json_string_value(m));
		fputs("</code>", out);
	}
}

/* The silences and maintenance windows in force. */
static void write_noise(FILE *out, const json_t *status)
{
	const json_t *sil = json_object_get(status, "silences"), *o;
	const json_t *maint = json_object_get(status, "maintenance");
	size_t i, shown = json_array_size(json_object_get(sil, "latest"));

	fprintf(out,
	        "<h2 id=\"silences\">Silences</h2>\n<p>%lld active, %lld pending: "
	        "notifications they match are held back.</p>\n",
	        num(sil, "active"), num(sil, "pending"));
	if (shown)
		fputs("<table class=\"silences\"><tr><th>id</th><th>matchers</th><th>until</th>"
		      "<th>held back</th><th>by</th><th>comment</th></tr>\n",
		      out);
	json_array_foreach(json_object_get(sil, "latest"), i, o)
	{
		const char *t = str(o, "ends_at");
		char left[32], shown_at[48], *ago;
		sm_pipeline_status_age(left, sizeof left, num(o, "remaining_seconds"));
		if ((ago = strstr(left, " ago")) != NULL)
			snprintf(ago, sizeof left - (size_t)(ago - left), " left");
		fputs("<tr><td><code>", out);
		esc(out, str(o, "id"));
		fputs("</code></td><td>", out);
		matchers(out, json_object_get(o, "matchers"));
		fputs("</td><td><time datetime=\"", out);
		esc(out, t);
		fputs("\">", out);
		snprintf(shown_at, sizeof shown_at, "%.10s %.8s UTC", t,
		         strlen(t) >= 19 ? t + 11 : "");
		esc(out, shown_at);
		fprintf(out, "</time> <span class=\"age\">(%s)</span></td><td>%lld</td><td>", left,
		        num(o, "held_back"));
		esc(out, str(o, "author"));
		fputs("</td><td>", out);
		esc(out, str(o, "comment"));
		fputs("</td></tr>\n", out);
	}
	if (shown)
		fputs("</table>\n", out);
	if (num(sil, "active") > (long long)shown)
		fprintf(
		    out,
		    "<p class=\"mute\">%lld more active: <code>sm-notify silence list</code></p>\n",
		    num(sil, "active") - (long long)shown);
	shown = json_array_size(json_object_get(maint, "windows"));
	fprintf(out, "<h3>Maintenance windows</h3>\n<p>%lld open now.</p>\n", num(maint, "open"));
	if (shown)
		fputs("<table class=\"maintenance\"><tr><th>id</th><th>matchers</th>"
		      "<th>schedule</th><th>held back</th><th>comment</th></tr>\n",
		      out);
	json_array_foreach(json_object_get(maint, "windows"), i, o)
	{
		fputs("<tr><td><code>", out);
		esc(out, str(o, "id"));
		fputs("</code></td><td>", out);
		matchers(out, json_object_get(o, "matchers"));
		fputs("</td><td>", out);
		esc(out, str(o, "schedule"));
		if (*str(o, "tz")) {
			fputs(" (", out);
			esc(out, str(o, "tz"));
			fputs(")", out);
		}
		fprintf(out, "</td><td>%lld</td><td>", num(o, "held_back"));
		esc(out, str(o, "comment"));
		fputs("</td></tr>\n", out);
	}
	if (shown)
		fputs("</table>\n", out);
	if (num(maint, "open") > (long long)shown)
		fprintf(out,
		        "<p class=\"mute\">%lld more open: <code>sm-notify maintenance "
		        "list</code></p>\n",
		        num(maint, "open") - (long long)shown);
}

static void write_agents(FILE *out, const json_t *status)
{
	const json_t *h;
	size_t i;
	bool any = false;

	fputs("<h2 id=\"agents\">Agents</h2>\n", out);
	json_array_foreach(json_object_get(status, "hosts"), i, h)
	{
		const json_t *agent = json_object_get(h, "agent");
		if (!json_is_object(agent))
			continue;
		if (!any)
			fputs("<table><tr><th>instance</th><th>host</th><th>last push</th>"
			      "<th>pushes</th></tr>\n",
			      out);
		any = true;
		fputs("<tr><td>", out);
		esc(out, str(agent, "instance_id"));
		fputs("</td><td>", out);
		esc(out, str(h, "hostname"));
		fputs("</td><td>", out);
		when(out, agent, "last_push_at");
		fprintf(out, "</td><td>%lld</td></tr>\n", num(agent, "pushes"));
	}
	fputs(any ? "</table>\n" : "<p class=\"mute\">no agent has pushed to this hub</p>\n", out);
}

static int run_rows(sm_store *store, FILE *out, const char *sql, time_t now, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(store, sql, err);
	int step, rows = 0;

	if (!st)
		return -1;
	sqlite3_bind_int(st, 1, SM_STATUS_HTML_RUNS);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_object();
		const unsigned char *created = sqlite3_column_text(st, 4);
		struct timespec ts;
		if (rows++ == 0)
			fputs("<table><tr><th>run</th><th>definition</th><th>status</"
			      "th><th>started</th>"
			      "<th>error</th></tr>\n",
			      out);
		if (created && sm_rfc3339_parse((const char *)created, &ts) == 1) {
			char t[SM_RFC3339_LEN];
			ts.tv_nsec = 0;
			sm_rfc3339_format(t, &ts, false);
			json_object_set_new(o, "created_at", json_string(t));
			json_object_set_new(o, "age_seconds",
			                    json_integer(now > ts.tv_sec ? now - ts.tv_sec : 0));
		}
		fputs("<tr><td><code>", out);
		esc(out, (const char *)sqlite3_column_text(st, 0));
		fputs("</code></td><td>", out);
		esc(out, (const char *)sqlite3_column_text(st, 1));
		fputs("</td><td>", out);
		badge(out,
		      sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2) : "");
		fputs("</td><td>", out);
		when(out, o, "created_at");
		fputs("</td><td>", out);
		esc(out, (const char *)sqlite3_column_text(st, 3));
		fputs("</td></tr>\n", out);
		json_decref(o);
	}
	fputs(rows ? "</table>\n" : "<p class=\"mute\">none</p>\n", out);
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? 0 : store_error(store, err);
}

static int write_runs(sm_store *store, FILE *out, const json_t *status, time_t now, sm_error *err)
{
	const json_t *queue = json_object_get(status, "queue");

	fprintf(out,
	        "<h2 id=\"queue\">Queue</h2>\n<p>%lld pending, %lld claimed, %lld failed.</p>\n"
	        "<h2 id=\"runs\">Pipeline runs</h2>\n<p>%lld failed in the last day.</p>\n"
	        "<h3>Newest</h3>\n",
	        num(queue, "pending"), num(queue, "claimed"), num(queue, "failed"),
	        num(json_object_get(status, "runs"), "failed_last_day"));
	if (run_rows(store, out,
	             "SELECT run_id, definition, status, error, created_at FROM pipeline_runs"
	             " ORDER BY id DESC LIMIT ?1",
	             now, err) < 0)
		return -1;
	fputs("<h3>Newest failed</h3>\n", out);
	return run_rows(store, out,
	                "SELECT run_id, definition, status, error, created_at FROM pipeline_runs"
	                " WHERE status = 'failed' ORDER BY created_at DESC LIMIT ?1",
	                now, err);
}

int sm_pipeline_status_html(sm_store *store, time_t now, FILE *out, enum sm_status *level,
                            sm_error *err)
{
	json_t *status = NULL;
	int rc;

	if (sm_pipeline_status(store, now, &status, level, err) < 0)
		return -1;
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      /* No icon to fetch: the page asks for nothing beyond itself. */
	      "<link rel=\"icon\" href=\"data:,\">\n"
	      "<title>sm status: ",
	      out);
	esc(out, str(status, "status"));
	fputs("</title>\n", out);
	fputs(style, out);
	fputs("</head><body>\n<h1>sm status ", out);
	badge(out, str(status, "status"));
	fputs("</h1>\n<p class=\"mute\">at ", out);
	fputs("<time datetime=\"", out);
	esc(out, str(status, "generated_at"));
	fprintf(out,
	        "\">%.10s %.8s UTC</time> &middot; <a href=\"#hosts\">hosts</a> &middot; "
	        "<a href=\"#incidents\">incidents</a> &middot; <a href=\"#silences\">silences</a> "
	        "&middot; <a href=\"#agents\">agents</a> "
	        "&middot; <a href=\"#queue\">queue</a> &middot; <a href=\"#runs\">runs</a></p>\n",
	        str(status, "generated_at"),
	        strlen(str(status, "generated_at")) >= 19 ? str(status, "generated_at") + 11 : "");
	/* One read transaction for the rest: the charts, the timeline and the
	 * runs are of the same moment. */
	rc = sm_store_exec(store, "BEGIN", err);
	if (rc == 0) {
		rc = write_hosts(store, out, status, now, err);
		if (rc == 0)
			rc = write_incidents(store, out, status, now, err);
		if (rc == 0) {
			write_noise(out, status);
			write_agents(out, status);
			rc = write_runs(store, out, status, now, err);
		}
		sm_store_rollback(store);
	}
	fputs(script, out);
	fputs("</body></html>\n", out);
	json_decref(status);
	return rc;
}

/* --- GET /status/ ------------------------------------------------------------- */

static void respond_error(const sm_request *req, int status, const char *extra, const char *why)
{
	char code[8];

	snprintf(code, sizeof code, "%d", status);
	sm_log_kv(SM_LOG_WARN, "request rejected", "status", code, "reason", why, SM_LOG_END);
	sm_request_respond(req, status, extra,
	                   json_pack("{s:s,s:s}", "status", "error", "message", why));
}

/* Base64 text (RFC 4648, padded) into out, NUL-terminated: its length, or
 * -1 when malformed or longer than size - 1. */
static int base64_decode(const char *text, unsigned char *out, size_t size)
{
	static const char digits[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned bits = 0;
	int nbits = 0;
	size_t n = 0, len = strlen(text), pad = 0;

	while (pad < 2 && len > pad && text[len - 1 - pad] == '=')
		pad++;
	if (len % 4)
		return -1;
	for (size_t i = 0; i < len - pad; i++) {
		const char *d = text[i] ? strchr(digits, text[i]) : NULL;
		if (!d)
			return -1;
		bits = (bits << 6 | (unsigned)(d - digits)) & 0xffffff;
		if ((nbits += 6) >= 8) {
			nbits -= 8;
			if (n + 1 >= size)
				return -1;
			out[n++] = (unsigned char)(bits >> nbits);
		}
	}
	out[n] = '\0';
	return (int)n;
}

/* The API key of X-API-Key or Authorization: Bearer, else the password of
 * Authorization: Basic (what a browser sends once asked): 1 ok, 0 refused
 * with *why, -1 when the keys cannot be read. */
static int key_ok(const sm_request *req, const char **why)
{
	const sm_auth_request auth = {req->param, req->src};
	const char *header = req->param(req->src, "HTTP_AUTHORIZATION");
	const char *file = sm_config_get("SM_API_KEYS_FILE", NULL);
	unsigned char decoded[768];
	const char *colon;
	sm_error err;
	int ok;

	if (!header || strncmp(header, "Basic ", 6) != 0 || !file)
		return sm_auth_api_key(&auth, why);
	*why = "invalid API key";
	if (base64_decode(header + 6, decoded, sizeof decoded) < 0 ||
	    !(colon = strchr((const char *)decoded, ':')) || !colon[1])
		ok = 0;
	else
		ok = sm_config_api_key_check(file, colon + 1, &err);
	explicit_bzero(decoded, sizeof decoded);
	if (ok < 0)
		sm_log(SM_LOG_ERROR, "SM_API_KEYS_FILE %s", err.msg);
	return ok;
}

int sm_pipeline_status_http(const sm_request *req)
{
	const char *method = req->param(req->src, "REQUEST_METHOD");
	const char *path = req->param(req->src, "PATH_INFO");
	const char *why = NULL;
	sm_store *store = NULL;
	enum sm_status level;
	sm_error err = {0};
	char *page = NULL;
	size_t len = 0;
	FILE *mem;
	int ok;

	if (path && strspn(path, "/") != strlen(path))
		return respond_error(req, 404, NULL, "no such page under /status/"), 0;
	if (!method || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0))
		return respond_error(req, 405, "Allow: GET, HEAD", "method not allowed"), 0;
	if ((ok = key_ok(req, &why)) <= 0)
		return respond_error(req, ok < 0 ? 500 : 401,
		                     ok < 0 ? NULL : "WWW-Authenticate: Basic realm=\"sm status\"",
		                     ok < 0 ? "cannot check API keys" : why),
		       0;
	if (sm_store_open_readonly(NULL, &store, &err) < 0) {
		sm_log_kv(SM_LOG_ERROR, "cannot open the store", "error", err.msg, SM_LOG_END);
		return respond_error(req, 500, NULL, "cannot open the store"), 0;
	}
	mem = open_memstream(&page, &len);
	if (!mem || sm_pipeline_status_html(store, time(NULL), mem, &level, &err) < 0) {
		if (mem)
			fclose(mem);
		free(page);
		sm_store_close(store);
		sm_log_kv(SM_LOG_ERROR, "cannot read the store", "error", err.msg, SM_LOG_END);
		return respond_error(req, 500, NULL, "cannot read the store"), 0;
	}
	sm_store_close(store);
	if (fclose(mem) == 0) {
		char head[160];
		int n = snprintf(head, sizeof head,
		                 "Status: 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
		                 "Content-Length: %zu\r\nCache-Control: no-store\r\n\r\n",
		                 len);
		req->write(req->src, head, (size_t)n);
		if (strcmp(method, "GET") == 0)
			req->write(req->src, page, len);
	}
	free(page);
	return 0;
}
