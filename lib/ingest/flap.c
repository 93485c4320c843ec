/* flap.c - flap detection (ingest.h): the weighted percentage of state
 * changes over an alert's last results, and the start and stop thresholds
 * around it. Pure functions; ingest.c keeps each alert's results and its
 * flapping state in the alerts table. */
#include <string.h>

#include "sm/config.h"
#include "sm/ingest.h"

/* The weights run over the window's SM_FLAP_WINDOW - 1 transitions; the
 * newest transition is the last slot, whatever the number of results. */
#define SLOTS      (SM_FLAP_WINDOW - 1)
#define WEIGHT_OLD 0.8
#define WEIGHT_NEW 1.2

double sm_ingest_flap_percent(const char *states)
{
	size_t n = strnlen(states, SM_FLAP_WINDOW);
	double changed = 0;

	for (size_t k = 1; k < n; k++) {
		/* Transition k (between results k-1 and k) sits in slot
		 * SLOTS - n + k: the newest in the last slot. */
		size_t slot = SLOTS - n + k;
		if (states[k] != states[k - 1])
			changed +=
			    WEIGHT_OLD + (WEIGHT_NEW - WEIGHT_OLD) * (double)slot / (SLOTS - 1);
	}
	/* The weights average 1, so every transition changing is 100%. */
	return changed * 100.0 / SLOTS;
}

void sm_ingest_flap_push(char *states, char state)
{
	size_t n = strnlen(states, SM_FLAP_WINDOW);

	if (n == SM_FLAP_WINDOW) {
		memmove(states, states + 1, SM_FLAP_WINDOW - 1);
		n--;
	}
	states[n] = state;
	states[n + 1] = '\0';
}

bool sm_ingest_flapping(bool was_flapping, double percent, double start, double stop)
{
	return was_flapping ? !(percent < stop) : percent > start;
}

int sm_ingest_flap_settings(sm_flap_settings *s, sm_error *err)
{
	if (sm_config_double("SM_FLAP_START", SM_FLAP_START, &s->start, err) < 0 ||
	    sm_config_double("SM_FLAP_STOP", SM_FLAP_STOP, &s->stop, err) < 0 ||
	    !(s->start <= 100) || !(s->stop >= 0) || !(s->stop <= s->start)) {
		sm_error_set_kind(err, SM_ERROR_USAGE,
		                  "SM_FLAP_START and SM_FLAP_STOP must be percentages with "
		                  "0 <= SM_FLAP_STOP <= SM_FLAP_START <= 100");
		return -1;
	}
	if (sm_config_double("SM_FLAP_QUIET_S", SM_FLAP_QUIET_S, &s->quiet_s, err) < 0 ||
	    !(s->quiet_s >= 0)) {
		sm_error_set_kind(err, SM_ERROR_USAGE,
		                  "SM_FLAP_QUIET_S must be a number of seconds, 0 or more");
		return -1;
	}
	return 0;
}
