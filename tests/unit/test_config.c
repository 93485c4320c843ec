/* test_config.c - environment settings and the dotenv file. */
#include <unistd.h>
#include "testutil.h"
#include "sm/config.h"
#include "sm/hmac.h"
#include "sm/log.h"

static char path[64];

static void write_file(const char *text)
{
	FILE *f;
	int fd;

	snprintf(path, sizeof path, "/tmp/sm-env-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
}

/* The SHA-256 of text in hexadecimal (four calls may be in use at once). */
static const char *sha_of(const char *text)
{
	static char out[4][SM_SHA256_HEX];
	static int next;
	char *o = out[next++ % 4];

	assert_int_equal(sm_sha256_hex(text, strlen(text), o, NULL), 0);
	return o;
}

static void dotenv_forms(void **state)
{
	sm_error err;

	(void)state;
	unsetenv("SMT_A");
	unsetenv("SMT_B");
	unsetenv("SMT_C");
	unsetenv("SMT_D");
	unsetenv("SMT_E");
	setenv("SMT_REAL", "from-env", 1);
	write_file("# comment\n\nSMT_A=plain\nexport SMT_B = \"two words\\n\"\n"
	           "SMT_C='lit $X \\n'\nSMT_D=value # trailing comment\nSMT_REAL=from-file\n"
	           "SMT_E=\n");
	setenv("SM_ENV_FILE", path, 1);
	assert_int_equal(sm_config_load(&err), 0);
	assert_string_equal(getenv("SMT_A"), "plain");
	assert_string_equal(getenv("SMT_B"), "two words\n");
	assert_string_equal(getenv("SMT_C"), "lit $X \\n");
	assert_string_equal(getenv("SMT_D"), "value");
	assert_string_equal(getenv("SMT_REAL"), "from-env"); /* the environment wins */
	assert_string_equal(sm_config_get("SMT_E", "default"), "default");
	unlink(path);
	unsetenv("SM_ENV_FILE");
}

/* SM_LOG_LEVEL set in the file takes effect (it is read before the file). */
static void dotenv_sets_the_log_level(void **state)
{
	sm_error err;

	(void)state;
	setenv("SM_LOG_LEVEL", "error", 1);
	sm_log_init("test");
	assert_int_equal(sm_log_level(), SM_LOG_ERROR);
	unsetenv("SM_LOG_LEVEL");
	write_file("SM_LOG_LEVEL=debug\n");
	setenv("SM_ENV_FILE", path, 1);
	assert_int_equal(sm_config_load(&err), 0);
	assert_int_equal(sm_log_level(), SM_LOG_DEBUG);
	unlink(path);
	unsetenv("SM_ENV_FILE");
	unsetenv("SM_LOG_LEVEL");
}

/* An unknown level is refused, from the file or the environment, instead
 * of logging at the default; the env file's errors name SM_ENV_FILE. */
static void unknown_log_level_and_env_file_errors(void **state)
{
	sm_error err;

	(void)state;
	write_file("SM_LOG_LEVEL=verbose\n");
	setenv("SM_ENV_FILE", path, 1);
	assert_int_equal(sm_config_load(&err), -1);
	assert_string_equal(
	    err.msg, "SM_LOG_LEVEL: unknown level 'verbose' (debug, info, warn, error, off)");
	unlink(path);
	unsetenv("SM_LOG_LEVEL");
	setenv("SM_ENV_FILE", "/dev/null", 1);
	setenv("SM_LOG_LEVEL", "loud", 1);
	assert_int_equal(sm_config_load(&err), -1);
	assert_non_null(strstr(err.msg, "'loud'"));
	setenv("SM_LOG_LEVEL", "WARNING", 1); /* any case, and the long spelling */
	assert_int_equal(sm_config_load(&err), 0);
	unsetenv("SM_LOG_LEVEL");
	write_file("A=1\nnot a line\n");
	setenv("SM_ENV_FILE", path, 1);
	assert_int_equal(sm_config_load(&err), -1);
	assert_true(strncmp(err.msg, "SM_ENV_FILE: ", 13) == 0);
	assert_non_null(strstr(err.msg, ":2: expected KEY=VALUE"));
	unlink(path);
	setenv("SM_ENV_FILE", "/nonexistent/sm.env", 1);
	assert_int_equal(sm_config_load(&err), -1);
	assert_string_equal(err.msg, "SM_ENV_FILE: /nonexistent/sm.env: No such file or directory");
	unsetenv("SM_ENV_FILE");
}

/* KEY=@FILE values: one line break dropped; missing, binary or oversize
 * files refused with the key and path named. */
static void value_files(void **state)
{
	static char big[SM_CONFIG_VALUE_FILE_MAX + 2];
	sm_error err;
	char *v;
	FILE *f;

	(void)state;
	write_file("s3cret \r\n");
	v = sm_config_value_file("api_key", path, &err);
	assert_string_equal(v, "s3cret "); /* inner spaces are the value's own */
	free(v);
	unlink(path);
	write_file("two\nlines\n\n");
	v = sm_config_value_file("template", path, &err);
	assert_string_equal(v, "two\nlines\n");
	free(v);
	unlink(path);
	assert_null(sm_config_value_file("api_key", "/nonexistent/k", &err));
	assert_string_equal(err.msg, "api_key: /nonexistent/k: No such file or directory");
	write_file("");
	f = fopen(path, "w");
	fwrite("a\0b", 1, 3, f);
	fclose(f);
	assert_null(sm_config_value_file("password", path, &err));
	assert_non_null(strstr(err.msg, "password: "));
	memset(big, 'x', sizeof big - 1);
	f = fopen(path, "w");
	fputs(big, f);
	fclose(f);
	assert_null(sm_config_value_file("password", path, &err));
	assert_non_null(strstr(err.msg, "at most 64 KiB"));
	unlink(path);
}

static void dotenv_errors_name_the_line(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
	    {"A=1\nnot a line\n", ":2: expected KEY=VALUE"},
	    {"1BAD=x\n", ":1: bad variable name"},
	    {"A=\"open\n", ":1: unterminated quote"},
	};
	sm_error err;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		write_file(cases[i].text);
		assert_int_equal(sm_config_load_file(path, &err), -1);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("'%s' not in '%s'", cases[i].msg, err.msg);
		unlink(path);
	}
	setenv("SM_ENV_FILE", "/nonexistent/sm.env", 1);
	assert_int_equal(sm_config_load(&err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/sm.env"));
	unsetenv("SM_ENV_FILE");
}

static void typed_getters(void **state)
{
	sm_error err;
	double d;

	(void)state;
	setenv("SMT_BOOL", "Yes", 1);
	assert_int_equal(sm_config_bool("SMT_BOOL", 0), 1);
	setenv("SMT_BOOL", "off", 1);
	assert_int_equal(sm_config_bool("SMT_BOOL", 1), 0);
	setenv("SMT_BOOL", "maybe", 1);
	assert_int_equal(sm_config_bool("SMT_BOOL", 1), -1);
	unsetenv("SMT_BOOL");
	assert_int_equal(sm_config_bool("SMT_BOOL", 1), 1);
	setenv("SMT_NUM", "2.5", 1);
	assert_int_equal(sm_config_double("SMT_NUM", 0, &d, &err), 0);
	assert_true(d == 2.5);
	setenv("SMT_NUM", "2.5x", 1);
	assert_int_equal(sm_config_double("SMT_NUM", 0, &d, &err), -1);
	assert_non_null(strstr(err.msg, "SMT_NUM"));
	unsetenv("SMT_NUM");
	assert_int_equal(sm_config_double("SMT_NUM", 7, &d, &err), 0);
	assert_true(d == 7);
}

/* One duration syntax wherever seconds are asked. */
static void durations(void **state)
{
	static const struct {
		const char *text;
		double seconds; /* < 0: malformed */
	} cases[] = {
	    {"90s", 90},     {"15m", 900},    {"4h", 14400},     {"7d", 604800},
	    {"300", 300},    {"0.5", 0.5},    {"1.5h", 5400},    {"0", 0},
	    {".25s", 0.25},  {"", -1},        {"s", -1},         {"-1", -1},
	    {"+5", -1},      {" 5", -1},      {"5 ", -1},        {"1e3", -1},
	    {"0x10", -1},    {"inf", -1},     {"nan", -1},       {"5w", 3024000},
	    {"5ss", -1},     {"1.2.3", -1},   {".", -1},         {"366000d", 366000.0 * 86400},
	    {"366001d", -1}, {"1h30m", 5400}, {"2w1d", 1296000}, {"1h30", -1},
	    {"30m1", -1},    {"1h 30m", -1},
	};
	sm_error err;
	double d;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		d = -2;
		if (cases[i].seconds < 0) {
			assert_int_equal(sm_config_duration(cases[i].text, &d), -1);
			assert_true(d == -2);
		} else {
			assert_int_equal(sm_config_duration(cases[i].text, &d), 0);
			assert_true(d == cases[i].seconds);
		}
	}
	assert_int_equal(sm_config_duration(NULL, &d), -1);
	setenv("SMT_SECONDS", "15m", 1);
	assert_int_equal(sm_config_seconds("SMT_SECONDS", 5, &d, &err), 0);
	assert_true(d == 900);
	setenv("SMT_SECONDS", "15 minutes", 1);
	assert_int_equal(sm_config_seconds("SMT_SECONDS", 5, &d, &err), -1);
	assert_non_null(strstr(err.msg, "SMT_SECONDS"));
	assert_non_null(strstr(err.msg, "15 minutes"));
	unsetenv("SMT_SECONDS");
	assert_int_equal(sm_config_seconds("SMT_SECONDS", 5, &d, &err), 0);
	assert_true(d == 5);
}

/* The API keys file: comments and blank lines, a line is a name and a
 * digest and nothing else. */
static void api_keys_file(void **state)
{
	/* SHA-256 of "good" */
	static const char good[] =
	    "770e607624d689265ca6c44884d0807d9b054d23c473c106c72be9de08b7376c";
	char text[1024];
	sm_error err;

	(void)state;
	snprintf(text, sizeof text,
	         "# agents and senders\n"
	         "\n"
	         "   \n"
	         "alertmanager %s\n"
	         "# revoked %s\n"
	         "%s\n"
	         "extra %s trailing\n"
	         "short 1234\n",
	         good, sha_of("revoked"), sha_of("lonely"), sha_of("extra"));
	write_file(text);
	assert_int_equal(sm_config_api_key_check(path, "good", &err), 1);
	assert_int_equal(sm_config_api_key_check(path, "GOOD", &err), 0);
	assert_int_equal(sm_config_api_key_check(path, "revoked", &err), 0); /* commented out */
	assert_int_equal(sm_config_api_key_check(path, "lonely", &err), 0);  /* no name */
	assert_int_equal(sm_config_api_key_check(path, "extra", &err), 0);   /* more than two */
	assert_int_equal(sm_config_api_key_check(path, "", &err), 0);
	unlink(path);
	assert_int_equal(sm_config_api_key_check(path, "good", &err), -1);
	assert_non_null(strstr(err.msg, path));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(dotenv_forms),
	    cmocka_unit_test(dotenv_sets_the_log_level),
	    cmocka_unit_test(value_files),
	    cmocka_unit_test(dotenv_errors_name_the_line),
	    cmocka_unit_test(typed_getters),
	    cmocka_unit_test(api_keys_file),
	    cmocka_unit_test(durations),
	    cmocka_unit_test(unknown_log_level_and_env_file_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
