/* json.h - small jansson helpers used across libsm. */
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
/* Whether s (len bytes) is valid UTF-8. */
int sm_json_utf8_valid(const char *s, size_t len);

#endif
