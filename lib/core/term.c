/* term.c - terminal detection, colour and aligned tables. */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "sm/rfc3339.h"
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
	int rank[16];       /* sm_table_optional: 0 = always shown */
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

void sm_table_optional(sm_table *t, int col, int rank)
{
	if (col >= 0 && col < 16 && col < t->ncols - 1)
		t->rank[col] = rank;
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

/* Columns left out so that the others fit width beside room for the
 * last one: the optional ones, highest rank first. */
static void drop_columns(const sm_table *t, const size_t *widths, int ncols, int width,
                         bool *dropped)
{
	enum { LAST_MIN = 20 };
	size_t used = 0;

	for (int c = 0; c < ncols - 1; c++)
		used += widths[c] + 2;
	while (width > 0 && used + LAST_MIN > (size_t)width) {
		int worst = -1;
		for (int c = 0; c < ncols - 1; c++)
			if (!dropped[c] && t->rank[c] > 0 &&
			    (worst < 0 || t->rank[c] > t->rank[worst]))
				worst = c;
		if (worst < 0)
			return;
		dropped[worst] = true;
		used -= widths[worst] + 2;
	}
}

void sm_table_print(const sm_table *t, FILE *out, bool color, int width)
{
	size_t widths[16] = {0}, used = 0;
	bool dropped[16] = {false};
	int ncols = t->ncols < 16 ? t->ncols : 16;

	for (size_t r = 0; r < t->rows; r++)
		for (int c = 0; c < ncols; c++) {
			const char *s = t->cells[r * (size_t)t->ncols + (size_t)c].text;
			size_t w = s ? width_of(s) : 0;
			if (w > widths[c])
				widths[c] = w;
		}
	drop_columns(t, widths, ncols, width, dropped);
	for (int c = 0; c < ncols - 1; c++)
		if (!dropped[c])
			used += widths[c] + 2;
	for (size_t r = 0; r < t->rows; r++) {
		for (int c = 0; c < ncols; c++) {
			const struct cell *cell = &t->cells[r * (size_t)t->ncols + (size_t)c];
			const char *s = cell->text ? cell->text : "";
			size_t w = width_of(s), n = strlen(s);
			bool last = c == ncols - 1;
			if (dropped[c])
				continue;
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

void sm_term_local_time(char *buf, size_t size, const char *rfc3339)
{
	struct timespec ts;
	struct tm tm;

	if (!rfc3339 || !*rfc3339)
		snprintf(buf, size, "-");
	else if (sm_rfc3339_parse(rfc3339, &ts) == 1 && localtime_r(&ts.tv_sec, &tm) &&
	         strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) > 0)
		return;
	else
		snprintf(buf, size, "%s", rfc3339);
}

void sm_term_age(char *buf, size_t size, long long seconds)
{
	if (seconds < 0)
		seconds = 0;
	if (seconds < 60)
		snprintf(buf, size, "%lld s ago", seconds);
	else if (seconds < 3600)
		snprintf(buf, size, "%lld min ago", seconds / 60);
	else if (seconds < 2 * 86400)
		snprintf(buf, size, "%lld h ago", seconds / 3600);
	else
		snprintf(buf, size, "%lld d ago", seconds / 86400);
}

void sm_term_count(char *buf, size_t size, long long n)
{
	char digits[32];
	size_t len, at = 0;

	if (size == 0)
		return;
	snprintf(digits, sizeof digits, "%lld", n < 0 ? 0 : n);
	len = strlen(digits);
	for (size_t i = 0; i < len && at + 2 < size; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf[at++] = ',';
		buf[at++] = digits[i];
	}
	buf[at] = '\0';
}
