/* checker_disk_temp.c - the hottest disk temperature (hwmon.c).
 *
 * SATA disks report through the drivetemp module (Linux >= 5.6), NVMe drives
 * through the nvme driver itself; SMART is deliberately out of scope.
 */
#include "checkers.h"
#include "hwmon.h"

static const char *const disk_chips[] = {"drivetemp", "nvme", NULL};

static const sm_hwmon_checker disk_temp = {
    .chips = disk_chips,
    .subject = "disk",
    .none = "no disk temperature sensors",
    .count_key = "disk_count",
    .hottest_key = "hottest_disk",
    .list_key = "disks",
    .item_key = "disk",
};

SM_CHECKER_RUN(run)
{
	(void)self;
	(void)opts;
	sm_hwmon_check(&disk_temp, res);
}

const sm_checker sm_checker_disk_temp = {
    .name = "disk_temp",
    .description = "Hottest disk temperature (°C) from hwmon.",
    .run = run,
    .warning = 55,
    .critical = 60,
    .advice = "check the drive's cooling and health: sudo smartctl -a /dev/DISK",
};
