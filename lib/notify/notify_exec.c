/* notify_exec.c - run a program: an adapter over spawn.h. The command is
 * an argument vector (never a shell), the envelope is its stdin, SM_*
 * variables describe the notification. Exit 0 is sent; exit 75
 * (EX_TEMPFAIL) is a failure worth retrying; any other status, a signal
 * or the timeout (the process group is killed) is a failure as it is.
 *
 * The program gets a clean environment: PATH, HOME and LANG from
 * sm-notify's, the channel's own env key, then the SM_* variables. Not the
 * rest: sm-notify's environment holds the dotenv file's settings, secrets
 * of other channels and tools among them, and a notification program is
 * often someone else's script. */
#include <stdlib.h>
#include <string.h>

#include "notify_drivers.h"
#include "sm/envelope.h"
#include "sm/json.h"
#include "sm/spawn.h"

/* What the program gets from sm-notify's own environment. */
static const char *const passed_env[] = {"PATH", "HOME", "LANG", NULL};

static const notify_key exec_keys[] = {
    {"command", NOTIFY_KEY_COMMAND, true, false, SM_TEMPLATE_TEXT},
    {"env", NOTIFY_KEY_ENV, false, true, SM_TEMPLATE_TEXT},
    {NULL, NOTIFY_KEY_STRING, false, false, SM_TEMPLATE_TEXT},
};

static char *ctx_text(json_t *context, const char *key)
{
	json_t *v = json_object_get(context, key);

	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_integer(v)) {
		char *s;
		return asprintf(&s, "%lld", (long long)json_integer_value(v)) < 0 ? NULL : s;
	}
	return strdup("");
}

static int exec_prepare(const notify_job *job, notify_message *msg, sm_error *err)
{
	static const struct {
		const char *var, *key;
	} vars[] = {
	    {"SM_INCIDENT_ID", "incident_id"}, {"SM_SEVERITY", "severity"},
	    {"SM_STATUS", "status"},           {"SM_TITLE", "title"},
	    {"SM_CHANNEL", "channel"},         {"SM_TRACE_ID", "trace_id"},
	    {"SM_SOURCE", "source"},           {"SM_EVENT", "event"},
	};
	size_t nv = sizeof vars / sizeof vars[0];
	json_t *command = json_object_get(job->config, "command");
	json_t *own = json_object_get(job->config, "env"), *value;
	size_t n = json_array_size(command), ne = 0;
	const char *name;
	char *text;

	msg->argv = calloc(n + 1, sizeof *msg->argv);
	msg->envv = calloc(json_object_size(own) + nv + 2, sizeof *msg->envv);
	if (!msg->argv || !msg->envv)
		goto oom;
	for (size_t i = 0; i < n; i++)
		if (!(msg->argv[i] = strdup(json_string_value(json_array_get(command, i)))))
			goto oom;
	/* The channel's variables first: an SM_* one of the same name, set
	 * later, wins (channel add refuses SM_ names anyway). */
	json_object_foreach(own, name, value)
	{
		if (!json_is_string(value))
			continue;
		if (asprintf(&msg->envv[ne], "%s=%s", name, json_string_value(value)) < 0) {
			msg->envv[ne] = NULL;
			goto oom;
		}
		ne++;
	}
	for (size_t i = 0; i < nv; i++, ne++) {
		char *v = ctx_text(job->context, vars[i].key);
		int rc = v ? asprintf(&msg->envv[ne], "%s=%s", vars[i].var, v) : -1;
		free(v);
		if (rc < 0) {
			msg->envv[ne] = NULL;
			goto oom;
		}
	}
	text = notify_render(job, "template_file", notify_template_text, SM_TEMPLATE_TEXT,
	                     job->context, err);
	if (!text)
		return -1;
	if (asprintf(&msg->envv[ne], "SM_MESSAGE=%s", text) < 0)
		msg->envv[ne] = NULL;
	free(text);
	msg->body = sm_json_dump(job->env, &msg->body_len);
	if (!msg->envv[ne] || !msg->body)
		goto oom;
	return 0;
oom:
	sm_error_set(err, "out of memory");
	return -1;
}

/* The first line of the program's stderr, for the message. */
static void first_line(char *out, size_t size, const char *s)
{
	size_t n = s ? strcspn(s, "\r\n") : 0;

	if (n > 200)
		n = 200;
	snprintf(out, size, "%s%.*s", n ? ": " : "", (int)n, s ? s : "");
}

static void exec_send(const notify_job *job, const notify_message *msg, notify_outcome *out)
{
	char *input = NULL;
	sm_spawn_opts opts = {
	    .argv = (const char *const *)msg->argv,
	    .env_pass = passed_env,
	    .env_add = (const char *const *)msg->envv,
	    .timeout_s = job->timeout_s,
	};
	sm_spawn_result res = {0};
	char why[256];

	memset(out, 0, sizeof *out);
	if (asprintf(&input, "%s\n", msg->body) < 0) {
		snprintf(out->error, sizeof out->error, "out of memory");
		return;
	}
	opts.input = input;
	opts.input_len = strlen(input);
	if (sm_spawn_run(&opts, &res) < 0) {
		snprintf(out->error, sizeof out->error, "%s", res.error);
	} else if (res.timed_out) {
		snprintf(out->error, sizeof out->error, "%s: killed after the timeout of %g s",
		         msg->argv[0], job->timeout_s);
	} else if (res.signal) {
		snprintf(out->error, sizeof out->error, "%s: killed by signal %d", msg->argv[0],
		         res.signal);
	} else if (res.exit_status != 0) {
		first_line(why, sizeof why, res.errout);
		snprintf(out->error, sizeof out->error, "%s: exit status %d%s", msg->argv[0],
		         res.exit_status, why);
		out->transient = res.exit_status == 75;
	} else {
		out->ok = true;
	}
	sm_spawn_result_clear(&res);
	free(input);
}

const notify_driver notify_driver_exec = {
    .name = "exec",
    .description = "a program run with the envelope on stdin (no shell)",
    .keys = exec_keys,
    .template_mode = SM_TEMPLATE_TEXT,
    .prepare = exec_prepare,
    .send = exec_send,
    .local_only = true,
};
