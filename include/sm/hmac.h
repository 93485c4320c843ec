/* hmac.h - SHA-256 digests and HMAC-SHA256 signatures (OpenSSL).
 *
 * libcrypto is loaded on first use, not at start: it costs every process
 * that maps it about 1.5 MiB of resident memory and a millisecond and a half
 * of start-up, and most runs of sm-check never sign anything
 * (bench/README.md). A missing libcrypto is an error at the call.
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

#endif
