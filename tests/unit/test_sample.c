/* SPDX-License-Identifier: MIT */
/* Sampled write tracking (model/sample.h): --sample FRACTION parsing, the
 * generator, the block size, the estimate and its interval on known cases,
 * the write working set bounds, and the statistical coverage check: over
 * many simulated intervals the stated 95 % interval contains the true
 * number of written pages about 95 % of the time, for uniform, clustered
 * and sparse writes, with many and with few sampled blocks. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/sample.h"
#include "tap.h"

static void test_parse(void)
{
	struct ps_err e = { 0 };
	double f = 0;
	is_int(ps_sample_parse_fraction("1/16", &f, &e), 0, "parse: 1/16");
	is_dbl(f, 0.0625, 1e-12, "parse: 1/16 = 0.0625");
	is_int(ps_sample_parse_fraction("0.05", &f, &e), 0, "parse: 0.05");
	is_dbl(f, 0.05, 1e-12, "parse: 0.05");
	is_int(ps_sample_parse_fraction("5%", &f, &e), 0, "parse: 5%%");
	is_dbl(f, 0.05, 1e-12, "parse: 5%% = 0.05");
	is_int(ps_sample_parse_fraction("1/65536", &f, &e), 0, "parse: 1/65536, the smallest");
	is_dbl(f, 1.0 / 65536, 1e-18, "parse: 1/65536");
	const char *small[] = { "1/65537", "0.0000001", "1/99999999999999999999", "0.001%" };
	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++)
		ok(ps_sample_parse_fraction(small[i], &f, &e) < 0 && strstr(e.msg, "smallest fraction is 1/65536"),
		   "parse: \"%s\" refused, below 1/65536", small[i]);
	const char *bad[] = { "", "0", "1", "1/1", "2/1", "-0.1", "1/0", "x", "1/16x", "50%%", "0%", "nan" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(ps_sample_parse_fraction(bad[i], &f, &e) < 0 && strstr(e.msg, "--sample"), "parse: \"%s\" refused",
		   bad[i]);
}

static void test_rng(void)
{
	struct ps_rng a, b;
	ps_rng_seed(&a, 42);
	ps_rng_seed(&b, 42);
	bool same = true;
	for (int i = 0; i < 100; i++)
		same &= ps_rng_next(&a) == ps_rng_next(&b);
	ok(same, "rng: the same seed gives the same sequence");
	ps_rng_seed(&b, 43);
	ok(ps_rng_next(&a) != ps_rng_next(&b), "rng: another seed, another sequence");
	/* geometric skips: chosen share near p */
	uint64_t chosen = 0, n = 0;
	for (uint64_t next = ps_rng_skip(&a, 0.0625); n < 1000000; n++)
		if (n == next) {
			chosen++;
			next += 1 + ps_rng_skip(&a, 0.0625);
		}
	is_dbl((double)chosen / (double)n, 0.0625, 0.002, "rng: skips choose about 1/16 of the blocks");
	is_u64(ps_rng_skip(&a, 1.0), 0, "rng: p = 1 skips nothing");
}

static void test_block(void)
{
	is_u64(ps_sample_block_pages(1000, 0.0625), PS_SAMPLE_MIN_BLOCK_PAGES, "block: small memory, the minimum");
	is_u64(ps_sample_block_pages(262144, 0.0625), 128, "block: 1 GiB at 1/16: 128 pages (128 blocks)");
	is_u64(ps_sample_block_pages(16384, 0.0625), 16, "block: 64 MiB at 1/16: 16 pages (64 blocks)");
	uint32_t b = ps_sample_block_pages(16777216, 0.0625); /* 64 GiB */
	ok((double)16777216 * 0.0625 / b <= PS_SAMPLE_MAX_BLOCKS, "block: 64 GiB at 1/16: at most %u blocks (%u pages)",
	   PS_SAMPLE_MAX_BLOCKS, b);
	ok((b & (b - 1)) == 0, "block: a power of two");
}

static void test_t(void)
{
	is_dbl(ps_t975(1), 12.706, 1e-3, "t: df 1");
	is_dbl(ps_t975(10), 2.228, 1e-3, "t: df 10");
	is_dbl(ps_t975(30), 2.042, 2e-3, "t: df 30");
	is_dbl(ps_t975(1000000), 1.96, 1e-3, "t: large df is the normal's");
}

static void test_known(void)
{
	struct ps_sample_est e;
	/* every sampled page written: the estimate is the population, no spread */
	struct ps_sample_block full[4] = { { 16, 16 }, { 16, 16 }, { 16, 16 }, { 16, 16 } };
	ps_sample_estimate(full, 4, 1024, 64, 0.0625, &e);
	ok(e.valid, "known: valid");
	is_dbl(e.written, 1024, 1e-9, "known: all written -> 1024");
	is_dbl(e.lo, 1024, 1e-9, "known: all written -> lo 1024");
	is_dbl(e.hi, 1024, 1e-9, "known: all written -> hi 1024");
	/* nothing written: 0, upper end by the rule of three */
	struct ps_sample_block none[4] = { { 16, 0 }, { 16, 0 }, { 16, 0 }, { 16, 0 } };
	ps_sample_estimate(none, 4, 1024, 64, 0.0625, &e);
	is_dbl(e.written, 0, 1e-9, "known: none written -> 0");
	is_dbl(e.lo, 0, 1e-9, "known: none written -> lo 0");
	is_dbl(e.hi, 1024 * 3.0 / 64, 1e-9, "known: none written -> hi = 3/64 of the population");
	/* half of each block: 512, and the interval holds it */
	struct ps_sample_block half[4] = { { 16, 8 }, { 16, 6 }, { 16, 10 }, { 16, 8 } };
	ps_sample_estimate(half, 4, 1024, 64, 0.0625, &e);
	is_dbl(e.written, 512, 1e-9, "known: half written -> 512");
	ok(e.lo < 512 && e.hi > 512 && e.lo >= 32, "known: 512 in [%.0f, %.0f], lo >= the 32 seen", e.lo, e.hi);
	is_u64(e.seen_written, 32, "known: 32 seen");
	is_u64(e.sampled_pages, 64, "known: 64 sampled");
	/* dropped blocks (m = 0) are left out */
	struct ps_sample_block drop[3] = { { 16, 8 }, { 0, 0 }, { 16, 8 } };
	ps_sample_estimate(drop, 3, 1024, 64, 0.0625, &e);
	is_u64(e.sampled_blocks, 2, "known: a dropped block is not counted");
	/* no block drawn: no estimate */
	ps_sample_estimate(NULL, 0, 1024, 64, 0.0625, &e);
	ok(!e.valid, "known: an empty sample is no estimate");
}

/* A simulated interval: pages of nblocks blocks of bp pages, written per
 * the pattern; a Bernoulli block sample at f as the kernel side draws it. */
enum pattern { UNIFORM, CLUSTERED, SPARSE };

static uint64_t simulate(struct ps_rng *r, enum pattern pat, uint64_t nblocks, uint32_t bp, double f,
                         struct ps_sample_block *out, size_t *nout, uint32_t *written)
{
	uint64_t truth = 0;
	for (uint64_t i = 0; i < nblocks; i++) {
		uint32_t y = 0;
		for (uint32_t k = 0; k < bp; k++) {
			double u = ps_rng_unit(r);
			bool w;
			switch (pat) {
			case UNIFORM:
				w = u < 0.3;
				break;
			case CLUSTERED:
				/* a hot tenth of the blocks mostly written, the rest rarely */
				w = (i % 10 == 3) ? u < 0.9 : u < 0.02;
				break;
			default:
				w = u < 0.01;
				break;
			}
			y += w;
		}
		written[i] = y;
		truth += y;
	}
	*nout = 0;
	for (uint64_t next = ps_rng_skip(r, f); next < nblocks; next += 1 + ps_rng_skip(r, f))
		out[(*nout)++] = (struct ps_sample_block){ .m = bp, .y = written[next] };
	return truth;
}

static void coverage(enum pattern pat, const char *name, uint64_t nblocks, double f, int runs, double min_cov,
                     double max_cov)
{
	struct ps_rng r;
	ps_rng_seed(&r, 12345 + (uint64_t)pat * 7 + nblocks);
	struct ps_sample_block *b = calloc(nblocks, sizeof(*b));
	uint32_t *w = calloc(nblocks, sizeof(*w));
	int covered = 0, valid = 0;
	double rel = 0, bias = 0;
	for (int i = 0; i < runs && b && w; i++) {
		size_t n;
		struct ps_sample_est e;
		uint64_t truth = simulate(&r, pat, nblocks, 16, f, b, &n, w);
		ps_sample_estimate(b, n, nblocks * 16, nblocks, f, &e);
		if (!e.valid)
			continue;
		valid++;
		covered += e.lo <= (double)truth && (double)truth <= e.hi;
		rel += (e.hi - e.lo) / 2 / (double)truth;
		bias += (e.written - (double)truth) / (double)truth;
	}
	double cov = valid ? (double)covered / valid : 0;
	ok(valid > runs * 9 / 10 && cov >= min_cov && cov <= max_cov,
	   "coverage %s, %llu blocks at %.4f: the 95%% interval held the truth in %.1f%% of %d intervals (mean half-width %.1f%%, bias %+.2f%%)",
	   name, (unsigned long long)nblocks, f, cov * 100, valid, rel / valid * 100, bias / valid * 100);
	ok(fabs(bias / valid) < 0.02, "coverage %s: the estimate is unbiased (%+.2f%%)", name, bias / valid * 100);
	free(b);
	free(w);
}

int main(void)
{
	test_parse();
	test_rng();
	test_block();
	test_t();
	test_known();
	/* 2000 intervals: the share covered has a standard error of 0.5 %. */
	coverage(UNIFORM, "uniform", 4096, 0.0625, 2000, 0.93, 0.97);
	coverage(CLUSTERED, "clustered", 4096, 0.0625, 2000, 0.93, 0.97);
	coverage(SPARSE, "sparse", 4096, 0.0625, 2000, 0.93, 0.97);
	/* few sampled blocks (about 32): Student's t keeps it near 95 % */
	coverage(UNIFORM, "uniform, few blocks", 512, 0.0625, 2000, 0.925, 0.975);
	coverage(UNIFORM, "uniform, 1/4", 2048, 0.25, 2000, 0.93, 0.97);
	double lo, hi;
	ps_sample_wss_bounds(100, 1, 0.0625, 100000, &lo, &hi);
	is_dbl(lo, 1600, 1e-6, "wss: one interval: seen / f");
	is_dbl(hi, 1600, 1e-6, "wss: one interval: both ends equal");
	ps_sample_wss_bounds(100, 16, 0.0625, 100000, &lo, &hi);
	is_dbl(lo, 100 / (1 - pow(1 - 0.0625, 16)), 1e-6, "wss: 16 intervals: low end, a hot set");
	is_dbl(hi, 1600, 1e-6, "wss: 16 intervals: high end, pages written once");
	ps_sample_wss_bounds(100, 16, 0.0625, 1000, &lo, &hi);
	is_dbl(hi, 1000, 1e-6, "wss: capped at the tracked pages");
	return tap_done();
}
