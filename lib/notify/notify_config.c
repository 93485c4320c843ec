/* notify_config.c - channel configurations: KEY=VALUE words checked
 * against the driver's keys and the common ones, each value parsed into
 * its type (numbers, booleans, URLs, addresses, headers, commands, the
 * exec driver's environment, template names), and the masked copy that
 * listings print. A configuration is a JSON object; this is the only file
 * that knows how its text form is spelled. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notify_private.h"
#include "sm/config.h"
#include "sm/http.h"
#include "sm/json.h"
#include "sm/smtp.h"

const notify_key notify_common_keys[] = {
    {"repeat_interval", NOTIFY_KEY_SECONDS, false, false, SM_TEMPLATE_TEXT},
    {"min_severity", NOTIFY_KEY_SEVERITY, false, false, SM_TEMPLATE_TEXT},
    {"template_file", NOTIFY_KEY_TEMPLATE, false, false, SM_TEMPLATE_TEXT},
    {"timeout_s", NOTIFY_KEY_SECONDS, false, false, SM_TEMPLATE_TEXT},
    {"retries", NOTIFY_KEY_COUNT, false, false, SM_TEMPLATE_TEXT},
    {"backoff_s", NOTIFY_KEY_SECONDS, false, false, SM_TEMPLATE_TEXT},
    {NULL, NOTIFY_KEY_STRING, false, false, SM_TEMPLATE_TEXT},
};

static const char masked[] = "********";

const notify_key *notify_key_find(const notify_driver *d, const char *name)
{
	for (const notify_key *k = d->keys; k && k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	for (const notify_key *k = notify_common_keys; k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

static void key_names(const notify_driver *d, char *buf, size_t size)
{
	size_t used = 0;
	const notify_key *sets[2] = {d->keys, notify_common_keys};

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

static bool is_common(const notify_key *k)
{
	for (const notify_key *c = notify_common_keys; c->name; c++)
		if (c == k)
			return true;
	return false;
}

/* A template is named, not given by path: the name is kept, and its file
 * in the templates directory must compile now (and is read again at each
 * delivery). mode is the driver's for template_file, else the key's. */
static json_t *parse_template(const notify_key *k, const notify_driver *d, const char *name,
                              sm_error *err)
{
	char path[PATH_MAX];
	sm_template *t;

	if (notify_template_path(name, path, sizeof path, err) < 0) {
		sm_error_prefix(err, "%s", k->name);
		return NULL;
	}
	t = sm_template_load(path, is_common(k) ? d->template_mode : k->mode, err);
	if (!t) {
		sm_error_prefix(err, "%s", k->name);
		return NULL;
	}
	sm_template_free(t);
	return json_string(name);
}

/* An environment variable's name: a letter or '_', then letters, digits
 * and '_'; SM_ names are the event's own variables. */
static bool env_name_ok(const char *s)
{
	if (!*s || isdigit((unsigned char)*s) || strncmp(s, "SM_", 3) == 0)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* The exec driver's own environment: a JSON object of strings, or
 * NAME=value lines (blank lines and lines starting with '#' skipped, so a
 * file given with @ may carry comments). The value is everything after
 * the first '=', as it is. */
static json_t *parse_env(const char *text, const char *key, sm_error *err)
{
	json_t *obj, *v;
	const char *name;
	const char *p = text;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '{') {
		obj = json_loads(p, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(obj)) {
			json_decref(obj);
			sm_error_set(err, "%s: not a JSON object", key);
			return NULL;
		}
	} else {
		obj = json_object();
		while (*p) {
			size_t len = strcspn(p, "\n");
			char *line = strndup(p, len), *eq;

			p += len + (p[len] == '\n');
			if (!line) {
				json_decref(obj);
				sm_error_set(err, "out of memory");
				return NULL;
			}
			if (len && line[len - 1] == '\r')
				line[--len] = '\0';
			if (line[strspn(line, " \t")] == '\0' || line[strspn(line, " \t")] == '#') {
				free(line);
				continue;
			}
			eq = strchr(line, '=');
			if (!eq) {
				sm_error_set(
				    err,
				    "%s: expected NAME=value lines or a JSON object, got '%.40s'",
				    key, line);
				free(line);
				json_decref(obj);
				return NULL;
			}
			*eq = '\0';
			if (json_object_get(obj, line)) {
				sm_error_set(err, "%s: %.64s given twice", key, line);
				free(line);
				json_decref(obj);
				return NULL;
			}
			json_object_set_new(obj, line, sm_json_string(eq + 1));
			free(line);
		}
	}
	/* cppcheck-suppress variableScope */
	json_object_foreach(obj, name, v)
	{
		if (!env_name_ok(name) || !json_is_string(v)) {
			sm_error_set(
			    err,
			    "%s: bad variable '%.64s' (a letter or '_', then letters, digits "
			    "or '_'; not SM_*; a string value)",
			    key, name);
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
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
	case NOTIFY_KEY_SECONDS: {
		double s;
		if (sm_config_duration(text, &s) < 0 || s > 1e7) {
			sm_error_set(
			    err,
			    "%s: expected seconds from 0 to 1e7 or a duration such as 90s, "
			    "15m, 4h, got '%s'",
			    k->name, text);
			return NULL;
		}
		return s == floor(s) ? json_integer((json_int_t)s) : json_real(s);
	}
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
	case NOTIFY_KEY_URL_LIST:
		return sm_http_url_list(text, k->name, err);
	case NOTIFY_KEY_FILE: {
		char *real = realpath(text, NULL);
		json_t *v;
		if (!real || access(real, R_OK) != 0) {
			sm_error_set(err, "%s: %s: %s", k->name, text, strerror(errno));
			free(real);
			return NULL;
		}
		v = json_string(real);
		free(real);
		return v;
	}
	case NOTIFY_KEY_TEMPLATE:
		return parse_template(k, d, text, err);
	case NOTIFY_KEY_ENV:
		return parse_env(text, k->name, err);
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
	sets[1] = notify_common_keys;
	{ /* Every missing key at once: one round of fixing, not one per key. */
		char missing[256] = "";
		size_t used = 0;
		for (int s = 0; s < 2; s++)
			for (const notify_key *k = sets[s]; k && k->name; k++)
				if (k->required && !json_object_get(cfg, k->name) &&
				    used < sizeof missing)
					used +=
					    (size_t)snprintf(missing + used, sizeof missing - used,
					                     "%s%s", used ? ", " : "", k->name);
		if (used) {
			sm_error_set(err, "driver %s needs %s", d->name, missing);
			goto usage;
		}
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
		} else if (k && (k->type == NOTIFY_KEY_HEADERS || k->type == NOTIFY_KEY_ENV) &&
		           json_is_object(v)) {
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
