/* checker_disk_linux.c - disk_linux: cleanup analysis of Linux package
 * caches, the journal, Docker and snap data (diskanalysis.h). */
#include "checkers.h"
#include "diskanalysis.h"

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

static const char *const space_hog_targets[] = {"/var/cache/apt/archives", "/var/log/journal",
                                                "/var/lib/docker", "/var/lib/snapd", NULL};
static const char *const old_file_targets[] = {"/tmp", NULL};
static const char *const large_file_targets[] = {"/srv", "/opt", NULL};

/* Keywords name whole path components, so /var/lib/snapd needs "snapd"
 * besides "snap". */
static const sm_diskanalysis_rule rules[] = {
    {WORDS("apt"), WORDS("Clear APT package cache:", "sudo apt clean")},
    {WORDS("journal"), WORDS("Trim systemd journal logs:", "sudo journalctl --vacuum-size=100M")},
    {WORDS("docker"),
     WORDS("Clean unused Docker data (containers, images, networks, build cache):",
           "docker system prune", "Add --volumes to also remove unused volumes (destructive)")},
    {WORDS("snap", "snapd"),
     WORDS("Remove old snap package revisions:",
           "snap list --all | awk '/disabled/{print $1, $3}' | xargs -L 1 sudo snap remove "
           "--revision")},
    {WORDS("JetBrains"),
     WORDS("Invalidate JetBrains IDE caches:", "In the IDE: File → Invalidate Caches and Restart",
           "Or delete ~/.cache/JetBrains/<product> for products you no longer use")},
};

static const sm_diskanalysis_spec spec = {
    .space_hog_targets = space_hog_targets,
    .old_file_targets = old_file_targets,
    .large_file_targets = large_file_targets,
    .old_days = 7,
    .rules = rules,
    .nrules = sizeof rules / sizeof rules[0],
    .old_files_advice = "Remove old temporary files from /tmp",
    .large_files_advice = "Review and remove large files in /srv and /opt",
};

SM_CHECKER_RUN(run)
{
	(void)self;
	(void)opts;
	sm_diskanalysis_run(&spec, res);
}

const sm_checker sm_checker_disk_linux = {
    .name = "disk_linux",
    .description = "Disk cleanup analysis of Linux package caches and journals.",
    .run = run,
    .warning = 5000,
    .critical = 20000,
    .slow = true,
    .details = sm_diskanalysis_details,
};
