/* smtp.h - mail for sm-notify's email driver: the message (RFC 5322 +
 * MIME) and its delivery over SMTP through libcurl.
 *
 * The message is multipart/alternative with a text/plain and a text/html
 * part (text only when html is NULL), both UTF-8 and quoted-printable; it
 * carries Date, Message-ID, From, To, Subject and MIME-Version. A subject
 * that is not plain ASCII is RFC 2047-encoded. CR and LF are removed from
 * every header value, so a value from a payload cannot add a header.
 *
 * Delivery: smtp:// with STARTTLS required when starttls is set, smtps://
 * (TLS from the first byte) when smtps is set, plain otherwise; AUTH only
 * when a username is given; TLS peers and host names are always verified
 * (against ca_file when given). Error messages name the server (host and
 * port), never the credentials.
 */
#ifndef SM_SMTP_H
#define SM_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "sm/err.h"

typedef struct sm_mail {
	const char *from;              /* address, "a@b" */
	const char *const *to;         /* NULL-terminated addresses, at least one */
	const char *subject;           /* UTF-8 */
	const char *text;              /* the text/plain part */
	const char *html;              /* the text/html part; NULL: a text/plain message */
	const char *message_id_domain; /* right side of Message-ID; NULL: from's domain */
} sm_mail;

typedef struct sm_smtp_server {
	const char *host;
	int port;             /* 0: 465 with smtps, else 587 with starttls, else 25 */
	const char *username; /* NULL or "": no AUTH */
	const char *password;
	bool starttls; /* use_tls: require STARTTLS */
	bool smtps;    /* use_ssl: implicit TLS */
	const char *ca_file;
	double timeout_s; /* whole exchange; 0: 10 s */
} sm_smtp_server;

/* The whole message, CRLF line ends, malloc'd and NUL-terminated, its
 * length in *len. now sets Date. NULL with err on a missing from/to or
 * an address with characters an address cannot hold. */
char *sm_mail_format(const sm_mail *mail, time_t now, size_t *len, sm_error *err);

/* Is addr a plausible mailbox (local@domain, printable ASCII, no spaces,
 * angle brackets, commas or line breaks)? */
bool sm_mail_address_ok(const char *addr);

/* Format and send mail through srv. 0 when the server accepted it; -1
 * with err otherwise, *transient (may be NULL) true for failures that may
 * pass (no connection, timeout, a 4xx reply) and false for those that
 * will not (TLS verification, authentication refused, a 5xx reply). */
int sm_smtp_send(const sm_smtp_server *srv, const sm_mail *mail, bool *transient, sm_error *err);

#endif
