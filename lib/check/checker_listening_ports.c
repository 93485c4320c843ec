/* checker_listening_ports.c - audit listening TCP sockets against an
 * allowlist.
 *
 * Sources: on the live host, the kernel's sock_diag netlink interface, asked
 * for TCP listeners only (reading /proc/net/tcp costs milliseconds of kernel
 * time on some kernels); under a host root or a fixture tree, /proc/net/tcp
 * and /proc/net/tcp6, state 0A (LISTEN). Both give the same fields. UDP is
 * deliberately not audited: a UDP socket has no listening state, so every
 * bound socket (DNS resolvers, DHCP and NTP clients on ephemeral ports) would
 * look like a listener and bury the real findings; the original system, for
 * the same reason in practice, never flagged one either.
 *
 * The kernel prints addresses as 32-bit words in host byte order, so each
 * word is parsed and stored back in memory order (the fixtures are from
 * little-endian hosts). The owning process is found through the
 * "socket:[inode]" links under /proc/<pid>/fd; without root only the
 * caller's own processes resolve and the others show no pid.
 *
 * Flagging: a port on LISTENING_PORTS_ALLOWLIST never is; with an allowlist
 * every other listener is flagged (loopback included), without one only
 * those reachable from outside (not 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkers.h"
#include "procfs.h"
#include "sm/host.h"
#include "sm/json.h"

#define TCP_LISTEN 0x0A

typedef struct listener {
	bool ipv6;
	unsigned char addr[16];
	unsigned port;
	unsigned long inode;
	long pid; /* -1 when no process was found */
} listener;

typedef struct listeners {
	listener *items;
	size_t count, cap;
} listeners;

/* A hex field of exactly len digits (len ≤ 8) into *v. */
static bool hex_word(const char *s, size_t len, uint32_t *v)
{
	uint32_t x = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return false;
		x = x << 4 | (uint32_t)d;
	}
	*v = x;
	return true;
}

/* "0100007F:0016" (or 32 hex digits for IPv6) into address bytes and port. */
static bool parse_endpoint(const char *s, bool ipv6, unsigned char *addr, unsigned *port)
{
	size_t words = ipv6 ? 4 : 1, hexlen = strcspn(s, ":");
	uint32_t w, p;

	if (hexlen != words * 8 || s[hexlen] != ':')
		return false;
	for (size_t i = 0; i < words; i++) {
		if (!hex_word(s + i * 8, 8, &w))
			return false;
		memcpy(addr + i * 4, &w, 4); /* host order, as the kernel printed it */
	}
	s += hexlen + 1;
	if (strlen(s) != 4 || !hex_word(s, 4, &p))
		return false;
	*port = p;
	return true;
}

/* One socket line: "sl local remote st tx:rx tr:when retrnsmt uid timeout
 * inode ...". Returns 1 for a listener, 0 for another socket, -1 if junk. */
static int parse_socket(char *line, bool ipv6, listener *out)
{
	char *field[10], *save = NULL, *end;
	size_t n = 0;
	uint32_t state;

	for (char *tok = strtok_r(line, " \t", &save); tok && n < 10;
	     tok = strtok_r(NULL, " \t", &save))
		field[n++] = tok;
	if (n < 10 || strchr(field[0], ':') == NULL)
		return -1;
	memset(out, 0, sizeof *out);
	out->ipv6 = ipv6;
	out->pid = -1;
	if (!parse_endpoint(field[1], ipv6, out->addr, &out->port) || strlen(field[3]) != 2 ||
	    !hex_word(field[3], 2, &state))
		return -1;
	errno = 0;
	out->inode = strtoul(field[9], &end, 10);
	if (errno || *end || !isdigit((unsigned char)field[9][0]))
		return -1;
	return state == TCP_LISTEN;
}

static int add_listener(listeners *list, const listener *l)
{
	if (list->count == list->cap) {
		size_t ncap = list->cap ? list->cap * 2 : 16;
		listener *p = realloc(list->items, ncap * sizeof *p);
		if (!p)
			return -1;
		list->items = p;
		list->cap = ncap;
	}
	list->items[list->count++] = *l;
	return 0;
}

/* Read one /proc/net file; -1 with why set (errnum for an unreadable file). */
static int read_table(const char *path, bool ipv6, listeners *list, int *errnum, char *why,
                      size_t size)
{
	char *text, *line, *next;
	int lineno = 0;

	*errnum = 0;
	if (sm_procfs_read(path, 64 << 20, &text, NULL, errnum) < 0) {
		char buf[128];
		snprintf(why, size, "%s: %s", path, sm_check_strerror(*errnum, buf, sizeof buf));
		return -1;
	}
	for (line = text; line; line = next) {
		listener l;
		int rc;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		/* The first line is the column header. */
		if (++lineno == 1 || line[strspn(line, " \t\r")] == '\0')
			continue;
		rc = parse_socket(line, ipv6, &l);
		if (rc < 0) {
			snprintf(why, size, "%s: malformed line %d", path, lineno);
			free(text);
			return -1;
		}
		if (rc == 1 && add_listener(list, &l) < 0) {
			snprintf(why, size, "%s: out of memory", path);
			free(text);
			return -1;
		}
	}
	free(text);
	return 0;
}

/* Ask the kernel for one family's TCP listeners over sock_diag. */
static int dump_family(int fd, int family, listeners *list)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {0};
	long buf[8192 / sizeof(long)]; /* aligned for nlmsghdr */

	msg.nlh.nlmsg_len = sizeof msg;
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.req.sdiag_family = (unsigned char)family;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	msg.req.idiag_states = 1u << TCP_LISTEN;
	if (send(fd, &msg, sizeof msg, 0) < 0)
		return -1;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		int left = (int)n;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return -1;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)left);
		     h = NLMSG_NEXT(h, left)) {
			const struct inet_diag_msg *m;
			listener l = {.pid = -1};
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				errno = e->error ? -e->error : EPROTO;
				return -1;
			}
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof *m))
				continue;
			m = NLMSG_DATA(h);
			l.ipv6 = family == AF_INET6;
			memcpy(l.addr, m->id.idiag_src, l.ipv6 ? 16 : 4); /* network order */
			l.port = ntohs(m->id.idiag_sport);
			l.inode = m->idiag_inode;
			if (add_listener(list, &l) < 0) {
				errno = ENOMEM;
				return -1;
			}
		}
	}
}

/* The live host's listeners; -1 with errno when netlink is unavailable
 * (then the /proc files are read instead). */
static int read_netlink(listeners *list)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG), rc = 0, saved;

	if (fd < 0)
		return -1;
	if (dump_family(fd, AF_INET, list) < 0 ||
	    (dump_family(fd, AF_INET6, list) < 0 && errno != ENOENT && errno != EAFNOSUPPORT))
		rc = -1;
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* Whether /proc is the live host's own (no host root, no fixture). */
static bool live_proc(void)
{
	char path[4096];

	return sm_host_path(path, sizeof path, "/proc/net/tcp") == 0 &&
	       strcmp(path, "/proc/net/tcp") == 0;
}

/* Inode of a "socket:[12345]" link target, or 0. */
static unsigned long socket_inode(const char *target)
{
	char *end;
	unsigned long inode;

	if (strncmp(target, "socket:[", 8) != 0 || !isdigit((unsigned char)target[8]))
		return 0;
	inode = strtoul(target + 8, &end, 10);
	return strcmp(end, "]") == 0 ? inode : 0;
}

/* The largest getdents64 record of an fd directory: a name of at most
 * 10 digits, padded to 8 bytes. */
#define FD_DIRENT_MAX ((offsetof(struct dirent64, d_name) + 11 + 7) & ~(size_t)7)

/* Match the socket links among the fds of pid (its fd directory open as
 * fd) to the unresolved listeners. The directory is read with getdents64
 * into a stack buffer: opendir would allocate and free 32 KiB per process,
 * and this loop visits every process.
 *
 * The kernel decides per process whether its links may be read (ptrace
 * access), so the first refused link ends the process; the first read asks
 * for first bytes, so that a process with many fds is listed past its first
 * link only when that link can be read. On the live /proc a
 * read that left room for another record is the end of the directory:
 * procfs fills the buffer until the fds run out, so the call that would
 * return 0 is not made. */
static void scan_fds(int fd, long pid, bool live, size_t first, listeners *list, size_t *unresolved)
{
	char buf[4096] __attribute__((aligned(8)));
	size_t ask = first < sizeof buf ? first : sizeof buf;
	ssize_t got;

	while (*unresolved > 0 && (got = getdents64(fd, buf, ask)) > 0) {
		for (ssize_t off = 0; off<got && * unresolved> 0;) {
			const struct dirent64 *e = (const struct dirent64 *)(buf + off);
			char target[64];
			ssize_t n;
			unsigned long inode;
			off += e->d_reclen;
			if (e->d_name[0] == '.')
				continue;
			/* readlink works on dangling links, such as fixtures' sockets. */
			n = readlinkat(fd, e->d_name, target, sizeof target - 1);
			if (n < 0 && (errno == EACCES || errno == EPERM))
				return;
			if (n <= 0)
				continue;
			target[n] = '\0';
			inode = socket_inode(target);
			if (inode == 0)
				continue;
			for (size_t i = 0; i < list->count; i++) {
				if (list->items[i].inode == inode && list->items[i].pid < 0) {
					list->items[i].pid = pid;
					(*unresolved)--;
				}
			}
		}
		if (live && (size_t)got + FD_DIRENT_MAX <= ask)
			return;
		ask = sizeof buf;
	}
}

/* A process with more than FD_MANY fds is first read FD_PROBE bytes of its
 * fd directory: ".", ".." and at least one fd. Listing an fd costs the
 * kernel a look-up, and a process whose links are refused is refused from
 * its first (measured: the listing was most of this checker's kernel time
 * when init's 75 fds were refused). */
#define FD_MANY  16
#define FD_PROBE 128

/* Whether the live /proc gives the number of a process's open fds as the
 * size of its fd directory (Linux 6.2 and later; earlier kernels say 0).
 * This process has its /proc directory open, so a kernel that counts says
 * at least 1. */
static bool fd_counts(int procfd)
{
	struct stat st;

	return fstatat(procfd, "self/fd", &st, 0) == 0 && st.st_size > 0;
}

/* Give each listener the lowest pid holding its socket. On the live /proc,
 * where the kernel counts fds, a process with none (every kernel thread)
 * costs one stat instead of an open, a read and a close. */
static void find_owners(listeners *list, bool live)
{
	long *pids = NULL;
	size_t npids = 0, unresolved = 0;
	char proc[4096];
	int errnum, procfd;
	bool counts;

	for (size_t i = 0; i < list->count; i++)
		if (list->items[i].inode != 0)
			unresolved++;
	if (unresolved == 0 || sm_host_path(proc, sizeof proc, "/proc") < 0)
		return;
	/* Each process's fd directory is opened relative to /proc, resolved
	 * once. */
	procfd = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return;
	if (sm_procfs_pids_at(procfd, &pids, &npids, &errnum) < 0) {
		close(procfd);
		return;
	}
	counts = live && fd_counts(procfd);
	for (size_t p = 0; p < npids && unresolved > 0; p++) {
		char rel[32];
		struct stat st;
		int fd;
		snprintf(rel, sizeof rel, "%ld/fd", pids[p]);
		if (counts && (fstatat(procfd, rel, &st, 0) < 0 || st.st_size == 0))
			continue;
		fd = openat(procfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		scan_fds(fd, pids[p], live, counts && st.st_size > FD_MANY ? FD_PROBE : SIZE_MAX,
		         list, &unresolved);
		close(fd);
	}
	close(procfd);
	free(pids);
}

static bool is_loopback(const listener *l)
{
	static const unsigned char v6_loopback[16] = {[15] = 1};
	static const unsigned char v4_mapped[12] = {[10] = 0xff, [11] = 0xff};

	if (!l->ipv6)
		return l->addr[0] == 127;
	return memcmp(l->addr, v6_loopback, 16) == 0 ||
	       (memcmp(l->addr, v4_mapped, 12) == 0 && l->addr[12] == 127);
}

static int compare_ports(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* LISTENING_PORTS_ALLOWLIST: comma-separated ports, blank items skipped.
 * Returns a sorted, duplicate-free list; -1 with why on a bad item. */
static int parse_allowlist(long **ports, size_t *count, char *why, size_t size)
{
	const char *env = getenv("LISTENING_PORTS_ALLOWLIST");
	char *copy, *item, *save = NULL;
	long *list;
	size_t n = 0;

	*ports = NULL;
	*count = 0;
	if (!env || !*env)
		return 0;
	copy = strdup(env);
	list = calloc(strlen(env) / 2 + 1, sizeof *list);
	if (!copy || !list) {
		free(copy);
		free(list);
		snprintf(why, size, "out of memory");
		return -1;
	}
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *end, *start = item;
		long port;
		while (isspace((unsigned char)*start))
			start++;
		end = start + strlen(start);
		while (end > start && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!*start)
			continue;
		errno = 0;
		port = strtol(start, &end, 10);
		if (errno || *end || !isdigit((unsigned char)*start) || port < 1 || port > 65535) {
			snprintf(why, size, "LISTENING_PORTS_ALLOWLIST: bad port '%.32s'", start);
			free(copy);
			free(list);
			return -1;
		}
		list[n++] = port;
	}
	free(copy);
	qsort(list, n, sizeof *list, compare_ports);
	*count = 0;
	for (size_t i = 0; i < n; i++)
		if (*count == 0 || list[*count - 1] != list[i])
			list[(*count)++] = list[i];
	*ports = list;
	return 0;
}

static bool allowed(const long *ports, size_t count, unsigned port)
{
	long key = (long)port;

	return count > 0 && bsearch(&key, ports, count, sizeof *ports, compare_ports) != NULL;
}

/* Append "22(0.0.0.0) [sshd]" to the message being built. */
static void append_flagged(char **msg, size_t *len, bool first, unsigned port, const char *ip,
                           const char *process)
{
	char *grown;
	int n = snprintf(NULL, 0, "%s%u(%s) [%s]", first ? "" : ", ", port, ip, process);

	if (n < 0 || !(grown = realloc(*msg, *len + (size_t)n + 1)))
		return;
	snprintf(grown + *len, (size_t)n + 1, "%s%u(%s) [%s]", first ? "" : ", ", port, ip,
	         process);
	*msg = grown;
	*len += (size_t)n;
}

static json_t *listener_json(const listener *l, const char *ip, bool exposed, const char *process,
                             const char *user)
{
	json_t *o = json_object();

	sm_metric_int(o, "port", l->port);
	sm_metric_str(o, "address", ip);
	sm_metric_str(o, "family", l->ipv6 ? "ipv6" : "ipv4");
	if (l->pid >= 0)
		sm_metric_int(o, "pid", l->pid);
	else
		json_object_set_new(o, "pid", json_null());
	sm_metric_bool(o, "exposed", exposed);
	sm_metric_str(o, "process", process);
	sm_metric_str(o, "username", user);
	return o;
}

static void report(sm_check_result *res, const listeners *list, const long *allow, size_t nallow)
{
	json_t *allowlist = json_array(), *unexpected = json_array(), *entries = json_array();
	char *flagged = NULL;
	size_t len = 0, nflagged = 0;

	for (size_t i = 0; i < nallow; i++)
		json_array_append_new(allowlist, json_integer(allow[i]));
	for (size_t i = 0; i < list->count; i++) {
		const listener *l = &list->items[i];
		char ip[INET6_ADDRSTRLEN] = "?", comm[64], user[64];
		const char *process = NULL, *username = NULL;
		bool exposed = !is_loopback(l), flag;
		long uid;

		inet_ntop(l->ipv6 ? AF_INET6 : AF_INET, l->addr, ip, sizeof ip);
		/* Name and user come together: a process that vanished has neither. */
		if (l->pid >= 0 && sm_procfs_comm(l->pid, comm, sizeof comm) == 0 &&
		    sm_procfs_uid(l->pid, &uid) == 0) {
			process = comm;
			username = user;
			if (sm_procfs_user_name(uid, user, sizeof user) < 0)
				snprintf(user, sizeof user, "%ld", uid);
		}
		json_array_append_new(entries, listener_json(l, ip, exposed, process, username));
		flag = !allowed(allow, nallow, l->port) && (nallow > 0 || exposed);
		if (!flag)
			continue;
		json_array_append_new(unexpected, json_integer(l->port));
		append_flagged(&flagged, &len, nflagged++ == 0, l->port, ip,
		               process ? process : "?");
	}
	sm_metric_str(res->metrics, "platform", "linux");
	sm_metric_int(res->metrics, "listening_count", (long long)list->count);
	json_object_set_new(res->metrics, "allowlist", allowlist);
	json_object_set_new(res->metrics, "unexpected_ports", unexpected);
	json_object_set_new(res->metrics, "listening", entries);
	sm_result_perf(res, "unexpected", (double)nflagged, "", false, 0, NAN);
	if (nflagged > 0)
		sm_result_set(res, SM_WARNING, "%zu unexpected listening port(s): %s", nflagged,
		              flagged ? flagged : "");
	else
		sm_result_set(res, SM_OK, "%zu listening port(s), none unexpected", list->count);
	free(flagged);
}

SM_CHECKER_RUN(run)
{
	static const struct {
		const char *path;
		bool ipv6;
		bool optional; /* absent when IPv6 is disabled */
	} tables[] = {
	    {"/proc/net/tcp", false, false},
	    {"/proc/net/tcp6", true, true},
	};
	listeners list = {0};
	long *allow = NULL;
	size_t nallow = 0;
	char why[256];
	bool live;

	(void)self;
	(void)opts;
	if (parse_allowlist(&allow, &nallow, why, sizeof why) < 0) {
		sm_result_fail(res, "%s", why);
		return;
	}
	live = live_proc();
	if (live) {
		if (read_netlink(&list) == 0)
			goto audit;
		list.count = 0; /* start again from the files */
	}
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		int errnum;
		if (read_table(tables[i].path, tables[i].ipv6, &list, &errnum, why, sizeof why) ==
		    0)
			continue;
		if (errnum == ENOENT && tables[i].optional)
			continue;
		if (errnum == EACCES || errnum == EPERM) {
			list.count = 0;
			report(res, &list, allow, nallow);
			sm_result_skip(res, "cannot read listening ports");
			free(res->perfdata);
			res->perfdata = NULL;
		} else {
			sm_result_fail(res, "%s", why);
		}
		free(list.items);
		free(allow);
		return;
	}
audit:
	find_owners(&list, live);
	report(res, &list, allow, nallow);
	free(list.items);
	free(allow);
}

const sm_checker sm_checker_listening_ports = {
    .name = "listening_ports",
    .description = "Audit listening TCP ports against an allowlist.",
    .run = run,
    .warning = NAN,
    .critical = NAN,
    .advice = "stop the service, or allow the port in LISTENING_PORTS_ALLOWLIST; sudo ss -ltnp "
              "names the process",
};
