/* checker_disk_inodes.c - inode usage per filesystem, from statvfs(3).
 *
 * Filesystems that do not track inodes (tmpfs, overlay and btrfs report
 * f_files = 0) are listed as unsupported and left out of the status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "checkers.h"
#include "sm/json.h"

SM_CHECKER_RUN(run)
{
	static const char *const root[] = {"/"};
	size_t npaths;
	const char *const *paths = sm_check_opts_list(opts, sm_check_option_paths.name, &npaths);
	const char *worst_path = NULL, *bad_path = NULL;
	double worst = 0.0;
	json_t *filesystems = json_object();

	(void)self;
	if (npaths == 0) {
		paths = root;
		npaths = 1;
	}
	for (size_t i = 0; i < npaths; i++) {
		struct statvfs st;
		char why[160], label[512];
		json_t *entry = json_object();
		double percent;

		if (sm_check_statvfs(paths[i], &st, why, sizeof why) < 0) {
			sm_metric_str(entry, "error", why);
			json_object_set_new(filesystems, paths[i], entry);
			if (!bad_path)
				bad_path = paths[i];
			continue;
		}
		if (st.f_files == 0) {
			sm_metric_bool(entry, "inodes_supported", false);
			json_object_set_new(filesystems, paths[i], entry);
			continue;
		}
		/* f_ffree can exceed f_files on some network filesystems. */
		percent = st.f_ffree < st.f_files
		              ? (double)(st.f_files - st.f_ffree) / (double)st.f_files * 100.0
		              : 0.0;
		sm_metric_real(entry, "percent", sm_round(percent, 1));
		sm_metric_int(entry, "total", (long long)st.f_files);
		sm_metric_int(entry, "used",
		              st.f_ffree < st.f_files ? (long long)(st.f_files - st.f_ffree) : 0);
		sm_metric_int(entry, "free", (long long)st.f_ffree);
		json_object_set_new(filesystems, paths[i], entry);
		snprintf(label, sizeof label, "%s inodes", paths[i]);
		sm_result_perf(res, label, sm_round(percent, 1), "%", true, 0, 100);
		if (!worst_path || percent > worst) {
			worst_path = paths[i];
			worst = percent;
		}
	}
	json_object_set_new(res->metrics, "filesystems", filesystems);
	sm_metric_real(res->metrics, "worst_percent", sm_round(worst, 1));
	sm_metric_str(res->metrics, "worst_path", worst_path ? worst_path : "");
	if (bad_path) {
		sm_result_set(res, SM_UNKNOWN, "Inode check error: path '%s' not accessible",
		              bad_path);
		free(res->error);
		res->error = res->message ? strdup(res->message) : NULL;
	} else if (!worst_path) {
		sm_result_set(res, SM_OK, "Inode usage: no inode-tracking filesystems");
	} else {
		sm_result_set(res, sm_result_level(res, worst), "Inode usage: %s at %.1f%%",
		              worst_path, worst);
	}
}

/* One line per path: "/  91.0% of inodes used, 1200 free of 65536". */
static void details(const sm_check_result *res, FILE *out, size_t limit)
{
	const char *path;
	json_t *d;

	(void)limit; /* every path asked for */
	json_object_foreach(json_object_get(res->metrics, "filesystems"), path, d)
	{
		json_t *error = json_object_get(d, "error");
		if (json_is_string(error))
			fprintf(out, "    %s  error: %s\n", path, json_string_value(error));
		else if (json_is_false(json_object_get(d, "inodes_supported")))
			fprintf(out, "    %s  no inode limit\n", path);
		else
			fprintf(out, "    %s  %.1f%% of inodes used, %lld free of %lld\n", path,
			        json_number_value(json_object_get(d, "percent")),
			        json_integer_value(json_object_get(d, "free")),
			        json_integer_value(json_object_get(d, "total")));
	}
}

const sm_checker sm_checker_disk_inodes = {
    .name = "disk_inodes",
    .description = "Inode usage per filesystem; the worst path drives the status.",
    .run = run,
    .warning = 80,
    .critical = 95,
    .options = SM_CHECK_OPTIONS(&sm_check_option_paths),
    .path_metric = "worst_path",
    .advice = "find the directories with the most files: sudo du -x --inodes PATH | sort -n | "
              "tail",
    .details = details,
};
