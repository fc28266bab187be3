/* dump, engage and release. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pagescan/kernel/sys.h"
#include "pagescan/model/category.h"
#include "pagescan/render/fmt.h"
#include "pagescan/kernel/inject.h"
#include "pagescan/model/maps.h"
#include "pagescan/kernel/scan.h"
#include "pagescan/kernel/target.h"
#include "pagescan/kernel/tracker.h"
#include "pagescan/model/util.h"

static enum ps_fmt_kind fmt_kind(const struct ps_opts *o)
{
	return o->format == PS_FMT_JSON ? PS_OUT_JSON : o->format == PS_FMT_CSV ? PS_OUT_CSV : PS_OUT_TEXT;
}

static int check_categories(int pagemap_fd, uint64_t used, uint64_t *ret_supported, struct ps_err *err)
{
	uint64_t ok;
	int r = ps_scan_probe(pagemap_fd, &ok, err);
	if (r < 0)
		return r;
	*ret_supported = ok;
	for (size_t i = 0; i < ps_ncategories; i++)
		if ((used & ps_categories[i].bit) && !(ok & ps_categories[i].bit))
			return ps_errf(err, EOPNOTSUPP, "this kernel does not know the \"%s\" category (needs Linux %s or later)",
			               ps_categories[i].name, ps_categories[i].since);
	return 0;
}

/* ---- dump ----------------------------------------------------------------- */

/* The dump streams: every batch of regions from the kernel is fixed up,
 * merged with its neighbour, split at mapping boundaries and formatted at
 * once, so memory stays constant whatever the number of regions. */
struct dump_ctx {
	struct ps_dump_fmt f;
	struct ps_mask m;
	const struct ps_maps *maps;
	size_t vi;              /* mapping cursor: regions come in address order */
	struct ps_region cur;   /* pending region, still growing */
	bool have;
};

static int emit(struct dump_ctx *c, const struct ps_region *r, struct ps_err *err)
{
	const struct ps_maps *m = c->maps;
	uint64_t a = r->start;
	while (a < r->end) {
		while (c->vi < m->n && m->v[c->vi].end <= a)
			c->vi++;
		const struct ps_vma *v = NULL;
		uint64_t b = r->end;
		if (c->vi < m->n && m->v[c->vi].start <= a) {
			v = &m->v[c->vi];
			if (v->end < b)
				b = v->end;
		} else if (c->vi < m->n && m->v[c->vi].start < b) {
			b = m->v[c->vi].start;
		}
		struct ps_region piece = { .start = a, .end = b, .cats = r->cats };
		ps_fmt_dump_region(&c->f, &piece, v);
		a = b;
	}
	if (c->f.o->len >= (1u << 20)) {
		int e = ps_out_flush(c->f.o);
		if (e < 0)
			return e == -EPIPE ? e : ps_errf(err, -e, "cannot write the output: %s", strerror(-e));
	}
	return 0;
}

static int dump_batch(void *ctx, const struct page_region *vec, size_t n, struct ps_err *err)
{
	struct dump_ctx *c = ctx;
	for (size_t i = 0; i < n; i++) {
		uint64_t cats = vec[i].categories;
		/* "written" outside write-protect-tracked ranges is meaningless
		 * (the kernel reports every present page there as written). */
		if (!(cats & PS_CAT_WPALLOWED))
			cats &= ~(uint64_t)PS_CAT_WRITTEN;
		if (!ps_mask_match(&c->m, cats))
			continue;
		if (c->have && c->cur.end == vec[i].start && c->cur.cats == cats) {
			c->cur.end = vec[i].end;
			continue;
		}
		if (c->have) {
			int r = emit(c, &c->cur, err);
			if (r < 0)
				return r;
		}
		c->cur = (struct ps_region){ .start = vec[i].start, .end = vec[i].end, .cats = cats };
		c->have = true;
	}
	return 0;
}

/* A run of selected mappings scanned in one go; file: may hold FILE pages. */
struct dump_seg {
	uint64_t start, end;
	bool file;
};

int ps_cmd_dump(struct ps_opts *o, struct ps_err *err)
{
	struct dump_seg *segs = NULL;
	struct ps_target t;
	struct ps_maps maps = { 0 };
	struct ps_rangeset sel = { 0 };
	struct ps_out out;
	struct ps_scan_stats st = { 0 };
	int rc = PS_EXIT_FAIL, r;

	if (!o->have_mask)
		o->mask = (struct ps_mask){ .anyof = PS_CAT_PRESENT | PS_CAT_SWAPPED };
	struct ps_mask m = o->mask;
	if ((ps_mask_bits(&m) & PS_CAT_WRITTEN) && !(m.mask & PS_CAT_WPALLOWED)) {
		/* Restrict to tracked ranges; the kernel skips the others per VMA. */
		m.mask |= PS_CAT_WPALLOWED;
		m.inverted &= ~(uint64_t)PS_CAT_WPALLOWED;
	}

	ps_out_init(&out, STDOUT_FILENO);
	if (ps_target_open(&t, o->pid, err) < 0)
		return PS_EXIT_FAIL;
	uint64_t supported;
	if (ps_target_open_pagemap(&t, err) < 0 || check_categories(t.pagemap_fd, ps_mask_bits(&m), &supported, err) < 0 ||
	    ps_maps_read(t.mmfd, &maps, err) < 0)
		goto out;
	r = ps_rangespec_resolve(o->ranges, o->nranges, &maps, &sel);
	if (r < 0) {
		ps_errf(err, -r, "out of memory");
		goto out;
	}
	struct dump_ctx c = { .f = { .o = &out, .kind = fmt_kind(o) }, .m = m, .maps = &maps };
	r = 0;
	/* One scan per run of mappings of the same kind, in address order.
	 * The FILE category costs the kernel a page lookup per entry and is
	 * never set in private anonymous memory: those runs are scanned
	 * without it (the user's mask is still applied in full, with FILE
	 * clear). Without -r a run spans holes (the walk skips them). */
	uint64_t top = ps_maps_user_end(&maps);
	bool whole = o->nranges == 0;
	size_t nsegs = 0, segs_cap = 0;
	for (size_t i = 0, k = 0; i < maps.n; i++) {
		const struct ps_vma *v = &maps.v[i];
		if (v->start >= top)
			break;
		bool file = (v->kind != PS_VMA_ANON && v->kind != PS_VMA_HEAP && v->kind != PS_VMA_STACK) ||
		            (v->prot & PS_VMA_SHARED);
		while (k < sel.n && sel.r[k].end <= v->start)
			k++;
		for (size_t q = k; q < sel.n && sel.r[q].start < v->end; q++) {
			uint64_t a0 = sel.r[q].start > v->start ? sel.r[q].start : v->start;
			uint64_t b0 = sel.r[q].end < v->end ? sel.r[q].end : v->end;
			struct dump_seg *last = nsegs ? &segs[nsegs - 1] : NULL;
			if (last && last->file == file && (whole || last->end == a0)) {
				last->end = b0;
				continue;
			}
			if (ps_grow((void **)&segs, &segs_cap, nsegs + 1, sizeof(*segs)) < 0) {
				ps_errf(err, ENOMEM, "out of memory");
				goto done;
			}
			segs[nsegs++] = (struct dump_seg){ .start = a0, .end = b0, .file = file };
		}
	}
	for (size_t i = 0; i < nsegs && !st.truncated; i++) {
		uint64_t keep = segs[i].file ? ~(uint64_t)0 : ~(uint64_t)PS_CAT_FILE;
		struct ps_scan_req req = {
			.start = segs[i].start, .end = segs[i].end,
			.mask = m.mask & keep, .inverted = m.inverted & keep, .anyof = m.anyof & keep,
			.ret = supported & keep,
			.wp = o->clear,
			.max_pages = o->max_pages ? o->max_pages - st.pages : 0,
		};
		struct ps_scan_stats s1;
		r = ps_scan_each(t.pagemap_fd, &req, dump_batch, &c, &s1, err);
		st.pages += s1.pages;
		st.truncated |= s1.truncated;
		if (r == -EPIPE)
			break;
		if (r < 0)
			goto done;
	}
	if (c.have && (r = emit(&c, &c.cur, err)) < 0 && r != -EPIPE)
		goto done;
	if (r != -EPIPE) {
		ps_fmt_dump_summary(&c.f, st.truncated);
		r = ps_out_flush(&out);
		if (r < 0 && r != -EPIPE) {
			ps_errf(err, -r, "cannot write the output: %s", strerror(-r));
			goto done;
		}
	}
	rc = PS_EXIT_OK;
done:
	ps_fmt_dump_done(&c.f);
	free(segs);
out:
	ps_out_free(&out);
	ps_rangeset_free(&sel);
	ps_maps_free(&maps);
	ps_target_close(&t);
	return rc;
}

/* ---- engage ---------------------------------------------------------------- */

/* Refuse when anything in the target is already write-protect tracked. */
int ps_check_untracked(const struct ps_target *t, struct ps_err *err)
{
	bool tracked;
	int fds[4];
	uint64_t inos[4];
	struct ps_maps maps = { 0 };

	int r = ps_maps_read(t->mmfd, &maps, err);
	if (r < 0)
		return r;
	r = ps_tracked_anywhere(t->pagemap_fd, &maps, &tracked, err);
	ps_maps_free(&maps);
	if (r < 0)
		return r;
	if (!tracked)
		return 0;
	int n = ps_find_engaged(t, fds, inos, 4, false, NULL);
	if (n > 0)
		return ps_errf(err, EBUSY, "process %d is already tracked by pagescan engage (userfaultfd fd %d in it); run `pagescan release %d` first",
		               t->pid, fds[0], t->pid);
	return ps_errf(err, EBUSY, "process %d is already tracked by another userfaultfd (another pagescan watch, or the program's own); stop that first",
	               t->pid);
}

/* Kernel support, with the messages users need. */
int ps_check_kernel(const struct ps_target *t, struct ps_err *err)
{
	uint64_t cats, features;
	int r = ps_scan_probe(t->pagemap_fd, &cats, err);
	if (r < 0)
		return r;
	r = ps_uffd_probe(&features, err);
	if (r < 0)
		return r;
	if (!(features & UFFD_FEATURE_WP_ASYNC))
		return ps_errf(err, EOPNOTSUPP, "this kernel lacks userfaultfd asynchronous write-protect (needs Linux 6.7+ with CONFIG_PTE_MARKER_UFFD_WP)");
	return 0;
}

int ps_cmd_engage(struct ps_opts *o, struct ps_err *err)
{
	struct ps_target t;
	struct ps_tracker tr = { .uffd = -1 };
	struct ps_maps maps = { 0 };
	struct ps_sync_result res = { 0 };
	struct ps_out out;
	char warning[256] = "";
	int local = -1, remote = -1, rc = PS_EXIT_FAIL;

	ps_out_init(&out, STDOUT_FILENO);
	if (ps_target_open(&t, o->pid, err) < 0)
		return PS_EXIT_FAIL;
	if (ps_target_open_pagemap(&t, err) < 0 || ps_check_kernel(&t, err) < 0 || ps_check_untracked(&t, err) < 0)
		goto out;
	if (ps_remote_userfaultfd(&t, NULL, true, &local, &remote, warning, sizeof(warning), err) < 0)
		goto out;
	if (warning[0])
		ps_warn("%s", warning);
	if (ps_tracker_init(&tr, &t, local, o->ranges, o->nranges, err) < 0)
		goto undo;
	local = -1; /* the tracker owns it */
	if (ps_maps_read(t.mmfd, &maps, err) < 0 || ps_tracker_sync(&tr, &maps, false, &res, err) < 0)
		goto undo;
	if (res.engaged.n == 0) {
		ps_errf(err, ENOENT, "nothing in process %d could be tracked (%zu mappings refused, %llu read-only)%s",
		        t.pid, res.skipped.n, (unsigned long long)tr.readonly_vmas,
		        o->nranges ? "; check the -r ranges" : "");
		goto undo;
	}
	ps_fmt_engage(&out, fmt_kind(o), t.pid, t.comm, res.engaged.v, res.engaged.n, res.skipped.v, res.skipped.n,
	              tr.readonly_vmas);
	ps_out_flush(&out);
	rc = PS_EXIT_OK;
	goto out;
undo:
	{
		/* Leave the target as it was: close the copy we put there. */
		struct ps_err e2 = { 0 };
		ps_tracker_disarm(&tr);
		if (remote >= 0 && ps_remote_close(&t, NULL, remote, 0, NULL, 0, &e2) < 0)
			ps_warn("could not remove the userfaultfd (fd %d) from process %d: %s", remote, t.pid, e2.msg);
	}
out:
	ps_tracker_done(&tr);
	ps_close(&local);
	ps_sync_result_free(&res);
	ps_maps_free(&maps);
	ps_out_free(&out);
	ps_target_close(&t);
	return rc;
}

/* ---- release --------------------------------------------------------------- */

int ps_cmd_release(struct ps_opts *o, struct ps_err *err)
{
	struct ps_target t;
	int fds[16];
	uint64_t inos[16];
	int rc = PS_EXIT_FAIL;

	if (ps_target_open(&t, o->pid, err) < 0)
		return PS_EXIT_FAIL;
	int n = ps_find_engaged(&t, fds, inos, 16, o->release_fd >= 0, err);
	if (n < 0)
		goto out;
	int fd = -1;
	uint64_t ino = 0;
	if (o->release_fd >= 0) {
		for (int i = 0; i < n && i < 16; i++)
			if (fds[i] == o->release_fd) {
				fd = fds[i];
				ino = inos[i];
			}
		if (fd < 0) {
			ps_errf(err, ENOENT, "fd %d of process %d is not a userfaultfd", o->release_fd, t.pid);
			goto out;
		}
	} else if (n == 0) {
		ps_errf(err, ENOENT, "process %d is not engaged: it holds no write-tracking userfaultfd", t.pid);
		goto out;
	} else if (n > 1) {
		char list[128] = "";
		size_t l = 0;
		for (int i = 0; i < n && i < 16 && l < sizeof(list) - 12; i++)
			l += (size_t)snprintf(list + l, sizeof(list) - l, "%s%d", i ? ", " : "", fds[i]);
		ps_errf(err, EEXIST, "process %d holds %d write-tracking userfaultfds (fds %s); choose one with --fd", t.pid, n, list);
		goto out;
	} else {
		fd = fds[0];
		ino = inos[0];
	}
	char warning[256] = "";
	/* Undo the registrations from here first, a little at a time, so the
	 * close in the target has nothing left to un-protect (best effort:
	 * what is left, the close undoes in one go). Only once the target has
	 * shown it can be stopped for the close: when it cannot (a vfork
	 * parent, a frozen cgroup), release gives up with tracking intact. */
	if (ps_inject_probe(&t, NULL, warning, sizeof(warning), err) < 0)
		goto out;
	bool unregistered = ps_remote_unregister_gently(&t, fd, ino) == 0;
	if (ps_remote_close(&t, NULL, fd, ino, warning, sizeof(warning), err) < 0) {
		if (unregistered) {
			char why[sizeof(err->msg)];
			snprintf(why, sizeof(why), "%s", err->msg);
			ps_errf(err, err->code,
			        "%s; its mappings were already unregistered, so tracking has stopped, but the userfaultfd stays in process %d as fd %d: run `pagescan release %d` again",
			        why, t.pid, fd, t.pid);
		}
		goto out;
	}
	if (warning[0])
		ps_warn("%s", warning);
	/* Children forked while engaged hold copies of the same userfaultfd,
	 * which keep the pages write-protected: close those too. */
	pid_t hp[16];
	int hf[16];
	char also[160] = "";
	size_t al = 0;
	int nh = ino ? ps_find_uffd_holders(ino, t.pid, hp, hf, 16) : 0;
	for (int i = 0; i < nh && i < 16; i++) {
		struct ps_target ct;
		struct ps_err e2 = { 0 };
		if (ps_target_open(&ct, hp[i], &e2) < 0 ||
		    ps_remote_close(&ct, NULL, hf[i], ino, NULL, 0, &e2) < 0) {
			ps_warn("process %d, forked from %d while engaged, keeps a copy of its userfaultfd (fd %d): %s",
			        hp[i], t.pid, hf[i], e2.msg);
		} else if (al < sizeof(also) - 16) {
			al += (size_t)snprintf(also + al, sizeof(also) - al, "%s%d", al ? ", " : "", hp[i]);
		}
		ps_target_close(&ct);
	}
	printf("released process %d (%s): closed userfaultfd fd %d%s%s%s; its pages are no longer write-protected\n",
	       t.pid, t.comm, fd, al ? " and its copies in processes " : "", also, al ? " (forked while engaged)" : "");
	rc = PS_EXIT_OK;
out:
	ps_target_close(&t);
	return rc;
}
