/* cli.h - the options every tool shares: -h/--help, --version, and the one
 * line a getopt failure prints.
 *
 * A tool's getopt_long loop hands every answer it does not handle itself
 * to sm_cli_common:
 *     default:
 *             return sm_cli_common(opt, usage_text, argv);
 * after listing SM_CLI_LONG_OPTIONS in its long options.
 */
#ifndef SM_CLI_H
#define SM_CLI_H

/* getopt_long's value for --version (outside every short option). */
#define SM_OPT_VERSION 0x100
/* The shared entries of a tool's struct option table. */
#define SM_CLI_LONG_OPTIONS                                                                        \
	{"help", no_argument, NULL, 'h'},                                                          \
	{                                                                                          \
		"version", no_argument, NULL, SM_OPT_VERSION                                       \
	}

/* The version line: "<tool> <version> (jansson X, sqlite Y)". */
void sm_cli_version(void);
/* Handle opt, getopt_long's answer: 'h' prints usage on stdout, SM_OPT_VERSION
 * the version line; both return SM_CLI_DONE (or SM_EXIT_FAILURE when stdout
 * cannot be written). ':' (a missing value) and anything else (an unknown
 * option) print one line on stderr naming the option and return
 * SM_EXIT_USAGE. argv is the tool's argv (getopt's optind names the option). */
int sm_cli_common(int opt, const char *usage, char *const *argv);
/* What sm_cli_common returns after help or the version: the tool stops and
 * exits 0. Negative, so no exit status is mistaken for it. */
#define SM_CLI_DONE (-1)

#endif
