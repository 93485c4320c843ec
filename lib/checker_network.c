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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checkers.h"
#include "sm/json.h"

#define DEFAULT_TIMEOUT 5
#define OUTPUT_MAX 8192 /* ping -c 1 prints a few hundred bytes */

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
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(".:_-%", s[i]))
			return false;
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
		field = memchr(eq, '/', len - (size_t)(eq - (line ? line - 1 - len : eq)));
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
