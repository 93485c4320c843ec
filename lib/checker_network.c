/* checker_network.c - placeholder until the checker lands. */
#include "checkers.h"

SM_CHECKER(sm_checker_network)
{
	(void)self;
	(void)opts;
	sm_result_fail(res, "not implemented");
}

bool sm_check_host_valid(const char *s)
{
	(void)s;
	return false;
}
