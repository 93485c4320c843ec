/* bare_cgi.c - the baseline of the CGI benchmark: a CGI program that reads
 * CONTENT_LENGTH bytes and answers 202 with a small JSON body, doing nothing
 * else. Built by bench/ingest.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	const char *cl = getenv("CONTENT_LENGTH");
	long want = cl ? atol(cl) : 0, got = 0;
	char buf[65536];

	while (got < want) {
		ssize_t n = read(0, buf, sizeof buf);
		if (n <= 0)
			break;
		got += n;
	}
	printf("Status: 202 Accepted\r\nContent-Type: application/json\r\n\r\n"
	       "{\"status\":\"accepted\",\"bytes\":%ld}\n",
	       got);
	return 0;
}
