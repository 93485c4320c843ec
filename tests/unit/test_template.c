/* test_template.c - logic-less templates: every construct, escaping per
 * output mode, hostile values, parse errors and the render limits. */
#include "testutil.h"
#include "sm/template.h"

#define TEXT SM_TEMPLATE_TEXT
#define HTML SM_TEMPLATE_HTML
#define JSON SM_TEMPLATE_JSON

static json_t *load_json(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

	if (!v)
		fail_msg("bad test JSON: %s", jerr.text);
	return v;
}

/* tpl rendered in mode with context (NULL: none); the caller frees it. */
static char *render_with(const char *tpl, enum sm_template_mode mode, json_t *context)
{
	sm_error err = {0};
	sm_template *t = sm_template_parse(tpl, strlen(tpl), mode, &err);
	char *out;
	size_t len = 12345;

	if (!t)
		fail_msg("parse '%s': %s", tpl, err.msg);
	out = sm_template_render(t, context, &len, &err);
	if (!out)
		fail_msg("render '%s': %s", tpl, err.msg);
	assert_int_equal(len, strlen(out));
	assert_true(sm_json_utf8_valid(out, len));
	sm_template_free(t);
	return out;
}

/* tpl rendered in mode against the JSON text context is exactly want. */
static void assert_render(const char *tpl, enum sm_template_mode mode, const char *context,
                          const char *want)
{
	json_t *ctx = context ? load_json(context) : NULL;
	char *out = render_with(tpl, mode, ctx);

	if (strcmp(out, want) != 0)
		fail_msg("'%s' rendered '%s', want '%s'", tpl, out, want);
	free(out);
	json_decref(ctx);
}

/* tpl rendered in every mode is exactly want (for values no mode escapes). */
static void assert_render_all(const char *tpl, const char *context, const char *want)
{
	assert_render(tpl, TEXT, context, want);
	assert_render(tpl, HTML, context, want);
	assert_render(tpl, JSON, context, want);
}

/* Parsing len bytes of tpl in mode fails with exactly message. */
static void assert_parse_error_n(const char *tpl, size_t len, enum sm_template_mode mode,
                                 const char *message)
{
	sm_error err = {0};
	sm_template *t = sm_template_parse(tpl, len, mode, &err);

	if (t)
		fail_msg("'%s' parsed, want error '%s'", tpl, message);
	assert_string_equal(err.msg, message);
}

static void assert_parse_error(const char *tpl, enum sm_template_mode mode, const char *message)
{
	assert_parse_error_n(tpl, strlen(tpl), mode, message);
}

/* Rendering tpl in mode with context fails with exactly message. */
static void assert_render_error(const char *tpl, enum sm_template_mode mode, json_t *context,
                                const char *message)
{
	sm_error err = {0};
	sm_template *t = sm_template_parse(tpl, strlen(tpl), mode, &err);
	size_t len = 7;

	assert_non_null(t);
	assert_null(sm_template_render(t, context, &len, &err));
	assert_string_equal(err.msg, message);
	assert_int_equal(len, 7);
	sm_template_free(t);
}

static void variables_and_dotted_paths(void **state)
{
	const char *ctx = "{\"name\":\"db-01\",\"incident\":{\"id\":42,\"title\":\"Disk\","
	                  "\"meta\":{\"team\":\"ops\"}}}";

	(void)state;
	assert_render_all("Host {{name}}!", ctx, "Host db-01!");
	assert_render_all("{{incident.title}} #{{incident.id}} {{incident.meta.team}}", ctx,
	                  "Disk #42 ops");
	assert_render_all("{{ name }}|{{\tincident.id\n}}", ctx, "db-01|42");
	assert_render_all("no tags at all", ctx, "no tags at all");
	assert_render_all("", ctx, "");
	assert_render_all("a { b } {c} }} d", ctx, "a { b } {c} }} d");
}

static void array_indexes_in_paths(void **state)
{
	const char *ctx = "{\"alerts\":[{\"name\":\"A\",\"labels\":{\"instance\":\"db-01\"}},"
	                  "{\"name\":\"B\",\"labels\":{\"0\":\"zero\"}}],\"tags\":[\"x\",\"y\"]}";

	(void)state;
	assert_render_all("{{alerts.0.name}},{{alerts.1.name}},{{alerts.0.labels.instance}}", ctx,
	                  "A,B,db-01");
	/* Out of range, not a number or too long an index: missing. */
	assert_render_all("[{{alerts.2.name}}{{alerts.x.name}}{{tags.99999999999999}}]", ctx, "[]");
	assert_render_all("{{tags.1}}{{tags.0}}", ctx, "yx");
	/* A digit part names an object key when the value is an object. */
	assert_render_all("{{alerts.1.labels.0}}", ctx, "zero");
}

static void missing_values_render_empty(void **state)
{
	(void)state;
	assert_render_all("[{{nope}}|{{a.b.c}}|{{a.x}}|{{s.len}}]",
	                  "{\"a\":{\"b\":1},\"s\":\"str\"}", "[|||]");
	/* No context at all: everything is missing. */
	assert_render_all("[{{x}}{{.}}{{#x}}y{{/x}}{{^x}}z{{/x}}]", NULL, "[z]");
}

static void values_print_as_json_does(void **state)
{
	(void)state;
	/* Exactly as jansson prints them in envelopes: 15 significant digits,
	 * exponents without '+' or leading zeros. */
	assert_render_all("{{i}} {{n}} {{big}} {{r}} {{e}} {{one}} {{tiny}}",
	                  "{\"i\":42,\"n\":-7,\"big\":9007199254740993,\"r\":45.2,\"e\":1e20,"
	                  "\"one\":1.0,\"tiny\":0.000125}",
	                  "42 -7 9007199254740993 45.2 1e20 1.0 0.000125");
	assert_render_all("{{t}} {{f}} [{{z}}]", "{\"t\":true,\"f\":false,\"z\":null}",
	                  "true false []");
	assert_render("{{o}} {{a}}", TEXT, "{\"o\":{\"k\":\"v\",\"n\":[1,2.5]},\"a\":[\"x\",null]}",
	              "{\"k\":\"v\",\"n\":[1,2.5]} [\"x\",null]");
	assert_render("{{o}}", HTML, "{\"o\":{\"k\":\"<v>\"}}",
	              "{&quot;k&quot;:&quot;&lt;v&gt;&quot;}");
	assert_render("{{o}}", JSON, "{\"o\":{\"k\":\"v\\\"\"}}", "{\\\"k\\\":\\\"v\\\\\\\"\\\"}");
}

static void sections_over_arrays(void **state)
{
	const char *ctx = "{\"alerts\":[{\"name\":\"A\",\"severity\":\"critical\"},"
	                  "{\"name\":\"B\",\"severity\":\"warning\"}],\"none\":[]}";

	(void)state;
	assert_render_all("{{#alerts}}[{{name}}:{{severity}}]{{/alerts}}", ctx,
	                  "[A:critical][B:warning]");
	assert_render_all("<{{#none}}x{{/none}}>", ctx, "<>");
	/* Arrays of scalars: {{.}} is the element. */
	assert_render_all("{{#tags}}<{{.}}>{{/tags}}", "{\"tags\":[\"a\",2,true,1.5]}",
	                  "<a><2><true><1.5>");
	assert_render("{{#rows}}{{.}};{{/rows}}", TEXT, "{\"rows\":[[1,2],{\"k\":null}]}",
	              "[1,2];{\"k\":null};");
}

static void sections_over_truthy_values(void **state)
{
	const char *ctx = "{\"incident\":{\"title\":\"Disk\",\"id\":7},\"yes\":true,\"s\":\"x\","
	                  "\"n\":3,\"r\":0.5,\"neg\":-1,\"title\":\"outer\"}";

	(void)state;
	/* An object becomes the context. */
	assert_render_all("{{#incident}}{{title}}#{{id}}{{/incident}}", ctx, "Disk#7");
	/* Other truthy values render once in the same context. */
	assert_render_all("{{#yes}}{{title}}{{/yes}}", ctx, "outer");
	assert_render_all("{{#s}}{{title}}{{/s}}", ctx, "outer");
	assert_render_all("{{#n}}{{title}}{{/n}}{{#r}}!{{/r}}{{#neg}}-{{/neg}}", ctx, "outer!-");
}

static void falsy_values_skip_sections_and_render_inverted(void **state)
{
	static const char *const falsy[] = {"null", "false", "\"\"", "0", "0.0", "[]", "{}"};
	static const char *const truthy[] = {"true", "\" \"", "1", "-0.5", "[0]", "{\"a\":null}"};
	char ctx[64];

	(void)state;
	for (size_t i = 0; i < sizeof falsy / sizeof falsy[0]; i++) {
		snprintf(ctx, sizeof ctx, "{\"v\":%s}", falsy[i]);
		assert_render_all("<{{#v}}yes{{/v}}{{^v}}no{{/v}}>", ctx, "<no>");
	}
	for (size_t i = 0; i < sizeof truthy / sizeof truthy[0]; i++) {
		snprintf(ctx, sizeof ctx, "{\"v\":%s}", truthy[i]);
		assert_render_all("<{{#v}}yes{{/v}}{{^v}}no{{/v}}>", ctx, "<yes>");
	}
	assert_render_all("<{{#missing}}yes{{/missing}}{{^missing}}no{{/missing}}>", "{}", "<no>");
	assert_render_all("{{^a.b}}none{{/a.b}}", "{\"a\":{}}", "none");
}

static void nested_sections_resolve_names_outward(void **state)
{
	const char *ctx = "{\"source\":\"alertmanager\",\"name\":\"outer\","
	                  "\"incident\":{\"id\":42},"
	                  "\"alerts\":[{\"name\":\"A\",\"labels\":{\"instance\":\"db-01\"}},"
	                  "{\"labels\":{\"instance\":\"db-02\",\"name\":\"label\"}}]}";

	(void)state;
	/* instance from the labels, name from the alert (or further out when the
	 * alert has none), source and incident.id from the envelope. */
	assert_render_all("{{#alerts}}{{#labels}}{{instance}}/{{name}}/{{source}}/{{incident.id}};"
	                  "{{/labels}}{{/alerts}}",
	                  ctx, "db-01/A/alertmanager/42;db-02/label/alertmanager/42;");
	assert_render_all("{{#alerts}}{{name}};{{/alerts}}", ctx, "A;outer;");
	/* Only a path's first part looks outward: the first alert's labels
	 * have no name, and the envelope's name is not looked at for it. */
	assert_render_all("{{#alerts}}[{{labels.name}}]{{/alerts}}", ctx, "[][label]");
	/* Nested arrays. */
	assert_render_all("{{#m}}({{#.}}{{.}}{{/.}}){{/m}}", "{\"m\":[[1,2],[3]]}", "(12)(3)");
	/* A section over the same name inside itself. */
	assert_render_all("{{#a}}{{#a}}{{x}}{{/a}}{{/a}}", "{\"a\":{\"a\":{\"x\":1}}}", "1");
}

static void comments_render_nothing(void **state)
{
	(void)state;
	assert_render_all("a{{! a note }}b{{!}}c{{!\nmulti\nline }}d", "{}", "abcd");
	assert_render_all("a{{!{{x}}b", "{\"x\":1}", "ab");
}

static void standalone_tags_take_their_line(void **state)
{
	const char *tpl = "Alerts:\n"
	                  "  {{#alerts}}\n"
	                  "- {{name}}\n"
	                  "  {{/alerts}}\n"
	                  "{{! a comment line }}\r\n"
	                  "{{^alerts}}\n"
	                  "none\n"
	                  "{{/alerts}}\n"
	                  "end";

	(void)state;
	assert_render(tpl, TEXT, "{\"alerts\":[{\"name\":\"A\"},{\"name\":\"B\"}]}",
	              "Alerts:\n- A\n- B\nend");
	assert_render(tpl, TEXT, "{}", "Alerts:\nnone\nend");
	/* Not alone on the line: kept as written. */
	assert_render("x {{#a}}\ny{{/a}} z\n", TEXT, "{\"a\":true}", "x \ny z\n");
	/* Value tags never take their line. */
	assert_render("  {{v}}\n", TEXT, "{}", "  \n");
	/* A standalone tag at the very end. */
	assert_render("a\n{{#v}}b{{/v}}\n  {{! end }}", TEXT, "{}", "a\n\n");
}

static void text_mode_drops_control_characters(void **state)
{
	json_t *ctx = json_pack("{s:s}", "v", "a\tb\nc\rd\001e\033[31mf\x7fg\xc2\x85h\xc3\xa9");
	char *out = render_with("{{v}}|<>&\"'", TEXT, ctx);

	(void)state;
	assert_string_equal(out, "a\tb\ncde[31mfgh\xc3\xa9|<>&\"'");
	free(out);
	json_decref(ctx);
}

static void html_mode_escapes_markup(void **state)
{
	json_t *ctx = json_pack("{s:s,s:{s:s}}", "v", "a & b <c> \"d\" 'e'\001\n", "labels", "job",
	                        "<script>alert(1)</script>");
	char *out = render_with("<p title=\"{{v}}\">{{labels.job}}</p>", HTML, ctx);

	(void)state;
	assert_string_equal(out, "<p title=\"a &amp; b &lt;c&gt; &quot;d&quot; &#39;e&#39;\n\">"
	                         "&lt;script&gt;alert(1)&lt;/script&gt;</p>");
	assert_null(strstr(out, "<script"));
	free(out);
	json_decref(ctx);
}

/* In JSON mode, {"t":"{{v}}"} rendered with v is a JSON object whose only
 * key t holds exactly v: whatever v is, the output stays valid JSON. */
static void assert_json_holds(const char *v, const char *want_output)
{
	json_t *ctx = json_pack("{s:s}", "v", v), *doc;
	char *out = render_with("{\"t\":\"{{v}}\"}", JSON, ctx);
	json_error_t jerr;

	if (want_output)
		assert_string_equal(out, want_output);
	doc = json_loads(out, 0, &jerr);
	if (!doc)
		fail_msg("'%s' is not JSON: %s", out, jerr.text);
	assert_int_equal(json_object_size(doc), 1);
	assert_string_equal(json_string_value(json_object_get(doc, "t")), v);
	json_decref(doc);
	json_decref(ctx);
	free(out);
}

static void json_mode_escapes_string_contents(void **state)
{
	(void)state;
	assert_json_holds("\"},\"x\":\"", "{\"t\":\"\\\"},\\\"x\\\":\\\"\"}");
	assert_json_holds("line1\nline2\ttab", "{\"t\":\"line1\\nline2\\ttab\"}");
	assert_json_holds("back\\slash \"quoted\"", "{\"t\":\"back\\\\slash \\\"quoted\\\"\"}");
	assert_json_holds("cr\r bell\a esc\033 del\x7f",
	                  "{\"t\":\"cr\\u000d bell\\u0007 esc\\u001b del\x7f\"}");
	assert_json_holds("sep\xe2\x80\xa8par\xe2\x80\xa9", "{\"t\":\"sep\\u2028par\\u2029\"}");
	assert_json_holds("<b>&'caf\xc3\xa9'</b>", "{\"t\":\"<b>&'caf\xc3\xa9'</b>\"}");
	assert_json_holds("\\u0022}", NULL);
}

static void json_mode_injection_in_a_label_stays_inert(void **state)
{
	json_t *ctx = load_json("{\"alerts\":[{\"labels\":{\"job\":\"\\\"},\\\"admin\\\":true,"
	                        "\\\"x\\\":\\\"\"}}]}");
	char *out = render_with("{\"jobs\":[{{#alerts}}\"{{labels.job}}\"{{/alerts}}]}", JSON, ctx);
	json_t *doc = load_json(out);

	(void)state;
	assert_int_equal(json_object_size(doc), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "jobs"), 0)),
	                    "\"},\"admin\":true,\"x\":\"");
	json_decref(doc);
	json_decref(ctx);
	free(out);
}

static void invalid_utf8_in_values_becomes_replacement_characters(void **state)
{
	json_t *ctx = json_object();
	char *out;

	(void)state;
	json_object_set_new(ctx, "v",
	                    json_stringn_nocheck("a\xff"
	                                         "b\xc3(\xe2\x82",
	                                         7));
	json_object_set_new(ctx, "o", json_pack("{s:o}", "k", json_string_nocheck("\xfe")));
	out = render_with("{{v}}|{{o}}", TEXT, ctx);
	assert_string_equal(out, "a\xef\xbf\xbd"
	                         "b\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd|"
	                         "{\"k\":\"\xef\xbf\xbd\"}");
	free(out);
	out = render_with("{\"t\":\"{{v}}\"}", JSON, ctx);
	assert_string_equal(out, "{\"t\":\"a\xef\xbf\xbd"
	                         "b\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\"}");
	free(out);
	json_decref(ctx);
}

/* A value is data, never a template: tags inside it print as they are. */
static void tags_in_values_are_not_expanded(void **state)
{
	(void)state;
	assert_render_all("{{v}}", "{\"v\":\"{{secret}}{{#a}}x{{/a}}\",\"secret\":\"S\",\"a\":[1]}",
	                  "{{secret}}{{#a}}x{{/a}}");
	assert_render("<p>{{v}}</p>", HTML, "{\"v\":\"{{{secret}}}</p><script>\",\"secret\":\"S\"}",
	              "<p>{{{secret}}}&lt;/p&gt;&lt;script&gt;</p>");
}

static void triple_mustache_only_in_text(void **state)
{
	json_t *ctx = json_pack("{s:s}", "v", "<a>\001\"&");
	char *out = render_with("{{{v}}}|{{&v}}|{{ v }}|{{{ v }}}", TEXT, ctx);

	(void)state;
	assert_string_equal(out, "<a>\001\"&|<a>\001\"&|<a>\"&|<a>\001\"&");
	free(out);
	json_decref(ctx);
	assert_parse_error("ok {{{v}}}", HTML,
	                   "line 1, column 4: raw output {{{v}}} is not allowed in html templates");
	assert_parse_error("{\"t\":\"{{{v}}}\"}", JSON,
	                   "line 1, column 7: raw output {{{v}}} is not allowed in json templates");
	assert_parse_error("\n  {{& v }}", HTML,
	                   "line 2, column 3: raw output {{&v}} is not allowed in html templates");
	assert_parse_error("{{&v}}", JSON,
	                   "line 1, column 1: raw output {{&v}} is not allowed in json templates");
}

static void parse_errors_name_line_and_column(void **state)
{
	static const struct {
		const char *tpl, *message;
	} cases[] = {
	    {"one\ntwo\nabc {{#alerts}}x", "line 3, column 5: unclosed section 'alerts'"},
	    {"{{#a}}{{#b}}{{/b}}", "line 1, column 1: unclosed section 'a'"},
	    {"{{#a}}\n{{^b}}", "line 2, column 1: unclosed section 'b'"},
	    {"x\n {{/x}}", "line 2, column 2: unexpected {{/x}}"},
	    {"{{#x}}{{/y}}", "line 1, column 7: mismatched {{/y}} for {{#x}}"},
	    {"{{^x}}\n\t{{/ y }}", "line 2, column 2: mismatched {{/y}} for {{^x}}"},
	    {"a {{}}", "line 1, column 3: empty tag"},
	    {"{{  }}", "line 1, column 1: empty tag"},
	    {"{{#}}", "line 1, column 1: empty tag"},
	    {"{{/ }}", "line 1, column 1: empty tag"},
	    {"{{{}}}", "line 1, column 1: empty tag"},
	    {"ab\n{{x", "line 2, column 1: unterminated tag"},
	    {"{{x}", "line 1, column 1: unterminated tag"},
	    {"{{{x}}", "line 1, column 1: unterminated tag"},
	    {"\xc3\xa9t\xc3\xa9 {{x", "line 1, column 5: unterminated tag"},
	    {"{{> partial}}", "line 1, column 1: partials are not supported"},
	    {"{{=<% %>=}}", "line 1, column 1: delimiter changes are not supported"},
	    {"{{a..b}}", "line 1, column 1: invalid name 'a..b'"},
	    {"{{a b}}", "line 1, column 1: invalid name 'a b'"},
	    {"{{.a}}", "line 1, column 1: invalid name '.a'"},
	    {"{{a.}}", "line 1, column 1: invalid name 'a.'"},
	    {"{{#a{b}}{{/a{b}}", "line 1, column 1: invalid name 'a{b'"},
	    {"x {{ #a }}", "line 1, column 3: invalid name '#a'"},
	    {"{{{^a}}}", "line 1, column 1: invalid name '^a'"},
	    {"ok\nx\xff", "line 2, column 2: invalid UTF-8"},
	    {"\xed\xa0\x80", "line 1, column 1: invalid UTF-8"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		for (int mode = TEXT; mode <= JSON; mode++)
			assert_parse_error(cases[i].tpl, mode, cases[i].message);
	assert_parse_error_n("ab\0c", 4, TEXT, "line 1, column 3: NUL byte");
}

static void long_names_are_shortened_in_messages(void **state)
{
	char tpl[300], want[200];

	(void)state;
	memset(tpl, 'n', sizeof tpl);
	memcpy(tpl, "{{/", 3);
	memcpy(tpl + 200, "}}", 3);
	snprintf(want, sizeof want, "line 1, column 1: unexpected {{/%.64s}}", tpl + 3);
	assert_parse_error(tpl, TEXT, want);
}

/* "{{#a}}" n times, then as many closing tags. */
static char *nested(int n)
{
	char *tpl = calloc((size_t)n * 12 + 1, 1);

	assert_non_null(tpl);
	for (int i = 0; i < n; i++) {
		memcpy(tpl + i * 6, "{{#a}}", 6);
		memcpy(tpl + (n + i) * 6, "{{/a}}", 6);
	}
	return tpl;
}

static void deep_nesting_is_refused(void **state)
{
	char *tpl = nested(SM_TEMPLATE_MAX_DEPTH);
	json_t *ctx = load_json("{\"a\":{\"x\":1}}");
	char *out;

	(void)state;
	out = render_with(tpl, TEXT, ctx);
	assert_string_equal(out, "");
	free(out);
	free(tpl);
	tpl = nested(SM_TEMPLATE_MAX_DEPTH + 1);
	assert_parse_error(tpl, TEXT, "line 1, column 193: sections nested deeper than 32");
	free(tpl);
	tpl = nested(10000);
	assert_parse_error(tpl, JSON, "line 1, column 193: sections nested deeper than 32");
	free(tpl);
	json_decref(ctx);
}

static void output_is_capped_at_one_mebibyte(void **state)
{
	size_t cap = SM_TEMPLATE_MAX_OUTPUT;
	char *big = malloc(cap + 2);
	json_t *ctx = json_object(), *many = json_array();
	sm_error err;
	sm_template *t;
	char *out;
	size_t len;

	(void)state;
	memset(big, 'x', cap + 1);
	big[cap] = '\0';
	/* Exactly the cap is fine. */
	json_object_set_new(ctx, "v", json_string(big));
	out = render_with("{{v}}", TEXT, ctx);
	assert_int_equal(strlen(out), cap);
	free(out);
	/* One byte more is not, whether in one piece or after escaping grows it. */
	assert_render_error("{{v}}!", TEXT, ctx, "output larger than 1 MiB");
	big[cap / 4 + 1] = '\0';
	memset(big, '<', cap / 4 + 1);
	json_object_set_new(ctx, "v", json_string(big));
	assert_render_error("{{v}}", HTML, ctx, "output larger than 1 MiB");
	/* A section over a huge array stops at the cap. */
	for (int i = 0; i < 300000; i++)
		json_array_append_new(many, json_integer(i));
	json_object_set_new(ctx, "many", many);
	assert_render_error("{{#many}}<li>{{.}}</li>\n{{/many}}", HTML, ctx,
	                    "output larger than 1 MiB");
	assert_render_error("{{many}}", JSON, ctx, "output larger than 1 MiB");
	/* The same compiled template still renders small contexts after that. */
	t = sm_template_parse("{{#many}}{{.}}{{/many}}", strlen("{{#many}}{{.}}{{/many}}"), TEXT,
	                      &err);
	assert_non_null(t);
	assert_null(sm_template_render(t, ctx, &len, &err));
	json_object_set_new(ctx, "many", json_pack("[i,i]", 1, 2));
	out = sm_template_render(t, ctx, &len, &err);
	assert_string_equal(out, "12");
	assert_int_equal(len, 2);
	free(out);
	sm_template_free(t);
	free(big);
	json_decref(ctx);
}

static void endless_empty_sections_are_stopped(void **state)
{
	json_t *ctx = json_object(), *a = json_array();

	(void)state;
	for (int i = 0; i < 1000; i++)
		json_array_append_new(a, json_true());
	json_object_set_new(ctx, "a", a);
	assert_render_error("{{#a}}{{#a}}{{#a}}{{/a}}{{/a}}{{/a}}", TEXT, ctx,
	                    "rendering takes more than 10000000 steps");
	json_decref(ctx);
}

static void compiled_once_rendered_many(void **state)
{
	sm_error err;
	const char *tpl = "{{#a}}{{.}}{{/a}}{{^a}}-{{/a}}";
	sm_template *t = sm_template_parse(tpl, strlen(tpl), TEXT, &err);
	static const char *const contexts[] = {"{\"a\":[1,2]}", "{}", "{\"a\":\"s\"}", "[]"};
	static const char *const wants[] = {"12", "-", "{\"a\":\"s\"}", "-"};

	(void)state;
	assert_non_null(t);
	assert_int_equal(sm_template_mode_of(t), TEXT);
	for (size_t i = 0; i < 4; i++) {
		json_t *ctx = load_json(contexts[i]);
		char *out = sm_template_render(t, ctx, NULL, &err);
		assert_non_null(out);
		assert_string_equal(out, wants[i]);
		free(out);
		json_decref(ctx);
	}
	sm_template_free(t);
	sm_template_free(NULL);
}

static int write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	return fclose(f);
}

static void templates_load_from_files(void **state)
{
	char *big = malloc(SM_TEMPLATE_MAX_FILE + 1), want[8400];
	json_t *ctx = load_json("{\"x\":\"<1>\"}");
	sm_error err = {0};
	sm_template *t;
	char *out;

	(void)state;
	scratch_make("sm-template");
	write_file(at("ok.html"), "<b>{{x}}</b>\n", 13);
	t = sm_template_load(at("ok.html"), HTML, &err);
	assert_non_null(t);
	out = sm_template_render(t, ctx, NULL, &err);
	assert_string_equal(out, "<b>&lt;1&gt;</b>\n");
	free(out);
	sm_template_free(t);

	write_file(at("bad.json"), "{\"a\":\"{{#x}}\"}\n\xff", 17);
	assert_null(sm_template_load(at("bad.json"), JSON, &err));
	snprintf(want, sizeof want, "%s: line 2, column 1: invalid UTF-8", at("bad.json"));
	assert_string_equal(err.msg, want);

	memset(big, ' ', SM_TEMPLATE_MAX_FILE + 1);
	write_file(at("max.txt"), big, SM_TEMPLATE_MAX_FILE);
	t = sm_template_load(at("max.txt"), TEXT, &err);
	assert_non_null(t);
	sm_template_free(t);
	write_file(at("big.txt"), big, SM_TEMPLATE_MAX_FILE + 1);
	assert_null(sm_template_load(at("big.txt"), TEXT, &err));
	snprintf(want, sizeof want, "%s: template larger than 256 KiB", at("big.txt"));
	assert_string_equal(err.msg, want);

	assert_null(sm_template_load(at("missing"), TEXT, &err));
	snprintf(want, sizeof want, "%s: No such file or directory", at("missing"));
	assert_string_equal(err.msg, want);
	assert_null(sm_template_load(scratch_root(), TEXT, &err));
	snprintf(want, sizeof want, "%s: Is a directory", scratch_root());
	assert_string_equal(err.msg, want);
	free(big);
	json_decref(ctx);
}

/* An incident envelope as sm-ingest and sm-check leave it. */
static const char incident_envelope[] =
    "{\"v\":1,\"trace_id\":\"9f2c0000000000000000000000000032\",\"source\":\"alertmanager\","
    "\"incident\":{\"id\":42,\"title\":\"DiskSpaceLow on db-01\",\"status\":\"open\","
    "\"severity\":\"critical\",\"created_at\":\"2026-11-21T10:00:00Z\"},"
    "\"alerts\":[{\"id\":7,\"name\":\"DiskSpaceLow\",\"status\":\"firing\","
    "\"severity\":\"critical\",\"description\":\"/ is 91% full\\non \\\"db-01\\\"\","
    "\"labels\":{\"instance\":\"db-01\",\"job\":\"<img src=x onerror=alert(1)>\"},"
    "\"annotations\":{},\"started_at\":\"2026-11-21T10:00:00Z\",\"ended_at\":null,"
    "\"change\":\"created\"},"
    "{\"id\":8,\"name\":\"HighLoad\",\"status\":\"resolved\",\"severity\":\"warning\","
    "\"description\":\"load 12.5\",\"labels\":{\"instance\":\"db-01\"},\"change\":\"resolved\"}],"
    "\"checks\":[{\"checker\":\"disk\",\"status\":\"critical\",\"message\":\"/ at 91.0%\","
    "\"metrics\":{\"percent\":91.0},\"duration_ms\":0.4}],"
    "\"analysis\":{\"provider\":\"local\",\"status\":\"ok\",\"summary\":\"Disk nearly full\","
    "\"recommendations\":[{\"type\":\"disk\",\"priority\":\"high\",\"title\":\"Free space\","
    "\"description\":\"Rotate logs\",\"actions\":[\"journalctl --vacuum-size=500M\","
    "\"apt-get clean\"]}]}}";

static const char slack_template[] =
    "{\"text\":\"[{{incident.severity}}] {{incident.title}}\",\n"
    " \"blocks\":[\n"
    "  {\"type\":\"header\",\"text\":{\"type\":\"plain_text\",\"text\":\"{{incident.title}}\"}},\n"
    "  {{#alerts}}\n"
    "  {\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":\"*{{name}}* "
    "({{status}}) on {{labels.instance}}: {{description}} [{{source}}]\"}},\n"
    "  {{/alerts}}\n"
    "  {{#analysis}}\n"
    "  {\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":\"{{summary}}"
    "{{#recommendations}}\\n• {{title}}{{#actions}} `{{.}}`{{/actions}}{{/recommendations}}\"}},\n"
    "  {{/analysis}}\n"
    "  {\"type\":\"context\",\"elements\":[{\"type\":\"mrkdwn\",\"text\":\"incident "
    "#{{incident.id}}, trace {{trace_id}}\"}]}\n"
    " ]}\n";

static void incident_renders_to_a_slack_body(void **state)
{
	json_t *env = load_json(incident_envelope), *body, *blocks;
	char *out = render_with(slack_template, JSON, env);

	(void)state;
	body = load_json(out);
	assert_string_equal(json_string_value(json_object_get(body, "text")),
	                    "[critical] DiskSpaceLow on db-01");
	blocks = json_object_get(body, "blocks");
	assert_int_equal(json_array_size(blocks), 5);
	assert_string_equal(
	    json_string_value(
	        json_object_get(json_object_get(json_array_get(blocks, 1), "text"), "text")),
	    "*DiskSpaceLow* (firing) on db-01: / is 91% full\non \"db-01\" [alertmanager]");
	assert_string_equal(
	    json_string_value(
	        json_object_get(json_object_get(json_array_get(blocks, 3), "text"), "text")),
	    "Disk nearly full\n• Free space `journalctl --vacuum-size=500M` `apt-get clean`");
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_array_get(json_object_get(json_array_get(blocks, 4), "elements"), 0), "text")),
	    "incident #42, trace 9f2c0000000000000000000000000032");
	json_decref(body);
	json_decref(env);
	free(out);
}

static const char email_template[] =
    "<html><body>\n"
    "<h1>[{{incident.severity}}] {{incident.title}}</h1>\n"
    "<table>\n"
    "{{#alerts}}\n"
    "<tr><td>{{name}}</td><td>{{status}}</td><td>{{labels.job}}</td><td>{{description}}</td>"
    "</tr>\n"
    "{{/alerts}}\n"
    "</table>\n"
    "{{#checks}}\n"
    "<p>{{checker}}: {{message}} ({{metrics.percent}})</p>\n"
    "{{/checks}}\n"
    "{{^analysis.recommendations}}\n"
    "<p>No recommendations.</p>\n"
    "{{/analysis.recommendations}}\n"
    "</body></html>\n";

static void incident_renders_to_an_html_mail(void **state)
{
	json_t *env = load_json(incident_envelope);
	char *out = render_with(email_template, HTML, env);

	(void)state;
	assert_non_null(strstr(out, "<h1>[critical] DiskSpaceLow on db-01</h1>\n<table>\n<tr>"));
	assert_non_null(strstr(out, "<tr><td>DiskSpaceLow</td><td>firing</td>"
	                            "<td>&lt;img src=x onerror=alert(1)&gt;</td>"
	                            "<td>/ is 91% full\non &quot;db-01&quot;</td></tr>\n"
	                            "<tr><td>HighLoad</td><td>resolved</td><td></td>"));
	assert_non_null(strstr(out, "</table>\n<p>disk: / at 91.0% (91.0)</p>\n</body></html>\n"));
	assert_null(strstr(out, "<img"));
	assert_null(strstr(out, "No recommendations"));
	json_decref(env);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(variables_and_dotted_paths),
	    cmocka_unit_test(array_indexes_in_paths),
	    cmocka_unit_test(missing_values_render_empty),
	    cmocka_unit_test(values_print_as_json_does),
	    cmocka_unit_test(sections_over_arrays),
	    cmocka_unit_test(sections_over_truthy_values),
	    cmocka_unit_test(falsy_values_skip_sections_and_render_inverted),
	    cmocka_unit_test(nested_sections_resolve_names_outward),
	    cmocka_unit_test(comments_render_nothing),
	    cmocka_unit_test(standalone_tags_take_their_line),
	    cmocka_unit_test(text_mode_drops_control_characters),
	    cmocka_unit_test(html_mode_escapes_markup),
	    cmocka_unit_test(json_mode_escapes_string_contents),
	    cmocka_unit_test(json_mode_injection_in_a_label_stays_inert),
	    cmocka_unit_test(invalid_utf8_in_values_becomes_replacement_characters),
	    cmocka_unit_test(tags_in_values_are_not_expanded),
	    cmocka_unit_test(triple_mustache_only_in_text),
	    cmocka_unit_test(parse_errors_name_line_and_column),
	    cmocka_unit_test(long_names_are_shortened_in_messages),
	    cmocka_unit_test(deep_nesting_is_refused),
	    cmocka_unit_test(output_is_capped_at_one_mebibyte),
	    cmocka_unit_test(endless_empty_sections_are_stopped),
	    cmocka_unit_test(compiled_once_rendered_many),
	    cmocka_unit_test_teardown(templates_load_from_files, scratch_remove),
	    cmocka_unit_test(incident_renders_to_a_slack_body),
	    cmocka_unit_test(incident_renders_to_an_html_mail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
