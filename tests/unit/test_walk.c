/* test_walk.c - bounded directory walks (walk.h) over trees built at run
 * time: sizes, symlinks never followed, unreadable entries, deadlines,
 * deep trees with bounded fds, pruning and stopping. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "sm/walk.h"

#define MB (1024ULL * 1024)

static int setup(void **state)
{
	const char *root = scratch_make("sm-walk");

	(void)state;
	chmod(root, 0755); /* the unprivileged child of the root-run tests walks it */
	return 0;
}

/* What a walk reported. */
struct seen {
	int files, dirs, posts, others;
	unsigned long long file_bytes;
	char post_path[8][4096];
	unsigned long long post_bytes[8];
	int post_error[8];
	int post_depth[8];
	bool bad_path;          /* a path outside root, or not matching its name */
	const char *skip_name;  /* SM_WALK_SKIP directories of this name */
	int stop_after_files;   /* SM_WALK_STOP after this many files (0: never) */
	int expire_after_files; /* move the deadline to now after this many files */
	struct timespec *deadline;
	int max_fds;
	bool count_fds;
};

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int record(const sm_walk_entry *e, void *ctx)
{
	struct seen *s = ctx;
	size_t n = strlen(e->path), m = strlen(e->name);

	if (strncmp(e->path, scratch_root(), strlen(scratch_root())) != 0 || n < m ||
	    strcmp(e->path + n - m, e->name) != 0 || e->path[n - m - 1] != '/')
		s->bad_path = true;
	if (s->count_fds) {
		int fds = open_fds();
		if (fds > s->max_fds)
			s->max_fds = fds;
	}
	switch (e->kind) {
	case SM_WALK_FILE:
		s->files++;
		s->file_bytes += (unsigned long long)e->st->st_size;
		assert_true(S_ISREG(e->st->st_mode));
		if (s->stop_after_files && s->files == s->stop_after_files)
			return SM_WALK_STOP;
		if (s->expire_after_files && s->files == s->expire_after_files)
			sm_walk_deadline(s->deadline, 0);
		break;
	case SM_WALK_DIR:
		s->dirs++;
		assert_true(S_ISDIR(e->st->st_mode));
		if (s->skip_name && strcmp(e->name, s->skip_name) == 0)
			return SM_WALK_SKIP;
		break;
	case SM_WALK_DIR_POST:
		if (s->posts < 8) {
			snprintf(s->post_path[s->posts], sizeof s->post_path[0], "%s", e->path);
			s->post_bytes[s->posts] = e->bytes;
			s->post_error[s->posts] = e->error;
			s->post_depth[s->posts] = e->depth;
		}
		s->posts++;
		break;
	case SM_WALK_NONFILE:
		s->others++;
		assert_false(S_ISREG(e->st->st_mode) || S_ISDIR(e->st->st_mode));
		break;
	}
	return SM_WALK_CONTINUE;
}

static int post_index(const struct seen *s, const char *rel)
{
	for (int i = 0; i < s->posts && i < 8; i++)
		if (strcmp(s->post_path[i], at(rel)) == 0)
			return i;
	return -1;
}

static void test_sizes_and_kinds(void **state)
{
	sm_walk_opts opts = {.flags = SM_WALK_DIRS | SM_WALK_POST | SM_WALK_OTHER};
	struct seen s = {0};
	sm_walk_stats st;
	int i;

	(void)state;
	mkfile(at("t/top.txt"), 3);
	mkfile(at("t/a/one"), 10);
	mkfile(at("t/a/b/sparse"), 5 * MB);
	mkdirs(at("t/empty"));
	assert_int_equal(mkfifo(at("t/a/fifo"), 0644), 0);
	assert_int_equal(sm_walk(at("t"), &opts, record, &s, &st), 0);
	assert_int_equal(st.files, 3);
	assert_int_equal(st.dirs, 3);
	assert_int_equal(st.bytes, 13 + 5 * MB);
	assert_int_equal(st.unreadable, 0);
	assert_false(st.cut_short);
	assert_false(st.stopped);
	assert_int_equal(s.files, 3);
	assert_int_equal(s.dirs, 3);
	assert_int_equal(s.posts, 3);
	assert_int_equal(s.others, 1);
	assert_false(s.bad_path);
	i = post_index(&s, "t/a");
	assert_true(i >= 0);
	assert_int_equal(s.post_bytes[i], 10 + 5 * MB);
	assert_int_equal(s.post_depth[i], 1);
	assert_int_equal(s.post_error[i], 0);
	i = post_index(&s, "t/a/b");
	assert_true(i >= 0);
	assert_int_equal(s.post_bytes[i], 5 * MB);
	assert_int_equal(s.post_depth[i], 2);
	i = post_index(&s, "t/empty");
	assert_true(i >= 0);
	assert_int_equal(s.post_bytes[i], 0);

	/* A trailing slash changes nothing; NULL opts and fn are fine. */
	char slash[8192];
	snprintf(slash, sizeof slash, "%s//", at("t"));
	assert_int_equal(sm_walk(slash, NULL, NULL, NULL, &st), 0);
	assert_int_equal(st.bytes, 13 + 5 * MB);
}

static void test_files_only_by_default(void **state)
{
	struct seen s = {0};

	(void)state;
	mkfile(at("d/x/y/f"), 1);
	assert_int_equal(symlink("f", at("d/x/y/l")), 0);
	assert_int_equal(sm_walk(at("d"), NULL, record, &s, NULL), 0);
	assert_int_equal(s.files, 1);
	assert_int_equal(s.dirs + s.posts + s.others, 0);
}

static void test_symlinks_never_followed(void **state)
{
	sm_walk_opts opts = {.flags = SM_WALK_DIRS | SM_WALK_OTHER};
	struct seen s = {0};
	sm_walk_stats st;
	unsigned long long bytes = 1;

	(void)state;
	mkfile(at("outside/huge.iso"), 500 * MB);
	mkfile(at("s/real/data"), 7);
	assert_int_equal(symlink(at("outside/huge.iso"), at("s/big-link")), 0);
	assert_int_equal(symlink(at("outside"), at("s/dir-link")), 0);
	assert_int_equal(symlink(".", at("s/real/loop")), 0);
	assert_int_equal(symlink("..", at("s/real/up")), 0);
	assert_int_equal(symlink("missing", at("s/dangling")), 0);
	assert_int_equal(sm_walk(at("s"), &opts, record, &s, &st), 0);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.bytes, 7);
	assert_int_equal(st.dirs, 1);
	assert_int_equal(s.others, 5); /* every symlink, reported and not followed */
	assert_false(s.bad_path);

	/* A symlinked start directory is not walked, with or without a slash. */
	errno = 0;
	assert_int_equal(sm_walk(at("s/dir-link"), NULL, NULL, NULL, &st), -1);
	assert_true(errno == ENOTDIR || errno == ELOOP);
	char slash[8192];
	snprintf(slash, sizeof slash, "%s/", at("s/dir-link"));
	assert_int_equal(sm_walk_size(slash, NULL, &bytes, NULL), -1);
	assert_int_equal(bytes, 0);
}

static void test_start_errors(void **state)
{
	unsigned long long bytes;

	(void)state;
	mkfile(at("e/file"), 1);
	errno = 0;
	assert_int_equal(sm_walk(at("e/missing"), NULL, NULL, NULL, NULL), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(sm_walk_size(at("e/file"), NULL, &bytes, NULL), -1);
	assert_int_equal(errno, ENOTDIR);
}

/* The unreadable-entry walk; returns a description of the first failure. */
static const char *walk_unreadable(void)
{
	sm_walk_opts opts = {.flags = SM_WALK_POST};
	struct seen s = {0};
	sm_walk_stats st;
	int i;

	if (sm_walk(at("u"), &opts, record, &s, &st) != 0)
		return "walk failed";
	if (st.unreadable != 2)
		return "unreadable != 2";
	if (st.files != 1 || st.bytes != 5)
		return "wrong files or bytes";
	i = post_index(&s, "u/locked");
	if (i < 0 || s.post_error[i] != EACCES || s.post_bytes[i] != 0)
		return "locked directory not reported with EACCES";
	i = post_index(&s, "u/noexec");
	if (i < 0 || s.post_error[i] != 0)
		return "listable directory reported as failed";
	return NULL;
}

static void test_unreadable_entries_skipped(void **state)
{
	const char *why;

	(void)state;
	mkfile(at("u/ok"), 5);
	mkfile(at("u/locked/secret"), 100);
	mkfile(at("u/noexec/hidden"), 100);
	assert_int_equal(chmod(at("u/locked"), 0), 0);
	assert_int_equal(chmod(at("u/noexec"), 0444), 0);
	if (geteuid() != 0) {
		why = walk_unreadable();
		if (why)
			fail_msg("%s", why);
		return;
	}
	/* Root reads everything: check as nobody in a child, else as root
	 * the directories must simply be walked. */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(77);
		why = walk_unreadable();
		if (why)
			fprintf(stderr, "as nobody: %s\n", why);
		_exit(why ? 1 : 0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		sm_walk_stats st;
		assert_int_equal(sm_walk(at("u"), NULL, NULL, NULL, &st), 0);
		assert_int_equal(st.bytes, 205);
		return;
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_deadline_in_the_past(void **state)
{
	struct timespec deadline;
	sm_walk_opts opts = {.deadline = &deadline};
	sm_walk_stats st;
	unsigned long long bytes = 1;

	(void)state;
	mkfile(at("p/a/f"), 10);
	sm_walk_deadline(&deadline, 0);
	assert_true(sm_walk_expired(&deadline));
	assert_false(sm_walk_expired(NULL));
	assert_int_equal(sm_walk(at("p"), &opts, NULL, NULL, &st), 0);
	assert_true(st.cut_short);
	assert_int_equal(st.files, 0);
	assert_int_equal(sm_walk_size(at("p"), &deadline, &bytes, &st), 0);
	assert_true(st.cut_short);
	assert_int_equal(bytes, 0);
	/* A future deadline is not reached by a small walk. */
	sm_walk_deadline(&deadline, 60);
	assert_false(sm_walk_expired(&deadline));
	assert_int_equal(sm_walk_size(at("p"), &deadline, &bytes, &st), 0);
	assert_false(st.cut_short);
	assert_int_equal(bytes, 10);
}

static void test_deadline_mid_walk(void **state)
{
	struct timespec deadline;
	sm_walk_opts opts = {.flags = SM_WALK_POST, .deadline = &deadline};
	struct seen s = {.expire_after_files = 10, .deadline = &deadline};
	sm_walk_stats st;
	char rel[64];
	int i;

	(void)state;
	for (i = 0; i < 40; i++) {
		snprintf(rel, sizeof rel, "m/outer/inner/f%02d", i);
		mkfile(at(rel), 1000);
	}
	sm_walk_deadline(&deadline, 3600);
	assert_int_equal(sm_walk(at("m"), &opts, record, &s, &st), 0);
	assert_true(st.cut_short);
	assert_int_equal(st.files, 10);
	/* The directories being walked still report their partial sizes. */
	assert_int_equal(s.posts, 2);
	i = post_index(&s, "m/outer");
	assert_true(i >= 0);
	assert_int_equal(s.post_bytes[i], 10000);
	i = post_index(&s, "m/outer/inner");
	assert_true(i >= 0);
	assert_int_equal(s.post_bytes[i], 10000);
}

/* A chain 120 directories deep with siblings at every level: the shallow
 * frames must be closed, read ahead and reopened, and nothing lost. */
static void test_deep_tree_bounded_fds(void **state)
{
	sm_walk_opts opts = {.flags = SM_WALK_DIRS};
	struct seen s = {.count_fds = true};
	sm_walk_stats st;
	char rel[4096] = "deep";
	size_t len = strlen(rel);
	int baseline, depth = 120, i;

	(void)state;
	for (i = 0; i < depth; i++) {
		char f[4200];
		snprintf(f, sizeof f, "%s/a%d", rel, i);
		mkfile(at(f), 1);
		snprintf(f, sizeof f, "%s/z%d/inside", rel, i);
		mkfile(at(f), 2);
		len += (size_t)snprintf(rel + len, sizeof rel - len, "/d");
	}
	mkdirs(at(rel));
	baseline = open_fds();
	assert_int_equal(sm_walk(at("deep"), &opts, record, &s, &st), 0);
	assert_int_equal(st.files, 2 * depth);
	assert_int_equal(st.bytes, 3 * depth);
	assert_int_equal(st.dirs, 2 * depth);
	assert_int_equal(st.unreadable, 0);
	assert_false(s.bad_path);
	assert_true(s.max_fds <= baseline + 16 + 2);
	assert_int_equal(open_fds(), baseline);
}

static void test_skip_stop_and_depth(void **state)
{
	sm_walk_opts opts = {.flags = SM_WALK_DIRS | SM_WALK_POST};
	struct seen s = {.skip_name = "skipme"};
	sm_walk_stats st;
	int i;

	(void)state;
	mkfile(at("k/keep/f"), 4);
	mkfile(at("k/skipme/f"), 8);
	mkfile(at("k/keep/deeper/g"), 16);
	assert_int_equal(sm_walk(at("k"), &opts, record, &s, &st), 0);
	assert_int_equal(st.bytes, 20);
	assert_int_equal(s.posts, 2); /* keep, keep/deeper; no post for skipme */
	assert_int_equal(post_index(&s, "k/skipme"), -1);

	/* max_depth: only children reported, their sizes still whole. */
	memset(&s, 0, sizeof s);
	opts.max_depth = 1;
	assert_int_equal(sm_walk(at("k"), &opts, record, &s, &st), 0);
	assert_int_equal(s.dirs, 2);
	assert_int_equal(s.files, 0);
	assert_int_equal(s.posts, 2);
	i = post_index(&s, "k/keep");
	assert_true(i >= 0);
	assert_int_equal(s.post_bytes[i], 20);
	assert_int_equal(st.bytes, 28);

	/* SM_WALK_STOP ends the walk at once. */
	memset(&s, 0, sizeof s);
	s.stop_after_files = 1;
	opts.max_depth = 0;
	assert_int_equal(sm_walk(at("k"), &opts, record, &s, &st), 0);
	assert_true(st.stopped);
	assert_false(st.cut_short);
	assert_int_equal(s.files, 1);
	assert_int_equal(s.posts, 0);
}

/* Mount points under /dev (pts, shm) are another filesystem: not entered. */
static void test_other_filesystems_not_crossed(void **state)
{
	sm_walk_opts opts = {.flags = SM_WALK_DIRS | SM_WALK_OTHER, .max_depth = 1};
	struct stat dev, pts, shm;
	sm_walk_stats st;
	unsigned long long expect = 0;

	(void)state;
	if (lstat("/dev", &dev) != 0)
		skip();
	if (lstat("/dev/pts", &pts) == 0 && S_ISDIR(pts.st_mode) && pts.st_dev != dev.st_dev)
		expect++;
	if (lstat("/dev/shm", &shm) == 0 && S_ISDIR(shm.st_mode) && shm.st_dev != dev.st_dev)
		expect++;
	if (!expect)
		skip();
	assert_int_equal(sm_walk("/dev", &opts, NULL, NULL, &st), 0);
	assert_true(st.other_fs >= expect);
}

static int first_path(const sm_walk_entry *e, void *ctx)
{
	snprintf(ctx, 4096, "%s", e->path);
	return SM_WALK_STOP;
}

static void test_root_paths(void **state)
{
	sm_walk_opts opts = {.flags = SM_WALK_DIRS | SM_WALK_OTHER};
	char path[4096] = "";
	sm_walk_stats st;

	(void)state;
	assert_int_equal(sm_walk("/", &opts, first_path, path, &st), 0);
	assert_true(st.stopped);
	assert_true(path[0] == '/' && path[1] != '/' && path[1] != '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sizes_and_kinds),
	    cmocka_unit_test(test_files_only_by_default),
	    cmocka_unit_test(test_symlinks_never_followed),
	    cmocka_unit_test(test_start_errors),
	    cmocka_unit_test(test_unreadable_entries_skipped),
	    cmocka_unit_test(test_deadline_in_the_past),
	    cmocka_unit_test(test_deadline_mid_walk),
	    cmocka_unit_test(test_deep_tree_bounded_fds),
	    cmocka_unit_test(test_skip_stop_and_depth),
	    cmocka_unit_test(test_other_filesystems_not_crossed),
	    cmocka_unit_test(test_root_paths),
	};

	return cmocka_run_group_tests(tests, setup, scratch_remove);
}
