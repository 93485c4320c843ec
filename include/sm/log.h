/* log.h - logfmt diagnostics on stderr.
 *
 * Lines look like `ts=2026-11-22T01:20:24.440Z level=warn tool=sm-check
 * trace_id=… msg="…"`. The level comes from SM_LOG_LEVEL (debug, info, warn,
 * error, off; default warn so interactive tools stay quiet).
 */
#ifndef SM_LOG_H
#define SM_LOG_H

#include <stddef.h>

enum sm_log_level {
	SM_LOG_DEBUG,
	SM_LOG_INFO,
	SM_LOG_WARN,
	SM_LOG_ERROR,
	SM_LOG_OFF,
};

/* Read SM_LOG_LEVEL and remember the tool name for every line. */
void sm_log_init(const char *tool);
/* The trace id carried by the following lines of this thread (NULL or ""
 * for none). */
void sm_log_set_trace(const char *trace_id);
/* Append this thread's lines to *buf (malloc'd, *len bytes, NUL-ended; the
 * caller frees it) instead of writing them, naming tool (NULL: this
 * process's) as their tool; buf NULL writes them again. For code run in
 * the process of another tool that judges what it said (sm-pipeline's
 * worker running the notify stage). */
void sm_log_divert(char **buf, size_t *len, const char *tool);
enum sm_log_level sm_log_level(void);
/* Parse a level name; returns -1 when unknown. */
int sm_log_level_parse(const char *name);

/* Log a printf-formatted message. */
void sm_log(enum sm_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The terminator of sm_log_kv's pairs: a typed null pointer, since a bare
 * NULL in a variadic call need not be a pointer. */
#define SM_LOG_END ((const char *)NULL)

/* Log a fixed message with key/value string pairs, ending with SM_LOG_END. */
void sm_log_kv(enum sm_log_level level, const char *msg, ...) __attribute__((sentinel));

/* Append a logfmt value to buf: bare when safe, quoted and escaped otherwise. */
void sm_log_quote(char *buf, size_t size, const char *value);

#endif
