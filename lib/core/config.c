/* config.c - environment settings and the dotenv file. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "sm/config.h"
#include "sm/hmac.h"
#include "sm/log.h"

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* Unquote a value in place: '…' is literal, "…" knows \n \t \\ \" escapes,
 * a bare value ends at " #" (a comment). Returns NULL when a quote is open. */
static char *unquote(char *v)
{
	char q = *v, *p;

	if (q == '\'' || q == '"') {
		char *out = v;
		for (p = v + 1; *p && *p != q; p++) {
			if (q == '"' && *p == '\\' && p[1]) {
				p++;
				*out++ = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
			} else {
				*out++ = *p;
			}
		}
		if (*p != q)
			return NULL;
		*out = '\0';
		return v;
	}
	for (p = v; *p; p++)
		if (*p == '#' && p > v && isspace((unsigned char)p[-1])) {
			*p = '\0';
			break;
		}
	return trim(v);
}

int sm_config_load_file(const char *path, sm_error *err)
{
	char line[8192];
	size_t lineno = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		sm_error_set(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		char *s, *eq, *key, *val;
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			sm_error_set(err, "%s:%zu: line too long", path, lineno);
			goto fail;
		}
		s = trim(line);
		if (!*s || *s == '#')
			continue;
		if (strncmp(s, "export ", 7) == 0)
			s = trim(s + 7);
		eq = strchr(s, '=');
		if (!eq) {
			sm_error_set(err, "%s:%zu: expected KEY=VALUE", path, lineno);
			goto fail;
		}
		*eq = '\0';
		key = trim(s);
		if (!*key ||
		    strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		                "0123456789_") != strlen(key) ||
		    isdigit((unsigned char)*key)) {
			sm_error_set(err, "%s:%zu: bad variable name", path, lineno);
			goto fail;
		}
		val = unquote(trim(eq + 1));
		if (!val) {
			sm_error_set(err, "%s:%zu: unterminated quote", path, lineno);
			goto fail;
		}
		/* The real environment wins over the file. */
		if (setenv(key, val, 0) < 0) {
			sm_error_set(err, "%s:%zu: %s", path, lineno, strerror(errno));
			goto fail;
		}
	}
	fclose(f);
	return 0;
fail:
	fclose(f);
	return -1;
}

/* The env file's errors say which setting chose it, so that an operator
 * knows what to fix or point elsewhere. */
static int load_first(sm_error *err)
{
	static const char *const defaults[] = {"/etc/sm/sm.env", ".env"};
	const char *named = getenv("SM_ENV_FILE");

	if (named && *named) {
		if (sm_config_load_file(named, err) < 0) {
			sm_error_prefix(err, "SM_ENV_FILE");
			return -1;
		}
		return 0;
	}
	for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
		if (access(defaults[i], F_OK) != 0)
			continue;
		if (sm_config_load_file(defaults[i], err) < 0) {
			sm_error_prefix(err, "env file");
			snprintf(err->msg + strlen(err->msg), sizeof err->msg - strlen(err->msg),
			         " (SM_ENV_FILE names another)");
			return -1;
		}
		return 0;
	}
	return 0;
}

int sm_config_load(sm_error *err)
{
	const char *level;

	if (load_first(err) < 0)
		return -1;
	/* The file may set SM_LOG_LEVEL: the log reads it again. A level it
	 * does not know would silently log at the default: refuse it. */
	level = sm_config_get("SM_LOG_LEVEL", NULL);
	if (level && sm_log_level_parse(level) < 0) {
		sm_error_set(
		    err, "SM_LOG_LEVEL: unknown level '%s' (debug, info, warn, error, off)", level);
		return -1;
	}
	sm_log_init(NULL);
	return 0;
}

const char *sm_config_get(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

int sm_config_bool(const char *name, int def)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};
	const char *v = sm_config_get(name, NULL);

	if (!v)
		return def;
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

int sm_config_double(const char *name, double def, double *out, sm_error *err)
{
	const char *v = sm_config_get(name, NULL);
	char *end;

	if (!v) {
		*out = def;
		return 0;
	}
	errno = 0;
	*out = strtod(v, &end);
	if (errno || end == v || *end || !isfinite(*out)) {
		sm_error_set(err, "%s: not a number: '%s'", name, v);
		return -1;
	}
	return 0;
}

int sm_config_duration(const char *text, double *seconds)
{
	static const struct {
		char unit;
		double seconds;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
	double total = 0;
	const char *p = text;

	if (!text || !*text)
		return -1;
	/* Groups of a number and a unit ("1h30m"); a lone number is seconds. */
	while (*p) {
		size_t digits = strspn(p, "0123456789.");
		double n, scale = 0;
		char *end;

		/* strtod would also take signs, blanks, exponents, hex, inf and nan. */
		if (digits == 0)
			return -1;
		errno = 0;
		n = strtod(p, &end);
		if (errno || end != p + digits || !isfinite(n))
			return -1;
		if (*end == '\0' && p == text) {
			scale = 1;
		} else {
			for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
				if (*end == units[i].unit)
					scale = units[i].seconds;
			if (scale == 0)
				return -1;
			end++;
		}
		total += n * scale;
		/* Beyond a thousand years a cutoff would leave time_t's range. */
		if (total > 1000.0 * 366 * 86400)
			return -1;
		p = end;
	}
	*seconds = total;
	return 0;
}

int sm_config_seconds(const char *name, double def, double *out, sm_error *err)
{
	const char *v = sm_config_get(name, NULL);

	if (!v) {
		*out = def;
		return 0;
	}
	if (sm_config_duration(v, out) < 0) {
		sm_error_set(
		    err, "%s: expected seconds or a duration such as 90s, 15m, 4h, 7d, got '%s'",
		    name, v);
		return -1;
	}
	return 0;
}

char *sm_config_value_file(const char *key, const char *path, sm_error *err)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f) {
		sm_error_set(err, "%s: %s: %s", key, path, strerror(errno));
		return NULL;
	}
	buf = malloc(SM_CONFIG_VALUE_FILE_MAX + 1);
	n = buf ? fread(buf, 1, SM_CONFIG_VALUE_FILE_MAX + 1, f) : 0;
	fclose(f);
	if (!buf) {
		sm_error_set(err, "out of memory");
		return NULL;
	}
	if (n > SM_CONFIG_VALUE_FILE_MAX || memchr(buf, '\0', n)) {
		free(buf);
		sm_error_set(err, "%s: %s: not a text value of at most %d KiB", key, path,
		             SM_CONFIG_VALUE_FILE_MAX / 1024);
		return NULL;
	}
	if (n && buf[n - 1] == '\n')
		n--;
	if (n && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return buf;
}

/* a and b (n bytes each) equal, ignoring ASCII case, in time that depends
 * on n only. */
static bool same_hex(const char *a, const char *b, size_t n)
{
	unsigned diff = 0;

	for (size_t i = 0; i < n; i++)
		diff |= (unsigned)(tolower((unsigned char)a[i]) ^ tolower((unsigned char)b[i]));
	return diff == 0;
}

int sm_config_api_key_check(const char *path, const char *key, sm_error *err)
{
	char digest[SM_SHA256_HEX], line[1024];
	size_t lineno = 0;
	int found = 0;
	FILE *f;

	if (sm_sha256_hex(key, strlen(key), digest, err) < 0)
		return -1;
	f = fopen(path, "re");
	if (!f) {
		sm_error_set(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		char *save = NULL, *name, *hex, *extra, *s;
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			int c;
			while ((c = getc(f)) != EOF && c != '\n')
				; /* the rest of an overlong line */
			sm_log(SM_LOG_WARN, "%s:%zu: line too long, ignored", path, lineno);
			continue;
		}
		s = trim(line);
		if (!*s || *s == '#')
			continue;
		name = strtok_r(s, " \t", &save);
		hex = strtok_r(NULL, " \t", &save);
		extra = strtok_r(NULL, " \t", &save);
		if (!hex || extra || strlen(hex) != 64 ||
		    strspn(hex, "0123456789abcdefABCDEF") != 64) {
			sm_log(SM_LOG_WARN, "%s:%zu: expected NAME SHA256HEX, line ignored", path,
			       lineno);
			continue;
		}
		(void)name;
		/* Every line is compared, so timing says nothing about which matched. */
		if (same_hex(hex, digest, 64))
			found = 1;
	}
	if (ferror(f)) {
		sm_error_set(err, "%s: read error", path);
		found = -1;
	}
	fclose(f);
	return found;
}
