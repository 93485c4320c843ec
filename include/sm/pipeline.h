/* pipeline.h - pipeline definitions (sm-pipeline(5)): parsing, validation,
 * the six built-in presets and the definitions kept in the store.
 *
 * A definition is a JSON object {"version", "description", "defaults",
 * "nodes": [...]}; each node {"id", "type", "config", "next", "required",
 * "skip_if_errors", "skip_if_condition"}. Nodes run in list order; "next"
 * is checked (it must name a node and must not close a cycle) but does not
 * reorder them. Node types are one table (lib/pipeline/nodes.h).
 */
#ifndef SM_PIPELINE_H
#define SM_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "sm/err.h"
#include "sm/store.h"

/* Every problem of def, one string each naming the node ("node \"x\": ..."),
 * in a new array; an empty array means def is valid. */
json_t *sm_pipeline_validate(const json_t *def);

/* Parse text as a definition and validate it. SM_EXIT_OK with *out set;
 * SM_EXIT_DATAERR with err set for text that is not a JSON object, or with
 * *problems set (the array of sm_pipeline_validate) for an invalid one. */
int sm_pipeline_parse(const char *text, size_t len, json_t **out, json_t **problems, sm_error *err);

/* The built-in presets, in the order they are listed. */
size_t sm_pipeline_preset_count(void);
const char *sm_pipeline_preset_name(size_t i);
/* A new copy of the preset's definition, NULL when name is no preset. */
json_t *sm_pipeline_preset(const char *name);

/* The definition called name: a stored one, else a preset. SM_EXIT_OK with
 * *out (and *builtin) set, SM_EXIT_USAGE when there is none. */
int sm_pipeline_load(sm_store *store, const char *name, json_t **out, bool *builtin, sm_error *err);
/* Store def (validated by the caller) under name, replacing a stored one.
 * A preset's name is refused (SM_EXIT_USAGE), as is a name that is empty,
 * longer than 64 bytes or not made of letters, digits, '-', '_' and '.'. */
int sm_pipeline_store(sm_store *store, const char *name, const json_t *def, sm_error *err);
/* Remove a stored definition: SM_EXIT_USAGE for a preset or an unknown name. */
int sm_pipeline_remove(sm_store *store, const char *name, sm_error *err);
/* Presets then stored definitions by name, as
 * [{"name","description","builtin","flow":[node ids],"updated_at"}]. */
int sm_pipeline_list(sm_store *store, json_t **out, sm_error *err);

/* The node ids of def joined by " -> " into buf. */
void sm_pipeline_flow(const json_t *def, char *buf, size_t size);

#endif
