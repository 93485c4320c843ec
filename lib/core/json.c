/* json.c - sm's JSON text (see json.h): UTF-8 checks and lossy strings,
 * rounding, then the compact printer and the parser. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm/json.h"

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	size_t n;
	unsigned min;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = p[0] & 0x1f;
		min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = p[0] & 0x0f;
		min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = p[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int sm_json_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	while (len > 0) {
		size_t n = utf8_seq(p, len);
		if (n == 0 || (n == 1 && *p == 0))
			return 0;
		p += n;
		len -= n;
	}
	return 1;
}

/* s with each invalid UTF-8 sequence replaced by U+FFFD, malloc'd; its
 * length in *len (in: strlen(s)). */
static char *lossy_utf8(const char *s, size_t *len)
{
	size_t left = *len, out = 0;
	const unsigned char *p = (const unsigned char *)s;
	char *buf = malloc(left * 3 + 1);

	if (!buf)
		return NULL;
	while (left > 0) {
		size_t n = utf8_seq(p, left);
		if (n == 0) {
			memcpy(buf + out, "\xef\xbf\xbd", 3);
			out += 3;
			n = 1;
		} else {
			memcpy(buf + out, p, n);
			out += n;
		}
		p += n;
		left -= n;
	}
	buf[out] = '\0';
	*len = out;
	return buf;
}

json_t *sm_json_string(const char *s)
{
	size_t len;
	char *buf;
	json_t *j;

	if (!s)
		return json_null();
	len = strlen(s);
	if (sm_json_utf8_valid(s, len))
		return json_stringn_nocheck(s, len); /* checked just now */
	buf = lossy_utf8(s, &len);
	if (!buf)
		return json_null();
	j = json_stringn_nocheck(buf, len);
	free(buf);
	return j;
}

/* Round half to even on the scaled value, as Python's round() does. By hand:
 * rint() would agree only while the process keeps the default rounding mode. */
double sm_round(double v, int digits)
{
	static const double scales[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
	double scale, x, t, frac;

	if (digits < 0)
		digits = 0;
	if (digits > 9)
		digits = 9;
	scale = scales[digits];
	x = v * scale;
	if (!isfinite(x) || x > 4e15 || x < -4e15)
		return v;         /* beyond 2^52 every double is already whole */
	t = (double)(long long)x; /* toward zero */
	frac = x - t;
	if (frac > 0.5 || (frac == 0.5 && ((long long)t & 1)))
		t += 1;
	else if (frac < -0.5 || (frac == -0.5 && ((long long)t & 1)))
		t -= 1;
	t /= scale;
	return t == 0 ? 0.0 : t; /* no "-0.0" in output */
}

/* --- a fast compact printer --- */

static int is_digit(char c);

static int grow(sm_text *o, size_t more)
{
	size_t cap = o->cap ? o->cap : 256;
	char *p;

	if (o->failed)
		return -1;
	while (cap - o->len < more + 1) {
		if (cap > ((size_t)-1) / 2) {
			o->failed = 1;
			return -1;
		}
		cap *= 2;
	}
	if (cap == o->cap)
		return 0;
	p = realloc(o->p, cap);
	if (!p) {
		o->failed = 1;
		return -1;
	}
	o->p = p;
	o->cap = cap;
	return 0;
}

static void put(sm_text *o, const char *s, size_t n)
{
	if (o->cap - o->len < n + 1 && grow(o, n) < 0)
		return;
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void put_char(sm_text *o, char c)
{
	if (o->cap - o->len < 2 && grow(o, 1) < 0)
		return;
	o->p[o->len++] = c;
}

/* Bytes that print as themselves inside a JSON string: all but the two
 * that must be escaped and the controls (jansson leaves DEL and every
 * non-ASCII byte as is, and so do we). */
static const unsigned char escaped[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,         1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, ['"'] = 1, ['\\'] = 1,
};

static int plain(unsigned char c)
{
	return !escaped[c];
}

static void put_string(sm_text *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0;

	put_char(o, '"');
	while (i < n) {
		size_t start = i;
		unsigned char c;
		char esc[6];

		while (i < n && plain((unsigned char)s[i]))
			i++;
		put(o, s + start, i - start);
		if (i == n)
			break;
		c = (unsigned char)s[i++];
		esc[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			put(o, esc, 2);
			break;
		case '\b':
			put(o, "\\b", 2);
			break;
		case '\f':
			put(o, "\\f", 2);
			break;
		case '\n':
			put(o, "\\n", 2);
			break;
		case '\r':
			put(o, "\\r", 2);
			break;
		case '\t':
			put(o, "\\t", 2);
			break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			put(o, esc, 6);
		}
	}
	put_char(o, '"');
}

static void put_integer(sm_text *o, json_int_t v)
{
	char buf[24], *end = buf + sizeof buf, *p = end;
	/* Through unsigned, so the most negative value negates without overflow. */
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	put(o, p, (size_t)(end - p));
}

/* As jansson prints a real at precision 15: "%.15g", ".0" added when that
 * looks like an integer, and the exponent without "+" or leading zeros. */
static void put_real(sm_text *o, double v)
{
	char buf[40], *w;
	int n = snprintf(buf, sizeof buf, "%.15g", v);
	bool integral = true;
	const char *r;

	if (n <= 0 || (size_t)n >= sizeof buf - 2) {
		o->failed = 1;
		return;
	}
	for (int i = 0; i < n; i++)
		if (!(is_digit(buf[i]) || buf[i] == '-'))
			integral = false;
	if (integral) {
		memcpy(buf + n, ".0", 3);
		n += 2;
	}
	/* The exponent without "+" or leading zeros: 1e+05 prints as 1e5. */
	r = buf;
	while (*r && *r != 'e')
		r++;
	if (*r == 'e') {
		w = buf + (r - buf) + 1;
		r = w;
		if (*r == '+')
			r++;
		if (*r == '-')
			*w++ = *r++;
		while (*r == '0' && r[1])
			r++;
		while (*r)
			*w++ = *r++;
		*w = '\0';
		n = (int)(w - buf);
	}
	put(o, buf, (size_t)n);
}

static void put_value(sm_text *o, const json_t *v, int depth)
{
	if (depth > SM_JSON_MAX_DEPTH) {
		o->failed = 1;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		json_t *obj = (json_t *)v; /* jansson's iterators take no const */
		void *it = json_object_iter(obj);

		put_char(o, '{');
		while (it && !o->failed) {
			put_string(o, json_object_iter_key(it), json_object_iter_key_len(it));
			put_char(o, ':');
			put_value(o, json_object_iter_value(it), depth + 1);
			it = json_object_iter_next(obj, it);
			if (it)
				put_char(o, ',');
		}
		put_char(o, '}');
		break;
	}
	case JSON_ARRAY: {
		size_t n = json_array_size(v);

		put_char(o, '[');
		for (size_t i = 0; i < n && !o->failed; i++) {
			if (i)
				put_char(o, ',');
			put_value(o, json_array_get(v, i), depth + 1);
		}
		put_char(o, ']');
		break;
	}
	case JSON_STRING:
		put_string(o, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		put_integer(o, json_integer_value(v));
		break;
	case JSON_REAL:
		put_real(o, json_real_value(v));
		break;
	case JSON_TRUE:
		put(o, "true", 4);
		break;
	case JSON_FALSE:
		put(o, "false", 5);
		break;
	case JSON_NULL:
		put(o, "null", 4);
		break;
	}
}

char *sm_json_dump(const json_t *v, size_t *len)
{
	sm_text o = {0};

	if (!v || grow(&o, 255) < 0)
		return NULL;
	put_value(&o, v, 0);
	if (o.failed) {
		free(o.p);
		return NULL;
	}
	o.p[o.len] = '\0';
	if (len)
		*len = o.len;
	return o.p;
}

char *sm_json_dumps(const json_t *v, size_t flags)
{
	json_free_t jfree = NULL;
	char *text = v ? json_dumps(v, flags) : NULL, *copy;

	if (!text)
		return NULL;
	copy = strdup(text);
	json_get_alloc_funcs(NULL, &jfree);
	if (jfree)
		jfree(text);
	return copy;
}

int sm_json_dump_append(sm_text *t, const json_t *v, char end)
{
	size_t mark = t->len;

	if (!v || t->failed)
		return -1;
	put_value(t, v, 0);
	if (end != '\0')
		put_char(t, end);
	if (t->failed) {
		t->failed = 0;
		t->len = mark;
		if (t->p)
			t->p[mark] = '\0';
		return -1;
	}
	t->p[t->len] = '\0';
	return 0;
}

void sm_text_raw(sm_text *t, const char *s, size_t n)
{
	put(t, s, n);
	if (!t->failed && t->p)
		t->p[t->len] = '\0';
}

void sm_text_str(sm_text *t, const char *s)
{
	size_t n;

	if (!s) {
		sm_text_raw(t, "null", 4);
		return;
	}
	n = strlen(s);
	if (sm_json_utf8_valid(s, n)) {
		put_string(t, s, n);
	} else {
		char *fixed = lossy_utf8(s, &n);
		if (!fixed) {
			t->failed = 1;
			return;
		}
		put_string(t, fixed, n);
		free(fixed);
	}
	if (!t->failed)
		t->p[t->len] = '\0';
}

void sm_text_int(sm_text *t, long long v)
{
	put_integer(t, v);
	if (!t->failed && t->p)
		t->p[t->len] = '\0';
}

void sm_text_real(sm_text *t, double v)
{
	put_real(t, v);
	if (!t->failed && t->p)
		t->p[t->len] = '\0';
}

/* --- a fast parser --- */

struct in {
	const char *p, *end;
	size_t flags;
	const char *why; /* set once, at the first error */
	const char *where;
};

static json_t *fail(struct in *in, const char *at, const char *why)
{
	if (!in->why) {
		in->why = why;
		in->where = at;
	}
	return NULL;
}

static void skip_space(struct in *in)
{
	while (in->p < in->end &&
	       (*in->p == ' ' || *in->p == '\n' || *in->p == '\t' || *in->p == '\r'))
		in->p++;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The string starting after its opening quote at in->p. Its bytes go to
 * *out (a pointer into the input when nothing needed decoding, else *buf,
 * which the caller frees). -1 on error. */
static int read_string(struct in *in, const char **out, size_t *len, char **buf)
{
	const char *p = in->p, *end = in->end, *run;
	char *b, *w;

	/* The common case: plain ASCII up to the closing quote. */
	while (p < end && (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x80 && *p != '"' &&
	       *p != '\\')
		p++;
	if (p < end && *p == '"') {
		*out = in->p;
		*len = (size_t)(p - in->p);
		in->p = p + 1;
		return 0;
	}
	/* Decoded text is never longer than its source: find where the string
	 * ends (or the input, when it does not) and take that much. */
	run = p;
	while (run < end && *run != '"')
		run += (*run == '\\' && end - run > 1) ? 2 : 1;
	b = malloc((size_t)((run < end ? run : end) - in->p) + 1);
	if (!b)
		return fail(in, in->p, "out of memory"), -1;
	w = b;
	run = in->p;
	for (;;) {
		if (p >= end) {
			free(b);
			return fail(in, p, "premature end of input in a string"), -1;
		}
		if (*p == '"')
			break;
		if ((unsigned char)*p < 0x20) {
			free(b);
			return fail(in, p, "control character in a string"), -1;
		}
		if ((unsigned char)*p >= 0x80) {
			size_t n = utf8_seq((const unsigned char *)p, (size_t)(end - p));
			if (n == 0) {
				free(b);
				return fail(in, p, "invalid UTF-8 in a string"), -1;
			}
			p += n;
			continue;
		}
		if (*p != '\\') {
			p++;
			continue;
		}
		memcpy(w, run, (size_t)(p - run));
		w += p - run;
		if (end - p < 2) {
			free(b);
			return fail(in, p, "premature end of input in a string"), -1;
		}
		switch (p[1]) {
		case '"':
		case '\\':
		case '/':
			*w++ = p[1];
			break;
		case 'b':
			*w++ = '\b';
			break;
		case 'f':
			*w++ = '\f';
			break;
		case 'n':
			*w++ = '\n';
			break;
		case 'r':
			*w++ = '\r';
			break;
		case 't':
			*w++ = '\t';
			break;
		case 'u': {
			unsigned cp, low;
			if (end - p < 6 || hex4(p + 2, &cp) < 0) {
				free(b);
				return fail(in, p, "invalid \\u escape"), -1;
			}
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				free(b);
				return fail(in, p, "unpaired low surrogate"), -1;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (end - p < 12 || p[6] != '\\' || p[7] != 'u' ||
				    hex4(p + 8, &low) < 0 || low < 0xdc00 || low > 0xdfff) {
					free(b);
					return fail(in, p, "unpaired high surrogate"), -1;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
				p += 6;
			}
			if (cp == 0) {
				free(b);
				return fail(in, p, "\\u0000 is not allowed"), -1;
			}
			w += put_utf8(w, cp);
			p += 4;
			break;
		}
		default:
			free(b);
			return fail(in, p, "invalid escape"), -1;
		}
		p += 2;
		run = p;
	}
	memcpy(w, run, (size_t)(p - run));
	w += p - run;
	*w = '\0';
	*out = b;
	*len = (size_t)(w - b);
	*buf = b;
	in->p = p + 1;
	return 0;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static json_t *read_number(struct in *in)
{
	const char *p = in->p, *end = in->end, *start = p;
	bool real = false;
	char small[64], *text;
	json_t *v;

	if (p < end && *p == '-')
		p++;
	if (p >= end || !is_digit(*p))
		return fail(in, start, "invalid number");
	if (*p == '0') {
		p++;
		if (p < end && is_digit(*p))
			return fail(in, start, "invalid number (leading zero)");
	} else {
		while (p < end && is_digit(*p))
			p++;
	}
	if (p < end && *p == '.') {
		real = true;
		p++;
		if (p >= end || !is_digit(*p))
			return fail(in, start, "invalid number");
		while (p < end && is_digit(*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		real = true;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || !is_digit(*p))
			return fail(in, start, "invalid number");
		while (p < end && is_digit(*p))
			p++;
	}
	/* strtod and strtoll need a terminated copy. */
	text = (size_t)(p - start) < sizeof small ? small : malloc((size_t)(p - start) + 1);
	if (!text)
		return fail(in, start, "out of memory");
	memcpy(text, start, (size_t)(p - start));
	text[p - start] = '\0';
	errno = 0;
	if (real) {
		double d = strtod(text, NULL);
		v = (d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE
		        ? fail(in, start, "real number overflow")
		        : json_real(d);
	} else {
		long long n = strtoll(text, NULL, 10);
		v = errno == ERANGE ? fail(in, start, "integer out of range") : json_integer(n);
	}
	if (text != small)
		free(text);
	if (!v)
		return fail(in, start, "out of memory");
	in->p = p;
	return v;
}

static json_t *read_value(struct in *in, int depth);

static json_t *read_array(struct in *in, int depth)
{
	json_t *a = json_array();

	if (!a)
		return fail(in, in->p, "out of memory");
	in->p++; /* [ */
	skip_space(in);
	if (in->p < in->end && *in->p == ']') {
		in->p++;
		return a;
	}
	for (;;) {
		json_t *v = read_value(in, depth + 1);
		if (!v || json_array_append_new(a, v) < 0)
			goto bad;
		skip_space(in);
		if (in->p < in->end && *in->p == ',') {
			in->p++;
			skip_space(in);
			continue;
		}
		if (in->p < in->end && *in->p == ']') {
			in->p++;
			return a;
		}
		fail(in, in->p, "',' or ']' expected");
		goto bad;
	}
bad:
	json_decref(a);
	return NULL;
}

static json_t *read_object(struct in *in, int depth)
{
	json_t *o = json_object();

	if (!o)
		return fail(in, in->p, "out of memory");
	in->p++; /* { */
	skip_space(in);
	if (in->p < in->end && *in->p == '}') {
		in->p++;
		return o;
	}
	for (;;) {
		const char *key, *at = in->p;
		char *buf = NULL;
		size_t klen;
		json_t *v;

		if (in->p >= in->end || *in->p != '"') {
			fail(in, in->p, "string or '}' expected");
			goto bad;
		}
		in->p++;
		if (read_string(in, &key, &klen, &buf) < 0)
			goto bad;
		if ((in->flags & JSON_REJECT_DUPLICATES) && json_object_getn(o, key, klen)) {
			free(buf);
			fail(in, at, "duplicate object key");
			goto bad;
		}
		skip_space(in);
		if (in->p >= in->end || *in->p != ':') {
			free(buf);
			fail(in, in->p, "':' expected");
			goto bad;
		}
		in->p++;
		skip_space(in);
		v = read_value(in, depth + 1);
		if (!v || json_object_setn_new_nocheck(o, key, klen, v) < 0) {
			free(buf);
			if (v)
				fail(in, at, "out of memory");
			goto bad;
		}
		free(buf);
		skip_space(in);
		if (in->p < in->end && *in->p == ',') {
			in->p++;
			skip_space(in);
			continue;
		}
		if (in->p < in->end && *in->p == '}') {
			in->p++;
			return o;
		}
		fail(in, in->p, "',' or '}' expected");
		goto bad;
	}
bad:
	json_decref(o);
	return NULL;
}

static bool literal(struct in *in, const char *word, size_t n)
{
	if ((size_t)(in->end - in->p) < n || memcmp(in->p, word, n) != 0)
		return false;
	in->p += n;
	return true;
}

static json_t *read_value(struct in *in, int depth)
{
	/* As jansson counts: every value, scalars included, is a level. */
	if (depth > SM_JSON_MAX_DEPTH)
		return fail(in, in->p, "nested too deeply");
	if (in->p >= in->end)
		return fail(in, in->p, "premature end of input");
	switch (*in->p) {
	case '{':
		return read_object(in, depth);
	case '[':
		return read_array(in, depth);
	case '"': {
		const char *s;
		char *buf = NULL;
		size_t n;
		json_t *v;

		in->p++;
		if (read_string(in, &s, &n, &buf) < 0)
			return NULL;
		v = json_stringn_nocheck(s, n);
		free(buf);
		return v ? v : fail(in, in->p, "out of memory");
	}
	case 't':
		return literal(in, "true", 4) ? json_true() : fail(in, in->p, "invalid token");
	case 'f':
		return literal(in, "false", 5) ? json_false() : fail(in, in->p, "invalid token");
	case 'n':
		return literal(in, "null", 4) ? json_null() : fail(in, in->p, "invalid token");
	default:
		if (*in->p == '-' || is_digit(*in->p))
			return read_number(in);
		return fail(in, in->p, "invalid token");
	}
}

json_t *sm_json_parse(const char *text, size_t len, size_t flags, json_error_t *error)
{
	struct in in = {text, text + len, flags, NULL, NULL};
	json_t *v = NULL;

	skip_space(&in);
	if (!(flags & JSON_DECODE_ANY) && (in.p >= in.end || (*in.p != '{' && *in.p != '[')))
		fail(&in, in.p, "'[' or '{' expected");
	else
		v = read_value(&in, 1);
	if (v) {
		skip_space(&in);
		if (in.p < in.end) {
			json_decref(v);
			v = fail(&in, in.p, "end of input expected");
		}
	}
	if (!v && error) {
		int line = 1, column = 0;
		for (const char *c = text; c < in.where; c++) {
			column++;
			if (*c == '\n') {
				line++;
				column = 0;
			}
		}
		error->line = line;
		error->column = column + 1;
		error->position = (int)(in.where - text);
		error->source[0] = '\0';
		snprintf(error->text, sizeof error->text, "%s", in.why ? in.why : "invalid JSON");
	}
	return v;
}
