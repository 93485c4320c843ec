/* cli.h - the options every tool shares: -h/--help, --version, and the one
 * line a getopt failure prints.
 *
 * A tool lists SM_CLI_LONG_OPTIONS in its long options and hands every
 * answer of getopt_long it does not handle itself to sm_cli_option:
 *     default:
 *             return sm_cli_option(opt, usage_text, argv);
 * A tool whose help is built at run time handles 'h' itself.
 */
#ifndef SM_CLI_H
#define SM_CLI_H

#include <stdio.h>

/* getopt_long's value for --version (outside every short option). */
#define SM_OPT_VERSION 0x7000 /* tools number their own options from 256 */
/* The shared entries of a tool's struct option table. */
#define SM_CLI_LONG_OPTIONS                                                                        \
	{"help", no_argument, NULL, 'h'},                                                          \
	{                                                                                          \
		"version", no_argument, NULL, SM_OPT_VERSION                                       \
	}

/* Handle opt, getopt_long's answer. 'h' prints usage and SM_OPT_VERSION the
 * version line ("<tool> <version> (jansson X, sqlite Y)") on stdout, then
 * exit: 0, or 1 with a message when stdout cannot be written. Anything else
 * is a getopt failure (':' a missing value, '?' an unknown option): one line
 * on stderr naming the option (argv[optind - 1]) and SM_EXIT_USAGE returned. */
int sm_cli_option(int opt, const char *usage, char *const *argv);

/* A command's exit status once it has written its output: rc, except that
 * output which did not reach stdout (a full disk, a closed pipe) turns a
 * success into SM_EXIT_FAILURE with "standard output: write error: why". */
int sm_cli_finish(int rc);

/* --help fits 80 columns: text built at run time (lists from the tables)
 * is wrapped at SM_CLI_WIDTH. */
#define SM_CLI_WIDTH 79
/* lead, then text's words wrapped at SM_CLI_WIDTH, continuation lines
 * indented by indent spaces, and a newline. */
void sm_cli_wrap(FILE *out, const char *lead, int indent, const char *text);

#endif
