/* SPDX-License-Identifier: MIT */
/* A set of pages in bitmap chunks (see pageset.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/category.h"
#include "pagescan/model/pageset.h"
#include "pagescan/model/util.h"

#define CP PS_PAGESET_CHUNK_PAGES
#define WORDS (CP / 64)

/* The index of the chunk with this base, inserting an empty one (n = 0, no
 * bitmap) if there is none. Chunks before *from are known to lie below base:
 * a sorted input moves it forward only. */
static int chunk_at(struct ps_pageset *set, uint64_t base, size_t *from)
{
	size_t lo = *from, hi = set->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (set->c[mid].base < base)
			lo = mid + 1;
		else
			hi = mid;
	}
	*from = lo;
	if (lo < set->n && set->c[lo].base == base)
		return 0;
	if (ps_grow((void **)&set->c, &set->cap, set->n + 1, sizeof(*set->c)) < 0)
		return -ENOMEM;
	memmove(&set->c[lo + 1], &set->c[lo], (set->n - lo) * sizeof(*set->c));
	set->c[lo] = (struct ps_pageset_chunk){ .base = base };
	set->n++;
	return 0;
}

int ps_pageset_fresh_push(void *ctx, uint64_t start, uint64_t end)
{
	return ps_regions_push(ctx, start, end, PS_CAT_WRITTEN) < 0 ? -ENOMEM : 0;
}

/* Call fn with each run of set bits of a word (its first page given). */
static int word_runs(uint64_t first_page, uint64_t word, ps_pageset_fresh_fn fn, void *ctx)
{
	while (word) {
		unsigned b = (unsigned)__builtin_ctzll(word);
		uint64_t x = word >> b;
		unsigned len = x == ~0ull ? 64 - b : (unsigned)__builtin_ctzll(~x);
		uint64_t start = (first_page + b) << PS_PAGE_SHIFT;
		int r = fn(ctx, start, start + ((uint64_t)len << PS_PAGE_SHIFT));
		if (r)
			return r;
		word &= len + b >= 64 ? 0 : ~0ull << (len + b);
	}
	return 0;
}

/* Add pages [lo, hi) of the chunk (offsets within it); new ones to fresh. */
static int chunk_add(struct ps_pageset *set, struct ps_pageset_chunk *ch, uint64_t lo, uint64_t hi,
                     ps_pageset_fresh_fn fresh, void *ctx)
{
	uint64_t added = 0;
	int r = 0;

	if (ch->n == CP)
		return 0; /* full already */
	if (!ch->bits) {
		if (lo == 0 && hi == CP) {
			/* A new chunk written whole: the compact form at once. */
			ch->n = CP;
			set->pages += CP;
			return fresh ? fresh(ctx, ch->base << PS_PAGE_SHIFT, (ch->base + CP) << PS_PAGE_SHIFT) : 0;
		}
		ch->bits = calloc(WORDS, sizeof(uint64_t));
		if (!ch->bits)
			return -ENOMEM;
		set->nbitmaps++;
	}
	for (uint64_t w = lo / 64; w * 64 < hi && !r; w++) {
		uint64_t mask = ~0ull;
		if (w == lo / 64)
			mask &= ~0ull << (lo % 64);
		if ((w + 1) * 64 > hi)
			mask &= ~0ull >> (64 - hi % 64);
		uint64_t fresh_bits = mask & ~ch->bits[w];
		if (!fresh_bits)
			continue;
		ch->bits[w] |= fresh_bits;
		added += (uint64_t)__builtin_popcountll(fresh_bits);
		if (fresh)
			r = word_runs(ch->base + w * 64, fresh_bits, fresh, ctx);
	}
	ch->n += added;
	set->pages += added;
	if (ch->n == CP) {
		free(ch->bits);
		ch->bits = NULL;
		set->nbitmaps--;
	}
	return r;
}

int ps_pageset_add(struct ps_pageset *set, const struct ps_regions *in, ps_pageset_fresh_fn fresh, void *ctx)
{
	size_t from = 0;
	int r;

	for (size_t i = 0; i < in->n; i++) {
		uint64_t p = in->r[i].start >> PS_PAGE_SHIFT, e = in->r[i].end >> PS_PAGE_SHIFT;
		while (p < e) {
			uint64_t base = p - p % CP, hi = e < base + CP ? e : base + CP;
			if (chunk_at(set, base, &from) < 0)
				return -ENOMEM;
			r = chunk_add(set, &set->c[from], p - base, hi - base, fresh, ctx);
			if (r)
				return r;
			p = hi;
		}
	}
	return 0;
}

int ps_pageset_regions(const struct ps_pageset *set, struct ps_regions *out)
{
	ps_regions_clear(out);
	for (size_t i = 0; i < set->n; i++) {
		const struct ps_pageset_chunk *ch = &set->c[i];
		if (!ch->bits) {
			if (ch->n && ps_regions_push(out, ch->base << PS_PAGE_SHIFT, (ch->base + CP) << PS_PAGE_SHIFT,
			                             PS_CAT_WRITTEN) < 0)
				return -ENOMEM;
			continue;
		}
		for (uint64_t w = 0; w < WORDS; w++)
			if (word_runs(ch->base + w * 64, ch->bits[w], ps_pageset_fresh_push, out) < 0)
				return -ENOMEM;
	}
	return 0;
}

size_t ps_pageset_bytes(const struct ps_pageset *set)
{
	return set->cap * sizeof(*set->c) + set->nbitmaps * (CP / 8);
}

void ps_pageset_free(struct ps_pageset *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->c[i].bits);
	free(set->c);
	*set = (struct ps_pageset){ 0 };
}
