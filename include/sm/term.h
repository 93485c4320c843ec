/* term.h - human output on a terminal: colour rules and aligned tables.
 *
 * Colour only when the stream is a terminal, NO_COLOR is unset or empty and
 * TERM is not "dumb". Width from $COLUMNS, else the terminal, else 80.
 */
#ifndef SM_TERM_H
#define SM_TERM_H

#include <stdbool.h>
#include <stdio.h>

enum sm_color {
	SM_COLOR_NONE,
	SM_COLOR_GREEN,
	SM_COLOR_YELLOW,
	SM_COLOR_RED,
	SM_COLOR_MAGENTA,
	SM_COLOR_BOLD,
	SM_COLOR_DIM,
};

bool sm_term_isatty(FILE *f);
bool sm_term_color(FILE *f);
int sm_term_columns(FILE *f);
/* The escape sequence that starts a colour ("" for none) and the reset. */
const char *sm_term_start(enum sm_color c);
const char *sm_term_reset(void);

typedef struct sm_table sm_table;

/* A table with ncols columns and their headers. */
sm_table *sm_table_new(int ncols, const char *const *headers);
void sm_table_free(sm_table *t);
/* Let column col be left out when the table is wider than the terminal:
 * the columns marked are dropped in order of rank, highest first, until the
 * others fit beside 20 columns for the last one (which is cut to fit). A
 * column is never cut, so timestamps stay whole. */
void sm_table_optional(sm_table *t, int col, int rank);
/* Start a new row; then one sm_table_cell per column. */
int sm_table_row(sm_table *t);
int sm_table_cell(sm_table *t, const char *text, enum sm_color color);
/* Print aligned; the last column is cut to fit width (0: no limit). */
void sm_table_print(const sm_table *t, FILE *out, bool color, int width);

/* Times for people: a stored RFC 3339 timestamp in local time,
 * "2026-12-06 10:04:05" (the text itself when it does not parse, "-" for
 * NULL or empty); "5 s ago", "12 min ago", "3 h ago", "9 d ago" (hours up
 * to two days); a count with thousands separators, "2,345". */
void sm_term_local_time(char *buf, size_t size, const char *rfc3339);
void sm_term_age(char *buf, size_t size, long long seconds);
void sm_term_count(char *buf, size_t size, long long n);

#endif
