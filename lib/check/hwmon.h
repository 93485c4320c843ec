/* hwmon.h - temperature sensors from /sys/class/hwmon, shared by the
 * cpu_temp and disk_temp checkers. Private to libsm.
 */
#ifndef SM_LIB_HWMON_H
#define SM_LIB_HWMON_H

#include <stddef.h>
#include "sm/check.h"
#include "sm/err.h"

/* One temperature sensor, in degrees Celsius. */
typedef struct sm_hwmon_temp {
	char chip[64];  /* the hwmon "name" (coretemp, nvme, …) */
	char label[64]; /* temp*_label, or the chip name when it has none */
	double current;
	double high;     /* temp*_max; NAN when absent */
	double critical; /* temp*_crit; NAN when absent */
} sm_hwmon_temp;

/* The sensors of the chips named in chips (NULL-terminated) whose current
 * reading is above 0, in hwmon then sensor number order. Without any hwmon
 * sensor at all, /sys/class/thermal zones stand in (chip = the zone's type).
 * A missing /sys/class/hwmon is no sensors; one that cannot be listed is -1
 * with err. *out is malloc'd (NULL when *count is 0). */
int sm_hwmon_read(const char *const *chips, sm_hwmon_temp **out, size_t *count, sm_error *err);

/* What tells cpu_temp and disk_temp apart: their chips, texts and keys. */
typedef struct sm_hwmon_checker {
	const char *const *chips;
	const char *subject; /* "CPU sensor": "Hottest CPU sensor 45.0°C …" */
	const char *none;    /* the skip reason when no sensor is found */
	const char *count_key, *hottest_key, *list_key, *item_key;
} sm_hwmon_checker;

/* Fill res: the hottest sensor drives the status. */
void sm_hwmon_check(const sm_hwmon_checker *spec, sm_check_result *res);

#endif
