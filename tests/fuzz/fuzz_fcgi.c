/* fuzz_fcgi.c - libFuzzer harness: any bytes as what a web server sends a
 * FastCGI responder, fed in chunks whose size the first byte picks, each
 * complete request answered as sm-ingest would; and the same bytes as a
 * name-value pair stream. Small limits, so the overflow paths are reached. */
#include <stdint.h>
#include <string.h>

#include "sm/fcgi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const sm_fcgi_limits limits = {.max_params = 512, .max_body = 256};
	const unsigned char *name, *value;
	size_t pos = 0, nl, vl, chunk, off = 1;
	sm_fcgi_conn *c;

	if (size == 0)
		return 0;
	while (sm_fcgi_pair_next(data, size, &pos, &name, &nl, &value, &vl) == 1)
		if (nl + vl > size)
			__builtin_trap();
	chunk = (size_t)data[0] % 64 + 1;
	c = sm_fcgi_conn_new(&limits);
	if (!c)
		return 0;
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk, used = 0, len, total;
		int rc = sm_fcgi_conn_feed(c, data + off, n, &used);
		if (used > n)
			__builtin_trap();
		off += used;
		sm_fcgi_conn_output(c, &len);
		sm_fcgi_conn_sent(c, len / 2 + 1);
		if (rc == SM_FCGI_ERROR || rc == SM_FCGI_CLOSE)
			break;
		if (rc == SM_FCGI_READY) {
			const char *method = sm_fcgi_param(c, "REQUEST_METHOD");
			const char *body = sm_fcgi_body(c, &len, &total);
			if (len > limits.max_body || len > total || body[len] != '\0')
				__builtin_trap();
			sm_fcgi_write(c, "Status: 202\r\n\r\n", 15);
			sm_fcgi_write(c, method ? method : "", method ? strlen(method) : 0);
			sm_fcgi_end(c, 0);
		}
	}
	sm_fcgi_conn_free(c);
	return 0;
}
