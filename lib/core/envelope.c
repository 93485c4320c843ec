/* envelope.c - reading and writing NDJSON envelopes. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sm/envelope.h"
#include "sm/json.h"
#include "sm/trace.h"

struct sm_reader {
	FILE *in;
	char name[256];
	size_t max;
	size_t line;
	char *buf;
	size_t cap;
};

sm_reader *sm_reader_new(FILE *in, const char *name, size_t max_line)
{
	sm_reader *r = calloc(1, sizeof *r);

	if (!r)
		return NULL;
	r->in = in;
	r->max = max_line ? max_line : SM_ENVELOPE_MAX_LINE;
	snprintf(r->name, sizeof r->name, "%s", name ? name : "stdin");
	return r;
}

void sm_reader_free(sm_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r);
}

size_t sm_reader_line(const sm_reader *r)
{
	return r->line;
}

/* Read one line into r->buf without its newline. 1 line, 0 EOF, -1 too long
 * (the rest of the line is consumed so the next call starts fresh), -2 I/O. */
static int read_line(sm_reader *r, size_t *len)
{
	size_t n = 0;
	bool too_long = false;

	for (;;) {
		int c = getc(r->in);
		if (c == EOF) {
			if (ferror(r->in))
				return -2;
			if (n == 0 && !too_long)
				return 0;
			break;
		}
		if (c == '\n')
			break;
		if (too_long)
			continue;
		if (n >= r->max) {
			too_long = true;
			continue;
		}
		if (n + 1 >= r->cap) {
			size_t ncap = r->cap ? r->cap * 2 : 4096;
			char *p;
			if (ncap > r->max + 1)
				ncap = r->max + 1;
			p = realloc(r->buf, ncap);
			if (!p)
				return -2;
			r->buf = p;
			r->cap = ncap;
		}
		r->buf[n++] = (char)c;
	}
	r->line++;
	if (too_long)
		return -1;
	if (!r->buf) {
		r->buf = malloc(1);
		if (!r->buf)
			return -2;
		r->cap = 1;
	}
	r->buf[n] = '\0';
	*len = n;
	return 1;
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\r", s[i]))
			return false;
	return true;
}

int sm_reader_next(sm_reader *r, json_t **out, sm_error *err)
{
	json_error_t jerr;
	size_t len = 0;

	*out = NULL;
	for (;;) {
		int rc = read_line(r, &len);
		if (rc == 0)
			return 0;
		if (rc == -1) {
			sm_error_set_kind(err, SM_ERROR_DATA, "%s:%zu: line longer than %zu bytes",
			                  r->name, r->line, r->max);
			return -1;
		}
		if (rc == -2) {
			sm_error_errno(err, SM_ERROR_IO, "%s: read error", r->name);
			return -1;
		}
		if (!blank(r->buf, len))
			break;
	}
	if (!sm_json_utf8_valid(r->buf, len)) {
		sm_error_set_kind(err, SM_ERROR_DATA, "%s:%zu: invalid UTF-8", r->name, r->line);
		return -1;
	}
	*out = sm_json_parse(r->buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*out) {
		sm_error_set_kind(err, SM_ERROR_DATA, "%s:%zu: malformed JSON: %s (column %d)",
		                  r->name, r->line, jerr.text, jerr.column);
		return -1;
	}
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		sm_error_set_kind(err, SM_ERROR_DATA, "%s:%zu: expected a JSON object", r->name,
		                  r->line);
		return -1;
	}
	return 1;
}

int sm_envelope_read(sm_reader *r, json_t **out, sm_error *err)
{
	json_t *v, *trace, *run;
	int rc = sm_reader_next(r, out, err);

	if (rc <= 0)
		return rc;
	v = json_object_get(*out, "v");
	if (!json_is_integer(v) || json_integer_value(v) != SM_ENVELOPE_VERSION) {
		sm_error_set_kind(err, SM_ERROR_DATA,
		                  "%s:%zu: not an sm envelope (\"v\" must be %d)", r->name, r->line,
		                  SM_ENVELOPE_VERSION);
		goto bad;
	}
	trace = json_object_get(*out, "trace_id");
	if (trace && !json_is_null(trace) && !sm_trace_valid(json_string_value(trace))) {
		sm_error_set_kind(err, SM_ERROR_DATA,
		                  "%s:%zu: \"trace_id\" must be 32 lower-case hex digits", r->name,
		                  r->line);
		goto bad;
	}
	/* A run's id decides what sm-notify sends again (once per run). */
	run = json_object_get(*out, "run_id");
	if (run && !json_is_null(run) &&
	    (!json_is_string(run) || json_string_length(run) < 1 ||
	     json_string_length(run) > SM_ENVELOPE_RUN_ID_MAX)) {
		sm_error_set_kind(err, SM_ERROR_DATA,
		                  "%s:%zu: \"run_id\" must be a string of 1 to %d characters",
		                  r->name, r->line, SM_ENVELOPE_RUN_ID_MAX);
		goto bad;
	}
	sm_envelope_trace_id(*out);
	return 1;
bad:
	json_decref(*out);
	*out = NULL;
	return -1;
}

/* The envelope's head and its stage records are written as text here and
 * nowhere else: sm_ingest prints its envelopes straight into text, and the
 * tree functions below parse what these write, so the two forms cannot
 * drift apart (keys, their order, rounding). */
#define RAW(t, s) sm_text_raw(t, s, sizeof s - 1)

void sm_envelope_text_head(sm_text *t, const char *source, const char *trace_id)
{
	char id[SM_TRACE_LEN + 1] = "";

	if (trace_id && sm_trace_valid(trace_id))
		snprintf(id, sizeof id, "%s", trace_id);
	else if (sm_trace_new(id) < 0)
		id[0] = '\0';
	RAW(t, "{\"v\":");
	sm_text_int(t, SM_ENVELOPE_VERSION);
	if (id[0]) {
		RAW(t, ",\"trace_id\":");
		sm_text_str(t, id);
	}
	RAW(t, ",\"source\":");
	sm_text_str(t, source ? source : "");
}

void sm_envelope_text_stage(sm_text *t, const char *stage, const char *status,
                            const char *started_at, double duration_ms, const char *error)
{
	RAW(t, "{\"stage\":");
	sm_text_str(t, stage);
	RAW(t, ",\"status\":");
	sm_text_str(t, status);
	RAW(t, ",\"started_at\":");
	sm_text_str(t, started_at);
	RAW(t, ",\"duration_ms\":");
	sm_text_real(t, sm_round(duration_ms, 3));
	RAW(t, ",\"error\":");
	sm_text_str(t, error);
	RAW(t, "}");
}

/* The value of text, freed; NULL when out of memory. */
static json_t *parse_text(sm_text *t)
{
	json_t *v = t->failed ? NULL : sm_json_parse(t->p, t->len, 0, NULL);

	free(t->p);
	return v;
}

json_t *sm_envelope_new(const char *source, const char *trace_id)
{
	sm_text t = {0};

	sm_envelope_text_head(&t, source, trace_id);
	RAW(&t, "}");
	return parse_text(&t);
}

const char *sm_envelope_trace_id(json_t *env)
{
	const char *id = json_string_value(json_object_get(env, "trace_id"));
	char fresh[SM_TRACE_LEN + 1];

	if (id && *id)
		return id;
	if (sm_trace_new(fresh) < 0)
		return "";
	json_object_set_new_nocheck(env, "trace_id", json_string(fresh));
	return json_string_value(json_object_get(env, "trace_id"));
}

void sm_envelope_add_stage(json_t *env, const char *stage, const char *status,
                           const char *started_at, double duration_ms, const char *error)
{
	json_t *stages = json_object_get(env, "stages"), *rec;
	sm_text t = {0};

	sm_envelope_text_stage(&t, stage, status, started_at, duration_ms, error);
	rec = parse_text(&t);
	if (!rec)
		return;
	if (!json_is_array(stages)) {
		stages = json_array();
		json_object_set_new_nocheck(env, "stages", stages);
	}
	json_array_append_new(stages, rec);
}

int sm_envelope_write(FILE *out, json_t *env, sm_error *err)
{
	/* One string, one write: json_dumpf would hand stdio a call per token. */
	size_t len = 0;
	char *line = sm_json_dump(env, &len);
	int rc = 0;

	if (!line || fwrite(line, 1, len, out) != len || putc('\n', out) == EOF ||
	    fflush(out) == EOF) {
		sm_error_set_kind(err, SM_ERROR_IO, "write error: %s",
		                  line ? strerror(errno) : "out of memory");
		rc = -1;
	}
	free(line);
	return rc;
}
