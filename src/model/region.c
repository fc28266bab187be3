/* SPDX-License-Identifier: MIT */
/* Region vectors: merging on append, splitting at mapping boundaries. */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/region.h"
#include "pagescan/model/util.h"

int ps_regions_push(struct ps_regions *v, uint64_t start, uint64_t end, uint64_t cats)
{
	struct ps_region *last = v->n ? &v->r[v->n - 1] : NULL;
	int r;

	/* Callers feed kernel output in address order; anything else is a bug.
	 * Refuse it in release builds too instead of corrupting the order. */
	assert(start < end);
	assert(!last || start >= last->end);
	if (start >= end || (last && start < last->end))
		return -EINVAL;
	if (last && last->end == start && last->cats == cats) {
		last->end = end;
		return 0;
	}
	/* The hot path of every harvest: call out only to grow. */
	if (v->n == v->cap && (r = ps_grow((void **)&v->r, &v->cap, v->n + 1, sizeof(*v->r))) < 0)
		return r;
	v->r[v->n++] = (struct ps_region){ .start = start, .end = end, .cats = cats };
	return 0;
}

int ps_regions_insert(struct ps_regions *v, uint64_t start, uint64_t end, uint64_t cats)
{
	size_t k = v->n;
	while (k > 0 && v->r[k - 1].start > start)
		k--;
	if (k > 0 && v->r[k - 1].end > start)
		return 0; /* already covered */
	if (k == v->n)
		return ps_regions_push(v, start, end, cats);
	if (end > v->r[k].start)
		return -EINVAL; /* would overlap its right neighbour */
	bool left = k > 0 && v->r[k - 1].end == start && v->r[k - 1].cats == cats;
	bool right = v->r[k].start == end && v->r[k].cats == cats;
	if (left && right) {
		v->r[k - 1].end = v->r[k].end;
		memmove(&v->r[k], &v->r[k + 1], (v->n - k - 1) * sizeof(v->r[0]));
		v->n--;
	} else if (left) {
		v->r[k - 1].end = end;
	} else if (right) {
		v->r[k].start = start;
	} else {
		int r = ps_grow((void **)&v->r, &v->cap, v->n + 1, sizeof(*v->r));
		if (r < 0)
			return r;
		memmove(&v->r[k + 1], &v->r[k], (v->n - k) * sizeof(v->r[0]));
		v->r[k] = (struct ps_region){ .start = start, .end = end, .cats = cats };
		v->n++;
	}
	return 0;
}

uint64_t ps_regions_pages(const struct ps_regions *v)
{
	uint64_t pages = 0;

	for (size_t i = 0; i < v->n; i++)
		pages += (v->r[i].end - v->r[i].start) >> PS_PAGE_SHIFT;
	return pages;
}

void ps_regions_clear(struct ps_regions *v)
{
	v->n = 0;
}

void ps_regions_free(struct ps_regions *v)
{
	if (!v)
		return;
	free(v->r);
	v->r = NULL;
	v->n = 0;
	v->cap = 0;
}

/*
 * Both lists are sorted and disjoint, so one index into the VMAs moves only
 * forward: O(regions + vmas) overall.
 */
int ps_regions_walk(const struct ps_regions *v, const struct ps_maps *maps, ps_region_fn fn, void *ctx)
{
	size_t nv = maps ? maps->n : 0, j = 0;

	for (size_t i = 0; i < v->n; i++) {
		const struct ps_region *reg = &v->r[i];
		uint64_t cur = reg->start;

		while (cur < reg->end) {
			struct ps_region piece = { .start = cur, .cats = reg->cats };
			const struct ps_vma *vma = NULL;
			int r;

			while (j < nv && maps->v[j].end <= cur)
				j++;
			if (j == nv || maps->v[j].start >= reg->end) {
				piece.end = reg->end;           /* no mapping in the rest */
			} else if (maps->v[j].start > cur) {
				piece.end = maps->v[j].start;   /* hole before the next mapping */
			} else {
				vma = &maps->v[j];
				piece.end = vma->end < reg->end ? vma->end : reg->end;
			}
			r = fn(ctx, &piece, vma);
			if (r)
				return r;
			cur = piece.end;
		}
	}
	return 0;
}
