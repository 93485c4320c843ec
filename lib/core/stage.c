/* stage.c - the envelope loop of the stream stages (see stage.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sm/envelope.h"
#include "sm/err.h"
#include "sm/log.h"
#include "sm/stage.h"

/* The descriptor SM_STAGE_STATUS_FD names, -1 without one. The variable is
 * taken out of the environment and the descriptor closed on exec, so
 * programs the stage runs (sm-notify's exec driver) see neither. */
static int status_fd(void)
{
	const char *v = getenv("SM_STAGE_STATUS_FD");
	char *end;
	long fd;

	if (!v)
		return -1;
	errno = 0;
	fd = strtol(v, &end, 10);
	unsetenv("SM_STAGE_STATUS_FD");
	if (errno || *end || end == v || fd < 3 || fd > 1024 || fcntl((int)fd, F_GETFD) < 0)
		return -1;
	(void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	/* Set up and reading: the reader now knows this program speaks the
	 * protocol. */
	while (write((int)fd, "ready\n", 6) < 0 && errno == EINTR)
		;
	return (int)fd;
}

/* One line's status on the status descriptor: "STATUS\n", once the line's
 * output (if any) has been written and flushed. */
static void say_status(int fd, const sm_stage_result *line)
{
	char buf[16];
	int n;

	if (fd < 0)
		return;
	n = snprintf(buf, sizeof buf, "%d\n", sm_stage_exit(line));
	while (write(fd, buf, (size_t)n) < 0 && errno == EINTR)
		;
}

void sm_stage_run(FILE *in, const char *name, size_t max_line, FILE *out, sm_stage_fn fn, void *ctx,
                  sm_stage_result *res)
{
	sm_reader *reader = sm_reader_new(in, name, max_line);
	sm_error err;
	json_t *env;
	int got, fd = status_fd();

	memset(res, 0, sizeof *res);
	if (!reader) {
		sm_err(SM_EXIT_FAILURE, "out of memory");
		res->input_error = true;
		return;
	}
	while ((got = sm_envelope_read(reader, &env, &err)) != 0) {
		bool drop = false;
		int status;

		if (got < 0) {
			sm_err_report(SM_EXIT_DATAERR, &err);
			if (err.kind == SM_ERROR_DATA) {
				res->malformed++;
				say_status(fd, &(sm_stage_result){.malformed = 1});
				continue; /* the next line may be an envelope */
			}
			res->input_error = true;
			break;
		}
		res->envelopes++;
		sm_log_set_trace(sm_envelope_trace_id(env));
		status = fn(env, &drop, ctx);
		res->failed = res->failed || status == SM_EXIT_FAILURE;
		res->tempfail = res->tempfail || status == SM_EXIT_TEMPFAIL;
		if (!drop && sm_envelope_write(out, env, &err) < 0) {
			sm_err_report(SM_EXIT_FAILURE, &err);
			res->output_error = true;
		}
		say_status(fd, &(sm_stage_result){.envelopes = 1,
		                                  .failed = status == SM_EXIT_FAILURE,
		                                  .tempfail = status == SM_EXIT_TEMPFAIL,
		                                  .output_error = res->output_error});
		json_decref(env);
		sm_log_set_trace(NULL);
		if (res->output_error)
			break;
	}
	sm_reader_free(reader);
}

int sm_stage_exit(const sm_stage_result *res)
{
	if (res->output_error || res->failed)
		return SM_EXIT_FAILURE;
	if (res->tempfail)
		return SM_EXIT_TEMPFAIL;
	if (res->malformed || res->input_error)
		return SM_EXIT_DATAERR;
	return SM_EXIT_OK;
}
