/* alert.h - normalized alerts and the webhook drivers that produce them.
 *
 * A driver is a row {name, detect, parse, signature header}: detect looks at
 * a payload's shape only and never fails on unexpected types; parse turns a
 * payload into a batch of normalized alerts. Drivers live in
 * lib/driver_<name>.c; the table and the helpers they share are in alert.c.
 */
#ifndef SM_ALERT_H
#define SM_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <jansson.h>
#include "sm/err.h"

enum sm_severity {
	SM_SEVERITY_INFO = 1,
	SM_SEVERITY_WARNING = 2,
	SM_SEVERITY_CRITICAL = 3,
};

const char *sm_severity_name(enum sm_severity severity); /* "info", "warning", "critical" */
/* Exact names only; -1 otherwise. */
int sm_severity_parse(const char *name);
/* A vendor's severity text, case-insensitive: critical, warning, info;
 * anything else (NULL, "", "high", "error") is warning. */
enum sm_severity sm_severity_normalize(const char *text);

typedef struct sm_alert {
	char *fingerprint; /* set by the driver or by sm_batch_finish */
	char *name;
	bool resolved;
	enum sm_severity severity;
	char *description;
	json_t *labels;      /* object */
	json_t *annotations; /* object */
	struct timespec started_at;
	bool started_set; /* false: the payload had none, "now" was used */
	struct timespec ended_at;
	bool ended_set; /* ended_at is meaningful */
	json_t *raw;    /* the part of the payload this alert came from (a reference) */
	/* labels, annotations and raw as compact JSON text when printed ahead
	 * by sm_batch_print (a batch prints them on its reading thread), or NULL:
	 * the store prints them then. */
	char *labels_text, *annotations_text, *raw_text;
} sm_alert;

typedef struct sm_alert_batch {
	char source[64]; /* alerts.source: the driver name, or generic's "source" */
	sm_alert *items;
	size_t count, cap;
	json_t *agent;           /* cluster pushes: {"instance_id","hostname"}, else NULL */
	bool no_create_resolved; /* a resolved alert never seen creates nothing (local) */
} sm_alert_batch;

/* A new alert at the end of the batch: firing, warning, empty labels and
 * annotations, started now (started_set false). NULL when out of memory. */
sm_alert *sm_batch_add(sm_alert_batch *batch);
void sm_batch_clear(sm_alert_batch *batch);
/* Print each alert's labels, annotations and raw into its *_text; -1 when
 * out of memory (the texts made so far stay, and are freed with it). */
int sm_batch_print(sm_alert_batch *batch);
/* Fill missing fingerprints (sm_fingerprint_labels for Alertmanager-shaped
 * sources, sm_fingerprint_generic otherwise) and default names. */
int sm_batch_finish(sm_alert_batch *batch, bool alertmanager_fingerprints, sm_error *err);

/* Setters that copy; a NULL or non-string JSON value leaves the default. */
void sm_alert_set_name(sm_alert *alert, const char *name);
void sm_alert_set_description(sm_alert *alert, const char *text);
void sm_alert_set_fingerprint(sm_alert *alert, const char *fingerprint);
/* Status text: "resolved" (any case) resolves; anything else is firing. */
void sm_alert_set_status(sm_alert *alert, const char *text);
/* Set (or replace) a label or annotation from text. */
void sm_alert_label(sm_alert *alert, const char *key, const char *value);
void sm_alert_annotation(sm_alert *alert, const char *key, const char *value);

/* Fingerprints. Alertmanager's own: 64-bit FNV-1a over the label names in
 * byte order, each name and value followed by the byte 0xff, printed %016x
 * (non-string values hash as their JSON text). The generic rule: the first
 * 16 hex digits of SHA-256 over the name, a newline, then "key=value\n" for
 * each label in byte order of keys (non-string values as JSON text). */
char *sm_fingerprint_labels(json_t *labels);
char *sm_fingerprint_generic(const char *name, json_t *labels);

/* Text of a JSON scalar for labels: strings as they are, numbers and
 * booleans as JSON text, null as "" (the caller frees). Objects and arrays
 * as compact JSON. */
char *sm_json_text(json_t *value);
/* The string value of key in obj when it is a non-empty string, else NULL. */
const char *sm_json_str(json_t *obj, const char *key);
/* Whether obj has key with a value other than null. */
bool sm_json_has(json_t *obj, const char *key);
/* An identifier sent by a vendor as text (the caller frees): a non-empty
 * string as it is, a non-zero number as its JSON text; NULL otherwise. */
char *sm_json_id(json_t *value);
/* Set a label from any JSON value, as sm_json_text writes it (null: ""). */
void sm_alert_label_json(sm_alert *alert, const char *key, json_t *value);

/* The terminator of sm_json_first_str's keys: a typed null pointer, since a
 * bare NULL in a variadic call need not be a pointer. */
#define SM_KEYS_END ((const char *)NULL)
/* The first non-empty string among the keys (ending with SM_KEYS_END). */
const char *sm_json_first_str(json_t *obj, ...) __attribute__((sentinel));

/* Vendor timestamps: RFC 3339 / ISO 8601 strings (a missing offset means
 * UTC; "YYYY-MM-DD HH:MM:SS", date-only and fractions accepted), or Unix
 * times as numbers (milliseconds when above ms_above, seconds otherwise;
 * ms_above 0 means always seconds). Returns 1 with *out set, 0 when absent,
 * null, zero, empty, Go's zero time or unparseable (the caller then keeps
 * "now"). */
int sm_alert_time(json_t *value, double ms_above, struct timespec *out);
/* An end time given as a string: as sm_alert_time, and also 0 for the far-future "never"
 * placeholders vendors send (a year after next year). *out is written only
 * when 1 is returned. */
int sm_alert_end_time(json_t *value, struct timespec *out);

/* Whether word occurs in text as a whole word, with no letter, digit or
 * one of "-_." next to it (host names hold those): "Disk full on db-01"
 * names db-01, "db-01a down" does not. An empty word always does. */
bool sm_alert_mentions(const char *text, const char *word);

/* --- drivers --- */

enum {
	SM_DRIVER_INTERNAL = 1 << 0, /* never auto-detected nor routed by URL (local) */
	SM_DRIVER_CLUSTER = 1 << 1,  /* accepted only with CLUSTER_ENABLED=1 */
	/* alerts without a sender's fingerprint get Alertmanager's label-set
	 * fingerprint, so it matches what Alertmanager and Grafana show */
	SM_DRIVER_AM_FINGERPRINT = 1 << 2,
};

typedef struct sm_driver {
	const char *name;
	const char *description;
	bool (*detect)(json_t *payload);
	/* 0 with the batch filled (possibly with zero alerts), or -1 with err
	 * saying what is wrong ("invalid Grafana payload: …"). */
	int (*parse)(json_t *payload, sm_alert_batch *batch, sm_error *err);
	const char *signature_header;     /* HTTP header carrying the HMAC */
	const char *signature_header_alt; /* another name senders use, or NULL */
	unsigned flags;
} sm_driver;

/* The table, in detection order (generic last, then local). */
const sm_driver *sm_drivers(size_t *count);
const sm_driver *sm_driver_find(const char *name);
/* "grafana, alertmanager, …": every driver's name, for usage messages. */
void sm_driver_names(char *buf, size_t size);
/* Whether the driver may be used now (CLUSTER_ENABLED for cluster). */
bool sm_driver_enabled(const sm_driver *driver);
/* Parse with driver, or auto-detect when driver is NULL: the first enabled,
 * non-internal driver whose detect() accepts the payload and whose parse
 * yields at least one alert; generic takes what no vendor claims. On
 * success *used names the driver. -1 with err when the payload is invalid
 * for the forced driver or no driver can read it. */
int sm_driver_parse(const sm_driver *driver, json_t *payload, const sm_driver **used,
                    sm_alert_batch *batch, sm_error *err);

/* The batch as the alerts[] of an envelope (ids and changes absent). */
json_t *sm_alert_json(const sm_alert *alert);
json_t *sm_batch_json(const sm_alert_batch *batch);

#endif
