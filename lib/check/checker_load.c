/* checker_load.c - 1/5/15-minute load average per logical CPU.
 *
 * A load of 2 is idle on 16 CPUs and saturation on one, so the thresholds
 * apply to the 1-minute load divided by the CPU count.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "checkers.h"
#include "sm/host.h"

/* "0.16 0.13 0.07 1/83 5577": the three averages come first. */
static int parse_loadavg(const char *text, double load[3])
{
	const char *p = text;

	for (int i = 0; i < 3; i++) {
		char *end;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p < '0' || *p > '9')
			return -1;
		errno = 0;
		load[i] = strtod(p, &end);
		if (errno || !isfinite(load[i]) ||
		    (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\0'))
			return -1;
		p = end;
	}
	return 0;
}

SM_CHECKER_RUN(run)
{
	static const char *const keys[3] = {"load1", "load5", "load15"};
	static const char *const per_cpu_keys[3] = {"load1_per_cpu", "load5_per_cpu",
	                                            "load15_per_cpu"};
	char *text = NULL;
	double load[3], per_cpu[3];
	int cpus;
	sm_error err;

	(void)self;
	(void)opts;
	if (sm_host_read("/proc/loadavg", 4096, &text, NULL, &err) < 0) {
		sm_result_fail(res, "%s", err.msg);
		goto done;
	}
	if (parse_loadavg(text, load) < 0) {
		sm_result_fail(res, "/proc/loadavg: malformed");
		goto done;
	}
	cpus = sm_host_cpu_count();
	if (cpus < 1) {
		sm_result_fail(res, "cannot count CPUs: no cpuN lines in /proc/stat");
		goto done;
	}
	for (int i = 0; i < 3; i++) {
		per_cpu[i] = sm_round(load[i] / cpus, 2);
		load[i] = sm_round(load[i], 2);
		sm_metric_real(res->metrics, keys[i], load[i]);
	}
	sm_metric_int(res->metrics, "cpu_count", cpus);
	for (int i = 0; i < 3; i++)
		sm_metric_real(res->metrics, per_cpu_keys[i], per_cpu[i]);
	sm_result_set(res, sm_result_level(res, per_cpu[0]),
	              "Load average: %.2f, %.2f, %.2f (%.2f per CPU, %d CPU%s)", load[0], load[1],
	              load[2], per_cpu[0], cpus, cpus == 1 ? "" : "s");
	for (int i = 0; i < 3; i++)
		sm_result_perf(res, keys[i], load[i], "", false, 0, NAN);
	sm_result_perf(res, "load1_per_cpu", per_cpu[0], "", true, 0, NAN);
done:
	free(text);
}

const sm_checker sm_checker_load = {
    .name = "load",
    .description = "1-minute load average per logical CPU.",
    .run = run,
    .warning = 1.5,
    .critical = 3.0,
    .advice = "see what runs or waits for I/O: top, and ps -eo state,pid,comm | grep '^[RD]'",
};
