/* checker_cpu.c - CPU usage from /proc/stat, averaged over samples or taken
 * from the busiest core.
 *
 * A reading compares two /proc/stat snapshots taken an interval apart, as
 * psutil's cpu_percent does: per-field tick deltas (clamped at 0, since
 * counters of an offlined CPU can go backwards), total = sum - guest -
 * guest_nice (the kernel already counts guest time in user and nice), busy =
 * total - idle - iowait.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkers.h"
#include "sm/host.h"

#define STAT_MAX    (16u << 20) /* /proc/stat of a 4096-CPU host is far below */
#define STAT_FIELDS 10 /* user nice system idle iowait irq softirq steal guest guest_nice */

enum { IDLE = 3, IOWAIT = 4, GUEST = 8, GUEST_NICE = 9 };

/* One "cpu" (id -1) or "cpuN" line. */
struct cpu_line {
	long id;
	unsigned long long ticks[STAT_FIELDS];
};

struct cpu_lines {
	struct cpu_line *line;
	size_t count, cap;
	int cpus; /* cpuN lines, whatever mode */
};

/* Parse the counters after "cpu" or "cpuN"; at least user, nice, system and
 * idle must be there (fields a kernel does not have yet count as 0). */
static int parse_ticks(const char *p, unsigned long long *ticks)
{
	int n = 0;

	memset(ticks, 0, STAT_FIELDS * sizeof *ticks);
	for (;;) {
		char *end;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\n' || *p == '\0')
			break;
		if (*p < '0' || *p > '9')
			return -1;
		errno = 0;
		unsigned long long v = strtoull(p, &end, 10);
		if (errno)
			return -1;
		if (n < STAT_FIELDS)
			ticks[n] = v;
		n++;
		p = end;
	}
	return n >= 4 ? 0 : -1;
}

static int lines_push(struct cpu_lines *lines, const struct cpu_line *line)
{
	if (lines->count == lines->cap) {
		size_t ncap = lines->cap ? lines->cap * 2 : 16;
		struct cpu_line *p = realloc(lines->line, ncap * sizeof *p);
		if (!p)
			return -1;
		lines->line = p;
		lines->cap = ncap;
	}
	lines->line[lines->count++] = *line;
	return 0;
}

/* The aggregate line, or with per_cpu the cpuN lines, of a /proc/stat text. */
static int parse_stat(const char *text, bool per_cpu, struct cpu_lines *lines, sm_error *err)
{
	const char *next;

	memset(lines, 0, sizeof *lines);
	for (const char *p = text; *p; p = next) {
		struct cpu_line line;
		const char *rest;
		char *end;

		next = strchr(p, '\n');
		next = next ? next + 1 : p + strlen(p);
		if (strncmp(p, "cpu", 3) != 0)
			continue;
		rest = p + 3;
		if (*rest == ' ' || *rest == '\t') {
			line.id = -1;
		} else if (*rest >= '0' && *rest <= '9') {
			line.id = strtol(rest, &end, 10);
			rest = end;
			lines->cpus++;
		} else {
			continue; /* not a CPU line */
		}
		if (per_cpu != (line.id >= 0))
			continue;
		if (parse_ticks(rest, line.ticks) < 0) {
			if (line.id < 0)
				sm_error_set(err, "/proc/stat: malformed cpu line");
			else
				sm_error_set(err, "/proc/stat: malformed cpu%ld line", line.id);
			goto fail;
		}
		if ((line.id >= 0 || lines->count == 0) && lines_push(lines, &line) < 0) {
			sm_error_set(err, "/proc/stat: out of memory");
			goto fail;
		}
	}
	if (lines->count == 0) {
		sm_error_set(err,
		             per_cpu ? "/proc/stat: no cpuN lines" : "/proc/stat: no cpu line");
		goto fail;
	}
	return 0;
fail:
	free(lines->line);
	memset(lines, 0, sizeof *lines);
	return -1;
}

static double busy_percent(const unsigned long long *before, const unsigned long long *after)
{
	double delta[STAT_FIELDS], total = 0, busy;

	for (int i = 0; i < STAT_FIELDS; i++) {
		delta[i] = after[i] > before[i] ? (double)(after[i] - before[i]) : 0.0;
		total += delta[i];
	}
	total -= delta[GUEST] + delta[GUEST_NICE];
	busy = total - delta[IDLE] - delta[IOWAIT];
	if (total <= 0 || busy <= 0)
		return 0.0;
	return busy >= total ? 100.0 : sm_round(busy / total * 100.0, 1);
}

static const struct cpu_line *find_line(const struct cpu_lines *lines, size_t hint, long id)
{
	if (hint < lines->count && lines->line[hint].id == id)
		return &lines->line[hint]; /* the usual case: same order in both */
	for (size_t i = 0; i < lines->count; i++)
		if (lines->line[i].id == id)
			return &lines->line[i];
	return NULL;
}

static int busy_lines(const char *before, const char *after, bool per_cpu, double **percent,
                      size_t *count, int *cpus, sm_error *err)
{
	struct cpu_lines a, b;
	int rc = -1;

	*percent = NULL;
	*count = 0;
	if (parse_stat(before, per_cpu, &a, err) < 0)
		return -1;
	if (parse_stat(after, per_cpu, &b, err) < 0)
		goto done_a;
	*percent = malloc(b.count * sizeof **percent);
	if (!*percent) {
		sm_error_set(err, "/proc/stat: out of memory");
		goto done;
	}
	for (size_t i = 0; i < b.count; i++) {
		const struct cpu_line *old = find_line(&a, i, b.line[i].id);
		/* A CPU brought online between the snapshots has no reading yet. */
		if (old)
			(*percent)[(*count)++] = busy_percent(old->ticks, b.line[i].ticks);
	}
	if (cpus)
		*cpus = b.cpus;
	rc = 0;
done:
	free(b.line);
done_a:
	free(a.line);
	return rc;
}

int sm_cpu_busy(const char *before, const char *after, bool per_cpu, double **percent,
                size_t *count, sm_error *err)
{
	return busy_lines(before, after, per_cpu, percent, count, NULL, err);
}

int sm_cpu_usage_add(sm_cpu_usage *usage, const char *before, const char *after, sm_error *err)
{
	double *pct, reading = 0;
	size_t n;
	int cpus;

	if (busy_lines(before, after, usage->per_cpu, &pct, &n, &cpus, err) < 0)
		return -1;
	if (usage->per_cpu && usage->samples == 0) {
		usage->cores = n;
		usage->core_sum = calloc(n ? n : 1, sizeof *usage->core_sum);
		usage->core_samples = calloc(n ? n : 1, sizeof *usage->core_samples);
		if (!usage->core_sum || !usage->core_samples) {
			free(pct);
			sm_error_set(err, "/proc/stat: out of memory");
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!usage->per_cpu || pct[i] > reading)
			reading = pct[i];
		if (usage->per_cpu && i < usage->cores) {
			usage->core_sum[i] += pct[i];
			usage->core_samples[i]++;
		}
	}
	free(pct);
	if (usage->samples == 0 || reading < usage->min)
		usage->min = reading;
	if (usage->samples == 0 || reading > usage->max)
		usage->max = reading;
	usage->sum += reading;
	usage->samples++;
	usage->cpu_count = cpus;
	return 0;
}

void sm_cpu_usage_report(const sm_cpu_usage *usage, sm_check_result *res)
{
	json_t *m = res->metrics, *cores = NULL;
	double value;

	if (usage->samples < 1) {
		sm_result_fail(res, "/proc/stat: no samples taken");
		return;
	}
	if (usage->per_cpu) {
		cores = json_array();
		value = 0;
		for (size_t i = 0; i < usage->cores; i++) {
			double avg = usage->core_samples[i]
			                 ? sm_round(usage->core_sum[i] / usage->core_samples[i], 1)
			                 : 0.0;
			if (avg > value)
				value = avg;
			json_array_append_new(cores, json_real(avg));
		}
	} else {
		value = sm_round(usage->sum / usage->samples, 1);
	}
	sm_metric_real(m, "cpu_percent", value);
	sm_metric_real(m, "cpu_min", usage->min);
	sm_metric_real(m, "cpu_max", usage->max);
	sm_metric_int(m, "samples", usage->samples);
	if (cores)
		json_object_set_new(m, "per_cpu_percent", cores);
	sm_metric_int(m, "cpu_count", usage->per_cpu ? (long long)usage->cores : usage->cpu_count);
	/* The status follows the rounded value the message shows. */
	sm_result_set(res, sm_result_level(res, value), "CPU usage: %.1f%% (avg of %d sample%s%s)",
	              value, usage->samples, usage->samples == 1 ? "" : "s",
	              usage->per_cpu ? ", busiest core" : "");
	sm_result_perf(res, "cpu", value, "%", true, 0, 100);
	sm_result_perf(res, "cpu_min", usage->min, "%", false, 0, 100);
	sm_result_perf(res, "cpu_max", usage->max, "%", false, 0, 100);
}

void sm_cpu_usage_free(sm_cpu_usage *usage)
{
	free(usage->core_sum);
	free(usage->core_samples);
	usage->core_sum = NULL;
	usage->core_samples = NULL;
}

void sm_check_sleep(double seconds)
{
	struct timespec deadline;

	if (!(seconds > 0))
		return;
	if (seconds > 1e9)
		seconds = 1e9; /* keeps the time_t arithmetic below in range */
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)seconds;
	deadline.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	/* An absolute deadline makes a signal-interrupted sleep resumable. */
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) == EINTR)
		;
}

static const sm_check_option per_cpu = {
    .name = "per-cpu",
    .kind = SM_CHECK_SWITCH,
    .help = "judge the busiest core instead of the average",
};

SM_CHECKER_RUN(run)
{
	sm_cpu_usage usage = {.per_cpu = sm_check_opts_switch(opts, per_cpu.name)};
	int samples = sm_check_samples(opts);
	double interval = sm_check_interval(opts);
	char *before = NULL, *after = NULL;
	double *check;
	size_t n;
	sm_error err;

	(void)self;
	if (sm_host_read("/proc/stat", STAT_MAX, &before, NULL, &err) < 0)
		goto fail;
	/* Refuse a malformed file now rather than after sleeping. */
	if (sm_cpu_busy(before, before, usage.per_cpu, &check, &n, &err) < 0)
		goto fail;
	free(check);
	for (int i = 0; i < samples; i++) {
		sm_check_sleep(interval);
		if (sm_host_read("/proc/stat", STAT_MAX, &after, NULL, &err) < 0 ||
		    sm_cpu_usage_add(&usage, before, after, &err) < 0)
			goto fail;
		free(before);
		before = after;
		after = NULL;
	}
	sm_cpu_usage_report(&usage, res);
	goto done;
fail:
	sm_result_fail(res, "%s", err.msg);
done:
	sm_cpu_usage_free(&usage);
	free(before);
	free(after);
}

const sm_checker sm_checker_cpu = {
    .name = "cpu",
    .description = "CPU usage averaged over samples (or the busiest core).",
    .run = run,
    .warning = 70,
    .critical = 90,
    .slow = true,
    .options = SM_CHECK_OPTIONS(&per_cpu, &sm_check_option_samples, &sm_check_option_interval),
    .advice = "see what is busy: top -o %CPU, or ps -eo pid,pcpu,comm --sort=-pcpu | head",
};
