/* checker_memory.c - RAM usage from /proc/meminfo, and the meminfo parser
 * the swap checker shares.
 *
 * used = MemTotal - MemAvailable, as psutil >= 7 and free(1) count it. Kernels
 * older than 3.14 have no MemAvailable; there we estimate it as MemFree +
 * Active(file) + Inactive(file) + SReclaimable (psutil also subtracts the
 * zones' low watermarks from /proc/zoneinfo; the difference is a few MB and
 * not worth a second file).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "checkers.h"
#include "sm/host.h"

#define MEMINFO_MAX (1u << 20)
#define GIB         (1024.0 * 1024.0 * 1024.0)

static const struct {
	const char *key;
	size_t offset;
	unsigned bit;
} meminfo_keys[] = {
    {"MemTotal", offsetof(sm_meminfo, mem_total), SM_MEMINFO_MEM_TOTAL},
    {"MemFree", offsetof(sm_meminfo, mem_free), SM_MEMINFO_MEM_FREE},
    {"MemAvailable", offsetof(sm_meminfo, mem_available), SM_MEMINFO_MEM_AVAILABLE},
    {"Active(file)", offsetof(sm_meminfo, active_file), SM_MEMINFO_ACTIVE_FILE},
    {"Inactive(file)", offsetof(sm_meminfo, inactive_file), SM_MEMINFO_INACTIVE_FILE},
    {"SReclaimable", offsetof(sm_meminfo, sreclaimable), SM_MEMINFO_SRECLAIMABLE},
    {"SwapTotal", offsetof(sm_meminfo, swap_total), SM_MEMINFO_SWAP_TOTAL},
    {"SwapFree", offsetof(sm_meminfo, swap_free), SM_MEMINFO_SWAP_FREE},
};

/* "<spaces><digits>[ kB]<spaces>\n" → bytes; -1 when it is anything else. */
static int parse_kb(const char *p, unsigned long long *bytes)
{
	unsigned long long kb;
	char *end;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	kb = strtoull(p, &end, 10);
	if (errno || kb > ~0ULL / 1024)
		return -1;
	p = end;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, "kB", 2) == 0)
		p += 2;
	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	if (*p != '\n' && *p != '\0')
		return -1;
	*bytes = kb * 1024;
	return 0;
}

int sm_meminfo_parse(const char *text, sm_meminfo *out, sm_error *err)
{
	const char *next;

	memset(out, 0, sizeof *out);
	for (const char *p = text; *p; p = next) {
		const char *colon = strchr(p, ':');
		size_t keylen;

		next = strchr(p, '\n');
		next = next ? next + 1 : p + strlen(p);
		if (!colon || colon >= next)
			continue;
		keylen = (size_t)(colon - p);
		for (size_t i = 0; i < sizeof meminfo_keys / sizeof meminfo_keys[0]; i++) {
			unsigned long long *field;
			if (strlen(meminfo_keys[i].key) != keylen ||
			    strncmp(p, meminfo_keys[i].key, keylen) != 0)
				continue;
			field = (unsigned long long *)((char *)out + meminfo_keys[i].offset);
			if (parse_kb(colon + 1, field) < 0) {
				sm_error_set(err, "/proc/meminfo: malformed %s line",
				             meminfo_keys[i].key);
				return -1;
			}
			out->present |= meminfo_keys[i].bit;
			break;
		}
	}
	return 0;
}

unsigned long long sm_meminfo_available(const sm_meminfo *m)
{
	unsigned long long avail;

	if (m->present & SM_MEMINFO_MEM_AVAILABLE)
		avail = m->mem_available;
	else
		avail = m->mem_free + m->active_file + m->inactive_file + m->sreclaimable;
	return avail > m->mem_total ? m->mem_total : avail;
}

SM_CHECKER_RUN(run)
{
	char *text = NULL;
	sm_meminfo info;
	sm_error err;
	double percent, total_gb, used_gb, available_gb;
	unsigned long long available;

	(void)self;
	(void)opts;
	if (sm_host_read("/proc/meminfo", MEMINFO_MAX, &text, NULL, &err) < 0 ||
	    sm_meminfo_parse(text, &info, &err) < 0) {
		sm_result_fail(res, "%s", err.msg);
		goto done;
	}
	if (!(info.present & SM_MEMINFO_MEM_TOTAL)) {
		sm_result_fail(res, "/proc/meminfo: no MemTotal line");
		goto done;
	}
	if (info.mem_total == 0) {
		sm_result_fail(res, "/proc/meminfo: MemTotal is 0");
		goto done;
	}
	if (!(info.present & (SM_MEMINFO_MEM_AVAILABLE | SM_MEMINFO_MEM_FREE))) {
		sm_result_fail(res, "/proc/meminfo: no MemAvailable or MemFree line");
		goto done;
	}
	available = sm_meminfo_available(&info);
	percent =
	    sm_round((double)(info.mem_total - available) / (double)info.mem_total * 100.0, 1);
	total_gb = sm_round((double)info.mem_total / GIB, 2);
	used_gb = sm_round((double)(info.mem_total - available) / GIB, 2);
	available_gb = sm_round((double)available / GIB, 2);
	sm_metric_real(res->metrics, "memory_percent", percent);
	sm_metric_real(res->metrics, "memory_total_gb", total_gb);
	sm_metric_real(res->metrics, "memory_used_gb", used_gb);
	sm_metric_real(res->metrics, "memory_available_gb", available_gb);
	sm_result_set(res, sm_result_level(res, percent), "Memory usage: %.1f%% (%.1f/%.1f GB)",
	              percent, used_gb, total_gb);
	sm_result_perf(res, "memory", percent, "%", true, 0, 100);
done:
	free(text);
}

const sm_checker sm_checker_memory = {
    .name = "memory",
    .description = "Memory (RAM) usage percentage.",
    .run = run,
    .warning = 70,
    .critical = 90,
    .advice = "see what holds memory: ps -eo pid,rss,comm --sort=-rss | head",
};
