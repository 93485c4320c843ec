/* test_flap.c - flap detection: the weighted percentage of state changes
 * over an alert's last results, the start and stop thresholds with their
 * hysteresis, and the write path keeping the flapping state per alert
 * (envelopes, history, the store); and an acknowledgement ending when the
 * incident's severity rises. */
#include <unistd.h>
#include "testutil.h"
#include "sm/ingest.h"

static char dir[64], path[128];
static sm_store *store;
static sm_ingest *writer;

static int setup(void **state)
{
	sm_error err;

	(void)state;
	unsetenv("SM_FLAP_START");
	unsetenv("SM_FLAP_STOP");
	unsetenv("SM_FLAP_QUIET_S");
	snprintf(dir, sizeof dir, "/tmp/sm-flap-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/sm.db", dir);
	if (sm_store_open(path, &store, &err) < 0)
		return -1;
	writer = sm_ingest_new(store, &err);
	return writer ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	sm_ingest_free(writer);
	sm_store_close(store);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Results (oldest first) and their weighted percentage of changes. The
 * 20 transitions of a full window weigh 0.8, 0.8 + 0.4/19, ... 1.2. */
static const struct {
	const char *states;
	double percent;
} percent_cases[] = {
    {"", 0},
    {"F", 0},
    {"FFFFFFFFFFFFFFFFFFFFF", 0},
    {"RRRRRRRRRRRRRRRRRRRRR", 0},
    {"FRFRFRFRFRFRFRFRFRFRF", 100},
    /* One change: its weight over 20 transitions. */
    {"FRRRRRRRRRRRRRRRRRRRR", 0.8 * 100 / 20},
    {"FFFFFFFFFFFFFFFFFFFFR", 1.2 * 100 / 20},
    /* Fewer results: the missing older ones changed nothing, the newest
     * transition still weighs 1.2. */
    {"FR", 6},
    {"FRF", (1.2 + (0.8 + 0.4 * 18 / 19)) * 100 / 20},
    /* Four changes in five results: above the start threshold. */
    {"FRFRF",
     (1.2 + (0.8 + 0.4 * 18 / 19) + (0.8 + 0.4 * 17 / 19) + (0.8 + 0.4 * 16 / 19)) * 100 / 20},
    /* Changes in the first half of the window weigh less than in the second. */
    {"FRFRFFFFFFFFFFFFFFFFF",
     (0.8 + (0.8 + 0.4 / 19) + (0.8 + 0.4 * 2 / 19) + (0.8 + 0.4 * 3 / 19)) * 100 / 20},
    {"FFFFFFFFFFFFFFFFFFRFR", (1.2 + (0.8 + 0.4 * 18 / 19) + (0.8 + 0.4 * 17 / 19)) * 100 / 20},
};

static void percent_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof percent_cases / sizeof percent_cases[0]; i++) {
		double got = sm_ingest_flap_percent(percent_cases[i].states);
		if (fabs(got - percent_cases[i].percent) > 1e-9)
			fail_msg("'%s': %.6f%%, want %.6f%%", percent_cases[i].states, got,
			         percent_cases[i].percent);
	}
	/* Later changes weigh more than earlier ones. */
	assert_true(sm_ingest_flap_percent("FFFFFFFFFFFFFFFFFFRFR") >
	            sm_ingest_flap_percent("FRFRFFFFFFFFFFFFFFFFF"));
}

static void push_keeps_the_window(void **state)
{
	char states[SM_FLAP_WINDOW + 1] = "";

	(void)state;
	for (int i = 0; i < SM_FLAP_WINDOW; i++)
		sm_ingest_flap_push(states, i % 2 ? SM_FLAP_RESOLVED : SM_FLAP_FIRING);
	assert_string_equal(states, "FRFRFRFRFRFRFRFRFRFRF");
	sm_ingest_flap_push(states, SM_FLAP_FIRING);
	assert_string_equal(states, "RFRFRFRFRFRFRFRFRFRFF");
	sm_ingest_flap_push(states, SM_FLAP_RESOLVED);
	assert_string_equal(states, "FRFRFRFRFRFRFRFRFRFFR");
}

/* Sequences of results: where the alert starts and stops flapping, with
 * the default thresholds (start above 20%, stop below 5%). flaps[i] is
 * the state after result i: '.' not flapping, 'x' flapping. */
static const struct {
	const char *what, *results, *flaps;
} sequence_cases[] = {
    {"steady", "FFFFFFFFFF", ".........."},
    {"one change each way", "FFFRRRFFF", "........."},
    /* FRFR is 17.7%, FRFRF 23.4%. */
    {"starts at the fourth change", "FRFRF", "....x"},
    /* Once flapping, it stops when the changes have left the window but
     * for one light one: 19 steady results after the last change. */
    {"stops below the stop threshold", "FRFRFFFFFFFFFFFFFFFFFFFF", "....xxxxxxxxxxxxxxxxxxx."},
    /* Between the thresholds the state stays: a single change while it
     * calms down keeps it flapping until that change is old too. */
    {"hysteresis", "FRFRFFFFFFFFFFFRFFFFFFFFFFFFFFFFFFFF", "....xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx."},
    {"starts again", "FRFRFFFFFFFFFFFFFFFFFFFFRFRF", "....xxxxxxxxxxxxxxxxxxx....x"},
    {"stops resolved", "FRFRFRFRFRRRRRRRRRRRRRRRRRRRRR", "....xxxxxxxxxxxxxxxxxxxxxxxx.."},
};

static void sequence_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof sequence_cases / sizeof sequence_cases[0]; i++) {
		char states[SM_FLAP_WINDOW + 1] = "", got[64] = "";
		const char *r = sequence_cases[i].results;
		bool flapping = false;
		size_t n = strlen(r);

		for (size_t k = 0; k < n; k++) {
			sm_ingest_flap_push(states, r[k]);
			flapping = sm_ingest_flapping(flapping, sm_ingest_flap_percent(states),
			                              SM_FLAP_START, SM_FLAP_STOP);
			got[k] = flapping ? 'x' : '.';
		}
		if (strcmp(got, sequence_cases[i].flaps) != 0)
			fail_msg("%s: %s\n  got  %s\n  want %s", sequence_cases[i].what, r, got,
			         sequence_cases[i].flaps);
	}
}

static void settings(void **state)
{
	sm_flap_settings fs;
	sm_error err = {0};

	(void)state;
	assert_true(sm_ingest_flapping(false, 20.01, 20, 5));
	assert_false(sm_ingest_flapping(false, 20, 20, 5)); /* above, not at */
	assert_true(sm_ingest_flapping(true, 5, 20, 5));    /* below, not at */
	assert_false(sm_ingest_flapping(true, 4.99, 20, 5));
	assert_true(sm_ingest_flapping(true, 12, 20, 5));
	assert_false(sm_ingest_flapping(false, 12, 20, 5));
	assert_false(sm_ingest_flapping(false, 100, 100, 5)); /* 100: never starts */

	assert_int_equal(sm_ingest_flap_settings(&fs, &err), 0);
	assert_true(fs.start == SM_FLAP_START && fs.stop == SM_FLAP_STOP &&
	            fs.quiet_s == SM_FLAP_QUIET_S);
	setenv("SM_FLAP_START", "50", 1);
	setenv("SM_FLAP_STOP", "10.5", 1);
	setenv("SM_FLAP_QUIET_S", "0", 1);
	assert_int_equal(sm_ingest_flap_settings(&fs, &err), 0);
	assert_true(fs.start == 50 && fs.stop == 10.5 && fs.quiet_s == 0);
	static const char *const bad[][3] = {
	    {"10", "20", "60"}, {"101", "5", "60"}, {"20", "-1", "60"},
	    {"x", "5", "60"},   {"20", "5%", "60"}, {"20", "5", "-1"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		setenv("SM_FLAP_START", bad[i][0], 1);
		setenv("SM_FLAP_STOP", bad[i][1], 1);
		setenv("SM_FLAP_QUIET_S", bad[i][2], 1);
		err = (sm_error){0};
		if (sm_ingest_flap_settings(&fs, &err) != -1 || err.kind != SM_ERROR_USAGE ||
		    !strstr(err.msg, "SM_FLAP_"))
			fail_msg("start %s stop %s quiet %s accepted", bad[i][0], bad[i][1],
			         bad[i][2]);
		assert_null(sm_ingest_new(store, &err));
	}
	unsetenv("SM_FLAP_START");
	unsetenv("SM_FLAP_STOP");
	unsetenv("SM_FLAP_QUIET_S");
}

/* Ingest one alert of DiskFull on db-01; returns its envelope's alert. */
static json_t *ingest(const char *severity, bool resolved)
{
	sm_alert_batch b = {0};
	json_t *envs = json_array(), *alert;
	sm_alert *a;
	sm_error err;

	snprintf(b.source, sizeof b.source, "alertmanager");
	a = sm_batch_add(&b);
	sm_alert_set_fingerprint(a, "disk-db-01");
	sm_alert_set_name(a, "DiskFull");
	a->severity = sm_severity_normalize(severity);
	a->resolved = resolved;
	sm_alert_label(a, "instance", "db-01");
	assert_int_equal(sm_batch_finish(&b, false, &err), 0);
	assert_int_equal(sm_store_begin(store, &err), 0);
	if (sm_ingest_apply(writer, &b, "0123456789abcdef0123456789abcdef", envs, &err) < 0)
		fail_msg("apply: %s", err.msg);
	assert_int_equal(sm_store_commit(store, &err), 0);
	sm_batch_clear(&b);
	assert_int_equal(json_array_size(envs), 1);
	alert = json_incref(json_array_get(json_object_get(json_array_get(envs, 0), "alerts"), 0));
	json_decref(envs);
	return alert;
}

static long long scalar(const char *sql)
{
	sqlite3_stmt *st = sm_store_prepare(store, sql, NULL);
	long long v = -1;

	assert_non_null(st);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The write path: every result (repeats too) moves the window; the
 * envelope's alert says whether it flaps, and flapping_change when that
 * changed; history has a row for each. */
static void the_write_path_keeps_the_state(void **state)
{
	/* F R F R F: flapping from the fifth; then 19 firing repeats. */
	const char *results = "FRFRFFFFFFFFFFFFFFFFFFFF";
	size_t n = strlen(results), started = 0, stopped = 0;

	(void)state;
	for (size_t k = 0; k < n; k++) {
		json_t *a = ingest("warning", results[k] == 'R');
		json_t *change = json_object_get(a, "flapping_change");
		assert_true(json_is_boolean(json_object_get(a, "flapping")));
		if (k == 4) {
			assert_true(json_is_true(json_object_get(a, "flapping")));
			assert_string_equal(json_string_value(change), "started");
			assert_string_equal(json_string_value(json_object_get(a, "change")),
			                    "refired");
			started++;
		} else if (k == n - 1) {
			assert_false(json_is_true(json_object_get(a, "flapping")));
			assert_string_equal(json_string_value(change), "stopped");
			/* A repeat: nothing else changed. */
			assert_string_equal(json_string_value(json_object_get(a, "change")),
			                    "unchanged");
			stopped++;
		} else {
			assert_null(change);
			assert_int_equal(json_is_true(json_object_get(a, "flapping")), k > 4);
		}
		json_decref(a);
	}
	assert_int_equal(started + stopped, 2);
	assert_int_equal(scalar("SELECT flapping FROM alerts"), 0);
	/* The window holds the last 21 results only. */
	assert_int_equal(scalar("SELECT flap_states = 'R' || replace(printf('%20s', ''), ' ', 'F')"
	                        " FROM alerts"),
	                 1);
	assert_int_equal(scalar("SELECT count(*) FROM alert_history"
	                        " WHERE change = 'flapping-started'"),
	                 1);
	assert_int_equal(scalar("SELECT count(*) FROM alert_history"
	                        " WHERE change = 'flapping-stopped' AND new_status = 'firing'"),
	                 1);
}

/* After a quiet spell the window starts over: an alert that flapped, then
 * went quiet, says it stopped with its next result. */
static void a_quiet_spell_starts_over(void **state)
{
	const char *results = "FRFRF";
	sm_error err;
	json_t *a;

	(void)state;
	for (size_t k = 0; results[k]; k++)
		json_decref(ingest("warning", results[k] == 'R'));
	assert_int_equal(scalar("SELECT flapping FROM alerts"), 1);
	/* Within the spell, a result keeps the window. */
	json_decref(ingest("warning", true));
	assert_int_equal(scalar("SELECT flapping FROM alerts"), 1);
	assert_int_equal(sm_store_exec(store, "UPDATE alerts SET flap_at = flap_at - 3601", &err),
	                 0);
	a = ingest("warning", false);
	assert_string_equal(json_string_value(json_object_get(a, "flapping_change")), "stopped");
	assert_string_equal(json_string_value(json_object_get(a, "change")), "refired");
	json_decref(a);
	assert_int_equal(scalar("SELECT flap_states = 'F' AND flapping = 0 FROM alerts"), 1);
}

/* An acknowledgement covers the severity it was given at. */
static void a_rise_ends_the_acknowledgement(void **state)
{
	sm_error err;
	json_t *a;

	(void)state;
	json_decref(ingest("warning", false));
	assert_int_equal(sm_incident_set_status(store, 1, "ack", &err), 1);
	json_decref(ingest("warning", false));
	assert_int_equal(scalar("SELECT status = 'acknowledged' FROM incidents"), 1);
	a = ingest("critical", false);
	json_decref(a);
	assert_int_equal(scalar("SELECT status = 'open' AND acknowledged_at IS NULL"
	                        " AND severity = 'critical' FROM incidents"),
	                 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(percent_table),
	    cmocka_unit_test(push_keeps_the_window),
	    cmocka_unit_test(sequence_table),
	    cmocka_unit_test_setup_teardown(settings, setup, teardown),
	    cmocka_unit_test_setup_teardown(the_write_path_keeps_the_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_quiet_spell_starts_over, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_rise_ends_the_acknowledgement, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
