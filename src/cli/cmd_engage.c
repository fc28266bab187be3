/* SPDX-License-Identifier: MIT */
/* engage and release: persistent tracking, left in the target. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pagescan/kernel/engage.h"
#include "pagescan/model/util.h"
#include "pagescan/render/fmt.h"
#include "pagescan/render/outbuf.h"

/* Write out and flush the buffer (standard output). */
static int flush_out(struct ps_out *out, struct ps_err *err)
{
	int r = ps_out_flush(out);
	ps_out_free(out);
	if (r < 0 && r != -EPIPE)
		return ps_errf(err, -r, "cannot write the output: %s", strerror(-r));
	return 0;
}

int ps_cmd_engage(const struct ps_engage_args *a, struct ps_err *err)
{
	struct ps_target t;
	struct ps_engagement e;
	struct ps_notes notes = { 0 };
	struct ps_out out;

	if (ps_target_open(&t, a->pid, err) < 0)
		return PS_EXIT_FAIL;
	int r = ps_engage_persistent(&t, a->ranges.v, a->ranges.n, &e, &notes, err);
	ps_warn_notes(&notes);
	ps_warn_unmatched(&t, a->ranges.v, a->ranges.n);
	if (r < 0) {
		ps_target_close(&t);
		return PS_EXIT_FAIL;
	}
	ps_out_init(&out, STDOUT_FILENO);
	ps_fmt_engage(&out, a->format, t.pid, t.comm, e.res.engaged.v, e.res.engaged.n, e.res.skipped.v,
	              e.res.skipped.n, e.readonly_vmas);
	r = flush_out(&out, err);
	ps_engagement_free(&e);
	ps_target_close(&t);
	return r < 0 ? PS_EXIT_FAIL : PS_EXIT_OK;
}

int ps_cmd_release(const struct ps_release_args *a, struct ps_err *err)
{
	struct ps_target t;
	struct ps_release rel;
	struct ps_notes notes = { 0 };
	struct ps_out out;

	if (ps_target_open(&t, a->pid, err) < 0)
		return PS_EXIT_FAIL;
	int r = ps_release(&t, a->fd, &rel, &notes, err);
	if (r == 0 && !a->no_recollapse) {
		/* the huge pages tracking split, given back in pagescan's time */
		struct ps_huge_stats h;
		int hr = ps_release_recollapse(&t, &h);
		if (hr < 0)
			ps_note(&notes, "cannot look for huge pages split by tracking: %s", strerror(-hr));
		else if (h.split)
			ps_note(&notes, "tracking split %llu huge pages (%llu MiB) of process %d; MADV_COLLAPSE gave %llu back in %.1f ms (pagescan's CPU time: %.1f ms)%s%s",
			        (unsigned long long)h.split, (unsigned long long)(PS_PMD_SIZE >> 20), t.pid,
			        (unsigned long long)h.recollapsed,
			        (double)h.recollapse_wall_ns / 1e6, (double)h.recollapse_cpu_ns / 1e6,
			        h.recollapse_errno ? "; the kernel refused some: " : "",
			        h.recollapse_errno ? strerror(h.recollapse_errno) : "");
	}
	ps_warn_notes(&notes);
	if (r == 0) {
		ps_out_init(&out, STDOUT_FILENO);
		ps_fmt_release(&out, a->format, t.pid, t.comm, rel.fd, rel.copies, rel.ncopies);
		r = flush_out(&out, err);
	}
	ps_target_close(&t);
	return r < 0 ? PS_EXIT_FAIL : PS_EXIT_OK;
}
