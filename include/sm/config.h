/* config.h - infrastructure settings from the environment and a dotenv file.
 *
 * The file is $SM_ENV_FILE, else /etc/sm/sm.env, else ./.env (the first that
 * exists). Its KEY=VALUE lines fill the environment without overriding what is
 * already set: the real environment wins.
 */
#ifndef SM_CONFIG_H
#define SM_CONFIG_H

#include <stdbool.h>
#include "sm/err.h"

/* Load the dotenv file, if any, then read SM_LOG_LEVEL again (the file may
 * set it). A named $SM_ENV_FILE that is missing, or a malformed line, is an
 * error (the message names SM_ENV_FILE or "env file", the file and the
 * line); so is an SM_LOG_LEVEL that is not a level. A tool reports it after
 * reading its arguments, so that --help and --version still answer. */
int sm_config_load(sm_error *err);
/* Parse one dotenv file into the environment (no override). */
int sm_config_load_file(const char *path, sm_error *err);

/* The value of name, or def when unset or empty. */
const char *sm_config_get(const char *name, const char *def);
/* 1/0 for true/false spellings (1, yes, true, on / 0, no, false, off);
 * def when unset; -1 when set to anything else. */
int sm_config_bool(const char *name, int def);
/* Parse a number setting; def when unset; -1 with err when malformed. */
int sm_config_double(const char *name, double def, double *out, sm_error *err);

/* A duration wherever seconds are asked (settings, flags, channel keys,
 * silences): a number of seconds ("0.5"), or numbers each with a unit s,
 * m, h, d or w, fractions allowed ("90s", "15m", "1.5h", "7d", "2w",
 * "1h30m"); at most a thousand years. -1 when malformed (signs, spaces,
 * exponents, other units). */
int sm_config_duration(const char *text, double *seconds);
/* A duration setting: def when unset; -1 with err naming the setting when
 * malformed. */
int sm_config_seconds(const char *name, double def, double *out, sm_error *err);

#define SM_CONFIG_VALUE_FILE_MAX (64 * 1024)
/* The value of a KEY=@FILE argument (channel and provider keys, so secrets
 * stay out of shell history): the file's text, at most
 * SM_CONFIG_VALUE_FILE_MAX bytes and no NUL, one trailing line break
 * dropped. malloc'd; NULL with err naming key and path. */
char *sm_config_value_file(const char *key, const char *path, sm_error *err);

/* Whether key is one of the API keys of the keys file at path: 1 yes, 0
 * no, -1 with err when the file cannot be read. The file holds one key
 * per line as "NAME SHA256HEX" (a name for people, blanks, the SHA-256 of
 * the key in hexadecimal), nothing else; blank lines and lines starting
 * with '#' are skipped, and any other line grants nothing (a warning in the
 * log names it). */
int sm_config_api_key_check(const char *path, const char *key, sm_error *err);

#endif
