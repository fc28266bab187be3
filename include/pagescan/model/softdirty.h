/* SPDX-License-Identifier: MIT */
/* --compare soft-dirty (docs/soft-dirty.md): each interval, the pages the
 * kernel's soft-dirty bits report beside the pages pagescan found written,
 * and how many of them were not written (soft-dirty's false positives).
 * Pure: the soft-dirty pages come from the kernel layer (kernel/softdirty.h)
 * through the session's source. */
#ifndef PAGESCAN_SOFTDIRTY_MODEL_H
#define PAGESCAN_SOFTDIRTY_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pagescan/model/maps.h"
#include "pagescan/model/range.h"
#include "pagescan/model/region.h"

/* One interval's comparison (or the watch's sums), in pages. Compared over
 * the ranges pagescan tracks at the end of the interval and the pages it
 * found written: soft_dirty_pages counts soft-dirty pages there. */
struct ps_sd_counts {
	uint64_t written_pages;    /* pages found written (the interval's written set) */
	uint64_t soft_dirty_pages; /* pages soft-dirty reported */
	uint64_t false_pages;      /* soft-dirty, not written, not explained by the window (below):
	                            * soft-dirty's own false positives */
	uint64_t race_pages;       /* pages a store inside the window between the soft-dirty read and
	                            * its clear put on one side only (docs/soft-dirty.md#order-and-race):
	                            * written but not soft-dirty, or soft-dirty, not written, and
	                            * written into a mapping the previous tick engaged after its clear.
	                            * Neither a false positive nor a soft-dirty miss; 0 on a quiet target */
};

/* to += c, count by count. */
void ps_sd_counts_add(struct ps_sd_counts *to, const struct ps_sd_counts *c);

/* Per mapping (of the interval's snapshot, or summed over the watch). */
struct ps_sd_mapping {
	uint64_t start, end;
	const char *mapping;       /* borrowed: the snapshot's label (watch sums: the comparison's copy) */
	struct ps_sd_counts c;
};

/* An interval's comparison, or the watch's (records point into the
 * comparison: valid until its next call). */
struct ps_sd_report {
	struct ps_sd_counts c;
	/* An interval: mappings with a written or soft-dirty page, by address.
	 * The watch: at most 5, by false positives (then soft-dirty pages). */
	const struct ps_sd_mapping *per_mapping;
	size_t nper_mapping;
	/* An interval: the compared pages, sorted, cats PS_SD_W and/or PS_SD_S
	 * (PS_SD_S alone: a false positive; PS_SD_W alone, or PS_SD_S with
	 * PS_SD_R: the race). NULL at the end. */
	const struct ps_regions *pieces;
};

struct ps_sdcmp;

struct ps_sdcmp *ps_sdcmp_new(void);
void ps_sdcmp_free(struct ps_sdcmp *c);

/* Where the source appends this interval's soft-dirty pages (sorted; cleared
 * by ps_sdcmp_interval). */
struct ps_regions *ps_sdcmp_soft(struct ps_sdcmp *c);

/* Compare: written (sorted; the interval's written set), the soft-dirty
 * pages given to ps_sdcmp_soft() counted where they lie in tracked or in
 * written, per mapping of maps; the watch sums go on. prewritten (sorted,
 * may be NULL): the pages of written that the follow found in mappings it
 * engaged after this tick's soft-dirty clear; kept for the next interval,
 * where their soft-dirty pages not written again are the race, not false
 * positives. 0 or -ENOMEM. */
int ps_sdcmp_interval(struct ps_sdcmp *c, const struct ps_regions *written, const struct ps_regions *prewritten,
                      const struct ps_rangeset *tracked, const struct ps_maps *maps, struct ps_sd_report *ret);
/* The watch's sums and its mappings with the most false positives. */
void ps_sdcmp_end(struct ps_sdcmp *c, struct ps_sd_report *ret);

/* The at most max (<= PS_SD_WORST_MAX) mappings of r with soft-dirty pages,
 * worst first: the most false positives, then the most soft-dirty pages,
 * then the lowest address. Pointers into r; their number. */
#define PS_SD_WORST_MAX 16
size_t ps_sd_worst(const struct ps_sd_report *r, const struct ps_sd_mapping **out, size_t max);

/* The core, for the unit tests: out = the pieces of written ∪ (soft ∩
 * (tracked ∪ written)), sorted, cats PS_SD_W and/or PS_SD_S, and PS_SD_R
 * on soft-dirty pages not written that lie in race (the previous tick's
 * pages written after the clear; empty for none); counts in c. */
#define PS_SD_W 1u
#define PS_SD_S 2u
#define PS_SD_R 4u
int ps_sd_classify(const struct ps_regions *written, const struct ps_regions *soft, const struct ps_regions *race,
                   const struct ps_rangeset *tracked, struct ps_regions *out, struct ps_sd_counts *c);

#endif
