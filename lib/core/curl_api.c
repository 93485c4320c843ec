/* curl_api.c - libcurl's process-wide set-up (see curl_api.h). */
#include <pthread.h>
#include <stdio.h>

#include "curl_api.h"

static CURLcode init_rc = CURLE_FAILED_INIT;

static void init(void)
{
	init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

bool sm_curl_ready(char *err, size_t size)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, init);
	if (init_rc != CURLE_OK && err && size)
		snprintf(err, size, "cannot initialise libcurl: %s", curl_easy_strerror(init_rc));
	return init_rc == CURLE_OK;
}

CURLcode sm_curl_protocols(CURL *h, const char *names, long mask)
{
#if LIBCURL_VERSION_NUM >= 0x075500
	(void)mask;
	return curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, names);
#else
	(void)names;
	return curl_easy_setopt(h, CURLOPT_PROTOCOLS, mask);
#endif
}
