/* cli.c - the options every tool shares (see cli.h). */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sqlite3.h>

#include "sm/cli.h"
#include "sm/err.h"

int sm_cli_finish(int rc)
{
	if ((fflush(stdout) == EOF || ferror(stdout)) && rc == SM_EXIT_OK)
		return sm_err_errno(SM_EXIT_FAILURE, "standard output: write error");
	return rc;
}

/* The option a getopt failure is about, as the user wrote it: "-x" for a
 * short one (alone or in a cluster such as -vx), "--name" for a long one
 * (without its "=value"). getopt leaves optind on a cluster it has not
 * finished, past one it has; optopt is the short option's character, or a
 * long option's value, or 0 for an unknown long option. */
static void option_name(char *buf, size_t size, char *const *argv, bool *has_value)
{
	const char *prev = optind > 1 ? argv[optind - 1] : NULL, *cur = argv[optind];
	bool short_opt = optopt > 0 && optopt < 256;

	*has_value = false;
	if (short_opt && cur && cur[0] == '-' && cur[1] != '-' && strchr(cur + 1, optopt)) {
		snprintf(buf, size, "-%c", optopt); /* inside a cluster not yet finished */
	} else if (prev && strncmp(prev, "--", 2) == 0) {
		size_t n = strcspn(prev, "=");
		*has_value = prev[n] == '=';
		snprintf(buf, size, "%.*s", (int)n, prev);
	} else if (short_opt) {
		snprintf(buf, size, "-%c", optopt);
	} else {
		snprintf(buf, size, "%s", prev ? prev : "?");
	}
}

int sm_cli_option(int opt, const char *usage, char *const *argv)
{
	char name[256];
	bool has_value;

	switch (opt) {
	case 'h':
		fputs(usage, stdout);
		break;
	case SM_OPT_VERSION:
		printf("%s %s (jansson %s, sqlite %s)\n", sm_err_progname(), SM_VERSION,
		       JANSSON_VERSION, sqlite3_libversion());
		break;
	default: /* ':' and '?' */
		option_name(name, sizeof name, argv, &has_value);
		if (opt == '?' && has_value && optopt != 0) /* a known long option */
			return sm_err(SM_EXIT_USAGE, "option '%s' takes no value (see %s --help)",
			              name, sm_err_progname());
		return sm_err_option(opt, name);
	}
	exit(sm_cli_finish(SM_EXIT_OK));
}

void sm_cli_wrap(FILE *out, const char *lead, int indent, const char *text)
{
	int col = (int)strlen(lead);
	bool first = true; /* no word yet on this line */

	fputs(lead, out);
	for (;;) {
		size_t word;
		while (*text == ' ')
			text++;
		if (!*text)
			break;
		word = strcspn(text, " ");
		if (!first && col + 1 + (int)word > SM_CLI_WIDTH) {
			fprintf(out, "\n%*s", indent, "");
			col = indent;
			first = true;
		}
		if (!first) {
			fputc(' ', out);
			col++;
		}
		fwrite(text, 1, word, out);
		col += (int)word;
		text += word;
		first = false;
	}
	fputc('\n', out);
}
