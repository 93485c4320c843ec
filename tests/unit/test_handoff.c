/* test_handoff.c - a queued item handed straight to a waiting worker over
 * the datagram socket beside the store: the handler's claim in the inbox
 * and the worker reading it under that claim, a handler waiting until what
 * it handed before was read, what is too large or rolled back not handed,
 * a send that fails giving the item back, binding and taking over the
 * socket's path, removing it only while it is this process's, and bad
 * datagrams refused without harm. */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "capture.h"
#include "testutil.h"
#include "sm/handoff.h"

#define TRACE    "0123456789abcdef0123456789abcdef"
#define ENVELOPE "{\"v\":1,\"trace_id\":\"" TRACE "\"}"
#define A_CLAIM  "2026-01-01T00:00:00.000Z 11111111-2222-4333-8444-555555555555"

/* Each test's own scratch store, and what it opened, closed by teardown
 * even when the test fails half-way. */
static sm_store *store;
static char sock[4200];
static sm_handoff *handler;
static int worker = -1;

static int setup(void **state)
{
	sm_error err;

	(void)state;
	scratch_make("sm-handoff");
	if (sm_store_open(scratch_db(), &store, &err) < 0)
		return -1;
	sm_handoff_path(store, sock, sizeof sock);
	if (strlen(sock) >= sizeof((struct sockaddr_un *)0)->sun_path) {
		fprintf(stderr, "%s: too long for a socket's address (TMPDIR)\n", sock);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	sm_handoff_free(handler);
	handler = NULL;
	if (worker >= 0)
		close(worker);
	worker = -1;
	sm_handoff_unbind(store);
	sm_store_close(store);
	store = NULL;
	return scratch_remove(state);
}

/* An inbox row as stored; "" for a NULL text (claimed_by_null says which). */
struct row {
	char state[16], claimed_by[128], claimed_at[40], created_at[40], run_id[40];
	char trace_id[40], envelope[256];
	bool claimed_by_null;
	long long attempts;
};

static void column(sqlite3_stmt *st, int i, char *buf, size_t size)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	snprintf(buf, size, "%s", v ? (const char *)v : "");
}

static struct row row_of(long long id)
{
	struct row r;
	sqlite3_stmt *st = sm_store_prepare(
	    store,
	    "SELECT state, attempts, claimed_by, claimed_at, created_at, run_id, trace_id,"
	    " envelope FROM inbox WHERE id = ?",
	    NULL);

	memset(&r, 0, sizeof r);
	assert_non_null(st);
	sqlite3_bind_int64(st, 1, id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	column(st, 0, r.state, sizeof r.state);
	r.attempts = sqlite3_column_int64(st, 1);
	r.claimed_by_null = sqlite3_column_type(st, 2) == SQLITE_NULL;
	column(st, 2, r.claimed_by, sizeof r.claimed_by);
	column(st, 3, r.claimed_at, sizeof r.claimed_at);
	column(st, 4, r.created_at, sizeof r.created_at);
	column(st, 5, r.run_id, sizeof r.run_id);
	column(st, 6, r.trace_id, sizeof r.trace_id);
	column(st, 7, r.envelope, sizeof r.envelope);
	sqlite3_finalize(st);
	return r;
}

static const char *state_of(long long id)
{
	static struct row r;

	r = row_of(id);
	return r.state;
}

static long long rows(void)
{
	sqlite3_stmt *st = sm_store_prepare(store, "SELECT count(*) FROM inbox", NULL);
	long long n;

	assert_non_null(st);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Put text as the handler does, each in a transaction of its own: the
 * row's id. */
static long long put_one(const char *text)
{
	sm_error err;
	long long id;

	assert_int_equal(sm_store_begin(store, &err), 0);
	assert_int_equal(sm_handoff_put(handler, store, text, strlen(text), TRACE, &err), 1);
	id = sqlite3_last_insert_rowid(sm_store_db(store));
	assert_int_equal(sm_store_commit(store, &err), 0);
	return id;
}

/* Send len bytes as one datagram to path from a socket of its own. */
static void raw_send(const char *path, const void *buf, size_t len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof sa.sun_path);
	memcpy(sa.sun_path, path, strlen(path));
	assert_int_equal(sendto(fd, buf, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof sa),
	                 (ssize_t)len);
	close(fd);
}

static void raw_send_text(const char *text)
{
	raw_send(sock, text, strlen(text));
}

/* A socket bound at path by other means than sm_handoff_bind. */
static int raw_bind(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memcpy(sa.sun_path, path, strlen(path));
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

static ino_t inode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	return st.st_ino;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* A worker bound to the socket and a handler, for the test's teardown to
 * close. */
static void worker_and_handler(void)
{
	char why[200];

	worker = sm_handoff_bind(store, why, sizeof why);
	assert_true(worker >= 0);
	assert_string_equal(why, "");
	handler = sm_handoff_new();
	assert_non_null(handler);
}

/* A worker bound, a handler that may hand over, its transaction begun. */
static void handing_begun(void)
{
	sm_error err;

	worker_and_handler();
	assert_true(sm_handoff_begin(handler, store));
	assert_int_equal(sm_store_begin(store, &err), 0);
}

/* The handler's claim in the inbox, and the worker reading the item under
 * exactly that claim, as if it had claimed it; finishing it then matches. */
static void a_handed_item_reaches_the_worker_under_its_claim(void **state)
{
	char why[200] = "junk", by[128], host[64] = "";
	sm_inbox_item item;
	sm_error err;
	struct row r;
	struct stat st;
	long long id;
	char *dump;
	size_t len;

	(void)state;
	worker = sm_handoff_bind(store, why, sizeof why);
	assert_true(worker >= 0);
	assert_string_equal(why, "");
	/* Non-blocking and close-on-exec, a socket only its user reaches. */
	assert_true(fcntl(worker, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(worker, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(stat(sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	handler = sm_handoff_new();
	assert_non_null(handler);
	assert_true(sm_handoff_begin(handler, store));
	assert_int_equal(sm_store_begin(store, &err), 0);
	assert_int_equal(sm_handoff_put(handler, store, ENVELOPE, strlen(ENVELOPE), TRACE, &err),
	                 1);
	id = sqlite3_last_insert_rowid(sm_store_db(store));
	assert_int_equal(sm_handoff_count(handler), 1);
	assert_int_equal(sm_store_commit(store, &err), 0);

	/* Queued claimed, by "handoff:<host>:<pid>", with a run id promised. */
	gethostname(host, sizeof host - 1);
	snprintf(by, sizeof by, "handoff:%s:%ld", host, (long)getpid());
	r = row_of(id);
	assert_string_equal(r.state, "claimed");
	assert_int_equal(r.attempts, 1);
	assert_false(r.claimed_by_null);
	assert_memory_equal(r.claimed_by, "handoff:", 8);
	assert_string_equal(r.claimed_by, by);
	assert_int_equal(strlen(r.claimed_at), 24); /* 2026-01-01T00:00:00.000Z */
	assert_string_equal(r.created_at, r.claimed_at);
	assert_int_equal(strlen(r.run_id), 36);
	assert_true(r.run_id[8] == '-' && r.run_id[13] == '-' && r.run_id[18] == '-' &&
	            r.run_id[23] == '-');
	assert_string_equal(r.trace_id, TRACE);
	assert_string_equal(r.envelope, ENVELOPE);

	assert_int_equal(sm_handoff_send(handler, store), 0); /* nothing given back */
	assert_int_equal(sm_handoff_count(handler), 0);
	assert_string_equal(state_of(id), "claimed");

	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), 1);
	assert_string_equal(why, "");
	assert_int_equal(item.id, id);
	assert_true(item.handed);
	assert_int_equal(item.attempts, 1);
	assert_string_equal(item.worker, r.claimed_by);
	assert_string_equal(item.claimed_at, r.claimed_at);
	assert_string_equal(item.run_id, r.run_id);
	assert_string_equal(item.definition, "");
	assert_non_null(item.envelope);
	dump = sm_json_dump(item.envelope, &len);
	assert_non_null(dump);
	assert_int_equal(len, strlen(ENVELOPE));
	assert_string_equal(dump, ENVELOPE);
	free(dump);

	{
		sm_inbox_item none = {.id = 99, .handed = true};
		strcpy(why, "junk");
		assert_int_equal(sm_handoff_recv(worker, &none, why, sizeof why), 0);
		assert_string_equal(why, "");
		assert_int_equal(none.id, 0);
		assert_false(none.handed);
		assert_null(none.envelope);
	}

	/* The claim as recorded is the claim the worker holds. */
	assert_int_equal(sm_inbox_done(store, &item, &err), 1);
	assert_string_equal(state_of(id), "done");
	sm_inbox_item_clear(&item);
}

/* Several items of one transaction: each its own run id, handed in order
 * in datagrams of their own. */
static void a_batch_is_handed_item_by_item(void **state)
{
	char why[200];
	sm_inbox_item a, b;
	sm_error err;
	struct row ra, rb;
	long long ida, idb;

	(void)state;
	handing_begun();
	assert_int_equal(sm_handoff_put(handler, store, "{\"n\":1}", 7, NULL, &err), 1);
	ida = sqlite3_last_insert_rowid(sm_store_db(store));
	assert_int_equal(sm_handoff_put(handler, store, "{\"n\":2}", 7, NULL, &err), 1);
	idb = sqlite3_last_insert_rowid(sm_store_db(store));
	assert_int_equal(sm_store_commit(store, &err), 0);
	ra = row_of(ida);
	rb = row_of(idb);
	assert_string_equal(ra.trace_id, ""); /* none given */
	assert_string_not_equal(ra.run_id, rb.run_id);
	assert_int_equal(sm_handoff_send(handler, store), 0);
	assert_int_equal(sm_handoff_recv(worker, &a, why, sizeof why), 1);
	assert_int_equal(sm_handoff_recv(worker, &b, why, sizeof why), 1);
	assert_int_equal(a.id, ida);
	assert_int_equal(b.id, idb);
	assert_int_equal(json_integer_value(json_object_get(a.envelope, "n")), 1);
	assert_int_equal(json_integer_value(json_object_get(b.envelope, "n")), 2);
	assert_string_equal(a.run_id, ra.run_id);
	assert_string_equal(b.run_id, rb.run_id);
	assert_string_equal(a.claimed_at, b.claimed_at); /* one transaction's claim */
	assert_int_equal(sm_inbox_done(store, &a, &err), 1);
	assert_int_equal(sm_inbox_done(store, &b, &err), 1);
	sm_inbox_item_clear(&a);
	sm_inbox_item_clear(&b);
}

/* A worker busy (its lock on the wake-up file's first byte) is handed
 * nothing; waiting again, it is. A wake-up file that cannot be opened
 * tells nothing (not busy), and a lock on another byte is not this one. */
static void no_hand_over_to_a_busy_worker(void **state)
{
	char wake[4200];
	int busy, other;
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 1, .l_len = 1};

	(void)state;
	worker_and_handler();
	assert_int_equal(sm_handoff_busy_open(store), -1); /* no wake-up file yet */
	assert_true(sm_handoff_begin(handler, store));
	sm_inbox_wake_path(store, wake, sizeof wake);
	fclose(fopen(wake, "w"));
	busy = sm_handoff_busy_open(store);
	assert_true(busy >= 0);
	sm_handoff_busy(busy, true);
	assert_false(sm_handoff_begin(handler, store));
	sm_handoff_busy(busy, false);
	assert_true(sm_handoff_begin(handler, store));
	sm_handoff_busy(busy, true);
	assert_false(sm_handoff_begin(handler, store));
	close(busy); /* a worker gone: its lock with it */
	assert_true(sm_handoff_begin(handler, store));
	other = open(wake, O_RDONLY);
	assert_true(other >= 0);
	assert_int_equal(fcntl(other, F_OFD_SETLK, &fl), 0);
	assert_true(sm_handoff_begin(handler, store));
	close(other);
	sm_handoff_busy(-1, true); /* no file: nothing done */
}

/* A handler hands over no more while the worker has not read what it
 * handed before; once read, it may again. */
static void no_hand_over_while_the_last_is_unread(void **state)
{
	char why[200];
	sm_inbox_item item;
	long long id;

	(void)state;
	worker_and_handler();
	assert_true(sm_handoff_begin(handler, store));
	assert_true(sm_handoff_begin(handler, store)); /* nothing sent yet */
	id = put_one(ENVELOPE);
	assert_int_equal(sm_handoff_send(handler, store), 0);
	assert_false(sm_handoff_begin(handler, store));
	assert_false(sm_handoff_begin(handler, store));
	assert_int_equal(sm_handoff_send(handler, store), 0); /* nothing put since */
	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), 1);
	assert_int_equal(item.id, id);
	sm_inbox_item_clear(&item);
	assert_true(sm_handoff_begin(handler, store));
	/* Another handler (its own socket) is not held back by this one's. */
	id = put_one(ENVELOPE);
	assert_int_equal(sm_handoff_send(handler, store), 0);
	{
		sm_handoff *other = sm_handoff_new();
		assert_non_null(other);
		assert_true(sm_handoff_begin(other, store));
		sm_handoff_free(other);
	}
	assert_false(sm_handoff_begin(handler, store));
	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), 1);
	assert_int_equal(item.id, id);
	sm_inbox_item_clear(&item);
	assert_true(sm_handoff_begin(handler, store));
}

/* An envelope over SM_HANDOFF_MAX_ENVELOPE is not handed over (the caller
 * queues it as usual); one of exactly that size is, whole. */
static void the_largest_envelope_handed_over(void **state)
{
	const size_t max = SM_HANDOFF_MAX_ENVELOPE;
	char why[200], *text = malloc(max + 2), *dump;
	sm_inbox_item item;
	sm_error err;
	long long id;
	size_t len;

	(void)state;
	assert_non_null(text);
	/* {"pad":"xxx…"} of max + 1 bytes. */
	memset(text, 'x', max + 1);
	memcpy(text, "{\"pad\":\"", 8);
	memcpy(text + max - 1, "\"}", 3);
	handing_begun();
	assert_int_equal(sm_handoff_put(handler, store, text, max + 1, TRACE, &err), 0);
	assert_int_equal(rows(), 0);
	assert_int_equal(sm_handoff_count(handler), 0);
	/* One byte less: exactly the largest, handed over. */
	memcpy(text + max - 2, "\"}", 3);
	assert_int_equal(strlen(text), max);
	assert_int_equal(sm_handoff_put(handler, store, text, max, TRACE, &err), 1);
	id = sqlite3_last_insert_rowid(sm_store_db(store));
	assert_int_equal(sm_store_commit(store, &err), 0);
	assert_int_equal(rows(), 1);
	assert_int_equal(sm_handoff_send(handler, store), 0);
	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), 1);
	assert_int_equal(item.id, id);
	dump = sm_json_dump(item.envelope, &len);
	assert_non_null(dump);
	assert_int_equal(len, max);
	assert_string_equal(dump, text);
	free(dump);
	free(text);
	sm_inbox_item_clear(&item);
}

/* A savepoint rolled back: what was put since its mark is not sent. */
static void a_rolled_back_savepoint_is_not_handed(void **state)
{
	char why[200];
	sm_inbox_item item;
	sm_error err;
	size_t mark;
	long long id;

	(void)state;
	handing_begun();
	assert_int_equal(sm_handoff_put(handler, store, "{\"n\":1}", 7, NULL, &err), 1);
	id = sqlite3_last_insert_rowid(sm_store_db(store));
	assert_int_equal(sm_store_exec(store, "SAVEPOINT request", &err), 0);
	mark = sm_handoff_count(handler);
	assert_int_equal(mark, 1);
	assert_int_equal(sm_handoff_put(handler, store, "{\"n\":2}", 7, NULL, &err), 1);
	assert_int_equal(sm_handoff_put(handler, store, "{\"n\":3}", 7, NULL, &err), 1);
	assert_int_equal(sm_handoff_count(handler), 3);
	assert_int_equal(sm_store_exec(store, "ROLLBACK TO request", &err), 0);
	assert_int_equal(sm_store_exec(store, "RELEASE request", &err), 0);
	sm_handoff_forget(handler, mark);
	assert_int_equal(sm_handoff_count(handler), 1);
	sm_handoff_forget(handler, 5); /* a mark past the count forgets nothing */
	assert_int_equal(sm_handoff_count(handler), 1);
	assert_int_equal(sm_store_commit(store, &err), 0);
	assert_int_equal(rows(), 1);
	assert_int_equal(sm_handoff_send(handler, store), 0);
	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), 1);
	assert_int_equal(item.id, id);
	assert_int_equal(json_integer_value(json_object_get(item.envelope, "n")), 1);
	sm_inbox_item_clear(&item);
	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), 0);
}

/* A send refused (the worker's socket shut for reading) gives the items
 * back: pending, unclaimed, their attempt undone, their run id kept; the
 * next worker's claim takes them with it. */
static void a_failed_send_gives_the_items_back(void **state)
{
	char why[200];
	sm_inbox_item item;
	sm_error err;
	long long id[2];
	struct row before[2];

	(void)state;
	handing_begun();
	for (int i = 0; i < 2; i++) {
		assert_int_equal(
		    sm_handoff_put(handler, store, ENVELOPE, strlen(ENVELOPE), TRACE, &err), 1);
		id[i] = sqlite3_last_insert_rowid(sm_store_db(store));
	}
	assert_int_equal(sm_store_commit(store, &err), 0);
	before[0] = row_of(id[0]);
	before[1] = row_of(id[1]);
	assert_int_equal(shutdown(worker, SHUT_RD), 0);
	assert_int_equal(sm_handoff_send(handler, store), 2);
	assert_int_equal(sm_handoff_count(handler), 0);
	for (int i = 0; i < 2; i++) {
		struct row r = row_of(id[i]);
		assert_string_equal(r.state, "pending");
		assert_true(r.claimed_by_null);
		assert_string_equal(r.claimed_at, "");
		assert_int_equal(r.attempts, 0);
		assert_string_equal(r.run_id, before[i].run_id);
	}
	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), 0); /* none came */
	assert_int_equal(sm_inbox_claim(store, "w1", 600, &item, &err), 1);
	assert_int_equal(item.id, id[0]);
	assert_int_equal(item.attempts, 1);
	assert_string_equal(item.run_id, before[0].run_id);
	assert_false(item.handed);
	sm_inbox_item_clear(&item);
}

/* A send that fails while the store refuses to give the claim back: said
 * on stderr, the item left claimed, for its claim to go stale. */
static void a_give_back_refused_is_said(void **state)
{
	struct capture cap;
	const char *said;
	sm_error err;
	long long id;

	(void)state;
	worker_and_handler();
	assert_true(sm_handoff_begin(handler, store));
	id = put_one(ENVELOPE);
	assert_int_equal(sm_store_exec(store,
	                               "CREATE TRIGGER refuse BEFORE UPDATE ON inbox"
	                               " BEGIN SELECT RAISE(ABORT, 'release refused here'); END",
	                               &err),
	                 0);
	assert_int_equal(shutdown(worker, SHUT_RD), 0);
	capture_start(&cap, STDERR_FILENO);
	assert_int_equal(sm_handoff_send(handler, store), 1);
	said = capture_end(&cap, STDERR_FILENO);
	assert_non_null(strstr(said, "cannot give the hand-overs back"));
	assert_non_null(strstr(said, "release refused here"));
	assert_string_equal(row_of(id).state, "claimed");
	assert_true(sqlite3_get_autocommit(sm_store_db(store))); /* nothing left open */
}

/* The worker's queue full: what was sent stays handed, the rest of the
 * batch from the first refused send is given back. */
static void a_full_worker_takes_part_of_a_batch(void **state)
{
	char why[200], junk[16];
	sm_inbox_item item;
	sm_error err;
	long long id[3];
	int filler, full = 0;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	(void)state;
	worker = sm_handoff_bind(store, why, sizeof why);
	assert_true(worker >= 0);
	/* Fill the worker's queue from another sender until it refuses. */
	filler = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(filler >= 0);
	memcpy(sa.sun_path, sock, strlen(sock));
	while (full < 10000 && sendto(filler, "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL,
	                              (struct sockaddr *)&sa, sizeof sa) == 1)
		full++;
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	assert_true(full > 0 && full < 10000);
	close(filler);
	/* Room for exactly one. */
	assert_int_equal(recv(worker, junk, sizeof junk, 0), 1);
	full--;

	handler = sm_handoff_new();
	assert_non_null(handler);
	assert_true(sm_handoff_begin(handler, store)); /* its own sends are all read */
	assert_int_equal(sm_store_begin(store, &err), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(
		    sm_handoff_put(handler, store, ENVELOPE, strlen(ENVELOPE), TRACE, &err), 1);
		id[i] = sqlite3_last_insert_rowid(sm_store_db(store));
	}
	assert_int_equal(sm_store_commit(store, &err), 0);
	assert_int_equal(sm_handoff_send(handler, store), 2);
	assert_string_equal(state_of(id[0]), "claimed");
	assert_string_equal(state_of(id[1]), "pending");
	assert_string_equal(state_of(id[2]), "pending");
	assert_int_equal(row_of(id[1]).attempts, 0);
	assert_int_equal(row_of(id[2]).attempts, 0);
	/* The filler's datagrams, then the one handed over. */
	for (int i = 0; i < full; i++) {
		assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), -1);
		assert_string_not_equal(why, "");
	}
	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), 1);
	assert_int_equal(item.id, id[0]);
	assert_int_equal(sm_inbox_done(store, &item, &err), 1);
	sm_inbox_item_clear(&item);
	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), 0);
}

/* No worker: no socket, or one its worker left behind when it died. The
 * next worker takes the path over; while it lives, no other worker binds. */
static void no_worker_and_taking_the_path_over(void **state)
{
	char why[200] = "junk";
	sm_inbox_item item;
	long long id;
	int second;

	(void)state;
	handler = sm_handoff_new();
	assert_non_null(handler);
	assert_false(exists(sock));
	assert_false(sm_handoff_begin(handler, store));
	assert_int_equal(sm_handoff_count(handler), 0);

	/* A worker that died: its socket closed, its path left. The handler
	 * connected to it before learns it is gone. */
	worker = sm_handoff_bind(store, why, sizeof why);
	assert_true(worker >= 0);
	inode_of(sock); /* a socket */
	assert_true(sm_handoff_begin(handler, store));
	close(worker);
	worker = -1;
	assert_true(exists(sock));
	assert_false(sm_handoff_begin(handler, store));
	assert_false(sm_handoff_begin(handler, store));

	strcpy(why, "junk");
	worker = sm_handoff_bind(store, why, sizeof why);
	assert_true(worker >= 0);
	assert_string_equal(why, "");
	assert_true(sm_handoff_begin(handler, store));

	/* The path is a live worker's: another gets -1, and no reason. */
	strcpy(why, "junk");
	second = sm_handoff_bind(store, why, sizeof why);
	assert_int_equal(second, -1);
	assert_string_equal(why, "");
	assert_true(exists(sock));
	/* The live worker still gets the hand-overs. */
	id = put_one(ENVELOPE);
	assert_int_equal(sm_handoff_send(handler, store), 0);
	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), 1);
	assert_int_equal(item.id, id);
	sm_inbox_item_clear(&item);
}

/* What is at the path and not a socket is no worker's leftover: left
 * alone, and no socket bound. */
static void a_file_at_the_path_is_left_alone(void **state)
{
	char why[200] = "junk";
	FILE *f;

	(void)state;
	f = fopen(sock, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(sm_handoff_bind(store, why, sizeof why), -1);
	assert_string_equal(why, "");
	assert_true(exists(sock));
	{
		struct stat st;
		assert_int_equal(lstat(sock, &st), 0);
		assert_true(S_ISREG(st.st_mode));
	}
}

/* A store whose socket path would not fit in sun_path: no socket, said
 * so, and nothing handed over (never a truncated path). */
static void a_path_too_long_for_a_socket(void **state)
{
	char name[160], why[200] = "", truncated[sizeof((struct sockaddr_un *)0)->sun_path];
	sm_store *deep;
	sm_error err;

	(void)state;
	memset(name, 'd', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	assert_int_equal(sm_store_open(at(name), &deep, &err), 0);
	assert_int_equal(sm_handoff_bind(deep, why, sizeof why), -1);
	assert_string_equal(why, "the store's path is too long for a socket");
	snprintf(truncated, sizeof truncated, "%s", at(name));
	assert_false(exists(truncated));
	handler = sm_handoff_new();
	assert_non_null(handler);
	assert_false(sm_handoff_begin(handler, deep));
	sm_handoff_unbind(deep); /* nothing bound: harmless */
	sm_store_close(deep);
}

/* unbind removes the path only while it is the socket this process bound;
 * the socket stays open, to read what was sent before. */
static void unbind_removes_only_its_own_path(void **state)
{
	char why[200];
	sm_inbox_item item;
	int other;

	(void)state;
	worker = sm_handoff_bind(store, why, sizeof why);
	assert_true(worker >= 0);
	raw_send_text("7 " A_CLAIM " w\n{}");
	sm_handoff_unbind(store);
	assert_false(exists(sock));
	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), 1);
	assert_int_equal(item.id, 7);
	sm_inbox_item_clear(&item);
	close(worker);
	worker = -1;

	/* Bound, then the path replaced by another's socket (a new inode). */
	worker = sm_handoff_bind(store, why, sizeof why);
	assert_true(worker >= 0);
	assert_int_equal(unlink(sock), 0);
	other = raw_bind(sock);
	sm_handoff_unbind(store);
	assert_true(exists(sock));
	raw_send_text("8 " A_CLAIM " w\n{}"); /* the path is the other's still */
	assert_int_equal(sm_handoff_recv(other, &item, why, sizeof why), 1);
	assert_int_equal(item.id, 8);
	sm_inbox_item_clear(&item);
	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), 0);
	close(other);
	close(worker);
	worker = -1;
	assert_int_equal(unlink(sock), 0);

	/* Unbound once, it forgets the path: a second unbind removes nothing
	 * bound after by someone else, even once its own socket is closed
	 * (its inode number may then be the new socket's). */
	for (int closed = 0; closed < 2; closed++) {
		worker = sm_handoff_bind(store, why, sizeof why);
		assert_true(worker >= 0);
		sm_handoff_unbind(store);
		assert_false(exists(sock));
		if (closed) {
			close(worker);
			worker = -1;
		}
		other = raw_bind(sock);
		sm_handoff_unbind(store);
		assert_true(exists(sock));
		close(other);
		assert_int_equal(unlink(sock), 0);
		if (worker >= 0)
			close(worker);
		worker = -1;
	}
}

/* A transaction rolled back whole: the next begin forgets what was put in
 * it, and only what is put after is sent. */
static void a_rolled_back_transaction_is_not_handed(void **state)
{
	char why[200];
	sm_inbox_item item;
	sm_error err;
	long long id;

	(void)state;
	handing_begun();
	assert_int_equal(sm_handoff_put(handler, store, "{\"n\":1}", 7, NULL, &err), 1);
	sm_store_rollback(store);
	assert_int_equal(rows(), 0);
	assert_true(sm_handoff_begin(handler, store));
	assert_int_equal(sm_handoff_count(handler), 0);
	id = put_one("{\"n\":2}");
	assert_int_equal(sm_handoff_send(handler, store), 0);
	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), 1);
	assert_int_equal(item.id, id);
	assert_int_equal(json_integer_value(json_object_get(item.envelope, "n")), 2);
	sm_inbox_item_clear(&item);
	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), 0);
}

/* A good datagram after a bad one is read as ever. */
static void reads_good_after(int id)
{
	char text[256], why[200] = "junk";
	sm_inbox_item item;

	snprintf(text, sizeof text, "%d " A_CLAIM " handoff:h:1\n{\"n\":%d}", id, id);
	raw_send_text(text);
	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), 1);
	assert_string_equal(why, "");
	assert_int_equal(item.id, id);
	assert_true(item.handed);
	assert_int_equal(item.attempts, 1);
	assert_string_equal(item.claimed_at, "2026-01-01T00:00:00.000Z");
	assert_string_equal(item.run_id, "11111111-2222-4333-8444-555555555555");
	assert_string_equal(item.worker, "handoff:h:1");
	assert_int_equal(json_integer_value(json_object_get(item.envelope, "n")), id);
	sm_inbox_item_clear(&item);
}

/* A datagram that is not a handed item: -1 with the reason, nothing kept,
 * and the next one read as ever. */
static void refused(const void *datagram, size_t len, int next)
{
	char why[200] = "";
	sm_inbox_item item;
	int rc;

	raw_send(sock, datagram, len);
	rc = sm_handoff_recv(worker, &item, why, sizeof why);
	if (rc != -1) {
		sm_inbox_item_clear(&item);
		fail_msg("%d, not -1, for \"%.*s\"", rc, (int)len, (const char *)datagram);
	}
	assert_string_not_equal(why, "");
	assert_null(item.envelope);
	assert_false(item.handed);
	reads_good_after(next);
}

/* refused() of a string literal, its length whatever bytes it holds. */
#define REFUSED(literal) refused(literal, sizeof literal - 1, next++)

static void bad_datagrams_are_refused(void **state)
{
	char why[200] = "junk", text[600], by[200], *big;
	sm_inbox_item item;
	int next = 100;

	(void)state;
	worker = sm_handoff_bind(store, why, sizeof why);
	assert_true(worker >= 0);
	/* A zero-length datagram is not a hand-over; with one behind it, it
	 * is refused (so a reader goes on to that one), else it reads as none
	 * waiting. */
	raw_send(sock, "", 0);
	raw_send_text("99 " A_CLAIM " h\n{}");
	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), -1);
	assert_string_equal(why, "an empty hand-over");
	assert_null(item.envelope);
	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), 1);
	assert_int_equal(item.id, 99);
	sm_inbox_item_clear(&item);
	raw_send(sock, "", 0);
	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), 0);
	reads_good_after(next++);

	/* The claim's fields. */
	REFUSED("12 x y\n{}");                 /* no claimed_by before the newline */
	REFUSED("12 " A_CLAIM " handoff:h:1"); /* no newline */
	REFUSED("12");
	REFUSED("\n");
	REFUSED("abc " A_CLAIM " handoff:h:1\n{}");
	REFUSED("0 " A_CLAIM " handoff:h:1\n{}");
	REFUSED("-5 " A_CLAIM " handoff:h:1\n{}");
	REFUSED("12x " A_CLAIM " handoff:h:1\n{}");
	REFUSED(" " A_CLAIM " handoff:h:1\n{}"); /* empty id */
	snprintf(text, sizeof text, "99999999999999999999 %s handoff:h:1\n{}", A_CLAIM);
	refused(text, strlen(text), next++);
	/* A claimed_at, a run id of 40 characters. */
	REFUSED("12 2026-01-01T00:00:00.0000000000000000000Z r h\n{}");
	REFUSED("12 2026-01-01T00:00:00.000Z 0123456789012345678901234567890123456789 h\n{}");

	/* claimed_by: up to 127 characters, a space among them. */
	memset(by, 'b', 128);
	by[128] = '\0';
	snprintf(text, sizeof text, "12 %s %s\n{}", A_CLAIM, by);
	refused(text, strlen(text), next++);
	by[127] = '\0';
	snprintf(text, sizeof text, "12 %s %s\n{}", A_CLAIM, by);
	raw_send_text(text);
	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), 1);
	assert_string_equal(item.worker, by);
	sm_inbox_item_clear(&item);
	raw_send_text("13 " A_CLAIM " handoff:a host:1\n{}");
	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), 1);
	assert_int_equal(item.id, 13);
	assert_string_equal(item.worker, "handoff:a host:1");
	sm_inbox_item_clear(&item);

	/* The envelope: an object, whole, nothing after it. */
	REFUSED("12 " A_CLAIM " h\n[1]");
	REFUSED("12 " A_CLAIM " h\n{");
	REFUSED("12 " A_CLAIM " h\n");
	REFUSED("12 " A_CLAIM " h\n{} x");
	REFUSED("12 " A_CLAIM " h\n\"s\"");
	REFUSED("12 " A_CLAIM " h\n{\"a\":\xff}");
	REFUSED("12 " A_CLAIM " h\n{\"a\":1\0}");

	/* Larger than any handler sends: refused whole, not read in part. */
	big = malloc(SM_HANDOFF_MAX_ENVELOPE + 4096);
	assert_non_null(big);
	memset(big, ' ', SM_HANDOFF_MAX_ENVELOPE + 4096);
	memcpy(big, "12 " A_CLAIM " h\n{", 3 + 61 + 4);
	big[SM_HANDOFF_MAX_ENVELOPE + 4095] = '}';
	raw_send(sock, big, SM_HANDOFF_MAX_ENVELOPE + 4096);
	free(big);
	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), -1);
	assert_non_null(strstr(why, "more than any handler sends"));
	reads_good_after(next++);

	assert_int_equal(sm_handoff_recv(worker, &item, why, sizeof why), 0);
}

/* No hand-off state (out of memory, or a CGI process): nothing is handed,
 * and every call is safe. */
static void no_state_is_safe(void **state)
{
	char why[200];

	(void)state;
	worker = sm_handoff_bind(store, why, sizeof why);
	assert_true(worker >= 0);
	sm_handoff_free(NULL);
	assert_false(sm_handoff_begin(NULL, store));
	assert_int_equal(sm_handoff_count(NULL), 0);
	sm_handoff_forget(NULL, 0);
	assert_int_equal(sm_handoff_send(NULL, store), 0);
	/* A state freed with items put and not sent. */
	handler = sm_handoff_new();
	assert_non_null(handler);
	assert_true(sm_handoff_begin(handler, store));
	put_one(ENVELOPE);
	assert_int_equal(sm_handoff_count(handler), 1);
	sm_handoff_free(handler);
	handler = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(a_handed_item_reaches_the_worker_under_its_claim, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(a_batch_is_handed_item_by_item, setup, teardown),
	    cmocka_unit_test_setup_teardown(no_hand_over_while_the_last_is_unread, setup, teardown),
	    cmocka_unit_test_setup_teardown(no_hand_over_to_a_busy_worker, setup, teardown),
	    cmocka_unit_test_setup_teardown(the_largest_envelope_handed_over, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_rolled_back_savepoint_is_not_handed, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_rolled_back_transaction_is_not_handed, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(a_failed_send_gives_the_items_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_give_back_refused_is_said, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_full_worker_takes_part_of_a_batch, setup, teardown),
	    cmocka_unit_test_setup_teardown(no_worker_and_taking_the_path_over, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_file_at_the_path_is_left_alone, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_path_too_long_for_a_socket, setup, teardown),
	    cmocka_unit_test_setup_teardown(unbind_removes_only_its_own_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(bad_datagrams_are_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(no_state_is_safe, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
