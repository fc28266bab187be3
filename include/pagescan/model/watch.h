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
#include "pagescan/model/spans.h"
#include "pagescan/model/range.h"
#include "pagescan/model/region.h"
#include "pagescan/model/stats.h"

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
};

/* Per-mapping written pages in one interval (or over the watch). */
struct ps_mapping_count {
	uint64_t start, end;       /* the mapping */
	const char *mapping;
	uint64_t written_pages;
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
	const struct ps_span *engaged; size_t nengaged;   /* new this tick */
	const struct ps_span *dropped; size_t ndropped;   /* vanished this tick */
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
	struct ps_summary rate;    /* of rate_pages_s over intervals */
	const struct ps_mapping_count *hottest; size_t nhottest; /* <= 5, by written pages over the watch */
	bool has_exit_status;
	int exit_status;           /* run: 0..255, 128+N for signal N */
};

#endif
