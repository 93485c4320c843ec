/* hmac.h - SHA-256 digests and HMAC-SHA256 signatures through OpenSSL's
 * libcrypto (an OpenSSL failure is an error at the call). Every input is a
 * pointer and a length: any byte, a NUL included, is part of what is
 * digested or signed.
 */
#ifndef SM_HMAC_H
#define SM_HMAC_H

#include <stddef.h>
#include "sm/err.h"

#define SM_SHA256_HEX 65 /* 64 hex digits and the NUL */

int sm_sha256_hex(const void *data, size_t len, char out[SM_SHA256_HEX], sm_error *err);
int sm_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
                       char out[SM_SHA256_HEX], sm_error *err);
/* Check signature against the HMAC of data, in constant time: 1 valid,
 * 0 invalid, -1 error. The header may hold several signatures separated by
 * commas or spaces (secret rotation), each 64 hex digits, upper or lower
 * case, optionally prefixed "sha256=" or "v1=" (PagerDuty); one must match. */
int sm_hmac_verify(const void *key, size_t keylen, const void *data, size_t len,
                   const char *signature, sm_error *err);

/* The timestamped form of a push or webhook signature: HMAC-SHA256 of
 * "<stamp>.<data>" (the stamp in decimal, a dot, then all len bytes of
 * data), as hex. */
int sm_hmac_stamped_hex(const void *key, size_t keylen, long long stamp, const void *data,
                        size_t len, char out[SM_SHA256_HEX], sm_error *err);
/* sm_hmac_verify against the timestamped form: 1 valid, 0 invalid, -1
 * error. */
int sm_hmac_verify_stamped(const void *key, size_t keylen, long long stamp, const void *data,
                           size_t len, const char *signature, sm_error *err);

#endif
