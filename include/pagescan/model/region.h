/* SPDX-License-Identifier: MIT */
/* Regions reported by PAGEMAP_SCAN: merging, and splitting at mapping
 * boundaries so that each region names exactly one mapping (the kernel
 * merges across VMAs). Pure logic. */
#ifndef PAGESCAN_REGION_H
#define PAGESCAN_REGION_H

#include <stddef.h>
#include <stdint.h>

#include "pagescan/model/maps.h"

struct ps_region {
	uint64_t start, end;  /* bytes, [start, end) */
	uint64_t cats;        /* PS_CAT_* */
};

struct ps_regions {
	struct ps_region *r;
	size_t n, cap;
};

/* Append; merges with the last region when contiguous with equal cats.
 * Regions must be appended in address order (asserted: start >= last end). */
int ps_regions_push(struct ps_regions *v, uint64_t start, uint64_t end, uint64_t cats);
/* Insert [start, end) into sorted regions anywhere, merging with touching
 * neighbours of equal cats; a range already started by a region is left
 * as it is. -EINVAL if it would overlap the next region. */
int ps_regions_insert(struct ps_regions *v, uint64_t start, uint64_t end, uint64_t cats);
uint64_t ps_regions_pages(const struct ps_regions *v); /* total pages */
void ps_regions_clear(struct ps_regions *v);
void ps_regions_free(struct ps_regions *v);

/* Walk regions split at VMA boundaries: calls fn once per piece, in address
 * order, with the VMA the piece lies in (NULL when the snapshot has none there).
 * A nonzero return from fn stops the walk and is returned. */
typedef int (*ps_region_fn)(void *ctx, const struct ps_region *piece, const struct ps_vma *vma);
int ps_regions_walk(const struct ps_regions *v, const struct ps_maps *maps, ps_region_fn fn, void *ctx);

#endif
