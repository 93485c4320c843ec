/* curl_api.c - libcurl loaded on first use (see curl_api.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "curl_api.h"

#define LIBCURL "libcurl.so.4"

struct sm_curl_api sm_curl;

static bool loaded;
static char load_error[256];

static void load(void)
{
	static const struct {
		const char *name;
		size_t offset;
	} symbols[] = {
#define SYMBOL(field, name) {name, offsetof(struct sm_curl_api, field)}
	    SYMBOL(global_init, "curl_global_init"),
	    SYMBOL(version_info, "curl_version_info"),
	    SYMBOL(init, "curl_easy_init"),
	    SYMBOL(setopt, "curl_easy_setopt"),
	    SYMBOL(perform, "curl_easy_perform"),
	    SYMBOL(getinfo, "curl_easy_getinfo"),
	    SYMBOL(cleanup, "curl_easy_cleanup"),
	    SYMBOL(strerror, "curl_easy_strerror"),
	    SYMBOL(slist_append, "curl_slist_append"),
	    SYMBOL(slist_free_all, "curl_slist_free_all"),
#undef SYMBOL
	};
	void *h = dlopen(LIBCURL, RTLD_NOW | RTLD_LOCAL);
	CURLcode rc;

	if (!h) {
		snprintf(load_error, sizeof load_error, "cannot load %s: %s", LIBCURL, dlerror());
		return;
	}
	for (size_t i = 0; i < sizeof symbols / sizeof *symbols; i++) {
		void *f = dlsym(h, symbols[i].name);

		if (!f) {
			snprintf(load_error, sizeof load_error, "%s lacks %s", LIBCURL,
			         symbols[i].name);
			return;
		}
		memcpy((char *)&sm_curl + symbols[i].offset, &f, sizeof f);
	}
	rc = sm_curl.global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK) {
		snprintf(load_error, sizeof load_error, "cannot initialise %s: %s", LIBCURL,
		         sm_curl.strerror(rc));
		return;
	}
	sm_curl.protocols_str = sm_curl.version_info(CURLVERSION_NOW)->version_num >= 0x075500;
	loaded = true;
	/* The handle stays open for the life of the process. */
}

bool sm_curl_ready(char *err, size_t size)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, load);
	if (!loaded && err && size)
		snprintf(err, size, "%s", load_error);
	return loaded;
}

CURLcode sm_curl_protocols(CURL *h, const char *names, long mask)
{
#if LIBCURL_VERSION_NUM >= 0x075500
	if (sm_curl.protocols_str)
		return sm_curl.setopt(h, CURLOPT_PROTOCOLS_STR, names);
#else
	(void)names;
#endif
		/* Before 7.85, the bitmask (deprecated since, hence the pragma). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	return sm_curl.setopt(h, CURLOPT_PROTOCOLS, mask);
#pragma GCC diagnostic pop
}
