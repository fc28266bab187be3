/* SPDX-License-Identifier: MIT */
/* The PAGEMAP_SCAN loop against a fake kernel that follows the real one's
 * algorithm (do_pagemap_scan() in fs/proc/task_mmu.c, 6.7 to 6.18) page by
 * page, including what makes walk_end unreliable past one bounce buffer
 * (docs/kernel-interfaces.md#the-vector-cap, #output-and-the-page-limit):
 *
 *  - output goes through a bounce buffer of min(512, vec_len) regions; a
 *    region that does not fit ends the walk chunk with walk_end at its
 *    address, the buffer is copied out, and while the caller's vector has
 *    room the next chunk walks on from there;
 *  - max_pages: a matching page past the limit ends the walk (walk_end = its
 *    address); reaching the limit exactly does not: the walk goes on to the
 *    next matching page, or to the end;
 *  - walk_end is only written on those early stops, and set to end at the
 *    very end only if it is still 0: after a refill, a chunk that runs to the
 *    end leaves the stale refill point (also after max_pages was reached).
 *
 * The loop must be exact whatever the layout, never ask for more than 512
 * regions per call, and say truncated only when pages were left out.
 *
 * The fake also keeps a clock that each call advances by a cost per page
 * walked, so that the piece sizing (docs/kernel-interfaces.md#scanning-in-pieces)
 * can be checked without a live process. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/category.h"
#include "pagescan/kernel/scan.h"
#include "pagescan/model/util.h"
#include "helpers.h"
#include "tap.h"

#define BASE 0x100000000ull
#define NPAGES 48200         /* the e2e check's mapping: 24,100 one-page regions */
#define KERNEL_BOUNCE 512    /* PAGEMAP_WALK_SIZE >> PAGE_SHIFT with 4 KiB pages */

#define MAX_LOG 8192

/* One call as the fake saw it. */
struct call {
	uint64_t start, end, walk_end, ns;
	int n;
};

struct fake {
	uint64_t cats[NPAGES];
	int calls;
	uint64_t min_vec_seen, max_vec_seen;
	int fail_after_calls;   /* return EPERM on this call (1-based), after output */
	uint64_t clock;         /* fake ns, advanced by each call */
	uint64_t cost_ns;       /* per page walked */
	struct call log[MAX_LOG];
};

static uint64_t addr(size_t page)
{
	return BASE + page * PS_PAGE_SIZE;
}

static bool match(const struct pm_scan_arg *a, uint64_t c)
{
	c ^= a->category_inverted;
	return (c & a->category_mask) == a->category_mask &&
	       (!a->category_anyof_mask || (c & a->category_anyof_mask));
}

/* The bounce buffer, as pagemap_scan_push_range() fills it. */
struct bounce {
	struct page_region r[KERNEL_BOUNCE];
	size_t len, i;
};

static bool push_range(struct bounce *b, uint64_t cats, uint64_t start, uint64_t end)
{
	struct page_region *cur = &b->r[b->i];
	if (start == cur->end && cats == cur->categories) {
		cur->end = end;
		return true;
	}
	if (cur->end) {
		if (b->i >= b->len - 1)
			return false;
		cur = &b->r[++b->i];
	}
	cur->start = start;
	cur->end = end;
	cur->categories = cats;
	return true;
}

/* do_pagemap_scan(), page by page. */
static int fake_walk(struct fake *f, struct pm_scan_arg *a)
{
	struct page_region *out = (struct page_region *)(uintptr_t)a->vec;
	uint64_t vec_len = a->vec_len, found = 0, max = a->max_pages ? a->max_pages : UINT64_MAX;
	static struct bounce b;
	int nout = 0;

	f->calls++;
	if (a->vec_len > f->max_vec_seen)
		f->max_vec_seen = a->vec_len;
	if (a->vec_len < f->min_vec_seen)
		f->min_vec_seen = a->vec_len;
	if (a->size != sizeof(*a) || (a->start & (PS_PAGE_SIZE - 1)) || a->end < a->start || (!a->vec && a->vec_len)) {
		errno = EINVAL;
		return -1;
	}
	uint64_t end = (a->end + PS_PAGE_SIZE - 1) & ~(PS_PAGE_SIZE - 1);
	a->walk_end = 0;
	if (!vec_len) {
		a->walk_end = end;
		return 0;
	}
	memset(&b, 0, sizeof(b));
	b.len = vec_len < KERNEL_BOUNCE ? vec_len : KERNEL_BOUNCE;
	for (uint64_t walk_start = a->start; walk_start < end; walk_start = a->walk_end) {
		bool enospc = false;
		/* Outside [BASE, NPAGES) nothing is mapped: skipped, as the
		 * kernel skips holes. */
		uint64_t from = walk_start > BASE ? walk_start : BASE, to = end < addr(NPAGES) ? end : addr(NPAGES);
		for (uint64_t p = from; p < to && !enospc; p += PS_PAGE_SIZE) {
			size_t i = (p - BASE) / PS_PAGE_SIZE;
			if (!match(a, f->cats[i]))
				continue; /* no match */
			uint64_t c = f->cats[i], rc = c & a->return_mask, e = p + PS_PAGE_SIZE;
			/* pagemap_scan_output() */
			if (found + 1 > max) {
				e = p;
				enospc = true;
			}
			if (!push_range(&b, rc, p, e)) {
				e = p;
				enospc = true;
			}
			if (enospc) {
				a->walk_end = e;
				break;
			}
			found++;
			if ((a->flags & PM_SCAN_WP_MATCHING) && (c & PAGE_IS_WRITTEN))
				f->cats[i] &= ~(uint64_t)PAGE_IS_WRITTEN;
		}
		/* pagemap_scan_flush_buffer() */
		size_t n = b.i + (b.r[b.i].end != b.r[b.i].start);
		memcpy(out + nout, b.r, n * sizeof(b.r[0]));
		nout += (int)n;
		vec_len -= n;
		b.i = 0;
		if (vec_len < b.len)
			b.len = vec_len;
		b.r[0].start = b.r[0].end = 0;
		if (!enospc || vec_len == 0 || found == max)
			break;
	}
	if (!a->walk_end)
		a->walk_end = end; /* only while still 0: a refill point stays, stale */
	return nout;
}

static int fake_ioctl(int fd, struct pm_scan_arg *a, void *ctx)
{
	struct fake *f = ctx;
	(void)fd;
	int n = fake_walk(f, a);
	if (n >= 0) {
		/* Only mapped pages cost: the kernel skips holes. */
		uint64_t ws = a->start > addr(0) ? a->start : addr(0);
		uint64_t we = a->walk_end < addr(NPAGES) ? a->walk_end : addr(NPAGES);
		uint64_t ns = we > ws ? f->cost_ns * ((we - ws) / PS_PAGE_SIZE) : 0;
		f->clock += ns;
		if (f->calls <= MAX_LOG)
			f->log[f->calls - 1] = (struct call){ a->start, a->end, a->walk_end, ns, n };
	}
	if (n >= 0 && f->fail_after_calls && f->calls == f->fail_after_calls) {
		/* Regions were copied out, yet the call fails (EPERM is not atomic). */
		a->walk_end = a->end;
		errno = EPERM;
		return -1;
	}
	return n;
}

/* Truth: pages of [start,end) matching, as merged regions. */
static void truth(const struct fake *f, const struct ps_scan_req *q, struct ps_regions *out)
{
	struct pm_scan_arg a = { .category_mask = q->mask, .category_inverted = q->inverted,
	                         .category_anyof_mask = q->anyof };
	for (size_t i = 0; i < NPAGES; i++) {
		uint64_t p = addr(i);
		if (p < q->start || p >= q->end || !match(&a, f->cats[i]))
			continue;
		ps_regions_push(out, p, p + PS_PAGE_SIZE, f->cats[i] & q->ret);
	}
}

/* The first max pages of the truth. */
static void truth_head(struct ps_regions *v, uint64_t max)
{
	uint64_t left = max;
	size_t k = 0;
	for (; k < v->n && left; k++) {
		uint64_t pages = (v->r[k].end - v->r[k].start) / PS_PAGE_SIZE;
		if (pages > left) {
			v->r[k].end = v->r[k].start + left * PS_PAGE_SIZE;
			pages = left;
		}
		left -= pages;
	}
	v->n = k;
}

static void reset(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->min_vec_seen = UINT64_MAX;
}

static uint64_t fake_clock(void *ctx)
{
	return ((struct fake *)ctx)->clock;
}

/* A pace on the fake's clock starting with the given piece (0: the default). */
static struct ps_scan_pace pace_on(struct fake *f, uint64_t piece)
{
	return (struct ps_scan_pace){ .piece = piece, .clock = fake_clock, .clock_ctx = f };
}

static void layout(struct fake *f, unsigned seed, int kind)
{
	reset(f);
	srand(seed);
	for (size_t i = 0; i < NPAGES; i++) {
		uint64_t c = PAGE_IS_WPALLOWED;
		switch (kind) {
		case 0: /* every other page present+written: 24,100 regions */
			if (i % 2 == 0)
				c |= PAGE_IS_PRESENT | PAGE_IS_WRITTEN;
			break;
		case 1: /* random */
			if (rand() % 3 == 0)
				c |= PAGE_IS_PRESENT;
			if (rand() % 4 == 0)
				c |= PAGE_IS_WRITTEN;
			if (rand() % 7 == 0)
				c |= PAGE_IS_FILE;
			break;
		default: /* long runs */
			if ((i / 700) % 2)
				c |= PAGE_IS_PRESENT | PAGE_IS_WRITTEN;
			break;
		}
		f->cats[i] = c;
	}
}

/* Exactly k one-page present regions (pages 0, 2, 4, ...), nothing after. */
static void layout_regions(struct fake *f, size_t k)
{
	reset(f);
	for (size_t i = 0; i < NPAGES; i++)
		f->cats[i] = PAGE_IS_WPALLOWED | (i % 2 == 0 && i / 2 < k ? PAGE_IS_PRESENT : 0);
}

/* The loop always passes a vector of exactly 512 (the kernel's bounce
 * buffer with 4 KiB pages: docs/kernel-interfaces.md#the-vector-cap). The
 * literal is the point: PS_SCAN_VEC_MAX is what this guards. */
static void vec_is_512(const struct fake *f, const char *what)
{
	is_u64(f->max_vec_seen, 512, "%s: no call asks for more than 512 regions", what);
	is_u64(f->min_vec_seen, 512, "%s: every call passes a 512-entry vector", what);
}

static void test_exact_layouts(void)
{
	static struct fake f;
	struct ps_err err;
	const struct { uint64_t mask, inverted, anyof, ret; } masks[] = {
		{ PAGE_IS_PRESENT, 0, 0, PS_CAT_ALL },
		{ PAGE_IS_WRITTEN, 0, 0, PAGE_IS_WRITTEN },
		{ PAGE_IS_PRESENT | PAGE_IS_FILE, PAGE_IS_FILE, 0, PS_CAT_ALL },
		{ 0, 0, PAGE_IS_FILE | PAGE_IS_WRITTEN, PAGE_IS_FILE | PAGE_IS_WRITTEN },
	};
	for (int kind = 0; kind < 3; kind++) {
		for (size_t m = 0; m < sizeof(masks) / sizeof(masks[0]); m++) {
			layout(&f, 42 + (unsigned)kind, kind);
			struct ps_scan_req q = { .start = addr(3), .end = addr(NPAGES - 5), .mask = masks[m].mask,
			                         .inverted = masks[m].inverted, .anyof = masks[m].anyof, .ret = masks[m].ret };
			struct ps_regions got = { 0 }, want = { 0 };
			struct ps_scan_stats st;
			int r = ps_scan_with(fake_ioctl, &f, -1, &q, &got, &st, &err);
			truth(&f, &q, &want);
			is_int(r, 0, "layout %d mask %zu: scan succeeds", kind, m);
			ok(regions_same(&got, &want), "layout %d mask %zu: %zu regions, exactly the truth (%zu)", kind, m, got.n, want.n);
			is_u64(st.pages, ps_regions_pages(&want), "layout %d mask %zu: page count", kind, m);
			ok(!st.truncated, "layout %d mask %zu: not truncated", kind, m);
			char what[64];
			snprintf(what, sizeof(what), "layout %d mask %zu", kind, m);
			vec_is_512(&f, what);
			ps_regions_free(&got);
			ps_regions_free(&want);
		}
	}
}

/* Region counts around multiples of the vector: one call per 512 regions,
 * exact, also when the last call fills the vector exactly. */
static void test_region_counts(void)
{
	static struct fake f;
	static const size_t counts[] = { 1, 511, 512, 513, 1023, 1024, 1025, 1536, 2047, 2048, 2049, 24100 };
	struct ps_err err;
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		size_t k = counts[c];
		layout_regions(&f, k);
		/* One piece for the whole range (it costs nothing on the fake's
		 * clock): the calls counted are the vector's. */
		struct ps_scan_pace whole = pace_on(&f, PS_SCAN_PIECE_MAX);
		struct ps_scan_req q = { .start = addr(0), .end = addr(NPAGES), .mask = PAGE_IS_PRESENT,
		                         .ret = PAGE_IS_PRESENT, .pace = &whole };
		struct ps_regions got = { 0 }, want = { 0 };
		struct ps_scan_stats st;
		is_int(ps_scan_with(fake_ioctl, &f, -1, &q, &got, &st, &err), 0, "%zu regions: scan succeeds", k);
		truth(&f, &q, &want);
		ok(regions_same(&got, &want), "%zu regions: exactly the truth (got %zu)", k, got.n);
		is_u64(st.pages, k, "%zu regions: page count", k);
		ok(!st.truncated, "%zu regions: not truncated", k);
		is_u64(st.calls, (k + 511) / 512, "%zu regions: one call per 512 regions", k);
		char what[64];
		snprintf(what, sizeof(what), "%zu regions", k);
		vec_is_512(&f, what);
		ps_regions_free(&got);
		ps_regions_free(&want);
	}
}

/* max_pages around the number of matching pages, over 24,100 one-page
 * regions (the e2e case: dump -m present -M 24100 over 48,200 pages, every
 * second one written, must say "truncated":false). The kernel walks on
 * after the limit is reached; with a vector larger than its bounce buffer
 * walk_end would then be stale and the loop would call the scan truncated. */
static void test_max_pages(void)
{
	static struct fake f;
	struct ps_err err;
	const uint64_t total = NPAGES / 2;
	const uint64_t limits[] = { 1, 511, 512, 513, 1000, 1024, 1025, 23999, total - 1, total, total + 1, 2 * total };
	for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
		uint64_t max = limits[l];
		layout(&f, 7, 0);
		struct ps_scan_req q = { .start = addr(0), .end = addr(NPAGES), .mask = PAGE_IS_PRESENT,
		                         .ret = PAGE_IS_PRESENT, .max_pages = max };
		struct ps_regions got = { 0 }, want = { 0 };
		struct ps_scan_stats st;
		is_int(ps_scan_with(fake_ioctl, &f, -1, &q, &got, &st, &err), 0, "max_pages %llu: scan succeeds",
		       (unsigned long long)max);
		truth(&f, &q, &want);
		truth_head(&want, max);
		uint64_t expect = max < total ? max : total;
		ok(regions_same(&got, &want), "max_pages %llu: exactly the first %llu pages (got %zu regions)",
		   (unsigned long long)max, (unsigned long long)expect, got.n);
		is_u64(st.pages, expect, "max_pages %llu: page count", (unsigned long long)max);
		is_int(st.truncated, max < total, "max_pages %llu: truncated only when pages were left out (%llu match)",
		       (unsigned long long)max, (unsigned long long)total);
		char what[64];
		snprintf(what, sizeof(what), "max_pages %llu", (unsigned long long)max);
		vec_is_512(&f, what);
		ps_regions_free(&got);
		ps_regions_free(&want);
	}

	/* Long runs: the limit cuts a region; the continuation covers the rest once. */
	layout(&f, 7, 2);
	struct ps_scan_req q = { .start = addr(0), .end = addr(NPAGES), .mask = PAGE_IS_PRESENT, .ret = PAGE_IS_PRESENT,
	                         .max_pages = 1000 };
	struct ps_regions got = { 0 };
	struct ps_scan_stats st;
	is_int(ps_scan_with(fake_ioctl, &f, -1, &q, &got, &st, &err), 0, "max_pages in a run: scan succeeds");
	is_u64(ps_regions_pages(&got), 1000, "max_pages in a run: exactly 1000 pages");
	ok(st.truncated, "max_pages in a run: truncated reported");
	uint64_t cut = got.r[got.n - 1].end;
	struct ps_scan_req q2 = q;
	q2.start = cut;
	q2.max_pages = 0;
	struct ps_regions rest = { 0 }, want = { 0 };
	ps_scan_with(fake_ioctl, &f, -1, &q2, &rest, &st, &err);
	truth(&f, &(struct ps_scan_req){ .start = addr(0), .end = addr(NPAGES), .mask = PAGE_IS_PRESENT,
	                                 .ret = PAGE_IS_PRESENT }, &want);
	is_u64(ps_regions_pages(&got) + ps_regions_pages(&rest), ps_regions_pages(&want),
	       "max_pages in a run: both parts add up to the truth");
	ok(!st.truncated, "continuation is not truncated");
	ps_regions_free(&got);
	ps_regions_free(&rest);
	ps_regions_free(&want);
}

/* The fake is faithful where it matters: larger vectors give stale walk_ends. */
static void test_fake_reproduces_quirk(void)
{
	static struct fake f;
	static struct page_region big[4096];

	/* A naive loop with a big vector, resuming at walk_end, counts pages twice. */
	layout(&f, 1, 0);
	struct pm_scan_arg a = { .size = sizeof(a), .start = addr(0), .end = addr(NPAGES), .vec = (uintptr_t)big,
	                         .vec_len = 4096, .category_mask = PAGE_IS_PRESENT, .return_mask = PAGE_IS_PRESENT };
	uint64_t pages = 0;
	for (int guard = 0; guard < 100 && a.start < a.end; guard++) {
		int n = fake_ioctl(-1, &a, &f);
		for (int i = 0; i < n; i++)
			pages += (big[i].end - big[i].start) / PS_PAGE_SIZE;
		a.start = a.walk_end;
	}
	ok(pages != NPAGES / 2, "fake: a naive 4096-entry loop miscounts (counted %llu, truth %d)",
	   (unsigned long long)pages, NPAGES / 2);

	/* One 1024-entry call that reaches max_pages exactly after a refill:
	 * the walk went to the end, yet walk_end is the refill point. */
	layout_regions(&f, 600);
	a = (struct pm_scan_arg){ .size = sizeof(a), .start = addr(0), .end = addr(NPAGES), .vec = (uintptr_t)big,
	                          .vec_len = 1024, .max_pages = 600, .category_mask = PAGE_IS_PRESENT,
	                          .return_mask = PAGE_IS_PRESENT };
	is_int(fake_ioctl(-1, &a, &f), 600, "fake: 600 regions in one 1024-entry call");
	is_u64(a.walk_end, addr(2 * 512), "fake: walk_end stale at the refill point after max_pages");

	/* The same with a 512-entry vector: the limit is met in the second
	 * call, whose walk_end is the true end. */
	layout_regions(&f, 600);
	a.start = addr(0);
	a.vec_len = 512;
	is_int(fake_ioctl(-1, &a, &f), 512, "fake: 512 regions in the first 512-entry call");
	is_u64(a.walk_end, addr(2 * 512), "fake: walk_end at the region that did not fit");
	a.start = a.walk_end;
	a.max_pages = 600 - 512;
	is_int(fake_ioctl(-1, &a, &f), 600 - 512, "fake: the rest in the second call");
	is_u64(a.walk_end, addr(NPAGES), "fake: walk_end is the end once the walk ran to it");

	/* A limit met with more matches to come: walk_end at the next match. */
	layout_regions(&f, 600);
	a.start = addr(0);
	a.max_pages = 10;
	is_int(fake_ioctl(-1, &a, &f), 10, "fake: max_pages 10");
	is_u64(a.walk_end, addr(20), "fake: walk_end at the first page past the limit");
}

/* ---- pieces (docs/kernel-interfaces.md#scanning-in-pieces) ---- */

/* The calls of the last scan tile [start, end) exactly: each one starts
 * where the one before stopped (its end, or walk_end after a full vector),
 * no call covers more than max_piece bytes, and every inner piece boundary
 * is on a PMD boundary. */
static bool calls_tile(const struct fake *f, uint64_t start, uint64_t end, uint64_t max_piece, const char *what)
{
	uint64_t at = start;
	for (int i = 0; i < f->calls && i < MAX_LOG; i++) {
		const struct call *c = &f->log[i];
		if (c->start != at || c->end > end || c->end - c->start > max_piece ||
		    (c->end != end && c->end % PS_SCAN_PIECE_MIN)) {
			printf("# %s: call %d covers 0x%llx-0x%llx, expected a start at 0x%llx", what, i,
			     (unsigned long long)c->start, (unsigned long long)c->end, (unsigned long long)at);
			return false;
		}
		at = c->n == PS_SCAN_VEC_MAX ? c->walk_end : c->end;
	}
	return at == end;
}

static int count_batch(void *ctx, const struct page_region *vec, size_t n, struct ps_err *err)
{
	(void)vec, (void)err;
	*(size_t *)ctx += n;
	return 0;
}

/* Exact whatever the cost per page, with the calls tiling the range; the
 * piece follows the cost: about 1 ms per call once measured, the minimum
 * when even that costs more, growing at most PS_SCAN_PIECE_GROWTH times per
 * call. */
static void test_pieces_exact(void)
{
	static struct fake f;
	struct ps_err err;
	static const uint64_t costs[] = { 0, 5, 100, 100000 };
	for (int kind = 0; kind < 3; kind++) {
		for (size_t c = 0; c < sizeof(costs) / sizeof(costs[0]); c++) {
			layout(&f, 11 + (unsigned)kind, kind);
			f.cost_ns = costs[c];
			struct ps_scan_pace pace = pace_on(&f, 0);
			struct ps_scan_req q = { .start = addr(3), .end = addr(NPAGES - 5), .mask = PAGE_IS_PRESENT,
			                         .ret = PS_CAT_ALL, .wp = kind == 1, .pace = &pace };
			struct ps_regions got = { 0 }, want = { 0 };
			struct ps_scan_stats st;
			truth(&f, &q, &want);
			is_int(ps_scan_with(fake_ioctl, &f, -1, &q, &got, &st, &err), 0,
			       "layout %d, %llu ns/page: scan succeeds", kind, (unsigned long long)costs[c]);
			ok(regions_same(&got, &want), "layout %d, %llu ns/page: exactly the truth (%zu regions, %llu calls)", kind,
			   (unsigned long long)costs[c], got.n, (unsigned long long)st.calls);
			char what[64];
			snprintf(what, sizeof(what), "layout %d, %llu ns/page", kind, (unsigned long long)costs[c]);
			ok(calls_tile(&f, q.start, q.end, PS_SCAN_PIECE_MAX, what), "%s: the calls tile the range", what);
			vec_is_512(&f, what);
			/* The first piece is the conservative start; the rest stay
			 * near the aim (the fake's cost is exact: at most the aim). */
			is_u64(f.log[0].end - f.log[0].start, PS_SCAN_PIECE_START - 3 * PS_PAGE_SIZE,
			       "%s: the first call covers the start piece (to a PMD boundary)", what);
			uint64_t longest = 0, widest = 0;
			bool grew_at_most = true;
			for (int i = 0; i < f.calls; i++) {
				uint64_t w = f.log[i].end - f.log[i].start;
				longest = f.log[i].ns > longest ? f.log[i].ns : longest;
				widest = i > 0 && w > widest ? w : widest;
				if (i > 0 && w > PS_SCAN_PIECE_GROWTH * (f.log[i - 1].end - f.log[i - 1].start) + PS_SCAN_PIECE_MIN)
					grew_at_most = false;
			}
			ok(grew_at_most, "%s: a call covers at most %d times the one before", what, PS_SCAN_PIECE_GROWTH);
			if (costs[c] == 100000)
				is_u64(widest, PS_SCAN_PIECE_MIN, "%s: too costly for 1 ms: every call after the first one PMD",
				       what);
			else
				ok(longest <= PS_SCAN_PIECE_NS, "%s: no call over the aim (longest %llu ns)", what,
				   (unsigned long long)longest);
			is_u64(st.longest_ns, longest, "%s: stats.longest_ns is the longest call", what);
			ps_regions_free(&got);
			ps_regions_free(&want);
		}
	}

	/* 100 ns per page: 1 ms is 10,000 pages; the piece settles on the
	 * largest PMD multiple below (38 MiB) and stays there. */
	layout(&f, 1, 2);
	f.cost_ns = 100;
	struct ps_scan_pace pace = pace_on(&f, 0);
	struct ps_scan_req q = { .start = addr(0), .end = addr(NPAGES), .mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN,
	                         .pace = &pace };
	struct ps_scan_stats st;
	size_t nreg = 0;
	ps_scan_each_with(fake_ioctl, &f, -1, &q, count_batch, &nreg, &st, &err);
	is_u64(pace.piece, 38ull << 20, "100 ns/page: the piece settles at 38 MiB (got %llu KiB)",
	       (unsigned long long)(pace.piece >> 10));

	/* A kept pace starts the next scan where the last one ended. */
	f.calls = 0;
	ps_scan_each_with(fake_ioctl, &f, -1, &q, count_batch, &nreg, &st, &err);
	ok(f.log[0].end - f.log[0].start == 38ull << 20 || f.log[0].n == PS_SCAN_VEC_MAX,
	   "a kept pace: the next scan's first call covers the learned piece");
}

/* Free memory (cost 0) grows the piece PS_SCAN_PIECE_GROWTH times per call
 * up to the maximum, never beyond; an expensive stretch after it shrinks it
 * at once. */
static void test_pieces_bounds(void)
{
	static struct fake f;
	struct ps_err err;
	layout_regions(&f, 0); /* nothing matches anywhere */
	struct ps_scan_pace pace = pace_on(&f, 0);
	struct ps_scan_req q = { .start = addr(0), .end = addr(0) + (4ull << 40), .mask = PAGE_IS_PRESENT,
	                         .ret = PAGE_IS_PRESENT, .pace = &pace };
	struct ps_regions got = { 0 };
	struct ps_scan_stats st;
	is_int(ps_scan_with(fake_ioctl, &f, -1, &q, &got, &st, &err), 0, "4 TiB of nothing: scan succeeds");
	ok(calls_tile(&f, q.start, q.end, PS_SCAN_PIECE_MAX, "4 TiB"), "4 TiB: the calls tile the range");
	uint64_t expect = PS_SCAN_PIECE_START;
	bool grew = true;
	for (int i = 0; i < f.calls - 1; i++) {
		if (f.log[i].end - f.log[i].start != expect)
			grew = false;
		expect = expect * PS_SCAN_PIECE_GROWTH < PS_SCAN_PIECE_MAX ? expect * PS_SCAN_PIECE_GROWTH : PS_SCAN_PIECE_MAX;
	}
	ok(grew, "4 TiB: 16 MiB, then %d times per call up to 1 TiB (%llu calls)", PS_SCAN_PIECE_GROWTH,
	   (unsigned long long)st.calls);
	is_u64(pace.piece, PS_SCAN_PIECE_MAX, "4 TiB: the piece ends at the maximum");

	/* Then a costly range (1 us per page) smaller than half the piece: its
	 * one call runs long (the bound is the piece), but it took long enough
	 * to teach the cost, and the next scan stays near the aim. */
	layout(&f, 2, 0);
	f.cost_ns = 1000;
	q.end = addr(NPAGES);
	is_int(ps_scan_with(fake_ioctl, &f, -1, &q, &got, &st, &err), 0, "costly after cheap: scan succeeds");
	ok(pace.piece <= 4ull << 20, "costly after cheap: the piece shrank at once (%llu KiB)",
	   (unsigned long long)(pace.piece >> 10));
	f.calls = 0;
	ps_regions_clear(&got);
	is_int(ps_scan_with(fake_ioctl, &f, -1, &q, &got, &st, &err), 0, "costly again: scan succeeds");
	bool near = true;
	for (int i = 0; i < f.calls; i++)
		if (f.log[i].ns > PS_SCAN_PIECE_NS && f.log[i].end - f.log[i].start > PS_SCAN_PIECE_MIN)
			near = false;
	ok(near, "costly again: no call over the aim but a minimal piece (%llu calls)", (unsigned long long)st.calls);
	ps_regions_free(&got);
}

/* Regions across piece boundaries: cut by the pieces, merged by ps_scan(). */
static void test_pieces_merge(void)
{
	static struct fake f;
	struct ps_err err;
	layout(&f, 3, 2); /* 700-page runs: every 2 MiB piece boundary cuts one */
	f.cost_ns = 100000;
	struct ps_scan_pace pace = pace_on(&f, PS_SCAN_PIECE_MIN);
	struct ps_scan_req q = { .start = addr(0), .end = addr(NPAGES), .mask = PAGE_IS_PRESENT, .ret = PAGE_IS_PRESENT,
	                         .pace = &pace };
	struct ps_regions got = { 0 }, want = { 0 };
	size_t delivered = 0;
	truth(&f, &q, &want);
	ps_scan_each_with(fake_ioctl, &f, -1, &q, count_batch, &delivered, NULL, &err);
	ok(delivered > want.n, "runs across pieces: the calls return them cut (%zu pieces of %zu runs)", delivered,
	   want.n);
	is_int(ps_scan_with(fake_ioctl, &f, -1, &q, &got, NULL, &err), 0, "runs across pieces: scan succeeds");
	ok(regions_same(&got, &want), "runs across pieces: merged back, exactly the truth (%zu regions)", got.n);
	ps_regions_free(&got);
	ps_regions_free(&want);
}

/* max_pages over pieces of one PMD (256 matches each, every other page):
 * exact, and truncated only when pages were left out, also when the limit
 * is met exactly at a piece boundary (the loop then asks the rest without
 * reporting or re-protecting anything). */
static void test_pieces_max_pages(void)
{
	static struct fake f;
	struct ps_err err;
	const uint64_t total = NPAGES / 2, per = PS_SCAN_PIECE_MIN / PS_PAGE_SIZE / 2;
	const uint64_t limits[] = { 1, per - 1, per, per + 1, 2 * per, 1000, total - per, total - 1, total, total + 1 };
	for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
		uint64_t max = limits[l];
		layout(&f, 7, 0);
		f.cost_ns = 100000;
		struct ps_scan_pace pace = pace_on(&f, PS_SCAN_PIECE_MIN);
		struct ps_scan_req q = { .start = addr(0), .end = addr(NPAGES), .mask = PAGE_IS_WRITTEN,
		                         .ret = PAGE_IS_WRITTEN, .max_pages = max, .wp = true, .pace = &pace };
		struct ps_regions got = { 0 }, want = { 0 };
		struct ps_scan_stats st;
		truth(&f, &q, &want);
		truth_head(&want, max);
		is_int(ps_scan_with(fake_ioctl, &f, -1, &q, &got, &st, &err), 0, "pieces, max_pages %llu: scan succeeds",
		       (unsigned long long)max);
		uint64_t expect = max < total ? max : total;
		ok(regions_same(&got, &want), "pieces, max_pages %llu: exactly the first %llu pages", (unsigned long long)max,
		   (unsigned long long)expect);
		is_int(st.truncated, max < total, "pieces, max_pages %llu: truncated only when pages were left out",
		       (unsigned long long)max);
		uint64_t still = 0;
		for (size_t i = 0; i < NPAGES; i++)
			still += (f.cats[i] & PAGE_IS_WRITTEN) != 0;
		is_u64(still, total - expect, "pieces, max_pages %llu: only the reported pages were re-protected",
		       (unsigned long long)max);
		ps_regions_free(&got);
		ps_regions_free(&want);
	}
}

/* A range across a 2 TiB hole, with the maps: only mapped bytes count
 * toward a piece, so the hole costs no calls; exact as ever. */
static void test_pieces_holes(void)
{
	static struct fake f;
	struct ps_err err;
	const uint64_t far = BASE + (2ull << 40);
	struct ps_vma v[2] = { { .start = addr(0), .end = addr(NPAGES) }, { .start = far, .end = far + (16ull << 20) } };
	struct ps_maps maps = { .v = v, .n = 2 };
	layout(&f, 4, 1);
	struct ps_scan_pace pace = pace_on(&f, 0);
	struct ps_scan_req q = { .start = addr(0), .end = far + (16ull << 20), .mask = PAGE_IS_PRESENT,
	                         .ret = PS_CAT_ALL, .pace = &pace, .maps = &maps };
	struct ps_regions got = { 0 }, want = { 0 };
	struct ps_scan_stats st;
	truth(&f, &q, &want);
	is_int(ps_scan_with(fake_ioctl, &f, -1, &q, &got, &st, &err), 0, "across a 2 TiB hole: scan succeeds");
	ok(regions_same(&got, &want), "across a 2 TiB hole: exactly the truth (%zu regions)", got.n);
	ok(calls_tile(&f, q.start, q.end, q.end - q.start, "hole"), "across a 2 TiB hole: the calls tile the range");
	uint64_t vec_calls = 0;
	for (int i = 0; i < f.calls; i++)
		vec_calls += f.log[i].n == PS_SCAN_VEC_MAX;
	ok(st.calls - vec_calls <= 6, "across a 2 TiB hole: %llu calls (%llu for full vectors), not ~1,000",
	   (unsigned long long)st.calls, (unsigned long long)vec_calls);
	ps_regions_free(&got);
	ps_regions_free(&want);

	/* Costly memory: each call holds at most a piece of mapped bytes. */
	layout(&f, 4, 2);
	f.cost_ns = 100;
	pace = pace_on(&f, 0);
	is_int(ps_scan_with(fake_ioctl, &f, -1, &q, &got, &st, &err), 0, "costly, across a hole: scan succeeds");
	bool bounded = true;
	for (int i = 0; i < f.calls; i++)
		if (f.log[i].ns > PS_SCAN_PIECE_NS)
			bounded = false;
	ok(bounded, "costly, across a hole: no call over the aim (%llu calls)", (unsigned long long)st.calls);
	ps_regions_free(&got);
}

static void test_clear_and_errors(void)
{
	static struct fake f;
	struct ps_err err;

	/* Get-and-clear: a second pass finds nothing. */
	{
		layout(&f, 3, 1);
		struct ps_scan_req q = { .start = addr(0), .end = addr(NPAGES), .mask = PAGE_IS_WRITTEN,
		                         .ret = PAGE_IS_WRITTEN, .wp = true };
		struct ps_regions got = { 0 }, again = { 0 }, want = { 0 };
		truth(&f, &q, &want);
		ps_scan_with(fake_ioctl, &f, -1, &q, &got, NULL, &err);
		ok(got.n > 512, "clear pass found %zu regions (more than one vector)", got.n);
		ok(regions_same(&got, &want), "clear pass: exactly the written pages");
		ps_scan_with(fake_ioctl, &f, -1, &q, &again, NULL, &err);
		is_int(again.n, 0, "second clear pass finds nothing");
		ps_regions_free(&got);
		ps_regions_free(&again);
		ps_regions_free(&want);
	}

	/* An error after partial output: regions so far kept, error reported, walk_end ignored. */
	{
		layout(&f, 5, 0);
		f.fail_after_calls = 3;
		struct ps_scan_req q = { .start = addr(0), .end = addr(NPAGES), .mask = PAGE_IS_PRESENT, .ret = PAGE_IS_PRESENT };
		struct ps_regions got = { 0 };
		memset(&err, 0, sizeof(err));
		int r = ps_scan_with(fake_ioctl, &f, -1, &q, &got, NULL, &err);
		is_int(r, -EPERM, "EPERM is returned");
		is_int(err.code, EPERM, "error code set");
		ok(strstr(err.msg, "write-protect") != NULL, "message names the cause: %s", err.msg);
		is_int(f.calls, 3, "no call after the error");
		is_u64(got.n, 2 * 512, "the regions of the calls before the failing one are kept");
		ps_regions_free(&got);
	}

	/* Unaligned start is refused before any call. */
	{
		layout(&f, 5, 0);
		struct ps_scan_req q = { .start = addr(0) + 1, .end = addr(10), .mask = PAGE_IS_PRESENT };
		struct ps_regions got = { 0 };
		is_int(ps_scan_with(fake_ioctl, &f, -1, &q, &got, NULL, &err), -EINVAL, "unaligned start: EINVAL");
		is_int(f.calls, 0, "no ioctl issued");
	}
}

int main(void)
{
	test_exact_layouts();
	test_region_counts();
	test_max_pages();
	test_fake_reproduces_quirk();
	test_clear_and_errors();
	test_pieces_exact();
	test_pieces_bounds();
	test_pieces_merge();
	test_pieces_max_pages();
	test_pieces_holes();
	return tap_done();
}
