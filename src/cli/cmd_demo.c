/* demo: placeholder until the built-in workload lands. */
#include <errno.h>

#include "cli.h"

int ps_cmd_demo(struct ps_opts *o, struct ps_err *err)
{
	(void)o;
	ps_errf(err, ENOTSUP, "demo is not available yet");
	return PS_EXIT_FAIL;
}
