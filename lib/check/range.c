/* range.c - threshold parsing: plain numbers and plugin range expressions. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm/range.h"

static int number(const char *s, size_t n, double *out)
{
	char buf[48], *end;

	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	*out = strtod(buf, &end);
	if (errno || *end || !isfinite(*out))
		return -1;
	return 0;
}

sm_range sm_range_value(double v)
{
	sm_range r = {.set = true, .value = v};

	snprintf(r.text, sizeof r.text, "%g", v);
	return r;
}

int sm_range_parse(const char *s, sm_range *out, sm_error *err)
{
	sm_range r = {.set = true};
	const char *p = s, *colon;

	if (!s || !*s || strlen(s) >= sizeof r.text) {
		sm_error_set(err, "bad threshold '%s': empty or too long", s ? s : "");
		return -1;
	}
	snprintf(r.text, sizeof r.text, "%s", s);
	colon = strchr(s, ':');
	if (*p != '@' && !colon && *p != '~') {
		if (number(s, strlen(s), &r.value) < 0)
			goto bad;
		*out = r;
		return 0;
	}
	r.is_range = true;
	if (*p == '@') {
		r.inside = true;
		p++;
	}
	colon = strchr(p, ':');
	if (colon) {
		if (colon == p + 1 && *p == '~')
			r.start_inf = true;
		else if (number(p, (size_t)(colon - p), &r.start) < 0)
			goto bad;
		p = colon + 1;
	}
	if (*p == '\0') {
		if (!colon)
			goto bad;
		r.end_inf = true;
	} else if (number(p, strlen(p), &r.end) < 0) {
		goto bad;
	}
	if (!r.start_inf && !r.end_inf && r.start > r.end) {
		sm_error_set(err, "bad threshold '%s': start is greater than end", s);
		return -1;
	}
	*out = r;
	return 0;
bad:
	sm_error_set(err, "bad threshold '%s': expected a number or a range [@][start:][end]", s);
	return -1;
}

bool sm_range_trips(const sm_range *r, double v, bool minimum)
{
	bool outside;

	if (!r->set || isnan(v))
		return false;
	if (!r->is_range)
		return minimum ? v < r->value : v >= r->value;
	outside = (!r->start_inf && v < r->start) || (!r->end_inf && v > r->end);
	return r->inside ? !outside : outside;
}
