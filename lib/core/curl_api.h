/* curl_api.h - private to libsm: libcurl, loaded on first use.
 *
 * Mapping libcurl costs a process about 5 MiB of resident memory at start
 * and most tools never send anything, so http.c and smtp.c reach it through
 * this table, filled by dlopen the first time either needs it. One loader
 * for both: curl_global_init is not thread-safe and must run once.
 */
#ifndef SM_CURL_API_H
#define SM_CURL_API_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

/* The functions we call, typed from curl's own prototypes. setopt and
 * getinfo are variadic: every value passed must already have the type the
 * option wants (long, char *, curl_off_t, a callback). */
struct sm_curl_api {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_version_info) *version_info;
	__typeof__(curl_easy_init) *init;
	__typeof__(curl_easy_setopt) *setopt;
	__typeof__(curl_easy_perform) *perform;
	__typeof__(curl_easy_getinfo) *getinfo;
	__typeof__(curl_easy_cleanup) *cleanup;
	__typeof__(curl_easy_strerror) *strerror;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
	bool protocols_str; /* CURLOPT_PROTOCOLS_STR known (libcurl >= 7.85) */
};

extern struct sm_curl_api sm_curl;

/* Limit handle h to the protocols named (libcurl >= 7.85, e.g.
 * "http,https") or, on older libraries, in mask (CURLPROTO_*). */
CURLcode sm_curl_protocols(CURL *h, const char *names, long mask);

/* Load and initialise libcurl once (thread-safe). false when it cannot be
 * used, with why in err (size bytes). */
bool sm_curl_ready(char *err, size_t size);

#endif
