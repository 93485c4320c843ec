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
/* Start a new row; then one sm_table_cell per column. */
int sm_table_row(sm_table *t);
int sm_table_cell(sm_table *t, const char *text, enum sm_color color);
/* Print aligned; the last column is cut to fit width (0: no limit). */
void sm_table_print(const sm_table *t, FILE *out, bool color, int width);

#endif
