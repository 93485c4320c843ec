/* curl_api.h - private to libsm: what http.c and smtp.c share about libcurl.
 *
 * libcurl is loaded when a process first sends (sm_curl_ready), not when it
 * starts: it and the thirty libraries it needs cost a tool that sends
 * nothing that run (sm-notify listing its channels, sm-analyze on its
 * local rules, sm-pipeline's queue worker between deliveries) about 4 ms
 * of relocations and 6 MiB of memory (bench/README.md). So no tool links
 * it: its functions are reached through sm_curl, filled by sm_curl_ready
 * from the library named by $SM_CURL_LIBRARY, else by the build (the one
 * it was configured with, e.g. "libcurl.so.4"), and the curl_* names below
 * call through it. Nothing may call them
 * before sm_curl_ready has returned true.
 */
#ifndef SM_CURL_API_H
#define SM_CURL_API_H

#include <stdbool.h>
#include <stddef.h>

/* The functions are called through pointers, not by the names curl.h's
 * type-checking macros wrap. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

struct sm_curl_api {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *h, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	void (*easy_reset)(CURL *h);
	void (*easy_cleanup)(CURL *h);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
};
extern struct sm_curl_api sm_curl;

/* (curl.h defines these two as calls of themselves.) */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_easy_init      sm_curl.easy_init
#define curl_easy_setopt    sm_curl.easy_setopt
#define curl_easy_perform   sm_curl.easy_perform
#define curl_easy_getinfo   sm_curl.easy_getinfo
#define curl_easy_reset     sm_curl.easy_reset
#define curl_easy_cleanup   sm_curl.easy_cleanup
#define curl_easy_strerror  sm_curl.easy_strerror
#define curl_slist_append   sm_curl.slist_append
#define curl_slist_free_all sm_curl.slist_free_all

/* Load libcurl and initialise it, once (curl_global_init is not
 * thread-safe before libcurl 7.84). false when it cannot be used, with why
 * in err (size bytes). */
bool sm_curl_ready(char *err, size_t size);

/* Limit handle h to the protocols named (libcurl >= 7.85, e.g.
 * "http,https") or, on older libraries, in mask (CURLPROTO_*). */
CURLcode sm_curl_protocols(CURL *h, const char *names, long mask);

#endif
