/* testutil.h - shared bits of the cmocka tests: fixture paths, running one
 * checker against a fixture host tree, result assertions and throwaway
 * directory trees. */
#ifndef SM_TESTUTIL_H
#define SM_TESTUTIL_H

#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "sm/check.h"
#include "sm/json.h"

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
/* Checker option values for a test, set directly: a list borrows items
 * (these opts are never passed to sm_check_opts_clear), a number or a
 * switch (any value) is stored as it is. */
static inline void opts_list(sm_check_opts *o, const char *name, const char *const *items, size_t n)
{
	o->values[o->nvalues++] =
	    (struct sm_check_value){.name = name, .items = (char **)items, .count = n};
}

static inline void opts_number(sm_check_opts *o, const char *name, double v)
{
	o->values[o->nvalues++] = (struct sm_check_value){.name = name, .number = v};
}

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

/* Fail unless two doubles agree to within 1e-9, printing both in full. */
#define assert_real(a, b)                                                                          \
	do {                                                                                       \
		double a_ = (a), b_ = (b);                                                         \
		if (fabs(a_ - b_) > 1e-9)                                                          \
			fail_msg("%.17g != %.17g", a_, b_);                                        \
	} while (0)

/* The metrics of res, printed as the tools print JSON, are exactly json. */
static inline void assert_metrics(const sm_check_result *res, const char *json)
{
	char *dump = json_dumps(res->metrics, SM_JSON_FLAGS);

	assert_non_null(dump);
	assert_string_equal(dump, json);
	free(dump);
}

/* assert_result's perfdata when the result must have none (NULL). */
#define NO_PERFDATA "\001no perfdata"

/* res has status and, each where not NULL, exactly message, metrics (as the
 * tools print JSON) and perfdata (NO_PERFDATA: none at all). */
static inline void assert_result(const sm_check_result *res, enum sm_status status,
                                 const char *message, const char *metrics, const char *perfdata)
{
	assert_int_equal(res->status, status);
	if (message)
		assert_string_equal(res->message, message);
	if (metrics)
		assert_metrics(res, metrics);
	if (perfdata && strcmp(perfdata, NO_PERFDATA) == 0)
		assert_null(res->perfdata);
	else if (perfdata)
		assert_string_equal(res->perfdata, perfdata);
}

/* Run checker with opts (may be NULL) against fixture host (NULL: the host
 * root as it is set already), assert_result and clear the result. */
static inline void assert_outcome(const char *host, const char *checker, const sm_check_opts *opts,
                                  enum sm_status status, const char *message, const char *metrics,
                                  const char *perfdata)
{
	sm_check_result res;

	if (host)
		use_host(host);
	run_checker(checker, opts, &res);
	assert_result(&res, status, message, metrics, perfdata);
	sm_check_result_clear(&res);
}

/* One row of a table of assert_outcome cases for one checker. */
struct outcome {
	const char *host;
	enum sm_status status;
	const char *message, *metrics, *perfdata;
};

/* assert_outcome of each of the n cases with checker and no options. */
static inline void assert_outcomes(const char *checker, const struct outcome *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_outcome(cases[i].host, checker, NULL, cases[i].status, cases[i].message,
		               cases[i].metrics, cases[i].perfdata);
}

/* Run checker with opts against fixture host: UNKNOWN, and the error is the
 * host's fixture directory followed by suffix (like "/proc/stat: ..."). */
static inline void assert_host_error(const char *host, const char *checker,
                                     const sm_check_opts *opts, const char *suffix)
{
	sm_check_result res;
	char rel[512], expected[8192];

	use_host(host);
	run_checker(checker, opts, &res);
	assert_int_equal(res.status, SM_UNKNOWN);
	snprintf(rel, sizeof rel, "hosts/%s", host);
	snprintf(expected, sizeof expected, "%s%s", fixture(rel), suffix);
	assert_string_equal(res.error, expected);
	sm_check_result_clear(&res);
}

/* The keys of obj are exactly keys, in this order. */
static inline void assert_keys(json_t *obj, const char *const *keys, size_t n)
{
	size_t i = 0;

	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it), i++) {
		assert_true(i < n);
		assert_string_equal(json_object_iter_key(it), keys[i]);
	}
	assert_int_equal(i, n);
}

/* The text of fixture file hosts/<host>/<file>; the caller frees it. */
static inline char *slurp(const char *host, const char *file)
{
	char rel[512], *buf;
	long size;
	FILE *f;

	snprintf(rel, sizeof rel, "hosts/%s/%s", host, file);
	f = fopen(fixture(rel), "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	return buf;
}

/* A throwaway host root holding one file, for junk the fixtures don't keep. */
struct tmp_host {
	char root[64], dir[128], file[192];
};

/* Fill h: text in <root><dir>/<name> (dir like "/proc"), SM_HOST_ROOT=root. */
static inline void tmp_host(struct tmp_host *h, const char *dir, const char *name, const char *text)
{
	FILE *f;

	snprintf(h->root, sizeof h->root, "/tmp/sm-test-XXXXXX");
	assert_non_null(mkdtemp(h->root));
	snprintf(h->dir, sizeof h->dir, "%s%s", h->root, dir);
	assert_int_equal(mkdir(h->dir, 0755), 0);
	snprintf(h->file, sizeof h->file, "%s/%s", h->dir, name);
	f = fopen(h->file, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	setenv("SM_HOST_ROOT", h->root, 1);
}

/* Delete what tmp_host made (SM_HOST_ROOT is left as it is). */
static inline void tmp_host_remove(struct tmp_host *h)
{
	unlink(h->file);
	rmdir(h->dir);
	rmdir(h->root);
}

/* Run checker on a throwaway host whose /proc/<file> holds text: UNKNOWN,
 * with exactly error. */
static inline void assert_proc_error(const char *checker, const char *file, const char *text,
                                     const char *error)
{
	struct tmp_host h = {0};
	sm_check_result res;

	tmp_host(&h, "/proc", file, text);
	run_checker(checker, NULL, &res);
	assert_int_equal(res.status, SM_UNKNOWN);
	assert_string_equal(res.error, error);
	sm_check_result_clear(&res);
	tmp_host_remove(&h);
}

/* The scratch directory tree of a test file (see scratch_make). */
static inline char *scratch_root(void)
{
	static char root[4096] = "";

	return root;
}

/* Make a fresh scratch directory $TMPDIR/<prefix>-XXXXXX (or under /tmp). */
static inline const char *scratch_make(const char *prefix)
{
	char *root = scratch_root();
	const char *tmp = getenv("TMPDIR");

	snprintf(root, 4096, "%s/%s-XXXXXX", tmp ? tmp : "/tmp", prefix);
	assert_non_null(mkdtemp(root));
	return root;
}

/* <scratch root>/sm.db: the store file of a store-backed test (the file is
 * not created; sm_store_open makes it). */
static inline const char *scratch_db(void)
{
	static char store_file[4200];

	snprintf(store_file, sizeof store_file, "%s/sm.db", scratch_root());
	return store_file;
}

/* root + rel under the scratch root ('/' added if rel lacks one); 3 live at once. */
static inline const char *at(const char *rel)
{
	static char buf[3][8192];
	static int i;

	i = (i + 1) % 3;
	snprintf(buf[i], sizeof buf[i], rel[0] == '/' ? "%s%s" : "%s/%s", scratch_root(), rel);
	return buf[i];
}

/* mkdir -p path (mode 0755), errors ignored. */
static inline void mkdirs(const char *path)
{
	char tmp[8192];

	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(tmp, 0755);
		*p = '/';
	}
	mkdir(tmp, 0755);
}

/* A sparse file of size bytes at path (apparent size), parents created. */
static inline void mkfile(const char *path, unsigned long long size)
{
	char parent[8192];
	int fd;

	snprintf(parent, sizeof parent, "%s", path);
	*strrchr(parent, '/') = '\0';
	mkdirs(parent);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

/* rm -rf path, made writable first so locked test directories go too. */
static inline void rm_rf(const char *path)
{
	char cmd[8300];

	snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", path, path);
	assert_int_equal(system(cmd), 0);
}

/* A cmocka teardown removing the scratch tree. */
static inline int scratch_remove(void **state)
{
	(void)state;
	rm_rf(scratch_root());
	return 0;
}

#endif
