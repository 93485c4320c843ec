/* term.c - terminal detection, colour and aligned tables. */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "sm/term.h"

bool sm_term_isatty(FILE *f)
{
	return isatty(fileno(f)) == 1;
}

bool sm_term_color(FILE *f)
{
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

	if (no && *no)
		return false;
	if (term && strcmp(term, "dumb") == 0)
		return false;
	return sm_term_isatty(f);
}

int sm_term_columns(FILE *f)
{
	const char *env = getenv("COLUMNS");
	struct winsize ws;

	if (env && *env) {
		int n = atoi(env);
		if (n > 0)
			return n;
	}
	if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

const char *sm_term_start(enum sm_color c)
{
	static const char *const codes[] = {"",         "\033[32m", "\033[33m", "\033[31m",
	                                    "\033[35m", "\033[1m",  "\033[2m"};

	return (unsigned)c < sizeof codes / sizeof codes[0] ? codes[c] : "";
}

const char *sm_term_reset(void)
{
	return "\033[0m";
}

struct cell {
	char *text;
	enum sm_color color;
};

struct sm_table {
	int ncols;
	struct cell *cells; /* rows × ncols, row 0 is the header */
	size_t rows, cap, filled;
};

sm_table *sm_table_new(int ncols, const char *const *headers)
{
	sm_table *t = calloc(1, sizeof *t);

	if (!t)
		return NULL;
	t->ncols = ncols;
	if (sm_table_row(t) < 0) {
		free(t);
		return NULL;
	}
	for (int i = 0; i < ncols; i++)
		sm_table_cell(t, headers[i], SM_COLOR_BOLD);
	return t;
}

void sm_table_free(sm_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->rows * (size_t)t->ncols; i++)
		free(t->cells[i].text);
	free(t->cells);
	free(t);
}

int sm_table_row(sm_table *t)
{
	if (t->rows == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		struct cell *p = realloc(t->cells, ncap * (size_t)t->ncols * sizeof *p);
		if (!p)
			return -1;
		t->cells = p;
		t->cap = ncap;
	}
	memset(&t->cells[t->rows * (size_t)t->ncols], 0, (size_t)t->ncols * sizeof *t->cells);
	t->rows++;
	t->filled = 0;
	return 0;
}

int sm_table_cell(sm_table *t, const char *text, enum sm_color color)
{
	struct cell *c;

	if (t->rows == 0 || t->filled >= (size_t)t->ncols)
		return -1;
	c = &t->cells[(t->rows - 1) * (size_t)t->ncols + t->filled++];
	c->text = strdup(text ? text : "");
	c->color = color;
	return c->text ? 0 : -1;
}

/* Display width of UTF-8 text: code points, not bytes (no wide glyphs). */
static size_t width_of(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* Bytes of s that fit in cols display columns. */
static size_t bytes_for(const char *s, size_t cols)
{
	size_t w = 0, i = 0;

	for (; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (w == cols)
				break;
			w++;
		}
	}
	return i;
}

void sm_table_print(const sm_table *t, FILE *out, bool color, int width)
{
	size_t widths[16] = {0}, used = 0;
	int ncols = t->ncols < 16 ? t->ncols : 16;

	for (size_t r = 0; r < t->rows; r++)
		for (int c = 0; c < ncols; c++) {
			const char *s = t->cells[r * (size_t)t->ncols + (size_t)c].text;
			size_t w = s ? width_of(s) : 0;
			if (w > widths[c])
				widths[c] = w;
		}
	for (int c = 0; c < ncols - 1; c++)
		used += widths[c] + 2;
	for (size_t r = 0; r < t->rows; r++) {
		for (int c = 0; c < ncols; c++) {
			const struct cell *cell = &t->cells[r * (size_t)t->ncols + (size_t)c];
			const char *s = cell->text ? cell->text : "";
			size_t w = width_of(s), n = strlen(s);
			bool last = c == ncols - 1;
			if (last && width > 0 && used + w > (size_t)width) {
				size_t room =
				    (size_t)width > used + 1 ? (size_t)width - used - 1 : 0;
				n = bytes_for(s, room);
				w = room + 1;
			}
			if (color && cell->color != SM_COLOR_NONE)
				fputs(sm_term_start(cell->color), out);
			fwrite(s, 1, n, out);
			if (n < strlen(s))
				fputs("…", out);
			if (color && cell->color != SM_COLOR_NONE)
				fputs(sm_term_reset(), out);
			if (!last)
				fprintf(out, "%*s", (int)(widths[c] - w + 2), "");
		}
		fputc('\n', out);
	}
}
