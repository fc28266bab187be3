/* SPDX-License-Identifier: MIT */
/* What a harvested "written" page really is. The kernel's WRITTEN category
 * means "not write-protected": besides pages the program stored to, it also
 * holds the zero page mapped by a read of an unarmed hole, entries zapped by
 * MADV_DONTNEED / MADV_FREE / MADV_REMOVE (none, no marker), unpopulated
 * holes pagescan left unarmed, and pages KSM merged (the merge replaces the
 * PTE without the write-protect bit). The harvest here keeps the kernel's
 * WRITTEN fast path for finding candidates, then classifies only those
 * candidates (docs/kernel-interfaces.md#classifying-the-harvest,
 * docs/memory-events.md). */
#ifndef PAGESCAN_CLASSIFY_H
#define PAGESCAN_CLASSIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "pagescan/model/error.h"
#include "pagescan/model/range.h"
#include "pagescan/model/region.h"
#include "pagescan/kernel/scan.h"

/* Counts of one harvest, in pages. */
struct ps_harvest_class {
	uint64_t written;     /* reported as written (out) */
	uint64_t zero;        /* the zero page (a read of an unpopulated page): never a write */
	uint64_t discarded;   /* newly empty since the last clearing harvest: zapped
	                       * (MADV_DONTNEED/FREE/REMOVE, munmap+mmap not included);
	                       * the kernel cannot tell written-then-zapped from zapped */
	uint64_t ksm;         /* merged by KSM, never stored to (root only) */
	uint64_t thp_filled;  /* written pages of huge pages a fault or khugepaged
	                       * created in unarmed holes: reported whole, the kernel
	                       * does not say which 4 KiB were stored to */
	uint64_t candidates;  /* pages the WRITTEN fast path returned */
	uint64_t get_ns, classify_ns; /* time in the two passes */
};

/* Per-tracker state of the classification. */
struct ps_classify {
	int pagemap_fd;              /* borrowed: the target's /proc/PID/pagemap */
	int procfd;                  /* borrowed: the target's /proc/PID directory */
	uint64_t guard_bit;          /* PAGE_IS_GUARD if the kernel knows it, else 0 */
	int kpageflags_fd;           /* /proc/kpageflags (root; shared by all), -1 if not readable */
	int ksm_stat_fd;             /* the target's ksm_stat, kept open once read (-2: not yet, -1: unreadable) */
	struct ps_rangeset holes;    /* empty entries (unpopulated or zapped) at the last clearing harvest */
	struct ps_rangeset prev_holes; /* the same at the clearing harvest before: a mapping moved
	                              * (mremap) before the last harvest was not seen by it */
	struct ps_rangeset marked;   /* armed with a uffd-wp marker in every entry
	                              * (file-backed and shared memory) */
	struct ps_regions cand, got, cand2; /* scratch */
	struct ps_harvest_class last;
};

void ps_classify_init(struct ps_classify *c, int pagemap_fd, int procfd);
void ps_classify_free(struct ps_classify *c);

/* Does a mapping of this kind need uffd-wp markers in its unpopulated
 * entries? Private anonymous memory does not: a read of a hole maps the
 * zero page (classified as a read), a write creates a page that reads
 * written. File-backed and shared memory does: a read fault there maps a
 * page-cache page that would read written. */
bool ps_classify_needs_markers(bool private_anon);

/* Arm [start,end) of a registered mapping. markers: the full write-protect
 * pass (every entry, holes included: page tables for the whole range);
 * otherwise protect only populated pages (PRESENT or SWAPPED) and remember
 * the empty entries as holes: no page table is allocated. */
int ps_classify_arm(struct ps_classify *c, uint64_t start, uint64_t end, bool markers, struct ps_err *err);

/* The harvest over the armed ranges: the WRITTEN fast path (no
 * write-protect) per armed range finds candidates; one generic pass over
 * just the candidates (plus small gaps) classifies them and, with clear,
 * re-protects exactly the populated ones (never holes: no page tables, no
 * markers). Written pages are appended to out with PS_CAT_WRITTEN; the
 * counts of the harvest go to c->last. */
int ps_classify_harvest(struct ps_classify *c, const struct ps_rangeset *armed, bool clear,
                        struct ps_regions *out, struct ps_scan_stats *stats, struct ps_err *err);

#endif
