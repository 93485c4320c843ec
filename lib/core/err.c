/* err.c - exit statuses and error helpers. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sm/err.h"

static const char *progname = "sm";

__attribute__((format(printf, 3, 0))) static void vset(sm_error *err, enum sm_error_kind kind,
                                                       const char *fmt, va_list ap)
{
	if (!err)
		return;
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	err->kind = kind;
}

void sm_error_set(sm_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(err, SM_ERROR_FAILURE, fmt, ap);
	va_end(ap);
}

void sm_error_set_kind(sm_error *err, enum sm_error_kind kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(err, kind, fmt, ap);
	va_end(ap);
}

void sm_error_errno(sm_error *err, enum sm_error_kind kind, const char *fmt, ...)
{
	int saved = errno;
	char head[sizeof err->msg];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(head, sizeof head, fmt, ap);
	va_end(ap);
	sm_error_set_kind(err, kind, "%.*s: %s", (int)sizeof head - 64, head, strerror(saved));
}

int sm_error_exit(const sm_error *err)
{
	switch (err->kind) {
	case SM_ERROR_USAGE:
		return SM_EXIT_USAGE;
	case SM_ERROR_DATA:
		return SM_EXIT_DATAERR;
	case SM_ERROR_TEMPORARY:
		return SM_EXIT_TEMPFAIL;
	case SM_ERROR_FAILURE:
	case SM_ERROR_IO:
		break;
	}
	return SM_EXIT_FAILURE;
}

void sm_error_prefix(sm_error *err, const char *fmt, ...)
{
	char head[256], joined[sizeof head + sizeof err->msg + 2];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(head, sizeof head, fmt, ap);
	va_end(ap);
	snprintf(joined, sizeof joined, "%s: %s", head, err->msg);
	snprintf(err->msg, sizeof err->msg, "%.*s", (int)sizeof err->msg - 1, joined);
}

void sm_err_set_progname(const char *argv0)
{
	const char *slash;

	if (!argv0 || !*argv0)
		return;
	slash = strrchr(argv0, '/');
	progname = slash ? slash + 1 : argv0;
}

const char *sm_err_progname(void)
{
	return progname;
}

/* The message of the last sm_err or sm_err_errno (per thread), for
 * sm_err_last. */
static _Thread_local char last_message[1024];

const char *sm_err_last(void)
{
	return last_message;
}

int sm_err(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_message, sizeof last_message, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", progname, last_message);
	return code;
}

int sm_err_errno(int code, const char *fmt, ...)
{
	int saved = errno;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(last_message, sizeof last_message, "%.900s: %s", msg, strerror(saved));
	fprintf(stderr, "%s: %s\n", progname, last_message);
	return code;
}

int sm_err_report(int code, const sm_error *err)
{
	return sm_err(code, "%s", err->msg);
}

static const struct {
	int code;
	const char *name;
} exit_names[] = {
    {SM_EXIT_OK, "ok"},           {SM_EXIT_FAILURE, "failure"},   {SM_EXIT_USAGE, "usage"},
    {SM_EXIT_DATAERR, "dataerr"}, {SM_EXIT_TEMPFAIL, "tempfail"},
};

const char *sm_exit_name(int code)
{
	for (size_t i = 0; i < sizeof exit_names / sizeof exit_names[0]; i++)
		if (exit_names[i].code == code)
			return exit_names[i].name;
	return "unknown";
}

int sm_err_option(int c, const char *arg)
{
	if (c == ':')
		return sm_err(SM_EXIT_USAGE, "option '%s' needs a value (see %s --help)", arg,
		              sm_err_progname());
	return sm_err(SM_EXIT_USAGE, "unknown option '%s' (see %s --help)", arg, sm_err_progname());
}
