/* SPDX-License-Identifier: MIT */
/* Sampled write tracking (watch/run --sample FRACTION), the kernel side:
 * instead of every tracked page, a fresh random subset of aligned blocks is
 * write-protected each interval and only those blocks are harvested
 * (docs/sampling.md). With asynchronous write-protect a registered page
 * that is not protected reads written, so the harvest looks at the sampled
 * blocks only; the previous sample is un-protected (UFFDIO_WRITEPROTECT
 * mode 0) before the next is protected, so that the other pages stop
 * faulting and the cost falls with the fraction. The estimate is the
 * model's (model/sample.h). */
#ifndef PAGESCAN_KERNEL_SAMPLE_H
#define PAGESCAN_KERNEL_SAMPLE_H

#include <stdint.h>

#include "pagescan/kernel/classify.h"
#include "pagescan/model/maps.h"
#include "pagescan/model/range.h"
#include "pagescan/model/region.h"
#include "pagescan/model/sample.h"
#include "pagescan/model/spans.h"

struct ps_sampler;

/* fraction in (0, 1); seed for the generator. NULL: no memory. */
struct ps_sampler *ps_sampler_new(double fraction, uint64_t seed);
void ps_sampler_free(struct ps_sampler *s);

/* The harvest of a sampling tracker: the written pages of the current
 * sample (those still armed) to out, counted per block, then the next
 * sample: the current one un-protected, a new one drawn from armed and
 * protected. */
int ps_sampler_harvest(struct ps_sampler *s, struct ps_classify *c, int uffd, const struct ps_rangeset *armed,
                       struct ps_regions *out, struct ps_scan_stats *stats, struct ps_err *err);

/* After a sync: the mappings engaged by it (armed whole by the sync) are
 * un-protected outside the sample; the first time, the first sample is
 * drawn. maps tells which ranges need uffd-wp markers (file-backed and
 * shared memory, kernel/classify.h). */
int ps_sampler_follow(struct ps_sampler *s, struct ps_classify *c, int uffd, const struct ps_rangeset *armed,
                      const struct ps_maps *maps, const struct ps_sync_result *res, struct ps_err *err);

/* The last harvest's sample: its blocks (y written of m pages; m = 0: left
 * out), the population it was drawn from, the block size. */
struct ps_sampler_result {
	const struct ps_sample_block *blocks;
	size_t nblocks;
	uint64_t population_pages, population_blocks;
	uint32_t block_pages;
	double fraction;
	uint64_t seed;
	uint64_t ioctls;          /* un-protect, protect and harvest calls of the last harvest */
};
void ps_sampler_last(const struct ps_sampler *s, struct ps_sampler_result *ret);

#endif
