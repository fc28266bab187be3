/* SPDX-License-Identifier: MIT */
/* dump: one scan of the target's pages, streamed as address ranges. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pagescan/kernel/engage.h"
#include "pagescan/kernel/sys.h"
#include "pagescan/model/category.h"
#include "pagescan/render/fmt.h"
#include "pagescan/model/maps.h"
#include "pagescan/kernel/scan.h"
#include "pagescan/kernel/target.h"
#include "pagescan/kernel/tracker.h"
#include "pagescan/model/util.h"

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

/* The categories of a region as reported: "written" outside
 * write-protect-tracked ranges is meaningless (the kernel reports every
 * present page there as written). When the mask asks about "written", the
 * zero page (a read of a hole) and empty entries (zapped by
 * MADV_DONTNEED and the like) are not writes either, though the kernel
 * reports them written (docs/memory-events.md); the scan returns PRESENT,
 * SWAPPED and PFNZERO to tell. */
static uint64_t region_cats(const struct page_region *r, const struct ps_mask *m)
{
	uint64_t cats = r->categories;
	if (!(cats & PS_CAT_WPALLOWED))
		cats &= ~(uint64_t)PS_CAT_WRITTEN;
	if ((cats & PS_CAT_WRITTEN) && (ps_mask_bits(m) & PS_CAT_WRITTEN) &&
	    ((cats & PS_CAT_PFNZERO) || !(cats & (PS_CAT_PRESENT | PS_CAT_SWAPPED))))
		cats &= ~(uint64_t)PS_CAT_WRITTEN;
	return cats;
}

/* Categories only a populated entry (present, or a swap entry or marker)
 * can have. */
#define POPULATED_ONLY \
	((uint64_t)(PS_CAT_PRESENT | PS_CAT_SWAPPED | PS_CAT_FILE | PS_CAT_PFNZERO | PS_CAT_HUGE | PS_CAT_GUARD))

/* --clear write-protects what the scan matches: never an empty entry (that
 * would allocate page tables and install markers in holes). Unless the mask
 * already excludes empty entries, restrict it to populated ones with the
 * any-of group; a group of the user's that may match holes cannot be
 * combined with it (the kernel has one any-of mask). */
static int clear_populated_only(struct ps_mask *m, struct ps_err *err)
{
	if (m->mask & ~m->inverted & POPULATED_ONLY)
		return 0;
	/* An inverted bit is inverted in the any-of group too: "!present"
	 * leaves "swapped" to tell a page from a hole. */
	uint64_t populated = (PS_CAT_PRESENT | PS_CAT_SWAPPED) & ~m->inverted;
	if (!m->anyof && populated) {
		m->anyof = populated;
		return 0;
	}
	if (m->anyof && !(m->anyof & m->inverted) && !(m->anyof & ~POPULATED_ONLY))
		return 0;
	return ps_errf(err, EINVAL, "--clear with this mask could write-protect empty entries (holes): add present or "
	                            "swapped to it, or make its any-of group (A|B) one of present, swapped, file, "
	                            "pfnzero, huge and guard");
}

static int dump_batch(void *ctx, const struct page_region *vec, size_t n, struct ps_err *err)
{
	struct dump_ctx *c = ctx;
	for (size_t i = 0; i < n; i++) {
		uint64_t cats = region_cats(&vec[i], &c->m);
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

/* Whether a scan finds any page the mask selects. */
struct probe_ctx {
	const struct ps_mask *m;
	bool *found;
};

static int probe_batch(void *ctx, const struct page_region *vec, size_t n, struct ps_err *err)
{
	const struct probe_ctx *p = ctx;
	(void)err;
	for (size_t i = 0; i < n; i++)
		if (ps_mask_match(p->m, region_cats(&vec[i], p->m)))
			*p->found = true;
	return 0;
}

/* A run of selected mappings scanned in one go; file: may hold FILE pages. */
struct dump_seg {
	uint64_t start, end;
	bool file;
};

/* Is any page of the runs under write-protect tracking (engaged)? Errors
 * count as yes: then no hint is given. */
static bool any_tracked(const struct ps_target *t, const struct ps_maps *maps, const struct dump_seg *segs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct ps_scan_req req = {
			.start = segs[i].start, .end = segs[i].end,
			.mask = PS_CAT_WPALLOWED, .ret = PS_CAT_WPALLOWED, .max_pages = 1, .maps = maps,
		};
		struct ps_scan_stats s1;
		struct ps_err e;
		bool found = false;
		struct ps_mask m = { .mask = PS_CAT_WPALLOWED };
		if (ps_scan_each(t->pagemap_fd, &req, probe_batch, &(struct probe_ctx){ .m = &m, .found = &found }, &s1,
		                 &e) < 0 || found)
			return true;
	}
	return false;
}

int ps_cmd_dump(const struct ps_dump_args *a, struct ps_err *err)
{
	struct dump_seg *segs = NULL;
	struct ps_target t;
	struct ps_maps maps = { 0 };
	struct ps_rangeset sel = { 0 };
	struct ps_out out;
	struct ps_scan_stats st = { 0 };
	struct ps_notes notes = { 0 };
	int rc = PS_EXIT_FAIL, r;

	struct ps_mask m = a->have_mask ? a->mask : (struct ps_mask){ .anyof = PS_CAT_PRESENT | PS_CAT_SWAPPED };
	if ((ps_mask_bits(&m) & PS_CAT_WRITTEN) && !(m.mask & PS_CAT_WPALLOWED)) {
		/* Restrict to tracked ranges; the kernel skips the others per VMA. */
		m.mask |= PS_CAT_WPALLOWED;
		m.inverted &= ~(uint64_t)PS_CAT_WPALLOWED;
	}
	if (a->clear && clear_populated_only(&m, err) < 0)
		return PS_EXIT_FAIL;

	ps_out_init(&out, STDOUT_FILENO);
	if (ps_target_open(&t, a->pid, err) < 0)
		return PS_EXIT_FAIL;
	uint64_t supported;
	if (ps_target_open_pagemap(&t, err) < 0 || ps_check_categories(t.pagemap_fd, ps_mask_bits(&m), &supported, err) < 0 ||
	    ps_maps_read(t.mmfd, &maps, err) < 0)
		goto out;
	r = ps_rangespec_resolve(a->ranges.v, a->ranges.n, &maps, &sel);
	if (r < 0) {
		ps_errf(err, -r, "out of memory");
		goto out;
	}
	/* An empty answer explains itself: a -r that selects nothing says so
	 * (and what the process has instead). */
	ps_rangespec_note_unmatched(a->ranges.v, a->ranges.n, &maps, &notes);
	struct dump_ctx c = { .f = { .o = &out, .kind = a->format }, .m = m, .maps = &maps };
	r = 0;
	/* One scan per run of mappings of the same kind, in address order.
	 * The FILE category costs the kernel a page lookup per entry and is
	 * never set in private anonymous memory: those runs are scanned
	 * without it (the user's mask is still applied in full, with FILE
	 * clear). Without -r a run spans holes (the walk skips them). */
	uint64_t top = ps_maps_user_end(&maps);
	bool whole = a->ranges.n == 0;
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
			.wp = a->clear,
			.max_pages = a->max_pages ? a->max_pages - st.pages : 0,
			.maps = &maps, /* a run spans holes: pieces count mapped bytes */
		};
		struct ps_scan_stats s1;
		if (a->max_pages && st.pages >= a->max_pages) {
			/* -M used up exactly by the runs before (max_pages 0 would
			 * mean no limit): is anything left? Truncated if so;
			 * nothing is reported or re-protected. */
			req.max_pages = 1;
			req.wp = false;
			bool more = false;
			r = ps_scan_each(t.pagemap_fd, &req, probe_batch, &(struct probe_ctx){ .m = &m, .found = &more },
			                 &s1, err);
			if (r < 0)
				goto done;
			st.truncated = more;
			continue;
		}
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
	if (r != -EPIPE && !st.pages && (ps_mask_bits(&m) & PS_CAT_WRITTEN) && !any_tracked(&t, &maps, segs, nsegs))
		ps_note(&notes, "no page of process %d is tracked for writes, so \"written\" matches nothing: "
		                "engage it first (pagescan engage %d), and dump -m written then shows the pages "
		                "written since; or follow it live with pagescan watch %d",
		        a->pid, a->pid, a->pid);
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
	ps_warn_notes(&notes);
	free(segs);
out:
	ps_out_free(&out);
	ps_rangeset_free(&sel);
	ps_maps_free(&maps);
	ps_target_close(&t);
	return rc;
}
