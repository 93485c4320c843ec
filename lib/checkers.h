/* checkers.h - the checker implementations behind the registry in check.c.
 * Private to libsm: tools reach checkers through sm_checker_find(). */
#ifndef SM_LIB_CHECKERS_H
#define SM_LIB_CHECKERS_H

#include "sm/check.h"

#define SM_CHECKER(fn) void fn(const sm_checker *self, const sm_check_opts *opts, sm_check_result *res)

SM_CHECKER(sm_checker_cpu);
SM_CHECKER(sm_checker_cpu_temp);
SM_CHECKER(sm_checker_memory);
SM_CHECKER(sm_checker_swap);
SM_CHECKER(sm_checker_load);
SM_CHECKER(sm_checker_disk);
SM_CHECKER(sm_checker_disk_inodes);
SM_CHECKER(sm_checker_disk_common);
SM_CHECKER(sm_checker_disk_linux);
SM_CHECKER(sm_checker_disk_temp);
SM_CHECKER(sm_checker_io_strain);
SM_CHECKER(sm_checker_listening_ports);
SM_CHECKER(sm_checker_network);
SM_CHECKER(sm_checker_process);
SM_CHECKER(sm_checker_raid);
SM_CHECKER(sm_checker_reboot_debian);

/* Sample interval and sample count from opts, with the defaults applied. */
double sm_check_interval(const sm_check_opts *opts);
int sm_check_samples(const sm_check_opts *opts);
/* strerror that is safe on checker threads. */
const char *sm_check_strerror(int errnum, char *buf, size_t size);

#endif
