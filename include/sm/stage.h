/* stage.h - the loop every stream stage runs (sm-envelope(5), "STREAM").
 *
 * sm-check -, sm-analyze, sm-notify and sm-pipeline read envelopes the same
 * way: each envelope read is handed to the stage, then written on (one line,
 * flushed) before the next is read, so a stage works as a stream filter.
 * One policy for bad input, for every stage:
 *   - a line that is not an envelope (malformed JSON, invalid UTF-8, too
 *     long, not an object, no "v": 1) is reported on stderr with its line
 *     number and skipped: nothing is written for it, the lines after it go on;
 *   - input that cannot be read (a directory, a closed or non-blocking
 *     descriptor, an I/O error) stops the loop;
 *   - a write error on the output stops the loop.
 * Run as a long-lived filter (sm-pipeline work keeps one per stage), the
 * stage is told where to report each line's end: SM_STAGE_STATUS_FD names
 * a descriptor on which the loop writes "ready\n" when it starts (the
 * stage is set up and speaks this protocol), then "STATUS\n" after each
 * line read,
 * once that line's envelope (if any) is written and flushed. STATUS is what
 * sm_stage_exit would give for that line alone, so the reader knows the
 * line is done even when the stage wrote nothing for it (a filtered or
 * malformed line), and how it went.
 */
#ifndef SM_STAGE_H
#define SM_STAGE_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

/* What the stage did with one envelope: the suite's exit status for it
 * (0, SM_EXIT_FAILURE or SM_EXIT_TEMPFAIL). The loop writes the envelope on
 * whatever the status; a stage that filters sets *drop to write nothing. */
typedef int (*sm_stage_fn)(json_t *env, bool *drop, void *ctx);

typedef struct sm_stage_result {
	size_t envelopes;  /* envelopes read */
	size_t malformed;  /* lines that were not envelopes (reported, skipped) */
	bool failed;       /* some envelope's status was SM_EXIT_FAILURE */
	bool tempfail;     /* some envelope's status was SM_EXIT_TEMPFAIL */
	bool input_error;  /* the input could not be read to its end */
	bool output_error; /* the output failed: the loop stopped there */
} sm_stage_result;

/* Run fn over the envelopes of in (named name in messages, a line at most
 * max_line bytes, 0 for the default), writing them to out. Errors are
 * printed on stderr as "prog: name:LINE: why". */
void sm_stage_run(FILE *in, const char *name, size_t max_line, FILE *out, sm_stage_fn fn, void *ctx,
                  sm_stage_result *res);

/* The exit status of a run, the worst first: an output error or a failed
 * envelope 1, a temporary failure 75 (a retry may deliver it), a line that
 * was not an envelope or unreadable input 65, else 0. */
int sm_stage_exit(const sm_stage_result *res);

#endif
