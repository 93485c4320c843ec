/* agents.h - the agents a hub has heard from.
 *
 * Every accepted cluster push records its agent (instance id, host name,
 * time, sender address) in the agents table, in the push's transaction; the
 * agents checker of sm-check reads it to find agents that went silent.
 */
#ifndef SM_AGENTS_H
#define SM_AGENTS_H

#include <jansson.h>
#include "sm/store.h"

/* Record a push from agent ({"instance_id","hostname"}) seen from address
 * (may be NULL). Inside the caller's transaction. */
int sm_agents_record(sm_store *store, json_t *agent, const char *address, sm_error *err);
/* Every known agent as {"instance_id","hostname","first_push_at",
 * "last_push_at","last_address","pushes"}, by instance id. */
int sm_agents_list(sm_store *store, json_t **agents, sm_error *err);

#endif
