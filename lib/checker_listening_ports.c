/* checker_listening_ports.c - placeholder until the checker lands. */
#include "checkers.h"

SM_CHECKER(sm_checker_listening_ports)
{
	(void)self;
	(void)opts;
	sm_result_fail(res, "not implemented");
}
