/* hmac.c - SHA-256 and HMAC-SHA256 on OpenSSL's libcrypto, called
 * directly.
 *
 * sm-check and sm-ingest, which run as a process per check or per request,
 * are linked static-pie with libcrypto.a where the static libraries exist
 * (CMakeLists.txt, SM_STATIC_TOOLS): they carry only the OpenSSL code these
 * functions reach, and a process that never digests never touches it.
 *
 * Everything goes through SHA256_Init/Update/Final, deprecated since
 * OpenSSL 3.0 but still its own implementation without the provider
 * machinery. EVP_Digest, HMAC() and OpenSSL 3's one-shot SHA256() all
 * reach the default provider's tables of every algorithm: a static tool
 * linked with them carries and relocates about 3 MiB of code and 350 KiB
 * of tables at every start, digest or not (sm-ingest 5.8 against 2.8 MB of
 * text; one CGI request 1.6 against 1.3 ms of CPU; bench/README.md, issue
 * 11), and their first use builds the tables (about 1 ms and 1.4 MiB).
 * HMAC is therefore the two nested SHA-256 passes of RFC 2104 over
 * OpenSSL's SHA-256, its known answers (RFC 4231) in tests/unit/test_hmac.c;
 * signatures are compared with OpenSSL's CRYPTO_memcmp and the key material
 * is wiped with OPENSSL_cleanse.
 */
/* The SHA256_* functions without their deprecation attribute (1.1.1 API). */
#define OPENSSL_API_COMPAT 0x10101000L

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "sm/hmac.h"

static void to_hex(const unsigned char *md, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * n] = '\0';
}

int sm_sha256_hex(const void *data, size_t len, char out[SM_SHA256_HEX], sm_error *err)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256_CTX ctx;

	if (!SHA256_Init(&ctx) || !SHA256_Update(&ctx, data, len) || !SHA256_Final(md, &ctx)) {
		sm_error_set(err, "SHA-256 failed");
		return -1;
	}
	to_hex(md, sizeof md, out);
	return 0;
}

static int hmac_raw(const void *key, size_t keylen, const void *data, size_t len,
                    unsigned char md[SHA256_DIGEST_LENGTH], sm_error *err)
{
	unsigned char k[SHA256_CBLOCK] = {0}, pad[SHA256_CBLOCK], inner[SHA256_DIGEST_LENGTH];
	SHA256_CTX ctx;
	int ok = 1;

	if (keylen > SHA256_CBLOCK)
		ok &=
		    SHA256_Init(&ctx) && SHA256_Update(&ctx, key, keylen) && SHA256_Final(k, &ctx);
	else if (keylen)
		memcpy(k, key, keylen);
	for (size_t i = 0; i < sizeof pad; i++)
		pad[i] = k[i] ^ 0x36;
	ok &= SHA256_Init(&ctx) && SHA256_Update(&ctx, pad, sizeof pad) &&
	      SHA256_Update(&ctx, data, len) && SHA256_Final(inner, &ctx);
	for (size_t i = 0; i < sizeof pad; i++)
		pad[i] = k[i] ^ 0x5c;
	ok &= SHA256_Init(&ctx) && SHA256_Update(&ctx, pad, sizeof pad) &&
	      SHA256_Update(&ctx, inner, sizeof inner) && SHA256_Final(md, &ctx);
	OPENSSL_cleanse(k, sizeof k);
	OPENSSL_cleanse(pad, sizeof pad);
	OPENSSL_cleanse(&ctx, sizeof ctx);
	if (!ok) {
		sm_error_set(err, "HMAC-SHA256 failed");
		return -1;
	}
	return 0;
}

int sm_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
                       char out[SM_SHA256_HEX], sm_error *err)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	if (hmac_raw(key, keylen, data, len, md, err) < 0)
		return -1;
	to_hex(md, 32, out);
	return 0;
}

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One signature of n bytes: optional "sha256=" or "v1=" (PagerDuty), then
 * 64 hex digits. */
static bool decode(const char *s, size_t n, unsigned char out[32])
{
	if (n > 7 && strncasecmp(s, "sha256=", 7) == 0) {
		s += 7;
		n -= 7;
	} else if (n > 3 && strncasecmp(s, "v1=", 3) == 0) {
		s += 3;
		n -= 3;
	}
	if (n != 64)
		return false;
	for (size_t i = 0; i < 32; i++) {
		int hi = hex_value((unsigned char)s[2 * i]);
		int lo = hex_value((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

int sm_hmac_verify(const void *key, size_t keylen, const void *data, size_t len,
                   const char *signature, sm_error *err)
{
	unsigned char want[SHA256_DIGEST_LENGTH], got[32];
	int valid = 0;

	if (!signature || !*signature)
		return 0;
	if (hmac_raw(key, keylen, data, len, want, err) < 0)
		return -1;
	/* Several signatures may come, comma- or space-separated (a sender
	 * rotating its secret signs with both); any one may match. */
	for (const char *p = signature; *p;) {
		size_t n = strcspn(p, ", ");
		if (n > 0 && decode(p, n, got) && CRYPTO_memcmp(want, got, 32) == 0)
			valid = 1;
		p += n;
		p += strspn(p, ", ");
	}
	return valid;
}

/* "<stamp>.<data>" as len bytes and the stamp's digits: data may hold any
 * byte, a NUL included, and all of it is signed. */
static unsigned char *stamped(long long stamp, const void *data, size_t len, size_t *n,
                              sm_error *err)
{
	char prefix[32];
	int p = snprintf(prefix, sizeof prefix, "%lld.", stamp);
	unsigned char *text;

	if (p < 0 || (size_t)p >= sizeof prefix || len > SIZE_MAX - (size_t)p ||
	    !(text = malloc((size_t)p + len + 1))) {
		sm_error_set(err, "out of memory");
		return NULL;
	}
	memcpy(text, prefix, (size_t)p);
	if (len)
		memcpy(text + p, data, len);
	*n = (size_t)p + len;
	return text;
}

int sm_hmac_stamped_hex(const void *key, size_t keylen, long long stamp, const void *data,
                        size_t len, char out[SM_SHA256_HEX], sm_error *err)
{
	size_t n;
	unsigned char *text = stamped(stamp, data, len, &n, err);
	int rc;

	if (!text)
		return -1;
	rc = sm_hmac_sha256_hex(key, keylen, text, n, out, err);
	free(text);
	return rc;
}

int sm_hmac_verify_stamped(const void *key, size_t keylen, long long stamp, const void *data,
                           size_t len, const char *signature, sm_error *err)
{
	size_t n;
	unsigned char *text = stamped(stamp, data, len, &n, err);
	int rc;

	if (!text)
		return -1;
	rc = sm_hmac_verify(key, keylen, text, n, signature, err);
	free(text);
	return rc;
}
