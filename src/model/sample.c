/* SPDX-License-Identifier: MIT */
/* Sampled write tracking, the estimator (see model/sample.h and
 * docs/sampling.md). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/sample.h"

int ps_sample_parse_fraction(const char *s, double *ret, struct ps_err *err)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno)
		goto bad;
	if (*end == '/') {
		const char *d = end + 1;
		double q = strtod(d, &end);
		if (end == d || errno || !(q > 0))
			goto bad;
		v /= q;
	} else if (*end == '%') {
		end++;
		v /= 100;
	}
	if (*end || !(v > 0 && v < 1))
		goto bad;
	if (v < PS_SAMPLE_MIN_FRACTION)
		return ps_errf(err, EINVAL,
		               "invalid --sample \"%s\": the smallest fraction is 1/%u (0.0015%%); a smaller one samples nothing in most intervals",
		               s, PS_SAMPLE_MIN_DENOMINATOR);
	*ret = v;
	return 0;
bad:
	return ps_errf(err, EINVAL,
	               "invalid --sample \"%s\": give the share of pages to sample each interval, above 0 and below 1 (e.g. 1/16, 0.05 or 5%%)",
	               s);
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void ps_rng_seed(struct ps_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t ps_rng_next(struct ps_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

double ps_rng_unit(struct ps_rng *r)
{
	return (double)(ps_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t ps_rng_skip(struct ps_rng *r, double p)
{
	if (p >= 1)
		return 0;
	/* 1 - U in (0, 1]: log is finite */
	double k = floor(log(1.0 - ps_rng_unit(r)) / log1p(-p));
	return k >= 1e18 ? (uint64_t)1e18 : (uint64_t)k;
}

uint32_t ps_sample_block_pages(uint64_t tracked_pages, double f)
{
	uint32_t b = PS_SAMPLE_MIN_BLOCK_PAGES;
	while (b < (1u << 20) && (double)tracked_pages * f / b > PS_SAMPLE_MAX_BLOCKS)
		b <<= 1;
	return b;
}

double ps_t975(uint64_t df)
{
	static const double small[] = { 0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228 };
	if (df == 0)
		return small[1];
	if (df < sizeof(small) / sizeof(small[0]))
		return small[df];
	/* Cornish-Fisher expansion around the normal quantile. */
	const double z = 1.959964, n = (double)df;
	return z + (z * z * z + z) / (4 * n) + (5 * pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * n * n);
}

void ps_sample_estimate(const struct ps_sample_block *b, size_t n, uint64_t population_pages,
                        uint64_t population_blocks, double fraction, struct ps_sample_est *ret)
{
	double sy = 0, sm = 0;
	size_t k = 0;

	*ret = (struct ps_sample_est){ .fraction = fraction, .population_pages = population_pages,
	                               .population_blocks = population_blocks };
	for (size_t i = 0; i < n; i++) {
		if (!b[i].m)
			continue; /* dropped from the sample (its mapping changed) */
		sy += b[i].y;
		sm += b[i].m;
		k++;
	}
	ret->sampled_blocks = k;
	ret->sampled_pages = (uint64_t)sm;
	ret->seen_written = (uint64_t)sy;
	if (k == 0 || population_pages == 0)
		return;
	ret->valid = true;
	double M = (double)population_pages;
	double R = sy / sm;
	ret->written = R * M;
	double half = 0;
	if (k > 1) {
		double ss = 0;
		for (size_t i = 0; i < n; i++) {
			if (!b[i].m)
				continue;
			double d = b[i].y - R * b[i].m;
			ss += d * d;
		}
		double s2 = ss / (double)(k - 1);
		double fpc = population_blocks > k ? 1.0 - (double)k / (double)population_blocks : 0;
		double var_r = fpc * (double)k * s2 / (sm * sm);
		ret->se = M * sqrt(var_r);
		half = ps_t975(k - 1) * ret->se;
	}
	double lo = ret->written - half, hi = ret->written + half;
	if (sy == 0 && sm < M)
		hi = M * fmin(1.0, 3.0 / sm); /* rule of three */
	double floor_ = sy, ceil_ = M - (sm - sy);
	ret->lo = lo < floor_ ? floor_ : lo;
	ret->hi = hi > ceil_ ? ceil_ : hi;
	if (ret->hi < ret->written)
		ret->hi = ret->written;
	if (ret->lo > ret->written)
		ret->lo = ret->written;
}

void ps_sample_wss_bounds(uint64_t seen, uint64_t k, double f, uint64_t tracked_pages, double *lo, double *hi)
{
	double pk = k ? 1.0 - pow(1.0 - f, (double)k) : 1.0;
	*lo = (double)seen / pk;
	*hi = f > 0 ? (double)seen / f : (double)seen;
	if (*hi > (double)tracked_pages)
		*hi = (double)tracked_pages;
	if (*lo > *hi)
		*lo = *hi;
}
