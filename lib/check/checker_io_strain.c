/* checker_io_strain.c - the busiest block device's utilisation, from two
 * /proc/diskstats snapshots taken samples x interval seconds apart (the same
 * window as the cpu checker, which runs alongside).
 *
 * Only whole devices count: the names listed in /sys/block. Partitions would
 * repeat their disk's load, and loop, ram and zram devices are memory, not
 * disks, so they are dropped even though /sys/block lists them. Without a
 * readable /sys/block every other diskstats line is kept.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkers.h"
#include "sm/host.h"
#include "sm/rfc3339.h"

#define DISKSTATS_MAX (16u << 20)
#define SECTOR        512ULL /* diskstats counts 512-byte sectors whatever the device */

static bool is_memory_device(const char *name)
{
	static const char *const prefixes[] = {"loop", "ram", "zram"};

	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

static bool is_whole(const char *name, const char *const *whole, size_t nwhole)
{
	if (is_memory_device(name))
		return false;
	if (!whole)
		return true;
	for (size_t i = 0; i < nwhole; i++)
		if (strcmp(name, whole[i]) == 0)
			return true;
	return false;
}

/* Split one line into at most max tokens; returns the count, or -1 on more. */
static int split(char *line, char **tok, int max)
{
	int n = 0;

	for (char *save = NULL, *t = strtok_r(line, " \t\r", &save); t;
	     t = strtok_r(NULL, " \t\r", &save)) {
		if (n == max)
			return -1;
		tok[n++] = t;
	}
	return n;
}

static int parse_u64(const char *s, unsigned long long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

/* "major minor name" and either 4 counters (old kernels' partitions: reads,
 * sectors read, writes, sectors written) or 11 and more (reads, merged,
 * sectors, ms, writes, merged, sectors, ms, in flight, ms doing IO, …). */
static int parse_line(char *line, sm_diskstat *d)
{
	char *tok[32];
	unsigned long long v[20];
	int n = split(line, tok, 32), counters;

	counters = n - 3;
	if (counters != 4 && counters < 11)
		return -1;
	if (counters > 20)
		counters = 20; /* newer kernels may append more; the first 11 suffice */
	if (strlen(tok[2]) >= sizeof d->name)
		return -1;
	for (int i = 0; i < 2; i++)
		if (parse_u64(tok[i], &v[0]) < 0)
			return -1;
	for (int i = 0; i < counters; i++)
		if (parse_u64(tok[3 + i], &v[i]) < 0)
			return -1;
	memset(d, 0, sizeof *d);
	memcpy(d->name, tok[2], strlen(tok[2]) + 1);
	if (counters == 4) {
		d->reads = v[0];
		d->read_bytes = v[1] * SECTOR;
		d->writes = v[2];
		d->write_bytes = v[3] * SECTOR;
	} else {
		d->reads = v[0];
		d->read_bytes = v[2] * SECTOR;
		d->writes = v[4];
		d->write_bytes = v[6] * SECTOR;
		d->busy_ms = v[9];
		d->has_busy = true;
	}
	return 0;
}

int sm_diskstats_parse(const char *text, const char *const *whole, size_t nwhole, sm_diskstat **out,
                       size_t *count, sm_error *err)
{
	sm_diskstat *devs = NULL, d;
	size_t n = 0, cap = 0, lineno = 0;
	const char *next;
	char line[1024];

	*out = NULL;
	*count = 0;
	for (const char *p = text; *p; p = next) {
		size_t len;

		lineno++;
		next = strchr(p, '\n');
		len = next ? (size_t)(next - p) : strlen(p);
		next = next ? next + 1 : p + len;
		if (strspn(p, " \t\r") >= len)
			continue; /* blank */
		if (len >= sizeof line)
			goto malformed;
		memcpy(line, p, len);
		line[len] = '\0';
		if (parse_line(line, &d) < 0)
			goto malformed;
		if (!is_whole(d.name, whole, nwhole))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			sm_diskstat *q = realloc(devs, ncap * sizeof *q);
			if (!q) {
				sm_error_set(err, "/proc/diskstats: out of memory");
				free(devs);
				return -1;
			}
			devs = q;
			cap = ncap;
		}
		devs[n++] = d;
	}
	*out = devs;
	*count = n;
	return 0;
malformed:
	sm_error_set(err, "/proc/diskstats: malformed line %zu", lineno);
	free(devs);
	return -1;
}

/* Counters only grow; one that went down was reset (device re-added), so it
 * contributes nothing rather than a huge bogus delta. */
static double delta(unsigned long long before, unsigned long long after)
{
	return after > before ? (double)(after - before) : 0.0;
}

size_t sm_io_strain_rates(const sm_diskstat *before, size_t nbefore, const sm_diskstat *after,
                          size_t nafter, double elapsed_s, sm_disk_io *out)
{
	size_t n = 0;

	if (!(elapsed_s > 0))
		return 0;
	for (size_t i = 0; i < nafter; i++) {
		const sm_diskstat *b = &after[i], *a = NULL;
		double util;

		for (size_t j = 0; j < nbefore && !a; j++)
			if (strcmp(before[j].name, b->name) == 0)
				a = &before[j];
		if (!a || !a->has_busy || !b->has_busy)
			continue;
		util = delta(a->busy_ms, b->busy_ms) / (elapsed_s * 1000.0) * 100.0;
		memcpy(out[n].disk, b->name, sizeof out[n].disk);
		out[n].util_percent = sm_round(util > 100.0 ? 100.0 : util, 1);
		out[n].read_mb_s =
		    sm_round(delta(a->read_bytes, b->read_bytes) / elapsed_s / 1e6, 2);
		out[n].write_mb_s =
		    sm_round(delta(a->write_bytes, b->write_bytes) / elapsed_s / 1e6, 2);
		out[n].read_iops = sm_round(delta(a->reads, b->reads) / elapsed_s, 1);
		out[n].write_iops = sm_round(delta(a->writes, b->writes) / elapsed_s, 1);
		n++;
	}
	return n;
}

static void io_metrics(json_t *m, size_t count, const sm_disk_io *busiest, double window_s,
                       json_t *disks)
{
	sm_metric_str(m, "platform", "linux");
	sm_metric_int(m, "disk_count", (long long)count);
	sm_metric_str(m, "busiest_disk", busiest ? busiest->disk : NULL);
	sm_metric_real(m, "busiest_util_percent", busiest ? busiest->util_percent : NAN);
	sm_metric_real(m, "sample_interval_s", window_s);
	json_object_set_new(m, "disks", disks);
}

void sm_io_strain_report(sm_check_result *res, const sm_diskstat *before, size_t nbefore,
                         const sm_diskstat *after, size_t nafter, double elapsed_s, double window_s)
{
	sm_disk_io *rates;
	const sm_disk_io *busiest = NULL;
	json_t *disks = json_array();
	size_t n;

	if (nbefore == 0) {
		io_metrics(res->metrics, 0, NULL, window_s, disks);
		sm_result_skip(res, "no disk IO counters");
		return;
	}
	rates = calloc(nafter ? nafter : 1, sizeof *rates);
	if (!rates) {
		json_decref(disks);
		sm_result_fail(res, "/proc/diskstats: out of memory");
		return;
	}
	n = sm_io_strain_rates(before, nbefore, after, nafter, elapsed_s, rates);
	for (size_t i = 0; i < n; i++) {
		json_t *d = json_object();
		char label[96];

		/* Strictly greater: of equally busy devices the first listed wins. */
		if (!busiest || rates[i].util_percent > busiest->util_percent)
			busiest = &rates[i];
		sm_metric_str(d, "disk", rates[i].disk);
		sm_metric_real(d, "util_percent", rates[i].util_percent);
		sm_metric_real(d, "read_mb_s", rates[i].read_mb_s);
		sm_metric_real(d, "write_mb_s", rates[i].write_mb_s);
		sm_metric_real(d, "read_iops", rates[i].read_iops);
		sm_metric_real(d, "write_iops", rates[i].write_iops);
		json_array_append_new(disks, d);
		snprintf(label, sizeof label, "%s util", rates[i].disk);
		sm_result_perf(res, label, rates[i].util_percent, "%", true, 0, 100);
	}
	io_metrics(res->metrics, n, busiest, window_s, disks);
	if (!busiest)
		sm_result_skip(res, "no disk IO utilization data");
	else
		sm_result_set(res, sm_result_level(res, busiest->util_percent),
		              "Busiest disk %.1f%% util (%s)", busiest->util_percent,
		              busiest->disk);
	free(rates);
}

/* The names in /sys/block, with sysfs's '!' turned back into the '/' that
 * diskstats prints (cciss!c0d0 is cciss/c0d0). NULL when unreadable. */
static char **whole_devices(size_t *count)
{
	char path[4096], **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *dir;

	*count = 0;
	if (sm_host_path(path, sizeof path, "/sys/block") < 0 || !(dir = opendir(path)))
		return NULL;
	while ((e = readdir(dir))) {
		char *name;
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **p = realloc(names, ncap * sizeof *p);
			if (!p)
				goto fail;
			names = p;
			cap = ncap;
		}
		if (!(name = strdup(e->d_name)))
			goto fail;
		for (char *c = name; (c = strchr(c, '!')); c++)
			*c = '/';
		names[n++] = name;
	}
	closedir(dir);
	if (!names)
		names = calloc(1, sizeof *names); /* an empty /sys/block: no disks */
	*count = names ? n : 0;
	return names;
fail:
	/* Out of memory: better every device than a partial list. */
	closedir(dir);
	while (n > 0)
		free(names[--n]);
	free(names);
	return NULL;
}

SM_CHECKER_RUN(run)
{
	double window = sm_check_samples(opts) * sm_check_interval(opts);
	sm_diskstat *before = NULL, *after = NULL;
	size_t nbefore = 0, nafter = 0, nwhole;
	char *text = NULL, **whole = whole_devices(&nwhole);
	struct timespec start, end;
	sm_error err;

	(void)self;
	if (sm_host_read("/proc/diskstats", DISKSTATS_MAX, &text, NULL, &err) < 0 ||
	    sm_diskstats_parse(text, (const char *const *)whole, nwhole, &before, &nbefore, &err) <
	        0)
		goto fail;
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (nbefore > 0) {
		free(text);
		text = NULL;
		sm_check_sleep(window);
		if (sm_host_read("/proc/diskstats", DISKSTATS_MAX, &text, NULL, &err) < 0 ||
		    sm_diskstats_parse(text, (const char *const *)whole, nwhole, &after, &nafter,
		                       &err) < 0)
			goto fail;
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	sm_io_strain_report(res, before, nbefore, after, nafter, sm_elapsed_ms(&start, &end) / 1e3,
	                    window);
	goto done;
fail:
	sm_result_fail(res, "%s", err.msg);
done:
	for (size_t i = 0; i < nwhole; i++)
		free(whole[i]);
	free(whole);
	free(text);
	free(before);
	free(after);
}

const sm_checker sm_checker_io_strain = {
    .name = "io_strain",
    .description = "Busiest block device's IO utilization (% busy time).",
    .run = run,
    .warning = 80,
    .critical = 95,
    .slow = true,
    .options = SM_CHECK_OPTIONS(&sm_check_option_samples, &sm_check_option_interval),
    .advice = "see which processes read and write: sudo iotop -o, or pidstat -d 1",
};
