/* SPDX-License-Identifier: MIT */
/* A watch session: the domain logic of `watch`, `run` and `demo`, without the
 * kernel. Each tick takes the written pages since the last one and a new
 * snapshot of the mappings from a source (the tracker in pagescan, a fake in
 * the unit tests) and turns them into one interval record: the pages written
 * in the interval (the harvest plus pages already written in mappings engaged
 * just now), the write working set so far, the dirty rate, per-mapping counts,
 * mappings engaged and dropped. At the end it sums the watch up: duration,
 * rate statistics and the hottest mappings.
 *
 * Records (model/watch.h) point into the session and into the source's
 * snapshot: valid until the next call on the session. */
#ifndef PAGESCAN_SESSION_H
#define PAGESCAN_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "pagescan/model/error.h"
#include "pagescan/model/maps.h"
#include "pagescan/model/range.h"
#include "pagescan/model/region.h"
#include "pagescan/model/spans.h"
#include "pagescan/model/watch.h"

/* Where the session's pages come from. Every call may fail with a negative
 * errno and a message in err; -ESRCH means the target's address space is
 * gone (it exited or exec'd). */
struct ps_session_source {
	/* Append the pages written since the last clearing harvest to out
	 * (sorted, byte ranges); clear: write-protect them again. */
	int (*harvest)(void *ctx, bool clear, struct ps_regions *out, struct ps_err *err);
	/* Fill maps with a new snapshot of the target's mappings and bring
	 * tracking in line with it (res: engaged, skipped, dropped; with
	 * count_prewritten, pages already written in newly engaged mappings).
	 * The session owns both afterwards. */
	int (*follow)(void *ctx, bool count_prewritten, struct ps_maps *maps, struct ps_sync_result *res,
	              struct ps_err *err);
	/* The tracked byte ranges (valid until the next harvest or follow). */
	const struct ps_rangeset *(*tracked)(void *ctx);
	/* Monotonic nanoseconds. */
	uint64_t (*now_ns)(void *ctx);
	/* Optional (NULL: all 0): what the last harvest classified besides
	 * writes (zero-page reads, discarded pages, KSM merges, THP fills). */
	void (*harvest_counts)(void *ctx, struct ps_harvest_counts *ret);
	void *ctx;
	/* Optional, with their own context (kernel/softdirty.h): --compare
	 * soft-dirty. soft_dirty_get appends the soft-dirty pages up to the
	 * end of maps' mappings (sorted); soft_dirty_clear clears every
	 * soft-dirty bit of the target. */
	int (*soft_dirty_get)(void *sd_ctx, const struct ps_maps *maps, struct ps_regions *out, struct ps_err *err);
	int (*soft_dirty_clear)(void *sd_ctx, struct ps_err *err);
	void *sd_ctx;
};

struct ps_session_opts {
	pid_t pid;
	const char *command;       /* the target's name, borrowed */
	uint64_t interval_ns;
	bool accumulate;           /* cumulative write set, never re-protected */
	/* --compare soft-dirty (docs/soft-dirty.md): the source has
	 * soft_dirty_get/clear; not with accumulate. */
	bool compare_soft_dirty;
};

struct ps_session;

/* src is copied; opts->command must outlive the session. NULL: no memory. */
struct ps_session *ps_session_new(const struct ps_session_source *src, const struct ps_session_opts *opts);
void ps_session_free(struct ps_session *s);

/* The first snapshot: engage every selected mapping. Returns the number of
 * mappings engaged (0 = nothing could be tracked: see skipped()). */
int ps_session_begin(struct ps_session *s, struct ps_err *err);
size_t ps_session_skipped(const struct ps_session *s);

/* The start record (after begin). */
void ps_session_start(const struct ps_session *s, struct ps_watch_start *ret);
/* Time zero of the watch: intervals are measured from here. */
void ps_session_clock_start(struct ps_session *s);

/* Harvest, follow the mappings, and fill one interval record. */
int ps_session_tick(struct ps_session *s, struct ps_interval *ret, struct ps_err *err);
uint64_t ps_session_intervals(const struct ps_session *s);

/* The end record. exit_status < 0: none (watch); else the exit status of a
 * command run (0..255, 128+N for signal N). */
void ps_session_end(struct ps_session *s, enum ps_end_reason reason, const char *detail, int exit_status,
                    struct ps_watch_end *ret);

/* run: the target exec'd (the same pid, a new address space). The old
 * source is gone with the old image, src replaces it and its first snapshot
 * is taken (every selected mapping engaged, as begin does). The write
 * working set goes on as the sum over the images (different address spaces
 * share no page); intervals keep counting; the next interval record names
 * the new program (command borrowed, must outlive the session). Returns the
 * number of mappings engaged, or a negative errno. */
int ps_session_exec(struct ps_session *s, const struct ps_session_source *src, pid_t pid, const char *command,
                    struct ps_err *err);

#endif
