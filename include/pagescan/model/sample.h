/* SPDX-License-Identifier: MIT */
/* Sampled write tracking (watch/run --sample FRACTION), the pure part: the
 * fraction, a seeded generator, which blocks of a range set are sampled, and
 * the estimate of an interval's written pages with its 95 % confidence
 * interval (docs/sampling.md).
 *
 * Each interval the kernel side (kernel/sample.h) write-protects a fresh
 * random subset of the tracked pages: aligned blocks of block_pages pages,
 * each chosen independently with probability FRACTION. The harvest reads
 * only those blocks. The written pages of the interval are estimated by the
 * ratio estimator of cluster sampling: R = sum(y_i) / sum(m_i) over the
 * sampled blocks (y_i written of m_i pages), total = R x tracked pages,
 * with the variance of a ratio estimate under simple random sampling of
 * clusters and the finite-population correction (1 - n/N), and Student's
 * t for n - 1 degrees of freedom. */
#ifndef PAGESCAN_MODEL_SAMPLE_H
#define PAGESCAN_MODEL_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pagescan/model/error.h"

/* The sampling unit: at least this many pages a block, more when the
 * tracked memory is so large that the sample would exceed
 * PS_SAMPLE_MAX_BLOCKS blocks (the ioctls per interval stay bounded). */
#define PS_SAMPLE_MIN_BLOCK_PAGES 16u
#define PS_SAMPLE_MAX_BLOCKS 128u

/* The smallest --sample FRACTION, 1/65536: one block of 16 pages in
 * 65536, about one block sampled per 4 GiB tracked (at 4 KiB pages), so
 * below it nearly every interval of any target samples nothing; and the
 * JSON records' fraction (6 decimals) would read 0, exact tracking, far
 * below it. */
#define PS_SAMPLE_MIN_DENOMINATOR 65536u
#define PS_SAMPLE_MIN_FRACTION (1.0 / PS_SAMPLE_MIN_DENOMINATOR)

/* --sample FRACTION: "1/16", "0.0625" or "6.25%"; in [1/65536, 1). */
int ps_sample_parse_fraction(const char *s, double *ret, struct ps_err *err);

/* xoshiro256** seeded through splitmix64. */
struct ps_rng {
	uint64_t s[4];
};
void ps_rng_seed(struct ps_rng *r, uint64_t seed);
uint64_t ps_rng_next(struct ps_rng *r);
/* Uniform in [0, 1). */
double ps_rng_unit(struct ps_rng *r);
/* Blocks to skip before the next chosen one when each block is chosen
 * independently with probability p (geometric; p in (0, 1]). */
uint64_t ps_rng_skip(struct ps_rng *r, double p);

/* The block size in pages for tracked_pages pages at fraction f: a power
 * of two >= PS_SAMPLE_MIN_BLOCK_PAGES. */
uint32_t ps_sample_block_pages(uint64_t tracked_pages, double f);

/* One sampled block of an interval: m pages sampled, y of them written. */
struct ps_sample_block {
	uint32_t m, y;
};

/* An interval's estimate (all in pages). */
struct ps_sample_est {
	bool valid;               /* a sample was read (false: no estimate) */
	double fraction;          /* the asked fraction */
	uint64_t population_pages;  /* tracked pages the sample was drawn from */
	uint64_t population_blocks; /* blocks of those */
	uint64_t sampled_blocks, sampled_pages;
	uint64_t seen_written;    /* written pages found in the sample */
	double written;           /* estimate of the written pages of the population */
	double lo, hi;            /* its 95 % confidence interval */
	double se;                /* its standard error */
};

/* The estimate from the n sampled blocks b of a population of
 * population_pages pages in population_blocks blocks. The interval is
 * clipped to what is known for certain: at least the written pages seen,
 * at most the population less the sampled pages seen unwritten. With no
 * written page in the sample, the upper end is the "rule of three" bound
 * (3 / sampled pages of the population). */
void ps_sample_estimate(const struct ps_sample_block *b, size_t n, uint64_t population_pages,
                        uint64_t population_blocks, double fraction, struct ps_sample_est *ret);

/* Two-sided 95 % quantile of Student's t with df degrees of freedom
 * (df >= 1; the normal's 1.96 for large df). */
double ps_t975(uint64_t df);

/* The write working set over k intervals of independent samples at
 * fraction f, from the distinct pages seen written (seen): a page written
 * in j of the k intervals is seen with probability 1 - (1 - f)^j, so the
 * expected working set lies between seen / (1 - (1 - f)^k) (every page
 * written in every interval: a hot set) and seen / f (every page written
 * once); high is capped at tracked pages. Bounds of the expectation under
 * these two extremes, not a confidence interval. */
void ps_sample_wss_bounds(uint64_t seen, uint64_t k, double f, uint64_t tracked_pages, double *lo, double *hi);

/* What an interval record says about sampling (model/watch.h). */
struct ps_sample_iv {
	bool estimated;           /* written_pages, rate_pages_s and wss_pages are estimates */
	double fraction;
	uint32_t block_pages;
	uint64_t sampled_pages;   /* pages in this interval's sample */
	uint64_t seen_written;    /* written pages seen: in the sample, plus pages counted exactly
	                           * (already written in mappings engaged this interval) */
	double written_lo, written_hi; /* 95 % confidence interval of written_pages */
	double rate_lo, rate_hi;       /* the same for rate_pages_s */
	double wss_lo, wss_hi;         /* bounds of the write working set (ps_sample_wss_bounds) */
	uint64_t wss_seen;        /* distinct pages seen written since the start */
};

#endif
