/* hwmon.c - temperature sensors from /sys/class/hwmon, read the way
 * psutil's sensors_temperatures reads them.
 *
 * Each hwmonN directory (or its device/ subdirectory, where older kernels put
 * the attributes) holds a "name" file naming the chip and temp<K>_input,
 * _label, _max and _crit files in millidegrees. A sensor that cannot be read
 * or holds junk is skipped, not fatal: sysfs drivers disagree about a lot.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checkers.h"
#include "hwmon.h"
#include "sm/host.h"

#define SYSFS_MAX 4096

struct temps {
	sm_hwmon_temp *temp;
	size_t count, cap;
	bool any; /* a temp*_input exists, whatever its chip */
	bool oom;
};

static int compare_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* The numbers N of the entries "<prefix>N<suffix>" of host directory dir,
 * ascending. -1 with *errnum when dir cannot be listed. */
static int list_numbered(const char *dir, const char *prefix, const char *suffix, long **nums,
                         size_t *count, int *errnum)
{
	char path[4096];
	size_t plen = strlen(prefix), n = 0, cap = 0;
	long *list = NULL;
	struct dirent *e;
	DIR *d;

	*nums = NULL;
	*count = 0;
	if (sm_host_path(path, sizeof path, dir) < 0) {
		*errnum = ENAMETOOLONG;
		return -1;
	}
	if (!(d = opendir(path))) {
		*errnum = errno;
		return -1;
	}
	while ((e = readdir(d))) {
		const char *p = e->d_name + plen;
		char *end;
		long v;

		/* Digits without a leading zero, so "N" prints back as the name. */
		if (strncmp(e->d_name, prefix, plen) != 0 || *p < '0' || *p > '9' ||
		    (*p == '0' && p[1] >= '0' && p[1] <= '9'))
			continue;
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || strcmp(end, suffix) != 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			long *q = realloc(list, ncap * sizeof *q);
			if (!q) {
				free(list);
				closedir(d);
				*errnum = ENOMEM;
				return -1;
			}
			list = q;
			cap = ncap;
		}
		list[n++] = v;
	}
	closedir(d);
	if (n > 1)
		qsort(list, n, sizeof *list, compare_long);
	*nums = list;
	*count = n;
	return 0;
}

/* A one-line sysfs file without its trailing whitespace; -1 when unreadable
 * or empty. */
static int read_line(const char *path, char *buf, size_t size)
{
	char *data = NULL;
	size_t len;

	if (sm_host_read(path, SYSFS_MAX, &data, &len, NULL) < 0)
		return -1;
	len = strcspn(data, "\n");
	while (len > 0 && (data[len - 1] == ' ' || data[len - 1] == '\t' || data[len - 1] == '\r'))
		len--;
	data[len] = '\0';
	snprintf(buf, size, "%s", data);
	free(data);
	return len > 0 ? 0 : -1;
}

/* A millidegree file as degrees; NAN when unreadable or not a number. */
static double read_millidegrees(const char *path)
{
	char buf[64], *end;
	long long v;

	if (read_line(path, buf, sizeof buf) < 0)
		return NAN;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno || end == buf || *end)
		return NAN;
	return (double)v / 1000.0;
}

static bool allowed(const char *chip, const char *const *chips)
{
	for (; *chips; chips++)
		if (strcmp(chip, *chips) == 0)
			return true;
	return false;
}

static void add(struct temps *acc, const char *chip, const char *label, double current, double high,
                double critical)
{
	sm_hwmon_temp *t;

	if (acc->count == acc->cap) {
		size_t ncap = acc->cap ? acc->cap * 2 : 8;
		sm_hwmon_temp *p = realloc(acc->temp, ncap * sizeof *p);
		if (!p) {
			acc->oom = true;
			return;
		}
		acc->temp = p;
		acc->cap = ncap;
	}
	t = &acc->temp[acc->count++];
	snprintf(t->chip, sizeof t->chip, "%s", chip);
	snprintf(t->label, sizeof t->label, "%s", *label ? label : chip);
	t->current = current;
	/* As psutil: a sensor with only one limit reports it as both. */
	t->high = isnan(high) ? critical : high;
	t->critical = isnan(critical) ? high : critical;
}

/* The temp*_input sensors of one hwmon directory (host path dir). */
static void scan_hwmon_dir(const char *dir, const char *const *chips, struct temps *acc)
{
	char path[4096], chip[64], label[64];
	long *nums;
	size_t n;
	int errnum;

	if (list_numbered(dir, "temp", "_input", &nums, &n, &errnum) < 0)
		return;
	if (n > 0)
		acc->any = true;
	snprintf(path, sizeof path, "%s/name", dir);
	if (n == 0 || read_line(path, chip, sizeof chip) < 0 || !allowed(chip, chips))
		goto done;
	for (size_t i = 0; i < n; i++) {
		double current, high, critical;

		snprintf(path, sizeof path, "%s/temp%ld_input", dir, nums[i]);
		current = read_millidegrees(path);
		if (!(current > 0))
			continue; /* absent, junk, or a disconnected probe reading 0 */
		snprintf(path, sizeof path, "%s/temp%ld_label", dir, nums[i]);
		if (read_line(path, label, sizeof label) < 0)
			label[0] = '\0';
		snprintf(path, sizeof path, "%s/temp%ld_max", dir, nums[i]);
		high = read_millidegrees(path);
		snprintf(path, sizeof path, "%s/temp%ld_crit", dir, nums[i]);
		critical = read_millidegrees(path);
		add(acc, chip, label, current, high, critical);
	}
done:
	free(nums);
}

/* Hosts without hwmon (some ARM boards) still have thermal zones: the zone's
 * type is the chip, its "high" and "critical" trip points the limits. */
static void scan_thermal_zones(const char *const *chips, struct temps *acc)
{
	char base[256], path[4096], chip[64], type[64];
	long *zones, *trips;
	size_t nzones, ntrips;
	int errnum;

	if (list_numbered("/sys/class/thermal", "thermal_zone", "", &zones, &nzones, &errnum) < 0)
		return;
	for (size_t i = 0; i < nzones; i++) {
		double current, high = NAN, critical = NAN;

		snprintf(base, sizeof base, "/sys/class/thermal/thermal_zone%ld", zones[i]);
		snprintf(path, sizeof path, "%s/type", base);
		if (read_line(path, chip, sizeof chip) < 0 || !allowed(chip, chips))
			continue;
		snprintf(path, sizeof path, "%s/temp", base);
		current = read_millidegrees(path);
		if (!(current > 0))
			continue;
		/* No trip points (or none listable) leaves both limits unknown. */
		list_numbered(base, "trip_point_", "_type", &trips, &ntrips, &errnum);
		for (size_t k = 0; k < ntrips; k++) {
			snprintf(path, sizeof path, "%s/trip_point_%ld_type", base, trips[k]);
			if (read_line(path, type, sizeof type) < 0)
				continue;
			snprintf(path, sizeof path, "%s/trip_point_%ld_temp", base, trips[k]);
			if (strcmp(type, "critical") == 0)
				critical = read_millidegrees(path);
			else if (strcmp(type, "high") == 0)
				high = read_millidegrees(path);
		}
		free(trips);
		add(acc, chip, "", current, high, critical);
	}
	free(zones);
}

int sm_hwmon_read(const char *const *chips, sm_hwmon_temp **out, size_t *count, sm_error *err)
{
	struct temps acc = {0};
	char dir[256];
	long *hwmons = NULL;
	size_t n = 0;
	int errnum;

	*out = NULL;
	*count = 0;
	if (list_numbered("/sys/class/hwmon", "hwmon", "", &hwmons, &n, &errnum) < 0 &&
	    errnum != ENOENT) {
		char errbuf[128], path[4096];

		if (sm_host_path(path, sizeof path, "/sys/class/hwmon") < 0)
			snprintf(path, sizeof path, "%s", "/sys/class/hwmon");
		sm_error_set(err, "%s: %s", path, sm_check_strerror(errnum, errbuf, sizeof errbuf));
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(dir, sizeof dir, "/sys/class/hwmon/hwmon%ld", hwmons[i]);
		scan_hwmon_dir(dir, chips, &acc);
		snprintf(dir, sizeof dir, "/sys/class/hwmon/hwmon%ld/device", hwmons[i]);
		scan_hwmon_dir(dir, chips, &acc);
	}
	free(hwmons);
	if (!acc.any)
		scan_thermal_zones(chips, &acc);
	if (acc.oom) {
		free(acc.temp);
		sm_error_set(err, "/sys/class/hwmon: out of memory");
		return -1;
	}
	*out = acc.temp;
	*count = acc.count;
	return 0;
}

void sm_hwmon_check(const sm_hwmon_checker *spec, sm_check_result *res)
{
	const sm_hwmon_temp *hottest = NULL;
	sm_hwmon_temp *temps;
	json_t *m = res->metrics, *list;
	size_t n;
	sm_error err;

	if (sm_hwmon_read(spec->chips, &temps, &n, &err) < 0) {
		sm_result_fail(res, "%s", err.msg);
		return;
	}
	list = json_array();
	for (size_t i = 0; i < n; i++) {
		const sm_hwmon_temp *t = &temps[i];
		json_t *item = json_object();
		char label[160];
		int same = 0;

		if (!hottest || t->current > hottest->current)
			hottest = t; /* the first of equals wins */
		sm_metric_str(item, spec->item_key, t->label);
		sm_metric_str(item, "chip", t->chip);
		sm_metric_real(item, "temp_c", t->current);
		sm_metric_real(item, "high_c", t->high);
		sm_metric_real(item, "critical_c", t->critical);
		json_array_append_new(list, item);
		/* Perfdata labels must be unique: two NVMe drives both say
		 * "Composite", so the second becomes "nvme Composite #2". */
		for (size_t j = 0; j < i; j++)
			same += strcmp(temps[j].chip, t->chip) == 0 &&
			        strcmp(temps[j].label, t->label) == 0;
		if (strcmp(t->label, t->chip) == 0)
			snprintf(label, sizeof label, "%s", t->chip);
		else
			snprintf(label, sizeof label, "%s %s", t->chip, t->label);
		if (same > 0)
			snprintf(label + strlen(label), sizeof label - strlen(label), " #%d",
			         same + 1);
		sm_result_perf(res, label, t->current, "", true, NAN, NAN);
	}
	sm_metric_str(m, "platform", "linux");
	sm_metric_int(m, spec->count_key, (long long)n);
	sm_metric_real(m, "hottest_c", hottest ? hottest->current : NAN);
	sm_metric_str(m, spec->hottest_key, hottest ? hottest->label : NULL);
	json_object_set_new(m, spec->list_key, list);
	if (hottest)
		sm_result_set(res, sm_result_level(res, hottest->current),
		              "Hottest %s %.1f°C (%s) [%s]", spec->subject, hottest->current,
		              hottest->label, hottest->chip);
	else
		sm_result_skip(res, "%s", spec->none);
	free(temps);
}
