/* node_filter.c - the stages of `sm-pipeline work` kept running as filters
 * (see node_filter_run in nodes.h).
 *
 * A process per stage per envelope costs an exec, the dynamic loader,
 * opening the store and loading the configuration, several milliseconds
 * each time; a worker pays it once per filter instead. Each filter runs in
 * its own process group with four pipes: envelopes in on stdin, envelopes
 * out on stdout, diagnostics on stderr, and one status line per envelope
 * on descriptor 3 (SM_STAGE_STATUS_FD, stage.h). The status line comes
 * after the envelope's output is written, so once it is read the output
 * and the diagnostics of that envelope are in their pipes.
 *
 * A filter sees the configuration of the moment it started, where a
 * process per run saw the configuration of its run: so the filters are
 * stopped, and started again on their next use, when the environment file,
 * the notification channels, the intelligence providers or the program
 * itself changed (node_filters_refresh, before each queue item, or each
 * batch of a backlog). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/nodes.h"
#include "sm/hash.h"
#include "sm/json.h"
#include "sm/log.h"

#define MAX_FILTERS     8      /* distinct argvs kept; the oldest makes room */
#define STOP_GRACE_MS   2000.0 /* a stopped filter's time to finish and exit */
#define KILL_GRACE_MS   500.0  /* after a timeout, SIGTERM to SIGKILL */
#define STATUS_FD       3
#define READY_MS        5000.0 /* a new filter's time to say "ready" */
#define MAX_PLAIN       8      /* programs found not to speak the protocol */
#define PROGRAM_LOOK_MS 1000.0 /* how often a running filter's program is looked at */

struct buf {
	char *p;
	size_t len, cap;
};

struct filter {
	char *key; /* the argv, NUL-separated */
	size_t key_len;
	pid_t pid;
	int in, out, err, status; /* our ends of its pipes */
	struct stat program;      /* the program file it was started from */
	double program_seen_ms;   /* when that file was last found unchanged */
	unsigned long long used;  /* when it was last used, for eviction */
	bool ready;               /* it said "ready" */
	/* A line handed ahead (node_ctx.ahead) that no call has asked for yet,
	 * and how much of it the pipe took. */
	char *ahead;
	size_t ahead_len, ahead_sent;
};

/* Programs that did not say "ready" in time (a script standing in for a
 * stage): run as a process per run from then on. */
static char *plain[MAX_PLAIN];

static struct filter filters[MAX_FILTERS];
static bool enabled;
static volatile sig_atomic_t held; /* a stop request: nothing handed ahead */
static unsigned long long clock_uses;
static uint64_t config_stamp;
static bool stamp_known;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int buf_add(struct buf *b, const char *p, size_t n)
{
	if (n > SIZE_MAX / 4 - b->len)
		return -1; /* no line is that long; the doubling below stays in range */
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *grown;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(grown = realloc(b->p, cap)))
			return -1;
		b->p = grown;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* Read what fd has into b: 1 read something, 0 nothing now, -1 end of
 * file or error. */
static int drain(int fd, struct buf *b)
{
	char chunk[16384];
	int got = 0;

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n > 0) {
			if (buf_add(b, chunk, (size_t)n) < 0)
				return -1;
			got = 1;
			/* A pipe's read returns all it holds, up to the size asked:
			 * less means it is empty now, and a read more would only say
			 * EAGAIN (a system call an envelope, twice). */
			if ((size_t)n < sizeof chunk)
				return got;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return got;
		return -1;
	}
}

/* What a filter wrote on stderr outside any envelope (after an envelope's
 * status, before the next one is handed over; at its exit) belongs to no
 * run: passed on as it is, not under the next run's id, and not taken for
 * the next attempt's error. */
static void pass_between(struct filter *f)
{
	struct buf b = {0};

	if (f->err < 0)
		return;
	drain(f->err, &b);
	if (b.len && write(STDERR_FILENO, b.p, b.len) < 0)
		sm_log(SM_LOG_DEBUG, "stderr: %s", strerror(errno));
	free(b.p);
}

/* --- starting and stopping ------------------------------------------------- */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* End f: its stdin closed so it exits by itself, then its group killed if
 * it has not within grace_ms. Its exit status, or -1 with *sig set when a
 * signal ended it. rest: what it wrote on stderr since its last envelope
 * is passed on (a stop between runs; otherwise the caller judges it). */
static int reap(struct filter *f, double grace_ms, bool rest, int *sig)
{
	double until = now_ms() + grace_ms;
	int status = 0, rc = -1;
	pid_t got = 0;

	*sig = 0;
	close_fd(&f->in);
	while (f->pid > 0 && (got = waitpid(f->pid, &status, WNOHANG)) == 0 && now_ms() < until) {
		struct timespec ts = {0, 2000000};
		nanosleep(&ts, NULL);
	}
	if (f->pid > 0 && got == 0) {
		/* The group, so a child it started (an exec channel) goes too; the
		 * filter, a zombie at worst until reaped, keeps the group's id. */
		kill(-f->pid, SIGKILL);
		got = waitpid(f->pid, &status, 0);
	}
	if (got == f->pid && WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else if (got == f->pid && WIFSIGNALED(status))
		*sig = WTERMSIG(status);
	if (rest)
		pass_between(f);
	close_fd(&f->out);
	close_fd(&f->err);
	close_fd(&f->status);
	free(f->key);
	free(f->ahead);
	memset(f, 0, sizeof *f);
	f->in = f->out = f->err = f->status = -1;
	return rc;
}

void node_filters_stop(void)
{
	for (size_t i = 0; i < MAX_FILTERS; i++)
		if (filters[i].key) {
			int sig;
			reap(&filters[i], STOP_GRACE_MS, true, &sig);
		}
	node_local_stop();
}

bool node_filters_enabled(void)
{
	return enabled;
}

void node_filters_hold(void)
{
	held = 1;
}

void node_filters_enable(void)
{
	/* A filter that died leaves a pipe with no reader: a write error to
	 * judge, not a signal that ends the worker. */
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < MAX_FILTERS; i++)
		if (!filters[i].key)
			filters[i].in = filters[i].out = filters[i].err = filters[i].status = -1;
	enabled = true;
}

extern char **environ;

/* glibc's per-thread cache of freed blocks keeps 7 of each size by default;
 * a filter builds and frees the same JSON trees envelope after envelope,
 * more blocks of one size than that, and the rest went through malloc's
 * bins (bench/README.md, session 10: a sm-notify filter's CPU per envelope
 * fell 6-9 %). Put ahead of the caller's own tunables, which win. */
#define FILTER_TUNABLES "glibc.malloc.tcache_count=200"

/* The filter's environment: ours, with the status descriptor named, the
 * stage's syncs relaxed as the worker's own and malloc tuned for a long
 * stream (made before the fork: the child of a threaded process only calls
 * what is safe after fork). *tunables: the string to free with the array. */
static char **filter_env(char **tunables)
{
	static char status_var[] = "SM_STAGE_STATUS_FD=3", sync_var[] = "SM_STORE_SYNC=normal";
	const char *theirs = getenv("GLIBC_TUNABLES");
	size_t n = 0, k = 0;
	char **env;

	*tunables = NULL;
	while (environ[n])
		n++;
	if (!(env = calloc(n + 4, sizeof *env)))
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "SM_STAGE_STATUS_FD=", 19) != 0 &&
		    strncmp(environ[i], "SM_STORE_SYNC=", 14) != 0 &&
		    strncmp(environ[i], "GLIBC_TUNABLES=", 15) != 0)
			env[k++] = environ[i];
	env[k++] = status_var;
	env[k++] = sync_var;
	if (!(*tunables = malloc(sizeof "GLIBC_TUNABLES=" + sizeof FILTER_TUNABLES +
	                         (theirs ? strlen(theirs) + 1 : 0)))) {
		free(env);
		return NULL;
	}
	sprintf(*tunables, "GLIBC_TUNABLES=%s%s%s", FILTER_TUNABLES, theirs && *theirs ? ":" : "",
	        theirs ? theirs : "");
	env[k] = *tunables;
	return env;
}

static void child(const char *const *argv, char **env, int fds[4][2])
{
	sigset_t none;
	static const int reset[] = {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD};

	setpgid(0, 0);
	for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
		signal(reset[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(fds[0][0], 0) < 0 || dup2(fds[1][1], 1) < 0 || dup2(fds[2][1], 2) < 0 ||
	    dup2(fds[3][1], STATUS_FD) < 0)
		_exit(127);
	/* dup2 onto itself keeps close-on-exec: clear it on the four. */
	for (int fd = 0; fd <= STATUS_FD; fd++)
		fcntl(fd, F_SETFD, 0);
#ifdef SYS_close_range
	if (syscall(SYS_close_range, STATUS_FD + 1U, ~0U, 0U) < 0)
#endif
		for (int fd = STATUS_FD + 1; fd < 1024; fd++)
			close(fd);
	execve(argv[0], (char *const *)argv, env);
	dprintf(2, "%s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Start argv as filter f: 0, or -1 with why. */
static int start(struct filter *f, const char *const *argv, const char *key, size_t key_len,
                 const struct stat *program, char *why, size_t size)
{
	int fds[4][2];
	size_t made = 0;
	pid_t pid;
	char *tunables;
	char **env = filter_env(&tunables);

	for (; env && made < 4; made++)
		if (pipe2(fds[made], O_CLOEXEC) < 0)
			break;
	if (made < 4 || !(f->key = malloc(key_len))) {
		snprintf(why, size, "cannot start %.400s: %s", argv[0], strerror(errno));
		for (size_t i = 0; i < made; i++) {
			close(fds[i][0]);
			close(fds[i][1]);
		}
		free(env);
		free(tunables);
		return -1;
	}
	pid = fork();
	if (pid == 0)
		child(argv, env, fds);
	free(env);
	free(tunables);
	close(fds[0][0]);
	close(fds[1][1]);
	close(fds[2][1]);
	close(fds[3][1]);
	if (pid < 0) {
		snprintf(why, size, "cannot start %.400s: %s", argv[0], strerror(errno));
		for (int i = 0; i < 4; i++)
			close(fds[i][i == 0 ? 1 : 0]);
		free(f->key);
		f->key = NULL;
		return -1;
	}
	setpgid(pid, pid); /* as the child does: whichever runs first */
	memcpy(f->key, key, key_len);
	f->key_len = key_len;
	f->pid = pid;
	f->in = fds[0][1];
	f->out = fds[1][0];
	f->err = fds[2][0];
	f->status = fds[3][0];
	f->program = *program;
	f->program_seen_ms = now_ms();
	for (int i = 0; i < 4; i++)
		fcntl(i == 0   ? f->in
		      : i == 1 ? f->out
		      : i == 2 ? f->err
		               : f->status,
		      F_SETFL, O_NONBLOCK);
	sm_log_kv(SM_LOG_DEBUG, "stage filter started", "program", argv[0], SM_LOG_END);
	return 0;
}

/* The filter for argv: a running one, else a new one in a free (or the
 * least recently used) slot. NULL with why. */
static struct filter *find(const char *const *argv, char *why, size_t size)
{
	struct buf key = {0};
	struct filter *f = NULL;
	struct stat program;

	for (size_t i = 0; argv[i]; i++)
		if (buf_add(&key, argv[i], strlen(argv[i]) + 1) < 0) {
			free(key.p);
			snprintf(why, size, "out of memory");
			return NULL;
		}
	/* A running filter whose program was found unchanged less than
	 * PROGRAM_LOOK_MS ago is taken as it is, if it still runs: the file is
	 * looked at once a second, not once an envelope. */
	for (size_t i = 0; i < MAX_FILTERS; i++) {
		struct filter *g = &filters[i];
		if (g->key && g->key_len == key.len && memcmp(g->key, key.p, key.len) == 0 &&
		    now_ms() - g->program_seen_ms < PROGRAM_LOOK_MS &&
		    waitpid(g->pid, NULL, WNOHANG) == 0) {
			free(key.p);
			g->used = ++clock_uses;
			return g;
		}
	}
	if (stat(argv[0], &program) < 0) {
		snprintf(why, size, "cannot run %.400s: %s", argv[0], strerror(errno));
		free(key.p);
		return NULL;
	}
	for (size_t i = 0; i < MAX_FILTERS && !f; i++) {
		struct filter *g = &filters[i];
		int sig;
		if (!g->key || g->key_len != key.len || memcmp(g->key, key.p, key.len) != 0)
			continue;
		/* Gone since its last use, or its program replaced: a new one. */
		if (waitpid(g->pid, NULL, WNOHANG) != 0 || g->program.st_ino != program.st_ino ||
		    g->program.st_mtim.tv_sec != program.st_mtim.tv_sec ||
		    g->program.st_mtim.tv_nsec != program.st_mtim.tv_nsec) {
			reap(g, 0, true, &sig);
		} else {
			f = g;
			f->program_seen_ms = now_ms();
		}
	}
	if (!f) {
		struct filter *slot = &filters[0];
		int sig;
		for (size_t i = 0; i < MAX_FILTERS; i++) {
			if (!filters[i].key) {
				slot = &filters[i];
				break;
			}
			if (filters[i].used < slot->used)
				slot = &filters[i];
		}
		if (slot->key)
			reap(slot, STOP_GRACE_MS, true, &sig);
		if (start(slot, argv, key.p, key.len, &program, why, size) == 0)
			f = slot;
	}
	free(key.p);
	if (f)
		f->used = ++clock_uses;
	return f;
}

/* --- one attempt --------------------------------------------------------------- */

enum hello { READY, EXITED, SILENT };

/* Wait for a new filter's "ready", collecting its stderr. */
static enum hello handshake(struct filter *f, struct buf *err)
{
	struct buf st = {0};
	double until = now_ms() + READY_MS;
	enum hello how = SILENT;

	while (now_ms() < until) {
		struct pollfd p[2] = {{.fd = f->status, .events = POLLIN},
		                      {.fd = f->err, .events = POLLIN}};
		int n = poll(p, 2, (int)(until - now_ms()) + 1);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (p[1].revents)
			drain(f->err, err);
		if (p[0].revents) {
			int rc = drain(f->status, &st);
			if (st.len >= 6 && memcmp(st.p, "ready\n", 6) == 0) {
				how = READY;
				break;
			}
			if (rc < 0) {
				how = EXITED; /* it ended while setting up */
				break;
			}
		}
	}
	free(st.p);
	return how;
}

static bool is_plain(const char *program)
{
	for (size_t i = 0; i < MAX_PLAIN && plain[i]; i++)
		if (strcmp(plain[i], program) == 0)
			return true;
	return false;
}

static void set_plain(const char *program)
{
	size_t i = 0;

	while (i < MAX_PLAIN && plain[i])
		i++;
	if (i < MAX_PLAIN)
		plain[i] = strdup(program);
	sm_log_kv(SM_LOG_INFO, "stage program does not run as a filter: a process per run",
	          "program", program, SM_LOG_END);
}

enum fate { DONE, DIED, TIMED_OUT };

/* Hand f one line (from its byte sent on: the rest of a line handed ahead)
 * and wait for its status line, collecting its stdout and stderr; *status
 * is the line's status. */
static enum fate one(struct filter *f, const node_ctx *ctx, const char *line, size_t len,
                     size_t sent, double deadline, struct buf *out, struct buf *err, int *status)
{
	struct buf st = {0};
	enum fate fate = DIED;

	for (;;) {
		struct pollfd p[4] = {{.fd = sent < len ? f->in : -1, .events = POLLOUT},
		                      {.fd = f->out, .events = POLLIN},
		                      {.fd = f->err, .events = POLLIN},
		                      {.fd = f->status, .events = POLLIN}};
		double left = deadline > 0 ? deadline - now_ms() : -1;
		int n;

		if (deadline > 0 && left <= 0) {
			fate = TIMED_OUT;
			break;
		}
		n = poll(p, 4, deadline > 0 ? (int)left + 1 : -1);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (p[0].revents) {
			ssize_t w = write(f->in, line + sent, len - sent);
			if (w < 0 && errno != EAGAIN && errno != EINTR)
				break; /* it is gone: its end is read below */
			if (w > 0)
				sent += (size_t)w;
			/* It has the envelope, or as much as the pipe takes: the
			 * run's records commit now, not while a stage that reads
			 * slowly (or not at all) is waited for. */
			node_handed(ctx);
		}
		if (p[1].revents && drain(f->out, out) < 0 && !p[3].revents)
			break;
		if (p[2].revents)
			drain(f->err, err);
		if (p[3].revents && drain(f->status, &st) < 0 &&
		    !memchr(st.p ? st.p : "", '\n', st.len))
			break;
		if (st.p && memchr(st.p, '\n', st.len)) {
			*status = atoi(st.p);
			/* What it wrote before the status is in the pipes: one look
			 * at both, a read for the ones that hold something. */
			struct pollfd rest[2] = {{.fd = f->out, .events = POLLIN},
			                         {.fd = f->err, .events = POLLIN}};
			if (poll(rest, 2, 0) > 0) {
				if (rest[0].revents)
					drain(f->out, out);
				if (rest[1].revents)
					drain(f->err, err);
			}
			fate = DONE;
			break;
		}
	}
	free(st.p);
	return fate;
}

char *node_filter_line(const json_t *env, size_t *len)
{
	struct buf line = {0};
	size_t n = 0;
	char *dumped = sm_json_dump(env, &n);

	if (!dumped || buf_add(&line, dumped, n) < 0 || buf_add(&line, "\n", 1) < 0) {
		free(dumped);
		free(line.p);
		return NULL;
	}
	free(dumped);
	*len = line.len;
	return line.p;
}

char *node_filter_line_of_stream(const char *stream_text, size_t *len)
{
	size_t n = strlen(stream_text);
	char *line;

	if (n < 2 || stream_text[0] != '[' || stream_text[n - 1] != ']' || !(line = malloc(n)))
		return NULL;
	memcpy(line, stream_text + 1, n - 2);
	line[n - 2] = '\n';
	line[n - 1] = '\0';
	*len = n - 1;
	return line;
}

/* Hand f the next run's lines (ctx->ahead) now that this attempt's,
 * started at started_ms, are done: as much as its pipe takes, the rest by
 * the call that asks for them. */
static void hand_ahead(struct filter *f, const node_ctx *ctx, double started_ms)
{
	ssize_t w;

	if (held || !ctx->ahead || !ctx->ahead_len || f->ahead ||
	    now_ms() - started_ms >= ctx->ahead_within_s * 1000 ||
	    !(f->ahead = malloc(ctx->ahead_len)))
		return;
	do
		w = write(f->in, ctx->ahead, ctx->ahead_len);
	while (w < 0 && errno == EINTR);
	if (w <= 0) {
		/* Not taken (a full pipe, a filter gone): the call for them hands
		 * them as any. */
		free(f->ahead);
		f->ahead = NULL;
		return;
	}
	memcpy(f->ahead, ctx->ahead, ctx->ahead_len);
	f->ahead_len = ctx->ahead_len;
	f->ahead_sent = (size_t)w;
	if (ctx->ahead_taken)
		*ctx->ahead_taken = true;
}

/* The lines of input: ctx's, made already, or made here (*made to free). */
static const char *lines_of(const node_ctx *ctx, const json_t *input, size_t *len, char **made)
{
	struct buf all = {0};
	const json_t *env;
	size_t i;

	*made = NULL;
	if (ctx->lines) {
		*len = ctx->lines_len;
		return ctx->lines;
	}
	json_array_foreach(input, i, env)
	{
		size_t n;
		char *line = node_filter_line(env, &n);
		if (!line || buf_add(&all, line, n) < 0) {
			free(line);
			free(all.p);
			return NULL;
		}
		free(line);
	}
	*len = all.len;
	*made = all.p;
	return all.p ? all.p : "";
}

bool node_filter_run(const node_type *t, const node_ctx *ctx, const char *const *argv,
                     const json_t *input, node_outcome *out)
{
	struct buf text = {0}, err = {0};
	struct filter *f;
	double started = now_ms(),
	       deadline = ctx->timeout_s > 0 ? started + ctx->timeout_s * 1000 : 0;
	int worst = 0, sig = 0;
	bool timed_out = false, died = false;
	const char *lines, *p, *end;
	char *made = NULL;
	size_t len = 0;

	if (!enabled || is_plain(argv[0]))
		return false;
	if (!(lines = lines_of(ctx, input, &len, &made))) {
		snprintf(out->error, sizeof out->error, "out of memory");
		return true;
	}
	if (!(f = find(argv, out->error, sizeof out->error))) {
		out->temporary = true;
		free(made);
		return true;
	}
	if (f->ahead && (f->ahead_len > len || memcmp(f->ahead, lines, f->ahead_len) != 0)) {
		/* Handed lines this call is not for (a run tried again before the
		 * next one): the filter ends once it has done them, what they
		 * wrote passed on, and a new one takes this call's. */
		sm_log_kv(SM_LOG_DEBUG,
		          "stage filter restarted: the lines handed ahead are not this run's",
		          "program", argv[0], SM_LOG_END);
		reap(f, STOP_GRACE_MS, true, &sig);
		sig = 0;
		if (!(f = find(argv, out->error, sizeof out->error))) {
			out->temporary = true;
			free(made);
			return true;
		}
	}
	if (!f->ready) {
		enum hello how;
		/* A program starting may touch the store: nothing held meanwhile. */
		node_handed(ctx);
		how = handshake(f, &err);
		if (how == SILENT) {
			reap(f, 0, false, &sig);
			free(err.p);
			free(made);
			set_plain(argv[0]);
			return false;
		}
		if (how == EXITED) {
			/* Judged as a process that ended before reading: its exit
			 * status and its last line. */
			int code = reap(f, KILL_GRACE_MS, false, &sig);
			node_judge(t, ctx, sig ? -1 : code, sig, false, "", 0, err.p ? err.p : "",
			           err.len, out);
			free(err.p);
			free(made);
			return true;
		}
		f->ready = true;
	} else if (!f->ahead) {
		/* (With lines handed ahead, what is on stderr is theirs.) */
		pass_between(f);
	}
	for (p = lines, end = lines + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p), sent = 0;
		int status = 0;
		enum fate fate;
		if (f->ahead) {
			/* Handed with the last call's: as much as the pipe took then. */
			sent = f->ahead_sent < n ? f->ahead_sent : n;
			f->ahead_sent -= sent;
			if (!(f->ahead_len -= n)) {
				free(f->ahead);
				f->ahead = NULL;
			} else {
				memmove(f->ahead, f->ahead + n, f->ahead_len);
			}
		}
		fate = one(f, ctx, p, n, sent, deadline, &text, &err, &status);
		p += n;
		if (fate == DONE) {
			worst = node_worse_status(worst, status);
			continue;
		}
		if (fate == TIMED_OUT) {
			timed_out = true;
			kill(-f->pid, SIGTERM);
			reap(f, KILL_GRACE_MS, false, &sig);
			sig = 0;
		} else {
			int code;
			drain(f->err, &err);
			code = reap(f, KILL_GRACE_MS, false, &sig);
			/* Gone before the envelope's status: a crash, whatever its exit. */
			worst = code > t->ok_max ? code : -1;
			died = true;
		}
		break;
	}
	free(made);
	/* The stage goes on with the next run's envelopes while this one is
	 * judged and recorded. */
	if (!timed_out && !died && worst >= 0 && worst <= t->ok_max)
		hand_ahead(f, ctx, started);
	node_judge(t, ctx, timed_out || sig ? -1 : worst, died ? sig : 0, timed_out,
	           text.p ? text.p : "", text.len, err.p ? err.p : "", err.len, out);
	if (died && !sig && worst < 0) {
		out->temporary = true;
		snprintf(out->error, sizeof out->error, "%s stopped before its envelope's end",
		         t->program);
	}
	free(text.p);
	free(err.p);
	return true;
}

/* --- the configuration the filters started with ---------------------------- */

static uint64_t table_hash(sm_store *store, uint64_t h, const char *sql)
{
	sqlite3_stmt *st = sm_store_prepare_kept(store, sql, NULL);

	if (!st)
		return sm_fnv1a(h, "?", 1);
	while (sqlite3_step(st) == SQLITE_ROW)
		for (int c = 0; c < sqlite3_column_count(st); c++) {
			const unsigned char *v = sqlite3_column_text(st, c);
			h = sm_fnv1a(h, v ? (const char *)v : "",
			             v ? strlen((const char *)v) + 1 : 0);
			h = sm_fnv1a(h, "\x1f", 1);
		}
	sqlite3_reset(st);
	return h;
}

void node_filters_refresh(sm_store *store)
{
	const char *file = getenv("SM_ENV_FILE");
	uint64_t h = SM_FNV1A_INIT;
	sqlite3_int64 version;
	struct stat sb;

	if (!enabled)
		return;
	if (!file)
		file = "/etc/sm/sm.env";
	if (stat(file, &sb) == 0) {
		h = sm_fnv1a(h, &sb.st_ino, sizeof sb.st_ino);
		h = sm_fnv1a(h, &sb.st_size, sizeof sb.st_size);
		h = sm_fnv1a(h, &sb.st_mtim, sizeof sb.st_mtim);
	}
	/* The stored configuration: its version, which any change to the
	 * channels and providers moves on (to other tables too, which
	 * restarts the filters for nothing, seldom); what the tables hold
	 * when the version cannot be read. */
	version = sm_store_config_version(store);
	if (version >= 0) {
		h = sm_fnv1a(h, &version, sizeof version);
	} else {
		h = table_hash(store, h, "SELECT * FROM notification_channels ORDER BY id");
		h = table_hash(store, h, "SELECT * FROM intelligence_providers ORDER BY id");
	}
	if (stamp_known && h != config_stamp) {
		/* A filter working on lines handed ahead finishes them first: the
		 * next look (the next item, the next batch) stops it. */
		for (size_t i = 0; i < MAX_FILTERS; i++)
			if (filters[i].ahead)
				return;
		sm_log_kv(SM_LOG_INFO, "configuration changed: restarting the stage filters",
		          SM_LOG_END);
		node_filters_stop();
	}
	config_stamp = h;
	stamp_known = true;
}
