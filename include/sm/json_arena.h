/* json_arena.h - jansson's memory from 64 KiB chunks, for the tools that
 * build and free JSON trees all the time (json_arena.c says why and how
 * threads share it).
 *
 * Call sm_json_arena_install before the first jansson call; afterwards
 * nothing jansson allocates may go to free: print with sm_json_dump or
 * sm_json_dumps (sm/json.h; malloc's memory), never json_dumps. Does
 * nothing under AddressSanitizer. The two allocation functions are public
 * for the tests.
 */
#ifndef SM_JSON_ARENA_H
#define SM_JSON_ARENA_H

#include <stddef.h>

void sm_json_arena_install(void);
void *sm_json_arena_malloc(size_t size);
void sm_json_arena_free(void *p);

#endif
