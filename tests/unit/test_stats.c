/* SPDX-License-Identifier: MIT */
/* Statistics: summaries against hand-computed values (numpy's defaults). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

/* The source itself, so that the no-allocation fallback (static) can be
 * checked against the sorting path; the library's copy is then not linked. */
#include "../../src/model/stats.c" // NOLINT(bugprone-suspicious-include): white-box test of the static fallback
#include "tap.h"

#define EPS 1e-9

static void fill(struct ps_samples *s, const double *v, size_t n)
{
	s->n = 0;
	for (size_t i = 0; i < n; i++)
		if (ps_samples_add(s, v[i]) != 0)
			ok(0, "add %zu", i);
}

static void summary_is(const double *v, size_t n, double mean, double sd, double mn, double mx,
		       double p50, double p95, double p99, const char *what)
{
	struct ps_samples s = { 0 };
	struct ps_summary r;

	fill(&s, v, n);
	ps_summarize(&s, &r);
	is_u64(r.n, n, "%s: n", what);
	is_dbl(r.mean, mean, EPS, "%s: mean", what);
	is_dbl(r.stddev, sd, EPS, "%s: population stddev", what);
	is_dbl(r.min, mn, EPS, "%s: min", what);
	is_dbl(r.max, mx, EPS, "%s: max", what);
	is_dbl(r.p50, p50, EPS, "%s: p50", what);
	is_dbl(r.p95, p95, EPS, "%s: p95", what);
	is_dbl(r.p99, p99, EPS, "%s: p99", what);
	ps_samples_free(&s);
}

static void test_hand_computed(void)
{
	struct ps_samples s = { 0 };
	struct ps_summary r;

	ps_summarize(&s, &r);
	ok(r.n == 0 && r.mean == 0 && r.stddev == 0 && r.min == 0 && r.max == 0 &&
	   r.p50 == 0 && r.p95 == 0 && r.p99 == 0, "n=0: all zero");

	summary_is((double[]){ 5 }, 1, 5, 0, 5, 5, 5, 5, 5, "n=1");
	/* [1,3]: h = p -> 1 + 2p */
	summary_is((double[]){ 3, 1 }, 2, 2, 1, 1, 3, 2, 2.9, 2.98, "n=2");
	/* [1,2,3,4]: h = 3p: 1.5, 2.85, 2.97; var = (2.25+.25+.25+2.25)/4 */
	summary_is((double[]){ 4, 1, 3, 2 }, 4, 2.5, sqrt(1.25), 1, 4, 2.5, 3.85, 3.97, "n=4");
	/* [10..50]: h = 4p: 2, 3.8, 3.96; var = 1000/5 */
	summary_is((double[]){ 40, 10, 50, 30, 20 }, 5, 30, sqrt(200), 10, 50, 30, 48, 49.6, "n=5");
	/* duplicates: [1,7,7,7] */
	summary_is((double[]){ 7, 7, 7, 1 }, 4, 5.5, sqrt((20.25 + 3 * 2.25) / 4), 1, 7, 7, 7, 7, "duplicates");
	/* negatives: [-3,-2,-1]: h = 2p: 1, 1.9, 1.98 */
	summary_is((double[]){ -1, -3, -2 }, 3, -2, sqrt(2.0 / 3), -3, -1, -2, -1.1, -1.02, "negatives");

	/* 0..100: the percentiles land exactly on ranks */
	for (int i = 100; i >= 0; i--)
		ps_samples_add(&s, i);
	ps_summarize(&s, &r);
	is_dbl(r.p50, 50, EPS, "0..100: p50");
	is_dbl(r.p95, 95, EPS, "0..100: p95");
	is_dbl(r.p99, 99, EPS, "0..100: p99");
	is_dbl(r.mean, 50, EPS, "0..100: mean");
	is_dbl(r.stddev, sqrt(850), EPS, "0..100: stddev (population: (101^2-1)/12)");
	ok(s.v[0] == 100 && s.v[100] == 0, "summarize leaves the samples in insertion order");
	ps_samples_free(&s);
	ok(s.v == NULL && s.n == 0 && s.cap == 0, "free resets");
	ps_samples_free(NULL);

	/* a large offset: a one-pass sum of squares would lose the spread */
	summary_is((double[]){ 1e9 + 1, 1e9 + 2, 1e9 + 3 }, 3, 1e9 + 2, sqrt(2.0 / 3), 1e9 + 1, 1e9 + 3,
		   1e9 + 2, 1e9 + 2.9, 1e9 + 2.98, "large offset");

	is_int(ps_samples_add(&s, NAN), -EINVAL, "NaN refused");
	is_int(ps_samples_add(&s, INFINITY), -EINVAL, "inf refused");
	is_u64(s.n, 0, "nothing added");
	ps_samples_free(&s);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* The allocation-free selection must give the same percentiles. */
static void test_select_fallback(void)
{
	static const double ps[] = { 0, 0.01, 0.25, 0.5, 0.95, 0.99, 1 };
	double v[257], sorted[257];
	int bad = 0;

	for (int t = 0; t < 300; t++) {
		size_t n = 1 + rnd() % 257;

		for (size_t i = 0; i < n; i++) {
			switch (rnd() % 4) {
			case 0: v[i] = (double)(rnd() % 10); break;            /* many ties */
			case 1: v[i] = -(double)(rnd() % 1000) / 7; break;     /* negatives */
			case 2: v[i] = (rnd() & 1) ? 0.0 : -0.0; break;
			default: v[i] = (double)rnd() / 3.0; break;
			}
		}
		memcpy(sorted, v, n * sizeof(*v));
		qsort(sorted, n, sizeof(*v), cmp_double);
		for (size_t k = 0; k < sizeof(ps) / sizeof(ps[0]); k++) {
			double a = pct_sorted(sorted, n, ps[k]), b = pct_select(v, n, ps[k]);

			if (!(a == b || fabs(a - b) <= 1e-12 * fabs(a))) {
				if (!bad++)
					printf("# n=%zu p=%g sorted %.17g select %.17g\n", n, ps[k], a, b);
			}
		}
	}
	is_int(bad, 0, "selection without allocation equals sort-and-interpolate (300 random sets)");
	is_dbl(select_kth((double[]){ 3, -1, 2 }, 3, 0), -1, 0, "select_kth smallest");
	is_dbl(select_kth((double[]){ 3, -1, 2 }, 3, 2), 3, 0, "select_kth largest");
	is_dbl(select_kth((double[]){ -1e300, 1e300 }, 2, 1), 1e300, 0, "select_kth extremes");
}

int main(void)
{
	test_hand_computed();
	test_select_fallback();
	return tap_done();
}
