/* json_arena.c - jansson's memory from 64 KiB chunks, for the tools that
 * build and free JSON trees all the time: sm-ingest (a batch, the
 * webhook handler), sm-pipeline (the queue's worker) and sm-notify.
 *
 * A payload's tree is a few hundred small blocks that all go within the
 * same payload. Through malloc each costs a call in and a call out, and
 * freeing a tree of more blocks of one size than glibc's per-thread cache
 * holds sends them down its slow paths: a quarter of a batch ingest's
 * instructions were malloc and free. Here a block is a bump of a pointer in
 * the thread's current chunk, a free is a decrement of its chunk's count,
 * and a chunk whose blocks are all gone is used again. Without it a batch
 * ingest takes 20-50 % more CPU and falls below Alertmanager's rate
 * (bench/README.md, issue 11); the queue's worker, whose envelope is parsed,
 * copied, stamped and printed several times an item, runs a fifth more
 * instructions an item (bench/README.md, session 14). A tree kept for long
 * (a definition, a channel's configuration) keeps its chunk: the chunks a
 * process holds are about those its live trees touch.
 *
 * Every block has an 8-byte header naming its chunk; blocks too big for a
 * chunk come from malloc with a NULL header.
 *
 * Threads: each has its own current chunk, and any thread may free any
 * block (sm-ingest parses on one thread and stores on another). A chunk
 * counts its frees atomically; only its owner counts what it handed out,
 * and adds that in when the chunk is full and it moves on ("retires" it).
 * The count reaches zero exactly once, after the retirement and the last
 * free, and whichever thread brings it there keeps the chunk for reuse. */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sm/json_arena.h"

#define CHUNK_SIZE  (64 * 1024)
#define BIG         (CHUNK_SIZE / 8) /* larger blocks come from malloc */
#define MAX_SPARES  4
#define HEADER_SIZE 8 /* the chunk's address, keeping blocks 8-aligned */

struct chunk {
	struct chunk *next;  /* on a spare list */
	size_t handed_out;   /* blocks given out: the owner's count */
	size_t used;         /* bytes of data given out */
	atomic_long balance; /* -frees until retired, then handed_out - frees */
	_Alignas(16) unsigned char data[];
};

#define DATA_SIZE (CHUNK_SIZE - offsetof(struct chunk, data))
_Static_assert(sizeof(struct chunk *) == HEADER_SIZE, "a header holds a chunk's address");

/* (cppcheck loses track of members used only through a _Thread_local) */
struct thread_arena {
	/* cppcheck-suppress unusedStructMember */
	struct chunk *current, *spares;
	/* cppcheck-suppress unusedStructMember */
	size_t nspares;
};
static _Thread_local struct thread_arena arena;

/* Keep an emptied chunk for reuse by this thread, or give it back. */
static void recycle(struct chunk *c)
{
	if (arena.nspares < MAX_SPARES) {
		c->next = arena.spares;
		arena.spares = c;
		arena.nspares++;
	} else {
		free(c);
	}
}

static void retire(struct chunk *c)
{
	long handed = (long)c->handed_out;

	if (atomic_fetch_add_explicit(&c->balance, handed, memory_order_acq_rel) + handed == 0)
		recycle(c);
}

/* When a thread ends: its spares go, and its current chunk is retired, to
 * be recycled by whichever thread frees its last block. */
static void thread_ends(void *unused)
{
	(void)unused;
	while (arena.spares) {
		struct chunk *c = arena.spares;
		arena.spares = c->next;
		free(c);
	}
	arena.nspares = 0;
	if (arena.current) {
		struct chunk *c = arena.current;
		arena.current = NULL;
		retire(c);
		/* retire may have recycled it into this thread's spares */
		free(arena.spares);
		arena.spares = NULL;
		arena.nspares = 0;
	}
}

static pthread_key_t ending;
static pthread_once_t ending_once = PTHREAD_ONCE_INIT;

static void make_key(void)
{
	pthread_key_create(&ending, thread_ends);
}

static struct chunk *fresh_chunk(void)
{
	struct chunk *c = arena.spares;

	if (!arena.current) { /* this thread's first chunk */
		pthread_once(&ending_once, make_key);
		pthread_setspecific(ending, &arena);
	}

	if (c) {
		arena.spares = c->next;
		arena.nspares--;
	} else if (!(c = malloc(CHUNK_SIZE))) {
		return NULL;
	}
	c->next = NULL;
	c->handed_out = 0;
	c->used = 0;
	atomic_init(&c->balance, 0);
	return c;
}

void *sm_json_arena_malloc(size_t size)
{
	size_t need = HEADER_SIZE + ((size + 7) & ~(size_t)7);
	struct chunk *c = arena.current;
	unsigned char *block;

	if (size > BIG) {
		block = malloc(HEADER_SIZE + size);
		if (!block)
			return NULL;
		memset(block, 0, HEADER_SIZE);
		return block + HEADER_SIZE;
	}
	if (!c || DATA_SIZE - c->used < need) {
		struct chunk *next = fresh_chunk();
		if (!next)
			return NULL;
		arena.current = next;
		if (c)
			retire(c);
		c = next;
	}
	block = c->data + c->used;
	memcpy(block, &c, sizeof c);
	c->used += need;
	c->handed_out++;
	return block + HEADER_SIZE;
}

void sm_json_arena_free(void *p)
{
	unsigned char *block = p;
	struct chunk *c;

	if (!p)
		return;
	block -= HEADER_SIZE;
	memcpy(&c, block, sizeof c);
	if (!c) {
		free(block);
		return;
	}
	/* Zero only after retirement: before it the balance is negative. */
	if (atomic_fetch_sub_explicit(&c->balance, 1, memory_order_acq_rel) == 1)
		recycle(c);
}

void sm_json_arena_install(void)
{
#if defined(__SANITIZE_ADDRESS__)
	/* Under AddressSanitizer every jansson block stays a malloc block, so
	 * a use after free in a tree is still caught. */
	return;
#else
	json_set_alloc_funcs(sm_json_arena_malloc, sm_json_arena_free);
#endif
}
