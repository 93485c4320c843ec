/* human.c - sizes in binary units for terminals (human.h). */
#include <math.h> /* isnan, isinf: macros */
#include <stdio.h>

#include "sm/human.h"

const char *sm_human_size(double bytes, char buf[SM_HUMAN_LEN])
{
	static const char *const units[] = {"B", "KB", "MB", "GB", "TB", "PB"};
	const char *sign = bytes < 0 ? "-" : "";
	double v = bytes < 0 ? -bytes : bytes;
	size_t u = 0;

	if (isnan(bytes) || isinf(bytes)) {
		snprintf(buf, SM_HUMAN_LEN, "?");
		return buf;
	}
	/* Move up while the value as printed (bytes whole, the others to one
	 * decimal) would reach 1024: 1023.96 KB is "1.0 MB", not "1024.0 KB". */
	while (u + 1 < sizeof units / sizeof units[0] && v >= (u == 0 ? 1023.5 : 1023.95)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, SM_HUMAN_LEN, "%s%.0f B", sign, v);
	else
		snprintf(buf, SM_HUMAN_LEN, "%s%.1f %s", sign, v, units[u]);
	return buf;
}

const char *sm_human_mb(double mb, char buf[SM_HUMAN_LEN])
{
	return sm_human_size(mb * 1024 * 1024, buf);
}

const char *sm_human_gb(double gb, char buf[SM_HUMAN_LEN])
{
	return sm_human_size(gb * 1024 * 1024 * 1024, buf);
}

void sm_human_puts(const char *s, FILE *out)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		putc(c < 0x20 || c == 0x7f ? '?' : c, out);
	}
}
