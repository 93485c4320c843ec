/* checker_disk_linux.c - placeholder until the checker lands. */
#include "checkers.h"

SM_CHECKER(sm_checker_disk_linux)
{
	(void)self;
	(void)opts;
	sm_result_fail(res, "not implemented");
}
