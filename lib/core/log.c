/* log.c - logfmt lines on stderr, one write per line so concurrent CGI
 * processes sharing a web server's error log never interleave mid-line. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "sm/log.h"
#include "sm/rfc3339.h"

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};
static enum sm_log_level current = SM_LOG_WARN;
static char tool_name[64] = "sm";
static _Thread_local char trace[40]; /* each thread logs its own payload's */
/* sm_log_divert's: where this thread's lines go instead, under what name. */
static _Thread_local char **divert_buf;
static _Thread_local size_t *divert_len;
static _Thread_local const char *divert_tool;

int sm_log_level_parse(const char *name)
{
	for (int i = 0; i <= SM_LOG_OFF; i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return i;
	if (strcasecmp(name, "warning") == 0)
		return SM_LOG_WARN;
	return -1;
}

void sm_log_init(const char *tool)
{
	const char *env = getenv("SM_LOG_LEVEL");

	if (tool)
		snprintf(tool_name, sizeof tool_name, "%s", tool);
	if (env && *env) {
		int level = sm_log_level_parse(env);
		current = level < 0 ? SM_LOG_WARN : (enum sm_log_level)level;
	}
}

void sm_log_divert(char **buf, size_t *len, const char *tool)
{
	divert_buf = buf;
	divert_len = len;
	divert_tool = tool ? tool : tool_name;
}

void sm_log_set_trace(const char *trace_id)
{
	size_t n = trace_id ? strnlen(trace_id, sizeof trace - 1) : 0;

	memcpy(trace, trace_id ? trace_id : "", n); /* once per payload: no snprintf */
	trace[n] = '\0';
}

enum sm_log_level sm_log_level(void)
{
	return current;
}

void sm_log_quote(char *buf, size_t size, const char *value)
{
	size_t n = strlen(buf);
	bool plain = *value != '\0';

	for (const char *p = value; *p && plain; p++)
		if (*p <= ' ' || *p == '=' || *p == '"' || *p == '\\' || *p == 0x7f)
			plain = false;
	if (plain) {
		snprintf(buf + n, size - n, "%s", value);
		return;
	}
	if (n + 1 >= size)
		return;
	buf[n++] = '"';
	for (const char *p = value; *p && n + 3 < size; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\') {
			buf[n++] = '\\';
			buf[n++] = (char)c;
		} else if (c == '\n') {
			buf[n++] = '\\';
			buf[n++] = 'n';
		} else if (c < ' ' || c == 0x7f) {
			buf[n++] = '?';
		} else {
			buf[n++] = (char)c;
		}
	}
	buf[n++] = '"';
	buf[n] = '\0';
}

static void emit(enum sm_log_level level, const char *msg, va_list *kv)
{
	char line[4096], ts[SM_RFC3339_LEN];
	size_t n;

	sm_rfc3339_now(ts, true);
	snprintf(line, sizeof line, "ts=%s level=%s tool=%s", ts, level_names[level],
	         divert_buf ? divert_tool : tool_name);
	if (*trace) {
		n = strlen(line);
		snprintf(line + n, sizeof line - n, " trace_id=%s", trace);
	}
	n = strlen(line);
	snprintf(line + n, sizeof line - n, " msg=");
	sm_log_quote(line, sizeof line - 2, msg);
	if (kv) {
		const char *key;
		while ((key = va_arg(*kv, const char *)) != NULL) {
			const char *val = va_arg(*kv, const char *);
			n = strlen(line);
			snprintf(line + n, sizeof line - n, " %s=", key);
			sm_log_quote(line, sizeof line - 2, val ? val : "");
		}
	}
	n = strlen(line);
	line[n++] = '\n';
	line[n] = '\0';
	if (divert_buf) {
		char *grown = realloc(*divert_buf, *divert_len + n + 1);
		if (grown) {
			memcpy(grown + *divert_len, line, n + 1);
			*divert_buf = grown;
			*divert_len += n;
		}
		return;
	}
	/* A single write(2) keeps the line whole among concurrent writers. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void sm_log(enum sm_log_level level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (level < current || level >= SM_LOG_OFF)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	emit(level, msg, NULL);
}

void sm_log_kv(enum sm_log_level level, const char *msg, ...)
{
	va_list ap;

	if (level < current || level >= SM_LOG_OFF)
		return;
	va_start(ap, msg);
	emit(level, msg, &ap);
	va_end(ap);
}
