/* SPDX-License-Identifier: MIT */
/* The records of a watch (start, one per interval, end), as the session
 * produces them and the sinks (render/sink.h) consume them. Everything is
 * borrowed: valid only during the call it is passed to; a sink copies what
 * it keeps. */
#ifndef PAGESCAN_WATCH_H
#define PAGESCAN_WATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "pagescan/model/maps.h"
#include "pagescan/model/overhead.h"
#include "pagescan/model/spans.h"
#include "pagescan/model/range.h"
#include "pagescan/model/region.h"
#include "pagescan/model/sample.h"
#include "pagescan/model/stats.h"
#include "pagescan/model/softdirty.h"

/* What one harvest found besides writes (kernel/classify.h), in pages. Only
 * thp_filled is part of written_pages; the others are not writes. */
struct ps_harvest_counts {
	uint64_t discarded_pages;  /* newly empty: zapped (MADV_DONTNEED/FREE/REMOVE) */
	uint64_t zero_read_pages;  /* the zero page, mapped by a read of a hole */
	uint64_t ksm_merged_pages; /* merged by KSM, never stored to (root only) */
	uint64_t thp_filled_pages; /* written, in huge pages a fault allocated whole into
	                            * a hole: reported whole (which 4 KiB were stored to
	                            * is unknown) */
	uint64_t remapped_pages;   /* present in a mapping the program moved (mremap) since
	                            * the last tick: whether written in this interval is
	                            * unknown, not counted as written */
};

struct ps_watch_start {
	pid_t pid;
	const char *command;       /* comm */
	uint64_t interval_ns;
	bool accumulate;
	uint64_t tracked_pages;
	const struct ps_span *engaged; size_t nengaged;
	const struct ps_span *skipped; size_t nskipped;
	const struct ps_maps *maps;
	const struct ps_rangeset *tracked; /* armed byte ranges */
	/* The observer effect (model/overhead.h): the cost of one write-protect
	 * fault used by the estimate, and the budget (0 = --max-overhead off). */
	double wp_fault_ns;
	bool wp_fault_calibrated;
	double max_overhead;
	/* --sample (model/sample.h): the share of pages sampled each interval
	 * (0: exact, the default), the generator's seed. */
	double sample_fraction;
	uint64_t sample_seed;
	/* --compare soft-dirty (docs/soft-dirty.md): the intervals and the
	 * end carry a soft-dirty comparison. */
	bool soft_dirty;
	/* A workload (watch PID PID..., --tree, --cgroup; model/workload.h):
	 * workload names how its processes are chosen ("pids", "tree" or
	 * "cgroup"; NULL: one process, the record as before), cgroup the
	 * directory. pid and command are the first process's; tracked_pages
	 * the sum; engaged and skipped are in each process's start event. */
	const char *workload;
	const char *cgroup;
	uint64_t max_processes;
	uint64_t nprocesses;       /* tracked at the start */
};

/* A process of a workload in one interval. */
struct ps_process_interval {
	pid_t pid;
	const char *command;
	uint64_t written_pages;        /* in this interval, as this process wrote them
	                                * (the pages of shared mappings included) */
	uint64_t shared_written_pages; /* of those, pages of shared mappings */
	uint64_t wss_pages;            /* its distinct pages since it joined (by address) */
	const struct ps_interval *iv;  /* its own record: regions, mappings, engaged, dropped */
};

/* A process joining or leaving a workload, or one left out. */
enum ps_process_event_kind { PS_PROCESS_START, PS_PROCESS_EXIT, PS_PROCESS_SKIPPED };
struct ps_process_event {
	enum ps_process_event_kind kind;
	pid_t pid;
	const char *command;
	const char *reason;        /* exit: "exit", "exec", "left the cgroup", ...;
	                            * skipped: why it is not tracked */
	double time_s;             /* since the start of the watch */
	/* start: its first snapshot */
	uint64_t tracked_pages;
	const struct ps_span *engaged; size_t nengaged;
	const struct ps_span *skipped; size_t nskipped;
	/* exit: what was harvested up to its last tick */
	uint64_t intervals;
	uint64_t wss_pages;
};

/* Per-mapping written pages in one interval (or over the watch). */
struct ps_mapping_count {
	uint64_t start, end;       /* the mapping */
	const char *mapping;
	/* An interval: pages written in it (cumulative with accumulate). The
	 * hottest list: summed over the intervals, a page written in three
	 * intervals counting three times (accumulate: distinct pages). */
	uint64_t written_pages;
	/* The hottest list only (0 elsewhere): distinct pages written over the
	 * watch, and page-writes (sum over intervals; 0 with accumulate, where
	 * re-writes are not seen). More measures go here. */
	uint64_t distinct_pages;
	uint64_t page_writes;
};

struct ps_interval {
	uint64_t seq;              /* from 1 */
	double time_s;             /* since the start, at the end of this interval */
	double elapsed_s;          /* true length of this interval */
	uint64_t written_pages;    /* this interval (cumulative with accumulate) */
	double rate_pages_s;       /* written in this interval / elapsed (accumulate: new pages / elapsed) */
	uint64_t harvest_us;       /* cost of the harvest ioctl loop */
	uint64_t tracked_pages;
	uint64_t wss_pages;        /* distinct pages written since the start */
	const struct ps_maps *maps;          /* snapshot the regions are named against */
	const struct ps_rangeset *tracked;   /* armed byte ranges */
	const struct ps_regions *written;    /* written regions (bytes), sorted, merged */
	const struct ps_mapping_count *per_mapping; size_t nper_mapping; /* by address, written > 0 only */
	/* What this interval's harvest classified (with accumulate: against the
	 * state at the start, like written_pages; all 0 from a source that does
	 * not classify). */
	struct ps_harvest_counts counts;
	const struct ps_span *engaged; size_t nengaged;   /* new this tick */
	const struct ps_span *dropped; size_t ndropped;   /* vanished this tick */
	/* New mappings found read-only that already held written pages (the
	 * loader's relocations, written before RELRO's mprotect): those pages
	 * are in written; the mappings are not tracked. */
	const struct ps_span *readonly_written; size_t nreadonly_written;
	/* The observer effect, filled by the loop (model/overhead.h): the
	 * estimate, and the interval asked (-i, or longer when the budget
	 * stretched it: stretched; elapsed_s stays the true length). */
	struct ps_overhead overhead;
	double interval_s;
	bool stretched;
	/* --sample (model/sample.h), filled by the loop: with sample.estimated,
	 * written_pages, rate_pages_s and wss_pages are estimates (the regions
	 * and per-mapping counts are the pages seen, in the sample). */
	struct ps_sample_iv sample;
	/* run: the command exec'd during this interval (non-NULL: the last
	 * program it now runs, exec_pid its pid, execs how many execs). Tracking
	 * was engaged in the new image before its first instruction; what the old
	 * image wrote since the previous tick is lost with its address space. */
	const char *exec_command;
	pid_t exec_pid;
	uint64_t execs;
	/* The new image's first snapshot (as in the start record): tracked_pages
	 * and engaged/dropped of this record follow on from these. */
	const struct ps_span *exec_engaged; size_t nexec_engaged;
	const struct ps_span *exec_skipped; size_t nexec_skipped;
	/* A workload (nprocesses > 0; NULL for one process): the fields above
	 * are the workload's (written_pages and wss_pages with the pages of
	 * shared mappings once; maps, tracked, written, per_mapping, engaged,
	 * dropped, readonly_written empty: they are each process's, in
	 * processes[].iv), with these beside them. */
	const struct ps_process_interval *processes; size_t nprocesses;
	uint64_t shared_written_pages;  /* distinct pages of shared mappings written */
	uint64_t shared_wss_pages;      /* of wss_pages, pages of shared mappings */
	/* --compare soft-dirty: soft-dirty's pages beside the written ones,
	 * per mapping (NULL without it). */
	const struct ps_sd_report *soft_dirty;
};

enum ps_end_reason { PS_END_COUNT, PS_END_DURATION, PS_END_SIGNAL, PS_END_TARGET_EXIT,
                     PS_END_TARGET_EXEC, PS_END_QUIT, PS_END_ERROR };
const char *ps_end_reason_name(enum ps_end_reason r); /* "count", ..., "quit", "error" */

struct ps_watch_end {
	enum ps_end_reason reason;
	const char *detail;        /* e.g. the error message, or NULL */
	uint64_t intervals;
	double duration_s;
	uint64_t wss_pages;
	/* Summed over the intervals (with accumulate: the last interval's). */
	struct ps_harvest_counts counts;
	struct ps_summary rate;    /* of rate_pages_s over intervals */
	/* <= 5, by distinct pages written over the watch (then page-writes) */
	const struct ps_mapping_count *hottest; size_t nhottest;
	bool accumulate;           /* page-writes unknown (hottest[].page_writes 0) */
	bool has_exit_status;
	int exit_status;           /* run: 0..255, 128+N for signal N */
	struct ps_overhead_summary overhead; /* the loop's sums of the intervals' estimates */
	/* --sample: wss_pages and rate are estimates (sample.estimated), with
	 * the bounds of the write working set (sample.wss_lo, wss_hi). */
	struct ps_sample_iv sample;
	/* A workload: processes tracked over the watch, those left out (over
	 * --max-processes, or that could not be tracked), shared pages of
	 * wss_pages. */
	bool workload;
	uint64_t processes, untracked_processes, shared_wss_pages;
	/* --compare soft-dirty: the sums over the intervals and the mappings
	 * with the most false positives (NULL without it). */
	const struct ps_sd_report *soft_dirty;
};

#endif
