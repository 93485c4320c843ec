/* spawn.h - run a program with an argument vector, data on its stdin and a
 * deadline (sm-notify's exec driver, sm-pipeline's stages).
 *
 * Never a shell: argv[0] is looked up on PATH only when it has no slash,
 * and nothing is interpreted. The child runs in its own process group, so
 * at the deadline the whole group gets SIGTERM, then SIGKILL after a short
 * grace; grandchildren that keep the pipes open cannot hold the caller.
 * Its stdout and stderr are captured (each capped); stdin gets the input
 * and is then closed. A child that does not read its input is not an
 * error (EPIPE is ignored).
 */
#ifndef SM_SPAWN_H
#define SM_SPAWN_H

#include <stdbool.h>
#include <stddef.h>

#define SM_SPAWN_MAX_OUTPUT (64 * 1024) /* bytes kept of stdout and of stderr when 0 */

typedef struct sm_spawn_opts {
	const char *const *argv;     /* NULL-terminated; argv[0] the program */
	const char *const *env_pass; /* names (NULL-terminated) of the only variables the
	                                child gets from the caller's environment; NULL:
	                                all of them */
	const char *const *env_add;  /* "NAME=value" each, NULL-terminated, set on top of
	                                what the caller's environment gave; may be NULL */
	const char *input;           /* bytes written to stdin; NULL: stdin is /dev/null */
	size_t input_len;
	double timeout_s;  /* <= 0: none */
	size_t max_output; /* bytes kept of each of stdout and stderr; 0: SM_SPAWN_MAX_OUTPUT */
} sm_spawn_opts;

typedef struct sm_spawn_result {
	int exit_status;    /* when it exited: its status; else -1 */
	int signal;         /* when a signal ended it: the signal; else 0 */
	bool timed_out;     /* the deadline passed and the group was killed */
	char *out, *errout; /* captured stdout and stderr, NUL-terminated (never NULL after 0) */
	size_t out_len, errout_len;
	double elapsed_ms;
	char error[256]; /* why it could not be run ("" otherwise) */
} sm_spawn_result;

/* Run opts->argv to its end (or the deadline). Returns 0 when the program
 * ran (check res->exit_status, res->signal, res->timed_out), -1 when it
 * could not be started (not found, not executable, no memory): res->error
 * says why. Clear res afterwards either way. */
int sm_spawn_run(const sm_spawn_opts *opts, sm_spawn_result *res);

/* Free the captured output and reset res. */
void sm_spawn_result_clear(sm_spawn_result *res);

#endif
