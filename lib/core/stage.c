/* stage.c - the envelope loop of the stream stages (see stage.h). */
#include <string.h>

#include "sm/envelope.h"
#include "sm/err.h"
#include "sm/log.h"
#include "sm/stage.h"

void sm_stage_run(FILE *in, const char *name, size_t max_line, FILE *out, sm_stage_fn fn, void *ctx,
                  sm_stage_result *res)
{
	sm_reader *reader = sm_reader_new(in, name, max_line);
	sm_error err;
	json_t *env;
	int got;

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
