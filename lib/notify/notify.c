/* notify.c - sm-notify's core: the driver table, channel configurations
 * (typed, validated, masked), channels in the store, the decision when an
 * envelope is worth a message, the template context, and the delivery
 * loop with retries that records every attempt. The vendors live in
 * notify_<driver>.c; this file knows none of them but by their row. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "notify_drivers.h"
#include "sm/config.h"
#include "sm/envelope.h"
#include "sm/http.h"
#include "sm/json.h"
#include "sm/log.h"
#include "sm/notify.h"
#include "sm/rfc3339.h"
#include "sm/smtp.h"

/* Sorted by name: listings and messages show them in this order. */
static const notify_driver *const drivers[] = {
    &notify_driver_email,     &notify_driver_exec,  &notify_driver_generic,
    &notify_driver_pagerduty, &notify_driver_slack, &notify_driver_stdout,
};
#define NDRIVERS (sizeof drivers / sizeof drivers[0])

/* Keys every driver takes. template_file's mode is the driver's. */
static const notify_key common_keys[] = {
    {"repeat_interval", NOTIFY_KEY_SECONDS, false, false, SM_TEMPLATE_TEXT},
    {"min_severity", NOTIFY_KEY_SEVERITY, false, false, SM_TEMPLATE_TEXT},
    {"template_file", NOTIFY_KEY_TEMPLATE, false, false, SM_TEMPLATE_TEXT},
    {"timeout_s", NOTIFY_KEY_SECONDS, false, false, SM_TEMPLATE_TEXT},
    {"retries", NOTIFY_KEY_COUNT, false, false, SM_TEMPLATE_TEXT},
    {"backoff_s", NOTIFY_KEY_SECONDS, false, false, SM_TEMPLATE_TEXT},
    {NULL, NOTIFY_KEY_STRING, false, false, SM_TEMPLATE_TEXT},
};

static const char masked[] = "********";

const notify_driver *notify_driver_find(const char *name)
{
	for (size_t i = 0; name && i < NDRIVERS; i++)
		if (strcmp(drivers[i]->name, name) == 0)
			return drivers[i];
	return NULL;
}

bool sm_notify_driver_known(const char *name)
{
	return notify_driver_find(name) != NULL;
}

void sm_notify_driver_names(char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NDRIVERS && used < size; i++) {
		int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", drivers[i]->name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

const notify_key *notify_key_find(const notify_driver *d, const char *name)
{
	for (const notify_key *k = d->keys; k && k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	for (const notify_key *k = common_keys; k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

static void key_names(const notify_driver *d, char *buf, size_t size)
{
	size_t used = 0;
	const notify_key *sets[2] = {d->keys, common_keys};

	buf[0] = '\0';
	for (int s = 0; s < 2; s++)
		for (const notify_key *k = sets[s]; k && k->name && used < size; k++) {
			int n =
			    snprintf(buf + used, size - used, "%s%s", used ? ", " : "", k->name);
			if (n < 0)
				return;
			used += (size_t)n;
		}
}

/* --- configuration values ------------------------------------------------ */

const char *notify_cfg_str(json_t *config, const char *key, const char *def)
{
	const char *v = json_string_value(json_object_get(config, key));
	return v ? v : def;
}

double notify_cfg_num(json_t *config, const char *key, double def)
{
	json_t *v = json_object_get(config, key);
	return json_is_number(v) ? json_number_value(v) : def;
}

bool notify_cfg_bool(json_t *config, const char *key, bool def)
{
	json_t *v = json_object_get(config, key);
	return json_is_boolean(v) ? json_is_true(v) : def;
}

static bool header_name_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("!#$%&'*+-.^_`|~", s[i]))
			return false;
	return true;
}

static bool header_value_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' && *s != '\t')
			return false;
	return true;
}

/* headers as a JSON object of strings, or "Name: value" lines. */
static json_t *parse_headers(const char *text, const char *key, sm_error *err)
{
	json_t *obj;
	const char *name;
	json_t *v;

	while (isspace((unsigned char)*text))
		text++;
	if (*text == '{') {
		obj = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(obj)) {
			json_decref(obj);
			sm_error_set(err, "%s: not a JSON object", key);
			return NULL;
		}
	} else {
		obj = json_object();
		while (*text) {
			const char *eol = strchr(text, '\n'), *colon;
			size_t len = eol ? (size_t)(eol - text) : strlen(text);
			char *line = strndup(text, len), *value;

			text += len + (eol ? 1 : 0);
			if (!line)
				continue;
			if (len && line[len - 1] == '\r')
				line[--len] = '\0';
			colon = strchr(line, ':');
			if (len == 0) {
				free(line);
				continue;
			}
			if (!colon || !header_name_ok(line, (size_t)(colon - line))) {
				free(line);
				json_decref(obj);
				sm_error_set(
				    err, "%s: expected 'Name: value' lines or a JSON object", key);
				return NULL;
			}
			value = (char *)colon + 1;
			while (*value == ' ' || *value == '\t')
				value++;
			line[colon - line] = '\0';
			json_object_set_new(obj, line, sm_json_string(value));
			free(line);
		}
	}
	/* cppcheck-suppress variableScope */
	json_object_foreach(obj, name, v)
	{
		if (!json_is_string(v) || !header_name_ok(name, strlen(name)) ||
		    !header_value_ok(json_string_value(v))) {
			json_decref(obj);
			sm_error_set(err, "%s: a header name or value is not valid", key);
			return NULL;
		}
	}
	return obj;
}

static json_t *parse_command(const char *text, const char *key, sm_error *err)
{
	json_t *argv;
	size_t i;
	json_t *v;
	const char *p = text;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '[') {
		argv = json_loads(p, 0, NULL);
		if (!json_is_array(argv)) {
			json_decref(argv);
			sm_error_set(err, "%s: not a JSON array of strings", key);
			return NULL;
		}
	} else {
		argv = json_array();
		while (*p) {
			size_t n = strcspn(p, " \t\n");
			char *word = strndup(p, n);
			if (word)
				json_array_append_new(argv, sm_json_string(word));
			free(word);
			p += n;
			while (isspace((unsigned char)*p))
				p++;
		}
	}
	if (json_array_size(argv) == 0) {
		json_decref(argv);
		sm_error_set(err, "%s: no program given", key);
		return NULL;
	}
	/* cppcheck-suppress variableScope */
	json_array_foreach(argv, i, v)
	{
		if (!json_is_string(v) || (i == 0 && json_string_length(v) == 0)) {
			json_decref(argv);
			sm_error_set(err, "%s: not a JSON array of strings", key);
			return NULL;
		}
	}
	p = json_string_value(json_array_get(argv, 0));
	if (strchr(p, '/') && access(p, X_OK) != 0) {
		sm_error_set(err, "%s: %s: %s", key, p, strerror(errno));
		json_decref(argv);
		return NULL;
	}
	return argv;
}

static json_t *parse_number(const char *text, const char *key, double min, double max, bool whole,
                            sm_error *err)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || *end || !isfinite(v) || v < min || v > max ||
	    (whole && v != floor(v))) {
		sm_error_set(err, "%s: expected %s from %g to %g, got '%s'", key,
		             whole ? "a whole number" : "a number", min, max, text);
		return NULL;
	}
	if (v == floor(v) && fabs(v) < 1e15)
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* The typed value of key k from its text, or NULL with err. */
static json_t *parse_value(const notify_key *k, const notify_driver *d, const char *text,
                           sm_error *err)
{
	char why[128];

	if (!sm_json_utf8_valid(text, strlen(text))) {
		sm_error_set(err, "%s: not valid UTF-8", k->name);
		return NULL;
	}
	switch (k->type) {
	case NOTIFY_KEY_STRING:
		if (!*text && k->required) {
			sm_error_set(err, "%s: must not be empty", k->name);
			return NULL;
		}
		return json_string(text);
	case NOTIFY_KEY_URL:
		if (!sm_http_url_ok(text, why, sizeof why)) {
			sm_error_set(err, "%s: not an http(s) URL: %s", k->name, why);
			return NULL;
		}
		return json_string(text);
	case NOTIFY_KEY_SECONDS:
		return parse_number(text, k->name, 0, 1e7, false, err);
	case NOTIFY_KEY_COUNT:
		return parse_number(text, k->name, 0, 10, true, err);
	case NOTIFY_KEY_PORT:
		return parse_number(text, k->name, 1, 65535, true, err);
	case NOTIFY_KEY_BOOL: {
		static const char *const yes[] = {"1", "true", "yes", "on"};
		static const char *const no[] = {"0", "false", "no", "off"};
		for (size_t i = 0; i < 4; i++) {
			if (strcasecmp(text, yes[i]) == 0)
				return json_true();
			if (strcasecmp(text, no[i]) == 0)
				return json_false();
		}
		sm_error_set(err, "%s: expected 1 or 0 (true/false, yes/no, on/off), got '%s'",
		             k->name, text);
		return NULL;
	}
	case NOTIFY_KEY_SEVERITY:
		if (strcmp(text, "critical") && strcmp(text, "warning") && strcmp(text, "info")) {
			sm_error_set(err, "%s: expected critical, warning or info, got '%s'",
			             k->name, text);
			return NULL;
		}
		return json_string(text);
	case NOTIFY_KEY_METHOD:
		if (strcasecmp(text, "POST") && strcasecmp(text, "PUT") &&
		    strcasecmp(text, "PATCH")) {
			sm_error_set(err, "%s: expected POST, PUT or PATCH, got '%s'", k->name,
			             text);
			return NULL;
		}
		{
			char up[8];
			size_t i;
			for (i = 0; i < sizeof up - 1 && text[i]; i++)
				up[i] = (char)toupper((unsigned char)text[i]);
			up[i] = '\0';
			return json_string(up);
		}
	case NOTIFY_KEY_HEADERS:
		return parse_headers(text, k->name, err);
	case NOTIFY_KEY_EMAIL:
		if (!sm_mail_address_ok(text)) {
			sm_error_set(err, "%s: not an e-mail address: '%s'", k->name, text);
			return NULL;
		}
		return json_string(text);
	case NOTIFY_KEY_EMAIL_LIST: {
		json_t *list = json_array();
		const char *p = text;
		while (*p) {
			size_t n = strcspn(p, ",");
			char *a = strndup(p, n), *s = a, *e;
			p += n + (p[n] == ',');
			if (!a)
				continue;
			while (isspace((unsigned char)*s))
				s++;
			e = s + strlen(s);
			while (e > s && isspace((unsigned char)e[-1]))
				*--e = '\0';
			if (*s && !sm_mail_address_ok(s)) {
				sm_error_set(err, "%s: not an e-mail address: '%s'", k->name, s);
				free(a);
				json_decref(list);
				return NULL;
			}
			if (*s)
				json_array_append_new(list, json_string(s));
			free(a);
		}
		if (json_array_size(list) == 0) {
			json_decref(list);
			sm_error_set(err, "%s: no address given", k->name);
			return NULL;
		}
		return list;
	}
	case NOTIFY_KEY_FILE:
	case NOTIFY_KEY_TEMPLATE: {
		char *real = realpath(text, NULL);
		json_t *v;
		if (!real || access(real, R_OK) != 0) {
			sm_error_set(err, "%s: %s: %s", k->name, text, strerror(errno));
			free(real);
			return NULL;
		}
		if (k->type == NOTIFY_KEY_TEMPLATE) {
			enum sm_template_mode mode =
			    strcmp(k->name, "template_file") == 0 ? d->template_mode : k->mode;
			sm_template *t = sm_template_load(real, mode, err);
			if (!t) {
				sm_error_prefix(err, "%s", k->name);
				free(real);
				return NULL;
			}
			sm_template_free(t);
		}
		v = json_string(real);
		free(real);
		return v;
	}
	case NOTIFY_KEY_COMMAND:
		return parse_command(text, k->name, err);
	}
	return NULL;
}

int sm_notify_config_build(const char *driver, char *const *words, int nwords, json_t **config,
                           sm_error *err)
{
	const notify_driver *d = notify_driver_find(driver);
	json_t *cfg;
	char names[512];
	const notify_key *sets[2];

	*config = NULL;
	if (!d) {
		sm_notify_driver_names(names, sizeof names);
		sm_error_set(err, "unknown driver '%s' (available: %s)", driver ? driver : "",
		             names);
		return SM_EXIT_USAGE;
	}
	cfg = json_object();
	for (int i = 0; i < nwords; i++) {
		const char *eq = strchr(words[i], '=');
		const notify_key *k;
		char key[64], *file_text = NULL;
		const char *text;
		json_t *v;

		if (!eq || eq == words[i] || (size_t)(eq - words[i]) >= sizeof key) {
			sm_error_set(err, "expected KEY=VALUE, got '%.40s'", words[i]);
			goto usage;
		}
		memcpy(key, words[i], (size_t)(eq - words[i]));
		key[eq - words[i]] = '\0';
		k = notify_key_find(d, key);
		if (!k) {
			key_names(d, names, sizeof names);
			sm_error_set(err, "unknown key '%s' for driver %s (keys: %s)", key, d->name,
			             names);
			goto usage;
		}
		if (json_object_get(cfg, key)) {
			sm_error_set(err, "%s given twice", key);
			goto usage;
		}
		text = eq + 1;
		if (text[0] == '@') {
			file_text = sm_config_value_file(key, text + 1, err);
			if (!file_text)
				goto usage;
			text = file_text;
		}
		v = parse_value(k, d, text, err);
		free(file_text);
		if (!v)
			goto usage;
		json_object_set_new(cfg, key, v);
	}
	sets[0] = d->keys;
	sets[1] = common_keys;
	for (int s = 0; s < 2; s++)
		for (const notify_key *k = sets[s]; k && k->name; k++)
			if (k->required && !json_object_get(cfg, k->name)) {
				sm_error_set(err, "driver %s needs %s", d->name, k->name);
				goto usage;
			}
	*config = cfg;
	return SM_EXIT_OK;
usage:
	json_decref(cfg);
	return SM_EXIT_USAGE;
}

/* scheme://host[:port]/ and the mask. */
static json_t *mask_url(const char *url)
{
	const char *p = strstr(url, "://");
	size_t n;
	char *s;
	json_t *v;

	if (!p)
		return json_string(masked);
	p += 3;
	n = (size_t)(p - url) + strcspn(p, "/?#");
	if (asprintf(&s, "%.*s/%s", (int)n, url, masked) < 0)
		return json_string(masked);
	v = sm_json_string(s);
	free(s);
	return v;
}

json_t *sm_notify_config_masked(const char *driver, json_t *config)
{
	const notify_driver *d = notify_driver_find(driver);
	json_t *out = json_deep_copy(config), *v;
	const char *key;

	if (!out)
		return json_object();
	/* cppcheck-suppress variableScope */
	json_object_foreach(out, key, v)
	{
		const notify_key *k = d ? notify_key_find(d, key) : NULL;
		if (k && !k->secret)
			continue;
		/* Unknown keys (an older or newer libsm wrote them) are masked too. */
		if (k && k->type == NOTIFY_KEY_URL && json_is_string(v)) {
			json_object_set_new(out, key, mask_url(json_string_value(v)));
		} else if (k && k->type == NOTIFY_KEY_HEADERS && json_is_object(v)) {
			const char *h;
			json_t *hv;
			/* cppcheck-suppress variableScope */
			json_object_foreach(v, h, hv)
			{
				json_object_set_new(v, h, json_string(masked));
			}
		} else {
			json_object_set_new(out, key, json_string(masked));
		}
	}
	return out;
}

/* --- channels in the store ------------------------------------------------ */

static bool name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
			return false;
	return true;
}

static int bad_name(const char *name, sm_error *err)
{
	sm_error_set(err, "bad channel name '%.64s' (1-64 letters, digits, '.', '_' or '-')",
	             name ? name : "");
	return SM_EXIT_USAGE;
}

int sm_notify_channel_add(sm_store *store, const char *name, const char *driver, json_t *config,
                          sm_error *err)
{
	sqlite3_stmt *st;
	char now[SM_RFC3339_LEN], *text;
	int rc;

	if (!name_ok(name))
		return bad_name(name, err);
	if (!sm_notify_driver_known(driver)) {
		sm_error_set(err, "unknown driver '%s'", driver);
		return SM_EXIT_USAGE;
	}
	st = sm_store_prepare(store,
	                      "INSERT INTO notification_channels"
	                      " (name, driver, config, enabled, created_at, updated_at)"
	                      " VALUES (?, ?, ?, 1, ?, ?)",
	                      err);
	if (!st)
		return SM_EXIT_FAILURE;
	text = json_dumps(config, SM_JSON_FLAGS);
	sm_rfc3339_now(now, true);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, driver, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, text ? text : "{}", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	free(text);
	if (rc == SQLITE_DONE) {
		sqlite3_finalize(st);
		return SM_EXIT_OK;
	}
	if (sqlite3_extended_errcode(sm_store_db(store)) == SQLITE_CONSTRAINT_UNIQUE) {
		sqlite3_finalize(st);
		sm_error_set(err, "channel '%s' exists already (rm it first)", name);
		return SM_EXIT_USAGE;
	}
	sm_error_set(err, "cannot add channel: %s", sqlite3_errmsg(sm_store_db(store)));
	sqlite3_finalize(st);
	return SM_EXIT_FAILURE;
}

static json_t *channel_row(sqlite3_stmt *st, bool mask)
{
	const char *driver = (const char *)sqlite3_column_text(st, 2);
	json_t *config = json_loads((const char *)sqlite3_column_text(st, 3), 0, NULL);

	if (!json_is_object(config)) {
		json_decref(config);
		config = json_object();
	}
	if (mask) {
		json_t *m = sm_notify_config_masked(driver, config);
		json_decref(config);
		config = m;
	}
	return json_pack("{s:I,s:s,s:s,s:b,s:o,s:s,s:s}", "id",
	                 (json_int_t)sqlite3_column_int64(st, 0), "name",
	                 (const char *)sqlite3_column_text(st, 1), "driver", driver, "enabled",
	                 sqlite3_column_int(st, 4), "config", config, "created_at",
	                 (const char *)sqlite3_column_text(st, 5), "updated_at",
	                 (const char *)sqlite3_column_text(st, 6));
}

#define CHANNEL_COLUMNS "id, name, driver, config, enabled, created_at, updated_at"

int sm_notify_channel_get(sm_store *store, const char *name, json_t **out, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(
	    store, "SELECT " CHANNEL_COLUMNS " FROM notification_channels WHERE name = ?", err);
	int rc;

	*out = NULL;
	if (!st)
		return SM_EXIT_FAILURE;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = channel_row(st, false);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return SM_EXIT_OK;
	if (rc == SQLITE_DONE) {
		sm_error_set(err, "no channel '%.64s' (see sm-notify channel list)", name);
		return SM_EXIT_USAGE;
	}
	sm_error_set(err, "cannot read channels: %s", sqlite3_errmsg(sm_store_db(store)));
	return SM_EXIT_FAILURE;
}

int sm_notify_channel_list(sm_store *store, json_t **out, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(
	    store, "SELECT " CHANNEL_COLUMNS " FROM notification_channels ORDER BY name", err);
	int rc;

	*out = NULL;
	if (!st)
		return SM_EXIT_FAILURE;
	*out = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(*out, channel_row(st, true));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(*out);
		*out = NULL;
		sm_error_set(err, "cannot read channels: %s", sqlite3_errmsg(sm_store_db(store)));
		return SM_EXIT_FAILURE;
	}
	return SM_EXIT_OK;
}

static int change_channel(sm_store *store, const char *sql, const char *name, int value,
                          sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(store, sql, err);
	char now[SM_RFC3339_LEN];
	int rc;

	if (!st)
		return SM_EXIT_FAILURE;
	sm_rfc3339_now(now, true);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (value >= 0) {
		sqlite3_bind_int(st, 2, value);
		sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		sm_error_set(err, "cannot change channel: %s", sqlite3_errmsg(sm_store_db(store)));
		return SM_EXIT_FAILURE;
	}
	if (sqlite3_changes(sm_store_db(store)) == 0) {
		sm_error_set(err, "no channel '%.64s' (see sm-notify channel list)", name);
		return SM_EXIT_USAGE;
	}
	return SM_EXIT_OK;
}

int sm_notify_channel_set_enabled(sm_store *store, const char *name, bool enabled, sm_error *err)
{
	return change_channel(store,
	                      "UPDATE notification_channels SET enabled = ?2, updated_at = ?3"
	                      " WHERE name = ?1",
	                      name, enabled ? 1 : 0, err);
}

int sm_notify_channel_remove(sm_store *store, const char *name, sm_error *err)
{
	return change_channel(store, "DELETE FROM notification_channels WHERE name = ?1", name, -1,
	                      err);
}

/* --- when to notify ------------------------------------------------------- */

static int severity_rank(const char *s)
{
	if (!s)
		return -1;
	if (strcmp(s, "critical") == 0)
		return 2;
	if (strcmp(s, "warning") == 0)
		return 1;
	if (strcmp(s, "info") == 0)
		return 0;
	return -1;
}

static const char *const severity_names[] = {"info", "warning", "critical"};

/* A check status as a severity rank: unknown is a warning, ok none. */
static int check_rank(const char *status)
{
	if (!status || strcmp(status, "ok") == 0)
		return -1;
	if (strcmp(status, "critical") == 0)
		return 2;
	return 1;
}

const char *sm_notify_severity(json_t *env)
{
	json_t *incident = json_object_get(env, "incident"), *v;
	int worst = -1;
	size_t i;

	if (json_is_object(incident) &&
	    severity_rank(json_string_value(json_object_get(incident, "severity"))) >= 0)
		return severity_names[severity_rank(
		    json_string_value(json_object_get(incident, "severity")))];
	json_array_foreach(json_object_get(env, "alerts"), i, v)
	{
		int r = severity_rank(json_string_value(json_object_get(v, "severity")));
		worst = r > worst ? r : worst;
	}
	if (worst < 0) {
		json_array_foreach(json_object_get(env, "checks"), i, v)
		{
			int r = check_rank(json_string_value(json_object_get(v, "status")));
			worst = r > worst ? r : worst;
		}
	}
	return severity_names[worst < 0 ? 0 : worst];
}

static bool str_is(json_t *obj, const char *key, const char *value)
{
	const char *v = json_string_value(json_object_get(obj, key));
	return v && strcmp(v, value) == 0;
}

const char *sm_notify_event(json_t *env)
{
	static const struct {
		const char *change, *event;
	} incident_events[] =
	    {
	        {"created", "incident created"},
	        {"reopened", "incident reopened"},
	        {"resolved", "incident resolved"},
	        {"escalated", "severity rose"},
	    },
	  alert_events[] = {
	      {"created", "alert created"},
	      {"refired", "alert refired"},
	      {"resolved", "alert resolved"},
	  };
	json_t *incident = json_object_get(env, "incident"), *a;
	size_t i;

	if (json_is_object(incident)) {
		for (size_t k = 0; k < 4; k++)
			if (str_is(incident, "change", incident_events[k].change))
				return incident_events[k].event;
		if (json_is_string(json_object_get(incident, "previous_severity")))
			return "severity rose";
	}
	for (size_t k = 0; k < 3; k++) {
		json_array_foreach(json_object_get(env, "alerts"), i, a)
		{
			if (str_is(a, "change", alert_events[k].change))
				return alert_events[k].event;
		}
	}
	return NULL;
}

/* Whether the envelope is about something still wrong (worth a reminder),
 * or NULL with the reason it is not. */
static const char *not_active(json_t *env)
{
	json_t *incident = json_object_get(env, "incident"), *v;
	json_t *alerts = json_object_get(env, "alerts"), *checks = json_object_get(env, "checks");
	size_t i;

	if (json_is_object(incident))
		return str_is(incident, "status", "open") ? NULL : "incident not open";
	if (json_array_size(alerts) > 0) {
		json_array_foreach(alerts, i, v)
		{
			if (str_is(v, "status", "firing"))
				return NULL;
		}
		return "no alert firing";
	}
	json_array_foreach(checks, i, v)
	{
		if (check_rank(json_string_value(json_object_get(v, "status"))) >= 0)
			return NULL;
	}
	return json_array_size(checks) ? "all checks ok" : "nothing to report";
}

sm_notify_decision sm_notify_decide(json_t *env, json_t *config, double last_sent_age_s)
{
	sm_notify_decision d = {false, NULL};
	const char *min = notify_cfg_str(config, "min_severity", "info");
	double repeat = notify_cfg_num(config, "repeat_interval", SM_NOTIFY_REPEAT_INTERVAL);
	const char *event;

	if (severity_rank(sm_notify_severity(env)) < severity_rank(min)) {
		d.reason = "below min_severity";
		return d;
	}
	event = sm_notify_event(env);
	if (event) {
		d.deliver = true;
		d.reason = event;
		return d;
	}
	d.reason = not_active(env);
	if (d.reason)
		return d;
	if (repeat <= 0 || last_sent_age_s < 0 || last_sent_age_s >= repeat) {
		d.deliver = true;
		d.reason = repeat <= 0           ? "repeat_interval 0"
		           : last_sent_age_s < 0 ? "not sent before"
		                                 : "reminder";
		return d;
	}
	d.reason = "unchanged within repeat_interval";
	return d;
}

/* --- the template context --------------------------------------------------
 */

/* Mark each element of an array with first/last, for separators. */
static void mark_ends(json_t *list)
{
	size_t i, n = json_array_size(list);
	json_t *v;

	json_array_foreach(list, i, v)
	{
		if (!json_is_object(v))
			continue;
		json_object_set_new(v, "first", json_boolean(i == 0));
		json_object_set_new(v, "last", json_boolean(i + 1 == n));
	}
}

/* An object's members as [{name, value}] (sections cannot walk objects). */
static json_t *pairs(json_t *obj)
{
	json_t *list = json_array(), *v;
	const char *k;

	json_object_foreach(obj, k, v)
	{
		json_array_append_new(list, json_pack("{s:s,s:O}", "name", k, "value", v));
	}
	mark_ends(list);
	return list;
}

static const char *label(json_t *alert, const char *name)
{
	return json_string_value(json_object_get(json_object_get(alert, "labels"), name));
}

static char *make_title(json_t *env, json_t *incident, json_t *alerts, size_t failing)
{
	const char *t = json_string_value(json_object_get(incident, "title"));
	const char *host = json_string_value(json_object_get(env, "host"));
	json_t *first = json_array_get(alerts, 0);
	char *s = NULL;

	if (t && *t)
		return strdup(t);
	if (first) {
		const char *name = json_string_value(json_object_get(first, "name"));
		const char *inst = label(first, "instance");
		size_t n = json_array_size(alerts);
		if (!inst)
			inst = label(first, "hostname");
		if (asprintf(&s, "%s%s%s%s", name ? name : "alert", inst ? " on " : "",
		             inst ? inst : "", n > 1 ? " and more" : "") < 0)
			s = NULL;
		return s;
	}
	if (asprintf(&s, "%zu check%s not ok on %s", failing, failing == 1 ? "" : "s",
	             host ? host : "this host") < 0)
		s = NULL;
	return s;
}

static void upper(char *s)
{
	for (; *s; s++)
		*s = (char)toupper((unsigned char)*s);
}

json_t *sm_notify_context(json_t *env, const char *channel)
{
	json_t *ctx = json_is_object(env) ? json_deep_copy(env) : json_object();
	json_t *incident = json_object_get(ctx, "incident"),
	       *alerts = json_object_get(ctx, "alerts");
	json_t *checks = json_object_get(ctx, "checks"),
	       *analysis = json_object_get(ctx, "analysis");
	json_t *firing = json_array(), *resolved = json_array(), *failing = json_array();
	json_t *recs = json_array(), *v;
	const char *severity = sm_notify_severity(env), *event = sm_notify_event(env);
	const char *instance = NULL, *status;
	char *title, *message = NULL, word[16];
	size_t i;

	if (!json_is_object(incident))
		incident = NULL;
	json_array_foreach(alerts, i, v)
	{
		if (!json_is_object(v))
			continue;
		json_object_set_new(v, "labels_list", pairs(json_object_get(v, "labels")));
		json_object_set_new(v, "annotations_list",
		                    pairs(json_object_get(v, "annotations")));
		if (!instance)
			instance =
			    label(v, "instance") ? label(v, "instance") : label(v, "hostname");
	}
	mark_ends(alerts);
	mark_ends(checks);
	/* Copies, so that first/last of the sub-lists are their own. */
	json_array_foreach(alerts, i, v)
	{
		if (json_is_object(v))
			json_array_append_new(str_is(v, "status", "resolved") ? resolved : firing,
			                      json_deep_copy(v));
	}
	json_array_foreach(checks, i, v)
	{
		if (json_is_object(v) &&
		    check_rank(json_string_value(json_object_get(v, "status"))) >= 0)
			json_array_append_new(failing, json_deep_copy(v));
	}
	json_array_foreach(json_object_get(analysis, "recommendations"), i, v)
	{
		if (json_is_object(v))
			json_array_append_new(recs, json_deep_copy(v));
		else if (json_is_string(v))
			json_array_append_new(recs, json_pack("{s:O}", "title", v));
	}
	mark_ends(firing);
	mark_ends(resolved);
	mark_ends(failing);
	mark_ends(recs);

	if (incident)
		status =
		    str_is(incident, "status", "resolved") || str_is(incident, "status", "closed")
		        ? "resolved"
		        : "firing";
	else if (json_array_size(alerts))
		status = json_array_size(firing) ? "firing" : "resolved";
	else
		status = json_array_size(failing) ? "firing" : "ok";
	if (!instance)
		instance = json_string_value(json_object_get(ctx, "host"));

	title = make_title(ctx, incident, alerts, json_array_size(failing));
	if (json_array_size(alerts)) {
		if (asprintf(&message, "%zu alert%s: %zu firing, %zu resolved",
		             json_array_size(alerts), json_array_size(alerts) == 1 ? "" : "s",
		             json_array_size(firing), json_array_size(resolved)) < 0)
			message = NULL;
	} else if (json_array_size(checks)) {
		if (asprintf(&message, "%zu of %zu checks not ok", json_array_size(failing),
		             json_array_size(checks)) < 0)
			message = NULL;
	}

	json_object_set_new(ctx, "channel", channel ? sm_json_string(channel) : json_null());
	json_object_set_new(ctx, "title", sm_json_string(title ? title : "sm notification"));
	json_object_set_new(ctx, "message", sm_json_string(message ? message : ""));
	json_object_set_new(ctx, "severity", json_string(severity));
	snprintf(word, sizeof word, "%s", severity);
	upper(word);
	json_object_set_new(ctx, "SEVERITY", json_string(word));
	json_object_set_new(ctx, "status", json_string(status));
	snprintf(word, sizeof word, "%s", status);
	upper(word);
	json_object_set_new(ctx, "STATUS", json_string(word));
	json_object_set_new(ctx, "is_resolved", json_boolean(strcmp(status, "resolved") == 0));
	json_object_set_new(ctx, "is_firing", json_boolean(strcmp(status, "firing") == 0));
	json_object_set_new(ctx, "event", json_string(event ? event : ""));
	json_object_set_new(ctx, "incident_id",
	                    incident && json_is_integer(json_object_get(incident, "id"))
	                        ? json_incref(json_object_get(incident, "id"))
	                        : json_null());
	json_object_set_new(ctx, "instance", sm_json_string(instance ? instance : ""));
	json_object_set_new(ctx, "color",
	                    json_string(strcmp(status, "resolved") == 0     ? "#28a745"
	                                : strcmp(severity, "critical") == 0 ? "#dc3545"
	                                : strcmp(severity, "warning") == 0  ? "#ffc107"
	                                                                    : "#17a2b8"));
	json_object_set_new(ctx, "alert_count", json_integer((json_int_t)json_array_size(alerts)));
	json_object_set_new(ctx, "firing_count", json_integer((json_int_t)json_array_size(firing)));
	json_object_set_new(ctx, "resolved_count",
	                    json_integer((json_int_t)json_array_size(resolved)));
	json_object_set_new(ctx, "check_count", json_integer((json_int_t)json_array_size(checks)));
	json_object_set_new(ctx, "checks_failed",
	                    json_integer((json_int_t)json_array_size(failing)));
	json_object_set_new(ctx, "alerts_firing", firing);
	json_object_set_new(ctx, "alerts_resolved", resolved);
	json_object_set_new(ctx, "checks_failing", failing);
	json_object_set_new(ctx, "recommendations", recs);
	json_object_set(ctx, "summary",
	                json_is_string(json_object_get(analysis, "summary"))
	                    ? json_object_get(analysis, "summary")
	                    : json_null());
	free(title);
	free(message);
	return ctx;
}

/* --- rendering and messages ------------------------------------------------
 */

char *notify_render(json_t *config, const char *key, const char *builtin,
                    enum sm_template_mode mode, json_t *context, sm_error *err)
{
	const char *path = key ? notify_cfg_str(config, key, NULL) : NULL;
	sm_template *t = path ? sm_template_load(path, mode, err)
	                      : sm_template_parse(builtin, strlen(builtin), mode, err);
	char *out;

	if (!t) {
		if (!path)
			sm_error_prefix(err, "built-in template");
		return NULL;
	}
	out = sm_template_render(t, context, NULL, err);
	if (!out)
		sm_error_prefix(err, "%s", path ? path : "built-in template");
	sm_template_free(t);
	return out;
}

json_t *notify_render_json(json_t *config, const char *key, const char *builtin, json_t *context,
                           sm_error *err)
{
	char *text = notify_render(config, key, builtin, SM_TEMPLATE_JSON, context, err);
	const char *path = key ? notify_cfg_str(config, key, NULL) : NULL;
	json_error_t jerr;
	json_t *v;

	if (!text)
		return NULL;
	v = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!json_is_object(v)) {
		if (v)
			sm_error_set(err, "%s: the template made JSON that is not an object",
			             path ? path : "built-in template");
		else
			sm_error_set(err, "%s: the template made invalid JSON: line %d: %s",
			             path ? path : "built-in template", jerr.line, jerr.text);
		json_decref(v);
		return NULL;
	}
	return v;
}

int notify_message_json(notify_message *msg, json_t *body, json_t *config, const char *url_key,
                        const char *url_default, sm_error *err)
{
	msg->body = body ? sm_json_dump(body, &msg->body_len) : NULL;
	json_decref(body);
	msg->url = strdup(notify_cfg_str(config, url_key, url_default));
	if (!msg->body || !msg->url ||
	    notify_message_header(msg, "Content-Type", "application/json") < 0) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	return 0;
}

void notify_message_clear(notify_message *msg)
{
	free(msg->url);
	free(msg->method);
	for (size_t i = 0; msg->headers[i]; i++)
		free(msg->headers[i]);
	free(msg->body);
	free(msg->subject);
	free(msg->text);
	free(msg->html);
	for (size_t i = 0; msg->argv && msg->argv[i]; i++)
		free(msg->argv[i]);
	free(msg->argv);
	for (size_t i = 0; msg->envv && msg->envv[i]; i++)
		free(msg->envv[i]);
	free(msg->envv);
	memset(msg, 0, sizeof *msg);
}

int notify_message_header(notify_message *msg, const char *name, const char *value)
{
	size_t n = 0;

	while (msg->headers[n])
		n++;
	if (n >= NOTIFY_MAX_HEADERS || asprintf(&msg->headers[n], "%s: %s", name, value) < 0) {
		msg->headers[n] = NULL;
		return -1;
	}
	return 0;
}

/* Printable text of at most n bytes of s for a message. */
static void snippet(char *out, size_t size, const char *s, size_t len)
{
	size_t j = 0;

	for (size_t i = 0; s && i < len && j + 1 < size && j < 200; i++)
		out[j++] = (unsigned char)s[i] < ' ' ? ' ' : s[i];
	out[j] = '\0';
}

void notify_http_send(const notify_job *job, const notify_message *msg, notify_outcome *out)
{
	sm_http_request req = {
	    .method = msg->method,
	    .url = msg->url,
	    .headers = (const char *const *)msg->headers,
	    .body = msg->body,
	    .body_len = msg->body_len,
	    .timeout_s = job->timeout_s,
	};
	sm_http_response res = {0};
	char text[256];

	memset(out, 0, sizeof *out);
	if (sm_http_send(&req, &res) < 0) {
		out->transient = res.transient;
		snprintf(out->error, sizeof out->error, "%s", res.error);
	} else {
		out->http_status = res.status;
		out->ok = res.status >= 200 && res.status < 300;
		out->transient = res.transient;
		if (!out->ok) {
			snippet(text, sizeof text, res.body, res.body_len);
			snprintf(out->error, sizeof out->error, "HTTP %ld%s%s", res.status,
			         *text ? ": " : "", text);
		}
	}
	sm_http_response_clear(&res);
}

/* --- delivery
 * ----------------------------------------------------------------- */

struct channel {
	long long id; /* 0: not stored (the stdout stand-in) */
	char *name;
	const notify_driver *driver;
	json_t *config;
};

struct sm_notifier {
	sm_store *store;
	struct channel *channels;
	size_t n;
	FILE *text_out;
	double retries, backoff_s;
};

/* One attempt to record. */
struct attempt {
	struct channel *ch;
	const char *status;
	int number;
	long http_status;
	char error[512];
	char at[SM_RFC3339_LEN];
};

void sm_notifier_free(sm_notifier *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		free(n->channels[i].name);
		json_decref(n->channels[i].config);
	}
	free(n->channels);
	free(n);
}

static int add_channel(sm_notifier *n, json_t *row)
{
	struct channel *c = realloc(n->channels, (n->n + 1) * sizeof *c);

	if (!c)
		return -1;
	n->channels = c;
	c = &n->channels[n->n];
	c->id = json_integer_value(json_object_get(row, "id"));
	c->name = strdup(json_string_value(json_object_get(row, "name")));
	c->driver = notify_driver_find(json_string_value(json_object_get(row, "driver")));
	c->config = json_incref(json_object_get(row, "config"));
	if (!c->name || !c->driver) {
		free(c->name);
		json_decref(c->config);
		return -1;
	}
	n->n++;
	return 0;
}

static int load_enabled(sm_notifier *n, sm_error *err)
{
	sqlite3_stmt *st = sm_store_prepare(
	    n->store, "SELECT " CHANNEL_COLUMNS " FROM notification_channels ORDER BY name", err);
	size_t stored = 0;
	int rc;

	if (!st)
		return SM_EXIT_FAILURE;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *row;
		stored++;
		if (!sqlite3_column_int(st, 4))
			continue;
		row = channel_row(st, false);
		if (add_channel(n, row) < 0)
			sm_log_kv(SM_LOG_WARN, "channel skipped: unknown driver", "channel",
			          json_string_value(json_object_get(row, "name")), SM_LOG_END);
		json_decref(row);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		sm_error_set(err, "cannot read channels: %s",
		             sqlite3_errmsg(sm_store_db(n->store)));
		return SM_EXIT_FAILURE;
	}
	if (stored == 0) { /* Nothing configured: show the operator something. */
		json_t *row = json_pack("{s:I,s:s,s:s,s:{}}", "id", (json_int_t)0, "name", "stdout",
		                        "driver", "stdout", "config");
		rc = add_channel(n, row);
		json_decref(row);
		if (rc < 0) {
			sm_error_set(err, "out of memory");
			return SM_EXIT_FAILURE;
		}
	}
	return SM_EXIT_OK;
}

int sm_notifier_new(sm_store *store, const sm_notify_opts *opts, sm_notifier **out, sm_error *err)
{
	sm_notifier *n = calloc(1, sizeof *n);
	int rc = SM_EXIT_OK;

	*out = NULL;
	if (!n) {
		sm_error_set(err, "out of memory");
		return SM_EXIT_FAILURE;
	}
	n->store = store;
	n->text_out = opts && opts->text_out ? opts->text_out : stderr;
	if (sm_config_double("SM_NOTIFY_RETRIES", SM_NOTIFY_RETRIES, &n->retries, err) < 0 ||
	    n->retries < 0 || n->retries > 10 || n->retries != floor(n->retries)) {
		sm_error_set(err, "SM_NOTIFY_RETRIES must be a whole number from 0 to 10");
		rc = SM_EXIT_USAGE;
		goto fail;
	}
	if (sm_config_double("SM_NOTIFY_BACKOFF_S", SM_NOTIFY_BACKOFF_S, &n->backoff_s, err) < 0 ||
	    n->backoff_s < 0 || n->backoff_s > 60) {
		sm_error_set(err, "SM_NOTIFY_BACKOFF_S must be a number of seconds from 0 to 60");
		rc = SM_EXIT_USAGE;
		goto fail;
	}
	if (opts && opts->channels && opts->channels[0]) {
		for (size_t i = 0; opts->channels[i]; i++) {
			json_t *row;
			bool dup = false;
			for (size_t j = 0; j < n->n; j++)
				dup = dup || strcmp(n->channels[j].name, opts->channels[i]) == 0;
			if (dup)
				continue;
			rc = sm_notify_channel_get(store, opts->channels[i], &row, err);
			if (rc != SM_EXIT_OK)
				goto fail;
			if (!json_is_true(json_object_get(row, "enabled"))) {
				sm_error_set(
				    err, "channel '%s' is disabled (sm-notify channel enable %s)",
				    opts->channels[i], opts->channels[i]);
				json_decref(row);
				rc = SM_EXIT_USAGE;
				goto fail;
			}
			if (add_channel(n, row) < 0) {
				sm_error_set(err, "channel '%s': unknown driver '%s'",
				             opts->channels[i],
				             json_string_value(json_object_get(row, "driver")));
				json_decref(row);
				rc = SM_EXIT_USAGE;
				goto fail;
			}
			json_decref(row);
		}
	} else if ((rc = load_enabled(n, err)) != SM_EXIT_OK) {
		goto fail;
	}
	*out = n;
	return SM_EXIT_OK;
fail:
	sm_notifier_free(n);
	return rc;
}

/* Seconds since ch's last sent message about env's incident; -1: never. */
static double last_sent_age(sm_notifier *n, const struct channel *ch, json_t *env)
{
	json_t *id = json_object_get(json_object_get(env, "incident"), "id");
	sqlite3_stmt *st =
	    sm_store_prepare(n->store,
	                     "SELECT created_at FROM notification_deliveries"
	                     " WHERE channel = ? AND status = 'sent'"
	                     " AND incident_id IS (SELECT id FROM incidents WHERE id = ?)"
	                     " ORDER BY id DESC LIMIT 1",
	                     NULL);
	struct timespec then, now;
	double age = -1;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, ch->name, -1, SQLITE_STATIC);
	if (json_is_integer(id))
		sqlite3_bind_int64(st, 2, json_integer_value(id));
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sm_rfc3339_parse((const char *)sqlite3_column_text(st, 0), &then) == 1) {
		clock_gettime(CLOCK_REALTIME, &now);
		age = (double)(now.tv_sec - then.tv_sec) + (now.tv_nsec - then.tv_nsec) / 1e9;
		if (age < 0)
			age = 0;
	}
	sqlite3_finalize(st);
	return age;
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Deliver through one channel: its entry, attempts appended to *log. */
static json_t *deliver(sm_notifier *n, struct channel *ch, json_t *env, json_t *context,
                       struct attempt **log, size_t *nlog, bool *failed)
{
	sm_notify_decision d = sm_notify_decide(env, ch->config, last_sent_age(n, ch, env));
	notify_job job = {
	    .channel = ch->name,
	    .config = ch->config,
	    .env = env,
	    .context = context,
	    .timeout_s = notify_cfg_num(ch->config, "timeout_s", SM_NOTIFY_TIMEOUT_S),
	    .text_out = n->text_out,
	};
	int retries = (int)notify_cfg_num(ch->config, "retries", n->retries);
	double backoff = notify_cfg_num(ch->config, "backoff_s", n->backoff_s);
	notify_message msg = {0};
	notify_outcome out = {0};
	sm_error err = {0};
	int number = 0;
	struct attempt *a;

	json_object_set_new(context, "channel", sm_json_string(ch->name));
	if (d.deliver) {
		if (ch->driver->prepare(&job, &msg, &err) < 0) {
			number = 1;
			snprintf(out.error, sizeof out.error, "%s", err.msg);
		} else {
			for (number = 1; number <= retries + 1; number++) {
				if (number > 1)
					sleep_s(backoff * pow(2, number - 2));
				ch->driver->send(&job, &msg, &out);
				if (out.ok || !out.transient || number == retries + 1)
					break;
				/* Each failed try is a row of its own. */
				a = realloc(*log, (*nlog + 1) * sizeof **log);
				if (a) {
					*log = a;
					a = &a[(*nlog)++];
					*a = (struct attempt){ch, "failed", number, out.http_status,
					                      "", ""};
					snprintf(a->error, sizeof a->error, "%s", out.error);
					sm_rfc3339_now(a->at, true);
				}
				sm_log_kv(SM_LOG_WARN, "delivery failed, retrying", "channel",
				          ch->name, "error", out.error, SM_LOG_END);
			}
		}
		notify_message_clear(&msg);
	}
	a = realloc(*log, (*nlog + 1) * sizeof **log);
	if (a) {
		*log = a;
		a = &a[(*nlog)++];
		*a = (struct attempt){ch,     !d.deliver ? "skipped" : out.ok ? "sent" : "failed",
		                      number, out.http_status,
		                      "",     ""};
		snprintf(a->error, sizeof a->error, "%s", d.deliver && !out.ok ? out.error : "");
		sm_rfc3339_now(a->at, true);
	}
	if (d.deliver && !out.ok) {
		*failed = true;
		sm_log_kv(SM_LOG_ERROR, "delivery failed", "channel", ch->name, "driver",
		          ch->driver->name, "error", out.error, SM_LOG_END);
	} else if (d.deliver) {
		sm_log_kv(SM_LOG_INFO, "delivered", "channel", ch->name, "driver", ch->driver->name,
		          SM_LOG_END);
	}
	return json_pack("{s:s,s:s,s:s,s:i,s:o,s:s}", "channel", ch->name, "driver",
	                 ch->driver->name, "status",
	                 !d.deliver ? "skipped"
	                 : out.ok   ? "sent"
	                            : "failed",
	                 "attempts", number, "error",
	                 d.deliver && !out.ok ? sm_json_string(out.error) : json_null(), "reason",
	                 d.reason ? d.reason : "");
}

static int record(sm_notifier *n, json_t *env, const struct attempt *log, size_t nlog,
                  sm_error *err)
{
	json_t *id = json_object_get(json_object_get(env, "incident"), "id");
	sqlite3_stmt *st;

	if (sm_store_begin(n->store, err) < 0)
		return -1;
	st = sm_store_prepare(
	    n->store,
	    "INSERT INTO notification_deliveries (channel_id, channel, incident_id,"
	    " status, attempt, http_status, error, created_at, trace_id)"
	    " VALUES (?, ?, (SELECT id FROM incidents WHERE id = ?), ?, ?, ?, ?,"
	    " ?, ?)",
	    err);
	if (!st)
		goto fail;
	for (size_t i = 0; i < nlog; i++) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (log[i].ch->id > 0)
			sqlite3_bind_int64(st, 1, log[i].ch->id);
		sqlite3_bind_text(st, 2, log[i].ch->name, -1, SQLITE_STATIC);
		if (json_is_integer(id))
			sqlite3_bind_int64(st, 3, json_integer_value(id));
		sqlite3_bind_text(st, 4, log[i].status, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 5, log[i].number);
		if (log[i].http_status)
			sqlite3_bind_int64(st, 6, log[i].http_status);
		sqlite3_bind_text(st, 7, log[i].error, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, log[i].at, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 9, sm_envelope_trace_id(env), -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sm_error_set(err, "cannot record deliveries: %s",
			             sqlite3_errmsg(sm_store_db(n->store)));
			sqlite3_finalize(st);
			goto fail;
		}
	}
	sqlite3_finalize(st);
	if (sm_store_commit(n->store, err) < 0)
		goto fail;
	return 0;
fail:
	sm_store_rollback(n->store);
	return -1;
}

int sm_notifier_process(sm_notifier *n, json_t *env, sm_error *err)
{
	struct timespec t0, t1;
	char started[SM_RFC3339_LEN], why[128] = "";
	json_t *context = sm_notify_context(env, NULL),
	       *entries = json_object_get(env, "notifications");
	struct attempt *log = NULL;
	size_t nlog = 0, nfailed = 0;
	bool failed = false, stored;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	sm_rfc3339_now(started, true);
	if (!json_is_array(entries)) {
		entries = json_array();
		json_object_set_new(env, "notifications", entries);
	}
	for (size_t i = 0; i < n->n; i++) {
		bool f = false;
		json_array_append_new(entries,
		                      deliver(n, &n->channels[i], env, context, &log, &nlog, &f));
		nfailed += f;
		failed = failed || f;
	}
	json_decref(context);
	stored = record(n, env, log, nlog, err) == 0;
	free(log);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!stored)
		snprintf(why, sizeof why, "cannot record deliveries");
	else if (failed)
		snprintf(why, sizeof why, "%zu of %zu deliveries failed", nfailed, n->n);
	sm_envelope_add_stage(env, "notify", *why ? "failed" : "ok", started,
	                      sm_elapsed_ms(&t0, &t1), *why ? why : NULL);
	if (!stored)
		return SM_EXIT_FAILURE;
	return failed ? SM_EXIT_TEMPFAIL : SM_EXIT_OK;
}

json_t *sm_notify_test_envelope(void)
{
	char now[SM_RFC3339_LEN];
	json_t *env = sm_envelope_new("sm-notify", NULL);

	sm_rfc3339_now(now, false);
	json_object_set_new(env, "incident",
	                    json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", 0, "title",
	                              "Test notification from sm-notify", "status", "open",
	                              "severity", "info", "source", "sm-notify", "created_at", now,
	                              "updated_at", now, "change", "created"));
	json_object_set_new(env, "alerts",
	                    json_pack("[{s:s,s:s,s:s,s:s,s:{s:s},s:{},s:s,s:n,s:s}]", "name",
	                              "TestNotification", "status", "firing", "severity", "info",
	                              "description", "This is a test notification from sm-notify.",
	                              "labels", "alertname", "TestNotification", "annotations",
	                              "started_at", now, "ended_at", "change", "created"));
	return env;
}

int sm_notify_test(const char *channel, const char *driver, json_t *config, FILE *text_out,
                   json_t **result)
{
	const notify_driver *d = notify_driver_find(driver);
	json_t *env = sm_notify_test_envelope(), *context;
	notify_job job = {.channel = channel, .config = config, .env = env, .text_out = text_out};
	notify_message msg = {0};
	notify_outcome out = {0};
	sm_error err = {0};
	int number = 0;

	if (!d) {
		json_decref(env);
		*result = json_pack("{s:s,s:s,s:s,s:i,s:s}", "channel", channel, "driver", driver,
		                    "status", "failed", "attempts", 0, "error", "unknown driver");
		return SM_EXIT_USAGE;
	}
	context = sm_notify_context(env, channel);
	job.context = context;
	job.timeout_s = notify_cfg_num(config, "timeout_s", SM_NOTIFY_TIMEOUT_S);
	if (d->prepare(&job, &msg, &err) < 0) {
		snprintf(out.error, sizeof out.error, "%s", err.msg);
	} else {
		number = 1;
		d->send(&job, &msg, &out);
	}
	notify_message_clear(&msg);
	*result = json_pack("{s:s,s:s,s:s,s:i,s:o}", "channel", channel, "driver", d->name,
	                    "status", out.ok ? "sent" : "failed", "attempts", number, "error",
	                    out.ok ? json_null() : sm_json_string(out.error));
	json_decref(context);
	json_decref(env);
	return out.ok ? SM_EXIT_OK : SM_EXIT_TEMPFAIL;
}
