/* notify_stdout.c - human-readable text for the operator: what sm-notify
 * does when no channel is configured at all. The text goes to the stream
 * the caller chose (sm-notify: stdout on a terminal, else stderr, so the
 * envelope stream on a pipe stays clean). */
#include <stdlib.h>
#include <string.h>

#include "notify_drivers.h"

static const notify_key stdout_keys[] = {
    {NULL, NOTIFY_KEY_STRING, false, false, SM_TEMPLATE_TEXT},
};

static int stdout_prepare(const notify_job *job, notify_message *msg, sm_error *err)
{
	msg->body = notify_render(job, "template_file", notify_template_text, SM_TEMPLATE_TEXT,
	                          job->context, err);
	if (!msg->body)
		return -1;
	msg->body_len = strlen(msg->body);
	return 0;
}

static void stdout_send(const notify_job *job, const notify_message *msg, notify_outcome *out)
{
	FILE *f = job->text_out ? job->text_out : stderr;

	memset(out, 0, sizeof *out);
	if (fwrite(msg->body, 1, msg->body_len, f) != msg->body_len || fputc('\n', f) == EOF ||
	    fflush(f) == EOF) {
		snprintf(out->error, sizeof out->error, "cannot write the message");
		return;
	}
	out->ok = true;
}

const notify_driver notify_driver_stdout = {
    .name = "stdout",
    .description = "human-readable text (stdout on a terminal, else stderr)",
    .keys = stdout_keys,
    .template_mode = SM_TEMPLATE_TEXT,
    .prepare = stdout_prepare,
    .send = stdout_send,
    .local_only = true,
};
