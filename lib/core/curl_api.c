/* curl_api.c - libcurl loaded on first use, and its process-wide set-up
 * (see curl_api.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curl_api.h"

#ifndef SM_CURL_LIBRARY
#define SM_CURL_LIBRARY "libcurl.so.4"
#endif

struct sm_curl_api sm_curl;

static char why[256];
static bool usable;

/* Each function of sm_curl, by its name in the library. */
#define SLOT(member) offsetof(struct sm_curl_api, member)
static const struct {
	size_t at;
	const char *name;
} names[] = {
    {SLOT(global_init), "curl_global_init"},   {SLOT(easy_init), "curl_easy_init"},
    {SLOT(easy_setopt), "curl_easy_setopt"},   {SLOT(easy_perform), "curl_easy_perform"},
    {SLOT(easy_getinfo), "curl_easy_getinfo"}, {SLOT(easy_reset), "curl_easy_reset"},
    {SLOT(easy_cleanup), "curl_easy_cleanup"}, {SLOT(easy_strerror), "curl_easy_strerror"},
    {SLOT(slist_append), "curl_slist_append"}, {SLOT(slist_free_all), "curl_slist_free_all"},
};

static void load(void)
{
	const char *name = getenv("SM_CURL_LIBRARY");
	void *lib;
	CURLcode rc;

	if (!name || !*name)
		name = SM_CURL_LIBRARY;
	/* Kept for the process's life: its handles may outlive any caller. */
	lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);

	if (!lib) {
		snprintf(why, sizeof why, "cannot load libcurl: %s", dlerror());
		return;
	}
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		void *fn = dlsym(lib, names[i].name);
		if (!fn) {
			snprintf(why, sizeof why, "cannot load libcurl: %s has no %s", name,
			         names[i].name);
			return;
		}
		/* POSIX: a function's address from dlsym may be stored in a
		 * function pointer of its type. */
		memcpy((char *)&sm_curl + names[i].at, &fn, sizeof fn);
	}
	rc = sm_curl.global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK) {
		snprintf(why, sizeof why, "cannot initialise libcurl: %s",
		         sm_curl.easy_strerror(rc));
		return;
	}
	usable = true;
}

bool sm_curl_ready(char *err, size_t size)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, load);
	if (!usable && err && size)
		snprintf(err, size, "%s", why);
	return usable;
}

CURLcode sm_curl_protocols(CURL *h, const char *protocols, long mask)
{
#if LIBCURL_VERSION_NUM >= 0x075500
	(void)mask;
	return curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols);
#else
	(void)protocols;
	return curl_easy_setopt(h, CURLOPT_PROTOCOLS, mask);
#endif
}
