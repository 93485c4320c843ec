/* test_json_arena.c - jansson's chunk allocator (lib/core/json_arena.c). */
#include "testutil.h"
#include "sm/json.h"
#include "sm/json_arena.h"

#include <pthread.h>
#include <stdatomic.h>

static void blocks_are_aligned_distinct_and_usable(void **state)
{
	enum { N = 5000 };
	unsigned char **p = calloc(N, sizeof *p);

	(void)state;
	assert_non_null(p);
	for (int i = 0; i < N; i++) {
		size_t size = (size_t)(i % 97) + 1;
		p[i] = sm_json_arena_malloc(size);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % 8, 0);
		memset(p[i], i & 0xff, size);
	}
	for (int i = 0; i < N; i++) {
		size_t size = (size_t)(i % 97) + 1;
		for (size_t k = 0; k < size; k++)
			assert_int_equal(p[i][k], i & 0xff); /* nothing overlapped */
	}
	for (int i = 0; i < N; i++)
		sm_json_arena_free(p[i]);
	free(p);
}

/* The chunk a block came from: the header before it (white box). */
static void *chunk_of(void *p)
{
	void *c;

	memcpy(&c, (char *)p - sizeof c, sizeof c);
	return c;
}

/* Chunks whose blocks are all freed are used again, not allocated anew. */
static void emptied_chunks_are_reused(void **state)
{
	enum { N = 4000 }; /* about four chunks of 72-byte blocks */
	void **block = calloc(N, sizeof *block), **chunks = calloc(N, sizeof *chunks);

	(void)state;
	for (int i = 0; i < N; i++) {
		block[i] = sm_json_arena_malloc(64);
		chunks[i] = chunk_of(block[i]);
	}
	for (int i = 0; i < N; i++)
		sm_json_arena_free(block[i]);
	for (int i = 0; i < N; i++) {
		bool seen = false;
		block[i] = sm_json_arena_malloc(64);
		for (int j = 0; j < N && !seen; j++)
			seen = chunk_of(block[i]) == chunks[j];
		assert_true(seen);
	}
	for (int i = 0; i < N; i++)
		sm_json_arena_free(block[i]);
	free(block);
	free(chunks);
}

/* Blocks made on one thread and freed on another (sm-ingest parses on one
 * and stores on the other), while both also make and free their own. */
enum { HANDED = 200000 };
static void *_Atomic handed[HANDED];

static void *freeing_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < HANDED; i++) {
		unsigned char *p, *own = sm_json_arena_malloc(24);
		while (!(p = atomic_load(&handed[i])))
			;
		memset(own, 0x5a, 24);
		if (p[0] != (unsigned char)i || p[39] != (unsigned char)(i >> 8))
			return (void *)1;
		sm_json_arena_free(p);
		sm_json_arena_free(own);
	}
	return NULL;
}

static void blocks_freed_on_another_thread(void **state)
{
	pthread_t t;
	void *bad = (void *)1;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, freeing_thread, NULL), 0);
	for (int i = 0; i < HANDED; i++) {
		unsigned char *p = sm_json_arena_malloc(40 + (size_t)(i % 50));
		assert_non_null(p);
		memset(p, 0, 40);
		p[0] = (unsigned char)i;
		p[39] = (unsigned char)(i >> 8);
		atomic_store(&handed[i], p);
	}
	assert_int_equal(pthread_join(t, &bad), 0);
	assert_null(bad);
}

/* One live block keeps its chunk, and its bytes, while many chunks come and
 * go around it. */
static void a_live_block_survives_its_neighbours(void **state)
{
	char *keep = sm_json_arena_malloc(32);

	(void)state;
	strcpy(keep, "still here");
	for (int round = 0; round < 50; round++) {
		void *p[2000];
		for (int i = 0; i < 2000; i++)
			assert_non_null(p[i] = sm_json_arena_malloc(64));
		for (int i = 1999; i >= 0; i--)
			sm_json_arena_free(p[i]);
	}
	assert_string_equal(keep, "still here");
	sm_json_arena_free(keep);
}

static void big_blocks_and_null(void **state)
{
	unsigned char *big = sm_json_arena_malloc(1 << 20);

	(void)state;
	assert_non_null(big);
	memset(big, 0xab, 1 << 20);
	assert_int_equal(big[(1 << 20) - 1], 0xab);
	sm_json_arena_free(big);
	sm_json_arena_free(NULL);
}

/* jansson on the arena parses, builds and prints what it does on malloc. */
static void jansson_trees_on_the_arena(void **state)
{
	const char *text =
	    "{\"a\":[1,2.5,\"x\",{\"b\":null,\"c\":true}],\"d\":\"\\u00e9t\\u00e9\"}";
	char *plain, *on_arena;
	json_t *v;

	(void)state;
	v = json_loads(text, 0, NULL);
	assert_non_null(v);
	plain = sm_json_dump(v, NULL);
	json_decref(v);

	json_set_alloc_funcs(sm_json_arena_malloc, sm_json_arena_free);
	for (int i = 0; i < 2000; i++) {
		json_t *t = sm_json_parse(text, strlen(text), 0, NULL), *copy;
		assert_non_null(t);
		copy = json_deep_copy(t);
		json_object_set_new(copy, "n", json_integer(i));
		json_object_del(copy, "n");
		assert_true(json_equal(t, copy));
		json_decref(copy);
		if (i == 1999) {
			on_arena = sm_json_dump(t, NULL);
			assert_string_equal(on_arena, plain);
			free(on_arena); /* sm_json_dump uses malloc, not jansson's */
		}
		json_decref(t);
	}
	json_set_alloc_funcs(malloc, free);
	free(plain);
}

/* sm_json_dumps prints as json_dumps does, into memory that free takes
 * whichever allocator jansson has (json_dumps's own text is the arena's
 * once it is installed: free would crash on it). */
static void dumps_text_is_mallocs_on_the_arena(void **state)
{
	json_t *v = json_pack("{s:[i,s],s:{s:b}}", "b", 1, "x", "a", "c", 0);
	char *want, *got;

	(void)state;
	want = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(v);
	json_set_alloc_funcs(sm_json_arena_malloc, sm_json_arena_free);
	v = json_pack("{s:[i,s],s:{s:b}}", "b", 1, "x", "a", "c", 0);
	got = sm_json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(v);
	json_set_alloc_funcs(malloc, free);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	free(want);
	assert_null(sm_json_dumps(NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(blocks_are_aligned_distinct_and_usable),
	    cmocka_unit_test(emptied_chunks_are_reused),
	    cmocka_unit_test(blocks_freed_on_another_thread),
	    cmocka_unit_test(a_live_block_survives_its_neighbours),
	    cmocka_unit_test(big_blocks_and_null),
	    cmocka_unit_test(jansson_trees_on_the_arena),
	    cmocka_unit_test(dumps_text_is_mallocs_on_the_arena),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
