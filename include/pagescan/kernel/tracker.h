/* SPDX-License-Identifier: MIT */
/* Write tracking with a userfaultfd that lives in the target's mm:
 * UFFDIO_API with WP_ASYNC, registration of the selected mappings, the arming
 * write-protect pass, and the harvest. */
#ifndef PAGESCAN_TRACKER_H
#define PAGESCAN_TRACKER_H

#include <stdbool.h>
#include <stdint.h>

#include "pagescan/model/error.h"
#include "pagescan/model/maps.h"
#include "pagescan/model/range.h"
#include "pagescan/model/region.h"
#include "pagescan/kernel/scan.h"
#include "pagescan/kernel/target.h"
#include "pagescan/model/spans.h"

/* One userfaultfd's tracking of a target (opaque). */
struct ps_tracker;

/* Which userfaultfd features this kernel offers, probed on a local
 * userfaultfd (ENOSYS, EPERM mapped to messages). */
int ps_uffd_probe(uint64_t *ret_features, struct ps_err *err);

/* A tracker on the target's userfaultfd uffd (UFFDIO_API with WP_ASYNC):
 * uffd is taken over on success (closed by ps_tracker_free), left to the
 * caller on failure. specs (borrowed, must outlive the tracker) select what
 * to track; none = every writable mapping. t is borrowed too. */
struct ps_tracker *ps_tracker_new(const struct ps_target *t, int uffd, const struct ps_rangespec *specs,
                                  size_t nspecs, struct ps_err *err);
/* Close the userfaultfd (when pagescan holds the last copy, the kernel then
 * un-protects whatever is still registered) and free. NULL is fine. */
void ps_tracker_free(struct ps_tracker *tr);
/* The registered and write-protected byte ranges. */
const struct ps_rangeset *ps_tracker_armed(const struct ps_tracker *tr);
/* Read-only mappings left out at the last sync. */
uint64_t ps_tracker_readonly_vmas(const struct ps_tracker *tr);
/* End tracking without stalling the target: unregister the armed ranges a
 * little at a time (see ps_uffd_unregister_gently), then give back the huge
 * pages tracking split (see ps_huge_stats; unless turned off). Only when this
 * userfaultfd's tracking ends (not after engage, whose copy lives on in the
 * target); ps_tracker_free still closes it. */
void ps_tracker_disarm(struct ps_tracker *tr);
/* UFFDIO_UNREGISTER [start, end) in pieces of about 1 ms of CPU time (2 MiB
 * first, then sized by the last piece's cost per byte, at most doubling, on
 * 2 MiB boundaries), the lock left free between them (ps_lock_breathe()),
 * errors ignored. */
void ps_uffd_unregister_gently(int uffd, uint64_t start, uint64_t end);
/* The same for a userfaultfd left in the target by engage (its fd remote_fd,
 * checked to still be inode expect_ino unless 0), over all its mappings,
 * before it is closed there: the injected close() then has nothing left to
 * un-protect, and the target is stopped only for the close itself. 0 or
 * -errno (nothing was changed then). */
int ps_remote_unregister_gently(const struct ps_target *t, int remote_fd, uint64_t expect_ino);


/* Bring registrations in line with the maps snapshot: forget vanished
 * mappings and armed ranges whose registration is gone (a new mapping in
 * their place), register and arm new ones (all selected writable mappings
 * the first time). count_prewritten: report present anonymous non-zero
 * pages of newly engaged mappings as already written (they were written
 * after the mapping appeared and before this call), except the pages of a
 * mapping found moved by mremap, which the session's harvest counts report
 * as remapped_pages (docs/memory-events.md#mremap). Fails (ESRCH) only when
 * the target's mm is gone; refusals of single mappings are listed in
 * skipped. */
int ps_tracker_sync(struct ps_tracker *tr, const struct ps_maps *maps, bool count_prewritten,
                    struct ps_sync_result *res, struct ps_err *err);

/* Written pages since arming or the last clearing harvest. clear: atomically
 * re-protect them (one get-and-clear). Regions are appended to out. */
int ps_tracker_harvest(struct ps_tracker *tr, bool clear, struct ps_regions *out,
                       struct ps_scan_stats *stats, struct ps_err *err);
/* What the last harvest found besides written pages: zero-page reads,
 * discarded (zapped) pages, KSM merges (kernel/classify.h). */
struct ps_harvest_class;
const struct ps_harvest_class *ps_tracker_last_class(const struct ps_tracker *tr);

/* --sample FRACTION (kernel/sample.h): from the next sync on, protect and
 * harvest a rotating random subset of blocks of the armed ranges instead of
 * all of them (fraction 0: exact, the default). Before the session begins.
 * 0 or -ENOMEM. */
struct ps_sampler;
int ps_tracker_set_sample(struct ps_tracker *tr, double fraction, uint64_t seed);
/* NULL unless sampling. */
const struct ps_sampler *ps_tracker_sampler(const struct ps_tracker *tr);

/* The tracker as the source of a watch session (model/session.h): harvest,
 * and follow = read a maps snapshot + ps_tracker_sync. */
struct ps_session_source;
void ps_tracker_source(struct ps_tracker *tr, struct ps_session_source *ret);

/* ---- footprint on the target's address space (docs/kernel-interfaces.md#merging) ----
 *
 * The heap grows by brk while tracked: its last page stays unregistered (a
 * "tail"), so that the kernel extends that unregistered piece in place; it
 * shares the registered part's anon_vma, and registering all but the new
 * last page at the next sync merges the growth into the registered part.
 * The tail page is followed by its bytes instead of write-protection
 * (at most 256 tails a process, all read with one process_vm_readv a sync);
 * past that, growth is engaged less and less often (1, 3, 7, 15... syncs
 * after it began) and followed by its pages meanwhile.
 * Near vm.max_map_count nothing new is engaged. */
struct ps_footprint {
	uint64_t map_count;          /* the target's mappings at the last sync */
	uint64_t map_count_first;    /* at the first sync */
	uint64_t map_count_max;      /* the most seen at a sync */
	uint64_t max_map_count;      /* vm.max_map_count (0: unknown) */
	uint64_t hold_at;            /* nothing new is engaged from this many mappings on */
	uint64_t tails;              /* open tails now */
	uint64_t held_syncs;         /* syncs that engaged nothing new because of the limit */
	bool held;                   /* the last sync was held */
};
void ps_tracker_footprint(const struct ps_tracker *tr, struct ps_footprint *ret);
/* Move the notes the tracker made since the last call (the map-count
 * limit reached and left) to out. */
void ps_tracker_take_notes(struct ps_tracker *tr, struct ps_notes *out);

/* ---- transparent huge pages ----
 * A write to a write-protected PMD-mapped THP splits the PMD (async
 * write-protect resolves faults per page); the kernel does not put it back
 * while the range is registered. The tracker notes which 2 MiB ranges were
 * PMD-mapped when armed, which of those were split since (at a sync,
 * those the harvests found written, or all after arming and while
 * sampling; all before disarm), and at disarm asks the kernel to collapse
 * them
 * again (process_madvise MADV_COLLAPSE, in pagescan's context and time). */
struct ps_huge_stats {
	uint64_t huge_armed;         /* PMD-mapped 2 MiB pages in ranges when they were armed */
	uint64_t split;              /* of those, split since */
	uint64_t recollapse_asked;   /* split ones still mapped at disarm, given to MADV_COLLAPSE */
	uint64_t recollapsed;        /* of those, PMD-mapped again afterwards */
	int recollapse_errno;        /* first MADV_COLLAPSE failure (0: none) */
	uint64_t recollapse_wall_ns; /* wall time of the MADV_COLLAPSE calls */
	uint64_t recollapse_cpu_ns;  /* pagescan's CPU time in them (the collapse runs in its context) */
	bool recollapse_off;         /* --no-recollapse */
};
/* on = false: leave split huge pages as they are at disarm. Default on. */
void ps_tracker_set_recollapse(struct ps_tracker *tr, bool on);
const struct ps_huge_stats *ps_tracker_huge(const struct ps_tracker *tr);

/* Is any page of the target's mappings already write-protect tracked (by anyone)? */
int ps_tracked_anywhere(int pagemap_fd, const struct ps_maps *maps, bool *ret, struct ps_err *err);

/* End of user space in a snapshot: the end of the last mapping below
 * [vsyscall] (which is no VMA and makes PAGEMAP_SCAN fail with EFAULT). */
uint64_t ps_maps_user_end(const struct ps_maps *m);

/* Other processes (not exclude) holding the userfaultfd with inode ino: a
 * child forked while engaged inherits engage's. Fills up to max pids and
 * their fd numbers; returns the count found. */
int ps_find_uffd_holders(uint64_t ino, pid_t exclude, pid_t *pids, int *fds, int max);

/* Find pagescan's userfaultfds (WP_ASYNC and THREAD_ID negotiated, the
 * latter as pagescan's mark) in the target's fd table, or with any = true
 * every userfaultfd (also one whose setup was cut short). Fills up to max
 * fd numbers and inode numbers; returns the count. */
int ps_find_engaged(const struct ps_target *t, int *fds, uint64_t *inos, int max, bool any,
                    struct ps_err *err);

#endif
