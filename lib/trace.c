/* trace.c - random trace ids from the kernel's CSPRNG. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "sm/trace.h"

int sm_trace_new(char out[SM_TRACE_LEN + 1])
{
	unsigned char raw[SM_TRACE_LEN / 2];
	size_t got = 0;

	while (got < sizeof raw) {
		ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
		if (n < 0)
			return -1;
		got += (size_t)n;
	}
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
