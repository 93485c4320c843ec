/* checker_disk_common.c - disk_common: cleanup analysis of logs, user
 * caches and old temporary files, on any POSIX host (diskanalysis.h). */
#include "checkers.h"
#include "diskanalysis.h"

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

static const char *const space_hog_targets[] = {"/var/log", "~/.cache", NULL};
static const char *const old_file_targets[] = {"/tmp", "/var/tmp", NULL};
static const char *const large_file_targets[] = {"~", NULL};

/* Keywords name whole path components ("pip" is not "pipewire"). */
static const sm_diskanalysis_rule rules[] = {
    {WORDS("/var/log"), WORDS("Compress or rotate large logs in /var/log",
                              "Most distributions handle this with logrotate; check "
                              "/etc/logrotate.d")},
    {WORDS("pip"), WORDS("Clear pip cache:", "pip cache purge")},
    {WORDS("npm", ".npm"), WORDS("Clear npm cache:", "npm cache clean --force")},
    {WORDS("yarn", "Yarn"), WORDS("Clear Yarn cache:", "yarn cache clean")},
    {WORDS("pnpm"), WORDS("Prune pnpm content-addressable store:", "pnpm store prune")},
    {WORDS("composer"), WORDS("Clear Composer cache:", "composer clear-cache")},
    {WORDS("gradle", ".gradle"),
     WORDS("Clear old Gradle caches:", "Stop the Gradle daemon: gradle --stop",
           "Then delete ~/.gradle/caches/<old version>")},
    {WORDS("maven", ".m2"),
     WORDS("Clear stale Maven artifacts:",
           "mvn dependency:purge-local-repository (re-resolves managed deps)",
           "Or delete old SNAPSHOTs only: find ~/.m2/repository -name '*-SNAPSHOT' -mtime "
           "+90 -exec rm -rf {} +")},
    {WORDS("cargo", ".cargo"),
     WORDS("Clean Rust cargo cache:", "cargo install cargo-cache && cargo cache --autoclean")},
    {WORDS("go/pkg", "GOPATH"), WORDS("Clean Go module cache:", "go clean -modcache")},
    {WORDS(".cache"), WORDS("Clear user caches in ~/.cache (review per-app first)")},
};

static const sm_diskanalysis_spec spec = {
    .space_hog_targets = space_hog_targets,
    .old_file_targets = old_file_targets,
    .large_file_targets = large_file_targets,
    .old_days = 7,
    .rules = rules,
    .nrules = sizeof rules / sizeof rules[0],
    .old_files_advice = "Remove old temporary files from /tmp and /var/tmp",
    .large_files_advice = "Review and remove large files in home directory",
};

SM_CHECKER_RUN(run)
{
	(void)self;
	(void)opts;
	sm_diskanalysis_run(&spec, res);
}

const sm_checker sm_checker_disk_common = {
    .name = "disk_common",
    .description = "Disk cleanup analysis: logs, caches, old temp files (MB recoverable).",
    .run = run,
    .warning = 5000,
    .critical = 20000,
    .slow = true,
    .details = sm_diskanalysis_details,
};
