/* SPDX-License-Identifier: MIT */
/* run: launch a command with tracking engaged at its exec, before its first
 * instruction, watch it until it exits, and exit with its status. */
#include "cli.h"
#include "loop.h"

int ps_cmd_run(const struct ps_watch_args *a, struct ps_err *err)
{
	struct ps_launch launch = { 0 };
	struct ps_loop l;
	int rc = PS_EXIT_FAIL;

	if (ps_loop_init(&l, a, err) < 0)
		return PS_EXIT_FAIL;
	if (ps_loop_make_sinks(&l, a->heatmap, err) < 0 || ps_launch_start(&launch, a->argv, err) < 0)
		goto out;
	l.launch = &launch;
	if (ps_loop_launched(&l, err) < 0)
		goto kill;
	if (ps_loop_run(&l, err) < 0) {
		ps_loop_end(&l, PS_END_ERROR, err->msg);
		goto kill;
	}
	/* The watch may end early (count, duration): the command runs on, and
	 * pagescan waits for it to pass its status on. */
	rc = ps_launch_wait(&launch);
	goto out;
kill:
	ps_launch_kill(&launch);
out:
	ps_loop_free(&l);
	return rc;
}
