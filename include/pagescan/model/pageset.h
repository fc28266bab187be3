/* SPDX-License-Identifier: MIT */
/* A set of pages (the write working set of a watch): memory bounded by the
 * address span it covers, not by how fragmented it is. The set is a sorted
 * array of fixed chunks of PS_PAGESET_CHUNK_PAGES pages, each a bitmap; a
 * chunk whose pages are all in the set drops its bitmap. So the set costs at
 * most one bit per page of the chunks it touches (span/8 bytes), plus a
 * header per chunk (24 bytes, up to twice that with the array's slack) and
 * at most one partly used chunk at each end of the span: a 4 GiB mapping
 * written at random costs ~140 KiB, where a list of ranges grew to tens of
 * MiB. Adding a sorted region list costs O(pages added / 64 + regions);
 * nothing is proportional to the size of the set. Pure logic. */
#ifndef PAGESCAN_PAGESET_H
#define PAGESCAN_PAGESET_H

#include <stddef.h>
#include <stdint.h>

#include "pagescan/model/region.h"

#define PS_PAGESET_CHUNK_PAGES 4096u  /* 16 MiB of address space (4 KiB pages; 64 MiB with 16 KiB), 512 bytes of bitmap */

struct ps_pageset_chunk {
	uint64_t base;   /* first page number (address >> PS_PAGE_SHIFT), a multiple of the chunk size */
	uint64_t n;      /* pages of the chunk in the set, >= 1 */
	uint64_t *bits;  /* one bit per page; NULL when n == PS_PAGESET_CHUNK_PAGES (all in the set) */
};

struct ps_pageset {
	struct ps_pageset_chunk *c;  /* sorted by base */
	size_t n, cap;
	size_t nbitmaps;             /* chunks holding a bitmap */
	uint64_t pages;              /* pages in the set */
};

/* Called with the pages that were not in the set yet, [start, end) in bytes,
 * in address order (consecutive runs may touch: a run is cut at every 64
 * pages). A nonzero return stops the add and is returned. */
typedef int (*ps_pageset_fresh_fn)(void *ctx, uint64_t start, uint64_t end);

/* Add the pages of in (sorted, disjoint; byte ranges, page aligned), calling
 * fresh (if not NULL) with those new to the set: a caller counts them as it
 * likes without a list as long as the harvest. -ENOMEM: the set holds some
 * of the pages (its count consistent). */
int ps_pageset_add(struct ps_pageset *set, const struct ps_regions *in, ps_pageset_fresh_fn fresh, void *ctx);
/* A ps_pageset_fresh_fn appending to the struct ps_regions ctx (merged,
 * PS_CAT_WRITTEN). */
int ps_pageset_fresh_push(void *ctx, uint64_t start, uint64_t end);
/* Pages in the set, O(1). */
static inline uint64_t ps_pageset_pages(const struct ps_pageset *set)
{
	return set->pages;
}
/* out = the set as merged regions of PS_CAT_WRITTEN, in address order. */
int ps_pageset_regions(const struct ps_pageset *set, struct ps_regions *out);
/* Heap bytes the set holds (the headers' capacity and the bitmaps). */
size_t ps_pageset_bytes(const struct ps_pageset *set);
void ps_pageset_free(struct ps_pageset *set);

#endif
