/* test_matcher.c - Alertmanager's label matchers (parsing, anchoring,
 * missing labels, the names an alert offers), and maintenance schedules,
 * each a table of cases (durations: test_config). */
#include "sm/matcher.h"
#include "sm/noise.h"
#include "testutil.h"

/* The alert every matching case is tried against. */
#define ALERT                                                                                      \
	"{\"name\":\"DiskFull\",\"severity\":\"warning\",\"status\":\"firing\","                   \
	"\"labels\":{\"instance\":\"web-1\",\"job\":\"node\",\"path\":\"/var lib\","               \
	"\"quote\":\"a\\\"b\"}}"

static const struct match_case {
	const char *matcher;
	bool matches;
} match_cases[] = {
    {"job=node", true},
    {"job=nod", false},
    {"job!=node", false},
    {"job!=db", true},
    {"instance=~web", false}, /* anchored: the whole value */
    {"instance=~web-.*", true},
    {"instance=~\"web-[0-9]+\"", true},
    {"instance=~eb-1", false},
    {"instance=~.*eb-1", true},
    {"instance!~web", true},
    {"instance!~web-1|db-1", false},
    {"instance=~web-2|db-1", false},
    {"team=", true}, /* a missing label is "" */
    {"team!=web", true},
    {"team=~", true},
    {"team=~.+", false},
    {"team!~.+", true},
    {"team=web", false},
    {"alertname=DiskFull", true}, /* the alert's name */
    {"alertname=~Disk.*", true},
    {"severity=warning", true}, /* the alert's severity */
    {"severity!=critical", true},
    {"path=\"/var lib\"", true}, /* quoted, a space inside */
    {"path=/var lib", true},     /* bare, the rest of the word */
    {"quote=\"a\\\"b\"", true},  /* an escaped quote */
    {"job=~\"(node|db)\"", true},
    {"quote=a\\\"b", true},                        /* bare, escaped the same way */
    {" job = node ", true},                        /* spaces around do not count */
    {"instance=~web\\-1", true},                   /* \- stays a backslash and '-' */
    {"instance=~\"web\\.1\"", false},              /* \. stays: a literal dot */
    {"path=\"/var lib\\\\\"", false},              /* \\ is one backslash */
    {"job=\"no\\de\"", false},                     /* \d stays: "no\de" */
    {"instance=~\"[a-z]{1,3}-[0-9]{1,3}\"", true}, /* counted repetitions within bounds */
    {"instance=~\"([[:alpha:]]+-[[:digit:]])\"", true},
    {"instance=~web-1{1}", true},
    {"instance=~\"we{,1}b-[0-9]{,3}\"", true},                          /* glibc's {,m}: 0 to m */
    {"instance=~\"(([a-z0-9-]{1,63}\\.){0,9}[a-z0-9-]{1,63})\"", true}, /* a host name */
    {"job=~no{2,}de|x", false},
    {"instance=~\"(w?e?){,9}b-1\"", true}, /* what may be empty, counted a little */
    {"instance=~\"(web|db)?-?[0-9]{1,3}\"", true},
    {"job=~node)|(x", false}, /* never reached: does not parse */
};

static void matching_table(void **state)
{
	json_t *alert = json_loads(ALERT, 0, NULL);

	(void)state;
	assert_non_null(alert);
	for (size_t i = 0; i < sizeof match_cases / sizeof match_cases[0]; i++) {
		const struct match_case *c = &match_cases[i];
		sm_matcher m;
		sm_error err;

		if (sm_matcher_parse(c->matcher, &m, &err) < 0) {
			if (c->matches)
				fail_msg("%s: does not parse: %s", c->matcher, err.msg);
			continue;
		}
		if (sm_matcher_matches(&m, alert) != c->matches)
			fail_msg("%s: matches %d, want %d", c->matcher, !c->matches, c->matches);
		sm_matcher_clear(&m);
	}
	json_decref(alert);
}

/* What does not parse, and the kind of error it is. */
static const char *const bad_matchers[] = {
    "",
    "job",
    "=node",
    "9job=x",
    "job==~x",
    "job=~(",
    "job=~[",
    "job=~node)|(x",
    "job=\"open",
    "job=\"a\"b",
    "job=a\"b",
    "job=\"",
    "job=\"a\\\"",
    "job~=x",
    "job-x=y",
    /* What would cost glibc's regcomp gigabytes, and back-references. */
    "job=~a+++++++++++++++++++++++++++++++++++++++++++++++++++++++++",
    "job=~[09]++++++++++++++++++++++++++++++++++++++++++++++++++++++",
    ("job=~((((((((((((((((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+"
     ")"
     "+)+"),
    "job=~((a{99}){99}){99}",
    "job=~a{30000}",
    /* glibc reads "{,m}" as "{0,m}": counted too (fuzz_matcher, CI: 2.4 GB). */
    "job=~(a{,99}){,99}",
    "job=~((a{,9}){,9}){,99}",
    /* An unmatched ')' would close the anchors' group ("^()|x)$" matches
     * everything; "^(){6,627}" costs regcomp gigabytes): found by fuzz_matcher. */
    "job=~)|x",
    "job=~a)",
    "job=~){6,627}x",
    "job=~){6667}x",
    "job=~(a)\\1",
    /* Stacked repetitions: regcomp's closures grow with their square. */
    "job=~x**",
    "job=~x*****************************************************************",
    "job=~x+?",
    /* A counted repetition of what may match nothing costs the square of
     * its count: found by fuzz_matcher (1.1 GB for the anchored form). */
    "job=~a{,9}((){,04}){,99}",
    "job=~((a|){,4}){,99}",
    "job=~(a?){,300}",
    "job=~((((a?){,9})*){,9})",
    "job=~(a{,9}){,99}",
    "job=~(\\b){,99}", /* boundaries and anchors match the empty string too */
    "job=~(\\<){,300}",
    "job=~(a|^){,99}",
};

static void parse_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_matchers / sizeof bad_matchers[0]; i++) {
		sm_matcher m;
		sm_error err = {0};

		if (strcmp(bad_matchers[i], "job==~x") == 0) {
			/* "=" then the value "=~x": parses, as in Alertmanager. */
			assert_int_equal(sm_matcher_parse(bad_matchers[i], &m, &err), 0);
			assert_string_equal(m.value, "=~x");
			sm_matcher_clear(&m);
			continue;
		}
		if (sm_matcher_parse(bad_matchers[i], &m, &err) == 0)
			fail_msg("'%s' parsed", bad_matchers[i]);
		assert_int_equal(err.kind, SM_ERROR_USAGE);
		assert_non_null(strchr(err.msg, ' '));
	}
}

/* The canonical text quotes and escapes; parsing it gives it back. */
static void canonical_text(void **state)
{
	static const char *const cases[][2] = {
	    {"job=node", "job=\"node\""},
	    {"job!~\"a\\\\b\"", "job!~\"a\\\\b\""},
	    {"path=\"a \\\"b\\\"\\n\"", "path=\"a \\\"b\\\"\\n\""},
	    {"team=", "team=\"\""},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sm_matcher m, again;
		sm_error err;
		char *text, *text2;

		assert_int_equal(sm_matcher_parse(cases[i][0], &m, &err), 0);
		text = sm_matcher_text(&m);
		assert_string_equal(text, cases[i][1]);
		assert_int_equal(sm_matcher_parse(text, &again, &err), 0);
		text2 = sm_matcher_text(&again);
		assert_string_equal(text2, text);
		assert_string_equal(again.value, m.value);
		free(text);
		free(text2);
		sm_matcher_clear(&m);
		sm_matcher_clear(&again);
	}
}

/* All matchers of a list must hold; an empty list holds for anything. */
static void lists(void **state)
{
	static const char *const both[] = {"job=node", "instance=~web-.*"};
	static const char *const one_off[] = {"job=node", "instance=db-1"};
	json_t *alert = json_loads(ALERT, 0, NULL), *texts;
	sm_matchers a = {0}, b = {0}, none = {0}, from_json = {0};
	sm_error err;

	(void)state;
	assert_int_equal(sm_matchers_parse(&a, both, 2, &err), 0);
	assert_int_equal(sm_matchers_parse(&b, one_off, 2, &err), 0);
	assert_true(sm_matchers_match(&a, alert));
	assert_false(sm_matchers_match(&b, alert));
	assert_true(sm_matchers_match(&none, alert));
	texts = sm_matchers_to_json(&a);
	assert_int_equal(sm_matchers_from_json(&from_json, texts, &err), 0);
	assert_int_equal(from_json.count, 2);
	assert_true(sm_matchers_match(&from_json, alert));
	json_decref(texts);
	texts = json_pack("[s,i]", "job=node", 3);
	sm_matchers_clear(&from_json);
	assert_int_equal(sm_matchers_from_json(&from_json, texts, &err), -1);
	assert_int_equal(err.kind, SM_ERROR_DATA);
	json_decref(texts);
	assert_int_equal(sm_matchers_parse(&none, &one_off[0], 1, &err), 0);
	{
		const char *bad = "x=~(";
		assert_int_equal(sm_matchers_parse(&none, &bad, 1, &err), -1);
		assert_non_null(strstr(err.msg, "matcher 'x=~('"));
	}
	sm_matchers_clear(&a);
	sm_matchers_clear(&b);
	sm_matchers_clear(&none);
	sm_matchers_clear(&from_json);
	json_decref(alert);
}

/* instance falls back to hostname, then instance_id; a label wins over
 * the alert's own name and severity. */
static void offered_names(void **state)
{
	json_t *a = json_loads("{\"name\":\"X\",\"severity\":\"info\",\"labels\":{\"hostname\":"
	                       "\"h1\",\"alertname\":\"Y\",\"severity\":\"page\"}}",
	                       0, NULL),
	       *b =
	           json_loads("{\"name\":\"X\",\"labels\":{\"instance_id\":\"agent-7\"}}", 0, NULL);

	(void)state;
	assert_string_equal(sm_matcher_value(a, "instance"), "h1");
	assert_string_equal(sm_matcher_value(a, "alertname"), "Y");
	assert_string_equal(sm_matcher_value(a, "severity"), "page");
	assert_string_equal(sm_matcher_value(b, "instance"), "agent-7");
	assert_string_equal(sm_matcher_value(b, "alertname"), "X");
	assert_string_equal(sm_matcher_value(b, "severity"), "");
	assert_string_equal(sm_matcher_value(b, "nothing"), "");
	json_decref(a);
	json_decref(b);
}

/* --- schedules ------------------------------------------------------------ */

/* A schedule, then a weekday (0 Sunday), a time and whether it is inside. */
static const struct schedule_case {
	const char *schedule;
	int wday;
	const char *at;
	bool inside;
} schedule_cases[] = {
    {"Sun 02:00-04:00", 0, "02:00", true},
    {"Sun 02:00-04:00", 0, "03:59", true},
    {"Sun 02:00-04:00", 0, "04:00", false}, /* the end is outside */
    {"Sun 02:00-04:00", 0, "01:59", false},
    {"Sun 02:00-04:00", 1, "03:00", false},
    {"Mon-Fri 22:00-23:30", 3, "22:30", true},
    {"Mon-Fri 22:00-23:30", 6, "22:30", false},
    {"mon-fri 22:00-23:30", 5, "23:29", true},
    {"Fri-Mon 10:00-11:00", 0, "10:30", true}, /* a span that wraps */
    {"Fri-Mon 10:00-11:00", 2, "10:30", false},
    {"Sun 23:00-01:00", 0, "23:30", true}, /* across midnight: into Monday */
    {"Sun 23:00-01:00", 1, "00:30", true},
    {"Sun 23:00-01:00", 1, "01:00", false},
    {"Sun 23:00-01:00", 0, "00:30", false}, /* Saturday night is not in it */
    {"Sat 23:00-01:00", 0, "00:30", true},  /* Saturday's range, Sunday morning */
    {"Mon,Wed 02:00-03:00", 3, "02:30", true},
    {"Mon,Wed 02:00-03:00", 2, "02:30", false},
    {"Mon 02:00-03:00; Wed 05:00-06:00", 3, "05:15", true},
    {"Mon 02:00-03:00, Wed 05:00-06:00", 3, "02:15", false},
    {"daily 00:00-24:00", 4, "23:59", true},
    {"12:00-13:00", 6, "12:00", true}, /* no days: every day */
    {"Tuesday 08:00-09:00", 2, "08:00", true},
};

static int minutes(const char *hhmm)
{
	return atoi(hhmm) * 60 + atoi(hhmm + 3);
}

static void schedule_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof schedule_cases / sizeof schedule_cases[0]; i++) {
		const struct schedule_case *c = &schedule_cases[i];
		sm_noise_schedule s;
		sm_error err;

		if (sm_noise_schedule_parse(c->schedule, &s, &err) < 0)
			fail_msg("%s: %s", c->schedule, err.msg);
		if (sm_noise_schedule_active(&s, c->wday, minutes(c->at)) != c->inside)
			fail_msg("%s: day %d %s: inside %d, want %d", c->schedule, c->wday, c->at,
			         !c->inside, c->inside);
	}
}

static void schedule_errors(void **state)
{
	static const char *const bad[] = {
	    "",
	    "Sun",
	    "Sun 02:00",
	    "Sun 2:00-4:00",
	    "Sun 02:00-02:00",
	    "Sun 25:00-26:00",
	    "Sun 02:60-03:00",
	    "Sun 24:00-01:00",
	    "Sunny 02:00-04:00",
	    "Mon-Funday 02:00-04:00",
	    "Mon 02:00-03:00;",
	    "Mon 02:00-03:00,,Tue 02:00-03:00",
	    "Mon 02:00-03:00 Tue",
	    "Mon - Fri 02:00-03:00",
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sm_noise_schedule s;
		sm_error err = {0};

		if (sm_noise_schedule_parse(bad[i], &s, &err) == 0)
			fail_msg("'%s' parsed", bad[i]);
		assert_int_equal(err.kind, SM_ERROR_USAGE);
		assert_non_null(strstr(err.msg, "schedule"));
	}
}

/* A moment seen in a zone: 2026-12-06 (a Sunday) 01:30 UTC is 02:30 in
 * Berlin (inside Sun 02:00-04:00), 20:30 on Saturday in New York. */
static void schedule_in_zones(void **state)
{
	sm_noise_schedule s;
	sm_error err;
	const time_t t = 1796520600; /* 2026-12-06T01:30:00Z */
	const char *tz = getenv("TZ");

	(void)state;
	assert_int_equal(sm_noise_schedule_parse("Sun 02:00-04:00", &s, &err), 0);
	assert_true(sm_noise_schedule_active_at(&s, "Europe/Berlin", t));
	assert_false(sm_noise_schedule_active_at(&s, "UTC", t));
	assert_false(sm_noise_schedule_active_at(&s, "America/New_York", t));
	assert_int_equal(sm_noise_schedule_parse("Sat 20:00-21:00", &s, &err), 0);
	assert_true(sm_noise_schedule_active_at(&s, "America/New_York", t));
	/* TZ is as it was. */
	if (tz)
		assert_string_equal(getenv("TZ"), tz);
	else
		assert_null(getenv("TZ"));
	assert_true(sm_noise_zone_valid(""));
	assert_true(sm_noise_zone_valid("UTC"));
	assert_true(sm_noise_zone_valid("Europe/Berlin"));
	assert_false(sm_noise_zone_valid("Mars/Olympus"));
	assert_false(sm_noise_zone_valid("../../etc/passwd"));
	assert_false(sm_noise_zone_valid("/etc/localtime"));
	assert_false(sm_noise_zone_valid("Europe"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(matching_table),  cmocka_unit_test(parse_errors),
	    cmocka_unit_test(canonical_text),  cmocka_unit_test(lists),
	    cmocka_unit_test(offered_names),   cmocka_unit_test(schedule_table),
	    cmocka_unit_test(schedule_errors), cmocka_unit_test(schedule_in_zones),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
