/* smtp.c - a mail message (RFC 5322, MIME) and its delivery over SMTP
 * through libcurl (see smtp.h).
 *
 * Both parts are quoted-printable: the text stays readable in a raw
 * mailbox and no line can grow past SMTP's 998-octet limit, whatever the
 * template produced. The boundary starts with "=_", which quoted-printable
 * output never contains, so it cannot occur inside a part.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/curl_api.h"

#include "sm/smtp.h"
#include "sm/trace.h"

/* --- the message --------------------------------------------------------- */

/* A growing NUL-terminated buffer; on failure it is freed and stays NULL. */
struct buf {
	char *data;
	size_t len, cap;
	bool failed;
};

static void put_mem(struct buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *grown;

		while (cap < b->len + n + 1)
			cap *= 2;
		grown = realloc(b->data, cap);
		if (!grown) {
			free(b->data);
			*b = (struct buf){.failed = true};
			return;
		}
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void put(struct buf *b, const char *s)
{
	put_mem(b, s, strlen(s));
}

static void put_char(struct buf *b, char c)
{
	put_mem(b, &c, 1);
}

static const char hex[] = "0123456789ABCDEF";

static void put_hex(struct buf *b, unsigned char c)
{
	char e[3] = {'=', hex[c >> 4], hex[c & 15]};

	put_mem(b, e, 3);
}

bool sm_mail_address_ok(const char *addr)
{
	const char *at, *domain;
	size_t n;

	if (!addr)
		return false;
	n = strlen(addr);
	at = strchr(addr, '@');
	if (n == 0 || n > 254 || !at || at == addr || strchr(at + 1, '@'))
		return false;
	for (const char *c = addr; *c; c++) {
		/* Printable ASCII without the characters that would let an
		 * address end early or become a list or a route. */
		if (*c <= ' ' || *c > '~' || strchr("<>,;:\"()[]\\", *c))
			return false;
	}
	domain = at + 1;
	return *domain && *domain != '.' && domain[strlen(domain) - 1] != '.' &&
	       !strstr(domain, "..");
}

/* Append the next UTF-8 character of s (at most n bytes) to out as
 * header-safe text: control characters (C0, DEL, C1) dropped, tabs and
 * line breaks made spaces, a malformed sequence made '?'. Returns the
 * bytes consumed. */
static size_t clean_char(const unsigned char *s, size_t n, struct buf *out)
{
	size_t len = s[0] < 0x80                    ? 1
	             : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
	             : s[0] >= 0xe0 && s[0] <= 0xef ? 3
	             : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
	                                            : 0;
	unsigned cp;

	if (len == 1) {
		if (s[0] == '\t' || s[0] == '\r' || s[0] == '\n')
			put_char(out, ' ');
		else if (s[0] >= 0x20 && s[0] != 0x7f)
			put_char(out, (char)s[0]);
		return 1;
	}
	if (len == 0 || len > n)
		goto bad;
	cp = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and code points past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		goto bad;
	if (cp >= 0x80 && cp <= 0x9f)
		return len;
	put_mem(out, (const char *)s, len);
	return len;
bad:
	put_char(out, '?');
	return 1;
}

/* The subject as header-safe UTF-8 (see clean_char), malloc'd. */
static char *clean_text(const char *s)
{
	struct buf out = {0};
	size_t n = strlen(s);

	put(&out, "");
	for (size_t i = 0; i < n;)
		i += clean_char((const unsigned char *)s + i, n - i, &out);
	return out.data;
}

static bool needs_encoding(const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c > 0x7e)
			return true;
	/* Text that looks like an encoded-word, or a line past what a header
	 * line may carry, goes encoded too. */
	return strstr(s, "=?") || strlen(s) > 900;
}

/* RFC 2047 encoded-words hold 75 characters: "=?UTF-8?B?" and "?=" leave
 * 63 for base64, so 45 bytes of text (60 characters) per word. */
#define WORD_BYTES 45

static void put_base64(struct buf *b, const unsigned char *s, size_t n)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
		             (i + 2 < n ? s[i + 2] : 0);
		char q[4] = {b64[v >> 18 & 63], b64[v >> 12 & 63],
		             i + 1 < n ? b64[v >> 6 & 63] : '=', i + 2 < n ? b64[v & 63] : '='};

		put_mem(b, q, 4);
	}
}

/* "Subject: ..." and its CRLF: plain when it can be, else encoded-words,
 * one per folded line, each ending on a whole UTF-8 character. */
static void put_subject(struct buf *b, const char *subject)
{
	char *clean = clean_text(subject ? subject : "");
	const unsigned char *s = (const unsigned char *)clean;
	size_t n;

	if (!clean) {
		b->failed = true;
		return;
	}
	put(b, "Subject: ");
	if (!needs_encoding(clean)) {
		put(b, clean);
		put(b, "\r\n");
		free(clean);
		return;
	}
	n = strlen(clean);
	for (size_t i = 0; i < n;) {
		size_t take = n - i < WORD_BYTES ? n - i : WORD_BYTES;

		/* Back off to the start of a character. */
		while (i + take < n && take > 1 && (s[i + take] & 0xc0) == 0x80)
			take--;
		put(b, i ? "\r\n =?UTF-8?B?" : "=?UTF-8?B?");
		put_base64(b, s + i, take);
		put(b, "?=");
		i += take;
	}
	put(b, "\r\n");
	free(clean);
}

/* Quoted-printable (RFC 2045 §6.7) of text with its line breaks (LF or
 * CRLF) kept as CRLF, lines at most 76 characters. Beyond the rules,
 * a '.' or "From " that starts a line is encoded, so neither SMTP's dot
 * transparency nor an mbox can alter it. Nothing is added at the end: the
 * CRLF before a boundary belongs to the boundary (RFC 2046 §5.1.1). */
static void put_qp(struct buf *b, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t col = 0;

	for (size_t i = 0; s[i]; i++) {
		unsigned char c = s[i];
		bool line_end =
		    s[i + 1] == '\0' || s[i + 1] == '\n' || (s[i + 1] == '\r' && s[i + 2] == '\n');
		bool literal;

		if (c == '\r' && s[i + 1] == '\n')
			continue;
		if (c == '\n') {
			put(b, "\r\n");
			col = 0;
			continue;
		}
		literal =
		    (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !line_end);
		if (col == 0 &&
		    (c == '.' || (c == 'F' && strncmp((const char *)s + i, "From ", 5) == 0)))
			literal = false;
		if (col + (literal ? 1 : 3) > 75) {
			put(b, "=\r\n");
			col = 0;
			if (c == '.' || (c == 'F' && strncmp((const char *)s + i, "From ", 5) == 0))
				literal = false;
		}
		if (literal)
			put_char(b, (char)c);
		else
			put_hex(b, c);
		col += literal ? 1 : 3;
	}
}

static void put_part_headers(struct buf *b, const char *type)
{
	put(b, "Content-Type: ");
	put(b, type);
	put(b, "; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n");
}

/* The date as RFC 5322 wants it, in UTC and English whatever the locale. */
static void put_date(struct buf *b, time_t now)
{
	static const char days[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	char line[64];
	struct tm tm;

	if (!gmtime_r(&now, &tm)) {
		b->failed = true;
		return;
	}
	snprintf(line, sizeof line, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
	         days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
	         tm.tm_hour, tm.tm_min, tm.tm_sec);
	put(b, line);
}

static bool domain_ok(const char *d)
{
	size_t n = d ? strlen(d) : 0;

	return n > 0 && n < 200 &&
	       strspn(d, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                 "0123456789.-_") == n;
}

/* Printable text of an address for an error message. */
static void show(char *out, size_t size, const char *addr)
{
	size_t i = 0;

	for (; addr && addr[i] && i + 1 < size && i < 100; i++)
		out[i] = addr[i] > ' ' && addr[i] <= '~' ? addr[i] : '?';
	out[i] = '\0';
}

char *sm_mail_format(const sm_mail *mail, time_t now, size_t *len, sm_error *err)
{
	char id[SM_TRACE_LEN + 1], shown[128];
	const char *domain;
	struct buf b = {0};

	if (!mail->from || !*mail->from) {
		sm_error_set(err, "no from address");
		return NULL;
	}
	if (!sm_mail_address_ok(mail->from)) {
		show(shown, sizeof shown, mail->from);
		sm_error_set(err, "bad from address: %s", shown);
		return NULL;
	}
	if (!mail->to || !mail->to[0]) {
		sm_error_set(err, "no to address");
		return NULL;
	}
	for (size_t i = 0; mail->to[i]; i++) {
		if (!sm_mail_address_ok(mail->to[i])) {
			show(shown, sizeof shown, mail->to[i]);
			sm_error_set(err, "bad to address: %s", shown);
			return NULL;
		}
	}
	domain = domain_ok(mail->message_id_domain) ? mail->message_id_domain
	                                            : strchr(mail->from, '@') + 1;
	if (!domain_ok(domain))
		domain = "localhost";
	if (sm_trace_new(id) < 0) {
		sm_error_set(err, "no randomness for a Message-ID");
		return NULL;
	}
	put_date(&b, now);
	put(&b, "From: ");
	put(&b, mail->from);
	put(&b, "\r\nTo: ");
	for (size_t i = 0; mail->to[i]; i++) {
		put(&b, i ? ",\r\n " : "");
		put(&b, mail->to[i]);
	}
	put(&b, "\r\n");
	put_subject(&b, mail->subject);
	put(&b, "Message-ID: <");
	put(&b, id);
	put(&b, "@");
	put(&b, domain);
	/* RFC 3834: vacation responders must not answer an alert. */
	put(&b, ">\r\nAuto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n");
	if (!mail->html) {
		put_part_headers(&b, "text/plain");
		put(&b, "\r\n");
		put_qp(&b, mail->text ? mail->text : "");
		/* The message ends with a line break for SMTP's final dot. */
		if (b.len >= 2 && memcmp(b.data + b.len - 2, "\r\n", 2) != 0)
			put(&b, "\r\n");
	} else {
		char boundary[SM_TRACE_LEN + 8];

		if (sm_trace_new(id) < 0) {
			free(b.data);
			sm_error_set(err, "no randomness for a MIME boundary");
			return NULL;
		}
		snprintf(boundary, sizeof boundary, "=_sm_%s", id);
		put(&b, "Content-Type: multipart/alternative;\r\n boundary=\"");
		put(&b, boundary);
		put(&b, "\"\r\n\r\nThis is a MIME message with a text and an HTML part.\r\n");
		put(&b, "\r\n--");
		put(&b, boundary);
		put(&b, "\r\n");
		put_part_headers(&b, "text/plain");
		put(&b, "\r\n");
		put_qp(&b, mail->text ? mail->text : "");
		put(&b, "\r\n--");
		put(&b, boundary);
		put(&b, "\r\n");
		put_part_headers(&b, "text/html");
		put(&b, "\r\n");
		put_qp(&b, mail->html);
		put(&b, "\r\n--");
		put(&b, boundary);
		put(&b, "--\r\n");
	}
	if (b.failed) {
		sm_error_set(err, "out of memory");
		return NULL;
	}
	*len = b.len;
	return b.data;
}

/* --- delivery ------------------------------------------------------------ */

static bool ready(sm_error *err)
{
	return sm_curl_ready(err ? err->msg : NULL, err ? sizeof err->msg : 0);
}

/* The message as curl reads it for DATA. */
struct source {
	const char *data;
	size_t left;
};

static size_t on_read(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct source *s = userdata;
	size_t n = size * nmemb < s->left ? size * nmemb : s->left;

	memcpy(ptr, s->data, n);
	s->data += n;
	s->left -= n;
	return n;
}

static CURLcode restrict_protocols(CURL *h)
{
	return sm_curl_protocols(h, "smtp,smtps", (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
}

static long to_ms(double seconds)
{
	if (!(seconds > 0)) /* also NaN */
		seconds = 10;
	if (seconds > 86400)
		seconds = 86400;
	return seconds * 1000 < 1 ? 1 : (long)(seconds * 1000 + 0.5);
}

/* Everything of one exchange that curl must see until it ends. */
struct exchange {
	char url[320];
	char from[300];
	struct curl_slist *rcpt;
	struct source source;
	char errbuf[CURL_ERROR_SIZE];
	char reply[160]; /* the server's last refusal, for messages */
};

/* Keep the server's last refusal: curl's own words for one
 * ("Weird server reply") do not say what the server objected to. What
 * curl sends (AUTH's credentials among it) is never looked at. */
/* cppcheck-suppress constParameter ; curl's prototype */
static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *userdata)
{
	struct exchange *x = userdata;
	size_t n = 0;

	(void)h;
	/* Only refusals (4xx, 5xx): the QUIT after one must not hide it. */
	if (type != CURLINFO_HEADER_IN || size < 1 || (data[0] != '4' && data[0] != '5'))
		return 0;
	for (size_t i = 0; i < size && data[i] != '\r' && data[i] != '\n'; i++)
		if (n + 1 < sizeof x->reply && data[i] >= ' ' && data[i] <= '~')
			x->reply[n++] = data[i];
	x->reply[n] = '\0';
	return 0;
}

static CURLcode set_options(CURL *h, const sm_smtp_server *srv, struct exchange *x)
{
	static const struct {
		CURLoption option;
		long value;
	} fixed[] = {
	    {CURLOPT_NOSIGNAL, 1L},       {CURLOPT_NOPROGRESS, 1L},     {CURLOPT_UPLOAD, 1L},
	    {CURLOPT_SSL_VERIFYPEER, 1L}, {CURLOPT_SSL_VERIFYHOST, 2L},
	};
	long timeout = to_ms(srv->timeout_s);
	CURLcode rc = CURLE_OK;

	for (size_t i = 0; rc == CURLE_OK && i < sizeof fixed / sizeof *fixed; i++)
		rc = curl_easy_setopt(h, fixed[i].option, fixed[i].value);
	if (rc == CURLE_OK)
		rc = restrict_protocols(h);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_URL, x->url);
	/* VERBOSE only feeds on_debug; nothing is printed. */
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_DEBUGDATA, (void *)x);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	/* STARTTLS or nothing: curl must not fall back to plain text. */
	if (rc == CURLE_OK && (srv->starttls || srv->smtps))
		rc = curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_MAIL_FROM, x->from);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_MAIL_RCPT, x->rcpt);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_READDATA, (void *)&x->source);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->source.left);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout);
	if (rc == CURLE_OK && srv->username && *srv->username) {
		rc = curl_easy_setopt(h, CURLOPT_USERNAME, srv->username);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(h, CURLOPT_PASSWORD,
			                      srv->password ? srv->password : "");
	}
	if (rc == CURLE_OK && srv->ca_file && *srv->ca_file)
		rc = curl_easy_setopt(h, CURLOPT_CAINFO, srv->ca_file);
	return rc;
}

/* Failures that may pass when tried again; any other is for good. */
static const CURLcode transient_codes[] = {
    CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT,    CURLE_OPERATION_TIMEDOUT,
    CURLE_SEND_ERROR,           CURLE_RECV_ERROR,         CURLE_GOT_NOTHING,
    CURLE_SSL_CONNECT_ERROR,    CURLE_WEIRD_SERVER_REPLY,
};

static bool transient(CURLcode code, long reply)
{
	/* The server's word, when it gave one: 4xx is "try later". */
	if (reply >= 400 && reply <= 499)
		return true;
	if (reply >= 500)
		return false;
	for (size_t i = 0; i < sizeof transient_codes / sizeof *transient_codes; i++)
		if (transient_codes[i] == code)
			return true;
	return false;
}

/* Does text quote a credential? Short ones count only whole and from 4
 * bytes, as they would match ordinary words. */
static bool quotes(const char *text, const char *secret)
{
	return secret && strlen(secret) >= 4 && strstr(text, secret);
}

static void describe(CURL *h, CURLcode code, long reply, const struct exchange *x,
                     const sm_smtp_server *srv, int port, sm_error *err)
{
	const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(code), *said = x->reply;
	long os_errno = 0;

	if (code == CURLE_COULDNT_CONNECT &&
	    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno)
		detail = strerror((int)os_errno);
	if (code == CURLE_LOGIN_DENIED)
		detail = "authentication refused";
	else if (code == CURLE_WEIRD_SERVER_REPLY && reply >= 400)
		detail = "message refused";
	if (quotes(detail, srv->password) || quotes(detail, srv->username))
		detail = curl_easy_strerror(code);
	if (quotes(said, srv->password) || quotes(said, srv->username))
		said = "";
	if (reply >= 400 && *said)
		sm_error_set(err, "SMTP %.200s:%d: %s (server: %s)", srv->host, port, detail, said);
	else
		sm_error_set(err, "SMTP %.200s:%d: %s", srv->host, port, detail);
}

static bool host_ok(const char *host)
{
	size_t n = host ? strlen(host) : 0;

	return n > 0 && n < 256 &&
	       strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:") ==
	           n;
}

int sm_smtp_send(const sm_smtp_server *srv, const sm_mail *mail, bool *transient_out, sm_error *err)
{
	int port = srv->port ? srv->port : srv->smtps ? 465 : srv->starttls ? 587 : 25;
	struct exchange *x = NULL;
	char *message = NULL;
	long reply = 0;
	size_t len = 0;
	CURL *h = NULL;
	CURLcode code;
	int ret = -1;

	if (transient_out)
		*transient_out = false;
	if (!host_ok(srv->host)) {
		sm_error_set(err, "bad SMTP host");
		return -1;
	}
	if (port < 1 || port > 65535) {
		sm_error_set(err, "SMTP %s: port %d out of range", srv->host, srv->port);
		return -1;
	}
	message = sm_mail_format(mail, time(NULL), &len, err);
	if (!message)
		return -1;
	x = calloc(1, sizeof *x);
	if (!x) {
		sm_error_set(err, "out of memory");
		goto done;
	}
	/* An IPv6 literal goes in brackets; the URL has no path, so curl
	 * greets with its own host name. */
	snprintf(x->url, sizeof x->url, strchr(srv->host, ':') ? "%s://[%s]:%d" : "%s://%s:%d",
	         srv->smtps ? "smtps" : "smtp", srv->host, port);
	snprintf(x->from, sizeof x->from, "<%s>", mail->from);
	x->source = (struct source){message, len};
	if (!ready(err))
		goto done;
	for (size_t i = 0; mail->to[i]; i++) {
		char rcpt[300];
		struct curl_slist *next;

		snprintf(rcpt, sizeof rcpt, "<%s>", mail->to[i]);
		next = curl_slist_append(x->rcpt, rcpt);
		if (!next) {
			sm_error_set(err, "out of memory");
			goto done;
		}
		x->rcpt = next;
	}
	h = curl_easy_init();
	if (!h) {
		sm_error_set(err, "out of memory");
		goto done;
	}
	code = set_options(h, srv, x);
	if (code != CURLE_OK) {
		sm_error_set(err, "libcurl refused an option: %s", curl_easy_strerror(code));
		goto done;
	}
	code = curl_easy_perform(h);
	if (code != CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply);
		describe(h, code, reply, x, srv, port, err);
		if (transient_out)
			*transient_out = transient(code, reply);
		goto done;
	}
	ret = 0;
done:
	if (h)
		curl_easy_cleanup(h);
	if (x && x->rcpt)
		curl_slist_free_all(x->rcpt);
	free(x);
	free(message);
	return ret;
}
