/* nodes.c - the node type table, and running a node: a sibling program with
 * the envelopes on its stdin and the node's timeout, or an in-process type.
 *
 * A stage that crashes or times out is a failed attempt of that node, never
 * a dead orchestrator: the program runs in its own process group under
 * sm_spawn_run, which kills the group at the deadline. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/nodes.h"
#include "sm/json.h"
#include "sm/log.h"
#include "sm/rfc3339.h"
#include "sm/spawn.h"

/* In the order of sm-pipeline(5) and of the messages that list them. */
static const node_type *const table[] = {
    &node_ingest, &node_context, &node_intelligence, &node_notify, &node_transform,
};

#define NTYPES (sizeof table / sizeof table[0])

const node_type *node_type_at(size_t i)
{
	return i < NTYPES ? table[i] : NULL;
}

const node_type *node_type_find(const char *name)
{
	for (size_t i = 0; name && i < NTYPES; i++)
		if (strcmp(table[i]->name, name) == 0)
			return table[i];
	return NULL;
}

const char *node_type_names(void)
{
	static char names[128];

	if (!names[0])
		for (size_t i = 0; i < NTYPES; i++) {
			size_t n = strlen(names);
			snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "",
			         table[i]->name);
		}
	return names;
}

void node_problem(json_t *problems, const char *node, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_array_append_new(problems, json_sprintf("node \"%s\": %s", node, msg));
}

bool node_check_string(const json_t *config, const char *key, const char *node, json_t *problems)
{
	const json_t *v = json_object_get(config, key);

	if (!v || json_is_string(v))
		return true;
	node_problem(problems, node, "config \"%s\" must be a string", key);
	return false;
}

bool node_check_strings(const json_t *config, const char *key, const char *node, json_t *problems)
{
	const json_t *v = json_object_get(config, key);

	if (!v)
		return true;
	if (json_is_array(v)) {
		const json_t *item;
		size_t i;
		bool ok = true;
		json_array_foreach(v, i, item)
		{
			ok = ok && json_is_string(item);
		}
		if (ok)
			return true;
	}
	node_problem(problems, node, "config \"%s\" must be a list of strings", key);
	return false;
}

json_t *node_path_get(const json_t *v, const char *path)
{
	char key[256];

	while (v && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		if (!json_is_object(v) || n >= sizeof key)
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		v = json_object_get(v, key);
		path += n + (dot ? 1 : 0);
	}
	return (json_t *)v;
}

static int program_lookup(const char *program, char *buf, size_t size, sm_error *err)
{
	static char self[PATH_MAX];
	static bool self_known;
	const char *path = getenv("PATH");

	/* The running binary's folder does not change: read it once. */
	if (!self_known) {
		ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
		char *slash;
		self[n > 0 ? n : 0] = '\0';
		slash = strrchr(self, '/');
		if (slash)
			slash[1] = '\0';
		else
			self[0] = '\0';
		self_known = true;
	}
	if (*self) {
		snprintf(buf, size, "%s%s", self, program);
		if (access(buf, F_OK) == 0) {
			if (access(buf, X_OK) == 0)
				return 0;
			sm_error_set(err, "%s: not executable", buf);
			return -1;
		}
	}
	while (path && *path) {
		const char *colon = strchr(path, ':');
		size_t len = colon ? (size_t)(colon - path) : strlen(path);
		if (len > 0 &&
		    (size_t)snprintf(buf, size, "%.*s/%s", (int)len, path, program) < size &&
		    access(buf, X_OK) == 0)
			return 0;
		path = colon ? colon + 1 : NULL;
	}
	sm_error_set(err, "%s: not found next to sm-pipeline nor on PATH", program);
	return -1;
}

/* A worker asks for the same programs for every item (to plan, then to
 * start the stage): a path found is kept for a second, so a binary
 * installed, removed or made executable is seen that soon. */
#define PROGRAM_CACHE_S 1.0

int node_program_path(const char *program, char *buf, size_t size, sm_error *err)
{
	static struct {
		char program[32], path[PATH_MAX];
		struct timespec at;
	} cache[4];
	struct timespec now;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (i = 0; i < sizeof cache / sizeof cache[0]; i++)
		if (strcmp(cache[i].program, program) == 0 &&
		    sm_elapsed_ms(&cache[i].at, &now) < PROGRAM_CACHE_S * 1000 &&
		    strlen(cache[i].path) < size) {
			memcpy(buf, cache[i].path, strlen(cache[i].path) + 1);
			return 0;
		}
	if (program_lookup(program, buf, size, err) < 0)
		return -1;
	if (strlen(program) < sizeof cache[0].program && strlen(buf) < sizeof cache[0].path) {
		static unsigned next;
		i = next++ % (sizeof cache / sizeof cache[0]);
		snprintf(cache[i].program, sizeof cache[i].program, "%s", program);
		snprintf(cache[i].path, sizeof cache[i].path, "%s", buf);
		cache[i].at = now;
	}
	return 0;
}

/* The last non-empty line of a program's stderr, for the stage's error;
 * returns where that line starts. */
static size_t last_line(const char *text, size_t len, char *buf, size_t size)
{
	size_t end = len, start;

	while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r' || text[end - 1] == ' '))
		end--;
	start = end;
	while (start > 0 && text[start - 1] != '\n')
		start--;
	snprintf(buf, size, "%.*s", (int)(end - start), text + start);
	return start;
}

/* Parse NDJSON output into an array of objects; NULL with why on bad text. */
static json_t *parse_stream(const char *text, size_t len, char *why, size_t size)
{
	json_t *list = json_array();
	size_t pos = 0, line = 1;

	while (pos < len) {
		json_error_t e;
		json_t *v;
		if (text[pos] == '\n' || text[pos] == ' ' || text[pos] == '\t' ||
		    text[pos] == '\r') {
			line += text[pos] == '\n';
			pos++;
			continue;
		}
		/* A line at a time with sm's parser (a stage writes one envelope a
		 * line); text that is not one value a line, with jansson's. */
		{
			const char *nl = memchr(text + pos, '\n', len - pos);
			size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
			v = sm_json_parse(text + pos, n, JSON_DECODE_ANY, NULL);
			if (v) {
				if (json_is_object(v)) {
					json_array_append_new(list, v);
					pos += n;
					continue;
				}
				json_decref(v);
			}
		}
		v = json_loadb(text + pos, len - pos, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &e);
		if (!v || !json_is_object(v)) {
			snprintf(why, size, "output line %zu is not a JSON object%s%s", line,
			         v ? "" : ": ", v ? "" : e.text);
			json_decref(v);
			json_decref(list);
			return NULL;
		}
		json_array_append_new(list, v);
		pos += e.position;
	}
	return list;
}

static char *stream_text(const json_t *input, size_t *len)
{
	sm_text t = {0};
	const json_t *v;
	size_t i;

	json_array_foreach(input, i, v)
	{
		sm_json_dump_append(&t, v, '\n');
	}
	if (t.failed) {
		free(t.p);
		return NULL;
	}
	*len = t.len;
	return t.p ? t.p : strdup("");
}

/* The stage's diagnostics go on to ours, its log lines (which carry the
 * envelope's trace id) with the run's id added. */
static void relay(const char *text, size_t len, const char *run_id)
{
	sm_text t = {0};
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		sm_text_raw(&t, p, n);
		if (run_id && *run_id && n > 3 && memcmp(p, "ts=", 3) == 0 &&
		    !memmem(p, n, " run_id=", 8)) {
			sm_text_raw(&t, " run_id=", 8);
			sm_text_raw(&t, run_id, strlen(run_id));
		}
		sm_text_raw(&t, "\n", 1);
		p += n + (nl ? 1 : 0);
	}
	if (!t.failed && t.len && write(STDERR_FILENO, t.p, t.len) < 0)
		sm_log(SM_LOG_DEBUG, "stderr: %s", strerror(errno));
	free(t.p);
}

int node_worse_status(int a, int b)
{
	static const int order[] = {SM_EXIT_FAILURE, SM_EXIT_TEMPFAIL, SM_EXIT_DATAERR};

	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
		if (a == order[i] || b == order[i])
			return order[i];
	return a > b ? a : b;
}

/* node_judge's part after the output is parsed (output NULL, why saying
 * why, when it could not be). */
static void judge(const node_type *t, const node_ctx *ctx, int exit_status, int signal,
                  bool timed_out, json_t *output, const char *why, const char *errtext,
                  size_t errlen, node_outcome *out)
{
	size_t shown = errlen;

	out->exit_status = exit_status;
	out->output = output;
	if (timed_out) {
		out->temporary = true;
		snprintf(out->error, sizeof out->error, "%s timed out after %gs", t->program,
		         ctx->timeout_s);
	} else if (signal) {
		out->temporary = true;
		snprintf(out->error, sizeof out->error, "%s was killed by signal %d (%s)",
		         t->program, signal, strsignal(signal));
	} else if (exit_status < 0 || exit_status > t->ok_max) {
		char line[700];
		/* Its last line becomes the stage's error, printed once. */
		shown = last_line(errtext, errlen, line, sizeof line);
		out->temporary = exit_status == SM_EXIT_TEMPFAIL;
		snprintf(out->error, sizeof out->error, "%s exited %d%s%s", t->program, exit_status,
		         *line ? ": " : "", line);
	} else if (!out->output) {
		snprintf(out->error, sizeof out->error, "%s: %s", t->program, why);
	}
	relay(errtext, shown, ctx->run_id);
}

void node_judge(const node_type *t, const node_ctx *ctx, int exit_status, int signal,
                bool timed_out, const char *text, size_t len, const char *errtext, size_t errlen,
                node_outcome *out)
{
	char why[256] = "";
	json_t *output = parse_stream(text, len, why, sizeof why);

	judge(t, ctx, exit_status, signal, timed_out, output, why, errtext, errlen, out);
}

void node_judge_output(const node_type *t, const node_ctx *ctx, int exit_status, json_t *output,
                       const char *errtext, size_t errlen, node_outcome *out)
{
	judge(t, ctx, exit_status, 0, false, output, "", errtext, errlen, out);
}

void node_spawn(const node_type *t, const node_ctx *ctx, const json_t *input,
                const json_t *arguments, node_outcome *out)
{
	char path[PATH_MAX];
	const char **argv = NULL;
	json_t *args = arguments ? json_deep_copy(arguments) : json_array(), *v;
	sm_spawn_result res = {0};
	sm_error err = {0};
	char *text = NULL;
	size_t len = 0, i;

	memset(out, 0, sizeof *out);
	out->exit_status = -1;
	if (node_program_path(t->program, path, sizeof path, &err) < 0 ||
	    (!arguments && t->arguments(ctx, args, &err) < 0)) {
		snprintf(out->error, sizeof out->error, "%s", err.msg);
		goto done;
	}
	argv = calloc(json_array_size(args) + 2, sizeof *argv);
	if (!argv) {
		snprintf(out->error, sizeof out->error, "out of memory");
		goto done;
	}
	argv[0] = path;
	json_array_foreach(args, i, v)
	{
		argv[i + 1] = json_string_value(v);
	}
	/* In a worker, a stage that has envelopes to read runs in the worker
	 * (notify) or as a long-lived filter rather than a process per run. */
	if (t->filter && !ctx->entry && json_array_size(input) > 0 &&
	    (node_local_run(t, ctx, argv, input, out) || node_filter_run(t, ctx, argv, input, out)))
		goto done;
	text = ctx->entry && json_array_size(input) == 0 ? NULL : stream_text(input, &len);
	if (!text && !(ctx->entry && json_array_size(input) == 0)) {
		snprintf(out->error, sizeof out->error, "out of memory");
		goto done;
	}
	/* A process per run may write the store before it has read all its
	 * input: nothing held from here. */
	node_handed(ctx);
	{
		/* The run's ids, for a stage that records or logs them. */
		char trace_var[64], run_var[64];
		const char *env[] = {trace_var, run_var, NULL};
		sm_spawn_opts opts = {.argv = argv,
		                      .env_add = ctx->run_id ? env : NULL,
		                      .input = text,
		                      .input_len = len,
		                      .timeout_s = ctx->timeout_s,
		                      .max_output = 64u << 20};
		snprintf(trace_var, sizeof trace_var, "SM_TRACE_ID=%s",
		         ctx->trace_id ? ctx->trace_id : "");
		snprintf(run_var, sizeof run_var, "SM_RUN_ID=%s", ctx->run_id ? ctx->run_id : "");
		if (sm_spawn_run(&opts, &res) < 0) {
			snprintf(out->error, sizeof out->error, "cannot run %.400s: %.500s", path,
			         res.error);
			goto done;
		}
	}
	node_judge(t, ctx, res.exit_status, res.signal, res.timed_out, res.out, res.out_len,
	           res.errout, res.errout_len, out);
done:
	sm_spawn_result_clear(&res);
	free(text);
	free(argv);
	json_decref(args);
}

void node_run(const node_type *t, const node_ctx *ctx, const json_t *input, node_outcome *out)
{
	memset(out, 0, sizeof *out);
	out->exit_status = -1;
	if (t->run)
		t->run(ctx, input, out);
	else
		node_spawn(t, ctx, input, NULL, out);
}
