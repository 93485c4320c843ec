/* trace.h - trace ids: 128 random bits as 32 lower-case hex digits. */
#ifndef SM_TRACE_H
#define SM_TRACE_H

#include <stdbool.h>

#define SM_TRACE_LEN 32

/* Fill out with a new id; returns 0, or -1 when no randomness is available. */
int sm_trace_new(char out[SM_TRACE_LEN + 1]);
/* Whether s is a well-formed trace id. */
bool sm_trace_valid(const char *s);

#endif
