/* SPDX-License-Identifier: MIT */
/* Summary statistics over per-interval samples. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/stats.h"
#include "pagescan/model/util.h"

/* A day of 1 ms intervals fits many times over; beyond this is a bug. */
#define SAMPLES_MAX ((size_t)1 << 27)

int ps_samples_add(struct ps_samples *s, double x)
{
	int r;

	if (!isfinite(x))
		return -EINVAL;
	if (s->n >= SAMPLES_MAX)
		return -E2BIG;
	r = ps_grow((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v));
	if (r < 0)
		return r;
	s->v[s->n++] = x;
	return 0;
}

void ps_samples_free(struct ps_samples *s)
{
	if (!s)
		return;
	free(s->v);
	s->v = NULL;
	s->n = 0;
	s->cap = 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Map a double to an unsigned key with the same order (finite values). */
static uint64_t dkey(double x)
{
	uint64_t u;

	memcpy(&u, &x, sizeof(u));
	return (u & (1ull << 63)) ? ~u : u | (1ull << 63);
}

static double dval(uint64_t k)
{
	uint64_t u = (k & (1ull << 63)) ? k & ~(1ull << 63) : ~k;
	double x;

	memcpy(&x, &u, sizeof(x));
	return x;
}

/*
 * The k-th smallest (0-based) of v without modifying or copying it: bisect
 * on the order-preserving bit key, 64 counting passes. Used only when no
 * scratch copy could be allocated.
 */
static double select_kth(const double *v, size_t n, size_t k)
{
	uint64_t lo = 0, hi = UINT64_MAX;

	/* smallest key K with count(key <= K) > k */
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		size_t c = 0;

		for (size_t i = 0; i < n; i++)
			c += dkey(v[i]) <= mid;
		if (c > k)
			hi = mid;
		else
			lo = mid + 1;
	}
	return dval(lo);
}

/* h = (n-1)p, interpolate between the floor(h)-th and the next. */
static double pct_sorted(const double *x, size_t n, double p)
{
	double h = (double)(n - 1) * p;
	size_t lo = (size_t)h;
	double f = h - (double)lo;

	if (lo + 1 >= n)
		return x[n - 1];
	return x[lo] + f * (x[lo + 1] - x[lo]);
}

static double pct_select(const double *v, size_t n, double p)
{
	double h = (double)(n - 1) * p;
	size_t lo = (size_t)h;
	double f = h - (double)lo, a;

	a = select_kth(v, n, lo);
	if (lo + 1 >= n || f == 0)
		return a;
	return a + f * (select_kth(v, n, lo + 1) - a);
}

void ps_summarize(const struct ps_samples *s, struct ps_summary *ret)
{
	size_t n = s->n;
	double sum = 0, ss = 0, mn, mx;
	double *sorted;

	memset(ret, 0, sizeof(*ret));
	if (n == 0)
		return;
	mn = mx = s->v[0];
	for (size_t i = 0; i < n; i++) {
		sum += s->v[i];
		if (s->v[i] < mn)
			mn = s->v[i];
		if (s->v[i] > mx)
			mx = s->v[i];
	}
	ret->n = n;
	ret->mean = sum / (double)n;
	/* two passes: no cancellation from sum-of-squares */
	for (size_t i = 0; i < n; i++) {
		double d = s->v[i] - ret->mean;

		ss += d * d;
	}
	ret->stddev = sqrt(ss / (double)n);
	ret->min = mn;
	ret->max = mx;

	sorted = reallocarray(NULL, n, sizeof(*sorted));
	if (sorted) {
		memcpy(sorted, s->v, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), cmp_double);
		ret->p50 = pct_sorted(sorted, n, 0.50);
		ret->p95 = pct_sorted(sorted, n, 0.95);
		ret->p99 = pct_sorted(sorted, n, 0.99);
		free(sorted);
	} else {
		ret->p50 = pct_select(s->v, n, 0.50);
		ret->p95 = pct_select(s->v, n, 0.95);
		ret->p99 = pct_select(s->v, n, 0.99);
	}
}
