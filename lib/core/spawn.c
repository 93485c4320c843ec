/* spawn.c - run a program without a shell, feed its stdin, capture its
 * output, and hold it to a deadline (see spawn.h).
 *
 * fork + execve rather than posix_spawn: the child must close every
 * inherited descriptor, start a process group and reset its signals, and
 * an exec failure must come back as an errno (through a close-on-exec
 * pipe) rather than as an exit status 127 that a real program could give.
 * The child is not reaped until its group has been dealt with: as a
 * zombie it keeps its pid, so the group id cannot be reused by a stranger
 * before the SIGKILL lands. The PATH search is ours, done before the
 * fork: execvp would hand a file without a "#!" line to /bin/sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sm/spawn.h"

/* After a timeout, how long the group has between SIGTERM and SIGKILL. */
#define KILL_GRACE_MS 500.0
/* After the child exits, how long descendants holding its stdout or
 * stderr may keep the caller reading. */
#define DRAIN_GRACE_MS 100.0
/* Without a pidfd, how often the loop looks for the child's exit. */
#define POLL_SLICE_MS 20.0

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A captured stream: everything read is drained, the first max bytes kept. */
struct sink {
	int fd;
	char *data;
	size_t len, cap, max;
};

static int sink_read(struct sink *s)
{
	char buf[16384];
	ssize_t n = read(s->fd, buf, sizeof buf);
	size_t keep;

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1; /* end of file */
	keep = (size_t)n < s->max - s->len ? (size_t)n : s->max - s->len;
	if (keep && s->len + keep + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *grown;

		while (cap < s->len + keep + 1)
			cap *= 2;
		if (cap > s->max + 1)
			cap = s->max + 1;
		grown = realloc(s->data, cap);
		if (!grown)
			return 0; /* keep draining, keep what we have */
		s->data = grown;
		s->cap = cap;
	}
	if (keep && s->len + keep < s->cap) {
		memcpy(s->data + s->len, buf, keep);
		s->len += keep;
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* fd moved above 2 (close-on-exec), so the child's dup2 onto 0-2 cannot
 * clobber it. -1 on failure (fd closed). */
static int above_stdio(int fd)
{
	int moved;

	if (fd > 2)
		return fd;
	moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return moved;
}

/* A pipe with both ends close-on-exec and above 2; end[nonblock_end] is
 * made non-blocking (the caller's end). */
static int make_pipe(int end[2], int nonblock_end)
{
	if (pipe2(end, O_CLOEXEC) < 0)
		return -1;
	end[0] = above_stdio(end[0]);
	end[1] = above_stdio(end[1]);
	if (end[0] < 0 || end[1] < 0 ||
	    fcntl(end[nonblock_end], F_SETFL, fcntl(end[nonblock_end], F_GETFL) | O_NONBLOCK) < 0) {
		close_fd(&end[0]);
		close_fd(&end[1]);
		return -1;
	}
	return 0;
}

/* Whether entry ("NAME=value") is one of names. */
static bool named(const char *entry, const char *const *names)
{
	size_t n = strcspn(entry, "=");

	for (size_t i = 0; names[i]; i++)
		if (strlen(names[i]) == n && strncmp(entry, names[i], n) == 0)
			return true;
	return false;
}

/* The child's environment: the caller's (only the variables named in
 * pass when it is not NULL), with env_add set over it. Only the pointer
 * array is allocated. NULL with errno EINVAL when an entry is not
 * NAME=value. */
static char **build_env(const char *const *pass, const char *const *env_add)
{
	size_t n = 0, extra = 0;
	char **env;

	for (char **e = environ; e && *e; e++)
		n++;
	for (size_t i = 0; env_add && env_add[i]; i++) {
		const char *eq = strchr(env_add[i], '=');

		if (!eq || eq == env_add[i]) {
			errno = EINVAL;
			return NULL;
		}
		extra++;
	}
	env = calloc(n + extra + 1, sizeof *env);
	if (!env)
		return NULL;
	n = 0;
	for (char **e = environ; e && *e; e++)
		if (!pass || named(*e, pass))
			env[n++] = *e;
	for (size_t i = 0; env_add && env_add[i]; i++) {
		size_t name = (size_t)(strchr(env_add[i], '=') - env_add[i]) + 1, j;

		for (j = 0; j < n; j++)
			if (strncmp(env[j], env_add[i], name) == 0)
				break;
		env[j] = (char *)env_add[i];
		if (j == n)
			n++;
	}
	return env;
}

/* The file to execute for name: name itself when it has a slash, else the
 * first executable regular file called name in a directory of PATH (an
 * empty entry is the current directory). 0, or an errno: ENOENT when none
 * is there, EACCES when one is but may not be run. */
static int find_program(const char *name, char *path, size_t size)
{
	const char *dirs = getenv("PATH"), *dir, *end;
	int why = ENOENT;
	struct stat st;

	if (strchr(name, '/')) {
		if ((size_t)snprintf(path, size, "%s", name) >= size)
			return ENAMETOOLONG;
		return 0;
	}
	if (!dirs)
		dirs = "/usr/local/bin:/usr/bin:/bin";
	for (dir = dirs;; dir = end + 1) {
		int n;

		end = strchr(dir, ':');
		if (!end)
			end = dir + strlen(dir);
		n = snprintf(path, size, "%.*s%s%s", (int)(end - dir), dir, end > dir ? "/" : "",
		             name);
		if (n > 0 && (size_t)n < size && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(path, X_OK) == 0)
				return 0;
			why = EACCES;
		}
		if (!*end)
			return why;
	}
}

/* Close every descriptor from lo up, in the child (async-signal-safe). */
static void close_from(int lo, int hi)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lo, (unsigned)hi, 0U) == 0)
		return;
#endif
	for (int fd = lo; fd <= hi && fd < 65536; fd++)
		close(fd);
}

/* Put fd on target in the child, close-on-exec cleared. */
static int place(int fd, int target)
{
	if (fd == target)
		return fcntl(fd, F_SETFD, 0);
	return dup2(fd, target) < 0 ? -1 : 0;
}

/* In the child after fork: only async-signal-safe calls, then exec. The
 * errno of whatever failed goes back through report. */
static void child(const char *path, const char *const *argv, char **env, int in, int out,
                  int errout, int report)
{
	struct sigaction dfl;
	sigset_t none;
	int e;

	setpgid(0, 0);
	/* Signals the caller ignores or handles are its business, not the
	 * program's: every disposition back to default, then none blocked. */
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	if (place(in, 0) < 0 || place(out, 1) < 0 || place(errout, 2) < 0)
		goto fail;
	if (report > 3)
		close_from(3, report - 1);
	close_from(report + 1, 0x7fffffff);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(path, (char *const *)argv, env);
fail:
	e = errno;
	while (write(report, &e, sizeof e) < 0 && errno == EINTR)
		;
	_exit(127);
}

/* Descriptors and state of one run. */
struct run {
	pid_t pid;
	int in, pidfd;
	struct sink out, err;
	const char *input;
	size_t input_left;
	bool exited; /* the child has exited (not yet reaped) */
};

/* Has the child exited? It is left a zombie (WNOWAIT) until reaped. */
static bool check_exit(struct run *r)
{
	siginfo_t info;

	if (r->exited)
		return true;
	memset(&info, 0, sizeof info);
	if (waitid(P_PID, (id_t)r->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0) {
		if (info.si_pid)
			r->exited = true;
	} else if (errno == ECHILD) {
		/* Reaped behind our back (SIGCHLD ignored by the caller): gone. */
		r->exited = true;
	}
	return r->exited;
}

static void feed(struct run *r)
{
	while (r->input_left) {
		ssize_t n = write(r->in, r->input, r->input_left);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				r->input_left = 0; /* EPIPE: it does not want it */
			break;
		}
		r->input += n;
		r->input_left -= (size_t)n;
	}
	if (!r->input_left)
		close_fd(&r->in);
}

/* One poll of the open descriptors for at most wait_ms. */
static void pump(struct run *r, double wait_ms)
{
	struct pollfd p[4];
	int n = 0, in = -1, out = -1, err = -1;

	if (r->in >= 0) {
		in = n;
		p[n++] = (struct pollfd){.fd = r->in, .events = POLLOUT};
	}
	if (r->out.fd >= 0) {
		out = n;
		p[n++] = (struct pollfd){.fd = r->out.fd, .events = POLLIN};
	}
	if (r->err.fd >= 0) {
		err = n;
		p[n++] = (struct pollfd){.fd = r->err.fd, .events = POLLIN};
	}
	if (r->pidfd >= 0 && !r->exited)
		p[n++] = (struct pollfd){.fd = r->pidfd, .events = POLLIN};
	if (wait_ms < 0)
		wait_ms = 0;
	if (poll(p, (nfds_t)n, wait_ms > 86400e3 ? 86400000 : (int)(wait_ms + 0.999)) <= 0)
		return;
	if (in >= 0 && p[in].revents)
		feed(r);
	if (out >= 0 && p[out].revents && sink_read(&r->out) < 0)
		close_fd(&r->out.fd);
	if (err >= 0 && p[err].revents && sink_read(&r->err) < 0)
		close_fd(&r->err.fd);
}

/* Drive the child to its end or the deadline (start + timeout_ms; <= 0:
 * none). */
static void supervise(struct run *r, double start, double timeout_ms, sm_spawn_result *res)
{
	double deadline = timeout_ms > 0 ? start + timeout_ms : 0, kill_at = 0, drain_until = 0;

	for (;;) {
		double now = now_ms(), wait_ms = 86400e3;

		if (!r->exited && check_exit(r)) {
			/* Nobody reads its stdin any more. */
			close_fd(&r->in);
			drain_until = now + DRAIN_GRACE_MS;
		}
		if (r->exited && (r->out.fd < 0 && r->err.fd < 0))
			break;
		if (r->exited && now >= drain_until)
			break;
		if (deadline && !res->timed_out && now >= deadline) {
			res->timed_out = true;
			kill(-r->pid, SIGTERM);
			kill_at = now + KILL_GRACE_MS;
			close_fd(&r->in);
		}
		if (res->timed_out && now >= kill_at) {
			kill(-r->pid, SIGKILL);
			break;
		}
		if (res->timed_out)
			wait_ms = kill_at - now;
		else if (deadline)
			wait_ms = deadline - now;
		if (r->exited && drain_until - now < wait_ms)
			wait_ms = drain_until - now;
		if (!r->exited && r->pidfd < 0 && wait_ms > POLL_SLICE_MS)
			wait_ms = POLL_SLICE_MS;
		pump(r, wait_ms);
	}
	/* A timed-out group that let its leader go may still hold members. */
	if (res->timed_out)
		kill(-r->pid, SIGKILL);
}

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, pid, 0U);

	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
#else
	(void)pid;
	return -1;
#endif
}

/* The sink's text as the result wants it: never NULL. */
static char *take(struct sink *s, size_t *len)
{
	char *data = s->data ? s->data : calloc(1, 1);

	if (data)
		data[s->len] = '\0';
	*len = data ? s->len : 0;
	s->data = NULL;
	return data;
}

int sm_spawn_run(const sm_spawn_opts *opts, sm_spawn_result *res)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, report[2] = {-1, -1};
	size_t max = opts->max_output ? opts->max_output : SM_SPAWN_MAX_OUTPUT;
	struct run r = {.pid = -1, .in = -1, .pidfd = -1};
	sigset_t all, old, pipe_only, pending;
	bool pipe_was_pending = false;
	double start = now_ms();
	char **env = NULL, path[PATH_MAX];
	int status = 0, e = 0, ret = -1;
	ssize_t got;
	pid_t reaped;

	memset(res, 0, sizeof *res);
	res->exit_status = -1;
	r.out = (struct sink){.fd = -1, .max = max};
	r.err = (struct sink){.fd = -1, .max = max};
	if (!opts->argv || !opts->argv[0] || !opts->argv[0][0]) {
		snprintf(res->error, sizeof res->error, "no program to run");
		goto done;
	}
	e = find_program(opts->argv[0], path, sizeof path);
	if (e) {
		snprintf(res->error, sizeof res->error, "cannot run %.200s: %s", opts->argv[0],
		         strerror(e));
		goto done;
	}
	env = build_env(opts->env_pass, opts->env_add);
	if (!env) {
		snprintf(res->error, sizeof res->error, "%s",
		         errno == EINVAL ? "an environment entry is not NAME=value"
		                         : "out of memory");
		goto done;
	}
	if (opts->input) {
		if (make_pipe(in, 1) < 0)
			goto sys_error;
	} else {
		in[0] = above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
		if (in[0] < 0)
			goto sys_error;
	}
	if (make_pipe(out, 0) < 0 || make_pipe(err, 0) < 0 || make_pipe(report, 1) < 0)
		goto sys_error;

	/* No signal handler of the caller may run in the child before it has
	 * reset them all; SIGPIPE stays blocked while we write its stdin. */
	sigfillset(&all);
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	sigpending(&pending);
	pipe_was_pending = sigismember(&pending, SIGPIPE);
	r.pid = fork();
	if (r.pid == 0)
		child(path, opts->argv, env, in[0], out[1], err[1], report[1]);
	e = errno;
	{
		sigset_t during = old;

		sigaddset(&during, SIGPIPE);
		pthread_sigmask(SIG_SETMASK, &during, NULL);
	}
	free(env);
	env = NULL;
	if (r.pid < 0) {
		snprintf(res->error, sizeof res->error, "cannot run %.200s: fork: %s",
		         opts->argv[0], strerror(e));
		goto restore;
	}
	/* Set from both sides: whichever runs first, the group exists before
	 * anything is killed. */
	setpgid(r.pid, r.pid);
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&err[1]);
	close_fd(&report[1]);
	/* The report pipe closes on a successful exec, or brings its errno. */
	do
		got = read(report[0], &e, sizeof e);
	while (got < 0 && errno == EINTR);
	if (got == (ssize_t)sizeof e) {
		waitpid(r.pid, &status, 0);
		snprintf(res->error, sizeof res->error, "cannot run %.200s: %s", opts->argv[0],
		         strerror(e));
		goto restore;
	}
	r.in = in[1];
	in[1] = -1;
	r.input = opts->input;
	r.input_left = opts->input ? opts->input_len : 0;
	r.out.fd = out[0];
	out[0] = -1;
	r.err.fd = err[0];
	err[0] = -1;
	r.pidfd = open_pidfd(r.pid);
	if (r.in >= 0)
		feed(&r);
	supervise(&r, start, opts->timeout_s > 0 ? opts->timeout_s * 1e3 : 0, res);
	do
		reaped = waitpid(r.pid, &status, 0);
	while (reaped < 0 && errno == EINTR);
	if (reaped == r.pid && WIFEXITED(status))
		res->exit_status = WEXITSTATUS(status);
	else if (reaped == r.pid && WIFSIGNALED(status))
		res->signal = WTERMSIG(status);
	res->out = take(&r.out, &res->out_len);
	res->errout = take(&r.err, &res->errout_len);
	if (!res->out || !res->errout) {
		sm_spawn_result_clear(res);
		res->exit_status = -1;
		snprintf(res->error, sizeof res->error, "out of memory");
		goto restore;
	}
	ret = 0;
restore:
	/* A SIGPIPE our writes raised is ours to swallow, not the caller's. */
	sigpending(&pending);
	if (!pipe_was_pending && sigismember(&pending, SIGPIPE)) {
		struct timespec zero = {0, 0};

		sigtimedwait(&pipe_only, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	goto done;
sys_error:
	snprintf(res->error, sizeof res->error, "cannot run %.200s: %s", opts->argv[0],
	         strerror(errno));
done:
	free(env);
	free(r.out.data);
	free(r.err.data);
	close_fd(&r.in);
	close_fd(&r.out.fd);
	close_fd(&r.err.fd);
	close_fd(&r.pidfd);
	for (int i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&out[i]);
		close_fd(&err[i]);
		close_fd(&report[i]);
	}
	res->elapsed_ms = now_ms() - start;
	return ret;
}

void sm_spawn_result_clear(sm_spawn_result *res)
{
	if (!res)
		return;
	free(res->out);
	free(res->errout);
	memset(res, 0, sizeof *res);
}
