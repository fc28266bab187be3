/* The PAGEMAP_SCAN loop against a fake kernel that reproduces the real one's
 * output rules, including the stale walk_end after an internal buffer refill
 * (docs/kernel-interfaces.md#the-vector-cap): the loop must be exact whatever
 * the layout. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/category.h"
#include "pagescan/kernel/scan.h"
#include "pagescan/model/util.h"
#include "tap.h"

#define BASE 0x100000000ull
#define NPAGES 20000

struct fake {
	uint64_t cats[NPAGES];
	int calls;
	int max_vec_seen;
	int fail_after_calls;   /* return EPERM on this call (1-based), after output */
	bool quirk;             /* emulate the stale walk_end bug for vec_len > 512 */
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

/* The kernel's algorithm, page by page. */
static int fake_walk(int fd, struct pm_scan_arg *a, void *ctx)
{
	struct fake *f = ctx;
	struct page_region *vec = (struct page_region *)(uintptr_t)a->vec;
	uint64_t n = 0, found = 0, max = a->max_pages ? a->max_pages : UINT64_MAX;
	uint64_t restart = 0; /* last internal refill point */
	(void)fd;

	f->calls++;
	if ((int)a->vec_len > f->max_vec_seen)
		f->max_vec_seen = (int)a->vec_len;
	if (a->size != sizeof(*a) || (a->start & 4095)) {
		errno = EINVAL;
		return -1;
	}
	a->walk_end = 0;
	for (uint64_t p = a->start; p < a->end; p += PS_PAGE_SIZE) {
		size_t i = (p - BASE) / PS_PAGE_SIZE;
		uint64_t c = p >= BASE && i < NPAGES ? f->cats[i] : 0;
		if (p < BASE || i >= NPAGES || !match(a, c))
			continue;
		uint64_t rc = c & a->return_mask;
		if (found >= max) {
			a->walk_end = p;
			return (int)n;
		}
		if (n && vec[n - 1].end == p && vec[n - 1].categories == rc) {
			vec[n - 1].end += PS_PAGE_SIZE;
		} else {
			if (n == a->vec_len) {
				a->walk_end = p;
				return (int)n;
			}
			if (f->quirk && n && n % 512 == 0)
				restart = p; /* bounce buffer flushed and restarted here */
			vec[n].start = p;
			vec[n].end = p + PS_PAGE_SIZE;
			vec[n].categories = rc;
			n++;
		}
		found++;
		if ((a->flags & PM_SCAN_WP_MATCHING) && (c & PAGE_IS_WRITTEN))
			f->cats[i] &= ~(uint64_t)PAGE_IS_WRITTEN;
		if (found == max) {
			a->walk_end = p + PS_PAGE_SIZE;
			return (int)n;
		}
	}
	a->walk_end = restart ? restart : a->end; /* the quirk: stale restart point */
	return (int)n;
}

static int fake_ioctl(int fd, struct pm_scan_arg *a, void *ctx)
{
	struct fake *f = ctx;
	int n = fake_walk(fd, a, ctx);
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

static bool same(const struct ps_regions *a, const struct ps_regions *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->r[i].start != b->r[i].start || a->r[i].end != b->r[i].end || a->r[i].cats != b->r[i].cats)
			return false;
	return true;
}

static void layout(struct fake *f, unsigned seed, int kind)
{
	memset(f, 0, sizeof(*f));
	srand(seed);
	for (size_t i = 0; i < NPAGES; i++) {
		uint64_t c = PAGE_IS_WPALLOWED;
		switch (kind) {
		case 0: /* every other page present+written: 10,000 regions */
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

int main(void)
{
	static struct fake f;
	struct ps_err err;

	/* Exactness over layouts, masks and ranges, with the quirk armed. */
	const struct { uint64_t mask, inverted, anyof, ret; } masks[] = {
		{ PAGE_IS_PRESENT, 0, 0, PS_CAT_ALL },
		{ PAGE_IS_WRITTEN, 0, 0, PAGE_IS_WRITTEN },
		{ PAGE_IS_PRESENT | PAGE_IS_FILE, PAGE_IS_FILE, 0, PS_CAT_ALL },
		{ 0, 0, PAGE_IS_FILE | PAGE_IS_WRITTEN, PAGE_IS_FILE | PAGE_IS_WRITTEN },
	};
	for (int kind = 0; kind < 3; kind++) {
		for (size_t m = 0; m < sizeof(masks) / sizeof(masks[0]); m++) {
			layout(&f, 42 + (unsigned)kind, kind);
			f.quirk = true;
			struct ps_scan_req q = { .start = addr(3), .end = addr(NPAGES - 5), .mask = masks[m].mask,
			                         .inverted = masks[m].inverted, .anyof = masks[m].anyof, .ret = masks[m].ret };
			struct ps_regions got = { 0 }, want = { 0 };
			struct ps_scan_stats st;
			int r = ps_scan_with(fake_ioctl, &f, -1, &q, &got, &st, &err);
			truth(&f, &q, &want);
			is_int(r, 0, "layout %d mask %zu: scan succeeds", kind, m);
			ok(same(&got, &want), "layout %d mask %zu: %zu regions, exactly the truth (%zu)", kind, m, got.n, want.n);
			is_u64(st.pages, ps_regions_pages(&want), "layout %d mask %zu: page count", kind, m);
			ok(f.max_vec_seen <= PS_SCAN_VEC_MAX, "layout %d mask %zu: never asks for more than 512 regions", kind, m);
			ps_regions_free(&got);
			ps_regions_free(&want);
		}
	}

	/* The quirk is real in the fake: a naive loop with a big vector loses pages. */
	{
		layout(&f, 1, 0);
		f.quirk = true;
		static struct page_region big[4096];
		struct pm_scan_arg a = { .size = sizeof(a), .start = addr(0), .end = addr(NPAGES), .vec = (uintptr_t)big,
		                         .vec_len = 4096, .category_mask = PAGE_IS_PRESENT, .return_mask = PAGE_IS_PRESENT };
		uint64_t pages = 0;
		for (int guard = 0; guard < 100 && a.start < a.end; guard++) {
			int n = fake_ioctl(-1, &a, &f);
			for (int i = 0; i < n; i++)
				pages += (big[i].end - big[i].start) / PS_PAGE_SIZE;
			a.start = a.walk_end;
		}
		ok(pages != NPAGES / 2, "fake reproduces the stale walk_end quirk (naive loop counted %llu, truth %d)",
		   (unsigned long long)pages, NPAGES / 2);
	}

	/* max_pages: exact cut, truncated flag, continuation covers the rest once. */
	{
		layout(&f, 7, 2);
		struct ps_scan_req q = { .start = addr(0), .end = addr(NPAGES), .mask = PAGE_IS_PRESENT, .ret = PAGE_IS_PRESENT,
		                         .max_pages = 1000 };
		struct ps_regions got = { 0 };
		struct ps_scan_stats st;
		is_int(ps_scan_with(fake_ioctl, &f, -1, &q, &got, &st, &err), 0, "max_pages scan succeeds");
		is_u64(ps_regions_pages(&got), 1000, "max_pages: exactly 1000 pages");
		ok(st.truncated, "max_pages: truncated reported");
		uint64_t cut = got.r[got.n - 1].end;
		struct ps_scan_req q2 = q;
		q2.start = cut;
		q2.max_pages = 0;
		struct ps_regions rest = { 0 }, want = { 0 };
		ps_scan_with(fake_ioctl, &f, -1, &q2, &rest, &st, &err);
		truth(&f, &(struct ps_scan_req){ .start = addr(0), .end = addr(NPAGES), .mask = PAGE_IS_PRESENT,
		                                 .ret = PAGE_IS_PRESENT }, &want);
		is_u64(ps_regions_pages(&got) + ps_regions_pages(&rest), ps_regions_pages(&want),
		       "max_pages: both parts add up to the truth");
		ok(!st.truncated, "continuation is not truncated");
		ps_regions_free(&got);
		ps_regions_free(&rest);
		ps_regions_free(&want);
	}

	/* A max_pages that ends exactly at the last matching page is not truncated data loss. */
	{
		layout(&f, 7, 0);
		struct ps_scan_req q = { .start = addr(0), .end = addr(10), .mask = PAGE_IS_PRESENT, .ret = PAGE_IS_PRESENT,
		                         .max_pages = 5 };
		struct ps_regions got = { 0 };
		struct ps_scan_stats st;
		ps_scan_with(fake_ioctl, &f, -1, &q, &got, &st, &err);
		is_u64(ps_regions_pages(&got), 5, "max_pages equal to all matches: 5 pages");
		ps_regions_free(&got);
	}

	/* Get-and-clear: a second pass finds nothing. */
	{
		layout(&f, 3, 1);
		struct ps_scan_req q = { .start = addr(0), .end = addr(NPAGES), .mask = PAGE_IS_WRITTEN,
		                         .ret = PAGE_IS_WRITTEN, .wp = true };
		struct ps_regions got = { 0 }, again = { 0 };
		ps_scan_with(fake_ioctl, &f, -1, &q, &got, NULL, &err);
		ok(got.n > 512, "clear pass found %zu regions (more than one vector)", got.n);
		ps_scan_with(fake_ioctl, &f, -1, &q, &again, NULL, &err);
		is_int(again.n, 0, "second clear pass finds nothing");
		ps_regions_free(&got);
		ps_regions_free(&again);
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
	return tap_done();
}
