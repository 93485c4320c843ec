/* notify_email.c - mail through an SMTP server: an adapter over smtp.h.
 * The subject, the text part and the HTML part are three templates; the
 * channel's template_file replaces the text part, html_template_file the
 * HTML part and subject_template_file the subject. */
#include <stdlib.h>
#include <string.h>

#include "notify_drivers.h"
#include "sm/smtp.h"

static const notify_key email_keys[] = {
    {"smtp_host", NOTIFY_KEY_STRING, true, false, SM_TEMPLATE_TEXT},
    {"smtp_port", NOTIFY_KEY_PORT, false, false, SM_TEMPLATE_TEXT},
    {"from_address", NOTIFY_KEY_EMAIL, true, false, SM_TEMPLATE_TEXT},
    {"to_addresses", NOTIFY_KEY_EMAIL_LIST, true, false, SM_TEMPLATE_TEXT},
    {"username", NOTIFY_KEY_STRING, false, false, SM_TEMPLATE_TEXT},
    {"password", NOTIFY_KEY_STRING, false, true, SM_TEMPLATE_TEXT},
    {"use_tls", NOTIFY_KEY_BOOL, false, false, SM_TEMPLATE_TEXT},
    {"use_ssl", NOTIFY_KEY_BOOL, false, false, SM_TEMPLATE_TEXT},
    {"ca_file", NOTIFY_KEY_FILE, false, false, SM_TEMPLATE_TEXT},
    {"html_template_file", NOTIFY_KEY_TEMPLATE, false, false, SM_TEMPLATE_HTML},
    {"subject_template_file", NOTIFY_KEY_TEMPLATE, false, false, SM_TEMPLATE_TEXT},
    {NULL, NOTIFY_KEY_STRING, false, false, SM_TEMPLATE_TEXT},
};

static int email_prepare(const notify_job *job, notify_message *msg, sm_error *err)
{
	msg->subject = notify_render(job, "subject_template_file", notify_template_subject,
	                             SM_TEMPLATE_TEXT, job->context, err);
	if (!msg->subject)
		return -1;
	msg->text = notify_render(job, "template_file", notify_template_text, SM_TEMPLATE_TEXT,
	                          job->context, err);
	if (!msg->text)
		return -1;
	msg->html = notify_render(job, "html_template_file", notify_template_html, SM_TEMPLATE_HTML,
	                          job->context, err);
	if (!msg->html)
		return -1;
	/* A subject is one line: a template's line breaks become spaces. */
	for (char *p = msg->subject; *p; p++)
		if (*p == '\r' || *p == '\n' || *p == '\t')
			*p = ' ';
	return 0;
}

static void email_send(const notify_job *job, const notify_message *msg, notify_outcome *out)
{
	json_t *list = json_object_get(job->config, "to_addresses");
	size_t n = json_array_size(list);
	const char **to = calloc(n + 1, sizeof *to);
	bool ssl = notify_cfg_bool(job->config, "use_ssl", false);
	sm_smtp_server srv = {
	    .host = notify_cfg_str(job->config, "smtp_host", ""),
	    .port = (int)notify_cfg_num(job->config, "smtp_port", 0),
	    .username = notify_cfg_str(job->config, "username", NULL),
	    .password = notify_cfg_str(job->config, "password", NULL),
	    .starttls = !ssl && notify_cfg_bool(job->config, "use_tls", true),
	    .smtps = ssl,
	    .ca_file = notify_cfg_str(job->config, "ca_file", NULL),
	    .timeout_s = job->timeout_s,
	};
	sm_mail mail = {
	    .from = notify_cfg_str(job->config, "from_address", ""),
	    .subject = msg->subject,
	    .text = msg->text,
	    .html = msg->html,
	};
	sm_error err = {0};

	memset(out, 0, sizeof *out);
	if (!to) {
		snprintf(out->error, sizeof out->error, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++)
		to[i] = json_string_value(json_array_get(list, i));
	mail.to = to;
	if (sm_smtp_send(&srv, &mail, &out->transient, &err) == 0)
		out->ok = true;
	else
		snprintf(out->error, sizeof out->error, "%s", err.msg);
	free(to);
}

const notify_driver notify_driver_email = {
    .name = "email",
    .description = "mail through SMTP (STARTTLS or SMTPS), text and HTML",
    .keys = email_keys,
    .template_mode = SM_TEMPLATE_TEXT,
    .prepare = email_prepare,
    .send = email_send,
};
