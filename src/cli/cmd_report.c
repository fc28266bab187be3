/* report: placeholder until the recording analysis lands. */
#include <errno.h>

#include "cli.h"

int ps_cmd_report(struct ps_opts *o, struct ps_err *err)
{
	(void)o;
	ps_errf(err, ENOTSUP, "report is not available yet");
	return PS_EXIT_FAIL;
}
