/* human.h - numbers as people read them on a terminal.
 *
 * Machine output (JSON, perfdata, the store) keeps exact values; these are
 * for tables and details only.
 */
#ifndef SM_HUMAN_H
#define SM_HUMAN_H

#include <stddef.h>
#include <stdio.h>

#define SM_HUMAN_LEN 16 /* "1023.9 TB", a sign and the NUL fit */

/* bytes in the largest binary unit that keeps the value under 1024, one
 * decimal ("0 B", "512 B", "1.5 KB", "77.7 GB", "1.8 TB"); the units are
 * KB = 1024 B, MB, GB, TB, PB as in the metrics' _mb and _gb values.
 * Negative sizes keep their sign; NaN and infinities print "?". */
const char *sm_human_size(double bytes, char buf[SM_HUMAN_LEN]);
/* The same from a value in MB or GB (the metrics' units). */
const char *sm_human_mb(double mb, char buf[SM_HUMAN_LEN]);
const char *sm_human_gb(double gb, char buf[SM_HUMAN_LEN]);

/* Text from the host (file and process names, messages) onto a terminal:
 * control characters (C0 and DEL) print as '?', so a name cannot move the
 * cursor, change colours or retitle the window. */
void sm_human_puts(const char *s, FILE *out);

#endif
