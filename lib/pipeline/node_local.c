/* node_local.c - the notify stage of `sm-pipeline work` run in the worker's
 * own process (see node_local_run in nodes.h).
 *
 * As a filter (node_filter.c), sm-notify costs each envelope two hand-overs
 * between processes (the envelope down a pipe, its output and its status
 * back, each a wake-up on another CPU), the envelope printed and parsed
 * twice more, and a store connection of its own whose cache every commit
 * of the worker empties. Here the same code, sm_notifier_process, runs on
 * the worker's connection: bench/README.md has the figures.
 *
 * What a filter's run would show is kept: its log lines are gathered
 * under the name sm-notify and judged as its stderr (the last one is a
 * failed stage's error, all are passed on with the run's id), and its
 * output and exit status are the envelopes and the worst status of the
 * loop of stage.h. It runs here only when
 *   - the program the stage would start is the sm-notify installed beside
 *     the running sm-pipeline: a file of its own, not a link to another
 *     one, nor a script standing in for it (looked at once a second);
 *   - its arguments are channel names (--channel NAME ..., at most 63), as
 *     the notify node makes them;
 *   - no delivery can outlast the node's timeout: the channels' tries, each
 *     bounded by its own timeout, and the waits between them fit in it
 *     (sm_notifier_longest), since a stage here cannot be killed;
 * and SM_NOTIFY_IN_WORKER is not "no"; else it runs as a filter (its own
 * process: a crash in a driver, say, does not take the worker with it).
 * A notifier is kept per list of channels and
 * dropped, as the filters are stopped, when the configuration changes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/nodes.h"
#include "sm/log.h"
#include "sm/notify.h"

#define MAX_LOCAL 8      /* channel lists kept; the oldest makes room */
#define LOOK_MS   1000.0 /* how often the program beside is looked at */
#define ELF_MAGIC "\177ELF"

struct local {
	char *key; /* the channel names, each followed by a NUL; "" for all */
	size_t key_len;
	sm_notifier *notifier;
	unsigned long long used;
};

static struct local locals[MAX_LOCAL];
static unsigned long long uses;
static bool allowed = true;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Whether path is the sm-notify beside this program, a file of its own
 * holding a program (not a script). */
static bool beside(const char *path)
{
	static char self[4096], seen[4096];
	static bool self_known, answer;
	static double looked = -LOOK_MS;
	struct stat sb;
	int fd;

	if (!self_known) {
		ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
		char *slash;
		self[n > 0 ? n : 0] = '\0';
		slash = strrchr(self, '/');
		if (slash && (size_t)(slash - self) + sizeof "sm-notify" < sizeof self)
			memcpy(slash + 1, "sm-notify", sizeof "sm-notify");
		else
			self[0] = '\0';
		self_known = true;
	}
	if (!*self || strcmp(path, self) != 0)
		return false;
	if (now_ms() - looked < LOOK_MS && strcmp(seen, path) == 0)
		return answer;
	answer = false;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		char head[4] = "";
		answer = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
		         read(fd, head, sizeof head) == (ssize_t)sizeof head &&
		         memcmp(head, ELF_MAGIC, sizeof head) == 0;
		close(fd);
	}
	snprintf(seen, sizeof seen, "%s", path);
	looked = now_ms();
	return answer;
}

/* The channel names of argv ("--channel NAME" pairs) as a key; NULL when
 * argv holds anything else. */
static char *channels_key(const char *const *argv, size_t *len)
{
	size_t n = 0, i;
	char *key;

	for (i = 1; argv[i]; i += 2) {
		if (strcmp(argv[i], "--channel") != 0 || !argv[i + 1])
			return NULL;
		n += strlen(argv[i + 1]) + 1;
	}
	if (!(key = malloc(n + 1)))
		return NULL;
	*len = 0;
	for (i = 1; argv[i]; i += 2) {
		size_t k = strlen(argv[i + 1]) + 1;
		memcpy(key + *len, argv[i + 1], k);
		*len += k;
	}
	key[*len] = '\0';
	return key;
}

static void local_clear(struct local *l)
{
	sm_notifier_free(l->notifier);
	free(l->key);
	memset(l, 0, sizeof *l);
}

void node_local_allow(bool allow)
{
	allowed = allow;
}

void node_local_stop(void)
{
	for (size_t i = 0; i < MAX_LOCAL; i++)
		local_clear(&locals[i]);
}

/* The notifier for argv's channels, made when there is none. */
static sm_notifier *notifier_for(const node_ctx *ctx, const char *const *argv)
{
	struct local *slot = NULL, *oldest = NULL;
	const char *names[64];
	size_t len = 0, i, n = 0;
	char *key = channels_key(argv, &len);
	sm_notify_opts opts = {0};
	sm_error err = {0};

	if (!key)
		return NULL;
	for (i = 0; i < MAX_LOCAL; i++) {
		struct local *l = &locals[i];
		if (!l->notifier) {
			slot = slot ? slot : l;
			continue;
		}
		if (l->key_len == len && memcmp(l->key, key, len) == 0) {
			free(key);
			l->used = ++uses;
			return l->notifier;
		}
		if (!oldest || l->used < oldest->used)
			oldest = l;
	}
	for (const char *p = key; p < key + len; p += strlen(p) + 1) {
		if (n + 1 == sizeof names / sizeof names[0]) {
			free(key); /* more channels than that: the filter takes them */
			return NULL;
		}
		names[n++] = p;
	}
	names[n] = NULL;
	opts.channels = n > 0 ? names : NULL;
	slot = slot ? slot : oldest;
	local_clear(slot);
	if (sm_notifier_new(ctx->store, &opts, &slot->notifier, &err) != SM_EXIT_OK) {
		/* An unknown or disabled channel: the filter says so, as ever. */
		slot->notifier = NULL;
		free(key);
		return NULL;
	}
	slot->key = key;
	slot->key_len = len;
	slot->used = ++uses;
	return slot->notifier;
}

/* Add "program: msg" as a line to the lines gathered. */
static void gather(char **buf, size_t *len, const char *program, const char *msg)
{
	size_t k = strlen(program) + strlen(msg) + 3;
	char *grown = realloc(*buf, *len + k + 1);

	if (!grown)
		return;
	snprintf(grown + *len, k + 1, "%s: %s\n", program, msg);
	*buf = grown;
	*len += k;
}

bool node_local_run(const node_type *t, const node_ctx *ctx, const char *const *argv,
                    const json_t *input, node_outcome *out)
{
	char *said = NULL;
	size_t said_len = 0, i;
	const json_t *env;
	sm_notifier *n;
	json_t *output;
	int worst = 0;

	if (t != &node_notify || !allowed || !node_filters_enabled() || !beside(argv[0]) ||
	    !(n = notifier_for(ctx, argv)) ||
	    (ctx->timeout_s > 0 && sm_notifier_longest(n) >= ctx->timeout_s))
		return false;
	/* What a filter is handed may be recorded as handed at once. */
	node_handed(ctx);
	if (!sqlite3_get_autocommit(sm_store_db(ctx->store)))
		return false; /* a transaction still open: not the notifier's to share */
	output = json_array();
	sm_log_divert(&said, &said_len, t->program);
	json_array_foreach(input, i, env)
	{
		json_t *copy = json_deep_copy(env);
		sm_error err = {0};
		int rc = copy ? sm_notifier_process(n, copy, &err) : SM_EXIT_FAILURE;

		/* sm-notify's own line for a store that failed, among its log
		 * lines (the buffer the log appends to). */
		if (rc == SM_EXIT_FAILURE)
			gather(&said, &said_len, t->program, copy ? err.msg : "out of memory");
		if (copy)
			json_array_append_new(output, copy);
		worst = node_worse_status(worst, rc);
	}
	sm_log_divert(NULL, NULL, NULL);
	node_judge_output(t, ctx, worst, output, said ? said : "", said_len, out);
	free(said);
	return true;
}
