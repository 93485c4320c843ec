/* checker_cpu_temp.c - the hottest CPU temperature sensor (hwmon.c). */
#include "checkers.h"
#include "hwmon.h"

/* Intel, AMD (in-tree and out-of-tree drivers) and Raspberry Pi SoCs. */
static const char *const cpu_chips[] = {"coretemp", "k10temp", "zenpower", "cpu_thermal", NULL};

static const sm_hwmon_checker cpu_temp = {
    .chips = cpu_chips,
    .subject = "CPU sensor",
    .none = "no CPU temperature sensors",
    .count_key = "sensor_count",
    .hottest_key = "hottest_sensor",
    .list_key = "sensors",
    .item_key = "sensor",
};

SM_CHECKER_RUN(run)
{
	(void)self;
	(void)opts;
	sm_hwmon_check(&cpu_temp, res);
}

const sm_checker sm_checker_cpu_temp = {
    .name = "cpu_temp",
    .description = "Hottest CPU package/core temperature (°C) from hwmon.",
    .run = run,
    .warning = 80,
    .critical = 90,
    .advice = "check fans, airflow and dust; sensors shows every reading",
};
