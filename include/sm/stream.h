/* stream.h - a batch ingest: a stream of webhook payloads (one object, NDJSON,
 * or objects simply concatenated) parsed, stored and acknowledged with one
 * envelope per incident touched, as `sm-ingest [FILE]` does.
 *
 * A payload is parsed and checked by its driver on the calling thread and
 * stored on a second one, in transactions of up to 8192 payloads that are
 * committed when the input pauses, when full, and at the end; a
 * transaction's envelopes are written to out after its commit, never
 * before. A payload that is refused (malformed, unknown to the drivers,
 * too large) is reported and the stream goes on, except after malformed
 * JSON, which ends it; a store failure rolls the open transaction back and
 * ends the run. sm-ingest(1) has every rule and message.
 */
#ifndef SM_STREAM_H
#define SM_STREAM_H

#include <stdbool.h>
#include <stdio.h>
#include "sm/alert.h"
#include "sm/store.h"

typedef struct sm_stream_opts {
	const sm_driver *driver; /* NULL: detect each payload's */
	bool dry_run;            /* print one envelope per payload, store nothing */
	bool queue;              /* queue each envelope for `sm-pipeline work` too */
	long long max_body;      /* the largest payload, bytes */
	FILE *out;               /* where the envelopes go */
	/* Each refusal and what stopped the run, one line (no program name),
	 * with the exit status it stands for; from either thread, one at a time. */
	void (*report)(void *ctx, int code, const char *message);
	void *ctx;
} sm_stream_opts;

/* Ingest every payload read from fd (name says where it comes from in the
 * messages) into store (NULL with dry_run). The exit status: 0 every payload
 * stored, 65 some refused or a read error, 1 the store or out failed. */
int sm_stream_ingest(sm_store *store, int fd, const char *name, const sm_stream_opts *opts);

#endif
