/* pipeline_setup.h - the setup wizard (`sm-pipeline setup`): pick a preset,
 * its checkers, AI provider and channels, and store the result as a
 * definition. Interactive on a terminal; from the options otherwise. */
#ifndef SM_PIPELINE_SETUP_H
#define SM_PIPELINE_SETUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "sm/err.h"
#include "sm/store.h"

typedef struct sm_pipeline_setup_opts {
	const char *preset;    /* a built-in definition's name */
	const char *name;      /* what to store it as (default "main") */
	const char *provider;  /* the intelligence node's provider */
	const char **channels; /* channel names for the notify node (NULL-terminated) */
	size_t nchannels;
	const char **checkers; /* checker names for the context node (NULL-terminated) */
	size_t ncheckers;
	bool interactive; /* ask on in and answer on out */
} sm_pipeline_setup_opts;

/* Build, show and store the definition. SM_EXIT_USAGE with err for an
 * unknown preset, checker or channel, or no preset without a terminal. */
int sm_pipeline_setup(sm_store *store, const sm_pipeline_setup_opts *opts, FILE *in, FILE *out,
                      sm_error *err);

#endif
