/* sm-analyze.h - what main.c, provider.c and output.c share. */
#ifndef SM_ANALYZE_TOOL_H
#define SM_ANALYZE_TOOL_H

#include <stdbool.h>
#include <jansson.h>
#include "sm/store.h"

/* `sm-analyze provider ...`: words are the operands after "provider". */
int provider_command(sm_store *store, char **words, int n, bool json);

/* Recommendations for people: a numbered listing with details and actions, coloured
 * on a terminal. */
void print_recommendations(FILE *out, json_t *recs);
/* The progress callback of the local rules (recommend.h); ctx unused. */
void show_progress(const char *message, void *ctx);
/* Clear a progress line left on the terminal. */
void end_progress(void);

#endif
