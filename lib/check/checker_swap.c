/* checker_swap.c - swap usage from /proc/meminfo.
 *
 * A host without swap is healthy: it is skipped (OK), never critical, so a
 * swapless cloud VM does not page anyone.
 */
#include <stdlib.h>

#include "checkers.h"
#include "sm/host.h"

#define MEMINFO_MAX (1u << 20)
#define GIB         (1024.0 * 1024.0 * 1024.0)

static void swap_metrics(json_t *m, double percent, double total_gb, double used_gb, double free_gb)
{
	sm_metric_real(m, "swap_percent", percent);
	sm_metric_real(m, "swap_total_gb", total_gb);
	sm_metric_real(m, "swap_used_gb", used_gb);
	sm_metric_real(m, "swap_free_gb", free_gb);
}

SM_CHECKER_RUN(run)
{
	char *text = NULL;
	sm_meminfo info;
	sm_error err;
	unsigned long long used, free_bytes;
	double percent, total_gb, used_gb;

	(void)self;
	(void)opts;
	if (sm_host_read("/proc/meminfo", MEMINFO_MAX, &text, NULL, &err) < 0 ||
	    sm_meminfo_parse(text, &info, &err) < 0) {
		sm_result_fail(res, "%s", err.msg);
		goto done;
	}
	if (!(info.present & SM_MEMINFO_SWAP_TOTAL)) {
		sm_result_fail(res, "/proc/meminfo: no SwapTotal line");
		goto done;
	}
	if (info.swap_total == 0) {
		swap_metrics(res->metrics, 0.0, 0.0, 0.0, 0.0);
		sm_result_skip(res, "no swap configured");
		goto done;
	}
	if (!(info.present & SM_MEMINFO_SWAP_FREE)) {
		sm_result_fail(res, "/proc/meminfo: no SwapFree line");
		goto done;
	}
	free_bytes = info.swap_free > info.swap_total ? info.swap_total : info.swap_free;
	used = info.swap_total - free_bytes;
	percent = sm_round((double)used / (double)info.swap_total * 100.0, 1);
	total_gb = sm_round((double)info.swap_total / GIB, 2);
	used_gb = sm_round((double)used / GIB, 2);
	swap_metrics(res->metrics, percent, total_gb, used_gb,
	             sm_round((double)free_bytes / GIB, 2));
	sm_result_set(res, sm_result_level(res, percent), "Swap usage: %.1f%% (%.1f/%.1f GB)",
	              percent, used_gb, total_gb);
	sm_result_perf(res, "swap", percent, "%", true, 0, 100);
done:
	free(text);
}

const sm_checker sm_checker_swap = {
    .name = "swap",
    .description = "Swap usage percentage; a host without swap is fine.",
    .run = run,
    .warning = 50,
    .critical = 80,
    .advice = "see what is swapped out: grep VmSwap /proc/[0-9]*/status | sort -k2 -n | tail",
};
