/* diskanalysis.c - the disk cleanup analysis engine (diskanalysis.h).
 *
 * Three collections, filled in this order and de-duplicated by path across
 * all of them (the first one to list a path keeps it): space hogs (the
 * immediate children of the space-hog targets, >= 1 MiB, directories by
 * recursive apparent size), old items (immediate children of the old-file
 * targets whose own mtime is older than old_days, of any size: an empty
 * old directory still shows what is stale), and
 * large files (>= 100 MiB anywhere under the large-file targets, the
 * space-hog targets' subtrees left out since they are already counted).
 * All walks share one deadline, so a checker costs at most its budget.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "diskanalysis.h"
#include "procfs.h"
#include "sm/config.h"
#include "sm/host.h"
#include "sm/human.h"
#include "sm/json.h"
#include "sm/walk.h"

#define MIB (1024.0 * 1024.0)

struct target;

struct item {
	char *path; /* host path */
	double size_mb;
	long long age_days;          /* old items only */
	size_t order;                /* collection order: ties keep it when sorting */
	const struct target *target; /* the one walked to find it */
};

struct list {
	struct item *items;
	size_t n, cap;
};

/* Paths already listed, an open-addressing hash set of the items' paths. */
struct seen {
	const char **slots;
	size_t n, cap;
};

struct target {
	char host[4096]; /* as reported */
	char real[4096]; /* under the host root */
	bool present;    /* a directory (not a symlink) */
};

struct targets {
	struct target *t;
	size_t n;
};

struct analysis {
	const sm_diskanalysis_spec *spec;
	struct timespec deadline;
	double now; /* wall clock, seconds */
	struct seen seen;
	struct list hogs, old, large;
	struct targets hog_targets, old_targets, large_targets;
	bool complete;
	int error; /* ENOMEM */
	/* the walk under way */
	const struct target *target;
	size_t reallen; /* target->real without a trailing '/' */
	size_t order;
};

/* The next non-empty component at or after *p (its length in *len), or NULL. */
static const char *component(const char **p, size_t *len)
{
	const char *s = *p;

	while (*s == '/')
		s++;
	if (!*s) {
		*p = s;
		return NULL;
	}
	*len = strcspn(s, "/");
	*p = s + *len;
	return s;
}

/* Whether the keyword's components are the path's, starting at path. */
static bool components_match(const char *path, const char *keyword)
{
	const char *kc;
	size_t klen, plen;
	bool any = false;

	while ((kc = component(&keyword, &klen)) != NULL) {
		const char *pc = component(&path, &plen);
		if (!pc || plen != klen || memcmp(pc, kc, klen) != 0)
			return false;
		any = true;
	}
	return any;
}

bool sm_diskanalysis_keyword_match(const char *path, const char *keyword)
{
	size_t len;

	if (keyword[0] == '/')
		return components_match(path, keyword);
	do {
		if (components_match(path, keyword))
			return true;
	} while (component(&path, &len) != NULL);
	return false;
}

int sm_diskanalysis_budget(double *seconds)
{
	const char *v = getenv("SM_WALK_TIMEOUT");
	double d;

	*seconds = SM_DISKANALYSIS_BUDGET;
	if (!v || !*v)
		return 0;
	if (sm_config_duration(v, &d) < 0 || !(d > 0))
		return -1;
	*seconds = d;
	return 0;
}

static uint64_t hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void seen_put(const char **slots, size_t cap, const char *path)
{
	size_t i = (size_t)hash(path) & (cap - 1);

	while (slots[i])
		i = (i + 1) & (cap - 1);
	slots[i] = path;
}

/* 1 when path is new (and now remembered), 0 when seen, -1 without memory. */
static int seen_add(struct seen *s, const char *path)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		const char **slots = calloc(cap, sizeof *slots);
		if (!slots)
			return -1;
		for (i = 0; i < s->cap; i++)
			if (s->slots[i])
				seen_put(slots, cap, s->slots[i]);
		free(s->slots);
		s->slots = slots;
		s->cap = cap;
	}
	for (i = (size_t)hash(path) & (s->cap - 1); s->slots[i]; i = (i + 1) & (s->cap - 1))
		if (strcmp(s->slots[i], path) == 0)
			return 0;
	s->slots[i] = path;
	s->n++;
	return 1;
}

static void list_free(struct list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i].path);
	free(l->items);
}

/* Length of a path without its trailing slashes ("/" counts as empty). */
static size_t base_len(const char *s)
{
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == '/')
		n--;
	return n;
}

/* List the entry the walk is at, unless an earlier collection did. */
static int add(struct analysis *a, struct list *l, const char *real, unsigned long long bytes,
               long long age_days)
{
	const struct target *t = a->target;
	size_t hostlen = base_len(t->host);
	const char *suffix = real + a->reallen; /* "/child..." */
	char *path;
	int added;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct item *p = realloc(l->items, cap * sizeof *p);
		if (!p)
			goto oom;
		l->items = p;
		l->cap = cap;
	}
	path = malloc(hostlen + strlen(suffix) + 1);
	if (!path)
		goto oom;
	memcpy(path, t->host, hostlen);
	strcpy(path + hostlen, suffix);
	added = seen_add(&a->seen, path);
	if (added <= 0) {
		free(path);
		if (added < 0)
			goto oom;
		return SM_WALK_CONTINUE;
	}
	l->items[l->n++] =
	    (struct item){path, sm_round((double)bytes / MIB, 1), age_days, a->order++, t};
	return SM_WALK_CONTINUE;
oom:
	a->error = ENOMEM;
	return SM_WALK_STOP;
}

static unsigned long long st_bytes(const struct stat *st)
{
	return st->st_size > 0 ? (unsigned long long)st->st_size : 0;
}

static int hog_entry(const sm_walk_entry *e, void *ctx)
{
	struct analysis *a = ctx;
	unsigned long long bytes;

	if (e->kind == SM_WALK_DIR_POST)
		bytes = e->bytes;
	else if (e->kind == SM_WALK_FILE)
		bytes = st_bytes(e->st);
	else
		return SM_WALK_CONTINUE;
	if (bytes < SM_DISKANALYSIS_HOG_BYTES)
		return SM_WALK_CONTINUE;
	return add(a, &a->hogs, e->path, bytes, -1);
}

static double mtime_of(const struct stat *st)
{
	return (double)st->st_mtim.tv_sec + (double)st->st_mtim.tv_nsec / 1e9;
}

static int old_entry(const sm_walk_entry *e, void *ctx)
{
	struct analysis *a = ctx;
	double age = a->now - mtime_of(e->st);
	bool old = age > (double)a->spec->old_days * 86400.0;

	switch (e->kind) {
	case SM_WALK_DIR:
		/* Only old directories are worth sizing. */
		return old ? SM_WALK_CONTINUE : SM_WALK_SKIP;
	case SM_WALK_DIR_POST:
		return add(a, &a->old, e->path, e->bytes, (long long)(age / 86400.0));
	default:
		if (!old)
			return SM_WALK_CONTINUE;
		return add(a, &a->old, e->path, st_bytes(e->st), (long long)(age / 86400.0));
	}
}

/* Whether real is one of the space-hog targets or lies under one. */
static bool under_hog_target(const struct analysis *a, const char *real)
{
	for (size_t i = 0; i < a->hog_targets.n; i++) {
		const char *t = a->hog_targets.t[i].real;
		size_t n = base_len(t);
		if (strncmp(real, t, n) == 0 && (real[n] == '\0' || real[n] == '/'))
			return true;
	}
	return false;
}

static int large_entry(const sm_walk_entry *e, void *ctx)
{
	struct analysis *a = ctx;

	if (e->kind == SM_WALK_DIR)
		return under_hog_target(a, e->path) ? SM_WALK_SKIP : SM_WALK_CONTINUE;
	if (e->kind != SM_WALK_FILE || st_bytes(e->st) < SM_DISKANALYSIS_LARGE_BYTES)
		return SM_WALK_CONTINUE;
	return add(a, &a->large, e->path, st_bytes(e->st), -1);
}

/* Walk each present target with fn. */
static void collect(struct analysis *a, const struct targets *ts, const sm_walk_opts *opts,
                    sm_walk_fn fn)
{
	for (size_t i = 0; i < ts->n && !a->error; i++) {
		sm_walk_stats stats;

		if (!ts->t[i].present)
			continue;
		a->target = &ts->t[i];
		a->reallen = base_len(ts->t[i].real);
		/* A target that cannot be read is skipped like any unreadable entry. */
		if (sm_walk(ts->t[i].real, opts, fn, a, &stats) < 0 && errno == ENOMEM)
			a->error = ENOMEM;
		if (stats.cut_short)
			a->complete = false;
	}
}

/* $HOME (else the home of the effective uid in the host's /etc/passwd,
 * read as user names are: never through NSS, which a static sm-check cannot
 * load) as a host path without a trailing slash ("" for "/"); -1 when
 * there is none. */
static int home_dir(char *buf, size_t size)
{
	const char *h = getenv("HOME");
	char pw_home[4096] = "";
	size_t n = 0;

	if (!h || h[0] != '/') {
		if (sm_procfs_user_home((long)geteuid(), pw_home, sizeof pw_home) < 0 ||
		    pw_home[0] != '/')
			return -1;
		h = pw_home;
	}
	for (; *h; h++) {
		if (*h == '/' && (h[1] == '/' || h[1] == '\0'))
			continue; /* "//" and a trailing '/' */
		if (n + 1 >= size)
			return -1;
		buf[n++] = *h;
	}
	buf[n] = '\0';
	return 0;
}

/* Expand and resolve a target list. Returns -1 (res failed) on errors. */
static int resolve(const char *const *list, const char *home, struct targets *out,
                   sm_check_result *res)
{
	size_t n = 0;

	while (list && list[n])
		n++;
	out->n = 0;
	out->t = calloc(n ? n : 1, sizeof *out->t);
	if (!out->t) {
		sm_result_fail(res, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct target *t = &out->t[out->n];
		const char *p = list[i];
		struct stat st;
		int len;

		if (p[0] == '~' && (p[1] == '\0' || p[1] == '/')) {
			if (!home)
				continue; /* no home: nothing to look at there */
			len = snprintf(t->host, sizeof t->host, "%s%s", home, p + 1);
			if (len == 0)
				len = snprintf(t->host, sizeof t->host, "/");
		} else {
			len = snprintf(t->host, sizeof t->host, "%s", p);
		}
		if (len < 0 || (size_t)len >= sizeof t->host ||
		    sm_host_path(t->real, sizeof t->real, t->host) < 0) {
			sm_result_fail(res, "%s: path too long", p);
			return -1;
		}
		t->present = lstat(t->real, &st) == 0 && S_ISDIR(st.st_mode);
		out->n++;
	}
	return 0;
}

static bool any_present(const struct targets *ts)
{
	for (size_t i = 0; i < ts->n; i++)
		if (ts->t[i].present)
			return true;
	return false;
}

static int by_size_desc(const void *pa, const void *pb)
{
	const struct item *x = pa, *y = pb;

	if (x->size_mb != y->size_mb)
		return x->size_mb > y->size_mb ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Sort a list (largest first) into a JSON array; returns its MB total. */
/* The largest SM_DISKANALYSIS_LISTED items of l as metrics[key] and their
 * number as metrics[key_count]; returns the total of all of them, listed
 * or not (an APT cache holds hundreds of archives). */
static double list_json(struct list *l, json_t *metrics, const char *key)
{
	json_t *arr = json_array();
	double total = 0;
	char count_key[64];

	if (l->n)
		qsort(l->items, l->n, sizeof *l->items, by_size_desc);
	for (size_t i = 0; i < l->n; i++) {
		json_t *o;
		total += l->items[i].size_mb;
		if (i >= SM_DISKANALYSIS_LISTED)
			continue;
		o = json_object();
		json_object_set_new(o, "path", sm_json_string(l->items[i].path));
		sm_metric_real(o, "size_mb", l->items[i].size_mb);
		if (l->items[i].age_days >= 0)
			sm_metric_int(o, "age_days", l->items[i].age_days);
		json_array_append_new(arr, o);
	}
	json_object_set_new(metrics, key, arr);
	snprintf(count_key, sizeof count_key, "%s_count", key);
	sm_metric_int(metrics, count_key, (long long)l->n);
	return total;
}

static json_t *lines_json(const char *const *lines)
{
	json_t *arr = json_array();

	for (; *lines; lines++)
		json_array_append_new(arr, json_string(*lines));
	return arr;
}

static bool rule_matches(const sm_diskanalysis_rule *rule, const struct list *hogs)
{
	for (const char *const *k = rule->keywords; *k; k++)
		for (size_t i = 0; i < hogs->n; i++)
			if (sm_diskanalysis_keyword_match(hogs->items[i].path, *k))
				return true;
	return false;
}

static json_t *recommendations(const struct analysis *a)
{
	const sm_diskanalysis_spec *spec = a->spec;
	json_t *recs = json_array();

	for (size_t i = 0; i < spec->nrules; i++)
		if (rule_matches(&spec->rules[i], &a->hogs))
			json_array_append_new(recs, lines_json(spec->rules[i].lines));
	if (a->old.n && spec->old_files_advice)
		json_array_append_new(recs, json_pack("[s]", spec->old_files_advice));
	if (a->large.n && spec->large_files_advice)
		json_array_append_new(recs, json_pack("[s]", spec->large_files_advice));
	return recs;
}

/* A rule as one line: "Clear APT package cache: sudo apt clean" (a title
 * ending in ':' is followed by its first detail, the command). */
static json_t *rule_action(const sm_diskanalysis_rule *rule)
{
	const char *title = rule->lines[0];
	size_t n = strlen(title);
	char *text;
	json_t *s;

	if (n == 0 || title[n - 1] != ':' || !rule->lines[1])
		return json_string(title);
	if (asprintf(&text, "%s %s", title, rule->lines[1]) < 0)
		return NULL;
	s = json_string(text);
	free(text);
	return s;
}

/* One by_directory row per target with items in l: its host path, what
 * the items are, their total and number (listed or not), and what to do
 * about them (the rules matching its items, or fixed advice). */
static void group_rows(const struct analysis *a, const struct list *l, const struct targets *ts,
                       const char *kind, const char *advice, json_t *rows)
{
	for (size_t t = 0; t < ts->n; t++) {
		const struct target *target = &ts->t[t];
		double mb = 0;
		long long count = 0;
		json_t *row, *actions;

		for (size_t i = 0; i < l->n; i++)
			if (l->items[i].target == target) {
				mb += l->items[i].size_mb;
				count++;
			}
		if (count == 0)
			continue;
		actions = json_array();
		if (advice) {
			json_array_append_new(actions, json_string(advice));
		} else {
			for (size_t r = 0; r < a->spec->nrules; r++) {
				const sm_diskanalysis_rule *rule = &a->spec->rules[r];
				bool hit = false;
				for (size_t i = 0; i < l->n && !hit; i++)
					for (const char *const *k = rule->keywords;
					     *k && !hit && l->items[i].target == target; k++)
						hit = sm_diskanalysis_keyword_match(
						    l->items[i].path, *k);
				if (hit)
					json_array_append_new(actions, rule_action(rule));
			}
		}
		row = json_object();
		json_object_set_new(row, "path", sm_json_string(target->host));
		sm_metric_str(row, "kind", kind);
		sm_metric_real(row, "size_mb", sm_round(mb, 1));
		sm_metric_int(row, "count", count);
		json_object_set_new(row, "advice", actions);
		json_array_append_new(rows, row);
	}
}

static int by_size_mb_desc(const void *pa, const void *pb)
{
	double x = json_real_value(json_object_get(*(json_t *const *)pa, "size_mb"));
	double y = json_real_value(json_object_get(*(json_t *const *)pb, "size_mb"));

	return x > y ? -1 : x < y;
}

/* The items grouped by the directory they were found in, largest first. */
static json_t *by_directory(const struct analysis *a)
{
	json_t *rows = json_array(), *sorted = json_array(), *row;
	json_t **v;
	size_t n, i;

	group_rows(a, &a->hogs, &a->hog_targets, "space_hogs", NULL, rows);
	group_rows(a, &a->old, &a->old_targets, "old_files", a->spec->old_files_advice, rows);
	group_rows(a, &a->large, &a->large_targets, "large_files", a->spec->large_files_advice,
	           rows);
	n = json_array_size(rows);
	v = calloc(n ? n : 1, sizeof *v);
	if (!v)
		return rows;
	json_array_foreach(rows, i, row)
	{
		v[i] = row;
	}
	/* qsort is not stable: equal sizes keep the order of the collections
	 * through a stable insertion sort instead (a few rows). */
	for (i = 1; i < n; i++)
		for (size_t j = i; j > 0 && by_size_mb_desc(&v[j - 1], &v[j]) > 0; j--) {
			json_t *tmp = v[j];
			v[j] = v[j - 1];
			v[j - 1] = tmp;
		}
	for (i = 0; i < n; i++)
		json_array_append(sorted, v[i]);
	free(v);
	json_decref(rows);
	return sorted;
}

static void fill_result(struct analysis *a, sm_check_result *res)
{
	json_t *m = res->metrics;
	double total;
	char label[64];

	sm_metric_str(m, "platform", "linux");
	total = list_json(&a->hogs, m, "space_hogs");
	total += list_json(&a->old, m, "old_files");
	total += list_json(&a->large, m, "large_files");
	json_object_set_new(m, "by_directory", by_directory(a));
	/* Items carry one decimal; rounding the sum only drops float noise. */
	total = sm_round(total, 1);
	sm_metric_real(m, "total_recoverable_mb", total);
	json_object_set_new(m, "recommendations", recommendations(a));
	sm_metric_bool(m, "complete", a->complete);
	/* A cut walk gives a lower bound: a WARNING or CRITICAL still holds. */
	sm_result_set(res, sm_result_level(res, total), "Disk analysis: %.1f MB recoverable%s",
	              total, a->complete ? "" : " (walk cut short)");
	/* disk_common and disk_linux both report it: each label names its own. */
	snprintf(label, sizeof label, "%s_recoverable", res->checker ? res->checker : "disk");
	sm_result_perf(res, label, total, "MB", true, 0, NAN);
}

void sm_diskanalysis_run(const sm_diskanalysis_spec *spec, sm_check_result *res)
{
	struct analysis a = {.spec = spec, .complete = true};
	/* Space hogs and old items are immediate children; their sizes come
	 * from the post-order calls, which count the whole subtree. */
	const sm_walk_opts hog_opts = {
	    .flags = SM_WALK_POST, .deadline = &a.deadline, .max_depth = 1};
	const sm_walk_opts old_opts = {.flags = SM_WALK_DIRS | SM_WALK_POST | SM_WALK_OTHER,
	                               .deadline = &a.deadline,
	                               .max_depth = 1};
	const sm_walk_opts large_opts = {.flags = SM_WALK_DIRS, .deadline = &a.deadline};
	char home[4096];
	bool have_home;
	struct timespec now;
	double budget;

	if (sm_diskanalysis_budget(&budget) < 0) {
		sm_result_fail(res, "SM_WALK_TIMEOUT=%s: not a positive number of seconds",
		               getenv("SM_WALK_TIMEOUT"));
		return;
	}
	sm_walk_deadline(&a.deadline, budget);
	clock_gettime(CLOCK_REALTIME, &now);
	a.now = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
	have_home = home_dir(home, sizeof home) == 0;
	if (resolve(spec->space_hog_targets, have_home ? home : NULL, &a.hog_targets, res) < 0 ||
	    resolve(spec->old_file_targets, have_home ? home : NULL, &a.old_targets, res) < 0 ||
	    resolve(spec->large_file_targets, have_home ? home : NULL, &a.large_targets, res) < 0)
		goto out;
	if (!any_present(&a.hog_targets) && !any_present(&a.old_targets) &&
	    !any_present(&a.large_targets)) {
		sm_metric_str(res->metrics, "platform", "linux");
		sm_result_skip(res, "no target directories found");
		goto out;
	}
	collect(&a, &a.hog_targets, &hog_opts, hog_entry);
	collect(&a, &a.old_targets, &old_opts, old_entry);
	/* A large-file target inside a space-hog target is already counted. */
	for (size_t i = 0; i < a.large_targets.n; i++)
		if (under_hog_target(&a, a.large_targets.t[i].real))
			a.large_targets.t[i].present = false;
	collect(&a, &a.large_targets, &large_opts, large_entry);
	if (a.error) {
		sm_result_fail(res, "out of memory");
		goto out;
	}
	fill_result(&a, res);
out:
	list_free(&a.hogs);
	list_free(&a.old);
	list_free(&a.large);
	free(a.seen.slots);
	free(a.hog_targets.t);
	free(a.old_targets.t);
	free(a.large_targets.t);
}

/* "312 items", "1 large file". */
static void count_words(long long n, const char *kind, char *buf, size_t size)
{
	static const struct {
		const char *kind, *one, *many;
	} words[] = {
	    {"space_hogs", "item", "items"},
	    {"old_files", "old item", "old items"},
	    {"large_files", "large file", "large files"},
	};

	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (kind && strcmp(kind, words[i].kind) == 0) {
			snprintf(buf, size, "%lld %s", n, n == 1 ? words[i].one : words[i].many);
			return;
		}
	snprintf(buf, size, "%lld", n);
}

static int item_cmp(const void *pa, const void *pb)
{
	return by_size_mb_desc(pa, pb);
}

void sm_diskanalysis_details(const sm_check_result *res, FILE *out, size_t limit)
{
	static const char *const lists[] = {"space_hogs", "old_files", "large_files"};
	json_t *m = res->metrics, *row, *items[3 * SM_DISKANALYSIS_LISTED + 1];
	size_t i, n = 0, shown;
	long long all = 0;
	char size[SM_HUMAN_LEN], words[64];

	json_array_foreach(json_object_get(m, "by_directory"), i, row)
	{
		json_t *advice = json_object_get(row, "advice"), *a;
		size_t j;
		count_words(json_integer_value(json_object_get(row, "count")),
		            json_string_value(json_object_get(row, "kind")), words, sizeof words);
		fputs("    ", out);
		sm_human_puts(json_string_value(json_object_get(row, "path")), out);
		fprintf(out, "  %s in %s",
		        sm_human_mb(json_number_value(json_object_get(row, "size_mb")), size),
		        words);
		json_array_foreach(advice, j, a)
		{
			fputs(j == 0 ? " - " : "      - ", out);
			sm_human_puts(json_string_value(a), out);
			fputc('\n', out);
		}
		if (json_array_size(advice) == 0)
			fputc('\n', out);
	}
	for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
		char key[64];
		json_t *item;
		snprintf(key, sizeof key, "%s_count", lists[l]);
		all += json_integer_value(json_object_get(m, key));
		json_array_foreach(json_object_get(m, lists[l]), i, item)
		{
			if (n < sizeof items / sizeof items[0])
				items[n++] = item;
		}
	}
	if (n == 0)
		return;
	/* Largest first; qsort's order for equal sizes does not matter here
	 * beyond being the same each run for the same input. */
	qsort(items, n, sizeof *items, item_cmp);
	shown = limit && limit < n ? limit : n;
	fprintf(out, "    largest:\n");
	for (i = 0; i < shown; i++) {
		json_t *age = json_object_get(items[i], "age_days");
		fprintf(out, "      %9s  ",
		        sm_human_mb(json_number_value(json_object_get(items[i], "size_mb")), size));
		sm_human_puts(json_string_value(json_object_get(items[i], "path")), out);
		if (json_is_integer(age))
			fprintf(out, " (%lld days old)", json_integer_value(age));
		fputc('\n', out);
	}
	if (shown < n)
		fprintf(out, "      ... %zu more (-v)\n", n - shown);
	else if ((long long)n < all)
		fprintf(out, "      (the largest %zu of %lld)\n", n, all);
}
