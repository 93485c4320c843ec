/* envelope.h - the NDJSON envelope stream between the tools (sm-envelope(5)).
 *
 * One JSON object per line. A reader holds at most one line in memory (up to
 * a per-line limit), so streams of any length pass in constant memory; errors
 * name the input and line. A writer prints one compact line per envelope and
 * flushes it, so `sm-check | sm-notify` streams.
 */
#ifndef SM_ENVELOPE_H
#define SM_ENVELOPE_H

#include <stdio.h>
#include <jansson.h>
#include "sm/err.h"
#include "sm/json.h"

#define SM_ENVELOPE_VERSION    1
#define SM_ENVELOPE_MAX_LINE   (8u << 20) /* default per-line limit: 8 MiB */
#define SM_ENVELOPE_RUN_ID_MAX 64         /* a run_id's length at most (sm-envelope(5)) */

typedef struct sm_reader sm_reader;

/* name is used in messages ("stdin", a file name). */
sm_reader *sm_reader_new(FILE *in, const char *name, size_t max_line);
void sm_reader_free(sm_reader *reader);
/* Next JSON object: 1 with *out set, 0 at end of input, -1 with err set
 * ("stdin:3: ...") for an oversize line, invalid JSON or UTF-8, or a value
 * that is not an object. Blank lines are skipped. */
int sm_reader_next(sm_reader *reader, json_t **out, sm_error *err);
/* Line number of the last object returned. */
size_t sm_reader_line(const sm_reader *reader);

/* Next envelope: like sm_reader_next, and the object must carry "v": 1. A
 * missing trace_id is filled in. */
int sm_envelope_read(sm_reader *reader, json_t **out, sm_error *err);

/* A new envelope {"v":1,"trace_id":…,"source":…}; trace_id NULL makes one. */
json_t *sm_envelope_new(const char *source, const char *trace_id);
/* The envelope's trace id (always present after read/new). */
const char *sm_envelope_trace_id(json_t *env);
/* Append a stages[] record. error NULL for success. */
void sm_envelope_add_stage(json_t *env, const char *stage, const char *status,
                           const char *started_at, double duration_ms, const char *error);
/* The same two as text, for a writer that prints envelopes without building
 * trees (sm_ingest): the head `{"v":1,"trace_id":…,"source":…` left open for
 * the caller's members and closing brace, and one stages[] record. These are
 * the one writer of both: the tree functions above parse their text. */
void sm_envelope_text_head(sm_text *t, const char *source, const char *trace_id);
void sm_envelope_text_stage(sm_text *t, const char *stage, const char *status,
                            const char *started_at, double duration_ms, const char *error);
/* Write env as one line and flush; -1 with err on a write error. */
int sm_envelope_write(FILE *out, json_t *env, sm_error *err);

#endif
