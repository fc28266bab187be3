/* SPDX-License-Identifier: MIT */
/* The PAGEMAP_SCAN loop: exact over any range (no region lost or reported
 * twice across calls, stale walk_end quirk avoided by vec_len <= 512). */
#ifndef PAGESCAN_SCAN_H
#define PAGESCAN_SCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "pagescan/kernel/compat.h"
#include "pagescan/model/error.h"
#include "pagescan/model/region.h"

/* The kernel's bounce buffer holds 512 regions (PAGEMAP_WALK_SIZE >> PAGE_SHIFT);
 * past that walk_end can be stale (docs/kernel-interfaces.md#the-vector-cap),
 * so never ask for more per call. */
#define PS_SCAN_VEC_MAX 512

struct ps_scan_req {
	uint64_t start, end;   /* bytes; start page aligned */
	uint64_t mask, inverted, anyof, ret; /* kernel masks */
	uint64_t max_pages;    /* 0 = no limit */
	bool wp;               /* PM_SCAN_WP_MATCHING: re-protect matched pages */
};

struct ps_scan_stats {
	uint64_t calls;        /* ioctls issued */
	uint64_t pages;        /* pages reported */
	bool truncated;        /* stopped by max_pages */
};

/* The ioctl, replaceable for unit tests (returns like ioctl(2): >=0 or -1+errno). */
typedef int (*ps_scan_ioctl_fn)(int fd, struct pm_scan_arg *arg, void *ctx);

/* Run the loop, appending regions (merged across call boundaries) to *out.
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
