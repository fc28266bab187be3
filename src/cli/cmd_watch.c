/* SPDX-License-Identifier: MIT */
/* watch: attach to running processes and watch them: one PID as it always
 * was, or a workload (several PIDs, --tree, --cgroup). */
#include "cli.h"
#include "loop.h"

int ps_cmd_watch(const struct ps_watch_args *a, struct ps_err *err)
{
	struct ps_loop l;
	int rc = PS_EXIT_FAIL;
	bool workload = a->npids > 1 || a->tree || a->cgroup;

	if (ps_loop_init(&l, a, err) < 0)
		return PS_EXIT_FAIL;
	if (workload) {
		if (ps_loop_make_sinks(&l, a->heatmap, err) < 0 || ps_loop_workload(&l, err) < 0)
			goto out;
	} else if (ps_target_open(&l.t, a->pid, err) < 0 || ps_loop_make_sinks(&l, a->heatmap, err) < 0 ||
	           ps_loop_attach(&l, err) < 0) {
		goto out;
	}
	if (ps_loop_run(&l, err) < 0) {
		ps_loop_end(&l, PS_END_ERROR, err->msg);
		goto out;
	}
	rc = PS_EXIT_OK;
out:
	ps_loop_free(&l);
	return rc;
}
