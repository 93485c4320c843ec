/* matcher.c - Alertmanager's label matchers: parsing (name, operator,
 * bare or quoted value), the anchored regexes, and matching an alert. */
#include <stdlib.h>
#include <string.h>

#include "sm/matcher.h"

/* Longest first: "=~" before "=". */
static const struct {
	const char *text;
	sm_match_op op;
} ops[] = {
    {"!=", SM_MATCH_NOT_EQUAL},
    {"!~", SM_MATCH_NOT_REGEX},
    {"=~", SM_MATCH_REGEX},
    {"=", SM_MATCH_EQUAL},
};

static const char *op_text(sm_match_op op)
{
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (ops[i].op == op)
			return ops[i].text;
	return "=";
}

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

static bool space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* The value after the operator, its len bytes, unescaped as amtool does:
 * an opening '"' needs its closing one at the end; \n, \" and \\ are
 * escapes, a backslash before anything else stays (so a regex keeps
 * "\."); a '"' elsewhere is refused. NULL with err. */
static char *parse_value(const char *s, size_t len, sm_error *err)
{
	bool quoted = len > 0 && *s == '"';
	char *out = malloc(len + 1);
	size_t n = 0;

	if (!out) {
		sm_error_set(err, "out of memory");
		return NULL;
	}
	for (size_t i = quoted; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len) {
			i++;
			if (s[i] == 'n') {
				out[n++] = '\n';
			} else {
				if (s[i] != '"' && s[i] != '\\')
					out[n++] = '\\';
				out[n++] = s[i];
			}
		} else if (s[i] == '"') {
			if (!quoted || i + 1 < len) {
				sm_error_set_kind(err, SM_ERROR_USAGE,
				                  "a '\"' in the value: write it \\\"");
				free(out);
				return NULL;
			}
			quoted = false; /* the closing quote */
		} else {
			out[n++] = s[i];
		}
	}
	if (quoted) {
		sm_error_set_kind(err, SM_ERROR_USAGE, "no closing quote");
		free(out);
		return NULL;
	}
	out[n] = '\0';
	return out;
}

/* glibc builds a regex's parse tree with a copy of the operand for each
 * '+' and counted repetition, so "a++++..." or "((a{99}){99}){99}" takes
 * gigabytes in regcomp, and its epsilon closures grow with the square of
 * the nodes (a fuzzed regex within 5000 nodes ran for minutes). A counted
 * repetition of what may match nothing ("(a?){,300}", "((){,4}){,99}")
 * costs it the square of the count: each copy may be skipped, and the
 * closures of the anchored form span them all (1.7 s and 156 MB for the
 * first, 3.7 s and 1.1 GB for the second, found by fuzz_matcher). A stored
 * regex is compiled for every envelope, so one that would cost more than
 * this many tree nodes (an estimate made before regcomp sees it) is
 * refused, and so are back-references, which Alertmanager's regexes do not
 * have and which make matching exponential. */
#define REGEX_COST_MAX  1000
#define REGEX_DEPTH_MAX 64

static long cost_alternation(const char **p, int depth, bool *empty);

/* Each cost_ function also says in *empty whether what it read may match
 * the empty string. */
static long cost_atom(const char **p, int depth, bool *empty)
{
	const char *s = *p;

	*empty = false;
	if (*s == '(') {
		long c;
		*p = s + 1;
		if (depth >= REGEX_DEPTH_MAX)
			return REGEX_COST_MAX + 1;
		c = cost_alternation(p, depth + 1, empty);
		if (**p == ')')
			(*p)++;
		return c + 1;
	}
	if (*s == '[') { /* a bracket expression is one node */
		s++;
		s += *s == '^';
		s += *s == ']';
		while (*s && *s != ']') {
			if (*s == '[' && (s[1] == ':' || s[1] == '.' || s[1] == '=')) {
				char close = s[1];
				for (s += 2; *s && !(*s == close && s[1] == ']'); s++)
					;
				s += *s ? 2 : 0;
			} else {
				s++;
			}
		}
		*p = s + (*s != '\0');
		return 1;
	}
	if (*s == '\\' && s[1] >= '1' && s[1] <= '9')
		return REGEX_COST_MAX + 1; /* a back-reference */
	/* The anchors, and glibc's word and buffer boundaries, match the empty
	 * string: "(\\b){,99}" cost regcomp 1.8 GB. */
	*empty = *s == '^' || *s == '$' || (*s == '\\' && s[1] && strchr("bB<>`'", s[1]));
	*p = s + (*s == '\\' && s[1] ? 2 : 1);
	return 1;
}

/* "{n}", "{n,}", "{n,m}" or glibc's "{,m}" (0 to m) at *p: the most
 * copies it makes (*least: n), or -1 when it is not a count (then regcomp
 * refuses it, or takes '{' as an ordinary character). */
static long repeat_count(const char **p, long *least)
{
	const char *s = *p + 1;
	long n = 0, m = -1;

	if ((*s < '0' || *s > '9') && *s != ',')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++)
		n = n < 100000 ? n * 10 + (*s - '0') : n;
	if (*s == ',') {
		m = n + 1; /* "{n,}": n copies and a star */
		if (s[1] >= '0' && s[1] <= '9')
			for (m = 0, s++; *s >= '0' && *s <= '9'; s++)
				m = m < 100000 ? m * 10 + (*s - '0') : m;
		else
			s++;
	}
	if (*s != '}')
		return -1;
	*p = s + 1;
	*least = n;
	return m > n ? m : n;
}

static long cost_piece(const char **p, int depth, bool *empty)
{
	long c = cost_atom(p, depth, empty), k, least = 0;
	int repeats = 0;

	while (c <= REGEX_COST_MAX) {
		if (**p == '*' || **p == '?') {
			c++;
			(*p)++;
			*empty = true;
		} else if (**p == '+') {
			c = 2 * c + 1;
			(*p)++;
		} else if (**p == '{' && (k = repeat_count(p, &least)) >= 0) {
			if (k > REGEX_COST_MAX)
				c = REGEX_COST_MAX + 1;
			else /* at most 1001 * 1001 * 1001: within a long */
				c = c * (k + 1) * (*empty ? k + 1 : 1) + 1;
			*empty = *empty || least == 0;
		} else {
			break;
		}
		/* One repetition per atom, as Alertmanager's regexes (RE2) allow:
		 * stacked ones ("a***") make chains of empty nodes whose closures
		 * glibc's regcomp computes in quadratic time and memory. */
		if (++repeats > 1)
			return REGEX_COST_MAX + 1;
	}
	return c;
}

static long cost_alternation(const char **p, int depth, bool *empty)
{
	long c = 0;
	bool branch_empty = true; /* the branch read so far: all its pieces may */

	*empty = false;
	while (**p && **p != ')' && c <= REGEX_COST_MAX) {
		if (**p == '|') {
			(*p)++;
			c++;
			*empty = *empty || branch_empty;
			branch_empty = true;
		} else {
			bool piece_empty;
			c += cost_piece(p, depth, &piece_empty);
			branch_empty = branch_empty && piece_empty;
		}
	}
	*empty = *empty || branch_empty;
	return c;
}

/* Why re is refused before regcomp sees it, or NULL. An unmatched ')'
 * is an ordinary character to glibc but would close the anchors' group
 * once wrapped ("^()|x)$" matches everything), and Alertmanager's regexes
 * (RE2) refuse it. */
static const char *regex_refusal(const char *re)
{
	bool empty;
	long c = cost_alternation(&re, 0, &empty);

	if (c > REGEX_COST_MAX)
		return "invalid regex: too complex, or a back-reference";
	if (*re == ')')
		return "invalid regex: unmatched ')'";
	return NULL;
}

/* Compile the anchored form of m->value. The expression must compile on
 * its own first: "a|(b" would otherwise be completed by the anchors. */
static int compile(sm_matcher *m, sm_error *err)
{
	regex_t alone;
	size_t len = strlen(m->value);
	char *anchored = malloc(len + 5);
	const char *why;
	int rc;

	if (!anchored) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	if ((why = regex_refusal(m->value))) {
		free(anchored);
		sm_error_set_kind(err, SM_ERROR_USAGE, "%s", why);
		return -1;
	}
	rc = regcomp(&alone, m->value, REG_EXTENDED | REG_NOSUB);
	if (rc == 0) {
		regfree(&alone);
		snprintf(anchored, len + 5, "^(%s)$", m->value);
		rc = regcomp(&m->re, anchored, REG_EXTENDED | REG_NOSUB);
	}
	free(anchored);
	if (rc != 0) {
		char msg[128];
		regerror(rc, NULL, msg, sizeof msg);
		sm_error_set_kind(err, SM_ERROR_USAGE, "invalid regex: %s", msg);
		return -1;
	}
	m->compiled = true;
	return 0;
}

int sm_matcher_parse(const char *text, sm_matcher *m, sm_error *err)
{
	const char *p, *name, *value, *end;
	size_t i;

	memset(m, 0, sizeof *m);
	/* Spaces around the name, the operator and the value do not count. */
	for (name = text; space(*name); name++)
		;
	for (p = name; name_char(*p, p == name); p++)
		;
	if (p == name) {
		sm_error_set_kind(
		    err, SM_ERROR_USAGE,
		    "a matcher is NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX, "
		    "NAME a label name");
		return -1;
	}
	for (end = p; space(*p); p++)
		;
	for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (strncmp(p, ops[i].text, strlen(ops[i].text)) == 0)
			break;
	if (i == sizeof ops / sizeof ops[0]) {
		sm_error_set_kind(err, SM_ERROR_USAGE, "no operator (=, !=, =~ or !~) after '%.*s'",
		                  (int)(end - name), name);
		return -1;
	}
	m->op = ops[i].op;
	m->name = strndup(name, (size_t)(end - name));
	if (!m->name) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	for (value = p + strlen(ops[i].text); space(*value); value++)
		;
	for (end = value + strlen(value); end > value && space(end[-1]); end--)
		;
	m->value = parse_value(value, (size_t)(end - value), err);
	if (!m->value)
		goto fail;
	if ((m->op == SM_MATCH_REGEX || m->op == SM_MATCH_NOT_REGEX) && compile(m, err) < 0)
		goto fail;
	return 0;
fail:
	sm_matcher_clear(m);
	return -1;
}

void sm_matcher_clear(sm_matcher *m)
{
	if (m->compiled)
		regfree(&m->re);
	free(m->name);
	free(m->value);
	memset(m, 0, sizeof *m);
}

char *sm_matcher_text(const sm_matcher *m)
{
	const char *op = op_text(m->op);
	size_t len = strlen(m->name) + strlen(op) + 2 * strlen(m->value) + 3, n;
	char *out = malloc(len);

	if (!out)
		return NULL;
	n = (size_t)snprintf(out, len, "%s%s\"", m->name, op);
	for (const char *s = m->value; *s; s++) {
		if (*s == '"' || *s == '\\')
			out[n++] = '\\';
		if (*s == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else {
			out[n++] = *s;
		}
	}
	out[n++] = '"';
	out[n] = '\0';
	return out;
}

int sm_matchers_parse(sm_matchers *list, const char *const *texts, size_t n, sm_error *err)
{
	for (size_t i = 0; i < n; i++) {
		sm_matcher *items = realloc(list->items, (list->count + 1) * sizeof *items);
		if (!items) {
			sm_error_set(err, "out of memory");
			return -1;
		}
		list->items = items;
		if (sm_matcher_parse(texts[i], &items[list->count], err) < 0) {
			sm_error_prefix(err, "matcher '%s'", texts[i]);
			return -1;
		}
		list->count++;
	}
	return 0;
}

int sm_matchers_from_json(sm_matchers *list, json_t *array, sm_error *err)
{
	json_t *v;
	size_t i;

	if (!json_is_array(array)) {
		sm_error_set_kind(err, SM_ERROR_DATA, "matchers must be a list of strings");
		return -1;
	}
	json_array_foreach(array, i, v)
	{
		const char *text = json_string_value(v);
		if (!text) {
			sm_error_set_kind(err, SM_ERROR_DATA, "matchers must be a list of strings");
			return -1;
		}
		if (sm_matchers_parse(list, &text, 1, err) < 0)
			return -1;
	}
	return 0;
}

json_t *sm_matchers_to_json(const sm_matchers *list)
{
	json_t *out = json_array();

	for (size_t i = 0; out && i < list->count; i++) {
		char *text = sm_matcher_text(&list->items[i]);
		if (!text || json_array_append_new(out, json_string(text)) < 0) {
			free(text);
			json_decref(out);
			return NULL;
		}
		free(text);
	}
	return out;
}

void sm_matchers_clear(sm_matchers *list)
{
	for (size_t i = 0; i < list->count; i++)
		sm_matcher_clear(&list->items[i]);
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

/* Names an alert offers beyond its labels: the member or labels that
 * stand in when it has no label of that name. */
static const struct {
	const char *name, *member, *label1, *label2;
} fallbacks[] = {
    {"alertname", "name", NULL, NULL},
    {"severity", "severity", NULL, NULL},
    {"instance", NULL, "hostname", "instance_id"},
};

const char *sm_matcher_value(json_t *alert, const char *name)
{
	json_t *labels = json_object_get(alert, "labels");
	const char *v = json_string_value(json_object_get(labels, name));

	if (v)
		return v;
	for (size_t i = 0; i < sizeof fallbacks / sizeof fallbacks[0]; i++) {
		if (strcmp(name, fallbacks[i].name) != 0)
			continue;
		if (fallbacks[i].member)
			v = json_string_value(json_object_get(alert, fallbacks[i].member));
		if (!v && fallbacks[i].label1)
			v = json_string_value(json_object_get(labels, fallbacks[i].label1));
		if (!v && fallbacks[i].label2)
			v = json_string_value(json_object_get(labels, fallbacks[i].label2));
		break;
	}
	return v ? v : "";
}

bool sm_matcher_matches(const sm_matcher *m, json_t *alert)
{
	const char *v = sm_matcher_value(alert, m->name);

	switch (m->op) {
	case SM_MATCH_EQUAL:
		return strcmp(v, m->value) == 0;
	case SM_MATCH_NOT_EQUAL:
		return strcmp(v, m->value) != 0;
	case SM_MATCH_REGEX:
		return m->compiled && regexec(&m->re, v, 0, NULL, 0) == 0;
	case SM_MATCH_NOT_REGEX:
		return m->compiled && regexec(&m->re, v, 0, NULL, 0) != 0;
	}
	return false;
}

bool sm_matchers_match(const sm_matchers *list, json_t *alert)
{
	for (size_t i = 0; i < list->count; i++)
		if (!sm_matcher_matches(&list->items[i], alert))
			return false;
	return true;
}
