/* test_rfc3339.c - timestamps in and out. */
#include "testutil.h"
#include "sm/rfc3339.h"

static void format_utc(void **state)
{
	struct timespec ts = {.tv_sec = 1795310424, .tv_nsec = 440123456};
	char buf[SM_RFC3339_LEN];

	(void)state;
	sm_rfc3339_format(buf, &ts, false);
	assert_string_equal(buf, "2026-11-22T01:20:24Z");
	sm_rfc3339_format(buf, &ts, true);
	assert_string_equal(buf, "2026-11-22T01:20:24.440Z");
}

/* The digit-by-digit formatter agrees with strftime over a wide range. */
static void format_matches_strftime(void **state)
{
	unsigned seed = 1202;
	(void)state;

	for (int i = 0; i < 20000; i++) {
		struct timespec ts = {.tv_sec = (time_t)(rand_r(&seed) % 2000000000) * 2 -
		                                (time_t)1000000000,
		                      .tv_nsec = rand_r(&seed) % 1000000000L};
		char ours[SM_RFC3339_LEN], want[SM_RFC3339_LEN], frac[24];
		struct tm tm;
		time_t secs = ts.tv_sec;
		size_t n;

		gmtime_r(&secs, &tm);
		n = strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(frac, sizeof frac, ".%03ldZ", ts.tv_nsec / 1000000L);
		snprintf(want + n, sizeof want - n, "%s", frac);
		sm_rfc3339_format(ours, &ts, true);
		assert_string_equal(ours, want);
		want[n] = 'Z';
		want[n + 1] = '\0';
		sm_rfc3339_format(ours, &ts, false);
		assert_string_equal(ours, want);
	}
}

static void parse_forms(void **state)
{
	struct timespec ts;

	(void)state;
	assert_int_equal(sm_rfc3339_parse("2026-11-22T01:20:24Z", &ts), 1);
	assert_int_equal(ts.tv_sec, 1795310424);
	assert_int_equal(ts.tv_nsec, 0);
	assert_int_equal(sm_rfc3339_parse("2026-11-22T01:20:24.5Z", &ts), 1);
	assert_int_equal(ts.tv_nsec, 500000000);
	/* Alertmanager sends nanoseconds and offsets. */
	assert_int_equal(sm_rfc3339_parse("2026-11-22T03:20:24.123456789+02:00", &ts), 1);
	assert_int_equal(ts.tv_sec, 1795310424);
	assert_int_equal(ts.tv_nsec, 123456789);
	assert_int_equal(sm_rfc3339_parse("2026-11-21T20:20:24-05:00", &ts), 1);
	assert_int_equal(ts.tv_sec, 1795310424);
}

static void parse_unset_and_bad(void **state)
{
	static const char *const bad[] = {"2026-13-01T00:00:00Z",
	                                  "2026-02-30T00:00:00Z",
	                                  "2026-11-22 01:20",
	                                  "2026-11-22T01:20:24",
	                                  "2026-11-22T01:20:24Zjunk",
	                                  "2026-11-22T25:00:00Z",
	                                  "yesterday",
	                                  "2026-11-22T01:20:24.Z"};
	struct timespec ts;

	(void)state;
	assert_int_equal(sm_rfc3339_parse("", &ts), 0);
	assert_int_equal(sm_rfc3339_parse(NULL, &ts), 0);
	assert_int_equal(sm_rfc3339_parse("0001-01-01T00:00:00Z", &ts), 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(sm_rfc3339_parse(bad[i], &ts), -1);
}

static void round_trip_now(void **state)
{
	char buf[SM_RFC3339_LEN];
	struct timespec ts;
	time_t now = time(NULL);

	(void)state;
	sm_rfc3339_now(buf, true);
	assert_int_equal(sm_rfc3339_parse(buf, &ts), 1);
	assert_true(ts.tv_sec >= now - 1 && ts.tv_sec <= now + 1);
}

static void elapsed(void **state)
{
	struct timespec a = {10, 500000000}, b = {12, 250000000};

	(void)state;
	assert_true(sm_elapsed_ms(&a, &b) == 1750.0);
}

/* A timespec moved by whole and fractional seconds, either way, carrying
 * into or borrowing from the seconds. */
static void timespec_add(void **state)
{
	struct timespec t = {10, 900000000};

	(void)state;
	sm_timespec_add(&t, 0.25);
	assert_int_equal(t.tv_sec, 11);
	assert_int_equal(t.tv_nsec, 150000000);
	sm_timespec_add(&t, 2);
	assert_int_equal(t.tv_sec, 13);
	assert_int_equal(t.tv_nsec, 150000000);
	sm_timespec_add(&t, -0.5);
	assert_int_equal(t.tv_sec, 12);
	assert_int_equal(t.tv_nsec, 650000000);
	sm_timespec_add(&t, -1.75);
	assert_int_equal(t.tv_sec, 10);
	assert_int_equal(t.tv_nsec, 900000000);
	sm_timespec_add(&t, 0.002);
	assert_int_equal(t.tv_sec, 10);
	assert_true(t.tv_nsec >= 901999999 && t.tv_nsec <= 902000001);
}

/* The calendar arithmetic against the C library's over years 1 to 9999:
 * the year of a time, a time of a date (days past a month's end and a
 * leap second carried over as timegm does), and the printed form. */
static void calendar_matches_libc(void **state)
{
	unsigned seed = 3339;
	const long long first = -62135596800LL, last = 253402300799LL; /* 0001 .. 9999 */
	(void)state;

	for (int i = 0; i < 50000; i++) {
		unsigned long long r =
		    ((unsigned long long)rand_r(&seed) << 31) ^ (unsigned)rand_r(&seed);
		time_t t = (time_t)(first + (long long)(r % (unsigned long long)(last - first)));
		struct tm tm, want_tm = {0};
		int year = 1 + rand_r(&seed) % 9998, mon = 1 + rand_r(&seed) % 12,
		    day = 1 + rand_r(&seed) % 31, hour = rand_r(&seed) % 24,
		    min = rand_r(&seed) % 60, sec = rand_r(&seed) % 61;

		assert_non_null(gmtime_r(&t, &tm));
		assert_int_equal(sm_utc_year(t), tm.tm_year + 1900LL);
		if (tm.tm_year + 1900 >= 1000) { /* strftime's %Y pads no further */
			struct timespec ts = {.tv_sec = t};
			char ours[SM_RFC3339_LEN], want[SM_RFC3339_LEN];
			strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
			sm_rfc3339_format(ours, &ts, false);
			assert_string_equal(ours, want);
		}
		want_tm.tm_year = year - 1900;
		want_tm.tm_mon = mon - 1;
		want_tm.tm_mday = day;
		want_tm.tm_hour = hour;
		want_tm.tm_min = min;
		want_tm.tm_sec = sec;
		assert_int_equal((long long)sm_utc_time(year, mon, day, hour, min, sec),
		                 (long long)timegm(&want_tm));
	}
	/* Before 1970, and the first day of year 1 printed in four digits. */
	assert_int_equal(sm_utc_year(-1), 1969);
	assert_int_equal((long long)sm_utc_time(1969, 12, 31, 23, 59, 59), -1);
	{
		struct timespec ts = {.tv_sec = (time_t)first};
		char buf[SM_RFC3339_LEN];
		sm_rfc3339_format(buf, &ts, false);
		assert_string_equal(buf, "0001-01-01T00:00:00Z");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(format_utc),     cmocka_unit_test(format_matches_strftime),
	    cmocka_unit_test(parse_forms),    cmocka_unit_test(parse_unset_and_bad),
	    cmocka_unit_test(round_trip_now), cmocka_unit_test(elapsed),
	    cmocka_unit_test(timespec_add),   cmocka_unit_test(calendar_matches_libc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
