/* json.c - jansson helpers: lossy strings for host data. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sm/json.h"

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	size_t n;
	unsigned min;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = p[0] & 0x1f;
		min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = p[0] & 0x0f;
		min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = p[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int sm_json_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	while (len > 0) {
		size_t n = utf8_seq(p, len);
		if (n == 0 || (n == 1 && *p == 0))
			return 0;
		p += n;
		len -= n;
	}
	return 1;
}

json_t *sm_json_string(const char *s)
{
	size_t len, out = 0;
	const unsigned char *p;
	char *buf;
	json_t *j;

	if (!s)
		return json_null();
	len = strlen(s);
	if (sm_json_utf8_valid(s, len))
		return json_stringn(s, len);
	buf = malloc(len * 3 + 1);
	if (!buf)
		return json_null();
	p = (const unsigned char *)s;
	while (len > 0) {
		size_t n = utf8_seq(p, len);
		if (n == 0) {
			memcpy(buf + out, "\xef\xbf\xbd", 3);
			out += 3;
			n = 1;
		} else {
			memcpy(buf + out, p, n);
			out += n;
		}
		p += n;
		len -= n;
	}
	j = json_stringn(buf, out);
	free(buf);
	return j;
}

/* Round half to even on the scaled value, as the reference's round(), with
 * no libm: every library a tool maps costs it resident memory. */
double sm_round(double v, int digits)
{
	static const double scales[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
	double scale, x, t, frac;

	if (digits < 0)
		digits = 0;
	if (digits > 9)
		digits = 9;
	scale = scales[digits];
	x = v * scale;
	if (!isfinite(x) || x > 4e15 || x < -4e15)
		return v;         /* beyond 2^52 every double is already whole */
	t = (double)(long long)x; /* toward zero */
	frac = x - t;
	if (frac > 0.5 || (frac == 0.5 && ((long long)t & 1)))
		t += 1;
	else if (frac < -0.5 || (frac == -0.5 && ((long long)t & 1)))
		t -= 1;
	t /= scale;
	return t == 0 ? 0.0 : t; /* no "-0.0" in output */
}
