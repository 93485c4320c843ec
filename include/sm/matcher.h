/* matcher.h - label matchers with Prometheus Alertmanager's semantics, the
 * selectors of silences, inhibit rules and maintenance windows
 * (sm-notify(1), MATCHERS).
 *
 * A matcher is NAME OP VALUE with OP one of = != =~ !~. VALUE may be
 * written bare (the rest of the word) or in double quotes; in both, \" \\
 * and \n are escapes and any other backslash stays, as amtool reads it.
 * A regex is a POSIX extended regular expression anchored at both ends:
 * "web" matches only "web". A name the alert does not offer counts as the
 * empty string, so team= matches an alert without a team label and
 * team!=web matches it too.
 *
 * The names an alert (an envelope's alert object, or a stored alert in
 * the same shape) offers are its labels, then alertname (its name),
 * severity and instance (its hostname or instance_id label) when it has
 * no label of that name.
 */
#ifndef SM_MATCHER_H
#define SM_MATCHER_H

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "sm/err.h"

typedef enum sm_match_op {
	SM_MATCH_EQUAL,     /* = */
	SM_MATCH_NOT_EQUAL, /* != */
	SM_MATCH_REGEX,     /* =~ */
	SM_MATCH_NOT_REGEX, /* !~ */
} sm_match_op;

typedef struct sm_matcher {
	char *name, *value;
	sm_match_op op;
	bool compiled; /* re holds the anchored regex (=~ and !~) */
	regex_t re;
} sm_matcher;

/* A list of matchers, all of which must hold. */
typedef struct sm_matchers {
	sm_matcher *items;
	size_t count;
} sm_matchers;

/* Parse one matcher. 0, or -1 with err (kind usage) naming the problem:
 * no operator, a bad label name, a bad quoted value, an invalid regex.
 * On failure m holds nothing to free. */
int sm_matcher_parse(const char *text, sm_matcher *m, sm_error *err);
void sm_matcher_clear(sm_matcher *m);
/* The matcher in canonical form, name OP "value" with the value quoted
 * and escaped; malloc'd, NULL when out of memory. */
char *sm_matcher_text(const sm_matcher *m);

/* Parse each of texts[0..n) into list (appended). 0, or -1 with err
 * prefixed by the matcher text; list keeps what parsed. */
int sm_matchers_parse(sm_matchers *list, const char *const *texts, size_t n, sm_error *err);
/* The same from a JSON array of matcher strings. */
int sm_matchers_from_json(sm_matchers *list, json_t *array, sm_error *err);
/* The canonical texts as a JSON array (NULL when out of memory). */
json_t *sm_matchers_to_json(const sm_matchers *list);
void sm_matchers_clear(sm_matchers *list);

/* The value alert offers for name (see above); "" when none. */
const char *sm_matcher_value(json_t *alert, const char *name);
/* Whether one matcher, or every matcher of list, holds for alert. An
 * empty list holds for every alert. */
bool sm_matcher_matches(const sm_matcher *m, json_t *alert);
bool sm_matchers_match(const sm_matchers *list, json_t *alert);

#endif
