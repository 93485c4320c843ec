/* checker_disk_inodes.c - placeholder until the checker lands. */
#include "checkers.h"

SM_CHECKER(sm_checker_disk_inodes)
{
	(void)self;
	(void)opts;
	sm_result_fail(res, "not implemented");
}
