/* checker_disk.c - disk space used per path, from statvfs(3).
 *
 * The percentage is relative to the space an unprivileged user can reach
 * (used + f_bavail), as df(1) shows it, so it runs higher than root's view.
 * The worst path drives the status; an inaccessible path makes the whole
 * result UNKNOWN while the good paths stay in the metrics.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "checkers.h"
#include "sm/host.h"
#include "sm/human.h"
#include "sm/json.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

int sm_check_statvfs(const char *path, struct statvfs *st, char *why, size_t size)
{
	char full[4096];

	if (path[0] != '/') {
		snprintf(why, size, "not an absolute path");
		return -1;
	}
	if (sm_host_path(full, sizeof full, path) < 0) {
		snprintf(why, size, "path too long");
		return -1;
	}
	if (statvfs(full, st) < 0) {
		char buf[128];
		snprintf(why, size, "%s", sm_check_strerror(errno, buf, sizeof buf));
		return -1;
	}
	return 0;
}

SM_CHECKER_RUN(run)
{
	static const char *const root[] = {"/"};
	size_t npaths;
	const char *const *paths = sm_check_opts_list(opts, sm_check_option_paths.name, &npaths);
	const char *worst_path = NULL, *bad_path = NULL;
	double worst = 0.0;
	json_t *disks = json_object();

	(void)self;
	if (npaths == 0) {
		paths = root;
		npaths = 1;
	}
	for (size_t i = 0; i < npaths; i++) {
		struct statvfs st;
		char why[160];
		json_t *entry = json_object();
		double total, used, avail, percent;

		if (sm_check_statvfs(paths[i], &st, why, sizeof why) < 0) {
			sm_metric_str(entry, "error", why);
			json_object_set_new(disks, paths[i], entry);
			if (!bad_path)
				bad_path = paths[i];
			continue;
		}
		total = (double)st.f_blocks * (double)st.f_frsize;
		used = total - (double)st.f_bfree * (double)st.f_frsize;
		avail = (double)st.f_bavail * (double)st.f_frsize;
		percent = used + avail > 0 ? sm_round(used / (used + avail) * 100.0, 1) : 0.0;
		sm_metric_real(entry, "percent", percent);
		sm_metric_real(entry, "total_gb", sm_round(total / GIB, 2));
		sm_metric_real(entry, "used_gb", sm_round(used / GIB, 2));
		sm_metric_real(entry, "free_gb", sm_round(avail / GIB, 2));
		json_object_set_new(disks, paths[i], entry);
		sm_result_perf(res, paths[i], percent, "%", true, 0, 100);
		/* The first good path is the worst until one is strictly fuller. */
		if (!worst_path || percent > worst) {
			worst_path = paths[i];
			worst = percent;
		}
	}
	json_object_set_new(res->metrics, "disks", disks);
	sm_metric_real(res->metrics, "worst_percent", worst);
	sm_metric_str(res->metrics, "worst_path", worst_path ? worst_path : "");
	if (bad_path) {
		sm_result_set(res, SM_UNKNOWN, "Disk check error: path '%s' not accessible",
		              bad_path);
		free(res->error);
		res->error = res->message ? strdup(res->message) : NULL;
		return;
	}
	sm_result_set(res, sm_result_level(res, worst), "Disk usage: %s at %.1f%%", worst_path,
	              worst);
}

/* One line per path: "/  81.2% used, 47.1 GB free of 251.0 GB". */
static void details(const sm_check_result *res, FILE *out, size_t limit)
{
	const char *path;
	json_t *d;

	(void)limit; /* every path asked for */
	json_object_foreach(json_object_get(res->metrics, "disks"), path, d)
	{
		char freed[SM_HUMAN_LEN], total[SM_HUMAN_LEN];
		json_t *error = json_object_get(d, "error");
		if (json_is_string(error)) {
			fprintf(out, "    %s  error: %s\n", path, json_string_value(error));
			continue;
		}
		fprintf(out, "    %s  %.1f%% used, %s free of %s\n", path,
		        json_number_value(json_object_get(d, "percent")),
		        sm_human_gb(json_number_value(json_object_get(d, "free_gb")), freed),
		        sm_human_gb(json_number_value(json_object_get(d, "total_gb")), total));
	}
}

const sm_checker sm_checker_disk = {
    .name = "disk",
    .description = "Disk space usage of mount points.",
    .run = run,
    .warning = 80,
    .critical = 95,
    .options = SM_CHECK_OPTIONS(&sm_check_option_paths),
    .path_metric = "worst_path",
    .advice = "see what fills it: sudo du -xh --max-depth=2 PATH | sort -h | tail; "
              "sm-check disk_common disk_linux finds caches and logs to clear",
    .details = details,
};
