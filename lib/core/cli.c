/* cli.c - the options every tool shares (see cli.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
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

int sm_cli_option(int opt, const char *usage, char *const *argv)
{
	switch (opt) {
	case 'h':
		fputs(usage, stdout);
		break;
	case SM_OPT_VERSION:
		printf("%s %s (jansson %s, sqlite %s)\n", sm_err_progname(), SM_VERSION,
		       JANSSON_VERSION, sqlite3_libversion());
		break;
	default: /* ':' and '?' */
		return sm_err_option(opt, argv[optind - 1]);
	}
	exit(sm_cli_finish(SM_EXIT_OK));
}
