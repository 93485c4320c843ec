/* fuzz_range.c - libFuzzer harness for threshold ranges ("[@][start:][end]"
 * or a plain number, as -w/-c take them). A range that parses must keep
 * its text within the struct and answer sm_range_trips for any value
 * without a sanitizer report; a refused one must say why. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sm/range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const double probes[] = {-INFINITY, -1e300, -1, 0, 0.5, 1, 80, 1e300, INFINITY, NAN};
	char *text = malloc(size + 1);
	sm_range r;
	sm_error err;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (sm_range_parse(text, &r, &err) == 0) {
		if (!r.set || strnlen(r.text, sizeof r.text) == sizeof r.text)
			abort();
		for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
			(void)sm_range_trips(&r, probes[i], false);
			(void)sm_range_trips(&r, probes[i], true);
		}
	} else if (!err.msg[0]) {
		abort();
	}
	free(text);
	return 0;
}
