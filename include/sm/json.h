/* json.h - sm's JSON text: a parser into jansson trees and a compact
 * printer of them, each several times faster than jansson's own and checked
 * against it (tests/unit/test_json.c, fuzz_envelope, fuzz_payload); JSON
 * written by hand (sm_text); and the helpers every module uses around
 * jansson (strings from bytes that may not be UTF-8, rounding as people
 * read figures). Thread-safe: no state outside the caller's values. */
#ifndef SM_JSON_H
#define SM_JSON_H

#include <jansson.h>

/* Flags for every JSON we print: compact, insertion order, 15 significant
 * digits so 45.2 prints as 45.2 and not 45.200000000000003. */
#define SM_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* A JSON string from bytes that may not be UTF-8: invalid sequences become
 * U+FFFD, so host data (process names, file names) never makes NULL. */
json_t *sm_json_string(const char *s);
/* Round half to even to digits decimals (0-9), as Python's round() does,
 * so figures print as people expect (45.25 → 45.2). */
double sm_round(double v, int digits);
/* The compact text of v (any JSON value), exactly as
 * json_dumps(v, SM_JSON_FLAGS | JSON_ENCODE_ANY) prints it, in a fraction of
 * the time: jansson hands every token to a callback and checks every
 * string's UTF-8 again, which made printing the biggest cost of a batch
 * ingest. Malloc'd and NUL-terminated, its length in *len (len may be
 * NULL); NULL when out of memory or nested more than SM_JSON_MAX_DEPTH. */
#define SM_JSON_MAX_DEPTH 2048
char *sm_json_dump(const json_t *v, size_t *len);
/* json_dumps(v, flags), for the flags sm_json_dump has not (indented,
 * sorted), in memory from malloc whatever jansson's allocator is: free it
 * with free. (A tool may give jansson its own allocator, json_arena.h: the
 * text of json_dumps is then not malloc's.) NULL when jansson's is. */
char *sm_json_dumps(const json_t *v, size_t flags);
/* A growing text: zero-initialise, free(t.p) when done. Once an append
 * runs out of memory, failed is set and further appends do nothing; p stays
 * NUL-terminated. */
typedef struct {
	char *p;
	size_t len, cap;
	int failed;
} sm_text;
/* Append the text of v, as sm_json_dump prints it, and then the byte end
 * unless it is '\0' (a newline makes NDJSON). 0, or -1 with t as it was
 * when out of memory or nested too deep. */
int sm_json_dump_append(sm_text *t, const json_t *v, char end);
/* Append JSON by hand: bytes as they are, a string (NULL prints null;
 * invalid UTF-8 becomes U+FFFD), an integer, a real as jansson prints it. */
void sm_text_raw(sm_text *t, const char *s, size_t n);
void sm_text_str(sm_text *t, const char *s);
void sm_text_int(sm_text *t, long long v);
void sm_text_real(sm_text *t, double v);
/* Parse len bytes of JSON text as json_loadb(text, len, flags, error) does,
 * with the same values accepted and refused (flags: JSON_REJECT_DUPLICATES
 * and JSON_DECODE_ANY; others are ignored), several times faster: jansson
 * reads through a per-character stream, which made parsing a quarter of a
 * batch ingest. On failure NULL, with error's text, line, column and
 * position set (the texts are ours, not jansson's). error may be NULL. */
json_t *sm_json_parse(const char *text, size_t len, size_t flags, json_error_t *error);
/* Whether s (len bytes) is valid UTF-8. */
int sm_json_utf8_valid(const char *s, size_t len);

#endif
