/* test_json.c - UTF-8 validation, lossy strings, the fast printer and parser. */
#include "testutil.h"
#include <limits.h>
#include "sm/json.h"

static void utf8_validation(void **state)
{
	(void)state;
	assert_true(sm_json_utf8_valid("plain", 5));
	assert_true(sm_json_utf8_valid("\xc2\xb0"
	                               "C",
	                               3));                      /* °C */
	assert_true(sm_json_utf8_valid("\xf0\x9f\x94\xa5", 4));  /* emoji */
	assert_false(sm_json_utf8_valid("\xff", 1));             /* never valid */
	assert_false(sm_json_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
	assert_false(sm_json_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(sm_json_utf8_valid("\xe2\x82", 2));         /* truncated */
	assert_false(sm_json_utf8_valid("a\0b", 3));             /* NUL */
	assert_false(sm_json_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
}

static void lossy_strings(void **state)
{
	json_t *s;

	(void)state;
	s = sm_json_string("ok");
	assert_string_equal(json_string_value(s), "ok");
	json_decref(s);
	s = sm_json_string("bad\xff"
	                   "name");
	assert_non_null(s);
	assert_string_equal(json_string_value(s), "bad\xef\xbf\xbdname");
	json_decref(s);
	s = sm_json_string(NULL);
	assert_true(json_is_null(s));
	json_decref(s);
}

/* sm_json_dump must print exactly what json_dumps prints. */
static void assert_dump_like_jansson(json_t *v)
{
	size_t len = 0;
	char *ours = sm_json_dump(v, &len);
	char *theirs = json_dumps(v, SM_JSON_FLAGS | JSON_ENCODE_ANY);

	assert_non_null(ours);
	assert_non_null(theirs);
	assert_string_equal(ours, theirs);
	assert_int_equal(len, strlen(theirs));
	free(ours);
	free(theirs);
}

static void dump_scalars(void **state)
{
	static const double reals[] = {0.0,     -0.0,  1.0,
	                               -1.5,    45.2,  0.1,
	                               1e-7,    1e21,  1.5e300,
	                               -2e-300, 1e100, 123456789012345.0,
	                               1e15,    1e16,  3.14159265358979,
	                               2.5e-5};
	static const json_int_t ints[] = {0, 1, -1, 42, 1000000, LLONG_MAX, LLONG_MIN};
	(void)state;

	for (size_t i = 0; i < sizeof reals / sizeof *reals; i++) {
		json_t *r = json_real(reals[i]);
		assert_dump_like_jansson(r);
		json_decref(r);
	}
	for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
		json_t *n = json_integer(ints[i]);
		assert_dump_like_jansson(n);
		json_decref(n);
	}
	assert_dump_like_jansson(json_true());
	assert_dump_like_jansson(json_false());
	assert_dump_like_jansson(json_null());
}

/* Appending prints what sm_json_dump prints, one after another, and a
 * failure leaves the text as it was. */
static void dump_append(void **state)
{
	sm_text t = {0};
	json_t *a = json_pack("{s:i,s:[s,n]}", "x", 1, "y", "z\n"), *b = json_string("\xc3\xa9");
	json_t *deep = json_array(), *inner = deep;

	(void)state;
	assert_int_equal(sm_json_dump_append(&t, a, '\n'), 0);
	assert_int_equal(sm_json_dump_append(&t, b, '\0'), 0);
	assert_string_equal(t.p, "{\"x\":1,\"y\":[\"z\\n\",null]}\n\"\xc3\xa9\"");
	assert_int_equal(t.len, strlen(t.p));
	for (int i = 0; i < SM_JSON_MAX_DEPTH + 5; i++) {
		json_t *next = json_array();
		json_array_append_new(inner, next);
		inner = next;
	}
	assert_int_equal(sm_json_dump_append(&t, deep, '\n'), -1);
	assert_string_equal(t.p, "{\"x\":1,\"y\":[\"z\\n\",null]}\n\"\xc3\xa9\"");
	for (int i = 0; i < 1000; i++) /* growing well past the first block */
		assert_int_equal(sm_json_dump_append(&t, a, '\n'), 0);
	assert_int_equal(t.len, strlen(t.p));
	json_decref(a);
	json_decref(b);
	json_decref(deep);
	free(t.p);
}

/* JSON written by hand: strings escaped (invalid UTF-8 becomes U+FFFD, as
 * sm_json_string makes it), numbers as jansson prints them. */
static void text_by_hand(void **state)
{
	sm_text t = {0};

	(void)state;
	sm_text_raw(&t, "[", 1);
	sm_text_str(&t, "a\"b\\c\n\x01");
	sm_text_raw(&t, ",", 1);
	sm_text_str(&t, "bad \xff\xc3 end");
	sm_text_raw(&t, ",", 1);
	sm_text_str(&t, NULL);
	sm_text_raw(&t, ",", 1);
	sm_text_int(&t, -9223372036854775807LL - 1);
	sm_text_raw(&t, ",", 1);
	sm_text_real(&t, 1.0);
	sm_text_raw(&t, ",", 1);
	sm_text_real(&t, 0.125);
	sm_text_raw(&t, "]", 1);
	assert_false(t.failed);
	assert_string_equal(t.p,
	                    "[\"a\\\"b\\\\c\\n\\u0001\",\"bad \xef\xbf\xbd\xef\xbf\xbd end\",null,"
	                    "-9223372036854775808,1.0,0.125]");
	assert_int_equal(t.len, strlen(t.p));
	free(t.p);
}

static void dump_strings(void **state)
{
	static const char *const texts[] = {
	    "",
	    "plain",
	    "quote \" and back\\slash",
	    "tab\tnew\nline\rcr\b\f",
	    "\x01\x1f\x7f",
	    "slash / stays",
	    "caf\xc3\xa9 \xf0\x9f\x94\xa5",
	    "</script>{{x}}",
	};
	json_t *nul = json_stringn("a\0b", 3);
	(void)state;

	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		json_t *s = json_string(texts[i]);
		assert_non_null(s);
		assert_dump_like_jansson(s);
		json_decref(s);
	}
	assert_dump_like_jansson(nul);
	json_decref(nul);
}

/* Random trees of every type, nested, with keys needing escapes. */
static json_t *random_value(unsigned *seed, int depth)
{
	int kind = depth > 4 ? rand_r(seed) % 5 : rand_r(seed) % 7;
	char text[16];
	json_t *v;

	switch (kind) {
	case 0:
		return json_integer((json_int_t)rand_r(seed) - RAND_MAX / 2);
	case 1:
		return json_real((double)rand_r(seed) / (rand_r(seed) % 1000 + 1) *
		                 ((rand_r(seed) % 2) ? 1e-9 : 1e9));
	case 2:
		for (size_t i = 0; i < sizeof text - 1; i++)
			text[i] = (char)(rand_r(seed) % 95 + 1);
		text[sizeof text - 1] = '\0';
		return json_string(text);
	case 3:
		return json_boolean(rand_r(seed) % 2);
	case 4:
		return json_null();
	case 5:
		v = json_array();
		for (int i = rand_r(seed) % 5; i > 0; i--)
			json_array_append_new(v, random_value(seed, depth + 1));
		return v;
	default:
		v = json_object();
		for (int i = rand_r(seed) % 5; i > 0; i--) {
			snprintf(text, sizeof text, "k\"%d\n", rand_r(seed) % 100);
			json_object_set_new(v, text, random_value(seed, depth + 1));
		}
		return v;
	}
}

static void dump_random_trees(void **state)
{
	unsigned seed = 20261202;
	(void)state;

	for (int i = 0; i < 500; i++) {
		json_t *v = random_value(&seed, 0);
		assert_dump_like_jansson(v);
		json_decref(v);
	}
}

static void dump_refuses_runaway_depth(void **state)
{
	json_t *root = json_array(), *v = root;
	(void)state;

	for (int i = 0; i < SM_JSON_MAX_DEPTH + 5; i++) {
		json_t *inner = json_array();
		json_array_append_new(v, inner);
		v = inner;
	}
	assert_null(sm_json_dump(root, NULL));
	json_decref(root);
}

/* sm_json_parse must accept what json_loadb accepts, refuse what it
 * refuses, and build equal values. */
static void assert_parse_like_jansson(const char *text, size_t len, size_t flags)
{
	json_error_t ours_err, theirs_err;
	json_t *ours = sm_json_parse(text, len, flags, &ours_err);
	json_t *theirs = json_loadb(text, len, flags, &theirs_err);

	if (!ours != !theirs)
		fail_msg("%.*s: sm_json_parse %s, jansson %s (%s)", (int)len, text,
		         ours ? "accepts" : ours_err.text, theirs ? "accepts" : "refuses",
		         theirs ? "" : theirs_err.text);
	if (ours) {
		assert_true(json_equal(ours, theirs));
		/* json_equal says 1 == 1.0 is false but -0.0 == 0.0 is true: print too. */
		char *a = sm_json_dump(ours, NULL), *b = sm_json_dump(theirs, NULL);
		assert_string_equal(a, b);
		free(a);
		free(b);
	} else {
		assert_true(ours_err.line >= 1);
		assert_true(ours_err.text[0] != '\0');
	}
	json_decref(ours);
	json_decref(theirs);
}

static void parse_cases(void **state)
{
	static const char *const cases[] = {
	    "{}",
	    "[]",
	    " {\"a\" : 1 } ",
	    "{\"a\":1,\"a\":2}",
	    "[1,2,]",
	    "[,]",
	    "{\"a\"}",
	    "{\"a\":}",
	    "{1:2}",
	    "[01]",
	    "[-0]",
	    "[-0.0]",
	    "[-]",
	    "[1.]",
	    "[.5]",
	    "[1e]",
	    "[1e+]",
	    "[1E5]",
	    "[1e-400]",
	    "[1e400]",
	    "[-1e400]",
	    "[9223372036854775807]",
	    "[9223372036854775808]",
	    "[-9223372036854775808]",
	    "[-9223372036854775809]",
	    "[0.1,2.5e-3,123456789.123456789]",
	    "[true,false,null]",
	    "[tru]",
	    "[truex]",
	    "[nul]",
	    "[True]",
	    "\"str\"",
	    "1",
	    "null",
	    "",
	    "   ",
	    "{} x",
	    "{}{}",
	    "[\"\\u0041\"]",
	    "[\"\\u00e9\\ud83d\\udd25\"]",
	    "[\"\\ud83d\"]",
	    "[\"\\udd25\"]",
	    "[\"\\ud83dx\"]",
	    "[\"\\u0000\"]",
	    "[\"\\x\"]",
	    "[\"\\u12\"]",
	    "[\"a\\/b\\\\c\\\"d\\b\\f\\n\\r\\t\"]",
	    "[\"tab\there\"]",
	    "[\"caf\xc3\xa9\"]",
	    "[\"\xc3\"]",
	    "[\"\xff\"]",
	    "[\"\xed\xa0\x80\"]",
	    "[\"unterminated",
	    "[\"a\\",
	    "{\"k\\u00e9\":1,\"k\xc3\xa9\":2}",
	    "{\"\":0}",
	    "[1 2]",
	    "[1true]",
	    "{\"a\":1 \"b\":2}",
	    "\t\r\n[\n1\n]\n",
	    "[\"\x7f\"]",
	    "{\"a\":[{\"b\":{\"c\":[]}}]}",
	    "[1,\n\n  x]",
	};
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		assert_parse_like_jansson(cases[i], strlen(cases[i]), JSON_REJECT_DUPLICATES);
		assert_parse_like_jansson(cases[i], strlen(cases[i]), 0);
		assert_parse_like_jansson(cases[i], strlen(cases[i]), JSON_DECODE_ANY);
	}
	assert_parse_like_jansson("[1,\0]", 5, 0); /* a NUL byte */
}

static void parse_depth_limit(void **state)
{
	size_t n = SM_JSON_MAX_DEPTH + 2;
	char *text = malloc(2 * n);
	(void)state;

	assert_non_null(text);
	for (size_t depth = SM_JSON_MAX_DEPTH - 1; depth <= n; depth++) {
		memset(text, '[', depth);
		memset(text + depth, ']', depth);
		assert_parse_like_jansson(text, 2 * depth, 0);
	}
	memset(text, '[', 2 * n); /* open all the way down: refused, no crash */
	assert_parse_like_jansson(text, 2 * n, 0);
	free(text);
}

/* Mutations of real payloads: flipped, dropped and duplicated bytes. */
static void parse_mutations(void **state)
{
	static const char *const seeds[] = {
	    "{\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":\"Disk\\u00e9\","
	    "\"instance\":\"db-01\"},\"value\":-12.5e3,\"n\":[0,1,true,null]}],\"x\":\"a\\\"b\"}",
	    "[{\"a\":\"\\ud83d\\udd25 caf\xc3\xa9\"},{\"b\":[1e-5,2E+10,-0,123]},\"\\n\\t\"]",
	};
	static const char alphabet[] = "{}[]\",:\\0123456789.eE+-tfnu \n\x01\x80\xc3\xa9";
	unsigned seed = 42;
	char buf[512];
	(void)state;

	for (size_t s = 0; s < sizeof seeds / sizeof *seeds; s++) {
		size_t base = strlen(seeds[s]);
		for (int round = 0; round < 3000; round++) {
			size_t len = base, pos = (size_t)rand_r(&seed) % base;
			memcpy(buf, seeds[s], base);
			switch (rand_r(&seed) % 3) {
			case 0:
				buf[pos] = alphabet[(size_t)rand_r(&seed) % (sizeof alphabet - 1)];
				break;
			case 1:
				memmove(buf + pos, buf + pos + 1, base - pos - 1);
				len--;
				break;
			default:
				memmove(buf + pos + 1, buf + pos, base - pos);
				len++;
			}
			assert_parse_like_jansson(buf, len, JSON_REJECT_DUPLICATES);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(utf8_validation),   cmocka_unit_test(lossy_strings),
	    cmocka_unit_test(dump_scalars),      cmocka_unit_test(dump_strings),
	    cmocka_unit_test(dump_append),       cmocka_unit_test(text_by_hand),
	    cmocka_unit_test(dump_random_trees), cmocka_unit_test(dump_refuses_runaway_depth),
	    cmocka_unit_test(parse_cases),       cmocka_unit_test(parse_depth_limit),
	    cmocka_unit_test(parse_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
