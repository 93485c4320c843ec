/* fcgi.c - the FastCGI protocol, responder role (see fcgi.h).
 *
 * Records are collected whole (at most 65535 content bytes and 255 of
 * padding, both bounded by the header's own fields), then acted on. PARAMS
 * content is gathered until its empty record and only then cut into
 * name-value pairs, since a pair may straddle records. STDIN is kept up to
 * the body limit; the rest is counted so the handler can answer 413.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sm/fcgi.h"
#include "sm/log.h"

/* How long a connection may take to send a whole request, counted from
 * its accept or from the end of its previous request (so a kept
 * connection idle that long is closed too), when the limits do not say
 * (milliseconds). A deadline, not a time since the last byte: a client
 * that trickles a byte now and then still holds its slot no longer. */
#define READ_TIMEOUT_MS 30000
/* Bytes read from a connection at a time. */
#define SLOT_BUFFER 65536
/* A number macro as a string literal. */
#define TEXT(x)   #x
#define NUMBER(x) TEXT(x)

struct pair {
	char *name, *value;
};

struct sm_fcgi_conn {
	sm_fcgi_limits limits;
	/* The record being read. */
	unsigned char head[SM_FCGI_HEADER_LEN];
	size_t head_len;
	sm_fcgi_header h;
	size_t content_len, padding_left;
	/* The request. */
	bool active, ready, keep, params_done, stdin_done, close_after;
	unsigned id;
	unsigned char *params;
	size_t params_len, params_cap;
	struct pair *pairs;
	size_t npairs;
	unsigned char *body;
	size_t body_len, body_cap, body_total;
	/* What goes back to the web server. */
	unsigned char *out;
	size_t out_len, out_cap, out_off;
	char error[160];
	/* Last: a new connection zeroes only what comes before it (only its
	 * first content_len bytes are ever read). */
	unsigned char content[SM_FCGI_MAX_CONTENT];
};

void sm_fcgi_header_decode(const unsigned char *buf, sm_fcgi_header *h)
{
	h->version = buf[0];
	h->type = buf[1];
	h->request_id = (unsigned)buf[2] << 8 | buf[3];
	h->content_length = (unsigned)buf[4] << 8 | buf[5];
	h->padding_length = buf[6];
}

void sm_fcgi_header_encode(unsigned char *out, unsigned type, unsigned request_id,
                           unsigned content_length, unsigned padding_length)
{
	out[0] = 1;
	out[1] = (unsigned char)type;
	out[2] = (unsigned char)(request_id >> 8);
	out[3] = (unsigned char)request_id;
	out[4] = (unsigned char)(content_length >> 8);
	out[5] = (unsigned char)content_length;
	out[6] = (unsigned char)padding_length;
	out[7] = 0;
}

/* A pair's length: one byte below 128, else four with the top bit set. */
static int length_next(const unsigned char *buf, size_t len, size_t *pos, size_t *out)
{
	if (*pos >= len)
		return -1;
	if (buf[*pos] < 0x80) {
		*out = buf[(*pos)++];
		return 0;
	}
	if (len - *pos < 4)
		return -1;
	*out = ((size_t)(buf[*pos] & 0x7f) << 24) | ((size_t)buf[*pos + 1] << 16) |
	       ((size_t)buf[*pos + 2] << 8) | buf[*pos + 3];
	*pos += 4;
	return 0;
}

int sm_fcgi_pair_next(const unsigned char *buf, size_t len, size_t *pos, const unsigned char **name,
                      size_t *name_len, const unsigned char **value, size_t *value_len)
{
	size_t p = *pos, nl, vl;

	if (p >= len)
		return 0;
	if (length_next(buf, len, &p, &nl) < 0 || length_next(buf, len, &p, &vl) < 0)
		return -1;
	/* Compare against what is left, never add: the lengths come from the wire. */
	if (nl > len - p || vl > len - p - nl)
		return -1;
	*name = buf + p;
	*name_len = nl;
	*value = buf + p + nl;
	*value_len = vl;
	*pos = p + nl + vl;
	return 1;
}

static size_t length_encode(unsigned char *out, size_t room, size_t n)
{
	if (n < 0x80) {
		if (room >= 1)
			out[0] = (unsigned char)n;
		return 1;
	}
	if (room >= 4) {
		out[0] = (unsigned char)(0x80 | (n >> 24));
		out[1] = (unsigned char)(n >> 16);
		out[2] = (unsigned char)(n >> 8);
		out[3] = (unsigned char)n;
	}
	return 4;
}

size_t sm_fcgi_pair_encode(unsigned char *out, size_t size, const char *name, size_t name_len,
                           const char *value, size_t value_len)
{
	size_t need, at;

	if (name_len > 0x7fffffff || value_len > 0x7fffffff)
		return 0;
	need = (name_len < 0x80 ? 1 : 4) + (value_len < 0x80 ? 1 : 4) + name_len + value_len;
	if (need > size)
		return need;
	at = length_encode(out, size, name_len);
	at += length_encode(out + at, size - at, value_len);
	memcpy(out + at, name, name_len);
	memcpy(out + at + name_len, value, value_len);
	return need;
}

/* --- the connection ------------------------------------------------------ */

sm_fcgi_conn *sm_fcgi_conn_new(const sm_fcgi_limits *limits)
{
	/* lighttpd connects once per request: zeroing the 64 KiB record
	 * buffer each time was a seventh of the responder's instructions. */
	sm_fcgi_conn *c = malloc(sizeof *c);

	if (!c)
		return NULL;
	memset(c, 0, offsetof(sm_fcgi_conn, content));
	c->limits = *limits;
	return c;
}

static void clear_pairs(sm_fcgi_conn *c)
{
	for (size_t i = 0; i < c->npairs; i++)
		free(c->pairs[i].name); /* the value shares the allocation */
	free(c->pairs);
	c->pairs = NULL;
	c->npairs = 0;
}

/* Forget the request; a large body buffer is not kept for the next one. */
static void reset_request(sm_fcgi_conn *c)
{
	clear_pairs(c);
	c->active = c->ready = c->keep = c->params_done = c->stdin_done = false;
	c->id = 0;
	c->params_len = c->body_len = c->body_total = 0;
	if (c->body_cap > 65536) {
		free(c->body);
		c->body = NULL;
		c->body_cap = 0;
	} else if (c->body) {
		c->body[0] = '\0'; /* the next request's body may be empty */
	}
}

void sm_fcgi_conn_free(sm_fcgi_conn *c)
{
	if (!c)
		return;
	clear_pairs(c);
	free(c->params);
	free(c->body);
	free(c->out);
	free(c);
}

const char *sm_fcgi_conn_error(const sm_fcgi_conn *c)
{
	return c->error;
}

static int fail(sm_fcgi_conn *c, const char *what)
{
	snprintf(c->error, sizeof c->error, "%s", what);
	return -1;
}

/* Room for n more bytes in *buf (size *cap, *len used), growing by doubling. */
static int reserve(unsigned char **p, size_t *cap, size_t len, size_t n)
{
	size_t ncap = *cap ? *cap : 1024;
	unsigned char *grown;

	if (n <= *cap - len)
		return 0;
	while (ncap - len < n) {
		if (ncap > SIZE_MAX / 2)
			return -1;
		ncap *= 2;
	}
	grown = realloc(*p, ncap);
	if (!grown)
		return -1;
	*p = grown;
	*cap = ncap;
	return 0;
}

static int emit(sm_fcgi_conn *c, unsigned type, unsigned id, const void *data, size_t len)
{
	if (reserve(&c->out, &c->out_cap, c->out_len, SM_FCGI_HEADER_LEN + len) < 0)
		return -1;
	sm_fcgi_header_encode(c->out + c->out_len, type, id, (unsigned)len, 0);
	if (len)
		memcpy(c->out + c->out_len + SM_FCGI_HEADER_LEN, data, len);
	c->out_len += SM_FCGI_HEADER_LEN + len;
	return 0;
}

static int emit_end(sm_fcgi_conn *c, unsigned id, unsigned app_status, unsigned protocol_status)
{
	unsigned char body[8] = {(unsigned char)(app_status >> 24),
	                         (unsigned char)(app_status >> 16),
	                         (unsigned char)(app_status >> 8), (unsigned char)app_status,
	                         (unsigned char)protocol_status};

	return emit(c, SM_FCGI_END_REQUEST, id, body, sizeof body);
}

/* FCGI_GET_VALUES: answer the variables we know, each once. */
static int get_values(sm_fcgi_conn *c)
{
	static const char *const known[][2] = {
	    {"FCGI_MAX_CONNS", NUMBER(SM_FCGI_MAX_CONNS)},
	    {"FCGI_MAX_REQS", NUMBER(SM_FCGI_MAX_CONNS)}, /* one per connection */
	    {"FCGI_MPXS_CONNS", "0"},
	};
	unsigned char result[128];
	const unsigned char *name, *value;
	size_t pos = 0, used = 0, nl, vl;
	bool answered[3] = {false, false, false};
	int rc;

	while ((rc = sm_fcgi_pair_next(c->content, c->content_len, &pos, &name, &nl, &value,
	                               &vl)) == 1) {
		for (size_t i = 0; i < 3; i++) {
			if (answered[i] || nl != strlen(known[i][0]) ||
			    memcmp(name, known[i][0], nl) != 0)
				continue;
			answered[i] = true;
			used +=
			    sm_fcgi_pair_encode(result + used, sizeof result - used, known[i][0],
			                        nl, known[i][1], strlen(known[i][1]));
		}
	}
	if (rc < 0)
		return fail(c, "malformed name-value pair in FCGI_GET_VALUES");
	return emit(c, SM_FCGI_GET_VALUES_RESULT, 0, result, used) < 0 ? fail(c, "out of memory")
	                                                               : 0;
}

/* Cut the gathered PARAMS into NUL-terminated pairs. */
static int decode_params(sm_fcgi_conn *c)
{
	const unsigned char *name, *value;
	size_t pos = 0, nl, vl, count = 0;
	int rc;

	while ((rc = sm_fcgi_pair_next(c->params, c->params_len, &pos, &name, &nl, &value, &vl)) ==
	       1)
		count++;
	if (rc < 0)
		return fail(c, "malformed name-value pair in FCGI_PARAMS");
	c->pairs = calloc(count ? count : 1, sizeof *c->pairs);
	if (!c->pairs)
		return fail(c, "out of memory");
	pos = 0;
	while (sm_fcgi_pair_next(c->params, c->params_len, &pos, &name, &nl, &value, &vl) == 1) {
		char *text = malloc(nl + vl + 2);
		if (!text)
			return fail(c, "out of memory");
		memcpy(text, name, nl);
		text[nl] = '\0';
		memcpy(text + nl + 1, value, vl);
		text[nl + 1 + vl] = '\0';
		c->pairs[c->npairs].name = text;
		c->pairs[c->npairs++].value = text + nl + 1;
	}
	return 0;
}

static int begin_request(sm_fcgi_conn *c)
{
	unsigned role, id = c->h.request_id;

	if (c->content_len != 8)
		return fail(c, "FCGI_BEGIN_REQUEST body is not 8 bytes");
	role = (unsigned)c->content[0] << 8 | c->content[1];
	if (c->active) {
		if (id == c->id)
			return fail(c, "FCGI_BEGIN_REQUEST for a request already open");
		/* One request at a time on a connection. */
		return emit_end(c, id, 0, SM_FCGI_CANT_MPX_CONN) < 0 ? fail(c, "out of memory") : 0;
	}
	if (role != SM_FCGI_RESPONDER) {
		if (!(c->content[2] & SM_FCGI_KEEP_CONN))
			c->close_after = true;
		return emit_end(c, id, 0, SM_FCGI_UNKNOWN_ROLE) < 0 ? fail(c, "out of memory") : 0;
	}
	c->active = true;
	c->id = id;
	c->keep = (c->content[2] & SM_FCGI_KEEP_CONN) != 0;
	return 0;
}

static int stream_record(sm_fcgi_conn *c)
{
	size_t n = c->content_len;

	if (c->h.type == SM_FCGI_PARAMS) {
		if (c->params_done)
			return fail(c, "FCGI_PARAMS after the end of the stream");
		if (n == 0) {
			c->params_done = true;
			if (decode_params(c) < 0)
				return -1;
		} else {
			if (n > c->limits.max_params - c->params_len)
				return fail(c, "FCGI_PARAMS larger than the limit");
			if (reserve(&c->params, &c->params_cap, c->params_len, n) < 0)
				return fail(c, "out of memory");
			memcpy(c->params + c->params_len, c->content, n);
			c->params_len += n;
		}
	} else {
		if (c->stdin_done)
			return fail(c, "FCGI_STDIN after the end of the stream");
		if (n == 0) {
			c->stdin_done = true;
		} else {
			/* Bytes past the limit are counted, not kept. */
			size_t room = c->limits.max_body - c->body_len; /* body_len ≤ max_body */
			size_t keep = room < n ? room : n;
			if (keep && reserve(&c->body, &c->body_cap, c->body_len, keep + 1) < 0)
				return fail(c, "out of memory");
			if (keep) {
				memcpy(c->body + c->body_len, c->content, keep);
				c->body_len += keep;
				c->body[c->body_len] = '\0';
			}
			c->body_total += n;
		}
	}
	c->ready = c->params_done && c->stdin_done;
	return 0;
}

/* Act on one complete record. */
static int record(sm_fcgi_conn *c)
{
	unsigned type = c->h.type, id = c->h.request_id;

	if (id == 0) { /* a management record */
		unsigned char body[8] = {(unsigned char)type};
		if (type == SM_FCGI_GET_VALUES)
			return get_values(c);
		return emit(c, SM_FCGI_UNKNOWN_TYPE, 0, body, sizeof body) < 0
		           ? fail(c, "out of memory")
		           : 0;
	}
	if (type == SM_FCGI_BEGIN_REQUEST)
		return begin_request(c);
	if (!c->active || id != c->id)
		return 0; /* records of requests not open are ignored */
	switch (type) {
	case SM_FCGI_ABORT_REQUEST:
		if (emit_end(c, id, 0, SM_FCGI_REQUEST_COMPLETE) < 0)
			return fail(c, "out of memory");
		if (!c->keep)
			c->close_after = true;
		reset_request(c);
		return 0;
	case SM_FCGI_PARAMS:
	case SM_FCGI_STDIN:
		return stream_record(c);
	default:
		return 0; /* FCGI_DATA (filter role) and types we do not know */
	}
}

/* Take up to want - *have bytes from data into dst. */
static size_t take(unsigned char *dst, size_t *have, size_t want, const unsigned char *data,
                   size_t len, size_t *off)
{
	size_t n = want - *have;

	if (n > len - *off)
		n = len - *off;
	if (dst)
		memcpy(dst + *have, data + *off, n);
	*have += n;
	*off += n;
	return n;
}

int sm_fcgi_conn_feed(sm_fcgi_conn *c, const void *data, size_t len, size_t *used)
{
	const unsigned char *bytes = data;
	size_t off = 0;

	while (!c->ready && !c->close_after) {
		if (c->head_len < SM_FCGI_HEADER_LEN) {
			take(c->head, &c->head_len, SM_FCGI_HEADER_LEN, bytes, len, &off);
			if (c->head_len < SM_FCGI_HEADER_LEN)
				break;
			sm_fcgi_header_decode(c->head, &c->h);
			if (c->h.version != 1) {
				*used = off;
				return fail(c, "not a FastCGI version 1 record");
			}
			c->content_len = 0;
			c->padding_left = c->h.padding_length;
		}
		if (c->content_len < c->h.content_length) {
			take(c->content, &c->content_len, c->h.content_length, bytes, len, &off);
			if (c->content_len < c->h.content_length)
				break;
		}
		if (c->padding_left > 0) {
			size_t skipped = 0;
			take(NULL, &skipped, c->padding_left, bytes, len, &off);
			c->padding_left -= skipped;
			if (c->padding_left > 0)
				break;
		}
		c->head_len = 0;
		if (record(c) < 0) {
			*used = off;
			return SM_FCGI_ERROR;
		}
	}
	*used = off;
	if (c->ready)
		return SM_FCGI_READY;
	return c->close_after ? SM_FCGI_CLOSE : SM_FCGI_MORE;
}

const char *sm_fcgi_param(const sm_fcgi_conn *c, const char *name)
{
	/* The last of repeated names wins, as when setting the environment. */
	for (size_t i = c->npairs; i-- > 0;)
		if (strcmp(c->pairs[i].name, name) == 0)
			return c->pairs[i].value;
	return NULL;
}

const char *sm_fcgi_body(const sm_fcgi_conn *c, size_t *len, size_t *total)
{
	*len = c->body_len;
	if (total)
		*total = c->body_total;
	return c->body ? (const char *)c->body : "";
}

int sm_fcgi_write(sm_fcgi_conn *c, const void *data, size_t len)
{
	const unsigned char *p = data;

	if (!c->ready)
		return -1;
	while (len > 0) {
		size_t n = len > SM_FCGI_MAX_CONTENT ? SM_FCGI_MAX_CONTENT : len;
		if (emit(c, SM_FCGI_STDOUT, c->id, p, n) < 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

int sm_fcgi_end(sm_fcgi_conn *c, unsigned app_status)
{
	bool keep = c->keep;

	if (!c->ready)
		return 0;
	if (emit(c, SM_FCGI_STDOUT, c->id, NULL, 0) < 0 ||
	    emit_end(c, c->id, app_status, SM_FCGI_REQUEST_COMPLETE) < 0)
		keep = false; /* the web server will see the connection close */
	reset_request(c);
	return keep;
}

const unsigned char *sm_fcgi_conn_output(const sm_fcgi_conn *c, size_t *len)
{
	*len = c->out_len - c->out_off;
	return c->out ? c->out + c->out_off : NULL;
}

void sm_fcgi_conn_sent(sm_fcgi_conn *c, size_t n)
{
	c->out_off += n < c->out_len - c->out_off ? n : c->out_len - c->out_off;
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
}

/* --- sockets ------------------------------------------------------------- */

bool sm_fcgi_is_listener(int fd)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof sa;
	int listening = 0;
	socklen_t optlen = sizeof listening;

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) < 0 || !listening)
		return false;
	/* A listening socket has no peer. */
	return getpeername(fd, (struct sockaddr *)&sa, &len) < 0 && errno == ENOTCONN;
}

static int listen_unix(const char *path, sm_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof sa.sun_path) {
		sm_error_set(err, "%s: socket path too long", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* A socket left by an earlier run is replaced; any other file is kept. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			sm_error_set(err, "%s: exists and is not a socket", path);
			return -1;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(path, 0660) < 0 ||
	    listen(fd, 128) < 0) {
		sm_error_set(err, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int listen_inet(const char *address, sm_error *err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res = NULL;
	char host[256];
	const char *colon = strrchr(address, ':'), *h = address;
	size_t hlen;
	int fd = -1, one = 1, rc;

	if (!colon || colon[1] == '\0') {
		sm_error_set(err, "%s: expected a socket path or HOST:PORT", address);
		return -1;
	}
	hlen = (size_t)(colon - address);
	if (hlen >= 2 && address[0] == '[' && address[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof host) {
		sm_error_set(err, "%s: bad host", address);
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0) {
		sm_error_set(err, "%s: %s", address, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		sm_error_set(err, "%s: %s", address, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

int sm_fcgi_listen(const char *address, sm_error *err)
{
	if (!address || !*address) {
		sm_error_set(err, "no address to listen on");
		return -1;
	}
	return strchr(address, '/') ? listen_unix(address, err) : listen_inet(address, err);
}

/* Send everything waiting; -1 when the web server is gone or stalled
 * (connections have a send timeout). */
static int flush(int fd, sm_fcgi_conn *c)
{
	size_t len;
	const unsigned char *p;

	while ((p = sm_fcgi_conn_output(c, &len)) && len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		sm_fcgi_conn_sent(c, (size_t)n);
	}
	return 0;
}

/* One accepted connection and the bytes read from it but not yet fed. */
struct slot {
	int fd;
	sm_fcgi_conn *c;
	unsigned char *buf;
	size_t have, off;
	struct timespec since; /* accepted, or its last request answered */
};

static long long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

static void slot_close(struct slot *s)
{
	close(s->fd);
	sm_fcgi_conn_free(s->c);
	free(s->buf);
	s->fd = -1;
	s->c = NULL;
	s->buf = NULL;
}

/* Feed what was read: 1 a request is ready, 0 more bytes needed, -1 close. */
static int slot_feed(struct slot *s)
{
	while (s->off < s->have) {
		size_t used = 0;
		int rc = sm_fcgi_conn_feed(s->c, s->buf + s->off, s->have - s->off, &used);
		s->off += used;
		if (flush(s->fd, s->c) < 0)
			return -1;
		if (rc == SM_FCGI_ERROR) {
			sm_log_kv(SM_LOG_WARN, "FastCGI connection closed", "error",
			          sm_fcgi_conn_error(s->c), SM_LOG_END);
			return -1;
		}
		if (rc == SM_FCGI_CLOSE)
			return -1;
		if (rc == SM_FCGI_READY)
			return 1;
	}
	return 0;
}

/* Read what the connection has (poll said it is readable). */
static int slot_read(struct slot *s)
{
	ssize_t n;

	do
		n = recv(s->fd, s->buf, SLOT_BUFFER, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0)
		return -1; /* the web server closed, or reset */
	s->have = (size_t)n;
	s->off = 0;
	return slot_feed(s);
}

static long long read_timeout_ms(const sm_fcgi_limits *limits)
{
	return limits->read_timeout_ms > 0 ? limits->read_timeout_ms : READ_TIMEOUT_MS;
}

/* Accept one waiting connection into s: false when none is waiting. */
static bool slot_accept(int listen_fd, struct slot *s, const sm_fcgi_limits *limits)
{
	struct timeval tv = {read_timeout_ms(limits) / 1000, read_timeout_ms(limits) % 1000 * 1000};
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

	s->fd = -1;
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			sm_log(SM_LOG_ERROR, "FastCGI accept: %s", strerror(errno));
		return errno == EINTR || errno == ECONNABORTED;
	}
	/* Answers are written blocking; a web server that stops reading them
	 * is given up after the timeout. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	s->c = sm_fcgi_conn_new(limits);
	s->buf = malloc(SLOT_BUFFER);
	s->have = s->off = 0;
	s->fd = fd;
	clock_gettime(CLOCK_MONOTONIC, &s->since);
	if (!s->c || !s->buf)
		slot_close(s);
	return true;
}

/* Act on what slot_read said about slot i. */
static void note(struct slot *slots, size_t i, int rc, sm_fcgi_conn **ready, size_t *ready_slot,
                 size_t *nready)
{
	if (rc == 1) {
		ready_slot[*nready] = i;
		ready[(*nready)++] = slots[i].c;
	} else if (rc < 0) {
		slot_close(&slots[i]);
	}
}

/* The sender: a thread that runs the hooks' before_send and then sends a
 * group's answers, while the serving thread runs their after. */
struct sender {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started, stop, posted;
	const sm_fcgi_hooks *hooks;
	struct slot *slots;
	const size_t *which; /* the group's slots */
	int *sent;           /* each one's flush */
	size_t n;
};

static void send_group(struct sender *t)
{
	bool go = t->hooks->before_send(t->hooks->ctx);

	for (size_t k = 0; k < t->n; k++)
		t->sent[k] = go ? flush(t->slots[t->which[k]].fd, t->slots[t->which[k]].c) : -1;
}

static void *sender_main(void *arg)
{
	struct sender *t = arg;

	pthread_mutex_lock(&t->mu);
	for (;;) {
		while (!t->posted && !t->stop)
			pthread_cond_wait(&t->cv, &t->mu);
		if (!t->posted)
			break;
		pthread_mutex_unlock(&t->mu);
		send_group(t);
		pthread_mutex_lock(&t->mu);
		t->posted = false;
		pthread_cond_broadcast(&t->cv);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

/* Send the group's answers after before_send, beside after: on the
 * sender thread when there is one (started the first time), else here,
 * one after the other. */
static void send_beside(struct sender *t, struct slot *slots, const size_t *which, int *sent,
                        size_t n)
{
	t->slots = slots;
	t->which = which;
	t->sent = sent;
	t->n = n;
	if (!t->started && pthread_mutex_init(&t->mu, NULL) == 0) {
		if (pthread_cond_init(&t->cv, NULL) != 0)
			pthread_mutex_destroy(&t->mu);
		else if (!(t->started = pthread_create(&t->thread, NULL, sender_main, t) == 0)) {
			pthread_cond_destroy(&t->cv);
			pthread_mutex_destroy(&t->mu);
		}
	}
	if (!t->started) {
		send_group(t);
		t->hooks->after(t->hooks->ctx);
		return;
	}
	pthread_mutex_lock(&t->mu);
	t->posted = true;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	t->hooks->after(t->hooks->ctx);
	pthread_mutex_lock(&t->mu);
	while (t->posted)
		pthread_cond_wait(&t->cv, &t->mu);
	pthread_mutex_unlock(&t->mu);
}

static void sender_stop(struct sender *t)
{
	if (!t->started)
		return;
	pthread_mutex_lock(&t->mu);
	t->stop = true;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	t->started = false;
}

/* Answer the requests ready together (the handler, the ends, the sending):
 * how many of them sent their next request already, moved to the front of
 * ready and ready_slot. */
static size_t answer_group(struct slot *slots, sm_fcgi_conn **ready, size_t *ready_slot,
                           size_t nready, sm_fcgi_handler *handler, void *ctx,
                           const sm_fcgi_hooks *hooks, struct sender *t)
{
	int keep[SM_FCGI_MAX_CONNS], sent[SM_FCGI_MAX_CONNS];
	size_t again = 0;

	sm_log(SM_LOG_DEBUG, "FastCGI: %zu requests together", nready);
	handler(ctx, ready, nready);
	for (size_t k = 0; k < nready; k++) {
		keep[k] = sm_fcgi_end(slots[ready_slot[k]].c, 0);
		sent[k] = 0;
	}
	if (hooks && hooks->before_send)
		send_beside(t, slots, ready_slot, sent, nready);
	else
		for (size_t k = 0; k < nready; k++)
			sent[k] = flush(slots[ready_slot[k]].fd, slots[ready_slot[k]].c);
	for (size_t k = 0; k < nready; k++) {
		struct slot *s = &slots[ready_slot[k]];
		int more = 0;
		if (sent[k] < 0 || !keep[k] || (more = slot_feed(s)) < 0) {
			slot_close(s);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &s->since);
		if (more == 1) { /* a kept connection sent its next request already */
			ready_slot[again] = ready_slot[k];
			ready[again++] = s->c;
		}
	}
	return again;
}

/* How long a wait may last: a second at most (a stalled connection is seen
 * within it), at most the read timeout, at most what the program wants
 * (want, -1: no wish). */
static int poll_wait(long long timeout, long long want)
{
	long long ms = 1000;

	if (timeout < ms)
		ms = timeout;
	if (want >= 0 && want < ms)
		ms = want;
	return (int)ms;
}

int sm_fcgi_serve(int listen_fd, const sm_fcgi_limits *limits, sm_fcgi_handler *handler, void *ctx,
                  volatile sig_atomic_t *stop, sm_error *err)
{
	return sm_fcgi_serve_with(listen_fd, limits, handler, ctx, NULL, stop, err);
}

int sm_fcgi_serve_with(int listen_fd, const sm_fcgi_limits *limits, sm_fcgi_handler *handler,
                       void *ctx, const sm_fcgi_hooks *hooks, volatile sig_atomic_t *stop,
                       sm_error *err)
{
	struct slot slots[SM_FCGI_MAX_CONNS];
	struct pollfd fds[SM_FCGI_MAX_CONNS + 1 + SM_FCGI_MAX_HOOK_FDS];
	size_t map[SM_FCGI_MAX_CONNS + 1];
	sm_fcgi_conn *ready[SM_FCGI_MAX_CONNS];
	size_t ready_slot[SM_FCGI_MAX_CONNS];
	struct sender t = {.hooks = hooks};
	int flags = fcntl(listen_fd, F_GETFL);

	/* Accept only what poll announced, never blocking on a connection
	 * that another process took first. */
	if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		sm_error_set(err, "listening socket: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < SM_FCGI_MAX_CONNS; i++)
		slots[i].fd = -1;
	while (!*stop) {
		size_t nfds = 0, nconns, nready = 0, free_slot = SM_FCGI_MAX_CONNS;
		long long want = hooks && hooks->idle ? hooks->idle(hooks->ctx) : -1;
		int n;

		/* cppcheck-suppress oppositeInnerCondition ; idle may have asked */
		if (*stop)
			break;
		for (size_t i = 0; i < SM_FCGI_MAX_CONNS; i++) {
			if (slots[i].fd < 0) {
				free_slot = free_slot < SM_FCGI_MAX_CONNS ? free_slot : i;
				continue;
			}
			if (ms_since(&slots[i].since) > read_timeout_ms(limits)) {
				sm_log(SM_LOG_WARN, "FastCGI connection closed: no whole request "
				                    "within the read timeout");
				slot_close(&slots[i]); /* stalled, or idle too long */
				free_slot = free_slot < SM_FCGI_MAX_CONNS ? free_slot : i;
				continue;
			}
			fds[nfds] = (struct pollfd){.fd = slots[i].fd, .events = POLLIN};
			map[nfds++] = i;
		}
		if (free_slot < SM_FCGI_MAX_CONNS) {
			fds[nfds] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
			map[nfds++] = SM_FCGI_MAX_CONNS;
		}
		nconns = nfds;
		for (size_t k = 0; hooks && k < hooks->nfds && k < SM_FCGI_MAX_HOOK_FDS; k++)
			fds[nfds++] = (struct pollfd){.fd = hooks->fds[k], .events = POLLIN};
		n = poll(fds, nfds, poll_wait(read_timeout_ms(limits), want));
		if (n < 0 && errno != EINTR) {
			sm_error_set(err, "poll: %s", strerror(errno));
			break;
		}
		if (n <= 0)
			continue;
		for (size_t k = 0; k < nconns; k++) {
			size_t i = map[k];
			if (!fds[k].revents || i == SM_FCGI_MAX_CONNS)
				continue;
			note(slots, i, slot_read(&slots[i]), ready, ready_slot, &nready);
		}
		/* Take every connection waiting, and what it has sent already:
		 * requests that arrived during the last commit go together. */
		while (nconns > 0 && fds[nconns - 1].revents &&
		       map[nconns - 1] == SM_FCGI_MAX_CONNS && free_slot < SM_FCGI_MAX_CONNS &&
		       slot_accept(listen_fd, &slots[free_slot], limits)) {
			size_t i = free_slot;
			if (slots[i].fd >= 0)
				note(slots, i, slot_read(&slots[i]), ready, ready_slot, &nready);
			while (free_slot < SM_FCGI_MAX_CONNS && slots[free_slot].fd >= 0)
				free_slot++;
		}
		/* The requests complete at this moment are answered together,
		 * so the handler can store them in one transaction. */
		while (nready > 0) {
			size_t again =
			    answer_group(slots, ready, ready_slot, nready, handler, ctx, hooks, &t);
			nready = *stop ? 0 : again;
		}
	}
	sender_stop(&t);
	for (size_t i = 0; i < SM_FCGI_MAX_CONNS; i++)
		if (slots[i].fd >= 0)
			slot_close(&slots[i]);
	return *stop ? 0 : -1;
}
