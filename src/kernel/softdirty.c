/* SPDX-License-Identifier: MIT */
/* Soft-dirty bits for --compare soft-dirty (include/pagescan/kernel/softdirty.h,
 * docs/soft-dirty.md). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pagescan/kernel/compat.h"
#include "pagescan/kernel/scan.h"
#include "pagescan/kernel/softdirty.h"
#include "pagescan/kernel/tracker.h"
#include "pagescan/model/session.h"
#include "pagescan/model/util.h"

#define NO_SOFT_DIRTY_MSG                                                                               \
	"--compare soft-dirty: this kernel keeps no soft-dirty bits (built without CONFIG_MEM_SOFT_DIRTY, " \
	"or an architecture without them such as arm64); run without --compare soft-dirty"

int ps_softdirty_probe(struct ps_err *err)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ps_errf(err, errno, "--compare soft-dirty: cannot open /proc/self/pagemap: %s", strerror(errno));
	void *p = mmap(NULL, PS_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		close(fd);
		return ps_errf(err, e, "--compare soft-dirty: mmap: %s", strerror(e));
	}
	*(volatile char *)p = 1; /* a write fault: the new page table entry is dirty, and soft-dirty */
	struct page_region vec[1];
	struct pm_scan_arg a = {
		.size = sizeof(a), .start = (uintptr_t)p, .end = (uintptr_t)p + PS_PAGE_SIZE,
		.vec = (uintptr_t)vec, .vec_len = 1,
		.category_mask = PAGE_IS_SOFT_DIRTY, .return_mask = PAGE_IS_SOFT_DIRTY,
	};
	long n = ioctl(fd, PAGEMAP_SCAN, &a);
	int e = errno;
	munmap(p, PS_PAGE_SIZE);
	close(fd);
	if (n < 0 && e == ENOTTY)
		return ps_errf(err, e, "this kernel lacks the PAGEMAP_SCAN ioctl; pagescan needs Linux 6.7 or later");
	if (n < 0)
		return ps_errf(err, e, "--compare soft-dirty: the soft-dirty probe failed: %s", strerror(e));
	if (n == 0)
		return ps_errf(err, ENOTSUP, NO_SOFT_DIRTY_MSG);
	return 0;
}

int ps_softdirty_get(const struct ps_target *t, const struct ps_maps *maps, struct ps_regions *out,
                     struct ps_err *err)
{
	if (!maps->n)
		return 0;
	/* Pages with data (present or swapped, not the zero page) whose
	 * soft-dirty category is set: the entry's bit, or its mapping's
	 * VM_SOFTDIRTY (pagemap_scan_test_walk() adds that to every entry,
	 * holes included: a hole holds nothing to copy). Holes cost the walk
	 * nothing; pieces count mapped bytes only. */
	struct ps_scan_req req = {
		.start = maps->v[0].start, .end = ps_maps_user_end(maps),
		.mask = PAGE_IS_SOFT_DIRTY | PAGE_IS_PFNZERO, .inverted = PAGE_IS_PFNZERO,
		.anyof = PAGE_IS_PRESENT | PAGE_IS_SWAPPED, .ret = PAGE_IS_SOFT_DIRTY, .maps = maps,
	};
	if (req.end <= req.start)
		return 0;
	return ps_scan(t->pagemap_fd, &req, out, NULL, err);
}

int ps_softdirty_clear(const struct ps_target *t, struct ps_err *err)
{
	int fd = openat(t->procfd, "clear_refs", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return ps_errf(err, errno, "cannot open /proc/%d/clear_refs: %s", (int)t->pid, strerror(errno));
	ssize_t n = write(fd, "4", 1);
	int e = errno;
	close(fd);
	if (n != 1) {
		if (e == ESRCH)
			return ps_errf(err, e, "the target's address space is gone (it exited or called exec)");
		return ps_errf(err, e, "cannot clear the soft-dirty bits of process %d: %s", (int)t->pid,
		               n < 0 ? strerror(e) : "short write");
	}
	return 0;
}

static int source_get(void *ctx, const struct ps_maps *maps, struct ps_regions *out, struct ps_err *err)
{
	return ps_softdirty_get(ctx, maps, out, err);
}

static int source_clear(void *ctx, struct ps_err *err)
{
	return ps_softdirty_clear(ctx, err);
}

void ps_softdirty_source(const struct ps_target *t, struct ps_session_source *src)
{
	src->soft_dirty_get = source_get;
	src->soft_dirty_clear = source_clear;
	src->sd_ctx = (void *)t;
}
