/* SPDX-License-Identifier: MIT */
/* The PAGEMAP_SCAN loop: exact over any range (no region lost or reported
 * twice across calls, stale walk_end quirk avoided by vec_len <= 512), in
 * pieces of bounded address range so that no call holds the target's mmap
 * lock much longer than a millisecond. */
#ifndef PAGESCAN_SCAN_H
#define PAGESCAN_SCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "pagescan/kernel/compat.h"
#include "pagescan/model/error.h"
#include "pagescan/model/maps.h"
#include "pagescan/model/region.h"

/* The kernel's bounce buffer holds 512 regions (PAGEMAP_WALK_SIZE >> PAGE_SHIFT);
 * past that walk_end can be stale (docs/kernel-interfaces.md#the-vector-cap),
 * so never ask for more per call. */
#define PS_SCAN_VEC_MAX 512

/* Scanning in pieces (docs/kernel-interfaces.md#scanning-in-pieces): every
 * call holds the target's mmap lock for its whole walk, so no call covers
 * more than a piece of the range. The piece is sized from the measured cost
 * per page of the calls before it, aiming at PS_SCAN_PIECE_NS per call.
 * Pieces end on 2 MiB boundaries (one PMD with 4 KiB pages): a range that
 * covers a THP only in part splits it when write-protecting. */
#define PS_SCAN_PIECE_NS 1000000ull         /* aim per call */
#define PS_SCAN_PIECE_MIN (2ull << 20)      /* one PMD: also the alignment */
#define PS_SCAN_PIECE_START (16ull << 20)   /* 4,096 pages: ~0.2 ms at the costliest rate seen */
#define PS_SCAN_PIECE_GROWTH 4              /* at most this much larger than the last piece */
#define PS_SCAN_PIECE_MAX (1ull << 40)      /* 1 TiB: ASan's shadow is tens of TiB, nearly all empty */

/* The piece size of a scan (a fresh one per scan unless the caller keeps
 * one; the unit tests pass theirs, with a fake clock). */
struct ps_scan_pace {
	uint64_t piece;                  /* bytes the next call may cover; 0: PS_SCAN_PIECE_START */
	uint64_t growth;                 /* at most this much larger per call; 0: PS_SCAN_PIECE_GROWTH */
	uint64_t (*clock)(void *ctx);    /* NULL: ps_thread_cpu_ns(); the unit tests pass a fake one */
	void *clock_ctx;
};

/* After a call that covered bytes in ns (ps_scan_pace_now()'s clock), the
 * next piece: aim at PS_SCAN_PIECE_NS, shrink at once, grow at most
 * p->growth times, within [MIN, MAX]. UFFDIO_UNREGISTER's pieces
 * (tracker.c) are sized the same way, from PS_SCAN_PIECE_MIN, growing at
 * most twice per call (PS_UNREGISTER_GROWTH). */
void ps_scan_pace_learn(struct ps_scan_pace *p, uint64_t bytes, uint64_t ns);
uint64_t ps_scan_pace_now(const struct ps_scan_pace *p);
/* The end of a call's range from start: piece bytes (of any kind), ending
 * on a PS_SCAN_PIECE_MIN boundary unless it is end. */
uint64_t ps_scan_piece_end(uint64_t start, uint64_t piece, uint64_t end);

/* Pages larger than a piece's alignment (hugetlb: 1 GiB on x86-64; any
 * size above PS_SCAN_PIECE_MIN). The kernel write-protects a hugetlb page
 * only whole: a PM_SCAN_WP_MATCHING call that ends inside one leaves it
 * unprotected, so it would read written at every harvest after
 * (docs/kernel-interfaces.md#scanning-in-pieces). The scans of a pagemap fd
 * end their pieces on the page boundaries of the mappings noted here: the
 * tracker notes its maps snapshot at every sync (procfd: the /proc/PID
 * directory the page sizes are read from, ps_vma_page_sizes()); NULL
 * forgets the fd. Only mappings with such pages are kept; the page sizes
 * of a mapping seen before are not asked again. Not thread-safe: the
 * thread that scans notes. */
int ps_scan_note_maps(int pagemap_fd, int procfd, const struct ps_maps *maps);
/* The same with the page sizes from sizes() (like ps_vma_page_sizes();
 * the unit tests pass a fake). */
typedef int (*ps_page_sizes_fn)(void *ctx, const struct ps_vma *v, size_t n, uint64_t *ret);
int ps_scan_note_maps_with(ps_page_sizes_fn sizes, void *ctx, int pagemap_fd, const struct ps_maps *maps);
/* The end of a call's range from start as the scans of pagemap_fd end it:
 * piece_end, moved to the page boundary of a noted mapping with large
 * pages that it falls inside (down, or up when that leaves nothing). */
uint64_t ps_scan_page_end(int pagemap_fd, uint64_t start, uint64_t piece_end, uint64_t end);

/* UFFDIO_UNREGISTER holds the lock for writing and costs 3-5x the arming
 * scan per populated page, with jumps of 10x from one stretch to the next
 * (docs/kernel-interfaces.md#unregistering-in-pieces): its piece starts at
 * the minimum and at most doubles per call. */
#define PS_UNREGISTER_GROWTH 2

/* Leaving the lock free (docs/kernel-interfaces.md#leaving-the-lock-free).
 * The kernel's rwsem lets a caller that comes back for the lock within
 * microseconds take it ahead of a writer that is already waiting (optimistic
 * lock stealing), until that writer has waited RWSEM_WAIT_TIMEOUT (4 ms) and
 * claims a handoff. Calls issued back to back therefore hold the target's
 * mmap lock like one long call: its mmap and munmap waited 5-12 ms behind
 * pieces of 1 ms (observed). When one more call as long as the last would
 * take a run of calls (no gap of PS_LOCK_FREE_NS between them) past
 * PS_LOCK_RUN_NS, pagescan sleeps PS_LOCK_SLEEP_NS (with the default timer
 * slack of 50 us, ~90 us here), and the writer that the last call's unlock
 * woke takes the lock meanwhile. So a run of full pieces is one call, and
 * a writer waits for one call, not two (bench_lock: the target's longest
 * wait during engage 2.7 -> 1.8 ms, bench/results/lock.md). */
#define PS_LOCK_RUN_NS PS_SCAN_PIECE_NS
#define PS_LOCK_FREE_NS 100000ull
#define PS_LOCK_SLEEP_NS 20000ull
/* After a call that took the target's mmap lock from start_ns to end_ns
 * (ps_now_ns()): sleep when one more such call would take the run past
 * PS_LOCK_RUN_NS.
 * The scan loop counts a run per target: a call through another pagemap
 * fd than the call before begins a new one (a watch of many processes
 * harvests them back to back, each holding only its own lock); a call
 * through this function continues the run of the calls before it. */
void ps_lock_breathe(uint64_t start_ns, uint64_t end_ns);

struct ps_scan_req {
	uint64_t start, end;   /* bytes; start page aligned */
	uint64_t mask, inverted, anyof, ret; /* kernel masks */
	uint64_t max_pages;    /* 0 = no limit */
	bool wp;               /* PM_SCAN_WP_MATCHING: re-protect matched pages */
	struct ps_scan_pace *pace; /* NULL: a fresh one, for this scan only */
	const struct ps_maps *maps; /* optional, for a range that spans holes: only
	                             * mapped bytes count toward a piece (the walk
	                             * skips holes for free) */
};

struct ps_scan_stats {
	uint64_t calls;        /* ioctls issued */
	uint64_t pages;        /* pages reported */
	bool truncated;        /* stopped by max_pages */
	uint64_t longest_ns;   /* the longest single call (the pace's clock: CPU time) */
};

/* The ioctl, replaceable for unit tests (returns like ioctl(2): >=0 or -1+errno). */
typedef int (*ps_scan_ioctl_fn)(int fd, struct pm_scan_arg *arg, void *ctx);

/* Run the loop, appending regions (merged across call and piece boundaries) to *out.
 * On error the regions found so far stay in *out and err names the cause:
 * ENOTTY "kernel lacks PAGEMAP_SCAN (needs Linux 6.7+)", ESRCH target gone. */
int ps_scan(int pagemap_fd, const struct ps_scan_req *req, struct ps_regions *out,
            struct ps_scan_stats *stats, struct ps_err *err);
int ps_scan_with(ps_scan_ioctl_fn fn, void *ctx, int fd, const struct ps_scan_req *req,
                 struct ps_regions *out, struct ps_scan_stats *stats, struct ps_err *err);

/* Streaming form: batch is called after every ioctl with the regions it
 * returned (at most PS_SCAN_VEC_MAX, in address order, not merged across
 * calls: the caller merges). A negative return stops the scan. */
typedef int (*ps_scan_batch_fn)(void *ctx, const struct page_region *vec, size_t n, struct ps_err *err);
int ps_scan_each(int pagemap_fd, const struct ps_scan_req *req, ps_scan_batch_fn batch, void *bctx,
                 struct ps_scan_stats *stats, struct ps_err *err);
int ps_scan_each_with(ps_scan_ioctl_fn fn, void *ctx, int fd, const struct ps_scan_req *req,
                      ps_scan_batch_fn batch, void *bctx, struct ps_scan_stats *stats, struct ps_err *err);

/* Which category bits the running kernel accepts (EINVAL probe per bit).
 * ENOTTY: no PAGEMAP_SCAN at all. */
int ps_scan_probe(int pagemap_fd, uint64_t *ret_supported, struct ps_err *err);

#endif
