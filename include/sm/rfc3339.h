/* rfc3339.h - RFC 3339 UTC timestamps, the only time format on the wire. */
#ifndef SM_RFC3339_H
#define SM_RFC3339_H

#include <stdbool.h>
#include <time.h>

#define SM_RFC3339_LEN 32 /* buffer size for any timestamp we print */

/* "2026-11-22T01:20:24Z", or with milliseconds "2026-11-22T01:20:24.440Z". */
void sm_rfc3339_format(char buf[SM_RFC3339_LEN], const struct timespec *ts, bool millis);
void sm_rfc3339_now(char buf[SM_RFC3339_LEN], bool millis);
/* Parse a timestamp with optional fraction and Z or ±hh:mm offset.
 * Returns 1 on success, 0 for "unset" (empty or Go's zero time
 * 0001-01-01T00:00:00Z), -1 when malformed. */
int sm_rfc3339_parse(const char *s, struct timespec *out);

/* UTC calendar arithmetic without the C library's gmtime_r and timegm,
 * which load the local time zone (/etc/localtime) on their first call:
 * the year of a time, and the time of a UTC date and time of day (fields
 * out of range carry over, as timegm's do: February 29 of a common year is
 * March 1). Proleptic Gregorian calendar. */
long long sm_utc_year(time_t t);
time_t sm_utc_time(long long year, int mon, int mday, int hour, int min, int sec);

/* Milliseconds between two monotonic readings. */
double sm_elapsed_ms(const struct timespec *start, const struct timespec *end);
/* Move t by seconds (either sign; the caller keeps it within time_t),
 * nanoseconds kept within [0, 1e9). */
void sm_timespec_add(struct timespec *t, double seconds);

#endif
