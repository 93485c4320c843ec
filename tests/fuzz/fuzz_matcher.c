/* fuzz_matcher.c - libFuzzer harness for noise control's parsers: the
 * first byte picks a label matcher, a maintenance schedule or a duration.
 * A matcher that parses must print a canonical text that parses back to
 * the same name, operator and value, and match an alert without a
 * sanitizer report; a schedule that parses answers for every minute of the
 * week; anything refused says why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sm/config.h"
#include "sm/matcher.h"
#include "sm/noise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void matcher(const char *text)
{
	json_t *alert = json_pack("{s:s,s:s,s:{s:s,s:s}}", "name", "X", "severity", "warning",
	                          "labels", "instance", "web-1", "team", "");
	sm_matcher m, again;
	sm_error err = {0};
	char *canonical;

	if (sm_matcher_parse(text, &m, &err) < 0) {
		if (!err.msg[0])
			abort();
		json_decref(alert);
		return;
	}
	(void)sm_matcher_matches(&m, alert);
	canonical = sm_matcher_text(&m);
	if (!canonical || sm_matcher_parse(canonical, &again, &err) < 0)
		abort();
	if (strcmp(again.name, m.name) != 0 || again.op != m.op ||
	    strcmp(again.value, m.value) != 0)
		abort();
	sm_matcher_clear(&again);
	sm_matcher_clear(&m);
	free(canonical);
	json_decref(alert);
}

static void schedule(const char *text)
{
	sm_noise_schedule s;
	sm_error err = {0};

	if (sm_noise_schedule_parse(text, &s, &err) < 0) {
		if (!err.msg[0])
			abort();
		return;
	}
	if (s.count == 0)
		abort();
	for (int day = 0; day < 7; day++)
		for (int minute = 0; minute < 1440; minute += 7)
			(void)sm_noise_schedule_active(&s, day, minute);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	double seconds;

	if (size < 1)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		matcher(text);
		break;
	case 1:
		schedule(text);
		break;
	default:
		if (sm_config_duration(text, &seconds) == 0 && !(seconds >= 0))
			abort();
		break;
	}
	free(text);
	return 0;
}
