/* rfc3339.c - RFC 3339 timestamps in UTC. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "sm/rfc3339.h"

static char *two(char *p, int v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

/* Days since 1970-01-01 of a date, and the date of a day: the calendar in
 * eras of 400 years (146097 days each), every year counted from March 1
 * so that the leap day is its last. */
static long long days_from_civil(long long y, long long m, long long d)
{
	long long era, yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static void civil_from_days(long long z, long long *y, int *m, int *d)
{
	long long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Whole days and the second of the day, rounded towards the past. */
static long long split_day(time_t t, long long *second)
{
	long long days = (long long)t / 86400, rest = (long long)t % 86400;

	if (rest < 0) {
		rest += 86400;
		days--;
	}
	*second = rest;
	return days;
}

long long sm_utc_year(time_t t)
{
	long long second, y;
	int m, d;

	civil_from_days(split_day(t, &second), &y, &m, &d);
	return y;
}

time_t sm_utc_time(long long year, int mon, int mday, int hour, int min, int sec)
{
	/* Months past December carry into the years, as timegm's do. */
	long long y = year + (mon - 1) / 12, m = (mon - 1) % 12;

	if (m < 0) {
		m += 12;
		y--;
	}
	return (time_t)(days_from_civil(y, m + 1, 1) + mday - 1) * 86400 + (time_t)hour * 3600 +
	       (time_t)min * 60 + sec;
}

/* Digits written directly: strftime and snprintf were 2 k instructions a
 * stamp, and a batch ingest writes several per payload. */
void sm_rfc3339_format(char buf[SM_RFC3339_LEN], const struct timespec *ts, bool millis)
{
	long long second, year;
	int mon, mday;
	char *p = buf;

	civil_from_days(split_day(ts->tv_sec, &second), &year, &mon, &mday);
	if (year < 0 || year > 9999) { /* outside what four digits hold */
		snprintf(buf, SM_RFC3339_LEN,
		         millis ? "%lld-%02d-%02dT%02d:%02d:%02d.%03uZ"
		                : "%lld-%02d-%02dT%02d:%02d:%02dZ",
		         year, mon, mday, (int)(second / 3600), (int)(second / 60 % 60),
		         (int)(second % 60), (unsigned)((ts->tv_nsec / 1000000L) % 1000));
		return;
	}
	p = two(p, (int)(year / 100));
	p = two(p, (int)(year % 100));
	*p++ = '-';
	p = two(p, mon);
	*p++ = '-';
	p = two(p, mday);
	*p++ = 'T';
	p = two(p, (int)(second / 3600));
	*p++ = ':';
	p = two(p, (int)(second / 60 % 60));
	*p++ = ':';
	p = two(p, (int)(second % 60));
	if (millis) {
		unsigned ms = (unsigned)((ts->tv_nsec / 1000000L) % 1000);
		*p++ = '.';
		*p++ = (char)('0' + ms / 100);
		p = two(p, (int)(ms % 100));
	}
	*p++ = 'Z';
	*p = '\0';
}

void sm_rfc3339_now(char buf[SM_RFC3339_LEN], bool millis)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	sm_rfc3339_format(buf, &ts, millis);
}

static int digits(const char **p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	return v;
}

static int expect(const char **p, const char *set)
{
	if (!**p || !strchr(set, **p))
		return -1;
	(*p)++;
	return 0;
}

int sm_rfc3339_parse(const char *s, struct timespec *out)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *p = s;
	long nsec = 0;
	int year, mon, day, hour, min, sec, offset = 0;

	if (!s || !*s)
		return 0;
	if ((year = digits(&p, 4)) < 0 || expect(&p, "-") || (mon = digits(&p, 2)) < 0 ||
	    expect(&p, "-") || (day = digits(&p, 2)) < 0 || expect(&p, "Tt ") ||
	    (hour = digits(&p, 2)) < 0 || expect(&p, ":") || (min = digits(&p, 2)) < 0 ||
	    expect(&p, ":") || (sec = digits(&p, 2)) < 0)
		return -1;
	if (mon < 1 || mon > 12 || day < 1 || day > mdays[mon - 1] || hour > 23 || min > 59 ||
	    sec > 60)
		return -1;
	if (*p == '.') {
		long scale = 100000000L;
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++) {
			nsec += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om;
		p++;
		if ((oh = digits(&p, 2)) < 0 || expect(&p, ":") || (om = digits(&p, 2)) < 0 ||
		    oh > 23 || om > 59)
			return -1;
		offset = sign * (oh * 3600 + om * 60);
	} else {
		return -1;
	}
	if (*p)
		return -1;
	if (year == 1 && mon == 1 && day == 1 && hour == 0 && min == 0 && sec == 0 && !nsec)
		return 0; /* Go's zero time: Alertmanager's "not ended" */
	out->tv_sec = sm_utc_time(year, mon, day, hour, min, sec) - offset;
	out->tv_nsec = nsec;
	return 1;
}

void sm_timespec_add(struct timespec *t, double seconds)
{
	time_t whole = (time_t)seconds; /* toward zero: down one for a fraction below */

	if ((double)whole > seconds)
		whole--;
	t->tv_sec += whole;
	t->tv_nsec += (long)((seconds - (double)whole) * 1e9);
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

double sm_elapsed_ms(const struct timespec *start, const struct timespec *end)
{
	return (double)(end->tv_sec - start->tv_sec) * 1e3 +
	       (double)(end->tv_nsec - start->tv_nsec) / 1e6;
}
