/* testutil.h - shared bits of the cmocka tests: fixture paths and running
 * one checker against a fixture host tree. */
#ifndef SM_TESTUTIL_H
#define SM_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sm/check.h"

/* The absolute path of a fixture (relative to tests/fixtures). */
static inline const char *fixture(const char *rel)
{
	static char buf[4096];
	const char *base = getenv("SM_FIXTURES");

	snprintf(buf, sizeof buf, "%s/%s", base ? base : "tests/fixtures", rel);
	return buf;
}

/* Point the host root at tests/fixtures/hosts/<name>. */
static inline void use_host(const char *name)
{
	char rel[512];

	snprintf(rel, sizeof rel, "hosts/%s", name);
	setenv("SM_HOST_ROOT", fixture(rel), 1);
	unsetenv("SM_PROC_ROOT");
	unsetenv("SM_SYS_ROOT");
}

/* Run the named checker with opts (may be NULL) into res. */
static inline void run_checker(const char *name, const sm_check_opts *opts, sm_check_result *res)
{
	const sm_checker *c = sm_checker_find(name);

	assert_non_null(c);
	sm_check_run(c, opts, res);
	assert_non_null(res->message);
	assert_non_null(res->metrics);
}

/* A metric as a double (integer or real); fails the test if absent. */
static inline double metric_num(const sm_check_result *res, const char *key)
{
	json_t *v = json_object_get(res->metrics, key);

	assert_non_null(v);
	assert_true(json_is_number(v));
	return json_number_value(v);
}

#endif
