/* SPDX-License-Identifier: MIT */
/* The analysis of a recording (pure; no I/O, no printing): the questions of
 * the people who size live migration and checkpoints: dirty-rate
 * statistics, the write working set against window length, per-mapping
 * write statistics and an iterative pre-copy simulation. The renderings
 * (text, JSON, SVG) are in pagescan/render/report_fmt.h.
 *
 * Problems that do not stop the analysis are collected as warnings; fatal
 * ones (memory) return -errno with err filled. */
#ifndef PAGESCAN_REPORT_H
#define PAGESCAN_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pagescan/model/error.h"
#include "pagescan/model/recording.h"
#include "pagescan/model/stats.h"
#include "pagescan/model/warnings.h"

#define PS_PRECOPY_DEFAULT_ROUNDS 30

struct ps_report_opts {
	uint64_t bandwidth;      /* bytes/s; 0 = no pre-copy simulation */
	uint64_t downtime_ns;    /* acceptable final downtime */
	uint64_t max_rounds;     /* live rounds, round 0 included; 0 = default */
};

/* Write working set over windows of len consecutive intervals. */
struct ps_report_window {
	uint64_t len;            /* intervals */
	double seconds;          /* len x the recording's nominal interval */
	double mean_pages;       /* mean over all windows of distinct pages written */
	uint64_t max_pages;
	uint64_t max_seq;        /* seq of the first interval of a largest window */
};

/* One tracked mapping: engaged ranges with the same name that touch or
 * overlap are one mapping (a heap growing in steps stays one). */
struct ps_report_mapping {
	uint64_t start, end;     /* pages */
	const char *mapping;     /* borrowed from the recording */
	uint64_t tracked_pages;  /* pages of the range that were tracked at some point */
	uint64_t written_pages;  /* distinct pages written */
	uint64_t page_writes;    /* sum over intervals of its pages written */
	uint64_t once_pages;     /* pages written in exactly one interval */
	bool dropped;            /* (partly) unmapped during the watch */
	bool readonly_written;   /* found read-only, holding pages written before (RELRO): never tracked */
};

struct ps_precopy_round {
	double start_s, duration_s;
	uint64_t pages;
};

enum ps_precopy_outcome {
	PS_PRECOPY_CONVERGED,       /* the pending set fits the downtime budget */
	PS_PRECOPY_MAX_ROUNDS,      /* still too big after max_rounds rounds */
	PS_PRECOPY_OUT_OF_DATA,     /* a round runs past the end of the recording */
};

struct ps_precopy {
	bool done;               /* simulated (bandwidth given) */
	uint64_t bandwidth;      /* bytes/s */
	double downtime_s;       /* budget */
	uint64_t max_rounds;
	struct ps_precopy_round *rounds; size_t nrounds;  /* live rounds */
	enum ps_precopy_outcome outcome;
	uint64_t pending_pages;  /* dirty when the live rounds stop: the stop-and-copy */
	double downtime_est_s;   /* pending / bandwidth */
	uint64_t total_bytes;    /* live rounds + stop-and-copy */
	double data_end_s;       /* OUT_OF_DATA: the recording's end ... */
	double needed_until_s;   /* ... and when the last round would have ended */
	bool short_rounds;       /* some round was shorter than an interval */
	double needed_bandwidth; /* not converged: smallest bandwidth found at which
	                          * the simulation converges within the recording and
	                          * max_rounds (bytes/s), 0 = none found */
};

/* --compare soft-dirty (docs/soft-dirty.md): the recorded comparison of
 * one mapping (by start and name), summed over the intervals. */
struct ps_report_sd_mapping {
	uint64_t start;          /* page */
	const char *mapping;     /* borrowed from the recording */
	struct ps_sd_counts c;
};

struct ps_report_sd {
	bool present;            /* recorded with --compare soft-dirty */
	uint64_t intervals;      /* intervals with a comparison */
	struct ps_sd_counts c;   /* summed over them */
	/* false_pages / soft_dirty_pages of each interval with soft-dirty pages */
	struct ps_summary false_share;
	/* by false positives, then soft-dirty pages, then address */
	struct ps_report_sd_mapping *map; size_t nmap;
};

/* false_pages / soft_dirty_pages (0 without soft-dirty pages). */
double ps_report_sd_false_share(const struct ps_sd_counts *c);

struct ps_report_pair;
struct ps_report;

/* A process of a workload recording and its own analysis. */
struct ps_report_process {
	const struct ps_rec_process *proc;  /* borrowed from the recording */
	struct ps_report *rep;              /* its intervals (no pre-copy); NULL: in none */
};

struct ps_report {
	double duration_s;
	uint64_t intervals;
	uint64_t first_seq, last_seq;
	uint64_t tracked_pages;      /* at the start */
	uint64_t tracked_pages_max;
	uint64_t unique_pages;       /* union of all interval sets */
	uint64_t page_writes;        /* sum of the interval set sizes */
	uint64_t once_pages;         /* pages written in exactly one interval */
	struct ps_summary rate;      /* pages/s over intervals */
	struct ps_report_window *win; size_t nwin;
	struct ps_report_mapping *map; size_t nmap;  /* by address */
	struct ps_precopy precopy;
	struct ps_report_sd sd;      /* --compare soft-dirty; present false without it */
	/* A workload (format_version 2): the figures above are the workload's
	 * (shared pages once); its processes, busiest first (most distinct
	 * pages written, then page-writes, then pid). */
	uint64_t shared_unique_pages;  /* of unique_pages, pages of shared mappings */
	struct ps_report_process *procs; size_t nprocs;
	/* Private: first-write-in-window index, see src/model/report.c. */
	struct ps_report_pair *pair; size_t npair;
	size_t *pair_at;             /* pairs of interval i: pair[pair_at[i] .. pair_at[i+1]) */
	double *iv_start, *iv_end;   /* interval bounds in seconds */
};

int ps_report_analyse(const struct ps_recording *rec, const struct ps_report_opts *o,
                      struct ps_report **ret, struct ps_warnings *w, struct ps_err *err);
void ps_report_free(struct ps_report *r);

/* Distinct pages written in intervals first..last (0-based indexes into
 * rec->iv, inclusive), exactly. */
uint64_t ps_report_distinct(const struct ps_report *r, size_t first, size_t last);

/* Pages dirtied during [start_s, start_s + len_s): the union of the sets of
 * all intervals overlapping that span (an interval partly inside counts
 * whole). Returns false when the span runs past the recording's end. */
bool ps_report_dirtied(const struct ps_report *r, double start_s, double len_s, uint64_t *ret_pages);

#endif
