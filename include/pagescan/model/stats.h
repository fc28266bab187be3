/* SPDX-License-Identifier: MIT */
/* Statistics over per-interval samples (pure). */
#ifndef PAGESCAN_STATS_H
#define PAGESCAN_STATS_H

#include <stddef.h>

struct ps_samples {
	double *v;
	size_t n, cap;
};

int ps_samples_add(struct ps_samples *s, double x);
void ps_samples_free(struct ps_samples *s);

struct ps_summary {
	size_t n;
	double mean, stddev, min, max, p50, p95, p99;
};

/* Percentiles by linear interpolation between closest ranks (R-7 / numpy
 * default); all zero when n == 0; stddev is the population deviation. */
void ps_summarize(const struct ps_samples *s, struct ps_summary *ret);

#endif
