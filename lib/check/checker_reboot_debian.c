/* checker_reboot_debian.c - WARNING when a Debian-family host waits for a
 * reboot.
 *
 * Debian's update-notifier and unattended-upgrades touch
 * /run/reboot-required (and list the packages in reboot-required.pkgs). Older
 * systems write /var/run, usually a symlink to /run. Under a host root such a
 * symlink is often absolute and would point at the monitoring machine's own
 * /run, so files are only looked at when they resolve inside the host root.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkers.h"
#include "procfs.h"
#include "sm/host.h"
#include "sm/json.h"

/* Whether a host file exists without any symlink leading out of the root. */
static bool host_file_inside(const char *path)
{
	char full[4096], real[PATH_MAX], root_real[PATH_MAX];
	const char *root = sm_host_root();
	struct stat st;
	size_t n;

	if (sm_host_path(full, sizeof full, path) < 0)
		return false;
	if (!*root)
		return stat(full, &st) == 0;
	if (!realpath(full, real) || !realpath(root, root_real))
		return false;
	n = strlen(root_real);
	if (n == 1) /* the root resolves to "/" itself */
		return true;
	return strncmp(real, root_real, n) == 0 && (real[n] == '/' || real[n] == '\0');
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* os-release values may be quoted either way; strip every surrounding quote. */
static char *unquote(char *s)
{
	for (const char *q = "\"'"; *q; q++) {
		size_t n = strlen(s);
		while (n > 0 && s[n - 1] == *q)
			s[--n] = '\0';
		while (*s == *q)
			s++;
	}
	return s;
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* ID and ID_LIKE from an os-release text (the last assignment wins). */
static void parse_os_release(char *text, char *id, size_t id_size, char *like, size_t like_size)
{
	char *line, *next;

	*id = *like = '\0';
	for (line = text; line; line = next) {
		char *eq, *key, *value;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		key = trim(line);
		value = unquote(trim(eq + 1));
		if (strcmp(key, "ID") == 0)
			snprintf(id, id_size, "%s", value);
		else if (strcmp(key, "ID_LIKE") == 0)
			snprintf(like, like_size, "%s", value);
	}
	lower(id);
	lower(like);
}

static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; *p;) {
		size_t len;
		while (isspace((unsigned char)*p))
			p++;
		len = strcspn(p, " \t\r\n\v\f");
		if (len == n && strncmp(p, word, n) == 0)
			return true;
		p += len;
	}
	return false;
}

/* Ubuntu derivatives (Mint, Pop!_OS, ...) often declare only ID_LIKE=ubuntu. */
static bool debian_family(const char *id, const char *like)
{
	return strcmp(id, "debian") == 0 || strcmp(id, "ubuntu") == 0 || has_word(like, "debian") ||
	       has_word(like, "ubuntu");
}

/* The package list, best effort: a missing or unreadable file is empty. */
static json_t *pending_packages(const char *path)
{
	json_t *list = json_array();
	char *text = NULL, *line, *next;
	int errnum;

	if (!host_file_inside(path) || sm_procfs_read(path, 1 << 20, &text, NULL, &errnum) < 0)
		return list;
	for (line = text; line; line = next) {
		char *name;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		name = trim(line);
		if (*name)
			json_array_append_new(list, sm_json_string(name));
	}
	free(text);
	return list;
}

static void set_metrics(sm_check_result *res, const char *distro, bool required, json_t *pkgs)
{
	sm_metric_str(res->metrics, "platform", "linux");
	sm_metric_str(res->metrics, "distro_id", distro);
	sm_metric_bool(res->metrics, "reboot_required", required);
	json_object_set_new(res->metrics, "pending_packages", pkgs);
	sm_metric_int(res->metrics, "pending_package_count", (long long)json_array_size(pkgs));
}

SM_CHECKER_RUN(run)
{
	static const char *const flags[] = {"/run/reboot-required", "/var/run/reboot-required"};
	char *text = NULL, id[128], like[256], pkgs_path[64];
	const char *flag = NULL;
	json_t *pkgs;
	size_t count;
	int errnum;

	(void)self;
	(void)opts;
	if (sm_procfs_read("/etc/os-release", 1 << 16, &text, NULL, &errnum) < 0) {
		set_metrics(res, "", false, json_array());
		sm_result_skip(res, "cannot determine distro");
		return;
	}
	parse_os_release(text, id, sizeof id, like, sizeof like);
	free(text);
	if (!*id) {
		set_metrics(res, "", false, json_array());
		sm_result_skip(res, "cannot determine distro");
		return;
	}
	if (!debian_family(id, like)) {
		set_metrics(res, id, false, json_array());
		sm_result_skip(res, "not Debian-family (%s)", id);
		return;
	}
	for (size_t i = 0; i < sizeof flags / sizeof flags[0] && !flag; i++)
		if (host_file_inside(flags[i]))
			flag = flags[i];
	if (!flag) {
		set_metrics(res, id, false, json_array());
		sm_result_perf(res, "pending_packages", 0, "", false, 0, NAN);
		sm_result_set(res, SM_OK, "No reboot required");
		return;
	}
	snprintf(pkgs_path, sizeof pkgs_path, "%s.pkgs", flag);
	pkgs = pending_packages(pkgs_path);
	count = json_array_size(pkgs);
	set_metrics(res, id, true, pkgs);
	sm_result_perf(res, "pending_packages", (double)count, "", false, 0, NAN);
	if (count > 0)
		sm_result_set(res, SM_WARNING, "Reboot required (%zu pending packages)", count);
	else
		sm_result_set(res, SM_WARNING, "Reboot required");
}

const sm_checker sm_checker_reboot_debian = {
    .name = "reboot_debian",
    .description = "WARNING when a Debian-family host has a pending reboot.",
    .run = run,
    .warning = NAN,
    .critical = NAN,
    .advice = "reboot when convenient to run the updated packages; needrestart lists services to "
              "restart instead",
};
