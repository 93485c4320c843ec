/* json_arena.h - jansson's memory from 64 KiB chunks, for sm-ingest's batch
 * ingest (json_arena.c says why and how threads share it).
 *
 * Call sm_json_arena_install before the first jansson call; afterwards free
 * what jansson's own json_dumps returns with sm_json_arena_free, not free
 * (sm_json_dump's text comes from malloc). Does nothing under
 * AddressSanitizer. The two allocation functions are public for the tests.
 */
#ifndef SM_JSON_ARENA_H
#define SM_JSON_ARENA_H

#include <stddef.h>

void sm_json_arena_install(void);
void *sm_json_arena_malloc(size_t size);
void sm_json_arena_free(void *p);

#endif
