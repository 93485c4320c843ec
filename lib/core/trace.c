/* trace.c - random trace ids from the kernel's CSPRNG. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <pthread.h>

#include "sm/trace.h"

/* Random bytes are taken from the kernel in batches: a batch ingest makes a
 * trace id per payload, and a getrandom call each was 50 k system calls
 * per 50 k payloads. The first batch is small (a CGI request or a check
 * run needs one or two ids, and 4 KiB of the kernel's generator was half
 * a run's getrandom time), each next one four times the last, up to
 * 4 KiB. Each thread has its own pool, and a forked child (whose copy of
 * the pool its parent will use too) empties it. */
#define POOL_FIRST 64
struct pool {
	unsigned char bytes[4096];
	size_t left;
	size_t next; /* bytes to take at the next refill; 0: POOL_FIRST */
};
static _Thread_local struct pool pool;

static void forget_in_child(void)
{
	/* Only the forking thread lives on in the child. */
	memset(pool.bytes, 0, sizeof pool.bytes);
	pool.left = 0;
}

static void watch_forks(void)
{
	pthread_atfork(NULL, NULL, forget_in_child);
}

static int take(unsigned char *out, size_t n)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, watch_forks);
	if (pool.left < n) {
		size_t got = 0, want = pool.next ? pool.next : POOL_FIRST;
		if (want < n)
			want = n;
		while (got < want) {
			ssize_t r = getrandom(pool.bytes + got, want - got, 0);
			if (r < 0)
				return -1;
			got += (size_t)r;
		}
		pool.left = want;
		pool.next = want * 4 < sizeof pool.bytes ? want * 4 : sizeof pool.bytes;
	}
	pool.left -= n;
	memcpy(out, pool.bytes + pool.left, n);
	/* What was handed out is not kept. */
	memset(pool.bytes + pool.left, 0, n);
	return 0;
}

int sm_trace_new(char out[SM_TRACE_LEN + 1])
{
	unsigned char raw[SM_TRACE_LEN / 2];

	if (take(raw, sizeof raw) < 0)
		return -1;
	for (size_t i = 0; i < sizeof raw; i++) {
		out[2 * i] = "0123456789abcdef"[raw[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[raw[i] & 15];
	}
	out[SM_TRACE_LEN] = '\0';
	return 0;
}

bool sm_trace_valid(const char *s)
{
	if (!s || strlen(s) != SM_TRACE_LEN)
		return false;
	return strspn(s, "0123456789abcdef") == SM_TRACE_LEN;
}
