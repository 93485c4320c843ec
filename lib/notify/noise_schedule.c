/* noise_schedule.c - the weekly schedules of maintenance windows: parsing
 * "Mon-Fri 22:00-23:30; Sun 02:00-04:00", and whether a moment, seen in a
 * time zone, falls inside. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "sm/noise.h"

static const char *const day_names[] = {"sunday",   "monday", "tuesday", "wednesday",
                                        "thursday", "friday", "saturday"};

/* A day name, its first three letters or all of it, any case: 0-6, or -1. */
static int day_parse(const char *s, size_t len)
{
	char low[16];

	if (len < 3 || len >= sizeof low)
		return -1;
	for (size_t i = 0; i < len; i++)
		low[i] = (char)tolower((unsigned char)s[i]);
	low[len] = '\0';
	for (int d = 0; d < 7; d++)
		if ((len == 3 && strncmp(low, day_names[d], 3) == 0) ||
		    strcmp(low, day_names[d]) == 0)
			return d;
	return -1;
}

/* "Mon", "Mon-Fri", "Fri-Mon" (wrapping) or "daily" into a day mask; 0
 * when it does not parse. */
static unsigned char days_parse(const char *s, size_t len)
{
	const char *dash = memchr(s, '-', len);
	int from, to;
	unsigned char mask = 0;

	if (len == 5 && strncasecmp(s, "daily", 5) == 0)
		return 0x7f;
	if (!dash) {
		from = day_parse(s, len);
		return from < 0 ? 0 : (unsigned char)(1u << from);
	}
	from = day_parse(s, (size_t)(dash - s));
	to = day_parse(dash + 1, len - (size_t)(dash - s) - 1);
	if (from < 0 || to < 0)
		return 0;
	for (int d = from;; d = (d + 1) % 7) {
		mask |= (unsigned char)(1u << d);
		if (d == to)
			break;
	}
	return mask;
}

/* "HH:MM" into minutes; 24:00 only when end is allowed. -1 when bad. */
static int clock_parse(const char *s, size_t len, bool end)
{
	int h, m;

	if (len != 5 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    s[2] != ':' || !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && (m != 0 || !end)))
		return -1;
	return h * 60 + m;
}

/* One item of the list (between separators), spaces trimmed: DAYS,
 * HH:MM-HH:MM, or DAYS HH:MM-HH:MM. Days given without a time wait in
 * *pending for the next item's time ("Mon,Wed 02:00-03:00"). */
static int item_parse(const char *s, size_t len, unsigned char *pending, sm_noise_schedule *out,
                      sm_error *err)
{
	const char *space = memchr(s, ' ', len), *time = s;
	size_t tlen = len;
	unsigned char days;
	int start, end;

	if (!space && !memchr(s, ':', len)) {
		days = days_parse(s, len);
		if (!days)
			goto bad;
		*pending |= days;
		return 0;
	}
	if (space) {
		days = days_parse(s, (size_t)(space - s));
		if (!days)
			goto bad;
		*pending |= days;
		time = space;
		while (time < s + len && *time == ' ')
			time++;
		tlen = len - (size_t)(time - s);
	}
	if (tlen != 11 || time[5] != '-' || (start = clock_parse(time, 5, false)) < 0 ||
	    (end = clock_parse(time + 6, 5, true)) < 0)
		goto bad;
	if (start == end) {
		sm_error_set_kind(err, SM_ERROR_USAGE, "schedule: '%.*s' is an empty range",
		                  (int)len, s);
		return -1;
	}
	if (out->count == SM_NOISE_RANGES_MAX) {
		sm_error_set_kind(err, SM_ERROR_USAGE, "schedule: more than %d ranges",
		                  SM_NOISE_RANGES_MAX);
		return -1;
	}
	out->ranges[out->count].days = *pending ? *pending : 0x7f;
	out->ranges[out->count].start = start;
	out->ranges[out->count].end = end;
	out->count++;
	*pending = 0;
	return 0;
bad:
	sm_error_set_kind(err, SM_ERROR_USAGE,
	                  "schedule: '%.*s' is not DAYS HH:MM-HH:MM (e.g. Mon-Fri 22:00-23:30)",
	                  (int)len, s);
	return -1;
}

int sm_noise_schedule_parse(const char *text, sm_noise_schedule *s, sm_error *err)
{
	unsigned char pending = 0;
	const char *p = text;

	memset(s, 0, sizeof *s);
	for (;;) {
		size_t len = strcspn(p, ",;");
		const char *b = p, *e = p + len;

		while (b < e && isspace((unsigned char)*b))
			b++;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		if (b == e) {
			sm_error_set_kind(err, SM_ERROR_USAGE, "schedule: an empty range in '%s'",
			                  text);
			return -1;
		}
		if (item_parse(b, (size_t)(e - b), &pending, s, err) < 0)
			return -1;
		if (!p[len])
			break;
		p += len + 1;
	}
	if (pending || s->count == 0) {
		sm_error_set_kind(
		    err, SM_ERROR_USAGE,
		    "schedule: '%s' %s (e.g. \"Mon-Fri 22:00-23:30; Sun 02:00-04:00\")", text,
		    s->count ? "ends with days but no time" : "has no range");
		return -1;
	}
	return 0;
}

bool sm_noise_schedule_active(const sm_noise_schedule *s, int wday, int minute)
{
	int yesterday = (wday + 6) % 7;

	for (size_t i = 0; i < s->count; i++) {
		unsigned char days = s->ranges[i].days;
		int start = s->ranges[i].start, end = s->ranges[i].end;
		bool today = days & (1u << wday);

		if (start < end ? today && minute >= start && minute < end
		                : (today && minute >= start) ||
		                      ((days & (1u << yesterday)) && minute < end))
			return true;
	}
	return false;
}

bool sm_noise_zone_valid(const char *zone)
{
	const char *dir = getenv("TZDIR");
	char path[4096];
	struct stat st;

	if (!*zone || strcmp(zone, "UTC") == 0)
		return true;
	/* A name in the database, never a path out of it. */
	if (zone[0] == '/' || zone[0] == ':' || strstr(zone, ".."))
		return false;
	for (const char *c = zone; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("/_+-", *c))
			return false;
	snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", zone);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool sm_noise_schedule_active_at(const sm_noise_schedule *s, const char *zone, time_t now)
{
	char *saved = NULL;
	const char *old = getenv("TZ");
	struct tm tm;
	bool ok;

	/* localtime_r reads the zone from TZ: set it for this one conversion
	 * and put the old value back. */
	if (*zone) {
		saved = old ? strdup(old) : NULL;
		if (old && !saved)
			return false;
		setenv("TZ", zone, 1);
		tzset();
	}
	ok = localtime_r(&now, &tm) != NULL;
	if (*zone) {
		if (saved)
			setenv("TZ", saved, 1);
		else
			unsetenv("TZ");
		tzset();
		free(saved);
	}
	return ok && sm_noise_schedule_active(s, tm.tm_wday, tm.tm_hour * 60 + tm.tm_min);
}
