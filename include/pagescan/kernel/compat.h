/* SPDX-License-Identifier: MIT */
/* Kernel ABI that the build machine's headers (Linux 6.1 UAPI) may lack.
 * Every block is guarded so newer system headers win. Values are ABI and
 * were checked on Linux 6.18 (see docs/kernel-interfaces.md#the-ioctl-and-its-structures
 * and docs/kernel-interfaces.md#kernel-versions-and-fixes). */
#ifndef PAGESCAN_COMPAT_H
#define PAGESCAN_COMPAT_H

#include <linux/fs.h>
#include <linux/types.h>
#include <linux/userfaultfd.h>

/* PAGEMAP_SCAN: Linux 6.7 (52526ca7fdb9). */
#ifndef PAGEMAP_SCAN
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)

#define PAGE_IS_WPALLOWED (1 << 0)
#define PAGE_IS_WRITTEN (1 << 1)
#define PAGE_IS_FILE (1 << 2)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#define PAGE_IS_PFNZERO (1 << 5)
#define PAGE_IS_HUGE (1 << 6)

struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

#define PM_SCAN_WP_MATCHING (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)

struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};
#endif

/* Soft-dirty category: Linux 6.8 (e6a9a2cbc13b); guard: Linux 6.16 (a516403787e0). */
#ifndef PAGE_IS_SOFT_DIRTY
#define PAGE_IS_SOFT_DIRTY (1 << 7)
#endif
#ifndef PAGE_IS_GUARD
#define PAGE_IS_GUARD (1 << 8)
#endif

/* userfaultfd WP features: WP_UNPOPULATED 6.4, WP_ASYNC 6.7 (d61ea1cb0095). */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

/* pidfd: PIDFD_THREAD is Linux 6.9 (= O_EXCL). */
#ifndef PIDFD_THREAD
#define PIDFD_THREAD 0200 /* O_EXCL */
#endif

/* /proc/PID/pagemap entries (Documentation/admin-guide/mm/pagemap.rst):
 * bit 63 present, bits 0-54 the frame (root only; 0 otherwise). */
#define PM_PRESENT_BIT (1ull << 63)
#define PM_PFN_MASK ((1ull << 55) - 1)

#endif
