/* curl_api.h - private to libsm: what http.c and smtp.c share about libcurl.
 *
 * libcurl is linked normally. A tool whose code sends nothing does not map
 * it: libsm is a static library whose unused code the link drops, and the
 * tools link with --as-needed (bench/README.md).
 */
#ifndef SM_CURL_API_H
#define SM_CURL_API_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

/* Initialise libcurl once (curl_global_init is not thread-safe before
 * libcurl 7.84). false when it cannot be used, with why in err (size
 * bytes). */
bool sm_curl_ready(char *err, size_t size);

/* Limit handle h to the protocols named (libcurl >= 7.85, e.g.
 * "http,https") or, on older libraries, in mask (CURLPROTO_*). */
CURLcode sm_curl_protocols(CURL *h, const char *names, long mask);

#endif
