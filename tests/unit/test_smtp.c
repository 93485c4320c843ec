/* test_smtp.c - the mail message (headers, MIME parts, quoted-printable,
 * RFC 2047 subjects, header injection, addresses) and its delivery to a
 * real SMTP server on loopback (tests/fixtures/bin/smtpd.py): plain,
 * STARTTLS, SMTPS, AUTH, refused certificates, passwords and connections,
 * and the server's 4xx and 5xx answers. */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "testutil.h"
#include "sm/smtp.h"

/* 2026-12-02 02:30:00 UTC, a Wednesday. */
#define NOW ((time_t)1796178600)

/* --- reading a message back ---------------------------------------------- */

/* The unfolded value of header name in the header block of msg (malloc'd),
 * or NULL. */
static char *header(const char *msg, const char *name)
{
	const char *end = strstr(msg, "\r\n\r\n"), *line = msg;
	size_t n = strlen(name);

	assert_non_null(end);
	while (line < end) {
		const char *eol = strstr(line, "\r\n");

		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			char *value = calloc(1, (size_t)(end - line) + 1), *out = value;
			const char *p = line + n + 1;

			assert_non_null(value);
			p += strspn(p, " ");
			for (;;) {
				memcpy(out, p, (size_t)(eol - p));
				out += eol - p;
				/* A continuation line starts with white space. */
				if (eol >= end || (eol[2] != ' ' && eol[2] != '\t'))
					break;
				p = eol + 2;
				eol = strstr(p, "\r\n");
			}
			*out = '\0';
			return value;
		}
		line = eol + 2;
	}
	return NULL;
}

/* How many lines of msg start with prefix. */
static int lines_starting(const char *msg, const char *prefix)
{
	int count = 0;

	for (const char *p = msg; p; p = strstr(p, "\r\n"), p = p ? p + 2 : NULL)
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			count++;
	return count;
}

/* Every line break of msg is CRLF and no line is longer than max. */
static void assert_crlf_lines(const char *msg, size_t len, size_t max)
{
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\r') {
			assert_true(i + 1 < len && msg[i + 1] == '\n');
			i++;
			col = 0;
			continue;
		}
		assert_true(msg[i] != '\n');
		if (++col > max)
			fail_msg("line longer than %zu at offset %zu", max, i);
	}
}

static int hex_value(char c)
{
	const char *digits = "0123456789ABCDEF", *p = strchr(digits, c);

	assert_true(c && p);
	return (int)(p - digits);
}

/* Decode quoted-printable (of n bytes), CRLF line breaks becoming LF. */
static char *qp_decode(const char *s, size_t n)
{
	char *out = calloc(1, n + 1), *o = out;

	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=' && i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 2;
		} else if (s[i] == '=') {
			assert_true(i + 2 < n);
			*o++ = (char)(hex_value(s[i + 1]) << 4 | hex_value(s[i + 2]));
			i += 2;
		} else if (s[i] == '\r') {
			assert_true(s[i + 1] == '\n');
			*o++ = '\n';
			i++;
		} else {
			/* Only printable ASCII, space and tab travel as they are. */
			assert_true(s[i] == ' ' || s[i] == '\t' || (s[i] > ' ' && s[i] <= '~'));
			*o++ = s[i];
		}
	}
	return out;
}

static char *base64_decode(const char *s, size_t n)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = calloc(1, n + 1), *o = out;
	unsigned v = 0;
	int bits = 0;

	assert_non_null(out);
	for (size_t i = 0; i < n && s[i] != '='; i++) {
		const char *p = strchr(b64, s[i]);

		assert_true(s[i] && p);
		v = v << 6 | (unsigned)(p - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*o++ = (char)(v >> bits & 0xff);
		}
	}
	return out;
}

/* The subject decoded from its encoded-words, each checked: at most 75
 * characters, and whole UTF-8 characters only. */
static char *decode_subject(const char *value)
{
	char *out = calloc(1, strlen(value) + 1);
	const char *p = value;

	assert_non_null(out);
	if (strncmp(p, "=?", 2) != 0) {
		strcpy(out, p);
		return out;
	}
	while (*p) {
		const char *end;
		char *word;
		size_t wlen;

		p += strspn(p, " ");
		assert_true(strncmp(p, "=?UTF-8?B?", 10) == 0);
		end = strstr(p + 10, "?=");
		assert_non_null(end);
		assert_true(end + 2 - p <= 75);
		word = base64_decode(p + 10, (size_t)(end - p - 10));
		wlen = strlen(word);
		/* Neither starts with a continuation byte nor ends inside a
		 * sequence. */
		assert_true(((unsigned char)word[0] & 0xc0) != 0x80);
		for (size_t i = wlen; i-- > 0;) {
			unsigned char c = (unsigned char)word[i];
			size_t need = c < 0x80    ? 1
			              : c >= 0xf0 ? 4
			              : c >= 0xe0 ? 3
			              : c >= 0xc0 ? 2
			                          : 0;

			if (need) {
				assert_int_equal(wlen - i, need);
				break;
			}
		}
		strcat(out, word);
		free(word);
		p = end + 2;
	}
	return out;
}

/* The parts of a multipart message: body of part i (decoded) and its
 * Content-Type in type[i]. Returns how many. */
static int parts(const char *msg, char *body[2], char *type[2])
{
	char *ct = header(msg, "Content-Type"), *b, delim[128];
	const char *p;
	int n = 0;

	assert_non_null(ct);
	b = strstr(ct, "boundary=\"");
	assert_non_null(b);
	b += 10;
	*strchr(b, '"') = '\0';
	snprintf(delim, sizeof delim, "\r\n--%s", b);
	/* The boundary occurs only as the two delimiters and the close. */
	for (p = msg; (p = strstr(p, b)); p++)
		n++;
	assert_int_equal(n, 4); /* with the Content-Type's own */
	n = 0;
	/* Each part runs from after its delimiter line to the next delimiter. */
	for (p = strstr(msg, delim); p && strncmp(p + strlen(delim), "--", 2) != 0;) {
		const char *start = p + strlen(delim) + 2, *next = strstr(start, delim);
		const char *content = strstr(start, "\r\n\r\n");
		char *cte;

		if (n >= 2 || !next || !content || content > next) {
			fail_msg("part %d is malformed", n);
			break;
		}
		type[n] = header(start, "Content-Type");
		cte = header(start, "Content-Transfer-Encoding");
		assert_string_equal(cte, "quoted-printable");
		free(cte);
		body[n] = qp_decode(content + 4, (size_t)(next - content - 4));
		n++;
		p = next;
	}
	free(ct);
	return n;
}

/* --- formatting ------------------------------------------------------------ */

static const char *const two[] = {"ops@example.test", "dba+pager@example.test", NULL};

static char *format(const sm_mail *mail, size_t *len)
{
	sm_error err = {0};
	char *msg = sm_mail_format(mail, NOW, len, &err);

	if (!msg)
		fail_msg("sm_mail_format: %s", err.msg);
	assert_int_equal(strlen(msg), *len);
	return msg;
}

static void headers(void **state)
{
	sm_mail mail = {.from = "sm@example.test",
	                .to = two,
	                .subject = "[WARNING] DiskSpaceLow on db-01",
	                .text = "text",
	                .html = "<p>html</p>"};
	char *msg, *v;
	size_t len;

	(void)state;
	msg = format(&mail, &len);
	v = header(msg, "Date");
	assert_string_equal(v, "Wed, 02 Dec 2026 02:30:00 +0000");
	free(v);
	v = header(msg, "From");
	assert_string_equal(v, "sm@example.test");
	free(v);
	v = header(msg, "To");
	assert_string_equal(v, "ops@example.test, dba+pager@example.test");
	free(v);
	v = header(msg, "Subject");
	assert_string_equal(v, "[WARNING] DiskSpaceLow on db-01");
	free(v);
	v = header(msg, "Message-ID");
	assert_int_equal(strlen(v), 1 + 32 + 1 + strlen("example.test") + 1);
	assert_int_equal(v[0], '<');
	assert_int_equal(strspn(v + 1, "0123456789abcdef"), 32);
	assert_string_equal(v + 33, "@example.test>");
	free(v);
	v = header(msg, "MIME-Version");
	assert_string_equal(v, "1.0");
	free(v);
	v = header(msg, "Auto-Submitted");
	assert_string_equal(v, "auto-generated");
	free(v);
	v = header(msg, "Content-Type");
	assert_true(strncmp(v, "multipart/alternative; boundary=\"=_sm_", 38) == 0);
	free(v);
	assert_crlf_lines(msg, len, 78);
	free(msg);

	/* Another domain for the Message-ID, and a new id each time. */
	mail.message_id_domain = "mail.example.test";
	msg = format(&mail, &len);
	v = header(msg, "Message-ID");
	assert_string_equal(v + 33, "@mail.example.test>");
	free(v);
	free(msg);
}

static void both_parts(void **state)
{
	sm_mail mail = {.from = "sm@example.test",
	                .to = two,
	                .subject = "s",
	                .text = "Alert: DiskSpaceLow\nSeverity: WARNING\n",
	                .html = "<html><body><h2 style=\"color: #f0ad4e\">DiskSpaceLow</h2>"
	                        "</body></html>"};
	char *msg, *body[2], *type[2];
	size_t len;

	(void)state;
	msg = format(&mail, &len);
	assert_int_equal(parts(msg, body, type), 2);
	assert_string_equal(type[0], "text/plain; charset=UTF-8");
	assert_string_equal(type[1], "text/html; charset=UTF-8");
	/* Each part reads back exactly, its last line break included or not. */
	assert_string_equal(body[0], "Alert: DiskSpaceLow\nSeverity: WARNING\n");
	assert_string_equal(body[1], "<html><body><h2 style=\"color: #f0ad4e\">DiskSpaceLow</h2>"
	                             "</body></html>");
	for (int i = 0; i < 2; i++) {
		free(body[i]);
		free(type[i]);
	}
	free(msg);
}

static void text_only(void **state)
{
	sm_mail mail = {.from = "sm@example.test", .to = two, .subject = "s", .text = "just text"};
	char *msg, *v, *body;
	size_t len;

	(void)state;
	msg = format(&mail, &len);
	v = header(msg, "Content-Type");
	assert_string_equal(v, "text/plain; charset=UTF-8");
	free(v);
	v = header(msg, "Content-Transfer-Encoding");
	assert_string_equal(v, "quoted-printable");
	free(v);
	assert_null(strstr(msg, "multipart"));
	body = strstr(msg, "\r\n\r\n") + 4;
	assert_string_equal(body, "just text\r\n");
	free(msg);
}

static void quoted_printable_round_trip(void **state)
{
	char text[4096], expected[4200], *msg, *body[2], *type[2];
	sm_mail mail = {.from = "sm@example.test", .to = two, .subject = "s", .text = text};
	size_t len;

	(void)state;
	/* Long lines with and without spaces, '=' everywhere, UTF-8 (two,
	 * three and four bytes), trailing white space, a lone '.', "From ",
	 * tabs, CRLF and LF line ends, and a last line without one. */
	snprintf(
	    text, sizeof text,
	    "%s\n"
	    "a=b == c=3D =\n"
	    "Température: 93 °C — disque plein ✓ 🔥 %s\n"
	    "trailing spaces   \n"
	    "trailing tab\t\r\n"
	    ".\n"
	    "From here on\n"
	    "\tindented\n"
	    "%s",
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=",
	    "ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé",
	    "the words of a long line go on and on past the limit of seventy-six "
	    "characters, which quoted-printable must fold with soft line breaks");
	mail.html = text;
	msg = format(&mail, &len);
	/* Quoted-printable lines stay within 76 characters. */
	assert_crlf_lines(strstr(msg, "\r\n\r\n") + 4, strlen(strstr(msg, "\r\n\r\n") + 4), 76);
	/* The dot and "From " cannot reach the server as they are. */
	assert_int_equal(lines_starting(msg, "."), 0);
	assert_int_equal(lines_starting(msg, "From "), 0);
	assert_int_equal(parts(msg, body, type), 2);
	snprintf(expected, sizeof expected, "%s", text);
	for (char *p = strstr(expected, "\t\r\n"); p; p = NULL)
		memmove(p + 1, p + 2, strlen(p + 2) + 1); /* CRLF reads back as LF */
	assert_string_equal(body[0], expected);
	assert_string_equal(body[1], expected);
	for (int i = 0; i < 2; i++) {
		free(body[i]);
		free(type[i]);
	}
	free(msg);
}

static void encoded_subject(void **state)
{
	const char *subjects[] = {
	    "[CRITICAL] Température élevée sur db-01",
	    /* Long, with characters of every length, so that words must end
	     * between characters. */
	    ("[WARNING] 磁盘空间不足 🔥🔥 on db-01: ÄÖÜ äöü ß € ☃ — the disk is nearly full and "
	     "keeps filling, 磁盘空间不足 磁盘空间不足 🔥🔥🔥 ÄÖÜ"),
	    /* ASCII that could be taken for an encoded-word. */
	    "=?UTF-8?B?ZXZpbA==?= looks encoded",
	};
	sm_mail mail = {.from = "sm@example.test", .to = two, .text = "t"};
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof subjects / sizeof *subjects; i++) {
		char *msg, *v, *decoded;

		mail.subject = subjects[i];
		msg = format(&mail, &len);
		assert_crlf_lines(msg, len, 78 + 9);
		v = header(msg, "Subject");
		assert_true(strncmp(v, "=?UTF-8?B?", 10) == 0);
		decoded = decode_subject(v);
		assert_string_equal(decoded, subjects[i]);
		free(decoded);
		free(v);
		free(msg);
	}
}

static void header_injection(void **state)
{
	sm_mail mail = {.from = "sm@example.test",
	                .to = two,
	                .subject = "x\r\nBcc: evil@x\nX-Evil: 1\r\n\r\nbody",
	                .text = "t",
	                .message_id_domain = "example.test>\r\nBcc: evil@x"};
	char *msg, *v;
	size_t len;

	(void)state;
	msg = format(&mail, &len);
	assert_int_equal(lines_starting(msg, "Bcc:"), 0);
	assert_int_equal(lines_starting(msg, "X-Evil:"), 0);
	v = header(msg, "Subject");
	assert_string_equal(v, "x  Bcc: evil@x X-Evil: 1    body");
	free(v);
	/* A domain no Message-ID can carry gives way to the sender's. */
	v = header(msg, "Message-ID");
	assert_string_equal(v + 33, "@example.test>");
	free(v);
	free(msg);

	/* Other control characters go too: C0, DEL, C1 (U+0085). */
	mail.subject = "a\001b\177c\xc2\x85"
	               "d\te";
	msg = format(&mail, &len);
	v = header(msg, "Subject");
	assert_string_equal(v, "abcd e");
	free(v);
	free(msg);

	/* Bytes that are not UTF-8 are replaced, so the header stays valid. */
	mail.subject = "bad \xff\xfe utf-8 \xe2\x82";
	msg = format(&mail, &len);
	v = header(msg, "Subject");
	assert_string_equal(v, "bad ?? utf-8 ??");
	free(v);
	free(msg);
}

static void addresses(void **state)
{
	static const char *const good[] = {"a@b", "ops+alerts@example.test",
	                                   "first.last@sub.example.test", "x_y-z@127.0.0.1"};
	static const char *const bad[] = {
	    "",        "plain",          "@example.test",   "ops@",  "a@b@c",   "a b@c", "<a@b>",
	    "a@b,c@d", "a@b;c@d",        "a@b\r\nBcc: e@x", "a@b\n", "\"a\"@b", "a@.b",  "a@b.",
	    "a@b..c",  "é@example.test", "a@(comment)b",    "a:b@c",
	};
	const char *one_bad[] = {"ops@example.test", "evil@x\r\nBcc: e@x", NULL};
	const char *none[] = {NULL};
	sm_mail mail = {.from = "sm@example.test", .to = two, .subject = "s", .text = "t"};
	sm_error err = {0};
	size_t len = 0;

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		assert_true(sm_mail_address_ok(good[i]));
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (sm_mail_address_ok(bad[i]))
			fail_msg("accepted \"%s\"", bad[i]);
	assert_false(sm_mail_address_ok(NULL));

	mail.from = "not an address";
	assert_null(sm_mail_format(&mail, NOW, &len, &err));
	assert_string_equal(err.msg, "bad from address: not?an?address");
	mail.from = NULL;
	assert_null(sm_mail_format(&mail, NOW, &len, &err));
	assert_string_equal(err.msg, "no from address");
	mail.from = "sm@example.test";
	mail.to = one_bad;
	assert_null(sm_mail_format(&mail, NOW, &len, &err));
	assert_string_equal(err.msg, "bad to address: evil@x??Bcc:?e@x");
	mail.to = none;
	assert_null(sm_mail_format(&mail, NOW, &len, &err));
	assert_string_equal(err.msg, "no to address");
	mail.to = NULL;
	assert_null(sm_mail_format(&mail, NOW, &len, &err));
	assert_string_equal(err.msg, "no to address");
}

/* --- delivery ---------------------------------------------------------------- */

/* The scratch tree (certificates, spools) of the delivery tests. */
static int make_certificates(void **state)
{
	char cmd[16384];
	const char *dir = scratch_make("sm-smtp");

	(void)state;
	/* A CA, a server certificate it signs for 127.0.0.1, and a second CA
	 * that signed nothing (the wrong ca_file). EC keys: quick to make. */
	snprintf(cmd, sizeof cmd,
	         "(set -e; cd '%s'; mkdir spool;"
	         "for ca in ca other; do openssl req -x509 -newkey ec -pkeyopt "
	         "ec_paramgen_curve:prime256v1 -nodes -keyout $ca.key -out $ca.pem -days 1 "
	         "-subj /CN=sm-test-$ca -addext basicConstraints=critical,CA:TRUE "
	         "-addext keyUsage=critical,keyCertSign,cRLSign; done;"
	         "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	         "-keyout server.key -out server.csr -subj /CN=127.0.0.1;"
	         "printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > ext;"
	         "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
	         "-out server.pem -days 1 -extfile ext) >/dev/null 2>&1",
	         dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

struct smtpd {
	pid_t pid;
	int port;
};

/* The server running now, stopped by stop_smtpd or, when an assertion
 * left it behind, by the test's teardown. */
static pid_t running;

/* Start smtpd.py with args (shell words), spooling into the scratch
 * "spool" directory, emptied first. */
static struct smtpd start_smtpd(const char *args)
{
	char cmd[16384], line[64] = "";
	struct smtpd s = {0};
	int fds[2];
	FILE *f;

	snprintf(cmd, sizeof cmd, "rm -f '%s'/*", at("spool"));
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "cd '%s' && exec /usr/bin/python3 '%s' --spool spool %s",
	         scratch_root(), fixture("bin/smtpd.py"), args);
	assert_int_equal(pipe(fds), 0);
	s.pid = fork();
	assert_true(s.pid >= 0);
	if (s.pid == 0) {
		/* Not even a crash of the test may leave the server behind. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	running = s.pid;
	close(fds[1]);
	f = fdopen(fds[0], "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof line, f));
	fclose(f);
	assert_int_equal(sscanf(line, "PORT %d", &s.port), 1);
	return s;
}

static void stop_smtpd(struct smtpd *s)
{
	int status;

	kill(s->pid, SIGTERM);
	waitpid(s->pid, &status, 0);
	running = 0;
}

static int stop_running(void **state)
{
	struct smtpd s = {.pid = running};

	(void)state;
	if (running)
		stop_smtpd(&s);
	return 0;
}

/* The text of a scratch file (malloc'd). */
static char *slurp_at(const char *rel)
{
	FILE *f = fopen(at(rel), "rb");
	char *buf;
	long size;

	if (!f)
		fail_msg("no %s", rel);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	return buf;
}

static const sm_mail alert = {
    .from = "sm@example.test",
    .to = two,
    .subject = "[CRITICAL] DiskSpaceLow on db-01 — 97 %",
    .text = "Alert: DiskSpaceLow\nSeverity: CRITICAL\n",
    .html = "<p>DiskSpaceLow</p>",
};

/* Send alert through srv (its port set from s); asserts it was accepted. */
static void send_ok(sm_smtp_server *srv, const struct smtpd *s)
{
	sm_error err = {0};
	bool transient = true;

	srv->host = "127.0.0.1";
	srv->port = s->port;
	if (sm_smtp_send(srv, &alert, &transient, &err) != 0)
		fail_msg("sm_smtp_send: %s", err.msg);
	assert_false(transient);
}

/* Send alert through srv: it fails, transient or not, and the error names
 * the server. Returns the error for more checks. */
static sm_error send_fails(sm_smtp_server *srv, int port, bool want_transient)
{
	sm_error err = {0};
	bool transient = !want_transient;
	char where[64];

	srv->host = "127.0.0.1";
	srv->port = port;
	assert_int_equal(sm_smtp_send(srv, &alert, &transient, &err), -1);
	if (transient != want_transient)
		fail_msg("transient %d for \"%s\"", transient, err.msg);
	snprintf(where, sizeof where, "127.0.0.1:%d", port);
	if (!strstr(err.msg, where))
		fail_msg("\"%s\" does not name %s", err.msg, where);
	return err;
}

/* The envelope of the first spooled message is exactly json (with
 * "tls": tls and "auth": auth as JSON), and its message is alert. */
static void assert_delivered(const char *tls, const char *auth)
{
	char expected[512], *envelope = slurp_at("spool/1.json"), *msg = slurp_at("spool/1.eml");
	char *v, *body[2], *type[2];

	snprintf(expected, sizeof expected,
	         "{\"mail_from\": \"sm@example.test\", \"rcpt_tos\": [\"ops@example.test\", "
	         "\"dba+pager@example.test\"], \"auth\": %s, \"tls\": %s}",
	         auth, tls);
	assert_string_equal(envelope, expected);
	v = header(msg, "Subject");
	assert_true(strncmp(v, "=?UTF-8?B?", 10) == 0);
	free(v);
	v = header(msg, "To");
	assert_string_equal(v, "ops@example.test, dba+pager@example.test");
	free(v);
	assert_int_equal(parts(msg, body, type), 2);
	assert_string_equal(body[0], "Alert: DiskSpaceLow\nSeverity: CRITICAL\n");
	assert_string_equal(body[1], "<p>DiskSpaceLow</p>");
	for (int i = 0; i < 2; i++) {
		free(body[i]);
		free(type[i]);
	}
	free(envelope);
	free(msg);
}

static void send_plain(void **state)
{
	struct smtpd s = start_smtpd("");
	sm_smtp_server srv = {0};

	(void)state;
	send_ok(&srv, &s);
	assert_delivered("false", "null");
	stop_smtpd(&s);
}

static void send_starttls(void **state)
{
	struct smtpd s = start_smtpd("--starttls server.pem server.key");
	sm_smtp_server srv = {.starttls = true};
	char ca[4096];

	(void)state;
	snprintf(ca, sizeof ca, "%s", at("ca.pem"));
	srv.ca_file = ca;
	send_ok(&srv, &s);
	assert_delivered("true", "null");

	/* Without the test CA the server's certificate cannot be verified. */
	srv.ca_file = NULL;
	send_fails(&srv, s.port, false);
	snprintf(ca, sizeof ca, "%s", at("other.pem"));
	srv.ca_file = ca;
	send_fails(&srv, s.port, false);
	stop_smtpd(&s);
}

static void starttls_required(void **state)
{
	/* A server without STARTTLS: no falling back to plain text. */
	struct smtpd s = start_smtpd("");
	sm_smtp_server srv = {.starttls = true};

	(void)state;
	send_fails(&srv, s.port, false);
	assert_int_equal(access(at("spool/1.eml"), F_OK), -1);
	stop_smtpd(&s);
}

static void send_smtps(void **state)
{
	struct smtpd s = start_smtpd("--smtps server.pem server.key");
	sm_smtp_server srv = {.smtps = true};
	char ca[4096];

	(void)state;
	snprintf(ca, sizeof ca, "%s", at("ca.pem"));
	srv.ca_file = ca;
	send_ok(&srv, &s);
	assert_delivered("true", "null");
	snprintf(ca, sizeof ca, "%s", at("other.pem"));
	send_fails(&srv, s.port, false);
	stop_smtpd(&s);
}

static void send_auth(void **state)
{
	struct smtpd s = start_smtpd("--starttls server.pem server.key --auth 'alerts:pa55-w0rd'");
	sm_smtp_server srv = {.starttls = true, .username = "alerts", .password = "pa55-w0rd"};
	char ca[4096];
	sm_error err;

	(void)state;
	snprintf(ca, sizeof ca, "%s", at("ca.pem"));
	srv.ca_file = ca;
	send_ok(&srv, &s);
	assert_delivered("true", "{\"login\": \"alerts\", \"mechanism\": \"PLAIN\"}");

	/* A wrong password is refused for good, and not repeated. */
	srv.password = "wrong-password";
	err = send_fails(&srv, s.port, false);
	assert_non_null(strstr(err.msg, ": authentication refused (server: 535 "));
	assert_null(strstr(err.msg, "wrong-password"));
	assert_null(strstr(err.msg, "alerts"));
	/* No credentials at all: the server wants them (a 5xx). */
	srv.username = NULL;
	err = send_fails(&srv, s.port, false);
	assert_non_null(strstr(err.msg, "(server: 530 "));
	stop_smtpd(&s);

	/* LOGIN when that is all the server offers. */
	s = start_smtpd("--starttls server.pem server.key --auth 'alerts:pa55-w0rd' "
	                "--auth-mechanism LOGIN");
	srv.username = "alerts";
	srv.password = "pa55-w0rd";
	send_ok(&srv, &s);
	assert_delivered("true", "{\"login\": \"alerts\", \"mechanism\": \"LOGIN\"}");
	stop_smtpd(&s);
}

static void server_replies(void **state)
{
	struct smtpd s = start_smtpd("--fail 451");
	sm_smtp_server srv = {0};
	sm_error err;

	(void)state;
	err = send_fails(&srv, s.port, true);
	assert_non_null(
	    strstr(err.msg, ": message refused (server: 451 failure requested by the test)"));
	stop_smtpd(&s);
	s = start_smtpd("--fail 554");
	err = send_fails(&srv, s.port, false);
	assert_non_null(
	    strstr(err.msg, ": message refused (server: 554 failure requested by the test)"));
	stop_smtpd(&s);
}

/* A loopback port nothing listens on (or, with listening, a socket that
 * never accepts nor greets); its descriptor in *fd. */
static int loopback_port(bool listening, int *fd)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
	if (listening)
		assert_int_equal(listen(s, 8), 0);
	*fd = s;
	return ntohs(a.sin_port);
}

static void network_failures(void **state)
{
	sm_smtp_server srv = {.timeout_s = 0.5};
	int fd, port;
	sm_error err;

	(void)state;
	/* Bound but not listening: refused. */
	port = loopback_port(false, &fd);
	err = send_fails(&srv, port, true);
	assert_non_null(strstr(err.msg, "Connection refused"));
	close(fd);
	/* Accepted by the kernel, never greeted: the timeout. */
	port = loopback_port(true, &fd);
	send_fails(&srv, port, true);
	close(fd);
}

static void bad_server(void **state)
{
	sm_smtp_server srv = {.host = "mail.example.test/x"};
	sm_error err = {0};
	bool transient = true;

	(void)state;
	assert_int_equal(sm_smtp_send(&srv, &alert, &transient, &err), -1);
	assert_false(transient);
	assert_string_equal(err.msg, "bad SMTP host");
	srv.host = "127.0.0.1";
	srv.port = 70000;
	assert_int_equal(sm_smtp_send(&srv, &alert, &transient, &err), -1);
	assert_string_equal(err.msg, "SMTP 127.0.0.1: port 70000 out of range");
	/* A bad message is refused before any connection. */
	srv.port = 1;
	sm_mail m = alert;
	m.from = "bad from";
	assert_int_equal(sm_smtp_send(&srv, &m, &transient, &err), -1);
	assert_false(transient);
	assert_string_equal(err.msg, "bad from address: bad?from");
}

int main(void)
{
	const struct CMUnitTest format_tests[] = {
	    cmocka_unit_test(headers),         cmocka_unit_test(both_parts),
	    cmocka_unit_test(text_only),       cmocka_unit_test(quoted_printable_round_trip),
	    cmocka_unit_test(encoded_subject), cmocka_unit_test(header_injection),
	    cmocka_unit_test(addresses),       cmocka_unit_test(bad_server),
	};
	const struct CMUnitTest send_tests[] = {
	    cmocka_unit_test_teardown(send_plain, stop_running),
	    cmocka_unit_test_teardown(send_starttls, stop_running),
	    cmocka_unit_test_teardown(starttls_required, stop_running),
	    cmocka_unit_test_teardown(send_smtps, stop_running),
	    cmocka_unit_test_teardown(send_auth, stop_running),
	    cmocka_unit_test_teardown(server_replies, stop_running),
	    cmocka_unit_test_teardown(network_failures, stop_running),
	};
	int failed = cmocka_run_group_tests_name("format", format_tests, NULL, NULL);

	return failed +
	       cmocka_run_group_tests_name("send", send_tests, make_certificates, scratch_remove);
}
