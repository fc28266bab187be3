/* SPDX-License-Identifier: MIT */
/* Scan pieces and hugetlb pages larger than a piece's alignment (1 GiB).
 *
 * The kernel write-protects a hugetlb page only whole: under
 * PM_SCAN_WP_MATCHING, pagemap_scan_hugetlb_entry() backs out of a page the
 * call's range covers in part (pagemap_scan_backout_range(): neither
 * reported nor protected). A piece that ends inside a 1 GiB page therefore
 * leaves it written and unreported, at this harvest and every one after
 * whose first piece cuts it the same way (each scan starts with a fresh
 * 16 MiB piece): its writes are lost. The fake
 * kernel below does just that, page by huge page; the loop must end its
 * pieces on the page boundaries of the mappings noted with
 * ps_scan_note_maps_with() (the tracker notes its maps at every sync). The
 * first test shows the fake reproduces that when nothing is noted (the
 * loop before the fix). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/kernel/scan.h"
#include "pagescan/model/util.h"
#include "helpers.h"
#include "tap.h"

#define GIB (1ull << 30)
#define BASE (64 * GIB)
#define NHUGE 4
#define MAX_LOG 4096
#define FD 7 /* the pagemap fd the fake stands for */

struct fake {
	bool written[NHUGE];
	int calls, backouts;
	uint64_t start[MAX_LOG], end[MAX_LOG];
};

static bool match(const struct pm_scan_arg *a, uint64_t c)
{
	c ^= a->category_inverted;
	return (c & a->category_mask) == a->category_mask &&
	       (!a->category_anyof_mask || (c & a->category_anyof_mask));
}

static int fake_ioctl(int fd, struct pm_scan_arg *a, void *ctx)
{
	struct fake *f = ctx;
	struct page_region *out = (struct page_region *)(uintptr_t)a->vec;
	int n = 0;
	(void)fd;
	if (f->calls < MAX_LOG) {
		f->start[f->calls] = a->start;
		f->end[f->calls] = a->end;
	}
	f->calls++;
	for (uint64_t h = 0; h < NHUGE; h++) {
		uint64_t hs = BASE + h * GIB, he = hs + GIB;
		if (he <= a->start || hs >= a->end)
			continue;
		uint64_t s = hs > a->start ? hs : a->start, e = he < a->end ? he : a->end;
		uint64_t cats = PAGE_IS_PRESENT | PAGE_IS_HUGE | (f->written[h] ? PAGE_IS_WRITTEN : 0);
		if (!match(a, cats))
			continue;
		if ((a->flags & PM_SCAN_WP_MATCHING) && (cats & PAGE_IS_WRITTEN)) {
			if (s != hs || e != he) {
				f->backouts++; /* "Partial HugeTLB page WP isn't possible" */
				continue;
			}
			f->written[h] = false;
		}
		uint64_t rc = cats & a->return_mask;
		if (n > 0 && out[n - 1].end == s && out[n - 1].categories == rc) {
			out[n - 1].end = e;
		} else {
			if ((uint64_t)n >= a->vec_len)
				break;
			out[n++] = (struct page_region){ .start = s, .end = e, .categories = rc };
		}
	}
	a->walk_end = a->end;
	return n;
}

/* Page sizes as PROCMAP_QUERY would give them: 1 GiB for the hugetlb
 * mapping (inode 1001), 2 MiB for another (inode 1002), counting calls. */
static int asked;
static int fake_sizes(void *ctx, const struct ps_vma *v, size_t n, uint64_t *ret)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		asked++;
		ret[i] = v[i].inode == 1001 ? GIB : v[i].inode == 1002 ? 2ull << 20 : 0;
	}
	return 0;
}

static struct ps_vma vmas[3];
static struct ps_maps maps_of(size_t n)
{
	/* The 1 GiB mapping, then (n > 1) a 2 MiB hugetlb one and an ordinary one. */
	vmas[0] = (struct ps_vma){ .start = BASE, .end = BASE + NHUGE * GIB, .inode = 1001, .dev_minor = 16,
	                           .prot = PS_VMA_READ | PS_VMA_WRITE | PS_VMA_SHARED, .kind = PS_VMA_SHMEM,
	                           .name = "/anon_hugepage (deleted)" };
	vmas[1] = (struct ps_vma){ .start = BASE + 8 * GIB, .end = BASE + 8 * GIB + (64ull << 20), .inode = 1002,
	                           .dev_minor = 17, .prot = PS_VMA_READ | PS_VMA_WRITE, .kind = PS_VMA_SHMEM,
	                           .name = "/anon_hugepage (deleted)" };
	vmas[2] = (struct ps_vma){ .start = BASE + 16 * GIB, .end = BASE + 16 * GIB + (1ull << 20), .dev_major = 8,
	                           .inode = 5, .prot = PS_VMA_READ | PS_VMA_WRITE, .kind = PS_VMA_FILE, .name = "/x" };
	return (struct ps_maps){ .v = vmas, .n = n };
}

static int nothing(void *ctx, const struct page_region *vec, size_t n, struct ps_err *err)
{
	(void)ctx, (void)vec, (void)n, (void)err;
	return 0;
}

/* One harvest: get-and-protect the written pages of the mapping; the pages
 * reported. */
static uint64_t harvest(struct fake *f)
{
	struct ps_regions out = { 0 };
	struct ps_err err = { 0 };
	struct ps_scan_req req = {
		.start = BASE, .end = BASE + NHUGE * GIB,
		.mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN, .wp = true,
	};
	int r = ps_scan_with(fake_ioctl, f, FD, &req, &out, NULL, &err);
	ok(r == 0, "harvest scan succeeds");
	uint64_t pages = ps_regions_pages(&out);
	ps_regions_free(&out);
	return pages;
}

static void write_all(struct fake *f)
{
	for (int h = 0; h < NHUGE; h++)
		f->written[h] = true;
}

static void test_cut_without_note(void)
{
	/* The loop before the fix: 16 MiB first pieces cut the first 1 GiB page. */
	struct fake f = { 0 };
	write_all(&f);
	uint64_t first = harvest(&f);
	ok(f.backouts > 0, "without a note a piece ends inside a 1 GiB page (%d back-outs)", f.backouts);
	uint64_t all = (uint64_t)NHUGE * (GIB >> PS_PAGE_SHIFT);
	ok(first < all, "and that written page is not reported (%" PRIu64 " of %" PRIu64 " pages)", first, all);
	ok(f.written[0], "nor protected: it reads written still");
	/* The next harvest's first piece cuts it at the same place again. */
	f.backouts = 0;
	harvest(&f);
	ok(f.backouts > 0 && f.written[0], "the next harvest backs out of it again: its writes are never reported");
}

static void test_pieces_on_pages(void)
{
	struct fake f = { 0 };
	struct ps_maps m = maps_of(3);
	asked = 0;
	is_int(ps_scan_note_maps_with(fake_sizes, NULL, FD, &m), 0, "note the maps");
	is_int(asked, 2, "the two hugetlb candidates are asked, not the disk file");
	write_all(&f);
	is_u64(harvest(&f), NHUGE * (GIB >> PS_PAGE_SHIFT), "every written 1 GiB page reported once");
	is_int(f.backouts, 0, "no call ends inside a page");
	bool aligned = true;
	for (int i = 0; i < f.calls && i < MAX_LOG; i++)
		aligned &= (f.end[i] - BASE) % GIB == 0 && (f.start[i] - BASE) % GIB == 0;
	ok(aligned, "every call starts and ends on a 1 GiB boundary (%d calls)", f.calls);
	is_u64(harvest(&f), 0, "all protected: the next harvest, with nothing written, reports nothing");
	f.written[2] = true;
	is_u64(harvest(&f), GIB >> PS_PAGE_SHIFT, "one page written: that page alone");

	/* Known sizes are kept: a second note asks nothing. */
	asked = 0;
	ps_scan_note_maps_with(fake_sizes, NULL, FD, &m);
	is_int(asked, 0, "a second note of the same maps asks nothing");
	/* Another fd is not affected. */
	is_u64(ps_scan_page_end(FD + 1, BASE, BASE + (16ull << 20), BASE + NHUGE * GIB), BASE + (16ull << 20),
	       "another pagemap fd keeps its pieces");

	/* Forgotten: back to pieces of any PMD boundary. */
	ps_scan_note_maps_with(fake_sizes, NULL, FD, NULL);
	is_u64(ps_scan_page_end(FD, BASE, BASE + (16ull << 20), BASE + NHUGE * GIB), BASE + (16ull << 20),
	       "forgotten: the piece end is left alone");
}

static void test_page_end(void)
{
	struct ps_maps m = maps_of(3);
	ps_scan_note_maps_with(fake_sizes, NULL, FD, &m);
	uint64_t end = BASE + NHUGE * GIB;
	is_u64(ps_scan_page_end(FD, BASE, BASE + (16ull << 20), end), BASE + GIB,
	       "inside the first page from its start: up to its end (a page is never cut)");
	is_u64(ps_scan_page_end(FD, BASE, BASE + GIB + (16ull << 20), end), BASE + GIB,
	       "inside the second page: down to its start");
	is_u64(ps_scan_page_end(FD, BASE + GIB, BASE + 2 * GIB, end), BASE + 2 * GIB, "on a boundary: unchanged");
	is_u64(ps_scan_page_end(FD, BASE, BASE + (16ull << 20), BASE + (512ull << 20)), BASE + (512ull << 20),
	       "never past the range's end");
	is_u64(ps_scan_page_end(FD, BASE + 8 * GIB, BASE + 8 * GIB + (6ull << 20), end + 8 * GIB),
	       BASE + 8 * GIB + (6ull << 20), "2 MiB pages: PMD boundaries are page boundaries");
	is_u64(ps_scan_page_end(FD, BASE + 16 * GIB, BASE + 16 * GIB + (2ull << 20), BASE + 17 * GIB),
	       BASE + 16 * GIB + (2ull << 20), "an ordinary mapping: unchanged");
	is_u64(ps_scan_page_end(FD, BASE - GIB, BASE - (2ull << 20), BASE + GIB), BASE - (2ull << 20),
	       "before the mapping: unchanged");

	/* A smaller snapshot (the 2 MiB mapping gone) replaces the noted one. */
	struct ps_maps one = maps_of(1);
	asked = 0;
	ps_scan_note_maps_with(fake_sizes, NULL, FD, &one);
	is_int(asked, 0, "the 1 GiB mapping, still there, is not asked again");
	ps_scan_note_maps_with(fake_sizes, NULL, FD, NULL);
}

static void test_no_candidates(void)
{
	struct ps_maps m = maps_of(3);
	m.v += 2;
	m.n = 1;
	asked = 0;
	is_int(ps_scan_note_maps_with(fake_sizes, NULL, FD, &m), 0, "maps without a hugetlb candidate");
	is_int(asked, 0, "nothing asked");
	struct ps_err err = { 0 };
	struct ps_scan_req req = { .start = BASE, .end = BASE + GIB, .mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN };
	struct fake f = { 0 };
	is_int(ps_scan_each_with(fake_ioctl, &f, FD, &req, nothing, NULL, NULL, &err), 0, "a scan with nothing noted");
	ps_scan_note_maps_with(fake_sizes, NULL, FD, NULL);
}

int main(void)
{
	test_cut_without_note();
	test_pieces_on_pages();
	test_page_end();
	test_no_candidates();
	return tap_done();
}
