/* SPDX-License-Identifier: MIT */
/* The PAGEMAP_SCAN loop.
 *
 * Exactness rules (docs/kernel-interfaces.md#the-scan-loop):
 *  - vec_len <= 512: past one bounce buffer (512 regions) the kernel can leave
 *    walk_end at a stale restart point; a smaller vector never refills.
 *  - resume at walk_end only after success; on error walk_end is meaningless.
 *  - a call that returned fewer regions than asked for, without reaching
 *    max_pages, walked to the end.
 *  - regions are merged across call boundaries (the kernel may cut one at
 *    max_pages or when the vector is full). */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "pagescan/kernel/scan.h"
#include "pagescan/model/category.h"
#include "pagescan/model/util.h"

static int real_ioctl(int fd, struct pm_scan_arg *arg, void *ctx)
{
	(void)ctx;
	return ioctl(fd, PAGEMAP_SCAN, arg);
}

static int scan_error(struct ps_err *err, int e)
{
	switch (e) {
	case ENOTTY:
		return ps_errf(err, e, "this kernel lacks the PAGEMAP_SCAN ioctl; pagescan needs Linux 6.7 or later");
	case ESRCH:
		return ps_errf(err, e, "the target's address space is gone (it exited or called exec)");
	case EINTR:
		return ps_errf(err, e, "page scan interrupted by a fatal signal");
	case ENOMEM:
		return ps_errf(err, e, "page scan ran out of memory in the kernel");
	case EPERM:
		return ps_errf(err, e, "page scan refused: a range is not write-protect tracked");
	case EINVAL:
		return ps_errf(err, e, "the kernel rejected the page scan arguments (a category this kernel does not know?)");
	default:
		return ps_errf(err, e, "page scan failed: %s", strerror(e));
	}
}

int ps_scan_each_with(ps_scan_ioctl_fn fn, void *ctx, int fd, const struct ps_scan_req *req,
                      ps_scan_batch_fn batch, void *bctx, struct ps_scan_stats *stats, struct ps_err *err)
{
	struct page_region vec[PS_SCAN_VEC_MAX];
	struct ps_scan_stats st = { 0 };
	uint64_t start = req->start;
	int r = 0;

	if (req->start & (PS_PAGE_SIZE - 1))
		return ps_errf(err, EINVAL, "scan start 0x%llx is not page aligned", (unsigned long long)req->start);

	while (start < req->end) {
		uint64_t left = 0;
		struct pm_scan_arg arg = {
			.size = sizeof(arg),
			.flags = req->wp ? PM_SCAN_WP_MATCHING : 0,
			.start = start,
			.end = req->end,
			.vec = (uintptr_t)vec,
			.vec_len = PS_SCAN_VEC_MAX,
			.category_inverted = req->inverted,
			.category_mask = req->mask,
			.category_anyof_mask = req->anyof,
			.return_mask = req->ret,
		};
		if (req->max_pages) {
			left = req->max_pages - st.pages;
			if (left == 0) {
				st.truncated = true;
				break;
			}
			arg.max_pages = left;
		}
		st.calls++;
		int n = fn(fd, &arg, ctx);
		if (n < 0) {
			r = scan_error(err, errno);
			break;
		}
		if ((size_t)n > PS_SCAN_VEC_MAX) {
			r = ps_errf(err, EPROTO, "kernel returned %d regions for a vector of %d", n, PS_SCAN_VEC_MAX);
			break;
		}
		uint64_t got = 0, prev_end = start;
		for (int i = 0; i < n; i++) {
			if (vec[i].end <= vec[i].start || vec[i].start < prev_end || vec[i].end > req->end) {
				r = ps_errf(err, EPROTO, "kernel returned an invalid region 0x%llx-0x%llx",
				            (unsigned long long)vec[i].start, (unsigned long long)vec[i].end);
				goto out;
			}
			prev_end = vec[i].end;
			got += (vec[i].end - vec[i].start) >> PS_PAGE_SHIFT;
		}
		if (n > 0) {
			r = batch(bctx, vec, (size_t)n, err);
			if (r < 0)
				goto out;
		}
		st.pages += got;
		if (req->max_pages && got >= left) {
			/* max_pages reached: the kernel cut the walk here. */
			st.truncated = arg.walk_end < req->end;
			break;
		}
		if ((size_t)n < PS_SCAN_VEC_MAX)
			break; /* the walk reached the end */
		if (arg.walk_end <= start || arg.walk_end > req->end) {
			r = ps_errf(err, EPROTO, "kernel made no progress (walk_end 0x%llx)", (unsigned long long)arg.walk_end);
			break;
		}
		start = arg.walk_end;
	}
out:
	if (stats)
		*stats = st;
	return r;
}

static int collect(void *ctx, const struct page_region *vec, size_t n, struct ps_err *err)
{
	struct ps_regions *out = ctx;
	for (size_t i = 0; i < n; i++) {
		int r = ps_regions_push(out, vec[i].start, vec[i].end, vec[i].categories);
		if (r < 0)
			return ps_errf(err, -r, "out of memory collecting regions");
	}
	return 0;
}

int ps_scan_with(ps_scan_ioctl_fn fn, void *ctx, int fd, const struct ps_scan_req *req,
                 struct ps_regions *out, struct ps_scan_stats *stats, struct ps_err *err)
{
	return ps_scan_each_with(fn, ctx, fd, req, collect, out, stats, err);
}

int ps_scan_each(int pagemap_fd, const struct ps_scan_req *req, ps_scan_batch_fn batch, void *bctx,
                 struct ps_scan_stats *stats, struct ps_err *err)
{
	return ps_scan_each_with(real_ioctl, NULL, pagemap_fd, req, batch, bctx, stats, err);
}

int ps_scan(int pagemap_fd, const struct ps_scan_req *req, struct ps_regions *out,
            struct ps_scan_stats *stats, struct ps_err *err)
{
	return ps_scan_with(real_ioctl, NULL, pagemap_fd, req, out, stats, err);
}

int ps_scan_probe(int pagemap_fd, uint64_t *ret_supported, struct ps_err *err)
{
	uint64_t ok = 0;

	/* A zero-length scan checks the arguments and walks nothing: unknown
	 * category bits give EINVAL (probe, don't compare versions:
	 * docs/kernel-interfaces.md#minimum-kernel-and-probing). */
	for (size_t i = 0; i < ps_ncategories; i++) {
		struct pm_scan_arg arg = {
			.size = sizeof(arg),
			.start = 0x10000,
			.end = 0x10000,
			.category_mask = ps_categories[i].bit,
			.return_mask = ps_categories[i].bit,
		};
		if (ioctl(pagemap_fd, PAGEMAP_SCAN, &arg) == 0)
			ok |= ps_categories[i].bit;
		else if (errno == ENOTTY)
			return scan_error(err, ENOTTY);
		else if (errno != EINVAL)
			return scan_error(err, errno);
	}
	*ret_supported = ok;
	return 0;
}
