/* handoff.c - a queued item handed straight to a waiting worker (see
 * handoff.h).
 *
 * A datagram is the item's claim and envelope:
 *   "<id> <claimed_at> <run_id> <claimed_by>\n<envelope>"
 * claimed_by last, as it is the one field that may hold a space (a host
 * name never does, but nothing here depends on it). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "sm/handoff.h"
#include "sm/json.h"
#include "sm/log.h"
#include "sm/pipeline_run.h"
#include "sm/rfc3339.h"

#define HEAD_MAX 512

/* The path this process bound, to remove it only while it is its own. */
static struct stat bound;

void sm_handoff_path(const sm_store *store, char *buf, size_t size)
{
	snprintf(buf, size, "%s-handoff", sm_store_path(store));
}

/* The socket address of path: false when it does not fit. */
static bool address(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa->sun_path)
		return false;
	memcpy(sa->sun_path, path, strlen(path));
	return true;
}

/* The first byte of the wake-up file: shared-locked by the worker while
 * it is busy. */
static struct flock busy_byte(short type)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};

	return fl;
}

/* --- the worker's side -------------------------------------------------- */

static int bound_now(const char *path, int fd)
{
	chmod(path, 0600);
	if (stat(path, &bound) < 0)
		memset(&bound, 0, sizeof bound);
	return fd;
}

int sm_handoff_bind(const sm_store *store, char *why, size_t why_size)
{
	char path[4200];
	struct sockaddr_un sa;
	struct stat st;
	int fd, probe;

	*why = '\0';
	sm_handoff_path(store, path, sizeof path);
	if (!address(path, &sa)) {
		snprintf(why, why_size, "the store's path is too long for a socket");
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, why_size, "socket: %s", strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
		return bound_now(path, fd);
	if (errno != EADDRINUSE) {
		snprintf(why, why_size, "bind: %s", strerror(errno));
		close(fd);
		return -1;
	}
	/* Someone's: alive when it takes a connection (or refuses it for any
	 * reason but that nothing listens), else a dead worker's leftover,
	 * taken over. Two workers taking it over at once each remove and bind:
	 * the path ends up the last one's, the other's socket unreachable and
	 * so unused, and each removes only its own at its stop. */
	probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (probe < 0 || connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0 ||
	    errno != ECONNREFUSED || lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		if (probe >= 0)
			close(probe);
		close(fd);
		return -1; /* another worker's: it gets the hand-overs */
	}
	close(probe);
	if ((unlink(path) < 0 && errno != ENOENT) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		/* Another worker took it over first: the same as finding it alive. */
		int saved = errno;
		close(fd);
		if (saved != EADDRINUSE)
			snprintf(why, why_size, "bind: %s", strerror(saved));
		return -1;
	}
	return bound_now(path, fd);
}

void sm_handoff_unbind(const sm_store *store)
{
	char path[4200];
	struct stat st;

	sm_handoff_path(store, path, sizeof path);
	if (bound.st_ino && stat(path, &st) == 0 && st.st_ino == bound.st_ino &&
	    st.st_dev == bound.st_dev)
		unlink(path);
	memset(&bound, 0, sizeof bound);
}

int sm_handoff_busy_open(const sm_store *store)
{
	char path[4200];

	sm_inbox_wake_path(store, path, sizeof path);
	return open(path, O_RDONLY | O_CLOEXEC);
}

void sm_handoff_busy(int fd, bool busy)
{
	struct flock fl = busy_byte(busy ? F_RDLCK : F_UNLCK);

	if (fd >= 0)
		(void)fcntl(fd, F_OFD_SETLK, &fl);
}

/* The next space-ended field of *p (within end), NUL-terminated in place. */
static char *field(char **p, char *end, char stop)
{
	char *start = *p, *q = memchr(start, stop, (size_t)(end - start));

	if (!q)
		return NULL;
	*q = '\0';
	*p = q + 1;
	return start;
}

int sm_handoff_recv(int fd, sm_inbox_item *item, char *why, size_t why_size)
{
	static char buf[SM_HANDOFF_MAX_ENVELOPE + HEAD_MAX];
	char *p = buf, *end, *id, *at, *run, *by, *stop;
	json_error_t jerr;
	ssize_t n;

	memset(item, 0, sizeof *item);
	*why = '\0';
	n = recv(fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0)
		return 0; /* EAGAIN */
	if (n == 0) {
		/* Shut down and read to the end, or an empty datagram, which is
		 * not a hand-over: then what follows it is still read. */
		int next = 0;
		if (ioctl(fd, SIOCINQ, &next) == 0 && next > 0) {
			snprintf(why, why_size, "an empty hand-over");
			return -1;
		}
		return 0;
	}
	if ((size_t)n > sizeof buf) {
		snprintf(why, why_size, "a hand-over of %zd bytes, more than any handler sends", n);
		return -1;
	}
	end = buf + n;
	id = field(&p, end, ' ');
	at = id ? field(&p, end, ' ') : NULL;
	run = at ? field(&p, end, ' ') : NULL;
	by = run ? field(&p, end, '\n') : NULL;
	if (!by) {
		snprintf(why, why_size, "a hand-over without its claim");
		return -1;
	}
	errno = 0;
	item->id = strtoll(id, &stop, 10);
	if (errno || *stop || item->id <= 0 || strlen(at) >= sizeof item->claimed_at ||
	    strlen(run) >= sizeof item->run_id || strlen(by) >= sizeof item->worker) {
		snprintf(why, why_size, "a hand-over whose claim is not one");
		return -1;
	}
	item->envelope = sm_json_parse(p, (size_t)(end - p), 0, &jerr);
	if (!json_is_object(item->envelope)) {
		json_decref(item->envelope);
		item->envelope = NULL;
		snprintf(why, why_size, "a hand-over whose envelope is not an object");
		return -1;
	}
	item->attempts = 1;
	snprintf(item->claimed_at, sizeof item->claimed_at, "%s", at);
	snprintf(item->run_id, sizeof item->run_id, "%s", run);
	snprintf(item->worker, sizeof item->worker, "%s", by);
	item->handed = true;
	return 1;
}

/* --- the handler's side ------------------------------------------------- */

struct handed {
	long long id;
	char run_id[SM_PIPELINE_ID_LEN + 1];
	char *text;
	size_t len;
};

struct sm_handoff {
	int fd;
	int busy_fd; /* the wake-up file, to see the worker's lock; -1: not open */
	char claimed_by[128];
	char claimed_at[SM_RFC3339_LEN];
	struct handed *items;
	size_t n, cap;
};

sm_handoff *sm_handoff_new(void)
{
	sm_handoff *h = calloc(1, sizeof *h);
	char host[64] = "";

	if (!h)
		return NULL;
	h->fd = -1;
	h->busy_fd = -1;
	gethostname(host, sizeof host - 1);
	snprintf(h->claimed_by, sizeof h->claimed_by, "handoff:%s:%ld", host, (long)getpid());
	return h;
}

void sm_handoff_free(sm_handoff *h)
{
	if (!h)
		return;
	sm_handoff_forget(h, 0);
	free(h->items);
	if (h->fd >= 0)
		close(h->fd);
	if (h->busy_fd >= 0)
		close(h->busy_fd);
	free(h);
}

/* Whether the worker holding the socket is busy: its lock on the wake-up
 * file seen (a file that cannot be opened tells nothing: not busy). */
static bool worker_busy(sm_handoff *h, const sm_store *store)
{
	struct flock fl = busy_byte(F_WRLCK);

	if (h->busy_fd < 0) {
		char path[4200];
		sm_inbox_wake_path(store, path, sizeof path);
		h->busy_fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	return h->busy_fd >= 0 && fcntl(h->busy_fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

bool sm_handoff_begin(sm_handoff *h, const sm_store *store)
{
	char path[4200];
	struct sockaddr_un sa;
	int queued = 0;

	if (!h)
		return false;
	sm_handoff_forget(h, 0);
	sm_handoff_path(store, path, sizeof path);
	if (!address(path, &sa))
		return false;
	if (h->fd < 0 && (h->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	/* Connected again each time: a worker started since is found, one
	 * gone is known before anything is claimed for it. */
	if (connect(h->fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		return false;
	/* What this handler handed before and the worker has not read yet is
	 * still charged to this socket: a worker busy with it takes no more. */
	if (ioctl(h->fd, SIOCOUTQ, &queued) < 0 || queued > 0)
		return false;
	if (worker_busy(h, store))
		return false;
	sm_rfc3339_now(h->claimed_at, true);
	return true;
}

void sm_handoff_begin_local(sm_handoff *h)
{
	sm_handoff_forget(h, 0);
	sm_rfc3339_now(h->claimed_at, true);
}

int sm_handoff_put(sm_handoff *h, sm_store *store, const char *text, size_t len,
                   const char *trace_id, sm_error *err)
{
	struct handed *it;

	if (len > SM_HANDOFF_MAX_ENVELOPE)
		return 0;
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 8;
		struct handed *more = realloc(h->items, cap * sizeof *more);
		if (!more) {
			sm_error_set(err, "out of memory");
			return -1;
		}
		h->items = more;
		h->cap = cap;
	}
	it = &h->items[h->n];
	memset(it, 0, sizeof *it);
	if (sm_pipeline_new_run_id(it->run_id) < 0) {
		sm_error_set(err, "no randomness for a run id");
		return -1;
	}
	if (!(it->text = malloc(len))) {
		sm_error_set(err, "out of memory");
		return -1;
	}
	memcpy(it->text, text, len);
	it->len = len;
	if (sm_inbox_put_claimed(store, text, len, trace_id, h->claimed_by, h->claimed_at,
	                         it->run_id, err) < 0) {
		free(it->text);
		return -1;
	}
	it->id = sqlite3_last_insert_rowid(sm_store_db(store));
	h->n++;
	return 1;
}

size_t sm_handoff_count(const sm_handoff *h)
{
	return h ? h->n : 0;
}

void sm_handoff_forget(sm_handoff *h, size_t mark)
{
	if (!h)
		return;
	while (h->n > mark)
		free(h->items[--h->n].text);
}

/* Give items[from ..] back to the queue; when the store will not, say so:
 * their claims then go stale, and they are taken again after. */
static void give_back(sm_handoff *h, sm_store *store, size_t from)
{
	sm_error err = {0};
	int rc = sm_store_begin(store, &err);

	for (size_t i = from; i < h->n && rc == 0; i++) {
		sm_inbox_item item = {.id = h->items[i].id};
		snprintf(item.worker, sizeof item.worker, "%s", h->claimed_by);
		snprintf(item.claimed_at, sizeof item.claimed_at, "%s", h->claimed_at);
		if (sm_inbox_release(store, &item, &err) < 0)
			rc = -1;
	}
	if (rc == 0 && sm_store_commit(store, &err) == 0)
		return;
	sm_store_rollback(store);
	sm_log_kv(SM_LOG_ERROR, "cannot give the hand-overs back: taken again once stale", "error",
	          err.msg, SM_LOG_END);
}

size_t sm_handoff_send(sm_handoff *h, sm_store *store)
{
	size_t i;

	if (!h || h->n == 0)
		return 0;
	for (i = 0; i < h->n; i++) {
		const struct handed *it = &h->items[i];
		char head[HEAD_MAX];
		int len = snprintf(head, sizeof head, "%lld %s %s %s\n", it->id, h->claimed_at,
		                   it->run_id, h->claimed_by);
		struct iovec iov[2] = {{head, (size_t)len}, {it->text, it->len}};
		struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
		if (sendmsg(h->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			break;
	}
	if (i < h->n)
		give_back(h, store, i);
	{
		size_t back = h->n - i;
		sm_handoff_forget(h, 0);
		return back;
	}
}

size_t sm_handoff_take(sm_handoff *h, sm_inbox_item *items, size_t max)
{
	size_t k = 0, used = 0;
	json_error_t jerr;

	if (!h)
		return 0;
	for (; used < h->n && k < max; used++) {
		sm_inbox_item *it = &items[k];
		memset(it, 0, sizeof *it);
		it->envelope = sm_json_parse(h->items[used].text, h->items[used].len, 0, &jerr);
		free(h->items[used].text);
		if (!it->envelope) { /* out of memory: its claim goes stale */
			sm_log_kv(SM_LOG_ERROR, "cannot take a queued item: taken again once stale",
			          "error", jerr.text, SM_LOG_END);
			continue;
		}
		it->id = h->items[used].id;
		it->attempts = 1;
		it->handed = true;
		snprintf(it->claimed_at, sizeof it->claimed_at, "%s", h->claimed_at);
		snprintf(it->run_id, sizeof it->run_id, "%s", h->items[used].run_id);
		snprintf(it->worker, sizeof it->worker, "%s", h->claimed_by);
		k++;
	}
	memmove(h->items, h->items + used, (h->n - used) * sizeof *h->items);
	h->n -= used;
	return k;
}
