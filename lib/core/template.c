/* template.c - logic-less templates: a parser to a flat node list and a
 * renderer over a jansson value, escaping per output mode. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm/json.h"
#include "sm/template.h"

enum node_kind {
	NODE_TEXT,     /* literal template text */
	NODE_VALUE,    /* {{name}}, {{{name}}} */
	NODE_SECTION,  /* {{#name}} */
	NODE_INVERTED, /* {{^name}} */
};

/* Sections are not nested structures but a range of the flat list: the body
 * of the section at index i is nodes i+1 .. end-1. */
struct node {
	enum node_kind kind;
	bool raw;        /* values: no escaping (TEXT templates only) */
	size_t off, len; /* the text, or the name, in sm_template.text */
	size_t end;      /* sections: the first node after the closing tag */
	size_t tag;      /* sections: offset of the opening tag, for errors */
};

struct sm_template {
	enum sm_template_mode mode;
	char *text;
	struct node *nodes;
	size_t count, cap;
};

/* What each output mode does to the ASCII characters: its replacements
 * (NULL: as is) and whether other control characters are dropped (TEXT,
 * HTML) or written as \u00XX (JSON). */
struct mode_row {
	const char *name;
	const char *const *escapes;
	bool drop_controls;
};

static const char *const text_escapes[128] = {NULL};
static const char *const html_escapes[128] = {
    ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;", ['\''] = "&#39;",
};
static const char *const json_escapes[128] = {
    ['"'] = "\\\"",
    ['\\'] = "\\\\",
    ['\n'] = "\\n",
    ['\t'] = "\\t",
};

static const struct mode_row modes[] = {
    [SM_TEMPLATE_TEXT] = {"text", text_escapes, true},
    [SM_TEMPLATE_HTML] = {"html", html_escapes, true},
    [SM_TEMPLATE_JSON] = {"json", json_escapes, false},
};

/* Length of the valid UTF-8 sequence starting at p (1-4), 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	if (p[0] < 0x80)
		return p[0] ? 1 : 0;
	for (size_t n = 2; n <= 4 && n <= left; n++)
		if (sm_json_utf8_valid((const char *)p, n))
			return n;
	return 0;
}

/* ---- parsing ---- */

struct parser {
	sm_template *t;
	const char *s;
	size_t len;
	sm_error *err;
	size_t open[SM_TEMPLATE_MAX_DEPTH]; /* node indexes of the open sections */
	size_t depth;
};

/* 1-based line and column (in characters) of byte off. */
static void position(const char *s, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (s[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)s[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

static void parse_error(struct parser *p, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void parse_error(struct parser *p, size_t off, const char *fmt, ...)
{
	char what[400];
	size_t line, col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	position(p->s, off, &line, &col);
	sm_error_set(p->err, "line %zu, column %zu: %s", line, col, what);
}

/* How many bytes of a name to show in a message: at most 64, whole
 * characters only. */
static int shown(const char *name, size_t len)
{
	if (len <= 64)
		return (int)len;
	len = 64;
	while (len > 0 && ((unsigned char)name[len] & 0xc0) == 0x80)
		len--;
	return (int)len;
}

/* "." or dot-separated non-empty parts of visible characters. A leading
 * sigil is refused so that "{{ #alerts }}" is an error, not a silent
 * lookup of the key "#alerts". */
static bool valid_name(const char *name, size_t len)
{
	size_t part = 0;

	if (len == 1 && name[0] == '.')
		return true;
	if (len > 0 && strchr("#^/!&>={", name[0]))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= ' ' || c == 0x7f || c == '{' || c == '}')
			return false;
		if (c != '.') {
			part++;
		} else if (part == 0) {
			return false;
		} else {
			part = 0;
		}
	}
	return part > 0;
}

static int add_node(struct parser *p, enum node_kind kind, size_t off, size_t len)
{
	sm_template *t = p->t;
	struct node *n;

	if (t->count == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		struct node *nodes = realloc(t->nodes, cap * sizeof *nodes);
		if (!nodes) {
			sm_error_set(p->err, "out of memory");
			return -1;
		}
		t->nodes = nodes;
		t->cap = cap;
	}
	n = &t->nodes[t->count++];
	memset(n, 0, sizeof *n);
	n->kind = kind;
	n->off = off;
	n->len = len;
	return 0;
}

/* Whether the tag from tag to after stands alone on its line (only blanks
 * around it); if so *from is where its line starts and *to where the next
 * line does. Mustache drops such lines so that a section can sit on a line of
 * its own without leaving a blank line in the output. */
static bool standalone(const char *s, size_t len, size_t tag, size_t after, size_t *from,
                       size_t *to)
{
	size_t b = tag, a = after;

	while (b > 0 && (s[b - 1] == ' ' || s[b - 1] == '\t'))
		b--;
	if (b > 0 && s[b - 1] != '\n')
		return false;
	while (a < len && (s[a] == ' ' || s[a] == '\t'))
		a++;
	if (a + 1 < len && s[a] == '\r' && s[a + 1] == '\n')
		a += 2;
	else if (a < len && s[a] == '\n')
		a++;
	else if (a != len)
		return false;
	*from = b;
	*to = a;
	return true;
}

/* A section's opening tag. */
static int open_section(struct parser *p, enum node_kind kind, size_t tag, size_t name,
                        size_t name_len)
{
	if (p->depth == SM_TEMPLATE_MAX_DEPTH) {
		parse_error(p, tag, "sections nested deeper than %d", SM_TEMPLATE_MAX_DEPTH);
		return -1;
	}
	if (add_node(p, kind, name, name_len) < 0)
		return -1;
	p->t->nodes[p->t->count - 1].tag = tag;
	p->open[p->depth++] = p->t->count - 1;
	return 0;
}

/* A closing tag: it must close the innermost open section. */
static int close_section(struct parser *p, size_t tag, size_t name, size_t name_len)
{
	const char *s = p->s;
	struct node *open;

	if (p->depth == 0) {
		parse_error(p, tag, "unexpected {{/%.*s}}", shown(s + name, name_len), s + name);
		return -1;
	}
	open = &p->t->nodes[p->open[p->depth - 1]];
	if (open->len != name_len || memcmp(s + open->off, s + name, name_len) != 0) {
		parse_error(p, tag, "mismatched {{/%.*s}} for {{%c%.*s}}",
		            shown(s + name, name_len), s + name,
		            open->kind == NODE_SECTION ? '#' : '^', shown(s + open->off, open->len),
		            s + open->off);
		return -1;
	}
	open->end = p->t->count;
	p->depth--;
	return 0;
}

/* One tag: tag is the offset of its "{{", body..body_end its contents
 * without braces. */
static int parse_tag(struct parser *p, size_t tag, size_t body, size_t body_end, bool triple)
{
	const char *s = p->s;
	char sigil = triple ? '{' : s[body];
	size_t name, end = body_end;
	enum sm_template_mode mode = p->t->mode;

	if (sigil == '!')
		return 0;
	name = !triple && strchr("#^/&>=", sigil) ? body + 1 : body;
	while (name < end && strchr(" \t\r\n", s[name]))
		name++;
	while (end > name && strchr(" \t\r\n", s[end - 1]))
		end--;
	if (sigil == '>') {
		parse_error(p, tag, "partials are not supported");
		return -1;
	}
	if (sigil == '=') {
		parse_error(p, tag, "delimiter changes are not supported");
		return -1;
	}
	if (name == end) {
		parse_error(p, tag, "empty tag");
		return -1;
	}
	if (!valid_name(s + name, end - name)) {
		parse_error(p, tag, "invalid name '%.*s'", shown(s + name, end - name), s + name);
		return -1;
	}
	switch (sigil) {
	case '#':
		return open_section(p, NODE_SECTION, tag, name, end - name);
	case '^':
		return open_section(p, NODE_INVERTED, tag, name, end - name);
	case '/':
		return close_section(p, tag, name, end - name);
	case '{':
	case '&':
		/* Templates are files operators edit, and raw output is how
		 * markup or JSON from an alert label gets into an HTML mail or a
		 * webhook body: in those modes every value is escaped, with no
		 * way around it. */
		if (mode != SM_TEMPLATE_TEXT) {
			parse_error(p, tag, "raw output %s%.*s%s is not allowed in %s templates",
			            triple ? "{{{" : "{{&", shown(s + name, end - name), s + name,
			            triple ? "}}}" : "}}", modes[mode].name);
			return -1;
		}
		if (add_node(p, NODE_VALUE, name, end - name) < 0)
			return -1;
		p->t->nodes[p->t->count - 1].raw = true;
		return 0;
	default:
		return add_node(p, NODE_VALUE, name, end - name);
	}
}

/* Check the whole text is UTF-8 without NUL bytes, naming the first bad one. */
static int check_utf8(struct parser *p)
{
	const unsigned char *u = (const unsigned char *)p->s;
	size_t i = 0;

	if (sm_json_utf8_valid(p->s, p->len))
		return 0;
	while (i < p->len) {
		size_t n = utf8_seq(u + i, p->len - i);
		if (n == 0)
			break;
		i += n;
	}
	parse_error(p, i, u[i] ? "invalid UTF-8" : "NUL byte");
	return -1;
}

static int parse(struct parser *p)
{
	const char *s = p->s;
	size_t len = p->len, i = 0, text = 0;

	if (check_utf8(p) < 0)
		return -1;
	while (i < len) {
		const char *open = memmem(s + i, len - i, "{{", 2);
		size_t tag, body, body_end, after, from, to;
		bool triple;
		const char *close;

		if (!open)
			break;
		tag = (size_t)(open - s);
		triple = tag + 2 < len && s[tag + 2] == '{';
		body = tag + (triple ? 3 : 2);
		close = memmem(s + body, len - body, triple ? "}}}" : "}}", triple ? 3 : 2);
		if (!close) {
			parse_error(p, tag, "unterminated tag");
			return -1;
		}
		body_end = (size_t)(close - s);
		after = body_end + (triple ? 3 : 2);
		from = tag;
		to = after;
		if (!triple && body < body_end && strchr("#^/!", s[body]))
			standalone(s, len, tag, after, &from, &to);
		if (from > text && add_node(p, NODE_TEXT, text, from - text) < 0)
			return -1;
		if (parse_tag(p, tag, body, body_end, triple) < 0)
			return -1;
		i = text = to;
	}
	if (len > text && add_node(p, NODE_TEXT, text, len - text) < 0)
		return -1;
	if (p->depth > 0) {
		const struct node *n = &p->t->nodes[p->open[p->depth - 1]];
		parse_error(p, n->tag, "unclosed section '%.*s'", shown(s + n->off, n->len),
		            s + n->off);
		return -1;
	}
	return 0;
}

sm_template *sm_template_parse(const char *text, size_t len, enum sm_template_mode mode,
                               sm_error *err)
{
	struct parser p = {.len = len, .err = err};
	sm_template *t;

	if ((unsigned)mode >= sizeof modes / sizeof modes[0]) {
		sm_error_set(err, "unknown template mode %d", (int)mode);
		return NULL;
	}
	t = calloc(1, sizeof *t);
	if (!t || !(t->text = malloc(len + 1))) {
		free(t);
		sm_error_set(err, "out of memory");
		return NULL;
	}
	if (len > 0)
		memcpy(t->text, text, len);
	t->text[len] = '\0';
	t->mode = mode;
	p.t = t;
	p.s = t->text;
	if (parse(&p) < 0) {
		sm_template_free(t);
		return NULL;
	}
	return t;
}

sm_template *sm_template_load(const char *path, enum sm_template_mode mode, sm_error *err)
{
	FILE *f = fopen(path, "rbe");
	sm_template *t = NULL;
	char *buf;
	size_t n;

	if (!f) {
		sm_error_set(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(SM_TEMPLATE_MAX_FILE + 1);
	if (!buf) {
		sm_error_set(err, "%s: out of memory", path);
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, SM_TEMPLATE_MAX_FILE + 1, f);
	if (ferror(f)) {
		sm_error_set(err, "%s: %s", path, strerror(errno));
	} else if (n > SM_TEMPLATE_MAX_FILE) {
		sm_error_set(err, "%s: template larger than %u KiB", path,
		             SM_TEMPLATE_MAX_FILE >> 10);
	} else {
		t = sm_template_parse(buf, n, mode, err);
		if (!t)
			sm_error_prefix(err, "%s", path);
	}
	free(buf);
	fclose(f);
	return t;
}

void sm_template_free(sm_template *t)
{
	if (!t)
		return;
	free(t->nodes);
	free(t->text);
	free(t);
}

enum sm_template_mode sm_template_mode_of(const sm_template *t)
{
	return t->mode;
}

/* ---- rendering ---- */

enum render_status { RENDER_OK, RENDER_FULL, RENDER_STEPS, RENDER_NOMEM };

struct render {
	const sm_template *t;
	/* The context stack: the value rendered with, then one per object or
	 * array element a section entered. */
	json_t *stack[SM_TEMPLATE_MAX_DEPTH + 1];
	size_t depth;
	char *buf;
	size_t len, cap;
	size_t steps;
	enum render_status status;
};

/* Append n bytes; past the cap the render stops with RENDER_FULL. */
static void put(struct render *r, const char *s, size_t n)
{
	if (r->status != RENDER_OK || n == 0)
		return;
	if (n > SM_TEMPLATE_MAX_OUTPUT - r->len) {
		r->status = RENDER_FULL;
		return;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4096;
		char *buf;
		while (cap < r->len + n + 1)
			cap *= 2;
		if (cap > SM_TEMPLATE_MAX_OUTPUT + 1)
			cap = SM_TEMPLATE_MAX_OUTPUT + 1;
		buf = realloc(r->buf, cap);
		if (!buf) {
			r->status = RENDER_NOMEM;
			return;
		}
		r->buf = buf;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, s, n);
	r->len += n;
}

/* Count one unit of work; false once the budget is spent. Without it a few
 * nested sections over large arrays with empty bodies would spin for ages
 * while writing nothing. */
static bool step(struct render *r)
{
	if (r->status != RENDER_OK)
		return false;
	if (++r->steps > SM_TEMPLATE_MAX_STEPS) {
		r->status = RENDER_STEPS;
		return false;
	}
	return true;
}

/* Append s escaped for the template's mode (raw: only made valid UTF-8). */
static void put_escaped(struct render *r, const char *s, size_t len, bool raw)
{
	const struct mode_row *m = &modes[r->t->mode];
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0;

	while (i < len && r->status == RENDER_OK) {
		unsigned char c = u[i];
		const char *rep;
		char esc[8];
		size_t n = 1;

		if (c >= 0x80) {
			n = utf8_seq(u + i, len - i);
			if (n == 0) {
				rep = "\xef\xbf\xbd"; /* U+FFFD for each invalid byte */
				n = 1;
			} else if (!raw && m->drop_controls && c == 0xc2 && u[i + 1] < 0xa0) {
				rep = ""; /* C1 controls */
			} else if (!raw && !m->drop_controls && c == 0xe2 && u[i + 1] == 0x80 &&
			           (u[i + 2] == 0xa8 || u[i + 2] == 0xa9)) {
				/* U+2028/9 are valid JSON but end a line in JavaScript. */
				rep = u[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
			} else {
				i += n;
				continue;
			}
		} else if (raw) {
			i++;
			continue;
		} else if (m->escapes[c]) {
			rep = m->escapes[c];
		} else if ((c < 0x20 && c != '\n' && c != '\t') ||
		           (c == 0x7f && m->drop_controls)) {
			if (m->drop_controls) {
				rep = "";
			} else {
				snprintf(esc, sizeof esc, "\\u%04x", c);
				rep = esc;
			}
		} else {
			i++;
			continue;
		}
		put(r, s + run, i - run);
		put(r, rep, strlen(rep));
		i += n;
		run = i;
	}
	put(r, s + run, i - run);
}

/* The bytes jansson prints for a value, collected up to the output cap. */
struct dump {
	char *buf;
	size_t len, cap;
	enum render_status status;
};

static int collect(const char *buffer, size_t size, void *data)
{
	struct dump *d = data;

	if (size > SM_TEMPLATE_MAX_OUTPUT - d->len) {
		d->status = RENDER_FULL;
		return -1;
	}
	if (d->len + size > d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 256;
		char *buf;
		while (cap < d->len + size)
			cap *= 2;
		buf = realloc(d->buf, cap);
		if (!buf) {
			d->status = RENDER_NOMEM;
			return -1;
		}
		d->buf = buf;
		d->cap = cap;
	}
	memcpy(d->buf + d->len, buffer, size);
	d->len += size;
	return 0;
}

/* A copy of v with invalid UTF-8 in its strings and keys replaced by U+FFFD:
 * jansson refuses to print such strings, which only a caller's
 * json_string_nocheck() can make. */
static json_t *repaired(const json_t *v)
{
	json_t *copy;

	if (json_is_string(v))
		return sm_json_string(json_string_value(v));
	if (json_is_array(v)) {
		copy = json_array();
		for (size_t i = 0; copy && i < json_array_size(v); i++)
			json_array_append_new(copy, repaired(json_array_get(v, i)));
		return copy;
	}
	if (json_is_object(v)) {
		copy = json_object();
		for (void *it = json_object_iter((json_t *)v); copy && it;
		     it = json_object_iter_next((json_t *)v, it)) {
			json_t *key = sm_json_string(json_object_iter_key(it));
			json_object_set_new(copy,
			                    json_string_value(key) ? json_string_value(key) : "",
			                    repaired(json_object_iter_value(it)));
			json_decref(key);
		}
		return copy;
	}
	return json_incref((json_t *)v);
}

/* Append a real, object or array as jansson prints it, escaped. */
static void put_json(struct render *r, const json_t *v, bool raw)
{
	struct dump d = {NULL, 0, 0, RENDER_OK};
	int rc = json_dump_callback(v, collect, &d, SM_JSON_FLAGS | JSON_ENCODE_ANY);

	if (rc < 0 && d.status == RENDER_OK) {
		json_t *copy = repaired(v);
		d.len = 0;
		rc = copy ? json_dump_callback(copy, collect, &d, SM_JSON_FLAGS | JSON_ENCODE_ANY)
		          : -1;
		json_decref(copy);
	}
	if (rc < 0)
		r->status = d.status != RENDER_OK ? d.status : RENDER_NOMEM;
	else
		put_escaped(r, d.buf, d.len, raw);
	free(d.buf);
}

static void put_value(struct render *r, const json_t *v, bool raw)
{
	char num[32];

	if (!v)
		return;
	switch (json_typeof(v)) {
	case JSON_STRING:
		put_escaped(r, json_string_value(v), json_string_length(v), raw);
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		put(r, num, strlen(num));
		break;
	case JSON_TRUE:
		put(r, "true", 4);
		break;
	case JSON_FALSE:
		put(r, "false", 5);
		break;
	case JSON_NULL:
		break;
	default: /* reals, objects, arrays */
		put_json(r, v, raw);
		break;
	}
}

/* The member of v named by part: a key of an object or an index of an array. */
static json_t *child(const json_t *v, const char *part, size_t len)
{
	size_t index = 0;

	if (json_is_object(v))
		return json_object_getn(v, part, len);
	if (!json_is_array(v) || len > 9)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (part[i] < '0' || part[i] > '9')
			return NULL;
		index = index * 10 + (size_t)(part[i] - '0');
	}
	return json_array_get(v, index);
}

/* The value a node names: the first part from the innermost context that
 * has it, the rest from there. NULL when missing. */
static json_t *lookup(const struct render *r, const struct node *n)
{
	const char *name = r->t->text + n->off, *end = name + n->len, *dot;
	json_t *v = NULL;

	if (n->len == 1 && name[0] == '.')
		return r->stack[r->depth - 1];
	dot = memchr(name, '.', n->len);
	if (!dot)
		dot = end;
	for (size_t i = r->depth; i-- > 0 && !v;)
		v = child(r->stack[i], name, (size_t)(dot - name));
	while (v && dot < end) {
		name = dot + 1;
		dot = memchr(name, '.', (size_t)(end - name));
		if (!dot)
			dot = end;
		v = child(v, name, (size_t)(dot - name));
	}
	return v;
}

static bool truthy(const json_t *v)
{
	if (!v)
		return false;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return json_object_size(v) > 0;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0.0;
	case JSON_TRUE:
		return true;
	default:
		return false;
	}
}

static void render_nodes(struct render *r, size_t from, size_t to);

/* Render the body of section n (at index i) with v pushed as the context. */
static void render_with(struct render *r, json_t *v, const struct node *n, size_t i)
{
	r->stack[r->depth++] = v;
	render_nodes(r, i + 1, n->end);
	r->depth--;
}

static void render_section(struct render *r, const struct node *n, size_t i)
{
	json_t *v = lookup(r, n);

	if (!truthy(v))
		return;
	if (json_is_array(v)) {
		for (size_t k = 0; k < json_array_size(v) && step(r); k++)
			render_with(r, json_array_get(v, k), n, i);
	} else if (json_is_object(v)) {
		render_with(r, v, n, i);
	} else {
		render_nodes(r, i + 1, n->end);
	}
}

static void render_nodes(struct render *r, size_t from, size_t to)
{
	size_t i = from;

	while (i < to && step(r)) {
		const struct node *n = &r->t->nodes[i];

		switch (n->kind) {
		case NODE_TEXT:
			put(r, r->t->text + n->off, n->len);
			i++;
			break;
		case NODE_VALUE:
			put_value(r, lookup(r, n), n->raw);
			i++;
			break;
		case NODE_SECTION:
			render_section(r, n, i);
			i = n->end;
			break;
		case NODE_INVERTED:
			if (!truthy(lookup(r, n)))
				render_nodes(r, i + 1, n->end);
			i = n->end;
			break;
		}
	}
}

char *sm_template_render(const sm_template *t, json_t *context, size_t *len, sm_error *err)
{
	struct render r = {.t = t, .depth = 1};

	r.stack[0] = context;
	render_nodes(&r, 0, t->count);
	if (r.status == RENDER_OK && !r.buf && !(r.buf = malloc(1)))
		r.status = RENDER_NOMEM;
	switch (r.status) {
	case RENDER_OK:
		r.buf[r.len] = '\0';
		if (len)
			*len = r.len;
		return r.buf;
	case RENDER_FULL:
		sm_error_set(err, "output larger than %u MiB", SM_TEMPLATE_MAX_OUTPUT >> 20);
		break;
	case RENDER_STEPS:
		sm_error_set(err, "rendering takes more than %u steps", SM_TEMPLATE_MAX_STEPS);
		break;
	case RENDER_NOMEM:
		sm_error_set(err, "out of memory");
		break;
	}
	free(r.buf);
	return NULL;
}
