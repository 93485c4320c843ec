/* alert.c - the normalized alert model, the driver table, auto-detection,
 * and the helpers every driver shares (fingerprints, timestamps, text). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drivers.h"
#include "sm/config.h"
#include "sm/hmac.h"
#include "sm/json.h"
#include "sm/rfc3339.h"

/* The table, in detection order (see drivers.h). */
#define SM_DRIVER_ROW(name, description, header, header_alt, flags)                                \
	{#name,      description, sm_driver_##name##_detect, sm_driver_##name##_parse, header,     \
	 header_alt, flags},
static const sm_driver drivers[] = {SM_DRIVER_LIST(SM_DRIVER_ROW)};
#undef SM_DRIVER_ROW

const sm_driver *sm_drivers(size_t *count)
{
	*count = sizeof drivers / sizeof drivers[0];
	return drivers;
}

const sm_driver *sm_driver_find(const char *name)
{
	for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++)
		if (strcmp(drivers[i].name, name) == 0)
			return &drivers[i];
	return NULL;
}

void sm_driver_names(char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof drivers / sizeof drivers[0] && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
		                         drivers[i].name);
}

bool sm_driver_enabled(const sm_driver *driver)
{
	if (driver->flags & SM_DRIVER_CLUSTER)
		return sm_config_bool("CLUSTER_ENABLED", 0) == 1;
	return true;
}

static int parse_with(const sm_driver *d, json_t *payload, sm_alert_batch *batch, sm_error *err)
{
	sm_batch_clear(batch);
	snprintf(batch->source, sizeof batch->source, "%s", d->name);
	if (d->parse(payload, batch, err) < 0)
		return -1;
	return sm_batch_finish(batch, (d->flags & SM_DRIVER_AM_FINGERPRINT) != 0, err);
}

int sm_driver_parse(const sm_driver *driver, json_t *payload, const sm_driver **used,
                    sm_alert_batch *batch, sm_error *err)
{
	if (!json_is_object(payload)) {
		sm_error_set(err, "payload must be a JSON object");
		return -1;
	}
	if (driver) {
		if (!sm_driver_enabled(driver)) {
			sm_error_set(err, "driver %s is disabled (set CLUSTER_ENABLED=1)",
			             driver->name);
			return -1;
		}
		if (used)
			*used = driver;
		return parse_with(driver, payload, batch, err);
	}
	for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++) {
		const sm_driver *d = &drivers[i];
		sm_error ignored;
		if ((d->flags & SM_DRIVER_INTERNAL) || !sm_driver_enabled(d) || !d->detect(payload))
			continue;
		/* A driver that reads nothing from the payload does not claim it. */
		if (parse_with(d, payload, batch, &ignored) < 0 || batch->count == 0)
			continue;
		if (used)
			*used = d;
		return 0;
	}
	sm_batch_clear(batch);
	if (sm_json_str(payload, "source") &&
	    strcmp(sm_json_str(payload, "source"), "cluster") == 0 &&
	    json_is_array(json_object_get(payload, "alerts")) &&
	    !sm_driver_enabled(sm_driver_find("cluster")))
		sm_error_set(err,
		             "a cluster push, but this host is not a hub (set CLUSTER_ENABLED=1)");
	else
		sm_error_set(err, "no driver recognises this payload (use -d DRIVER, or see "
		                  "--list-drivers)");
	return -1;
}

/* Whether word occurs in text with no letter, digit or one of "-_." next
 * to it: "Disk full on db-01" names db-01, "db-01a down" does not. */
bool sm_alert_mentions(const char *text, const char *word)
{
	size_t n = strlen(word);

	if (n == 0)
		return true;
	for (const char *p = strstr(text, word); p; p = strstr(p + 1, word)) {
		unsigned char before = p > text ? (unsigned char)p[-1] : ' ';
		unsigned char after = (unsigned char)p[n];
		bool open_before = !isalnum(before) && !strchr("-_.", before);
		/* A full stop ends a sentence, not a host name, when nothing follows. */
		bool open_after =
		    after == '\0' || (!isalnum(after) && !strchr("-_.", after)) ||
		    (after == '.' && (p[n + 1] == '\0' || isspace((unsigned char)p[n + 1])));
		if (open_before && open_after)
			return true;
	}
	return false;
}

/* --- severities and the alert model --- */

static const char *const severity_names[] = {"", "info", "warning", "critical"};

const char *sm_severity_name(enum sm_severity severity)
{
	return severity >= SM_SEVERITY_INFO && severity <= SM_SEVERITY_CRITICAL
	           ? severity_names[severity]
	           : "warning";
}

int sm_severity_parse(const char *name)
{
	for (int i = SM_SEVERITY_INFO; i <= SM_SEVERITY_CRITICAL; i++)
		if (name && strcmp(name, severity_names[i]) == 0)
			return i;
	return -1;
}

enum sm_severity sm_severity_normalize(const char *text)
{
	for (int i = SM_SEVERITY_INFO; i <= SM_SEVERITY_CRITICAL; i++)
		if (text && strcasecmp(text, severity_names[i]) == 0)
			return (enum sm_severity)i;
	return SM_SEVERITY_WARNING;
}

sm_alert *sm_batch_add(sm_alert_batch *batch)
{
	sm_alert *a;

	if (batch->count == batch->cap) {
		size_t ncap = batch->cap ? batch->cap * 2 : 4;
		sm_alert *p = realloc(batch->items, ncap * sizeof *p);
		if (!p)
			return NULL;
		batch->items = p;
		batch->cap = ncap;
	}
	a = &batch->items[batch->count++];
	memset(a, 0, sizeof *a);
	a->severity = SM_SEVERITY_WARNING;
	a->labels = json_object();
	a->annotations = json_object();
	clock_gettime(CLOCK_REALTIME, &a->started_at);
	return a;
}

void sm_batch_clear(sm_alert_batch *batch)
{
	for (size_t i = 0; i < batch->count; i++) {
		sm_alert *a = &batch->items[i];
		free(a->fingerprint);
		free(a->name);
		free(a->description);
		json_decref(a->labels);
		json_decref(a->annotations);
		json_decref(a->raw);
		free(a->labels_text);
		free(a->annotations_text);
		free(a->raw_text);
	}
	free(batch->items);
	json_decref(batch->agent);
	memset(batch, 0, sizeof *batch);
}

static char *print_or_null(const json_t *v)
{
	return v ? sm_json_dump(v, NULL) : strdup("null");
}

int sm_batch_print(sm_alert_batch *batch)
{
	for (size_t i = 0; i < batch->count; i++) {
		sm_alert *a = &batch->items[i];
		if (!a->labels_text && !(a->labels_text = print_or_null(a->labels)))
			return -1;
		if (!a->annotations_text && !(a->annotations_text = print_or_null(a->annotations)))
			return -1;
		if (!a->raw_text && !(a->raw_text = print_or_null(a->raw)))
			return -1;
	}
	return 0;
}

int sm_batch_finish(sm_alert_batch *batch, bool alertmanager_fingerprints, sm_error *err)
{
	for (size_t i = 0; i < batch->count; i++) {
		sm_alert *a = &batch->items[i];
		if (!a->name || !*a->name)
			sm_alert_set_name(a, "Unknown Alert");
		if (!a->description)
			sm_alert_set_description(a, "");
		if (!a->name || !a->description)
			goto oom;
		if (a->fingerprint && *a->fingerprint)
			continue;
		free(a->fingerprint);
		a->fingerprint = alertmanager_fingerprints
		                     ? sm_fingerprint_labels(a->labels)
		                     : sm_fingerprint_generic(a->name, a->labels);
		if (!a->fingerprint) {
			sm_error_set(err, "cannot compute a fingerprint");
			return -1;
		}
	}
	return 0;
oom:
	sm_error_set(err, "out of memory");
	return -1;
}

static void replace(char **field, const char *value)
{
	char *copy;

	if (!value)
		return;
	copy = strdup(value);
	if (!copy)
		return;
	free(*field);
	*field = copy;
}

void sm_alert_set_name(sm_alert *alert, const char *name)
{
	replace(&alert->name, name);
}

void sm_alert_set_description(sm_alert *alert, const char *text)
{
	replace(&alert->description, text);
}

void sm_alert_set_fingerprint(sm_alert *alert, const char *fingerprint)
{
	replace(&alert->fingerprint, fingerprint);
}

void sm_alert_set_status(sm_alert *alert, const char *text)
{
	alert->resolved = text && strcasecmp(text, "resolved") == 0;
}

void sm_alert_label(sm_alert *alert, const char *key, const char *value)
{
	json_object_set_new(alert->labels, key, sm_json_string(value ? value : ""));
}

void sm_alert_annotation(sm_alert *alert, const char *key, const char *value)
{
	json_object_set_new(alert->annotations, key, sm_json_string(value ? value : ""));
}

/* --- text from JSON --- */

char *sm_json_text(json_t *value)
{
	if (!value || json_is_null(value))
		return strdup("");
	if (json_is_string(value))
		return strdup(json_string_value(value));
	return sm_json_dump(value, NULL);
}

bool sm_json_has(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return v && !json_is_null(v);
}

char *sm_json_id(json_t *value)
{
	if (json_is_string(value))
		return json_string_length(value) ? strdup(json_string_value(value)) : NULL;
	if (json_is_number(value) && json_number_value(value) != 0)
		return sm_json_text(value);
	return NULL;
}

void sm_alert_label_json(sm_alert *alert, const char *key, json_t *value)
{
	char *text = sm_json_text(value);

	sm_alert_label(alert, key, text ? text : "");
	free(text);
}

const char *sm_json_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s && *s ? s : NULL;
}

const char *sm_json_first_str(json_t *obj, ...)
{
	const char *key, *found = NULL;
	va_list ap;

	va_start(ap, obj);
	while (!found && (key = va_arg(ap, const char *)) != NULL)
		found = sm_json_str(obj, key);
	va_end(ap);
	return found;
}

/* --- fingerprints --- */

struct label {
	const char *key;
	char *value;
};

static int compare_labels(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->key, ((const struct label *)b)->key);
}

/* The labels sorted by key, values as text; NULL on allocation failure. */
static struct label *sorted_labels(json_t *labels, size_t *n)
{
	size_t count = json_is_object(labels) ? json_object_size(labels) : 0, i = 0;
	struct label *out = calloc(count ? count : 1, sizeof *out);
	const char *key;
	json_t *value;

	*n = 0;
	if (!out)
		return NULL;
	if (count) {
		json_object_foreach(labels, key, value)
		{
			out[i].key = key;
			out[i].value = sm_json_text(value);
			if (!out[i++].value)
				goto fail;
		}
	}
	qsort(out, count, sizeof *out, compare_labels);
	*n = count;
	return out;
fail:
	for (size_t j = 0; j < i; j++)
		free(out[j].value);
	free(out);
	return NULL;
}

static void free_labels(struct label *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i].value);
	free(l);
}

static uint64_t fnv1a(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

char *sm_fingerprint_labels(json_t *labels)
{
	static const char separator = (char)0xff;
	uint64_t h = 14695981039346656037ULL;
	size_t n;
	struct label *l = sorted_labels(labels, &n);
	char *out;

	if (!l)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		h = fnv1a(h, l[i].key, strlen(l[i].key));
		h = fnv1a(h, &separator, 1);
		h = fnv1a(h, l[i].value, strlen(l[i].value));
		h = fnv1a(h, &separator, 1);
	}
	free_labels(l, n);
	if (asprintf(&out, "%016llx", (unsigned long long)h) < 0)
		return NULL;
	return out;
}

char *sm_fingerprint_generic(const char *name, json_t *labels)
{
	char hex[SM_SHA256_HEX], *text = NULL, *out = NULL;
	size_t n, len = 0;
	struct label *l = sorted_labels(labels, &n);
	FILE *f;

	if (!l)
		return NULL;
	f = open_memstream(&text, &len);
	if (f) {
		fprintf(f, "%s\n", name ? name : "");
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%s=%s\n", l[i].key, l[i].value);
		fclose(f);
	}
	free_labels(l, n);
	if (text && sm_sha256_hex(text, len, hex, NULL) == 0)
		out = strndup(hex, 16);
	free(text);
	return out;
}

/* --- timestamps --- */

/* "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS[.f]]" or the RFC 3339 forms, with a
 * missing offset taken as UTC. */
static int parse_iso(const char *s, struct timespec *out)
{
	char buf[64];
	size_t n = strlen(s);

	if (n < 10 || n >= sizeof buf - 8)
		return 0;
	snprintf(buf, sizeof buf, "%s", s);
	if (n == 10) /* a date alone: midnight UTC */
		snprintf(buf + n, sizeof buf - n, "T00:00:00Z");
	else if (n == 16) /* no seconds */
		snprintf(buf + n, sizeof buf - n, ":00");
	n = strlen(buf);
	/* No zone designator after the time: UTC. */
	if (n >= 19 && !strchr("Zz", buf[n - 1]) && !strchr(buf + 19, '+') &&
	    !strchr(buf + 19, '-'))
		snprintf(buf + n, sizeof buf - n, "Z");
	/* "+0000" offsets without a colon. */
	n = strlen(buf);
	if (n >= 24 && (buf[n - 5] == '+' || buf[n - 5] == '-') &&
	    isdigit((unsigned char)buf[n - 1]) && !strchr(buf + n - 5, ':')) {
		memmove(buf + n - 1, buf + n - 2, 3);
		buf[n - 2] = ':';
	}
	return sm_rfc3339_parse(buf, out) == 1;
}

int sm_alert_time(json_t *value, double ms_above, struct timespec *out)
{
	if (json_is_string(value))
		return parse_iso(json_string_value(value), out);
	if (json_is_number(value)) {
		double v = json_number_value(value);
		struct timespec t;
		bool ms;
		if (!(v > 0) || v > 1e15)
			return 0;
		ms = ms_above > 0 && v > ms_above;
		if (json_is_integer(value)) { /* exact: no float rounding of milliseconds */
			long long i = json_integer_value(value);
			t.tv_sec = (time_t)(ms ? i / 1000 : i);
			t.tv_nsec = ms ? (long)(i % 1000) * 1000000L : 0;
		} else {
			if (ms)
				v /= 1000.0;
			t.tv_sec = (time_t)v;
			/* to the microsecond, as vendors send at most that */
			t.tv_nsec = (long)((long long)((v - (double)t.tv_sec) * 1e6 + 0.5) * 1000);
		}
		if (t.tv_sec > 253402300799LL) /* after year 9999: *out untouched */
			return 0;
		*out = t;
		return 1;
	}
	return 0;
}

int sm_alert_end_time(json_t *value, struct timespec *out)
{
	struct timespec t;

	if (!json_is_string(value) || sm_alert_time(value, 0, &t) != 1 ||
	    sm_utc_year(t.tv_sec) > sm_utc_year(time(NULL)) + 1)
		return 0;
	*out = t;
	return 1;
}

/* --- the batch as JSON --- */

static json_t *time_json(const struct timespec *ts, bool set)
{
	char buf[SM_RFC3339_LEN];

	if (!set)
		return json_null();
	sm_rfc3339_format(buf, ts, ts->tv_nsec != 0);
	return json_string(buf);
}

json_t *sm_alert_json(const sm_alert *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "fingerprint", sm_json_string(a->fingerprint));
	json_object_set_new(o, "name", sm_json_string(a->name));
	json_object_set_new(o, "status", json_string(a->resolved ? "resolved" : "firing"));
	json_object_set_new(o, "severity", json_string(sm_severity_name(a->severity)));
	json_object_set_new(o, "description", sm_json_string(a->description ? a->description : ""));
	json_object_set(o, "labels", a->labels);
	json_object_set(o, "annotations", a->annotations);
	json_object_set_new(o, "started_at", time_json(&a->started_at, a->started_set));
	json_object_set_new(o, "ended_at", time_json(&a->ended_at, a->ended_set));
	return o;
}

json_t *sm_batch_json(const sm_alert_batch *batch)
{
	json_t *alerts = json_array();

	for (size_t i = 0; i < batch->count; i++)
		json_array_append_new(alerts, sm_alert_json(&batch->items[i]));
	return alerts;
}
