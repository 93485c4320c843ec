/* test_fcgi.c - the FastCGI protocol: records, name-value pairs, the
 * connection state machine on whole, split, truncated and hostile input,
 * and the listening-socket helpers. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "testutil.h"
#include "sm/fcgi.h"

static const sm_fcgi_limits limits = {.max_params = 4096, .max_body = 64};

/* A record into buf at *len. */
static void put(unsigned char *buf, size_t *len, unsigned type, unsigned id, const void *content,
                size_t clen, unsigned padding)
{
	sm_fcgi_header_encode(buf + *len, type, id, (unsigned)clen, padding);
	*len += SM_FCGI_HEADER_LEN;
	if (clen)
		memcpy(buf + *len, content, clen);
	*len += clen;
	memset(buf + *len, 0xee, padding);
	*len += padding;
}

static void put_begin(unsigned char *buf, size_t *len, unsigned id, unsigned role, bool keep)
{
	unsigned char body[8] = {(unsigned char)(role >> 8), (unsigned char)role, keep ? 1 : 0};

	put(buf, len, SM_FCGI_BEGIN_REQUEST, id, body, 8, 0);
}

/* A request: BEGIN, PARAMS (two pairs, one with a 4-byte value length),
 * the empty PARAMS, STDIN with body, the empty STDIN. */
static size_t request(unsigned char *buf, unsigned id, bool keep, const char *body)
{
	unsigned char list[1024];
	char big[200];
	size_t len = 0, n;

	memset(big, 'v', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	put_begin(buf, &len, id, SM_FCGI_RESPONDER, keep);
	n = sm_fcgi_pair_encode(list, sizeof list, "REQUEST_METHOD", 14, "POST", 4);
	n += sm_fcgi_pair_encode(list + n, sizeof list - n, "HTTP_X_BIG", 10, big, strlen(big));
	put(buf, &len, SM_FCGI_PARAMS, id, list, n, 3);
	put(buf, &len, SM_FCGI_PARAMS, id, NULL, 0, 0);
	if (*body)
		put(buf, &len, SM_FCGI_STDIN, id, body, strlen(body), 0);
	put(buf, &len, SM_FCGI_STDIN, id, NULL, 0, 0);
	return len;
}

/* The records in the connection's output, as "type:id:length" words. */
static void output_summary(sm_fcgi_conn *c, char *out, size_t size)
{
	size_t len, pos = 0, used = 0;
	const unsigned char *p = sm_fcgi_conn_output(c, &len);

	out[0] = '\0';
	while (pos + SM_FCGI_HEADER_LEN <= len) {
		sm_fcgi_header h;
		sm_fcgi_header_decode(p + pos, &h);
		assert_int_equal(h.version, 1);
		used += (size_t)snprintf(out + used, size - used, "%s%u:%u:%u", used ? " " : "",
		                         h.type, h.request_id, h.content_length);
		pos += SM_FCGI_HEADER_LEN + h.content_length + h.padding_length;
	}
	assert_int_equal(pos, len);
	sm_fcgi_conn_sent(c, len);
}

static void header_round_trip(void **state)
{
	unsigned char buf[8];
	sm_fcgi_header h;

	(void)state;
	sm_fcgi_header_encode(buf, SM_FCGI_STDOUT, 0x1234, 65535, 7);
	assert_memory_equal(buf, "\x01\x06\x12\x34\xff\xff\x07\x00", 8);
	sm_fcgi_header_decode(buf, &h);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.type, SM_FCGI_STDOUT);
	assert_int_equal(h.request_id, 0x1234);
	assert_int_equal(h.content_length, 65535);
	assert_int_equal(h.padding_length, 7);
}

static void pairs(void **state)
{
	unsigned char buf[512];
	const unsigned char *name, *value;
	size_t pos = 0, nl, vl, n;
	char long_value[300];

	(void)state;
	memset(long_value, 'x', sizeof long_value);
	/* One-byte lengths, then a 4-byte value length (300 ≥ 128). */
	n = sm_fcgi_pair_encode(buf, sizeof buf, "A", 1, "bc", 2);
	assert_int_equal(n, 5);
	assert_memory_equal(buf,
	                    "\x01\x02"
	                    "Abc",
	                    5);
	n += sm_fcgi_pair_encode(buf + n, sizeof buf - n, "LONG", 4, long_value, 300);
	assert_int_equal(n, 5 + 1 + 4 + 4 + 300);
	assert_memory_equal(buf + 5, "\x04\x80\x00\x01\x2c", 5);
	assert_int_equal(sm_fcgi_pair_next(buf, n, &pos, &name, &nl, &value, &vl), 1);
	assert_int_equal(nl, 1);
	assert_memory_equal(name, "A", 1);
	assert_int_equal(vl, 2);
	assert_int_equal(sm_fcgi_pair_next(buf, n, &pos, &name, &nl, &value, &vl), 1);
	assert_int_equal(nl, 4);
	assert_int_equal(vl, 300);
	assert_int_equal(value[299], 'x');
	assert_int_equal(sm_fcgi_pair_next(buf, n, &pos, &name, &nl, &value, &vl), 0);
	assert_int_equal(pos, n);
	/* Too small a buffer: the size needed, nothing written past it. */
	assert_int_equal(sm_fcgi_pair_encode(buf, 3, "A", 1, "bc", 2), 5);
	assert_int_equal(sm_fcgi_pair_encode(buf, sizeof buf, "A", 1, "b", 0x80000000u), 0);
}

static void pairs_hostile(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
	} bad[] = {
	    {"\x05", 1},         /* no value length */
	    {"\x80\x00\x00", 3}, /* a 4-byte length cut short */
	    {"\x01\x80\x00", 3}, /* the value's 4-byte length cut short */
	    {"\x03\x01"
	     "ab",
	     4}, /* the name runs past the end */
	    {"\x01\x05"
	     "abc",
	     5}, /* the value runs past the end */
	    {"\xff\xff\xff\xff\x01"
	     "a",
	     6}, /* a 2 GiB name */
	    {"\x01\xff\xff\xff\xff"
	     "ab",
	     7}, /* a 2 GiB value */
	    {"\x7f\x7f"
	     "x",
	     3}, /* 127 + 127 from 1 byte */
	};
	const unsigned char *name, *value;
	size_t nl, vl;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t pos = 0;
		assert_int_equal(sm_fcgi_pair_next((const unsigned char *)bad[i].bytes, bad[i].len,
		                                   &pos, &name, &nl, &value, &vl),
		                 -1);
		assert_int_equal(pos, 0);
	}
}

static void whole_request(void **state)
{
	unsigned char in[4096];
	static char big[70000];
	char summary[256];
	size_t len = request(in, 1, true, "{\"a\":1}"), used, blen, total;
	sm_fcgi_conn *c = sm_fcgi_conn_new(&limits);
	const char *body;

	(void)state;
	assert_int_equal(sm_fcgi_conn_feed(c, in, len, &used), SM_FCGI_READY);
	assert_int_equal(used, len);
	assert_string_equal(sm_fcgi_param(c, "REQUEST_METHOD"), "POST");
	assert_int_equal(strlen(sm_fcgi_param(c, "HTTP_X_BIG")), 199);
	assert_null(sm_fcgi_param(c, "PATH_INFO"));
	body = sm_fcgi_body(c, &blen, &total);
	assert_int_equal(blen, 7);
	assert_int_equal(total, 7);
	assert_memory_equal(body, "{\"a\":1}", 7);
	/* More than one record's worth of answer is split. */
	memset(big, 'o', sizeof big);
	assert_int_equal(sm_fcgi_write(c, "Status: 202\r\n\r\n", 15), 0);
	assert_int_equal(sm_fcgi_write(c, big, sizeof big), 0);
	assert_int_equal(sm_fcgi_end(c, 0), 1); /* FCGI_KEEP_CONN was set */
	output_summary(c, summary, sizeof summary);
	assert_string_equal(summary, "6:1:15 6:1:65535 6:1:4465 6:1:0 3:1:8");
	/* The connection is ready for the next request; no keep-conn this time. */
	len = request(in, 2, false, "");
	assert_int_equal(sm_fcgi_conn_feed(c, in, len, &used), SM_FCGI_READY);
	body = sm_fcgi_body(c, &blen, &total);
	assert_int_equal(blen, 0);
	assert_string_equal(body, ""); /* not the last request's bytes (found by fuzz_fcgi) */
	assert_int_equal(sm_fcgi_end(c, 0), 0);
	sm_fcgi_conn_free(c);
}

/* Fed one byte at a time, the same request comes out the same. */
static void byte_by_byte(void **state)
{
	unsigned char in[4096];
	size_t len = request(in, 300, false, "hello"), used, blen;
	sm_fcgi_conn *c = sm_fcgi_conn_new(&limits);
	int rc = SM_FCGI_MORE;

	(void)state;
	for (size_t i = 0; i < len; i++) {
		assert_int_equal(rc, SM_FCGI_MORE);
		rc = sm_fcgi_conn_feed(c, in + i, 1, &used);
		assert_int_equal(used, 1);
	}
	assert_int_equal(rc, SM_FCGI_READY);
	assert_memory_equal(sm_fcgi_body(c, &blen, NULL), "hello", 5);
	sm_fcgi_conn_free(c);
}

static void management(void **state)
{
	unsigned char in[512], q[256], expect[64];
	char summary[128];
	size_t len = 0, n = 0, used, olen, e = 0;
	sm_fcgi_conn *c = sm_fcgi_conn_new(&limits);
	const unsigned char *out;

	(void)state;
	n += sm_fcgi_pair_encode(q + n, sizeof q - n, "FCGI_MPXS_CONNS", 15, "", 0);
	n += sm_fcgi_pair_encode(q + n, sizeof q - n, "FCGI_MAX_REQS", 13, "", 0);
	n += sm_fcgi_pair_encode(q + n, sizeof q - n, "FCGI_MAX_REQS", 13, "", 0); /* once */
	n += sm_fcgi_pair_encode(q + n, sizeof q - n, "NOT_KNOWN", 9, "", 0);
	put(in, &len, SM_FCGI_GET_VALUES, 0, q, n, 0);
	assert_int_equal(sm_fcgi_conn_feed(c, in, len, &used), SM_FCGI_MORE);
	out = sm_fcgi_conn_output(c, &olen);
	e += sm_fcgi_pair_encode(expect + e, sizeof expect - e, "FCGI_MPXS_CONNS", 15, "0", 1);
	e += sm_fcgi_pair_encode(expect + e, sizeof expect - e, "FCGI_MAX_REQS", 13, "32", 2);
	assert_int_equal(olen, SM_FCGI_HEADER_LEN + e);
	assert_int_equal(out[1], SM_FCGI_GET_VALUES_RESULT);
	assert_memory_equal(out + SM_FCGI_HEADER_LEN, expect, e);
	sm_fcgi_conn_sent(c, olen);
	/* An unknown management type, and a BEGIN_REQUEST with id 0. */
	len = 0;
	put(in, &len, 77, 0, "xyz", 3, 5);
	put_begin(in, &len, 0, SM_FCGI_RESPONDER, false);
	assert_int_equal(sm_fcgi_conn_feed(c, in, len, &used), SM_FCGI_MORE);
	out = sm_fcgi_conn_output(c, &olen);
	assert_int_equal(out[SM_FCGI_HEADER_LEN], 77);
	output_summary(c, summary, sizeof summary);
	assert_string_equal(summary, "11:0:8 11:0:8");
	sm_fcgi_conn_free(c);
}

static void one_request_at_a_time(void **state)
{
	unsigned char in[4096];
	char summary[128];
	size_t len = 0, used, olen;
	sm_fcgi_conn *c = sm_fcgi_conn_new(&limits);
	const unsigned char *out;

	(void)state;
	put_begin(in, &len, 1, SM_FCGI_RESPONDER, true);
	put_begin(in, &len, 2, SM_FCGI_RESPONDER, true);  /* multiplexing: refused */
	put_begin(in, &len, 3, 2, true);                  /* a second request again */
	put(in, &len, SM_FCGI_STDIN, 2, "ignored", 7, 0); /* not the open request */
	put(in, &len, SM_FCGI_DATA, 1, "filter", 6, 0);   /* filter data: ignored */
	put(in, &len, SM_FCGI_STDOUT, 1, "odd", 3, 0);    /* not for us: ignored */
	assert_int_equal(sm_fcgi_conn_feed(c, in, len, &used), SM_FCGI_MORE);
	out = sm_fcgi_conn_output(c, &olen);
	assert_int_equal(out[SM_FCGI_HEADER_LEN + 4], SM_FCGI_CANT_MPX_CONN);
	output_summary(c, summary, sizeof summary);
	assert_string_equal(summary, "3:2:8 3:3:8");
	/* The same id twice is a protocol error. */
	len = 0;
	put_begin(in, &len, 1, SM_FCGI_RESPONDER, true);
	assert_int_equal(sm_fcgi_conn_feed(c, in, len, &used), SM_FCGI_ERROR);
	assert_string_equal(sm_fcgi_conn_error(c), "FCGI_BEGIN_REQUEST for a request already open");
	sm_fcgi_conn_free(c);
	/* Another role with no request open: FCGI_UNKNOWN_ROLE, then close. */
	c = sm_fcgi_conn_new(&limits);
	len = 0;
	put_begin(in, &len, 4, 3, false);
	assert_int_equal(sm_fcgi_conn_feed(c, in, len, &used), SM_FCGI_CLOSE);
	out = sm_fcgi_conn_output(c, &olen);
	assert_int_equal(olen, 16);
	assert_int_equal(out[SM_FCGI_HEADER_LEN + 4], SM_FCGI_UNKNOWN_ROLE);
	sm_fcgi_conn_free(c);
}

static void abort_request(void **state)
{
	unsigned char in[256];
	char summary[64];
	size_t len = 0, used;
	sm_fcgi_conn *c = sm_fcgi_conn_new(&limits);

	(void)state;
	put_begin(in, &len, 5, SM_FCGI_RESPONDER, true);
	put(in, &len, SM_FCGI_ABORT_REQUEST, 5, NULL, 0, 0);
	assert_int_equal(sm_fcgi_conn_feed(c, in, len, &used), SM_FCGI_MORE);
	output_summary(c, summary, sizeof summary);
	assert_string_equal(summary, "3:5:8");
	/* Without keep-conn the connection closes after the END_REQUEST. */
	len = 0;
	put_begin(in, &len, 6, SM_FCGI_RESPONDER, false);
	put(in, &len, SM_FCGI_ABORT_REQUEST, 6, NULL, 0, 0);
	put_begin(in, &len, 7, SM_FCGI_RESPONDER, false);
	assert_int_equal(sm_fcgi_conn_feed(c, in, len, &used), SM_FCGI_CLOSE);
	assert_true(used < len); /* nothing after it is read */
	output_summary(c, summary, sizeof summary);
	assert_string_equal(summary, "3:6:8");
	sm_fcgi_conn_free(c);
}

static void body_limit(void **state)
{
	unsigned char in[4096];
	char body[1001];
	size_t len, used, blen, total;
	sm_fcgi_conn *c = sm_fcgi_conn_new(&limits);
	const char *kept;

	(void)state;
	memset(body, 'b', 1000);
	body[1000] = '\0';
	len = request(in, 1, false, body);
	assert_int_equal(sm_fcgi_conn_feed(c, in, len, &used), SM_FCGI_READY);
	kept = sm_fcgi_body(c, &blen, &total);
	assert_int_equal(blen, limits.max_body); /* kept up to the limit */
	assert_int_equal(total, 1000);           /* counted in full */
	assert_int_equal(kept[blen - 1], 'b');
	sm_fcgi_conn_free(c);
}

static void hostile(void **state)
{
	static const struct {
		const char *what, *error;
		unsigned char bytes[24];
		size_t len;
	} cases[] = {
	    {"version 2", "not a FastCGI version 1 record", {2, 1, 0, 1, 0, 8, 0, 0}, 8},
	    {"HTTP", "not a FastCGI version 1 record", "GET / HTTP/1.0\r\n\r\n", 18},
	    {"short BEGIN",
	     "FCGI_BEGIN_REQUEST body is not 8 bytes",
	     {1, 1, 0, 1, 0, 2, 0, 0, 0, 1},
	     10},
	    {"long BEGIN",
	     "FCGI_BEGIN_REQUEST body is not 8 bytes",
	     {1, 1, 0, 1, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0},
	     17},
	};
	unsigned char in[64];
	size_t used, len;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sm_fcgi_conn *c = sm_fcgi_conn_new(&limits);
		int rc;
		memcpy(in, cases[i].bytes, cases[i].len);
		rc = sm_fcgi_conn_feed(c, in, cases[i].len, &used);
		if (rc != SM_FCGI_ERROR)
			fail_msg("%s: not refused", cases[i].what);
		assert_string_equal(sm_fcgi_conn_error(c), cases[i].error);
		sm_fcgi_conn_free(c);
	}
	/* A PARAMS pair claiming a 127-byte name in a 4-byte stream. */
	sm_fcgi_conn *c = sm_fcgi_conn_new(&limits);
	len = 0;
	put_begin(in, &len, 1, SM_FCGI_RESPONDER, false);
	put(in, &len, SM_FCGI_PARAMS, 1,
	    "\x7f\x00"
	    "ab",
	    4, 0);
	put(in, &len, SM_FCGI_PARAMS, 1, NULL, 0, 0);
	assert_int_equal(sm_fcgi_conn_feed(c, in, len, &used), SM_FCGI_ERROR);
	assert_string_equal(sm_fcgi_conn_error(c), "malformed name-value pair in FCGI_PARAMS");
	sm_fcgi_conn_free(c);
}

static void truncated_and_oversized(void **state)
{
	unsigned char in[4096], chunk[4096];
	size_t len = request(in, 1, false, "abc"), used;
	sm_fcgi_limits small = {.max_params = 100, .max_body = 10};
	sm_fcgi_conn *c;

	(void)state;
	/* Every truncation of a request leaves it waiting, never ready. */
	for (size_t cut = 0; cut < len; cut++) {
		c = sm_fcgi_conn_new(&limits);
		assert_int_equal(sm_fcgi_conn_feed(c, in, cut, &used), SM_FCGI_MORE);
		assert_int_equal(used, cut);
		sm_fcgi_conn_free(c);
	}
	/* PARAMS over the limit, spread over records. */
	c = sm_fcgi_conn_new(&small);
	len = 0;
	put_begin(in, &len, 1, SM_FCGI_RESPONDER, false);
	memset(chunk, 'p', 60);
	put(in, &len, SM_FCGI_PARAMS, 1, chunk, 60, 0);
	assert_int_equal(sm_fcgi_conn_feed(c, in, len, &used), SM_FCGI_MORE);
	len = 0;
	put(in, &len, SM_FCGI_PARAMS, 1, chunk, 60, 0);
	assert_int_equal(sm_fcgi_conn_feed(c, in, len, &used), SM_FCGI_ERROR);
	assert_string_equal(sm_fcgi_conn_error(c), "FCGI_PARAMS larger than the limit");
	sm_fcgi_conn_free(c);
	/* A stream record after the end of its stream. */
	c = sm_fcgi_conn_new(&limits);
	len = 0;
	put_begin(in, &len, 1, SM_FCGI_RESPONDER, false);
	put(in, &len, SM_FCGI_STDIN, 1, NULL, 0, 0);
	put(in, &len, SM_FCGI_STDIN, 1, "late", 4, 0);
	assert_int_equal(sm_fcgi_conn_feed(c, in, len, &used), SM_FCGI_ERROR);
	assert_string_equal(sm_fcgi_conn_error(c), "FCGI_STDIN after the end of the stream");
	sm_fcgi_conn_free(c);
}

static void listeners(void **state)
{
	char dir[] = "/tmp/sm-fcgi-test.XXXXXX", path[64], file[64];
	int fds[2], fd, client;
	sm_error err;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/sock", dir);
	snprintf(file, sizeof file, "%s/file", dir);
	fd = sm_fcgi_listen(path, &err);
	assert_true(fd >= 0);
	assert_true(sm_fcgi_is_listener(fd));
	/* A connected socket, a pipe and a closed descriptor are not listeners. */
	client = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	assert_int_equal(connect(client, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_false(sm_fcgi_is_listener(client));
	assert_int_equal(pipe(fds), 0);
	assert_false(sm_fcgi_is_listener(fds[0]));
	close(fds[0]);
	close(fds[1]);
	assert_false(sm_fcgi_is_listener(fds[0]));
	close(client);
	close(fd);
	/* A stale socket is replaced; a regular file is not touched. */
	fd = sm_fcgi_listen(path, &err);
	assert_true(fd >= 0);
	close(fd);
	close(open(file, O_CREAT | O_WRONLY, 0600));
	assert_int_equal(sm_fcgi_listen(file, &err), -1);
	assert_non_null(strstr(err.msg, "exists and is not a socket"));
	assert_int_equal(access(file, F_OK), 0);
	assert_int_equal(sm_fcgi_listen("127.0.0.1", &err), -1);
	assert_non_null(strstr(err.msg, "expected a socket path or HOST:PORT"));
	assert_int_equal(sm_fcgi_listen("", &err), -1);
	fd = sm_fcgi_listen("127.0.0.1:0", &err);
	assert_true(fd >= 0);
	assert_true(sm_fcgi_is_listener(fd));
	close(fd);
	unlink(path);
	unlink(file);
	rmdir(dir);
}

/* --- serving with the program's own work beside (sm_fcgi_serve_with) --- */

struct hooked {
	int wake[2]; /* a byte on it: idle stops the serving */
	volatile sig_atomic_t stop;
	atomic_int idles, afters, syncs;
	atomic_bool synced; /* before_send has returned */
	bool refuse;        /* before_send says false */
	char path[64];
	/* what the client saw */
	bool first_bytes_after_sync;
	size_t got;
	unsigned char answer[4096];
};

static void hooked_handler(void *ctx, sm_fcgi_conn **reqs, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		sm_fcgi_write(reqs[i], "Status: 200\r\n\r\nok", 17);
}

static long long hooked_idle(void *ctx)
{
	struct hooked *h = ctx;
	char b;

	atomic_fetch_add(&h->idles, 1);
	if (read(h->wake[0], &b, 1) == 1)
		h->stop = 1;
	return -1;
}

static bool hooked_sync(void *ctx)
{
	struct hooked *h = ctx;

	usleep(20000); /* a window for answers sent too early to be seen */
	atomic_fetch_add(&h->syncs, 1);
	atomic_store(&h->synced, true);
	return !h->refuse;
}

static void hooked_after(void *ctx)
{
	struct hooked *h = ctx;

	atomic_fetch_add(&h->afters, 1);
}

/* The web server's side: one request, everything read to the end, then
 * the byte that stops the serving. */
static void *hooked_client(void *arg)
{
	struct hooked *h = arg;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	unsigned char buf[2048];
	size_t len = request(buf, 1, false, "x");
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", h->path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    write(fd, buf, len) == (ssize_t)len)
		for (ssize_t n;
		     (n = read(fd, h->answer + h->got, sizeof h->answer - h->got)) > 0;) {
			if (h->got == 0)
				h->first_bytes_after_sync = atomic_load(&h->synced);
			h->got += (size_t)n;
		}
	close(fd);
	if (write(h->wake[1], "x", 1) != 1)
		h->stop = 1;
	return NULL;
}

static void serve_hooked(struct hooked *h)
{
	char dir[] = "/tmp/sm-fcgi-test.XXXXXX";
	sm_fcgi_hooks hooks = {.nfds = 1,
	                       .idle = hooked_idle,
	                       .before_send = hooked_sync,
	                       .after = hooked_after,
	                       .ctx = h};
	sm_error err = {0};
	pthread_t client;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(h->path, sizeof h->path, "%s/sock", dir);
	assert_int_equal(pipe2(h->wake, O_NONBLOCK), 0);
	hooks.fds[0] = h->wake[0];
	fd = sm_fcgi_listen(h->path, &err);
	assert_true(fd >= 0);
	assert_int_equal(pthread_create(&client, NULL, hooked_client, h), 0);
	assert_int_equal(
	    sm_fcgi_serve_with(fd, &limits, hooked_handler, NULL, &hooks, &h->stop, &err), 0);
	pthread_join(client, NULL);
	close(fd);
	close(h->wake[0]);
	close(h->wake[1]);
	unlink(h->path);
	rmdir(dir);
}

/* The answers leave only once before_send returned, after runs once a
 * group, idle before every wait, and a hook's descriptor ends the wait. */
static void serve_with_hooks(void **state)
{
	struct hooked h = {0};
	sm_fcgi_header rec;

	(void)state;
	serve_hooked(&h);
	assert_true(h.got > SM_FCGI_HEADER_LEN);
	assert_true(h.first_bytes_after_sync);
	assert_int_equal(atomic_load(&h.syncs), 1);
	assert_int_equal(atomic_load(&h.afters), 1);
	assert_true(atomic_load(&h.idles) >= 2); /* before the request, after the byte */
	sm_fcgi_header_decode(h.answer, &rec);
	assert_int_equal(rec.type, SM_FCGI_STDOUT);
	assert_int_equal(rec.content_length, 17);
	assert_memory_equal(h.answer + SM_FCGI_HEADER_LEN, "Status: 200\r\n\r\nok", 17);
}

/* before_send saying false: the connection is closed unanswered. */
static void serve_with_hooks_refused(void **state)
{
	struct hooked h = {.refuse = true};

	(void)state;
	serve_hooked(&h);
	assert_int_equal(h.got, 0);
	assert_int_equal(atomic_load(&h.syncs), 1);
	assert_int_equal(atomic_load(&h.afters), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(header_round_trip),
	    cmocka_unit_test(pairs),
	    cmocka_unit_test(pairs_hostile),
	    cmocka_unit_test(whole_request),
	    cmocka_unit_test(byte_by_byte),
	    cmocka_unit_test(management),
	    cmocka_unit_test(one_request_at_a_time),
	    cmocka_unit_test(abort_request),
	    cmocka_unit_test(body_limit),
	    cmocka_unit_test(hostile),
	    cmocka_unit_test(truncated_and_oversized),
	    cmocka_unit_test(listeners),
	    cmocka_unit_test(serve_with_hooks),
	    cmocka_unit_test(serve_with_hooks_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
