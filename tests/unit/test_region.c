/* SPDX-License-Identifier: MIT */
/* Regions: merging on push, splitting at VMA boundaries. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pagescan/model/region.h"
#include "tap.h"

#define P(n) ((uint64_t)(n) * 4096)

struct piece {
	uint64_t start, end, cats;
	long vma;       /* index into the maps, -1 for none */
};

struct rec {
	const struct ps_maps *maps;
	struct piece p[4096];
	size_t n;
	size_t stop_at; /* return 7 at this call (1-based), 0 = never */
};

static int record(void *ctx, const struct ps_region *piece, const struct ps_vma *vma)
{
	struct rec *r = ctx;

	if (r->n < sizeof(r->p) / sizeof(r->p[0]))
		r->p[r->n] = (struct piece){ piece->start, piece->end, piece->cats,
					     vma ? (long)(vma - r->maps->v) : -1 };
	r->n++;
	return r->stop_at && r->n == r->stop_at ? 7 : 0;
}

static void piece_is(const struct rec *r, size_t i, uint64_t start, uint64_t end, uint64_t cats, long vma)
{
	const struct piece *p = &r->p[i];

	ok(i < r->n && p->start == start && p->end == end && p->cats == cats && p->vma == vma,
	   "piece %zu = [%#llx, %#llx) cats %#llx vma %ld", i, (unsigned long long)start,
	   (unsigned long long)end, (unsigned long long)cats, vma);
	if (i < r->n && !(p->start == start && p->end == end && p->cats == cats && p->vma == vma))
		printf("#   got [%#llx, %#llx) cats %#llx vma %ld\n", (unsigned long long)p->start,
		       (unsigned long long)p->end, (unsigned long long)p->cats, p->vma);
}

static void test_push(void)
{
	struct ps_regions v = { 0 };

	is_int(ps_regions_push(&v, P(1), P(2), 0x2), 0, "push first");
	is_int(ps_regions_push(&v, P(2), P(4), 0x2), 0, "push contiguous, same cats");
	is_u64(v.n, 1, "merged into one");
	is_u64(v.r[0].end, P(4), "merged end");
	is_int(ps_regions_push(&v, P(4), P(5), 0xa), 0, "push contiguous, other cats");
	is_int(ps_regions_push(&v, P(6), P(7), 0xa), 0, "push after a gap, same cats");
	is_int(ps_regions_push(&v, P(7), P(9), 0xa), 0, "push contiguous again");
	is_u64(v.n, 3, "three regions");
	ok(v.r[1].start == P(4) && v.r[1].end == P(5) && v.r[1].cats == 0xa, "second kept apart (cats differ)");
	ok(v.r[2].start == P(6) && v.r[2].end == P(9), "third kept apart (gap), then merged");
	is_u64(ps_regions_pages(&v), 3 + 1 + 3, "pages");

	ps_regions_clear(&v);
	is_u64(v.n, 0, "clear empties");
	ok(v.r != NULL && v.cap >= 3, "clear keeps the allocation");
	is_u64(ps_regions_pages(&v), 0, "no pages after clear");
	is_int(ps_regions_push(&v, P(0), P(1), 0), 0, "push after clear (earlier address is fine)");
	is_u64(v.n, 1, "one region");

	/* many pushes: growth keeps content */
	ps_regions_clear(&v);
	for (int i = 0; i < 10000; i++)
		ps_regions_push(&v, P(2 * i), P(2 * i + 1), (uint64_t)i);
	ok(v.n == 10000 && v.r[9999].start == P(19998) && v.r[5000].cats == 5000, "10000 separate regions");
	is_u64(ps_regions_pages(&v), 10000, "10000 pages");
	ps_regions_free(&v);
	ok(v.r == NULL && v.n == 0 && v.cap == 0, "free resets");
	ps_regions_free(NULL);
}

/* Out-of-order pushes are a bug: an assertion, -EINVAL with NDEBUG. */
static void test_push_order(void)
{
	static const struct { uint64_t s, e; const char *what; } bad[] = {
		{ P(3), P(5), "overlapping the last region" },
		{ P(0), P(1), "before the last region" },
		{ P(9), P(9), "empty" },
		{ P(9), P(8), "reversed" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int st;
		pid_t pid = fork();

		if (pid == 0) {
			struct ps_regions v = { 0 };

			signal(SIGABRT, SIG_DFL);
			close(STDERR_FILENO); /* the assertion message is expected */
			ps_regions_push(&v, P(2), P(4), 1);
			_exit(ps_regions_push(&v, bad[i].s, bad[i].e, 1) == -EINVAL && v.n == 1 &&
			      v.r[0].end == P(4) ? 3 : 4);
		}
		waitpid(pid, &st, 0);
#ifdef NDEBUG
		ok(WIFEXITED(st) && WEXITSTATUS(st) == 3, "push %s: -EINVAL, nothing changed", bad[i].what);
#else
		ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "push %s: assertion", bad[i].what);
#endif
	}
}

static struct ps_vma vmas3[] = {
	{ .start = P(1), .end = P(3), .name = "a" },
	{ .start = P(3), .end = P(5), .name = "b" },
	{ .start = P(5), .end = P(8), .name = "c" },
	/* gap [8, 16) */
	{ .start = P(16), .end = P(18), .name = "d" },
	/* gap [18, 20) */
	{ .start = P(20), .end = P(21), .name = "e" },
};

static void test_walk(void)
{
	struct ps_maps m = { .v = vmas3, .n = 5 };
	struct ps_regions v = { 0 };
	struct rec *r = calloc(1, sizeof(*r));

	r->maps = &m;

	/* across three adjacent VMAs */
	ps_regions_push(&v, P(2), P(7), 0x2);
	is_int(ps_regions_walk(&v, &m, record, r), 0, "walk returns 0");
	is_u64(r->n, 3, "three pieces across a|b|c");
	piece_is(r, 0, P(2), P(3), 0x2, 0);
	piece_is(r, 1, P(3), P(5), 0x2, 1);
	piece_is(r, 2, P(5), P(7), 0x2, 2);

	/* gaps: before the first VMA, between VMAs, after the last */
	ps_regions_clear(&v);
	r->n = 0;
	ps_regions_push(&v, P(0), P(2), 0x8);
	ps_regions_push(&v, P(6), P(17), 0xa);
	ps_regions_push(&v, P(17), P(30), 0x2);
	ps_regions_walk(&v, &m, record, r);
	is_u64(r->n, 9, "nine pieces");
	piece_is(r, 0, P(0), P(1), 0x8, -1);
	piece_is(r, 1, P(1), P(2), 0x8, 0);
	piece_is(r, 2, P(6), P(8), 0xa, 2);
	piece_is(r, 3, P(8), P(16), 0xa, -1);
	piece_is(r, 4, P(16), P(17), 0xa, 3);
	piece_is(r, 5, P(17), P(18), 0x2, 3);
	piece_is(r, 6, P(18), P(20), 0x2, -1);
	piece_is(r, 7, P(20), P(21), 0x2, 4);
	piece_is(r, 8, P(21), P(30), 0x2, -1);

	/* a region exactly covering a hole, and several regions in one VMA */
	ps_regions_clear(&v);
	r->n = 0;
	ps_regions_push(&v, P(5), P(6), 1);
	ps_regions_push(&v, P(7), P(8), 2);
	ps_regions_push(&v, P(8), P(16), 3);
	ps_regions_push(&v, P(18), P(20), 4);
	ps_regions_walk(&v, &m, record, r);
	is_u64(r->n, 4, "four pieces");
	piece_is(r, 0, P(5), P(6), 1, 2);
	piece_is(r, 1, P(7), P(8), 2, 2);
	piece_is(r, 2, P(8), P(16), 3, -1);
	piece_is(r, 3, P(18), P(20), 4, -1);

	/* no snapshot, an empty one */
	r->n = 0;
	ps_regions_walk(&v, NULL, record, r);
	is_u64(r->n, 4, "NULL maps: one piece per region");
	ok(r->p[0].vma == -1 && r->p[3].vma == -1 && r->p[2].start == P(8) && r->p[2].end == P(16),
	   "NULL maps: pieces are the regions, no VMA");
	{
		struct ps_maps empty = { 0 };

		r->n = 0;
		ps_regions_walk(&v, &empty, record, r);
		ok(r->n == 4 && r->p[1].vma == -1, "empty maps: one piece per region, no VMA");
	}

	/* the callback stops the walk */
	ps_regions_clear(&v);
	ps_regions_push(&v, P(0), P(30), 1);
	r->n = 0;
	r->stop_at = 3;
	is_int(ps_regions_walk(&v, &m, record, r), 7, "nonzero return stops the walk and is returned");
	is_u64(r->n, 3, "no call after the stop");
	r->stop_at = 0;

	/* no regions: no calls */
	ps_regions_clear(&v);
	r->n = 0;
	is_int(ps_regions_walk(&v, &m, record, r), 0, "no regions");
	is_u64(r->n, 0, "no calls");

	ps_regions_free(&v);
	free(r);
}

static uint64_t rng = 0x853c49e6748fea9bull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Random layouts checked page by page against a linear lookup. */
static void test_walk_random(void)
{
	enum { SPACE = 400 };
	struct ps_vma vv[SPACE];
	struct rec *r = calloc(1, sizeof(*r));
	int bad = 0;

	for (int t = 0; t < 500 && !bad; t++) {
		struct ps_maps m = { .v = vv, .n = 0 };
		struct ps_regions v = { 0 };
		uint64_t page = 0;
		long owner[SPACE];
		int covered[SPACE];

		/* VMAs: random lengths and gaps, often adjacent */
		for (int i = 0; i < SPACE; i++)
			owner[i] = -1, covered[i] = 0;
		page = rnd() % 3;
		while (page < SPACE) {
			uint64_t len = 1 + rnd() % 8;

			if (page + len > SPACE)
				break;
			vv[m.n] = (struct ps_vma){ .start = P(page), .end = P(page + len), .name = "" };
			for (uint64_t k = page; k < page + len; k++)
				owner[k] = (long)m.n;
			m.n++;
			page += len + (rnd() % 3 == 0 ? rnd() % 5 : 0);
		}
		/* regions: random, contiguous ones often with equal cats */
		page = rnd() % 4;
		while (page < SPACE) {
			uint64_t len = 1 + rnd() % 20;

			if (page + len > SPACE)
				len = SPACE - page;
			ps_regions_push(&v, P(page), P(page + len), rnd() % 3);
			page += len + (rnd() % 2 ? rnd() % 6 : 0);
		}
		r->maps = &m;
		r->n = 0;
		ps_regions_walk(&v, &m, record, r);

		/* pieces tile the regions exactly, each page's VMA is right,
		 * and pieces are maximal (a region is split only where the VMA changes) */
		{
			size_t ri = 0;
			uint64_t expect = v.n ? v.r[0].start : 0;

			for (size_t i = 0; i < r->n && !bad; i++) {
				struct piece *p = &r->p[i];

				if (ri >= v.n || p->start != expect || p->end <= p->start || p->end > v.r[ri].end ||
				    p->cats != v.r[ri].cats)
					bad = 1;
				for (uint64_t pg = p->start / 4096; !bad && pg < p->end / 4096; pg++) {
					covered[pg]++;
					if (owner[pg] != p->vma)
						bad = 2;
				}
				if (!bad && p->end < v.r[ri].end && owner[p->end / 4096] == p->vma)
					bad = 3;
				if (p->end == v.r[ri].end) {
					ri++;
					expect = ri < v.n ? v.r[ri].start : 0;
				} else {
					expect = p->end;
				}
			}
			if (!bad && ri != v.n)
				bad = 4;
			for (size_t i = 0; i < v.n && !bad; i++)
				for (uint64_t pg = v.r[i].start / 4096; pg < v.r[i].end / 4096; pg++)
					if (covered[pg] != 1)
						bad = 5;
		}
		if (bad)
			printf("# layout %d failed check %d\n", t, bad);
		ps_regions_free(&v);
	}
	is_int(bad, 0, "500 random layouts: pieces tile the regions, VMAs right, splits minimal");
	free(r);
}

/* ps_regions_insert: every position, merging, keeping order. */
static void test_insert(void)
{
	struct ps_regions v = { 0 };
	const uint64_t W = 2, P = 8;
	is_int(ps_regions_insert(&v, 10 * 4096, 11 * 4096, W), 0, "insert into empty");
	is_int(ps_regions_insert(&v, 20 * 4096, 21 * 4096, W), 0, "insert at the end");
	is_int(ps_regions_insert(&v, 2 * 4096, 3 * 4096, W), 0, "insert at the front");
	is_int(ps_regions_insert(&v, 15 * 4096, 16 * 4096, P), 0, "insert in the middle, other cats");
	is_int((int)v.n, 4, "four separate regions");
	is_int(ps_regions_insert(&v, 11 * 4096, 12 * 4096, W), 0, "touching the left neighbour");
	is_int(ps_regions_insert(&v, 19 * 4096, 20 * 4096, W), 0, "touching the right neighbour");
	is_int((int)v.n, 4, "both merged into their neighbours");
	is_int(ps_regions_insert(&v, 12 * 4096, 15 * 4096, P), 0, "bridging to an equal-cats right neighbour");
	is_int((int)v.n, 4, "merged right only (left cats differ)");
	is_int(ps_regions_insert(&v, 10 * 4096, 11 * 4096, W), 0, "a page already there");
	is_int(ps_regions_insert(&v, 16 * 4096, 20 * 4096, P), -EINVAL, "overlapping the next region is refused");
	bool sorted = true;
	for (size_t i = 1; i < v.n; i++)
		sorted = sorted && v.r[i - 1].end <= v.r[i].start;
	is_int(sorted, 1, "still sorted and disjoint");
	is_u64(ps_regions_pages(&v), 1 + 2 + 4 + 2, "pages: 2-3, 10-12, 12-16, 19-21");
	ps_regions_free(&v);
}

int main(void)
{
	test_insert();
	test_push();
	test_push_order();
	test_walk();
	test_walk_random();
	return tap_done();
}
