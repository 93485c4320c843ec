/* pipeline_route.h - which definition a queued envelope takes
 * (sm-pipeline(5) ROUTING).
 *
 * A definition with a "match" (a list of conditions, all of which must
 * hold; [] matches everything) takes part in routing, in order of its
 * "priority" (an integer, lowest first, default 100), then of its name.
 * A condition is {"field", "op", "value"}: field source, severity, status,
 * instance or label:KEY; op is (the default), is-not (value a string), in,
 * not-in (value a list of strings). The facts come from the envelope: see
 * sm_pipeline_route_facts.
 */
#ifndef SM_PIPELINE_ROUTE_H
#define SM_PIPELINE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "sm/err.h"
#include "sm/store.h"

#define SM_ROUTE_PRIORITY 100 /* a definition's priority when it gives none */

/* The facts of env as {"source","severity","status","instance","labels"}:
 * source the envelope's; severity the incident's, else the worst alert's;
 * status firing when any alert fires, else resolved (when it has alerts);
 * labels those of its alerts, the first alert's value winning; instance
 * the label instance_id, else instance, else hostname. Missing facts are "". */
json_t *sm_pipeline_route_facts(const json_t *env);

/* Append a string to problems for each problem of def's "match" and
 * "priority" (part of sm_pipeline_validate). */
void sm_pipeline_route_validate(const json_t *def, json_t *problems);

/* Whether every condition of match holds for facts. When one does not,
 * why (if not NULL) says which, e.g. "severity is critical (it is warning)".
 * A condition that is not valid never holds. */
bool sm_pipeline_route_match(const json_t *match, const json_t *facts, char *why, size_t size);

/* The definition env takes: forced (not NULL) wins, else the first stored
 * definition whose match holds, else SM_DEFAULT_DEFINITION (default
 * ai-analyzed). *out is {"definition", "by": "forced"|"match"|"default",
 * "priority" (by match), "reason", "skipped": [{"definition","priority",
 * "failed"}] (definitions tried before, by match or default), "facts"}.
 * The definition is not loaded: an unknown name shows when it is. */
int sm_pipeline_route(sm_store *store, const json_t *env, const char *forced, json_t **out,
                      sm_error *err);

#endif
