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

/* Digits written directly: strftime and snprintf were 2 k instructions a
 * stamp, and a batch ingest writes several per payload. */
void sm_rfc3339_format(char buf[SM_RFC3339_LEN], const struct timespec *ts, bool millis)
{
	struct tm tm;
	time_t secs = ts->tv_sec;
	int year;
	char *p = buf;

	gmtime_r(&secs, &tm);
	year = tm.tm_year + 1900;
	if (year < 0 || year > 9999) { /* outside what four digits hold */
		size_t n = strftime(buf, SM_RFC3339_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(buf + n, SM_RFC3339_LEN - n, millis ? ".%03uZ" : "Z",
		         (unsigned)((ts->tv_nsec / 1000000L) % 1000));
		return;
	}
	p = two(p, year / 100);
	p = two(p, year % 100);
	*p++ = '-';
	p = two(p, tm.tm_mon + 1);
	*p++ = '-';
	p = two(p, tm.tm_mday);
	*p++ = 'T';
	p = two(p, tm.tm_hour);
	*p++ = ':';
	p = two(p, tm.tm_min);
	*p++ = ':';
	p = two(p, tm.tm_sec);
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
	struct tm tm = {0};
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
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	out->tv_sec = timegm(&tm) - offset;
	out->tv_nsec = nsec;
	return 1;
}

double sm_elapsed_ms(const struct timespec *start, const struct timespec *end)
{
	return (double)(end->tv_sec - start->tv_sec) * 1e3 +
	       (double)(end->tv_nsec - start->tv_nsec) / 1e6;
}
