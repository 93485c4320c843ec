/* checker_network.c - reachability of hosts by ping(8).
 *
 * Hosts come from --hosts, else $SM_PING_HOSTS (comma-separated); with none
 * the check is skipped: sm never pings internet hosts on its own. Every host
 * is validated, then all are pinged at once, each as
 * `ping -n -c 1 -W <timeout> -- <host>` through posix_spawnp (never a shell),
 * in its own process group so a timeout can kill whatever ping started. A
 * host is reachable when ping exits 0 within <timeout> + 1 seconds
 * ($SM_PING_TIMEOUT, default 5). Thresholds are minimum percentages.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checkers.h"
#include "sm/config.h"
#include "sm/json.h"

#define DEFAULT_TIMEOUT 5
#define OUTPUT_MAX      8192 /* ping -c 1 prints a few hundred bytes */

extern char **environ;

typedef struct ping {
	const char *host;
	pid_t pid;  /* 0 once reaped */
	int fd;     /* read end of its stdout, -1 once closed */
	int status; /* wait status */
	bool exited;
	char output[OUTPUT_MAX];
	size_t len;
} ping;

bool sm_check_host_valid(const char *s)
{
	size_t n;

	if (!s || !*s || *s == '-')
		return false;
	n = strlen(s);
	if (n > 253)
		return false;
	/* ASCII only, whatever the locale: letters, digits and . : _ - % (the
	 * last for IPv6 zones such as fe80::1%eth0). */
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
		    !strchr(".:_-%", c))
			return false;
	}
	return true;
}

double sm_ping_latency(const char *output)
{
	for (const char *line = output; line && *line;) {
		const char *end = strchr(line, '\n'), *eq = NULL, *field, *field_end;
		size_t len = end ? (size_t)(end - line) : strlen(line);
		bool has_avg = false;
		char buf[64], *num_end;
		double v;

		for (size_t i = 0; i < len; i++) {
			if (i + 3 <= len && strncasecmp(line + i, "avg", 3) == 0)
				has_avg = true;
			if (line[i] == '=')
				eq = line + i;
		}
		line = end ? end + 1 : NULL;
		if (!has_avg || !eq)
			continue;
		/* "a/b/c/d ms" after the last '=': the second field is the average. */
		field = strchr(eq, '/');
		if (!field || (end && field > end))
			continue;
		field++;
		field_end = field + strcspn(field, "/\n");
		if ((size_t)(field_end - field) >= sizeof buf)
			return NAN;
		snprintf(buf, sizeof buf, "%.*s", (int)(field_end - field), field);
		errno = 0;
		v = strtod(buf, &num_end);
		while (isspace((unsigned char)*num_end))
			num_end++;
		if (errno || num_end == buf || *num_end || !isfinite(v))
			return NAN;
		return v;
	}
	return NAN;
}

/* A host as it may appear in a message: printable, bounded. */
static void printable(char *buf, size_t size, const char *s)
{
	size_t n = 0;

	for (s = s ? s : ""; *s && n + 4 < size && n < 64; s++)
		buf[n++] = isgraph((unsigned char)*s) ? *s : '?';
	if (*s)
		buf[n++] = '~';
	buf[n] = '\0';
}

/* Seconds ping waits for a reply: $SM_PING_TIMEOUT or 5; -1 if malformed. */
static int ping_timeout(void)
{
	const char *env = getenv("SM_PING_TIMEOUT");
	double v;

	if (!env || !*env)
		return DEFAULT_TIMEOUT;
	/* ping's -W takes whole seconds. */
	if (sm_config_duration(env, &v) < 0 || v < 1 || v > 600 || v != floor(v))
		return -1;
	return (int)v;
}

static const sm_check_option hosts_option = {
    .name = "hosts",
    .kind = SM_CHECK_LIST,
    .arg = "H,...",
    .help = "hosts to ping (default $SM_PING_HOSTS)",
    .valid = sm_check_host_valid,
    .invalid = "a valid host name",
};

/* The hosts to ping: --hosts, else $SM_PING_HOSTS split on commas into
 * *storage (freed by the caller). */
static const char **host_list(const sm_check_opts *opts, char **storage, size_t *count)
{
	const char *env = getenv("SM_PING_HOSTS");
	const char **hosts;
	char *item, *save = NULL;
	size_t n = 0, given;
	const char *const *list = sm_check_opts_list(opts, hosts_option.name, &given);

	*storage = NULL;
	*count = 0;
	if (given > 0) {
		hosts = calloc(given, sizeof *hosts);
		if (hosts) {
			memcpy(hosts, list, given * sizeof *hosts);
			*count = given;
		}
		return hosts;
	}
	if (!env || !(*storage = strdup(env)))
		return NULL;
	hosts = calloc(strlen(env) / 2 + 1, sizeof *hosts);
	if (!hosts)
		return NULL;
	for (item = strtok_r(*storage, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *end;
		while (isspace((unsigned char)*item))
			item++;
		end = item + strlen(item);
		while (end > item && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*item)
			hosts[n++] = item;
	}
	*count = n;
	return hosts;
}

static int spawn_ping(ping *p, int timeout)
{
	static const int reset[] = {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD, SIGALRM};
	char wait_s[16];
	char *argv[] = {(char *)"ping", (char *)"-n", (char *)"-c",    (char *)"1", (char *)"-W",
	                wait_s,         (char *)"--", (char *)p->host, NULL};
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	sigset_t mask, defaults;
	int fds[2], rc;

	snprintf(wait_s, sizeof wait_s, "%d", timeout);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return errno;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
	/* ping's complaints ("unknown host") are not ours to print. */
	posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_init(&attr);
	sigemptyset(&mask);
	sigemptyset(&defaults);
	for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
		sigaddset(&defaults, reset[i]);
	posix_spawnattr_setsigmask(&attr, &mask);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	                                    POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawnp(&p->pid, "ping", &actions, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		p->pid = 0;
		return rc;
	}
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	p->fd = fds[0];
	return 0;
}

/* Read what is there; close the pipe at end of file. */
static void drain(ping *p)
{
	char scratch[512];

	while (p->fd >= 0) {
		char *dst = p->len + 1 < sizeof p->output ? p->output + p->len : scratch;
		size_t room = dst == scratch ? sizeof scratch : sizeof p->output - 1 - p->len;
		ssize_t n = read(p->fd, dst, room);
		if (n > 0) {
			if (dst != scratch)
				p->len += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || errno != EAGAIN) {
			close(p->fd);
			p->fd = -1;
		}
		break;
	}
	p->output[p->len] = '\0';
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reap every child that has exited; returns how many still run. */
static size_t reap(ping *pings, size_t n)
{
	size_t running = 0;

	for (size_t i = 0; i < n; i++) {
		ping *p = &pings[i];
		pid_t r;
		if (p->pid <= 0)
			continue;
		r = waitpid(p->pid, &p->status, WNOHANG);
		if (r == 0 || (r < 0 && errno == EINTR)) {
			running++;
			continue;
		}
		p->exited = r == p->pid;
		p->pid = 0;
		drain(p);
		if (p->fd >= 0) { /* a grandchild still holds the pipe */
			close(p->fd);
			p->fd = -1;
		}
	}
	return running;
}

/* Wait for every ping until the deadline, then kill the stragglers' groups. */
static void wait_all(ping *pings, size_t n, int timeout)
{
	long long deadline = now_ms() + (timeout + 1) * 1000LL;
	struct pollfd *fds = calloc(n, sizeof *fds);

	while (reap(pings, n) > 0) {
		long long left = deadline - now_ms();
		size_t nfds = 0;
		if (left <= 0)
			break;
		for (size_t i = 0; fds && i < n; i++)
			if (pings[i].fd >= 0)
				fds[nfds++] = (struct pollfd){.fd = pings[i].fd, .events = POLLIN};
		/* Exits are not pollable: look again at least every 20 ms. */
		if (poll(fds, nfds, left < 20 ? (int)left : 20) <= 0)
			continue;
		for (size_t i = 0; i < n; i++)
			if (pings[i].fd >= 0)
				drain(&pings[i]);
	}
	free(fds);
	for (size_t i = 0; i < n; i++) {
		ping *p = &pings[i];
		if (p->pid > 0) {
			kill(-p->pid, SIGKILL);
			while (waitpid(p->pid, &p->status, 0) < 0 && errno == EINTR)
				;
			p->pid = 0;
			p->exited = false; /* timed out */
		}
		if (p->fd >= 0) {
			close(p->fd);
			p->fd = -1;
		}
	}
}

static void report(sm_check_result *res, const ping *pings, size_t n)
{
	json_t *hosts = json_object();
	size_t reachable = 0;
	double percent;

	for (size_t i = 0; i < n; i++) {
		const ping *p = &pings[i];
		bool up = p->exited && WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0;
		double latency = up ? sm_ping_latency(p->output) : NAN;
		json_t *o = json_object();
		sm_metric_bool(o, "reachable", up);
		sm_metric_real(o, "latency_ms", latency);
		json_object_set_new(hosts, p->host, o);
		reachable += up;
	}
	percent = (double)reachable / (double)n * 100.0;
	json_object_set_new(res->metrics, "hosts", hosts);
	sm_metric_int(res->metrics, "reachable_count", (long long)reachable);
	sm_metric_int(res->metrics, "total_hosts", (long long)n);
	sm_metric_real(res->metrics, "reachable_percent", percent);
	sm_result_perf(res, "reachable", percent, "%", true, 0, 100);
	for (size_t i = 0; i < n; i++) {
		json_t *latency =
		    json_object_get(json_object_get(hosts, pings[i].host), "latency_ms");
		char label[300];
		if (!json_is_number(latency))
			continue;
		snprintf(label, sizeof label, "%s rtt", pings[i].host);
		sm_result_perf(res, label, json_number_value(latency), "ms", false, NAN, NAN);
	}
	sm_result_set(res, sm_result_level(res, percent),
	              "Network: %zu/%zu hosts reachable (%.0f%%)", reachable, n, percent);
}

SM_CHECKER_RUN(run)
{
	char *storage = NULL, shown[80], buf[128];
	size_t n = 0, started = 0;
	const char **hosts = host_list(opts, &storage, &n);
	int timeout = ping_timeout(), rc = 0;
	ping *pings = NULL;

	(void)self;
	if (n == 0) {
		json_object_set_new(res->metrics, "hosts", json_object());
		sm_metric_int(res->metrics, "reachable_count", 0);
		sm_metric_int(res->metrics, "total_hosts", 0);
		sm_metric_real(res->metrics, "reachable_percent", 0.0);
		sm_result_skip(res, "no hosts configured");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!sm_check_host_valid(hosts[i])) {
			printable(shown, sizeof shown, hosts[i]);
			sm_result_fail(res, "invalid host '%s'", shown);
			goto out;
		}
	}
	if (timeout < 0) {
		sm_result_fail(res, "SM_PING_TIMEOUT: expected whole seconds from 1 to 600");
		goto out;
	}
	pings = calloc(n, sizeof *pings);
	if (!pings) {
		sm_result_fail(res, "out of memory");
		goto out;
	}
	for (started = 0; started < n && rc == 0; started++) {
		pings[started].host = hosts[started];
		pings[started].fd = -1;
		rc = spawn_ping(&pings[started], timeout);
	}
	if (rc != 0) {
		/* Kill the pings already started: the check cannot finish. */
		for (size_t i = 0; i < started; i++)
			if (pings[i].pid > 0)
				kill(-pings[i].pid, SIGKILL);
		wait_all(pings, started, 0);
		sm_result_fail(res, "cannot run ping: %s", sm_check_strerror(rc, buf, sizeof buf));
		goto out;
	}
	wait_all(pings, n, timeout);
	report(res, pings, n);
out:
	free(pings);
	free(hosts);
	free(storage);
}

const sm_checker sm_checker_network = {
    .name = "network",
    .description = "Reachability of hosts by ping (minimum % reachable).",
    .run = run,
    .warning = 70,
    .critical = 50,
    .minimum = true,
    .slow = true,
    .options = SM_CHECK_OPTIONS(&hosts_option),
    .advice = "check the route and name resolution: ping HOST, ip route, resolvectl status",
};
