/* checker_io_strain.c - placeholder until the checker lands. */
#include "checkers.h"

SM_CHECKER(sm_checker_io_strain)
{
	(void)self;
	(void)opts;
	sm_result_fail(res, "not implemented");
}
