/* template.h - logic-less templates over the envelope (sm-notify's messages).
 *
 * A template is compiled once and rendered many times against a jansson
 * value. Syntax (a subset of mustache):
 *
 *   {{a.b.c}}          the value at a dotted path; array indexes are parts
 *                      too (alerts.0.name). The first part is looked up in
 *                      the current context, then outward through the
 *                      enclosing ones; the rest from what it found.
 *   {{.}}              the current context (an element of an array).
 *   {{#x}}...{{/x}}    an array: once per element, the element as context;
 *                      a truthy object: once with it as context; another
 *                      truthy value (true, "s", non-zero number): once in the
 *                      same context. Falsy (missing, null, false, "", 0, [],
 *                      {}): skipped.
 *   {{^x}}...{{/x}}    rendered only when x is falsy or missing.
 *   {{! comment }}     nothing.
 *   {{{x}}}, {{&x}}    raw output: TEXT templates only.
 *
 * A section, inverted section or comment tag alone on its line takes the
 * line with it, so text templates can put them on lines of their own.
 * No partials, lambdas or delimiter changes: a template can read the value
 * it is given and nothing else.
 *
 * Values print as strings as they are, numbers as JSON prints them, true and
 * false, null or missing as nothing, objects and arrays as compact JSON; then
 * escaped for the output mode. Output is always valid UTF-8 (invalid bytes in
 * values become U+FFFD).
 */
#ifndef SM_TEMPLATE_H
#define SM_TEMPLATE_H

#include <stddef.h>
#include <jansson.h>
#include "sm/err.h"

#define SM_TEMPLATE_MAX_DEPTH  32           /* sections nested in sections */
#define SM_TEMPLATE_MAX_OUTPUT (1u << 20)   /* bytes one render may produce */
#define SM_TEMPLATE_MAX_FILE   (256u << 10) /* bytes of a template file */
#define SM_TEMPLATE_MAX_STEPS  10000000u    /* tags and texts one render may visit */

enum sm_template_mode {
	SM_TEMPLATE_TEXT, /* as is, control characters but \n and \t dropped */
	SM_TEMPLATE_HTML, /* & < > " ' as entities, control characters dropped */
	SM_TEMPLATE_JSON, /* the contents of a JSON string: " \ and controls escaped */
};

typedef struct sm_template sm_template;

/* Compile len bytes of text (valid UTF-8). NULL with err set to
 * "line L, column C: what" on a syntax error. */
sm_template *sm_template_parse(const char *text, size_t len, enum sm_template_mode mode,
                               sm_error *err);
/* Compile the file at path (at most SM_TEMPLATE_MAX_FILE bytes); errors are
 * prefixed with the path. */
sm_template *sm_template_load(const char *path, enum sm_template_mode mode, sm_error *err);
void sm_template_free(sm_template *t);

/* Render t with context (may be NULL: everything is missing). Returns the
 * malloc'd, NUL-terminated output with its length in *len (len may be NULL),
 * or NULL with err set when the output would pass SM_TEMPLATE_MAX_OUTPUT,
 * rendering takes more than SM_TEMPLATE_MAX_STEPS, or memory runs out. */
char *sm_template_render(const sm_template *t, json_t *context, size_t *len, sm_error *err);

/* The mode t was compiled for. */
enum sm_template_mode sm_template_mode_of(const sm_template *t);

#endif
