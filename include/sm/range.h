/* range.h - thresholds: plain numbers and monitoring-plugin ranges.
 *
 * A plain number keeps the checker's own direction: a value at or above it
 * trips (at or below minus epsilon for "minimum" checkers such as network).
 * A range "[@][start:][end]" follows the plugin guidelines: it trips when the
 * value lies outside start..end (inside with '@'); "~" is minus infinity, an
 * omitted start is 0, an omitted end is infinity.
 */
#ifndef SM_RANGE_H
#define SM_RANGE_H

#include <stdbool.h>
#include "sm/err.h"

typedef struct sm_range {
	bool set;      /* a threshold exists at all */
	bool is_range; /* plugin range syntax; else a plain number */
	bool inside;   /* '@': trip inside the range */
	bool start_inf, end_inf;
	double start, end;
	double value; /* the plain number */
	char text[48];
} sm_range;

int sm_range_parse(const char *s, sm_range *out, sm_error *err);
/* A plain-number threshold. */
sm_range sm_range_value(double v);
/* Whether v trips r; minimum reverses a plain number's direction. */
bool sm_range_trips(const sm_range *r, double v, bool minimum);

#endif
