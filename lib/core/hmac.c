/* hmac.c - SHA-256 and HMAC-SHA256 through libcrypto, loaded on first use.
 *
 * The one library libsm loads by hand. Mapped at start, as linking it
 * normally would, libcrypto costs every process about 1.4 MiB of resident
 * memory and 0.5 ms of CPU (relocating it), signing or not, and sm-check
 * (fingerprints, with --alerts only) and every CGI request of sm-ingest
 * (keys and signatures, only when configured) would pay it; linked
 * statically, its digests pull in OpenSSL's providers and cost more
 * (bench/README.md, issue 11). The tools that send (sm-notify, sm-analyze,
 * sm-push-hub) map it through libcurl anyway; dlopen then finds it loaded.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/opensslv.h>

#include "sm/hmac.h"

#define STR2(x)   #x
#define STR(x)    STR2(x)
#define LIBCRYPTO "libcrypto.so." STR(OPENSSL_VERSION_MAJOR)

/* The functions we call, typed from OpenSSL's own prototypes. */
static struct {
	__typeof__(EVP_sha256) *sha256;
	__typeof__(EVP_Digest) *digest;
	__typeof__(HMAC) *hmac;
	__typeof__(CRYPTO_memcmp) *memcmp;
	char error[256];
} crypto;

static void load(void)
{
	void *h = dlopen(LIBCRYPTO, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(crypto.error, sizeof crypto.error, "cannot load %s: %s", LIBCRYPTO,
		         dlerror());
		return;
	}
	*(void **)&crypto.sha256 = dlsym(h, "EVP_sha256");
	*(void **)&crypto.digest = dlsym(h, "EVP_Digest");
	*(void **)&crypto.hmac = dlsym(h, "HMAC");
	*(void **)&crypto.memcmp = dlsym(h, "CRYPTO_memcmp");
	if (!crypto.sha256 || !crypto.digest || !crypto.hmac || !crypto.memcmp) {
		snprintf(crypto.error, sizeof crypto.error, "%s lacks a needed function",
		         LIBCRYPTO);
		crypto.sha256 = NULL;
	}
	/* The handle stays open for the life of the process. */
}

static int ready(sm_error *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, load);
	if (!crypto.sha256) {
		sm_error_set(err, "%s", crypto.error);
		return -1;
	}
	return 0;
}

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
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (ready(err) < 0)
		return -1;
	if (!crypto.digest(data, len, md, &n, crypto.sha256(), NULL) || n != 32) {
		sm_error_set(err, "SHA-256 failed");
		return -1;
	}
	to_hex(md, n, out);
	return 0;
}

static int hmac_raw(const void *key, size_t keylen, const void *data, size_t len,
                    unsigned char md[EVP_MAX_MD_SIZE], sm_error *err)
{
	unsigned int n = 0;

	if (ready(err) < 0)
		return -1;
	if (keylen > (size_t)0x7fffffff ||
	    !crypto.hmac(crypto.sha256(), key, (int)keylen, data, len, md, &n) || n != 32) {
		sm_error_set(err, "HMAC-SHA256 failed");
		return -1;
	}
	return 0;
}

int sm_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
                       char out[SM_SHA256_HEX], sm_error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];

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
	unsigned char want[EVP_MAX_MD_SIZE], got[32];
	int valid = 0;

	if (!signature || !*signature)
		return 0;
	if (hmac_raw(key, keylen, data, len, want, err) < 0)
		return -1;
	/* Several signatures may come, comma- or space-separated (a sender
	 * rotating its secret signs with both); any one may match. */
	for (const char *p = signature; *p;) {
		size_t n = strcspn(p, ", ");
		if (n > 0 && decode(p, n, got) && crypto.memcmp(want, got, 32) == 0)
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
