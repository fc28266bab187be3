/* SPDX-License-Identifier: MIT */
/* The page set against a naive one (a byte per page) over random,
 * sequential and adversarial (alternating pages) inputs: the fresh pages of
 * every add, the count, the set as regions, and the memory bound. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/category.h"
#include "pagescan/model/pageset.h"
#include "pagescan/model/util.h"
#include "helpers.h"
#include "tap.h"

#define CP PS_PAGESET_CHUNK_PAGES
#define NPAGES (5 * CP + 123)   /* the naive set's window: partial chunks at both ends */

struct naive {
	uint64_t base;          /* first page of the window (not chunk aligned) */
	unsigned char in[NPAGES];
	uint64_t pages, lo, hi; /* count, and the span [lo, hi) of pages ever added */
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(uint64_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % n;
}

/* Pages of the window as regions (merged, PS_CAT_WRITTEN). */
static void regions_of(const struct naive *nv, const unsigned char *mark, struct ps_regions *out)
{
	ps_regions_clear(out);
	for (uint64_t i = 0; i < NPAGES; i++)
		if (mark[i])
			ps_regions_push(out, (nv->base + i) * PS_PAGE_SIZE, (nv->base + i + 1) * PS_PAGE_SIZE,
			                PS_CAT_WRITTEN);
}

/* The documented bound: a bit per page of the span, a partly used chunk at
 * each end, and a header per chunk with the array's doubling slack (8 at
 * least). */
static size_t bound(uint64_t span)
{
	size_t hdr = sizeof(struct ps_pageset_chunk);
	size_t chunks = span / CP + 2;
	return span / 8 + 2 * (CP / 8) + 2 * hdr * (chunks < 8 ? 8 : chunks);
}

/* Add in to both sets and compare everything. */
static bool add_both(struct ps_pageset *set, struct naive *nv, const struct ps_regions *in)
{
	static unsigned char fresh_mark[NPAGES];
	struct ps_regions fresh = { 0 }, want = { 0 }, all = { 0 };
	bool good = true;

	memset(fresh_mark, 0, sizeof(fresh_mark));
	for (size_t i = 0; i < in->n; i++)
		for (uint64_t a = in->r[i].start; a < in->r[i].end; a += PS_PAGE_SIZE) {
			uint64_t p = a / PS_PAGE_SIZE - nv->base;
			if (!nv->in[p]) {
				nv->in[p] = fresh_mark[p] = 1;
				nv->pages++;
			}
			if (p < nv->lo)
				nv->lo = p;
			if (p + 1 > nv->hi)
				nv->hi = p + 1;
		}
	good &= ps_pageset_add(set, in, ps_pageset_fresh_push, &fresh) == 0;
	regions_of(nv, fresh_mark, &want);
	good &= regions_same(&fresh, &want);
	good &= ps_pageset_pages(set) == nv->pages;
	regions_of(nv, nv->in, &want);
	good &= ps_pageset_regions(set, &all) == 0 && regions_same(&all, &want);
	if (nv->hi > nv->lo)
		good &= ps_pageset_bytes(set) <= bound(nv->hi - nv->lo);
	ps_regions_free(&fresh);
	ps_regions_free(&want);
	ps_regions_free(&all);
	return good;
}

static void naive_init(struct naive *nv, uint64_t base)
{
	memset(nv, 0, sizeof(*nv));
	nv->base = base;
	nv->lo = UINT64_MAX;
}

static void push_pages(struct ps_regions *in, const struct naive *nv, uint64_t p, uint64_t n)
{
	ps_regions_push(in, (nv->base + p) * PS_PAGE_SIZE, (nv->base + p + n) * PS_PAGE_SIZE, PS_CAT_WRITTEN);
}

static struct naive nv;

static void test_random(void)
{
	struct ps_pageset set = { 0 };
	struct ps_regions in = { 0 };
	bool good = true;

	naive_init(&nv, 3 * CP + 777);
	for (int round = 0; round < 200 && good; round++) {
		ps_regions_clear(&in);
		for (uint64_t p = rnd(64); p < NPAGES;) {
			uint64_t n = 1 + rnd(round % 3 == 0 ? 300 : 5);
			if (p + n > NPAGES)
				n = NPAGES - p;
			push_pages(&in, &nv, p, n);
			p += n + 1 + rnd(round % 2 ? 2000 : 40);
		}
		good &= add_both(&set, &nv, &in);
	}
	ok(good, "random regions: fresh pages, count, regions and memory as the naive set's");
	ps_regions_free(&in);
	ps_pageset_free(&set);
}

static void test_sequential(void)
{
	struct ps_pageset set = { 0 };
	struct ps_regions in = { 0 };
	bool good = true;

	/* A writer sweeping forward, 1000 pages a tick, then again from the start. */
	naive_init(&nv, 0x7f0000000ull / PS_PAGE_SIZE + 5);
	for (uint64_t p = 0; p < 2 * NPAGES && good; p += 1000) {
		uint64_t s = p % NPAGES, n = 1000;
		if (s + n > NPAGES)
			n = NPAGES - s;
		ps_regions_clear(&in);
		push_pages(&in, &nv, s, n);
		good &= add_both(&set, &nv, &in);
	}
	ok(good, "sequential sweeps: as the naive set");
	is_u64(set.nbitmaps, 2, "sequential: the full chunks gave up their bitmaps (only the two ends keep one)");
	ps_regions_free(&in);
	ps_pageset_free(&set);

	/* Whole chunks at once never allocate a bitmap. */
	naive_init(&nv, 0);
	ps_regions_clear(&in);
	push_pages(&in, &nv, 0, 4 * CP);
	ok(add_both(&set, &nv, &in) && set.nbitmaps == 0 && ps_pageset_bytes(&set) <= 8 * sizeof(*set.c),
	   "whole chunks: the compact form only");
	ps_regions_free(&in);
	ps_pageset_free(&set);
}

static void test_alternating(void)
{
	struct ps_pageset set = { 0 };
	struct ps_regions in = { 0 };

	/* Every other page, then the others: the worst case for a list of ranges. */
	naive_init(&nv, 11);
	for (uint64_t p = 0; p < NPAGES; p += 2)
		push_pages(&in, &nv, p, 1);
	ok(add_both(&set, &nv, &in), "alternating pages: as the naive set");
	ps_regions_clear(&in);
	for (uint64_t p = 1; p < NPAGES; p += 2)
		push_pages(&in, &nv, p, 1);
	ok(add_both(&set, &nv, &in) && set.n == 6 && set.nbitmaps == 2,
	   "the other pages: fresh exactly those, the inner chunks full");
	ps_regions_free(&in);
	ps_pageset_free(&set);

	/* The memory bound at scale: 1 Mi pages (4 GiB) alternating, 512 Ki
	 * regions, in a set of 128 KiB of bitmaps. */
	uint64_t span = 1u << 20;
	for (uint64_t p = 0; p < span; p += 2)
		ps_regions_push(&in, (p + 1) * PS_PAGE_SIZE, (p + 2) * PS_PAGE_SIZE, PS_CAT_WRITTEN);
	ok(ps_pageset_add(&set, &in, NULL, NULL) == 0, "4 GiB alternating: added");
	is_u64(ps_pageset_pages(&set), span / 2, "4 GiB alternating: the count");
	size_t bytes = ps_pageset_bytes(&set);
	ok(bytes <= bound(span), "4 GiB alternating: %zu bytes <= %zu (span/8 + overhead)", bytes, bound(span));
	ok(bytes <= span / 8 + span / 8 / 8, "4 GiB alternating: within 12.5%% of a bit per page");
	struct ps_regions out = { 0 };
	ok(ps_pageset_regions(&set, &out) == 0 && out.n == span / 2 && out.r[0].start == PS_PAGE_SIZE,
	   "4 GiB alternating: back as 512 Ki regions");
	ps_regions_free(&out);
	ps_regions_free(&in);
	ps_pageset_free(&set);
}

static void test_far_apart(void)
{
	struct ps_pageset set = { 0 };
	struct ps_regions in = { 0 }, fresh = { 0 };

	/* Pages at both ends of the address space: two chunks, not a bitmap
	 * of the gap. */
	ps_regions_push(&in, 0x1000, 0x3000, PS_CAT_WRITTEN);
	ps_regions_push(&in, 0x7ffffffff000ull, 0x800000000000ull, PS_CAT_WRITTEN);
	ok(ps_pageset_add(&set, &in, ps_pageset_fresh_push, &fresh) == 0 && fresh.n == 2 &&
	   ps_pageset_pages(&set) == 3 && set.n == 2, "far apart: two chunks, three pages");
	ok(ps_pageset_bytes(&set) <= 2 * (CP / 8) + 8 * sizeof(*set.c), "far apart: two bitmaps");
	/* Added again: nothing fresh. */
	ps_regions_clear(&fresh);
	ok(ps_pageset_add(&set, &in, ps_pageset_fresh_push, &fresh) == 0 && fresh.n == 0 && ps_pageset_pages(&set) == 3,
	   "added again: nothing fresh");
	ps_regions_free(&fresh);
	ps_regions_free(&in);
	ps_pageset_free(&set);
	ok(set.n == 0 && set.c == NULL && ps_pageset_pages(&set) == 0, "freed: empty");
}

int main(void)
{
	test_random();
	test_sequential();
	test_alternating();
	test_far_apart();
	return tap_done();
}
