/* http.c - HTTP requests through libcurl (see http.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "curl_api.h"
#include "sm/http.h"

#ifndef SM_VERSION
#define SM_VERSION "unknown"
#endif

static bool ready(sm_http_response *res)
{
	return sm_curl_ready(res->error, sizeof res->error);
}

/* What sm_http_url_ok checked, kept for messages and redaction. */
struct url_parts {
	char host[256];   /* without the brackets of an IPv6 address */
	long port;        /* explicit or the scheme's */
	const char *rest; /* path, query and fragment: may hold secrets */
};

static bool host_char(int c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_';
}

static bool ipv6_char(int c)
{
	return isxdigit(c) || c == ':' || c == '.';
}

/* NULL when url is acceptable (u filled in), else why not. The reasons
 * never quote the URL. */
static const char *url_parse(const char *url, struct url_parts *u)
{
	static const struct {
		const char *prefix;
		long port;
	} schemes[] = {{"http://", 80}, {"https://", 443}};
	const char *p = NULL, *end, *host, *host_end;
	bool (*allowed)(int);

	if (!url || !*url)
		return "empty URL";
	for (const unsigned char *c = (const unsigned char *)url; *c; c++) {
		if (*c == ' ')
			return "URL contains a space";
		if (*c < 0x20 || *c == 0x7f)
			return "URL contains a control character";
		if (*c > 0x7f)
			return "URL contains a non-ASCII byte (percent-encode it)";
	}
	for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++) {
		size_t n = strlen(schemes[i].prefix);
		if (strncasecmp(url, schemes[i].prefix, n) == 0) {
			p = url + n;
			u->port = schemes[i].port;
		}
	}
	if (!p)
		return "URL scheme must be http:// or https://";
	end = p + strcspn(p, "/?#");
	u->rest = end;
	if (memchr(p, '@', (size_t)(end - p)))
		return "user:password@ in a URL is refused (send credentials in a header)";
	if (*p == '[') {
		host = p + 1;
		host_end = memchr(host, ']', (size_t)(end - host));
		if (!host_end)
			return "URL has an unclosed [IPv6 address]";
		allowed = ipv6_char;
		p = host_end + 1;
	} else {
		host = p;
		host_end = p + strcspn(p, ":/?#");
		allowed = host_char;
		p = host_end;
	}
	if (host_end == host)
		return "URL has no host";
	if ((size_t)(host_end - host) >= sizeof u->host)
		return "URL host is too long";
	for (const char *c = host; c < host_end; c++)
		if (!allowed((unsigned char)*c))
			return "URL host has a character not allowed in a host name";
	memcpy(u->host, host, (size_t)(host_end - host));
	u->host[host_end - host] = '\0';
	if (p == end)
		return NULL;
	if (*p != ':' || p + 1 == end || end - p > 6)
		return "URL has a bad port";
	u->port = 0;
	for (p++; p < end; p++) {
		if (!isdigit((unsigned char)*p))
			return "URL has a bad port";
		u->port = u->port * 10 + (*p - '0');
	}
	if (u->port < 1 || u->port > 65535)
		return "URL port is out of range";
	return NULL;
}

bool sm_http_url_ok(const char *url, char *why, size_t size)
{
	struct url_parts u;
	const char *reason = url_parse(url, &u);

	if (reason && why && size)
		snprintf(why, size, "%s", reason);
	return !reason;
}

/* NULL when the request is fine to send, else why not. */
static const char *check_request(const sm_http_request *req, const char *method)
{
	size_t n = strlen(method);

	if (n == 0 || n > 16 || strspn(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != n)
		return "method must be 1-16 capital letters";
	if ((strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) && req->body_len)
		return "GET and HEAD take no body";
	if (!req->body && req->body_len)
		return "body is NULL";
	for (size_t i = 0; req->headers && req->headers[i]; i++) {
		const char *h = req->headers[i];
		size_t name = strcspn(h, ":");

		/* A line break would let a value smuggle in headers of its own. */
		if (strpbrk(h, "\r\n"))
			return "a header contains a line break";
		if (name == 0 || !h[name] || strcspn(h, " \t") < name)
			return "a header is not \"Name: value\"";
	}
	return NULL;
}

/* Does text quote secret (len bytes)? A short secret must appear whole; of
 * a long one, any 16 bytes of text found in it count. Secrets under 4 bytes
 * are ignored: they would match the digits of every message. */
static bool quotes(const char *text, const char *secret, size_t len)
{
	size_t n = len < 16 ? len : 16, m = strlen(text);

	if (len < 4)
		return false;
	for (size_t i = 0; i + n <= m; i++)
		if (memmem(secret, len, text + i, n))
			return true;
	return false;
}

/* Does text quote anything of the request that may be secret: a header
 * value, the URL's path, query or fragment, the body? */
static bool leaks(const char *text, const sm_http_request *req, const struct url_parts *u)
{
	if (quotes(text, u->rest, strlen(u->rest)) || quotes(text, req->body, req->body_len))
		return true;
	for (size_t i = 0; req->headers && req->headers[i]; i++) {
		const char *value = strchr(req->headers[i], ':') + 1;
		value += strspn(value, " \t");
		if (quotes(text, value, strlen(value)))
			return true;
	}
	return false;
}

/* Failures that may pass if tried again later; any other is for good. */
static const CURLcode transient_codes[] = {
    CURLE_COULDNT_RESOLVE_PROXY,
    CURLE_COULDNT_RESOLVE_HOST,
    CURLE_COULDNT_CONNECT,
    CURLE_OPERATION_TIMEDOUT,
    CURLE_SEND_ERROR,
    CURLE_RECV_ERROR,
    CURLE_GOT_NOTHING,
    CURLE_PARTIAL_FILE,
    CURLE_SSL_CONNECT_ERROR,
    CURLE_HTTP2,
    CURLE_HTTP2_STREAM,
};

static bool transient_code(CURLcode code)
{
	for (size_t i = 0; i < sizeof transient_codes / sizeof *transient_codes; i++)
		if (transient_codes[i] == code)
			return true;
	return false;
}

/* 408 and 429 ask to come back later; a 5xx is the server's trouble. */
static bool transient_status(long status)
{
	return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

/* The answer's body, kept up to max bytes (and a NUL). */
struct sink {
	char *data;
	size_t len, cap, max;
	bool truncated, no_memory;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb, keep = n;

	if (keep > s->max - s->len) {
		keep = s->max - s->len;
		s->truncated = true;
	}
	if (s->len + keep + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 1024;
		char *grown;

		while (cap < s->len + keep + 1)
			cap *= 2;
		if (cap > s->max + 1)
			cap = s->max + 1;
		grown = realloc(s->data, cap);
		if (!grown) {
			s->no_memory = true;
			return 0;
		}
		s->data = grown;
		s->cap = cap;
	}
	memcpy(s->data + s->len, ptr, keep);
	s->len += keep;
	s->data[s->len] = '\0';
	/* Past the cap, stop reading: an endless answer must not hold us until
	 * the timeout. Returning short aborts the transfer (CURLE_WRITE_ERROR),
	 * which sm_http_send then takes as the answer it is. */
	return s->truncated ? 0 : n;
}

/* The headers to send: the caller's, then "Expect:" (unless the caller has
 * one) so that a large body goes at once instead of after a second's wait
 * for "100 Continue" from servers that never send it. */
static int build_headers(const sm_http_request *req, struct curl_slist **list)
{
	bool expect = false;
	struct curl_slist *l = NULL, *next;

	for (size_t i = 0; req->headers && req->headers[i]; i++) {
		if (strncasecmp(req->headers[i], "Expect:", 7) == 0)
			expect = true;
		next = curl_slist_append(l, req->headers[i]);
		if (!next)
			goto fail;
		l = next;
	}
	if (!expect) {
		next = curl_slist_append(l, "Expect:");
		if (!next)
			goto fail;
		l = next;
	}
	*list = l;
	return 0;
fail:
	curl_slist_free_all(l);
	return -1;
}

static long to_ms(double seconds)
{
	if (!(seconds > 0)) /* also NaN */
		seconds = SM_HTTP_TIMEOUT_S;
	if (seconds > 86400)
		seconds = 86400;
	return seconds * 1000 < 1 ? 1 : (long)(seconds * 1000 + 0.5);
}

/* Options every request gets (DESIGN.md §8). */
static const struct {
	CURLoption option;
	long value;
} fixed_options[] = {
    {CURLOPT_NOSIGNAL, 1L}, /* no SIGALRM for DNS timeouts: we run in threads */
    {CURLOPT_FOLLOWLOCATION, 0L}, {CURLOPT_SSL_VERIFYPEER, 1L},
    {CURLOPT_SSL_VERIFYHOST, 2L}, {CURLOPT_NOPROGRESS, 1L},
};

static CURLcode restrict_protocols(CURL *h)
{
	return sm_curl_protocols(h, "http,https", (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
}

static CURLcode set_method(CURL *h, const sm_http_request *req, const char *method)
{
	CURLcode rc;

	if (strcmp(method, "GET") == 0)
		return curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	if (strcmp(method, "HEAD") == 0)
		return curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	/* Always POSTFIELDS, even empty: without it curl would read stdin. */
	rc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	if (rc == CURLE_OK && strcmp(method, "POST") != 0)
		rc = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	return rc;
}

static CURLcode set_options(CURL *h, const sm_http_request *req, const char *method,
                            struct curl_slist *headers, struct sink *sink, char *errbuf)
{
	long timeout = to_ms(req->timeout_s);
	CURLcode rc = CURLE_OK;

	for (size_t i = 0; rc == CURLE_OK && i < sizeof fixed_options / sizeof *fixed_options; i++)
		rc = curl_easy_setopt(h, fixed_options[i].option, fixed_options[i].value);
	if (rc == CURLE_OK)
		rc = restrict_protocols(h);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_URL, req->url);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_USERAGENT, "sm/" SM_VERSION);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout);
	if (rc == CURLE_OK && req->ca_file)
		rc = curl_easy_setopt(h, CURLOPT_CAINFO, req->ca_file);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_WRITEDATA, (void *)sink);
	if (rc == CURLE_OK)
		rc = set_method(h, req, method);
	return rc;
}

/* res->error for a failed exchange: "connect to HOST port N: <errno>" when
 * the connection was refused or unreachable, else "HOST port N: <curl's
 * words>". curl's words are dropped for its generic text when they quote
 * anything secret of the request. */
static void describe_failure(CURL *h, CURLcode code, const char *errbuf, const sm_http_request *req,
                             const struct url_parts *u, sm_http_response *res)
{
	const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(code);
	long os_errno = 0;

	if (code == CURLE_COULDNT_CONNECT &&
	    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno) {
		char *ip = NULL;
		const char *where = u->host;
		long port = 0;

		/* The address tried (a proxy's, when one is used), else the URL's. */
		if (curl_easy_getinfo(h, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip && *ip &&
		    curl_easy_getinfo(h, CURLINFO_PRIMARY_PORT, &port) == CURLE_OK && port)
			where = ip;
		else
			port = u->port;
		snprintf(res->error, sizeof res->error, "connect to %.128s port %ld: %s", where,
		         port, strerror((int)os_errno));
		return;
	}
	if (leaks(detail, req, u))
		detail = curl_easy_strerror(code);
	snprintf(res->error, sizeof res->error, "%.128s port %ld: %s", u->host, u->port, detail);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct sm_http_client {
	CURL *handle; /* made on the first request; holds the open connections */
};

sm_http_client *sm_http_client_new(void)
{
	return calloc(1, sizeof(sm_http_client));
}

void sm_http_client_free(sm_http_client *client)
{
	if (!client)
		return;
	if (client->handle)
		curl_easy_cleanup(client->handle);
	free(client);
}

int sm_http_send(const sm_http_request *req, sm_http_response *res)
{
	return sm_http_client_send(NULL, req, res);
}

/* sm_http_on_answer's hook, per thread. */
static _Thread_local void (*answer_hook)(void *);
static _Thread_local void *answer_ctx;

void sm_http_on_answer(void (*fn)(void *ctx), void *ctx)
{
	answer_hook = fn;
	answer_ctx = ctx;
}

int sm_http_client_send(sm_http_client *client, const sm_http_request *req, sm_http_response *res)
{
	const char *method = req->method ? req->method : "POST";
	char errbuf[CURL_ERROR_SIZE] = "";
	struct sink sink = {.max = req->max_response ? req->max_response : SM_HTTP_MAX_RESPONSE};
	struct curl_slist *headers = NULL;
	double start = now_ms();
	struct url_parts u;
	const char *why;
	CURL *h = NULL;
	CURLcode code;
	int ret = -1;

	memset(res, 0, sizeof *res);
	why = url_parse(req->url, &u);
	if (why) {
		snprintf(res->error, sizeof res->error, "bad URL: %s", why);
		goto done;
	}
	why = check_request(req, method);
	if (why) {
		snprintf(res->error, sizeof res->error, "bad request: %s", why);
		goto done;
	}
	if (!ready(res))
		goto done;
	if (client && !client->handle)
		client->handle = curl_easy_init();
	h = client ? client->handle : curl_easy_init();
	if (!h || build_headers(req, &headers) < 0) {
		snprintf(res->error, sizeof res->error, "out of memory");
		goto done;
	}
	code = set_options(h, req, method, headers, &sink, errbuf);
	if (code != CURLE_OK) {
		snprintf(res->error, sizeof res->error, "libcurl refused an option: %s",
		         curl_easy_strerror(code));
		goto done;
	}
	code = curl_easy_perform(h);
	if (answer_hook) {
		void (*fn)(void *) = answer_hook;
		answer_hook = NULL;
		fn(answer_ctx);
	}
	if (code == CURLE_WRITE_ERROR && sink.no_memory) {
		snprintf(res->error, sizeof res->error, "out of memory");
		goto done;
	}
	if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && sink.truncated)) {
		describe_failure(h, code, errbuf, req, &u, res);
		res->transient = transient_code(code);
		goto done;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
	res->transient = transient_status(res->status);
	res->truncated = sink.truncated;
	res->body = sink.data ? sink.data : calloc(1, 1);
	res->body_len = sink.len;
	sink.data = NULL;
	if (!res->body) {
		snprintf(res->error, sizeof res->error, "out of memory");
		res->status = 0;
		res->transient = false;
		goto done;
	}
	ret = 0;
done:
	free(sink.data);
	/* A kept handle forgets this request's options at once (the headers,
	 * the body, errbuf and the sink are gone after the return) and keeps
	 * its connections for the next. */
	if (h && client)
		curl_easy_reset(h);
	else if (h)
		curl_easy_cleanup(h);
	if (headers)
		curl_slist_free_all(headers);
	res->elapsed_ms = now_ms() - start;
	return ret;
}

void sm_http_response_clear(sm_http_response *res)
{
	if (!res)
		return;
	free(res->body);
	memset(res, 0, sizeof *res);
}

/* Equal but for trailing slashes: the same base URL. */
static bool same_base(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	while (na > 0 && a[na - 1] == '/')
		na--;
	while (nb > 0 && b[nb - 1] == '/')
		nb--;
	return na == nb && strncmp(a, b, na) == 0;
}

json_t *sm_http_url_list(const char *text, const char *name, sm_error *err)
{
	json_t *list = json_array();
	const char *p = text;

	for (;;) {
		char why[128] = "";
		size_t n = strcspn(p, ",");
		char *entry = strndup(p, n), *s = entry, *e;
		size_t i;
		json_t *v;
		bool dup = false;

		if (!entry) {
			json_decref(list);
			sm_error_set(err, "out of memory");
			return NULL;
		}
		while (isspace((unsigned char)*s))
			s++;
		e = s + strlen(s);
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = '\0';
		json_array_foreach(list, i, v)
		{
			dup = dup || same_base(json_string_value(v), s);
		}
		if (!*s)
			snprintf(why, sizeof why, "empty");
		else if (dup)
			snprintf(why, sizeof why, "given twice");
		else if (sm_http_url_ok(s, why, sizeof why) && s[strcspn(s, "?#")])
			snprintf(why, sizeof why, "a base URL takes no query or fragment");
		if (*why) {
			/* Quoted unless it may hold a secret (user:password@, a query). */
			if (s[strcspn(s, "@?#")])
				sm_error_set_kind(err, SM_ERROR_USAGE, "%s: entry %zu: %s", name,
				                  json_array_size(list) + 1, why);
			else
				sm_error_set_kind(err, SM_ERROR_USAGE, "%s: entry %zu '%.200s': %s",
				                  name, json_array_size(list) + 1, s, why);
			free(entry);
			json_decref(list);
			return NULL;
		}
		json_array_append_new(list, json_string(s));
		free(entry);
		if (!p[n])
			break;
		p += n + 1;
	}
	return list;
}
